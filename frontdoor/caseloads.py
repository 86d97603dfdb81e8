"""Caseloads: each person's open work and each team's, against the targets, and allocation
with the receiver's caseload shown first.

A caseload is one visibility query over FdHolder ("allocated to") across the processes whose
open work is caseload (every process in the registry, unless its workflow class says
`caseload = False`, as an audit round does: its audits are counted instead). Allocation
goes through `allocate()`, which reads the receiver's caseload and refuses to take them over
their target without a reason (`over_target_reason`); the workflow's own rule (workflows/
base.py ALLOCATE) then checks the rest. Caseloads over time come from the daily snapshot
the CaseloadSnapshotWorkflow keeps in the case record.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import case, func
from sqlalchemy import select as sa_select
from sqlmodel import col
from temporalio.client import (
    Client,
    WorkflowFailureError,
)

from frontdoor import processes, stuck, users
from frontdoor.config import Settings
from frontdoor.errors import FrontdoorError, InvalidInput, NotFound
from models.allocation import Allocation
from models.caseload import (
    CaseloadSnapshotRequest,
    CaseloadSnapshotRow,
    CaseloadTargets,
    Rag,
    open_work_query,
    spread,
)
from models.database import session
from models.roles import PRACTITIONERS, ROLE_NAMES, Role
from models.tables import User
from workflows.base import SHARED
from workflows.caseload import SCHEDULE_ID, CaseloadSnapshotWorkflow
from workflows.process import Process
from workflows.registry import PROCESSES

MAX_ROWS = 5000  # open work read for one team at once
NOT_WORK = frozenset(a.name for a in SHARED)  # allocate, restrict, retry ...: not the case's own work


def counted_kinds() -> list[str]:
    """The processes whose open work is caseload."""
    return [p.kind for p in PROCESSES if getattr(p.workflow, "caseload", True)]


def noun_of(kind: str) -> str:
    proc = processes.BY_KIND.get(kind)
    return proc.noun if proc else kind


@dataclass
class Caseload:
    username: str
    role: Role | None
    team: str | None
    rows: list[stuck.Row]
    targets: CaseloadTargets
    display_name: str = ""

    @property
    def count(self) -> int:
        return len(self.rows)

    @property
    def target(self) -> int | None:
        return self.targets.target(self.role) if self.role else None

    @property
    def amber_at(self) -> int | None:
        return self.targets.amber_at(self.role) if self.role else None

    @property
    def rag(self) -> Rag:
        return self.targets.rag(self.role, self.count) if self.role else Rag.GREEN

    @property
    def oldest(self) -> stuck.Row | None:
        dated = [r for r in self.rows if r.received_at]
        return min(dated, key=lambda r: r.received_at or datetime.max.replace(tzinfo=UTC)) if dated else None

    def by_process(self) -> list[dict[str, Any]]:
        """Open work by process and stage, the processes in the registry's order."""
        stages: dict[str, Counter[str]] = defaultdict(Counter)
        for r in self.rows:
            stages[r.kind][r.stage or "-"] += 1
        order = {p.kind: i for i, p in enumerate(PROCESSES)}
        return [{"kind": kind, "noun": noun_of(kind), "count": sum(c.values()), "stages": dict(sorted(c.items()))}
                for kind, c in sorted(stages.items(), key=lambda kv: order.get(kv[0], 99))]

    def as_dict(self) -> dict[str, Any]:
        oldest = self.oldest
        return {
            "username": self.username, "role": self.role.value if self.role else None, "team": self.team,
            "open": self.count, "target": self.target, "amber_at": self.amber_at, "rag": self.rag.value,
            "by_process": self.by_process(),
            "oldest": oldest.as_dict() if oldest else None,
            "items": [r.as_dict() for r in sorted(self.rows, key=_received)],
        }


def _received(r: stuck.Row) -> str:
    return r.received_at.isoformat() if r.received_at else "~"


@dataclass
class TeamCaseload:
    team: str
    people: list[Caseload] = field(default_factory=list)

    def summary(self, roles: frozenset[Role] = PRACTITIONERS) -> dict[str, Any]:
        """Average and spread of the practitioners' caseloads (managers hold decisions, not cases)."""
        counts = [p.count for p in self.people if p.role in roles]
        out = spread(counts)
        out["over_target"] = sum(1 for p in self.people if p.role in roles and p.rag == Rag.RED)
        return out

    def as_dict(self) -> dict[str, Any]:
        return {"team": self.team, "summary": self.summary(),
                "people": [{k: v for k, v in p.as_dict().items() if k != "items"} for p in self.people]}


