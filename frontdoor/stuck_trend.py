"""Stuck lists over time: each list's daily maximum and latest count over the last days,
from the hourly snapshots the StuckSnapshotWorkflow keeps in the case record
(`stuck_snapshots`). Two SQL queries (daily maxima grouped in SQL; each list's count at
its latest hour); the interface's entry points are `trend()` (the dashboard, `GET /api/stuck/trend`,
`frontdoor stuck --trend`) and `take_now()` (a snapshot at once)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import col
from temporalio.client import Client

from frontdoor import schedules, stuck
from frontdoor.errors import InvalidInput, days_errors
from models.database import session
from models.stuck_trend import StuckSnapshotRequest, StuckSnapshotRow
from workflows.stuck_snapshot import SCHEDULE_NAME

DEFAULT_DAYS = 14
MAX_DAYS = 90
EMPTY = ("No stuck counts recorded yet: the hourly stuck-snapshot schedule records every list's count at the top "
         "of each hour (a worker creates it when it starts; `frontdoor schedules` shows its runs).")


@dataclass
class ListTrend:
    name: str
    title: str
    daily_max: list[int | None]  # one per day, oldest first; None: no snapshot that day
    latest: int | None  # at the list's latest snapshot in the span

    @property
    def direction(self) -> str:
        """Growing, shrinking or steady: the latest count against the first day's maximum."""
        first = next((v for v in self.daily_max if v is not None), None)
        if first is None or self.latest is None or self.latest == first:
            return "steady"
        return "growing" if self.latest > first else "shrinking"

    @property
    def peak(self) -> int | None:
        values = [v for v in self.daily_max if v is not None]
        return max(values) if values else None

    def as_dict(self, days: list[date]) -> dict[str, Any]:
        return {"name": self.name, "title": self.title, "latest": self.latest, "peak": self.peak,
                "direction": self.direction,
                "daily_max": [{"day": d.isoformat(), "max": v} for d, v in zip(days, self.daily_max, strict=True)]}


@dataclass
class Trend:
    days: list[date]  # oldest first, ending today (the service's local date)
    lists: list[ListTrend]
    latest_at: datetime | None  # the hour of the latest snapshot in the span

    @property
    def empty(self) -> bool:
        return self.latest_at is None

    def as_dict(self) -> dict[str, Any]:
        return {"days": len(self.days), "from": self.days[0].isoformat(), "to": self.days[-1].isoformat(),
                "latest_at": self.latest_at.isoformat() if self.latest_at else None,
                "lists": [t.as_dict(self.days) for t in self.lists],
                "message": EMPTY if self.empty else None}


def chart_src(result: Trend) -> str | None:
    """Each list that had anything stuck in the span as a line (daily maxima): a data: URI of
    an SVG drawn by the reports' chart renderer, so the dashboard shows it under its CSP."""
    import base64

    from frontdoor.reports.base import Chart, Column, Table
    from frontdoor.reports.charts import chart_svg

    shown = [t for t in result.lists if any(v for v in t.daily_max)]
    if result.empty or not shown:
        return None
    table = Table("trend", "Stuck lists", [Column("day", "Day")] + [Column(t.name, t.title, "int") for t in shown],
                  [[d.strftime("%d/%m")] + [t.daily_max[i] for t in shown] for i, d in enumerate(result.days)])
    chart = Chart("trend", "line", "day", tuple(t.name for t in shown), f"Stuck lists over {len(result.days)} days",
                  "day", "largest count that day")
    svg = chart_svg(table, chart)
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


def trend(database_url: str, days: int = DEFAULT_DAYS, timezone: str = "Europe/London",
          now: datetime | None = None) -> Trend:
    """Each stuck list over the last `days` (1..90) local days, today included: its daily
    maximum and its count at the latest snapshot. Every list of today's catalogue is shown
    (an unrecorded day is None); a list no longer in the catalogue is shown under its name."""
    if problems := days_errors(days, MAX_DAYS):
        raise InvalidInput.of(problems)
    today = (now or datetime.now(UTC)).astimezone(ZoneInfo(timezone)).date()
    span = [today - timedelta(days=days - 1 - i) for i in range(days)]
    t = StuckSnapshotRow
    maxima = (sa_select(col(t.name), col(t.taken_on), func.max(col(t.count)))
              .where(col(t.taken_on) >= span[0], col(t.taken_on) <= today)
              .group_by(col(t.name), col(t.taken_on)))
    with session(database_url) as s:
        daily: dict[str, dict[date, int]] = {}
        for name, day, high in s.execute(maxima).all():
            daily.setdefault(name, {})[day if isinstance(day, date) else date.fromisoformat(str(day))] = int(high)
        window = (col(t.taken_on) >= span[0], col(t.taken_on) <= today)
        last = sa_select(col(t.name), func.max(col(t.hour)).label("hour")).where(*window).group_by(col(t.name)).subquery()
        latest: dict[str, int] = {}
        hours: list[datetime] = []
        for name, n, hour in s.execute(sa_select(col(t.name), col(t.count), col(t.hour))
                                       .join(last, (last.c.name == col(t.name)) & (last.c.hour == col(t.hour)))):
            latest[name] = int(n)
            hours.append(hour)
    names = list(stuck.KINDS) + sorted(set(daily) - set(stuck.KINDS))
    lists = [ListTrend(name, stuck.KINDS[name].title if name in stuck.KINDS else name,
                       [daily.get(name, {}).get(d) for d in span], latest.get(name)) for name in names]
    return Trend(days=span, lists=lists, latest_at=max(hours) if hours else None)


def as_text(result: Trend) -> str:
    """The CLI's table: one line per list, the daily maxima oldest first."""
    if result.empty:
        return EMPTY
    lines = [f"Stuck lists, daily maximum over {len(result.days)} days ({result.days[0]:%d/%m} to {result.days[-1]:%d/%m}); "
             f"latest snapshot {result.latest_at:%d/%m/%Y %H:%M} UTC:"]
    for t in result.lists:
        values = " ".join("-" if v is None else str(v) for v in t.daily_max)
        lines.append(f"  {t.title:<48} latest {'-' if t.latest is None else t.latest:>4}  {t.direction:<9}  {values}")
    return "\n".join(lines)


async def take_now(client: Client, task_queue: str, *, at: datetime | None = None, workflow_id: str | None = None) -> Any:
    """Take a stuck snapshot at once (the schedule's workflow, run now; that hour's rows are replaced)."""
    return await schedules.run_now(client, task_queue, SCHEDULE_NAME, StuckSnapshotRequest, at=at, workflow_id=workflow_id,
                                   timeout=timedelta(minutes=2))
