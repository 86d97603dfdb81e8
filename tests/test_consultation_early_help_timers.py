"""Timers of the consultation line and the early help hub on the time-skipping test server.

These tests move the server's clock to a chosen Friday before an English bank holiday
Monday (months ahead), so they use their own time-skipping server: the shared `ts_env`
keeps a clock near real time for the other suites.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest_asyncio
from sqlmodel import select
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.testing import WorkflowEnvironment

from frontdoor.temporal import data_converter
from models.calendar import WorkingCalendar
from models.consultation import ConsultationStage
from models.database import session
from models.early_help import EarlyHelpStage
from models.tables import OutboxMessage
from tests.clients import consultations, early_help
from tests.conftest import BIN, ERIN, codec_for_tests, make_contact
from tests.consultation_early_help_support import (
    consultation_early_help_worker,
    make_consultation,
    record,
)
from tests.helpers import wait_for
from workflows import search_attributes as sa

LONDON = ZoneInfo("Europe/London")
CAL = WorkingCalendar()


@pytest_asyncio.fixture(scope="module")
async def ts_future() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(BIN / "temporal-test-server"), data_converter=data_converter(codec_for_tests())
    )
    await env.client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=env.client.namespace,
            search_attributes={k.name: IndexedValueType.ValueType(k.indexed_value_type) for k in sa.ALL},
        )
    )
    yield env
    await env.shutdown()


def friday_before_bank_holiday(after: date) -> date:
    """The first working Friday after `after` whose Monday is an English bank holiday."""
    day = after + timedelta(days=(4 - after.weekday()) % 7 or 7)
    while not (CAL.is_working_day(day) and CAL.bank_holiday(day + timedelta(days=3))):
        day += timedelta(days=7)
    return day


async def move_clock_to(env: WorkflowEnvironment, local: datetime) -> datetime:
    now = await env.get_current_time()
    target = local.astimezone(UTC)
    assert target > now
    await env.sleep(target - now)
    return target


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=LONDON)


async def _consultation_stage(client, cid, stage):
    async def check():
        state = await consultations.get_state(client, cid)
        return state if state.stage == stage else None

    return await wait_for(check, 15, what=f"{cid} at {stage.value}")


async def test_follow_up_after_two_working_days_across_a_weekend_and_a_bank_holiday(ts_future, settings, task_queue):
    env, client = ts_future, ts_future.client
    friday = friday_before_bank_holiday((await env.get_current_time()).date() + timedelta(days=1))
    called = await move_clock_to(env, local(friday, 10))
    wednesday = friday + timedelta(days=5)  # Mon is a bank holiday: Tue (1), Wed (2)
    expected_due = local(wednesday + timedelta(days=1), 0).astimezone(UTC)  # the end of Wednesday
    c = make_consultation(called_at=called.isoformat())
    async with consultation_early_help_worker(client, settings, task_queue) as started:
        await record(client, settings, task_queue, started, c)
        state = await _consultation_stage(client, c.id, ConsultationStage.AWAITING_REFERRAL)
        assert state.referral_due_at == expected_due
        await env.sleep(expected_due - await env.get_current_time() - timedelta(minutes=5))
        state = await consultations.get_state(client, c.id)
        assert state.stage == ConsultationStage.AWAITING_REFERRAL and state.follow_up_raised_at is None
        await env.sleep(timedelta(minutes=10))
        state = await _consultation_stage(client, c.id, ConsultationStage.FOLLOW_UP)
    assert state.follow_up_raised_at >= expected_due
    assert state.follow_up_raised_at < expected_due + timedelta(minutes=10)
    assert set(state.flags) == {"referral_awaited", "follow_up_due"}
    with session(settings.database_url) as s:
        sent = [m.subject for m in s.exec(select(OutboxMessage).where(OutboxMessage.subject_id == c.id))]
    assert any("Ring back" in m for m in sent)


async def test_directions_overdue_after_one_working_day_across_a_bank_holiday_weekend(ts_future, settings, task_queue):
    env, client = ts_future, ts_future.client
    friday = friday_before_bank_holiday((await env.get_current_time()).date() + timedelta(days=1))
    await move_clock_to(env, local(friday, 16))
    expected_due = local(friday + timedelta(days=5), 0).astimezone(UTC)  # the end of Tuesday
    async with consultation_early_help_worker(client, settings, task_queue) as started:
        request = make_contact(id=f"EH-T-{friday:%Y%m%d}", source="5D")
        started.append(await early_help.start(client, settings, request, ERIN, task_queue=task_queue))

        async def due_known():
            state = await early_help.get_state(client, request.id)
            return state if state.steps and state.steps[0].due_at else None

        state = await wait_for(due_known, 15, what="the directions due time")
        assert state.steps[0].due_at == expected_due
        await env.sleep(expected_due - await env.get_current_time() - timedelta(hours=1))
        state = await early_help.get_state(client, request.id)
        assert state.stage == EarlyHelpStage.AWAITING_DIRECTIONS and "directions_overdue" not in state.flags

        await env.sleep(timedelta(hours=2))

        async def overdue():
            state = await early_help.get_state(client, request.id)
            return state if "directions_overdue" in state.flags else None

        state = await wait_for(overdue, 15, what="directions overdue")
        assert "early_help_overdue" in state.flags and state.steps[0].overdue

        async def told():
            with session(settings.database_url) as s:
                return [m.channel for m in s.exec(select(OutboxMessage).where(OutboxMessage.subject_id == request.id))]

        channels = await wait_for(told, 15, what="managers told")
    assert {"role:team_manager", "role:senior_adviser"} <= set(channels)
