"""What the audit programme learns, as rows for the reports pages (charts, CSV, XLSX).

Each function is SQL over the case-record tables the audit workflows fill (`audits`,
`audit_grades`, `audit_themes`) and returns a list of plain dicts, oldest month first.
Months are calendar months in UTC (`YYYY-MM`), the same on SQLite and PostgreSQL.

- `grades_over_time`: the grades given per month (final grades by default).
- `agreement`: how often moderation changed the first-line grade, overall and per domain
  (raised or lowered), and per month; `compare_to="re_audit"` for first-line vs re-audit.
- `learning_themes`: the learning themes of the reflective meetings, how many audits and
  months each appears in; recurring when it appears in two months or more.
- `critical_weakness_by_month`: the share of moderated audits with a critical weakness
  (inadequate in any domain), by month of moderation.

Each takes `since` / `until` (a half-open period [since, until) of the grade's, meeting's or
moderation's time; None: unbounded), as the reports (frontdoor/reports/audits.py) ask.

Caseloads over time (average and spread per team) are `frontdoor.caseloads.caseloads_over_time`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func
from sqlalchemy import select as sa_select
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col

from models.audit import GRADE_RANK, AuditGradeRow, AuditRow, AuditThemeRow, AuditTool, Grade
from models.database import get_engine, session

OVERALL = "overall"
STEPS = ("first_line", "re_audit", "moderation")


def _month(database_url: str, column: Any) -> ColumnElement[str]:
    if get_engine(database_url).dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", column), "YYYY-MM")
    return func.strftime("%Y-%m", column)


def _in_round(audit_id: Any, round_id: str | None) -> ColumnElement[bool] | None:
    """Only the audits of one round (None: every audit)."""
    if round_id is None:
        return None
    return audit_id.in_(sa_select(col(AuditRow.id)).where(col(AuditRow.round_id) == round_id))


def _where(query: Any, condition: ColumnElement[bool] | None) -> Any:
    return query if condition is None else query.where(condition)


def _period(column: Any, since: datetime | None, until: datetime | None) -> ColumnElement[bool] | None:
    """[since, until) on a time column (None: no bound); for the reports' date ranges."""
    bounds = ([column >= since] if since is not None else []) + ([column < until] if until is not None else [])
    return and_(*bounds) if bounds else None


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def grades_over_time(database_url: str, *, step: str = "moderation", domain: str = OVERALL,
                     round_id: str | None = None, since: datetime | None = None,
                     until: datetime | None = None) -> list[dict[str, Any]]:
    """Per month: how many of each grade were given at `step` (moderation: the final grades)
    for `domain` ("overall", or a domain id of the audit tool), and each grade's share."""
    if step not in STEPS:
        raise ValueError(f"step is one of {', '.join(STEPS)}")
    g = AuditGradeRow
    month = _month(database_url, col(g.at)).label("month")
    query = _where(sa_select(month, col(g.grade), func.count()).where(col(g.step) == step, col(g.domain) == domain),
                   _in_round(col(g.audit_id), round_id))
    query = _where(query, _period(col(g.at), since, until)).group_by(month, col(g.grade)).order_by(month)
    with session(database_url) as s:
        rows = s.execute(query).all()
    totals: dict[str, int] = {}
    for m, _, n in rows:
        totals[m] = totals.get(m, 0) + n
    out = [{"month": m, "grade": grade, "count": n, "share": _share(n, totals[m])} for m, grade, n in rows]
    return sorted(out, key=lambda r: (r["month"], GRADE_RANK.get(Grade(r["grade"]), 9)))


