"""Scripted actors: drive a contact (or its bare twin) from submission to closure.

A contact goes: submit -> (history check) -> triage to the SPA -> daily review -> consent
already given by the referrer -> MAP request to the police -> police answer ->
recommendation -> management decision -> handoff -> closed. Each action goes through
frontdoor.processes.act, the client code the CLI and web app use, and its round trip
(update sent to new state returned) is timed.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from bare import BarePlan, BareWorkflow, TwinCommands
from harness import RITA, SAM, TOM, Progress, new_contact, say, triage_payload
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client, WithStartWorkflowOperation, WorkflowHandle, WorkflowHistory
from temporalio.common import WorkflowIDConflictPolicy

from frontdoor import processes
from frontdoor.config import Settings
from models.state import ContactState, Stage
from workflows.contact import PROCESS as CONTACT
from workflows.contact import ContactWorkflow
from workflows.process import OPENED

ACTIONS = ["triage", "review", "request_map_checks", "record_map_response", "recommend", "decide"]
# The contact's shape in Temporal terms, as plan_from_history reads it from a finished SPA contact
# (29/11/2026): at intake four local activities (its case-record row and trail lines, and the
# history check: EVERY_CHANGE_AT_START), answered by the start's `opened` Update; in each update
# one local activity (the action's write and its line: ONE_WRITE_PER_ACTION); the MAP request's
# mailbox activity after its answer (ANSWER_BEFORE_SENDING); at the end the handoff and three
# local ones. pipeline.py prints a note when a contact's history no longer matches it;
# peak_day.py and sqlite_pragmas.py use it as it is.
DEFAULT_PLAN = BarePlan(
    intake=0, per_update=[0, 0, 0, 0, 0, 0], tail=1,
    intake_local=4, per_update_local=[1, 1, 1, 1, 1, 1], tail_local=3, per_update_after=[0, 0, 1, 0, 0, 0],
)
POLL = 0.05  # the actors look again after this long (seconds) while a contact is in intake
CONTACT_TIMEOUT = 180.0

Latencies = dict[str, list[float]]


async def poll_until(check: Callable[[], Awaitable[Any]], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
        await asyncio.sleep(POLL)


def payloads(suggested: int | None) -> list[tuple[str, dict[str, Any]]]:
    return [
        ("triage", triage_payload(suggested)),
        ("review", {"actor": SAM, "rag": "amber", "note": "Daily review"}),
        ("request_map_checks", {"actor": SAM, "agencies": ["police"]}),
        ("record_map_response", {"actor": SAM, "agency": "police", "information": "Known: one call-out"}),
        (
            "recommend",
            {"actor": SAM, "summary": "Balanced summary of what was found.", "recommended_outcome": "assessment_s17"},
        ),
        (
            "decide",
            {"actor": TOM, "outcome": "assessment_s17", "rationale": "Assessment needed",
             "recurring_pattern_considered": True},
        ),
    ]


async def drive_contact(client: Client, settings: Settings, lat: Latencies) -> str:
    contact = new_contact(consent="given")
    _, state = await processes.start_and_open(client, settings, CONTACT, contact, RITA)

    async def at_triage() -> ContactState | None:
        state = await processes.get_state(client, CONTACT, contact.id)
        return state if state.stage == Stage.AWAITING_TRIAGE else None

    if state is None or state.stage != Stage.AWAITING_TRIAGE:  # the start's answer did not come in time
        state = await poll_until(at_triage, 60, f"{contact.id} to await triage")
    for name, payload in payloads(state.suggested_level):
        t0 = time.perf_counter()
        state = await processes.act(client, CONTACT, contact.id, name, payload)
        lat[name].append(time.perf_counter() - t0)
    final = await client.get_workflow_handle_for(ContactWorkflow.run, CONTACT.workflow_id(contact.id)).result()
    if final.stage != Stage.CLOSED:
        raise RuntimeError(f"{contact.id} ended at {final.stage}, not closed")
    return contact.id


async def start_bare(client: Client, plan: BarePlan, task_queue: str) -> WorkflowHandle[Any, Any]:
    """Start a bare twin as a contact starts (processes.start_and_open): with its `opened`
    Update, answered once its intake is done."""
    starting = WithStartWorkflowOperation(
        BareWorkflow.run, plan, id=f"bare-{uuid.uuid4().hex[:12]}", task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
    )
    await client.execute_update_with_start_workflow(BareWorkflow.opened, start_workflow_operation=starting)
    return await starting.workflow_handle()


async def drive_bare(client: Client, task_queue: str, plan: BarePlan, lat: Latencies) -> str:
    handle = await start_bare(client, plan, task_queue)
    for i in range(len(plan.per_update)):
        t0 = time.perf_counter()
        await handle.execute_update(BareWorkflow.step, i)
        lat[ACTIONS[i] if i < len(ACTIONS) else f"update-{i}"].append(time.perf_counter() - t0)
    await handle.result()
    return handle.id


async def run_phase(
    label: str, n: int, concurrency: int, drive: Callable[[Latencies], Awaitable[str]]
) -> tuple[float, Latencies, list[str]]:
    """Drive n journeys, at most `concurrency` at a time. Returns (seconds, latencies, ids)."""
    lat: Latencies = defaultdict(list)
    sem = asyncio.Semaphore(concurrency)
    done = 0
    ids: list[str] = []
    progress = Progress(label, n)

    async def one() -> None:
        nonlocal done
        async with sem:
            ids.append(await asyncio.wait_for(drive(lat), CONTACT_TIMEOUT))
            done += 1
            progress.tick(done)

    t0 = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(n)))
    return time.perf_counter() - t0, lat, ids


def _people_updates(history: WorkflowHistory) -> list[HistoryEvent]:
    """The history's events without the `opened` Update's acceptance and completion: that
    Update is the start's answer, and what it waits for is the intake."""
    opened = {
        e.event_id for e in history.events
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
        and e.workflow_execution_update_accepted_event_attributes.accepted_request.input.name == OPENED
    }
    return [
        e for e in history.events
        if e.event_id not in opened
        and not (e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED
                 and e.workflow_execution_update_completed_event_attributes.accepted_event_id in opened)
    ]


