"""More than one of each (issue 13 §4): the peak day's people through N web processes.

`bench/peak_day.py --web N` starts N `frontdoor web` processes on free 127.0.0.1 ports,
all with the same FRONTDOOR_SECRET_KEY, signing key and codec key as the workers, makes
the day's people (rita, sam, tom) users with API tokens, and has them act through HTTP,
round-robin across the web processes (`HttpDesk`), instead of frontdoor.processes
directly (`DirectDesk`). `closure_check` reads the case record at the end: every contact
in its expected terminal state, no handoff twice, no message twice.
"""

from __future__ import annotations

import asyncio
import itertools
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
from harness import Stack, free_port
from sqlalchemy import func
from sqlmodel import col, select
from temporalio.client import Client

from frontdoor import processes, users
from frontdoor.config import Settings, format_duration
from frontdoor.stack import wait_for_port
from models.contact import Contact
from models.database import init_db, session
from models.roles import Actor, Role
from models.state import ContactState
from models.tables import ActionRecord, HandoffRecord, OutboxMessage
from workflows.contact import PROCESS as CONTACT

PEOPLE = {"rita": Role.RFS_OFFICER, "sam": Role.SOCIAL_WORKER, "tom": Role.TEAM_MANAGER}
TEAM = "spa-east"


class DirectDesk:
    """The people act through frontdoor.processes (the client layer), in this process."""

    label = "frontdoor.processes in the benchmark's process"

    def __init__(self, client: Client, settings: Settings) -> None:
        self.client, self.settings = client, settings

    async def start(self, contact: Contact, actor: Actor) -> None:
        await processes.start(self.client, self.settings, CONTACT, contact, actor)

    async def act(self, cid: str, name: str, payload: dict[str, Any]) -> ContactState:
        return await processes.act(self.client, CONTACT, cid, name, payload)  # type: ignore[no-any-return]

    async def state(self, cid: str) -> ContactState:
        return await processes.get_state(self.client, CONTACT, cid)  # type: ignore[no-any-return]

    async def close(self) -> None:
        return None


class HttpDesk:
    """The people act through the JSON API of several web processes, round-robin, each
    signed in with their own API token (the actor comes from the token, never the body)."""

    def __init__(self, bases: list[str], tokens: dict[str, str], timeout: float = 60) -> None:
        self.bases = bases
        self.tokens = tokens
        self.next_base = itertools.cycle(range(len(bases)))
        self.http = httpx.AsyncClient(timeout=timeout, limits=httpx.Limits(max_connections=200))
        self.per_base: Counter[str] = Counter()
        self.label = f"HTTP round-robin across {len(bases)} web process(es): {', '.join(bases)}"

    def _url(self, path: str) -> str:
        base = self.bases[next(self.next_base)]
        self.per_base[base] += 1
        return base + path

    def _headers(self, username: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[username]}"}

    async def _send(self, method: str, path: str, username: str, body: Any = None) -> httpx.Response:
        resp = await self.http.request(method, self._url(path), headers=self._headers(username), json=body)
        if resp.status_code >= 400:
            raise RuntimeError(f"{method} {path} as {username}: HTTP {resp.status_code} {resp.text[:200]}")
        return resp

    async def start(self, contact: Contact, actor: Actor) -> None:
        await self._send("POST", f"/api/{CONTACT.path}", actor.username, contact.model_dump(mode="json"))

    async def act(self, cid: str, name: str, payload: dict[str, Any]) -> ContactState:
        actor: Actor = payload["actor"]
        body = {k: v for k, v in payload.items() if k != "actor"}
        resp = await self._send("POST", f"/api/{CONTACT.path}/{cid}/{name}", actor.username, body)
        if resp.status_code == 202:  # taken, still being carried out: read the state when it is done
            return await self.state(cid, actor.username)
        return ContactState.model_validate(resp.json())

    async def state(self, cid: str, username: str = "sam") -> ContactState:
        resp = await self._send("GET", f"/api/{CONTACT.path}/{cid}", username)
        return ContactState.model_validate(resp.json())

    async def close(self) -> None:
        await self.http.aclose()


def timescale_env(settings: Settings) -> dict[str, str]:
    """The scaled timescales as the environment a web process reads them from (it starts contacts)."""
    ts = settings.timescales
    return {
        "FRONTDOOR_DECISION_DEADLINE": f"{ts.decision_deadline.total_seconds()}s",
        "FRONTDOOR_URGENT_PICKUP": f"{ts.urgent_pickup.total_seconds()}s",
        "FRONTDOOR_MAP_RESPONSE_DUE": f"{ts.map_response_due.total_seconds()}s",
    }


