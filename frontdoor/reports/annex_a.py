"""Ofsted Annex A lists 1 (contacts), 2 (early help) and 3 (referrals) from the case record.

One row per child: a contact naming two children is two rows, and a child in two
contacts appears twice. Columns, their order, dd/mm/yyyy dates and value spellings come
from models/annex_a.py. Ages are whole years at the contact, referral or assessment start
date; an unborn child (a pre-birth concern) has no date of birth and no age.

- List 1: every contact received in the range (contacts, not imported earlier history
  and not cases the early help hub started itself).
- List 2: early help cases (the hub's assessment) started in the range, completed in the
  range, or started before its end and still open. Start: the day the hub received the
  case; completion: the day its assessment ended (the decision, a step-up into the SPA,
  or the family's refusal).
- List 3: every referral (models/facts.py) made in the range. `Number of Referrals in
  Last 12 Months`: the child's other referrals in the 12 months before this one (0 for a
  first referral; the same count the re-referral report uses). `Referral NFA?`: Yes when
  the management decision was no further action or universal services. `Allocated
  Team`: the team the case was handed to (else the SPA); `Allocated Worker`: the social
  worker who picked up the urgent referral or wrote the recommendation.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import aliased
from sqlmodel import Session, col

from frontdoor.reports.base import Column, Window
from frontdoor.reports.export import new_workbook, write_rows
from models import annex_a as spec
from models.facts import ChildFacts, ContactFacts, EarlyHelpFacts
from models.tables import ChildRecord

LISTS = (1, 2, 3)


def age_on(born: date | None, on: date | None) -> int | None:
    """Whole years; None when unborn on that day (or a date is missing). A child born on
    29 February is a year older on 1 March in other years."""
    if born is None or on is None or born > on:
        return None
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _common(child: Any, on: date | None) -> list[Any]:
    """Child Unique ID, Gender, Ethnicity, Date of Birth, Age of Child (Years)."""
    return [
        child.local_id or child.child_key,
        spec.gender(child.sex),
        spec.ethnicity(child.ethnicity),
        child.date_of_birth,
        age_on(child.date_of_birth, on),
    ]


_CHILD = (
    col(ChildRecord.local_id), col(ChildFacts.child_key), col(ChildRecord.sex), col(ChildRecord.ethnicity),
    col(ChildRecord.date_of_birth),
)


def contacts(s: Session, w: Window) -> list[list[Any]]:
    rows = s.execute(
        select(*_CHILD, col(ChildFacts.received_on), col(ContactFacts.source))
        .select_from(ChildFacts)
        .join(ChildRecord, col(ChildRecord.id) == col(ChildFacts.child_id))
        .join(ContactFacts, col(ContactFacts.contact_id) == col(ChildFacts.contact_id))
        .where(col(ChildFacts.kind) == "contact", col(ChildFacts.received_on) >= w.start, col(ChildFacts.received_on) <= w.end)
        .order_by(col(ChildFacts.received_at), col(ChildFacts.contact_id), col(ChildFacts.position))
    ).all()
    return [[*_common(r, r.received_on), r.received_on, spec.source(r.source)] for r in rows]


def early_help(s: Session, w: Window) -> list[list[Any]]:
    h = EarlyHelpFacts
    in_range = or_(
        and_(col(h.received_on) >= w.start, col(h.received_on) <= w.end),
        and_(col(h.assessment_done_on) >= w.start, col(h.assessment_done_on) <= w.end),
        and_(col(h.received_on) <= w.end, col(h.assessment_done_on).is_(None)),
    )
    rows = s.execute(
        select(*_CHILD, col(h.received_on), col(h.assessment_done_on))
        .select_from(h)
        .join(ChildFacts, col(ChildFacts.contact_id) == col(h.children_contact_id))
        .join(ChildRecord, col(ChildRecord.id) == col(ChildFacts.child_id))
        .where(in_range, col(h.received_on).is_not(None))
        .order_by(col(h.received_at), col(h.case_id), col(ChildFacts.position))
    ).all()
    return [
        [*_common(r, r.received_on), r.received_on, r.assessment_done_on, spec.EARLY_HELP_ORGANISATION]
        for r in rows
    ]


def referrals(s: Session, w: Window) -> list[list[Any]]:
    c, earlier = ChildFacts, aliased(ChildFacts)
    before = (
        select(func.count()).where(
            col(earlier.child_key) == col(c.child_key),
            col(earlier.referral_at).is_not(None),
            col(earlier.referral_at) >= col(c.window_start),
            col(earlier.referral_at) < col(c.referral_at),
            col(earlier.contact_id) != col(c.contact_id),
        ).scalar_subquery()
    )
    f = ContactFacts
    rows = s.execute(
        select(
            *_CHILD, col(c.referral_on), col(f.source), col(f.nfa), before.label("before"),
            col(f.team), col(f.allocated_worker),
        )
        .select_from(c)
        .join(ChildRecord, col(ChildRecord.id) == col(c.child_id))
        .join(f, col(f.contact_id) == col(c.contact_id))
        .where(col(c.referral_at).is_not(None), col(c.referral_on) >= w.start, col(c.referral_on) <= w.end)
        .order_by(col(c.referral_at), col(c.contact_id), col(c.position))
    ).all()
    return [
        [
            *_common(r, r.referral_on), r.referral_on, spec.source(r.source), spec.YES if r.nfa else spec.NO,
            int(r.before or 0), spec.team_name(r.team), r.allocated_worker or spec.NO_WORKER,
        ]
        for r in rows
    ]


BUILDERS: dict[int, Callable[[Session, Window], list[list[Any]]]] = {1: contacts, 2: early_help, 3: referrals}


def columns(number: int) -> list[Column]:
    """The list's columns; dates (shown dd/mm/yyyy) and ages (whole numbers) typed for XLSX."""
    kinds = {"Date of Birth": "date", "Age of Child (Years)": "int", "Date of Contact": "date", "Assessment start date": "date",
             "Assessment completion date": "date", "Date of referral": "date", "Number of Referrals in Last 12 Months": "int"}
    return [Column(name, name, kinds.get(name, "text")) for name in spec.LIST_COLUMNS[number]]


def build(s: Session, number: int, w: Window) -> list[list[Any]]:
    if number not in BUILDERS:
        raise ValueError(f"Annex A list {number}: lists 1, 2 and 3 are made here")
    return BUILDERS[number](s, w)


def _csv_cell(value: Any) -> Any:
    if isinstance(value, date):
        return value.strftime(spec.DATE_FORMAT)
    return "" if value is None else value


def to_csv(number: int, rows: list[list[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(spec.LIST_COLUMNS[number])
    for row in rows:
        writer.writerow([_csv_cell(v) for v in row])
    return out.getvalue()


def to_xlsx(lists: dict[int, list[list[Any]]], timezone: str = "Europe/London") -> bytes:
    """One sheet per list ('List 1 Contacts', ...): dates as date cells shown dd/mm/yyyy."""
    wb = new_workbook()
    zone = ZoneInfo(timezone)
    for number, rows in lists.items():
        ws = wb.create_sheet(spec.LIST_TITLES[number])
        write_rows(ws, columns(number), rows, zone)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def parse_lists(value: str) -> list[int]:
    """'1', '2', '3' or 'all'."""
    text = str(value).strip().lower()
    if text == "all":
        return list(LISTS)
    if text in ("1", "2", "3"):
        return [int(text)]
    from frontdoor.reports.base import ReportInputError

    raise ReportInputError("list", f"{text[:10]!r} is not an Annex A list made here: give 1, 2, 3 or all")
