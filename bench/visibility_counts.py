"""Visibility counts at 10,000 open workflows: the `unreviewed` list's KeywordList query against a
Bool (or a spare Keyword) carrying the same fact, on the dev server's SQLite visibility store.

The `unreviewed` stuck list (workflows/contact.py) counts open contacts whose FdFlags
KeywordList holds 'unreviewed': 9 in 10 of them in bench/stuck.py's mix, and its count is the
one over 50 ms p95 at 10,000 open contacts. This script answers, without opening real contacts
(that takes 30 min), whether another search attribute type counts the same rows faster.

It starts its own dev server (as `frontdoor run` does), registers the project's search
attributes plus two candidates (FdUnreviewed, a Bool; FdReview, a Keyword in the dev server's
10th and last Keyword slot), and starts N minimal workflows (one that waits forever, on its own
task queue, worked by a worker in this process) whose search attributes are set at start: FdKind
'contact', FdStage, FdFlags, FdUnreviewed and FdReview, in bench/stuck.py's mix (by number
modulo 20: 18 of 20 unreviewed, some with a second flag). With the worker stopped (the
stack idle) it times count_workflows for each query, --repeat sequential calls in each of
--rounds rounds (the queries in turn within a round), and prints p50/p95 in ms per round.

    .venv/bin/python bench/visibility_counts.py                    # 10,000 workflows: ~2-4 min
    .venv/bin/python bench/visibility_counts.py --workflows 1000 --rounds 1
    .venv/bin/python bench/visibility_counts.py --address 127.0.0.1:PORT --measure-only --rounds 4

It also times a capped count ("1,000+"): one listing page of cap + 1 rows (CAPPED), and the
supervisor's counts: every stuck list of every process (frontdoor/stuck.py's KINDS, over these
workflows' attributes) asked one after another and with 2, 4 or 8 in flight (`stuck.counts`; LISTS).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

from harness import (
    Progress,
    Stack,
    at_least_one,
    connect_when_ready,
    machine,
    main,
    ms,
    pct,
    say,
    server_options,
    server_parser,
)
from temporalio import workflow
from temporalio.api.workflowservice.v1 import ListWorkflowExecutionsRequest
from temporalio.client import Client
from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes
from temporalio.service import RPCError
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from frontdoor import stuck
from frontdoor.temporal import ensure_search_attributes
from workflows import search_attributes as sa
from workflows.process import OPEN

COUNT_TARGET_MS = 50.0
UNREVIEWED = SearchAttributeKey.for_bool("FdUnreviewed")  # the candidate Bool
REVIEW = SearchAttributeKey.for_keyword("FdReview")  # the candidate Keyword (the 10th slot)
CLOSED_FLAGGED = 100  # 1 in 100 closed workflows keeps 'unreviewed' (terminated before its review)

# bench/stuck.py's mix, by number modulo 20: (FdStage, FdFlags) once its contacts have settled.
MIX: list[tuple[str, list[str]]] = [
    *[("awaiting_triage", ["unreviewed"])] * 10,            # awaiting triage
    ("awaiting_consent", ["unreviewed"]), ("awaiting_consent", ["unreviewed"]),
    ("map_checks", []),                                       # reviewed, in MAP checks
    ("map_checks", ["unreviewed", "decision_overdue"]),       # decision overdue
    ("map_checks", ["unreviewed"]),                           # decision due soon
    ("awaiting_pickup", ["unreviewed", "awaiting_pickup"]),   # urgent, not picked up
    ("map_checks", ["unreviewed", "agency_late"]),            # MAP answer late
    ("awaiting_triage", ["unreviewed", "review_late"]),       # not reviewed on the day
    ("awaiting_decision", ["unreviewed"]),                    # awaiting the decision
    ("awaiting_triage", []),                                  # reviewed, awaiting triage
]

# What is timed: (name, query). "today" is the unreviewed list's query as it is.
QUERIES: list[tuple[str, str]] = [
    ("flags (today)", f"{OPEN} AND FdFlags = 'unreviewed'"),
    ("bool", f"{OPEN} AND FdUnreviewed = true"),
    ("keyword", f"{OPEN} AND FdReview = 'unreviewed'"),
    ("bool OR flags", f"{OPEN} AND (FdUnreviewed = true OR FdFlags = 'unreviewed')"),
    ("kind + flags", f"FdKind = 'contact' AND {OPEN} AND FdFlags = 'unreviewed'"),
    ("kind + bool", f"FdKind = 'contact' AND {OPEN} AND FdUnreviewed = true"),
    ("flags, no status", "FdFlags = 'unreviewed'"),
    ("bool, no status", "FdUnreviewed = true"),
    ("flags, not closed", "CloseTime IS NULL AND FdFlags = 'unreviewed'"),
    ("stage keyword", f"{OPEN} AND FdStage = 'awaiting_triage'"),
    ("small flag (5%)", f"{OPEN} AND FdFlags = 'decision_overdue'"),
    ("all open", OPEN),
]

# A capped count: one page of a listing, `cap + 1` rows at most ("1,000+" past the cap); a
# listing's page may stop early where a count reads every match (issue 13 §2).
CAPPED: list[tuple[str, str, int]] = [
    (f"flags, first {cap + 1}", f"{OPEN} AND FdFlags = 'unreviewed'", cap) for cap in (100, 1000)
]

_started_runs = 0  # first workflow tasks this process's worker has run (the bench's own progress)


@workflow.defn(name="VisibilityCountsIdle", sandboxed=False)
class Idle:
    """Waits forever: an open workflow whose only purpose is its visibility row."""

    @workflow.run
    async def run(self) -> None:
        global _started_runs
        if not workflow.unsafe.is_replaying():
            _started_runs += 1
        await workflow.wait_condition(lambda: False)


def attributes(i: int, closed: bool = False) -> TypedSearchAttributes:
    stage, flags = MIX[i % len(MIX)]
    if closed:  # a closed contact has no flags, unless it was terminated before its review (1 in CLOSED_FLAGGED)
        stage, flags = "closed", (["unreviewed"] if i % CLOSED_FLAGGED == 0 else [])
    unreviewed = "unreviewed" in flags
    pairs: list[SearchAttributePair[Any]] = [
        SearchAttributePair(sa.KIND, "contact"),
        SearchAttributePair(sa.SUBJECT, f"VC-{i}"),
        SearchAttributePair(sa.STAGE, stage),
        SearchAttributePair(sa.FLAGS, flags),
        SearchAttributePair(UNREVIEWED, unreviewed),
        SearchAttributePair(REVIEW, "unreviewed" if unreviewed else "reviewed"),
    ]
    return TypedSearchAttributes(pairs)


async def register_candidates(client: Client) -> None:
    await ensure_search_attributes(client, [UNREVIEWED, REVIEW])
    deadline = time.monotonic() + 30
    while True:  # the dev server makes a new attribute queryable a moment after adding it
        try:
            await client.count_workflows("FdUnreviewed = true AND FdReview = 'x'")
            return
        except Exception as exc:  # noqa: BLE001
            if time.monotonic() > deadline:
                raise SystemExit(f"the candidate search attributes are not queryable: {exc}") from exc
            await asyncio.sleep(0.5)


async def start_all(client: Client, task_queue: str, n: int, concurrency: int, closed: bool = False) -> None:
    """Start n workflows; with `closed`, on a queue nobody polls, each terminated at once."""
    progress = Progress("started and terminated" if closed else "started", n)
    sem = asyncio.Semaphore(concurrency)
    done = 0
    prefix = f"vc-{'closed-' if closed else ''}{int(time.time())}"

    async def one(i: int) -> None:
        nonlocal done
        async with sem:
            handle = await client.start_workflow(Idle.run, id=f"{prefix}-{i}", task_queue=task_queue,
                                                 search_attributes=attributes(i, closed))
            if closed:
                await handle.terminate("bench: a closed workflow in visibility")
        done += 1
        progress.tick(done)

    await asyncio.gather(*(one(i) for i in range(n)))


async def wait_first_tasks(n: int, timeout: float = 900) -> None:
    """Until the worker has run every workflow's first task (then it idles: no more work)."""
    progress = Progress("first workflow tasks run", n)
    deadline = time.monotonic() + timeout
    while _started_runs < n:
        if time.monotonic() > deadline:
            raise SystemExit(f"only {_started_runs}/{n} workflows ran their first task in {timeout:.0f}s")
        progress.tick(_started_runs)
        await asyncio.sleep(0.5)
    progress.tick(n)


