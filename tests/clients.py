"""The client layer (frontdoor.processes) for one process at a time, as tests call it:
`contacts`, `consultations` and `early_help`, each with start / get_state / act / workflow_id.
The contact's are also plain functions (act, get_state, workflow_id, submit_contact)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from temporalio.client import Client

from frontdoor import processes
from frontdoor.config import Settings
from models.roles import Actor
from workflows.process import Process
from workflows.registry import BY_KIND


class Cases:
    def __init__(self, proc: Process) -> None:
        self.proc = proc

    def workflow_id(self, subject_id: str) -> str:
        return self.proc.workflow_id(subject_id)

    async def start(self, client: Client, settings: Settings, item: BaseModel, actor: Actor, *,
                    task_queue: str | None = None) -> str:
        return await processes.start(client, settings, self.proc, item, actor, task_queue=task_queue)

    async def get_state(self, client: Client, subject_id: str) -> Any:
        return await processes.get_state(client, self.proc, subject_id)

    async def act(self, client: Client, subject_id: str, action: str, payload: BaseModel | dict[str, Any]) -> Any:
        return await processes.act(client, self.proc, subject_id, action, payload)


contacts = Cases(BY_KIND["contact"])
consultations = Cases(BY_KIND["consultation"])
early_help = Cases(BY_KIND["early_help"])

workflow_id = contacts.workflow_id
get_state = contacts.get_state
act = contacts.act
submit_contact = contacts.start
