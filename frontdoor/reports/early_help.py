"""The early help hub: directions within their timescale (one working day by default);
information gathering, recommendation and decision timescales met; the quadrant split;
step-ups into the SPA and step-downs from it."""

from __future__ import annotations

from sqlalchemy import and_, func, select
from sqlmodel import Session, col

from frontdoor.reports.base import Chart, Column, Report, Table, Window, key_figures
from frontdoor.reports.sql import between, count_if, pct
from models.facts import EARLY_HELP_STEPS
from models.facts import EarlyHelpFacts as H
from models.facts import EarlyHelpStepFacts as S

STEP_NAMES = {
    "directions": "Management directions",
    "gathering": "Information gathering",
    "recommendation": "Recommendation",
    "decision": "Decision",
}
ENTRIES = {"triage": "Routed at triage", "step_down": "Stepped down from the SPA", "direct": "Started by the hub"}
OUTCOMES = {
    "targeted_early_help": "Targeted early help",
    "universal_services": "Universal services",
    "step_up": "Stepped up into the SPA",
    "consent_refused_advice": "Consent refused: advice given",
}


def compute(s: Session, w: Window) -> list[Table]:
    where = [between(col(H.received_on), w)]
    entry = col(H.entry)
    n, from_triage, step_downs, direct, step_ups, refused = s.execute(select(
        func.count(), count_if(entry == "triage"), count_if(entry == "step_down"), count_if(entry == "direct"),
        count_if(col(H.stepped_up_at).is_not(None)), count_if(col(H.consent_refused_at).is_not(None)),
    ).where(*where)).one()
    met = count_if(and_(col(S.completed).is_(True), col(S.overdue).is_(False)))
    late = count_if(col(S.overdue).is_(True))
    still_open = count_if(and_(col(S.done_at).is_(None), col(S.overdue).is_(False)))
    steps = {
        row[0]: row[1:] for row in s.execute(
            select(col(S.step), func.count(), met, late, still_open)
            .join(H, col(H.case_id) == col(S.case_id)).where(*where).group_by(col(S.step))
        ).all()
    }
    ending = func.coalesce(col(H.outcome), col(H.decision_outcome))
    outcomes = s.execute(
        select(ending, col(H.quadrant), func.count()).where(*where).group_by(ending, col(H.quadrant))
        .order_by(ending, col(H.quadrant))
    ).all()
    month = col(H.received_month)
    directions = and_(col(S.case_id) == col(H.case_id), col(S.step) == "directions")
    by_month = s.execute(
        select(month, func.count(), count_if(entry == "step_down"), count_if(col(H.stepped_up_at).is_not(None)), met, late)
        .select_from(H).outerjoin(S, directions).where(*where).group_by(month).order_by(month)
    ).all()
    directions_met, directions_late = (steps.get("directions") or (0, 0, 0, 0))[1:3]

    def step_row(step: str) -> list[object]:
        started, ok, overdue, waiting = steps.get(step) or (0, 0, 0, 0)
        return [STEP_NAMES[step], started, ok, overdue, waiting, pct(ok, ok + overdue)]

    def outcome_name(o: str | None, q: str | None) -> str:
        if o is None:
            return "Open (no outcome yet)"
        name = OUTCOMES.get(o, o)
        return f"{name}: {q.replace('_', ' ')}" if q and o == "targeted_early_help" else name

    return [
        key_figures([
            ("Early help cases received", n),
            (ENTRIES["triage"], from_triage),
            (ENTRIES["step_down"] + " (step-downs)", step_downs),
            (ENTRIES["direct"], direct),
            ("% of directions given within their timescale", pct(directions_met, directions_met + directions_late)),
            ("Stepped up into the SPA (step-ups)", step_ups),
            ("Consent refused", refused),
        ], note="Cases received in the range. A step is met when its own action came before it was reported overdue; "
                "steps still open, or cut short by a step-up or a refusal, are not counted either way."),
        Table("steps", "Timescales met, by step", [
            Column("step", "Step"), Column("started", "Started", "int"), Column("met", "Met", "int"),
            Column("late", "Late", "int"), Column("open", "Still open", "int"), Column("pct_met", "% met", "pct"),
        ], [step_row(st) for st in EARLY_HELP_STEPS]),
        Table("outcomes", "Outcomes and quadrants", [Column("outcome", "Outcome"), Column("cases", "Cases", "int"), Column("pct", "% of cases", "pct")],
              [[outcome_name(o, q), c, pct(c, n)] for o, q, c in outcomes]),
        Table("by_month", "Early help by month", [
            Column("month", "Month", "month"), Column("cases", "Cases", "int"), Column("step_downs", "Step-downs", "int"),
            Column("step_ups", "Step-ups", "int"), Column("directions_met", "Directions on time", "int"),
            Column("directions_late", "Directions late", "int"), Column("pct_directions", "% directions on time", "pct"),
        ], [[m, c, d, u, dm, dl, pct(dm, dm + dl)] for m, c, d, u, dm, dl in by_month]),
    ]


REPORT = Report(
    name="early-help",
    title="The early help hub",
    description=(
        "Early help cases received in the range: management directions given within their timescale (one "
        "working day by default); information gathering, recommendation and decision timescales met; "
        "outcomes by quadrant; step-ups into the SPA and step-downs from it."
    ),
    compute=compute,
    chart=Chart("steps", "bar", "step", ("pct_met",), "Early help timescales met, by step", "Step", "% met"),
)
