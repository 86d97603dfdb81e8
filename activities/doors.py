"""Activities of the consultation line and the early help hub.

Idempotent like the contact's: rows are upserts keyed by the case id, messages carry
idempotency keys built from the workflow id and the step. No activity here looks up
history for a consultation: there is none to call.
"""

from __future__ import annotations

import threading
from datetime import datetime
from pathlib import Path

from sqlmodel import SQLModel
from temporalio import activity

from activities.history import history_check
from activities.outbox import OutboundMessage, Outbox
from activities.records import save_contact
from models.calendar import WorkingCalendar
from models.consultation import ConsultationRecordRow
from models.contact import Contact
from models.database import get_engine, session
from models.door_tables import DOOR_TABLES, ConsultationRow, EarlyHelpRow
from models.early_help import (
    DEFAULT_QUADRANTS,
    EarlyHelpHandoff,
    EarlyHelpRecordUpdate,
    HistoryReview,
)
from models.state import HistoryResult
from models.tables import ContactRecord
from models.thresholds import ThresholdRules
from models.timescales import Span

_ready: set[str] = set()
_lock = threading.Lock()


def ensure_door_tables(database_url: str) -> None:
    """Create this module's tables once per database (init_db may have run before they were imported)."""
    with _lock:
        if database_url in _ready:
            return
        SQLModel.metadata.create_all(get_engine(database_url), tables=DOOR_TABLES)
        _ready.add(database_url)


class CalendarActivities:
    """Due times on the working-day calendar of the service's time zone: computed here, so
    workflows stay deterministic (the answer is kept in their history)."""

    def __init__(self, timezone: str = "Europe/London") -> None:
        self.calendar = WorkingCalendar(timezone)

    @activity.defn
    def working_day_due(self, start: datetime, span: Span) -> datetime:
        return self.calendar.due(start, span)

    @activity.defn
    def service_day_end(self, moment: datetime) -> datetime:
        return self.calendar.end_of(self.calendar.local_date(moment))


class ConsultationActivities:
    def __init__(self, database_url: str) -> None:
        self.database_url = database_url

    @activity.defn
    def record_consultation(self, row: ConsultationRecordRow) -> None:
        ensure_door_tables(self.database_url)
        with session(self.database_url) as s:
            record = s.get(ConsultationRow, row.id) or ConsultationRow(
                id=row.id, workflow_id=row.workflow_id, called_at=row.called_at,
                caller_agency=row.caller_agency, outcome=row.outcome,
            )
            for name, value in row.model_dump().items():
                setattr(record, name, value)
            s.add(record)
            s.commit()


class EarlyHelpActivities:
    def __init__(self, database_url: str, rules_path: Path, outbox: Outbox, quadrants: list[str] | None = None) -> None:
        self.database_url = database_url
        self.rules_path = rules_path
        self.outbox = outbox
        self.quadrants = list(quadrants or DEFAULT_QUADRANTS)

    @activity.defn
    def early_help_quadrants(self) -> list[str]:
        """The area quadrants targeted early help is offered in (configuration)."""
        return list(self.quadrants)

    @activity.defn
    def record_early_help(self, update: EarlyHelpRecordUpdate, request: Contact | None) -> None:
        """Upsert the case's summary row; a direct request is kept in the case record too,
        so later history checks find this early help involvement."""
        ensure_door_tables(self.database_url)
        with session(self.database_url) as s:
            if request is not None and s.get(ContactRecord, request.id) is None:
                save_contact(s, request, kind="early_help")
            row = s.get(EarlyHelpRow, update.case_id) or EarlyHelpRow(
                id=update.case_id, workflow_id=update.workflow_id, entry=update.entry.value, started_at=update.started_at,
            )
            data = update.model_dump(exclude={"case_id"})
            data["entry"] = update.entry.value
            for name, value in data.items():
                setattr(row, name, value)
            s.add(row)
            s.commit()

    @activity.defn
    def review_early_help_history(self, review: HistoryReview) -> HistoryResult:
        """The contact's history check, reused: matches, recurring patterns, a suggested level."""
        rules = ThresholdRules.current(self.rules_path)
        with session(self.database_url) as s:
            received = review.received_at
            if received is None:  # a review recorded before HistoryReview carried it: the case record has it
                record = s.get(ContactRecord, review.subject_id)
                received = record.received_at if record is not None else None
            return history_check(s, rules, review.subject_id, review.children, review.factors, received)

    @activity.defn
    def hand_off_early_help(self, handoff: EarlyHelpHandoff) -> str:
        """Tell the quadrant team (if any) and the referrer, once each."""
        key = f"{handoff.workflow_id}/handoff"
        if handoff.team:
            self.outbox.send(
                OutboundMessage(
                    idempotency_key=f"{key}/team", channel=f"team:{handoff.team}", recipient=handoff.team,
                    subject=f"Early help case {handoff.case_id}: {handoff.outcome.value.replace('_', ' ')}",
                    body=handoff.summary, subject_id=handoff.case_id,
                )
            )
        self.outbox.send(
            OutboundMessage(
                idempotency_key=f"{key}/referrer", channel="referrer", recipient=handoff.referrer or "referrer",
                subject=f"Your request for early help {handoff.case_id}",
                body=f"Outcome: {handoff.outcome.value.replace('_', ' ')}. {handoff.summary}",
                subject_id=handoff.case_id,
            )
        )
        return key
