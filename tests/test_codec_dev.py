"""The codec refuses plaintext (issue 9, section 1), on the real dev server.

The attack: anyone who can reach the Temporal frontend sends an Update in clear, e.g.
`temporal workflow update execute -w contact-X --name review --input '{"actor": ...}'`.
Here a client without the codec plays that part. The forged Update is rejected with the
reason and the workflow carries on; FRONTDOOR_CODEC_ALLOW_PLAINTEXT lets it through for
a migration window.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from temporalio.client import Client, WorkflowFailureError, WorkflowUpdateFailedError
from temporalio.common import RawValue
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.exceptions import ApplicationError

from frontdoor.codec import PLAINTEXT_REFUSED, EncryptionCodec
from frontdoor.temporal import data_converter
from models import signing
from models.actions import Review
from models.database import session
from models.state import ContactWorkflowInput, Stage
from tests.clients import act, get_state, workflow_id
from tests.conftest import SAM, TEST_KEY, make_contact, running_worker
from tests.helpers import action_trail, submit, wait_stage
from workflows.contact import ContactWorkflow

pytestmark = pytest.mark.asyncio

FORGED = {"actor": {"username": "mallory", "role": "team_manager"}, "rag": "red", "note": "forged"}


async def plain_client(client: Client) -> Client:
    """What `temporal workflow update` is: a client with no codec."""
    return await Client.connect(
        client.service_client.config.target_host, namespace=client.namespace, data_converter=pydantic_data_converter
    )


async def test_a_plaintext_update_is_refused_and_the_workflow_carries_on(dev_env, settings, task_queue):
    client = dev_env.client
    c = make_contact()
    async with running_worker(client, settings, task_queue):
        await submit(client, settings, task_queue, c)
        await wait_stage(client, c.id, Stage.AWAITING_TRIAGE)
        forger = await plain_client(client)
        with pytest.raises(WorkflowUpdateFailedError) as err:
            await forger.get_workflow_handle(workflow_id(c.id)).execute_update("review", FORGED, result_type=RawValue)
        cause = err.value.cause
        assert isinstance(cause, ApplicationError) and cause.type == PLAINTEXT_REFUSED
        assert "plaintext payload refused by the codec" in cause.message
        # the workflow is not wedged: the next real action goes through at once
        state = await act(client, c.id, "review", {"actor": SAM, "rag": "amber", "note": "seen"})
        assert state.review is not None and state.review.actor.username == "sam"
        desc = await client.get_workflow_handle(workflow_id(c.id)).describe()
        assert desc.status is not None and desc.status.name == "RUNNING"
    with session(settings.database_url) as s:
        actors = {r.actor for r in action_trail(s, c.id)}
    assert "mallory" not in actors and "sam" in actors


async def test_a_workflow_started_with_plaintext_input_fails_with_the_reason(dev_env, settings, task_queue):
    client = dev_env.client
    c = make_contact()
    forger = await plain_client(client)
    inp = ContactWorkflowInput(contact=c, submitted_by="mallory", timescales=settings.timescales,
                               review_due_at=datetime.now(UTC))
    async with running_worker(client, settings, task_queue):
        handle = await forger.start_workflow(ContactWorkflow.run, inp, id=workflow_id(c.id), task_queue=task_queue)
        with pytest.raises(WorkflowFailureError) as err:
            await handle.result()
    assert "plaintext payload refused by the codec" in str(err.value.cause)


async def test_the_migration_setting_lets_plaintext_through(dev_env, settings, task_queue):
    lenient = await Client.connect(
        dev_env.client.service_client.config.target_host, namespace=dev_env.client.namespace,
        data_converter=data_converter(EncryptionCodec("test-1", TEST_KEY, allow_plaintext=True)),
    )
    c = make_contact(id=f"T-{uuid.uuid4().hex[:10]}")
    async with running_worker(lenient, replace(settings, codec_allow_plaintext=True), task_queue):
        await submit(lenient, settings, task_queue, c)
        await wait_stage(lenient, c.id, Stage.AWAITING_TRIAGE)
        forger = await plain_client(lenient)
        handle = forger.get_workflow_handle(workflow_id(c.id))
        with pytest.raises(WorkflowUpdateFailedError) as err:  # past the codec, but no interface vouched for mallory
            await handle.execute_update("review", FORGED, result_type=RawValue)
        assert isinstance(err.value.cause, ApplicationError) and err.value.cause.type == "SignatureRefused"
        # a signed action sent in clear (an older interface, during the migration window) is accepted
        review = Review(actor=SAM, rag="red", note="sent in clear during the migration")
        signed = signing.signed(signing.current(), workflow_id(c.id), "review", review, datetime.now(UTC))
        await handle.execute_update("review", signed.model_dump(mode="json"), result_type=RawValue)
        state = await get_state(lenient, c.id)
    assert state.review is not None and state.review.actor.username == "sam"


async def test_connecting_configures_the_process_signing_keyring(dev_env, settings):
    from frontdoor.temporal import connect
    from models import signing

    here = replace(settings, temporal=replace(settings.temporal, address=dev_env.client.service_client.config.target_host))
    signing.configure(None)
    try:
        await connect(here)
        assert signing.current() == here.signing_keyring
    finally:
        signing.configure(None)