async def capped_count(client: Client, query: str, cap: int) -> int:
    """How many match, up to cap + 1: one ListWorkflowExecutions page, as the client sends it."""
    request = ListWorkflowExecutionsRequest(namespace=client.namespace, page_size=cap + 1, query=query)
    return len((await client.workflow_service.list_workflow_executions(request)).executions)


async def measure(client: Client, repeat: int) -> dict[str, tuple[int, float, float]]:
    out: dict[str, tuple[int, float, float]] = {}
    calls: list[tuple[str, Callable[[], Awaitable[int]]]] = [(name, partial(_count, client, query)) for name, query in QUERIES]
    calls += [(name, partial(capped_count, client, query, cap)) for name, query, cap in CAPPED]
    calls += [(name, partial(every_list, client, at_once)) for name, at_once in LISTS]
    for name, call in calls:
        times = []
        n = 0
        try:
            await call()  # one warm-up call, not timed
            for _ in range(repeat):
                t0 = time.perf_counter()
                n = await call()
                times.append(time.perf_counter() - t0)
        except RPCError as exc:  # e.g. a large listing page past the dev server's persistence rate limit
            say(f"  {name}: refused by the server ({exc.status.name}: {exc.message[:120]}); shown as refused, "
                "the other queries go on after a pause")
            out[name] = (REFUSED, float("nan"), float("nan"))
            await asyncio.sleep(5)
            continue
        out[name] = (n, pct(times, 50), pct(times, 95))
    return out


