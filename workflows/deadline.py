"""A deadline as an object, in the spirit of the updatable timer in Temporal's samples.

A `Deadline` knows its due time (kept in a `DeadlineRecord` inside the workflow's state,
so queries and screens see it), waits until its work is done or it is due, can be
extended with a recorded reason, and passes through one path: the flag (FdFlags, while
it is overdue), the process's own step (a chase, a stage change), the notification and
the trail entry. What each kind of deadline does when it passes is a `DeadlineRule`,
declared beside the process that uses it.

Deterministic: times from workflow.now(), waiting with workflow.wait_condition (one
durable timer per due time; an extension cancels it and starts another).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from models.actions import Extension
    from models.deadline import DeadlineRecord, ExtensionRecord


class Owner(Protocol):
    """The workflow a deadline belongs to (workflows.base.AuditedWorkflow)."""

    deadlines: list[Deadline]

    def sync(self) -> None: ...

    async def notify(self, key: str, roles: list[str], subject: str, body: str) -> None: ...

    async def audit(self, actor: Any, action: str, reasons: str | None = None, **details: Any) -> None: ...

# The shortest timer some deadlines set even when already due: their histories were
# recorded with it, and a history must replay command for command.
ONE_MS = timedelta(milliseconds=1)


@dataclass(frozen=True)
class DeadlineRule:
    """How one kind of deadline behaves when it passes, in order: `marks` changes the
    state (synchronously), the flags show, `then` does the process's own step (e.g. chase
    an agency), the roles in `tell` are notified with `message`, and the trail records
    `trail` with `details`."""

    name: str
    flags: tuple[str, ...] = ()
    tell: tuple[str, ...] = ()
    trail: str | None = None
    message: Callable[[Any, Deadline], tuple[str, str]] | None = None
    marks: Callable[[Any, Deadline], None] | None = None
    then: Callable[[Any, Deadline], Awaitable[None]] | None = None
    details: Callable[[Any, Deadline], dict[str, Any]] | None = None
    # None: no timer once the due time is past; ONE_MS: always at least a 1 ms timer
    floor: timedelta | None = None
    notify_key: Callable[[Any, Deadline], str] | None = None


@dataclass
class Deadline:
    owner: Owner
    rule: DeadlineRule
    record: DeadlineRecord
    _version: int = field(default=0)

    @classmethod
    def begin(
        cls, owner: Owner, rule: DeadlineRule, due_at: datetime | None, *, name: str | None = None,
        started_at: datetime | None = None, max_extension: timedelta | None = None,
    ) -> Deadline:
        record = DeadlineRecord(name=name or rule.name, started_at=started_at or workflow.now(), due_at=due_at,
                                max_extension=max_extension)
        return cls.of(owner, rule, record)

    @classmethod
    def of(cls, owner: Owner, rule: DeadlineRule, record: DeadlineRecord) -> Deadline:
        """Attach behaviour to a record the state already holds."""
        deadline = cls(owner, rule, record)
        owner.deadlines.append(deadline)
        return deadline

    # ------------------------------------------------------------------ reading
    @property
    def due_at(self) -> datetime:
        assert self.record.due_at is not None, f"deadline {self.record.name} has no due time yet"
        return self.record.due_at

    @property
    def overdue(self) -> bool:
        return self.record.overdue

    @property
    def flags(self) -> Sequence[str]:
        return self.rule.flags if self.record.overdue else ()

    # ------------------------------------------------------------------ changing
    def extend(self, extension: Extension) -> ExtensionRecord:
        """Move the due time (the validator has checked it is later); the wait starts a new timer."""
        granted = ExtensionRecord(extension=extension, previous_deadline=self.due_at, at=workflow.now())
        self.record.extensions.append(granted)
        self.record.due_at = extension.new_deadline
        self.record.passed_at = None
        self._version += 1
        return granted

    def finish(self) -> None:
        if self.record.done_at is None:
            self.record.done_at = workflow.now()

    # ------------------------------------------------------------------ waiting
    async def wait(self, until: Callable[[], bool]) -> None:
        """Wait until `until()` holds. When the due time comes first the deadline passes
        (once per due time) and the wait goes on; an extension starts a new timer."""
        while not until():
            version = self._version

            def settled(version: int = version) -> bool:
                return until() or self._version != version

            if self.record.passed_at is not None:
                await workflow.wait_condition(settled)
                continue
            left = self.due_at - workflow.now()
            if self.rule.floor is not None:
                left = max(left, self.rule.floor)
            if left > timedelta(0):
                try:
                    await workflow.wait_condition(settled, timeout=left)
                    continue
                except TimeoutError:
                    if settled():
                        continue
            await self._pass()

    async def _pass(self) -> None:
        """The one path a deadline takes when it passes."""
        wf, rule = self.owner, self.rule
        self.record.passed_at = workflow.now()
        if rule.marks:
            rule.marks(wf, self)
        wf.sync()
        if rule.then:
            await rule.then(wf, self)
        if rule.tell and rule.message:
            subject, body = rule.message(wf, self)
            key = rule.notify_key(wf, self) if rule.notify_key else (
                f"{workflow.info().workflow_id}/{self.record.name}-overdue/{len(self.record.extensions)}"
            )
            await wf.notify(key, list(rule.tell), subject, body)
        if rule.trail:
            details = rule.details(wf, self) if rule.details else {"due": self.due_at.isoformat()}
            await wf.audit(None, rule.trail, **details)


# ---------------------------------------------------------------------- processes in timed steps
def step_rules(
    tell: Mapping[str, tuple[str, ...]], flag: Callable[[str], str], overdue_flag: str,
    message: Callable[[Any, Deadline], tuple[str, str]],
) -> dict[str, DeadlineRule]:
    """The rules of a process's timed steps (`tell`: step name -> the roles told when it is
    late): a late step shows its own flag (`flag(step)`) and the process's `overdue_flag`,
    tells its roles once per step (`message`), writes `{step}_overdue` to the trail, and
    always sets a timer of at least 1 ms (as their histories recorded)."""
    return {
        step: DeadlineRule(
            step, flags=(flag(step), overdue_flag), tell=roles, trail=f"{step}_overdue", message=message,
            floor=ONE_MS, notify_key=lambda wf, d: f"{workflow.info().workflow_id}/{d.record.name}-overdue",
        )
        for step, roles in tell.items()
    }


def open_step(owner: Owner, name: str | None) -> Deadline | None:
    """The deadline of the step `name` that is not done yet (the latest), or None (early help
    and audits: each stage may run a timed step)."""
    if name is None:
        return None
    for d in reversed(owner.deadlines):
        if d.record.name == name and d.record.done_at is None:
            return d
    return None


async def wait_through(deadline: Deadline | None, until: Callable[[], bool]) -> None:
    """Wait until `until()` holds: through `deadline` when there is one (it passes on the way
    if it falls due), else plainly."""
    if deadline is not None:
        await deadline.wait(until)
    else:
        await workflow.wait_condition(until)
