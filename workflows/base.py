"""What every front door workflow shares: audited actions, fault handling, refusals,
and keeping search attributes in step with the state.

Deterministic: times come from workflow.now(), side effects go through activities.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey, SearchAttributeUpdate
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.contact import ContactActivities
    from models import errors
    from models.actions import RetryFault
    from models.messages import ActionEntry
    from models.roles import Actor, PermissionDenied, require
    from models.state import Fault
    from workflows import search_attributes as sa

SYSTEM = "frontdoor"

# Errors that retrying cannot mend: the activity fails at once and the case shows as faulted.
NON_RETRYABLE = ["LookupError", "ValidationError", "TemplateNotFound", "UndefinedError"]


def refuse(kind: str, message: str) -> ApplicationError:
    return ApplicationError(message, type=kind, non_retryable=True)


def wrong_stage(message: str) -> ApplicationError:
    return refuse(errors.WRONG_STAGE, message)


def invalid(message: str) -> ApplicationError:
    return refuse(errors.INVALID, message)


def require_weighed(themes: list[str], confirmed: bool, field: str) -> None:
    """A recurring pattern (the letter: neglect, domestic abuse) must be weighed in every
    decision: refuse until the person confirms it was."""
    if themes and not confirmed:
        raise invalid(f"a recurring pattern was flagged ({', '.join(themes)}): confirm {field} to show it was weighed")


def check_role(actor: Actor, action: str) -> None:
    try:
        require(actor, action)
    except PermissionDenied as exc:
        raise refuse(errors.PERMISSION_DENIED, str(exc)) from None


class AuditedWorkflow:
    """Base class. Subclasses set `subject_id` and `kind`, and implement `search_attributes()`."""

    subject_id: str
    kind: str
    activity_attempts: int = 5
    fault: Fault | None = None

    def _init_base(self, subject_id: str, kind: str, attempts: int) -> None:
        self.subject_id = subject_id
        self.kind = kind
        self.activity_attempts = attempts
        self.fault = None
        self._seq = 0
        self._retry_generation = 0
        self._sa_cache: dict[str, Any] = {}

    # -- activities with bounded retries; a failure parks the case as faulted ------
    async def act(
        self, activity: Callable[..., Any], *args: Any, timeout: timedelta = timedelta(seconds=30), local: bool = False
    ) -> Any:
        """Run an activity; `local` runs it in the worker's own workflow task (short, idempotent
        writes such as the action trail), saving a server round trip."""
        name = getattr(activity, "__name__", str(activity))
        retry = RetryPolicy(
            initial_interval=timedelta(seconds=1),
            backoff_coefficient=2.0,
            maximum_interval=timedelta(seconds=30),
            maximum_attempts=self.activity_attempts,
            non_retryable_error_types=NON_RETRYABLE,
        )
        while True:
            try:
                if local:
                    return await workflow.execute_local_activity_method(
                        activity, args=list(args), start_to_close_timeout=timeout, retry_policy=retry
                    )
                return await workflow.execute_activity_method(
                    activity, args=list(args), start_to_close_timeout=timeout, retry_policy=retry
                )
            except ActivityError as err:
                cause = err.cause
                message = str(cause.message if isinstance(cause, ApplicationError) else cause or err)
                self.fault = Fault(activity=name, error=message[:300], since=workflow.now(), attempts=self.activity_attempts)
                workflow.logger.warning("activity %s failed, waiting for a retry: %s", name, message)
                self.sync()
                generation = self._retry_generation
                await workflow.wait_condition(partial(self._retried_since, generation))
                self.fault = None
                self.sync()

    def _retried_since(self, generation: int) -> bool:
        return self._retry_generation != generation

    def request_retry(self) -> None:
        self._retry_generation += 1

    # -- a manager's retry of a parked activity: the same Update on every workflow -----
    def _refresh(self) -> Any:
        """The state as callers see it (subclasses return a copy with flags and fault)."""
        raise NotImplementedError

    def _check_retry(self, r: RetryFault) -> None:
        check_role(r.actor, "retry_fault")
        if self.fault is None:
            raise wrong_stage(f"{self.kind.replace('_', ' ')} {self.subject_id} has no technical fault to retry")

    @workflow.update
    async def retry_fault(self, r: RetryFault) -> Any:
        self._check_retry(r)
        self.request_retry()
        await workflow.wait_condition(lambda: self.fault is None)
        await self.audit(r.actor, "fault_retried", r.note)
        return self._refresh()

    @retry_fault.validator
    def _validate_retry(self, r: RetryFault) -> None:
        self._check_retry(r)

    async def audit(self, actor: Actor | None, action: str, reasons: str | None = None, **details: Any) -> None:
        self._seq += 1
        info = workflow.info()
        # Audit writes became local activities after the first release: histories written
        # before keep replaying with the ordinary activity they recorded.
        local = workflow.patched("audit-as-local-activity")
        await self.act(
            ContactActivities.record_action,
            ActionEntry(
                idempotency_key=f"{info.workflow_id}/{info.run_id}/{self._seq}",
                subject_id=self.subject_id,
                workflow_id=info.workflow_id,
                kind=self.kind,
                actor=actor.username if actor else SYSTEM,
                role=actor.role.value if actor else "system",
                at=workflow.now(),
                action=action,
                reasons=reasons,
                details={k: v for k, v in details.items() if v is not None},
            ),
            local=local,
        )

    # -- search attributes -------------------------------------------------------
    def search_attributes(self) -> dict[SearchAttributeKey, Any]:
        raise NotImplementedError

    def sync(self) -> None:
        """Upsert the search attributes whose values changed since the last call."""
        wanted = self.search_attributes()
        wanted[sa.KIND] = self.kind
        if self.fault:
            wanted[sa.FLAGS] = sorted({*(wanted.get(sa.FLAGS) or []), "faulted"})
            wanted[sa.FAULT] = f"{self.fault.activity}: {self.fault.error}"[:200]
        else:
            wanted.setdefault(sa.FAULT, None)
        updates: list[SearchAttributeUpdate] = []
        for key, value in wanted.items():
            if isinstance(value, list):
                value = sorted(value) or None
            if self._sa_cache.get(key.name, "<unset>") == value:
                continue
            self._sa_cache[key.name] = value
            updates.append(key.value_unset() if value is None else key.value_set(value))
        if updates:
            workflow.upsert_search_attributes(updates)


def remaining(until: datetime) -> timedelta:
    return until - workflow.now()
