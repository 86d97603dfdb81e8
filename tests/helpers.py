"""Helpers for driving contacts in tests through the same client code the CLI and API use."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select
from temporalio.client import Client, ScheduleActionExecutionStartWorkflow

from frontdoor import schedules
from frontdoor.config import Settings
from models.contact import Contact
from models.state import ContactState, Stage
from models.tables import ActionRecord
from tests.clients import act, get_state, submit_contact
from tests.conftest import RITA, SAM, STARTED, TOM


def action_trail(s: Session, subject_id: str) -> list[ActionRecord]:
    """The case's trail in order, read straight from the table (what the read module shows)."""
    return list(s.exec(select(ActionRecord).where(ActionRecord.subject_id == subject_id)
                       .order_by(col(ActionRecord.at), col(ActionRecord.id))).all())


async def wait_for(
    predicate: Callable[[], Any], timeout: float = 10.0, interval: float = 0.05, what: str = "condition"
) -> Any:
    """Poll an async or sync predicate until it returns a truthy value."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(interval)


async def wait_stage(client: Client, contact_id: str, stage: Stage, timeout: float = 10.0) -> ContactState:
    async def check() -> ContactState | None:
        state = await get_state(client, contact_id)
        return state if state.stage == stage else None

    return await wait_for(check, timeout, what=f"{contact_id} to reach {stage.value}")


async def submit(client: Client, settings: Settings, task_queue: str, contact: Contact) -> None:
    wid = await submit_contact(client, settings, contact, RITA, task_queue=task_queue)
    STARTED.append(wid)


async def to_spa(client: Client, settings: Settings, task_queue: str, contact: Contact, level: int = 4) -> ContactState:
    """Submit and triage into the SPA; returns the state after triage."""
    await submit(client, settings, task_queue, contact)
    state = await wait_stage(client, contact.id, Stage.AWAITING_TRIAGE)
    suggested = state.suggested_level
    return await act(
        client, contact.id, "triage",
        {
            "actor": RITA, "level": level, "route": "spa", "rationale": "Needs an SPA decision",
            "departure_reason": None if suggested == level else "Officer's judgement on the facts",
            "history_considered": True,
        },
    )


async def to_decision(client: Client, contact_id: str) -> ContactState:
    """From SPA with consent given: ask the police, record the answer, recommend."""
    await act(client, contact_id, "request_map_checks", {"actor": SAM, "agencies": ["police"]})
    await act(client, contact_id, "record_map_response", {"actor": SAM, "agency": "police", "information": "Known: one call-out"})
    return await act(
        client, contact_id, "recommend",
        {"actor": SAM, "summary": "Balanced summary of what was found.", "recommended_outcome": "assessment_s17"},
    )


def decision(outcome: str = "assessment_s17", **extra: Any) -> dict[str, Any]:
    return {"actor": TOM, "outcome": outcome, "rationale": "Assessment needed", "recurring_pattern_considered": True} | extra


def with_timescales(settings: Settings, **changes: Any) -> Settings:
    return replace(settings, timescales=settings.timescales.model_copy(update=changes))


def in_hours(n: float) -> datetime:
    return datetime.now(UTC) + timedelta(hours=n)


async def last_scheduled_run(client: Client, schedule_id: str) -> str | None:
    """The workflow id of a Schedule's latest run, None before its first."""
    desc = await client.get_schedule_handle(schedule_id).describe()
    if not desc.info.recent_actions:
        return None
    action = desc.info.recent_actions[-1].action
    return action.workflow_id if isinstance(action, ScheduleActionExecutionStartWorkflow) else None


async def delete_schedules(client: Client, prefix: str = schedules.PREFIX) -> None:
    """Delete the front door's Schedules made with `prefix` (those not made are passed over).
    The dev server is shared by every test of a process: a test that makes Schedules, or runs
    a worker that makes them, deletes them again, so no other test finds them there."""
    for entry in schedules.SCHEDULES:
        try:
            await client.get_schedule_handle(schedules.schedule_id(entry, prefix)).delete()
        except Exception:  # noqa: BLE001 (not made)
            pass
