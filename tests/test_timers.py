"""Durable timers on the time-skipping test server: a day passes in milliseconds.

The server's clock runs ahead of the wall clock as tests skip time, so every expected
time here is computed from the workflow's own state or the server's current time.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from models.database import session
from models.state import Stage
from models.tables import OutboxMessage
from tests.clients import act, get_state
from tests.conftest import RITA, SAM, TOM, make_contact, running_worker
from tests.helpers import decision, submit, to_decision, to_spa, wait_stage

pytestmark = pytest.mark.asyncio


def messages(settings, contact_id: str, channel_prefix: str) -> list[OutboxMessage]:
    with session(settings.database_url) as s:
        rows = s.exec(select(OutboxMessage).where(OutboxMessage.subject_id == contact_id)).all()
    return [m for m in rows if m.channel.startswith(channel_prefix)]


async def test_decision_deadline_passes_and_the_contact_goes_overdue(ts_env, settings, task_queue):
    client = ts_env.client
    c = make_contact()
    async with running_worker(client, settings, task_queue):
        state = await to_spa(client, settings, task_queue, c, level=3)
        assert state.decision_due_at - state.spa_entered_at == timedelta(hours=24)
        await ts_env.sleep(timedelta(hours=23, minutes=50))
        state = await get_state(client, c.id)
        assert not state.decision_overdue and "decision_overdue" not in state.flags
        assert messages(settings, c.id, "role:") == []
        await ts_env.sleep(timedelta(minutes=20))
        state = await get_state(client, c.id)
        assert state.decision_overdue and "decision_overdue" in state.flags
        assert sorted(m.channel for m in messages(settings, c.id, "role:")) == ["role:service_manager", "role:team_manager"]
        # the case keeps waiting: it can still be decided, and the record says it was late
        await to_decision(client, c.id)
        state = await act(client, c.id, "decide", decision())
        assert state.stage == Stage.HANDOFF and "decision_overdue" not in state.flags


async def test_an_extension_moves_the_deadline_and_keeps_its_reason(ts_env, settings, task_queue):
    client = ts_env.client
    c = make_contact()
    async with running_worker(client, settings, task_queue):
        state = await to_spa(client, settings, task_queue, c, level=3)
        first_due = state.decision_due_at
        await ts_env.sleep(timedelta(hours=20))
        new_due = first_due + timedelta(hours=10)
        state = await act(
            client, c.id, "extend",
            {"actor": TOM, "reason": "agency_unavailable", "new_deadline": new_due.isoformat(), "explanation": "Police answer awaited"},
        )
        assert state.decision_due_at == new_due
        await ts_env.sleep(timedelta(hours=8))  # past the first deadline, before the new one
        state = await get_state(client, c.id)
        assert not state.decision_overdue
        await ts_env.sleep(timedelta(hours=7))  # past the new one (34 h from the start)
        state = await get_state(client, c.id)
        assert state.decision_overdue
        # a second extension, after going overdue, clears the flag; both are kept
        later = new_due + timedelta(hours=24)
        state = await act(client, c.id, "extend", {"actor": TOM, "reason": "other", "new_deadline": later.isoformat(), "explanation": "Interpreter booked for tomorrow"})
        assert not state.decision_overdue
        assert [e.extension.reason.value for e in state.extensions] == ["agency_unavailable", "other"]
        assert [e.previous_deadline for e in state.extensions] == [first_due, new_due]
        await ts_env.sleep(timedelta(hours=20))  # 55 h from the start; the deadline is now 58 h
        assert not (await get_state(client, c.id)).decision_overdue


async def test_an_extension_for_other_needs_an_explanation(ts_env, settings, task_queue):
    client = ts_env.client
    c = make_contact()
    async with running_worker(client, settings, task_queue):
        state = await to_spa(client, settings, task_queue, c, level=3)
        with pytest.raises(Exception, match="needs an explanation"):
            await act(client, c.id, "extend", {"actor": TOM, "reason": "other", "new_deadline": (state.decision_due_at + timedelta(hours=1)).isoformat()})


async def test_urgent_contact_not_picked_up_escalates_to_managers(ts_env, settings, task_queue):
    client = ts_env.client
    c = make_contact(concerns={"factors": ["19C"], "summary": "Disclosure of sexual abuse"})
    async with running_worker(client, settings, task_queue):
        await submit(client, settings, task_queue, c)
        await wait_stage(client, c.id, Stage.AWAITING_TRIAGE)
        state = await act(client, c.id, "triage", {"actor": RITA, "level": 4, "route": "urgent", "rationale": "Immediate risk"})
        state = await wait_stage(client, c.id, Stage.AWAITING_PICKUP)
        assert state.handoff.team == "assessment_team"  # handed off at once, before any pickup
        assert [m.channel for m in messages(settings, c.id, "team:")] == ["team:assessment_team"]
        assert "awaiting_pickup" in state.flags and "pickup_late" not in state.flags
        await ts_env.sleep(timedelta(minutes=50))
        assert not (await get_state(client, c.id)).pickup_escalated
        await ts_env.sleep(timedelta(minutes=15))
        state = await get_state(client, c.id)
        assert state.pickup_escalated and "pickup_late" in state.flags
        assert sorted(m.channel for m in messages(settings, c.id, "role:")) == ["role:service_manager", "role:team_manager"]
        await act(client, c.id, "pickup", {"actor": SAM, "note": "Strategy discussion at 14:00"})
        state = await wait_stage(client, c.id, Stage.CLOSED)
        assert state.picked_up_by == "sam" and state.outcome.value == "urgent_assessment"
        assert len(messages(settings, c.id, "team:")) == 1  # no second handoff


async def test_an_agency_that_does_not_answer_is_chased(ts_env, settings, task_queue):
    client = ts_env.client
    c = make_contact()
    async with running_worker(client, settings, task_queue):
        await to_spa(client, settings, task_queue, c, level=3)
        await act(client, c.id, "request_map_checks", {"actor": SAM, "agencies": ["police", "school"]})
        await act(client, c.id, "record_map_response", {"actor": SAM, "agency": "school", "information": "Known to school"})
        await ts_env.sleep(timedelta(hours=3))
        state = await get_state(client, c.id)
        assert "agency_late" not in state.flags
        await ts_env.sleep(timedelta(hours=2))
        state = await get_state(client, c.id)
        police = next(m for m in state.map_checks if m.agency.value == "police")
        school = next(m for m in state.map_checks if m.agency.value == "school")
        assert police.chased_at is not None and school.chased_at is None
        assert "agency_late" in state.flags
        subjects = [m.subject for m in messages(settings, c.id, "agency:police")]
        assert len(subjects) == 2 and subjects[1].startswith("Reminder:")
        state = await act(client, c.id, "record_map_response", {"actor": SAM, "agency": "police", "information": "One call-out in 2025"})
        assert "agency_late" not in state.flags


async def test_a_contact_not_reviewed_by_the_end_of_its_day_is_stuck(ts_env, settings, task_queue):
    client = ts_env.client
    c = make_contact()
    async with running_worker(client, settings, task_queue):
        await submit(client, settings, task_queue, c)
        state = await wait_stage(client, c.id, Stage.AWAITING_TRIAGE)
        now = await ts_env.get_current_time()
        if state.review_due_at > now:  # the server clock may already be past the wall-clock day
            assert "review_late" not in state.flags
            await ts_env.sleep(state.review_due_at - now + timedelta(minutes=1))
        state = await get_state(client, c.id)
        assert state.review_late and {"unreviewed", "review_late"} <= set(state.flags)
        state = await act(client, c.id, "review", {"actor": SAM, "rag": "green"})
        assert "unreviewed" not in state.flags and "review_late" not in state.flags
