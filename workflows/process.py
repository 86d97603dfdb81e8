"""The one shape of a process: its action table, how a person starts one, its stuck lists,
its list views, and its identity (kind, workflow class, id function, state model).

Each process module (workflows/contact.py, ...) declares these beside its workflow; the
registry (workflows/registry.py) lists the processes; the worker, the CLI, the API and the
pages are generated from them. Nothing here does I/O: the interface reads these tables.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import SearchAttributePair
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from models import errors
    from models.roles import ROLE_NAMES, Actor, Role
    from models.timescales import Timescales

CLOSED = "closed"  # every process's final stage
OPENED = "opened"  # every process's update sent with its start: the case as its opening steps left it


def _stage_order(stage: str) -> int:
    """A stage's place in the order a case meets its stages (the order of its enum)."""
    return list(type(stage)).index(stage) if isinstance(stage, Enum) else 0


def refuse(kind: str, message: str) -> ApplicationError:
    """A refusal the caller sees with its reason (never retried)."""
    return ApplicationError(message, type=kind, non_retryable=True)


def wrong_stage(message: str) -> ApplicationError:
    return refuse(errors.WRONG_STAGE, message)


def invalid(message: str) -> ApplicationError:
    return refuse(errors.INVALID, message)


def forbidden(message: str) -> ApplicationError:
    return refuse(errors.PERMISSION_DENIED, message)


@dataclass(frozen=True)
class Action:
    """One thing a person does to a case. `name` is the Update's name and also the CLI verb,
    the API path segment and the form's id. The validator of the Update checks, in order:
    the person's role, the stage (`stages`; None means any open stage), `ready(state)`
    (a reason the state does not allow it yet, or None) and `rules(state, payload)`
    (raises `invalid(...)` or `wrong_stage(...)` for the payload). Handlers do not check again.
    `form(state)` gives the screens choices and defaults that depend on the state."""

    name: str
    model: type[BaseModel]
    roles: frozenset[Role]
    title: str
    stages: frozenset[str] | None = None
    ready: Callable[[Any], str | None] | None = None
    rules: Callable[[Any, Any], None] | None = None
    form: Callable[[Any], dict[str, Any]] | None = None
    help: str = ""
    needs: str = ""  # when it is refused for the stage, in people's words: "needs the recommendation first"
    people: dict[str, frozenset[Role]] = field(default_factory=dict)  # fields naming a person -> the roles they must hold

    def doing(self) -> str:
        """The action in words: its name, and its title when that says more."""
        plain = self.name.replace("_", " ")
        return plain if self.title.lower() == plain else f"{plain} ({self.title.lower()})"

    def who(self) -> str:
        return ", ".join(ROLE_NAMES[r].lower() for r in sorted(self.roles)) or "nobody"

    def stage_allows(self, state: Any) -> str | None:
        """Why the case's stage does not allow this action now (None: it does)."""
        stage = str(getattr(state.stage, "value", state.stage))
        if self.stages is None:
            if stage == CLOSED:
                return "it is closed"
        elif stage not in self.stages:
            if self.needs:
                return f"it is at {stage.replace('_', ' ')}; {self.title.lower()} {self.needs}"
            names = [str(getattr(s, "value", s)).replace("_", " ") for s in sorted(self.stages, key=_stage_order)]
            return f"it is at {stage.replace('_', ' ')}; {self.title.lower()} happens at " + " or ".join(names)
        return self.ready(state) if self.ready else None

    def check(self, actor: Actor, state: Any, payload: Any, what: str) -> None:
        """The whole rule, in one place: raise the refusal the caller will see."""
        if actor.role not in self.roles:
            raise forbidden(f"{actor.username} ({actor.role.value}) may not {self.doing()}: only {self.who()} may")
        reason = self.stage_allows(state)
        if reason is not None:
            raise wrong_stage(f"{what}: {reason}")
        if self.rules:
            self.rules(state, payload)


class ActionTable:
    """A process's actions, in the order people meet them."""

    def __init__(self, *actions: Action) -> None:
        names = [a.name for a in actions]
        if len(set(names)) != len(names):
            raise ValueError(f"an action name is used twice: {names}")
        self._actions = {a.name: a for a in actions}

    def __iter__(self) -> Iterator[Action]:
        return iter(self._actions.values())

    def __contains__(self, name: object) -> bool:
        return name in self._actions

    def __getitem__(self, name: str) -> Action:
        return self._actions[name]

    def names(self) -> list[str]:
        return list(self._actions)

    def now(self, state: Any) -> list[Action]:
        """The actions the case's state allows now, whoever asks."""
        return [a for a in self if a.stage_allows(state) is None]

    def offered(self, state: Any, role: Role) -> list[Action]:
        """What this person can do now: allowed by the state and by their role."""
        return [a for a in self.now(state) if role in a.roles]

    def not_yet(self, state: Any, role: Role) -> list[tuple[Action, str]]:
        """What this person could do at this stage but the case is not ready for, and why."""
        out = []
        for a in self:
            if role in a.roles and a.ready is not None and a.stages is not None and str(state.stage.value) in a.stages:
                reason = a.ready(state)
                if reason is not None:
                    out.append((a, reason))
        return out


