"""A contact's state as the workflow holds it; returned by queries and updates."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, Field, computed_field

from models.actions import (
    ConsentOverride,
    ManagementDecision,
    Recommendation,
    Review,
    Triage,
)
from models.codes import THEMES, Agency, ConsentStatus, LevelOfNeed, Outcome
from models.contact import Contact
from models.deadline import DeadlineRecord, ExtensionRecord
from models.discussion import DiscussionRecord
from models.roles import Actor
from models.timescales import Timescales


class Stage(StrEnum):
    INTAKE = "intake"
    HISTORY_CHECK = "history_check"
    AWAITING_TRIAGE = "awaiting_triage"
    AWAITING_PICKUP = "awaiting_pickup"
    AWAITING_CONSENT = "awaiting_consent"
    MAP_CHECKS = "map_checks"
    AWAITING_RECOMMENDATION = "awaiting_recommendation"
    AWAITING_DECISION = "awaiting_decision"
    HANDOFF = "handoff"
    CLOSED = "closed"


class Flag(StrEnum):
    """Stuck states, kept in the FdFlags search attribute so each is one visibility query."""

    UNREVIEWED = "unreviewed"
    REVIEW_LATE = "review_late"
    DECISION_OVERDUE = "decision_overdue"
    AGENCY_LATE = "agency_late"
    AWAITING_PICKUP = "awaiting_pickup"
    PICKUP_LATE = "pickup_late"
    FAULTED = "faulted"
    POLICE_DELAY = "police_delay"
    RECURRING_PATTERN = "recurring_pattern"


class StepUpEntry(BaseModel):
    """An early help case stepped up into the SPA: the step-up is its triage."""

    early_help_case_id: str
    actor: Actor
    reason: str
    level: LevelOfNeed = LevelOfNeed.SPECIALIST


class ContactWorkflowInput(BaseModel):
    contact: Contact
    submitted_by: str
    timescales: Timescales = Field(default_factory=Timescales)
    review_due_at: datetime  # end of the arrival day in the service's time zone
    entry: str = "front_door"  # or "step_up": skips triage and enters the SPA directly
    step_up: StepUpEntry | None = None


class HistoryMatch(BaseModel):
    """An earlier contact (or imported record) about one of this contact's children."""

    child_index: int  # which child of this contact
    earlier_contact_id: str
    received_at: datetime
    matched_on: str  # e.g. "nhs_number", "local_id", "name + date of birth"
    confidence: str  # "exact" or "probable"
    themes: list[str] = Field(default_factory=list)
    outcome: str | None = None
    kind: str = "contact"  # contact | prior (imported from a legacy system) | early_help


class RecurringPattern(BaseModel):
    """A concern theme that recurs, and how it was counted (so a screen can say
    "2nd domestic abuse contact in 12 months").

    Histories recorded before the look-back window have only theme, occurrences and
    contact_ids: there, occurrences counted earlier contacts only, which is what the
    defaults below say (this contact not included, no window).
    """

    theme: str
    occurrences: int  # contacts carrying the theme in the window, this one included when it carries it
    contact_ids: list[str]  # the earlier contacts carrying it, oldest first
    includes_this_contact: bool = False  # this contact carries the theme too
    window_months: int | None = None  # the look-back window counted in; None: all history
    child_indexes: list[int] = Field(default_factory=list)  # this contact's children whose history it is

    @computed_field  # type: ignore[prop-decorator]
    @property
    def summary(self) -> str:
        name = THEMES.get(self.theme, self.theme.replace("_", " ")).lower()
        window = f" in {self.window_months} months" if self.window_months else ""
        if self.includes_this_contact:
            return f"{ordinal(self.occurrences)} {name} contact{window}"
        earlier = len(self.contact_ids)
        return f"{name} in {earlier} earlier contact{'' if earlier == 1 else 's'}{window}" + (
            " (not in this one)" if self.window_months else ""
        )


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


class ThresholdSuggestion(BaseModel):
    level: LevelOfNeed
    reasons: list[str]
    rule_ids: list[str] = Field(default_factory=list)


class HistoryResult(BaseModel):
    matches: list[HistoryMatch] = Field(default_factory=list)  # the most recent, oldest first
    recurring: list[RecurringPattern] = Field(default_factory=list)
    suggestion: ThresholdSuggestion | None = None
    checked_at: datetime | None = None
    earlier_contacts: int | None = None  # distinct earlier contacts found (None: recorded before this was kept)
    matches_not_shown: int = 0  # older matches left out of `matches` (models/bounds.MAX_HISTORY_MATCHES)


