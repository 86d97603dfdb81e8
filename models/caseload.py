"""Caseloads: who holds what open work, against a target per role.

Open work is every running case with a holder (FdHolder, "allocated to"), counted by one
visibility query; the target is configurable per role (15 for social workers: the letter
credits caseloads reduced to "an average of 15 each"). A caseload is green below the amber
line, amber from it up to the target, red over the target. The case record keeps a daily
snapshot per person (`caseload_snapshots`) so caseloads can be followed over time.

Pure: no I/O; the interface (frontdoor/caseloads.py) and the snapshot activity read these.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field as TableField
from sqlmodel import SQLModel

from models.roles import Role
from models.tables import _ts

DEFAULT_TARGETS: dict[Role, int] = {
    Role.SOCIAL_WORKER: 15,
    Role.EARLY_HELP_ADVISER: 15,
    Role.SENIOR_ADVISER: 10,
    Role.RFS_OFFICER: 25,
    Role.TEAM_MANAGER: 20,
    Role.SERVICE_MANAGER: 20,
}
MAX_TARGET = 500


class Rag(StrEnum):
    GREEN = "green"
    AMBER = "amber"
    RED = "red"


class CaseloadTargets(BaseModel):
    """The caseload target of each role, and where amber begins (a share of the target)."""

    model_config = ConfigDict(extra="forbid")
    targets: dict[Role, int] = Field(default_factory=lambda: dict(DEFAULT_TARGETS))
    amber_share: float = Field(default=0.8, gt=0, le=1)

    def target(self, role: Role | str) -> int | None:
        return self.targets.get(Role(role))

    def amber_at(self, role: Role | str) -> int | None:
        target = self.target(role)
        return None if target is None else max(1, math.ceil(target * self.amber_share))

    def rag(self, role: Role | str, count: int) -> Rag:
        """Green below the amber line, amber up to the target, red over it."""
        target, amber = self.target(role), self.amber_at(role)
        if target is None or amber is None:
            return Rag.GREEN
        if count > target:
            return Rag.RED
        return Rag.AMBER if count >= amber else Rag.GREEN

    def over_after(self, role: Role | str, count: int) -> bool:
        """Whether one more item takes a caseload of `count` over its target."""
        target = self.target(role)
        return target is not None and count + 1 > target


def parse_targets(text: str) -> dict[Role, int]:
    """'social_worker=15,early_help_adviser=12' -> {Role: int}; raises ValueError naming the problem."""
    out: dict[Role, int] = {}
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        name, sep, value = part.partition("=")
        if not sep:
            raise ValueError(f"{part!r}: give role=number, e.g. social_worker=15")
        try:
            role = Role(name.strip())
        except ValueError:
            raise ValueError(f"{name.strip()!r} is not a role: one of {', '.join(r.value for r in Role)}") from None
        try:
            number = int(value.strip())
        except ValueError:
            raise ValueError(f"{part!r}: the target is a whole number") from None
        if not 1 <= number <= MAX_TARGET:
            raise ValueError(f"{part!r}: a target is between 1 and {MAX_TARGET}")
        out[role] = number
    return out


def _quoted(values: Iterable[str]) -> str:
    return ", ".join("'" + v.replace("'", "''") + "'" for v in values)


def open_work_query(kinds: Iterable[str], holders: Iterable[str] | None = None) -> str:
    """The visibility query for open work of the counted processes (optionally some holders').
    Usernames are checked by the users module (letters, digits, . _ @ -); quotes are doubled anyway."""
    query = f"ExecutionStatus = 'Running' AND FdKind IN ({_quoted(sorted(set(kinds)))}) AND FdHolder IS NOT NULL"
    if holders is not None:
        names = sorted(set(holders))
        query += f" AND FdHolder IN ({_quoted(names)})" if names else " AND FdHolder = ''"
    return query


def spread(counts: list[int]) -> dict[str, Any]:
    """Average and spread of a team's caseloads (population standard deviation)."""
    if not counts:
        return {"people": 0, "total": 0, "average": None, "stdev": None, "min": None, "max": None}
    mean = sum(counts) / len(counts)
    stdev = math.sqrt(sum((c - mean) ** 2 for c in counts) / len(counts))
    return {"people": len(counts), "total": sum(counts), "average": round(mean, 2), "stdev": round(stdev, 2),
            "min": min(counts), "max": max(counts)}


class CaseloadSnapshotRequest(BaseModel):
    """What the daily snapshot counts: the processes whose open work is caseload, and the
    targets of the day (kept on each row, so a later change of target does not rewrite history)."""

    kinds: list[str]
    targets: CaseloadTargets = Field(default_factory=CaseloadTargets)
    at: datetime | None = None  # the moment of the snapshot (the workflow's time)


class CaseloadSnapshotResult(BaseModel):
    taken_on: date
    people: int
    items: int


class CaseloadSnapshotRow(SQLModel, table=True):
    """One person's open work on one day; the same day taken again replaces the row."""

    __tablename__ = "caseload_snapshots"
    __table_args__ = (UniqueConstraint("taken_on", "username"),)
    id: int | None = TableField(default=None, primary_key=True)
    taken_on: date = TableField(index=True)
    taken_at: datetime = _ts(nullable=False)
    username: str = TableField(index=True, max_length=80)
    role: str = TableField(max_length=40)
    team: str | None = TableField(default=None, index=True, max_length=64)
    open_items: int = 0
    target: int | None = None
    by_kind: dict[str, int] = TableField(default_factory=dict, sa_column=Column(JSON))
