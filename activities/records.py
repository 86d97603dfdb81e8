"""Writing the case record for the workflows: the action trail and summary columns."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from sqlalchemy import Connection, bindparam, update
from sqlalchemy import insert as sa_insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from activities.facts import project
from models import chain
from models.database import conflict_insert
from models.messages import ActionEntry, CaseUpdate
from models.tables import ActionRecord, ContactRecord, TrailHead


def append_action(s: Session, entry: ActionEntry) -> bool:
    """Add one line to the trail and commit (`add_action`); a retried activity with the same
    key adds nothing."""
    try:
        added = add_action(s, entry)
        s.commit()
    except IntegrityError:
        s.rollback()
        return False
    return added


def add_action(s: Session, entry: ActionEntry) -> bool:
    """One line added to the trail in the session's transaction, chained to the case's last
    line, with its report facts; False if a line with its key is there already. The caller
    commits, so a person's action can write its record and its line in one transaction.

    Written with SQLAlchemy Core statements on the session's connection, not ORM objects:
    every workflow step writes a line, and the ORM's unit of work cost more than the SQL
    (bench/trail.py, bench/README.md)."""
    conn = s.connection()
    if conn.execute(_KEY_TAKEN, {"key": entry.idempotency_key}).first():
        return False
    conn.execute(_INSERT_LINE, chained(conn, entry))  # takes the case's chain head (the write lock) first
    project(s, entry)  # the report facts, in the same transaction (activities/facts.py)
    return True


def chained(conn: Connection, entry: ActionEntry) -> dict[str, Any]:
    """The trail row for `entry`, linked to the case's chain head, which it moves on.

    The head row is locked first (a write on SQLite takes the database's write lock; FOR
    UPDATE on PostgreSQL), so two appends to one case at the same moment queue up."""
    conn.execute(
        conflict_insert(conn.dialect.name)(TrailHead).values(subject_id=entry.subject_id, seq=0, hash=chain.GENESIS)
        .on_conflict_do_nothing(index_elements=["subject_id"])
    )
    seq, prev_hash = conn.execute(_LOCK_HEAD, {"subject": entry.subject_id}).one()
    at = entry.at.replace(tzinfo=UTC) if entry.at.tzinfo is None else entry.at.astimezone(UTC)
    fields = entry.model_dump(mode="json") | {"at": at, "seq": seq + 1}
    digest = chain.link(prev_hash, chain.content(**{k: fields[k] for k in _CHAINED}))
    conn.execute(_MOVE_HEAD, {"subject": entry.subject_id, "seq": seq + 1, "hash": digest})
    return fields | {"prev_hash": prev_hash, "hash": digest}


_KEY_TAKEN = select(ActionRecord.id).where(ActionRecord.idempotency_key == bindparam("key"))  # type: ignore[arg-type]
_INSERT_LINE = sa_insert(ActionRecord)
_LOCK_HEAD = (
    select(TrailHead.seq, TrailHead.hash).where(TrailHead.subject_id == bindparam("subject")).with_for_update()  # type: ignore[arg-type]
)
_MOVE_HEAD = (
    update(TrailHead).where(TrailHead.subject_id == bindparam("subject"))  # type: ignore[arg-type]
    .values(seq=bindparam("seq"), hash=bindparam("hash"))
)
_CHAINED = ("subject_id", "workflow_id", "kind", "actor", "role", "at", "action", "reasons", "details", "idempotency_key", "seq")


def update_case(s: Session, case: CaseUpdate) -> None:
    """The contact's summary columns changed in the session's transaction (the caller commits):
    one UPDATE through SQLAlchemy Core (the ORM would load the whole record, its payload too)."""
    changed = case.model_dump(exclude={"contact_id"}, exclude_none=True)
    result = s.connection().execute(
        update(ContactRecord).where(col(ContactRecord.id) == case.contact_id).values(**changed)
    )
    if result.rowcount != 1:
        raise LookupError(f"contact {case.contact_id} is not in the case record")
