"""The case record: contacts, children, the action trail and summary columns."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from activities.facts import project
from activities.history import name_key, themes_of
from models.contact import Contact
from models.messages import ActionEntry, CaseUpdate
from models.tables import ActionRecord, ChildRecord, ContactRecord


def save_contact(s: Session, contact: Contact, kind: str = "contact") -> bool:
    """Persist a contact and its children once. Returns False when it was already there."""
    if s.get(ContactRecord, contact.id) is not None:
        return False
    delay = None
    if contact.police_attendance_at:
        delay = (contact.received_at - contact.police_attendance_at).total_seconds() / 3600
    s.add(
        ContactRecord(
            id=contact.id,
            kind=kind,
            received_at=contact.received_at,
            source=contact.source,
            referrer_agency=contact.referrer.agency,
            factors=list(contact.concerns.factors),
            themes=themes_of(contact.concerns.factors),
            police_attendance_at=contact.police_attendance_at,
            police_delay_hours=delay,
            consultation_ref=contact.consultation_ref,
            payload=contact.model_dump(mode="json"),
        )
    )
    s.flush()
    for position, child in enumerate(contact.children):
        s.add(
            ChildRecord(
                contact_id=contact.id,
                position=position,
                local_id=child.local_id,
                nhs_number=child.nhs_number,
                first_name=child.first_name,
                last_name=child.last_name,
                first_name_key=name_key(child.first_name),
                last_name_key=name_key(child.last_name),
                date_of_birth=child.date_of_birth,
                sex=child.sex.value if child.sex else None,
                ethnicity=child.ethnicity,
                postcode=child.postcode,
            )
        )
    try:
        s.commit()
    except IntegrityError:
        s.rollback()
        return False
    return True


def append_action(s: Session, entry: ActionEntry) -> bool:
    """Add one line to the trail; a retried activity with the same key adds nothing."""
    if s.exec(select(ActionRecord.id).where(ActionRecord.idempotency_key == entry.idempotency_key)).first():
        return False
    s.add(ActionRecord(**entry.model_dump()))
    try:
        project(s, entry)  # the report facts, in the same transaction (activities/facts.py)
        s.commit()
    except IntegrityError:
        s.rollback()
        return False
    return True


def update_case(s: Session, update: CaseUpdate) -> None:
    record = s.get(ContactRecord, update.contact_id)
    if record is None:
        raise LookupError(f"contact {update.contact_id} is not in the case record")
    for name, value in update.model_dump(exclude={"contact_id"}, exclude_none=True).items():
        setattr(record, name, value)
    s.add(record)
    s.commit()


def action_trail(s: Session, subject_id: str) -> list[ActionRecord]:
    return list(
        s.exec(select(ActionRecord).where(ActionRecord.subject_id == subject_id).order_by(col(ActionRecord.at), col(ActionRecord.id))).all()
    )
