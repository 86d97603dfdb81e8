"""What the dev server's SQLite `synchronous` pragma costs, to justify FULL.

For each of synchronous=FULL, NORMAL and OFF (always with journal_mode=wal, as
frontdoor.stack.dev_server_command starts it) this starts a fresh dev server, runs the
bare workflow (the contact's shape: same activities and updates, no database work) for
N runs and prints runs/s and the idle round trip of one update. With --contact it runs
the real ContactWorkflow too. Rounds interleave the modes, so background load from
other work on the machine falls on all of them alike.

    .venv/bin/python bench/sqlite_pragmas.py                    # 200 bare runs per mode
    .venv/bin/python bench/sqlite_pragmas.py --rounds 2 --contact
"""

from __future__ import annotations

import argparse
import statistics
import uuid
from functools import partial

from drive import DEFAULT_PLAN, drive_bare, drive_contact, run_phase
from harness import (
    SYNCHRONOUS_MODES,
    Stack,
    at_least_one,
    connect_when_ready,
    machine,
    main,
    ms,
    pct,
    say,
    wait_for_poller,
)


async def one_mode(stack: Stack, args: argparse.Namespace, mode: str, workflow: str) -> tuple[float, float, float]:
    """(runs per second, idle p50, idle p95) for one fresh server with this pragma."""
    server_name = f"temporal-{mode.lower()}-{uuid.uuid4().hex[:6]}"
    address = stack.start_dev_server(mode, name=server_name)
    server = stack.procs[-1][1]
    try:
        settings = stack.settings(address, f"bench-{workflow}-{uuid.uuid4().hex[:8]}")
        client = await connect_when_ready(settings)
        if workflow == "bare":
            worker = stack.start_bare_worker(settings)
            drive = partial(drive_bare, client, settings.temporal.task_queue, DEFAULT_PLAN)
        else:
            worker = stack.start_frontdoor_worker(settings)
            drive = partial(drive_contact, client, settings)
        try:
            await wait_for_poller(client, settings.temporal.task_queue, stack)
            await run_phase(f"{workflow} warm-up, synchronous={mode}", args.warmup, args.warmup, drive)
            seconds, _, _ = await run_phase(f"{workflow}, synchronous={mode}", args.runs, args.concurrency, drive)
            _, idle, _ = await run_phase(f"{workflow} one at a time, synchronous={mode}", args.idle, 1, drive)
        finally:
            stack.stop(worker)
    finally:
        stack.stop(server)
        for suffix in ("", "-wal", "-shm"):
            (stack.tmp / f"{server_name}.db{suffix}").unlink(missing_ok=True)
    every = [v for values in idle.values() for v in values]
    rate = args.runs / seconds
    say(f"  synchronous={mode}: {rate:.1f} {workflow} runs/s")
    return rate, pct(every, 50), pct(every, 95)


async def bench(stack: Stack, args: argparse.Namespace) -> int:
    for line in machine():
        say(line)
    workflows = ["bare", "contact"] if args.contact else ["bare"]
    results: dict[tuple[str, str], list[tuple[float, float, float]]] = {}
    for r in range(args.rounds):
        say(f"round {r + 1}/{args.rounds}")
        for mode in args.modes:
            for workflow in workflows:
                results.setdefault((workflow, mode), []).append(await one_mode(stack, args, mode, workflow))
    out = [
        "",
        f"== dev server SQLite synchronous pragma (journal_mode=wal): {args.runs} runs, "
        f"{args.concurrency} at a time, {args.rounds} round(s), median ==",
        *machine(),
        f"  {'workflow':<9}{'pragma':<20}{'runs/s':>8}{'vs FULL':>9}{'idle update p50':>17}{'p95 ms':>8}  each round",
    ]
    for workflow in workflows:
        full = statistics.median(x[0] for x in results.get((workflow, "FULL"), [(float("nan"), 0, 0)]))
        for mode in args.modes:
            rows = results[(workflow, mode)]
            rate = statistics.median(x[0] for x in rows)
            p50 = statistics.median(x[1] for x in rows)
            p95 = statistics.median(x[2] for x in rows)
            out.append(
                f"  {workflow:<9}{'synchronous=' + mode:<20}{rate:8.1f}{rate / full:8.2f}x{ms(p50):>17}{ms(p95):>8}"
                f"  {[round(x[0], 1) for x in rows]}"
            )
    say("\n".join(out))
    return 0


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="bench/sqlite_pragmas.py",
        description=__doc__.split("\n\n")[0] + " Starts (and stops, by pid) one fresh dev server per mode.",
        epilog="runs/s = bare runs (or contacts) from start to close per second of wall time; "
        "the idle update round trip is one Update, sent to result, one run at a time.",
    )
    p.add_argument("--runs", type=at_least_one, default=200, help="runs per mode (default 200)")
    p.add_argument("--concurrency", type=at_least_one, default=20, help="runs in flight at once (default 20)")
    p.add_argument("--idle", type=at_least_one, default=10, help="runs one at a time for the idle round trip (default 10)")
    p.add_argument("--warmup", type=at_least_one, default=5, help="runs before measuring (default 5)")
    p.add_argument("--rounds", type=at_least_one, default=1, help="repeat all modes, interleaved; medians reported (default 1)")
    p.add_argument("--modes", nargs="+", default=list(SYNCHRONOUS_MODES), choices=SYNCHRONOUS_MODES,
                   help="pragma values to compare (default FULL NORMAL OFF)")
    p.add_argument("--contact", action="store_true", help="also run the real ContactWorkflow in each mode")
    p.add_argument("--keep", action="store_true", help="keep the temporary directory (logs)")
    args = p.parse_args(argv)
    return args


if __name__ == "__main__":
    main(parse, bench)
