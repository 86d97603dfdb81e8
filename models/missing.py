"""Children missing from home, school and care, and the return home interview.

The letter: "A designated early help worker is provided with regular, updated information
on children missing from home, school and care by the police each day. This reduces delays
in requesting return home interviews, as police reports on missing children are often
submitted late."

The police's daily list is a list of `MissingEpisodeReport`s (JSON, or CSV with the columns
in `CSV_COLUMNS`); each episode is one workflow (`missing-{police_ref}`). Once the child has
returned, a return home interview must be offered within 72 hours of the return
(Timescales.return_interview); then it is done or declined, with what the child said and
any concerns as CIN factor codes. The delay from the return to the list that first carried
it is kept: police reports are "often submitted late".

Shape rules are pydantic constraints and pure (inputs are decoded again on replay); rules
against the clock are in `MissingEpisodeReport.plausibility_errors(now)`.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    ValidationInfo,
    computed_field,
    field_validator,
)
from sqlalchemy import JSON, Column
from sqlmodel import Field as TableField
from sqlmodel import SQLModel

from models.bounds import (
    CLOCK_SKEW,
    MAX_FACTORS,
    Code,
    FieldError,
    Instant,
    Name,
    ReasonText,
    ShortText,
    SummaryText,
    receipt_errors,
    split_box,
)
from models.codes import CIN_FACTORS
from models.contact import Child, check_factors
from models.deadline import DeadlineRecord
from models.signing import PersonAction
from models.state import Fault, HistoryResult
from models.tables import _ts
from models.timescales import Timescales

FORBID = ConfigDict(extra="forbid")
POLICE_REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,55}$")
# 56 characters at most, so the contact an episode raises ("{ref}-RHI") is a valid contact id
POLICE_REF_SCHEMA: dict[str, JsonValue] = {"pattern": POLICE_REF.pattern, "maxLength": 56}
MAX_LIST_ROWS = 5_000  # episodes on one daily list
MAX_LIST_BYTES = 5_000_000  # a daily list's file
MAX_LISTS_KEPT = 20  # lists named on one episode
GOING_MISSING = "10A"  # CIN factor: going missing


class MissingFrom(StrEnum):
    HOME = "home"
    CARE = "care"
    SCHOOL = "school"


class RiskGrading(StrEnum):
    """The police's risk grading of a missing episode."""

    NO_APPARENT_RISK = "no_apparent_risk"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class MissingStage(StrEnum):
    HISTORY_CHECK = "history_check"
    MISSING = "missing"  # not yet returned
    AWAITING_OFFER = "awaiting_offer"  # returned: the interview must be offered within 72 hours
    INTERVIEW_OFFERED = "interview_offered"  # offered: awaiting the interview, or the child's refusal
    CLOSED = "closed"


class MissingFlag(StrEnum):
    STILL_MISSING = "still_missing"
    AWAITING_OFFER = "interview_awaiting_offer"
    INTERVIEW_OVERDUE = "interview_overdue"  # the 72 hours passed without an offer
    LATE_POLICE_REPORT = "late_police_report"  # the return reached us late
    REPEAT_MISSING = "repeat_missing"  # the child's 3rd episode (or more) in 90 days
    CONTACT_SUGGESTED = "contact_suggested"  # repeat missing, and no contact raised yet
    HIGH_RISK = "high_risk"


class OfferMethod(StrEnum):
    PHONE = "phone"
    VISIT = "visit"
    LETTER = "letter"
    TEXT_MESSAGE = "text_message"
    THROUGH_CARER = "through_carer"
    THROUGH_SCHOOL = "through_school"


class InterviewOutcome(StrEnum):
    DONE = "done"
    DECLINED = "declined"


def check_police_ref(value: str) -> str:
    if not POLICE_REF.match(value):
        raise ValueError("use letters, digits, '.', '_' or '-' (up to 56), e.g. SP-2026-004512")
    return value


