"""Volumes and conversion: contacts per month by CIN source, the route split, contact to
referral conversion by source, and the advice / no-further-action rate by source (the
letter's "inappropriate contacts" from police and schools)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from sqlalchemy import func, select
from sqlmodel import Session, col

from frontdoor.reports.base import Chart, Column, Report, Table, Window, key_figures
from frontdoor.reports.sql import between, count_if, pct
from models.codes import CIN_SOURCES, ROUTE_NAMES
from models.facts import ContactFacts as F

ORDER = list(CIN_SOURCES)
GROUPS = {
    "1": "Individuals", "2": "Schools and education", "3": "Health", "4": "Housing", "5": "LA services",
    "6": "Police", "7": "Other legal agency", "8": "Other", "9": "Anonymous", "10": "Unknown",
}
ROUTES = {r.value: n for r, n in ROUTE_NAMES.items()}
ROUTE_ORDER = ["urgent", "spa", "early_help", "advice_nfa"]


def group_of(source: str | None) -> str:
    if not source:
        return "Unknown"
    head = source if source in ("10",) else source.rstrip("ABCDEF")
    return GROUPS.get(head, "Other")


def _order(source: str | None) -> int:
    return ORDER.index(source) if source in ORDER else len(ORDER)


def compute(s: Session, w: Window) -> list[Table]:
    where = [between(col(F.received_on), w)]
    referral = count_if(col(F.is_referral).is_(True))
    advice = count_if(col(F.advice_or_nfa).is_(True))
    n, referrals, advised, untriaged = s.execute(
        select(func.count(), referral, advice, count_if(col(F.route).is_(None))).where(*where)
    ).one()
    month, source = col(F.received_month), col(F.source)
    cells = s.execute(select(month, source, func.count()).where(*where).group_by(month, source)).all()
    sources = s.execute(select(source, func.count(), referral, advice).where(*where).group_by(source)).all()
    routes = dict(s.execute(select(col(F.route), func.count()).where(*where).group_by(col(F.route))).all())

    months: list[date] = sorted({m for m, _s, _c in cells if m is not None})
    present = sorted({src for _m, src, _c in cells}, key=_order)
    grid: dict[tuple[date, str], int] = {(m, src): c for m, src, c in cells}
    groups = [g for g in dict.fromkeys(GROUPS.values()) if any(group_of(src) == g for src in present)]
    by_group: dict[tuple[date, str], int] = defaultdict(int)
    for (m, src), c in grid.items():
        by_group[(m, group_of(src))] += c

    return [
        key_figures([
            ("Contacts received", n),
            ("Referrals (routed to the SPA or urgent, or stepped up from early help)", referrals),
            ("% of contacts that became referrals", pct(referrals, n)),
            ("Advice or no further action", advised),
            ("% advice or no further action", pct(advised, n)),
            ("Not yet triaged", untriaged),
        ], note="A referral is a contact routed to the SPA or the urgent route at triage, or stepped up from early help. "
                "Advice / NFA: routed to advice, signposting or no further action at triage, or a referral decided as NFA "
                "or universal services."),
        Table("by_month_source", "Contacts per month by source (CIN codes)",
              [Column("month", "Month", "month"), *[Column(f"s_{src}", src or "-", "int") for src in present], Column("total", "Total", "int")],
              [[m, *[grid.get((m, src), 0) for src in present], sum(grid.get((m, src), 0) for src in present)] for m in months]),
        Table("by_month_group", "Contacts per month by source group",
              [Column("month", "Month", "month"), *[Column(f"g{i}", g, "int") for i, g in enumerate(groups)]],
              [[m, *[by_group.get((m, g), 0) for g in groups]] for m in months]),
        Table("routes", "Route at triage", [Column("route", "Route"), Column("contacts", "Contacts", "int"), Column("pct", "% of contacts", "pct")],
              [[ROUTES.get(r, r), routes.get(r, 0), pct(routes.get(r, 0), n)] for r in ROUTE_ORDER]
              + [["Not yet triaged", routes.get(None, 0), pct(routes.get(None, 0), n)]]),
        Table("by_source", "Conversion to referral and advice / NFA rate, by source", [
            Column("source", "Source"), Column("name", "Source (CIN census)"), Column("contacts", "Contacts", "int"),
            Column("referrals", "Referrals", "int"), Column("pct_referral", "% referred", "pct"),
            Column("advice_nfa", "Advice / NFA", "int"), Column("pct_advice_nfa", "% advice / NFA", "pct"),
        ], [
            [src or "-", CIN_SOURCES.get(src or "", "-"), c, r, pct(r, c), a, pct(a, c)]
            for src, c, r, a in sorted(sources, key=lambda row: _order(row[0]))
        ]),
    ]


REPORT = Report(
    name="volumes",
    title="Volumes and conversion",
    description=(
        "Contacts received in the range: per month by source (DfE CIN census codes), the route taken at "
        "triage (urgent, SPA, early help, advice), how many contacts from each source became referrals, "
        "and how many ended with advice or no further action (the letter's inappropriate contacts)."
    ),
    compute=compute,
    chart=Chart("by_month_group", "stacked", "month", (), "Contacts per month by source", "Month", "Contacts"),
)