REFUSED = -1  # a query the server refused in a round (its count is shown as "refused")


async def _count(client: Client, query: str) -> int:
    return (await client.count_workflows(query)).count


# The supervisor's counts, every stuck list's: (name, how many in flight at once)
LISTS = [("lists in turn", 1), ("lists 2 at once", 2), ("lists 4 at once", 4), ("lists 8 at once", 8)]


async def every_list(client: Client, at_once: int) -> int:
    """Every stuck list's count, `at_once` in flight; returns how many lists were counted."""
    return len(await stuck.counts(client, stuck.KINDS, at_once=at_once))


def table(rounds: list[dict[str, tuple[int, float, float]]], n: int, repeat: int, closed: int) -> list[str]:
    head = f"  {'query':<20}{'count':>7}" + "".join(f"{f'r{r + 1} p50':>10}{'p95 ms':>8}" for r in range(len(rounds)))
    lines = [f"count_workflows at {n} open workflows and {closed} closed, {repeat} sequential calls per query per round "
             f"(target p95 < {COUNT_TARGET_MS:.0f} ms):", head]
    for name in [n for n, _ in QUERIES] + [n for n, _, _ in CAPPED] + [n for n, _ in LISTS]:
        counted = [figures[name][0] for figures in rounds if figures[name][0] != REFUSED]
        row = f"  {name:<20}{counted[0] if counted else 'refused':>7}"
        for figures in rounds:
            got, p50, p95 = figures[name]
            row += f"{'refused':>18}" if got == REFUSED else f"{ms(p50):>10}{ms(p95):>8}"
        lines.append(row)
    lines.append("  queries:")
    lines += [f"    {name:<20}{query}" for name, query in QUERIES]
    lines += [f"    {name:<20}{query}: one listing page of {cap + 1} at most" for name, query, cap in CAPPED]
    lines += [f"    {name:<20}every stuck list's count ({len(stuck.KINDS)}), {at_once} in flight at most"
              for name, at_once in LISTS]
    return lines


