"""The telephone consultation line: a professional rings for advice before referring.

A consultation never uses what children's services already know: no history look-up
runs, even when the caller names the child (the letter: "the status of the call
remains a 'consultation'"). Anonymous consultations store no identity at all.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field, computed_field, field_validator, model_validator
from sqlalchemy import JSON, Column
from sqlmodel import Field as TableField
from sqlmodel import SQLModel

from models.codes import CIN_FACTORS
from models.contact import CONTACT_ID, Child
from models.deadline import DeadlineRecord
from models.roles import Actor
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


class Caller(BaseModel):
    """The professional who rang (not the family: the caller is always recorded)."""

    name: str = Field(min_length=1, max_length=200)
    agency: str = Field(min_length=1, max_length=200)
    role: str | None = None
    phone: str | None = None
    email: str | None = None


class Consultation(BaseModel):
    """One call, recorded by the consultation line social worker when it ends."""

    id: str
    called_at: datetime
    caller: Caller
    anonymous: bool = False
    children: list[Child] = Field(default_factory=list)
    concern: str = Field(min_length=3, max_length=4000)
    factors: list[str] = Field(default_factory=list)
    advice: str = Field(min_length=3, max_length=4000)
    outcome: ConsultationOutcome

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not CONTACT_ID.match(value):
            raise ValueError("use letters, digits, '.', '_' or '-' (up to 64), e.g. CONS-2026-0042")
        return value

    @field_validator("called_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("give a time zone, e.g. 2026-11-26T09:14:00Z")
        return value

    @field_validator("factors")
    @classmethod
    def _factors(cls, value: list[str]) -> list[str]:
        unknown = [f for f in value if f not in CIN_FACTORS]
        if unknown:
            raise ValueError(f"unknown CIN factor code(s) {', '.join(unknown)}; see models/codes.py CIN_FACTORS")
        return value

    @model_validator(mode="after")
    def _identity(self) -> Consultation:
        if self.anonymous and self.children:
            raise ValueError("an anonymous consultation stores no identity: leave the children out")
        if not self.children:
            self.anonymous = True
        return self

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


class FollowUpCall(BaseModel):
    actor: Actor
    outcome: FollowUpOutcome
    note: str = Field(min_length=3, max_length=4000)
    contact_id: str | None = None  # when the caller says the referral has now been made


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
