"""The early help hub: consent-based support for lower levels of need.

Manager directions, promptly; parental consent first (early help is voluntary); the
adviser gathers information (referrer, agencies, parents) and reviews history; a
concise recommendation; a decision routes to targeted early help in an area
quadrant, to universal services, or steps the case up into the SPA.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field, model_validator
from sqlmodel import Field as TableField
from sqlmodel import SQLModel

from models.codes import Agency, ConsentStatus, Quadrant
from models.contact import Child, Contact
from models.deadline import DeadlineRecord
from models.roles import Actor, Role
from models.state import Fault, HistoryResult
from models.tables import _ts
from models.timescales import Timescales

Reason = Field(min_length=3, max_length=4000)
DEFAULT_QUADRANTS = [q.value for q in Quadrant]
CONCISE = 2000  # characters: recommendations are "reflective and concise"


class EarlyHelpEntry(StrEnum):
    TRIAGE = "triage"  # routed to the hub by the RfS officer
    STEP_DOWN = "step_down"  # an SPA management decision of targeted early help
    DIRECT = "direct"  # started by the hub itself


class EarlyHelpStage(StrEnum):
    AWAITING_DIRECTIONS = "awaiting_directions"
    AWAITING_CONSENT = "awaiting_consent"
    GATHERING = "gathering"
    AWAITING_RECOMMENDATION = "awaiting_recommendation"
    AWAITING_DECISION = "awaiting_decision"
    HANDOFF = "handoff"
    CLOSED = "closed"


# The timed steps, the stage each runs in, and the flag shown while it is overdue.
TIMED_STEPS: dict[EarlyHelpStage, str] = {
    EarlyHelpStage.AWAITING_DIRECTIONS: "directions",
    EarlyHelpStage.GATHERING: "gathering",
    EarlyHelpStage.AWAITING_RECOMMENDATION: "recommendation",
    EarlyHelpStage.AWAITING_DECISION: "decision",
}
OVERDUE_FLAG = "early_help_overdue"  # any step; plus "<step>_overdue", e.g. directions_overdue


class EarlyHelpOutcome(StrEnum):
    TARGETED_EARLY_HELP = "targeted_early_help"
    UNIVERSAL_SERVICES = "universal_services"
    STEP_UP = "step_up"
    CONSENT_REFUSED = "consent_refused_advice"


DECIDABLE = (EarlyHelpOutcome.TARGETED_EARLY_HELP, EarlyHelpOutcome.UNIVERSAL_SERVICES, EarlyHelpOutcome.STEP_UP)


class ConversationWith(StrEnum):
    REFERRER = "referrer"
    AGENCY = "agency"
    PARENT = "parent"
    CHILD = "child"
    OTHER = "other"


class Origin(BaseModel):
    """Where the case came from, and what the front door already knew."""

    contact_id: str
    rationale: str | None = None
    level: int | None = None
    quadrant: str | None = None
    recurring_themes: list[str] = Field(default_factory=list)


class EarlyHelpInput(BaseModel):
    case_id: str
    entry: EarlyHelpEntry
    request: Contact  # the intake contract: children, referrer, concerns, consent
    submitted_by: str
    origin: Origin | None = None
    timescales: Timescales = Field(default_factory=Timescales)


# ---------------------------------------------------------------------- actions
class Directions(BaseModel):
    actor: Actor
    directions: str = Reason
    adviser: str | None = None  # the early help adviser allocated


class EarlyHelpConsent(BaseModel):
    actor: Actor
    status: ConsentStatus
    note: str | None = None
    advice: str | None = None  # on refusal: the advice the family is given as the case closes

    @model_validator(mode="after")
    def _status(self) -> EarlyHelpConsent:
        if self.status not in (ConsentStatus.SOUGHT, ConsentStatus.GIVEN, ConsentStatus.REFUSED):
            raise ValueError("early help consent is sought, given or refused (it is voluntary: no override)")
        if self.status == ConsentStatus.REFUSED and not (self.advice and len(self.advice.strip()) >= 3):
            raise ValueError("a refusal closes the case with advice: record the advice given to the family")
        return self


class Conversation(BaseModel):
    actor: Actor
    with_whom: ConversationWith
    name: str = Field(min_length=1, max_length=200)
    agency: Agency | None = None
    summary: str = Field(min_length=3, max_length=4000)

    @model_validator(mode="after")
    def _agency(self) -> Conversation:
        if self.with_whom == ConversationWith.AGENCY and self.agency is None:
            raise ValueError("a conversation with an agency names the agency (e.g. school, gp, health_visitor)")
        return self


class ThresholdConsultation(BaseModel):
    """The adviser consulted a senior adviser or SPA manager: the needs are near the threshold."""

    actor: Actor
    consulted: str = Field(min_length=1, max_length=80)
    consulted_role: Role
    advice: str = Reason

    @model_validator(mode="after")
    def _role(self) -> ThresholdConsultation:
        if self.consulted_role not in (Role.SENIOR_ADVISER, Role.TEAM_MANAGER):
            raise ValueError("consult a senior adviser or an SPA team manager (senior_adviser or team_manager)")
        return self


class FinishGathering(BaseModel):
    actor: Actor
    note: str | None = None


class EarlyHelpRecommendation(BaseModel):
    actor: Actor
    summary: str = Field(min_length=10, max_length=CONCISE)
    recommended_outcome: EarlyHelpOutcome
    quadrant: str | None = None
    history_considered: bool = False


class EarlyHelpDecision(BaseModel):
    actor: Actor
    outcome: EarlyHelpOutcome
    rationale: str = Reason
    quadrant: str | None = None
    recurring_pattern_considered: bool = False


class StepUp(BaseModel):
    actor: Actor
    reason: str = Reason
    level: int = Field(default=4, ge=3, le=4)


# ---------------------------------------------------------------------- state
class ConversationRecord(BaseModel):
    conversation: Conversation
    at: datetime


class ConsultationRecord(BaseModel):
    consultation: ThresholdConsultation
    at: datetime


class EarlyHelpState(BaseModel):
    case_id: str
    entry: EarlyHelpEntry
    origin: Origin | None = None
    stage: EarlyHelpStage
    stage_since: datetime
    holder: str
    received_at: datetime
    source: str
    children: list[str]
    quadrants: list[str]
    directions: Directions | None = None
    directions_at: datetime | None = None
    adviser: str | None = None
    consent_status: ConsentStatus
    consent_from_referrer: bool = True
    consent_events: list[EarlyHelpConsent] = Field(default_factory=list)
    history: HistoryResult | None = None
    conversations: list[ConversationRecord] = Field(default_factory=list)
    consultations: list[ConsultationRecord] = Field(default_factory=list)
    gathering_done_at: datetime | None = None
    recommendation: EarlyHelpRecommendation | None = None
    recommendation_document_id: str | None = None
    decision: EarlyHelpDecision | None = None
    decided_at: datetime | None = None
    step_up: StepUp | None = None
    step_up_contact_id: str | None = None
    steps: list[DeadlineRecord] = Field(default_factory=list)  # each timed step, by name
    outcome: EarlyHelpOutcome | None = None
    quadrant: str | None = None
    team: str | None = None
    closed_at: datetime | None = None
    fault: Fault | None = None
    flags: list[str] = Field(default_factory=list)

    @property
    def recurring_themes(self) -> list[str]:
        return [p.theme for p in self.history.recurring] if self.history else []


class EarlyHelpHandoff(BaseModel):
    case_id: str
    workflow_id: str
    outcome: EarlyHelpOutcome
    team: str | None
    summary: str
    referrer: str | None = None


class EarlyHelpRecordUpdate(BaseModel):
    """The case record's summary row for an early help case (Annex A list 2)."""

    case_id: str
    workflow_id: str
    entry: EarlyHelpEntry
    started_at: datetime
    stage: str
    origin_contact_id: str | None = None
    outcome: str | None = None
    quadrant: str | None = None
    step_up_contact_id: str | None = None
    closed_at: datetime | None = None


class HistoryReview(BaseModel):
    subject_id: str  # earlier records under this id are the case itself, not history
    children: list[Child]
    factors: list[str] = Field(default_factory=list)


# ---------------------------------------------------------------------- case record
class EarlyHelpRow(SQLModel, table=True):
    __tablename__ = "early_help_cases"
    id: str = TableField(primary_key=True, max_length=64)
    workflow_id: str = TableField(index=True)
    entry: str
    origin_contact_id: str | None = TableField(default=None, index=True)
    started_at: datetime = _ts(nullable=False, index=True)
    stage: str = "awaiting_directions"
    outcome: str | None = None
    quadrant: str | None = None
    step_up_contact_id: str | None = None
    closed_at: datetime | None = _ts(nullable=True)
