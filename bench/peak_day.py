"""A peak day in miniature: do the deadlines still fire on time when the stack is busy?

N contacts arrive over a compressed day on one dev server (started here, as
bench/pipeline.py starts it) and scripted people work them through frontdoor.processes
(the one client layer the CLI and web app use), at a realistic mix: advice at triage,
urgent contacts picked up on time or late, the SPA with consent given or sought,
MAP answers on time or late, some decisions extended, some deliberately late. Timescales
are scaled so deadlines fall due during the run (by default 24 h is 60 s: the decision
deadline 60 s, urgent pickup 2.5 s, a MAP answer 10 s).

It measures timer lateness for every deadline that passes (from due to the flag visible
in the stuck list, polled every --poll seconds; to the trail's entry; to the
notification in the outbox), the round trip of each action under load, contacts per
second, and the server's and worker's CPU and memory. Then the bare twin (bench/bare.py:
the same activities and updates, nothing else) makes the same day on the same server.

    .venv/bin/python bench/peak_day.py --contacts 120                # a quick day: ~10 min with the bare day
    .venv/bin/python bench/peak_day.py --rate 1                      # 2,000 contacts at 1/s: ~35 min, and the bare day
    .venv/bin/python bench/peak_day.py --contacts 10000 --rate 8     # the full run (a quiet, bigger machine)
    DB=$(FRONTDOOR_TEST_PG_DB=fd_deploy ./scripts/ensure_postgres.sh)
    .venv/bin/python bench/peak_day.py --workers 2 --web 2 --database-url "$DB" --no-bare   # more than one of each

With --web N the people act through the JSON API of N `frontdoor web` processes (round-robin,
API tokens) instead of frontdoor.processes; --workers N runs N worker processes. Every run
ends by checking the case record: each contact in its expected terminal state, no handoff
twice, no message (outbox idempotency key) twice.

Arrivals above what the stack sustains make every timer late by the backlog (bench/README.md):
raise --rate only as far as the machine keeps up.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from bare import BarePlan, BareWorkflow
from drive import DEFAULT_PLAN, start_bare
from harness import (
    RITA,
    SAM,
    TOM,
    Stack,
    connect_when_ready,
    machine,
    new_contact,
    pct,
    proc_status,
    run_main,
    say,
    triage_payload,
    wait_for_poller,
)
from scaleout import Closure, DirectDesk, HttpDesk, closure_check, people_tokens, start_web
from sqlmodel import col, select
from temporalio.client import Client

from frontdoor import stuck
from frontdoor.config import Settings
from models.database import session
from models.state import ContactState, Stage
from models.tables import ActionRecord, OutboxMessage
from models.timescales import Timescales
from workflows.contact import PROCESS as CONTACT
from workflows.contact import ContactWorkflow

DAY = 86_400.0
LATENESS_P95_TARGET = 2.0
LATENESS_MAX_TARGET = 5.0
# what a deadline passing shows, where: (stuck-list query, trail action, outbox subject prefix)
WATCHED = {
    "decision": (stuck.query_for("overdue"), "decision_overdue", "Decision overdue on contact "),
    "pickup": (f"{stuck.OPEN} AND FdKind = 'contact' AND FdFlags = 'pickup_late'", "urgent_pickup_escalated",
               "URGENT contact "),
    "map": (stuck.query_for("awaiting_agency"), "map_chased", None),
}


# ------------------------------------------------------------------ what is measured
@dataclass
class Day:
    """Everything one run of the day records."""

    seen: dict[tuple[str, str], float] = field(default_factory=dict)  # (deadline, contact) -> first listed (epoch s)
    due: dict[tuple[str, str], float] = field(default_factory=dict)  # deadlines meant to pass -> due (epoch s)
    resolved_unseen: set[tuple[str, str]] = field(default_factory=set)  # acted on before the flag was ever listed
    rtt: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    polls: list[float] = field(default_factory=list)  # seconds per poll of the watched lists
    gaps: list[list[float]] = field(default_factory=list)  # SPA journeys' pauses before each action (for the bare twin)
    started: int = 0
    closed: int = 0
    failed: list[str] = field(default_factory=list)
    finals: dict[str, tuple[str, str]] = field(default_factory=dict)  # contact id -> (route, final stage)


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far, from /proc/PID/stat (psutil is not a dependency)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
        return float("nan")


class Usage:
    """CPU (cores used on average) and memory (RSS now and peak) of the processes measured."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self.t0 = time.monotonic()
        self.cpu0 = {name: cpu_seconds(pid) for name, pid in pids.items()}
        self.rss_peak = {name: 0 for name in pids}

    def sample(self) -> None:
        for name, pid in self.pids.items():
            self.rss_peak[name] = max(self.rss_peak[name], proc_status(pid).get("VmRSS", 0))

    def lines(self) -> list[str]:
        self.sample()
        wall = time.monotonic() - self.t0
        out = []
        for name, pid in self.pids.items():
            used = cpu_seconds(pid) - self.cpu0[name]
            out.append(f"    {name:<10} CPU {used:7.1f} s = {used / wall:4.2f} cores on average; "
                       f"RSS peak {self.rss_peak[name] / 1024:5.0f} MB (process peak {proc_status(pid).get('VmHWM', 0) / 1024:.0f} MB)")
        return out


