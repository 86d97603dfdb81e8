"""People who use the front door: a username, a role, a password (scrypt) and named API
tokens (stored hashed, several per person, each revocable). Disabling a person ends their
sessions and revokes their tokens."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

from sqlalchemy import delete, update
from sqlmodel import Session, col, select

from frontdoor.errors import FrontdoorError, NotFound, Unauthenticated
from models.database import session
from models.roles import Actor, Role
from models.tables import ApiToken, User, WebSession

DEMO_USERS = {
    "rita": Role.RFS_OFFICER,
    "sam": Role.SOCIAL_WORKER,
    "erin": Role.EARLY_HELP_ADVISER,
    "sana": Role.SENIOR_ADVISER,
    "tom": Role.TEAM_MANAGER,
    "maya": Role.SERVICE_MANAGER,
    "pat": Role.POLICE_PARTNER,
    "hana": Role.HEALTH_PARTNER,
    # two more first-line managers: an audit is by a manager who did not decide the case, and
    # its re-audit by a different one
    "tess": Role.TEAM_MANAGER,
    "tariq": Role.TEAM_MANAGER,
}
DEMO_TEAMS = {"rita": "spa-east", "sam": "spa-east", "tom": "spa-east", "erin": "early-help", "sana": "early-help",
              "tess": "spa-west", "tariq": "early-help", "maya": "front-door"}
MIN_PASSWORD = 12
MAX_PASSWORD = 256
MAX_TOKENS = 20
_USERNAME = re.compile(r"^[A-Za-z0-9._@-]{1,80}$")
_LABEL = re.compile(r"^[A-Za-z0-9 ._-]{1,60}$")
_TEAM = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
WEAK_PASSWORDS = Path(__file__).resolve().parent / "weak_passwords.txt"


class WeakPassword(FrontdoorError):
    status = 422


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC)


# ------------------------------------------------------------------ passwords
def _scrypt(password: str, salt: bytes) -> bytes:
    return hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1)


def hash_password(password: str, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    return f"scrypt${salt.hex()}${_scrypt(password, salt).hex()}"


@cache
def _decoy() -> str:
    """A hash to check against when there is no real one, so an unknown name costs the same."""
    return hash_password(secrets.token_urlsafe(16))


def check_password(password: str, stored: str | None) -> bool:
    """Always runs scrypt once: for a missing or unusable hash it checks a decoy and fails."""
    real = bool(stored and stored.startswith("scrypt$") and stored.count("$") == 2)
    _, salt_hex, digest_hex = (stored if real and stored else _decoy()).split("$")
    digest = _scrypt(password[:MAX_PASSWORD], bytes.fromhex(salt_hex))
    return hmac.compare_digest(digest.hex(), digest_hex) and real


@cache
def _weak_list() -> frozenset[str]:
    lines = WEAK_PASSWORDS.read_text().splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip() and not line.startswith("#"))


def _core(password: str) -> str:
    """The word at the heart of a password: 'Password2024!' -> 'password'."""
    return re.sub(r"^[\W\d_]+|[\W\d_]+$", "", password.lower()).replace(" ", "")


def password_problems(username: str, password: str, min_length: int = MIN_PASSWORD) -> list[str]:
    problems = []
    if len(password) < min_length:
        problems.append(f"it has {len(password)} characters: use at least {min_length} (three random words work well)")
    if len(password) > MAX_PASSWORD:
        problems.append(f"it is longer than {MAX_PASSWORD} characters")
    lowered = password.lower()
    if username and len(username) >= 3 and username.lower() in lowered.replace(" ", ""):
        problems.append("it contains the username")
    weak = _weak_list()
    if lowered in weak or lowered.replace(" ", "") in weak or _core(password) in weak:
        problems.append("it is on the list of passwords attackers try first")
    if password and len(set(password)) <= 2:
        problems.append("it repeats one or two characters")
    return problems


def check_password_policy(username: str, password: str, min_length: int = MIN_PASSWORD) -> None:
    problems = password_problems(username, password, min_length)
    if problems:
        raise WeakPassword("the password is too weak: " + "; ".join(problems))


# ------------------------------------------------------------------ people
def check_team(team: str | None) -> str | None:
    if team is None or team == "":
        return None
    if not _TEAM.match(team):
        raise FrontdoorError(f"team {team[:70]!r}: use 1-64 letters, digits, '.', '_' or '-' (e.g. spa-east)")
    return team


def create_user(
    database_url: str, username: str, role: Role | str, display_name: str = "", password: str | None = None,
    *, check_policy: bool = True, min_length: int = MIN_PASSWORD, team: str | None = None,
) -> None:
    """Add a person. The password policy applies unless `check_policy` is False, which only
    the demo seeding of `frontdoor run` uses (its people sign in with 'demo')."""
    role = Role(role)
    if not _USERNAME.match(username):
        raise FrontdoorError(f"username {username[:90]!r}: use 1-80 letters, digits, '.', '_', '@' or '-'")
    if password is not None and check_policy:
        check_password_policy(username, password, min_length)
    team = check_team(team)
    with session(database_url) as s:
        if s.get(User, username) is not None:
            raise FrontdoorError(f"user {username} exists already: pick another name, or see `frontdoor users list`")
        s.add(
            User(
                username=username, display_name=(display_name or username)[:200], role=role.value,
                password_hash=hash_password(password) if password else None, created_at=_now(), team=team,
            )
        )
        s.commit()


def add_user(
    database_url: str, username: str, role: Role | str, display_name: str = "", password: str | None = None,
    *, check_policy: bool = True, min_length: int = MIN_PASSWORD, team: str | None = None,
) -> str:
    """Create a person and return a first API token, labelled 'default' (shown once)."""
    create_user(database_url, username, role, display_name, password, check_policy=check_policy, min_length=min_length,
                team=team)
    return issue_token(database_url, username, "default")


def set_team(database_url: str, username: str, team: str | None) -> None:
    """Move a person to a team (None: no team). Caseloads and audit samples group by it."""
    team = check_team(team)
    with session(database_url) as s:
        user = _user(s, username)
        user.team = team
        s.add(user)
        s.commit()


def person(database_url: str, username: str) -> User | None:
    with session(database_url) as s:
        return s.get(User, username[:80])


def team_members(database_url: str, team: str) -> list[User]:
    with session(database_url) as s:
        return list(s.exec(select(User).where(User.team == team, User.active == True).order_by(User.username)).all())  # noqa: E712


def teams(database_url: str) -> list[str]:
    with session(database_url) as s:
        return sorted({t for t in s.exec(select(User.team).where(User.active == True)).all() if t})  # noqa: E712


def set_password(database_url: str, username: str, password: str, *, min_length: int = MIN_PASSWORD) -> None:
    """A new password (policy checked); the person's browser sessions end."""
    check_password_policy(username, password, min_length)
    with session(database_url) as s:
        user = _user(s, username)
        user.password_hash = hash_password(password)
        s.add(user)
        s.execute(delete(WebSession).where(col(WebSession.username) == username))
        s.commit()


