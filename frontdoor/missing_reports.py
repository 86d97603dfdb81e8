"""Report figures of the missing children's process and the morning case discussion, computed
with SQL over their case record tables (missing_episodes, morning_items), on SQLite and
PostgreSQL alike. For the reports package (frontdoor/reports/, built separately) to import:

- `return_interviews(url, since, until)`: "return interviews offered within 72 hours, %"
  for the children who returned in the period;
- `police_report_delay_by_month(url, since, until)`: the delay from a child's return to the
  police list that first carried it, per month of the return ("reports often submitted late");
- `morning_outcomes(url, since, until)` and `morning_outcomes_by_month(...)`: "items
  discussed, outcomes" of the morning case discussion, with the items rolled over.

Periods are half-open, [since, until), in UTC; months are UTC calendar months.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import and_, case, func
from sqlalchemy import select as sa_select
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col

from models.database import get_engine
from models.discussion import NextStep
from models.missing import MissingEpisodeRow
from models.morning import MorningItemRow
from models.timescales import Timescales


class ReturnInterviewFigure(BaseModel):
    returned: int = Field(description="children who returned in the period")
    decided: int = Field(description="of them, offered an interview or past the time to offer one")
    offered_within: int = Field(description="offered within the time (72 hours)")
    offered_late: int
    not_offered: int = Field(description="past the time and not offered (closed without, or still open)")
    still_in_time: int = Field(description="returned, not yet offered, the time not yet passed")
    percent_within: float | None = Field(description="offered_within / decided * 100; None when nothing is decided")


class MonthDelay(BaseModel):
    month: str  # YYYY-MM, of the return
    returns: int  # returns carried by a police list
    average_hours: float
    longest_hours: float
    late: int  # over the police delay flag (FRONTDOOR_POLICE_DELAY_FLAG, 24 hours)


class MorningOutcomes(BaseModel):
    period: str  # "YYYY-MM" for a month, else "since .. until"
    discussed: int
    by_next_step: dict[str, int]  # every next step, 0 when none
    rolled_over: int = Field(description="items discussed in the period that had been rolled over first")
    rolled_over_twice_or_more: int


def _connect(database_url: str) -> Connection:
    return get_engine(database_url).connect()


def _month(column: Any, dialect: str) -> ColumnElement[str]:
    """YYYY-MM of a stored instant (UTC), in the database's own words."""
    if dialect == "postgresql":
        return func.to_char(func.timezone("UTC", column), "YYYY-MM")
    return func.strftime("%Y-%m", column)


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("give report periods with a time zone, e.g. datetime(2026, 11, 1, tzinfo=UTC)")
    return moment.astimezone(UTC)


def return_interviews(database_url: str, since: datetime, until: datetime, now: datetime | None = None) -> ReturnInterviewFigure:
    """Return home interviews offered within 72 hours (Timescales.return_interview, as each episode
    ran it: its due time is in the record) for the children who returned in [since, until)."""
    since, until, now = _utc(since), _utc(until), _utc(now or datetime.now(UTC))
    e = MissingEpisodeRow
    offered, due = col(e.offered_at), col(e.interview_due_at)
    in_time = col(e.offered_on_time).is_(True)
    late = and_(offered.is_not(None), col(e.offered_on_time).is_(False))
    not_offered = and_(offered.is_(None), due.is_not(None), due <= now)
    waiting = and_(offered.is_(None), (due.is_(None)) | (due > now))

    def n(cond: Any) -> Any:
        return func.coalesce(func.sum(case((cond, 1), else_=0)), 0)

    query = sa_select(func.count(), n(in_time), n(late), n(not_offered), n(waiting)).where(
        col(e.returned_at) >= since, col(e.returned_at) < until)
    with _connect(database_url) as conn:
        returned, within, late_n, missed, still = (int(v or 0) for v in conn.execute(query).one())
    decided = within + late_n + missed
    return ReturnInterviewFigure(
        returned=returned, decided=decided, offered_within=within, offered_late=late_n, not_offered=missed,
        still_in_time=still, percent_within=round(100 * within / decided, 1) if decided else None,
    )


def police_report_delay_by_month(database_url: str, since: datetime, until: datetime,
                                 late_over_hours: float | None = None) -> list[MonthDelay]:
    """The delay from a return to the police list that first carried it, per month of the return."""
    since, until = _utc(since), _utc(until)
    flag = late_over_hours if late_over_hours is not None else Timescales().police_delay_flag.total_seconds() / 3600
    e = MissingEpisodeRow
    returned, delay = col(e.police_returned_at), col(e.report_delay_hours)
    with _connect(database_url) as conn:
        month = _month(returned, conn.dialect.name).label("month")
        rows = conn.execute(
            sa_select(month, func.count(), func.avg(delay), func.max(delay),
                      func.coalesce(func.sum(case((delay > flag, 1), else_=0)), 0))
            .where(returned >= since, returned < until, delay.is_not(None))
            .group_by(month).order_by(month)
        ).all()
    return [MonthDelay(month=m, returns=int(n), average_hours=round(float(avg), 1), longest_hours=round(float(mx), 1),
                       late=int(lt)) for m, n, avg, mx, lt in rows]


def _outcomes(database_url: str, since: date, until: date, by_month: bool) -> list[MorningOutcomes]:
    i = MorningItemRow
    discussed_on = col(i.discussed_on)  # an ISO date: its first 7 characters are its month
    month = func.substr(discussed_on, 1, 7).label("month")
    groups: list[Any] = [month] if by_month else []
    query = (
        sa_select(*groups, col(i.next_step), func.count(),
                  func.coalesce(func.sum(case((col(i.times_rolled) >= 1, 1), else_=0)), 0),
                  func.coalesce(func.sum(case((col(i.times_rolled) >= 2, 1), else_=0)), 0))
        .where(discussed_on >= since.isoformat(), discussed_on < until.isoformat())
        .group_by(*groups, col(i.next_step))
    )
    with _connect(database_url) as conn:
        rows = conn.execute(query).all()
    periods: dict[str, MorningOutcomes] = {}
    for row in rows:
        values = tuple(row)
        name = str(values[0]) if by_month else f"{since.isoformat()} .. {until.isoformat()}"
        step, n, rolled, twice = values[-4:]
        figure = periods.setdefault(name, MorningOutcomes(
            period=name, discussed=0, by_next_step={s.value: 0 for s in NextStep}, rolled_over=0,
            rolled_over_twice_or_more=0))
        figure.discussed += int(n)
        figure.by_next_step[str(step)] = figure.by_next_step.get(str(step), 0) + int(n)
        figure.rolled_over += int(rolled)
        figure.rolled_over_twice_or_more += int(twice)
    return [periods[k] for k in sorted(periods)]


def morning_outcomes(database_url: str, since: date, until: date) -> MorningOutcomes:
    """Items discussed at the morning case discussion in [since, until), by agreed next step."""
    found = _outcomes(database_url, since, until, by_month=False)
    return found[0] if found else MorningOutcomes(
        period=f"{since.isoformat()} .. {until.isoformat()}", discussed=0,
        by_next_step={s.value: 0 for s in NextStep}, rolled_over=0, rolled_over_twice_or_more=0)


def morning_outcomes_by_month(database_url: str, since: date, until: date) -> list[MorningOutcomes]:
    return _outcomes(database_url, since, until, by_month=True)
