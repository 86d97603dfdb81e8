"""The front door's Temporal Schedules: daily jobs are Schedules, not cron.

`SCHEDULES` lists them (add yours: a name, what it is for, the workflow it starts, when, and
its input). The worker creates or updates each at start (`ensure_schedules`: idempotent; a
pause or note an operator set is kept), and registers the workflows they start
(`WORKFLOWS`). `frontdoor schedules` lists them with their next and last runs.

A schedule's workflow ids carry the time it fired, so a schedule starts a small launcher
that starts the day's case with its deterministic id (e.g. `morning-2026-11-30`). A launcher
whose step fails shows in the stuck lists as a technical fault (FdFlags `faulted`, FdFault
naming the schedule) while it tries again; one whose code fails shows in
TemporalReportedProblems (the `workflow_task_failing` stuck list).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleCalendarSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
    ScheduleState,
    ScheduleUpdate,
    ScheduleUpdateInput,
    WorkflowExecutionStatus,
)
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.service import RPCError, RPCStatusCode

from frontdoor.caseloads import snapshot_request
from frontdoor.config import Settings
from models.morning import MorningScheduleInput
from models.report_snapshot import ReportSnapshotRequest
from models.stuck_trend import StuckSnapshotRequest
from workflows import search_attributes as sa
from workflows.caseload import CaseloadSnapshotWorkflow
from workflows.morning import MorningSchedule
from workflows.report_snapshot import ReportSnapshotWorkflow
from workflows.stuck_snapshot import StuckSnapshotWorkflow

PREFIX = "frontdoor"
CATCHUP = timedelta(hours=6)  # a fire missed while the cluster was down still runs within this


@dataclass(frozen=True)
class FrontdoorSchedule:
    name: str  # the schedule id is "{prefix}-{name}"
    title: str  # what it is for (the schedule's note when it is created)
    workflow: Any  # the workflow class whose run it starts (the worker registers it)
    spec: Callable[[Settings], ScheduleSpec]
    input: Callable[[Settings, str, dict[str, Any]], BaseModel]  # (settings, schedule id, overrides)
    when: Callable[[Settings], str]  # the spec in words


def _weekday_mornings(settings: Settings) -> ScheduleSpec:
    at = settings.timescales.morning_discussion_at
    return ScheduleSpec(
        calendars=[ScheduleCalendarSpec(
            hour=[ScheduleRange(at.hour)], minute=[ScheduleRange(at.minute)], second=[ScheduleRange(0)],
            day_of_week=[ScheduleRange(1, 5)], comment="weekdays; the launcher skips bank holidays",
        )],
        time_zone_name=settings.timezone,
    )


def _morning_input(settings: Settings, schedule_id: str, overrides: dict[str, Any]) -> BaseModel:
    return MorningScheduleInput(schedule_id=schedule_id, timescales=settings.timescales, **overrides)


def _every_day_at(settings: Settings, at: tuple[int, int]) -> ScheduleSpec:
    hour, minute = at
    return ScheduleSpec(
        calendars=[ScheduleCalendarSpec(hour=[ScheduleRange(hour)], minute=[ScheduleRange(minute)],
                                        second=[ScheduleRange(0)], comment="every day")],
        time_zone_name=settings.timezone,
    )


def _every_evening(settings: Settings) -> ScheduleSpec:
    return _every_day_at(settings, settings.caseload_snapshot_at)


def _snapshot_input(settings: Settings, schedule_id: str, overrides: dict[str, Any]) -> BaseModel:
    return snapshot_request(settings)


def _every_hour(settings: Settings) -> ScheduleSpec:
    return ScheduleSpec(
        calendars=[ScheduleCalendarSpec(hour=[ScheduleRange(0, 23)], minute=[ScheduleRange(0)], second=[ScheduleRange(0)],
                                        comment="the top of every hour")],
        time_zone_name=settings.timezone,
    )


def _retries(overrides: dict[str, Any]) -> dict[str, Any]:
    """The overrides a snapshot's request takes (tests shorten its retries)."""
    return {k: v for k, v in overrides.items() if k in ("retry_every", "retry_at_most")}


def _stuck_input(settings: Settings, schedule_id: str, overrides: dict[str, Any]) -> BaseModel:
    return StuckSnapshotRequest(schedule_id=schedule_id, **_retries(overrides))


def _every_morning(settings: Settings) -> ScheduleSpec:
    return _every_day_at(settings, settings.report_snapshot_at)


def _report_input(settings: Settings, schedule_id: str, overrides: dict[str, Any]) -> BaseModel:
    return ReportSnapshotRequest(schedule_id=schedule_id, **_retries(overrides))


SCHEDULES: tuple[FrontdoorSchedule, ...] = (
    FrontdoorSchedule(
        "morning-discussion",
        "Opens each working day's morning case discussion, and the next working day's agenda",
        MorningSchedule, _weekday_mornings, _morning_input,
        lambda s: f"weekdays at {s.timescales.morning_discussion_at:%H:%M} {s.timezone}; bank holidays open nothing",
    ),
    FrontdoorSchedule(
        "caseload-snapshot",
        "Takes the day's caseload snapshot (open work per person), for caseloads over time",
        CaseloadSnapshotWorkflow, _every_evening, _snapshot_input,
        lambda s: f"every day at {s.caseload_snapshot_at[0]:02d}:{s.caseload_snapshot_at[1]:02d} {s.timezone}",
    ),
    FrontdoorSchedule(
        "stuck-snapshot",
        "Counts every stuck list at the top of each hour, for the stuck trends on the supervisor's dashboard",
        StuckSnapshotWorkflow, _every_hour, _stuck_input,
        lambda s: f"every hour on the hour ({s.timezone})",
    ),
    FrontdoorSchedule(
        "report-snapshot",
        "Keeps every report's key figures over the 28 days before, for the key figures over time",
        ReportSnapshotWorkflow, _every_morning, _report_input,
        lambda s: f"every day at {s.report_snapshot_at[0]:02d}:{s.report_snapshot_at[1]:02d} {s.timezone}",
    ),
)
WORKFLOWS: list[type] = [s.workflow for s in SCHEDULES]