# ------------------------------------------------------------------ the people
def scaled(args: argparse.Namespace) -> Timescales:
    f = args.day_seconds / DAY
    return Timescales(
        decision_deadline=timedelta(hours=24) * f, urgent_pickup=timedelta(hours=1) * f,
        map_response_due=timedelta(hours=4) * f,
    )


Desk = DirectDesk | HttpDesk  # how the people reach the front door (bench/scaleout.py)
# the stage each route's contact ends in (the workflow's result)
EXPECTED_FINAL = {"advice_nfa": {Stage.CLOSED.value}, "spa": {Stage.CLOSED.value}, "urgent": {Stage.CLOSED.value}}


async def act(day: Day, desk: Desk, cid: str, name: str, payload: dict[str, Any]) -> ContactState:
    t0 = time.perf_counter()
    state = await desk.act(cid, name, payload)
    day.rtt[name].append(time.perf_counter() - t0)
    return state


async def state_when(desk: Desk, cid: str, ok: Any, what: str, timeout: float = 180, poll: float = 1.0) -> ContactState:
    deadline = time.monotonic() + timeout
    while True:
        state: ContactState = await desk.state(cid)
        if ok(state):
            return state
        if time.monotonic() > deadline:
            raise TimeoutError(f"{cid}: timed out after {timeout:.0f}s waiting for {what} (stage {state.stage})")
        await asyncio.sleep(poll)


async def late_until_seen(day: Day, key: tuple[str, str], due: datetime, cap: float) -> None:
    """A person deliberately late: they act once the overdue flag is listed (as after the
    manager's reminder), or `cap` seconds after the due time if it never is."""
    day.due[key] = due.timestamp()
    while key not in day.seen and time.time() < due.timestamp() + cap:
        await asyncio.sleep(0.1)
    if key not in day.seen:
        day.resolved_unseen.add(key)


