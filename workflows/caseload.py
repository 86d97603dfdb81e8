"""CaseloadSnapshotWorkflow: once a day, each person's open work is counted and kept in the
case record (`caseload_snapshots`), so caseloads can be followed over time (the average and
spread per team: frontdoor/caseloads.caseloads_over_time).

Started by a Temporal Schedule (its entry in SCHEDULES of frontdoor/schedules.py gives its
time); not a process people act on, so it is not in the registry's PROCESSES; the worker
registers the workflows the schedules start.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.caseload import CaseloadActivities
    from models.caseload import CaseloadSnapshotRequest, CaseloadSnapshotResult

SCHEDULE_ID = "caseload-snapshot"


@workflow.defn(name="CaseloadSnapshotWorkflow")
class CaseloadSnapshotWorkflow:
    @workflow.run
    async def run(self, request: CaseloadSnapshotRequest) -> CaseloadSnapshotResult:
        return await workflow.execute_activity_method(
            CaseloadActivities.take_caseload_snapshot,
            request.model_copy(update={"at": request.at or workflow.now()}),
            start_to_close_timeout=timedelta(minutes=5),
            retry_policy=RetryPolicy(maximum_attempts=5, non_retryable_error_types=["ValidationError"]),
        )
