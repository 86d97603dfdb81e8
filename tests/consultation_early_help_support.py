"""Helpers for the consultation line and early help hub tests (real servers, our own client code)."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from frontdoor.config import Settings
from models.consultation import Consultation
from models.contact import Contact
from models.roles import Actor, Role
from tests.clients import consultations, early_help
from tests.conftest import make_contact, running_worker, terminate_when_quiet

CARA = Actor(username="cara", role=Role.SOCIAL_WORKER)  # consultation line social worker


class Started(list[str]):
    """Workflow ids a test started; terminated (when quiet) as the test's worker stops."""


@asynccontextmanager
async def consultation_early_help_worker(client: Client, settings: Settings, task_queue: str, **overrides: Any) -> AsyncIterator[Started]:
    started = Started()
    async with running_worker(client, settings, task_queue, **overrides):
        try:
            yield started
        finally:
            for wid in started:
                await terminate_when_quiet(client, wid)


def make_consultation(**overrides: Any) -> Consultation:
    base: dict[str, Any] = {
        "id": f"CONS-{uuid.uuid4().hex[:10]}",
        "called_at": datetime.now(UTC).isoformat(),
        "caller": {"name": "Ms K Patel", "agency": "Stoke Primary School", "role": "DSL"},
        "concern": "Child often arrives hungry and tired; parent seems low.",
        "factors": ["16A"],
        "advice": "Speak to the parent about consent; this may meet early help; referral invited.",
        "outcome": "referral_invited",
    }
    base.update(overrides)
    return Consultation.model_validate(base)


async def record(client: Client, settings: Settings, task_queue: str, started: Started, c: Consultation) -> None:
    """Record the call as of its own time (timer tests record calls on set dates)."""
    started.append(await consultations.start_as_of(client, settings, c, CARA, c.called_at, task_queue=task_queue))


async def start_direct(
    client: Client, settings: Settings, task_queue: str, started: Started, actor: Actor, **overrides: Any
) -> Contact:
    request = make_contact(id=f"EH-{uuid.uuid4().hex[:10]}", source="5D", **overrides)
    started.append(await early_help.start(client, settings, request, actor, task_queue=task_queue))
    return request


async def scheduled_activities(client: Client, workflow_id: str) -> list[str]:
    """Names of every activity the workflow ran, ordinary and local, read from its event history
    (a local activity's name is in its marker's data, which the SDK's core writes as plain JSON)."""
    names = []
    async for event in client.get_workflow_handle(workflow_id).fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            names.append(event.activity_task_scheduled_event_attributes.activity_type.name)
        elif event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED:
            marker = event.marker_recorded_event_attributes
            if marker.marker_name == "core_local_activity":
                names.append(json.loads(marker.details["data"].payloads[0].data)["activity_type"])
    return names
