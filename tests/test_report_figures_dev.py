"""The key report figures over time (issue 10 §3), on the dev server: the daily
`report-snapshot` Schedule exists at 06:00 in the service's zone and, triggered, keeps every
report's key figures for the 28 days before, equal to what the reports give for that window;
a second snapshot on the same day replaces that day's rows; the history (API and CLI) shows
planted snapshots, bounds its days and asks for the `reports` permission."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete
from sqlmodel import col, select

from frontdoor import report_figures, reports, schedules
from frontdoor.reports.base import Window
from models.database import init_db, session
from models.report_snapshot import ReportSnapshotResult, ReportSnapshotRow, snapshot_window
from models.roles import Role
from tests import report_data
from tests.conftest import running_worker
from tests.helpers import delete_schedules, last_scheduled_run, wait_for
from tests.web_support import add_people, app_settings, web_env

ROOT = Path(__file__).resolve().parent.parent
LONDON = ZoneInfo("Europe/London")


def _settings(settings: Any, task_queue: str, database_url: str | None = None) -> Any:
    s = replace(settings, temporal=replace(settings.temporal, task_queue=task_queue))
    return replace(s, database_url=database_url) if database_url else s


def _hand_made_record(tmp_path: Path) -> str:
    """A case record of its own holding the hand-made figures of tests/report_data.py (2019)."""
    url = f"sqlite:///{tmp_path / 'figures.db'}"
    init_db(url)
    with session(url) as s:
        report_data.build(s)
    return url


def _rows(database_url: str, day: date) -> list[ReportSnapshotRow]:
    with session(database_url) as s:
        return list(s.exec(select(ReportSnapshotRow).where(col(ReportSnapshotRow.taken_on) == day)
                           .order_by(col(ReportSnapshotRow.id))).all())


def _from_the_reports(database_url: str, start: date, end: date) -> dict[tuple[str, str], float | None]:
    """Every report's key figures table, as the reports page computes it for that window."""
    expected: dict[tuple[str, str], float | None] = {}
    with session(database_url) as s:
        for name in reports.REPORTS:
            result = reports.run(s, name, Window(start, end))
            for label, value in result.table("summary").rows:
                expected[(name, label)] = None if value is None else float(value)
    return expected


async def test_the_daily_schedule_keeps_every_reports_key_figures_for_the_28_days_before(dev_env, settings, task_queue,
                                                                                          tmp_path):
    client = dev_env.client
    url = f"sqlite:///{tmp_path / 'today.db'}"
    init_db(url)
    s = _settings(settings, task_queue, url)
    prefix = f"t-{task_queue}-figures"
    sid = f"{prefix}-report-snapshot"
    try:
        async with running_worker(client, s, task_queue):
            made = await schedules.ensure_schedules(client, s, prefix=prefix)
            assert (sid, "created") in made
            for other in ("morning-discussion", "caseload-snapshot", "stuck-snapshot"):
                await client.get_schedule_handle(f"{prefix}-{other}").pause(note="not this test's")
            handle = client.get_schedule_handle(sid)
            desc = await handle.describe()
            assert desc.schedule.spec.time_zone_name == "Europe/London"
            cal = desc.schedule.spec.calendars[0]
            assert (cal.hour[0].start, cal.minute[0].start, cal.second[0].start) == (6, 0, 0)
            assert [(r.start, r.end) for r in cal.day_of_week] in ([], [(0, 6)])  # every day of the week
            nexts = desc.info.next_action_times
            assert len(nexts) >= 2 and all((m.astimezone(LONDON).hour, m.minute, m.second) == (6, 0, 0) for m in nexts)
            assert all(b.astimezone(LONDON).date() - a.astimezone(LONDON).date() == timedelta(days=1)
                       for a, b in zip(nexts, nexts[1:], strict=False))

            await handle.trigger()
            run = await wait_for(lambda: last_scheduled_run(client, sid), what="the triggered snapshot")
            result = ReportSnapshotResult.model_validate(await client.get_workflow_handle(run).result())
            today = datetime.now(UTC).astimezone(LONDON).date()
            assert result.taken_on == today
            assert (result.window_from, result.window_to) == (today - timedelta(days=28), today - timedelta(days=1))
            rows = _rows(url, today)
            assert {(r.report, r.figure): r.value for r in rows} == _from_the_reports(url, result.window_from, result.window_to)
            assert {r.report for r in rows} == set(reports.REPORTS) and result.reports == len(reports.REPORTS)
            assert result.figures == len(rows)
            views = {v.id: v for v in await schedules.describe_schedules(client, s, prefix=prefix)}
            assert views[sid].last_result == f"completed: {result.summary}" and "every day at 06:00" in views[sid].when
    finally:
        await delete_schedules(client, prefix)


async def test_a_second_snapshot_on_the_same_day_replaces_the_first(dev_env, settings, task_queue, tmp_path):
    client = dev_env.client
    url = _hand_made_record(tmp_path)
    s = _settings(settings, task_queue, url)
    morning = datetime(2019, 3, 15, 6, 0, tzinfo=UTC)  # GMT: the local day is 15/03/2019
    day = morning.date()
    start, end = snapshot_window(day)
    assert (start, end) == (date(2019, 2, 15), date(2019, 3, 14))
    expected = _from_the_reports(url, start, end)
    assert any(v for v in expected.values()), "the hand-made record has figures in the window"
    async with running_worker(client, s, task_queue):
        first = ReportSnapshotResult.model_validate(await report_figures.take_now(client, task_queue, at=morning))
        assert {(r.report, r.figure): r.value for r in _rows(url, day)} == expected
        with session(url) as db:  # a figure a report no longer gives: the next snapshot of the day drops it
            db.add(ReportSnapshotRow(taken_on=day, taken_at=morning, window_from=start, window_to=end,
                                     report="timeliness", figure="a figure of an older version", value=1.0))
            db.commit()
        evening = morning + timedelta(hours=14)
        second = ReportSnapshotResult.model_validate(await report_figures.take_now(client, task_queue, at=evening))
    assert first.taken_on == second.taken_on == day and first.figures == second.figures
    rows = _rows(url, day)
    assert len(rows) == second.figures == len(expected)  # replaced, not doubled
    assert {(r.report, r.figure): r.value for r in rows} == expected
    assert all(r.taken_at == evening and (r.window_from, r.window_to) == (start, end) for r in rows)
    # each report's figures keep the order of its key figures table
    timeliness = [r.figure for r in rows if r.report == "timeliness"]
    assert timeliness == [k[1] for k in expected if k[0] == "timeliness"]