@dataclass(frozen=True)
class StartContext:
    """What starting a case may read besides the item: settings, and the moment."""

    timescales: Timescales
    timezone: str
    now: datetime


@dataclass(frozen=True)
class Start:
    """How a person starts a case: `name` is the CLI verb (POST /api/{path} in the API)."""

    name: str
    title: str
    model: type[BaseModel]
    roles: frozenset[Role]
    subject_id: Callable[[Any], str]
    workflow_input: Callable[[Any, Actor, StartContext], BaseModel]
    search_attributes: Callable[[Any], Sequence[SearchAttributePair[Any]]] = lambda item: ()
    received_field: str = "received_at"  # the item's time of receipt (`--now` moves it)
    help: str = ""
    next_step: Callable[[Any], str] | None = None  # what to tell the person once it is started


@dataclass(frozen=True)
class StuckList:
    """A supervisor's question, answered by one visibility query (`query(now, within)`)."""

    name: str
    title: str
    query: Callable[[datetime, timedelta], str]
    help: str = ""


OPEN = "ExecutionStatus = 'Running'"  # visibility: the case's workflow has not ended


def flagged(flag: str) -> Callable[[datetime, timedelta], str]:
    """A stuck list's query: the open cases showing `flag` in FdFlags (a StrEnum member or its value)."""
    return lambda now, within: f"{OPEN} AND FdFlags = '{flag}'"


def time_left(row: Any) -> str:
    """A list view's order: soonest due first; rows with no due time last."""
    return row.due_at.isoformat() if row.due_at else "~"


def due_first(row: Any) -> str:
    """A list view's order: by due time, else by time received; rows with neither last."""
    moment = row.due_at or row.received_at
    return moment.isoformat() if moment else "~"


@dataclass(frozen=True)
class ListView:
    """A list of open cases for a screen: a visibility filter, an order and groups."""

    name: str
    title: str
    roles: frozenset[Role]
    where: str = ""  # extra visibility filter, e.g. "FdRoute = 'spa'"
    order: Callable[[Any], Any] | None = None  # key on a row (frontdoor.views.Row)
    groups: tuple[tuple[str, str, Callable[[Any], bool]], ...] = ()  # (id, title, row predicate)
    help: str = ""


@dataclass(frozen=True)
class Process:
    """A process's shape: its workflow class (which carries its identity: `kind`, `noun`,
    `State`, `workflow_id` and `actions`), how a person starts one, its lists and the
    activities it needs. Everything the worker and the interfaces read."""

    workflow: Any  # an AuditedWorkflow subclass
    path: str  # URL segment of the collection: /contacts, /api/contacts
    subject_field: str  # the state's field holding the case id
    start: Start | None = None
    stuck: tuple[StuckList, ...] = ()
    views: tuple[ListView, ...] = ()
    activities: tuple[type, ...] = ()
    transient: frozenset[str] = frozenset()  # stages the workflow leaves by itself: pages refresh
    readers: frozenset[Role] = frozenset()  # who reads its cases; empty: every role

    @property
    def kind(self) -> str:  # FdKind, the CLI command, the templates folder
        return str(self.workflow.kind)

    @property
    def noun(self) -> str:  # for people: "contact", "early help case"
        return str(self.workflow.noun)

    @property
    def state(self) -> type[BaseModel]:
        return self.workflow.State  # type: ignore[no-any-return]

    @property
    def actions(self) -> ActionTable:
        return self.workflow.actions  # type: ignore[no-any-return]

    def workflow_id(self, subject_id: str) -> str:
        return str(self.workflow.workflow_id(subject_id))

    def may_read(self, role: Role) -> bool:
        return not self.readers or role in self.readers

    def subject_of(self, state: BaseModel) -> str:
        return str(getattr(state, self.subject_field))

    def check_shape(self) -> None:
        """Every action is an Update of the workflow and every human Update is in the table
        (`opened`, every process's answer to its start, is nobody's action)."""
        updates = set(workflow._Definition.must_from_class(self.workflow).updates) - {OPENED}
        missing = [a.name for a in self.actions if a.name not in updates]
        unlisted = sorted(u for u in updates if u is not None and u not in self.actions)
        if missing or unlisted:
            raise TypeError(
                f"process {self.kind}: actions without an Update {missing}; Updates not in the action table {unlisted}"
            )