def people_tokens(database_url: str, label: str) -> dict[str, str]:
    """The day's people as users (created once in a reused database) with a fresh token each."""
    init_db(database_url)
    tokens: dict[str, str] = {}
    for username, role in PEOPLE.items():
        if users.person(database_url, username) is None:
            users.create_user(database_url, username, role, team=TEAM)
        users.revoke_tokens(database_url, username)  # earlier runs' tokens (at most MAX_TOKENS each)
        tokens[username] = users.issue_token(database_url, username, label)
    return tokens


async def start_web(stack: Stack, settings: Settings, n: int) -> list[str]:
    """N `frontdoor web` processes on free 127.0.0.1 ports, every one with the workers' keys."""
    bases = []
    taken: set[int] = set()
    for i in range(1, n + 1):
        port = free_port(taken)
        taken.add(port)
        env = stack.worker_env(settings) | timescale_env(settings) | {
            "FRONTDOOR_WEB_HOST": "127.0.0.1", "FRONTDOOR_WEB_PORT": str(port),
            "FRONTDOOR_ACTION_TIMEOUT": format_duration(settings.action_timeout),
        }
        proc = stack.start(f"web-{i}", [sys.executable, "-m", "frontdoor.cli", "web"], env)
        wait_for_port("127.0.0.1", port, 60, proc)
        bases.append(f"http://127.0.0.1:{port}")
    async with httpx.AsyncClient(timeout=10) as http:  # the app answers (not just the socket)
        for base in bases:
            deadline = time.monotonic() + 60
            while (await http.get(base + "/openapi.json")).status_code != 200:
                if time.monotonic() > deadline:
                    raise SystemExit(f"{base} did not answer /openapi.json within 60 s")
                await asyncio.sleep(0.3)
    return bases


@dataclass
class Closure:
    """What the case record says about one day's contacts once they are done."""

    contacts: int = 0
    final: Counter[str] = field(default_factory=Counter)  # "route -> stage"
    unexpected: list[str] = field(default_factory=list)
    handoffs: int = 0
    handoff_twice: list[str] = field(default_factory=list)
    handed_off_trail_twice: list[str] = field(default_factory=list)
    messages: int = 0
    message_twice: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.unexpected or self.handoff_twice or self.handed_off_trail_twice or self.message_twice)

    def lines(self) -> list[str]:
        verdict = "OK" if self.ok else "FAILED"
        return [
            f"  correctness ({verdict}): {self.contacts} contacts; final stages "
            + ", ".join(f"{k} {v}" for k, v in sorted(self.final.items())),
            f"    not in their expected terminal state: {len(self.unexpected)} {self.unexpected[:5]}",
            f"    handoffs {self.handoffs}; contacts handed off twice: {len(self.handoff_twice)} {self.handoff_twice[:5]}; "
            f"'handed_off' twice in a trail: {len(self.handed_off_trail_twice)}",
            f"    messages {self.messages}; an idempotency key twice: {len(self.message_twice)} {self.message_twice[:5]}",
        ]


def closure_check(database_url: str, finals: dict[str, tuple[str, str]], expected: dict[str, set[str]]) -> Closure:
    """`finals`: contact id -> (route, final stage from the workflow's result); `expected`:
    route -> the stages it may end in. Reads handoffs, trail and outbox for these contacts only
    (a reused PostgreSQL database holds earlier runs)."""
    out = Closure(contacts=len(finals))
    for cid, (route, stage) in finals.items():
        out.final[f"{route} -> {stage}"] += 1
        if stage not in expected.get(route, set()):
            out.unexpected.append(f"{cid} ({route}) at {stage}")
    ids = list(finals)
    with session(database_url) as s:
        for i in range(0, len(ids), 500):
            chunk = ids[i:i + 500]
            rows = s.exec(select(HandoffRecord.contact_id, func.count()).where(col(HandoffRecord.contact_id).in_(chunk))
                          .group_by(HandoffRecord.contact_id)).all()
            out.handoffs += sum(n for _, n in rows)
            out.handoff_twice += [c for c, n in rows if n > 1]
            trail = s.exec(select(ActionRecord.subject_id, func.count()).where(col(ActionRecord.subject_id).in_(chunk))
                           .where(ActionRecord.action == "handed_off").group_by(ActionRecord.subject_id)).all()
            out.handed_off_trail_twice += [c for c, n in trail if n > 1]
            keys = s.exec(select(OutboxMessage.idempotency_key, func.count()).where(col(OutboxMessage.subject_id).in_(chunk))
                          .group_by(OutboxMessage.idempotency_key)).all()
            out.messages += sum(n for _, n in keys)
            out.message_twice += [k for k, n in keys if n > 1]
    return out
