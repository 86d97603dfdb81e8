"""The key report figures over time: each report's "Key figures" table (the headline rows
every report heads with), taken once a day by the ReportSnapshotWorkflow (its Schedule:
`report-snapshot`, FRONTDOOR_REPORT_SNAPSHOT_AT, 06:00 by default) over the 28 whole days
that end the day before (models/report_snapshot.snapshot_window), and kept in the case
record (`report_snapshots`).

Entry points:
- `figures_for(settings)`: the computation the worker hands the snapshot activity
  (Deps.key_figures): the same reports, through the same `reports.run`, as the reports page;
- `history()`: the figures of the last N days' snapshots (`GET /api/reports/figures/history`,
  `frontdoor report figures-history`), one SQL query;
- `latest_taken_on()`: the day of the latest snapshot (the reports page says it);
- `take_now()`: a snapshot at once (the schedule's workflow, run now).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import col, select
from temporalio.client import Client

from frontdoor import reports, schedules
from frontdoor.config import Settings
from frontdoor.errors import InvalidInput, days_errors
from frontdoor.reports.base import Window
from models.database import session
from models.report_snapshot import Figure, KeyFigures, ReportSnapshotRequest, ReportSnapshotRow
from workflows.report_snapshot import SCHEDULE_NAME

SUMMARY = "summary"  # the name of every report's key figures table (frontdoor/reports/base.key_figures)
DEFAULT_DAYS = 28
MAX_DAYS = 400
EMPTY = ("No key figures recorded yet: the daily report-snapshot schedule keeps every report's key figures "
         "(a worker creates it when it starts; `frontdoor schedules` shows its runs).")


def _number(value: Any) -> float | None:
    if value is None or isinstance(value, str):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def key_figures(database_url: str, start: date, end: date, *, timezone: str = "Europe/London",
                police_flag_hours: float = 24.0) -> list[Figure]:
    """Every report's key figures for the inclusive window, in the reports' order."""
    w = Window(start, end, timezone=timezone, police_flag_hours=police_flag_hours)
    found: list[Figure] = []
    with session(database_url) as s:
        for name in reports.REPORTS:
            result = reports.run(s, name, w)
            summary = next((t for t in result.tables if t.name == SUMMARY), None)
            for label, value in summary.rows if summary else []:
                found.append((name, str(label), _number(value)))
    return found


def figures_for(settings: Settings) -> KeyFigures:
    """The computation the worker gives the snapshot activity, with this service's time zone
    and police delay flag (as the reports page uses them)."""
    flag = settings.timescales.police_delay_flag.total_seconds() / 3600

    def compute(database_url: str, start: date, end: date) -> list[Figure]:
        return key_figures(database_url, start, end, timezone=settings.timezone, police_flag_hours=flag)

    return compute


@dataclass
class FigureHistory:
    name: str
    values: list[float | None]  # one per snapshot day of the history, oldest first

    @property
    def latest(self) -> float | None:
        return self.values[-1] if self.values else None

    @property
    def first(self) -> float | None:
        return next((v for v in self.values if v is not None), None)


@dataclass
class ReportHistory:
    name: str
    title: str
    figures: list[FigureHistory] = field(default_factory=list)


@dataclass
class History:
    days: int
    start: date
    end: date  # today (the service's local date)
    snapshots: list[tuple[date, date, date]]  # (taken on, window from, window to), oldest first
    reports: list[ReportHistory]

    @property
    def empty(self) -> bool:
        return not self.snapshots

    def as_dict(self) -> dict[str, Any]:
        taken = [d for d, _, _ in self.snapshots]
        return {
            "days": self.days, "from": self.start.isoformat(), "to": self.end.isoformat(),
            "snapshots": [{"taken_on": d.isoformat(), "window_from": a.isoformat(), "window_to": b.isoformat()}
                          for d, a, b in self.snapshots],
            "reports": [{"name": r.name, "title": r.title, "figures": [
                {"name": f.name, "latest": f.latest,
                 "values": [{"taken_on": d.isoformat(), "value": v} for d, v in zip(taken, f.values, strict=True)]}
                for f in r.figures]} for r in self.reports],
            "message": EMPTY if self.empty else None,
        }


def history(database_url: str, days: int = DEFAULT_DAYS, timezone: str = "Europe/London",
            now: datetime | None = None) -> History:
    """The key figures of every snapshot taken in the last `days` (1..400) local days, today
    included, by report in the reports' order and by figure in its table's order."""
    if problems := days_errors(days, MAX_DAYS):
        raise InvalidInput.of(problems)
    today = (now or datetime.now(UTC)).astimezone(ZoneInfo(timezone)).date()
    start = today - timedelta(days=days - 1)
    t = ReportSnapshotRow
    with session(database_url) as s:
        rows = s.exec(select(t).where(col(t.taken_on) >= start, col(t.taken_on) <= today)
                      .order_by(col(t.taken_on), col(t.report), col(t.position))).all()
        found = [(r.taken_on, r.window_from, r.window_to, r.report, r.figure, r.value) for r in rows]
    windows: dict[date, tuple[date, date]] = {}
    values: dict[tuple[str, str], dict[date, float | None]] = {}
    for taken, a, b, report, figure, value in found:
        windows[taken] = (a, b)
        values.setdefault((report, figure), {})[taken] = value
    taken_days = sorted(windows)
    order = {name: i for i, name in enumerate(reports.REPORTS)}
    by_report: dict[str, ReportHistory] = {}
    for (report, figure), by_day in values.items():  # figures in the order first met (position within a day)
        r = by_report.setdefault(report, ReportHistory(report, reports.REPORTS[report].title if report in reports.REPORTS else report))
        r.figures.append(FigureHistory(figure, [by_day.get(d) for d in taken_days]))
    ordered = sorted(by_report.values(), key=lambda r: (order.get(r.name, len(order)), r.name))
    return History(days, start, today, [(d, *windows[d]) for d in taken_days], ordered)


def latest_taken_on(database_url: str) -> date | None:
    with session(database_url) as s:
        day = s.execute(sa_select(func.max(col(ReportSnapshotRow.taken_on)))).scalar()
    return day if isinstance(day, date) or day is None else date.fromisoformat(str(day))


def _value(v: float | None) -> str:
    if v is None:
        return "-"
    return str(int(v)) if float(v).is_integer() else f"{v:.1f}"


def as_text(found: History) -> str:
    """The CLI's table: per figure, its value in the first and the latest snapshot of the span."""
    if found.empty:
        return EMPTY
    first, last = found.snapshots[0], found.snapshots[-1]
    lines = [f"Key report figures, {len(found.snapshots)} daily snapshots from {first[0]:%d/%m/%Y} to {last[0]:%d/%m/%Y} "
             f"(each over the {(last[2] - last[1]).days + 1} days before it was taken):",
             f"  {'report / figure':<72} {first[0]:%d/%m/%Y} {last[0]:%d/%m/%Y}"]
    for r in found.reports:
        lines.append(f"  {r.title}")
        for f in r.figures:
            lines.append(f"    {f.name[:70]:<70} {_value(f.values[0]):>10} {_value(f.latest):>10}")
    return "\n".join(lines)


async def take_now(client: Client, task_queue: str, *, at: datetime | None = None, workflow_id: str | None = None) -> Any:
    """Take a report snapshot at once (the schedule's workflow, run now; that day's rows are replaced)."""
    return await schedules.run_now(client, task_queue, SCHEDULE_NAME, ReportSnapshotRequest, at=at, workflow_id=workflow_id,
                                   timeout=timedelta(minutes=10))
