"""The early help hub: consent-based support for lower levels of need.

Manager directions, promptly; parental consent first (early help is voluntary); the
adviser gathers information (referrer, agencies, parents) and reviews history; a
concise recommendation; a decision routes to targeted early help in an area
quadrant, to universal services, or steps the case up into the SPA.

The actions (Directions ... StepUp) refuse unknown fields (`extra="forbid"`) and take
their limits from models/bounds.py, like the contact's actions; a direct request is the
intake contract (models/contact.Contact). Rules are pure: these models are decoded again
when a history replays.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from sqlmodel import Field as TableField
from sqlmodel import SQLModel

from models.bounds import Code, Name, ReasonText, ShortText, SummaryText, Username
from models.codes import Agency, ConsentStatus, Quadrant
from models.contact import Child, Contact
from models.deadline import DeadlineRecord
from models.roles import Role
from models.signing import PersonAction
from models.state import Fault, HistoryResult
from models.tables import _ts
from models.timescales import Timescales

Reason = Field(min_length=3)  # with ReasonText: 3 to REASON_MAX characters
FORBID = ConfigDict(extra="forbid")
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
class Directions(PersonAction):
    directions: ReasonText = Reason
    adviser: Username | None = None  # the early help adviser allocated


class EarlyHelpConsent(PersonAction):
    status: ConsentStatus
    note: ShortText | None = None
    advice: ShortText | None = Field(  # on refusal: the advice the family is given as the case closes
        default=None, validate_default=True, description="required when the status is refused"
    )

    @field_validator("status")
    @classmethod
    def _status(cls, value: ConsentStatus) -> ConsentStatus:
        if value not in (ConsentStatus.SOUGHT, ConsentStatus.GIVEN, ConsentStatus.REFUSED):
            raise ValueError("early help consent is sought, given or refused (it is voluntary: no override)")
        return value

    @field_validator("advice")
    @classmethod
    def _advice(cls, value: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("status") == ConsentStatus.REFUSED and not (value and len(value.strip()) >= 3):
            raise ValueError("a refusal closes the case with advice: record the advice given to the family")
        return value


class Conversation(PersonAction):
    with_whom: ConversationWith
    name: Name = Field(min_length=1)
    agency: Agency | None = Field(default=None, validate_default=True, description="required when with_whom is agency")
    summary: ReasonText = Field(min_length=3)

    @field_validator("agency")
    @classmethod
    def _agency(cls, value: Agency | None, info: ValidationInfo) -> Agency | None:
        if info.data.get("with_whom") == ConversationWith.AGENCY and value is None:
            raise ValueError("a conversation with an agency names the agency (e.g. school, gp, health_visitor)")
        return value


class ThresholdConsultation(PersonAction):
    """The adviser consulted a senior adviser or SPA manager: the needs are near the threshold."""

    consulted: Username = Field(min_length=1)
    consulted_role: Role
    advice: ReasonText = Reason

    @field_validator("consulted_role")
    @classmethod
    def _role(cls, value: Role) -> Role:
        if value not in (Role.SENIOR_ADVISER, Role.TEAM_MANAGER):
            raise ValueError("consult a senior adviser or an SPA team manager (senior_adviser or team_manager)")
        return value


class FinishGathering(PersonAction):
    note: ShortText | None = None


class EarlyHelpRecommendation(PersonAction):
    summary: SummaryText = Field(min_length=10, max_length=CONCISE)
    recommended_outcome: EarlyHelpOutcome
    quadrant: Code | None = None
    history_considered: bool = False


class EarlyHelpDecision(PersonAction):
    outcome: EarlyHelpOutcome
    rationale: ReasonText = Reason
    quadrant: Code | None = None
    recurring_pattern_considered: bool = False


class StepUp(PersonAction):
    reason: ReasonText = Reason
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
    # when the request was received: the recurring-pattern look-back counts back from it
    # (None: the activity reads it from the case record, or takes the time of the review)
    received_at: datetime | None = None


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
