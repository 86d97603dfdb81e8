"""The morning case discussion: each working day, contacts where the threshold is not clear
are put before the SPA's co-located police and health partners (the letter: partners
"value the morning case discussion meetings to share information and discuss referrals
where the thresholds are not clear").

One meeting per working day (`MorningState`, id `morning-{date}`). Its agenda collects
itself: contacts marked "threshold unclear" (models/discussion.ThresholdUnclear) and items
partners or workers add before the meeting (`AgendaAddition`). Partners add what their
agency knows (`AgencyInformation`); the chair records each item (`ItemDiscussed`) and
closes the meeting (`MeetingClosure`); items not reached roll over to the next working day.

Actions refuse unknown fields and take their limits from models/bounds.py. Pure: decoded
again when a history replays; `MorningOpening.plausibility_errors(now)` holds the clock.
"""

from __future__ import annotations

import datetime as dt
from datetime import date, datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, computed_field, field_validator, model_validator
from sqlalchemy import JSON, Column
from sqlmodel import Field as TableField
from sqlmodel import SQLModel

from models.bounds import CalendarDate, Code, FieldError, Name, ReasonText, ShortText, SummaryText
from models.calendar import WorkingCalendar
from models.contact import ID_SCHEMA, check_id
from models.deadline import DeadlineRecord
from models.discussion import (
    MAX_ATTENDEES,
    AgendaItem,
    ItemOutcome,
    NextStep,
    PartnerAgency,
    split_names,
)
from models.roles import Role
from models.signing import PersonAction
from models.state import Fault
from models.tables import _ts
from models.timescales import Timescales

FORBID = ConfigDict(extra="forbid")
MAX_AGENDA = 200  # items on one day's agenda
MAX_SHARED = 50  # pieces of information added to one item
OPEN_AHEAD = timedelta(days=31)  # a discussion may be opened this far ahead


class MorningStage(StrEnum):
    AGENDA = "agenda"  # collecting items; partners add what their agency knows
    MEETING = "meeting"  # the chair has begun recording outcomes
    CLOSED = "closed"


class MorningFlag(StrEnum):
    ROLLED_OVER_TWICE = "item_rolled_over_twice"  # an item not reached at two meetings: stuck


class SharingAgency(StrEnum):
    POLICE = "police"
    HEALTH = "health"
    CHILDRENS_SOCIAL_CARE = "childrens_social_care"
    EARLY_HELP = "early_help"
    EDUCATION = "education"
    OTHER = "other"


PARTNER_AGENCY: dict[Role, SharingAgency] = {Role.POLICE_PARTNER: SharingAgency.POLICE,
                                             Role.HEALTH_PARTNER: SharingAgency.HEALTH}
ASKED_AS: dict[Role, PartnerAgency] = {Role.POLICE_PARTNER: PartnerAgency.POLICE,
                                       Role.HEALTH_PARTNER: PartnerAgency.HEALTH}


# ---------------------------------------------------------------------- starting one
class MorningOpening(BaseModel):
    """Open a day's discussion by hand (the schedule opens each working day's itself)."""

    model_config = FORBID
    date: CalendarDate = Field(description="the working day of the meeting")

    def plausibility_errors(self, now: datetime) -> list[FieldError]:
        calendar = WorkingCalendar()
        today = calendar.local_date(now)
        if self.date < today:
            return [FieldError("date", f"{self.date:%d/%m/%Y} has passed: open today's or a later discussion")]
        if self.date > today + OPEN_AHEAD:
            return [FieldError("date", f"{self.date:%d/%m/%Y} is more than {OPEN_AHEAD.days} days ahead")]
        if not calendar.is_working_day(self.date):
            why = calendar.bank_holiday(self.date) or "a weekend"
            return [FieldError("date", f"{self.date:%d/%m/%Y} is not a working day ({why}): choose a working day")]
        return []


class MorningInput(BaseModel):
    date: date
    opened_by: str  # a username, or "schedule"
    timescales: Timescales = Field(default_factory=Timescales)
    items: list[AgendaItem] = Field(default_factory=list)  # rolled over, or the item that opened it


class MorningScheduleInput(BaseModel):
    """What the Schedule gives its launcher each time it fires (set again at every start)."""

    schedule_id: str
    timescales: Timescales = Field(default_factory=Timescales)
    retry_every: timedelta = timedelta(minutes=1)  # a failing step is tried again after this ...
    retry_at_most: timedelta = timedelta(minutes=30)  # ... doubling up to this


# ---------------------------------------------------------------------- actions
class AgendaAddition(PersonAction):
    """An item for the agenda, before the meeting: a question, and who or what it is about."""

    question: ReasonText = Field(min_length=3)
    about: Name | None = Field(default=None, description="the child or family, e.g. 'Amy Jones, born 02/03/2018'")
    contact_id: Code | None = Field(default=None, json_schema_extra=ID_SCHEMA,
                                    description="the contact it is about, when there is one")
    ask: list[PartnerAgency] = Field(default_factory=list, max_length=len(PartnerAgency),
                                     description="the partners asked what their agency knows")

    @field_validator("contact_id")
    @classmethod
    def _id(cls, value: str | None) -> str | None:
        return check_id(value)

    @model_validator(mode="after")
    def _about_someone(self) -> AgendaAddition:
        if not (self.about or "").strip() and not self.contact_id:
            raise ValueError("about: say who the item is about (or give the contact_id)")
        if len(set(self.ask)) != len(self.ask):
            raise ValueError("ask: a partner is named twice")
        return self


