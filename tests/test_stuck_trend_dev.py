"""Stuck lists over time (issue 10 §3), on the dev server and the test database: the hourly
Schedule exists and, triggered, records every stuck list's count as visibility gives it
(the same numbers stuck.count gives); a second snapshot in the same hour replaces that
hour's rows; the trend (API, dashboard, CLI) shows planted rows, bounds its days, and an
empty history says how it fills; a failing snapshot shows as a technical fault."""

from __future__ import annotations

import base64
import os
import re
import subprocess
import sys
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import delete
from sqlmodel import col, select
from temporalio import activity
from temporalio.common import SearchAttributePair, TypedSearchAttributes

from activities.stuck import StuckActivities
from frontdoor import schedules, stuck, stuck_trend
from frontdoor.web.app import create_app
from models.database import init_db, session
from models.roles import Role
from models.stuck_trend import StuckSnapshotResult, StuckSnapshotRow, top_of_hour
from tests.conftest import running_worker
from tests.helpers import delete_schedules, last_scheduled_run, wait_for
from tests.web_support import PASSWORD, add_people, app_settings, terminate, web_env
from workflows import search_attributes as sa

ROOT = Path(__file__).resolve().parent.parent
LONDON = ZoneInfo("Europe/London")


def _settings(settings: Any, task_queue: str) -> Any:
    return replace(settings, temporal=replace(settings.temporal, task_queue=task_queue))


async def _plant(client: Any, *, flags: list[str] | None = None, stage: str | None = None) -> str:
    """A running case that no worker will ever pick up, showing in a stuck list by its search
    attributes alone (as a real stuck case shows): visibility counts it like any other."""
    wid = f"planted-stuck-{uuid.uuid4().hex[:8]}"
    pairs: list[SearchAttributePair[Any]] = [SearchAttributePair(sa.KIND, "contact"),
                                             SearchAttributePair(sa.SUBJECT, wid)]
    if flags:
        pairs.append(SearchAttributePair(sa.FLAGS, flags))
    if stage:
        pairs.append(SearchAttributePair(sa.STAGE, stage))
    await client.start_workflow("PlantedStuckCase", id=wid, task_queue=f"nobody-polls-{wid}",
                                search_attributes=TypedSearchAttributes(pairs))
    return wid


async def _counts(client: Any) -> dict[str, int]:
    return {name: await stuck.count(client, name) for name in stuck.KINDS}


def _rows(database_url: str, hour: datetime) -> list[StuckSnapshotRow]:
    with session(database_url) as s:
        return list(s.exec(select(StuckSnapshotRow).where(col(StuckSnapshotRow.hour) == hour)).all())


async def _cleanup(client: Any, prefix: str, workflow_ids: list[str]) -> None:
    await terminate(client, workflow_ids)
    await delete_schedules(client, prefix)


async def test_the_hourly_schedule_records_every_stuck_count_as_visibility_gives_it(dev_env, settings, database_url, task_queue):
    client, s = dev_env.client, _settings(settings, task_queue)
    prefix = f"t-{task_queue}-stuck"
    sid = f"{prefix}-stuck-snapshot"
    planted = [await _plant(client, stage="awaiting_consent"), await _plant(client, stage="awaiting_consent"),
               await _plant(client, flags=["faulted"])]
    run = None
    try:
        async with running_worker(client, s, task_queue):
            made = await schedules.ensure_schedules(client, s, prefix=prefix)
            assert (sid, "created") in made
            for other in ("morning-discussion", "caseload-snapshot", "report-snapshot"):
                await client.get_schedule_handle(f"{prefix}-{other}").pause(note="not this test's")
            handle = client.get_schedule_handle(sid)
            desc = await handle.describe()
            cal = desc.schedule.spec.calendars[0]
            assert (cal.hour[0].start, cal.hour[0].end, cal.minute[0].start, cal.second[0].start) == (0, 23, 0, 0)
            nexts = desc.info.next_action_times
            assert len(nexts) >= 2 and all((m.minute, m.second) == (0, 0) for m in nexts)
            assert all(b - a == timedelta(hours=1) for a, b in zip(nexts, nexts[1:], strict=False))
            await wait_for(lambda: _planted_seen(client), what="visibility to show the planted cases")

            before = await _counts(client)
            await handle.trigger()
            run = await wait_for(lambda: last_scheduled_run(client, sid), what="the triggered snapshot")
            result = StuckSnapshotResult.model_validate(await client.get_workflow_handle(run).result())
            after = await _counts(client)
            assert set(result.counts) == set(stuck.KINDS)
            assert all(result.counts[n] in (before[n], after[n]) for n in stuck.KINDS), (result.counts, before, after)
            assert result.counts["awaiting_consent"] >= 2 and result.counts["faulted"] >= 1
            assert result.hour == top_of_hour(result.hour) and result.taken_on == result.hour.astimezone(LONDON).date()
            rows = _rows(database_url, result.hour)
            assert {r.name: r.count for r in rows} == result.counts
            views = {v.id: v for v in await schedules.describe_schedules(client, s, prefix=prefix)}
            assert views[sid].last_result == f"completed: {result.summary}" and "every hour" in views[sid].when
            assert f"{sum(result.counts.values())} stuck across {len(stuck.KINDS)} lists" in result.summary
    finally:
        await _cleanup(client, prefix, planted + ([run] if run else []))


