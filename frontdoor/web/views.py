"""What the screens and the API read: lists from visibility queries, the actions a
contact's stage allows, and times shown in the service's time zone with time left."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import col, select
from temporalio.client import Client, WorkflowExecution

from activities.records import action_trail
from models.database import session
from frontdoor import stuck
from frontdoor.config import Settings, format_duration
from frontdoor.stuck import OPEN
from models.codes import ConsentStatus
from models.roles import PERMISSIONS, Actor
from models.state import ContactState, Stage
from models.tables import ActionRecord, ContactRecord, DocumentRecord
from workflows import search_attributes as sa

SPA_OPEN = (Stage.AWAITING_CONSENT, Stage.MAP_CHECKS, Stage.AWAITING_RECOMMENDATION, Stage.AWAITING_DECISION)
# Stages the workflow passes through by itself: a page showing one refreshes itself.
TRANSIENT = (Stage.INTAKE, Stage.HISTORY_CHECK, Stage.HANDOFF)
RAG_ORDER = {"red": 0, "amber": 1, "green": 2}

# contacts.ACTIONS name -> (models/roles.PERMISSIONS action, API path segment)
ACTION_PERMISSIONS: dict[str, str] = {
    "triage": "triage",
    "review": "review",
    "pickup": "pickup",
    "consent": "record_consent",
    "override_consent": "override_consent",
    "map_requests": "request_map",
    "map_responses": "record_map_response",
    "proceed_without": "proceed_without_agency",
    "recommendation": "recommend",
    "decision": "decide",
    "extension": "extend",
    "retry": "retry_fault",
}
ACTION_PATHS: dict[str, str] = {a: ("extensions" if a == "extension" else a.replace("_", "-")) for a in ACTION_PERMISSIONS}


# ------------------------------------------------------------------ time
def london(moment: datetime | str | None, tz: str = "Europe/London", fmt: str = "%a %d %b %Y %H:%M") -> str:
    if moment is None:
        return "-"
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(ZoneInfo(tz)).strftime(fmt)


def time_left(due: datetime | None, now: datetime | None = None) -> str:
    if due is None:
        return ""
    left = due - (now or datetime.now(UTC))
    if left.total_seconds() <= 0:
        return f"overdue by {format_duration(-left)}"
    return f"{format_duration(left)} left"


def age(since: datetime | None, now: datetime | None = None) -> str:
    if since is None:
        return ""
    return format_duration((now or datetime.now(UTC)) - since)


def local_input(moment: datetime, tz: str) -> str:
    """A value for <input type=datetime-local> in the service's time zone."""
    return moment.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%dT%H:%M")


def parse_local(text: str, tz: str) -> datetime:
    """Read a datetime-local value (service time zone) or an ISO time with a zone."""
    value = datetime.fromisoformat(text.strip())
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(tz))
    return value.astimezone(UTC)


# ------------------------------------------------------------------ lists (visibility)
@dataclass
class Row:
    """One open case as visibility shows it: no personal data, only ids and state."""

    workflow_id: str
    id: str
    kind: str
    stage: str | None
    since: datetime | None
    holder: str | None
    due_at: datetime | None
    received_at: datetime | None
    flags: list[str]
    priority: str | None
    route: str | None
    fault: str | None
    ref: str | None = None  # FdRef: a consultation's reference, an early help case's origin contact

    @property
    def overdue(self) -> bool:
        return "decision_overdue" in self.flags or bool(
            self.due_at and self.due_at <= datetime.now(UTC) and self.stage in [s.value for s in SPA_OPEN]
        )

    def as_dict(self) -> dict[str, Any]:
        iso = lambda m: m.isoformat() if m else None  # noqa: E731
        return {
            "id": self.id, "workflow_id": self.workflow_id, "kind": self.kind, "stage": self.stage,
            "since": iso(self.since), "holder": self.holder, "due_at": iso(self.due_at),
            "received_at": iso(self.received_at), "flags": self.flags, "priority": self.priority,
            "route": self.route, "fault": self.fault, "ref": self.ref, "overdue": self.overdue,
        }


def row(execution: WorkflowExecution) -> Row:
    base = stuck.row_from(execution)
    attrs = execution.typed_search_attributes
    return Row(
        workflow_id=base.workflow_id, id=base.subject_id, kind=base.kind, stage=base.stage, since=base.since,
        holder=base.holder, due_at=base.due_at, received_at=attrs.get(sa.RECEIVED) or execution.start_time,
        flags=base.flags, priority=base.priority, route=attrs.get(sa.ROUTE), fault=base.fault, ref=attrs.get(sa.REF),
    )


async def list_rows(client: Client, query: str, limit: int = 200) -> list[Row]:
    return [row(e) async for e in client.list_workflows(query, limit=limit)]


def contacts_query(stage: str | None = None, route: str | None = None, overdue: bool | None = None,
                   open_only: bool = True) -> str:
    """Values are checked against the enums by the callers before they reach the query."""
    query = "FdKind = 'contact'" + (f" AND {OPEN}" if open_only else "")
    if stage:
        query += f" AND FdStage = '{stage}'"
    if route:
        query += f" AND FdRoute = '{route}'"
    if overdue is True:
        query += " AND FdFlags = 'decision_overdue'"
    elif overdue is False:
        query += " AND FdFlags != 'decision_overdue'"
    return query


