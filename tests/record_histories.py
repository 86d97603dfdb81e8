"""Record histories of real contact runs as JSON fixtures for the replay tests.

    python -m tests.record_histories tests/fixtures/histories [spa,urgent,consultation,...]

Run it from a checkout of the workflow version whose histories you want to keep
(e.g. a `git worktree` of a release); the replay tests then prove that today's code
still replays what that version wrote. Payloads are encrypted with the suite's fixed
test key.
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from frontdoor.config import Settings, TemporalSettings
from frontdoor.temporal import data_converter
from models.database import init_db
from models.state import Stage
from models.timescales import Span, Timescales
from tests.clients import act, submit_contact
from tests.conftest import BIN, RITA, SAM, TOM, codec_for_tests, make_contact, running_worker
from tests.helpers import wait_stage
from workflows import search_attributes as sa
from workflows.contact import ContactWorkflow

ROOT = Path(__file__).resolve().parent.parent


async def _spa(client, settings, tq) -> str:
    c = make_contact(id="REPLAY-SPA", consent={"status": "not_sought"})
    await submit_contact(client, settings, c, RITA, task_queue=tq)
    await wait_stage(client, c.id, Stage.AWAITING_TRIAGE)
    await act(client, c.id, "triage", {"actor": RITA, "level": 3, "route": "spa", "rationale": "SPA decision needed"})
    await act(client, c.id, "review", {"actor": SAM, "rag": "amber"})
    await act(client, c.id, "override_consent", {"actor": TOM, "reason": "risk_of_significant_harm", "explanation": "Risk"})
    await act(client, c.id, "request_map_checks", {"actor": SAM, "agencies": ["police", "gp"]})
    await act(client, c.id, "record_map_response", {"actor": SAM, "agency": "police", "information": "Known"})
    await asyncio.sleep(2.5)  # the agency due time and the decision deadline pass
    await act(client, c.id, "proceed_without_agency", {"actor": SAM, "agency": "gp", "reason": "No answer"})
    state = await act(client, c.id, "recommend", {"actor": SAM, "summary": "Summary of what was found.", "recommended_outcome": "assessment_s17"})
    await act(client, c.id, "extend", {"actor": TOM, "reason": "other", "explanation": "Manager away", "new_deadline": (state.decision_due_at + timedelta(hours=1)).isoformat()})
    await act(client, c.id, "decide", {"actor": TOM, "outcome": "assessment_s17", "rationale": "Assessment needed"})
    await wait_stage(client, c.id, Stage.CLOSED)
    return c.id


async def _urgent(client, settings, tq) -> str:
    c = make_contact(id="REPLAY-URGENT", concerns={"factors": ["19C"]})
    await submit_contact(client, settings, c, RITA, task_queue=tq)
    await wait_stage(client, c.id, Stage.AWAITING_TRIAGE)
    await act(client, c.id, "triage", {"actor": RITA, "level": 4, "route": "urgent", "rationale": "Disclosure"})
    await wait_stage(client, c.id, Stage.AWAITING_PICKUP)
    await asyncio.sleep(2.5)  # the pickup deadline passes: escalation
    await act(client, c.id, "pickup", {"actor": SAM})
    await wait_stage(client, c.id, Stage.CLOSED)
    return c.id


async def _routed(client, settings, tq, route: str, level: int) -> str:
    c = make_contact(id=f"REPLAY-{route.upper()}", concerns={"factors": ["4A"]})
    await submit_contact(client, settings, c, RITA, task_queue=tq)
    await wait_stage(client, c.id, Stage.AWAITING_TRIAGE)
    await act(client, c.id, "triage", {"actor": RITA, "level": level, "route": route, "rationale": "Lower need"})
    await wait_stage(client, c.id, Stage.CLOSED)
    return c.id


async def _consultation(client, settings, tq, subject: str = "REPLAY-CONS", outcome: str = "referral_made",
                        note: str = "Rang back; referral sent today") -> str:
    """An invited referral that never comes: the follow-up is raised and its outcome recorded
    (`escalated`: the managers are told)."""
    from tests.clients import consultations
    from tests.consultation_early_help_support import CARA, make_consultation

    c = make_consultation(id=subject)
    await consultations.start(client, settings, c, CARA, task_queue=tq)
    for _ in range(100):
        state = await consultations.get_state(client, c.id)
        if "follow_up_due" in state.flags:
            break
        await asyncio.sleep(0.1)
    await consultations.act(client, c.id, "record_follow_up", {"actor": CARA, "outcome": outcome, "note": note})
    await client.get_workflow_handle(consultations.workflow_id(c.id)).result()
    return consultations.workflow_id(c.id)


async def _early_help(client, settings, tq) -> str:
    """A case started directly by the hub, from directions to a quadrant service."""
    from tests.clients import early_help
    from tests.conftest import ERIN, SANA

    req = make_contact(id="REPLAY-EH", source="5D", consent={"status": "not_sought"})
    await early_help.start(client, settings, req, ERIN, task_queue=tq)
    steps = [
        ("give_directions", {"actor": SANA, "directions": "Speak to school and mother.", "adviser": "erin"}),
        ("record_consent", {"actor": ERIN, "status": "given", "note": "Mother agreed"}),
        ("record_conversation", {"actor": ERIN, "with_whom": "agency", "agency": "school", "name": "DSL", "summary": "Attendance 82%"}),
        ("record_conversation", {"actor": ERIN, "with_whom": "parent", "name": "Mother", "summary": "Wants help with routines"}),
        ("finish_gathering", {"actor": ERIN, "note": "Enough to recommend"}),
        ("recommend", {"actor": ERIN, "summary": "Low-level neglect; mother engaging.", "recommended_outcome": "targeted_early_help", "quadrant": "north_west"}),
        ("decide", {"actor": TOM, "outcome": "targeted_early_help", "quadrant": "north_west", "rationale": "Family support worker"}),
    ]
    for action, payload in steps:
        for _ in range(100):  # the history review runs between consent and gathering
            try:
                await early_help.act(client, req.id, action, payload)
                break
            except Exception as exc:  # noqa: BLE001
                if "WrongStage" not in type(exc).__name__ and "409" not in str(getattr(exc, "status", "")):
                    raise
                await asyncio.sleep(0.1)
    await client.get_workflow_handle(early_help.workflow_id(req.id)).result()
    return early_help.workflow_id(req.id)


async def _step_up(client, settings, tq) -> str:
    """A hub case whose directions run late (a step's deadline passes), then an adviser
    consults and steps it up into the SPA (a contact started as a child)."""
    from tests.clients import early_help
    from tests.conftest import ERIN, SANA

    req = make_contact(id="REPLAY-EH-UP", source="5D", consent={"status": "given"})
    await early_help.start(client, settings, req, ERIN, task_queue=tq)
    for _ in range(100):
        if "directions_overdue" in (await early_help.get_state(client, req.id)).flags:
            break
        await asyncio.sleep(0.1)
    await early_help.act(client, req.id, "give_directions", {"actor": SANA, "directions": "Late, sorry: see the family.", "adviser": "erin"})
    await early_help.act(client, req.id, "consult", {"actor": ERIN, "consulted": "sana", "consulted_role": "senior_adviser", "advice": "Step up"})
    await early_help.act(client, req.id, "step_up", {"actor": ERIN, "reason": "Disclosure of harm at home"})
    await client.get_workflow_handle(early_help.workflow_id(req.id)).result()
    return early_help.workflow_id(req.id)


async def _missing(client, settings, tq) -> str:
    """An episode from a police list: returned, the 72 hours pass (2 s here), a later list
    raises the risk, the interview is offered late and done with concerns: a contact is raised."""

    from frontdoor import missing_lists
    from tests.clients import missing
    from tests.missing_support import ELLA, as_csv, report

    now = datetime.now(UTC)
    row = report(police_ref="REPLAY-MISSING", returned_at=now.isoformat())  # the 72 hours (2 s) run as a timer
    for changed in (row, row | {"risk": "high"}):
        parsed = missing_lists.parse_list(as_csv([changed]).encode(), filename="list.csv")
        await missing_lists.import_list(client, settings, parsed, ELLA, via="record", task_queue=tq)
        for _ in range(100):
            state = await missing.get_state(client, changed["police_ref"])
            if "interview_overdue" in state.flags and state.risk.value == changed["risk"]:
                break
            await asyncio.sleep(0.1)
    await missing.act(client, row["police_ref"], "offer_interview", {"actor": ELLA, "method": "visit"})
    await missing.act(client, row["police_ref"], "record_interview", {
        "actor": ELLA, "outcome": "done", "child_said": "Older boys give her lifts and cannabis", "concerns": ["11A"]})
    await client.get_workflow_handle(missing.workflow_id(row["police_ref"])).result()
    return missing.workflow_id(row["police_ref"])


async def _morning(client, settings, tq) -> tuple[str, ...]:
    """A contact marked "threshold unclear" opens the next meeting; a partner adds an item and
    what the police know; the chair records the contact's item (the outcome reaches the
    contact) and closes: the partner's item rolls over to the next working day."""
    from tests.clients import morning
    from tests.missing_support import PAT

    c = make_contact(id="REPLAY-MORNING")
    await submit_contact(client, settings, c, RITA, task_queue=tq)
    await wait_stage(client, c.id, Stage.AWAITING_TRIAGE)
    state = await act(client, c.id, "threshold_unclear", {"actor": SAM, "question": "Level 3 or 4?", "ask": ["police"]})
    day = state.discussions[0].meeting.isoformat()
    for _ in range(100):
        m = await morning.get_state(client, day)
        if m.agenda and m.meeting_at:
            break
        await asyncio.sleep(0.1)
    await morning.act(client, day, "share", {"actor": PAT, "item": 1, "information": "One call-out in 2026"})
    await morning.act(client, day, "add", {"actor": PAT, "question": "Strategy discussion?", "about": "Tom Smith"})
    await morning.act(client, day, "record", {"actor": TOM, "item": 1, "attendees": ["PC Pat", "Tom"],
                                              "next_step": "stays_in_spa", "next_step_by": "Sam"})
    await morning.act(client, day, "close", {"actor": TOM, "note": "Item 2 not reached"})
    await client.get_workflow_handle(morning.workflow_id(day)).result()
    await act(client, c.id, "triage", {"actor": RITA, "level": 2, "route": "advice_nfa", "rationale": "As discussed",
                                       "departure_reason": "Morning discussion"})
    await wait_stage(client, c.id, Stage.CLOSED)
    return ("morning-replay", morning.workflow_id(day), f"contact-{c.id}")


