"""Report facts: what the action trail says about each case, one row per case, kept in SQL.

Reports aggregate these rows in SQL (on SQLite and PostgreSQL) instead of replaying the
trail. They are written by activities/facts.py in the same transaction as the trail
entry they come from, so a fact never says more or less than the trail. Times are UTC;
the `*_on`, `*_week` and `*_month` columns are the service's local dates (its time
zone), so a date range and a monthly bucket mean what a manager means by them.

What a referral is (the one place this is defined):
- A **contact** is anything that arrives at the front door (one contact workflow).
- A contact becomes a **referral** to children's social care when it is routed, at
  triage, to the SPA or to the urgent route (immediate risk: strategy discussion), or
  when an early help case is stepped up into the SPA. Its **referral date** is that
  moment (the triage, or the step-up).
- **Referral NFA**: the management decision on the referral was no further action or
  universal services / advice (`NFA_OUTCOMES`).
- **Advice / NFA** for a contact (the letter's "inappropriate contacts"): routed to
  advice, signposting or no further action at triage, or a referral decided as NFA.
- A **re-referral** is a referral about a child who had another referral in the 12
  months before it (children are matched on local id, NHS number, or names with date
  of birth: `ChildFacts.child_key`).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.tables import UTCDateTime

REFERRAL_ROUTES = ("spa", "urgent")
NFA_OUTCOMES = ("nfa", "universal_advice")
ADVICE_ROUTE = "advice_nfa"
EARLY_HELP_STEPS = ("directions", "gathering", "recommendation", "decision")


def _ts(**kw: Any) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=True, **kw))


def _text() -> Any:
    return Field(default=None, sa_column=Column(Text, nullable=True))


class ContactFacts(SQLModel, table=True):
    """One row per contact (a contact workflow's trail)."""

    __tablename__ = "contact_facts"
    # Each report's main query reads one of these and nothing else (the columns it needs
    # are in the index), so 12 months of a busy year is a short index range, not 60-column
    # rows. Reports: volumes / decisions (timeliness) / overdue / police delay / consent /
    # threshold advice / recurring patterns.
    __table_args__ = (
        Index("ix_contact_facts_received", "received_on", "received_month", "source", "route", "is_referral", "advice_or_nfa"),
        Index("ix_contact_facts_decided", "decided_on", "decided_week", "decided_by", "on_time", "hours_to_decision"),
        Index("ix_contact_facts_overdue", "overdue", "referral_on"),
        Index("ix_contact_facts_police", "source", "received_on", "received_month", "police_delay_hours", "received_at", "contact_id"),
        Index("ix_contact_facts_consent", "route", "received_on", "consent_status", "consent_override_reason", "consent_at"),
        Index(
            "ix_contact_facts_triage", "received_on", "received_month", "triaged_at", "stepped_up_from", "advice_given",
            "triage_suggested_level", "level",
        ),
        Index(
            "ix_contact_facts_recurring", "recurring", "received_on", "history_considered", "pattern_weighed", "triaged_at",
            "decided_at", "outcome", "handoff_outcome", "recurring_themes",
        ),
    )
    contact_id: str = Field(primary_key=True, max_length=64)
    received_at: datetime | None = _ts()
    received_on: date | None = None
    received_week: date | None = None  # Monday of the week
    received_month: date | None = None  # first of the month
    source: str | None = None
    submitted_by: str | None = None
    police_delay_hours: float | None = None
    consultation_ref: str | None = None
    consultation_linked: bool | None = None
    # history check
    history_matches: int | None = None
    recurring: bool = False
    recurring_themes: str | None = None  # ",neglect,domestic_abuse," (delimited for LIKE)
    suggested_level: int | None = None
    # triage (or the step-up from early help, which is its triage)
    triaged_at: datetime | None = _ts()
    triaged_by: str | None = None
    level: int | None = None
    route: str | None = None
    triage_suggested_level: int | None = None
    departure_reason: str | None = _text()
    advice_given: bool = False
    advice_by: str | None = None
    history_considered: bool | None = None
    stepped_up_from: str | None = None
    # a referral: routed to the SPA or urgent, or stepped up
    is_referral: bool = False
    referral_at: datetime | None = _ts()
    referral_on: date | None = None
    spa_arrival_at: datetime | None = _ts()
    reviewed_at: datetime | None = _ts()
    rag: str | None = None
    urgent_picked_up_at: datetime | None = _ts()
    urgent_escalated: bool = False
    # consent: the referrer's statement, then what was sought, given, refused or overridden
    consent_from_referrer: str | None = None
    consent_status: str | None = None
    consent_at: datetime | None = _ts()
    consent_sought: bool = False
    consent_override_reason: str | None = None
    recommended_outcome: str | None = None
    recommended_by: str | None = None
    recommended_at: datetime | None = _ts()
    # the management decision and its deadline
    decision_due_at: datetime | None = _ts()  # latest known (an overdue notice or an extension)
    extensions: int = 0
    extension_hours: float = 0.0
    overdue: bool = False  # overdue now: the deadline passed and there is no decision or later extension
    ever_overdue: bool = False
    decided_at: datetime | None = _ts()
    decided_on: date | None = None
    decided_week: date | None = None
    decided_by: str | None = None
    on_time: bool | None = None
    outcome: str | None = None
    quadrant: str | None = None
    pattern_weighed: bool | None = None
    hours_to_decision: float | None = None  # from SPA arrival
    nfa: bool | None = None
    advice_or_nfa: bool = False
    # handoff and closure
    handed_off_at: datetime | None = _ts()
    team: str | None = None
    handoff_outcome: str | None = None
    allocated_worker: str | None = None
    closed_at: datetime | None = _ts()
    final_outcome: str | None = None


class ChildFacts(SQLModel, table=True):
    """One row per child named in a contact (or in a direct early help request)."""

    __tablename__ = "child_facts"
    __table_args__ = (
        Index("ix_child_facts_key_referral", "child_key", "referral_at", "contact_id"),
        Index("ix_child_facts_referral", "referral_on", "referral_month", "child_key", "referral_at", "window_start", "contact_id"),
        Index("ix_child_facts_received", "received_on"),
    )
    id: int | None = Field(default=None, primary_key=True)
    child_id: int = Field(unique=True)  # children.id
    contact_id: str = Field(index=True, max_length=64)
    position: int = 0
    kind: str = "contact"  # contact | early_help (a direct early help request)
    child_key: str = Field(max_length=200)  # the same child across contacts
    expected_due_date: date | None = None  # an unborn child
    received_at: datetime | None = _ts()
    received_on: date | None = None
    referral_at: datetime | None = _ts()
    referral_on: date | None = None
    referral_month: date | None = None
    window_start: datetime | None = _ts()  # referral_at less 12 months: earlier referrals since count


class ExtensionFacts(SQLModel, table=True):
    """One row per extension of a decision deadline."""

    __tablename__ = "extension_facts"
    __table_args__ = (UniqueConstraint("action_key"),)
    id: int | None = Field(default=None, primary_key=True)
    action_key: str = Field(max_length=200)  # the trail entry's idempotency key
    contact_id: str = Field(index=True, max_length=64)
    at: datetime | None = _ts()
    extended_on: date | None = Field(default=None, index=True)
    extended_by: str | None = None
    reason: str | None = None
    hours_added: float | None = None
    previous_deadline: datetime | None = _ts()
    new_deadline: datetime | None = _ts()


class EarlyHelpFacts(SQLModel, table=True):
    """One row per early help case."""

    __tablename__ = "early_help_facts"
    case_id: str = Field(primary_key=True, max_length=64)
    received_at: datetime | None = _ts()
    received_on: date | None = Field(default=None, index=True)
    received_month: date | None = None
    entry: str | None = None  # triage | step_down | direct
    origin_contact_id: str | None = None
    children_contact_id: str | None = None  # where its children are recorded
    submitted_by: str | None = None
    consent_from_referrer: str | None = None
    consent_given_at: datetime | None = _ts()
    consent_refused_at: datetime | None = _ts()
    directions_at: datetime | None = _ts()
    directions_by: str | None = None
    adviser: str | None = None
    history_recurring: bool | None = None
    gathering_done_at: datetime | None = _ts()
    recommended_at: datetime | None = _ts()
    recommended_outcome: str | None = None
    decided_at: datetime | None = _ts()
    decided_by: str | None = None
    decision_outcome: str | None = None
    stepped_up_at: datetime | None = _ts()
    step_up_contact_id: str | None = None
    handed_off_at: datetime | None = _ts()
    outcome: str | None = None
    quadrant: str | None = None
    team: str | None = None
    closed_at: datetime | None = _ts()
    assessment_done_at: datetime | None = _ts()  # decision, step-up, refusal or closure
    assessment_done_on: date | None = Field(default=None, index=True)


class EarlyHelpStepFacts(SQLModel, table=True):
    """One row per timed step of an early help case (directions, gathering, recommendation,
    decision). `met`: done by its own action and never reported overdue."""

    __tablename__ = "early_help_step_facts"
    case_id: str = Field(primary_key=True, max_length=64)
    step: str = Field(primary_key=True, max_length=20)
    started_at: datetime | None = _ts()
    done_at: datetime | None = _ts()  # when the step ended, by its action or because the case ended
    completed: bool = False  # ended by its own action
    overdue: bool = False
    due_at: datetime | None = _ts()  # known when it ran late


class ConsultationFacts(SQLModel, table=True):
    """One row per telephone consultation (never a child's identity)."""

    __tablename__ = "consultation_facts"
    consultation_id: str = Field(primary_key=True, max_length=64)
    recorded_at: datetime | None = _ts()
    called_at: datetime | None = _ts()
    called_on: date | None = Field(default=None, index=True)
    called_month: date | None = None
    outcome: str | None = None  # advice_only | referral_invited
    caller_agency: str | None = None
    anonymous: bool | None = None
    children_named: int | None = None
    reference: str | None = None
    referral_due_at: datetime | None = _ts()
    follow_up_raised_at: datetime | None = _ts()
    follow_up_at: datetime | None = _ts()
    follow_up_outcome: str | None = None  # referral_made | no_longer_needed | escalated
    follow_up_contact_id: str | None = None
    referral_received_at: datetime | None = _ts()
    referral_contact_id: str | None = None
    referral_on_time: bool | None = None
    after_follow_up: bool | None = None
    closure: str | None = None
    closed_at: datetime | None = _ts()


FACT_TABLES = [
    ContactFacts.__table__,  # type: ignore[attr-defined]
    ChildFacts.__table__,  # type: ignore[attr-defined]
    ExtensionFacts.__table__,  # type: ignore[attr-defined]
    EarlyHelpFacts.__table__,  # type: ignore[attr-defined]
    EarlyHelpStepFacts.__table__,  # type: ignore[attr-defined]
    ConsultationFacts.__table__,  # type: ignore[attr-defined]
]
