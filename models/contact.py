"""The intake contract: a contact exactly as partner systems send it (FRONT_DOOR.md).

Field names are fixed so partner systems can send them: the front door adds fields, it
never renames these. Every limit comes from models/bounds.py.

Unknown fields are refused (`extra="forbid"`), at every level, with a 422 naming them.
Decided deliberately: the contract is ours to extend ("add fields, don't rename"), so a
field the front door does not know is either a typo of one it does (a misspelt
`consultation_ref` would silently lose the link to the consultation) or data nobody
reads, kept unbounded beside a child's record; both are better refused with the field's
name than stored. Nothing here is open: no field takes free-form JSON, so there is no
nesting to bound. A partner system that needs a new field asks for it to be added here.
Histories recorded before this rule held no unknown fields (tests/test_replay.py).

Shape rules are pydantic constraints and hold on every decode (workflow inputs are
decoded again on replay): they are pure and never read the clock. Rules against the
clock (a receipt not in the future, a child under 25, an unborn child's due date) are in
`Contact.plausibility_errors(now)`, called by the interface through
`models.bounds.plausibility_errors` before a workflow starts.
"""

from __future__ import annotations

import re
from datetime import datetime

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    field_validator,
    model_validator,
)

from models.bounds import (
    MAX_CHILDREN,
    MAX_FACTORS,
    CalendarDate,
    Code,
    Email,
    FieldError,
    Instant,
    Name,
    ShortText,
    SummaryText,
    birth_errors,
    due_date_errors,
    police_attendance_errors,
    receipt_errors,
)
from models.codes import CIN_FACTORS, CIN_SOURCES, ETHNICITIES, POLICE_SOURCE, ConsentStatus, Sex

CONTACT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
# the schema says what the validator checks
ID_SCHEMA: dict[str, JsonValue] = {"pattern": CONTACT_ID.pattern, "maxLength": 64}
FORBID = ConfigDict(extra="forbid")


def check_id(value: str | None, example: str = "C-2026-000123") -> str | None:
    if value is not None and not CONTACT_ID.match(value):
        raise ValueError(f"use letters, digits, '.', '_' or '-' (up to 64), e.g. {example}")
    return value


def check_factors(value: list[str], hint: str = "see models/codes.py CIN_FACTORS") -> list[str]:
    """CIN factor codes from outside, each one known (`hint` tells the sender where to find them)."""
    unknown = [f for f in value if f not in CIN_FACTORS]
    if unknown:
        raise ValueError(f"unknown CIN factor code(s) {', '.join(unknown)}; {hint}")
    return value


def too_many_children(n: int) -> str:
    return f"at most {MAX_CHILDREN} children may be named ({n} given): send a larger group as more than one contact"


class Referrer(BaseModel):
    model_config = FORBID
    name: Name | None = None
    agency: Name | None = None
    role: Name | None = None
    phone: Code | None = None
    email: Email | None = None


class Child(BaseModel):
    """A child named in a contact. An unborn child (a pre-birth concern) carries
    `expected_due_date` instead of `date_of_birth`."""

    model_config = FORBID
    local_id: Code | None = None
    nhs_number: Code | None = Field(default=None, json_schema_extra={"pattern": r"^[0-9 ]{10,16}$"})
    first_name: Name | None = None
    last_name: Name | None = None
    date_of_birth: CalendarDate | None = None
    expected_due_date: CalendarDate | None = Field(
        default=None, validate_default=True, description="an unborn child's expected due date, instead of date_of_birth"
    )
    sex: Sex | None = None
    ethnicity: Code | None = Field(default=None, json_schema_extra={"enum": [*ETHNICITIES, None]})
    postcode: Code | None = None

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

    @field_validator("expected_due_date")
    @classmethod
    def _unborn(cls, value: object, info: ValidationInfo) -> object:
        if value is not None and info.data.get("date_of_birth") is not None:
            raise ValueError(
                "give date_of_birth for a child who has been born, or expected_due_date for an unborn child, not both"
            )
        return value

    @field_validator("ethnicity")
    @classmethod
    def _ethnicity(cls, value: str | None) -> str | None:
        if value is not None and value not in ETHNICITIES:
            raise ValueError(f"unknown DfE ethnicity code {value!r}; use one of {', '.join(ETHNICITIES)}")
        return value

    @model_validator(mode="after")
    def _identifiable(self) -> Child:
        if not (self.local_id or self.nhs_number or self.first_name or self.last_name):
            raise ValueError(
                "each child needs a name or an identifier (local_id or nhs_number); "
                "an unborn child, e.g. the family's last_name with expected_due_date"
            )
        return self

    @property
    def unborn(self) -> bool:
        return self.expected_due_date is not None

    @property
    def display_name(self) -> str:
        name = " ".join(p for p in (self.first_name, self.last_name) if p) or self.local_id or self.nhs_number
        if self.unborn:
            return f"{name} (unborn)" if name else "unborn child"
        return name or "unnamed child"

    def plausibility_errors(self, path: str, received_at: datetime, now: datetime) -> list[FieldError]:
        errors: list[FieldError] = []
        if self.date_of_birth is not None:
            errors += birth_errors(f"{path}.date_of_birth", self.date_of_birth, received_at, now)
        if self.expected_due_date is not None:
            errors += due_date_errors(f"{path}.expected_due_date", self.expected_due_date, received_at)
        return errors


