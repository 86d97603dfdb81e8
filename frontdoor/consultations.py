"""Client-side operations on telephone consultations, shared by the CLI and the web app."""

from __future__ import annotations

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

from frontdoor.config import Settings
from frontdoor.errors import Duplicate, Refused
from frontdoor.updates import query_state, run_update
from models.actions import RetryFault
from models.consultation import Consultation, ConsultationInput, ConsultationState, FollowUpCall
from models.roles import Actor, PermissionDenied, require
from workflows import search_attributes as sa
from workflows.consultation import ConsultationWorkflow

ACTIONS: dict[str, tuple[Any, type[BaseModel]]] = {
    "follow_up": (ConsultationWorkflow.record_follow_up, FollowUpCall),
    "retry": (ConsultationWorkflow.retry_fault, RetryFault),
}


def workflow_id(consultation_id: str) -> str:
    return f"consultation-{consultation_id}"


async def record_consultation(
    client: Client, settings: Settings, consultation: Consultation, actor: Actor, *, task_queue: str | None = None
) -> str:
    """Start the consultation's workflow. Its id is used once (Duplicate otherwise)."""
    try:
        require(actor, "record_consultation")
    except PermissionDenied as exc:
        raise Refused("PermissionDenied", str(exc)) from None
    attrs: list[SearchAttributePair[Any]] = [
        SearchAttributePair(sa.KIND, "consultation"),
        SearchAttributePair(sa.STAGE, "recording"),
        SearchAttributePair(sa.RECEIVED, consultation.called_at),
    ]
    if consultation.reference:
        attrs.append(SearchAttributePair(sa.REF, consultation.reference))
    try:
        await client.start_workflow(
            ConsultationWorkflow.run,
            ConsultationInput(consultation=consultation, consultant=actor, timescales=settings.timescales),
            id=workflow_id(consultation.id),
            task_queue=task_queue or settings.temporal.task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
            search_attributes=TypedSearchAttributes(attrs),
        )
    except WorkflowAlreadyStartedError:
        raise Duplicate(
            f"consultation {consultation.id} has already been recorded; see it with "
            f"`frontdoor consultation show {consultation.id}`"
        ) from None
    return workflow_id(consultation.id)


async def get_state(client: Client, consultation_id: str) -> ConsultationState:
    return await query_state(
        client, workflow_id(consultation_id), ConsultationWorkflow.current_state, f"consultation {consultation_id}"
    )


async def act(client: Client, consultation_id: str, action: str, payload: BaseModel | dict[str, Any]) -> ConsultationState:
    return await run_update(
        client, workflow_id(consultation_id), ACTIONS, action, payload, ConsultationState,
        f"consultation {consultation_id}",
    )
