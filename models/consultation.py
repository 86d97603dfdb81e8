"""The telephone consultation line: a professional rings for advice before referring.

A consultation never uses what children's services already know: no history look-up
runs, even when the caller names the child (the letter: "the status of the call
remains a 'consultation'"). Anonymous consultations store no identity at all.

What the consultant records (Consultation, its Caller, FollowUpCall) refuses unknown
fields (`extra="forbid"`) and takes its limits from models/bounds.py, as the intake
contract does; `Consultation.plausibility_errors(now)` holds the checks against the clock.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    computed_field,
    field_validator,
    model_validator,
)
from sqlalchemy import JSON, Column
from sqlmodel import Field as TableField
from sqlmodel import SQLModel

from models.bounds import (
    MAX_CHILDREN,
    MAX_FACTORS,
    Code,
    Email,
    FieldError,
    Instant,
    Name,
    ReasonText,
    receipt_errors,
)
from models.codes import CIN_FACTORS
from models.contact import ID_SCHEMA, Child, check_factors, check_id, too_many_children
from models.deadline import DeadlineRecord
from models.roles import Actor
from models.signing import PersonAction
from models.state import Fault
from models.tables import _ts
from models.timescales import Timescales

NO_HISTORY_LOOKUP = (
    "No history look-up was made: this call is a consultation, so nothing children's services "
    "already know about the child or family was used or shown."
)


class ConsultationOutcome(StrEnum):
    ADVICE_ONLY = "advice_only"
    REFERRAL_INVITED = "referral_invited"


class FollowUpOutcome(StrEnum):
    """What the consultant found when ringing the caller back."""

    REFERRAL_MADE = "referral_made"
    NO_LONGER_NEEDED = "no_longer_needed"
    ESCALATED = "escalated"


class ConsultationStage(StrEnum):
    RECORDING = "recording"
    AWAITING_REFERRAL = "awaiting_referral"
    FOLLOW_UP = "follow_up"
    CLOSED = "closed"


class ConsultationClosure(StrEnum):
    ADVICE_ONLY = "advice_only"
    REFERRAL_RECEIVED = "referral_received"
    REFERRAL_MADE = "referral_made"
    NO_LONGER_NEEDED = "no_longer_needed"
    ESCALATED = "escalated"


class ConsultationFlag(StrEnum):
    REFERRAL_AWAITED = "referral_awaited"
    FOLLOW_UP_DUE = "follow_up_due"


FORBID = ConfigDict(extra="forbid")


class Caller(BaseModel):
    """The professional who rang (not the family: the caller is always recorded)."""

    model_config = FORBID
    name: Name = Field(min_length=1)
    agency: Name = Field(min_length=1)
    role: Name | None = None
    phone: Code | None = None
    email: Email | None = None


class Consultation(BaseModel):
    """One call, recorded by the consultation line social worker when it ends."""

    model_config = FORBID
    id: Code = Field(json_schema_extra=ID_SCHEMA)
    called_at: Instant
    caller: Caller
    anonymous: bool = False
    children: list[Child] = Field(default_factory=list, max_length=MAX_CHILDREN)
    concern: ReasonText = Field(min_length=3)
    factors: list[Code] = Field(
        default_factory=list, max_length=MAX_FACTORS, json_schema_extra={"items": {"enum": list(CIN_FACTORS)}}
    )
    advice: ReasonText = Field(min_length=3)
    outcome: ConsultationOutcome

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        check_id(value, "CONS-2026-0042")
        return value

    @field_validator("children", mode="wrap")
    @classmethod
    def _identity(cls, value: object, handler: ValidatorFunctionWrapHandler, info: ValidationInfo) -> object:
        if isinstance(value, list) and len(value) > MAX_CHILDREN:
            raise ValueError(too_many_children(len(value)))
        if value and info.data.get("anonymous"):
            raise ValueError("an anonymous consultation stores no identity: leave the children out")
        return handler(value)

    @field_validator("factors")
    @classmethod
    def _factors(cls, value: list[str]) -> list[str]:
        return check_factors(value)

    @model_validator(mode="after")
    def _anonymous(self) -> Consultation:
        if not self.children:
            self.anonymous = True  # no child named: nothing of anyone's identity is stored
        return self

    def plausibility_errors(self, now: datetime) -> list[FieldError]:
        """What is implausible at `now`: see models/bounds.plausibility_errors."""
        errors = receipt_errors("called_at", self.called_at, now, "record the call when it ends")
        called = now if errors else self.called_at
        for i, child in enumerate(self.children):
            errors += child.plausibility_errors(f"children.{i}", called, now)
        return errors

    @property
    def reference(self) -> str | None:
        """The reference an invited referral quotes (consultation_ref in the intake contract)."""
        return self.id if self.outcome == ConsultationOutcome.REFERRAL_INVITED else None


class ConsultationInput(BaseModel):
    consultation: Consultation
    consultant: Actor
    timescales: Timescales = Field(default_factory=Timescales)


class ReferralArrived(BaseModel):
    """Signalled by the contact workflow when a contact quoting the reference arrives."""

    contact_id: str
    received_at: datetime


class FollowUpCall(PersonAction):
    outcome: FollowUpOutcome
    note: ReasonText = Field(min_length=3)
    contact_id: Code | None = Field(default=None, json_schema_extra=ID_SCHEMA)  # when the referral has now been made

    @field_validator("contact_id")
    @classmethod
    def _id(cls, value: str | None) -> str | None:
        return check_id(value)


class ConsultationRecordRow(BaseModel):
    """The case record's summary row: no child identity, ever."""

    id: str
    workflow_id: str
    called_at: datetime
    caller_agency: str
    anonymous: bool
    children_named: int
    factors: list[str]
    outcome: str
    reference: str | None = None
    referral_due_at: datetime | None = None
    referral_contact_id: str | None = None
    referral_received_at: datetime | None = None
    follow_up_raised_at: datetime | None = None
    follow_up_outcome: str | None = None
    closure: str | None = None
    closed_at: datetime | None = None


