"""For the reports over other modules' figures (missing, the morning discussion, audits,
caseloads): the window as UTC instants and as calendar months, and the database URL
those modules take."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session

from frontdoor.reports.base import Window


def instants(window: Window) -> tuple[datetime, datetime]:
    """The window as a half-open period of instants [since, until) in UTC: from the start of
    its first day to the start of the day after its last, in the service's time zone."""
    zone = ZoneInfo(window.timezone)
    since = datetime.combine(window.start, datetime.min.time(), tzinfo=zone)
    until = datetime.combine(window.end + timedelta(days=1), datetime.min.time(), tzinfo=zone)
    return since.astimezone(UTC), until.astimezone(UTC)


def url_of(s: Session) -> str:
    """The database URL of the session's engine (the figure modules take a URL: models.database
    keeps one engine per URL, so this finds the same engine)."""
    return s.get_bind().engine.url.render_as_string(hide_password=False)


def month_start(month: str) -> date:
    """date(2026, 4, 1) from '2026-04' (the figure modules' month labels)."""
    year, number = month.split("-")[:2]
    return date(int(year), int(number), 1)


def months_of(window: Window) -> list[date]:
    """The first day of every calendar month the window touches, oldest first."""
    out, day = [], window.start.replace(day=1)
    while day <= window.end:
        out.append(day)
        day = (day + timedelta(days=32)).replace(day=1)
    return out
