"""Pipeline benchmark: contacts per second through the whole workflow, against a bare twin.

Drives N synthetic contacts through the whole ContactWorkflow with scripted actors
(submit, triage to the SPA, review, consent already given, MAP request to the police,
the police answer, recommendation, decision, handoff, closed), then the same count of
BareWorkflow runs (the same number of no-op activities and updates, no database) on the
same server with the same codec, and prints both throughputs, their ratio, and the
round trip of each action (update sent to new state returned) under load and on an
idle stack.

    .venv/bin/python bench/pipeline.py                    # 200 contacts, 20 at a time
    .venv/bin/python bench/pipeline.py --contacts 500 --concurrency 40 --rounds 2
    .venv/bin/python bench/pipeline.py --address 127.0.0.1:7300   # an existing server
    git archive BASE | tar -x -C /tmp/base      # another version's code, e.g. before a change:
    .venv/bin/python bench/pipeline.py --rounds 2 --baseline /tmp/base   # its worker too, in each round

The bare twin copies the shape of this checkout's contact (read from a real contact's
history). With --baseline whose contact has another shape (a change that moved activities
around), a second bare twin copies the baseline's shape, so both ratios are shown: to the
twin of today's shape, and to the twin of the shape before the change.

--twin-commands also runs the twin with the contact's other commands copied from its history
(its search-attribute upserts, its timers, answers the size of the contact's state): what the
contact pays Temporal for, without our code. The target's ratio stays the one to the bare twin;
this one says how much of the gap is Temporal's work for those commands and how much our own.
--twin-each goes one step further: a twin for each kind of those commands alone (only the
upserts, only the timers, only the answers' size), to say which of them costs what.
"""

from __future__ import annotations

import argparse
import statistics
import uuid
from dataclasses import replace
from functools import partial
from pathlib import Path

from bare import BarePlan, TwinCommands
from drive import ACTIONS, Latencies, derive_plan, drive_bare, drive_contact, run_phase
from harness import (
    Stack,
    at_least_one,
    connect_when_ready,
    machine,
    main,
    ms,
    pct,
    proc_status,
    say,
    server_parser,
    wait_for_poller,
)
from temporalio.client import Client

from workflows.contact_identity import workflow_id

P95_TARGET_MS = 50.0  # issue 13 (was 150 ms)
RATIO_TARGET = 0.85  # issue 13 (was 0.7)


def latency_table(title: str, lat: Latencies) -> list[str]:
    lines = [title, f"    {'action':<16}{'n':>6}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}"]
    every: list[float] = []
    for name in [*ACTIONS, *sorted(set(lat) - set(ACTIONS))]:
        values = lat.get(name) or []
        every += values
        if values:
            lines.append(f"    {name:<16}{len(values):>6}{ms(pct(values, 50)):>9}{ms(pct(values, 95)):>9}{ms(max(values)):>9}")
    if every:
        lines.append(f"    {'every action':<16}{len(every):>6}{ms(pct(every, 50)):>9}{ms(pct(every, 95)):>9}{ms(max(every)):>9}")
    return lines


async def contact_round(
    stack: Stack, client: Client, address: str, args: argparse.Namespace, first: bool, repo: Path | None = None
) -> tuple[float, Latencies, Latencies, BarePlan | None, dict[str, int]]:
    settings = stack.settings(address, f"bench-contact-{uuid.uuid4().hex[:8]}")
    worker = stack.start_frontdoor_worker(settings, "baseline-worker" if repo else "worker", repo=repo)
    try:
        await wait_for_poller(client, settings.temporal.task_queue, stack)
        drive = partial(drive_contact, client, settings)
        _, _, warm_ids = await run_phase("contacts warm-up", args.warmup, args.warmup, drive)
        plan = await derive_plan(client, workflow_id(warm_ids[0])) if first else None
        seconds, loaded, _ = await run_phase("contacts", args.contacts, args.concurrency, drive)
        rss = proc_status(worker.pid)
        _, idle, _ = await run_phase("contacts one at a time", args.idle, 1, drive)
        return args.contacts / seconds, loaded, idle, plan, rss
    finally:
        stack.stop(worker)