class AgencyInformation(PersonAction):
    """What an agency knows about an item, added before or during the meeting."""

    item: int = Field(ge=1, le=MAX_AGENDA, description="the item's number on the agenda")
    information: SummaryText = Field(min_length=3)
    agency: SharingAgency | None = Field(default=None, description="a partner shares as their own agency")


class ItemDiscussed(PersonAction):
    """The chair's record of one item: who attended, what each agency shared, the agreed
    next step and who takes it."""

    item: int = Field(ge=1, le=MAX_AGENDA, description="the item's number on the agenda")
    attendees: list[Name] = Field(min_length=1, max_length=MAX_ATTENDEES,
                                  description="who attended, e.g. 'PC Jones (police)'; separate names with ';'")
    police_shared: SummaryText | None = None
    health_shared: SummaryText | None = None
    others_shared: SummaryText | None = None
    next_step: NextStep
    next_step_by: Name = Field(min_length=1, description="who takes the next step")
    note: ReasonText | None = None

    @field_validator("attendees", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        return split_names(value)


class MeetingClosure(PersonAction):
    """The chair closes the meeting: items not reached roll over to the next working day."""

    note: ShortText | None = None


# ---------------------------------------------------------------------- the state
class SharedInformation(BaseModel):
    agency: SharingAgency
    information: str
    by: str
    role: str
    at: datetime


class AgendaEntry(BaseModel):
    """An item as one meeting holds it: its number here, what was shared, the outcome."""

    number: int
    item: AgendaItem
    shared: list[SharedInformation] = Field(default_factory=list)
    outcome: ItemOutcome | None = None
    rolled_to: date | None = None  # not reached: put on this meeting's agenda
    contact_told: bool | None = None  # the outcome reached the contact (None: not a contact's item)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def reached(self) -> bool:
        return self.outcome is not None


class MorningState(BaseModel):
    date: date
    stage: MorningStage
    stage_since: datetime
    holder: str
    opened_by: str
    meeting_at: datetime | None = None  # the configured time, on this day
    close_deadline: DeadlineRecord | None = None  # the end of the meeting day: it closes itself then
    agenda: list[AgendaEntry] = Field(default_factory=list)
    chair: str | None = None
    began_at: datetime | None = None
    closed_at: datetime | None = None
    closed_by: str | None = None
    closing_note: str | None = None
    auto_closed: bool = False
    rolled_to: dt.date | None = None  # where items not reached went
    document_id: str | None = None
    fault: Fault | None = None
    flags: list[str] = Field(default_factory=list)

    def entry(self, number: int) -> AgendaEntry | None:
        return next((e for e in self.agenda if e.number == number), None)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def discussed(self) -> int:
        return sum(1 for e in self.agenda if e.outcome is not None)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def waiting(self) -> int:
        return sum(1 for e in self.agenda if e.outcome is None and e.rolled_to is None)


# ---------------------------------------------------------------------- activities' inputs
class MeetingDay(BaseModel):
    meeting_at: datetime
    ends_at: datetime  # the end of the meeting day (local midnight)


class MorningItemRecord(BaseModel):
    """The case record's row of one item (upserted as it moves)."""

    item_id: str
    contact_id: str | None
    raised_at: datetime
    raised_role: str
    asked: list[str]
    first_meeting: date | None
    last_meeting: date
    times_rolled: int
    next_step: str | None = None
    next_step_by: str | None = None
    discussed_on: date | None = None


class MorningMeetingRecord(BaseModel):
    date: date
    workflow_id: str
    opened_by: str
    meeting_at: datetime | None
    items: int
    discussed: int
    rolled_over: int
    closed_at: datetime | None = None
    closed_by: str | None = None
    auto_closed: bool = False
    document_id: str | None = None


# ---------------------------------------------------------------------- case record
class MorningMeetingRow(SQLModel, table=True):
    __tablename__ = "morning_meetings"
    date: str = TableField(primary_key=True, max_length=10)  # ISO date
    workflow_id: str
    opened_by: str
    meeting_at: datetime | None = _ts(nullable=True)
    items: int = 0
    discussed: int = 0
    rolled_over: int = 0
    closed_at: datetime | None = _ts(nullable=True)
    closed_by: str | None = None
    auto_closed: bool = False
    document_id: str | None = None


class MorningItemRow(SQLModel, table=True):
    """One agenda item from first listing to outcome (reports: items discussed, outcomes)."""

    __tablename__ = "morning_items"
    item_id: str = TableField(primary_key=True, max_length=100)
    contact_id: str | None = TableField(default=None, index=True)
    raised_at: datetime = _ts(nullable=False)
    raised_role: str
    asked: list[str] = TableField(default_factory=list, sa_column=Column(JSON))
    first_meeting: str | None = None  # ISO date
    last_meeting: str = TableField(index=True)  # ISO date
    times_rolled: int = 0
    next_step: str | None = TableField(default=None, index=True)
    next_step_by: str | None = None
    discussed_on: str | None = TableField(default=None, index=True)  # ISO date


__all__ = ["AgendaItem", "ItemOutcome", "NextStep", "PartnerAgency"]