async def person_day(day: Day, client: Client, desk: Desk, settings: Settings, args: argparse.Namespace,
                     rng: random.Random) -> None:
    """One contact's journey, the people's actions at the mix's pace."""
    ts = settings.timescales
    unit = args.day_seconds / 24  # one scaled hour, in seconds
    cap = args.late_cap * args.day_seconds
    roll = rng.random()
    route = "advice_nfa" if roll < args.advice else "urgent" if roll < args.advice + args.urgent else "spa"
    consent_at_intake = rng.random() >= args.consent_sought
    contact = new_contact(consent="given" if consent_at_intake or route != "spa" else "not_sought", prefix="PD")
    cid = contact.id
    gaps: list[float] = []

    async def pause(seconds: float) -> None:
        gaps.append(seconds)
        await asyncio.sleep(seconds)

    await desk.start(contact, RITA)
    day.started += 1
    state = await state_when(desk, cid, lambda s: s.stage == Stage.AWAITING_TRIAGE, "triage")  # the queue, looked at each second
    await pause(rng.uniform(0, 0.2) * unit)
    if route == "advice_nfa":
        await act(day, desk, cid, "triage", triage_payload(state.suggested_level, "advice_nfa", 2))
    elif route == "urgent":
        await act(day, desk, cid, "triage", triage_payload(state.suggested_level, "urgent", 4))
        state = await state_when(desk, cid, lambda s: s.pickup_due_at is not None, "the pickup deadline",
                                 poll=0.2)
        assert state.pickup_due_at is not None
        if rng.random() < args.late:
            await late_until_seen(day, ("pickup", cid), state.pickup_due_at, cap)
        else:
            await asyncio.sleep(max(0.0, (state.pickup_due_at - datetime.now(UTC)).total_seconds() * rng.uniform(0.2, 0.6)))
        await act(day, desk, cid, "pickup", {"actor": SAM})
    else:
        state = await act(day, desk, cid, "triage", triage_payload(state.suggested_level, "spa", 3))
        await pause(rng.uniform(0, 0.3) * unit)
        state = await act(day, desk, cid, "review", {"actor": SAM, "rag": rng.choice(["red", "amber", "green"]),
                                                       "note": "Daily review"})
        if not consent_at_intake:
            await pause(rng.uniform(0.2, 1.0) * unit)
            state = await act(day, desk, cid, "record_consent", {"actor": SAM, "status": "given"})
        agencies = ["police"] + (["school"] if rng.random() < 0.5 else [])
        await pause(rng.uniform(0, 0.5) * unit)
        state = await act(day, desk, cid, "request_map_checks", {"actor": SAM, "agencies": agencies})
        for agency in agencies:
            check = next(m for m in state.map_checks if m.agency == agency)
            if check.due_at is not None and rng.random() < args.late:
                await late_until_seen(day, ("map", cid), check.due_at, cap)
            else:
                await pause(ts.map_response_due.total_seconds() * rng.uniform(0.1, 0.6))
            state = await act(day, desk, cid, "record_map_response",
                              {"actor": SAM, "agency": agency, "information": "Known to us: one call-out"})
        if rng.random() < args.extend and state.decision_due_at is not None:
            await pause(rng.uniform(0, 0.3) * unit)
            new_due = state.decision_due_at + ts.decision_deadline / 4
            state = await act(day, desk, cid, "extend", {"actor": TOM, "reason": "agency_unavailable",
                                                           "new_deadline": new_due.isoformat()})
        await pause(rng.uniform(0.1, 0.5) * unit)
        state = await act(day, desk, cid, "recommend", {
            "actor": SAM, "summary": "Balanced summary of what was found.", "recommended_outcome": "assessment_s17"})
        due = state.decision_due_at
        assert due is not None
        if rng.random() < args.late:
            await late_until_seen(day, ("decision", cid), due, cap)
        else:
            left = (due - datetime.now(UTC)).total_seconds()
            await pause(max(0.0, left * rng.uniform(0.1, 0.7)))
        await act(day, desk, cid, "decide", {"actor": TOM, "outcome": "assessment_s17", "rationale": "Assessment needed",
                                                "recurring_pattern_considered": True})
        day.gaps.append(gaps)
    final = await client.get_workflow_handle_for(ContactWorkflow.run, CONTACT.workflow_id(cid)).result()
    day.finals[cid] = (route, str(final.stage))
    if final.stage not in EXPECTED_FINAL[route]:
        raise RuntimeError(f"{cid} ({route}) ended at {final.stage}, not {' or '.join(sorted(EXPECTED_FINAL[route]))}")
    day.closed += 1


