"""The working-day calendar: properties (hypothesis) and known English dates."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from frontdoor.config import ConfigError, parse_span
from models.calendar import WorkingCalendar
from models.timescales import Span

CAL = WorkingCalendar()
LONDON = ZoneInfo("Europe/London")
moments = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2035, 12, 31), timezones=st.just(UTC)
)


@settings(max_examples=300, deadline=None)
@given(moment=moments, n=st.integers(min_value=1, max_value=15))
def test_due_is_the_end_of_the_nth_working_day(moment: datetime, n: int) -> None:
    due = CAL.due_after(moment, n)
    last_day = (due - timedelta(microseconds=1)).astimezone(LONDON).date()
    assert due.astimezone(LONDON).timetz().replace(tzinfo=None).isoformat() == "00:00:00"  # local midnight
    assert CAL.is_working_day(last_day)
    assert last_day.weekday() < 5 and CAL.bank_holiday(last_day) is None
    assert CAL.working_days_between(CAL.local_date(moment), last_day) == n
    assert due > moment


@settings(max_examples=200, deadline=None)
@given(moment=moments, n=st.integers(min_value=0, max_value=10))
def test_more_days_is_always_later_and_never_shorter_than_calendar_days(moment: datetime, n: int) -> None:
    # strictly later from one working day on; 0 and 1 meet when the clock starts on a day off
    if n >= 1 or CAL.is_working_day(CAL.local_date(moment)):
        assert CAL.due_after(moment, n + 1) > CAL.due_after(moment, n)
    else:
        assert CAL.due_after(moment, n + 1) == CAL.due_after(moment, n)
    # n working days never take fewer than n calendar days
    assert CAL.due_after(moment, n) - moment >= timedelta(days=n) - timedelta(days=1)


@settings(max_examples=200, deadline=None)
@given(day=st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31)))
def test_zero_days_is_the_day_itself_when_working(day: date) -> None:
    got = CAL.add_working_days(day, 0)
    assert got == day if CAL.is_working_day(day) else got == CAL.next_working_day(day)


@settings(max_examples=100, deadline=None)
@given(moment=moments, seconds=st.integers(min_value=1, max_value=10**7))
def test_a_plain_duration_ignores_the_calendar(moment: datetime, seconds: int) -> None:
    span = Span(working_days=3, duration=timedelta(seconds=seconds))
    assert CAL.due(moment, span) == moment + timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("called", "days", "due_local"),
    [
        # Friday before the May Day bank holiday: Tue (1), Wed (2)
        ("2027-04-30T10:00:00+01:00", 2, "2027-05-06T00:00:00"),
        # Christmas Eve 2026: Fri 25 and Mon 28 (Boxing Day observed) are holidays
        ("2026-12-24T15:30:00+00:00", 2, "2026-12-31T00:00:00"),
        # a Saturday call: Mon (1), Tue (2)
        ("2026-11-28T11:00:00+00:00", 2, "2026-12-02T00:00:00"),
        # Easter 2027: Good Friday 26 Mar and Easter Monday 29 Mar; clocks go forward on the 28th
        ("2027-03-25T09:00:00+00:00", 1, "2027-03-31T00:00:00"),
        # late evening in London is the next day in UTC terms only after midnight local
        ("2026-11-26T23:30:00+00:00", 1, "2026-11-28T00:00:00"),
    ],
)
def test_known_dates(called: str, days: int, due_local: str) -> None:
    due = CAL.due_after(datetime.fromisoformat(called), days)
    assert due.astimezone(LONDON).replace(tzinfo=None) == datetime.fromisoformat(due_local)


def test_spans_from_configuration() -> None:
    assert parse_span("2wd") == Span(working_days=2)
    assert parse_span("10m") == Span(working_days=0, duration=timedelta(minutes=10))
    with pytest.raises(ConfigError):
        parse_span("xwd")
    with pytest.raises(ConfigError):
        parse_span("soon")
