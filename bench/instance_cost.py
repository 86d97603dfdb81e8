"""What a new workflow run costs the worker before its first line runs: the sandbox making the
run's instance. Prints figures; starts no server.

The SDK's sandbox imports a workflow's module afresh for every new run (so no run sees
another's module state), then makes the instance: the module's body runs again, its
decorators included (`@workflow.defn` reads every member of the class; `@human_action` makes
an Update and its validator). This times exactly that, with the worker's own runner
(frontdoor/temporal.workflow_runner), for each process's workflow:

    .venv/bin/python bench/instance_cost.py                 # every process, 40 instances each
    .venv/bin/python bench/instance_cost.py --profile 25    # and where the contact's time goes

`--passthrough` also times the same with the workflow's own module passed through the
sandbox (imported once, never again). The worker does not do this: a module passed through
is not re-imported inside the sandbox, so its module-level names (`datetime` among them)
are the real ones and the sandbox no longer refuses the wall clock in that module's code
(bench/README.md, "What a new run costs").
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harness import pct  # noqa: E402
from temporalio.worker import WorkflowRunner  # noqa: E402
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions  # noqa: E402
from temporalio.workflow import _Definition  # noqa: E402

from frontdoor.codec import EncryptionCodec  # noqa: E402
from frontdoor.temporal import data_converter, workflow_runner  # noqa: E402
from workflows.registry import PROCESSES  # noqa: E402


def timed(runner: WorkflowRunner, defn: _Definition, n: int) -> list[float]:
    runner.prepare_workflow(defn)  # the first: anything still to import on the host
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        runner.prepare_workflow(defn)  # makes a new instance, as a new run does
        out.append((time.perf_counter() - t0) * 1000)
    return out


async def bench(args: argparse.Namespace) -> int:
    converter = data_converter(EncryptionCodec("bench", os.urandom(32)))
    runner = workflow_runner(converter)
    print(f"a new run's instance, {args.instances} of each, with the worker's runner ({type(runner).__name__}):")
    head = f"  {'workflow':<28}{'p50 ms':>8}{'p95 ms':>8}"
    print(head + (f"{'passed through p50':>20}" if args.passthrough else ""))
    for process in PROCESSES:
        defn = _Definition.must_from_class(process.workflow)
        times = timed(runner, defn, args.instances)
        row = f"  {defn.name:<28}{pct(times, 50):>8.1f}{pct(times, 95):>8.1f}"
        if args.passthrough:
            module = process.workflow.__module__
            through = SandboxedWorkflowRunner(restrictions=SandboxRestrictions.default.with_passthrough_modules(module))
            row += f"{pct(timed(through, defn, args.instances), 50):>20.1f}"
        print(row, flush=True)
    if args.profile:
        contact = next(p for p in PROCESSES if p.kind == "contact")
        defn = _Definition.must_from_class(contact.workflow)
        profile = cProfile.Profile()
        profile.enable()
        timed(runner, defn, args.instances)
        profile.disable()
        print(f"\nwhere the contact's instances' time goes (cProfile, cumulative, top {args.profile}):")
        pstats.Stats(profile, stream=sys.stdout).sort_stats("cumulative").print_stats(args.profile)
    return 0


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="bench/instance_cost.py", description=__doc__.split("\n\n")[0],
                                epilog="Figures: milliseconds per new instance, on this machine, the worker idle.")
    p.add_argument("--instances", type=int, default=40, help="instances made of each workflow (default 40, 5..1000)")
    p.add_argument("--passthrough", action="store_true",
                   help="also time each with its module passed through the sandbox (not what the worker does)")
    p.add_argument("--profile", type=int, default=0, metavar="N",
                   help="profile the contact's instances and print the top N functions")
    args = p.parse_args(argv)
    if not 5 <= args.instances <= 1000:
        p.error("--instances must be from 5 to 1000")
    if not 0 <= args.profile <= 200:
        p.error("--profile must be from 0 to 200")
    return args


if __name__ == "__main__":
    sys.exit(asyncio.run(bench(parse(sys.argv[1:]))))
