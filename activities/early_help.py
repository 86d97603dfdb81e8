"""Activities of the early help hub. Idempotent: the case row is an upsert keyed by the
case id; messages carry idempotency keys built from the workflow id and the step."""

from __future__ import annotations

from temporalio import activity

from activities.deps import Activities
from activities.history import history_check
from activities.outbox import OutboundMessage
from models.case_record import put_row, save_contact
from models.contact import Contact
from models.database import session
from models.early_help import (
    EarlyHelpHandoff,
    EarlyHelpRecordUpdate,
    EarlyHelpRow,
    HistoryReview,
)
from models.state import HistoryResult
from models.tables import ContactRecord
from models.thresholds import ThresholdRules


class EarlyHelpActivities(Activities):
    @activity.defn
    def early_help_quadrants(self) -> list[str]:
        """The area quadrants targeted early help is offered in (configuration)."""
        return list(self.deps.quadrants)

    @activity.defn
    def record_early_help(self, update: EarlyHelpRecordUpdate, request: Contact | None) -> None:
        """Upsert the case's summary row; a direct request is kept in the case record too,
        so later history checks find this early help involvement."""
        with session(self.deps.database_url) as s:
            if request is not None and s.get(ContactRecord, request.id) is None:
                save_contact(s, request, kind="early_help")
            new = {"id": update.case_id, "workflow_id": update.workflow_id, "entry": update.entry.value,
                   "started_at": update.started_at}
            put_row(s, EarlyHelpRow, update.case_id, new, update.model_dump(exclude={"case_id"}) | {"entry": update.entry.value})

    @activity.defn
    def review_early_help_history(self, review: HistoryReview) -> HistoryResult:
        """The contact's history check, reused: matches, recurring patterns, a suggested level."""
        rules = ThresholdRules.current(self.deps.rules_path)
        with session(self.deps.database_url) as s:
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
            self.deps.outbox.send(
                OutboundMessage(
                    idempotency_key=f"{key}/team", channel=f"team:{handoff.team}", recipient=handoff.team,
                    subject=f"Early help case {handoff.case_id}: {handoff.outcome.value.replace('_', ' ')}",
                    body=handoff.summary, subject_id=handoff.case_id,
                )
            )
        self.deps.outbox.send(
            OutboundMessage(
                idempotency_key=f"{key}/referrer", channel="referrer", recipient=handoff.referrer or "referrer",
                subject=f"Your request for early help {handoff.case_id}",
                body=f"Outcome: {handoff.outcome.value.replace('_', ' ')}. {handoff.summary}",
                subject_id=handoff.case_id,
            )
        )
        return key
