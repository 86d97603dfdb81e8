"""Activities of the contact workflow. Each is idempotent: keyed by workflow id + step."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import update
from sqlmodel import Session, col, select
from temporalio import activity

from activities.deps import Activities
from activities.documents import write_document
from activities.history import history_check
from activities.outbox import OutboundMessage
from activities.records import add_action, update_case
from models.case_record import save_contact
from models.codes import AGENCY_NAMES, OUTCOME_NAMES
from models.contact import Contact
from models.database import insert_once, session
from models.messages import (
    AgencyAnswer,
    CaseUpdate,
    ContactStep,
    DocumentRequest,
    HandoffRequest,
    HandoffResult,
    MapDispatch,
)
from models.state import HistoryResult
from models.tables import AgencyRequestRecord, ContactRecord, HandoffRecord
from models.thresholds import ThresholdRules


class ContactActivities(Activities):
    # -- the case record -------------------------------------------------------
    @activity.defn
    def record_contact(self, contact: Contact) -> bool:
        with session(self.deps.database_url) as s:
            return save_contact(s, contact)

    @activity.defn
    def update_case_record(self, update: CaseUpdate) -> None:
        with session(self.deps.database_url) as s:
            update_case(s, update)
            s.commit()

    # -- history and threshold ---------------------------------------------------
    @activity.defn
    def check_history(self, contact_id: str) -> HistoryResult:
        rules = ThresholdRules.current(self.deps.rules_path)
        with session(self.deps.database_url) as s:
            record = s.get(ContactRecord, contact_id)
            if record is None:
                raise LookupError(f"contact {contact_id} has not been recorded")
            contact = Contact.model_validate(record.payload)
            return history_check(
                s, rules, contact_id, contact.children, contact.concerns.factors, contact.received_at
            )

    # -- MAP checks ------------------------------------------------------------------
    @activity.defn
    def send_map_request(self, dispatch: MapDispatch) -> str:
        step = "chase" if dispatch.chase else "request"
        doc_id = f"{dispatch.workflow_id}/map-{step}/{dispatch.agency.value}"
        agency_name = AGENCY_NAMES[dispatch.agency]
        with session(self.deps.database_url) as s:
            body = write_document(s, self.deps, DocumentRequest(
                document_id=doc_id, subject_id=dispatch.contact_id, kind="map_request",
                title=f"MAP {'chase' if dispatch.chase else 'request'}: {agency_name}",
                context={"dispatch": dispatch.model_dump(mode="json"), "agency_name": agency_name},
            ))
            added = insert_once(s, AgencyRequestRecord(
                contact_id=dispatch.contact_id, agency=dispatch.agency.value, requested_at=dispatch.requested_at,
                due_at=dispatch.due_at, document_id=doc_id,
            ))
            if dispatch.chase and not added:
                s.connection().execute(
                    update(AgencyRequestRecord).where(
                        col(AgencyRequestRecord.contact_id) == dispatch.contact_id,
                        col(AgencyRequestRecord.agency) == dispatch.agency.value,
                    ).values(chased_at=datetime.now(UTC))
                )
            s.commit()
        self.deps.outbox.send(
            OutboundMessage(
                idempotency_key=doc_id,
                channel=f"agency:{dispatch.agency.value}",
                recipient=agency_name,
                subject=f"{'Reminder: ' if dispatch.chase else ''}MAP information request {dispatch.contact_id}",
                body=body,
                subject_id=dispatch.contact_id,
            )
        )
        return doc_id

    @activity.defn
    def record_agency_answer(self, contact_id: str, agency: str, response: str | None, waived_reason: str | None) -> None:
        with session(self.deps.database_url) as s:
            _answer(s, AgencyAnswer(contact_id=contact_id, agency=agency, response=response, waived_reason=waived_reason))
            s.commit()

    @activity.defn
    def record_step(self, step: ContactStep) -> str | None:
        """A person's action: its write and its trail line in one transaction, so the record
        and the trail never disagree and the action costs one commit. A retry (after a commit
        that failed) writes the same again: each part is idempotent. Returns the document's id
        when the action makes one."""
        document_id = None
        with session(self.deps.database_url) as s:
            if step.case is not None:
                update_case(s, step.case)
            if step.answer is not None:
                _answer(s, step.answer)
            if step.document is not None:
                write_document(s, self.deps, step.document)
                document_id = step.document.document_id
            add_action(s, step.entry)
            s.commit()
        return document_id

    # -- notifications and handoff ------------------------------------------------------
    @activity.defn
    def hand_off(self, request: HandoffRequest) -> HandoffResult:
        """Pass the case to its team and tell the referrer, exactly once.

        The handoff row (unique per contact) is written first; the team's message and
        the referrer's letter are keyed on the handoff id, so a retry after any failure
        completes what is missing and repeats nothing.
        """
        handoff_id = f"{request.workflow_id}/handoff"
        outcome_name = OUTCOME_NAMES[request.outcome]
        feedback_id = f"{handoff_id}/referrer-feedback"
        with session(self.deps.database_url) as s:
            already = not insert_once(s, HandoffRecord(
                id=handoff_id, contact_id=request.contact_id, team=request.team, outcome=request.outcome.value,
                at=request.at,
            ))
            feedback = write_document(s, self.deps, DocumentRequest(
                document_id=feedback_id, subject_id=request.contact_id, kind="referrer_feedback",
                title="Feedback to the referrer",
                context={"outcome": request.outcome.value, "outcome_name": outcome_name, "team": request.team},
            ))
            payload = s.connection().execute(
                select(col(ContactRecord.payload)).where(col(ContactRecord.id) == request.contact_id)
            ).scalar()
            s.commit()
        referrer = (payload or {}).get("referrer") or {}
        if request.team:
            self.deps.outbox.send(
                OutboundMessage(
                    idempotency_key=f"{handoff_id}/team",
                    channel=f"team:{request.team}",
                    recipient=request.team,
                    subject=f"New case {request.contact_id}: {outcome_name}",
                    body=request.summary or outcome_name,
                    subject_id=request.contact_id,
                )
            )
        self.deps.outbox.send(
            OutboundMessage(
                idempotency_key=f"{handoff_id}/referrer",
                channel="referrer",
                recipient=referrer.get("email") or referrer.get("name") or "referrer",
                subject=f"Your referral {request.contact_id}: {outcome_name}",
                body=feedback or outcome_name,
                subject_id=request.contact_id,
            )
        )
        return HandoffResult(handoff_id=handoff_id, already_done=already, feedback_document_id=feedback_id)


def _answer(s: Session, answer: AgencyAnswer) -> None:
    """An agency's answer (or the reason for going on without it) on its request's row."""
    row = s.exec(
        select(AgencyRequestRecord).where(
            AgencyRequestRecord.contact_id == answer.contact_id, AgencyRequestRecord.agency == answer.agency
        )
    ).first()
    if row is None:
        return
    if answer.response is not None:
        row.response, row.responded_at = answer.response, row.responded_at or datetime.now(UTC)
    if answer.waived_reason is not None:
        row.waived_reason = answer.waived_reason
    s.add(row)
