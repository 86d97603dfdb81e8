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
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeUpdate
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    import workflows.search_attributes as sa
    from activities.report_snapshot import ReportSnapshotActivities
    from models.report_snapshot import (
        ReportSnapshotRequest,
        ReportSnapshotResult,
        ReportSnapshotTaking,
    )

SCHEDULE_NAME = "report-snapshot"


@workflow.defn(name="ReportSnapshotWorkflow")
class ReportSnapshotWorkflow:
    @workflow.run
    async def run(self, request: ReportSnapshotRequest) -> ReportSnapshotResult:
        self.schedule_id = request.schedule_id
        wait = request.retry_every
        while True:
            at = request.at or workflow.now()
            try:
                result: ReportSnapshotResult = await workflow.execute_activity_method(
                    ReportSnapshotActivities.take_report_snapshot,
                    ReportSnapshotTaking(at=at, window_days=request.window_days),
                    start_to_close_timeout=timedelta(minutes=10),
                    retry_policy=RetryPolicy(maximum_attempts=3, initial_interval=timedelta(seconds=1),
                                             non_retryable_error_types=["ValidationError"]),
                )
                break
            except ActivityError as err:
                cause = err.cause
                message = str(cause.message if isinstance(cause, ApplicationError) else cause or err)
                workflow.logger.warning("schedule %s: %s; trying again in %s", request.schedule_id, message, wait)
                self._show("faulted", f"schedule {request.schedule_id}: {message}")
                await workflow.sleep(wait)
                wait = min(wait * 2, request.retry_at_most)
        self._show("done")
        return result

    def _show(self, stage: str, fault: str | None = None) -> None:
        """Search attributes, so the stuck lists show a failing step like any technical fault."""
        updates: list[SearchAttributeUpdate[Any]] = [sa.KIND.value_set("schedule"), sa.SUBJECT.value_set(self.schedule_id),
                                                     sa.STAGE.value_set(stage)]
        updates += [sa.FLAGS.value_set(["faulted"]), sa.FAULT.value_set(fault[:200])] if fault else [
            sa.FLAGS.value_unset(), sa.FAULT.value_unset()]
        workflow.upsert_search_attributes(updates)