class Concerns(BaseModel):
    model_config = FORBID
    factors: list[Code] = Field(
        default_factory=list, max_length=MAX_FACTORS, json_schema_extra={"items": {"enum": list(CIN_FACTORS)}}
    )
    summary: SummaryText = ""

    @field_validator("factors")
    @classmethod
    def _factors(cls, value: list[str]) -> list[str]:
        return check_factors(value)


class ConsentStatement(BaseModel):
    model_config = FORBID
    status: ConsentStatus = ConsentStatus.NOT_SOUGHT
    note: ShortText | None = None

    @field_validator("status")
    @classmethod
    def _status(cls, value: ConsentStatus) -> ConsentStatus:
        if value not in (ConsentStatus.GIVEN, ConsentStatus.REFUSED, ConsentStatus.NOT_SOUGHT):
            raise ValueError("a referrer's consent status is one of given, refused, not_sought")
        return value


class Contact(BaseModel):
    """A contact about one or more children. Field names are fixed: add, never rename."""

    model_config = FORBID
    id: Code = Field(json_schema_extra=ID_SCHEMA)
    received_at: Instant
    source: Code = Field(json_schema_extra={"enum": list(CIN_SOURCES)})
    referrer: Referrer
    children: list[Child] = Field(
        min_length=1, max_length=MAX_CHILDREN,
        description=f"at least one child with a name or an identifier; at most {MAX_CHILDREN}",
    )
    concerns: Concerns = Field(default_factory=Concerns)
    consent: ConsentStatement = Field(default_factory=ConsentStatement)
    police_attendance_at: Instant | None = Field(
        default=None, validate_default=True,
        description="required when the source is 6 (police), refused otherwise; not after received_at",
    )
    consultation_ref: Code | None = Field(default=None, json_schema_extra=ID_SCHEMA)
    missing_episode_ref: Code | None = Field(
        default=None, json_schema_extra=ID_SCHEMA,
        description="the police reference of the missing episode whose return home interview raised this contact",
    )

    @field_validator("id", "consultation_ref", "missing_episode_ref")
    @classmethod
    def _id(cls, value: str | None) -> str | None:
        return check_id(value)

    @field_validator("source")
    @classmethod
    def _source(cls, value: str) -> str:
        if value not in CIN_SOURCES:
            raise ValueError(f"unknown CIN source code {value!r}; use one of {', '.join(CIN_SOURCES)} (6 = police)")
        return value

    @field_validator("children", mode="wrap")
    @classmethod
    def _how_many(cls, value: object, handler: ValidatorFunctionWrapHandler) -> object:
        if isinstance(value, list) and len(value) > MAX_CHILDREN:
            raise ValueError(too_many_children(len(value)))
        return handler(value)

    @field_validator("police_attendance_at")
    @classmethod
    def _police(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        source, received = info.data.get("source"), info.data.get("received_at")
        if source == POLICE_SOURCE and value is None:
            raise ValueError("police_attendance_at is required when the source is 6 (police)")
        if source is not None and source != POLICE_SOURCE and value is not None:
            raise ValueError("police_attendance_at is only for police notifications (source 6)")
        if value is not None and received is not None and value > received:
            raise ValueError("police_attendance_at is after received_at: check the two times")
        return value

    def plausibility_errors(self, now: datetime) -> list[FieldError]:
        """What is implausible at `now`: see models/bounds.plausibility_errors."""
        errors = receipt_errors("received_at", self.received_at, now)
        # the other times are weighed against the receipt; when that is wrong, against now
        received = now if errors else self.received_at
        if self.police_attendance_at is not None and not errors:
            errors += police_attendance_errors("police_attendance_at", self.police_attendance_at, received)
        for i, child in enumerate(self.children):
            errors += child.plausibility_errors(f"children.{i}", received, now)
        return errors