async def bare_round(
    stack: Stack, client: Client, address: str, args: argparse.Namespace, plan: BarePlan
) -> tuple[float, Latencies, Latencies]:
    settings = stack.settings(address, f"bench-bare-{uuid.uuid4().hex[:8]}")
    worker = stack.start_bare_worker(settings)
    try:
        await wait_for_poller(client, settings.temporal.task_queue, stack)
        drive = partial(drive_bare, client, settings.temporal.task_queue, plan)
        await run_phase("bare warm-up", args.warmup, args.warmup, drive)
        seconds, loaded, _ = await run_phase("bare", args.contacts, args.concurrency, drive)
        _, idle, _ = await run_phase("bare one at a time", args.idle, 1, drive)
        return args.contacts / seconds, loaded, idle
    finally:
        stack.stop(worker)


async def bench(stack: Stack, args: argparse.Namespace) -> int:
    for line in machine():
        say(line)
    address = args.address or stack.start_dev_server()
    say(f"Temporal at {address}; work files in {stack.tmp}")
    client = await connect_when_ready(stack.settings(address, "unused"))
    contact_rates: list[float] = []
    bare_rates: list[float] = []
    plan: BarePlan | None = None
    loaded_c: Latencies = {}
    idle_c: Latencies = {}
    loaded_b: Latencies = {}
    idle_b: Latencies = {}
    rss: dict[str, int] = {}
    base_rates: list[float] = []
    bare_base_rates: list[float] = []
    base_plan: BarePlan | None = None
    loaded_base: Latencies = {}
    idle_base: Latencies = {}
    commands_rates: list[float] = []
    idle_tc: Latencies = {}
    each_rates: dict[str, list[float]] = {part: [] for part in TwinCommands.PARTS}
    idle_each: dict[str, Latencies] = {}
    for r in range(args.rounds):
        say(f"round {r + 1}/{args.rounds}")
        rate, loaded_c, idle_c, derived, rss = await contact_round(stack, client, address, args, first=plan is None)
        plan = plan or derived
        assert plan is not None
        contact_rates.append(rate)
        say(f"  ContactWorkflow: {rate:.1f} contacts/s")
        rate, loaded_b, idle_b = await bare_round(stack, client, address, args, replace(plan, commands=None))
        bare_rates.append(rate)
        say(f"  BareWorkflow:    {rate:.1f} contacts/s")
        if args.twin_commands:
            rate, _, idle_tc = await bare_round(stack, client, address, args, plan)
            commands_rates.append(rate)
            say(f"  BareWorkflow with the contact's other commands: {rate:.1f} contacts/s")
        if args.twin_each:
            assert plan.commands is not None
            for part in TwinCommands.PARTS:
                rate, _, idle_each[part] = await bare_round(
                    stack, client, address, args, replace(plan, commands=plan.commands.only(part)))
                each_rates[part].append(rate)
                say(f"  BareWorkflow with only the contact's {part}: {rate:.1f} contacts/s")
        if args.baseline:
            rate, loaded_base, idle_base, derived, _ = await contact_round(
                stack, client, address, args, base_plan is None, args.baseline)
            base_plan = base_plan or derived
            base_rates.append(rate)
            say(f"  ContactWorkflow from {args.baseline}: {rate:.1f} contacts/s")
            if base_plan is not None and replace(base_plan, commands=None) != replace(plan, commands=None):
                rate, _, _ = await bare_round(stack, client, address, args, replace(base_plan, commands=None))
                bare_base_rates.append(rate)
                say(f"  BareWorkflow of the baseline's shape: {rate:.1f} contacts/s")

    assert plan is not None  # derived in the first round
    c, b = statistics.median(contact_rates), statistics.median(bare_rates)
    ratio = c / b
    every_idle = [v for values in idle_c.values() for v in values]
    p95_idle = pct(every_idle, 95) * 1000
    out = [
        "",
        f"== pipeline: {args.contacts} contacts, {args.concurrency} at a time, {args.rounds} round(s) "
        "(median shown; each round's figure in brackets) ==",
        *machine(),
        f"  shape of a contact: {replace(plan, commands=None)} = {plan.activities} activities",
        f"  ContactWorkflow  {c:7.1f} contacts/s  {[round(x, 1) for x in contact_rates]}",
        f"  BareWorkflow     {b:7.1f} contacts/s  {[round(x, 1) for x in bare_rates]}",
        f"  ratio            {ratio:7.2f}  (target >= {RATIO_TARGET}: {'met' if ratio >= RATIO_TARGET else 'MISSED'})",
        f"  worker RSS after the loaded run: {rss.get('VmRSS', 0) / 1024:.0f} MB (peak {rss.get('VmHWM', 0) / 1024:.0f} MB)",
        *latency_table(f"  ContactWorkflow round trip under load ({args.concurrency} contacts at a time, last round):", loaded_c),
        *latency_table(f"  ContactWorkflow round trip on an idle stack ({args.idle} contacts one at a time):", idle_c),
        f"    p95 on an idle stack {p95_idle:.1f} ms (target < {P95_TARGET_MS:.0f} ms: "
        f"{'met' if p95_idle < P95_TARGET_MS else 'MISSED'})",
        *latency_table("  BareWorkflow round trip under load (last round):", loaded_b),
        *latency_table("  BareWorkflow round trip on an idle stack:", idle_b),
    ]
    if commands_rates:
        tc = statistics.median(commands_rates)
        out += [
            f"  its other commands: {plan.commands}",
            f"  BareWorkflow with them {tc:7.1f} runs/s  {[round(x, 1) for x in commands_rates]}; "
            f"ContactWorkflow / it {c / tc:.2f}; it / BareWorkflow {tc / b:.2f}",
            *latency_table("  BareWorkflow with the contact's other commands, round trip on an idle stack:", idle_tc),
        ]
    for part, rates in each_rates.items():
        if rates:
            one = statistics.median(rates)
            out += [
                f"  BareWorkflow with only the contact's {part} {one:7.1f} runs/s  {[round(x, 1) for x in rates]}; "
                f"it / BareWorkflow {one / b:.2f}",
                *latency_table(f"  BareWorkflow with only the contact's {part}, round trip on an idle stack:", idle_each[part]),
            ]
    if base_rates:
        base = statistics.median(base_rates)
        out += [
            f"  baseline ContactWorkflow ({args.baseline}) {base:7.1f} contacts/s  {[round(x, 1) for x in base_rates]}; "
            f"ratio to bare {base / b:.2f}; this checkout / baseline {c / base:.2f}",
            *latency_table("  baseline round trip under load (last round):", loaded_base),
            *latency_table("  baseline round trip on an idle stack:", idle_base),
        ]
    if bare_base_rates:
        bb = statistics.median(bare_base_rates)
        out += [
            f"  baseline's shape: {base_plan} = {base_plan.activities if base_plan else '?'} activities",
            f"  BareWorkflow of the baseline's shape {bb:7.1f} runs/s  {[round(x, 1) for x in bare_base_rates]}; "
            f"this checkout's ContactWorkflow / it {c / bb:.2f}; the baseline's / it {statistics.median(base_rates) / bb:.2f}",
        ]
    say("\n".join(out))
    return 0