async def _planted_seen(client: Any) -> bool:
    return await stuck.count(client, "awaiting_consent") >= 2 and await stuck.count(client, "faulted") >= 1


async def test_a_second_snapshot_in_the_same_hour_replaces_the_first(dev_env, settings, database_url, task_queue):
    client, s = dev_env.client, _settings(settings, task_queue)
    hour = top_of_hour(datetime.now(UTC)) - timedelta(days=30)  # an hour of its own, long before the others' snapshots
    planted = [await _plant(client, flags=["faulted"])]
    try:
        async with running_worker(client, s, task_queue):
            await wait_for(lambda: _at_least(client, "faulted", 1), what="the planted fault")
            first = StuckSnapshotResult.model_validate(
                await stuck_trend.take_now(client, task_queue, at=hour + timedelta(minutes=5)))
            planted.append(await _plant(client, flags=["faulted"]))
            await wait_for(lambda: _at_least(client, "faulted", first.counts["faulted"] + 1), what="the second fault")
            second = StuckSnapshotResult.model_validate(
                await stuck_trend.take_now(client, task_queue, at=hour + timedelta(minutes=50)))
        assert first.hour == second.hour == hour
        assert second.counts["faulted"] > first.counts["faulted"]
        rows = _rows(database_url, hour)
        assert len(rows) == len(stuck.KINDS) and len({r.name for r in rows}) == len(rows)  # replaced, not doubled
        assert {r.name: r.count for r in rows} == second.counts
        assert all(r.taken_at == hour + timedelta(minutes=50) for r in rows)
    finally:
        await terminate(client, planted)
        with session(database_url) as db:
            db.execute(delete(StuckSnapshotRow).where(col(StuckSnapshotRow.hour) == hour))
            db.commit()


async def _at_least(client: Any, name: str, n: int) -> bool:
    return await stuck.count(client, name) >= n


def _plant_rows(database_url: str, name: str, counts: dict[datetime, int]) -> None:
    with session(database_url) as s:
        for hour, n in counts.items():
            s.add(StuckSnapshotRow(hour=hour, taken_on=hour.astimezone(LONDON).date(), taken_at=hour, name=name, count=n))
        s.commit()


async def test_the_trend_shows_planted_snapshots_on_the_api_the_dashboard_and_the_cli(dev_env, settings, database_url,
                                                                                        task_queue, tmp_path):
    name = f"planted_{uuid.uuid4().hex[:6]}"  # a list of its own: the test database is shared by the session
    now = top_of_hour(datetime.now(UTC))
    today = now.astimezone(LONDON).date()
    two_ago, one_ago = now - timedelta(days=2), now - timedelta(days=1)
    planted = {
        now - timedelta(days=20): 99,  # outside the 14 days
        two_ago: 3, two_ago + timedelta(hours=1): 5,
        one_ago: 4,
        now - timedelta(hours=1): 9, now: 7,  # the latest is 7
    }
    _plant_rows(database_url, name, planted)
    expected: dict[str, int] = {}  # each local day's maximum within the 14 days
    for hour, n in planted.items():
        day = hour.astimezone(LONDON).date()
        if day > today - timedelta(days=14):
            expected[day.isoformat()] = max(n, expected.get(day.isoformat(), 0))
    people = add_people(database_url)
    sm, police = people[Role.SERVICE_MANAGER], people[Role.POLICE_PARTNER]
    try:
        async with web_env(dev_env.client, app_settings(settings, task_queue), task_queue) as web:
            r = await web.http.get("/api/stuck/trend?days=14", headers=sm.auth)
            assert r.status_code == 200, r.text
            body = r.json()
            assert body["days"] == 14 and body["to"] == today.isoformat()
            assert body["from"] == (today - timedelta(days=13)).isoformat()
            mine = next(x for x in body["lists"] if x["name"] == name)
            by_day = {d["day"]: d["max"] for d in mine["daily_max"]}
            assert len(by_day) == 14 and 99 not in by_day.values()
            assert {d: v for d, v in by_day.items() if v is not None} == expected
            assert mine["latest"] == 7 and mine["direction"] == "growing" and mine["peak"] == 9
            assert {x["name"] for x in body["lists"]} >= set(stuck.KINDS)

            short = (await web.http.get("/api/stuck/trend?days=1", headers=sm.auth)).json()
            assert short["days"] == 1 and [d["day"] for d in next(x for x in short["lists"] if x["name"] == name)["daily_max"]] == [today.isoformat()]
            for bad in ("0", "91", "-3", "many"):
                r = await web.http.get(f"/api/stuck/trend?days={bad}", headers=sm.auth)
                assert r.status_code == 422 and "days" in r.text, (bad, r.status_code, r.text)
            assert (await web.http.get("/api/stuck/trend", headers=police.auth)).status_code == 403
            assert (await web.http.get("/api/stuck/trend")).status_code == 401

            page = await _signed_in_page(web.http, sm.username, "/supervisor")
            assert 'id="stuck-trend-table"' in page and f'data-list="{name}"' in page
            row = page.split(f'data-list="{name}"', 1)[1].split("</tr>", 1)[0]
            assert '<td class="latest">7</td>' in row and "growing" in row and ">99<" not in row
            assert 'id="stuck-trend-empty"' not in page
            chart = re.search(r'id="stuck-trend-chart" src="data:image/svg\+xml;base64,([^"]+)"', page)
            assert chart, "the trend's line chart"
            svg = base64.b64decode(chart.group(1)).decode()
            assert "<svg" in svg and "Stuck lists over 14 days" in svg

        env = dict(os.environ, DATABASE_URL=database_url, FRONTDOOR_VAR_DIR=str(tmp_path))
        out = _cli(env, "stuck", "--trend", "--days", "3")
        assert out.returncode == 0, out.stderr
        line = next(x for x in out.stdout.splitlines() if name in x)
        assert "latest    7" in line and "growing" in line
        assert line.split()[-3:] == [str(expected.get((today - timedelta(days=d)).isoformat(), "-")) for d in (2, 1, 0)]
        bad = _cli(env, "stuck", "--trend", "--days", "91")
        assert bad.returncode != 0 and "--days" in bad.stderr and "1 to 90" in bad.stderr
    finally:
        with session(database_url) as s:
            s.execute(delete(StuckSnapshotRow).where(col(StuckSnapshotRow.name) == name))
            s.commit()


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "frontdoor.cli", *args], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=60)