def _user(database_url: str, username: str) -> User:
    user = users.person(database_url, username)
    if user is None or not user.active:
        raise NotFound(f"no active person {username[:80]}: see `frontdoor users list`")
    return user


async def caseload_of(client: Client, settings: Settings, username: str) -> Caseload:
    user = _user(settings.database_url, username)
    rows = await stuck.list_rows(client, open_work_query(counted_kinds(), [user.username]), limit=MAX_ROWS)
    return Caseload(user.username, Role(user.role), user.team, rows, settings.caseload_targets, user.display_name)


async def team_caseload(client: Client, settings: Settings, team: str) -> TeamCaseload:
    members = users.team_members(settings.database_url, team)
    if not members:
        raise NotFound(f"no team {team[:64]} (nobody active in it): teams are {', '.join(users.teams(settings.database_url)) or 'none yet'}")
    rows = await stuck.list_rows(client, open_work_query(counted_kinds(), [m.username for m in members]), limit=MAX_ROWS)
    held: dict[str, list[stuck.Row]] = defaultdict(list)
    for r in rows:
        held[r.holder or ""].append(r)
    people = [Caseload(m.username, Role(m.role), m.team, held.get(m.username, []), settings.caseload_targets, m.display_name)
              for m in members]
    return TeamCaseload(team, people)


async def all_teams(client: Client, settings: Settings) -> list[TeamCaseload]:
    """Every team's caseloads (the supervisor's dashboard and /caseloads/teams): one
    visibility query per team."""
    return [await team_caseload(client, settings, team) for team in users.teams(settings.database_url)]


# ---------------------------------------------------------------------- allocation
@dataclass
class AllocationPreview:
    proc: Process
    subject_id: str
    stage: str
    holder: str | None
    receiver: Caseload
    problems: list[str]
    roles: frozenset[Role]

    @property
    def after(self) -> int:
        return self.receiver.count + 1

    @property
    def over_target(self) -> bool:
        return self.receiver.role is not None and self.receiver.targets.over_after(self.receiver.role, self.receiver.count)

    @property
    def rag_after(self) -> Rag:
        return self.receiver.targets.rag(self.receiver.role, self.after) if self.receiver.role else Rag.GREEN

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.proc.kind, "id": self.subject_id, "stage": self.stage, "allocated_to": self.holder,
            "receiver": {k: v for k, v in self.receiver.as_dict().items() if k != "items"},
            "after": self.after, "rag_after": self.rag_after.value, "over_target": self.over_target,
            "needs_over_target_reason": self.over_target, "problems": self.problems,
            "who_may_receive": sorted(r.value for r in self.roles),
        }


def receiving_roles(proc: Process, state: Any) -> frozenset[Role]:
    """Who may receive the work at its stage: the roles of the actions the stage allows
    (its own work, not allocation or a retry); at a stage the system is working through, its readers."""
    roles = frozenset(r for a in proc.actions.now(state) if a.name not in NOT_WORK for r in a.roles)
    return roles or (proc.readers or frozenset(Role))


async def preview(client: Client, settings: Settings, proc: Process, subject_id: str, to: str) -> AllocationPreview:
    """The receiver's caseload as it is, what it would be, and anything that stops the allocation."""
    state = await processes.get_state(client, proc, subject_id)
    receiver = await caseload_of(client, settings, to)
    roles = receiving_roles(proc, state)
    problems = []
    if to == state.holder:
        problems.append(f"it is allocated to {to} already")
    if receiver.role not in roles:
        who = ", ".join(ROLE_NAMES[r].lower() for r in sorted(roles))
        problems.append(f"{to} is a {ROLE_NAMES[receiver.role].lower() if receiver.role else 'person'}: "
                        f"at {str(state.stage.value).replace('_', ' ')} this {proc.noun} goes to a {who}")
    refusal = getattr(state, "allocation_refusal", None)
    reason = refusal(to) if callable(refusal) else None
    if reason:
        problems.append(reason)
    return AllocationPreview(proc, subject_id, str(state.stage.value), state.holder, receiver, problems, roles)


