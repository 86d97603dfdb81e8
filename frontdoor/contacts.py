"""Client-side operations on contacts, shared by the CLI and the web app."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel
from temporalio.client import Client
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from frontdoor.clock import end_of_day
from frontdoor.config import Settings
from frontdoor.errors import Duplicate, NotFound, Refused
from frontdoor.updates import run_update
from models.actions import (
    ConsentOverride,
    ConsentUpdate,
    Extension,
    ManagementDecision,
    MapRequest,
    MapResponse,
    Pickup,
    ProceedWithoutAgency,
    Recommendation,
    RetryFault,
    Review,
    Triage,
)
from models.contact import Contact
from models.roles import Actor, PermissionDenied, require
from models.state import ContactState, ContactWorkflowInput, Flag
from workflows import search_attributes as sa
from workflows.contact import ContactWorkflow

# Each action: the workflow update that carries it and the model of its input.
ACTIONS: dict[str, tuple[Any, type[BaseModel]]] = {
    "triage": (ContactWorkflow.triage, Triage),
    "review": (ContactWorkflow.review, Review),
    "pickup": (ContactWorkflow.pickup, Pickup),
    "consent": (ContactWorkflow.record_consent, ConsentUpdate),
    "override_consent": (ContactWorkflow.override_consent, ConsentOverride),
    "map_requests": (ContactWorkflow.request_map_checks, MapRequest),
    "map_responses": (ContactWorkflow.record_map_response, MapResponse),
    "proceed_without": (ContactWorkflow.proceed_without_agency, ProceedWithoutAgency),
    "recommendation": (ContactWorkflow.recommend, Recommendation),
    "decision": (ContactWorkflow.decide, ManagementDecision),
    "extension": (ContactWorkflow.extend, Extension),
    "retry": (ContactWorkflow.retry_fault, RetryFault),
}


def workflow_id(contact_id: str) -> str:
    return f"contact-{contact_id}"


async def submit_contact(
    client: Client, settings: Settings, contact: Contact, actor: Actor, *, task_queue: str | None = None
) -> str:
    """Start the contact's workflow. A contact id seen before is refused (Duplicate)."""
    try:
        require(actor, "submit_contact")
    except PermissionDenied as exc:
        raise Refused("PermissionDenied", str(exc)) from None
    inp = ContactWorkflowInput(
        contact=contact,
        submitted_by=actor.username,
        timescales=settings.timescales,
        review_due_at=end_of_day(max(contact.received_at, datetime.now(UTC)), settings.timezone),
    )
    try:
        await client.start_workflow(
            ContactWorkflow.run,
            inp,
            id=workflow_id(contact.id),
            task_queue=task_queue or settings.temporal.task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
            search_attributes=TypedSearchAttributes(
                [
                    SearchAttributePair(sa.KIND, "contact"),
                    SearchAttributePair(sa.STAGE, "intake"),
                    SearchAttributePair(sa.SOURCE, contact.source),
                    SearchAttributePair(sa.RECEIVED, contact.received_at),
                    SearchAttributePair(sa.FLAGS, [Flag.UNREVIEWED.value]),
                ]
            ),
        )
    except WorkflowAlreadyStartedError:
        raise Duplicate(
            f"contact {contact.id} has already been received; a contact id is used once. "
            f"See it with `frontdoor contact show {contact.id}`"
        ) from None
    return workflow_id(contact.id)


async def get_state(client: Client, contact_id: str) -> ContactState:
    handle = client.get_workflow_handle(workflow_id(contact_id))
    try:
        return await handle.query(ContactWorkflow.current_state)
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            raise NotFound(f"no contact {contact_id}: check the id, or list contacts with `frontdoor contact list`") from None
        raise


async def act(client: Client, contact_id: str, action: str, payload: BaseModel | dict[str, Any]) -> ContactState:
    """Run one human action as a workflow Update; a refusal raises Refused with the reason."""
    return await run_update(
        client, workflow_id(contact_id), ACTIONS, action, payload, ContactState, f"contact {contact_id}"
    )