async def _schedule_launcher(client, settings, tq) -> str:
    from models.morning import MorningScheduleInput
    from workflows.morning import MorningSchedule

    wid = "frontdoor-morning-discussion-run-replay"
    await client.execute_workflow(MorningSchedule.run, MorningScheduleInput(schedule_id="frontdoor-morning-discussion",
                                                                            timescales=settings.timescales),
                                  id=wid, task_queue=tq)
    return wid


async def _stuck_snapshot(client, settings, tq) -> str:
    """The hourly stuck snapshot, run as its Schedule starts it."""
    from models.stuck_trend import StuckSnapshotRequest
    from workflows.stuck_snapshot import StuckSnapshotWorkflow

    wid = "frontdoor-stuck-snapshot-run-replay"
    await client.execute_workflow(StuckSnapshotWorkflow.run, StuckSnapshotRequest(schedule_id="frontdoor-stuck-snapshot"),
                                  id=wid, task_queue=tq)
    return wid


async def _report_snapshot(client, settings, tq) -> str:
    """The daily report snapshot, run as its Schedule starts it."""
    from models.report_snapshot import ReportSnapshotRequest
    from workflows.report_snapshot import ReportSnapshotWorkflow

    wid = "frontdoor-report-snapshot-run-replay"
    await client.execute_workflow(ReportSnapshotWorkflow.run, ReportSnapshotRequest(schedule_id="frontdoor-report-snapshot"),
                                  id=wid, task_queue=tq)
    return wid


