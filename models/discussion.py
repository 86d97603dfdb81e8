"""What a contact and the morning case discussion say to each other.

A worker marks a contact "threshold unclear: for the morning discussion" with the question
to discuss (`ThresholdUnclear`, an action of the contact); the contact keeps a
`DiscussionRecord` and puts an `AgendaItem` on the next meeting's agenda. The chair's
outcome (`ItemOutcome`) comes back to the contact as a `DiscussionNotice`, as does a
roll-over to the next day. Here, not in models/morning.py, because models/state.py (the
contact's state) needs these and models/morning.py needs models/state.py.

Pure: these models are decoded again when a history replays.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from models.bounds import Name, ReasonText, SummaryText, distinct, split_box
from models.signing import PersonAction

FORBID = ConfigDict(extra="forbid")
MAX_ATTENDEES = 40  # people at one item of the morning discussion


class PartnerAgency(StrEnum):
    """The partners co-located in the SPA who may be asked about an item."""

    POLICE = "police"
    HEALTH = "health"


class NextStep(StrEnum):
    """The step the morning discussion agrees for an item."""

    STAYS_IN_SPA = "stays_in_spa"
    EARLY_HELP = "early_help"
    STRATEGY_DISCUSSION = "strategy_discussion"
    NO_FURTHER_ACTION = "no_further_action"
    MORE_INFORMATION_NEEDED = "more_information_needed"


NEXT_STEP_NAMES = {
    NextStep.STAYS_IN_SPA: "Stays in the SPA",
    NextStep.EARLY_HELP: "Early help",
    NextStep.STRATEGY_DISCUSSION: "Strategy discussion",
    NextStep.NO_FURTHER_ACTION: "No further action",
    NextStep.MORE_INFORMATION_NEEDED: "More information needed",
}


class ThresholdUnclear(PersonAction):
    """On a contact: the threshold is not clear; discuss it at the next morning discussion."""

    question: ReasonText = Field(min_length=3, description="what the meeting should help decide")
    ask: Annotated[list[PartnerAgency], distinct("a partner is named twice")] = Field(
        default_factory=list, max_length=len(PartnerAgency), description="the partners asked what their agency knows"
    )


def split_names(value: object) -> object:
    """Attendees typed in one box: separated by ';' or new lines."""
    return split_box(value, r"[;\n]")


class ItemOutcome(BaseModel):
    """What the chair recorded for one item: who attended, what each agency shared, the
    agreed next step and who takes it."""

    model_config = FORBID
    attendees: list[Name] = Field(min_length=1, max_length=MAX_ATTENDEES)
    police_shared: SummaryText | None = None
    health_shared: SummaryText | None = None
    others_shared: SummaryText | None = None
    next_step: NextStep
    next_step_by: Name = Field(min_length=1)
    note: ReasonText | None = None
    chair: str  # the chair's username
    recorded_at: datetime
    meeting: date


class AgendaItem(BaseModel):
    """One item of the agenda: a contact whose threshold is unclear, or an item a partner
    or worker added. It keeps its id when it rolls over to the next day."""

    item_id: str
    question: str
    contact_id: str | None = None
    about: str = ""  # the children, as the agenda shows them
    asked: list[PartnerAgency] = Field(default_factory=list)
    raised_by: str
    raised_role: str
    raised_at: datetime
    first_meeting: date | None = None  # the first meeting it was put before
    rolled_over: int = 0  # how many times it was not reached


class DiscussionRecord(BaseModel):
    """On the contact: one question put to the morning discussion, and what came of it."""

    item_id: str
    question: str
    asked: list[PartnerAgency] = Field(default_factory=list)
    by: str
    at: datetime
    meeting: date | None = None  # the meeting it is (now) on the agenda of
    rolled_over: int = 0
    outcome: ItemOutcome | None = None


class DiscussionNotice(BaseModel):
    """Signalled by the morning discussion to the contact: the outcome, or a roll-over."""

    item_id: str
    meeting: date
    question: str = ""
    outcome: ItemOutcome | None = None
    rolled_to: date | None = None
