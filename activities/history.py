"""History search: earlier contacts about the same child, and recurring patterns.

Matching is careful and says how each match was made: an NHS number or local id is an
exact match; the same normalised first and last name with the same date of birth is a
probable match, to be confirmed by the worker. An unborn child (no date of birth yet) is
matched on its identifiers only.

The search is one query for the whole contact, however many children it names and
however many earlier contacts each has (the activity has 30 seconds; a contact names at
most models/bounds.MAX_CHILDREN children). What recurs is decided by the rule table
(models/thresholds.RecurringRule), from every match; the result keeps the most recent
MAX_HISTORY_MATCHES matches, since it travels in the workflow's history.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime

from sqlalchemy import ColumnElement
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, or_

from models.bounds import MAX_HISTORY_MATCHES
from models.case_record import name_key, themes_of
from models.contact import Child
from models.state import HistoryMatch, HistoryResult
from models.tables import ChildRecord, ContactRecord
from models.thresholds import RecurringRule, ThresholdRules

EXACT, PROBABLE = "exact", "probable"
_STRENGTH = {EXACT: 0, PROBABLE: 1}


class _Wanted:
    """This contact's children, indexed by what an earlier child row may match on."""

    def __init__(self, children: list[Child]) -> None:
        self.by_nhs: dict[str, list[int]] = defaultdict(list)
        self.by_local: dict[str, list[int]] = defaultdict(list)
        self.by_name: dict[tuple[date, str, str], list[int]] = defaultdict(list)
        for index, child in enumerate(children):
            if child.nhs_number:
                self.by_nhs[child.nhs_number].append(index)
            if child.local_id:
                self.by_local[child.local_id].append(index)
            first, last = name_key(child.first_name), name_key(child.last_name)
            if child.date_of_birth and first and last:
                self.by_name[(child.date_of_birth, first, last)].append(index)

    def conditions(self) -> list[ColumnElement[bool]]:
        out: list[ColumnElement[bool]] = []
        if self.by_nhs:
            out.append(col(ChildRecord.nhs_number).in_(sorted(self.by_nhs)))
        if self.by_local:
            out.append(col(ChildRecord.local_id).in_(sorted(self.by_local)))
        if self.by_name:
            # a superset (any of the dates with any of the surnames), narrowed exactly in match()
            out.append(
                col(ChildRecord.date_of_birth).in_(sorted({k[0] for k in self.by_name}))
                & col(ChildRecord.last_name_key).in_(sorted({k[2] for k in self.by_name}))
            )
        return out

    def match(
        self, nhs: str | None, local: str | None, born: date | None, first: str | None, last: str | None
    ) -> dict[int, tuple[str, str]]:
        """Which of this contact's children an earlier child row is, and how."""
        found: dict[int, tuple[str, str]] = {}

        def add(indexes: list[int], how: tuple[str, str]) -> None:
            for i in indexes:
                found.setdefault(i, how)  # the strongest evidence is offered first

        if nhs:
            add(self.by_nhs.get(nhs, []), ("nhs_number", EXACT))
        if local:
            add(self.by_local.get(local, []), ("local_id", EXACT))
        if born and first and last:
            add(self.by_name.get((born, first, last), []), ("name + date of birth", PROBABLE))
        return found


def find_matches(s: Session, contact_id: str, children: list[Child]) -> list[HistoryMatch]:
    """Every earlier contact about each child, oldest first: one query for the whole contact."""
    wanted = _Wanted(children)
    conditions = wanted.conditions()
    if not conditions:
        return []
    query = (
        sa_select(  # the columns matching needs; never the contacts' payloads
            col(ChildRecord.nhs_number), col(ChildRecord.local_id), col(ChildRecord.date_of_birth),
            col(ChildRecord.first_name_key), col(ChildRecord.last_name_key),
            col(ContactRecord.id), col(ContactRecord.received_at), col(ContactRecord.themes),
            col(ContactRecord.outcome), col(ContactRecord.kind),
        )
        .join(ContactRecord, col(ContactRecord.id) == col(ChildRecord.contact_id))
        .where(or_(*conditions), col(ChildRecord.contact_id) != contact_id)
    )
    rows = s.connection().execute(query).all()
    best: dict[tuple[str, int], HistoryMatch] = {}
    for nhs, local, born, first, last, cid, received, themes, outcome, kind in rows:
        for index, (how, confidence) in wanted.match(nhs, local, born, first, last).items():
            seen = best.get((cid, index))
            if seen is not None and _STRENGTH[seen.confidence] <= _STRENGTH[confidence]:
                continue
            best[(cid, index)] = HistoryMatch(
                child_index=index, earlier_contact_id=cid, received_at=received, matched_on=how,
                confidence=confidence, themes=list(themes or []), outcome=outcome, kind=kind,
            )
    return sorted(best.values(), key=lambda m: (m.received_at, m.earlier_contact_id, m.child_index))


def search_history(
    s: Session,
    contact_id: str,
    children: list[Child],
    themes: Iterable[str] = (),
    received_at: datetime | None = None,
    recurring: RecurringRule | None = None,
) -> HistoryResult:
    """Matches and recurring patterns for a contact carrying `themes`, received at `received_at`
    (default: now, for a review with no receipt of its own)."""
    matches = find_matches(s, contact_id, children)
    rule = recurring or RecurringRule()
    received = received_at or datetime.now(UTC)
    shown = matches[-MAX_HISTORY_MATCHES:]
    return HistoryResult(
        matches=shown,
        recurring=rule.patterns(matches, themes, received),
        checked_at=datetime.now(UTC),
        earlier_contacts=len({m.earlier_contact_id for m in matches}),
        matches_not_shown=len(matches) - len(shown),
    )


def history_check(
    s: Session,
    rules: ThresholdRules,
    contact_id: str,
    children: list[Child],
    factors: Iterable[str],
    received_at: datetime | None,
) -> HistoryResult:
    """The history check of a contact (or an early help request): matches, recurring
    patterns under the rule table's look-back window, and the suggested level of need."""
    factors = list(factors)
    result = search_history(s, contact_id, children, themes_of(factors), received_at, rules.recurring)
    result.suggestion = rules.suggest(factors, [p.theme for p in result.recurring], result.earlier_contacts or 0)
    return result