async def _signed_in_page(http: httpx.AsyncClient, username: str, path: str) -> str:
    login = await http.get("/login")
    token = login.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    r = await http.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 303, r.text
    page = await http.get(path)
    assert page.status_code == 200, page.text
    return page.text


async def test_an_empty_history_says_how_it_fills(dev_env, settings, task_queue, tmp_path):
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    init_db(url)
    found = stuck_trend.trend(url)
    assert found.empty and found.as_dict()["message"] == stuck_trend.EMPTY and len(found.days) == 14
    assert stuck_trend.as_text(found) == stuck_trend.EMPTY
    people = add_people(url)
    app = create_app(replace(app_settings(settings, task_queue), database_url=url), client=dev_env.client)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://frontdoor.test") as http:
        page = await _signed_in_page(http, people[Role.TEAM_MANAGER].username, "/supervisor")
        assert 'id="stuck-trend-empty"' in page and "frontdoor schedules" in page
        r = await http.get("/api/stuck/trend", headers=people[Role.TEAM_MANAGER].auth)
        assert r.status_code == 200 and r.json()["latest_at"] is None and r.json()["message"] == stuck_trend.EMPTY


@activity.defn(name="take_stuck_snapshot")
async def _visibility_down(self: Any, counting: Any) -> Any:  # stands in for StuckActivities.take_stuck_snapshot
    raise RuntimeError("visibility is unavailable")


async def test_a_failing_snapshot_shows_as_a_fault_until_mended(dev_env, settings, database_url, task_queue, monkeypatch):
    client, s = dev_env.client, _settings(settings, task_queue)
    prefix = f"t-{task_queue}-stuckfail"
    sid = f"{prefix}-stuck-snapshot"
    run = None
    try:
        monkeypatch.setattr(StuckActivities, "take_stuck_snapshot", _visibility_down)
        async with running_worker(client, s, task_queue):
            await schedules.ensure_schedules(client, s, prefix=prefix, retry_every=timedelta(seconds=1),
                                             retry_at_most=timedelta(seconds=2))
            for other in ("morning-discussion", "caseload-snapshot", "report-snapshot"):
                await client.get_schedule_handle(f"{prefix}-{other}").pause(note="not this test's")
            await client.get_schedule_handle(sid).trigger()
            run = await wait_for(lambda: last_scheduled_run(client, sid), what="the triggered snapshot")
            row = await wait_for(lambda: _faulted(client, sid), timeout=30, what="the snapshot in the faulted list")
            assert row.kind == "schedule" and "visibility is unavailable" in (row.fault or "")
        monkeypatch.undo()
        async with running_worker(client, s, task_queue):
            result = StuckSnapshotResult.model_validate(await client.get_workflow_handle(run).result())
            assert set(result.counts) == set(stuck.KINDS)
            await wait_for(lambda: _mended(client, sid), what="the fault to leave the stuck list")
    finally:
        await _cleanup(client, prefix, [run] if run else [])


async def _faulted(client: Any, sid: str) -> Any:
    rows, _ = await stuck.page(client, "faulted", page_size=500)
    return next((r for r in rows if r.id == sid), None)


async def _mended(client: Any, sid: str) -> bool:
    return await _faulted(client, sid) is None
