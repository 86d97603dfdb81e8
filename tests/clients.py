"""The client layer (frontdoor.processes) for one process at a time, as tests call it:
`contacts`, `consultations`, `early_help`, `missing` and `morning`, each with start / get_state / act / workflow_id.
The contact's are also plain functions (act, get_state, workflow_id, submit_contact)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel
from temporalio.client import Client
from temporalio.common import TypedSearchAttributes

from frontdoor import processes
from frontdoor.config import Settings
from models.roles import Actor
from workflows.process import Process, StartContext
from workflows.registry import BY_KIND


class Cases:
    def __init__(self, proc: Process) -> None:
        self.proc = proc

    def workflow_id(self, subject_id: str) -> str:
        return self.proc.workflow_id(subject_id)

    async def start(self, client: Client, settings: Settings, item: BaseModel, actor: Actor, *,
                    task_queue: str | None = None) -> str:
        return await processes.start(client, settings, self.proc, item, actor, task_queue=task_queue)

    async def start_as_of(self, client: Client, settings: Settings, item: BaseModel, actor: Actor, now: datetime, *,
                          task_queue: str) -> str:
        """Start a case as if it were `now` (the time-skipping server's clock), without the
        interface's plausibility check against the wall clock: for timer tests on set dates."""
        spec = self.proc.start
        assert spec is not None
        ctx = StartContext(timescales=settings.timescales, timezone=settings.timezone, now=now)
        wid = self.proc.workflow_id(spec.subject_id(item))
        await client.start_workflow(
            self.proc.workflow.run, spec.workflow_input(item, actor, ctx), id=wid, task_queue=task_queue,
            search_attributes=TypedSearchAttributes(list(spec.search_attributes(item))),
        )
        return wid

    async def get_state(self, client: Client, subject_id: str) -> Any:
        return await processes.get_state(client, self.proc, subject_id)

    async def act(self, client: Client, subject_id: str, action: str, payload: BaseModel | dict[str, Any]) -> Any:
        return await processes.act(client, self.proc, subject_id, action, payload)


contacts = Cases(BY_KIND["contact"])
consultations = Cases(BY_KIND["consultation"])
early_help = Cases(BY_KIND["early_help"])
missing = Cases(BY_KIND["missing"])
morning = Cases(BY_KIND["morning"])

workflow_id = contacts.workflow_id
get_state = contacts.get_state
act = contacts.act
submit_contact = contacts.start
