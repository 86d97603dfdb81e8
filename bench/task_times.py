"""Where an idle contact's time goes: its action round trips, and its workflow tasks read
back from the recorded histories.

Drives --contacts contacts one at a time (an idle stack) with the bench/drive.py of the
checkout it is run from, on its own dev server and worker (stopped by pid at the end), then
reads every contact's history and times each workflow task from started to completed,
split by what it carried: the run's first task (the workflow instance created in the
sandbox), a task carrying an Update, and whether a local activity (the action trail) ran
in it.

Run it from any checkout to compare versions on one machine, alternating them:

    PYTHONPATH=. .venv/bin/python bench/task_times.py --contacts 25
    cd /tmp/base && PYTHONPATH=. /path/to/main/.venv/bin/python /path/to/main/bench/task_times.py

(`git archive <commit> | tar -x -C /tmp/base` makes such a checkout.)
"""

from __future__ import annotations

import argparse
import sys
import uuid
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path.cwd() / "bench"))  # the harness and drive of the checkout it runs in

from drive import drive_contact  # noqa: E402
from harness import Stack, connect_when_ready, pct, run_main, say, wait_for_poller  # noqa: E402
from temporalio.api.enums.v1 import EventType  # noqa: E402
from temporalio.api.history.v1 import HistoryEvent  # noqa: E402

STARTED = EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED
COMPLETED = EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
UPDATE = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
MARKER = EventType.EVENT_TYPE_MARKER_RECORDED


def task_kinds(events: Sequence[HistoryEvent]) -> list[tuple[str, float]]:
    """(kind, milliseconds) of each workflow task in a history."""
    out: list[tuple[str, float]] = []
    started = None
    first = True
    for i, event in enumerate(events):
        if event.event_type == STARTED:
            started = event.event_time.ToDatetime()
        elif event.event_type == COMPLETED and started is not None:
            after = {e.event_type for e in events[i + 1:i + 6]}
            kind = "first (instance created)" if first else ("with an update" if UPDATE in after else "other")
            kind += " + local activity" if MARKER in after else ""
            out.append((kind, (event.event_time.ToDatetime() - started).total_seconds() * 1000))
            first, started = False, None
    return out


async def measure(stack: Stack, contacts: int) -> int:
    address = stack.start_dev_server()
    settings = stack.settings(address, f"tasks-{uuid.uuid4().hex[:6]}")
    client = await connect_when_ready(settings)
    stack.start_frontdoor_worker(settings)
    await wait_for_poller(client, settings.temporal.task_queue, stack)
    trips: dict[str, list[float]] = defaultdict(list)
    ids = []
    for n in range(contacts):
        ids.append(await drive_contact(client, settings, trips))
        if (n + 1) % 5 == 0 or n + 1 == contacts:
            say(f"  contacts one at a time: {n + 1}/{contacts}")
    tasks: dict[str, list[float]] = defaultdict(list)
    async for wf in client.list_workflows(f"TaskQueue = '{settings.temporal.task_queue}'"):
        if "contact" not in wf.workflow_type.lower():
            continue
        history = await client.get_workflow_handle(wf.id, run_id=wf.run_id).fetch_history()
        for kind, ms in task_kinds(history.events):
            tasks[kind].append(ms)
    every = [s * 1000 for values in trips.values() for s in values[2:]]  # the first two are warm-up
    say(f"\n== {Path.cwd()}: {contacts} contacts one at a time ==")
    say(f"  round trip, every action: n={len(every)} p50 {pct(every, 50):.1f} ms  p95 {pct(every, 95):.1f} ms")
    for kind, values in sorted(tasks.items()):
        say(f"  workflow task {kind:<36} n={len(values):>4}  p50 {pct(values, 50):6.1f} ms  p90 {pct(values, 90):6.1f} ms")
    return 0


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="bench/task_times.py", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n\n", 1)[1])
    p.add_argument("--contacts", type=int, default=25, help="contacts driven one at a time (default 25, 3..1000)")
    args = p.parse_args(argv)
    if not 3 <= args.contacts <= 1000:
        p.error("--contacts must be between 3 and 1000")
    return run_main(lambda stack: measure(stack, args.contacts))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