class MapCheck(BaseModel):
    agency: Agency
    requested_at: datetime
    requested_by: str
    deadline: DeadlineRecord  # the agency's answer is due; it is chased when this passes
    document_id: str | None = None
    responded_at: datetime | None = None
    response: str | None = None
    known_to_agency: bool | None = None
    waived_reason: str | None = None
    waived_by: str | None = None

    @property
    def outstanding(self) -> bool:
        return self.responded_at is None and self.waived_reason is None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def due_at(self) -> datetime | None:
        return self.deadline.due_at

    @computed_field  # type: ignore[prop-decorator]
    @property
    def chased_at(self) -> datetime | None:
        return self.deadline.passed_at


class ConsentEvent(BaseModel):
    at: datetime
    by: str
    status: ConsentStatus
    note: str | None = None


class ConsentState(BaseModel):
    status: ConsentStatus
    from_referrer: bool
    events: list[ConsentEvent] = Field(default_factory=list)
    override: ConsentOverride | None = None

    @property
    def cleared_for_map(self) -> bool:
        return self.status in (ConsentStatus.GIVEN, ConsentStatus.OVERRIDDEN)


class Fault(BaseModel):
    activity: str
    error: str
    since: datetime
    attempts: int


class Handoff(BaseModel):
    team: str | None
    outcome: Outcome
    at: datetime
    handoff_id: str
    feedback_document_id: str | None = None


class ContactState(BaseModel):
    contact_id: str
    stage: Stage
    stage_since: datetime
    holder: str
    received_at: datetime
    source: str
    children: list[str]  # display names, for screens
    police_delay: timedelta | None = None
    police_delay_flagged: bool = False
    history: HistoryResult | None = None
    history_considered_by: list[str] = Field(default_factory=list)
    triage: Triage | None = None
    triaged_at: datetime | None = None
    suggested_level: LevelOfNeed | None = None
    review: Review | None = None
    reviewed_at: datetime | None = None
    review_deadline: DeadlineRecord  # the end of the arrival day
    pickup_deadline: DeadlineRecord | None = None  # urgent contacts: picked up within the hour
    picked_up_by: str | None = None
    picked_up_at: datetime | None = None
    consent: ConsentState
    map_checks: list[MapCheck] = Field(default_factory=list)
    recommendation: Recommendation | None = None
    recommendation_document_id: str | None = None
    spa_entered_at: datetime | None = None
    decision_deadline: DeadlineRecord | None = None  # from SPA arrival; extensions move it
    decision: ManagementDecision | None = None
    decided_at: datetime | None = None
    handoff: Handoff | None = None
    outcome: Outcome | None = None
    closed_at: datetime | None = None
    fault: Fault | None = None
    flags: list[str] = Field(default_factory=list)
    consultation_linked: bool | None = None  # quoted a consultation_ref: was it linked?
    early_help_case_id: str | None = None  # the early help case this contact started
    discussions: list[DiscussionRecord] = Field(default_factory=list)  # put to the morning case discussion

    @property
    def discussion_pending(self) -> DiscussionRecord | None:
        """A question on a morning discussion's agenda, not yet discussed."""
        return next((d for d in self.discussions if d.outcome is None), None)

    @property
    def outstanding_agencies(self) -> list[MapCheck]:
        return [m for m in self.map_checks if m.outstanding]

    @property
    def recurring_themes(self) -> list[str]:
        return [p.theme for p in self.history.recurring] if self.history else []

    # The deadlines as screens, reports and partner systems have always read them.
    @computed_field  # type: ignore[prop-decorator]
    @property
    def decision_due_at(self) -> datetime | None:
        return self.decision_deadline.due_at if self.decision_deadline else None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def decision_overdue(self) -> bool:
        return bool(self.decision_deadline and self.decision_deadline.passed_at is not None)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def extensions(self) -> list[ExtensionRecord]:
        return list(self.decision_deadline.extensions) if self.decision_deadline else []

    @computed_field  # type: ignore[prop-decorator]
    @property
    def review_due_at(self) -> datetime | None:
        return self.review_deadline.due_at

    @computed_field  # type: ignore[prop-decorator]
    @property
    def review_late(self) -> bool:
        return self.review_deadline.passed_at is not None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def pickup_due_at(self) -> datetime | None:
        return self.pickup_deadline.due_at if self.pickup_deadline else None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def pickup_escalated(self) -> bool:
        return bool(self.pickup_deadline and self.pickup_deadline.passed_at is not None)
