"""Running one human action as a workflow Update, with refusals turned into Refused."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from frontdoor.errors import NotFound, Refused


async def run_update(
    client: Client, workflow_id: str, actions: dict[str, tuple[Any, type[BaseModel]]], action: str,
    payload: BaseModel | dict[str, Any], result_type: type[BaseModel], what: str,
) -> Any:
    if action not in actions:
        raise ValueError(f"unknown action {action!r}; one of {', '.join(actions)}")
    update, model = actions[action]
    arg = payload if isinstance(payload, model) else model.model_validate(payload)
    handle = client.get_workflow_handle(workflow_id)
    try:
        return await handle.execute_update(update, arg, result_type=result_type)
    except WorkflowUpdateFailedError as exc:
        cause = exc.cause
        if isinstance(cause, ApplicationError):
            raise Refused(cause.type or "InvalidAction", cause.message) from None
        raise
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            raise NotFound(f"no open {what}: it may be closed already, or the id is wrong") from None
        raise


async def query_state(client: Client, workflow_id: str, query: Any, what: str) -> Any:
    try:
        return await client.get_workflow_handle(workflow_id).query(query)
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            raise NotFound(f"no {what}: check the id") from None
        raise
