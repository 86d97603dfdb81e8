"""Actors cannot be forged through Temporal (issue 9, section 1): an Update sent straight to
a workflow, past every interface, is refused unless an interface signed its actor for this
workflow and this action, with a current key, lately. The refusal writes nothing."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from models import signing
from models.actions import Review
from models.database import session
from models.roles import Actor, Role
from models.signing import Keyring
from models.state import Stage
from tests.clients import act, get_state, workflow_id
from tests.conftest import SAM, make_contact, running_worker
from tests.helpers import action_trail, submit, wait_stage

MALLORY = Actor(username="mallory", role=Role.TEAM_MANAGER)


async def _refused(handle, payload) -> str:
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await handle.execute_update("review", payload)
    cause = err.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "SignatureRefused"
    return str(cause.message)


async def test_a_forged_actor_is_refused_however_it_is_sent(dev_env, settings, task_queue) -> None:
    client = dev_env.client
    c = make_contact()
    async with running_worker(client, settings, task_queue):
        await submit(client, settings, task_queue, c)
        await wait_stage(client, c.id, Stage.AWAITING_TRIAGE)
        handle = client.get_workflow_handle(workflow_id(c.id))
        forged = Review(actor=MALLORY, rag="red", note="forged")
        now = datetime.now(UTC)

        assert "carries no signature" in await _refused(handle, forged)
        other_key = Keyring("mallory-1", {"mallory-1": os.urandom(32)})
        assert "key" in await _refused(handle, signing.signed(other_key, workflow_id(c.id), "review", forged, now))
        for_another_case = signing.signed(signing.current(), workflow_id("C-SOMEONE-ELSE"), "review", forged, now)
        await _refused(handle, for_another_case)
        for_another_action = signing.signed(signing.current(), workflow_id(c.id), "decide", forged, now)
        await _refused(handle, for_another_action)
        stale = signing.signed(signing.current(), workflow_id(c.id), "review", forged, now - timedelta(hours=1))
        assert "old" in await _refused(handle, stale)
        signed = signing.signed(signing.current(), workflow_id(c.id), "review", forged, now)
        tampered = signed.model_copy(update={"actor": Actor(username="mallory", role=Role.SERVICE_MANAGER)})
        await _refused(handle, tampered)

        state = await act(client, c.id, "review", {"actor": SAM, "rag": "amber"})  # the client layer signs
        assert state.review is not None and state.review.actor.username == "sam"
        assert (await get_state(client, c.id)).review.actor.username == "sam"
    with session(settings.database_url) as s:
        trail = action_trail(s, c.id)
    assert "mallory" not in {r.actor for r in trail}
    assert [r.actor for r in trail if r.action == "daily_review"] == ["sam"]
