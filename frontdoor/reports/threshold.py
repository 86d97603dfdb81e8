"""Threshold advice: triages with the social worker's advice recorded; triages that
departed from the level the threshold rules suggested, with the reasons given."""

from __future__ import annotations

from sqlalchemy import and_, func, select
from sqlmodel import Session, col

from frontdoor.reports.base import LIST_LIMIT, Chart, Column, Report, Table, Window, key_figures
from frontdoor.reports.sql import between, count_if, pct
from models.codes import ROUTE_NAMES
from models.facts import ContactFacts as F

ROUTES = {r.value: n for r, n in ROUTE_NAMES.items()}


def compute(s: Session, w: Window) -> list[Table]:
    where = [between(col(F.received_on), w), col(F.triaged_at).is_not(None), col(F.stepped_up_from).is_(None)]
    suggested = col(F.triage_suggested_level)
    departed = and_(suggested.is_not(None), col(F.level) != suggested)
    advice = count_if(col(F.advice_given).is_(True))
    n, advised, with_suggestion, departures = s.execute(
        select(func.count(), advice, count_if(suggested.is_not(None)), count_if(departed)).where(*where)
    ).one()
    month = col(F.received_month)
    by_month = s.execute(
        select(month, func.count(), advice, count_if(suggested.is_not(None)), count_if(departed))
        .where(*where).group_by(month).order_by(month)
    ).all()
    pairs = s.execute(
        select(suggested, col(F.level), func.count()).where(*where, departed)
        .group_by(suggested, col(F.level)).order_by(suggested, col(F.level))
    ).all()
    listed = s.execute(
        select(
            col(F.contact_id), col(F.triaged_at), col(F.triaged_by), suggested, col(F.level), col(F.route),
            col(F.departure_reason), col(F.advice_by),
        )
        .where(*where, departed).order_by(col(F.triaged_at).desc(), col(F.contact_id)).limit(LIST_LIMIT)
    ).all()
    return [
        key_figures([
            ("Triages", n),
            ("With threshold advice recorded", advised),
            ("% with threshold advice recorded", pct(advised, n)),
            ("With a level suggested by the threshold rules", with_suggestion),
            ("Departing from the suggested level", departures),
            ("% departing from the suggested level", pct(departures, with_suggestion)),
        ], note="Triages of contacts received in the range (a step-up from early help is not a triage). "
                "Every departure records the reason given."),
        Table("by_month", "Threshold advice and departures, by month", [
            Column("month", "Month", "month"), Column("triages", "Triages", "int"), Column("advised", "With advice", "int"),
            Column("pct_advised", "% with advice", "pct"), Column("departures", "Departures", "int"),
            Column("pct_departed", "% departing", "pct"),
        ], [[m, c, a, pct(a, c), d, pct(d, sg)] for m, c, a, sg, d in by_month]),
        Table("levels", "Departures: suggested level against the level chosen", [
            Column("suggested", "Suggested level", "int"), Column("level", "Level chosen", "int"), Column("triages", "Triages", "int"),
        ], [[sl, lv, c] for sl, lv, c in pairs]),
        Table("departures", "Departures from the suggested level, with reasons", [
            Column("contact_id", "Contact"), Column("triaged", "Triaged", "datetime"), Column("by", "By"),
            Column("suggested", "Suggested", "int"), Column("level", "Level", "int"), Column("route", "Route"),
            Column("reason", "Reason given"), Column("advice_by", "Advice from"),
        ], [[cid, at, by, sl, lv, ROUTES.get(r or "", r or "-"), reason or "-", adv or "-"] for cid, at, by, sl, lv, r, reason, adv in listed],
            total=departures, note="Most recent first."),
    ]


REPORT = Report(
    name="threshold-advice",
    title="Threshold advice and departures",
    description=(
        "Triages of contacts received in the range: how many recorded a social worker's threshold advice, "
        "and how many chose a level other than the one the threshold rules suggested, with the reasons given."
    ),
    compute=compute,
    chart=Chart("by_month", "bar", "month", ("pct_advised", "pct_departed"), "Threshold advice and departures, by month",
                "Month", "% of triages"),
)
