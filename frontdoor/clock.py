"""Service-day arithmetic in the service's own time zone (Europe/London by default)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo


def end_of_day(moment: datetime, tz: str = "Europe/London") -> datetime:
    """The end (midnight) of the local day in which `moment` falls, as a UTC time."""
    zone = ZoneInfo(tz)
    local = moment.astimezone(zone)
    next_midnight = datetime.combine(local.date() + timedelta(days=1), time(0, 0), tzinfo=zone)
    return next_midnight.astimezone(UTC)


def start_of_day(moment: datetime, tz: str = "Europe/London") -> datetime:
    zone = ZoneInfo(tz)
    local = moment.astimezone(zone)
    return datetime.combine(local.date(), time(0, 0), tzinfo=zone).astimezone(UTC)
