"""What the workflows a Temporal Schedule starts share: a step tried until it works.

A schedule's workflow (the morning discussion's launcher, the stuck and report snapshots)
is not a process people act on. When its step fails it shows in the stuck lists as a
technical fault (FdKind `schedule`, FdFlags `faulted`, FdFault naming the schedule) and
is tried again, later and later (doubling up to a ceiling), until it works.

Deterministic: the waits are durable timers (workflow.sleep); the step runs activities.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, Protocol, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeUpdate
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    import workflows.search_attributes as sa

T = TypeVar("T")


class RetryTimes(Protocol):
    """A schedule's input: how long to wait after the first failure, and at the most."""

    retry_every: timedelta
    retry_at_most: timedelta


class ScheduleLauncher:
    """Base class of a schedule's workflow: set `self.schedule_id` first, then `show` its
    stage and run its step with `until_it_works`."""

    schedule_id: str

    def show(self, stage: str, fault: str | None = None) -> None:
        """Search attributes, so the stuck lists show a failing step like any technical fault."""
        updates: list[SearchAttributeUpdate[Any]] = [
            sa.KIND.value_set("schedule"), sa.SUBJECT.value_set(self.schedule_id), sa.STAGE.value_set(stage),
        ]
        updates += [sa.FLAGS.value_set(["faulted"]), sa.FAULT.value_set(fault[:200])] if fault else [
            sa.FLAGS.value_unset(), sa.FAULT.value_unset()]
        workflow.upsert_search_attributes(updates)

    async def step(
        self, activity: Callable[..., Any], *args: Any, timeout: timedelta = timedelta(seconds=30),
        non_retryable: tuple[str, ...] = (),
    ) -> Any:
        """One activity of the step, tried three times before the step counts as failed."""
        return await workflow.execute_activity_method(
            activity, args=list(args), start_to_close_timeout=timeout,
            retry_policy=RetryPolicy(maximum_attempts=3, initial_interval=timedelta(seconds=1),
                                     non_retryable_error_types=list(non_retryable) or None),
        )

    async def until_it_works(self, step: Callable[[], Awaitable[T]], times: RetryTimes) -> T:
        """Run `step` until no activity in it fails; after each failure show the fault and
        wait, twice as long each time up to `times.retry_at_most`."""
        wait = times.retry_every
        while True:
            try:
                return await step()
            except ActivityError as err:
                cause = err.cause
                message = str(cause.message if isinstance(cause, ApplicationError) else cause or err)
                workflow.logger.warning("schedule %s: %s; trying again in %s", self.schedule_id, message, wait)
                self.show("faulted", f"schedule {self.schedule_id}: {message}")
                await workflow.sleep(wait)
                wait = min(wait * 2, times.retry_at_most)

    async def take_snapshot(
        self, request: Any, activity: Callable[..., Any], argument: Callable[[], Any], timeout: timedelta
    ) -> Any:
        """A snapshot schedule's whole run (the stuck lists' counts, the report figures): one
        activity, `argument()` made afresh for each try, tried until it works, then "done".
        `request` carries the schedule's id and its retry times."""
        self.schedule_id = request.schedule_id
        result = await self.until_it_works(
            lambda: self.step(activity, argument(), timeout=timeout, non_retryable=("ValidationError",)), request
        )
        self.show("done")
        return result
