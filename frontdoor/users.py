"""People who use the front door: a username, a role, and an API token (stored hashed)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime

from sqlmodel import select

from frontdoor.errors import FrontdoorError, NotFound, Unauthenticated
from models.database import session
from models.roles import Actor, Role
from models.tables import User

DEMO_USERS = {
    "rita": Role.RFS_OFFICER,
    "sam": Role.SOCIAL_WORKER,
    "erin": Role.EARLY_HELP_ADVISER,
    "sana": Role.SENIOR_ADVISER,
    "tom": Role.TEAM_MANAGER,
    "maya": Role.SERVICE_MANAGER,
}


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def hash_password(password: str, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1)
    return f"scrypt${salt.hex()}${digest.hex()}"


def check_password(password: str, stored: str | None) -> bool:
    if not stored or not stored.startswith("scrypt$"):
        return False
    _, salt_hex, digest_hex = stored.split("$")
    digest = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt_hex), n=2**14, r=8, p=1)
    return hmac.compare_digest(digest.hex(), digest_hex)


def add_user(database_url: str, username: str, role: Role | str, display_name: str = "", password: str | None = None) -> str:
    """Create a user and return a new API token (shown once)."""
    role = Role(role)
    token = f"fd_{secrets.token_urlsafe(24)}"
    with session(database_url) as s:
        if s.get(User, username) is not None:
            raise FrontdoorError(f"user {username} exists already; revoke and re-add, or pick another name")
        s.add(
            User(
                username=username, display_name=display_name or username, role=role.value,
                token_hash=_hash(token), password_hash=hash_password(password) if password else None,
                created_at=datetime.now(UTC),
            )
        )
        s.commit()
    return token


def new_token(database_url: str, username: str) -> str:
    token = f"fd_{secrets.token_urlsafe(24)}"
    with session(database_url) as s:
        user = s.get(User, username)
        if user is None:
            raise NotFound(f"no user {username}")
        user.token_hash = _hash(token)
        s.add(user)
        s.commit()
    return token


def revoke_token(database_url: str, username: str) -> None:
    with session(database_url) as s:
        user = s.get(User, username)
        if user is None:
            raise NotFound(f"no user {username}")
        user.token_hash = None
        s.add(user)
        s.commit()


def list_users(database_url: str) -> list[User]:
    with session(database_url) as s:
        return list(s.exec(select(User).order_by(User.username)).all())


def actor_for(database_url: str, username: str) -> Actor:
    with session(database_url) as s:
        user = s.get(User, username)
    if user is None or not user.active:
        raise NotFound(f"no user {username}: add one with `frontdoor users add {username} --role ROLE`")
    return Actor(username=user.username, role=Role(user.role))


def actor_for_token(database_url: str, token: str) -> Actor:
    with session(database_url) as s:
        user = s.exec(select(User).where(User.token_hash == _hash(token), User.active == True)).first()  # noqa: E712
    if user is None:
        raise Unauthenticated("the API token is not valid (revoked or mistyped): ask for a new one")
    return Actor(username=user.username, role=Role(user.role))


def authenticate(database_url: str, username: str, password: str) -> Actor | None:
    with session(database_url) as s:
        user = s.get(User, username)
    if user is None or not user.active or not check_password(password, user.password_hash):
        return None
    return Actor(username=user.username, role=Role(user.role))