def disable_user(database_url: str, username: str) -> tuple[int, int]:
    """Stop a person signing in or using the API at once. Returns (sessions ended, tokens revoked)."""
    with session(database_url) as s:
        user = _user(s, username)
        user.active = False
        s.add(user)
        ended = s.execute(delete(WebSession).where(col(WebSession.username) == username)).rowcount  # type: ignore[attr-defined]
        revoked = _revoke(s, username, None)
        s.commit()
    return int(ended or 0), revoked


def enable_user(database_url: str, username: str) -> None:
    """Let a disabled person back in; they need a new token (`frontdoor users token`)."""
    with session(database_url) as s:
        user = _user(s, username)
        user.active = True
        s.add(user)
        s.commit()


def list_users(database_url: str) -> list[User]:
    with session(database_url) as s:
        return list(s.exec(select(User).order_by(User.username)).all())


def _user(s: Session, username: str) -> User:
    user = s.get(User, username)
    if user is None:
        raise NotFound(f"no user {username}: see `frontdoor users list`")
    return user


def role_of(database_url: str, username: str) -> Role | None:
    """The role of an active person, or None when there is no such active person."""
    with session(database_url) as s:
        user = s.get(User, username[:80])
    return Role(user.role) if user is not None and user.active else None


def actor_for(database_url: str, username: str) -> Actor:
    with session(database_url) as s:
        user = s.get(User, username)
    if user is None or not user.active:
        raise NotFound(f"no user {username}: add one with `frontdoor users add {username} --role ROLE`")
    return Actor(username=user.username, role=Role(user.role))


