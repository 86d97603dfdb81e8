"""A bare workflow: the contact's shape in Temporal terms and nothing else.

It runs the same number of activities as a contact's whole journey (no-op, no database)
and accepts the same number of updates, in the same places: some activities at intake,
some inside each update, some after the last. Comparing it with ContactWorkflow on the
same server in the same run shows what our own code (database, documents, pydantic
state, search attributes, the AES-GCM codec on larger payloads) costs on top of Temporal.

Run as a script it is the bare worker (configured from the environment like
`frontdoor worker`): `python bench/bare.py`.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, fields
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.common import SearchAttributeKey
from temporalio.worker import Worker

# What the twin upserts when it copies the contact's upserts too (--twin-commands): a stage, the
# time since and a flag, as a contact's stage change does (the attributes the dev server has).
_STAGE = SearchAttributeKey.for_keyword("FdStage")
_SINCE = SearchAttributeKey.for_datetime("FdSince")
_FLAGS = SearchAttributeKey.for_keyword_list("FdFlags")


@dataclass
class TwinCommands:
    """The commands of a contact that are not activities: its search-attribute upserts (at
    intake, in each update, after the last), the timers it starts, and the size of an
    update's answer (the contact answers with its whole state). All zero: the bare twin."""

    intake_upserts: int = 0
    per_update_upserts: list[int] = field(default_factory=list)
    tail_upserts: int = 0
    timers: int = 0
    answer_bytes: int = 0

    def update_upserts(self, n: int) -> int:
        return self.per_update_upserts[n] if n < len(self.per_update_upserts) else 0

    PARTS = ("upserts", "timers", "answers")

    def only(self, part: str) -> TwinCommands:
        """These commands with every part but `part` (one of PARTS) left out."""
        keep = {
            "upserts": {"intake_upserts", "per_update_upserts", "tail_upserts"},
            "timers": {"timers"},
            "answers": {"answer_bytes"},
        }[part]
        return TwinCommands(**{f.name: getattr(self, f.name) for f in fields(self) if f.name in keep})

    def __str__(self) -> str:
        return (f"upserts {self.intake_upserts} at intake, {self.per_update_upserts} in the updates, "
                f"{self.tail_upserts} after; {self.timers} timers; answers of {self.answer_bytes} bytes")


@dataclass
class BarePlan:
    """How many activities run at intake, inside each update (in order) and after the last;
    the `*_local` counts are local activities (run in the workflow task, as the contact's
    action-trail writes are)."""

    intake: int
    per_update: list[int] = field(default_factory=list)
    tail: int = 0
    intake_local: int = 0
    per_update_local: list[int] = field(default_factory=list)
    tail_local: int = 0
    # ordinary activities an update starts but does not wait for (its answer comes first:
    # the contact's MAP requests since ANSWER_BEFORE_SENDING); the run waits for them at its end
    per_update_after: list[int] = field(default_factory=list)
    commands: TwinCommands | None = None  # the contact's other commands too (--twin-commands)

    @property
    def activities(self) -> int:
        return self.intake + sum(self.per_update) + sum(self.per_update_after) + self.tail

    @property
    def local_activities(self) -> int:
        return self.intake_local + sum(self.per_update_local) + self.tail_local

    def update_local(self, n: int) -> int:
        return self.per_update_local[n] if n < len(self.per_update_local) else 0

    def update_after(self, n: int) -> int:
        return self.per_update_after[n] if n < len(self.per_update_after) else 0

    def __str__(self) -> str:
        text = f"{self.intake} at intake, {self.per_update} in the {len(self.per_update)} updates, {self.tail} after"
        if self.local_activities:
            text += (f"; local: {self.intake_local} at intake, {self.per_update_local} in the updates,"
                     f" {self.tail_local} after")
        if any(self.per_update_after):
            text += f"; after the updates' answers: {self.per_update_after}"
        return text


@activity.defn(name="bench_noop")
def noop(step: str) -> str:
    return step