async def _audit_round(client, settings, tq) -> list[str]:
    """A contact decided by tom; a round of that chosen case: the audit goes to two managers who
    did not decide it, its first-line step runs late, and it goes through every step to closed,
    which closes the round."""
    from frontdoor import users
    from models.roles import Actor, Role
    from tests.audit_support import TESS, grading, meeting, moderation, rounds
    from tests.audit_support import audits as audit_cases
    from tests.conftest import MAYA

    tariq = Actor(username="tariq", role=Role.TEAM_MANAGER)
    for name, role in (("tom", "team_manager"), ("tess", "team_manager"), ("tariq", "team_manager"),
                       ("sam", "social_worker"), ("maya", "service_manager")):
        users.create_user(settings.database_url, name, role, team="spa-east", check_policy=False)
    c = make_contact(id="REPLAY-AUD-C")
    await submit_contact(client, settings, c, RITA, task_queue=tq)
    await wait_stage(client, c.id, Stage.AWAITING_TRIAGE)
    await act(client, c.id, "triage", {"actor": RITA, "level": 3, "route": "spa", "rationale": "SPA decision needed"})
    await act(client, c.id, "recommend", {"actor": SAM, "summary": "Summary of what was found.", "recommended_outcome": "assessment_s17"})
    await act(client, c.id, "decide", {"actor": TOM, "outcome": "assessment_s17", "rationale": "Assessment needed"})
    await client.get_workflow_handle(f"contact-{c.id}").result()
    from models.audit import AuditRoundRequest

    today = datetime.now(UTC).date()
    req = AuditRoundRequest(id="REPLAY-ROUND", title="Replay round", period_from=today, period_to=today, cases=[c.id],
                            seed=42)
    await rounds.start(client, settings, req, MAYA, task_queue=tq)
    aid = "REPLAY-ROUND-01"
    for _ in range(100):
        try:
            state = await audit_cases.get_state(client, aid)
            if "audit_first_line_overdue" in state.flags:
                break
        except Exception:  # noqa: BLE001 (not started yet)
            pass
        await asyncio.sleep(0.1)
    by_name = {"tess": TESS, "tariq": tariq}
    await audit_cases.act(client, aid, "record_audit", grading(by_name[state.auditor], {"consent": "requires_improvement"}))
    await audit_cases.act(client, aid, "record_re_audit", grading(by_name[state.re_auditor]))
    await audit_cases.act(client, aid, "moderate", moderation(MAYA, {"consent": ("good", "Consent was given at intake")}))
    at = datetime.now(UTC) + timedelta(hours=2)
    lead = by_name[state.auditor]
    await audit_cases.act(client, aid, "schedule_meeting", {"actor": lead, "at": at.isoformat(), "place": "Room 1"})
    await audit_cases.act(client, aid, "record_meeting", meeting(lead))
    await audit_cases.act(client, aid, "acknowledge", {"actor": SAM, "reflections": "Agreed", "read_and_understood": True})
    await client.get_workflow_handle(f"audit-round-{req.id}").result()
    return [f"audit-{aid}", f"audit-round-{req.id}"]


