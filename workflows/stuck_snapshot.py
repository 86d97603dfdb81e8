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

from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeUpdate
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    import workflows.search_attributes as sa
    import workflows.stuck_lists as stuck_lists
    from activities.stuck import StuckActivities
    from models.stuck_trend import StuckCounting, StuckSnapshotRequest, StuckSnapshotResult

SCHEDULE_NAME = "stuck-snapshot"


@workflow.defn(name="StuckSnapshotWorkflow")
class StuckSnapshotWorkflow:
    @workflow.run
    async def run(self, request: StuckSnapshotRequest) -> StuckSnapshotResult:
        self.schedule_id = request.schedule_id
        wait = request.retry_every
        while True:
            at = request.at or workflow.now()
            try:
                result: StuckSnapshotResult = await workflow.execute_activity_method(
                    StuckActivities.take_stuck_snapshot,
                    StuckCounting(at=at, queries=stuck_lists.queries(at)),
                    start_to_close_timeout=timedelta(minutes=2),
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
