"""Signed actors (models/signing.py): a signature vouches for exactly one workflow, action,
actor, payload and time; any change to one of them, a missing or unknown key, or an old or
future date is refused with its reason. Property-based (hypothesis)."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models import signing
from models.actions import Review
from models.roles import Actor, Role
from models.signing import ActorSignature, Keyring, SignatureRefused

KEY = os.urandom(32)
OLD = os.urandom(32)
RING = Keyring("k2", {"k2": KEY, "k1": OLD})


class SignedReview(Review):
    signature: ActorSignature | None = None


NOW = datetime(2026, 11, 26, 9, 14, tzinfo=UTC)

texts = st.text(min_size=1, max_size=40)
actors = st.builds(Actor, username=st.text(min_size=1, max_size=80), role=st.sampled_from(list(Role)))
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
payloads = st.dictionaries(st.text(max_size=10).filter(lambda k: k != "signature"), json_values, max_size=6)
moments = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2035, 1, 1), timezones=st.just(UTC)
)


def refused(reason: str, **kw: Any) -> None:
    args = dict(keyring=RING, workflow_id="contact-C-1", action="review",
                actor=Actor(username="sam", role=Role.SOCIAL_WORKER), payload={"rag": "red"}, now=NOW) | kw
    with pytest.raises(SignatureRefused) as err:
        signing.verify(**args)
    assert err.value.reason == reason, err.value.message


@settings(max_examples=150)
@given(wid=texts, action=texts, actor=actors, payload=payloads, now=moments)
def test_a_signature_verifies_for_what_it_signed(wid: str, action: str, actor: Actor, payload: dict, now: datetime) -> None:
    sig = signing.sign(RING, wid, action, actor, payload, now)
    assert sig.key_id == "k2"
    # it survives the trip through JSON that every Update payload takes
    back = ActorSignature.model_validate_json(sig.model_dump_json())
    signing.verify(RING, wid, action, actor, payload | {"signature": back.model_dump(mode="json")}, back, now + timedelta(seconds=30))


@settings(max_examples=150)
@given(
    wid=texts, action=texts, actor=actors, payload=payloads, now=moments,
    part=st.sampled_from(["workflow_id", "action", "username", "role", "payload", "issued_at", "mac"]),
    data=st.data(),
)
def test_any_change_is_refused(wid: str, action: str, actor: Actor, payload: dict, now: datetime, part: str, data: st.DataObject) -> None:
    sig = signing.sign(RING, wid, action, actor, payload, now)
    if part == "workflow_id":
        wid = data.draw(texts.filter(lambda w: w != wid))
    elif part == "action":
        action = data.draw(texts.filter(lambda a: a != action))
    elif part == "username":
        actor = Actor(username=data.draw(st.text(min_size=1, max_size=80).filter(lambda u: u != actor.username)), role=actor.role)
    elif part == "role":
        actor = Actor(username=actor.username, role=data.draw(st.sampled_from([r for r in Role if r != actor.role])))
    elif part == "payload":
        key = data.draw(st.text(max_size=10).filter(lambda k: k != "signature"))
        value = data.draw(json_values.filter(lambda v: key not in payload or payload[key] != v))
        payload = payload | {key: value}
    elif part == "issued_at":
        shift = data.draw(st.integers(min_value=1, max_value=50_000_000))
        sig = sig.model_copy(update={"issued_at": sig.issued_at + timedelta(microseconds=shift)})
    else:
        flip = data.draw(st.integers(min_value=0, max_value=63))
        digit = "0" if sig.mac[flip] != "0" else "1"
        sig = sig.model_copy(update={"mac": sig.mac[:flip] + digit + sig.mac[flip + 1:]})
    with pytest.raises(SignatureRefused) as err:
        signing.verify(RING, wid, action, actor, payload, sig, now)
    assert err.value.reason == "wrong_mac"


def test_missing_unknown_key_stale_and_future_signatures_say_which() -> None:
    actor = Actor(username="sam", role=Role.SOCIAL_WORKER)
    sig = signing.sign(RING, "contact-C-1", "review", actor, {"rag": "red"}, NOW)
    refused("missing", signature=None)
    refused("unknown_key", signature=sig.model_copy(update={"key_id": "k9"}))
    refused("stale", signature=sig, now=NOW + timedelta(minutes=6))
    refused("future", signature=sig, now=NOW - timedelta(minutes=2))
    signing.verify(RING, "contact-C-1", "review", actor, {"rag": "red"}, sig, NOW + timedelta(minutes=4, seconds=59))
    signing.verify(RING, "contact-C-1", "review", actor, {"rag": "red"}, sig, NOW - timedelta(seconds=59))
    with pytest.raises(SignatureRefused, match="older than the 60s allowed"):
        signing.verify(RING, "contact-C-1", "review", actor, {"rag": "red"}, sig, NOW + timedelta(seconds=61), timedelta(minutes=1))


def test_keys_rotate_an_old_key_still_verifies_and_a_dropped_one_does_not() -> None:
    actor = Actor(username="tom", role=Role.TEAM_MANAGER)
    before = signing.sign(Keyring("k1", {"k1": OLD}), "contact-C-2", "decide", actor, {"outcome": "nfa"}, NOW)
    signing.verify(RING, "contact-C-2", "decide", actor, {"outcome": "nfa"}, before, NOW)
    after = signing.sign(RING, "contact-C-2", "decide", actor, {"outcome": "nfa"}, NOW)
    assert after.key_id == "k2"
    with pytest.raises(SignatureRefused) as err:
        signing.verify(Keyring("k3", {"k3": os.urandom(32)}), "contact-C-2", "decide", actor, {"outcome": "nfa"}, before, NOW)
    assert err.value.reason == "unknown_key" and "FRONTDOOR_SIGNING_OLD_KEYS" in err.value.message
    # same id, different key material (a key replaced without rotating its id)
    with pytest.raises(SignatureRefused) as err:
        signing.verify(Keyring("k1", {"k1": os.urandom(32)}), "contact-C-2", "decide", actor, {"outcome": "nfa"}, before, NOW)
    assert err.value.reason == "wrong_mac"


def test_a_pydantic_payload_signs_as_its_json_dump_without_the_signature() -> None:
    review = Review(actor=Actor(username="sam", role=Role.SOCIAL_WORKER), rag="red", note="seen at school")
    sig = signing.sign(RING, "contact-C-3", "review", review.actor, review, NOW)
    as_sent = review.model_dump(mode="json") | {"signature": sig.model_dump(mode="json")}
    arrived = Review.model_validate(as_sent)  # what the worker rebuilds from the Update payload
    signing.verify(RING, "contact-C-3", "review", arrived.actor, as_sent, sig, NOW)
    signing.verify(RING, "contact-C-3", "review", arrived.actor, arrived, sig, NOW)
    assert signing.canonical_json({"b": 1, "a": [1, "é"]}) == '{"a":[1,"é"],"b":1}'.encode()
    with pytest.raises(TypeError, match="mode='json'"):
        signing.canonical_json({"at": NOW})


def test_keyring_settings_are_checked() -> None:
    import base64

    good = base64.b64encode(KEY).decode()
    ring = signing.keyring_from_text("k2", good, f"k1:{base64.b64encode(OLD).decode()}")
    assert ring.signing_key == KEY and ring.keys["k1"] == OLD
    with pytest.raises(signing.SigningKeyError, match="not base64"):
        signing.keyring_from_text("k2", "not base64!")
    with pytest.raises(signing.SigningKeyError, match="at least 32"):
        signing.keyring_from_text("k2", base64.b64encode(b"short").decode())
    with pytest.raises(signing.SigningKeyError, match="id:base64"):
        signing.keyring_from_text("k2", good, "nocolon")
    with pytest.raises(ValueError, match="time zone"):
        signing.sign(RING, "w", "a", Actor(username="x", role=Role.SOCIAL_WORKER), {}, datetime(2026, 1, 1))


def test_the_process_keyring_is_set_once_by_the_worker() -> None:
    signing.configure(None)
    with pytest.raises(SignatureRefused) as err:
        signing.current()
    assert err.value.reason == "no_keyring"
    signing.configure(RING, max_age=timedelta(seconds=10))
    try:
        assert signing.current() is RING
        review = SignedReview(actor=Actor(username="sam", role=Role.SOCIAL_WORKER), rag="red")
        sent = signing.signed(RING, "contact-C-5", "review", review, NOW)
        signing.verify_action("contact-C-5", "review", sent, NOW + timedelta(seconds=9))
        with pytest.raises(SignatureRefused, match="older than the 10s allowed"):
            signing.verify_action("contact-C-5", "review", sent, NOW + timedelta(seconds=11))
    finally:
        signing.configure(None)



def test_an_action_model_signs_and_verifies_itself() -> None:
    review = SignedReview(actor=Actor(username="sam", role=Role.SOCIAL_WORKER), rag="amber")
    sent = signing.signed(RING, "contact-C-4", "review", review, NOW)
    assert sent.signature is not None and review.signature is None
    arrived = SignedReview.model_validate_json(sent.model_dump_json())
    signing.verify_signed(RING, "contact-C-4", "review", arrived, NOW + timedelta(seconds=5))
    forged = arrived.model_copy(update={"actor": Actor(username="mallory", role=Role.TEAM_MANAGER)})
    with pytest.raises(SignatureRefused) as err:
        signing.verify_signed(RING, "contact-C-4", "review", forged, NOW)
    assert err.value.reason == "wrong_mac"
    with pytest.raises(SignatureRefused) as err:
        signing.verify_signed(RING, "contact-C-4", "review", review, NOW)
    assert err.value.reason == "missing"
