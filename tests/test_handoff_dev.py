"""Exactly-once handoff: an activity retried after a failure does not hand off twice."""

from __future__ import annotations

import pytest
from sqlmodel import select

from activities.outbox import OutboundMessage, StoredOutbox
from models.database import session
from models.state import Stage
from models.tables import HandoffRecord, OutboxMessage
from tests.clients import act, workflow_id
from tests.conftest import make_contact, running_worker
from tests.helpers import decision, to_decision, to_spa, wait_stage

pytestmark = pytest.mark.asyncio


class TeamInboxThatTimesOut(StoredOutbox):
    """The team inbox accepts the first message, then the connection drops before the
    activity can report success: the worst moment for a retry."""

    def __init__(self, database_url: str) -> None:
        super().__init__(database_url)
        self.team_calls = 0

    def send(self, message: OutboundMessage) -> bool:
        delivered = super().send(message)
        if message.channel.startswith("team:"):
            self.team_calls += 1
            if self.team_calls == 1:
                raise TimeoutError("team inbox did not acknowledge in time")
        return delivered


async def test_a_retried_handoff_hands_off_once(dev_env, settings, task_queue):
    client = dev_env.client
    inbox = TeamInboxThatTimesOut(settings.database_url)
    c = make_contact()
    async with running_worker(client, settings, task_queue, outbox=inbox):
        await to_spa(client, settings, task_queue, c, level=3)
        await to_decision(client, c.id)
        await act(client, c.id, "decide", decision("strategy_discussion_s47"))
        state = await wait_stage(client, c.id, Stage.CLOSED)
        history = await client.get_workflow_handle(workflow_id(c.id)).fetch_history()
    assert inbox.team_calls == 2  # the activity really ran twice
    attempts = [
        e.activity_task_started_event_attributes.attempt
        for e in history.events
        if e.HasField("activity_task_started_event_attributes")
    ]
    assert max(attempts) == 2
    with session(settings.database_url) as s:
        handoffs = s.exec(select(HandoffRecord).where(HandoffRecord.contact_id == c.id)).all()
        team = s.exec(select(OutboxMessage).where(OutboxMessage.subject_id == c.id, OutboxMessage.channel == "team:assessment_team")).all()
        referrer = s.exec(select(OutboxMessage).where(OutboxMessage.subject_id == c.id, OutboxMessage.channel == "referrer")).all()
    assert len(handoffs) == 1 and len(team) == 1 and len(referrer) == 1
    assert state.handoff.handoff_id == handoffs[0].id
    assert state.fault is None