async def bench(stack: Stack, args: argparse.Namespace) -> int:
    for line in machine():
        say(line)
    address = args.address or stack.start_dev_server(args.synchronous)
    task_queue = f"bench-visibility-{int(time.time())}"
    settings = stack.settings(address, task_queue)
    say(f"Temporal at {address}; task queue {task_queue}; work files in {stack.tmp}")
    client = await connect_when_ready(settings)
    await register_candidates(client)
    if (before := (await client.count_workflows(OPEN)).count) != 0 and not args.measure_only:
        say(f"  note: the server already has {before} open workflows; counts include them")
    if args.measure_only:
        say(f"  --measure-only: measuring the {before} open workflows already there")
        args.workflows = before
    else:
        worker = Worker(client, task_queue=task_queue, workflows=[Idle], activities=[],
                        workflow_runner=UnsandboxedWorkflowRunner(), max_cached_workflows=100,
                        max_concurrent_workflow_tasks=50)
        t0 = time.monotonic()
        async with worker:
            say(f"starting {args.workflows} idle workflows ({args.concurrency} starts in flight)")
            await start_all(client, task_queue, args.workflows, args.concurrency)
            await wait_first_tasks(args.workflows)
        say(f"  {args.workflows} open in {time.monotonic() - t0:.0f}s; worker stopped, the stack is idle")
        await asyncio.sleep(args.settle)
    if args.closed:
        say(f"starting and terminating {args.closed} closed workflows (1 in {CLOSED_FLAGGED} still flagged unreviewed)")
        await start_all(client, f"{task_queue}-closed", args.closed, args.concurrency, closed=True)
        await asyncio.sleep(args.settle)
    closed_now = (await client.count_workflows(f"NOT ({OPEN})")).count
    say(f"  {closed_now} closed workflows in visibility")
    rounds = []
    for r in range(args.rounds):
        say(f"round {r + 1}/{args.rounds}: {len(QUERIES)} queries x {args.repeat} calls "
            f"(load average {' '.join(f'{x:.2f}' for x in os.getloadavg())})")
        rounds.append(await measure(client, args.repeat))
        say("\n".join(table(rounds[-1:], args.workflows, args.repeat, closed_now)[1:len(QUERIES) + len(CAPPED) + len(LISTS) + 2]))
    say("\n".join(["", "== visibility counts: the unreviewed list's query and its candidates ==",
                   *machine(), *table(rounds, args.workflows, args.repeat, closed_now)]))
    return 0


def parse(argv: list[str]) -> argparse.Namespace:
    p = server_parser(
        "bench/visibility_counts.py", __doc__, worker=False,
        epilog="Figures: one count_workflows per call, p50/p95 in ms over --repeat sequential calls on an idle "
        "stack, per round; target p95 < 50 ms (issue 13).",
    )
    p.add_argument("--workflows", type=at_least_one, default=10000, help="open workflows (default 10000)")
    p.add_argument("--repeat", type=at_least_one, default=30, help="calls of each query per round (default 30)")
    p.add_argument("--rounds", type=at_least_one, default=2, help="rounds of all the queries (default 2)")
    p.add_argument("--closed", type=int, default=0,
                   help="also start this many workflows and terminate them (closed rows in visibility, as "
                   "within a namespace's retention; 1 in 100 still flagged unreviewed); default 0")
    p.add_argument("--concurrency", type=at_least_one, default=100, help="starts in flight at once (default 100)")
    p.add_argument("--settle", type=float, default=3.0, help="seconds to wait before measuring (default 3)")
    server_options(p)
    p.add_argument("--measure-only", action="store_true",
                   help="with --address: start nothing, time the queries over the workflows already there "
                   "(e.g. a server restarted on a database kept with --keep)")
    p.add_argument("--keep", action="store_true", help="keep the temporary directory (logs, the server's database)")
    args = p.parse_args(argv)
    if not 0 <= args.closed <= 100_000:
        p.error("--closed is 0 to 100000")
    if args.workflows > 100_000 or args.repeat > 1000 or args.rounds > 10 or args.concurrency > 500:
        p.error("at most 100000 workflows, 1000 calls per query, 10 rounds, 500 starts in flight")
    if args.measure_only and not args.address:
        p.error("--measure-only needs --address (a server that already has the workflows)")
    if not 0 <= args.settle <= 600:
        p.error("--settle is 0 to 600 seconds")
    return args


if __name__ == "__main__":
    main(parse, bench)