def _plant(database_url: str, report: str, values: dict[date, float | None]) -> None:
    with session(database_url) as s:
        for day, value in values.items():
            start, end = snapshot_window(day)
            s.add(ReportSnapshotRow(taken_on=day, taken_at=datetime.combine(day, datetime.min.time(), tzinfo=UTC),
                                    window_from=start, window_to=end, report=report, figure="Contacts", position=0,
                                    value=value))
        s.commit()


async def test_the_history_shows_planted_snapshots_on_the_api_and_the_cli(dev_env, settings, database_url, task_queue,
                                                                         tmp_path):
    report = f"planted-{uuid.uuid4().hex[:6]}"  # a report of its own: the test database is shared by the session
    today = datetime.now(UTC).astimezone(LONDON).date()
    planted = {today - timedelta(days=40): 99.0, today - timedelta(days=2): 3.0, today - timedelta(days=1): 5.0}
    _plant(database_url, report, planted)
    people = add_people(database_url)
    tm, police = people[Role.TEAM_MANAGER], people[Role.POLICE_PARTNER]
    try:
        async with web_env(dev_env.client, app_settings(settings, task_queue), task_queue) as web:
            r = await web.http.get("/api/reports/figures/history?days=28", headers=tm.auth)
            assert r.status_code == 200, r.text
            body = r.json()
            assert body["days"] == 28 and body["to"] == today.isoformat()
            assert body["from"] == (today - timedelta(days=27)).isoformat()
            mine = next(x for x in body["reports"] if x["name"] == report)
            contacts = next(f for f in mine["figures"] if f["name"] == "Contacts")
            by_day = {v["taken_on"]: v["value"] for v in contacts["values"] if v["value"] is not None}
            assert by_day == {(today - timedelta(days=2)).isoformat(): 3.0, (today - timedelta(days=1)).isoformat(): 5.0}
            assert contacts["latest"] in (5.0, None)  # None when another test took a snapshot today
            taken = {x["taken_on"]: x for x in body["snapshots"]}
            assert taken[(today - timedelta(days=1)).isoformat()]["window_to"] == (today - timedelta(days=2)).isoformat()

            longer = (await web.http.get("/api/reports/figures/history?days=41", headers=tm.auth)).json()
            assert 99.0 in [v["value"] for x in longer["reports"] if x["name"] == report
                            for f in x["figures"] for v in f["values"]]
            for bad in ("0", "401", "-3", "many"):
                r = await web.http.get(f"/api/reports/figures/history?days={bad}", headers=tm.auth)
                assert r.status_code == 422 and "days" in r.text, (bad, r.status_code, r.text)
            assert (await web.http.get("/api/reports/figures/history", headers=police.auth)).status_code == 403
            assert (await web.http.get("/api/reports/figures/history")).status_code == 401

        env = dict(os.environ, DATABASE_URL=database_url, FRONTDOOR_VAR_DIR=str(tmp_path))
        out = _cli(env, "report", "figures-history", "--days", "3")
        assert out.returncode == 0, out.stderr
        lines = out.stdout.splitlines()
        at = next(i for i, x in enumerate(lines) if x.strip() == report)
        assert lines[at + 1].split()[0] == "Contacts" and lines[at + 1].split()[-2:] in (["3", "5"], ["3", "-"])
        as_json = _cli(env, "report", "figures-history", "--days", "3", "--format", "json")
        assert as_json.returncode == 0 and f'"name": "{report}"' in as_json.stdout
        bad = _cli(env, "report", "figures-history", "--days", "401")
        assert bad.returncode != 0 and "--days" in bad.stderr and "1 to 400" in bad.stderr
    finally:
        with session(database_url) as s:
            s.execute(delete(ReportSnapshotRow).where(col(ReportSnapshotRow.report) == report))
            s.commit()


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "frontdoor.cli", *args], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=60)


def test_the_snapshot_time_comes_from_the_settings(monkeypatch) -> None:
    from frontdoor.config import ConfigError, load_settings

    assert load_settings().report_snapshot_at == (6, 0)
    monkeypatch.setenv("FRONTDOOR_REPORT_SNAPSHOT_AT", "05:45")
    s = load_settings()
    assert s.report_snapshot_at == (5, 45)
    entry = next(e for e in schedules.SCHEDULES if e.name == "report-snapshot")
    cal = entry.spec(s).calendars[0]
    assert (cal.hour[0].start, cal.minute[0].start) == (5, 45) and entry.when(s) == "every day at 05:45 Europe/London"
    monkeypatch.setenv("FRONTDOOR_REPORT_SNAPSHOT_AT", "6pm")
    with pytest.raises(ConfigError, match="FRONTDOOR_REPORT_SNAPSHOT_AT='6pm': a time of day as HH:MM"):
        load_settings()
