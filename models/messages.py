"""Inputs and results of activities: small models, ids rather than documents."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from models.codes import Agency, Outcome


class ActionEntry(BaseModel):
    """One line of the append-only action trail."""

    idempotency_key: str
    subject_id: str
    workflow_id: str
    kind: str | None = None  # the process: contact, consultation, early_help, ...
    actor: str
    role: str
    at: datetime
    action: str
    reasons: str | None = None
    details: dict[str, Any] = Field(default_factory=dict)


class CaseUpdate(BaseModel):
    """The case record's summary columns, kept in step with the workflow."""

    contact_id: str
    stage: str
    level: int | None = None
    route: str | None = None
    outcome: Outcome | None = None
    decided_at: datetime | None = None
    closed_at: datetime | None = None


class DocumentRequest(BaseModel):
    document_id: str  # workflow id + step: a retry overwrites nothing and adds nothing
    subject_id: str
    kind: str  # template name under templates/documents/
    title: str
    context: dict[str, Any] = Field(default_factory=dict)


class AgencyAnswer(BaseModel):
    """An agency's answer to a MAP request, or the reason to go on without it."""

    contact_id: str
    agency: str
    response: str | None = None
    waived_reason: str | None = None


class ContactStep(BaseModel):
    """A person's action on a contact as one local activity: its write to the case record (the
    summary row, an agency's answer or a document: what the action changes) and then its trail
    line, so the action takes one activation of the workflow, not one a write."""

    entry: ActionEntry
    case: CaseUpdate | None = None
    answer: AgencyAnswer | None = None
    document: DocumentRequest | None = None


class MapDispatch(BaseModel):
    contact_id: str
    workflow_id: str
    agency: Agency
    due_at: datetime
    requested_at: datetime
    questions: str | None = None
    chase: bool = False


class Notification(BaseModel):
    idempotency_key: str
    subject_id: str
    roles: list[str]
    subject: str
    body: str


class HandoffRequest(BaseModel):
    contact_id: str
    workflow_id: str
    team: str | None
    outcome: Outcome
    at: datetime
    summary: str = ""


class HandoffResult(BaseModel):
    handoff_id: str
    already_done: bool
    feedback_document_id: str | None = None
