"""History search: earlier contacts about the same child, and recurring patterns.

Matching is careful and says how each match was made: an NHS number or local id is an
exact match; the same normalised first and last name with the same date of birth is a
probable match, to be confirmed by the worker.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime

from sqlmodel import Session, col, or_, select

from models.case_record import name_key
from models.contact import Child
from models.state import HistoryMatch, HistoryResult, RecurringPattern
from models.tables import ChildRecord, ContactRecord

RECURRING_MIN_EARLIER = 2


def _match(child: Child, row: ChildRecord) -> tuple[str, str] | None:
    if child.nhs_number and row.nhs_number == child.nhs_number:
        return "nhs_number", "exact"
    if child.local_id and row.local_id == child.local_id:
        return "local_id", "exact"
    if (
        child.date_of_birth
        and row.date_of_birth == child.date_of_birth
        and name_key(child.first_name)
        and row.first_name_key == name_key(child.first_name)
        and row.last_name_key == name_key(child.last_name)
    ):
        return "name + date of birth", "probable"
    return None


def search_history(s: Session, contact_id: str, children: list[Child]) -> HistoryResult:
    matches: list[HistoryMatch] = []
    for index, child in enumerate(children):
        conditions = []
        if child.nhs_number:
            conditions.append(ChildRecord.nhs_number == child.nhs_number)
        if child.local_id:
            conditions.append(ChildRecord.local_id == child.local_id)
        if child.date_of_birth and name_key(child.last_name):
            conditions.append(
                (ChildRecord.date_of_birth == child.date_of_birth)
                & (ChildRecord.last_name_key == name_key(child.last_name))
            )
        if not conditions:
            continue
        rows = s.exec(
            select(ChildRecord, ContactRecord)
            .join(ContactRecord, col(ContactRecord.id) == col(ChildRecord.contact_id))
            .where(or_(*conditions), ChildRecord.contact_id != contact_id)
        ).all()
        seen: set[str] = set()
        for row, record in sorted(rows, key=lambda r: r[1].received_at):
            how = _match(child, row)
            if how is None or record.id in seen:
                continue
            seen.add(record.id)
            matches.append(
                HistoryMatch(
                    child_index=index,
                    earlier_contact_id=record.id,
                    received_at=record.received_at,
                    matched_on=how[0],
                    confidence=how[1],
                    themes=list(record.themes or []),
                    outcome=record.outcome,
                    kind=record.kind,
                )
            )
    return HistoryResult(matches=matches, recurring=recurring_patterns(matches), checked_at=datetime.now(UTC))


def recurring_patterns(matches: list[HistoryMatch]) -> list[RecurringPattern]:
    """A theme is recurring when it appears in two or more earlier contacts."""
    by_theme: dict[str, set[str]] = defaultdict(set)
    for m in matches:
        for theme in m.themes:
            by_theme[theme].add(m.earlier_contact_id)
    return [
        RecurringPattern(theme=theme, occurrences=len(ids), contact_ids=sorted(ids))
        for theme, ids in sorted(by_theme.items())
        if len(ids) >= RECURRING_MIN_EARLIER
    ]
