"""Project each new trail entry onto the report facts (models/facts.py).

`project(session, entry)` runs inside the transaction that appends the entry
(activities/records.append_action), so the facts say exactly what the trail says and
commit or roll back with it. It reads the contact's and children's rows where the
trail entry does not carry a value (the contact's own received time, its children).

Written to tolerate entries of one case arriving a little out of order (a person may
act within milliseconds of a case starting): rows are created by whichever entry comes
first, and values that depend on order compare times. Each entry touches only its own
case's rows (plus the children's rows of a contact), and PostgreSQL locks the case's
row while it is updated, so two workers cannot lose each other's update.

Written with SQLAlchemy Core on plain row values (`Facts`): a trail entry costs one read
and one write of its case's row, not ORM objects (every action of a live case pays it).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic_core import PydanticUndefined
from sqlalchemy import Connection, Table, and_, bindparam, delete, insert, select, update
from sqlmodel import Session, SQLModel

from models.calendar import DEFAULT_TZ
from models.consultation import ConsultationRow
from models.database import CONFLICT_INSERTS
from models.facts import (
    ADVICE_ROUTE,
    EARLY_HELP_STEPS,
    FACT_TABLES,
    NFA_OUTCOMES,
    REFERRAL_ROUTES,
    ChildFacts,
    ConsultationFacts,
    ContactFacts,
    EarlyHelpFacts,
    EarlyHelpStepFacts,
    ExtensionFacts,
)
from models.messages import ActionEntry
from models.tables import ActionRecord, ChildRecord, ContactRecord

Handler = Callable[[Session, ActionEntry], None]
_OPEN = "frontdoor.facts.open"  # Session.info: the facts rows read by the entry being projected

_zone = ZoneInfo(DEFAULT_TZ)


def configure(timezone: str) -> None:
    """The service's time zone, for the local dates facts are bucketed by (the worker
    calls this once with settings.timezone; Europe/London by default)."""
    global _zone
    _zone = ZoneInfo(timezone)


def project(s: Session, entry: ActionEntry) -> None:
    """Update the facts for one new trail entry (in the caller's transaction)."""
    handler = _HANDLERS.get(kind_of(entry), {}).get(entry.action)
    if handler is None:
        return
    # append_action has written the trail entry first: on SQLite that took the database's write
    # lock, so the facts below are read and written under it (on PostgreSQL their rows are locked).
    s.info[_OPEN] = {}
    try:
        handler(s, entry)
        for f in s.info[_OPEN].values():
            f.save(_conn(s))
    finally:
        s.info.pop(_OPEN, None)


def kind_of(entry: ActionEntry) -> str:
    """The process that wrote the entry (entries written before `kind` existed: from the workflow id)."""
    if entry.kind:
        return entry.kind
    for prefix, kind in (("contact-", "contact"), ("consultation-", "consultation"), ("early-help-", "early_help")):
        if entry.workflow_id.startswith(prefix):
            return kind
    return ""


# ---------------------------------------------------------------------- helpers
def utc(moment: datetime | None) -> datetime | None:
    """Aware UTC (SQLite hands back naive UTC times)."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return utc(value)
    if isinstance(value, str):
        try:
            return utc(datetime.fromisoformat(value.replace("Z", "+00:00")))
        except ValueError:
            return None
    return None


def local_date(moment: datetime | None) -> date | None:
    aware = utc(moment)
    return aware.astimezone(_zone).date() if aware is not None else None


def week_of(day: date | None) -> date | None:
    return day - timedelta(days=day.weekday()) if day is not None else None


def month_of(day: date | None) -> date | None:
    return day.replace(day=1) if day is not None else None


def year_before(moment: datetime) -> datetime:
    try:
        return moment.replace(year=moment.year - 1)
    except ValueError:  # 29 February
        return moment.replace(year=moment.year - 1, day=28)


def _hours(start: datetime | None, end: datetime | None) -> float | None:
    a, b = utc(start), utc(end)
    if a is None or b is None:
        return None
    return round((b - a).total_seconds() / 3600, 2)


def _int(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _float(value: Any) -> float | None:
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _str(value: Any, limit: int = 200) -> str | None:
    return str(value)[:limit] if value is not None else None


def _conn(s: Session) -> Connection:
    return s.connection()  # the session's own transaction, below the ORM's per-statement work


_statements: dict[tuple[Any, ...], Any] = {}


def _statement(kind: str, table: Table, dialect: str, columns: tuple[str, ...] = ()) -> Any:
    """Statements are built once and reused (SQLAlchemy then skips building their cache
    keys again): the row by primary key, locked or not; the update of some columns (only
    what changed: fewer index entries to rewrite); the insert that yields to a row created
    meanwhile."""
    key = (kind, table.name, dialect, columns)
    stmt = _statements.get(key)
    if stmt is not None:
        return stmt
    where = and_(*(c == bindparam(f"pk_{c.name}") for c in table.primary_key.columns))
    if kind == "select":
        stmt = select(table).where(where)
    elif kind == "select_locked":
        stmt = select(table).where(where).with_for_update()
    elif kind == "update":
        stmt = update(table).where(where).values({c: bindparam(c) for c in columns})
    elif dialect in CONFLICT_INSERTS:
        stmt = CONFLICT_INSERTS[dialect](table).on_conflict_do_nothing().returning(*table.primary_key.columns)
    else:
        stmt = insert(table)
    _statements[key] = stmt
    return stmt


_defaults: dict[str, dict[str, Any]] = {}


def _defaults_of(model: type[SQLModel]) -> dict[str, Any]:
    table: Table = model.__table__  # type: ignore[attr-defined]
    if table.name not in _defaults:
        _defaults[table.name] = {
            name: field.default for name, field in model.model_fields.items()
            if field.default is not PydanticUndefined and name in table.c and table.c[name].autoincrement is not True
        }
    return _defaults[table.name]


class Facts:
    """One facts row as plain values: read once, changed in Python, and the changed
    columns written back. The row is locked while it is read and written (PostgreSQL: FOR
    UPDATE; SQLite: the write lock the trail entry's insert took). A row that is not there yet is inserted with ON CONFLICT
    DO NOTHING; if another worker created it meanwhile, this entry's changes are applied
    to that row instead. So projecting never raises a unique-key error, which would roll
    back the trail entry with it."""

    __slots__ = ("table", "key", "values", "changed", "new")

    def __init__(self, table: Table, key: dict[str, Any], values: dict[str, Any], new: bool) -> None:
        object.__setattr__(self, "table", table)
        object.__setattr__(self, "key", key)
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "changed", set())
        object.__setattr__(self, "new", new)

    def __getattr__(self, name: str) -> Any:
        try:
            return self.values[name]
        except KeyError:
            raise AttributeError(f"{self.table.name} has no column {name}") from None

    def __setattr__(self, name: str, value: Any) -> None:
        if name not in self.table.c:
            raise AttributeError(f"{self.table.name} has no column {name}")
        old = self.values.get(name)
        if isinstance(old, datetime) and isinstance(value, datetime):
            if utc(old) == utc(value):
                return
        elif old == value and type(old) is type(value) and name in self.values:
            return
        self.values[name] = value
        self.changed.add(name)

    def _pk(self) -> dict[str, Any]:
        return {f"pk_{k}": v for k, v in self.key.items()}

    def save(self, conn: Connection) -> None:
        if not self.changed:  # (a row never changed is never written, new or not)
            return
        dialect = conn.dialect.name
        if self.new:
            inserted = conn.execute(_statement("insert", self.table, dialect), self.values)
            if dialect not in ("postgresql", "sqlite") or inserted.first() is not None:
                return  # (nothing returned: the row was made meanwhile, and takes the changes below)
            if dialect == "postgresql":
                conn.execute(_statement("select_locked", self.table, dialect), self._pk())
        columns = tuple(sorted(c for c in self.changed if c not in self.key))
        if columns:
            conn.execute(_statement("update", self.table, dialect, columns), {**{c: self.values[c] for c in columns}, **self._pk()})


def _open(s: Session, model: type[SQLModel], **key: Any) -> Any:
    """The case's facts row for this entry (read once; locked until the transaction ends:
    FOR UPDATE on PostgreSQL, the write lock the trail entry took on SQLite)."""
    opened: dict[tuple[Any, ...], Facts] = s.info.setdefault(_OPEN, {})
    table: Table = model.__table__  # type: ignore[attr-defined]
    ident = (table.name, *key.values())
    if ident in opened:
        return opened[ident]
    conn = _conn(s)
    dialect = conn.dialect.name
    stmt = _statement("select_locked" if dialect == "postgresql" else "select", table, dialect)
    row = conn.execute(stmt, {f"pk_{k}": v for k, v in key.items()}).mappings().first()
    f = Facts(table, key, dict(row), new=False) if row is not None else Facts(table, key, {**_defaults_of(model), **key}, new=True)
    opened[ident] = f
    return f


# ---------------------------------------------------------------------- contacts
def _contact(s: Session, e: ActionEntry) -> Any:
    return _open(s, ContactFacts, contact_id=e.subject_id)


def _set_received(f: Any, received: datetime | None) -> None:
    f.received_at = utc(received)
    f.received_on = local_date(received)
    f.received_week = week_of(f.received_on)
    f.received_month = month_of(f.received_on)


def contact_received(s: Session, e: ActionEntry) -> None:
    f = _contact(s, e)
    record = _contact_record(s, e.subject_id)
    _set_received(f, record.received_at if record is not None else e.at)
    f.source = _str(e.details.get("source")) or (record.source if record is not None else None)
    f.submitted_by = _str(e.details.get("submitted_by"))
    delay = _float(e.details.get("police_delay_hours"))
    f.police_delay_hours = delay if delay is not None else (record.police_delay_hours if record is not None else None)
    if record is not None:
        f.consultation_ref = record.consultation_ref
        statement = (record.payload or {}).get("consent") or {}
        f.consent_from_referrer = _str(statement.get("status")) or "not_sought"
        if f.consent_at is None:
            f.consent_status = f.consent_from_referrer
        _children(s, record, f.referral_at, kind="contact")


_CONTACT = ContactRecord.__table__  # type: ignore[attr-defined]
_CHILD = ChildRecord.__table__  # type: ignore[attr-defined]
_CHILD_FACTS = ChildFacts.__table__  # type: ignore[attr-defined]


_C, _K, _CF = _CONTACT.c, _CHILD.c, _CHILD_FACTS.c
# built once, reused (see _statement)
_CONTACT_ROW = select(_C.id, _C.kind, _C.received_at, _C.source, _C.police_delay_hours, _C.consultation_ref, _C.payload) \
    .where(_C.id == bindparam("id"))
_CHILDREN = select(_CHILD).where(_K.contact_id == bindparam("id")).order_by(_K.position)
_KNOWN = select(_CF.child_id).where(_CF.contact_id == bindparam("id"))
_BY_LOCAL = select(_CF.child_key).join(_CHILD, _K.id == _CF.child_id) \
    .where(_K.local_id == bindparam("local_id"), _K.id != bindparam("id")).limit(1)
_BY_NHS = select(_CF.child_key).join(_CHILD, _K.id == _CF.child_id) \
    .where(_K.nhs_number == bindparam("nhs"), _K.id != bindparam("id")).limit(1)
_BY_NAME = select(_CF.child_key).join(_CHILD, _K.id == _CF.child_id).where(
    _K.last_name_key == bindparam("last"), _K.first_name_key == bindparam("first"),
    _K.date_of_birth == bindparam("born"), _K.id != bindparam("id"),
).limit(1)
_REFERRAL = update(_CHILD_FACTS).where(_CF.contact_id == bindparam("v_id")).values(
    referral_at=bindparam("v_at"), referral_on=bindparam("v_on"), referral_month=bindparam("v_month"),
    window_start=bindparam("v_window"),
)
_ADD_CHILDREN = insert(_CHILD_FACTS)
_ADD_EXTENSION = insert(ExtensionFacts.__table__)  # type: ignore[attr-defined]
_STEPS = select(EarlyHelpStepFacts.__table__).where(  # type: ignore[attr-defined]
    EarlyHelpStepFacts.__table__.c.case_id == bindparam("id"))  # type: ignore[attr-defined]
_CALLED_AT = select(ConsultationRow.__table__.c.called_at).where(  # type: ignore[attr-defined]
    ConsultationRow.__table__.c.id == bindparam("id"))  # type: ignore[attr-defined]


def _contact_record(s: Session, contact_id: str) -> Any:
    return _conn(s).execute(_CONTACT_ROW, {"id": contact_id}).first()


def _children(s: Session, record: Any, referral_at: datetime | None, kind: str) -> None:
    """The contact's children, each with the key that finds the same child in other contacts."""
    conn = _conn(s)
    children = conn.execute(_CHILDREN, {"id": record.id}).all()
    if not children:
        return
    known = set(conn.execute(_KNOWN, {"id": record.id}).scalars())
    payload_children = (record.payload or {}).get("children") or []
    rows = []
    for child in children:
        if child.id in known:
            continue
        extra = payload_children[child.position] if child.position < len(payload_children) else {}
        due = extra.get("expected_due_date") if isinstance(extra, dict) else None
        fact: dict[str, Any] = {
            "child_id": child.id, "contact_id": record.id, "position": child.position, "kind": kind,
            "child_key": child_key(s, child),
            "expected_due_date": date.fromisoformat(due) if isinstance(due, str) and len(due) == 10 else None,
            "received_at": utc(record.received_at), "received_on": local_date(record.received_at),
        }
        fact.update(_referral_dates(referral_at))
        rows.append(fact)
    if rows:
        conn.execute(_ADD_CHILDREN, rows)


def child_key(s: Session, child: Any) -> str:
    """The same child across contacts: the key of an earlier child with the same local id,
    else the same NHS number, else the same names and date of birth; else a new key (the
    local id itself, or a hash that shows no personal data)."""
    probes: list[tuple[Any, dict[str, Any]]] = []
    if child.local_id:
        probes.append((_BY_LOCAL, {"local_id": child.local_id}))
    if child.nhs_number:
        probes.append((_BY_NHS, {"nhs": child.nhs_number}))
    if child.first_name_key and child.last_name_key and child.date_of_birth:
        probes.append((_BY_NAME, {"last": child.last_name_key, "first": child.first_name_key, "born": child.date_of_birth}))
    for stmt, params in probes:
        found = _conn(s).execute(stmt, {**params, "id": child.id}).scalar()
        if found:
            return found
    if child.local_id:
        return child.local_id[:200]  # the local authority's own id: Annex A's Child Unique ID
    if child.nhs_number:
        basis = f"nhs:{child.nhs_number}"
    elif child.first_name_key and child.last_name_key and child.date_of_birth:
        basis = f"name:{child.first_name_key}|{child.last_name_key}|{child.date_of_birth.isoformat()}"
    else:
        basis = f"contact:{child.contact_id}#{child.position}"
    return "FD-" + hashlib.sha256(basis.encode()).hexdigest()[:16]  # no personal data in the key


def _referral_dates(referral_at: datetime | None) -> dict[str, Any]:
    at = utc(referral_at)
    on = local_date(at)
    return {"referral_at": at, "referral_on": on, "referral_month": month_of(on), "window_start": year_before(at) if at else None}


def _become_referral(s: Session, f: Any, at: datetime, spa: bool) -> None:
    at_utc = utc(at)
    assert at_utc is not None
    f.is_referral = True
    f.referral_at = at_utc
    f.referral_on = local_date(at_utc)
    if spa:
        f.spa_arrival_at = at_utc
    dates = _referral_dates(at_utc)
    _conn(s).execute(_REFERRAL, {
        "v_id": f.contact_id, "v_at": dates["referral_at"], "v_on": dates["referral_on"],
        "v_month": dates["referral_month"], "v_window": dates["window_start"],
    })


def linked_to_consultation(s: Session, e: ActionEntry) -> None:
    f = _contact(s, e)
    f.consultation_ref = _str(e.details.get("consultation_ref")) or f.consultation_ref
    f.consultation_linked = e.action == "linked_to_consultation"


def history_checked(s: Session, e: ActionEntry) -> None:
    f = _contact(s, e)
    themes = [str(t) for t in e.details.get("recurring") or []]
    f.history_matches = _int(e.details.get("matches"))
    f.recurring = bool(themes)
    f.recurring_themes = ("," + ",".join(themes) + ",") if themes else None
    f.suggested_level = _int(e.details.get("suggested_level"))


def triage(s: Session, e: ActionEntry) -> None:
    f = _contact(s, e)
    d = e.details
    f.triaged_at, f.triaged_by = utc(e.at), e.actor
    f.level, f.route = _int(d.get("level")), _str(d.get("route"))
    f.triage_suggested_level = _int(d.get("suggested_level"))
    f.departure_reason = _str(d.get("departure_reason"), 4000)
    advice = d.get("threshold_advice")
    f.advice_given = bool(advice)
    f.advice_by = _str(advice.get("given_by")) if isinstance(advice, dict) else None
    f.history_considered = bool(d.get("history_considered"))
    if f.route in REFERRAL_ROUTES:
        _become_referral(s, f, e.at, spa=f.route == "spa")
    if f.route == ADVICE_ROUTE:
        f.advice_or_nfa = True


def stepped_up_from_early_help(s: Session, e: ActionEntry) -> None:
    """A step-up from early help enters the SPA directly: it is this contact's triage."""
    f = _contact(s, e)
    f.stepped_up_from = _str(e.details.get("early_help_case_id"))
    f.triaged_at, f.triaged_by = utc(e.at), e.actor
    f.level, f.route = _int(e.details.get("level")), "spa"
    f.history_considered = True
    _become_referral(s, f, e.at, spa=True)


def daily_review(s: Session, e: ActionEntry) -> None:
    f = _contact(s, e)
    if f.reviewed_at is None:
        f.reviewed_at = utc(e.at)
    f.rag = _str(e.details.get("rag"))


def urgent_picked_up(s: Session, e: ActionEntry) -> None:
    f = _contact(s, e)
    f.urgent_picked_up_at = utc(e.at)
    f.allocated_worker = e.actor


def urgent_pickup_escalated(s: Session, e: ActionEntry) -> None:
    _contact(s, e).urgent_escalated = True


def _consent_now(f: Any, status: str, at: datetime) -> None:
    latest = utc(f.consent_at)
    if latest is None or utc(at) >= latest:  # type: ignore[operator]
        f.consent_status, f.consent_at = status, utc(at)


def consent_event(s: Session, e: ActionEntry) -> None:
    f = _contact(s, e)
    status = e.action.removeprefix("consent_")
    if status == "sought":
        f.consent_sought = True
    if status == "overridden":
        f.consent_override_reason = _str(e.details.get("reason"))
    _consent_now(f, status, e.at)


def recommendation(s: Session, e: ActionEntry) -> None:
    f = _contact(s, e)
    f.recommended_outcome = _str(e.details.get("recommended_outcome"))
    f.recommended_by, f.recommended_at = e.actor, utc(e.at)
    if f.allocated_worker is None:
        f.allocated_worker = e.actor


def deadline_extended(s: Session, e: ActionEntry) -> None:
    f = _contact(s, e)
    previous, new = _time(e.details.get("previous_deadline")), _time(e.details.get("new_deadline"))
    added = _hours(previous, new)
    _conn(s).execute(_ADD_EXTENSION, {
        "action_key": e.idempotency_key, "contact_id": e.subject_id, "at": utc(e.at), "extended_on": local_date(e.at),
        "extended_by": e.actor, "reason": _str(e.details.get("reason")), "hours_added": added,
        "previous_deadline": previous, "new_deadline": new,
    })
    f.extensions = (f.extensions or 0) + 1
    f.extension_hours = round((f.extension_hours or 0.0) + (added or 0.0), 2)
    if new is not None:
        f.decision_due_at = new
    f.overdue = False


def decision_overdue(s: Session, e: ActionEntry) -> None:
    f = _contact(s, e)
    f.ever_overdue = True
    f.overdue = f.decided_at is None
    due = _time(e.details.get("due"))
    if due is not None:
        f.decision_due_at = due


def management_decision(s: Session, e: ActionEntry) -> None:
    f = _contact(s, e)
    d = e.details
    f.decided_at, f.decided_by = utc(e.at), e.actor
    f.decided_on = local_date(e.at)
    f.decided_week = week_of(f.decided_on)
    f.on_time = d.get("on_time") if isinstance(d.get("on_time"), bool) else None
    f.outcome, f.quadrant = _str(d.get("outcome")), _str(d.get("quadrant"))
    considered = d.get("recurring_pattern_considered")
    f.pattern_weighed = considered if isinstance(considered, bool) else None
    f.hours_to_decision = _hours(f.spa_arrival_at, e.at)
    f.nfa = f.outcome in NFA_OUTCOMES
    if f.nfa:
        f.advice_or_nfa = True
    f.overdue = False


def contact_handed_off(s: Session, e: ActionEntry) -> None:
    f = _contact(s, e)
    f.handed_off_at = utc(e.at)
    f.team, f.handoff_outcome = _str(e.details.get("team")), _str(e.details.get("outcome"))


def contact_closed(s: Session, e: ActionEntry) -> None:
    f = _contact(s, e)
    f.closed_at, f.final_outcome = utc(e.at), _str(e.details.get("outcome"))


# ---------------------------------------------------------------------- early help
def _case(s: Session, e: ActionEntry) -> Any:
    return _open(s, EarlyHelpFacts, case_id=e.subject_id)


def _early_help(change: Callable[[Session, EarlyHelpFacts, ActionEntry], None]) -> Handler:
    """Apply a change to the case, then derive its timed steps again from what is known."""

    def handler(s: Session, e: ActionEntry) -> None:
        f = _case(s, e)
        change(s, f, e)
        _derive_steps(s, f)

    handler.__name__ = change.__name__
    return handler


def _derive_steps(s: Session, f: Any) -> None:
    ended = [t for t in (utc(f.decided_at), utc(f.stepped_up_at), utc(f.consent_refused_at), utc(f.closed_at)) if t]
    f.assessment_done_at = min(ended) if ended else None
    f.assessment_done_on = local_date(f.assessment_done_at)
    stop = [t for t in (utc(f.stepped_up_at), utc(f.consent_refused_at), utc(f.closed_at)) if t]
    left_open_work = min(stop) if stop else None
    consent = utc(f.consent_given_at)
    directions = utc(f.directions_at)
    gathering = None
    if directions is not None and (consent is not None or f.consent_from_referrer == "given"):
        gathering = max(directions, consent) if consent is not None else directions
    plan = {
        "directions": (utc(f.received_at), directions),
        "gathering": (gathering, utc(f.gathering_done_at)),
        "recommendation": (utc(f.gathering_done_at), utc(f.recommended_at)),
        "decision": (utc(f.recommended_at), utc(f.decided_at)),
    }
    for step, (start, done) in plan.items():
        if start is None:
            continue
        row = _steps(s, f.case_id)[step]
        row.started_at = start
        if done is not None:
            row.done_at, row.completed = done, True
        elif left_open_work is not None and left_open_work >= start:
            row.done_at, row.completed = left_open_work, False
        else:
            row.done_at, row.completed = None, False


def _steps(s: Session, case_id: str) -> dict[str, Any]:
    """The case's step rows (read together once per entry), a new row for each missing step."""
    opened: dict[tuple[Any, ...], Facts] = s.info.setdefault(_OPEN, {})
    table: Table = EarlyHelpStepFacts.__table__  # type: ignore[attr-defined]
    wanted = {step: (table.name, case_id, step) for step in EARLY_HELP_STEPS}
    if any(ident not in opened for ident in wanted.values()):
        found = {r["step"]: dict(r) for r in _conn(s).execute(_STEPS, {"id": case_id}).mappings()}
        for step, ident in wanted.items():
            if ident not in opened:
                key = {"case_id": case_id, "step": step}
                opened[ident] = Facts(table, key, found[step], new=False) if step in found else \
                    Facts(table, key, {**_defaults_of(EarlyHelpStepFacts), **key}, new=True)
    return {step: opened[ident] for step, ident in wanted.items()}


def _eh_received(s: Session, f: Any, e: ActionEntry) -> None:
    d = e.details
    f.received_at, f.received_on = utc(e.at), local_date(e.at)
    f.received_month = month_of(f.received_on)
    f.entry = _str(d.get("entry"))
    f.origin_contact_id = _str(d.get("origin_contact_id"), 64)
    f.submitted_by = _str(d.get("submitted_by"))
    f.consent_from_referrer = _str(d.get("consent_from_referrer"))
    f.children_contact_id = f.origin_contact_id or e.subject_id
    if f.origin_contact_id is None:  # a direct request is kept as a contact of kind early_help
        record = _contact_record(s, e.subject_id)
        if record is not None:
            _children(s, record, None, kind="early_help")


def _eh_directions(s: Session, f: Any, e: ActionEntry) -> None:
    f.directions_at, f.directions_by = utc(e.at), e.actor
    f.adviser = _str(e.details.get("adviser"))


def _eh_consent_given(s: Session, f: Any, e: ActionEntry) -> None:
    f.consent_given_at = f.consent_given_at or utc(e.at)


def _eh_consent_refused(s: Session, f: Any, e: ActionEntry) -> None:
    f.consent_refused_at = utc(e.at)


def _eh_history(s: Session, f: Any, e: ActionEntry) -> None:
    f.history_recurring = bool(e.details.get("recurring"))


def _eh_gathered(s: Session, f: Any, e: ActionEntry) -> None:
    f.gathering_done_at = utc(e.at)


def _eh_recommendation(s: Session, f: Any, e: ActionEntry) -> None:
    f.recommended_at = utc(e.at)
    f.recommended_outcome = _str(e.details.get("recommended_outcome"))


def _eh_decision(s: Session, f: Any, e: ActionEntry) -> None:
    f.decided_at, f.decided_by = utc(e.at), e.actor
    f.decision_outcome = _str(e.details.get("outcome"))
    f.quadrant = _str(e.details.get("quadrant")) or f.quadrant


def _eh_stepped_up(s: Session, f: Any, e: ActionEntry) -> None:
    f.stepped_up_at = utc(e.at)
    f.step_up_contact_id = _str(e.details.get("contact_id"), 64)


def _eh_handed_off(s: Session, f: Any, e: ActionEntry) -> None:
    f.handed_off_at = utc(e.at)
    f.outcome = _str(e.details.get("outcome"))
    f.team = _str(e.details.get("team"))
    f.quadrant = _str(e.details.get("quadrant")) or f.quadrant


def _eh_closed(s: Session, f: Any, e: ActionEntry) -> None:
    f.closed_at = utc(e.at)
    f.outcome = _str(e.details.get("outcome")) or f.outcome
    f.quadrant = _str(e.details.get("quadrant")) or f.quadrant


def _eh_overdue(s: Session, f: Any, e: ActionEntry) -> None:
    step = e.action.removesuffix("_overdue")
    if step not in EARLY_HELP_STEPS:
        return
    row = _steps(s, f.case_id)[step]
    row.overdue = True
    row.due_at = _time(e.details.get("due")) or row.due_at


# ---------------------------------------------------------------------- consultations
def _call(s: Session, e: ActionEntry) -> Any:
    return _open(s, ConsultationFacts, consultation_id=e.subject_id)


def consultation_recorded(s: Session, e: ActionEntry) -> None:
    f = _call(s, e)
    d = e.details
    called = _conn(s).execute(_CALLED_AT, {"id": e.subject_id}).scalar()  # written before the entry: the call's own time
    f.recorded_at = utc(e.at)
    f.called_at = utc(called) or utc(e.at)
    f.called_on = local_date(f.called_at)
    f.called_month = month_of(f.called_on)
    f.outcome = _str(d.get("outcome"))
    f.caller_agency = _str(d.get("caller_agency"))
    f.anonymous = bool(d.get("anonymous"))
    f.children_named = _int(d.get("children_named"))
    f.reference = _str(d.get("reference"))
    f.referral_due_at = _time(d.get("referral_due_at"))


def follow_up_raised(s: Session, e: ActionEntry) -> None:
    f = _call(s, e)
    f.follow_up_raised_at = utc(e.at)
    f.referral_due_at = f.referral_due_at or _time(e.details.get("due"))


def referral_received(s: Session, e: ActionEntry) -> None:
    f = _call(s, e)
    f.referral_received_at = utc(e.at)
    f.referral_contact_id = _str(e.details.get("contact_id"), 64)
    on_time = e.details.get("on_time")
    f.referral_on_time = on_time if isinstance(on_time, bool) else None
    f.after_follow_up = bool(e.details.get("after_follow_up"))


def follow_up_call(s: Session, e: ActionEntry) -> None:
    f = _call(s, e)
    f.follow_up_at = utc(e.at)
    f.follow_up_outcome = _str(e.details.get("outcome"))
    f.follow_up_contact_id = _str(e.details.get("contact_id"), 64)


def consultation_closed(s: Session, e: ActionEntry) -> None:
    f = _call(s, e)
    f.closed_at, f.closure = utc(e.at), _str(e.details.get("closure"))


_HANDLERS: dict[str, dict[str, Handler]] = {
    "contact": {
        "contact_received": contact_received,
        "linked_to_consultation": linked_to_consultation,
        "consultation_not_linked": linked_to_consultation,
        "history_checked": history_checked,
        "stepped_up_from_early_help": stepped_up_from_early_help,
        "triage": triage,
        "daily_review": daily_review,
        "urgent_picked_up": urgent_picked_up,
        "urgent_pickup_escalated": urgent_pickup_escalated,
        "consent_sought": consent_event,
        "consent_given": consent_event,
        "consent_refused": consent_event,
        "consent_overridden": consent_event,
        "recommendation": recommendation,
        "deadline_extended": deadline_extended,
        "decision_overdue": decision_overdue,
        "management_decision": management_decision,
        "handed_off": contact_handed_off,
        "closed": contact_closed,
    },
    "early_help": {
        "early_help_received": _early_help(_eh_received),
        "directions": _early_help(_eh_directions),
        "consent_given": _early_help(_eh_consent_given),
        "consent_refused": _early_help(_eh_consent_refused),
        "history_reviewed": _early_help(_eh_history),
        "gathering_finished": _early_help(_eh_gathered),
        "recommendation": _early_help(_eh_recommendation),
        "early_help_decision": _early_help(_eh_decision),
        "stepped_up": _early_help(_eh_stepped_up),
        "handed_off": _early_help(_eh_handed_off),
        "closed": _early_help(_eh_closed),
        **{f"{step}_overdue": _early_help(_eh_overdue) for step in ("directions", "gathering", "recommendation", "decision")},
    },
    "consultation": {
        "consultation_recorded": consultation_recorded,
        "follow_up_raised": follow_up_raised,
        "referral_received": referral_received,
        "follow_up_call": follow_up_call,
        "closed": consultation_closed,
    },
}
PROJECTED = {kind: frozenset(actions) for kind, actions in _HANDLERS.items()}


# ---------------------------------------------------------------------- rebuilding
def rebuild(s: Session, batch: int = 2000, progress: Callable[[int], None] | None = None) -> int:
    """Throw the facts away and project the whole trail again, in trail order (for a case
    record that had a trail before the facts existed, or after a change to the projection).
    Returns the number of trail entries read."""
    for table in reversed(FACT_TABLES):
        _conn(s).execute(delete(table))
    s.commit()
    done, last_id = 0, 0
    while True:
        actions = ActionRecord.__table__  # type: ignore[attr-defined]
        records = _conn(s).execute(select(actions).where(actions.c.id > last_id).order_by(actions.c.id).limit(batch)).all()
        if not records:
            break
        for r in records:
            project(s, ActionEntry(
                idempotency_key=r.idempotency_key, subject_id=r.subject_id, workflow_id=r.workflow_id, kind=r.kind,
                actor=r.actor, role=r.role, at=utc(r.at) or r.at, action=r.action, reasons=r.reasons, details=r.details or {},
            ))
        last_id = records[-1].id
        done += len(records)
        s.commit()
        if progress is not None:
            progress(done)
    return done


def backfill_if_empty(s: Session) -> int:
    """Project the whole trail once when there are trail entries but no facts yet (a case
    record from before the reports existed). Returns the entries projected (0: nothing to do)."""
    conn = _conn(s)
    has_trail = conn.execute(select(ActionRecord.__table__.c.id).limit(1)).first() is not None  # type: ignore[attr-defined]
    has_facts = any(
        conn.execute(select(table).limit(1)).first() is not None for table in FACT_TABLES
    )
    if not has_trail or has_facts:
        return 0
    return rebuild(s)
