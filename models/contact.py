"""The intake contract: a contact exactly as partner systems send it (FRONT_DOOR.md)."""

from __future__ import annotations

import re
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from models.codes import CIN_FACTORS, CIN_SOURCES, ETHNICITIES, POLICE_SOURCE, ConsentStatus, Sex

CONTACT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class Referrer(BaseModel):
    model_config = ConfigDict(extra="allow")
    name: str | None = None
    agency: str | None = None
    role: str | None = None
    phone: str | None = None
    email: str | None = None


class Child(BaseModel):
    model_config = ConfigDict(extra="allow")
    local_id: str | None = None
    nhs_number: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    date_of_birth: date | None = None
    sex: Sex | None = None
    ethnicity: str | None = None
    postcode: str | None = None

    @field_validator("nhs_number")
    @classmethod
    def _nhs_number(cls, value: str | None) -> str | None:
        if value is None:
            return None
        digits = value.replace(" ", "")
        if not (digits.isdigit() and len(digits) == 10):
            raise ValueError("an NHS number has 10 digits")
        weights = range(10, 1, -1)
        check = 11 - sum(int(d) * w for d, w in zip(digits[:9], weights, strict=True)) % 11
        check = 0 if check == 11 else check
        if check == 10 or check != int(digits[9]):
            raise ValueError("the NHS number's check digit is wrong: check it was copied correctly")
        return digits

    @field_validator("ethnicity")
    @classmethod
    def _ethnicity(cls, value: str | None) -> str | None:
        if value is not None and value not in ETHNICITIES:
            raise ValueError(f"unknown DfE ethnicity code {value!r}; use one of {', '.join(ETHNICITIES)}")
        return value

    @model_validator(mode="after")
    def _identifiable(self) -> Child:
        if not (self.local_id or self.nhs_number or self.first_name or self.last_name):
            raise ValueError("each child needs a name or an identifier (local_id or nhs_number)")
        return self

    @property
    def display_name(self) -> str:
        name = " ".join(p for p in (self.first_name, self.last_name) if p)
        return name or self.local_id or self.nhs_number or "unnamed child"


class Concerns(BaseModel):
    model_config = ConfigDict(extra="allow")
    factors: list[str] = Field(default_factory=list)
    summary: str = ""

    @field_validator("factors")
    @classmethod
    def _factors(cls, value: list[str]) -> list[str]:
        unknown = [f for f in value if f not in CIN_FACTORS]
        if unknown:
            raise ValueError(f"unknown CIN factor code(s) {', '.join(unknown)}; see models/codes.py CIN_FACTORS")
        return value


class ConsentStatement(BaseModel):
    model_config = ConfigDict(extra="allow")
    status: ConsentStatus = ConsentStatus.NOT_SOUGHT
    note: str | None = None

    @field_validator("status")
    @classmethod
    def _status(cls, value: ConsentStatus) -> ConsentStatus:
        if value not in (ConsentStatus.GIVEN, ConsentStatus.REFUSED, ConsentStatus.NOT_SOUGHT):
            raise ValueError("a referrer's consent status is one of given, refused, not_sought")
        return value


class Contact(BaseModel):
    """A contact about one or more children. Field names are fixed: add, never rename."""

    model_config = ConfigDict(extra="allow")
    id: str
    received_at: datetime
    source: str
    referrer: Referrer
    children: list[Child] = Field(min_length=1)
    concerns: Concerns = Field(default_factory=Concerns)
    consent: ConsentStatement = Field(default_factory=ConsentStatement)
    police_attendance_at: datetime | None = None
    consultation_ref: str | None = None

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not CONTACT_ID.match(value):
            raise ValueError("use letters, digits, '.', '_' or '-' (up to 64), e.g. C-2026-000123")
        return value

    @field_validator("received_at", "police_attendance_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("give a time zone, e.g. 2026-11-26T09:14:00Z")
        return value

    @field_validator("source")
    @classmethod
    def _source(cls, value: str) -> str:
        if value not in CIN_SOURCES:
            raise ValueError(f"unknown CIN source code {value!r}; use one of {', '.join(CIN_SOURCES)} (6 = police)")
        return value

    @model_validator(mode="after")
    def _police(self) -> Contact:
        if self.source == POLICE_SOURCE and self.police_attendance_at is None:
            raise ValueError("police_attendance_at is required when the source is 6 (police)")
        if self.source != POLICE_SOURCE and self.police_attendance_at is not None:
            raise ValueError("police_attendance_at is only for police notifications (source 6)")
        if self.police_attendance_at and self.police_attendance_at > self.received_at:
            raise ValueError("police_attendance_at is after received_at: check the two times")
        return self
