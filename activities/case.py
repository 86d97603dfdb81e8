"""Activities every process uses: the action trail, documents, notifications to staff, and
due times on the working-day calendar. Each is idempotent, keyed by workflow id + step."""

from __future__ import annotations

from datetime import datetime

from temporalio import activity

from activities.deps import Activities
from activities.documents import store_document
from activities.outbox import OutboundMessage
from activities.records import append_action
from models.access import RestrictionEntry, save_restriction
from models.database import session
from models.messages import ActionEntry, DocumentRequest, Notification
from models.timescales import Span


class CaseActivities(Activities):
    @activity.defn
    def record_action(self, entry: ActionEntry) -> bool:
        with session(self.deps.database_url) as s:
            return append_action(s, entry)

    @activity.defn
    def record_restriction(self, entry: RestrictionEntry) -> bool:
        """The restriction's mirror, which the interfaces read before every view (issue 9)."""
        with session(self.deps.database_url) as s:
            return save_restriction(s, entry)

    @activity.defn
    def render_document(self, request: DocumentRequest) -> str:
        return store_document(self.deps, request)

    @activity.defn
    def notify(self, note: Notification) -> None:
        for role in note.roles:
            self.deps.outbox.send(
                OutboundMessage(
                    idempotency_key=f"{note.idempotency_key}/{role}", channel=f"role:{role}", recipient=role,
                    subject=note.subject, body=note.body, subject_id=note.subject_id,
                )
            )

    # Due times are computed here, so workflows stay deterministic (the answer is kept in
    # their history) and a newer bank-holiday list never changes a running workflow.
    @activity.defn
    def working_day_due(self, start: datetime, span: Span) -> datetime:
        return self.calendar.due(start, span)

    @activity.defn
    def service_day_end(self, moment: datetime) -> datetime:
        return self.calendar.end_of(self.calendar.local_date(moment))
