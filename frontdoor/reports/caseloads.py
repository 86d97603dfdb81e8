"""Caseloads over time: per day, the practitioners' average open work and its spread, the
largest caseload and how many were over their target, for the whole service and by team.

The figures come from frontdoor.caseloads.caseloads_over_time (SQL over the daily caseload
snapshots, caseload_snapshots); a day without a snapshot has no row."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlmodel import Session

from frontdoor import caseloads
from frontdoor.reports.base import Chart, Column, Report, Table, Window, key_figures
from frontdoor.reports.other_figures import url_of


def _day(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def compute(s: Session, w: Window) -> list[Table]:
    rows = caseloads.caseloads_over_time(url_of(s), since=w.start, until=w.end)
    days: dict[date, dict[str, Any]] = {}
    for r in rows:
        d = days.setdefault(_day(r["day"]), {"people": 0, "total": 0, "max": 0, "over": 0})
        d["people"] += r["people"]
        d["total"] += r["total"]
        d["max"] = max(d["max"], r["max"])
        d["over"] += r["over_target"]
    service = [[day, d["people"], d["total"], round(d["total"] / d["people"], 2) if d["people"] else None, d["max"], d["over"]]
               for day, d in sorted(days.items())]
    latest = service[-1] if service else None
    return [
        key_figures([
            ("Days with a snapshot", len(service)),
            ("Practitioners on the last day", latest[1] if latest else None),
            ("Average caseload on the last day", latest[3] if latest else None),
            ("Largest caseload on the last day", latest[4] if latest else None),
            ("Over their target on the last day", latest[5] if latest else None),
            ("Highest average in the range", max((r[3] for r in service if r[3] is not None), default=None)),
        ], note="From the daily caseload snapshot (FRONTDOOR_CASELOAD_SNAPSHOT_AT); targets per role (FRONTDOOR_CASELOAD_TARGETS)."),
        Table("by_day", "Caseloads across the service, by day", [
            Column("day", "Day", "date"), Column("people", "Practitioners", "int"), Column("open", "Open work", "int"),
            Column("average", "Average caseload", "number"), Column("largest", "Largest", "int"),
            Column("over_target", "Over target", "int"),
        ], service),
        Table("by_team", "Caseloads by team, role and day", [
            Column("day", "Day", "date"), Column("team", "Team"), Column("role", "Role"),
            Column("people", "People", "int"), Column("open", "Open work", "int"),
            Column("average", "Average", "number"), Column("stdev", "Spread (sd)", "number"),
            Column("smallest", "Smallest", "int"), Column("largest", "Largest", "int"),
            Column("over_target", "Over target", "int"),
        ], [[_day(r["day"]), r["team"], r["role"], r["people"], r["total"], r["average"], r["stdev"], r["min"], r["max"],
             r["over_target"]] for r in rows]),
    ]


REPORT = Report(
    name="caseloads",
    title="Caseloads over time",
    description=(
        "Practitioners' open work from the daily caseload snapshots: the average caseload and the largest across "
        "the service each day, how many people were over their target, and each team's figures by role."
    ),
    compute=compute,
    chart=Chart("by_day", "line", "day", ("average", "largest", "over_target"),
                "Caseloads across the service, by day", "Day", "Open cases"),
)
