"""Server-side sessions for the web app (replaces Starlette's cookie-held sessions).

The cookie carries only a random session id, signed with the web secret key; the data
lives in `web_sessions` (frontdoor/sessions.py). `request.session` works as before: a
handler that clears it (logout) ends the session for good, and a sign-in gets a fresh id
(no session fixation). A visitor who is not signed in has an id but no row: the CSRF
token of the sign-in form is derived from that id (frontdoor/web/auth.py).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from itsdangerous import BadSignature, Signer
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from frontdoor import sessions
from frontdoor.config import Settings

SESSION_COOKIE = "frontdoor_session"
STATE = "frontdoor.session"


@dataclass
class SessionState:
    session_id: str
    from_cookie: bool
    stored: bool
    before: str
    user_before: str | None
    last_seen_at: datetime | None
    used: bool = False  # the id was relied on (a derived CSRF token): the browser must keep it
    rotate: bool = False  # give the session a new id (set at sign-in)


def session_state(scope: Scope) -> SessionState:
    state = scope.get(STATE)
    if not isinstance(state, SessionState):
        raise RuntimeError("ServerSessions middleware is not installed")
    return state


def secure_request(settings: Settings, scope: Scope) -> bool:
    """Secure cookies (and HSTS): as set, or when the request came over https (directly, or
    through a trusted proxy's X-Forwarded-Proto, which uvicorn applies)."""
    if settings.secure_cookies is not None:
        return settings.secure_cookies
    return scope.get("scheme") in ("https", "wss")


class ServerSessions:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self.signer = Signer(settings.web_secret_key, salt="frontdoor.session", digest_method=hashlib.sha256)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        settings = self.settings
        now = datetime.now(UTC)
        session_id = self._from_cookie(HTTPConnection(scope).cookies.get(SESSION_COOKIE))
        loaded = await run_in_threadpool(sessions.load, settings, session_id, now) if session_id else None
        data: dict[str, Any] = loaded.data if loaded else {}
        state = SessionState(
            session_id=session_id or sessions.new_id(), from_cookie=session_id is not None, stored=loaded is not None,
            before=_canonical(data), user_before=data.get("user"), last_seen_at=loaded.last_seen_at if loaded else None,
        )
        scope["session"] = data
        scope[STATE] = state
        client = scope.get("client")
        address = client[0] if client else None

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                cookie = await self._settle(scope, state, address)
                if cookie is not None:
                    MutableHeaders(scope=message).append("set-cookie", cookie)
            await send(message)

        await self.app(scope, receive, send_wrapper)

    def _from_cookie(self, raw: str | None) -> str | None:
        if not raw or len(raw) > 200:
            return None
        try:
            return self.signer.unsign(raw).decode()
        except BadSignature:
            return None

    async def _settle(self, scope: Scope, state: SessionState, address: str | None) -> str | None:
        """Store what the request did to the session; return the Set-Cookie value, if any."""
        settings, now = self.settings, datetime.now(UTC)
        data: dict[str, Any] = scope["session"]
        if not data:
            if state.stored:  # logged out, or the session was cleared
                await run_in_threadpool(sessions.end, settings, state.session_id)
                return self._cookie(scope, None)
            if state.used and not state.from_cookie:
                return self._cookie(scope, state.session_id)
            return None
        if state.rotate or data.get("user") != state.user_before:
            if state.stored:
                await run_in_threadpool(sessions.end, settings, state.session_id)
            state.session_id = sessions.new_id()
            await run_in_threadpool(sessions.save, settings, state.session_id, data, now, address)
            return self._cookie(scope, state.session_id)
        if not state.stored or _canonical(data) != state.before:
            await run_in_threadpool(sessions.save, settings, state.session_id, data, now, address)
            return None if state.from_cookie else self._cookie(scope, state.session_id)
        if state.last_seen_at is None or now - state.last_seen_at > sessions.TOUCH_EVERY:
            await run_in_threadpool(sessions.touch, settings, state.session_id, now)
        return None

    def _cookie(self, scope: Scope, session_id: str | None) -> str:
        parts = [f"{SESSION_COOKIE}={self.signer.sign(session_id).decode() if session_id else ''}", "Path=/"]
        if session_id:
            parts.append(f"Max-Age={int(self.settings.session_max.total_seconds())}")
        else:
            parts += ["Max-Age=0", "Expires=Thu, 01 Jan 1970 00:00:00 GMT"]
        parts += ["HttpOnly", "SameSite=lax"]
        if secure_request(self.settings, scope):
            parts.append("Secure")
        return "; ".join(parts)


def _canonical(data: dict[str, Any]) -> str:
    return json.dumps(data, sort_keys=True, default=str)
