"""Every stuck list in one catalogue: each process's own (declared beside its workflow) and
the two technical ones (activities failing, workflow code failing).

Here rather than in the interface so that the hourly stuck snapshot's workflow
(workflows/stuck_snapshot.py) can build the very queries the dashboard asks;
frontdoor/stuck.py re-exports `KINDS` and `TECHNICAL`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from workflows.process import OPEN, StuckList, flagged
from workflows.registry import PROCESSES

DUE_SOON_WITHIN = timedelta(hours=4)  # "due soon" unless the caller says otherwise

TECHNICAL = (
    StuckList("faulted", "Technical faults (activities failing)", flagged("faulted")),
    StuckList("workflow_task_failing", "Technical faults (workflow code failing)",
              lambda now, within: f"{OPEN} AND TemporalReportedProblems IS NOT NULL"),
)
KINDS: dict[str, StuckList] = {s.name: s for p in PROCESSES for s in p.stuck} | {s.name: s for s in TECHNICAL}


def queries(now: datetime, within: timedelta = DUE_SOON_WITHIN) -> dict[str, str]:
    """Each stuck list's visibility query at `now`."""
    return {name: s.query(now, within) for name, s in KINDS.items()}