async def watch(day: Day, client: Client, stop: asyncio.Event, every: float) -> None:
    """The supervisor's eye: every list that shows a deadline passed, read to its end."""
    while not stop.is_set():
        t0 = time.perf_counter()
        for name, (query, _, _) in WATCHED.items():
            async for rows, _token in stuck.pages(client, query):
                now = time.time()
                for row in rows:
                    day.seen.setdefault((name, row.id), now)
        day.polls.append(time.perf_counter() - t0)
        try:
            await asyncio.wait_for(stop.wait(), max(0.0, every - (time.perf_counter() - t0)))
        except TimeoutError:
            pass


async def arrivals(label: str, n: int, rate: float, journey: Any, progress: Any) -> float:
    """Start n journeys at `rate` per second (a steady stream), wait for all; returns wall seconds."""
    t0 = time.perf_counter()
    tasks: list[asyncio.Task[None]] = []
    for i in range(n):
        wait = t0 + i / rate - time.perf_counter()
        if wait > 0:
            await asyncio.sleep(wait)
        tasks.append(asyncio.create_task(journey(i)))
        progress()
    while any(not t.done() for t in tasks):
        await asyncio.sleep(1)
        progress()
    for t in tasks:
        if t.exception() is not None:
            say(f"  {label}: a journey failed: {t.exception()!r}")
    return time.perf_counter() - t0


# ------------------------------------------------------------------ the figures
def lateness_lines(day: Day, database_url: str) -> tuple[list[str], float, float, int]:
    trail: dict[tuple[str, str], float] = {}
    told: dict[tuple[str, str], float] = {}
    wanted_actions = {v[1]: k for k, v in WATCHED.items()}
    with session(database_url) as s:
        for r in s.exec(select(ActionRecord).where(col(ActionRecord.action).in_(list(wanted_actions)))):
            key = (wanted_actions[r.action], r.subject_id)
            at = r.at.replace(tzinfo=r.at.tzinfo or UTC).timestamp()
            trail[key] = min(trail.get(key, at), at)
        for m in s.exec(select(OutboxMessage).where(col(OutboxMessage.channel).startswith("role:"))):
            for name, (_, _, prefix) in WATCHED.items():
                if prefix and m.subject.startswith(prefix):
                    key = (name, m.subject.removeprefix(prefix).split()[0])
                    at = m.created_at.replace(tzinfo=m.created_at.tzinfo or UTC).timestamp()
                    told[key] = min(told.get(key, at), at)
    lines = [f"    {'deadline':<10}{'to':<14}{'n':>6}{'p50 s':>8}{'p95 s':>8}{'max s':>8}"]
    listed_all: list[float] = []
    for name in WATCHED:
        keys = [k for k in day.due if k[0] == name]
        for where, source in (("listed", day.seen), ("trail entry", trail), ("notification", told)):
            if where == "notification" and WATCHED[name][2] is None:
                continue
            values = [source[k] - day.due[k] for k in keys if k in source]
            if where == "listed":
                listed_all += values
            if values:
                lines.append(f"    {name:<10}{where:<14}{len(values):>6}{pct(values, 50):8.2f}{pct(values, 95):8.2f}"
                             f"{max(values):8.2f}")
    missed = len(day.resolved_unseen)
    p95 = pct(listed_all, 95) if listed_all else float("nan")
    worst = max(listed_all) if listed_all else float("nan")
    return lines, p95, worst, missed


def failures(failed: list[str]) -> list[str]:
    """Journeys that failed, by what failed them (the first words of the error)."""
    kinds = Counter(f.split("(")[0] + ": " + f.split("(", 1)[-1][:60] for f in failed)
    return [f"    FAILED {n} x {kind}" for kind, n in kinds.most_common(6)]


def rtt_lines(rtt: dict[str, list[float]]) -> list[str]:
    every = [v for values in rtt.values() for v in values]
    lines = [f"    {'action':<20}{'n':>6}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}"]
    for name, values in sorted(rtt.items()):
        lines.append(f"    {name:<20}{len(values):>6}{pct(values, 50) * 1000:9.1f}{pct(values, 95) * 1000:9.1f}"
                     f"{max(values) * 1000:9.1f}")
    if every:
        lines.append(f"    {'every action':<20}{len(every):>6}{pct(every, 50) * 1000:9.1f}{pct(every, 95) * 1000:9.1f}"
                     f"{max(every) * 1000:9.1f}")
    return lines


