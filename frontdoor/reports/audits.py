"""The audit programme: final grades over time, how often moderation changed the first-line
grade (agreement), the learning themes that recur, and critical weaknesses by month.

The figures come from frontdoor/audit_reports.py (SQL over audits, audit_grades, audit_themes),
for the grades, moderations and meetings whose time falls in the window. Months are UTC
calendar months, as there."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from frontdoor import audit_reports
from frontdoor.reports.base import Chart, Column, Report, Table, Window, key_figures
from frontdoor.reports.other_figures import instants, month_start, url_of
from models.audit import GRADE_RANK, Grade

GRADES = sorted(Grade, key=lambda g: GRADE_RANK[g])


def _pct(share: float | None) -> float | None:
    return round(100 * share, 1) if share is not None else None


def compute(s: Session, w: Window) -> list[Table]:
    url, (since, until) = url_of(s), instants(w)
    grades = audit_reports.grades_over_time(url, since=since, until=until)
    agree = audit_reports.agreement(url, since=since, until=until)
    themes = audit_reports.learning_themes(url, since=since, until=until)
    critical = audit_reports.critical_weakness_by_month(url, since=since, until=until)

    by_month: dict[str, dict[str, Any]] = {}
    for r in grades:
        by_month.setdefault(r["month"], {})[r["grade"]] = r["count"]
    grade_rows = [[month_start(m)] + [counts.get(g.value, 0) for g in GRADES] + [sum(counts.values())]
                  for m, counts in sorted(by_month.items())]
    audited = sum(r[-1] for r in grade_rows)
    good_or_better = sum(r[1] + r[2] for r in grade_rows)
    n_critical = sum(r["critical"] for r in critical)
    n_moderated = sum(r["audited"] for r in critical)
    recurring = [t for t in themes if t["recurring"]]
    changed = _pct(agree["overall_share_changed"])
    return [
        key_figures([
            ("Audits moderated (final overall grade)", audited),
            ("% good or outstanding", round(100 * good_or_better / audited, 1) if audited else None),
            ("Audits where moderation changed the overall grade", agree["overall_changed"]),
            ("% agreement (moderation kept the first-line grade)",
             round(100 - changed, 1) if changed is not None else None),
            ("Audits with a critical weakness (inadequate in any domain)", n_critical),
            ("% with a critical weakness", round(100 * n_critical / n_moderated, 1) if n_moderated else None),
            ("Learning themes recurring (in two months or more)", len(recurring)),
        ], note="Final grades are the moderator's. Agreement compares the first-line audit with moderation."),
        Table("grades_by_month", "Final overall grades, by month", [
            Column("month", "Month", "month"),
            *[Column(g.value, g.value.replace("_", " ").capitalize(), "int") for g in GRADES],
            Column("total", "Audits", "int"),
        ], grade_rows),
        Table("agreement_by_domain", "Moderation against the first-line audit, by domain", [
            Column("domain", "Domain"), Column("compared", "Audits compared", "int"),
            Column("changed", "Grade changed", "int"), Column("pct_changed", "% changed", "pct"),
            Column("raised", "Raised", "int"), Column("lowered", "Lowered", "int"),
        ], [[d["domain"], d["compared"], d["changed"], _pct(d["share_changed"]), d["raised"], d["lowered"]]
            for d in agree["domains"]]),
        Table("agreement_by_month", "Overall grade changed at moderation, by month", [
            Column("month", "Month", "month"), Column("audits", "Audits", "int"),
            Column("changed", "Changed", "int"), Column("pct_changed", "% changed", "pct"),
        ], [[month_start(r["month"]), r["audits"], r["overall_changed"], _pct(r["share_changed"])] for r in agree["by_month"]]),
        Table("themes", "Learning themes from the reflective meetings", [
            Column("theme", "Theme"), Column("audits", "Audits", "int"), Column("months", "Months", "int"),
            Column("first_month", "First"), Column("last_month", "Last"), Column("recurring", "Recurring", "bool"),
        ], [[t["title"], t["audits"], t["months"], t["first_month"], t["last_month"], t["recurring"]] for t in themes]),
        Table("critical_by_month", "Critical weaknesses, by month of moderation", [
            Column("month", "Month", "month"), Column("audited", "Audits moderated", "int"),
            Column("critical", "With a critical weakness", "int"), Column("pct_critical", "%", "pct"),
        ], [[month_start(r["month"]), r["audited"], r["critical"], _pct(r["share"])] for r in critical]),
    ]


REPORT = Report(
    name="audits",
    title="Case audits: grades, agreement and learning",
    description=(
        "The audit programme: the final overall grades given each month, how often moderation changed the "
        "first-line auditor's grade (overall and by domain, raised or lowered), the learning themes of the "
        "reflective meetings and which recur, and the share of audits with a critical weakness by month."
    ),
    compute=compute,
    chart=Chart("grades_by_month", "stacked", "month", tuple(g.value for g in GRADES),
                "Final overall grades, by month", "Month", "Audits"),
)
