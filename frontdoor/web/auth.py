"""Who is asking: server-side sessions for people in a browser, bearer tokens for the API.

Every request names an authenticated Actor; each action is checked against
models/roles.PERMISSIONS here, and again by the workflow's validators. Sign-in is
throttled per person and per address (frontdoor/sessions.py).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from frontdoor import sessions, users
from frontdoor.config import Settings
from frontdoor.errors import FrontdoorError, NotFound, Unauthenticated
from frontdoor.web.sessions import SESSION_COOKIE as SESSION_COOKIE  # where it was before
from frontdoor.web.sessions import session_state
from models.roles import ROLE_NAMES, Actor, PermissionDenied, Role, require

DEMO_PASSWORD = "demo"


class Forbidden(FrontdoorError):
    status = 403


class SignInRequired(Exception):
    """A page needs a signed-in person: the app answers with a redirect to the sign-in form."""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


class CsrfFailed(FrontdoorError):
    status = 403


def secret_key(settings: Settings) -> str:
    """FRONTDOOR_SECRET_KEY(_FILE), else a key generated once in var_dir/secret.key (config.py)."""
    return settings.web_secret_key


def check(actor: Actor, action: str) -> None:
    """Raise Forbidden (403) naming who may do the action."""
    try:
        require(actor, action)
    except PermissionDenied as exc:
        raise Forbidden(str(exc)) from None


def check_role(actor: Actor, roles: frozenset[Role], doing: str) -> None:
    """Raise Forbidden (403) unless the person's role is one of `roles` (an action's, from its table)."""
    if actor.role not in roles:
        allowed = ", ".join(ROLE_NAMES[r].lower() for r in sorted(roles)) or "nobody"
        raise Forbidden(f"{actor.username} ({actor.role.value}) may not {doing}: only {allowed} may")


# ------------------------------------------------------------------ API: bearer tokens
async def api_actor(request: Request) -> Actor:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated(
            "send an API token as 'Authorization: Bearer TOKEN'; "
            "an administrator issues one with `frontdoor users add NAME --role ROLE`"
        )
    settings: Settings = request.app.state.settings
    return await run_in_threadpool(users.actor_for_token, settings.database_url, token.strip())


def api_permission(action: str):  # type: ignore[no-untyped-def]
    """A dependency: the bearer's actor, allowed to do `action`."""

    async def dependency(request: Request) -> Actor:
        actor = await api_actor(request)
        check(actor, action)
        return actor

    dependency.__name__ = f"may_{action}"
    return dependency


def api_roles(roles: frozenset[Role], doing: str):  # type: ignore[no-untyped-def]
    """A dependency: the bearer's actor, whose role is one of `roles`."""

    async def dependency(request: Request) -> Actor:
        actor = await api_actor(request)
        check_role(actor, roles, doing)
        return actor

    dependency.__name__ = "may_" + "_".join(doing.lower().split())
    return dependency


# ------------------------------------------------------------------ pages: sessions
async def page_actor(request: Request) -> Actor:
    username = request.session.get("user")
    if not username:
        raise SignInRequired(str(request.url.path))
    settings: Settings = request.app.state.settings
    try:
        return await run_in_threadpool(users.actor_for, settings.database_url, username)
    except NotFound:
        request.session.clear()
        raise SignInRequired(str(request.url.path)) from None


def csrf_token(request: Request) -> str:
    """The token forms carry: kept in a signed-in session; for a visitor who is not signed
    in (the sign-in form), derived from their session id, so no row is stored for them."""
    token = request.session.get("csrf")
    if token:
        return str(token)
    if request.session.get("user"):
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
        return token
    return _visitor_csrf(request)


def _visitor_csrf(request: Request) -> str:
    state = session_state(request.scope)
    state.used = True
    settings: Settings = request.app.state.settings
    return hmac.new(settings.web_secret_key.encode(), b"csrf:" + state.session_id.encode(), hashlib.sha256).hexdigest()


def verify_csrf(request: Request, submitted: object) -> None:
    expected = request.session.get("csrf") or _visitor_csrf(request)
    if not isinstance(submitted, str) or not hmac.compare_digest(str(expected), submitted):
        raise CsrfFailed("the form expired or did not come from this site: reload the page and try again")


async def sign_in(request: Request, username: str, password: str) -> Actor | None:
    """Check the password (throttled per person and per address: sessions.Throttled, a 429
    saying when to try again) and start a new session with a fresh id."""
    settings: Settings = request.app.state.settings
    address = request.client.host if request.client else None
    actor = await run_in_threadpool(sessions.sign_in, settings, username[:80], password[:users.MAX_PASSWORD], address)
    if actor is not None:
        request.session.clear()
        request.session["user"] = actor.username
        request.session["csrf"] = secrets.token_urlsafe(32)
        session_state(request.scope).rotate = True
    return actor


def seed_demo_users(database_url: str, password: str = DEMO_PASSWORD) -> list[str]:
    """Create one demo user per role (users.DEMO_USERS) unless they exist. Returns lines to
    print, which never hold a token. Only `frontdoor run` seeds them; their password 'demo'
    is exempt from the password policy (the only exemption)."""
    existing = {u.username for u in users.list_users(database_url)}
    lines = []
    for username, role in users.DEMO_USERS.items():
        if username in existing:
            lines.append(f"  {username:<6} {ROLE_NAMES[Role(role)]:<28} (already there; password unchanged)")
            continue
        users.create_user(database_url, username, role, username.capitalize(), password, check_policy=False,
                          team=users.DEMO_TEAMS.get(username))
        lines.append(f"  {username:<6} {ROLE_NAMES[Role(role)]:<28} password '{password}'")
    return lines
