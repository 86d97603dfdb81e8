"""Who read a child's record, and who may (issue 9 §4).

- `AccessRecord` (table `access_log`): one row per view of a case's details (its page, an
  API read, a document, a CLI `show`/`trail`/...), refused views included. Append-only:
  triggers refuse UPDATE and DELETE (and REPLACE on SQLite, TRUNCATE on PostgreSQL).
- `Restrict` / `LiftRestriction`: the actions (every process's table has them, see
  workflows/base.py) a team or service manager takes to limit a case's readers to named
  people, with a reason. The workflow keeps the restriction and mirrors it, through an
  activity, into `RestrictionRecord` (table `restrictions`), which the interfaces read
  before every view.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, field_validator
from sqlalchemy import JSON, Column, Index, Text
from sqlmodel import Field as SqlField
from sqlmodel import Session, SQLModel

from models.append_only import AppendOnly
from models.bounds import ReasonText, Username
from models.roles import ALLOCATORS, ROLE_NAMES, Actor, Role
from models.signing import PersonAction
from models.tables import UTCDateTime

CHANNELS = ("page", "api", "document", "cli")  # how a case was read
MAX_ALLOWED = 20  # people named on one restriction


# ---------------------------------------------------------------------- the access log
class AccessRecord(SQLModel, table=True):
    """One view of a case's details by one person. `part` is what was read (state, trail,
    documents, messages, document); `outcome` is shown, or refused (a restricted case)."""

    __tablename__ = "access_log"
    __table_args__ = (
        Index("ix_access_case", "subject_id", "id"),
        Index("ix_access_person", "username", "id"),
    )
    id: int | None = SqlField(default=None, primary_key=True)
    at: datetime = SqlField(sa_column=Column(UTCDateTime(), nullable=False))
    username: str = SqlField(max_length=80)
    role: str = SqlField(max_length=40)
    kind: str = SqlField(max_length=40)  # the process (FdKind)
    subject_id: str = SqlField(max_length=200)
    channel: str = SqlField(max_length=20)  # page | api | document | cli
    part: str = SqlField(max_length=40)  # state | trail | documents | messages | document
    detail: str | None = SqlField(default=None, sa_column=Column(Text))  # a document's id
    outcome: str = SqlField(default="shown", max_length=20)  # shown | refused


ACCESS_LOG_APPEND_ONLY = AppendOnly(
    "access_log", "the access log is append-only", collides="id = NEW.id", function="frontdoor_access_append_only"
)


# ---------------------------------------------------------------------- restricted records
def _people(value: list[str]) -> list[str]:
    """Usernames, given one by one or as one line ("sam, sara" from a form's text box)."""
    names = [n for v in value for n in v.replace(",", " ").split() if n]
    if len(names) > MAX_ALLOWED:
        raise ValueError(f"name at most {MAX_ALLOWED} people")
    if len(set(names)) != len(names):
        raise ValueError("a person is named twice")
    return names


class Restrict(PersonAction):
    """Restrict a case: only the people named (and team and service managers) read its details."""

    allowed: list[Username] = Field(
        default_factory=list, max_length=MAX_ALLOWED,
        description="the usernames of the people who may still read it (managers always may); "
        "naming people again replaces the list")
    reason: ReasonText = Field(min_length=3, description="why the record is restricted (a staff member's child, "
                               "a high-profile family)")

    _people = field_validator("allowed")(_people)


class LiftRestriction(PersonAction):
    reason: ReasonText = Field(min_length=3, description="why everyone who reads this process's cases may read it again")


def may_read(actor: Actor, allowed: list[str] | None) -> bool:
    """A restricted case's rule, for its reads (frontdoor/access.py) and its actions (the
    workflow's validator: an action answers with the state): the people named on it, and team
    and service managers."""
    return actor.role in ALLOCATORS or actor.username in (allowed or [])


def refusal(noun: str, subject_id: str, by: str | None, by_role: str | None) -> str:
    """What anyone else is told, on a read (frontdoor/access.py) or an action (the validator)."""
    who = f"{by} ({ROLE_NAMES.get(Role(by_role), by_role).lower() if by_role in set(Role) else by_role})"
    return (f"{noun} {subject_id} is a restricted record: only the people named on it and team "
            f"and service managers may read it. Ask {who}, who restricted it, or your team manager")


class Restriction(BaseModel):
    """A case's restriction, as the workflow keeps it and mirrors it."""

    allowed: list[str] = Field(default_factory=list)
    reason: str
    by: str  # who restricted it: the person to ask
    by_role: str
    at: datetime


class RestrictionEntry(BaseModel):
    """What the workflow sends its mirror activity: the restriction now (None: lifted)."""

    kind: str
    subject_id: str
    workflow_id: str
    generation: int  # counts restrict/lift in the workflow: an older write never overwrites a newer one
    restriction: Restriction | None = None


class RestrictionRecord(SQLModel, table=True):
    """The mirror the interfaces read before every view (one row per case ever restricted)."""

    __tablename__ = "restrictions"
    kind: str = SqlField(primary_key=True, max_length=40)
    subject_id: str = SqlField(primary_key=True, max_length=200)
    workflow_id: str = SqlField(max_length=200)
    generation: int = 0
    restricted: bool = SqlField(default=False, index=True)
    allowed: list[str] = SqlField(default_factory=list, sa_column=Column(JSON))
    reason: str | None = SqlField(default=None, sa_column=Column(Text))
    by: str | None = SqlField(default=None, max_length=80)
    by_role: str | None = SqlField(default=None, max_length=40)
    at: datetime | None = SqlField(default=None, sa_column=Column(UTCDateTime(), nullable=True))


def save_restriction(s: Session, entry: RestrictionEntry) -> bool:
    """Write the mirror (idempotent; a retried or older generation changes nothing)."""
    row = s.get(RestrictionRecord, (entry.kind, entry.subject_id))
    if row is not None and row.generation >= entry.generation:
        return False
    r = entry.restriction
    values: dict[str, Any] = {
        "workflow_id": entry.workflow_id, "generation": entry.generation, "restricted": r is not None,
        "allowed": list(r.allowed) if r else [], "reason": r.reason if r else None, "by": r.by if r else None,
        "by_role": r.by_role if r else None, "at": r.at if r else None,
    }
    if row is None:
        row = RestrictionRecord(kind=entry.kind, subject_id=entry.subject_id, **values)
    else:
        for key, value in values.items():
            setattr(row, key, value)
    s.add(row)
    s.commit()
    return True