def schedule_id(entry: FrontdoorSchedule, prefix: str = PREFIX) -> str:
    return f"{prefix}-{entry.name}"


async def run_now(client: Client, task_queue: str, name: str, request: Callable[..., BaseModel], *,
                  at: datetime | None = None, workflow_id: str | None = None, timeout: timedelta) -> Any:
    """Run the workflow of the schedule `name` at once, not waiting for the schedule (a snapshot
    taken on demand): its input is `request(schedule_id=..., at=...)`, at `at` (default now);
    its id is the name and that time, unless `workflow_id` is given."""
    entry = next(s for s in SCHEDULES if s.name == name)
    when = at or datetime.now(UTC)
    return await client.execute_workflow(
        entry.workflow.run, request(schedule_id=schedule_id(entry), at=when),
        id=workflow_id or f"{name}-{when:%Y%m%dT%H%M%S%f}", task_queue=task_queue, execution_timeout=timeout,
    )


def _schedule(entry: FrontdoorSchedule, settings: Settings, sid: str, task_queue: str | None,
              overrides: dict[str, Any]) -> Schedule:
    return Schedule(
        action=ScheduleActionStartWorkflow(
            entry.workflow.run, entry.input(settings, sid, overrides), id=f"{sid}-run",
            task_queue=task_queue or settings.temporal.task_queue,
            typed_search_attributes=TypedSearchAttributes([
                SearchAttributePair(sa.KIND, "schedule"), SearchAttributePair(sa.SUBJECT, sid)]),
        ),
        spec=entry.spec(settings),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=CATCHUP),
        state=ScheduleState(note=entry.title),
    )


async def ensure_schedules(client: Client, settings: Settings, *, task_queue: str | None = None, prefix: str = PREFIX,
                           **overrides: Any) -> list[tuple[str, str]]:
    """Create each schedule, or bring an existing one up to date with this configuration
    (its time, time zone, task queue, timescales); a pause or note set on it is kept.
    Returns (schedule id, "created" | "updated")."""
    done = []
    for entry in SCHEDULES:
        sid = schedule_id(entry, prefix)
        wanted = _schedule(entry, settings, sid, task_queue, overrides)
        try:
            await client.create_schedule(sid, wanted)
            done.append((sid, "created"))
        except ScheduleAlreadyRunningError:
            def keep_state(inp: ScheduleUpdateInput, wanted: Schedule = wanted) -> ScheduleUpdate:
                return ScheduleUpdate(schedule=dataclasses.replace(wanted, state=inp.description.schedule.state))

            await client.get_schedule_handle(sid).update(keep_state)
            done.append((sid, "updated"))
    return done


@dataclass
class ScheduleView:
    id: str
    title: str
    when: str
    exists: bool = True
    paused: bool = False
    note: str | None = None
    next_runs: list[datetime] = field(default_factory=list)
    last_run: datetime | None = None
    last_workflow_id: str | None = None
    last_result: str | None = None  # completed: ... | running | faulted: ... | failed | ...

    def as_dict(self) -> dict[str, Any]:
        iso = lambda m: m.isoformat() if m else None  # noqa: E731
        return {"id": self.id, "title": self.title, "when": self.when, "exists": self.exists, "paused": self.paused,
                "note": self.note, "next_runs": [iso(m) for m in self.next_runs], "last_run": iso(self.last_run),
                "last_workflow_id": self.last_workflow_id, "last_result": self.last_result}


async def _last_result(client: Client, workflow_id: str) -> str:
    handle = client.get_workflow_handle(workflow_id)
    desc = await handle.describe()
    status = desc.status
    if status == WorkflowExecutionStatus.COMPLETED:
        result = await handle.result()
        if isinstance(result, dict) and result.get("summary"):  # a long result that says itself in words
            result = result["summary"]
        return f"completed: {result}"
    if status == WorkflowExecutionStatus.RUNNING:
        fault = desc.typed_search_attributes.get(sa.FAULT)
        return f"faulted: {fault}" if fault else "running"
    return status.name.lower() if status else "unknown"


async def describe_schedules(client: Client, settings: Settings, *, prefix: str = PREFIX) -> list[ScheduleView]:
    views = []
    for entry in SCHEDULES:
        view = ScheduleView(id=schedule_id(entry, prefix), title=entry.title, when=entry.when(settings))
        try:
            desc = await client.get_schedule_handle(view.id).describe()
        except RPCError as exc:
            if exc.status != RPCStatusCode.NOT_FOUND:
                raise
            view.exists, view.last_result = False, "not created yet: a worker creates it when it starts"
            views.append(view)
            continue
        view.paused, view.note = desc.schedule.state.paused, desc.schedule.state.note
        view.next_runs = list(desc.info.next_action_times[:3])
        if desc.info.recent_actions:
            last = desc.info.recent_actions[-1]
            view.last_run = last.started_at
            workflow_id = getattr(last.action, "workflow_id", None)
            view.last_workflow_id = workflow_id
            if workflow_id:
                try:
                    view.last_result = await _last_result(client, workflow_id)
                except RPCError as exc:
                    view.last_result = f"unknown ({exc.message[:80]})"
        views.append(view)
    return views
