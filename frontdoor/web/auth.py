"""Who is asking: signed session cookies for people in a browser, bearer tokens for the API.

Every request names an authenticated Actor; each action is checked against
models/roles.PERMISSIONS here, and again by the workflow's validators.
"""

from __future__ import annotations

import hmac
import os
import secrets
from pathlib import Path

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from frontdoor import users
from frontdoor.config import Settings
from frontdoor.errors import FrontdoorError, NotFound, Unauthenticated
from models.roles import ROLE_NAMES, Actor, PermissionDenied, Role, require

DEMO_PASSWORD = "demo"
SESSION_COOKIE = "frontdoor_session"


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
    """FRONTDOOR_SECRET_KEY, else a key generated once and kept in var_dir/secret.key."""
    from_env = os.environ.get("FRONTDOOR_SECRET_KEY")
    if from_env:
        return from_env
    path: Path = settings.var_dir / "secret.key"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key


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
    token = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


def verify_csrf(request: Request, submitted: object) -> None:
    expected = request.session.get("csrf")
    if not expected or not isinstance(submitted, str) or not hmac.compare_digest(expected, submitted):
        raise CsrfFailed("the form expired or did not come from this site: reload the page and try again")


async def sign_in(request: Request, username: str, password: str) -> Actor | None:
    settings: Settings = request.app.state.settings
    actor = await run_in_threadpool(users.authenticate, settings.database_url, username, password)
    if actor is not None:
        request.session.clear()
        request.session["user"] = actor.username
        request.session["csrf"] = secrets.token_urlsafe(32)
    return actor


def seed_demo_users(database_url: str, password: str = DEMO_PASSWORD) -> list[str]:
    """Create one demo user per role (users.DEMO_USERS) unless they exist. Returns lines to print."""
    existing = {u.username for u in users.list_users(database_url)}
    lines = []
    for username, role in users.DEMO_USERS.items():
        if username in existing:
            lines.append(f"  {username:<6} {ROLE_NAMES[Role(role)]:<28} (already there; password unchanged)")
            continue
        token = users.add_user(database_url, username, role, username.capitalize(), password)
        lines.append(f"  {username:<6} {ROLE_NAMES[Role(role)]:<28} password '{password}'  API token {token}")
    return lines
