"""Re-referrals: referrals about a child who had another referral in the 12 months before."""

from __future__ import annotations

from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.orm import aliased
from sqlmodel import Session, col

from frontdoor.reports.base import Chart, Column, Report, Table, Window, key_figures
from frontdoor.reports.sql import between, count_if, pct
from models.facts import ChildFacts


def rereferral_condition(this: Any) -> Any:
    """SQL: this child's referral follows another referral about the same child within the
    previous 12 months (a different contact)."""
    earlier = aliased(ChildFacts)
    return exists().where(
        col(earlier.child_key) == this.child_key,
        col(earlier.referral_at).is_not(None),
        col(earlier.referral_at) >= this.window_start,
        col(earlier.referral_at) < this.referral_at,
        col(earlier.contact_id) != this.contact_id,
    )


def compute(s: Session, w: Window) -> list[Table]:
    c = ChildFacts
    where = [col(c.referral_at).is_not(None), between(col(c.referral_on), w)]
    again = count_if(rereferral_condition(c))
    n, re = s.execute(select(func.count(), again).where(*where)).one()
    month = col(c.referral_month)
    by_month = s.execute(select(month, func.count(), again).where(*where).group_by(month).order_by(month)).all()
    return [
        key_figures([
            ("Referrals (one per child)", n),
            ("Re-referrals within 12 months", re),
            ("% re-referrals", pct(re, n)),
        ], note="A contact naming two children is two referrals. A re-referral: the same child (matched on local id, NHS "
                "number, or names with date of birth) had another referral in the 12 months before this one."),
        Table("by_month", "Re-referrals within 12 months, by month of referral", [
            Column("month", "Month", "month"), Column("referrals", "Referrals", "int"),
            Column("rereferrals", "Re-referrals", "int"), Column("pct", "% re-referrals", "pct"),
        ], [[m, k, r, pct(r, k)] for m, k, r in by_month]),
    ]


REPORT = Report(
    name="re-referrals",
    title="Re-referrals within 12 months",
    description=(
        "Referrals in the range, one per child: how many were about a child who had another referral in "
        "the previous 12 months, as a number and a percentage, by month."
    ),
    compute=compute,
    chart=Chart("by_month", "bar", "month", ("pct",), "Re-referrals within 12 months, by month", "Month", "% of referrals"),
)
