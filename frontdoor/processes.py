"""The client layer: start a case, read its state, act on it, for any process in the
registry. The CLI, the API and the pages all come through here, so a refusal reads the
same everywhere (frontdoor.errors: 403 wrong role, 409 wrong stage, 422 invalid)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel
from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
    WorkflowUpdateStage,
)
from temporalio.common import TypedSearchAttributes, WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from frontdoor.config import Settings
from frontdoor.errors import Duplicate, InvalidInput, NotAnswering, NotFound, Refused, StillWorking
from models import errors as kinds
from models import signing
from models.bounds import plausibility_errors
from models.roles import ROLE_NAMES, Actor
from workflows.process import OPENED, Action, Process, StartContext
from workflows.registry import BY_KIND, PROCESSES

__all__ = ["BY_KIND", "PROCESSES", "act", "get_state", "process", "start", "start_and_open"]


def process(kind: str) -> Process:
    try:
        return BY_KIND[kind]
    except KeyError:
        raise NotFound(f"no process {kind!r}; one of {', '.join(BY_KIND)}") from None


async def start(
    client: Client, settings: Settings, proc: Process, item: BaseModel, actor: Actor, *, task_queue: str | None = None,
    now: datetime | None = None,
) -> str:
    """Start a case's workflow; its id is used once (Duplicate otherwise). Returns the workflow id
    once the case has opened (`start_and_open`, without its state).
    `now` (default: the wall clock) is the Temporal server's time when that is not the wall
    clock's: `frontdoor demo` runs on a time-skipping server months ahead."""
    wid, _ = await start_and_open(client, settings, proc, item, actor, task_queue=task_queue, now=now)
    return wid


async def start_and_open(
    client: Client, settings: Settings, proc: Process, item: BaseModel, actor: Actor, *, task_queue: str | None = None,
    now: datetime | None = None,
) -> tuple[str, Any | None]:
    """`start`, answered with the case as its opening steps left it (a contact: awaiting
    triage, its earlier contacts found): the start carries the workflow's `opened` Update, so
    the answer comes in the workflow task that opens the case, with no query after it. The
    state is None when the workflow has not answered within FRONTDOOR_ACTION_TIMEOUT (no
    worker running, a step retrying) or runs on a worker without that Update: the case is
    received all the same and shows once a worker takes it."""
    spec = proc.start
    if spec is None:
        raise NotFound(f"a {proc.noun} is not started by a person")
    if actor.role not in spec.roles:
        raise Refused(kinds.PERMISSION_DENIED, f"{actor.username} ({actor.role.value}) may not {spec.title.lower()}")
    now = now or datetime.now(UTC)
    if hasattr(item, "plausibility_errors") and (problems := plausibility_errors(item, now)):  # type: ignore[arg-type]
        raise InvalidInput.of([e.as_dict() for e in problems])
    subject = spec.subject_id(item)
    ctx = StartContext(timescales=settings.timescales, timezone=settings.timezone, now=now)
    wid = proc.workflow_id(subject)
    starting = WithStartWorkflowOperation(
        proc.workflow.run,  # type: ignore[attr-defined]
        spec.workflow_input(item, actor, ctx),
        id=wid,
        task_queue=task_queue or settings.temporal.task_queue,
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
        search_attributes=TypedSearchAttributes(list(spec.search_attributes(item))),
    )
    state: Any | None = None
    try:
        state = await asyncio.wait_for(
            client.execute_update_with_start_workflow(OPENED, start_workflow_operation=starting, result_type=proc.state),
            settings.action_timeout.total_seconds(),
        )
    except WorkflowAlreadyStartedError:
        raise Duplicate(
            f"{proc.noun} {subject} has already been received; an id is used once. "
            f"See it with `frontdoor {proc.kind} show {subject}`"
        ) from None
    except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError, WorkflowUpdateFailedError):
        pass  # not answered in time, or by a worker without `opened`: was it started?
    if state is None:  # was it received? The start's answer comes with the Update's, so ask
        try:
            await client.get_workflow_handle(wid).describe()
        except RPCError as exc:
            if exc.status != RPCStatusCode.NOT_FOUND:
                raise
            raise NotAnswering(
                f"Temporal did not take {proc.noun} {subject} within {settings.action_timeout.total_seconds():.0f}s "
                f"(are the server and the workers running?). Send it again: if it was taken after all, "
                f"the second is refused as already received"
            ) from None
    return wid, state


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


# What an interface checks before an action's Update that the workflow cannot know, by action
# name: the receiver's caseload before "allocate" (frontdoor/caseloads.py adds its check here).
CHECKS_FIRST: dict[str, Callable[[Client, Settings, Process, str, Any], Awaitable[None]]] = {}


