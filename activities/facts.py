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
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import delete, update
from sqlmodel import Session, SQLModel, col, select

from models.calendar import DEFAULT_TZ
from models.door_tables import ConsultationRow
from models.facts import (
    ADVICE_ROUTE,
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

M = TypeVar("M", bound=SQLModel)
Handler = Callable[[Session, ActionEntry], None]

_zone = ZoneInfo(DEFAULT_TZ)


def configure(timezone: str) -> None:
    """The service's time zone, for the local dates facts are bucketed by (the worker
    calls this once with settings.timezone; Europe/London by default)."""
    global _zone
    _zone = ZoneInfo(timezone)


def project(s: Session, entry: ActionEntry) -> None:
    """Update the facts for one new trail entry (in the caller's transaction)."""
    handler = _HANDLERS.get(kind_of(entry), {}).get(entry.action)
    if handler is not None:
        handler(s, entry)


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


def _insert(s: Session, model: type[SQLModel]) -> Any:
    name = s.get_bind().dialect.name
    if name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(model)
    if name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert(model)
    return None


def _row(s: Session, model: type[M], **key: Any) -> M:
    """The case's facts row, created if it is not there yet, locked for this transaction on
    PostgreSQL. A concurrent creation is absorbed (INSERT ... ON CONFLICT DO NOTHING), so
    projecting never raises a unique-key error that would roll back the trail entry."""
    ident = tuple(key.values()) if len(key) > 1 else next(iter(key.values()))
    row = s.get(model, ident, with_for_update=True)
    if row is not None:
        return row
    values = model(**key).model_dump()
    stmt = _insert(s, model)
    if stmt is None:  # another database: plain insert (no concurrent creation expected)
        fresh = model(**values)
        s.add(fresh)
        s.flush()
        return fresh
    s.execute(stmt.values(**values).on_conflict_do_nothing())
    row = s.get(model, ident, with_for_update=True, populate_existing=True)
    assert row is not None
    return row


# ---------------------------------------------------------------------- contacts
def _contact(s: Session, e: ActionEntry) -> ContactFacts:
    return _row(s, ContactFacts, contact_id=e.subject_id)


def _set_received(f: ContactFacts, received: datetime | None) -> None:
    f.received_at = utc(received)
    f.received_on = local_date(received)
    f.received_week = week_of(f.received_on)
    f.received_month = month_of(f.received_on)


def contact_received(s: Session, e: ActionEntry) -> None:
    f = _contact(s, e)
    record = s.get(ContactRecord, e.subject_id)
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


def _children(s: Session, record: ContactRecord, referral_at: datetime | None, kind: str) -> None:
    """The contact's children, each with the key that finds the same child in other contacts."""
    children = s.exec(select(ChildRecord).where(ChildRecord.contact_id == record.id).order_by(col(ChildRecord.position))).all()
    if not children:
        return
    known = set(s.exec(select(ChildFacts.child_id).where(ChildFacts.contact_id == record.id)).all())
    payload_children = (record.payload or {}).get("children") or []
    for child in children:
        if child.id is None or child.id in known:
            continue
        extra = payload_children[child.position] if child.position < len(payload_children) else {}
        due = extra.get("expected_due_date") if isinstance(extra, dict) else None
        fact = ChildFacts(
            child_id=child.id, contact_id=record.id, position=child.position, kind=kind,
            child_key=child_key(s, child),
            expected_due_date=date.fromisoformat(due) if isinstance(due, str) and len(due) == 10 else None,
            received_at=utc(record.received_at), received_on=local_date(record.received_at),
        )
        _referral_dates(fact, referral_at)
        s.add(fact)
    s.flush()


def child_key(s: Session, child: ChildRecord) -> str:
    """The same child across contacts: the key of an earlier child with the same local id,
    else the same NHS number, else the same names and date of birth; else a new key (the
    local id itself, or a hash that shows no personal data)."""
    probes = []
    if child.local_id:
        probes.append(ChildRecord.local_id == child.local_id)
    if child.nhs_number:
        probes.append(ChildRecord.nhs_number == child.nhs_number)
    if child.first_name_key and child.last_name_key and child.date_of_birth:
        probes.append(
            (ChildRecord.last_name_key == child.last_name_key)
            & (ChildRecord.first_name_key == child.first_name_key)
            & (ChildRecord.date_of_birth == child.date_of_birth)
        )
    for probe in probes:
        found = s.exec(
            select(ChildFacts.child_key).join(ChildRecord, col(ChildRecord.id) == col(ChildFacts.child_id))
            .where(probe, ChildRecord.id != child.id).limit(1)
        ).first()
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


def _referral_dates(fact: ChildFacts, referral_at: datetime | None) -> None:
    at = utc(referral_at)
    fact.referral_at = at
    fact.referral_on = local_date(at)
    fact.referral_month = month_of(fact.referral_on)
    fact.window_start = year_before(at) if at is not None else None


def _become_referral(s: Session, f: ContactFacts, at: datetime, spa: bool) -> None:
    at_utc = utc(at)
    assert at_utc is not None
    f.is_referral = True
    f.referral_at = at_utc
    f.referral_on = local_date(at_utc)
    if spa:
        f.spa_arrival_at = at_utc
    s.execute(
        update(ChildFacts).where(col(ChildFacts.contact_id) == f.contact_id)
        .values(
            referral_at=at_utc, referral_on=f.referral_on, referral_month=month_of(f.referral_on),
            window_start=year_before(at_utc),
        )
    )


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


def _consent_now(f: ContactFacts, status: str, at: datetime) -> None:
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
    s.add(
        ExtensionFacts(
            action_key=e.idempotency_key, contact_id=e.subject_id, at=utc(e.at), extended_on=local_date(e.at),
            extended_by=e.actor, reason=_str(e.details.get("reason")), hours_added=added,
            previous_deadline=previous, new_deadline=new,
        )
    )
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
def _case(s: Session, e: ActionEntry) -> EarlyHelpFacts:
    return _row(s, EarlyHelpFacts, case_id=e.subject_id)


def _early_help(change: Callable[[Session, EarlyHelpFacts, ActionEntry], None]) -> Handler:
    """Apply a change to the case, then derive its timed steps again from what is known."""

    def handler(s: Session, e: ActionEntry) -> None:
        f = _case(s, e)
        change(s, f, e)
        _derive_steps(s, f)

    handler.__name__ = change.__name__
    return handler


def _derive_steps(s: Session, f: EarlyHelpFacts) -> None:
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
        row = _row(s, EarlyHelpStepFacts, case_id=f.case_id, step=step)
        row.started_at = start
        if done is not None:
            row.done_at, row.completed = done, True
        elif left_open_work is not None and left_open_work >= start:
            row.done_at, row.completed = left_open_work, False
        else:
            row.done_at, row.completed = None, False


def _eh_received(s: Session, f: EarlyHelpFacts, e: ActionEntry) -> None:
    d = e.details
    f.received_at, f.received_on = utc(e.at), local_date(e.at)
    f.received_month = month_of(f.received_on)
    f.entry = _str(d.get("entry"))
    f.origin_contact_id = _str(d.get("origin_contact_id"), 64)
    f.submitted_by = _str(d.get("submitted_by"))
    f.consent_from_referrer = _str(d.get("consent_from_referrer"))
    f.children_contact_id = f.origin_contact_id or e.subject_id
    if f.origin_contact_id is None:  # a direct request is kept as a contact of kind early_help
        record = s.get(ContactRecord, e.subject_id)
        if record is not None:
            _children(s, record, None, kind="early_help")


def _eh_directions(s: Session, f: EarlyHelpFacts, e: ActionEntry) -> None:
    f.directions_at, f.directions_by = utc(e.at), e.actor
    f.adviser = _str(e.details.get("adviser"))


def _eh_consent_given(s: Session, f: EarlyHelpFacts, e: ActionEntry) -> None:
    f.consent_given_at = f.consent_given_at or utc(e.at)


def _eh_consent_refused(s: Session, f: EarlyHelpFacts, e: ActionEntry) -> None:
    f.consent_refused_at = utc(e.at)


def _eh_history(s: Session, f: EarlyHelpFacts, e: ActionEntry) -> None:
    f.history_recurring = bool(e.details.get("recurring"))


def _eh_gathered(s: Session, f: EarlyHelpFacts, e: ActionEntry) -> None:
    f.gathering_done_at = utc(e.at)


def _eh_recommendation(s: Session, f: EarlyHelpFacts, e: ActionEntry) -> None:
    f.recommended_at = utc(e.at)
    f.recommended_outcome = _str(e.details.get("recommended_outcome"))


def _eh_decision(s: Session, f: EarlyHelpFacts, e: ActionEntry) -> None:
    f.decided_at, f.decided_by = utc(e.at), e.actor
    f.decision_outcome = _str(e.details.get("outcome"))
    f.quadrant = _str(e.details.get("quadrant")) or f.quadrant


def _eh_stepped_up(s: Session, f: EarlyHelpFacts, e: ActionEntry) -> None:
    f.stepped_up_at = utc(e.at)
    f.step_up_contact_id = _str(e.details.get("contact_id"), 64)


def _eh_handed_off(s: Session, f: EarlyHelpFacts, e: ActionEntry) -> None:
    f.handed_off_at = utc(e.at)
    f.outcome = _str(e.details.get("outcome"))
    f.team = _str(e.details.get("team"))
    f.quadrant = _str(e.details.get("quadrant")) or f.quadrant


def _eh_closed(s: Session, f: EarlyHelpFacts, e: ActionEntry) -> None:
    f.closed_at = utc(e.at)
    f.outcome = _str(e.details.get("outcome")) or f.outcome
    f.quadrant = _str(e.details.get("quadrant")) or f.quadrant


def _eh_overdue(s: Session, f: EarlyHelpFacts, e: ActionEntry) -> None:
    step = e.action.removesuffix("_overdue")
    row = _row(s, EarlyHelpStepFacts, case_id=f.case_id, step=step)
    row.overdue = True
    row.due_at = _time(e.details.get("due")) or row.due_at


# ---------------------------------------------------------------------- consultations
def _call(s: Session, e: ActionEntry) -> ConsultationFacts:
    return _row(s, ConsultationFacts, consultation_id=e.subject_id)


def consultation_recorded(s: Session, e: ActionEntry) -> None:
    f = _call(s, e)
    d = e.details
    row = s.get(ConsultationRow, e.subject_id)  # written before the entry: it has the call's own time
    called = row.called_at if row is not None else None
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
        s.execute(delete(table))
    s.commit()
    done, last_id = 0, 0
    while True:
        records = s.exec(
            select(ActionRecord).where(col(ActionRecord.id) > last_id).order_by(col(ActionRecord.id)).limit(batch)
        ).all()
        if not records:
            break
        for r in records:
            project(s, ActionEntry(
                idempotency_key=r.idempotency_key, subject_id=r.subject_id, workflow_id=r.workflow_id, kind=r.kind,
                actor=r.actor, role=r.role, at=utc(r.at) or r.at, action=r.action, reasons=r.reasons, details=r.details or {},
            ))
        last_id = records[-1].id or last_id
        done += len(records)
        s.commit()
        s.expunge_all()
        if progress is not None:
            progress(done)
    return done


def backfill_if_empty(s: Session) -> int:
    """Project the whole trail once when there are trail entries but no facts yet (a case
    record from before the reports existed). Returns the entries projected (0: nothing to do)."""
    has_trail = s.exec(select(ActionRecord.id).limit(1)).first() is not None
    has_facts = any(
        s.exec(select(model).limit(1)).first() is not None
        for model in (ContactFacts, EarlyHelpFacts, ConsultationFacts)
    )
    if not has_trail or has_facts:
        return 0
    return rebuild(s)
