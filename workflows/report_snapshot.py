"""ReportSnapshotWorkflow: once a day, every report's key figures are kept in the case
record (`report_snapshots`), so the headline figures can be followed over time
(frontdoor/report_figures.py: `GET /api/reports/figures/history`, `frontdoor report
figures-history`).

Built as the hourly stuck snapshot is (workflows/stuck_snapshot.py): the workflow fixes the
moment (its own time, or the request's), the activity computes and writes (see
activities/report_snapshot.py for how the reports, which live in the interface, reach it).

Started by a Temporal Schedule (its entry in SCHEDULES of frontdoor/schedules.py); not a
process people act on, so it is not in the registry's PROCESSES. A failing step shows in
the stuck lists as a technical fault (FdFlags `faulted`, FdFault naming the schedule) and
is tried again, later and later, until it works; each try takes the figures at its own time.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.report_snapshot import ReportSnapshotActivities
    from models.report_snapshot import (
        ReportSnapshotRequest,
        ReportSnapshotResult,
        ReportSnapshotTaking,
    )
    from workflows.launcher import ScheduleLauncher

SCHEDULE_NAME = "report-snapshot"


@workflow.defn(name="ReportSnapshotWorkflow")
class ReportSnapshotWorkflow(ScheduleLauncher):
    @workflow.run
    async def run(self, request: ReportSnapshotRequest) -> ReportSnapshotResult:
        result: ReportSnapshotResult = await self.take_snapshot(
            request, ReportSnapshotActivities.take_report_snapshot,
            lambda: ReportSnapshotTaking(at=request.at or workflow.now(), window_days=request.window_days),
            timeout=timedelta(minutes=10),
        )
        return result
