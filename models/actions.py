"""Human actions on a contact: the inputs of the ContactWorkflow's Updates.

Shape checks live here (pydantic, limits from models/bounds.py); stage and role checks
live in the workflow's validators, which see the contact's state. Unknown fields are
refused (`extra="forbid"`): an action is typed by a person or a script against the
OpenAPI schema, so an unknown field is a mistake to report, never data to keep. These
models are decoded again when a history replays: their rules are pure, never read the
clock, and a rule across fields names the field it is about.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from models.bounds import MAX_AGENCIES, Instant, ReasonText, ShortText, SummaryText, Username
from models.codes import (
    Agency,
    ConsentOverrideReason,
    ConsentStatus,
    ExtensionReason,
    LevelOfNeed,
    Outcome,
    Quadrant,
    Rag,
    Route,
)
from models.signing import PersonAction

Reason = Field(min_length=3)  # with ReasonText: 3 to REASON_MAX characters
FORBID = ConfigDict(extra="forbid")


class ThresholdAdvice(BaseModel):
    """Advice an RfS officer sought from a social worker: the letter says it went unrecorded."""

    model_config = FORBID
    given_by: Username = Field(min_length=1)
    advice: ReasonText = Field(min_length=3)
    reasons: ReasonText = Field(min_length=3)


class Triage(PersonAction):
    level: LevelOfNeed
    route: Route
    rationale: ReasonText = Reason
    threshold_advice: ThresholdAdvice | None = None
    departure_reason: ReasonText | None = None  # why the level differs from the suggestion
    history_considered: bool = False


class Review(PersonAction):
    rag: Rag
    note: ShortText | None = None


class Pickup(PersonAction):
    note: ShortText | None = None


class ConsentUpdate(PersonAction):
    """Consent sought, given or refused (not overridden: see ConsentOverride)."""

    status: ConsentStatus
    note: ShortText | None = None

    @field_validator("status")
    @classmethod
    def _status(cls, value: ConsentStatus) -> ConsentStatus:
        if value not in (ConsentStatus.SOUGHT, ConsentStatus.GIVEN, ConsentStatus.REFUSED):
            raise ValueError("consent is recorded as sought, given or refused; a manager overrides it separately")
        return value


class ConsentOverride(PersonAction):
    reason: ConsentOverrideReason
    explanation: ReasonText = Reason


class MapRequest(PersonAction):
    agencies: list[Agency] = Field(min_length=1, max_length=MAX_AGENCIES)
    questions: ShortText | None = None


class MapResponse(PersonAction):
    agency: Agency
    information: SummaryText = Field(min_length=1)
    known_to_agency: bool = True


class ProceedWithoutAgency(PersonAction):
    agency: Agency
    reason: ReasonText = Reason


class Recommendation(PersonAction):
    summary: SummaryText = Field(min_length=10)
    recommended_outcome: Outcome
    quadrant: Quadrant | None = None


class ManagementDecision(PersonAction):
    outcome: Outcome
    rationale: ReasonText = Reason
    quadrant: Quadrant | None = Field(
        default=None, validate_default=True, description="required when the outcome is targeted_early_help"
    )
    recurring_pattern_considered: bool = False

    @field_validator("quadrant")
    @classmethod
    def _quadrant(cls, value: Quadrant | None, info: ValidationInfo) -> Quadrant | None:
        if info.data.get("outcome") == Outcome.TARGETED_EARLY_HELP and value is None:
            raise ValueError("targeted early help needs a quadrant: north_west, north_east, south_west or south_east")
        return value


class Extension(PersonAction):
    """A new decision deadline. Its span (forward, at most Timescales' maximum) is checked
    against the current deadline by the workflow's validator (models.bounds.extension_errors)."""

    reason: ExtensionReason
    new_deadline: Instant
    explanation: ReasonText | None = Field(
        default=None, validate_default=True, description="required when the reason is other"
    )

    @field_validator("explanation")
    @classmethod
    def _other(cls, value: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("reason") == ExtensionReason.OTHER and not (value and value.strip()):
            raise ValueError("an extension for 'other' reason needs an explanation")
        return value


class RetryFault(PersonAction):
    note: ShortText | None = None