# ------------------------------------------------------------------ the run
async def contact_day(stack: Stack, client: Client, address: str, server_pid: int | None,
                      args: argparse.Namespace) -> tuple[Day, float, list[str], BarePlan, str]:
    settings = stack.settings(address, f"peak-{uuid.uuid4().hex[:8]}")
    settings = replace(settings, timescales=scaled(args))
    names = ["worker"] if args.workers == 1 else [f"worker-{i}" for i in range(1, args.workers + 1)]
    workers = [stack.start_frontdoor_worker(settings, name=name) for name in names]  # stateless: same settings
    await wait_for_poller(client, settings.temporal.task_queue, stack)
    pids = {"server": server_pid} if server_pid else {}
    pids |= {name: w.pid for name, w in zip(names, workers, strict=True)}
    desk: Desk
    if args.web:
        bases = await start_web(stack, settings, args.web)
        desk = HttpDesk(bases, people_tokens(settings.database_url, f"peak-day {uuid.uuid4().hex[:8]}"))
        pids |= {name: proc.pid for name, proc in stack.procs if name.startswith("web-")}
    else:
        desk = DirectDesk(client, settings)
    pids["benchmark"] = os.getpid()  # the people and the watcher: the driver competes for the same cores
    day = Day()
    rng = random.Random(args.seed)
    usage = Usage(pids)
    stop = asyncio.Event()
    watcher = asyncio.create_task(watch(day, client, stop, args.poll))
    last = [0.0]

    def progress() -> None:
        now = time.monotonic()
        if now - last[0] < 5:
            return
        last[0] = now
        usage.sample()
        every = [v for values in day.rtt.values() for v in values][-2000:]
        late = [day.seen[k] - day.due[k] for k in day.due if k in day.seen]
        say(f"  contacts: {day.started} started, {day.closed} done, {day.started - day.closed} in flight; "
            f"action p95 {pct(every, 95) * 1000 if every else float('nan'):.0f} ms; deadlines passed {len(late)}, "
            f"listed p95 {pct(late, 95) if late else float('nan'):.2f} s; poll {day.polls[-1] if day.polls else 0:.2f} s")

    async def journey(i: int) -> None:
        try:
            await person_day(day, client, desk, settings, args, random.Random(rng.random()))
        except Exception as exc:  # noqa: BLE001 (counted and shown; the day goes on)
            day.failed.append(repr(exc)[:300])

    say(f"the people act through {desk.label}; {len(workers)} worker process(es); case record "
        f"{settings.database_url.split('@')[-1]}")
    say(f"the day: {args.contacts} contacts at {args.rate}/s; 24 h = {args.day_seconds:.0f} s "
        f"(decision {settings.timescales.decision_deadline.total_seconds():.1f} s, pickup "
        f"{settings.timescales.urgent_pickup.total_seconds():.1f} s, MAP answer {settings.timescales.map_response_due.total_seconds():.1f} s)")
    seconds = await arrivals("contacts", args.contacts, args.rate, journey, progress)
    stop.set()
    await watcher
    lines = usage.lines()
    await desk.close()
    for name, proc in list(stack.procs):
        if name.startswith("web-"):
            stack.stop(proc)
    for worker in workers:
        stack.stop(worker)
    return day, seconds, lines, DEFAULT_PLAN, desk.label  # the SPA contact's shape with its six updates (bench/drive.py)