def queue_order(r: Row) -> tuple[int, int, datetime]:
    """Today's queue: unreviewed first, then red, amber, green, then the oldest."""
    unreviewed = 0 if "unreviewed" in r.flags else 1
    rag = RAG_ORDER.get(r.priority or "", 3)
    return unreviewed, rag, r.received_at or datetime.max.replace(tzinfo=UTC)


def by_time_left(r: Row) -> datetime:
    return r.due_at or datetime.max.replace(tzinfo=UTC)


async def stuck_panels(client: Client, within: timedelta, limit: int = 25) -> list[dict[str, Any]]:
    """Every kind in frontdoor/stuck.KINDS, so kinds added later appear here too."""
    panels = []
    for name, kind in stuck.KINDS.items():
        try:
            total = await stuck.count(client, name, within)
            rows, _ = await stuck.page(client, name, within, page_size=limit)
            error = None
        except Exception as exc:  # noqa: BLE001 (a cluster without the attribute: say so, show the rest)
            total, rows, error = 0, [], str(exc)[:200]
        rows.sort(key=lambda r: r.since or datetime.max.replace(tzinfo=UTC))
        panels.append({"name": name, "title": kind.title, "count": total, "rows": rows, "error": error})
    return panels


def temporal_link(settings: Settings, workflow_id: str) -> str:
    t = settings.temporal
    return f"{t.ui_url.rstrip('/')}/namespaces/{t.namespace}/workflows/{workflow_id}"


# ------------------------------------------------------------------ the case record
def record_of(settings: Settings, contact_id: str) -> dict[str, Any] | None:
    """The contact as received (children, referrer, concerns), from the case record."""
    with session(settings.database_url) as s:
        record = s.get(ContactRecord, contact_id)
        return dict(record.payload) if record else None


def documents_of(settings: Settings, contact_id: str) -> list[DocumentRecord]:
    with session(settings.database_url) as s:
        return list(
            s.exec(select(DocumentRecord).where(DocumentRecord.subject_id == contact_id).order_by(col(DocumentRecord.created_at))).all()
        )


def document(settings: Settings, document_id: str) -> DocumentRecord | None:
    with session(settings.database_url) as s:
        return s.get(DocumentRecord, document_id)


def trail_of(settings: Settings, contact_id: str) -> list[ActionRecord]:
    with session(settings.database_url) as s:
        return action_trail(s, contact_id)


# ------------------------------------------------------------------ what the stage allows
def stage_allows(state: ContactState) -> list[str]:
    """The actions (contacts.ACTIONS names) the contact's current stage allows; the
    workflow's validators stay the authority, this only chooses which forms to offer."""
    s, allowed = state, []
    if s.stage != Stage.CLOSED:
        allowed.append("review")
    if s.stage == Stage.AWAITING_TRIAGE:
        allowed.append("triage")
    if s.stage == Stage.AWAITING_PICKUP:
        allowed.append("pickup")
    spa_before_recommendation = s.stage in SPA_OPEN and s.recommendation is None
    if spa_before_recommendation and not s.consent.cleared_for_map:
        allowed += ["consent", "override_consent"]
    if s.stage in (Stage.AWAITING_CONSENT, Stage.MAP_CHECKS, Stage.AWAITING_RECOMMENDATION) and s.consent.cleared_for_map:
        if unasked_agencies(s):
            allowed.append("map_requests")
    if s.outstanding_agencies:
        allowed += ["map_responses", "proceed_without"]
    if s.stage in (Stage.MAP_CHECKS, Stage.AWAITING_RECOMMENDATION) and not s.outstanding_agencies:
        allowed.append("recommendation")
    if s.stage == Stage.AWAITING_DECISION:
        allowed.append("decision")
    if s.stage in SPA_OPEN and s.decision is None:
        allowed.append("extension")
    if s.fault is not None:
        allowed.append("retry")
    return allowed


def offered(state: ContactState, actor: Actor) -> list[str]:
    """The forms to show this person: allowed by the stage and by their role."""
    return [a for a in stage_allows(state) if actor.role in PERMISSIONS[ACTION_PERMISSIONS[a]]]


def unasked_agencies(state: ContactState) -> list[str]:
    from models.codes import Agency

    asked = {m.agency for m in state.map_checks}
    return [a.value for a in Agency if a not in asked]


def consent_label(state: ContactState) -> str:
    c = state.consent
    text = {
        ConsentStatus.GIVEN: "Given", ConsentStatus.REFUSED: "Refused", ConsentStatus.NOT_SOUGHT: "Not sought",
        ConsentStatus.SOUGHT: "Sought, answer awaited", ConsentStatus.OVERRIDDEN: "Overridden by a manager",
    }[c.status]
    return text + (" (as the referrer said)" if c.from_referrer and c.status != ConsentStatus.OVERRIDDEN else "")
