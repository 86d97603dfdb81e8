"""Who may read a child's record, and who did (issue 9 §4): the one gate every view of a
case's details passes through, and the questions managers ask of the access log.

`open_case(...)` is called once per view, by the case page, the API's show/trail/documents/
messages, the document route and the CLI's show/trail/documents/messages. It
1. reads the case's restriction (the `restrictions` mirror the workflow writes);
2. writes one `access_log` row: who, role, when, which case, how (page, api, document,
   cli), what part, and whether it was shown or refused;
3. raises `RecordRestricted` (403, whom to ask) when the case is restricted and the person
   is neither named nor a manager.

The row is written *before* anything is read, and when it cannot be written the view is
refused (`AccessLogUnavailable`, 503): an unlogged view of special-category data is the
thing this prevents, and the access log lives in the same database as the trail and the
documents, so when it cannot be written those reads would mostly fail too. The cost is one
INSERT (plus one primary-key read of the mirror) per view.

Lists (the process lists, stuck lists, caseloads) are visibility queries that carry no
personal data, so they are not views of a child's details; `restricted_ids` lets a list
mark restricted rows.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import col, select

from frontdoor.errors import FrontdoorError, NotFound
from models.access import CHANNELS, AccessRecord, RestrictionRecord, may_read, refusal
from models.database import session
from models.roles import ALLOCATORS, Actor
from models.tables import User

log = logging.getLogger("frontdoor.access")

MAX_PAGE = 200  # rows of the access log per page
READERS_OF_LOG = ALLOCATORS  # who may ask who opened a case, or what a person opened (besides the person)
PARTS = ("state", "trail", "documents", "messages", "document", "audit")  # audit: the case as an audit read it


class RecordRestricted(FrontdoorError):
    status = 403
    kind = "Restricted"


class NotAllowed(FrontdoorError):
    status = 403


class AccessLogUnavailable(FrontdoorError):
    status = 503


# ---------------------------------------------------------------------- restrictions
def restriction(database_url: str, subject_id: str, kind: str | None = None) -> RestrictionRecord | None:
    """The case's restriction in force (None: not restricted). Without `kind` (a document
    kept before it named its process), a restriction of any process with that id counts."""
    with session(database_url) as s:
        if kind is not None:
            row = s.get(RestrictionRecord, (kind, subject_id))
            return row if row is not None and row.restricted else None
        return s.exec(select(RestrictionRecord).where(RestrictionRecord.subject_id == subject_id,
                                                      col(RestrictionRecord.restricted))).first()


def may_read_restricted(actor: Actor, r: RestrictionRecord | None) -> bool:
    return r is None or may_read(actor, r.allowed)


def restricted_ids(database_url: str, ids: Iterable[str]) -> set[str]:
    """Of these case ids, those restricted (one query: for marking rows of a list)."""
    wanted = list(dict.fromkeys(ids))[:1000]
    if not wanted:
        return set()
    with session(database_url) as s:
        return set(s.exec(select(RestrictionRecord.subject_id).where(
            col(RestrictionRecord.subject_id).in_(wanted), col(RestrictionRecord.restricted))).all())


# ---------------------------------------------------------------------- the gate
def open_case(database_url: str, actor: Actor, kind: str, subject_id: str, channel: str, part: str,
              detail: str | None = None, *, any_kind: bool = False) -> RestrictionRecord | None:
    """Log this view of a case's details, then refuse it if the case is restricted to others.
    Returns the restriction in force (for the page's banner), or None."""
    if channel not in CHANNELS or part not in PARTS:
        raise ValueError(f"unknown channel {channel!r} or part {part!r}")
    try:
        r = restriction(database_url, subject_id, None if any_kind else kind)
        allowed = may_read_restricted(actor, r)
        with session(database_url) as s:
            s.add(AccessRecord(at=datetime.now(UTC), username=actor.username, role=actor.role.value,
                               kind=(r.kind if r is not None else kind)[:40], subject_id=subject_id[:200],
                               channel=channel, part=part, detail=detail,
                               outcome="shown" if allowed else "refused"))
            s.commit()
    except SQLAlchemyError as exc:
        log.error("access log not written (%s %s %s by %s): %s", kind, subject_id, part, actor.username, exc)
        raise AccessLogUnavailable(
            "the access log could not be written, so the record is not shown (every view of a child's record "
            "is logged): try again in a moment, and tell the administrator if it goes on") from None
    if not allowed:
        assert r is not None
        raise RecordRestricted(refusal(kind.replace("_", " "), subject_id, r.by, r.by_role))
    return r


# ---------------------------------------------------------------------- who looked, what they opened
@dataclass(frozen=True)
class AccessPage:
    rows: list[AccessRecord]
    next_before: int | None  # pass back as `before` for the next (older) page

    def as_dict(self) -> dict[str, Any]:
        return {"count": len(self.rows), "rows": [row_json(r) for r in self.rows], "next_before": self.next_before}


def row_json(r: AccessRecord) -> dict[str, Any]:
    return {"id": r.id, "at": r.at.isoformat(), "username": r.username, "role": r.role, "kind": r.kind,
            "subject_id": r.subject_id, "channel": r.channel, "part": r.part, "detail": r.detail,
            "outcome": r.outcome}


def check_log_reader(actor: Actor, username: str | None = None) -> None:
    """Managers read the access log; a person may read what they opened themselves."""
    if actor.role in READERS_OF_LOG or (username is not None and actor.username == username):
        return
    whose = "what others opened" if username is not None else "who looked at a child's record"
    raise NotAllowed(f"{actor.username} ({actor.role.value}) may not see {whose}: only team and service "
                           "managers may (you may see what you opened yourself)")


def _page(database_url: str, where: Any, limit: int, before: int | None) -> AccessPage:
    if not 1 <= limit <= MAX_PAGE:
        raise FrontdoorError(f"limit must be 1 to {MAX_PAGE}")
    with session(database_url) as s:
        query = select(AccessRecord).where(where)
        if before is not None:
            query = query.where(col(AccessRecord.id) < before)
        rows = list(s.exec(query.order_by(col(AccessRecord.id).desc()).limit(limit + 1)).all())
    more = len(rows) > limit
    rows = rows[:limit]
    return AccessPage(rows, rows[-1].id if more and rows else None)


def of_case(database_url: str, actor: Actor, kind: str, subject_id: str, *, limit: int = 50,
            before: int | None = None) -> AccessPage:
    """Who looked at this case, newest first (refused attempts included)."""
    check_log_reader(actor)
    return _page(database_url, (col(AccessRecord.subject_id) == subject_id) & (col(AccessRecord.kind) == kind),
                 limit, before)


def of_person(database_url: str, actor: Actor, username: str, *, limit: int = 50, before: int | None = None) -> AccessPage:
    """What this person opened, newest first."""
    check_log_reader(actor, username)
    with session(database_url) as s:
        known = s.get(User, username[:80]) is not None  # a disabled person's views stay visible
    if not known:
        raise NotFound(f"no person {username!r} uses the front door: give their username")
    return _page(database_url, col(AccessRecord.username) == username, limit, before)