@workflow.defn(name="BareWorkflow")
class BareWorkflow:
    @workflow.init
    def __init__(self, plan: BarePlan) -> None:
        self.plan = plan
        self.ready = False
        self.done = 0
        self.sending: list[asyncio.Task[None]] = []
        self.commands = plan.commands or TwinCommands()
        self.timers: list[asyncio.Task[None]] = []

    async def _activities(self, n: int, step: str, local: int = 0) -> None:
        for i in range(n):
            await workflow.execute_activity(
                noop, f"{step}/{i}", start_to_close_timeout=timedelta(seconds=30)
            )
        for i in range(local):
            await workflow.execute_local_activity(
                noop, f"{step}/local-{i}", start_to_close_timeout=timedelta(seconds=30)
            )

    def _upserts(self, n: int, step: str) -> None:
        for i in range(n):
            workflow.upsert_search_attributes([
                _STAGE.value_set(f"{step}-{i}"), _SINCE.value_set(workflow.now()), _FLAGS.value_set([f"{step}-{i}"]),
            ])

    @workflow.run
    async def run(self, plan: BarePlan) -> int:
        self.timers = [asyncio.create_task(workflow.sleep(timedelta(days=1))) for _ in range(self.commands.timers)]
        await self._activities(plan.intake, "intake", plan.intake_local)
        self._upserts(self.commands.intake_upserts, "intake")
        self.ready = True
        await workflow.wait_condition(lambda: self.done == len(plan.per_update))
        await asyncio.gather(*self.sending)
        await self._activities(plan.tail, "tail", plan.tail_local)
        self._upserts(self.commands.tail_upserts, "tail")
        for timer in self.timers:  # a contact's deadlines end before it closes: their timers are cancelled
            timer.cancel()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.done

    @workflow.query
    def is_ready(self) -> bool:
        return self.ready

    @workflow.update
    async def opened(self) -> str:
        """The start's answer, as a contact's `opened`: sent with the start, answered once the
        intake is done, the size of the contact's."""
        await workflow.wait_condition(lambda: self.ready)
        return "".ljust(self.commands.answer_bytes, ".")

    @workflow.update
    async def step(self, n: int) -> str:
        if self.plan.update_after(n):
            self.sending.append(asyncio.create_task(self._activities(self.plan.update_after(n), f"update-{n}-after")))
        self._upserts(self.commands.update_upserts(n), f"update-{n}")
        await self._activities(self.plan.per_update[n], f"update-{n}", self.plan.update_local(n))
        self.done += 1
        return str(self.done).ljust(self.commands.answer_bytes, ".")  # an answer the size of the contact's

    @step.validator
    def _validate_step(self, n: int) -> None:
        if not self.ready or n != self.done:
            raise ValueError(f"step {n} is not next (ready={self.ready}, done={self.done})")


def build_bare_worker(client, task_queue: str) -> Worker:  # type: ignore[no-untyped-def]
    """Configured like worker.build_worker: 32 activity threads, the same workflow runner."""
    # Imported here, not at the top: the sandbox imports this module afresh for every run.
    from frontdoor.temporal import workflow_runner

    return Worker(
        client,
        task_queue=task_queue,
        workflows=[BareWorkflow],
        workflow_runner=workflow_runner(client.data_converter),
        activities=[noop],
        activity_executor=ThreadPoolExecutor(max_workers=32, thread_name_prefix="activity"),
        max_concurrent_activities=32,
    )


async def _serve() -> None:
    from frontdoor.config import load_settings
    from frontdoor.temporal import connect

    settings = load_settings()
    client = await connect(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    # Import the workflow by its module name, not __main__, so the sandbox can re-import it.
    import bare

    async with bare.build_bare_worker(client, settings.temporal.task_queue):
        logging.info("bare worker polling %s on %s", settings.temporal.task_queue, settings.temporal.address)
        await stop.wait()


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    asyncio.run(_serve())
