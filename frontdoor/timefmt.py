"""Times as people read them: in the service's time zone, with time left or age.

Every function here answers for any value it is given (a bad or extreme stored time shows
as such), so no screen or command fails on what is in the case record."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from frontdoor.config import format_duration


def _instant(moment: Any) -> datetime | None:
    if moment is None:
        return None
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    if not isinstance(moment, datetime):
        raise TypeError(f"not a time: {moment!r}")
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def local(moment: Any, tz: str = "Europe/London", fmt: str = "%d/%m/%Y %H:%M") -> str:
    try:
        value = _instant(moment)
        return "-" if value is None else value.astimezone(ZoneInfo(tz)).strftime(fmt)
    except (ValueError, OverflowError, TypeError):
        return f"{moment} (not a valid time)"


def time_left(due: Any, now: datetime | None = None) -> str:
    try:
        value = _instant(due)
        if value is None:
            return ""
        left = value - (now or datetime.now(UTC))
    except (ValueError, OverflowError, TypeError):
        return ""
    if left.total_seconds() <= 0:
        return f"overdue by {format_duration(-left)}"
    return f"{format_duration(left)} left"


def age(since: Any, now: datetime | None = None) -> str:
    try:
        value = _instant(since)
        return "" if value is None else format_duration((now or datetime.now(UTC)) - value)
    except (ValueError, OverflowError, TypeError):
        return ""


def local_input(moment: datetime, tz: str) -> str:
    """A value for <input type=datetime-local> in the service's time zone."""
    return moment.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%dT%H:%M")


def parse_local(text: str, tz: str) -> datetime:
    """A datetime-local value (service time zone) or an ISO time with a zone, as UTC."""
    value = datetime.fromisoformat(text.strip())
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(tz))
    return value.astimezone(UTC)
