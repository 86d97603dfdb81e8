"""Server-side web sessions and sign-in throttling, kept in the case record's database so
that several web processes share them.

A session is a row keyed by the SHA-256 of a random id; the browser's cookie holds only
that id (signed). Logout, disabling the person, an idle timeout and an absolute lifetime
each remove the row, after which the cookie opens nothing.

Sign-in failures are counted per person and per address over a window; at the limit the
next attempt is refused, without checking the password, until a time the message gives.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, update
from sqlmodel import col, select

from frontdoor import users
from frontdoor.config import Settings
from frontdoor.errors import FrontdoorError
from models.database import session
from models.roles import Actor
from models.tables import SignInFailure, WebSession

TOUCH_EVERY = timedelta(seconds=30)  # how stale last_seen_at may get before a request writes it


def new_id() -> str:
    return secrets.token_urlsafe(32)


def id_hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


@dataclass
class Loaded:
    data: dict[str, Any]
    last_seen_at: datetime


def load(settings: Settings, session_id: str, now: datetime) -> Loaded | None:
    """The session's data, or None when there is none or it has run out (then it is removed)."""
    with session(settings.database_url) as s:
        row = s.get(WebSession, id_hash(session_id))
        if row is None:
            return None
        idle = now - _utc(row.last_seen_at) > settings.session_idle
        old = now - _utc(row.created_at) > settings.session_max
        if idle or old:
            s.delete(row)
            s.commit()
            return None
        return Loaded(dict(row.data or {}), _utc(row.last_seen_at))


def save(settings: Settings, session_id: str, data: dict[str, Any], now: datetime, address: str | None) -> None:
    """Create or replace the session's data (and mark it used now)."""
    with session(settings.database_url) as s:
        row = s.get(WebSession, id_hash(session_id))
        if row is None:
            row = WebSession(id_hash=id_hash(session_id), created_at=now, last_seen_at=now, address=(address or "")[:64] or None)
        row.data = data
        row.username = data.get("user")
        row.last_seen_at = now
        s.add(row)
        s.commit()
    if secrets.randbelow(200) == 0:  # now and then, clear out sessions nobody came back to
        purge(settings, now)


def touch(settings: Settings, session_id: str, now: datetime) -> None:
    with session(settings.database_url) as s:
        s.execute(update(WebSession).where(col(WebSession.id_hash) == id_hash(session_id)).values(last_seen_at=now))
        s.commit()


def end(settings: Settings, session_id: str) -> None:
    with session(settings.database_url) as s:
        s.execute(delete(WebSession).where(col(WebSession.id_hash) == id_hash(session_id)))
        s.commit()


def purge(settings: Settings, now: datetime) -> None:
    with session(settings.database_url) as s:
        s.execute(delete(WebSession).where(
            (col(WebSession.last_seen_at) < now - settings.session_idle) | (col(WebSession.created_at) < now - settings.session_max)
        ))
        s.commit()


def count_for(settings: Settings, username: str) -> int:
    with session(settings.database_url) as s:
        return int(s.exec(select(func.count()).select_from(WebSession).where(WebSession.username == username)).one())


# ------------------------------------------------------------------ sign-in throttling
class Throttled(FrontdoorError):
    status = 429

    def __init__(self, until: datetime, timezone: str) -> None:
        local = until.astimezone(ZoneInfo(timezone))
        # round up to the minute shown, so "try again at" is never too early
        shown = local.replace(second=0, microsecond=0) + timedelta(minutes=1 if local.second or local.microsecond else 0)
        super().__init__(
            "Too many failed sign-ins for this account or from this address. "
            f"Try again at {shown:%H:%M}, or ask your administrator to check the account."
        )
        self.until = until


def _keys(username: str, address: str | None) -> list[tuple[str, str]]:
    return [("person", f"person:{username.strip().lower()[:80]}"), ("address", f"address:{(address or 'unknown')[:64]}")]


def locked_until(settings: Settings, username: str, address: str | None, now: datetime) -> datetime | None:
    """When the person or the address may try again, if either has used up its failures."""
    limits = {"person": settings.signin_per_person, "address": settings.signin_per_address}
    since = now - settings.signin_window
    until: datetime | None = None
    with session(settings.database_url) as s:
        for kind, key in _keys(username, address):
            recent = s.exec(
                select(SignInFailure.at).where(SignInFailure.key == key, col(SignInFailure.at) > since)
                .order_by(col(SignInFailure.at).desc()).limit(limits[kind])
            ).all()
            if len(recent) >= limits[kind]:
                free_at = _utc(recent[-1]) + settings.signin_window
                until = free_at if until is None else max(until, free_at)
    return until


def record_failure(settings: Settings, username: str, address: str | None, now: datetime) -> None:
    with session(settings.database_url) as s:
        for _kind, key in _keys(username, address):
            s.add(SignInFailure(key=key, at=now))
        s.execute(delete(SignInFailure).where(col(SignInFailure.at) < now - settings.signin_window))
        s.commit()


def clear_person(settings: Settings, username: str) -> None:
    key = _keys(username, None)[0][1]
    with session(settings.database_url) as s:
        s.execute(delete(SignInFailure).where(col(SignInFailure.key) == key))
        s.commit()


def sign_in(settings: Settings, username: str, password: str, address: str | None, now: datetime | None = None) -> Actor | None:
    """Check a password, unless the person or the address is throttled (raises Throttled).
    The password hash runs for unknown names too, so timing does not tell who exists."""
    now = now or datetime.now(UTC)
    until = locked_until(settings, username, address, now)
    if until is not None and until > now:
        raise Throttled(until, settings.timezone)
    actor = users.authenticate(settings.database_url, username, password)
    if actor is None:
        record_failure(settings, username, address, now)
    else:
        clear_person(settings, username)
    return actor
