"""Lists of open cases and what is stuck: each is one Temporal visibility query.

Never a loop over workflows: counts use count_workflows, lists page through
list_workflows to their end with a page token; every row comes from search attributes
alone (no personal data). Each process declares its stuck lists and list views beside its
workflow; the two technical ones (activities failing, workflow code failing) are here.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from temporalio.client import Client, WorkflowExecution

from frontdoor.errors import InvalidInput
from models.roles import ROLE_NAMES
from workflows import search_attributes as sa
from workflows import stuck_lists
from workflows.process import ListView, Process, StuckList
from workflows.registry import BY_KIND

MAX_PAGE = 500
T = TypeVar("T")
# the catalogue lives beside the workflows, so the hourly stuck snapshot asks the same queries
KINDS: dict[str, StuckList] = stuck_lists.KINDS
TECHNICAL = stuck_lists.TECHNICAL
OPEN = stuck_lists.OPEN


@dataclass
class Row:
    """One case as visibility shows it: ids and state, no personal data."""

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
    ref: str | None = None  # a consultation's reference, an early help case's origin contact

    @property
    def waits_on(self) -> str:
        """Whose move it is at this stage: the roles of the actions made for it (not the
        person who last acted, who may be done: a recommendation waits on the managers)."""
        proc = BY_KIND.get(self.kind)
        if proc is None or self.stage is None:
            return ""
        roles = {r for a in proc.actions if a.stages and self.stage in a.stages for r in a.roles}
        return ", ".join(ROLE_NAMES[r].lower() for r in sorted(roles))

    @property
    def overdue(self) -> bool:
        return any(f.endswith("_overdue") for f in self.flags) or bool(
            self.due_at and self.due_at <= datetime.now(UTC)
        )

    def as_dict(self) -> dict[str, Any]:
        iso = lambda m: m.isoformat() if m else None  # noqa: E731
        return {
            "id": self.id, "workflow_id": self.workflow_id, "kind": self.kind, "stage": self.stage,
            "since": iso(self.since), "holder": self.holder, "due_at": iso(self.due_at),
            "received_at": iso(self.received_at), "flags": self.flags, "priority": self.priority,
            "route": self.route, "fault": self.fault, "ref": self.ref, "overdue": self.overdue,
            "waits_on": self.waits_on,
        }


def row_from(execution: WorkflowExecution) -> Row:
    attrs = execution.typed_search_attributes
    return Row(
        workflow_id=execution.id,
        id=attrs.get(sa.SUBJECT) or execution.id,  # a workflow started before FdSubject shows its workflow id
        kind=attrs.get(sa.KIND) or "",
        stage=attrs.get(sa.STAGE),
        since=attrs.get(sa.SINCE) or execution.start_time,
        holder=attrs.get(sa.HOLDER),
        due_at=attrs.get(sa.DUE),
        received_at=attrs.get(sa.RECEIVED) or execution.start_time,
        flags=list(attrs.get(sa.FLAGS) or []),
        priority=attrs.get(sa.PRIORITY),
        route=attrs.get(sa.ROUTE),
        fault=attrs.get(sa.FAULT),
        ref=attrs.get(sa.REF),
    )


# ------------------------------------------------------------------ queries
def query_for(name: str, within: timedelta = timedelta(hours=4), now: datetime | None = None) -> str:
    if name not in KINDS:
        raise ValueError(f"unknown stuck list {name!r}; one of {', '.join(KINDS)}")
    return KINDS[name].query(now or datetime.now(UTC), within)


def cases_query(proc: Process, *, stage: str | None = None, flag: str | None = None, open_only: bool = True,
                where: str = "") -> str:
    """A process's cases; stage and flag are checked against the process's values by the callers."""
    query = f"FdKind = '{proc.kind}'" + (f" AND {OPEN}" if open_only else "")
    if stage:
        query += f" AND FdStage = '{stage}'"
    if flag:
        query += f" AND FdFlags = '{flag}'"
    if where:
        query += f" AND {where}"
    return query


def view_query(proc: Process, view: ListView) -> str:
    return cases_query(proc, where=view.where)


# ------------------------------------------------------------------ running them
def token_key(secret: str) -> bytes:
    """The key page tokens are signed with, from FRONTDOOR_SECRET_KEY: the API, the pages and
    the CLI of one deployment accept each other's tokens."""
    return hashlib.sha256(b"page-token:" + secret.encode()).digest()


