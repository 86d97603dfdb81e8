"""The front door's Temporal Schedules on the dev server: created once and updated after
(an operator's pause kept), triggered on demand to open the day's morning discussion and the
next working day's, listed with their runs; a launcher whose step fails shows in the stuck
lists as a technical fault and finishes once the fault is mended."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from temporalio import activity

from activities.morning import MorningActivities
from frontdoor import schedules, stuck
from models.calendar import WorkingCalendar
from models.caseload import CaseloadSnapshotResult
from tests.conftest import STARTED, running_worker
from tests.helpers import delete_schedules, last_scheduled_run, wait_for
from workflows.morning_identity import workflow_id

CAL = WorkingCalendar()


def _settings(settings, task_queue):
    return replace(settings, temporal=replace(settings.temporal, task_queue=task_queue))


async def _cleanup(client, prefix, workflow_ids):
    for wid in workflow_ids:
        try:
            await client.get_workflow_handle(wid).terminate("test finished")
        except Exception:  # noqa: BLE001 (closed already)
            pass
    await delete_schedules(client, prefix)


async def test_the_morning_schedule_is_made_once_kept_in_step_and_triggered_on_demand(dev_env, settings, task_queue):
    client, s = dev_env.client, _settings(settings, task_queue)
    prefix = f"t-{task_queue}"
    sid, snapshot, stuck_snap = f"{prefix}-morning-discussion", f"{prefix}-caseload-snapshot", f"{prefix}-stuck-snapshot"
    report_snap = f"{prefix}-report-snapshot"
    today = CAL.local_date(datetime.now(UTC))
    following = CAL.next_working_day(today)
    opened = [workflow_id(d.isoformat()) for d in ([today] if CAL.is_working_day(today) else []) + [following]]
    STARTED.extend(opened)
    launcher = None
    try:
        async with running_worker(client, s, task_queue):
            assert await schedules.ensure_schedules(client, s, prefix=prefix) == [(sid, "created"), (snapshot, "created"),
                                                                                 (stuck_snap, "created"), (report_snap, "created")]
            hourly = (await client.get_schedule_handle(stuck_snap).describe()).schedule.spec  # the stuck counts
            assert [(c.hour[0].start, c.hour[0].end, c.minute[0].start) for c in hourly.calendars] == [(0, 23, 0)]
            handle = client.get_schedule_handle(sid)
            await handle.pause(note="paused by the operator")
            assert await schedules.ensure_schedules(client, s, prefix=prefix) == [(sid, "updated"), (snapshot, "updated"),
                                                                                 (stuck_snap, "updated"), (report_snap, "updated")]
            desc = await handle.describe()
            assert desc.schedule.state.paused and desc.schedule.state.note == "paused by the operator"
            spec = desc.schedule.spec
            assert spec.time_zone_name == "Europe/London"
            cal = spec.calendars[0]
            assert (cal.hour[0].start, cal.minute[0].start, cal.day_of_week[0].start, cal.day_of_week[0].end) == (9, 30, 1, 5)
            await handle.unpause()
            desc = await handle.describe()
            for moment in desc.info.next_action_times:
                local = moment.astimezone(ZoneInfo("Europe/London"))
                assert local.weekday() < 5 and (local.hour, local.minute) == (9, 30)

            await handle.trigger()
            launcher = await wait_for(lambda: last_scheduled_run(client, sid), what="the triggered run")
            note = await client.get_workflow_handle(launcher).result()
            assert following.isoformat() in note and ("opened" in note or "open already" in note), note
            for wid in opened:
                assert (await client.get_workflow_handle(wid).describe()).status is not None
            views = await schedules.describe_schedules(client, s, prefix=prefix)
            assert [v.id for v in views] == [sid, snapshot, stuck_snap, report_snap] and not views[0].paused
            assert "every hour" in views[2].when and "every day at 06:00" in views[3].when
            assert views[0].last_result.startswith("completed") and views[0].last_workflow_id == launcher
            assert views[0].next_runs and "09:30" in views[0].when
    finally:
        await _cleanup(client, prefix, [launcher] if launcher else [])


@activity.defn(name="service_date")
def _broken_service_date(self, moment: datetime):  # noqa: ANN001, ANN202 (stands in for MorningActivities.service_date)
    raise RuntimeError("the calendar service is unavailable")


async def test_a_failing_schedule_shows_as_a_fault_in_the_stuck_lists_until_mended(dev_env, settings, task_queue, monkeypatch):
    client, s = dev_env.client, _settings(settings, task_queue)
    prefix = f"t-{task_queue}"
    sid = f"{prefix}-morning-discussion"
    today = CAL.local_date(datetime.now(UTC))
    STARTED.extend(workflow_id(d.isoformat()) for d in (today, CAL.next_working_day(today)))
    launcher = None
    try:
        monkeypatch.setattr(MorningActivities, "service_date", _broken_service_date)
        async with running_worker(client, s, task_queue):
            await schedules.ensure_schedules(client, s, prefix=prefix, retry_every=timedelta(seconds=1),
                                             retry_at_most=timedelta(seconds=2))
            await client.get_schedule_handle(sid).trigger()
            launcher = await wait_for(lambda: last_scheduled_run(client, sid), what="the triggered run")
            row = await wait_for(lambda: _faulted(client, sid), timeout=30, what="the schedule in the faulted list")
            assert row.kind == "schedule" and "calendar service is unavailable" in (row.fault or "")
            views = await schedules.describe_schedules(client, s, prefix=prefix)
            assert views[0].last_result.startswith("faulted")
        monkeypatch.undo()
        async with running_worker(client, s, task_queue):
            note = await client.get_workflow_handle(launcher).result()
            assert "opened" in note or "open already" in note, note
            await wait_for(lambda: _mended(client, sid), what="the fault to leave the stuck list")
    finally:
        await _cleanup(client, prefix, [launcher] if launcher else [])


async def _mended(client, sid):
    return await _faulted(client, sid) is None


async def _faulted(client, sid):
    rows, _ = await stuck.page(client, "faulted", page_size=500)
    return next((r for r in rows if r.id == sid), None)


async def test_the_caseload_snapshot_schedule_runs_every_evening_and_takes_a_snapshot(dev_env, settings, task_queue):
    client, s = dev_env.client, _settings(settings, task_queue)
    prefix = f"t-{task_queue}-snap"
    sid = f"{prefix}-caseload-snapshot"
    run = None
    try:
        async with running_worker(client, s, task_queue):
            await schedules.ensure_schedules(client, s, prefix=prefix)
            await client.get_schedule_handle(f"{prefix}-morning-discussion").pause(note="not this test's")
            handle = client.get_schedule_handle(sid)
            desc = await handle.describe()
            assert desc.schedule.spec.time_zone_name == "Europe/London"
            assert [(c.hour[0].start, c.minute[0].start) for c in desc.schedule.spec.calendars] == [(18, 0)]
            for moment in desc.info.next_action_times:
                assert moment.astimezone(ZoneInfo("Europe/London")).strftime("%H:%M") == "18:00"
            await handle.trigger()
            run = await wait_for(lambda: last_scheduled_run(client, sid), what="the triggered snapshot")
            result = CaseloadSnapshotResult.model_validate(await client.get_workflow_handle(run).result())
            assert result.taken_on == CAL.local_date(datetime.now(UTC)) and result.people >= 0
            views = {v.id: v for v in await schedules.describe_schedules(client, s, prefix=prefix)}
            assert views[sid].last_result.startswith("completed") and "18:00" in views[sid].when
    finally:
        await _cleanup(client, prefix, [run] if run else [])
