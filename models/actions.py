"""Human actions on a contact: the inputs of the ContactWorkflow's Updates.

Shape checks live here (pydantic); stage and role checks live in the workflow's
validators, which see the contact's state.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field, model_validator

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
from models.roles import Actor

Reason = Field(min_length=3, max_length=4000)


class ThresholdAdvice(BaseModel):
    """Advice an RfS officer sought from a social worker: the letter says it went unrecorded."""

    given_by: str = Field(min_length=1)
    advice: str = Field(min_length=3)
    reasons: str = Field(min_length=3)


class Triage(BaseModel):
    actor: Actor
    level: LevelOfNeed
    route: Route
    rationale: str = Reason
    threshold_advice: ThresholdAdvice | None = None
    departure_reason: str | None = None  # why the level differs from the suggestion
    history_considered: bool = False


class Review(BaseModel):
    actor: Actor
    rag: Rag
    note: str | None = None


class Pickup(BaseModel):
    actor: Actor
    note: str | None = None


class ConsentUpdate(BaseModel):
    """Consent sought, given or refused (not overridden: see ConsentOverride)."""

    actor: Actor
    status: ConsentStatus
    note: str | None = None

    @model_validator(mode="after")
    def _status(self) -> ConsentUpdate:
        if self.status not in (ConsentStatus.SOUGHT, ConsentStatus.GIVEN, ConsentStatus.REFUSED):
            raise ValueError("consent is recorded as sought, given or refused; a manager overrides it separately")
        return self


class ConsentOverride(BaseModel):
    actor: Actor
    reason: ConsentOverrideReason
    explanation: str = Reason


class MapRequest(BaseModel):
    actor: Actor
    agencies: list[Agency] = Field(min_length=1)
    questions: str | None = None


class MapResponse(BaseModel):
    actor: Actor
    agency: Agency
    information: str = Field(min_length=1)
    known_to_agency: bool = True


class ProceedWithoutAgency(BaseModel):
    actor: Actor
    agency: Agency
    reason: str = Reason


class Recommendation(BaseModel):
    actor: Actor
    summary: str = Field(min_length=10)
    recommended_outcome: Outcome
    quadrant: Quadrant | None = None


class ManagementDecision(BaseModel):
    actor: Actor
    outcome: Outcome
    rationale: str = Reason
    quadrant: Quadrant | None = None
    recurring_pattern_considered: bool = False

    @model_validator(mode="after")
    def _quadrant(self) -> ManagementDecision:
        if self.outcome == Outcome.TARGETED_EARLY_HELP and self.quadrant is None:
            raise ValueError("targeted early help needs a quadrant: north_west, north_east, south_west or south_east")
        return self


class Extension(BaseModel):
    actor: Actor
    reason: ExtensionReason
    new_deadline: datetime
    explanation: str | None = None

    @model_validator(mode="after")
    def _other(self) -> Extension:
        if self.reason == ExtensionReason.OTHER and not (self.explanation and self.explanation.strip()):
            raise ValueError("an extension for 'other' reason needs an explanation")
        if self.new_deadline.tzinfo is None:
            raise ValueError("give the new deadline with a time zone, e.g. 2026-11-27T17:00:00Z")
        return self


class RetryFault(BaseModel):
    actor: Actor
    note: str | None = None
