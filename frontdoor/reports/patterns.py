"""Recurring patterns: contacts whose history shows a recurring theme, whether triage
confirmed the history was considered and the decision confirmed the pattern was weighed
(anything short of that is listed), and what became of them."""

from __future__ import annotations

from sqlalchemy import and_, func, or_, select
from sqlmodel import Session, col

from frontdoor.reports.base import LIST_LIMIT, Chart, Column, Report, Table, Window, key_figures
from frontdoor.reports.sql import between, count_if, pct
from models.codes import OUTCOME_NAMES, THEMES
from models.facts import ContactFacts as F

OUTCOMES = {o.value: n for o, n in OUTCOME_NAMES.items()}


def compute(s: Session, w: Window) -> list[Table]:
    received = [between(col(F.received_on), w)]
    where = [*received, col(F.recurring).is_(True)]
    triaged = col(F.triaged_at).is_not(None)
    decided = col(F.decided_at).is_not(None)
    total = s.execute(select(func.count()).where(*received)).scalar_one()
    n, n_triaged, considered, n_decided, weighed = s.execute(
        select(
            func.count(), count_if(triaged), count_if(and_(triaged, col(F.history_considered).is_(True))),
            count_if(decided), count_if(and_(decided, col(F.pattern_weighed).is_(True))),
        ).where(*where)
    ).one()
    themes = list(THEMES)
    per_theme = s.execute(
        select(*[count_if(col(F.recurring_themes).like(f"%,{t},%")) for t in themes]).where(*where)
    ).one()
    short = [
        *where,
        or_(and_(triaged, col(F.history_considered).is_not(True)), and_(decided, col(F.pattern_weighed).is_not(True))),
    ]
    short_total = s.execute(select(func.count()).where(*short)).scalar_one()
    short_rows = s.execute(
        select(
            col(F.contact_id), col(F.received_at), col(F.recurring_themes), col(F.history_considered), col(F.triaged_at),
            col(F.pattern_weighed), col(F.decided_at),
        )
        .where(*short).order_by(col(F.received_at), col(F.contact_id)).limit(LIST_LIMIT)
    ).all()
    ending = func.coalesce(col(F.outcome), col(F.handoff_outcome))
    outcomes = s.execute(
        select(ending, func.count()).where(*where).group_by(ending).order_by(func.count().desc())
    ).all()

    def yes_no(done: object, value: object) -> str:
        return "-" if done is None else ("yes" if value is True else "no")

    return [
        key_figures([
            ("Contacts received", total),
            ("With a recurring theme in their history", n),
            ("% of contacts", pct(n, total)),
            ("Triaged", n_triaged),
            ("% where triage confirmed the history was considered", pct(considered, n_triaged)),
            ("Decided by a manager", n_decided),
            ("% where the decision confirmed the pattern was weighed", pct(weighed, n_decided)),
            ("Not confirmed (listed below)", short_total),
        ]),
        Table("themes", "Recurring themes", [Column("theme", "Theme"), Column("contacts", "Contacts", "int")],
              [[THEMES[t], c] for t, c in zip(themes, per_theme, strict=True) if c]),
        Table("not_confirmed", "Not confirmed at triage or decision", [
            Column("contact_id", "Contact"), Column("received", "Received", "datetime"), Column("themes", "Themes"),
            Column("triage", "Triage confirmed history considered"), Column("decision", "Decision confirmed pattern weighed"),
        ], [
            [cid, at, ", ".join(THEMES.get(t, t) for t in (themes_ or "").split(",") if t), yes_no(t_at, hc), yes_no(d_at, pw)]
            for cid, at, themes_, hc, t_at, pw, d_at in short_rows
        ], total=short_total),
        Table("outcomes", "Outcomes of contacts with a recurring theme", [Column("outcome", "Outcome"), Column("contacts", "Contacts", "int")],
              [[OUTCOMES.get(o, o) if o else "Open (no outcome yet)", c] for o, c in outcomes]),
    ]


REPORT = Report(
    name="recurring-patterns",
    title="Recurring patterns",
    description=(
        "Contacts received in the range whose history check found a recurring theme (neglect and domestic "
        "abuse above all): the share where triage confirmed the history was considered and the management "
        "decision confirmed the pattern was weighed (any that did not are listed), and their outcomes."
    ),
    compute=compute,
    chart=Chart("outcomes", "barh", "outcome", ("contacts",), "Outcomes of contacts with a recurring theme", "Contacts", "Outcome"),
)
