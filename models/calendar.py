"""The service's working-day calendar: weekends and English bank holidays are not working days.

Pure code with no I/O (the `holidays` package computes bank holidays from rules), so
the same answer comes from the client, an activity or a test. Workflows still do not
call it directly: they ask an activity, so a newer `holidays` release can never change
a running workflow's history on replay.

A due time "within N working days" is the end (local midnight) of the Nth working day
after the day on which the clock starts. Starting on a weekend or a bank holiday, the
first working day counted is the next one.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

from models.timescales import Span

DEFAULT_TZ = "Europe/London"


@lru_cache(maxsize=8)
def _bank_holidays(subdiv: str) -> holidays.HolidayBase:
    return holidays.country_holidays("GB", subdiv=subdiv)


class WorkingCalendar:
    """Working days in one part of the UK (England by default) and one time zone."""

    def __init__(self, tz: str = DEFAULT_TZ, subdiv: str = "ENG") -> None:
        self.zone = ZoneInfo(tz)
        self.subdiv = subdiv

    def bank_holiday(self, day: date) -> str | None:
        return _bank_holidays(self.subdiv).get(day)

    def is_working_day(self, day: date) -> bool:
        return day.weekday() < 5 and day not in _bank_holidays(self.subdiv)

    def next_working_day(self, day: date) -> date:
        """The first working day strictly after `day`."""
        day += timedelta(days=1)
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day

    def add_working_days(self, day: date, n: int) -> date:
        """The Nth working day after `day` (n >= 1); n == 0 gives `day` itself if it is a
        working day, else the next working day."""
        if n < 0:
            raise ValueError("a number of working days is zero or more")
        if n == 0:
            return day if self.is_working_day(day) else self.next_working_day(day)
        for _ in range(n):
            day = self.next_working_day(day)
        return day

    def working_days_between(self, start: date, end: date) -> int:
        """Working days d with start < d <= end."""
        count, day = 0, start
        while day < end:
            day += timedelta(days=1)
            count += self.is_working_day(day)
        return count

    def local_date(self, moment: datetime) -> date:
        if moment.tzinfo is None:
            raise ValueError("give the moment with a time zone")
        return moment.astimezone(self.zone).date()

    def end_of(self, day: date) -> datetime:
        """The end (next local midnight) of a local day, in UTC."""
        midnight = datetime.combine(day + timedelta(days=1), time(0, 0), tzinfo=self.zone)
        return midnight.astimezone(UTC)

    def due_after(self, moment: datetime, working_days: int) -> datetime:
        """End of the Nth working day after the day `moment` falls on, in UTC."""
        return self.end_of(self.add_working_days(self.local_date(moment), working_days))

    def due(self, moment: datetime, span: Span) -> datetime:
        """When a step started at `moment` is due: a plain duration, or working days."""
        if span.duration is not None:
            return moment + span.duration
        return self.due_after(moment, span.working_days)
