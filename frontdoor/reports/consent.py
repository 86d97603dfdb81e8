"""Consent in the SPA: given, refused, not sought, overridden (by reason)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlmodel import Session, col

from frontdoor.reports.base import Chart, Column, Report, Table, Window, key_figures
from frontdoor.reports.sql import between, count_if, pct
from models.codes import ConsentOverrideReason
from models.facts import ContactFacts as F

STATUSES = {
    "given": "Given",
    "refused": "Refused",
    "not_sought": "Not sought",
    "sought": "Sought, answer awaited",
    "overridden": "Overridden by a manager",
}
REASONS = {r.value: r.value.replace("_", " ").capitalize() for r in ConsentOverrideReason}


def compute(s: Session, w: Window) -> list[Table]:
    where = [col(F.route) == "spa", between(col(F.received_on), w)]  # the SPA route: arrival in the SPA
    status = col(F.consent_status)
    n, by_referrer = s.execute(select(func.count(), count_if(col(F.consent_at).is_(None))).where(*where)).one()
    rows = dict(s.execute(select(status, func.count()).where(*where).group_by(status)).all())
    from_referrer = dict(
        s.execute(select(status, func.count()).where(*where, col(F.consent_at).is_(None)).group_by(status)).all()
    )
    reason = col(F.consent_override_reason)
    overrides = s.execute(
        select(reason, func.count()).where(*where, status == "overridden").group_by(reason).order_by(func.count().desc(), reason)
    ).all()
    n_over = sum(c for _r, c in overrides)
    order = list(STATUSES) + sorted(k for k in rows if k not in STATUSES and k is not None)
    return [
        key_figures([
            ("Contacts in the SPA", n),
            *[(f"Consent {STATUSES.get(k, str(k)).lower()}", rows.get(k, 0)) for k in order],
            ("As the referrer said (not changed in the SPA)", by_referrer),
        ], note="Contacts received in the range that went to the SPA, by their consent status now (the last recorded)."),
        Table("status", "Consent status", [
            Column("status", "Consent"), Column("contacts", "Contacts", "int"), Column("pct", "% of SPA contacts", "pct"),
            Column("from_referrer", "As the referrer said", "int"),
        ], [[STATUSES.get(k, k), rows.get(k, 0), pct(rows.get(k, 0), n), from_referrer.get(k, 0)] for k in order]),
        Table("overrides", "Consent overridden, by reason", [
            Column("reason", "Reason"), Column("overrides", "Overrides", "int"), Column("pct", "% of overrides", "pct"),
        ], [[REASONS.get(r or "", r or "-"), c, pct(c, n_over)] for r, c in overrides]),
    ]


REPORT = Report(
    name="consent",
    title="Consent",
    description=(
        "Contacts received in the range that went to the SPA, by consent: given, refused, not sought, "
        "sought and awaited, or overridden by a manager (with the reason); and how many stayed as the "
        "referrer said."
    ),
    compute=compute,
    chart=Chart("status", "bar", "status", ("contacts",), "Consent for contacts in the SPA", "Consent", "Contacts"),
)
