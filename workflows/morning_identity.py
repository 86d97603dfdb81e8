"""What other workflows need of the morning case discussion: its id, its type, its input,
and how to put an item on the agenda of the next meeting.

A contact marked "threshold unclear" and a meeting rolling over the items it did not reach
both call `put_on_agenda`: the meeting's date comes from the working-day calendar (an
activity), the item is signalled to that day's discussion, and when the discussion is not
open yet it is started with the item (an abandoned child with a deterministic id, so it is
started once). The contact workflow imports this module, not workflows/morning.py.
"""

from __future__ import annotations

from datetime import date, time
from typing import Any, Protocol

from temporalio import workflow
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.exceptions import ApplicationError, FailureError

with workflow.unsafe.imports_passed_through():
    import workflows.search_attributes as sa
    from activities.morning import MorningActivities
    from models.discussion import AgendaItem
    from models.morning import MorningInput, MorningStage, MorningState
    from models.timescales import Timescales
    from workflows.base import start_once

KIND = "morning"
AGENDA_ITEM = "agenda_item"  # the discussion's signal: an item for its agenda
DISCUSSION_UPDATE = "discussion_update"  # the contact's signal: the outcome, or a roll-over
MAX_TRIES = 5  # meetings tried in turn when one closes as the item arrives


def workflow_id(subject_id: str) -> str:
    """The discussion of a day: its subject id is the ISO date, e.g. morning-2026-11-30."""
    return f"morning-{subject_id}"


@workflow.defn(name="MorningDiscussionWorkflow")
class MorningIdentity:
    @workflow.run
    async def run(self, inp: MorningInput) -> MorningState:
        raise NotImplementedError("the discussion's body is workflows.morning.MorningWorkflow")


def start_attributes(day: date) -> TypedSearchAttributes:
    """Set when a discussion starts, so it shows in the lists at once."""
    return TypedSearchAttributes([
        SearchAttributePair(sa.KIND, KIND), SearchAttributePair(sa.SUBJECT, day.isoformat()),
        SearchAttributePair(sa.STAGE, MorningStage.AGENDA.value),
    ])


class Acts(Protocol):
    """The workflow putting an item on the agenda (an AuditedWorkflow: its activities retry
    and a failure parks it as faulted)."""

    async def act(self, activity: Any, *args: Any, **kw: Any) -> Any: ...


async def _signal(day: date, item: AgendaItem) -> bool:
    try:
        await workflow.get_external_workflow_handle(workflow_id(day.isoformat())).signal(AGENDA_ITEM, item)
    except FailureError:
        return False  # not open: not started yet, or closed already
    return True


async def open_discussion(day: date, opened_by: str, timescales: Timescales, items: list[AgendaItem]) -> bool:
    """Start the discussion of `day` as an abandoned child; False when it exists (open or closed)."""
    started = await start_once(MorningIdentity.run,
                               MorningInput(date=day, opened_by=opened_by, timescales=timescales, items=items),
                               workflow_id(day.isoformat()), start_attributes(day))
    return started is not None


async def put_on_agenda(wf: Acts, item: AgendaItem, timescales: Timescales, opened_by: str,
                        *, after: date | None = None) -> date:
    """Put `item` before the next meeting (after the meeting of `after`, for a roll-over);
    returns the meeting's date."""
    at: time = timescales.morning_discussion_at
    day: date = await wf.act(MorningActivities.next_meeting_day, workflow.now(), at, after)
    for _ in range(MAX_TRIES):
        if await _signal(day, item):
            return day
        if await open_discussion(day, opened_by, timescales, [item]):
            return day
        if await _signal(day, item):  # opened by someone else a moment ago
            return day
        day = await wf.act(MorningActivities.next_meeting_day, workflow.now(), at, day)  # that one has closed
    raise ApplicationError(f"no open morning discussion took item {item.item_id} after {MAX_TRIES} tries",
                           non_retryable=True)
