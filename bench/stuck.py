"""Stuck-list benchmark: each supervisor question's count and first page at 1,000 and 10,000 open contacts.

Opens N real contacts (ContactWorkflow on the production worker) in mixed stages,
and at each checkpoint (by default 1,000 and 10,000 open contacts), with the stack
idle, times frontdoor.stuck.count and frontdoor.stuck.page (page_size 50) for every
stuck kind, and reads the worker's RSS from /proc/PID/status.

The mix, by contact number modulo 20 (all stay open):
  10/20 awaiting triage (unreviewed)         1/20 urgent, awaiting pickup
   2/20 SPA, awaiting consent                1/20 SPA, MAP request late (agency due in 2s)
   1/20 SPA, reviewed, in MAP checks         1/20 awaiting triage, review due in 2s (review late)
   1/20 SPA, decision overdue (deadline 1s)  1/20 SPA, awaiting the decision
   1/20 SPA, decision due in 2h (due soon)   1/20 awaiting triage, reviewed
Contacts are started many at a time with a window on those still in intake (so the
worker's workflow cache is not thrashed), then the few that need actions are driven
through them with frontdoor.processes.act.

    .venv/bin/python bench/stuck.py                       # 10,000 contacts: about 15-30 min on 2 cores
    .venv/bin/python bench/stuck.py --contacts 2000 --checkpoints 1000 2000
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from drive import payloads
from harness import (
    RITA,
    SAM,
    Progress,
    Stack,
    connect_when_ready,
    machine,
    main,
    ms,
    new_contact,
    pct,
    proc_status,
    say,
    server_options,
    server_parser,
    triage_payload,
    wait_for_poller,
)
from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy

from frontdoor import processes, stuck
from frontdoor.config import Settings
from models.calendar import WorkingCalendar
from models.contact import Contact
from models.state import ContactWorkflowInput
from workflows.contact import PROCESS as CONTACT
from workflows.contact import ContactWorkflow
from workflows.contact_identity import typed_start_attributes, workflow_id

COUNT_TARGET_MS = 50.0
PAGE_TARGET_MS = 100.0
RSS_TARGET_MB = 300.0
SETTLE_TIMEOUT = 600.0

# Profile of contact number i is PROFILES[i % 20].
PROFILES = [
    *["triage"] * 10, "consent", "consent", "map_checks", "overdue", "due_soon",
    "urgent", "agency_late", "review_late", "decision", "reviewed",
]
# What each profile shows up as, once settled (kinds with a known expected count).
EXPECTED_KIND = {"overdue": "overdue", "agency_late": "awaiting_agency", "review_late": "review_late",
                 "urgent": "urgent_unpicked", "due_soon": "due_soon", "consent": "awaiting_consent"}


def _end_of_today() -> datetime:
    calendar = WorkingCalendar()
    return calendar.end_of(calendar.local_date(datetime.now(UTC)))


def act(client: Client, contact_id: str, name: str, payload: dict[str, Any]) -> Any:
    return processes.act(client, CONTACT, contact_id, name, payload)


def profile(i: int) -> str:
    return PROFILES[i % len(PROFILES)]


class Opener:
    """Opens contacts in their profiles and remembers which still need actions."""

    def __init__(self, client: Client, settings: Settings, window: int, concurrency: int) -> None:
        self.client, self.settings = client, settings
        self.window, self.concurrency = window, concurrency
        self.opened = 0
        self.pending_actions: list[tuple[str, str]] = []  # (contact id, profile)
        self.failures: Counter[str] = Counter()

    def settings_for(self, prof: str) -> Settings:
        ts = self.settings.timescales
        if prof == "overdue":
            ts = ts.model_copy(update={"decision_deadline": timedelta(seconds=1)})
        elif prof == "due_soon":
            ts = ts.model_copy(update={"decision_deadline": timedelta(hours=2)})
        elif prof == "agency_late":
            ts = ts.model_copy(update={"map_response_due": timedelta(seconds=2)})
        return replace(self.settings, timescales=ts)

    async def start_one(self, i: int) -> None:
        prof = profile(i)
        contact = new_contact(consent="not_sought" if prof == "consent" else "given", prefix=f"S{i}")
        if prof == "review_late":
            await self._start_review_due_soon(contact)
        else:
            await processes.start(self.client, self.settings_for(prof), CONTACT, contact, RITA)
        if prof not in ("triage", "review_late"):
            self.pending_actions.append((contact.id, prof))

    async def _start_review_due_soon(self, contact: Contact) -> None:
        """As submit_contact, but the review is due in 2 seconds rather than at midnight."""
        inp = ContactWorkflowInput(
            contact=contact, submitted_by=RITA.username, timescales=self.settings.timescales,
            review_due_at=min(datetime.now(UTC) + timedelta(seconds=2), _end_of_today()),
        )
        await self.client.start_workflow(
            ContactWorkflow.run, inp, id=workflow_id(contact.id), task_queue=self.settings.temporal.task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            search_attributes=typed_start_attributes(contact),
        )

    async def in_intake(self) -> int:
        return (await self.client.count_workflows(f"{stuck.OPEN} AND FdStage IN ('intake', 'history_check')")).count

    async def open_until(self, target: int) -> None:
        """Start contacts up to `target`, keeping at most `window` in intake at once."""
        progress = Progress("opened", target)
        sem = asyncio.Semaphore(self.concurrency)
        deadline = time.monotonic() + 4 * 3600

        async def guarded(i: int) -> None:
            async with sem:
                await self.start_one(i)

        while self.opened < target and time.monotonic() < deadline:
            waiting = await self.in_intake()
            left = target - self.opened
            room = min(self.window - waiting, left)
            if room <= 0 or (room < self.window // 4 and room < left):  # wait for a worthwhile batch
                progress.tick(self.opened, f", {waiting} in intake")
                await asyncio.sleep(0.5)
                continue
            batch = range(self.opened, self.opened + room)
            await asyncio.gather(*(guarded(i) for i in batch))
            self.opened += room
            progress.tick(self.opened, f", {waiting + room} in intake")
        await self.wait_intake_done()

    async def wait_intake_done(self) -> None:
        deadline = time.monotonic() + SETTLE_TIMEOUT
        progress = Progress("intake finishing", 0)
        while (left := await self.in_intake()) > 0:
            if time.monotonic() > deadline:
                raise SystemExit(f"{left} contacts still in intake after {SETTLE_TIMEOUT:.0f}s")
            progress.tick(0, f"{left} still in intake")
            await asyncio.sleep(1)

    async def drive_pending(self) -> None:
        """Put the contacts that need actions into their stages, a few at a time."""
        todo, self.pending_actions = self.pending_actions, []
        progress = Progress("driving actions", len(todo))
        sem = asyncio.Semaphore(self.concurrency)
        done = 0

        async def one(contact_id: str, prof: str) -> None:
            nonlocal done
            async with sem:
                try:
                    await asyncio.wait_for(self._drive(contact_id, prof), 120)
                except Exception as exc:  # noqa: BLE001 (counted and reported; the bench goes on)
                    self.failures[f"{prof}: {type(exc).__name__}: {exc}"[:160]] += 1
            done += 1
            progress.tick(done)

        await asyncio.gather(*(one(c, p) for c, p in todo))

    async def _drive(self, contact_id: str, prof: str) -> None:
        c = self.client
        if prof == "reviewed":
            await act(c, contact_id, "review", {"actor": SAM, "rag": "green"})
            return
        if prof == "urgent":
            await act(c, contact_id, "triage", triage_payload(None, route="urgent", level=4))
            return
        steps = dict(payloads(None))
        await act(c, contact_id, "triage", steps["triage"])
        if prof == "map_checks":
            await act(c, contact_id, "review", steps["review"])
        elif prof == "agency_late":
            await act(c, contact_id, "request_map_checks", steps["request_map_checks"])
        elif prof == "decision":
            for name in ("request_map_checks", "record_map_response", "recommend"):
                await act(c, contact_id, name, steps[name])


async def settle(client: Client, expected: dict[str, int]) -> dict[str, int]:
    """Wait until timers have fired and visibility shows every expected list in full."""
    deadline = time.monotonic() + SETTLE_TIMEOUT
    progress = Progress("settling (timers, visibility)", 0)
    while True:
        counts = {kind: await stuck.count(client, kind) for kind in expected}
        short = {k: f"{counts[k]}/{n}" for k, n in expected.items() if counts[k] < n}
        if not short:
            break
        if time.monotonic() > deadline:
            say(f"  WARNING: not settled after {SETTLE_TIMEOUT:.0f}s: {short}; measuring anyway")
            break
        progress.tick(0, f"waiting for {short}")
        await asyncio.sleep(1)
    await asyncio.sleep(3)  # the chases and audits that follow a flag
    return counts


async def measure(client: Client, repeat: int, page_size: int) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for kind in stuck.KINDS:
        count_times, page_times = [], []
        n, rows = 0, 0
        for _ in range(repeat):
            t0 = time.perf_counter()
            n = await stuck.count(client, kind)
            count_times.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            page, _ = await stuck.page(client, kind, page_size=page_size)
            page_times.append(time.perf_counter() - t0)
            rows = len(page)
        out[kind] = {
            "count": n, "rows": rows,
            "count_p50": pct(count_times, 50), "count_p95": pct(count_times, 95),
            "page_p50": pct(page_times, 50), "page_p95": pct(page_times, 95),
        }
    return out


def report(at: int, figures: dict[str, dict[str, Any]], rss: dict[str, int], seconds: float) -> list[str]:
    lines = [
        f"  at {at} open contacts (opened in {seconds:.0f}s; worker RSS {rss.get('VmRSS', 0) / 1024:.0f} MB, "
        f"peak {rss.get('VmHWM', 0) / 1024:.0f} MB, target < {RSS_TARGET_MB:.0f} MB):",
        f"    {'kind':<22}{'count':>7}{'rows':>6}{'count p50':>11}{'p95 ms':>8}{'page p50':>10}{'p95 ms':>8}",
    ]
    for kind, f in figures.items():
        lines.append(
            f"    {kind:<22}{f['count']:>7}{f['rows']:>6}{ms(f['count_p50']):>11}{ms(f['count_p95']):>8}"
            f"{ms(f['page_p50']):>10}{ms(f['page_p95']):>8}"
        )
    worst_count = max(f["count_p95"] for f in figures.values()) * 1000
    worst_page = max(f["page_p95"] for f in figures.values()) * 1000
    lines.append(
        f"    worst count p95 {worst_count:.1f} ms (target < {COUNT_TARGET_MS:.0f}: "
        f"{'met' if worst_count < COUNT_TARGET_MS else 'MISSED'}); worst first page p95 {worst_page:.1f} ms "
        f"(target < {PAGE_TARGET_MS:.0f}: {'met' if worst_page < PAGE_TARGET_MS else 'MISSED'})"
    )
    return lines


async def bench(stack: Stack, args: argparse.Namespace) -> int:
    for line in machine():
        say(line)
    address = args.address or stack.start_dev_server(args.synchronous)
    settings = stack.settings(address, f"bench-stuck-{int(time.time())}")
    say(f"Temporal at {address}; task queue {settings.temporal.task_queue}; work files in {stack.tmp}")
    client = await connect_when_ready(settings)
    worker = stack.start_frontdoor_worker(settings)
    await wait_for_poller(client, settings.temporal.task_queue, stack)
    if args.address and (await client.count_workflows(stuck.OPEN)).count != 0:
        say("  note: the server already has open workflows; counts include them")
    opener = Opener(client, settings, args.window, args.concurrency)
    lines: list[str] = []
    started = time.monotonic()
    for checkpoint in args.checkpoints:
        say(f"opening contacts up to {checkpoint}")
        await opener.open_until(checkpoint)
        stack.check_alive()
        await opener.drive_pending()
        stack.check_alive()
        made = Counter(profile(i) for i in range(checkpoint))
        expected = {kind: made[p] for p, kind in EXPECTED_KIND.items()}
        await settle(client, expected)
        seconds = time.monotonic() - started
        say(f"measuring the stuck queries at {checkpoint} open contacts ({args.repeat} times each)")
        figures = await measure(client, args.repeat, args.page_size)
        rss = proc_status(worker.pid)
        lines += report(checkpoint, figures, rss, seconds)
        say("\n".join(lines[-len(figures) - 3:]))
        if opener.failures:
            say(f"  actions that failed: {dict(opener.failures)}")
    say("\n".join(["", f"== stuck lists: count and first page of {args.page_size} =="
                   f" ({args.repeat} runs each, sequential, stack idle) ==", *machine(), *lines]))
    return 0


def parse(argv: list[str]) -> argparse.Namespace:
    p = server_parser(
        "bench/stuck.py", __doc__,
        epilog="Figures: count = frontdoor.stuck.count (one count_workflows); page = frontdoor.stuck.page "
        "(one list_workflows page); p50/p95 in ms over --repeat sequential calls on an idle stack; "
        "targets: count p95 < 50 ms, first page p95 < 100 ms, flat from 1,000 to 10,000; worker RSS < 300 MB.",
    )
    p.add_argument("--contacts", type=int, default=10000, help="open contacts in the end (default 10000)")
    p.add_argument("--checkpoints", type=int, nargs="*", default=None,
                   help="measure at these counts (default: 1000 and --contacts)")
    p.add_argument("--repeat", type=int, default=30, help="calls of each query per checkpoint (default 30)")
    p.add_argument("--page-size", type=int, default=50, help="rows in the first page (default 50)")
    p.add_argument("--window", type=int, default=400,
                   help="at most this many contacts in intake at once (default 400; the worker caches 1000)")
    p.add_argument("--concurrency", type=int, default=50, help="starts and actions in flight at once (default 50)")
    server_options(p)
    p.add_argument("--keep", action="store_true", help="keep the temporary directory (logs, databases)")
    args = p.parse_args(argv)
    if args.contacts < 1 or args.repeat < 1 or args.window < 4 or args.concurrency < 1 or args.page_size < 1:
        p.error("--contacts, --repeat, --concurrency, --page-size must be positive and --window at least 4")
    points = args.checkpoints if args.checkpoints else [min(1000, args.contacts), args.contacts]
    args.checkpoints = sorted({c for c in points if 0 < c <= args.contacts} | {args.contacts})
    return args


if __name__ == "__main__":
    main(parse, bench)