async def bare_day(stack: Stack, client: Client, address: str, server_pid: int | None, args: argparse.Namespace,
                   plan: BarePlan, gaps: list[list[float]]) -> tuple[Day, float, list[str]]:
    settings = stack.settings(address, f"peak-bare-{uuid.uuid4().hex[:8]}")
    worker = stack.start_bare_worker(settings)
    await wait_for_poller(client, settings.temporal.task_queue, stack)
    day = Day()
    rng = random.Random(args.seed)
    usage = Usage({"server": server_pid, "worker": worker.pid} if server_pid else {"worker": worker.pid})
    last = [0.0]

    def progress() -> None:
        if time.monotonic() - last[0] >= 5:
            last[0] = time.monotonic()
            usage.sample()
            say(f"  bare: {day.started} started, {day.closed} done")

    async def journey(i: int) -> None:
        pauses = rng.choice(gaps) if gaps else []
        try:
            handle = await start_bare(client, plan, settings.temporal.task_queue)
            day.started += 1
            for n in range(len(plan.per_update)):
                await asyncio.sleep(pauses[n] if n < len(pauses) else 0)
                t0 = time.perf_counter()
                await handle.execute_update(BareWorkflow.step, n)
                day.rtt[f"update-{n}"].append(time.perf_counter() - t0)
            await handle.result()
            day.closed += 1
        except Exception as exc:  # noqa: BLE001
            day.failed.append(repr(exc)[:300])

    say(f"the bare twin's day: {args.contacts} runs at {args.rate}/s, pausing as the SPA contacts' people did")
    seconds = await arrivals("bare", args.contacts, args.rate, journey, progress)
    lines = usage.lines()
    stack.stop(worker)
    return day, seconds, lines