class ConsultationState(BaseModel):
    consultation_id: str
    reference: str | None
    stage: ConsultationStage
    stage_since: datetime
    holder: str
    called_at: datetime
    caller: Caller
    anonymous: bool
    children: list[str]  # display names; empty when anonymous
    concern: str
    factors: list[str]
    advice: str
    outcome: ConsultationOutcome
    history_lookup: str = NO_HISTORY_LOOKUP
    document_id: str | None = None
    referral_deadline: DeadlineRecord | None = None  # the invited referral is due; a follow-up when it passes
    referral_contact_id: str | None = None
    referral_received_at: datetime | None = None
    referral_on_time: bool | None = None
    follow_up: FollowUpCall | None = None
    follow_up_at: datetime | None = None
    closure: ConsultationClosure | None = None
    closed_at: datetime | None = None
    fault: Fault | None = None
    flags: list[str] = Field(default_factory=list)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def referral_due_at(self) -> datetime | None:
        return self.referral_deadline.due_at if self.referral_deadline else None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def follow_up_raised_at(self) -> datetime | None:
        return self.referral_deadline.passed_at if self.referral_deadline else None


# ---------------------------------------------------------------------- case record
class ConsultationRow(SQLModel, table=True):
    __tablename__ = "consultations"
    id: str = TableField(primary_key=True, max_length=64)
    workflow_id: str = TableField(index=True)
    called_at: datetime = _ts(nullable=False, index=True)
    caller_agency: str
    anonymous: bool = True
    children_named: int = 0
    factors: list[str] = TableField(default_factory=list, sa_column=Column(JSON))
    outcome: str = TableField(index=True)
    reference: str | None = TableField(default=None, index=True)
    referral_due_at: datetime | None = _ts(nullable=True)
    referral_contact_id: str | None = None
    referral_received_at: datetime | None = _ts(nullable=True)
    follow_up_raised_at: datetime | None = _ts(nullable=True)
    follow_up_outcome: str | None = None
    closure: str | None = None
    closed_at: datetime | None = _ts(nullable=True)
