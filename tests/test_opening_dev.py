"""A case's start answers with the case as its opening steps left it (the `opened` Update sent
with the start: update-with-start), on the real dev server.

- the contact's submitter gets it at awaiting triage, its earlier contacts found, and the
  whole intake is one workflow task (a query sent while that task ran used to cut it short);
- with no worker running the contact is received all the same (state None after the action
  timeout), and opens once a worker comes;
- a second start of the same id is refused, with or without a worker;
- a consultation answers once recorded (closed already when advice only), a missing
  episode once its earlier episodes are found.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowUpdateFailedError

import workflows.search_attributes as sa
from frontdoor import processes
from frontdoor.errors import Duplicate
from models.state import Stage
from tests.conftest import RITA, STARTED, make_contact, running_worker
from tests.consultation_early_help_support import CARA, make_consultation
from tests.helpers import wait_stage
from tests.missing_support import ELLA, child, make_report
from workflows.contact import PROCESS as CONTACT
from workflows.process import OPENED
from workflows.registry import BY_KIND

pytestmark = pytest.mark.asyncio


def _tasks_before_first_person(events: list) -> int:
    """Workflow tasks completed before the first person's action (the triage) was accepted."""
    done = 0
    for e in events:
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
            done += 1
        accepted = e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
        if accepted and e.workflow_execution_update_accepted_event_attributes.accepted_request.input.name != OPENED:
            return done - 1  # the task that accepted it is the person's
    return done


async def test_the_submitter_gets_the_contact_at_triage_from_one_workflow_task(dev_env, settings, task_queue):
    client = dev_env.client
    c = make_contact()
    async with running_worker(client, settings, task_queue):
        wid, state = await processes.start_and_open(client, settings, CONTACT, c, RITA, task_queue=task_queue)
        STARTED.append(wid)
        assert state is not None and state.stage == Stage.AWAITING_TRIAGE
        assert state.history is not None and state.contact_id == c.id  # the history check's result is in the answer
        state = await wait_stage(client, c.id, Stage.AWAITING_TRIAGE)  # a query at once, as the page after a submit
        await processes.act(client, CONTACT, c.id, "triage", {
            "actor": RITA, "level": 4, "route": "spa", "rationale": "Needs an SPA decision",
            "departure_reason": None if state.suggested_level == 4 else "Officer's judgement on the facts",
            "history_considered": True,
        })
        events = [e async for e in client.get_workflow_handle(wid).fetch_history_events()]
    kinds = [e.event_type for e in events]
    assert _tasks_before_first_person(events) == 1, "the intake took more than one workflow task"
    # the start's answer in that task: accepted and completed around the intake's commands
    first_task_end = kinds.index(EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)
    assert kinds[first_task_end + 1] == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
    assert EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED in kinds[first_task_end: kinds.index(
        EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, first_task_end)]


async def test_with_no_worker_the_contact_is_received_and_opens_when_one_comes(dev_env, settings, task_queue):
    client = dev_env.client
    quick = replace(settings, action_timeout=timedelta(seconds=1))
    c = make_contact()
    wid, state = await processes.start_and_open(client, quick, CONTACT, c, RITA, task_queue=task_queue)
    STARTED.append(wid)
    assert state is None  # nobody answered within the action timeout
    description = await client.get_workflow_handle(wid).describe()
    assert description.typed_search_attributes.get(sa.STAGE) == Stage.INTAKE.value  # received, in the lists
    with pytest.raises(Duplicate, match="already been received"):  # a second try is refused, not a second contact
        await processes.start_and_open(client, quick, CONTACT, c, RITA, task_queue=task_queue)
    async with running_worker(client, settings, task_queue):
        state = await wait_stage(client, c.id, Stage.AWAITING_TRIAGE)
    assert state.history is not None


@pytest.mark.parametrize(("outcome", "stage"), [("advice_only", "closed"), ("referral_invited", "awaiting_referral")])
async def test_a_consultation_answers_once_recorded(dev_env, settings, task_queue, outcome, stage):
    """Its opening step (recording the call and its document) is done when the start answers;
    an advice-only call has closed by then, and its run still gives that answer first."""
    client = dev_env.client
    c = make_consultation(outcome=outcome, advice="Advice given; the school will ring back if it recurs.")
    async with running_worker(client, settings, task_queue):
        wid, state = await processes.start_and_open(client, settings, BY_KIND["consultation"], c, CARA, task_queue=task_queue)
        STARTED.append(wid)
    assert state is not None and state.stage == stage and state.document_id


async def test_a_missing_episode_answers_with_its_earlier_episodes(dev_env, settings, task_queue):
    client = dev_env.client
    kid = child()
    async with running_worker(client, settings, task_queue):
        for _ in range(2):
            wid, first = await processes.start_and_open(client, settings, BY_KIND["missing"], make_report(child=kid), ELLA,
                                                        task_queue=task_queue)
            STARTED.append(wid)
    assert first is not None and first.stage == "missing"  # its history check (an ordinary activity) done
    assert len(first.earlier_episodes) == 1  # the second episode found the first


async def test_the_start_is_answered_once_a_run(dev_env, settings, task_queue):
    """`opened` is the start's answer, not a second way to read: a later call is refused (and
    adds nothing to the history); the state is the current_state query's."""
    client = dev_env.client
    c = make_contact()
    async with running_worker(client, settings, task_queue):
        wid, _ = await processes.start_and_open(client, settings, CONTACT, c, RITA, task_queue=task_queue)
        STARTED.append(wid)
        handle = client.get_workflow_handle(wid)
        before = len([e async for e in handle.fetch_history_events()])
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await handle.execute_update(OPENED)
        assert "has opened already" in str(refused.value.cause)
        assert len([e async for e in handle.fetch_history_events()]) == before