async def bench(stack: Stack, args: argparse.Namespace) -> int:
    for line in machine():
        say(line)
    server_pid = None
    if args.address:
        address = args.address
    else:
        address = stack.start_dev_server()
        server_pid = stack.procs[-1][1].pid
    say(f"Temporal at {address}; work files in {stack.tmp}")
    client = await connect_when_ready(stack.settings(address, "unused"))
    day, seconds, usage, plan, through = await contact_day(stack, client, address, server_pid, args)
    database_url = stack.settings(address, "unused").database_url
    late_lines, p95, worst, missed = lateness_lines(day, database_url)
    closure: Closure = closure_check(database_url, day.finals, EXPECTED_FINAL)
    out = [
        "",
        f"== peak day: {args.contacts} contacts arriving at {args.rate}/s, 24 h = {args.day_seconds:.0f} s, "
        f"lists polled every {args.poll} s; {args.workers} worker(s), people through {through} ==",
        *machine(),
        f"  ContactWorkflow: {day.closed}/{args.contacts} done in {seconds:.0f} s = {day.closed / seconds:.2f} contacts/s"
        f" (arrivals {args.rate}/s; the day is paced by its deadlines)",
        *failures(day.failed),
        *closure.lines(),
        "  timer lateness (seconds after due; the list is polled, so it carries up to one poll interval):",
        *late_lines,
        f"    deadlines passed {len(day.due)}; never listed before the person acted (missed): {missed}",
        f"    listed p95 {p95:.2f} s (target < {LATENESS_P95_TARGET}: {'met' if p95 < LATENESS_P95_TARGET else 'MISSED'}), "
        f"max {worst:.2f} s (target < {LATENESS_MAX_TARGET}: {'met' if worst < LATENESS_MAX_TARGET else 'MISSED'})",
        f"  one read of the three watched lists to their end under load: p50 {pct(day.polls, 50) * 1000:.0f} ms, "
        f"p95 {pct(day.polls, 95) * 1000:.0f} ms ({len(day.polls)} reads)",
        "  action round trip under load:",
        *rtt_lines(day.rtt),
        "  CPU and memory during the contacts' day:",
        *usage,
    ]
    if not args.no_bare:
        bday, bseconds, busage = await bare_day(stack, client, address, server_pid, args, plan, day.gaps)
        out += [
            f"  BareWorkflow ({plan}): {bday.closed}/{args.contacts} done in {bseconds:.0f} s = "
            f"{bday.closed / bseconds:.2f} runs/s",
            *failures(bday.failed),
            "  bare round trip under load:",
            *rtt_lines(bday.rtt),
            "  CPU and memory during the bare day:",
            *busage,
        ]
    say("\n".join(out))
    return 1 if day.failed or not closure.ok else 0


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="bench/peak_day.py", description=__doc__.split("\n\n")[0] + " " + __doc__.split("\n\n")[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Lateness: 'listed' is from a deadline's due time to the first poll that shows its flag in the stuck "
        "list (decision: overdue; MAP answer: awaiting_agency; urgent pickup: the pickup_late flag); 'trail entry' "
        "to the trail's entry (the time the workflow saw the timer fire); 'notification' to the message to the "
        "managers in the outbox. Only deadlines a scripted person deliberately lets pass are measured; that person "
        "acts once the flag is listed (or --late-cap days after due: counted as missed).",
    )
    p.add_argument("--contacts", type=int, default=2000,
                   help="contacts in the day (default 2000: at the default rate more than an hour, and as long again "
                   "for the bare twin's day; 10000 for the full run)")
    p.add_argument("--rate", type=float, default=0.5, help="contacts arriving per second (default 0.5)")
    p.add_argument("--day-seconds", type=float, default=60.0, help="seconds that stand for 24 hours (default 60)")
    p.add_argument("--poll", type=float, default=0.2, help="seconds between reads of the watched lists (default 0.2)")
    p.add_argument("--late", type=float, default=0.25, help="share of deadlines deliberately let pass (default 0.25)")
    p.add_argument("--late-cap", type=float, default=0.5,
                   help="a late person acts at the latest this many days after due (default 0.5)")
    p.add_argument("--advice", type=float, default=0.15, help="share routed to advice at triage (default 0.15)")
    p.add_argument("--urgent", type=float, default=0.10, help="share triaged urgent (default 0.10)")
    p.add_argument("--consent-sought", type=float, default=0.3, help="share of SPA contacts without consent (default 0.3)")
    p.add_argument("--extend", type=float, default=0.1, help="share of SPA decisions extended (default 0.1)")
    p.add_argument("--seed", type=int, default=13, help="random seed for the mix (default 13)")
    p.add_argument("--no-bare", action="store_true", help="skip the bare twin's day")
    p.add_argument("--address", help="use this Temporal server (host:port) instead of starting a dev server")
    p.add_argument("--workers", type=int, default=1, help="worker processes (python -m worker, same settings; default 1)")
    p.add_argument("--web", type=int, default=0,
                   help="web processes (frontdoor web on free 127.0.0.1 ports, same keys); the people then act "
                   "through their JSON API round-robin with API tokens (default 0: frontdoor.processes directly)")
    p.add_argument("--database-url", help="the case record (e.g. PostgreSQL from ./scripts/ensure_postgres.sh); "
                   "default DATABASE_URL, else a temporary SQLite file")
    p.add_argument("--keep", action="store_true", help="keep the temporary directory (logs, databases)")
    args = p.parse_args(argv)
    if not 1 <= args.contacts <= 100_000:
        p.error("--contacts must be between 1 and 100000")
    if not 0.1 <= args.rate <= 100 or not 6 <= args.day_seconds <= DAY or not 0.05 <= args.poll <= 10:
        p.error("--rate 0.1-100, --day-seconds 6-86400, --poll 0.05-10")
    for name in ("late", "advice", "urgent", "consent_sought", "extend"):
        if not 0 <= getattr(args, name) <= 1:
            p.error(f"--{name.replace('_', '-')} is a share between 0 and 1")
    if not 1 <= args.workers <= 16 or not 0 <= args.web <= 16:
        p.error("--workers 1-16, --web 0-16 (this starts that many processes)")
    if args.database_url is not None and not args.database_url.startswith(("postgresql", "sqlite:///")):
        p.error("--database-url: a postgresql://user:pass@host/db or sqlite:///path URL")
    if args.advice + args.urgent > 1:
        p.error("--advice + --urgent must not exceed 1")
    return args


if __name__ == "__main__":
    arguments = parse(sys.argv[1:])
    if arguments.database_url:
        os.environ["DATABASE_URL"] = arguments.database_url  # Stack.settings and every process it starts read it
    sys.exit(run_main(partial(bench, args=arguments), keep=arguments.keep))
