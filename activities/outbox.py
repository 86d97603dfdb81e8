"""Outbound messages: the one true external edge (agencies' mailboxes, team inboxes).

`Outbox` is the interface; `StoredOutbox` keeps every message in the database where
staff can read it. A mail or API adapter implements the same `send` and replaces it.
Every message has an idempotency key, so an activity retry never sends twice.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol

from pydantic import BaseModel

from models.database import insert_once, session
from models.tables import OutboxMessage


class OutboundMessage(BaseModel):
    idempotency_key: str
    channel: str
    recipient: str
    subject: str
    body: str
    subject_id: str


class Outbox(Protocol):
    def send(self, message: OutboundMessage) -> bool:
        """Deliver once. Returns False when this key was already delivered."""
        ...


class StoredOutbox:
    def __init__(self, database_url: str) -> None:
        self.database_url = database_url

    def send(self, message: OutboundMessage) -> bool:
        """Keep the message once under its key; False when one with its key was kept already."""
        with session(self.database_url) as s:
            now = datetime.now(UTC)
            added = insert_once(s, OutboxMessage(**message.model_dump(), created_at=now, delivered_at=now))
            s.commit()
            return added