def encode_token(token: bytes | None, key: bytes) -> str | None:
    """A page token for a caller: Temporal's token and a MAC, so only tokens we gave out come back."""
    if not token:
        return None
    mac = hmac.new(key, token, hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(mac + token).decode()


def decode_token(text: str | None, key: bytes) -> bytes | None:
    if not text:
        return None
    try:
        raw = base64.urlsafe_b64decode(text.encode())
    except (binascii.Error, ValueError):
        raw = b""
    mac, token = raw[:16], raw[16:]
    if not token or not hmac.compare_digest(mac, hmac.new(key, token, hashlib.sha256).digest()[:16]):
        message = "page_token is not one this server gave out: start again without it"
        raise InvalidInput(message, [{"field": "page_token", "message": message}])
    return token


async def count(client: Client, name: str, within: timedelta = timedelta(hours=4)) -> int:
    return (await client.count_workflows(query_for(name, within))).count


# How many of one page's visibility queries are in flight at once unless told
# (settings.stuck_queries_at_once): the supervisor's page asks every list (about twenty).
AT_ONCE = 1


async def each_list(names: Iterable[str], ask: Callable[[str], Awaitable[T]],
                    at_once: int | None = None) -> dict[str, T | Exception]:
    """`ask(name)` for every list, at most `at_once` (AT_ONCE) in flight, in the names' order; a
    list whose query fails gives its exception, so the others still show."""
    gate = asyncio.Semaphore(at_once or AT_ONCE)

    async def one(name: str) -> T | Exception:
        async with gate:
            try:
                return await ask(name)
            except Exception as exc:  # noqa: BLE001 (a cluster without an attribute: say so, show the rest)
                return exc

    names = list(names)
    return dict(zip(names, await asyncio.gather(*(one(n) for n in names)), strict=True))


async def counts(client: Client, names: Iterable[str], within: timedelta = timedelta(hours=4),
                 at_once: int | None = None) -> dict[str, int | Exception]:
    """Every named list's count (`each_list`)."""
    return await each_list(names, lambda name: count(client, name, within), at_once)


async def page_of(client: Client, query: str, *, page_size: int = 50,
                  next_page_token: bytes | None = None) -> tuple[list[Row], bytes | None]:
    """One page of rows and the token for the next (None at the end). Visibility does not
    promise an order: callers sort the page."""
    iterator = client.list_workflows(query, page_size=min(page_size, MAX_PAGE), next_page_token=next_page_token)
    await iterator.fetch_next_page(page_size=min(page_size, MAX_PAGE))
    rows = [row_from(e) for e in iterator.current_page or []]
    return rows, iterator.next_page_token


async def page(client: Client, name: str, within: timedelta = timedelta(hours=4), *, page_size: int = 50,
               next_page_token: bytes | None = None) -> tuple[list[Row], bytes | None]:
    return await page_of(client, query_for(name, within), page_size=page_size, next_page_token=next_page_token)


async def pages(client: Client, query: str, *, page_size: int = MAX_PAGE,
                next_page_token: bytes | None = None) -> AsyncIterator[tuple[list[Row], bytes | None]]:
    """Every page of a query to its end (or from a token to its end), each with the token
    of the page after it: a list of any length, never held whole."""
    token = next_page_token
    while True:
        rows, token = await page_of(client, query, page_size=page_size, next_page_token=token)
        yield rows, token
        if token is None:
            return


async def list_rows(client: Client, query: str, limit: int = 200) -> list[Row]:
    return [row_from(e) async for e in client.list_workflows(query, limit=limit)]
