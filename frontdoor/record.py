"""The one read module for the case record: what a case was received as, its action trail,
its documents and the messages sent about it. The web app, the API, the CLI and user
management read the case record through here, never through activities/ (which write it
for the workflows); imports of earlier records are written here too."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

from pydantic import ValidationError
from sqlmodel import col, select
from sqlmodel.sql.expression import SelectOfScalar

from frontdoor import json_file
from models.audit import AuditSnapshotRow
from models.case_record import save_contact
from models.codes import Outcome
from models.contact import Contact
from models.database import session
from models.tables import ActionRecord, ContactRecord, DocumentRecord, OutboxMessage

TRAIL_FIELDS = ("at", "actor", "role", "action", "reasons", "details", "kind")

T = TypeVar("T")


def received(database_url: str, subject_id: str) -> dict[str, Any] | None:
    """The case as received (children, referrer, concerns): the intake JSON."""
    with session(database_url) as s:
        record = s.get(ContactRecord, subject_id)
        return dict(record.payload) if record else None


def _rows(database_url: str, query: SelectOfScalar[T]) -> list[T]:
    """Every row the query selects, in its order."""
    with session(database_url) as s:
        return list(s.exec(query).all())


def _row(database_url: str, table: type[T], key: str) -> T | None:
    """The table's row with this primary key, if there is one."""
    with session(database_url) as s:
        return s.get(table, key)


def trail(database_url: str, subject_id: str) -> list[ActionRecord]:
    """Who did what, when and why, oldest first."""
    return _rows(database_url, select(ActionRecord).where(ActionRecord.subject_id == subject_id)
                 .order_by(col(ActionRecord.at), col(ActionRecord.id)))


def documents(database_url: str, subject_id: str) -> list[DocumentRecord]:
    return _rows(database_url, select(DocumentRecord).where(DocumentRecord.subject_id == subject_id)
                 .order_by(col(DocumentRecord.created_at)))


def document(database_url: str, document_id: str) -> DocumentRecord | None:
    return _row(database_url, DocumentRecord, document_id)


def messages(database_url: str, subject_id: str) -> list[OutboxMessage]:
    """Everything sent about the case: MAP requests and chases, notifications, handoffs, letters."""
    return _rows(database_url, select(OutboxMessage).where(OutboxMessage.subject_id == subject_id)
                 .order_by(col(OutboxMessage.created_at)))


def audit_snapshot(database_url: str, audit_id: str) -> AuditSnapshotRow | None:
    """Where a case's record stood when an audit read it (the audit's snapshot)."""
    return _row(database_url, AuditSnapshotRow, audit_id)


def trail_upto(database_url: str, subject_id: str, seq: int) -> list[ActionRecord]:
    """The case's trail as it was when its `seq`-th entry was its last (the chain orders it)."""
    return _rows(database_url, select(ActionRecord).where(ActionRecord.subject_id == subject_id, col(ActionRecord.seq) <= seq)
                 .order_by(col(ActionRecord.seq)))


def documents_upto(database_url: str, subject_id: str, at: Any) -> list[DocumentRecord]:
    return _rows(database_url, select(DocumentRecord).where(DocumentRecord.subject_id == subject_id, col(DocumentRecord.created_at) <= at)
                 .order_by(col(DocumentRecord.created_at)))


def trail_json(rows: Iterable[ActionRecord]) -> list[dict[str, Any]]:
    return [r.model_dump(mode="json", include=set(TRAIL_FIELDS)) for r in rows]


def documents_json(rows: Iterable[DocumentRecord]) -> list[dict[str, Any]]:
    return [{"id": d.id, "kind": d.kind, "title": d.title, "created_at": d.created_at.isoformat(),
             "url": f"/documents/{d.id}"} for d in rows]


def messages_json(rows: Iterable[OutboxMessage]) -> list[dict[str, Any]]:
    return [{"channel": m.channel, "recipient": m.recipient, "subject": m.subject, "body": m.body,
             "sent_at": m.created_at.isoformat()} for m in rows]


def import_earlier(database_url: str, path: Path, progress: Callable[[str], None] = print) -> tuple[int, int]:
    """Import earlier contacts, referrals and plans (e.g. from a legacy system) so history
    checks find them. Each item is the intake contract plus an optional `outcome`.
    Returns (added, already there); an item that is not valid stops the import with its number."""
    items = json_file.load(path, list, "a JSON list of earlier contacts")
    added = 0
    with session(database_url) as s:
        for n, item in enumerate(items, 1):
            outcome = item.pop("outcome", None) if isinstance(item, dict) else None
            try:
                contact = Contact.model_validate(item)
                outcome_value = Outcome(outcome).value if outcome else None
            except (ValidationError, ValueError) as exc:
                raise ValueError(f"item {n} of {path} is not valid: {exc}") from None
            new = save_contact(s, contact, kind="prior")
            if new:
                record = s.get(ContactRecord, contact.id)
                if record is not None:
                    record.outcome, record.stage = outcome_value, "closed"
                    s.add(record)
                    s.commit()
                added += 1
            progress(f"  [{n}/{len(items)}] {contact.id}{'' if new else ' (already there)'}")
    return added, len(items) - added