async def act(
    client: Client, proc: Process, subject_id: str, action: str, payload: BaseModel | dict[str, Any], *,
    timeout: timedelta | None = None, database_url: str | None = None, settings: Settings | None = None,
) -> Any:
    """Run one person's action as the workflow's Update; a refusal raises Refused with the reason.

    The interfaces pass their `settings`: then the action waits at most
    FRONTDOOR_ACTION_TIMEOUT, the people it names are checked against the user table, and an
    allocation is checked against the receiver's caseload first (frontdoor/caseloads.py).

    With a `timeout`, never waits longer: an action the workflow has not taken by then raises
    NotAnswering (503), one taken but still being carried out (an activity retrying, say)
    raises StillWorking (202) with the case's address, or Refused with the fault's reason."""
    if action not in proc.actions:
        raise NotFound(f"no action {action!r} on a {proc.noun}; one of {', '.join(proc.actions.names())}")
    model = proc.actions[action].model
    arg = payload if isinstance(payload, model) else model.model_validate(payload)
    if settings is not None:
        timeout, database_url = timeout or settings.action_timeout, database_url or settings.database_url
    if database_url is not None:
        _check_people(proc.actions[action], arg, database_url)
    if settings is not None and (check := CHECKS_FIRST.get(action)):
        await check(client, settings, proc, subject_id, arg)
    wid = proc.workflow_id(subject_id)
    arg = signing.signed(signing.current(), wid, action, arg, datetime.now(UTC))  # this interface vouches for the actor
    handle = client.get_workflow_handle(wid)
    limit = timeout.total_seconds() if timeout else None
    clock = asyncio.get_running_loop().time
    started = clock()
    try:
        try:
            update = await asyncio.wait_for(
                handle.start_update(action, arg, wait_for_stage=WorkflowUpdateStage.ACCEPTED, result_type=proc.state),
                limit,
            )
        except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError):
            raise NotAnswering(
                f"the {proc.noun}'s workflow did not take the action "
                f"{f'within {limit:.0f}s' if limit is not None else 'before the server timed out'} (are the workers running?). "
                f"It may still be taken: look at {proc.noun} {subject_id} before trying again"
            ) from None
        if limit is None:
            return await update.result()
        outcome = asyncio.ensure_future(update.result())
        try:
            while True:  # the update was taken: wait for its end, but look for a fault each second
                left = limit - (clock() - started)
                done, _ = await asyncio.wait({outcome}, timeout=max(min(1.0, left), 0.05))
                if done:
                    return outcome.result()
                if left <= 1.0 or await _faulted(client, proc, subject_id):
                    await _still_working(client, proc, subject_id, action)
        finally:
            outcome.cancel()
    except WorkflowUpdateFailedError as exc:
        cause = exc.cause
        if isinstance(cause, ApplicationError):
            raise Refused(cause.type or kinds.INVALID, cause.message) from None
        raise
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            raise NotFound(f"no open {proc.noun} {subject_id}: it may be closed already, or the id is wrong") from None
        raise


def _check_people(action: Action, payload: BaseModel, database_url: str) -> None:
    """A person an action names (the adviser, the consulted) is known, with a fitting role."""
    from frontdoor.users import role_of

    problems = []
    for path, roles in action.people.items():
        value: Any = payload
        for part in path.split("."):
            value = getattr(value, part, None)
        if value is None:
            continue
        allowed = ", ".join(ROLE_NAMES[r].lower() for r in sorted(roles))
        named = list(value) if isinstance(value, list) else [value]  # a list names several (a restriction's readers)
        for n, one in enumerate(named):
            where = f"{path}.{n}" if isinstance(value, list) else path
            role = role_of(database_url, str(one))
            if role is None:
                problems.append({"field": where, "message": f"no person {one!r} uses the front door: give their username"})
            elif role not in roles:
                problems.append({"field": where, "message": f"{one} is a {ROLE_NAMES[role].lower()}; name a {allowed}"})
    if problems:
        raise InvalidInput.of(problems)


async def _faulted(client: Client, proc: Process, subject_id: str) -> bool:
    try:
        state = await asyncio.wait_for(get_state(client, proc, subject_id), 2.0)
    except (TimeoutError, RPCError, NotFound):
        return False
    return getattr(state, "fault", None) is not None


async def _still_working(client: Client, proc: Process, subject_id: str, action: str) -> None:
    """An accepted action still being carried out: say whether a fault holds it, or that it runs on."""
    title = proc.actions[action].title
    try:
        state = await asyncio.wait_for(get_state(client, proc, subject_id), 2.0)
    except (TimeoutError, RPCError, NotFound):
        state = None
    fault = getattr(state, "fault", None)
    if fault is not None:
        raise Refused(
            kinds.WRONG_STAGE,
            f"{title}: taken, but a step failed ({fault.activity}: {fault.error}); the {proc.noun} waits for a "
            "manager to retry once the cause is mended (retry_fault)",
        )
    raise StillWorking(f"{title}: taken and still being carried out; the {proc.noun} shows when it is done",
                       f"/{proc.path}/{subject_id}")
