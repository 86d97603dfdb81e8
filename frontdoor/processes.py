"""The client layer: start a case, read its state, act on it, for any process in the
registry. The CLI, the API and the pages all come through here, so a refusal reads the
same everywhere (frontdoor.errors: 403 wrong role, 409 wrong stage, 422 invalid)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.common import TypedSearchAttributes, WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from frontdoor.config import Settings
from frontdoor.errors import Duplicate, InvalidInput, NotFound, Refused
from models import errors as kinds
from models import signing
from models.bounds import plausibility_errors
from models.roles import Actor
from workflows.process import Process, StartContext
from workflows.registry import BY_KIND, PROCESSES

__all__ = ["BY_KIND", "PROCESSES", "act", "get_state", "process", "start"]


def process(kind: str) -> Process:
    try:
        return BY_KIND[kind]
    except KeyError:
        raise NotFound(f"no process {kind!r}; one of {', '.join(BY_KIND)}") from None


async def start(
    client: Client, settings: Settings, proc: Process, item: BaseModel, actor: Actor, *, task_queue: str | None = None
) -> str:
    """Start a case's workflow; its id is used once (Duplicate otherwise). Returns the workflow id."""
    spec = proc.start
    if spec is None:
        raise NotFound(f"a {proc.noun} is not started by a person")
    if actor.role not in spec.roles:
        raise Refused(kinds.PERMISSION_DENIED, f"{actor.username} ({actor.role.value}) may not {spec.title.lower()}")
    now = datetime.now(UTC)
    if hasattr(item, "plausibility_errors") and (problems := plausibility_errors(item, now)):  # type: ignore[arg-type]
        raise InvalidInput.of([e.as_dict() for e in problems])
    subject = spec.subject_id(item)
    ctx = StartContext(timescales=settings.timescales, timezone=settings.timezone, now=now)
    wid = proc.workflow_id(subject)
    try:
        await client.start_workflow(
            proc.workflow.run,  # type: ignore[attr-defined]
            spec.workflow_input(item, actor, ctx),
            id=wid,
            task_queue=task_queue or settings.temporal.task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
            search_attributes=TypedSearchAttributes(list(spec.search_attributes(item))),
        )
    except WorkflowAlreadyStartedError:
        raise Duplicate(
            f"{proc.noun} {subject} has already been received; an id is used once. "
            f"See it with `frontdoor {proc.kind} show {subject}`"
        ) from None
    return wid


async def get_state(client: Client, proc: Process, subject_id: str) -> Any:
    try:
        return await client.get_workflow_handle(proc.workflow_id(subject_id)).query(
            "current_state", result_type=proc.state
        )
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            raise NotFound(
                f"no {proc.noun} {subject_id}: check the id, or list them with `frontdoor {proc.kind} list`"
            ) from None
        raise


async def act(client: Client, proc: Process, subject_id: str, action: str, payload: BaseModel | dict[str, Any]) -> Any:
    """Run one person's action as the workflow's Update; a refusal raises Refused with the reason."""
    if action not in proc.actions:
        raise NotFound(f"no action {action!r} on a {proc.noun}; one of {', '.join(proc.actions.names())}")
    model = proc.actions[action].model
    arg = payload if isinstance(payload, model) else model.model_validate(payload)
    wid = proc.workflow_id(subject_id)
    arg = signing.signed(signing.current(), wid, action, arg, datetime.now(UTC))  # this interface vouches for the actor
    handle = client.get_workflow_handle(wid)
    try:
        return await handle.execute_update(action, arg, result_type=proc.state)
    except WorkflowUpdateFailedError as exc:
        cause = exc.cause
        if isinstance(cause, ApplicationError):
            raise Refused(cause.type or kinds.INVALID, cause.message) from None
        raise
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            raise NotFound(f"no open {proc.noun} {subject_id}: it may be closed already, or the id is wrong") from None
        raise
