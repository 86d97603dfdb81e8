"""Timers of the missing episode and the morning discussion on the time-skipping server:
the 72 hours to offer a return home interview (a late police list starts it already late),
and a meeting whose day ends rolling its items over a weekend and a bank holiday, then again
(an item rolled over twice is stuck)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest_asyncio
from sqlmodel import select
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.common import TypedSearchAttributes
from temporalio.testing import WorkflowEnvironment

from frontdoor.temporal import data_converter
from models import signing
from models.calendar import WorkingCalendar
from models.database import session
from models.missing import MissingInput, MissingStage
from models.morning import MorningOpening, MorningStage
from models.tables import OutboxMessage
from tests.clients import missing, morning
from tests.conftest import BIN, RITA, TOM, codec_for_tests, running_worker
from tests.helpers import wait_for
from tests.missing_support import ELLA, PAT, make_report
from workflows import search_attributes as sa
from workflows.missing import MissingWorkflow, start_attributes

LONDON = ZoneInfo("Europe/London")
CAL = WorkingCalendar()


def thursday_before_a_long_weekend(after: date) -> date:
    """The first Thursday after `after` whose next working day is the Tuesday after: a bank
    holiday Friday, the weekend and a bank holiday Monday in between (Christmas, Easter)."""
    day = after + timedelta(days=(3 - after.weekday()) % 7 or 7)
    while CAL.next_working_day(day) != day + timedelta(days=5):
        day += timedelta(days=7)
    return day


@pytest_asyncio.fixture
async def ts_own() -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping server of this test's own: its clock moves months ahead."""
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(BIN / "temporal-test-server"), data_converter=data_converter(codec_for_tests()))
    signing.configure(signing.current(), max_age=timedelta(days=366))  # its clock runs months ahead of the signer's
    await env.client.operator_service.add_search_attributes(AddSearchAttributesRequest(
        namespace=env.client.namespace,
        search_attributes={k.name: IndexedValueType.ValueType(k.indexed_value_type) for k in sa.ALL}))
    yield env
    await env.shutdown()


def _told(database_url: str, subject_id: str) -> list[tuple[str, str]]:
    with session(database_url) as s:
        return [(m.channel, m.subject) for m in s.exec(select(OutboxMessage).where(OutboxMessage.subject_id == subject_id))]


async def _start_episode(client, settings, task_queue, now: datetime, **overrides) -> str:
    """An episode from a police list issued `now` (the time-skipping server's clock)."""
    r = make_report(**({"reported_missing_at": (now - timedelta(hours=20)).isoformat()} | overrides))
    await client.start_workflow(
        MissingWorkflow.run, MissingInput(report=r, holder=ELLA.username, started_by=RITA.username, listed_at=now,
                                          list_id="L-test", timescales=settings.timescales),
        id=missing.workflow_id(r.police_ref), task_queue=task_queue,
        search_attributes=TypedSearchAttributes(start_attributes(r)),
    )
    return r.police_ref


async def test_a_return_home_interview_not_offered_within_72_hours_is_overdue_and_the_manager_told(ts_env, settings, task_queue):
    env, client = ts_env, ts_env.client
    now = await env.get_current_time()
    returned = now - timedelta(hours=1)
    async with running_worker(client, settings, task_queue):
        ref = await _start_episode(client, settings, task_queue, now, returned_at=returned.isoformat())

        async def awaiting():
            state = await missing.get_state(client, ref)
            return state if state.stage == MissingStage.AWAITING_OFFER else None

        state = await wait_for(awaiting, 15, what="the 72 hours to start")
        assert state.interview_due_at == returned + timedelta(hours=72)
        await env.sleep(timedelta(hours=70))
        state = await missing.get_state(client, ref)
        assert not state.interview_overdue and "interview_overdue" not in state.flags
        await env.sleep(timedelta(hours=2))

        async def overdue():
            state = await missing.get_state(client, ref)
            return state if state.interview_overdue else None

        state = await wait_for(overdue, 15, what="the interview to be overdue")
        assert {"interview_overdue", "interview_awaiting_offer"} <= set(state.flags)
        told = await wait_for(lambda: _told(settings.database_url, ref), 15, what="the team manager told")
        assert told[0][0] == "role:team_manager" and "Return home interview not offered" in told[0][1]
        state = await missing.act(client, ref, "offer_interview", {"actor": ELLA, "method": "phone"})
        assert state.offered_on_time is False and "interview_overdue" not in state.flags