async def main(out: Path, only: set[str] | None = None) -> None:
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path("/tmp") / f"record-{uuid.uuid4().hex[:6]}"
    tmp.mkdir()
    settings = Settings(
        temporal=TemporalSettings(task_queue="record"),
        database_url=f"sqlite:///{tmp / 'record.db'}",
        var_dir=tmp,
        timescales=Timescales(
            decision_deadline=timedelta(seconds=2), urgent_pickup=timedelta(seconds=2),
            map_response_due=timedelta(seconds=2), invited_referral_due=timedelta(seconds=2),
            return_interview=timedelta(seconds=2),
            early_help_directions=Span(working_days=0, duration=timedelta(seconds=2)),
            audit_first_line=Span(working_days=0, duration=timedelta(seconds=2)),
        ),
        threshold_rules=ROOT / "config" / "threshold_rules.json",
        templates_dir=ROOT / "templates",
    )
    init_db(settings.database_url)
    from models import signing

    signing.configure(settings.signing_keyring, max_age=settings.signature_max_age)  # the interface signs actors
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(BIN / "temporal"), search_attributes=sa.ALL, data_converter=data_converter(codec_for_tests())
    )
    try:
        client = env.client
        flows = {
            "spa": lambda: _spa(client, settings, "record"),
            "urgent": lambda: _urgent(client, settings, "record"),
            "early_help_route": lambda: _routed(client, settings, "record", "early_help", 2),
            "advice_nfa": lambda: _routed(client, settings, "record", "advice_nfa", 2),
            "consultation": lambda: _consultation(client, settings, "record"),
            "consultation_escalated": lambda: _consultation(client, settings, "record", "REPLAY-CONS-ESC", "escalated",
                                                            "Caller will not refer"),
            "early_help_case": lambda: _early_help(client, settings, "record"),
            "early_help_step_up": lambda: _step_up(client, settings, "record"),
            "missing": lambda: _missing(client, settings, "record"),
            "morning": lambda: _morning(client, settings, "record"),
            "schedule_launcher": lambda: _schedule_launcher(client, settings, "record"),
            "audit_round": lambda: _audit_round(client, settings, "record"),
            "stuck_snapshot": lambda: _stuck_snapshot(client, settings, "record"),
            "report_snapshot": lambda: _report_snapshot(client, settings, "record"),
        }
        names: dict[str, str] = {}  # workflow id -> fixture name, where the id is not a good name
        async with running_worker(client, settings, "record"):
            ids = []
            for name, flow in flows.items():
                if only is None or name in only:
                    got = await flow()
                    if isinstance(got, tuple):  # (fixture prefix, workflow ids ...)
                        prefix, *got = got
                        names |= {wid: f"{prefix}-{wid.split('-')[0]}" for wid in got}
                        ids += got
                    else:
                        ids += got if isinstance(got, list) else [got]
        for wid in ids:
            wid = wid if "-" in wid and not wid.startswith("REPLAY") else f"contact-{wid}"
            history = await client.get_workflow_handle(wid).fetch_history()
            path = out / f"{names.get(wid) or wid.removeprefix('contact-').lower()}.json"
            path.write_text(history.to_json())
            print(f"wrote {path} ({len(history.events)} events)")
    finally:
        await env.shutdown()


if __name__ == "__main__":
    assert ContactWorkflow  # the version under record is the one importable here
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/histories")
    asyncio.run(main(target, set(sys.argv[2].split(",")) if len(sys.argv) > 2 else None))
