"""Client-side operations on early help hub cases, shared by the CLI and the web app."""

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
from models.contact import Contact
from models.early_help import (
    Conversation,
    Directions,
    EarlyHelpConsent,
    EarlyHelpDecision,
    EarlyHelpEntry,
    EarlyHelpInput,
    EarlyHelpRecommendation,
    EarlyHelpState,
    FinishGathering,
    StepUp,
    ThresholdConsultation,
)
from models.roles import Actor, PermissionDenied, require
from workflows import search_attributes as sa
from workflows.early_help import EarlyHelpWorkflow

ACTIONS: dict[str, tuple[Any, type[BaseModel]]] = {
    "directions": (EarlyHelpWorkflow.give_directions, Directions),
    "consent": (EarlyHelpWorkflow.record_consent, EarlyHelpConsent),
    "conversation": (EarlyHelpWorkflow.record_conversation, Conversation),
    "consult": (EarlyHelpWorkflow.consult, ThresholdConsultation),
    "finish_gathering": (EarlyHelpWorkflow.finish_gathering, FinishGathering),
    "recommendation": (EarlyHelpWorkflow.recommend, EarlyHelpRecommendation),
    "decision": (EarlyHelpWorkflow.decide, EarlyHelpDecision),
    "step_up": (EarlyHelpWorkflow.step_up, StepUp),
    "retry": (EarlyHelpWorkflow.retry_fault, RetryFault),
}


def workflow_id(case_id: str) -> str:
    return f"early-help-{case_id}"


async def start_early_help(
    client: Client, settings: Settings, request: Contact, actor: Actor, *, task_queue: str | None = None
) -> str:
    """A case started directly by the hub (not from a contact). The request uses the intake contract."""
    try:
        require(actor, "start_early_help")
    except PermissionDenied as exc:
        raise Refused("PermissionDenied", str(exc)) from None
    try:
        await client.start_workflow(
            EarlyHelpWorkflow.run,
            EarlyHelpInput(
                case_id=request.id, entry=EarlyHelpEntry.DIRECT, request=request, submitted_by=actor.username,
                timescales=settings.timescales,
            ),
            id=workflow_id(request.id),
            task_queue=task_queue or settings.temporal.task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
            search_attributes=TypedSearchAttributes(
                [
                    SearchAttributePair(sa.KIND, "early_help"),
                    SearchAttributePair(sa.STAGE, "awaiting_directions"),
                    SearchAttributePair(sa.SOURCE, request.source),
                ]
            ),
        )
    except WorkflowAlreadyStartedError:
        raise Duplicate(
            f"early help case {request.id} already exists; see it with `frontdoor early-help show {request.id}`"
        ) from None
    return workflow_id(request.id)


async def get_state(client: Client, case_id: str) -> EarlyHelpState:
    return await query_state(client, workflow_id(case_id), EarlyHelpWorkflow.current_state, f"early help case {case_id}")


async def act(client: Client, case_id: str, action: str, payload: BaseModel | dict[str, Any]) -> EarlyHelpState:
    return await run_update(client, workflow_id(case_id), ACTIONS, action, payload, EarlyHelpState, f"early help case {case_id}")