async def allocate(client: Client, settings: Settings, proc: Process, subject_id: str,
                   payload: Allocation | dict[str, Any]) -> Any:
    """Allocate with the receiver's caseload checked first (see check_allocation)."""
    try:
        item = payload if isinstance(payload, Allocation) else Allocation.model_validate(payload)
    except ValidationError as exc:
        raise InvalidInput.of([{"field": ".".join(str(p) for p in e["loc"]) or "body",
                                "message": e["msg"].removeprefix("Value error, ")} for e in exc.errors()]) from None
    return await processes.act(client, proc, subject_id, "allocate", item, settings=settings)


async def check_allocation(client: Client, settings: Settings, proc: Process, subject_id: str, item: Any) -> None:
    """Refused (422) when the receiver may not take it, or when it takes them over their
    target and no over_target_reason is given. Every interface's allocate comes here
    (processes.act with settings)."""
    p = await preview(client, settings, proc, subject_id, item.to)
    if p.problems:
        raise InvalidInput(f"not allocated: {p.problems[0]}", [{"field": "to", "message": m} for m in p.problems])
    if p.over_target and not (item.over_target_reason or "").strip():
        message = (f"{item.to} has {p.receiver.count} open (target {p.receiver.target}): this takes them to {p.after}, "
                   "over their target; give over_target_reason, or choose someone else")
        raise InvalidInput(f"not allocated: {message}", [{"field": "over_target_reason", "message": message}])


processes.CHECKS_FIRST["allocate"] = check_allocation


# ---------------------------------------------------------------------- over time (the daily snapshot)
def caseloads_over_time(database_url: str, *, team: str | None = None, roles: frozenset[Role] | None = PRACTITIONERS,
                        since: date | None = None, until: date | None = None) -> list[dict[str, Any]]:
    """Per day and team (and role): people, total open work, the average and its spread
    (population standard deviation), the smallest and largest caseload, and how many were
    over their target. One SQL query over caseload_snapshots."""
    t = CaseloadSnapshotRow
    n = col(t.open_items)
    query = sa_select(
        col(t.taken_on), col(t.team), col(t.role), func.count(), func.sum(n), func.sum(n * n), func.min(n), func.max(n),
        func.sum(case((col(t.target).is_not(None) & (n > col(t.target)), 1), else_=0)),
    ).group_by(col(t.taken_on), col(t.team), col(t.role)).order_by(col(t.taken_on), col(t.team), col(t.role))
    if team is not None:
        query = query.where(col(t.team) == team)
    if roles is not None:
        query = query.where(col(t.role).in_(sorted(r.value for r in roles)))
    if since is not None:
        query = query.where(col(t.taken_on) >= since)
    if until is not None:
        query = query.where(col(t.taken_on) <= until)
    out = []
    with session(database_url) as s:
        for day, team_, role, people, total, squares, low, high, over in s.execute(query).all():
            mean = total / people
            variance = max(0.0, squares / people - mean * mean)
            out.append({"day": day.isoformat() if isinstance(day, date) else str(day), "team": team_, "role": role,
                        "people": people, "total": int(total), "average": round(mean, 2),
                        "stdev": round(variance ** 0.5, 2), "min": int(low), "max": int(high), "over_target": int(over or 0)})
    return out


def snapshot_request(settings: Settings) -> CaseloadSnapshotRequest:
    return CaseloadSnapshotRequest(kinds=counted_kinds(), targets=settings.caseload_targets)


async def snapshot_now(client: Client, settings: Settings, *, task_queue: str | None = None) -> Any:
    """Take today's snapshot at once (the schedule's workflow, run now; today's rows are replaced)."""
    when = datetime.now(UTC)
    try:
        return await client.execute_workflow(
            CaseloadSnapshotWorkflow.run, snapshot_request(settings).model_copy(update={"at": when}),
            id=f"{SCHEDULE_ID}-{when:%Y%m%dT%H%M%S%f}", task_queue=task_queue or settings.temporal.task_queue,
            execution_timeout=timedelta(minutes=2),
        )
    except WorkflowFailureError as exc:
        raise FrontdoorError(
            f"the caseload snapshot did not finish ({exc.cause}): is a worker running that registers "
            "the workflows of frontdoor.schedules (CaseloadSnapshotWorkflow) on the task queue?"
        ) from None
