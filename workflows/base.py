"""What every front door workflow shares: actions checked against the process's action
table, audited steps, deadlines, fault handling, and search attributes kept in step with
the state.

Deterministic: times come from workflow.now(), side effects go through activities.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from functools import partial
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from temporalio import workflow
from temporalio.common import (
    RetryPolicy,
    SearchAttributeKey,
    SearchAttributeUpdate,
    TypedSearchAttributes,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import ActivityError, ApplicationError, WorkflowAlreadyStartedError

with workflow.unsafe.imports_passed_through():
    import workflows.search_attributes as sa
    from activities.case import CaseActivities
    from models import errors, signing
    from models.access import (
        LiftRestriction,
        Restrict,
        Restriction,
        RestrictionEntry,
        may_read,
        refusal,
    )
    from models.actions import RetryFault
    from models.allocation import Allocation
    from models.deadline import DeadlineRecord
    from models.messages import ActionEntry, Notification
    from models.roles import ALLOCATORS, FAULT_RETRIERS, STAFF, Actor
    from models.state import Fault
    from models.timescales import Timescales
    from workflows.deadline import Deadline, DeadlineRule, open_step
    from workflows.process import OPENED, Action, ActionTable, invalid, refuse, wrong_stage

__all__ = ["AuditedWorkflow", "human_action", "invalid", "refuse", "require_weighed", "wrong_stage", "RETRY_FAULT",
           "ALLOCATE", "RESTRICT", "LIFT_RESTRICTION", "SHARED", "start_once"]

SYSTEM = "frontdoor"
# The one patch a run takes lazily no more: a run that begins on this code records it first,
# in its first workflow task, and makes every earlier change (`AuditedWorkflow.patched`) and
# the short case-record writes as local activities from the start. Runs begun before it keep
# the lazy patches and the ordinary writes their histories recorded. Why: a query answered
# while a local activity completes ends that workflow task on the activity's marker, and the
# run goes on in the next task; replayed, the code meets a patch taken just after the activity
# one task early, before the server's marker for it, and the run fails its replay for good
# ("[TMPRL1100] ... Non-deprecated patch marker encountered"). docs/architecture.md, "Changing
# a live workflow".
FROM_THE_START = "changes-taken-at-start"
# The changes that runs begun before it took lazily, each where its code first met it.
EARLIER_CHANGES = frozenset({"audit-as-local-activity", "link-consultation", "start-early-help"})
# Changes made after it: a run begun before EVERY_CHANGE_AT_START (below) takes each one's own
# marker where its code first meets it, first thing in an Update handler or right after a
# durable wait (never just after a local activity); a run begun after makes them from its start.
ANSWER_BEFORE_SENDING = "answer-before-sending"  # a person's action answers before what it sends leaves
ONE_WRITE_PER_ACTION = "one-write-per-action"  # an action's case-record write and trail line: one local activity
LATER_CHANGES = frozenset({ANSWER_BEFORE_SENDING, ONE_WRITE_PER_ACTION})
# The next generation's one patch, in place of FROM_THE_START for a run that begins on this
# code: it makes the LATER_CHANGES from its start too (no marker of their own), and its first
# sync does not upsert again what the start's search attributes show (`sync`); the contact's
# history check is a local activity, so its intake is one workflow task. Why: the SDK
# upserts TemporalChangeVersion beside every patch marker, and each upsert is a write to the
# visibility store; the lazy markers were a third of a contact's upserts beyond its stage
# changes (bench/README.md, "Which of the contact's commands cost what"). A change made after
# it is a LATER_CHANGE again: every run takes its own marker where its code first meets it.
EVERY_CHANGE_AT_START = "every-change-taken-at-start"

# Errors that retrying cannot mend: the activity fails at once and the case shows as faulted.
NON_RETRYABLE = [
    "LookupError", "KeyError", "ValidationError", "ValueError", "TypeError", "OverflowError", "UnicodeError",
    "TemplateNotFound", "UndefinedError", "TemplateSyntaxError",
]

F = TypeVar("F", bound=Callable[..., Any])


class WithTimescales(Protocol):
    timescales: Timescales


Input = TypeVar("Input", bound=WithTimescales)  # the workflow's input (kept as `self.inp`)


def require_weighed(themes: list[str], confirmed: bool, field: str) -> None:
    """A recurring pattern (the letter: neglect, domestic abuse) must be weighed in every
    decision: refuse until the person confirms it was."""
    if themes and not confirmed:
        raise invalid(f"a recurring pattern was flagged ({', '.join(themes)}): confirm {field} to show it was weighed")


async def start_once(
    run: Any, inp: Any, workflow_id: str, search_attributes: TypedSearchAttributes
) -> workflow.ChildWorkflowHandle[Any, Any] | None:
    """Start a case another workflow opens (by its identity class's `run`) as a child that
    outlives its parent (ABANDON), and never twice (REJECT_DUPLICATE): None when a workflow
    with that id exists already, open or closed."""
    try:
        return await workflow.start_child_workflow(
            run, inp, id=workflow_id,
            parent_close_policy=workflow.ParentClosePolicy.ABANDON,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            search_attributes=search_attributes,
        )
    except WorkflowAlreadyStartedError:
        workflow.logger.info("%s exists already: not started again", workflow_id)
        return None


def human_action(fn: F) -> F:
    """An Update that carries a person's action. Its validator is the process's action
    table (role, stage, readiness, payload rules): invalid input is refused before anything
    is written to history. Validators do not run on replay and handlers do, so the handler
    never checks a rule again; it changes state before its first await."""
    update: Any = workflow.update(fn)

    def validate(self: AuditedWorkflow, payload: Any) -> None:
        self.validate(fn.__name__, payload)

    validate.__name__ = f"validate_{fn.__name__}"
    setattr(validate, "__signature__", inspect.signature(fn))  # noqa: B010 (the SDK compares the two signatures)
    update.validator(validate)
    return update  # type: ignore[no-any-return]


RETRY_FAULT = Action(
    "retry_fault", RetryFault, FAULT_RETRIERS, "Retry after a technical fault",
    ready=lambda s: None if s.fault is not None else "it has no technical fault to retry",
    help="Run the failed step again once its cause is mended.",
)


# -- allocation (issue 12): every process's open work is allocated to a person ------
def _allocation_rules(state: Any, a: Allocation) -> None:
    """Not to whom it is allocated already; and what the process's state refuses (a state
    may define `allocation_refusal(username) -> reason | None`, e.g. an audit's auditors)."""
    if a.to == state.holder:
        raise invalid(f"it is allocated to {a.to} already")
    refusal = getattr(state, "allocation_refusal", None)
    reason = refusal(a.to) if callable(refusal) else None
    if reason:
        raise invalid(reason)


ALLOCATE = Action(
    "allocate", Allocation, ALLOCATORS, "Allocate to a person", rules=_allocation_rules,
    form=lambda s: {"to": {"label": f"Allocate to (now allocated to {s.holder})"}},
    help="A team manager allocates or reallocates the work, with a reason. The caseload page shows the "
    "receiver's caseload first and asks why when it takes them over their target.",
)


# -- restricted records (issue 9): a manager limits who reads a case, with a reason ------
RESTRICT = Action(
    "restrict", Restrict, ALLOCATORS, "Restrict who may read it", stages=None, people={"allowed": STAFF},
    form=lambda s: {"allowed": {"label": "People who may still read it (usernames; managers always may)"}},
    help="A team or service manager restricts the record (a staff member's child, a high-profile family), naming "
    "the people who may still read it and why. Everyone else sees that it exists and whom to ask. Restricting "
    "again replaces the names.",
)
LIFT_RESTRICTION = Action(
    "lift_restriction", LiftRestriction, ALLOCATORS, "Lift the restriction", stages=None,
    help="Everyone whose role reads these cases may read it again; the reason is kept in the trail.",
)

# The rows every process shares, at the end of its table in this order (`*SHARED`): looking
# after the case, not its own work (a caseload counts who may do the work at a stage from the
# other rows).
SHARED = (ALLOCATE, RETRY_FAULT, RESTRICT, LIFT_RESTRICTION)


class AuditedWorkflow(Generic[Input]):
    """Base class. A subclass sets `actions` (its action table) and keeps `self.state`
    (a model with `stage`, `fault` and `flags`); it implements `search_attributes()`.
    `AuditedWorkflow[ContactWorkflowInput]`: the input it keeps as `self.inp`."""

    actions: ClassVar[ActionTable]
    kind: ClassVar[str]  # FdKind
    noun: ClassVar[str] = "case"
    State: ClassVar[type]
    subject_id: str
    activity_attempts: int = 5
    fault: Fault | None = None
    state: Any
    opening: ClassVar[frozenset[str]] = frozenset()  # stages its run leaves by itself before anyone acts: `opened` waits them out
    restriction: Restriction | None = None  # who may read it (mirrored to the case record's `restrictions`)
    restriction_generation: int = 0
    inp: Input

    @staticmethod
    def workflow_id(subject_id: str) -> str:
        raise NotImplementedError

    def __init_subclass__(
        cls, *, kind: str | None = None, noun: str | None = None, State: type | None = None,
        actions: ActionTable | None = None, workflow_id: Callable[[str], str] | None = None, **kwargs: Any,
    ) -> None:
        """A process's identity, declared in its class header and kept as class attributes of
        the same names: `class AuditWorkflow(AuditedWorkflow[AuditInput], kind=KIND, noun="audit",
        State=AuditState, actions=ACTIONS, workflow_id=workflow_id)`."""
        super().__init_subclass__(**kwargs)
        for name, value in (("kind", kind), ("noun", noun), ("State", State), ("actions", actions)):
            if value is not None:
                setattr(cls, name, value)
        if workflow_id is not None:
            setattr(cls, "workflow_id", staticmethod(workflow_id))  # noqa: B010 (mypy refuses assigning a method)

    def _begin(self, inp: Input, subject_id: str) -> None:
        """The first lines of every workflow's init: keep its input and the shared state (the
        input's `timescales` give the activity attempts)."""
        self.inp = inp
        self._init_base(subject_id, inp.timescales.activity_attempts)

    def _init_base(self, subject_id: str, attempts: int) -> None:
        self.subject_id = subject_id
        self.activity_attempts = attempts
        self.fault = None
        self.deadlines: list[Deadline] = []
        self._seq = 0
        self._retry_generation = 0
        self._sa_cache: dict[str, Any] = {}
        self._synced = False
        self._generation: int | None = None
        self._opening_answered = False  # `opened` answers once a run

    # -- the action table is the validator ----------------------------------------
    def validate(self, name: str, payload: Any) -> None:
        """First the interface's signature on the actor (anyone who reaches the Temporal frontend
        could otherwise act as anyone), then the action's row. Never called on replay."""
        try:
            signing.verify_action(workflow.info().workflow_id, name, payload, workflow.now())
        except signing.SignatureRefused as exc:
            raise refuse(errors.SIGNATURE_REFUSED, exc.message) from None
        r = self.restriction
        if r is not None and not may_read(payload.actor, r.allowed):
            # acting is reading: an action answers with the case's state (frontdoor/access.py, the same rule)
            raise refuse(errors.RESTRICTED, refusal(self.noun, self.subject_id, r.by, r.by_role))
        self.actions[name].check(payload.actor, self.view(), payload, f"{self.noun} {self.subject_id}")
        if name == "lift_restriction" and self.restriction is None:
            raise wrong_stage(f"{self.noun} {self.subject_id} is not restricted")

    # -- versions: which changes this run makes ----------------------------------------
    @property
    def generation(self) -> int:
        """The code this run began on: 2 on EVERY_CHANGE_AT_START's, 1 on FROM_THE_START's, 0
        before. Asked first by `sync()` and `act()`, so in the first workflow task, before any
        local activity: a run's patch decisions never follow a local activity's result. A new
        run records only the newest generation's marker (the older one is not asked)."""
        if self._generation is None:
            self._generation = 2 if workflow.patched(EVERY_CHANGE_AT_START) else 1 if workflow.patched(FROM_THE_START) else 0
        return self._generation

    @property
    def current(self) -> bool:
        """Whether this run takes the EARLIER_CHANGES from its start (FROM_THE_START or after)."""
        return self.generation >= 1

    def patched(self, change: str) -> bool:
        """Whether this run makes `change`. One of the EARLIER_CHANGES: a run begun on
        FROM_THE_START's code or after does from its start, an older one as its history
        recorded. One of the LATER_CHANGES: a run begun on EVERY_CHANGE_AT_START's code does
        from its start, an older one as its own marker says (docs/architecture.md)."""
        if change in LATER_CHANGES:
            return self.generation >= 2 or workflow.patched(change)
        if change not in EARLIER_CHANGES:
            raise ValueError(f"{change!r} is not a change named in EARLIER_CHANGES or LATER_CHANGES")
        return self.current or workflow.patched(change)

    # -- activities with bounded retries; a failure parks the case as faulted ------
    async def act(
        self, activity: Callable[..., Any], *args: Any, timeout: timedelta = timedelta(seconds=30), local: bool = False
    ) -> Any:
        """Run an activity; `local` runs it in the worker's own workflow task (short, idempotent
        writes such as the action trail), saving a server round trip."""
        self.current  # noqa: B018 (decided before this run's first activity, local or not)
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
            except (ActivityError, ApplicationError) as err:
                # an ordinary activity's failure comes as ActivityError (its cause the error);
                # a local activity's non-retryable one can come as the ApplicationError itself
                cause = err.cause if isinstance(err, ActivityError) else err
                message = str(cause.message if isinstance(cause, ApplicationError) else cause or err)
                self.fault = Fault(activity=name, error=message[:300], since=workflow.now(), attempts=self.activity_attempts)
                workflow.logger.warning("activity %s failed, waiting for a retry: %s", name, message)
                self.sync()
                generation = self._retry_generation
                await workflow.wait_condition(partial(self._retried_since, generation))
                self.fault = None
                self.sync()

    async def write(self, activity: Callable[..., Any], *args: Any) -> Any:
        """A short, idempotent write to the case record (its row, an agency's answer, a
        document): a local activity, run in the worker's own workflow task, so the step that
        makes it needs no second workflow task. Whatever leaves the front door (the handoff,
        messages, MAP requests) stays an ordinary activity; the contact's history check (a read
        of a second at most) too, in runs begun before EVERY_CHANGE_AT_START.
        A run begun before FROM_THE_START keeps the ordinary activity its history recorded."""
        return await self.act(activity, *args, local=self.current)

    def _retried_since(self, generation: int) -> bool:
        return self._retry_generation != generation

    @human_action
    async def retry_fault(self, r: RetryFault) -> Any:
        self._retry_generation += 1
        await workflow.wait_condition(lambda: self.fault is None)
        await self.audit(r.actor, "fault_retried", r.note)
        return self.view()

    # -- allocation (issue 12): the row is ALLOCATE; `holder` is "allocated to" -----------
    @human_action
    async def allocate(self, a: Allocation) -> Any:
        previous = self.state.holder
        self.state.holder = a.to
        self.allocated(a.to)
        self.sync()
        await self.audit(a.actor, "allocated", a.reason, to=a.to, previous=previous,
                         over_target_reason=a.over_target_reason)
        return self.view()

    # -- restricted records (issue 9): rows RESTRICT and LIFT_RESTRICTION ---------------
    # New Updates (no earlier history holds them), so replay-safe without a patch.
    @human_action
    async def restrict(self, r: Restrict) -> Any:
        self.restriction = Restriction(allowed=list(r.allowed), reason=r.reason, by=r.actor.username,
                                       by_role=r.actor.role.value, at=workflow.now())
        await self._mirror_restriction()
        await self.audit(r.actor, "restricted", r.reason, allowed=list(r.allowed))
        return self.view()

    @human_action
    async def lift_restriction(self, r: LiftRestriction) -> Any:
        self.restriction = None
        await self._mirror_restriction()
        await self.audit(r.actor, "restriction_lifted", r.reason)
        return self.view()

    async def _mirror_restriction(self) -> None:
        """The interfaces check the case record's copy before every view: written before the
        Update returns (a failure parks the case as faulted, like any step)."""
        self.restriction_generation += 1
        await self.act(CaseActivities.record_restriction, RestrictionEntry(
            kind=self.kind, subject_id=self.subject_id, workflow_id=workflow.info().workflow_id,
            generation=self.restriction_generation, restriction=self.restriction), local=True)

    @workflow.query
    def current_restriction(self) -> Restriction | None:
        return self.restriction

    # -- processes in timed steps (early help, audit): each stage may run a step with a deadline --
    def _begin_step(self, rule: DeadlineRule, now: datetime) -> None:
        """A timed step begins: its record joins `self.state.steps` (its due time comes from
        the calendar, `_fill_step_due_times`)."""
        record = DeadlineRecord(name=rule.name, started_at=now)
        self.state.steps.append(record)
        Deadline.of(self, rule, record)

    def _step_to(self, stage: Any, steps: Mapping[Any, str], rules: Mapping[str, DeadlineRule]) -> bool:
        """Move to `stage`: the step of the stage left ends, and the stage's own step
        (`steps`: stage -> step name; `rules`: step name -> its rule) begins. False when the
        case is at `stage` already. The caller syncs."""
        s = self.state
        if stage == s.stage:
            return False
        now = workflow.now()
        current = open_step(self, steps.get(s.stage))
        if current is not None:
            current.finish()
        s.stage, s.stage_since = stage, now
        if stage in steps:
            self._begin_step(rules[steps[stage]], now)
        return True

    async def _fill_step_due_times(self, timescale_prefix: str) -> None:
        """Each timed step's due time (`self.state.steps`) on the working-day calendar, counted
        from when the step began, its span the timescale `{timescale_prefix}{step name}` (a step
        may begin and even end inside an Update, before the workflow's loop comes round)."""
        for step in self.state.steps:
            if step.due_at is None:
                span = getattr(self.inp.timescales, f"{timescale_prefix}{step.name}")
                step.due_at = await self.act(CaseActivities.working_day_due, step.started_at, span)
        self.sync()

    def allocated(self, username: str) -> None:
        """A process's own bookkeeping when its work is allocated (e.g. who audits next)."""

    # -- the trail and messages ---------------------------------------------------
    def entry(self, actor: Actor | None, action: str, reasons: str | None = None, **details: Any) -> ActionEntry:
        """The case's next trail line (keyed by workflow, run and the line's number here)."""
        self._seq += 1
        info = workflow.info()
        return ActionEntry(
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
        )

    async def audit(self, actor: Actor | None, action: str, reasons: str | None = None, **details: Any) -> None:
        await self.record_line(self.entry(actor, action, reasons, **details))

    async def record_line(self, line: ActionEntry) -> None:
        """Write a trail line made by `entry`."""
        # Audit writes became local activities after the first release: histories written
        # before keep replaying with the ordinary activity they recorded.
        await self.act(CaseActivities.record_action, line, local=self.patched("audit-as-local-activity"))

    async def notify(self, key: str, roles: list[str], subject: str, body: str) -> None:
        await self.act(
            CaseActivities.notify,
            Notification(idempotency_key=key, subject_id=self.subject_id, roles=roles, subject=subject, body=body),
        )

    # -- the state as callers see it ------------------------------------------------
    @workflow.query
    def current_state(self) -> Any:
        return self.view()

    @workflow.update(name=OPENED)
    async def opened(self) -> Any:
        """The case as its opening steps left it: the starter's answer. `processes.start` sends
        it with the start (update-with-start), so whoever submits a case sees it at once as a
        person will first meet it (a contact: at triage, its earlier contacts found), in the
        workflow task that opens it. A query sent instead while that task runs would make the
        server cut the task short and answer in one more. It changes nothing, so it needs no
        validator but its own (once a run); it waits only for the run's own steps (`has_opened`),
        never for a person.
        Keep what it waits for as it is: a live run's history records where it answered."""
        self._opening_answered = True
        await workflow.wait_condition(self.has_opened)
        return self.view()

    @opened.validator
    def _opened_once(self) -> None:
        """Once a run: a later call would only add to its history (read with the query)."""
        if self._opening_answered:
            raise invalid(f"{self.noun} {self.subject_id} has opened already: read it with the current_state query")

    def has_opened(self) -> bool:
        """The case has left its opening stages (`opening`), or a step of them has faulted (the
        fault shows)."""
        return self.state.stage not in self.opening or self.fault is not None

    def view(self) -> Any:
        """A copy of the state with its current flags and fault (queries must not mutate)."""
        flags = sorted(set(self.search_attributes().get(sa.FLAGS) or []) | set(self._deadline_flags())
                       | ({"faulted"} if self.fault else set()))
        return self.state.model_copy(update={"flags": flags, "fault": self.fault})

    # -- search attributes -------------------------------------------------------
    def search_attributes(self) -> dict[SearchAttributeKey, Any]:
        raise NotImplementedError

    def stage_attributes(self) -> dict[SearchAttributeKey, Any]:
        """The search attributes every case has, first in every process's `search_attributes()`:
        its id, its stage and since when, and to whom it is allocated."""
        s = self.state
        return {sa.SUBJECT: self.subject_id, sa.STAGE: s.stage.value, sa.SINCE: s.stage_since, sa.HOLDER: s.holder}

    def _set_stage(self, stage: Any, *, show: bool = True) -> None:
        """Move to `stage` (its time only when it changes) and show it, or leave it to the next
        sync when `show` is false (a stage the run leaves within the same workflow task). A
        process whose steps begin and end with their stage overrides this."""
        if stage != self.state.stage:
            self.state.stage, self.state.stage_since = stage, workflow.now()
        if show:
            self.sync()

    def _deadline_flags(self) -> set[str]:
        return {flag for d in self.deadlines for flag in d.flags}

    def sync(self, *, first: bool = False) -> None:
        """Upsert the search attributes whose values changed since the last call (every
        process's `run` calls it first: the run's version is decided there, `generation`).

        On EVERY_CHANGE_AT_START's code the first call compares with what the start set (the
        client sets the case's kind, subject and stage, the caller's parent its child's), not
        with nothing. And `first=True` (the run's first call, from a `run` that syncs again
        before it first waits for anything but a local activity: the contact's intake) upserts
        nothing when the start showed the case's kind, subject and stage: the rest goes with
        that next sync, in the same or the next workflow task, not in an upsert of its own."""
        generation = self.generation
        if not self._synced:
            self._synced = True
            if generation >= 2:
                shown = workflow.info().typed_search_attributes
                for key in sa.ALL:  # what the start did not set is unset
                    self._sa_cache[key.name] = _as_upserted(shown.get(key))
                if first and all(self._sa_cache[key.name] is not None for key in (sa.KIND, sa.SUBJECT, sa.STAGE)):
                    return
        wanted = self.search_attributes()
        wanted[sa.KIND] = self.kind
        flags = set(wanted.get(sa.FLAGS) or []) | self._deadline_flags()
        if self.fault:
            flags.add("faulted")
            wanted[sa.FAULT] = f"{self.fault.activity}: {self.fault.error}"[:200]
        else:
            wanted.setdefault(sa.FAULT, None)
        wanted[sa.FLAGS] = sorted(flags)
        updates: list[SearchAttributeUpdate] = []
        for key, value in wanted.items():
            value = _as_upserted(value)
            if self._sa_cache.get(key.name, "<unset>") == value:
                continue
            self._sa_cache[key.name] = value
            updates.append(key.value_unset() if value is None else key.value_set(value))
        if updates:
            workflow.upsert_search_attributes(updates)


def _as_upserted(value: Any) -> Any:
    """A search attribute's value as `sync` upserts and remembers it: a list sorted, an empty
    one unset (None)."""
    return (sorted(value) or None) if isinstance(value, list) else value
