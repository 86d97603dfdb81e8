"""Timeliness: management decisions within the deadline, by week and by team manager;
time from SPA arrival to decision; decisions still overdue; extensions by reason."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session, col

from frontdoor.reports.base import (
    LIST_LIMIT,
    Chart,
    Column,
    Report,
    Table,
    Window,
    key_figures,
    utc,
)
from frontdoor.reports.sql import between, count_if, one, pct, percentiles
from models.codes import EXTENSION_REASON_NAMES, ExtensionReason
from models.facts import ContactFacts as F
from models.facts import ExtensionFacts as E

REASONS = {r.value: n for r, n in EXTENSION_REASON_NAMES.items()}


def compute(s: Session, w: Window) -> list[Table]:
    decided = [between(col(F.decided_on), w)]  # decided_on is set with the decision
    within = count_if(col(F.on_time).is_(True))
    hours = col(F.hours_to_decision)
    n, ok = s.execute(select(func.count(), within).where(*decided)).one()
    p50, p90 = s.execute(percentiles(hours, decided)).one()

    overdue_where = [col(F.overdue).is_(True), col(F.decided_at).is_(None), between(col(F.referral_on), w)]
    overdue_total = s.execute(select(func.count()).where(*overdue_where)).scalar_one()
    overdue_rows = s.execute(
        select(col(F.contact_id), col(F.spa_arrival_at), col(F.decision_due_at), col(F.extensions))
        .where(*overdue_where).order_by(col(F.decision_due_at), col(F.contact_id)).limit(LIST_LIMIT)
    ).all()

    ext = s.execute(
        select(col(E.reason), func.count(), func.coalesce(func.sum(col(E.hours_added)), 0.0), func.avg(col(E.hours_added)))
        .where(between(col(E.extended_on), w)).group_by(col(E.reason)).order_by(func.count().desc(), col(E.reason))
    ).all()
    ext_count = sum(r[1] for r in ext)
    ext_hours = sum(float(r[2] or 0) for r in ext)

    week = col(F.decided_week)
    by_week = s.execute(select(week, func.count(), within).where(*decided).group_by(week).order_by(week)).all()
    week_p = {r[0]: r for r in s.execute(percentiles(hours, decided, by=[week])).all()}
    manager = col(F.decided_by)
    by_manager = s.execute(
        select(manager, func.count(), within).where(*decided).group_by(manager).order_by(func.count().desc(), manager)
    ).all()
    manager_p = {r[0]: r for r in s.execute(percentiles(hours, decided, by=[manager])).all()}

    figures = [
        Column("decisions", "Decisions", "int"), Column("within", "Within deadline", "int"),
        Column("pct_within", "% within deadline", "pct"),
        Column("median_hours", "Median hours from SPA arrival", "hours"),
        Column("p90_hours", "90th percentile hours", "hours"),
    ]

    def stats(key: object, count: int, good: int, ps: dict[Any, Any]) -> list[object]:
        row = ps.get(key, (key, None, None))
        return [count, good, pct(good, count), one(row[1]), one(row[2])]

    return [
        key_figures([
            ("Management decisions made", n),
            ("Within the deadline", ok),
            ("% within the deadline", pct(ok, n)),
            ("Median hours from SPA arrival to decision", one(p50)),
            ("90th percentile hours from SPA arrival to decision", one(p90)),
            ("Decisions still overdue (SPA arrival in the range)", overdue_total),
            ("Extensions", ext_count),
            ("Hours added by extensions", round(ext_hours, 1)),
        ], note="Counted over decisions made in the range; the deadline is the one in force when the decision was made (after any extensions)."),
        Table("by_week", "Decisions within the deadline, by week", [Column("week", "Week", "week"), *figures],
              [[wk, *stats(wk, c, g, week_p)] for wk, c, g in by_week]),
        Table("by_manager", "Decisions within the deadline, by team manager", [Column("manager", "Team manager"), *figures],
              [[m or "-", *stats(m, c, g, manager_p)] for m, c, g in by_manager]),
        Table("overdue", "Decisions still overdue", [
            Column("contact_id", "Contact"), Column("spa_arrival", "Arrived in the SPA", "datetime"),
            Column("due", "Decision was due", "datetime"), Column("hours_overdue", "Hours overdue now", "hours"),
            Column("extensions", "Extensions", "int"),
        ], [[cid, arrived, due, _overdue_hours(w, due), x] for cid, arrived, due, x in overdue_rows], total=overdue_total),
        Table("extensions", "Extensions by reason", [
            Column("reason", "Reason"), Column("extensions", "Extensions", "int"),
            Column("hours_added", "Hours added", "hours"), Column("average_hours", "Average hours each", "hours"),
        ], [[REASONS.get(r or "", r or "-"), c, one(h), one(a)] for r, c, h, a in ext],
            note="Reasons: " + "; ".join(REASONS[x.value] for x in ExtensionReason) + "."),
    ]


def _overdue_hours(w: Window, due: datetime | None) -> float | None:
    moment = utc(due)
    return round((w.now - moment).total_seconds() / 3600, 1) if moment is not None else None


REPORT = Report(
    name="timeliness",
    title="Timeliness of management decisions",
    description=(
        "Management decisions made in the range: the share made within the deadline (24 hours from "
        "arrival in the SPA unless configured otherwise; an extension moves the deadline), by week and "
        "by team manager; the time from arrival in the SPA to the decision (median and 90th percentile); "
        "decisions still overdue now; and every extension by its reason with the hours it added."
    ),
    compute=compute,
    chart=Chart("by_week", "bar", "week", ("pct_within",), "Management decisions within the deadline, by week",
                "Week commencing", "% within deadline"),
)