def parse(argv: list[str]) -> argparse.Namespace:
    p = server_parser(
        "bench/pipeline.py", __doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Figures: contacts/s = contacts driven from submission to closure per second of wall time; "
        f"ratio = ContactWorkflow / BareWorkflow (target >= {RATIO_TARGET}); round trip = one Update sent by "
        f"frontdoor.processes.act until the new state is returned (target p95 < {P95_TARGET_MS:.0f} ms on an idle stack).",
    )
    p.add_argument("--contacts", type=at_least_one, default=200, help="contacts (and bare runs) per measured run (default 200)")
    p.add_argument("--concurrency", type=at_least_one, default=20, help="contacts in flight at once (default 20)")
    p.add_argument("--idle", type=at_least_one, default=20, help="contacts driven one at a time for the idle round trip (default 20)")
    p.add_argument("--warmup", type=at_least_one, default=5, help="contacts driven before measuring (default 5)")
    p.add_argument("--rounds", type=at_least_one, default=1, help="repeat contact+bare runs; medians are reported (default 1)")
    p.add_argument("--address", help="use this Temporal server (host:port) instead of starting a dev server")
    p.add_argument("--baseline", type=Path, metavar="DIR",
                   help="also run the contacts with the worker from this checkout (e.g. `git archive` of the commit "
                   "before a change) in each round, on the same server: before and after in the same run")
    p.add_argument("--twin-commands", action="store_true",
                   help="also run the twin with the contact's upserts, timers and answer size (see above)")
    p.add_argument("--twin-each", action="store_true",
                   help="with --twin-commands, also a twin for each kind of those commands alone (see above)")
    p.add_argument("--keep", action="store_true", help="keep the temporary directory (logs, databases)")
    args = p.parse_args(argv)
    if args.twin_each and not args.twin_commands:
        p.error("--twin-each divides what --twin-commands measures: give both")
    if args.baseline and not (args.baseline / "workflows" / "contact.py").is_file():
        p.error(f"--baseline {args.baseline}: not a frontdoor checkout (no workflows/contact.py there)")
    return args


if __name__ == "__main__":
    main(parse, bench)
