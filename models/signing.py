"""Signed actors: the interface that authenticated a person vouches for who acted.

Anyone who can reach the Temporal frontend can send an Update with any `actor` in it, so
a workflow's validator must not trust the actor field alone. The web app, the API and the
CLI sign each action they send: an HMAC-SHA256 over the workflow id, the action (update)
name, the actor (username and role), a SHA-256 digest of the payload's canonical JSON
(without its `signature` field) and the time it was issued, under a key id so keys rotate
(one key signs; older keys still verify). The validator recomputes it and refuses a
missing, unknown-key, wrong or stale signature with the reason.

Pure: no I/O and nothing of ours but `models`, so workflows can import it through
Temporal's sandbox (`workflow.unsafe.imports_passed_through()`). Because it is passed
through, the keyring that the worker sets with `configure()` is the one validators see
through `current()`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from models.roles import Actor

SIGNATURE_FIELD = "signature"
MIN_KEY_BYTES = 32
DEFAULT_MAX_AGE = timedelta(minutes=5)
DEFAULT_SKEW = timedelta(seconds=60)

Reason = Literal["missing", "unknown_key", "wrong_mac", "stale", "future", "no_keyring"]


class SignatureRefused(ValueError):
    """A signature that does not vouch for the action; `reason` says which check failed."""

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.reason: Reason = reason
        self.message = message


class SigningKeyError(ValueError):
    """A signing key setting we cannot use; the message names the setting and the fix."""


class ActorSignature(BaseModel):
    """What the interface adds to an action's payload: which key, when, and the MAC."""

    model_config = ConfigDict(extra="forbid")
    key_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")
    issued_at: AwareDatetime
    mac: str = Field(pattern=r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class Keyring:
    """Key id -> key. `signing_key_id` names the key that signs; every key verifies."""

    signing_key_id: str
    keys: Mapping[str, bytes] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.signing_key_id not in self.keys:
            raise SigningKeyError(f"the signing key {self.signing_key_id!r} is not in the keyring")
        for key_id, key in self.keys.items():
            if not key_id or len(key_id) > 64 or not all(c.isalnum() or c in "._:-" for c in key_id):
                raise SigningKeyError(f"signing key id {key_id!r}: use 1-64 letters, digits, '.', '_', ':' or '-'")
            if len(key) < MIN_KEY_BYTES:
                raise SigningKeyError(
                    f"signing key {key_id!r} is {len(key)} bytes: use at least {MIN_KEY_BYTES} random bytes, "
                    "base64-encoded (`frontdoor keys generate` prints one)"
                )

    @property
    def signing_key(self) -> bytes:
        return self.keys[self.signing_key_id]


def decode_key(text: str, *, setting: str = "FRONTDOOR_SIGNING_KEY") -> bytes:
    try:
        return base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise SigningKeyError(f"{setting} is not base64: generate a key with `frontdoor keys generate`") from None


def keyring_from_text(key_id: str, key_text: str, old_keys_text: str | None = None) -> Keyring:
    """Build a keyring from settings: the current key (base64) and old keys as 'id:base64,...'."""
    keys: dict[str, bytes] = {}
    for item in (part.strip() for part in (old_keys_text or "").split(",")):
        if not item:
            continue
        old_id, _, value = item.partition(":")
        if not old_id or not value:
            raise SigningKeyError("FRONTDOOR_SIGNING_OLD_KEYS takes id:base64 pairs separated by commas")
        keys[old_id.strip()] = decode_key(value, setting=f"FRONTDOOR_SIGNING_OLD_KEYS ({old_id.strip()})")
    keys[key_id] = decode_key(key_text)
    return Keyring(signing_key_id=key_id, keys=keys)


# ------------------------------------------------------------------ canonical form
def canonical_json(value: Any) -> bytes:
    """One byte string per JSON value: sorted keys, no whitespace, UTF-8. Give it
    `model_dump(mode="json")` output (datetimes already strings, as they dump)."""
    try:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()
    except TypeError as exc:
        raise TypeError(f"sign a JSON-mode dump (model_dump(mode='json')): {exc}") from None


def unsigned(payload: BaseModel | Mapping[str, Any]) -> dict[str, Any]:
    """The payload as signed: its JSON-mode dump without the signature field."""
    data = payload.model_dump(mode="json") if isinstance(payload, BaseModel) else dict(payload)
    data.pop(SIGNATURE_FIELD, None)
    return data


def payload_digest(payload: BaseModel | Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical_json(unsigned(payload))).hexdigest()


def _utc_text(moment: datetime, what: str) -> str:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} must carry a time zone (use datetime.now(UTC) or workflow.now())")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _mac(key: bytes, key_id: str, workflow_id: str, action: str, actor: Actor, digest: str, issued_at: datetime) -> str:
    message = canonical_json(
        {
            "v": 1,
            "key_id": key_id,
            "workflow_id": workflow_id,
            "action": action,
            "actor": {"username": actor.username, "role": str(actor.role.value)},
            "payload_sha256": digest,
            "issued_at": _utc_text(issued_at, "issued_at"),
        }
    )
    return hmac.new(key, message, hashlib.sha256).hexdigest()