async def test_a_police_list_carrying_the_return_after_72_hours_is_late_and_overdue_at_once(ts_env, settings, task_queue):
    env, client = ts_env, ts_env.client
    now = await env.get_current_time()
    returned = now - timedelta(hours=80)  # the list reaches the front door 80 hours after the return
    async with running_worker(client, settings, task_queue):
        ref = await _start_episode(client, settings, task_queue, now, returned_at=returned.isoformat(),
                                   reported_missing_at=(now - timedelta(hours=90)).isoformat())

        async def overdue():
            state = await missing.get_state(client, ref)
            return state if state.interview_overdue else None

        state = await wait_for(overdue, 15, what="overdue at once")
        assert state.report_delay == timedelta(hours=80) and state.report_delay_flagged
        assert {"late_police_report", "interview_overdue"} <= set(state.flags)


async def test_items_not_reached_roll_over_a_weekend_and_a_bank_holiday_and_twice_is_stuck(ts_own, settings, task_queue):
    env, client = ts_own, ts_own.client
    thursday = thursday_before_a_long_weekend((await env.get_current_time()).date() + timedelta(days=1))
    tuesday, wednesday = thursday + timedelta(days=5), thursday + timedelta(days=6)
    start = datetime.combine(thursday, time(8, 0), tzinfo=LONDON).astimezone(UTC)
    await env.sleep(start - await env.get_current_time())
    async with running_worker(client, settings, task_queue):
        # as the schedule does on Thursday morning: Thursday's discussion, and the next working day's
        for d in (thursday, tuesday):
            await morning.start_as_of(client, settings, MorningOpening(date=d), TOM, start, task_queue=task_queue)
        day = thursday.isoformat()
        await wait_for(lambda: _opened(client, day), 15, what="the discussion")
        await morning.act(client, day, "add", {"actor": PAT, "question": "Strategy discussion?", "about": "Tom Smith",
                                               "ask": ["police"]})
        state = await morning.act(client, day, "add", {"actor": RITA, "question": "Early help?", "about": "Ada Jones"})
        await morning.act(client, day, "record", {"actor": TOM, "item": 1, "attendees": ["Tom"],
                                                  "next_step": "strategy_discussion", "next_step_by": "Duty team"})
        item_id = state.agenda[1].item.item_id
        # nobody closes it: at the end of Thursday it closes itself and item 2 rolls over Good Friday,
        # the weekend and Easter Monday to Tuesday
        await env.sleep(CAL.end_of(thursday) + timedelta(minutes=1) - await env.get_current_time())
        closed = await wait_for(lambda: _closed(client, day), 15, what="Thursday's discussion to close itself")
        assert closed.auto_closed and closed.rolled_to == tuesday and closed.entry(2).rolled_to == tuesday
        told = await wait_for(lambda: _told(settings.database_url, day), 15, what="the team manager told")
        assert any(channel == "role:team_manager" and "was not closed" in subject for channel, subject in told)
        nxt = await wait_for(lambda: _agenda(client, tuesday.isoformat()), 15, what="the item on Tuesday's agenda")
        assert [(e.item.item_id, e.item.rolled_over) for e in nxt.agenda] == [(item_id, 1)]
        assert "item_rolled_over_twice" not in nxt.flags

        await env.sleep(CAL.end_of(tuesday) + timedelta(minutes=1) - await env.get_current_time())
        await wait_for(lambda: _closed(client, tuesday.isoformat()), 15, what="Tuesday's discussion to close itself")
        # Wednesday's was not open yet: Tuesday's roll-over opens it (a child workflow)
        stuck = await wait_for(lambda: _agenda(client, wednesday.isoformat()), 15, what="Wednesday's discussion")
        assert [(e.item.item_id, e.item.rolled_over, e.item.first_meeting) for e in stuck.agenda] == [
            (item_id, 2, thursday)]
        assert "item_rolled_over_twice" in stuck.flags and stuck.stage == MorningStage.AGENDA
        for d in (day, tuesday.isoformat(), wednesday.isoformat()):
            await _terminate(client, morning.workflow_id(d))


async def _opened(client, day: str):
    try:
        state = await morning.get_state(client, day)
    except Exception:  # noqa: BLE001 (not started yet)
        return None
    return state if state.meeting_at is not None else None


async def _agenda(client, day: str):
    state = await _opened(client, day)
    return state if state is not None and state.agenda else None


async def _closed(client, day: str):
    state = await morning.get_state(client, day)
    return state if state.stage == MorningStage.CLOSED else None


async def _terminate(client, wid: str) -> None:
    try:
        await client.get_workflow_handle(wid).terminate("test finished")
    except Exception:  # noqa: BLE001 (closed)
        pass
