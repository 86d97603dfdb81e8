"""The case record: sqlmodel tables (SQLite by default, PostgreSQL in production).

The action trail is append-only: the store offers no update or delete for it, and
database triggers refuse UPDATE, DELETE, REPLACE (SQLite) and TRUNCATE (PostgreSQL). Each
row is hash-chained to the previous row of its case (models/chain.py); `trail_heads`
holds each case's latest link, so a row removed from the end shows too.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Index, Text, UniqueConstraint
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel


class UTCDateTime(TypeDecorator[datetime]):
    """An instant, stored as UTC and read back aware in UTC, on SQLite and PostgreSQL alike.

    SQLite has no time zones: SQLAlchemy writes an aware time's wall clock and drops its
    offset, so 09:00+01:00 came back as 09:00 UTC. PostgreSQL's timestamptz keeps the
    instant but answers in the session's zone. Here every value is converted to UTC on the
    way in (a naive one is refused: it is a bug, not an instant) and marked UTC on the way out.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"a time without a time zone ({value.isoformat()}) cannot be stored: give it one")
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _ts(**kw: Any) -> Any:
    return Field(sa_column=Column(UTCDateTime(), **kw))


class User(SQLModel, table=True):
    __tablename__ = "users"
    username: str = Field(primary_key=True, max_length=80)
    display_name: str = ""
    role: str = Field(index=True)
    team: str | None = Field(default=None, index=True, max_length=64)  # the team they work in (caseloads, audit samples)
    token_hash: str | None = Field(default=None, index=True)
    password_hash: str | None = None
    active: bool = True
    created_at: datetime = _ts(nullable=False)


class ApiToken(SQLModel, table=True):
    """A named API token of one person (stored hashed); several per person, each revocable."""

    __tablename__ = "api_tokens"
    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(index=True, max_length=80)
    label: str = Field(max_length=60)
    token_hash: str = Field(unique=True, max_length=64)
    created_at: datetime = _ts(nullable=False)
    last_used_at: datetime | None = _ts(nullable=True)
    revoked_at: datetime | None = _ts(nullable=True)


class WebSession(SQLModel, table=True):
    """A signed-in browser. The cookie holds only a random id; this row, keyed by the id's
    SHA-256, is what logout, disabling the person and the timeouts remove."""

    __tablename__ = "web_sessions"
    id_hash: str = Field(primary_key=True, max_length=64)
    username: str | None = Field(default=None, index=True, max_length=80)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    created_at: datetime = _ts(nullable=False)
    last_seen_at: datetime = _ts(nullable=False, index=True)
    address: str | None = Field(default=None, max_length=64)


class SignInFailure(SQLModel, table=True):
    """One failed sign-in, counted per person and per address to throttle guessing."""

    __tablename__ = "sign_in_failures"
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(index=True, max_length=200)  # person:NAME or address:IP
    at: datetime = _ts(nullable=False, index=True)


class ContactRecord(SQLModel, table=True):
    __tablename__ = "contacts"
    id: str = Field(primary_key=True, max_length=64)
    kind: str = Field(default="contact", index=True)  # contact | prior (imported earlier involvement)
    received_at: datetime = _ts(nullable=False, index=True)
    source: str = Field(index=True)
    referrer_agency: str | None = None
    factors: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    themes: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    police_attendance_at: datetime | None = _ts(nullable=True)
    police_delay_hours: float | None = None
    consultation_ref: str | None = Field(default=None, index=True)
    stage: str = "intake"
    level: int | None = None
    route: str | None = Field(default=None, index=True)
    outcome: str | None = None
    decided_at: datetime | None = _ts(nullable=True)
    closed_at: datetime | None = _ts(nullable=True)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))


class ChildRecord(SQLModel, table=True):
    __tablename__ = "children"
    id: int | None = Field(default=None, primary_key=True)
    contact_id: str = Field(foreign_key="contacts.id", index=True)
    position: int = 0
    local_id: str | None = Field(default=None, index=True)
    nhs_number: str | None = Field(default=None, index=True)
    first_name: str | None = None
    last_name: str | None = Field(default=None, index=True)
    first_name_key: str | None = Field(default=None, index=True)
    last_name_key: str | None = Field(default=None, index=True)
    date_of_birth: date | None = Field(default=None, index=True)
    sex: str | None = None
    ethnicity: str | None = None
    postcode: str | None = None


class ActionRecord(SQLModel, table=True):
    """Who did what, when and why. Append-only and hash-chained per case."""

    __tablename__ = "actions"
    __table_args__ = (
        UniqueConstraint("idempotency_key"),
        Index("ix_actions_subject_seq", "subject_id", "seq", unique=True),
    )
    id: int | None = Field(default=None, primary_key=True)
    idempotency_key: str = Field(max_length=200)
    subject_id: str = Field(index=True)  # contact id (or consultation / episode id)
    workflow_id: str = Field(index=True)
    kind: str | None = Field(default=None, index=True)  # the process (FdKind)
    actor: str = Field(index=True)
    role: str
    at: datetime = _ts(nullable=False, index=True)
    action: str = Field(index=True)
    reasons: str | None = Field(default=None, sa_column=Column(Text))
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    seq: int | None = None  # 1, 2, ... within the case (subject_id)
    prev_hash: str | None = Field(default=None, max_length=64)
    hash: str | None = Field(default=None, max_length=64)


class TrailHead(SQLModel, table=True):
    """The latest link of each case's chain; appends lock it, so two at once queue up."""

    __tablename__ = "trail_heads"
    subject_id: str = Field(primary_key=True)
    seq: int = 0
    hash: str = Field(max_length=64)


class DocumentRecord(SQLModel, table=True):
    __tablename__ = "documents"
    id: str = Field(primary_key=True, max_length=200)  # workflow id + step: idempotent
    subject_id: str = Field(index=True)
    kind: str = Field(index=True)
    process: str | None = Field(default=None, index=True)  # whose readers may read it (FdKind)
    title: str
    content: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = _ts(nullable=False)


class AgencyRequestRecord(SQLModel, table=True):
    __tablename__ = "agency_requests"
    __table_args__ = (UniqueConstraint("contact_id", "agency"),)
    id: int | None = Field(default=None, primary_key=True)
    contact_id: str = Field(index=True)
    agency: str
    requested_at: datetime = _ts(nullable=False)
    due_at: datetime = _ts(nullable=False)
    document_id: str | None = None
    chased_at: datetime | None = _ts(nullable=True)
    responded_at: datetime | None = _ts(nullable=True)
    response: str | None = Field(default=None, sa_column=Column(Text))
    waived_reason: str | None = None


class OutboxMessage(SQLModel, table=True):
    """Messages to agencies, teams and staff. The stored outbox is the default adapter."""

    __tablename__ = "outbox"
    id: int | None = Field(default=None, primary_key=True)
    idempotency_key: str = Field(max_length=200, unique=True)
    channel: str = Field(index=True)  # agency:police, team:assessment_team, role:team_manager, referrer
    recipient: str
    subject: str
    body: str = Field(sa_column=Column(Text, nullable=False))
    subject_id: str = Field(index=True)
    created_at: datetime = _ts(nullable=False)
    delivered_at: datetime | None = _ts(nullable=True)


class HandoffRecord(SQLModel, table=True):
    """One row per handoff; the unique contact id makes a second handoff impossible."""

    __tablename__ = "handoffs"
    id: str = Field(primary_key=True, max_length=200)
    contact_id: str = Field(unique=True)
    team: str | None = None
    outcome: str
    at: datetime = _ts(nullable=False)