def check_concerns(value: list[str]) -> list[str]:
    """A return interview's concerns: known CIN factor codes, each given once."""
    check_factors(value, "e.g. 10A going missing, 11A CSE, 24A CCE")
    if len(set(value)) != len(value):
        raise ValueError("a factor code is given twice")
    return value


def split_codes(value: object) -> object:
    """Codes typed in one box ('10A, 11A' or '10A 11A') are several codes."""
    return split_box(value, r"[\s,;]+")


# ---------------------------------------------------------------------- the police's list
class MissingEpisodeReport(BaseModel):
    """One episode as the police's daily list carries it (and as a person enters one by hand).
    The child is described as on a contact (models/contact.Child)."""

    model_config = FORBID
    police_ref: Code = Field(json_schema_extra=POLICE_REF_SCHEMA, description="the police's reference for the episode")
    child: Child
    missing_from: MissingFrom
    reported_missing_at: Instant
    returned_at: Instant | None = Field(default=None, validate_default=True, description="when the child returned, if known")
    circumstances: SummaryText = ""
    risk: RiskGrading = Field(description="the police's risk grading")

    @field_validator("police_ref")
    @classmethod
    def _ref(cls, value: str) -> str:
        return check_police_ref(value)

    @field_validator("returned_at")
    @classmethod
    def _after(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        reported = info.data.get("reported_missing_at")
        if value is not None and reported is not None and value < reported:
            raise ValueError("returned_at is before reported_missing_at: check the two times")
        return value

    def plausibility_errors(self, now: datetime) -> list[FieldError]:
        """What is implausible at `now`: see models/bounds.plausibility_errors."""
        errors = receipt_errors("reported_missing_at", self.reported_missing_at, now,
                                "an episode this old is history: record it as an earlier contact")
        if self.returned_at is not None and self.returned_at > now + CLOCK_SKEW:
            errors.append(FieldError("returned_at", "is in the future: check the date and its time zone"))
        reported = now if errors else self.reported_missing_at
        errors += self.child.plausibility_errors("child", reported, now)
        return errors


class DailyList(BaseModel):
    """The police's daily list as JSON. As CSV: one episode a line, the columns in CSV_COLUMNS,
    and the list's time given on import (it defaults to when it was imported)."""

    model_config = FORBID
    issued_at: Instant | None = Field(default=None, description="when the police issued the list (default: when imported)")
    force: Name | None = Field(default=None, description="e.g. Surrey Police")
    episodes: list[MissingEpisodeReport] = Field(max_length=MAX_LIST_ROWS)


CHILD_COLUMNS = ("first_name", "last_name", "date_of_birth", "sex", "nhs_number", "local_id", "ethnicity", "postcode")
CSV_COLUMNS = ("police_ref", *CHILD_COLUMNS, "missing_from", "reported_missing_at", "returned_at", "risk", "circumstances")
REQUIRED_COLUMNS = ("police_ref", "missing_from", "reported_missing_at", "risk")


def report_from_csv(row: dict[str, str | None]) -> dict[str, Any]:
    """A CSV row (columns CSV_COLUMNS) as the JSON shape of a MissingEpisodeReport; blanks are no value."""
    clean = {k.strip().lower(): (v.strip() if isinstance(v, str) else v) for k, v in row.items() if k}
    unknown = sorted(k for k in clean if k not in CSV_COLUMNS)
    if unknown:
        raise ValueError(f"unknown column(s) {', '.join(unknown)}; the columns are {', '.join(CSV_COLUMNS)}")
    child = {k: clean[k] for k in CHILD_COLUMNS if clean.get(k)}
    out: dict[str, Any] = {k: clean[k] for k in CSV_COLUMNS if k not in CHILD_COLUMNS and clean.get(k)}
    out["child"] = child
    return out


class PoliceListEntry(BaseModel):
    """A later list's row for an episode already open: signalled by the import (a system)."""

    report: MissingEpisodeReport
    listed_at: datetime  # the list's time: when the police issued it, else when it was imported
    list_id: str
    imported_by: str


class MissingInput(BaseModel):
    report: MissingEpisodeReport
    holder: str  # the designated worker (FRONTDOOR_MISSING_LEAD), or who started it
    started_by: str
    listed_at: datetime | None = None  # the list that first carried it (None: entered by hand)
    list_id: str | None = None
    timescales: Timescales = Field(default_factory=Timescales)


# ---------------------------------------------------------------------- actions
class MissingReturn(PersonAction):
    """The child has returned (learned before a police list says so)."""

    returned_at: Instant
    note: ShortText | None = None


class InterviewOffer(PersonAction):
    method: OfferMethod
    offered_at: Instant | None = Field(default=None, description="when it was offered (default: now)")
    interviewer: Name | None = Field(default=None, description="who will do it (default: you)")
    note: ShortText | None = None


class ReturnInterview(PersonAction):
    """Done or declined, with what the child said and any concerns as CIN factor codes."""

    outcome: InterviewOutcome
    child_said: SummaryText = Field(min_length=3, description="what the child said (or why they declined)")
    concerns: list[Code] = Field(
        default_factory=list, max_length=MAX_FACTORS, json_schema_extra={"items": {"enum": list(CIN_FACTORS)}},
        description="CIN factor codes, e.g. 10A going missing, 11A CSE, 24A CCE: any raises a contact",
    )
    interviewed_at: Instant | None = Field(default=None, description="default: now")
    note: ReasonText | None = None

    @field_validator("concerns", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        return split_codes(value)

    @field_validator("concerns")
    @classmethod
    def _factors(cls, value: list[str]) -> list[str]:
        return check_concerns(value)


class RaiseContact(PersonAction):
    """Raise a contact into the front door from this episode (e.g. repeat missing)."""

    reason: ReasonText = Field(min_length=3)


class EpisodeClosure(PersonAction):
    """Close without an interview (e.g. another authority's child, a duplicate), saying why."""

    reason: ReasonText = Field(min_length=3)


# ---------------------------------------------------------------------- the state
class EpisodeMatch(BaseModel):
    """An earlier episode of the same child."""

    police_ref: str
    reported_missing_at: datetime
    returned_at: datetime | None = None
    matched_on: str
    confidence: str


class RepeatPattern(BaseModel):
    episodes: int  # in the window, this one included
    window_days: int
    police_refs: list[str]  # the earlier ones in the window, oldest first


class EpisodeHistoryRequest(BaseModel):
    police_ref: str
    child: Child
    reported_missing_at: datetime
    window: timedelta
    repeat_at: int


class EpisodeHistory(BaseModel):
    history: HistoryResult
    earlier: list[EpisodeMatch] = Field(default_factory=list)
    repeat: RepeatPattern | None = None


class MissingState(BaseModel):
    police_ref: str
    stage: MissingStage
    stage_since: datetime
    holder: str
    child: Child
    child_name: str
    missing_from: MissingFrom
    risk: RiskGrading
    circumstances: str = ""
    reported_missing_at: datetime
    returned_at: datetime | None = None  # the return the 72 hours run from (the first known)
    return_source: str | None = None  # police_list | worker
    police_returned_at: datetime | None = None  # the return as the police list gives it
    return_listed_at: datetime | None = None  # the list that first carried the return
    report_delay: timedelta | None = None  # from the return to that list
    report_delay_flagged: bool = False
    first_listed_at: datetime | None = None
    lists: list[str] = Field(default_factory=list)  # lists that carried it, latest last
    history: HistoryResult | None = None
    earlier_episodes: list[EpisodeMatch] = Field(default_factory=list)
    repeat: RepeatPattern | None = None
    interview_deadline: DeadlineRecord | None = None
    offer: InterviewOffer | None = None
    offered_at: datetime | None = None
    interview: ReturnInterview | None = None
    interview_recorded_at: datetime | None = None
    contact_id: str | None = None  # the contact this episode raised
    contact_reason: str | None = None
    closed_at: datetime | None = None
    closure: str | None = None
    closure_reason: str | None = None
    fault: Fault | None = None
    flags: list[str] = Field(default_factory=list)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def interview_due_at(self) -> datetime | None:
        return self.interview_deadline.due_at if self.interview_deadline else None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def interview_overdue(self) -> bool:
        return bool(self.interview_deadline and self.interview_deadline.passed_at is not None)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def offered_on_time(self) -> bool | None:
        due = self.interview_due_at
        if self.offered_at is None or due is None:
            return None
        return self.offered_at <= due

    def list_changes(self, report: MissingEpisodeReport) -> list[str]:
        """What a list's row would change here (empty: nothing; importing it again changes nothing)."""
        changes = []
        if report.returned_at is not None and report.returned_at != self.police_returned_at:
            changes.append("return" if self.police_returned_at is None else "return_time")
        if report.risk != self.risk:
            changes.append("risk")
        if report.circumstances and report.circumstances != self.circumstances:
            changes.append("circumstances")
        if report.missing_from != self.missing_from:
            changes.append("missing_from")
        return changes


# ---------------------------------------------------------------------- activities' inputs
class EpisodeRecordUpdate(BaseModel):
    """The case record's summary row of an episode (child identifiers for repeat matching)."""

    police_ref: str
    workflow_id: str
    child: Child
    missing_from: str
    risk: str
    reported_missing_at: datetime
    returned_at: datetime | None = None
    police_returned_at: datetime | None = None
    return_listed_at: datetime | None = None
    report_delay_hours: float | None = None
    first_listed_at: datetime | None = None
    interview_due_at: datetime | None = None
    offered_at: datetime | None = None
    offered_on_time: bool | None = None
    interview_outcome: str | None = None
    interview_at: datetime | None = None
    concerns: list[str] = Field(default_factory=list)
    contact_id: str | None = None
    repeat_episodes: int | None = None
    stage: str
    closed_at: datetime | None = None
    closure: str | None = None


class ListImportRecord(BaseModel):
    list_id: str
    imported_at: datetime
    imported_by: str
    via: str
    issued_at: datetime | None
    rows: int
    new: int
    updated: int
    unchanged: int
    invalid: int
    not_updated: int


# ---------------------------------------------------------------------- case record
class MissingEpisodeRow(SQLModel, table=True):
    __tablename__ = "missing_episodes"
    id: str = TableField(primary_key=True, max_length=64)  # the police reference
    workflow_id: str
    nhs_number: str | None = TableField(default=None, index=True)
    local_id: str | None = TableField(default=None, index=True)
    first_name_key: str | None = None
    last_name_key: str | None = TableField(default=None, index=True)
    date_of_birth: date | None = TableField(default=None, index=True)
    missing_from: str
    risk: str
    reported_missing_at: datetime = _ts(nullable=False, index=True)
    returned_at: datetime | None = _ts(nullable=True, index=True)
    police_returned_at: datetime | None = _ts(nullable=True)
    return_listed_at: datetime | None = _ts(nullable=True)
    report_delay_hours: float | None = None
    first_listed_at: datetime | None = _ts(nullable=True)
    interview_due_at: datetime | None = _ts(nullable=True)
    offered_at: datetime | None = _ts(nullable=True)
    offered_on_time: bool | None = None
    interview_outcome: str | None = None
    interview_at: datetime | None = _ts(nullable=True)
    concerns: list[str] = TableField(default_factory=list, sa_column=Column(JSON))
    contact_id: str | None = None
    repeat_episodes: int | None = None
    stage: str = "history_check"
    closed_at: datetime | None = _ts(nullable=True)
    closure: str | None = None


class MissingListImportRow(SQLModel, table=True):
    """Each import of a police list: who, when, and what it changed."""

    __tablename__ = "missing_list_imports"
    id: int | None = TableField(default=None, primary_key=True)
    list_id: str = TableField(index=True, max_length=64)  # a digest of the list's content
    imported_at: datetime = _ts(nullable=False, index=True)
    imported_by: str
    via: str  # cli | api | page
    issued_at: datetime | None = _ts(nullable=True)
    rows: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    invalid: int = 0
    not_updated: int = 0
