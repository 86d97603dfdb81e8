"""The action trail's hash chain: each row of a case carries a SHA-256 over the previous
row's hash and its own canonical content, with a per-case sequence number.

An edited, inserted, deleted or reordered row breaks the chain where it happened
(frontdoor/trail.py finds where). One definition here, used by the store that writes
rows (activities/records.py), the schema migration (models/database.py) and the verifier.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from models.signing import canonical_json

GENESIS = "0" * 64  # the "previous hash" of a case's first row


def at_text(at: datetime) -> str:
    """A moment as UTC ISO text with microseconds; a naive value (SQLite gives those back) is UTC."""
    moment = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    return moment.isoformat(timespec="microseconds")


def content(
    *, subject_id: str, workflow_id: str, kind: str | None, actor: str, role: str, at: datetime,
    action: str, reasons: str | None, details: dict[str, Any], idempotency_key: str, seq: int,
) -> dict[str, Any]:
    return {
        "subject_id": subject_id, "workflow_id": workflow_id, "kind": kind, "actor": actor, "role": role,
        "at": at_text(at), "action": action, "reasons": reasons, "details": details,
        "idempotency_key": idempotency_key, "seq": seq,
    }


def content_of(row: Any, *, seq: int | None = None) -> dict[str, Any]:
    """The canonical content of a stored row (models.tables.ActionRecord or a result row)."""
    return content(
        subject_id=row.subject_id, workflow_id=row.workflow_id, kind=row.kind, actor=row.actor, role=row.role,
        at=row.at, action=row.action, reasons=row.reasons, details=row.details or {},
        idempotency_key=row.idempotency_key, seq=row.seq if seq is None else seq,
    )


def link(prev_hash: str, row_content: dict[str, Any]) -> str:
    return hashlib.sha256(prev_hash.encode() + b"\n" + canonical_json(row_content)).hexdigest()
