"""The morning case discussion: items discussed in the window by the next step agreed, and how
many were rolled over to a later meeting (once, or twice and more: stuck), per month.

The figures come from frontdoor/missing_reports.py (SQL over the meeting items the morning
discussion keeps in the case record, by the day each was discussed)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlmodel import Session

from frontdoor import missing_reports
from frontdoor.reports.base import Chart, Column, Report, Table, Window, key_figures
from frontdoor.reports.other_figures import url_of
from frontdoor.reports.sql import pct
from models.discussion import NEXT_STEP_NAMES, NextStep

STEPS = list(NextStep)


def compute(s: Session, w: Window) -> list[Table]:
    url, since, until = url_of(s), w.start, w.end + timedelta(days=1)
    total = missing_reports.morning_outcomes(url, since, until)
    months = missing_reports.morning_outcomes_by_month(url, since, until)
    figures: list[tuple[str, Any]] = [("Items discussed", total.discussed)]
    figures += [(f"Next step: {NEXT_STEP_NAMES[step]}", total.by_next_step.get(step.value, 0)) for step in STEPS]
    figures += [
        ("Rolled over to a later meeting", total.rolled_over),
        ("Rolled over twice or more (stuck)", total.rolled_over_twice_or_more),
        ("% rolled over", pct(total.rolled_over, total.discussed)),
    ]
    return [
        key_figures(figures, note="Items counted on the day they were discussed; a contact whose threshold was "
                                  "unclear and a partner's item alike."),
        Table("by_month", "Items discussed, by month and next step",
              [Column("month", "Month")] + [Column(step.value, NEXT_STEP_NAMES[step], "int") for step in STEPS]
              + [Column("discussed", "Discussed", "int"), Column("rolled_over", "Rolled over", "int")],
              [[m.period] + [m.by_next_step.get(step.value, 0) for step in STEPS] + [m.discussed, m.rolled_over]
               for m in months]),
    ]


REPORT = Report(
    name="morning-discussion",
    title="The morning case discussion",
    description=(
        "Items the morning case discussion took (contacts whose threshold was unclear, partners' questions): how "
        "many were discussed, the next step agreed for each, and how many were rolled over to a later meeting."
    ),
    compute=compute,
    chart=Chart("by_month", "stacked", "month", tuple(step.value for step in STEPS),
                "Items discussed, by next step agreed", "Month", "Items"),
)