def authenticate(database_url: str, username: str, password: str) -> Actor | None:
    """The person, if the password is theirs. The hash runs whether or not the name exists."""
    with session(database_url) as s:
        user = s.get(User, username[:80])
    stored = user.password_hash if user is not None and user.active else None
    if not check_password(password, stored) or user is None:
        return None
    return Actor(username=user.username, role=Role(user.role))


# ------------------------------------------------------------------ API tokens
def issue_token(database_url: str, username: str, label: str) -> str:
    """A new API token for the person, under a label of its own (shown once; stored hashed)."""
    if not _LABEL.match(label):
        raise FrontdoorError(f"token label {label[:70]!r}: use 1-60 letters, digits, spaces, '.', '_' or '-'")
    token = f"fd_{secrets.token_urlsafe(24)}"
    with session(database_url) as s:
        user = _user(s, username)
        if not user.active:
            raise FrontdoorError(f"{username} is disabled: `frontdoor users enable {username}` first")
        live = list(s.exec(select(ApiToken).where(ApiToken.username == username, col(ApiToken.revoked_at).is_(None))))
        if any(t.label == label for t in live):
            raise FrontdoorError(
                f"{username} already has a token labelled {label!r}: revoke it first "
                f"(`frontdoor users revoke {username} --label {label!r}`) or choose another label"
            )
        if len(live) >= MAX_TOKENS:
            raise FrontdoorError(f"{username} has {len(live)} tokens, the most allowed: revoke some first")
        s.add(ApiToken(username=username, label=label, token_hash=_hash(token), created_at=_now()))
        s.commit()
    return token


def new_token(database_url: str, username: str, label: str = "default") -> str:
    return issue_token(database_url, username, label)


def list_tokens(database_url: str, username: str) -> list[ApiToken]:
    with session(database_url) as s:
        _user(s, username)
        return list(s.exec(select(ApiToken).where(ApiToken.username == username).order_by(col(ApiToken.created_at))))


def _revoke(s: Session, username: str, label: str | None) -> int:
    query = update(ApiToken).where(col(ApiToken.username) == username, col(ApiToken.revoked_at).is_(None))
    if label is not None:
        query = query.where(col(ApiToken.label) == label)
    count = int(s.execute(query.values(revoked_at=_now())).rowcount or 0)  # type: ignore[attr-defined]
    if label is None:  # a token issued before named tokens existed
        user = s.get(User, username)
        if user is not None and user.token_hash:
            user.token_hash = None
            s.add(user)
            count += 1
    return count


def revoke_tokens(database_url: str, username: str, label: str | None = None) -> int:
    """Revoke one labelled token, or every token of the person. Returns how many."""
    with session(database_url) as s:
        _user(s, username)
        count = _revoke(s, username, label)
        s.commit()
    if label is not None and count == 0:
        raise NotFound(f"{username} has no live token labelled {label!r}: see `frontdoor users tokens {username}`")
    return count


def revoke_token(database_url: str, username: str) -> None:
    revoke_tokens(database_url, username)


def actor_for_token(database_url: str, token: str) -> Actor:
    digest = _hash(token[:200])
    now = _now()
    user: User | None
    with session(database_url) as s:
        found = s.exec(
            select(ApiToken, User).join(User, col(User.username) == col(ApiToken.username))
            .where(ApiToken.token_hash == digest, col(ApiToken.revoked_at).is_(None), User.active == True)  # noqa: E712
        ).first()
        if found is not None:
            api_token, user = found
            last = api_token.last_used_at
            if last is None or now - (last if last.tzinfo else last.replace(tzinfo=UTC)) > timedelta(minutes=5):
                api_token.last_used_at = now
                s.add(api_token)
                s.commit()
        else:  # a token issued before named tokens existed
            user = s.exec(select(User).where(User.token_hash == digest, User.active == True)).first()  # noqa: E712
    if user is None:
        raise Unauthenticated("the API token is not valid (revoked or mistyped): ask for a new one")
    return Actor(username=user.username, role=Role(user.role))
