"""The report figures of the missing children's process and the morning discussion, with SQL
over their case record tables, on SQLite and PostgreSQL (a random far-off month per run, so
a kept PostgreSQL database does not count earlier runs)."""

from __future__ import annotations

import os
import random
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from frontdoor import missing_reports as reports
from models.database import init_db, session
from models.missing import MissingEpisodeRow
from models.morning import MorningItemRow
from tests.conftest import unique_year


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def url(request, tmp_path_factory):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('reports') / 'reports.db'}"
    else:
        url = os.environ.get("FRONTDOOR_TEST_POSTGRES_URL")
        if not url:
            pytest.skip("no PostgreSQL: set FRONTDOOR_TEST_POSTGRES_URL (make test does it when PostgreSQL 15 is installed)")
    init_db(url)
    return url


def _month() -> datetime:
    return datetime(unique_year(), random.randint(1, 11), 1, tzinfo=UTC)


def episode(returned: datetime | None, *, offered_after: float | None = None, delay: float | None = None,
            closed: bool = False) -> MissingEpisodeRow:
    """An episode returned at `returned`, offered `offered_after` hours later (None: not offered)."""
    due = returned + timedelta(hours=72) if returned else None
    offered = returned + timedelta(hours=offered_after) if returned and offered_after is not None else None
    return MissingEpisodeRow(
        id=f"R-{uuid.uuid4().hex[:12]}", workflow_id="w", missing_from="home", risk="low",
        reported_missing_at=(returned or datetime(2100, 1, 1, tzinfo=UTC)) - timedelta(hours=10),
        returned_at=returned, police_returned_at=returned if delay is not None else None,
        report_delay_hours=delay, interview_due_at=due, offered_at=offered,
        offered_on_time=(offered <= due) if offered and due else None, stage="closed" if closed else "awaiting_offer",
    )


def test_return_interviews_offered_within_72_hours(url) -> None:
    month = _month()
    day = lambda n, h=9: month + timedelta(days=n, hours=h)  # noqa: E731
    rows = [
        episode(day(1), offered_after=5), episode(day(2), offered_after=71.5),  # within
        episode(day(3), offered_after=80),  # late
        episode(day(4), closed=True),  # never offered, the time passed
        episode(day(27, 20)),  # returned late in the month: still in time "now"
        episode(month - timedelta(hours=1), offered_after=1),  # the month before: not counted
    ]
    with session(url) as s:
        s.add_all(rows)
        s.commit()
    now = day(28)
    figure = reports.return_interviews(url, month, day(30, 0), now=now)
    assert (figure.returned, figure.decided, figure.offered_within, figure.offered_late, figure.not_offered,
            figure.still_in_time) == (5, 4, 2, 1, 1, 1)
    assert figure.percent_within == 50.0
    empty = reports.return_interviews(url, month - timedelta(days=400), month - timedelta(days=380), now=now)
    assert empty.returned == 0 and empty.percent_within is None


def test_police_report_delay_per_month(url) -> None:
    month = _month()
    later = (month + timedelta(days=40)).replace(day=1)
    with session(url) as s:
        s.add_all([episode(month + timedelta(days=2), delay=10), episode(month + timedelta(days=3), delay=30),
                   episode(month + timedelta(days=4), delay=None),  # entered by hand: no list
                   episode(later + timedelta(days=1), delay=50.5)])
        s.commit()
    figures = reports.police_report_delay_by_month(url, month, later + timedelta(days=31))
    assert [(f.month, f.returns, f.average_hours, f.longest_hours, f.late) for f in figures] == [
        (f"{month:%Y-%m}", 2, 20.0, 30.0, 1), (f"{later:%Y-%m}", 1, 50.5, 50.5, 1)]


def test_morning_items_discussed_and_their_outcomes(url) -> None:
    month = _month()
    first = date(month.year, month.month, 1)
    second = (first + timedelta(days=40)).replace(day=1)

    def item(discussed: date | None, step: str | None, rolled: int = 0) -> MorningItemRow:
        return MorningItemRow(item_id=f"I-{uuid.uuid4().hex[:12]}", raised_at=month, raised_role="social_worker",
                              asked=["police"], first_meeting=first.isoformat(), last_meeting=(discussed or first).isoformat(),
                              times_rolled=rolled, next_step=step, discussed_on=discussed.isoformat() if discussed else None)

    with session(url) as s:
        s.add_all([item(first + timedelta(days=1), "stays_in_spa"), item(first + timedelta(days=2), "stays_in_spa", 1),
                   item(first + timedelta(days=3), "strategy_discussion", 2), item(None, None, 1),
                   item(second + timedelta(days=1), "no_further_action")])
        s.commit()
    whole = reports.morning_outcomes(url, first, second + timedelta(days=31))
    assert whole.discussed == 4 and whole.rolled_over == 2 and whole.rolled_over_twice_or_more == 1
    assert whole.by_next_step == {"stays_in_spa": 2, "early_help": 0, "strategy_discussion": 1, "no_further_action": 1,
                                  "more_information_needed": 0}
    months = reports.morning_outcomes_by_month(url, first, second + timedelta(days=31))
    assert [(m.period, m.discussed) for m in months] == [(first.isoformat()[:7], 3), (second.isoformat()[:7], 1)]
    assert reports.morning_outcomes(url, first - timedelta(days=300), first - timedelta(days=200)).discussed == 0