# ------------------------------------------------------------------ sign and verify
def sign(
    keyring: Keyring, workflow_id: str, action: str, actor: Actor,
    payload: BaseModel | Mapping[str, Any], now: datetime,
) -> ActorSignature:
    """Sign one action with the keyring's signing key, dated `now` (timezone-aware)."""
    issued_at = now.astimezone(UTC) if now.tzinfo else now
    mac = _mac(keyring.signing_key, keyring.signing_key_id, workflow_id, action, actor, payload_digest(payload), issued_at)
    return ActorSignature(key_id=keyring.signing_key_id, issued_at=issued_at, mac=mac)


def verify(
    keyring: Keyring, workflow_id: str, action: str, actor: Actor,
    payload: BaseModel | Mapping[str, Any], signature: ActorSignature | None,
    now: datetime, max_age: timedelta = DEFAULT_MAX_AGE, *, skew: timedelta = DEFAULT_SKEW,
) -> None:
    """Return if the signature vouches for this action; raise SignatureRefused saying why not."""
    if signature is None:
        raise SignatureRefused(
            "missing",
            "the action carries no signature: actions must come through the web app, the API or the "
            "frontdoor command, which sign who acted",
        )
    key = keyring.keys.get(signature.key_id)
    if key is None:
        raise SignatureRefused(
            "unknown_key",
            f"the action was signed with key {signature.key_id!r}, which this worker does not have: "
            "sign with the current key, or add the old one to FRONTDOOR_SIGNING_OLD_KEYS (id:base64)",
        )
    expected = _mac(key, signature.key_id, workflow_id, action, actor, payload_digest(payload), signature.issued_at)
    if not hmac.compare_digest(expected, signature.mac):
        raise SignatureRefused(
            "wrong_mac",
            "the action's signature does not match its workflow, action, actor, payload or time: "
            "it was altered, or signed for another action",
        )
    _utc_text(now, "now")
    age = now - signature.issued_at
    if age < -skew:
        raise SignatureRefused(
            "future",
            f"the action's signature is dated {_span(-age)} in the future (more than {_span(skew)} allowed): "
            "check the clocks of the signing host and the worker",
        )
    if age > max_age:
        raise SignatureRefused(
            "stale",
            f"the action's signature is {_span(age)} old, older than the {_span(max_age)} allowed: send the action again",
        )


# ------------------------------------------------------------------ for action models
class PersonAction(BaseModel):
    """What every action a person takes carries: who (the `actor`, filled in by the interface
    that authenticated them) and the interface's `signature` vouching for it. Unknown
    fields are refused."""

    model_config = ConfigDict(extra="forbid")
    actor: Actor
    signature: ActorSignature | None = None  # missing on actions recorded before signing: replays accept it



def signed(keyring: Keyring, workflow_id: str, action: str, payload: BaseModel, now: datetime) -> Any:
    """A copy of an action model (with `actor` and `signature` fields) carrying its signature.
    The interfaces call it just before sending the Update named `action`."""
    actor = _actor_of(payload)
    return payload.model_copy(update={SIGNATURE_FIELD: sign(keyring, workflow_id, action, actor, payload, now)})


def verify_signed(
    keyring: Keyring, workflow_id: str, action: str, payload: BaseModel, now: datetime,
    max_age: timedelta = DEFAULT_MAX_AGE,
) -> None:
    """Check an action model's own signature (validators: workflow.info().workflow_id,
    workflow.current_update_info().name, workflow.now())."""
    verify(keyring, workflow_id, action, _actor_of(payload), payload, getattr(payload, SIGNATURE_FIELD, None), now, max_age)


def _actor_of(payload: BaseModel) -> Actor:
    actor = getattr(payload, "actor", None)
    if not isinstance(actor, Actor):
        raise TypeError(f"{type(payload).__name__} has no actor to sign")
    return actor


def _span(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    return f"{seconds // 3600}h"


# ------------------------------------------------------------------ the process's keyring
_current: Keyring | None = None
_max_age: timedelta = DEFAULT_MAX_AGE


def configure(keyring: Keyring | None, max_age: timedelta = DEFAULT_MAX_AGE) -> None:
    """Set the keyring this process signs and verifies with, and how old a signature may be
    (the worker does it at start, from settings.signing_keyring and settings.signature_max_age)."""
    global _current, _max_age
    _current, _max_age = keyring, max_age


def verify_action(workflow_id: str, action: str, payload: BaseModel, now: datetime) -> None:
    """verify_signed with this process's keyring and maximum age: one call for a validator."""
    verify_signed(current(), workflow_id, action, payload, now, _max_age)


def current() -> Keyring:
    if _current is None:
        raise SignatureRefused(
            "no_keyring",
            "this process has no signing keyring: the worker must call models.signing.configure(settings.signing_keyring) "
            "at start (and workflows must import models.signing through imports_passed_through)",
        )
    return _current
