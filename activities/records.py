"""Writing the case record for the workflows: the action trail and summary columns."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from models.messages import ActionEntry, CaseUpdate
from models.tables import ActionRecord, ContactRecord


def append_action(s: Session, entry: ActionEntry) -> bool:
    """Add one line to the trail; a retried activity with the same key adds nothing."""
    if s.exec(select(ActionRecord.id).where(ActionRecord.idempotency_key == entry.idempotency_key)).first():
        return False
    s.add(ActionRecord(**entry.model_dump()))
    try:
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
