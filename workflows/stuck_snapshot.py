"""StuckSnapshotWorkflow: at the top of each hour, every stuck list's count is kept in the
case record (`stuck_snapshots`), so the supervisor's dashboard can show each list over the
last 14 days (frontdoor/stuck_trend.py).

The design, and why: the counts must be Temporal visibility's (the same queries the
dashboard asks, frontdoor/stuck.py), and visibility is reached from an activity with the
worker's own client (`activity.client()`, as the caseload snapshot counts caseloads). The
queries themselves are built here, in the workflow, from the catalogue of stuck lists
(workflows/stuck_lists.py) at the workflow's own time: activities may not import
workflows, and a query such as "due soon" depends on the moment, so the Schedule's fixed
input cannot carry them. Building a few strings from the catalogue is deterministic; they
travel to the activity in its input (no personal data: only flags, stages and times).

Started by a Temporal Schedule (its entry in SCHEDULES of frontdoor/schedules.py); not a
process people act on, so it is not in the registry's PROCESSES. A failing step shows in
the stuck lists as a technical fault (FdFlags `faulted`, FdFault naming the schedule) and
is tried again, later and later, until it works; each try counts at its own time.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    import workflows.stuck_lists as stuck_lists
    from activities.stuck import StuckActivities
    from models.stuck_trend import StuckCounting, StuckSnapshotRequest, StuckSnapshotResult
    from workflows.launcher import ScheduleLauncher

SCHEDULE_NAME = "stuck-snapshot"


def _counting(at: datetime) -> StuckCounting:
    """The stuck lists' queries as they read at `at` ("due soon" depends on the moment)."""
    return StuckCounting(at=at, queries=stuck_lists.queries(at))


@workflow.defn(name="StuckSnapshotWorkflow")
class StuckSnapshotWorkflow(ScheduleLauncher):
    @workflow.run
    async def run(self, request: StuckSnapshotRequest) -> StuckSnapshotResult:
        result: StuckSnapshotResult = await self.take_snapshot(
            request, StuckActivities.take_stuck_snapshot, lambda: _counting(request.at or workflow.now()),
            timeout=timedelta(minutes=2),
        )
        return result
