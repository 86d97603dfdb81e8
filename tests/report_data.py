"""A small hand-made case record whose report figures are known (worked out by hand in
tests/test_reports.py). Written through the production path: contacts saved with
save_contact, every trail entry appended with append_action, so the facts are projected
exactly as in a live run. All dates are in January to March 2019 (GMT: local = UTC),
with two earlier referrals about Amy in 2017 and 2018.
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlmodel import Session

from activities.records import append_action
from models.case_record import save_contact
from models.consultation import ConsultationRow
from models.contact import Contact
from models.messages import ActionEntry

WINDOW = (date(2019, 1, 1), date(2019, 3, 31))
_seq = itertools.count(1)

AMY = {"local_id": "CH-A", "nhs_number": "9434765919", "first_name": "Amy", "last_name": "Jones",
       "date_of_birth": "2007-03-02", "sex": "F", "ethnicity": "WBRI"}
AMY_NHS_ONLY = {"nhs_number": "9434765919", "first_name": "Amy", "last_name": "Jones", "date_of_birth": "2007-03-02", "sex": "F"}
BEN = {"local_id": "CH-B", "first_name": "Ben", "last_name": "Cole", "date_of_birth": "2005-07-10", "sex": "M", "ethnicity": "NOBT"}
CARA = {"local_id": "CH-C", "first_name": "Cara", "last_name": "Doe", "date_of_birth": "2001-01-31", "sex": "U"}
DAN = {"nhs_number": "4010232137", "first_name": "Dan", "last_name": "Eve", "date_of_birth": "2008-05-05"}
EVE = {"local_id": "CH-E", "first_name": "Eve", "last_name": "Fox", "date_of_birth": "2008-02-29", "sex": "F", "ethnicity": "AIND"}
FAY = {"local_id": "CH-F", "first_name": "Baby", "last_name": "Gray", "expected_due_date": "2019-06-01"}
GUS = {"local_id": "CH-G", "first_name": "Gus", "last_name": "Hay", "date_of_birth": "2006-09-09", "sex": "M", "ethnicity": "BAFR"}
HAL = {"local_id": "CH-H", "first_name": "Hal", "last_name": "Ivy", "date_of_birth": "2003-04-04", "sex": "M", "ethnicity": "MWBA"}


def t(day: str, hm: str = "09:00") -> datetime:
    return datetime.fromisoformat(f"{day}T{hm}:00+00:00")


class Case:
    """Appends trail entries for one case, in order, through append_action."""

    def __init__(self, s: Session, subject: str, kind: str, workflow_id: str) -> None:
        self.s, self.subject, self.kind, self.workflow_id = s, subject, kind, workflow_id

    def __call__(self, action: str, at: datetime, actor: str = "frontdoor", reasons: str | None = None, **details: Any) -> Case:
        entry = ActionEntry(
            idempotency_key=f"{self.workflow_id}/{next(_seq)}", subject_id=self.subject, workflow_id=self.workflow_id,
            kind=self.kind, actor=actor, role="system" if actor == "frontdoor" else "person", at=at, action=action,
            reasons=reasons, details={k: v for k, v in details.items() if v is not None},
        )
        assert append_action(self.s, entry)
        return self


def contact(
    s: Session, cid: str, received: datetime, source: str, children: list[dict[str, Any]], *,
    consent: str = "given", police_hours: float | None = None, kind: str = "contact",
) -> Case:
    body: dict[str, Any] = {
        "id": cid, "received_at": received.isoformat(), "source": source,
        "referrer": {"name": "Referrer", "agency": "Agency"}, "children": children,
        "concerns": {"factors": ["16A"], "summary": "Concern"}, "consent": {"status": consent},
    }
    if police_hours is not None:
        body["police_attendance_at"] = (received - timedelta(hours=police_hours)).isoformat()
    assert save_contact(s, Contact.model_validate(body), kind=kind)
    case = Case(s, cid, "contact", f"contact-{cid}")
    if kind == "contact":
        case("contact_received", received, source=source, submitted_by="rita", police_delay_hours=police_hours)
    return case


def spa_triage(c: Case, at: datetime, level: int = 4, suggested: int | None = 4, **extra: Any) -> Case:
    return c("triage", at, "rita", "rationale", level=level, route="spa", suggested_level=suggested,
             history_considered=True, **extra)


def decide(c: Case, at: datetime, outcome: str, on_time: bool, by: str = "tom", weighed: bool | None = True) -> Case:
    c("recommendation", at - timedelta(hours=1), "sam", "summary", recommended_outcome=outcome)
    return c("management_decision", at, by, "rationale", outcome=outcome, on_time=on_time, recurring_pattern_considered=weighed)


def build(s: Session) -> None:
    # two earlier referrals about Amy: one over 12 months before C1, one within
    c0 = contact(s, "C0", t("2017-12-01"), "2A", [AMY])
    spa_triage(c0, t("2017-12-01", "10:00"))
    c0b = contact(s, "C0b", t("2018-06-01"), "2A", [AMY])
    spa_triage(c0b, t("2018-06-01", "10:00"))

    c1 = contact(s, "C1", t("2019-01-07"), "6", [AMY], consent="not_sought", police_hours=30)
    c1("history_checked", t("2019-01-07", "09:00"), matches=2, recurring=["neglect"], suggested_level=4)
    c1("daily_review", t("2019-01-07", "09:30"), "sam", rag="red")
    spa_triage(c1, t("2019-01-07", "10:00"), threshold_advice={"given_by": "sam", "advice": "SPA", "reasons": "recurring"})
    c1("consent_overridden", t("2019-01-07", "11:00"), "tom", "risk", reason="risk_of_significant_harm")
    decide(c1, t("2019-01-07", "20:00"), "assessment_s17", True)
    c1("handed_off", t("2019-01-07", "20:01"), team="assessment_team", outcome="assessment_s17")
    c1("closed", t("2019-01-07", "20:02"), outcome="assessment_s17")

    c2 = contact(s, "C2", t("2019-01-08"), "6", [BEN], police_hours=10)
    c2("history_checked", t("2019-01-08"), matches=0, recurring=[], suggested_level=3)
    spa_triage(c2, t("2019-01-08", "09:30"), suggested=3, departure_reason="Injury seen by the officer")
    c2("decision_overdue", t("2019-01-09", "09:30"), due=t("2019-01-09", "09:30").isoformat())
    c2("deadline_extended", t("2019-01-09", "10:00"), "tom", "GP awaited", reason="agency_unavailable",
       previous_deadline=t("2019-01-09", "09:30").isoformat(), new_deadline=t("2019-01-09", "15:30").isoformat())
    decide(c2, t("2019-01-09", "14:00"), "nfa", True)
    c2("handed_off", t("2019-01-09", "14:01"), outcome="nfa")
    c2("closed", t("2019-01-09", "14:02"), outcome="nfa")

    c3 = contact(s, "C3", t("2019-01-15", "12:00"), "2A", [BEN])
    c3("history_checked", t("2019-01-15", "12:00"), matches=1, recurring=[], suggested_level=2)
    c3("triage", t("2019-01-15", "12:30"), "rita", "advice", level=2, route="advice_nfa", suggested_level=2, history_considered=True)
    c3("handed_off", t("2019-01-15", "12:31"), outcome="advice_signposting")
    c3("closed", t("2019-01-15", "12:32"), outcome="advice_signposting")

    c4 = contact(s, "C4", t("2019-01-20", "10:00"), "2A", [CARA], consent="not_sought")
    c4("history_checked", t("2019-01-20", "10:00"), matches=0, recurring=[])
    spa_triage(c4, t("2019-01-20", "11:00"), suggested=None)
    c4("consent_sought", t("2019-01-20", "12:00"), "sam")
    c4("consent_refused", t("2019-01-20", "13:00"), "sam")
    decide(c4, t("2019-01-22", "11:00"), "strategy_discussion_s47", False, by="una", weighed=None)
    c4("handed_off", t("2019-01-22", "11:01"), team="assessment_team", outcome="strategy_discussion_s47")

    c5 = contact(s, "C5", t("2019-02-03"), "1A", [AMY_NHS_ONLY])
    c5("history_checked", t("2019-02-03"), matches=3, recurring=["neglect", "domestic_abuse"], suggested_level=4)
    spa_triage(c5, t("2019-02-03", "10:00"))
    decide(c5, t("2019-02-04", "09:00"), "assessment_s17", True, weighed=False)

    c6 = contact(s, "C6", t("2019-02-10"), "6", [DAN], police_hours=50)
    c6("history_checked", t("2019-02-10"), matches=0, recurring=[], suggested_level=4)
    c6("triage", t("2019-02-10", "09:10"), "rita", "immediate risk", level=4, route="urgent", suggested_level=4,
       history_considered=True, threshold_advice={"given_by": "sam", "advice": "urgent", "reasons": "injury"})
    c6("handed_off", t("2019-02-10", "09:11"), team="assessment_team", outcome="urgent_assessment")
    c6("urgent_picked_up", t("2019-02-10", "09:30"), "sam")

    c7 = contact(s, "C7", t("2019-02-20"), "3A", [EVE], consent="not_sought")
    c7("history_checked", t("2019-02-20"), matches=0, recurring=[], suggested_level=3)
    c7("triage", t("2019-02-20", "09:02"), "rita", "lower need", level=3, route="early_help", suggested_level=3, history_considered=True)
    c7("handed_off", t("2019-02-20", "09:03"), team="early_help_hub", outcome="early_help_hub")
    c7("closed", t("2019-02-20", "09:04"), outcome="early_help_hub")
    eh = Case(s, "EH-C7", "early_help", "early-help-EH-C7")
    eh("early_help_received", t("2019-02-20", "09:05"), entry="triage", submitted_by="rita", origin_contact_id="C7",
       consent_from_referrer="not_sought")
    eh("directions", t("2019-02-20", "15:00"), "sana", "directions", adviser="erin")
    eh("consent_given", t("2019-02-21", "10:00"), "erin")
    eh("history_reviewed", t("2019-02-21", "10:01"), matches=0, recurring=[])
    eh("gathering_finished", t("2019-02-25", "10:00"), "erin", conversations=2)
    eh("recommendation", t("2019-02-26", "10:00"), "erin", "summary", recommended_outcome="targeted_early_help", quadrant="north_west")
    eh("early_help_decision", t("2019-02-26", "15:00"), "tom", "rationale", outcome="targeted_early_help", quadrant="north_west")
    eh("handed_off", t("2019-02-26", "15:01"), outcome="targeted_early_help", team="early_help_north_west", quadrant="north_west")
    eh("closed", t("2019-02-26", "15:02"), outcome="targeted_early_help", quadrant="north_west")

    c8 = contact(s, "C8", t("2019-03-05"), "8", [FAY], consent="not_sought")
    c8("history_checked", t("2019-03-05"), matches=0, recurring=[])
    spa_triage(c8, t("2019-03-05", "10:00"), level=3, suggested=None)
    c8("decision_overdue", t("2019-03-06", "10:00"), due=t("2019-03-06", "10:00").isoformat())

    # a case the hub started itself, the family refused; directions late
    contact(s, "EH-D1", t("2019-03-10"), "5D", [GUS], consent="not_sought", kind="early_help")
    d1 = Case(s, "EH-D1", "early_help", "early-help-EH-D1")
    d1("early_help_received", t("2019-03-10"), entry="direct", submitted_by="erin", consent_from_referrer="not_sought")
    d1("directions_overdue", t("2019-03-11", "00:00"), due=t("2019-03-11", "00:00").isoformat())
    d1("directions", t("2019-03-11", "10:00"), "sana", "directions", adviser="erin")
    d1("consent_refused", t("2019-03-11", "12:00"), "erin", advice="Family centre")
    d1("handed_off", t("2019-03-11", "12:01"), outcome="consent_refused_advice")
    d1("closed", t("2019-03-11", "12:02"), outcome="consent_refused_advice")

    # directions arrive before the case's own first entry (a person acting within milliseconds)
    contact(s, "EH-D2", t("2019-03-12"), "5D", [HAL], consent="not_sought", kind="early_help")
    d2 = Case(s, "EH-D2", "early_help", "early-help-EH-D2")
    d2("directions", t("2019-03-12", "10:00"), "sana", "directions", adviser="erin")
    d2("early_help_received", t("2019-03-12"), entry="direct", submitted_by="erin", consent_from_referrer="not_sought")
    d2("consent_given", t("2019-03-12", "10:30"), "erin")
    d2("stepped_up", t("2019-03-13"), "erin", "disclosure", contact_id="EH-D2-SU", level=4)
    su = contact(s, "EH-D2-SU", t("2019-03-13"), "5D", [HAL])
    su("history_checked", t("2019-03-13"), matches=1, recurring=[], suggested_level=4)
    su("stepped_up_from_early_help", t("2019-03-13", "09:00"), "erin", "disclosure", early_help_case_id="EH-D2", level=4)
    d2("closed", t("2019-03-13", "09:01"), outcome="step_up")

    # the consultation line
    consultation(s, "K1", t("2019-01-10"), named=1, invited=True)("referral_received", t("2019-01-13"), contact_id="C2",
                                                                   on_time=True, after_follow_up=False)(
        "closed", t("2019-01-13", "09:01"), closure="referral_received")
    consultation(s, "K2", t("2019-02-01"), named=0, invited=False)("closed", t("2019-02-01", "09:01"), closure="advice_only")
    k3 = consultation(s, "K3", t("2019-02-05"), named=2, invited=True)
    k3("follow_up_raised", t("2019-02-07", "23:59"), due=t("2019-02-07", "23:59").isoformat())
    k3("follow_up_call", t("2019-02-08"), "cara", "reluctant", outcome="escalated")
    k3("closed", t("2019-02-08", "09:01"), closure="escalated")


def consultation(s: Session, kid: str, called: datetime, *, named: int, invited: bool) -> Case:
    due = called + timedelta(days=4) if invited else None
    s.add(ConsultationRow(
        id=kid, workflow_id=f"consultation-{kid}", called_at=called, caller_agency="School", anonymous=named == 0,
        children_named=named, outcome="referral_invited" if invited else "advice_only", reference=kid, referral_due_at=due,
    ))
    s.commit()
    case = Case(s, kid, "consultation", f"consultation-{kid}")
    return case(
        "consultation_recorded", called + timedelta(minutes=20), "cara", "advice",
        outcome="referral_invited" if invited else "advice_only", caller_agency="School", anonymous=named == 0,
        children_named=named, reference=kid, referral_due_at=due.isoformat() if due else None,
    )


NOW = datetime(2019, 4, 1, 12, 0, tzinfo=UTC)