def agreement(database_url: str, *, compare_to: str = "moderation", round_id: str | None = None,
              since: datetime | None = None, until: datetime | None = None) -> dict[str, Any]:
    """How often `compare_to` (moderation, or the re-audit) gave a different grade from the
    first-line audit: overall and per domain, raised (a better grade) or lowered, and per month."""
    if compare_to not in ("moderation", "re_audit"):
        raise ValueError("compare_to is moderation or re_audit")
    first, later = aliased(AuditGradeRow), aliased(AuditGradeRow)
    joined = and_(col(first.audit_id) == col(later.audit_id), col(first.domain) == col(later.domain),
                  col(first.step) == "first_line", col(later.step) == compare_to)
    changed = case((col(first.grade) != col(later.grade), 1), else_=0)
    raised = case((col(later.rank) < col(first.rank), 1), else_=0)
    lowered = case((col(later.rank) > col(first.rank), 1), else_=0)
    scope = _in_round(col(first.audit_id), round_id)
    period = _period(col(later.at), since, until)
    if period is not None:
        scope = period if scope is None else and_(scope, period)
    per_domain = _where(sa_select(col(first.domain), func.count(), func.sum(changed), func.sum(raised), func.sum(lowered))
                        .select_from(first).join(later, joined), scope).group_by(col(first.domain)).order_by(col(first.domain))
    month = _month(database_url, col(later.at)).label("month")
    per_month = _where(sa_select(month, func.count(), func.sum(changed)).select_from(first).join(later, joined)
                       .where(col(first.domain) == OVERALL), scope).group_by(month).order_by(month)
    with session(database_url) as s:
        domains = s.execute(per_domain).all()
        months = s.execute(per_month).all()
    rows = [{"domain": d, "compared": n, "changed": int(c or 0), "share_changed": _share(int(c or 0), n),
             "raised": int(r or 0), "lowered": int(lo or 0)} for d, n, c, r, lo in domains]
    overall = next((r for r in rows if r["domain"] == OVERALL), None)
    return {
        "compare_to": compare_to,
        "audits": overall["compared"] if overall else 0,
        "overall_changed": overall["changed"] if overall else 0,
        "overall_share_changed": overall["share_changed"] if overall else None,
        "domains": [r for r in rows if r["domain"] != OVERALL],
        "by_month": [{"month": m, "audits": n, "overall_changed": int(c or 0), "share_changed": _share(int(c or 0), n)}
                     for m, n, c in months],
    }


def learning_themes(database_url: str, tool: AuditTool | None = None, *, recurring_months: int = 2,
                    round_id: str | None = None, since: datetime | None = None,
                    until: datetime | None = None) -> list[dict[str, Any]]:
    """Each learning theme named in reflective meetings: in how many audits and months, first
    and last month, and whether it recurs (in `recurring_months` months or more). Most audits first."""
    t = AuditThemeRow
    month = _month(database_url, col(t.at))
    query = _where(sa_select(col(t.theme), func.count(func.distinct(col(t.audit_id))), func.count(func.distinct(month)),
                             func.min(month), func.max(month)), _in_round(col(t.audit_id), round_id))
    query = _where(query, _period(col(t.at), since, until)).group_by(col(t.theme))
    with session(database_url) as s:
        rows = s.execute(query).all()
    titles = {th.id: th.title for th in tool.learning_themes} if tool else {}
    out = [{"theme": theme, "title": titles.get(theme, theme.replace("_", " ")), "audits": audits, "months": months,
            "first_month": first, "last_month": last, "recurring": months >= recurring_months}
           for theme, audits, months, first, last in rows]
    return sorted(out, key=lambda r: (-r["audits"], r["theme"]))


def critical_weakness_by_month(database_url: str, *, round_id: str | None = None, since: datetime | None = None,
                               until: datetime | None = None) -> list[dict[str, Any]]:
    """Per month of moderation: moderated audits, how many had a critical weakness (the final
    grade inadequate in any domain), and the share."""
    g = AuditGradeRow
    worst = _where(sa_select(col(g.audit_id), func.max(col(g.rank)).label("worst"), func.min(col(g.at)).label("at"))
                   .where(col(g.step) == "moderation", col(g.domain) != OVERALL),
                   _in_round(col(g.audit_id), round_id)).group_by(col(g.audit_id)).subquery()
    month = _month(database_url, worst.c.at).label("month")
    critical = case((worst.c.worst >= GRADE_RANK[Grade.INADEQUATE], 1), else_=0)
    query = _where(sa_select(month, func.count(), func.sum(critical)), _period(worst.c.at, since, until))
    query = query.group_by(month).order_by(month)
    with session(database_url) as s:
        rows = s.execute(query).all()
    return [{"month": m, "audited": n, "critical": int(c or 0), "share": _share(int(c or 0), n)} for m, n, c in rows]
