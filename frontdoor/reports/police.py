"""Police notification delay: from the police attendance to the contact's arrival, per
month (median, 90th percentile, share over the flag threshold), and the longest delays by
contact id for the police partnership."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlmodel import Session, col

from frontdoor.reports.base import LIST_LIMIT, Chart, Column, Report, Table, Window, key_figures
from frontdoor.reports.sql import between, count_if, one, pct, percentiles
from models.codes import POLICE_SOURCE
from models.facts import ContactFacts as F

LONGEST = 50


def compute(s: Session, w: Window) -> list[Table]:
    delay = col(F.police_delay_hours)
    where = [col(F.source) == POLICE_SOURCE, delay.is_not(None), between(col(F.received_on), w)]
    over = count_if(delay > w.police_flag_hours)
    n, late = s.execute(select(func.count(), over).where(*where)).one()
    p50, p90 = s.execute(percentiles(delay, where)).one()
    month = col(F.received_month)
    by_month = s.execute(select(month, func.count(), over).where(*where).group_by(month).order_by(month)).all()
    month_p = {r[0]: r for r in s.execute(percentiles(delay, where, by=[month])).all()}
    longest = s.execute(
        select(col(F.contact_id), col(F.received_at), delay).where(*where).order_by(delay.desc(), col(F.contact_id)).limit(min(LONGEST, LIST_LIMIT))
    ).all()
    threshold = f"{w.police_flag_hours:g} hours"
    return [
        key_figures([
            ("Police notifications received", n),
            ("Median delay (hours)", one(p50)),
            ("90th percentile delay (hours)", one(p90)),
            (f"Over {threshold}", late),
            (f"% over {threshold}", pct(late, n)),
        ], note=f"Delay: from the police attendance to the notification's arrival at the front door. Flagged over {threshold} (FRONTDOOR_POLICE_DELAY_FLAG)."),
        Table("by_month", "Police notification delay, by month", [
            Column("month", "Month", "month"), Column("notifications", "Notifications", "int"),
            Column("median_hours", "Median hours", "hours"), Column("p90_hours", "90th percentile hours", "hours"),
            Column("over", f"Over {threshold}", "int"), Column("pct_over", f"% over {threshold}", "pct"),
        ], [
            [m, c, one(month_p.get(m, (m, None, None))[1]), one(month_p.get(m, (m, None, None))[2]), x, pct(x, c)]
            for m, c, x in by_month
        ]),
        Table("longest", "The longest delays", [
            Column("contact_id", "Contact"), Column("received", "Received", "datetime"), Column("delay_hours", "Delay (hours)", "hours"),
        ], [[cid, at, one(d)] for cid, at, d in longest], total=n,
            note=f"The {LONGEST} longest delays in the range, longest first."),
    ]


REPORT = Report(
    name="police-delay",
    title="Police notification delay",
    description=(
        "Police notifications (CIN source 6) received in the range: the delay from the police "
        "attendance to the notification's arrival, per month (median and 90th percentile, and the share "
        "over the flag threshold), and the longest delays listed by contact id for the police partnership."
    ),
    compute=compute,
    chart=Chart("by_month", "line", "month", ("median_hours", "p90_hours"), "Police notification delay, by month",
                "Month", "Hours from attendance to arrival"),
)