def plan_from_history(history: WorkflowHistory) -> BarePlan:
    """Count a finished contact's activities at intake, inside each update and after the last."""
    plan = BarePlan(intake=0, per_update=[], tail=0)
    in_update = False
    open_in_update: set[int] = set()  # ordinary activities the current update started, not yet done
    for event in _people_updates(history):
        kind = event.event_type
        local = (
            kind == EventType.EVENT_TYPE_MARKER_RECORDED
            and event.marker_recorded_event_attributes.marker_name == "core_local_activity"
        )
        if kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
            plan.per_update.append(0)
            plan.per_update_local.append(0)
            plan.per_update_after.append(0)
            in_update = True
            open_in_update = set()
        elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED:
            in_update = False
            # started in the update but still running when it answered: sent after the answer
            plan.per_update[-1] -= len(open_in_update)
            plan.per_update_after[-1] += len(open_in_update)
        elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            open_in_update.discard(event.activity_task_completed_event_attributes.scheduled_event_id)
        elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED or local:
            if in_update:
                if local:
                    plan.per_update_local[-1] += 1
                else:
                    plan.per_update[-1] += 1
                    open_in_update.add(event.event_id)
            elif not plan.per_update:
                if local:
                    plan.intake_local += 1
                else:
                    plan.intake += 1
            elif local:
                plan.tail_local += 1
            else:
                plan.tail += 1
    return plan


def commands_from_history(history: WorkflowHistory) -> TwinCommands:
    """Count a finished contact's other commands: its upserts at intake, in each update and
    after the last, the timers it started, and its updates' answers' mean size."""
    found = TwinCommands()
    in_update, updates, answers = False, 0, []
    for event in _people_updates(history):
        kind = event.event_type
        if kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
            in_update, updates = True, updates + 1
            found.per_update_upserts.append(0)
        elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED:
            in_update = False
            outcome = event.workflow_execution_update_completed_event_attributes.outcome
            answers += [len(p.data) for p in outcome.success.payloads]
        elif kind == EventType.EVENT_TYPE_TIMER_STARTED:
            found.timers += 1
        elif kind == EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
            if in_update:
                found.per_update_upserts[-1] += 1
            elif not updates:
                found.intake_upserts += 1
            else:
                found.tail_upserts += 1
    found.answer_bytes = sum(answers) // len(answers) if answers else 0
    return found


async def derive_plan(client: Client, contact_wid: str) -> BarePlan:
    """The bare twin's plan from a finished contact; its other commands in `plan.commands`, for
    the twin that copies them too (the bare twin runs with `commands=None`)."""
    history = await client.get_workflow_handle(contact_wid).fetch_history()
    plan = plan_from_history(history)
    if plan != DEFAULT_PLAN:
        say(f"  note: the contact's shape changed from {DEFAULT_PLAN} to {plan}; the bare twin follows it")
    return replace(plan, commands=commands_from_history(history))
