"""Writing a contact into the case record, for the workflows (through activities) and for
imports of earlier records; writing any case-record row again with new values (`put_row`);
and the name folding that history matching relies on."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from models.codes import FACTOR_THEMES
from models.contact import Contact
from models.tables import ChildRecord, ContactRecord

Row = TypeVar("Row")


def put_row(s: Session, table: type[Row], key: str, new: Mapping[str, Any], values: Mapping[str, Any]) -> Row:
    """Write the `table` row with primary key `key`: made from `new` (the columns a row needs
    to exist) when there is none yet, then `values` set on it; committed. Running it again
    with the same values (an activity's retry) leaves the same row."""
    row = s.get(table, key) or table(**new)
    for name, value in values.items():
        setattr(row, name, value)
    s.add(row)
    s.commit()
    return row


def name_key(name: str | None) -> str | None:
    """Fold case, accents, spaces, hyphens and apostrophes: 'O'Brien-Smith' == 'obriensmith'."""
    if not name:
        return None
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z]", "", folded) or None


def themes_of(factors: Iterable[str]) -> list[str]:
    return sorted({FACTOR_THEMES[f] for f in factors if f in FACTOR_THEMES})


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


