"""Children missing from home, school and care: return home interviews offered within 72 hours,
the police's late reports of a return, and repeat missing, per month of the window.

The figures come from frontdoor/missing_reports.py (SQL over missing_episodes); repeat missing
is counted here from the same table: an episode is a repeat when the history check found the
pattern (FRONTDOOR_REPEAT_MISSING_EPISODES or more in FRONTDOOR_REPEAT_MISSING_WINDOW, this
one included), and the letter asks whether a contact was raised for it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlmodel import Session, col

from frontdoor import missing_reports
from frontdoor.reports.base import Chart, Column, Report, Table, Window, key_figures
from frontdoor.reports.other_figures import instants, month_start, months_of, url_of
from frontdoor.reports.sql import count_if, one, pct
from models.missing import MissingEpisodeRow as E


def _episodes(s: Session, since: datetime, until: datetime) -> tuple[int, int, int]:
    """Episodes reported missing in [since, until): all, repeats, repeats with a contact raised."""
    repeat = col(E.repeat_episodes).is_not(None)
    n, repeats, raised = s.execute(
        select(func.count(), count_if(repeat), count_if(repeat & col(E.contact_id).is_not(None)))
        .where(col(E.reported_missing_at) >= since, col(E.reported_missing_at) < until)
    ).one()
    return int(n), int(repeats), int(raised)


def compute(s: Session, w: Window) -> list[Table]:
    url, (since, until), zone = url_of(s), instants(w), ZoneInfo(w.timezone)
    interviews = missing_reports.return_interviews(url, since, until, now=w.now)
    delays = {month_start(d.month): d for d in
              missing_reports.police_report_delay_by_month(url, since, until, late_over_hours=w.police_flag_hours)}
    episodes, repeats, raised = _episodes(s, since, until)
    rows = []
    for first in months_of(w):
        m_since = max(since, datetime.combine(first, datetime.min.time(), tzinfo=zone).astimezone(UTC))
        after = (first + timedelta(days=32)).replace(day=1)
        m_until = min(until, datetime.combine(after, datetime.min.time(), tzinfo=zone).astimezone(UTC))
        i = missing_reports.return_interviews(url, m_since, m_until, now=w.now)
        d = delays.get(first)
        e, r, c = _episodes(s, m_since, m_until)
        if not (i.returned or d or e):
            continue  # a month with nothing to count has no row, as in the other reports
        rows.append([
            first, i.returned, i.offered_within, i.offered_late, i.not_offered, i.percent_within,
            d.returns if d else 0, d.late if d else 0, pct(d.late, d.returns) if d else None,
            d.longest_hours if d else None, e, r, c,
        ])
    late = sum(d.late for d in delays.values())
    listed = sum(d.returns for d in delays.values())
    flag = f"{w.police_flag_hours:g} hours"
    return [
        key_figures([
            ("Children returned", interviews.returned),
            ("Return interviews offered within 72 hours", interviews.offered_within),
            ("Offered late", interviews.offered_late),
            ("Not offered, the time passed", interviews.not_offered),
            ("Not yet offered, still in time", interviews.still_in_time),
            ("% offered within 72 hours", interviews.percent_within),
            ("Returns on a police list", listed),
            (f"Police reports of a return over {flag} late", late),
            (f"% police reports over {flag}", pct(late, listed)),
            ("Missing episodes reported", episodes),
            ("Repeat missing (the pattern found)", repeats),
            ("% repeat missing", pct(repeats, episodes)),
            ("Repeat missing with a contact raised", raised),
        ], note=(
            "A return interview is counted against the 72 hours each episode ran with (its due time is in the record); "
            "% within is of those offered or past their time. A police report is late when the list carrying the return "
            f"arrived over {flag} after it (FRONTDOOR_POLICE_DELAY_FLAG). Police delay months are UTC calendar months."
        )),
        Table("by_month", "Missing children, by month", [
            Column("month", "Month", "month"), Column("returned", "Returned", "int"),
            Column("offered_within", "Interview offered within 72 hours", "int"),
            Column("offered_late", "Offered late", "int"), Column("not_offered", "Not offered", "int"),
            Column("pct_within", "% within 72 hours", "pct"),
            Column("police_listed", "Returns on a police list", "int"),
            Column("police_late", f"Police reports over {flag}", "int"),
            Column("pct_police_late", "% police reports late", "pct"),
            Column("longest_hours", "Longest police delay (hours)", "hours"),
            Column("episodes", "Episodes reported", "int"), Column("repeats", "Repeat missing", "int"),
            Column("repeats_contact", "Repeat with a contact", "int"),
        ], rows),
        Table("police_delay", "Police report delay, by month of the return", [
            Column("month", "Month", "month"), Column("returns", "Returns on a list", "int"),
            Column("average_hours", "Average hours", "hours"), Column("longest_hours", "Longest hours", "hours"),
            Column("late", f"Over {flag}", "int"), Column("pct_late", f"% over {flag}", "pct"),
        ], [[m, d.returns, one(d.average_hours), one(d.longest_hours), d.late, pct(d.late, d.returns)]
            for m, d in sorted(delays.items())]),
    ]


REPORT = Report(
    name="missing-children",
    title="Missing children and return home interviews",
    description=(
        "Children who went missing from home, school or care: return home interviews offered within 72 hours of "
        "the return, the police's reports of a return that arrived late (over the flag threshold), and repeat "
        "missing (the pattern found by the history check, and whether a contact was raised), per month."
    ),
    compute=compute,
    chart=Chart("by_month", "bar", "month", ("returned", "offered_within", "police_late", "repeats"),
                "Missing children, by month", "Month", "Children or episodes"),
)
