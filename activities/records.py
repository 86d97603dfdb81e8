"""Writing the case record for the workflows: the action trail and summary columns."""

from __future__ import annotations

from datetime import UTC

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from activities.facts import project
from models import chain
from models.messages import ActionEntry, CaseUpdate
from models.tables import ActionRecord, ContactRecord, TrailHead


def append_action(s: Session, entry: ActionEntry) -> bool:
    """Add one line to the trail, chained to the case's last line; a retried activity with
    the same key adds nothing."""
    if s.exec(select(ActionRecord.id).where(ActionRecord.idempotency_key == entry.idempotency_key)).first():
        return False
    try:
        s.add(chained(s, entry))  # takes the case's chain head (the write lock) first
        project(s, entry)  # the report facts, in the same transaction (activities/facts.py)
        s.commit()
    except IntegrityError:
        s.rollback()
        return False
    return True


def chained(s: Session, entry: ActionEntry) -> ActionRecord:
    """The trail row for `entry`, linked to the case's chain head, which it moves on.

    The head row is locked first (a write on SQLite takes the database's write lock; FOR
    UPDATE on PostgreSQL), so two appends to one case at the same moment queue up."""
    insert = postgresql.insert if s.get_bind().dialect.name == "postgresql" else sqlite.insert
    s.execute(
        insert(TrailHead).values(subject_id=entry.subject_id, seq=0, hash=chain.GENESIS)
        .on_conflict_do_nothing(index_elements=["subject_id"])
    )
    head = s.exec(
        select(TrailHead).where(TrailHead.subject_id == entry.subject_id)
        .with_for_update().execution_options(populate_existing=True)
    ).one()
    at = entry.at.replace(tzinfo=UTC) if entry.at.tzinfo is None else entry.at.astimezone(UTC)
    fields = entry.model_dump(mode="json") | {"at": at, "seq": head.seq + 1}
    digest = chain.link(head.hash, chain.content(**{k: fields[k] for k in _CHAINED}))
    record = ActionRecord(**fields, prev_hash=head.hash, hash=digest)
    head.seq, head.hash = record.seq or 0, digest
    s.add(head)
    return record


_CHAINED = ("subject_id", "workflow_id", "kind", "actor", "role", "at", "action", "reasons", "details", "idempotency_key", "seq")


def update_case(s: Session, update: CaseUpdate) -> None:
    record = s.get(ContactRecord, update.contact_id)
    if record is None:
        raise LookupError(f"contact {update.contact_id} is not in the case record")
    for name, value in update.model_dump(exclude={"contact_id"}, exclude_none=True).items():
        setattr(record, name, value)
    s.add(record)
    s.commit()
