"""AES-GCM payload codec: personal data never sits readable in Temporal history.

Every payload (workflow inputs, update arguments, results, queries) is encrypted with
the current key; older keys stay available for decryption so keys can be rotated.

Plaintext is refused on the way in: a payload that did not come through this codec
(e.g. `temporal workflow update --input '{...}'` from anyone who can reach the frontend)
is not decoded. Raising inside the codec would fail the whole workflow task and could
wedge the workflow for good, so the codec instead hands the converter a marker payload
that `FrontdoorPayloadConverter` refuses with an ApplicationError: the forged Update is
rejected with "plaintext payload refused by the codec: ..." and the workflow carries on.
FRONTDOOR_CODEC_ALLOW_PLAINTEXT=1 lets plaintext through for a migration window.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, ClassVar

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import PydanticPayloadConverter
from temporalio.converter import EncodingPayloadConverter, PayloadCodec
from temporalio.exceptions import ApplicationError

from frontdoor.config import ensure_secret_file

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
REFUSED = "binary/plaintext-refused"
REFUSED_ENCODING = "refused-encoding"
PLAINTEXT_REFUSED = "PlaintextRefused"


class KeyError_(ValueError):
    pass


def generate_key() -> str:
    return base64.b64encode(AESGCM.generate_key(bit_length=256)).decode()


def decode_key(text: str) -> bytes:
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except ValueError as exc:
        raise KeyError_("the encryption key is not base64: generate one with `frontdoor keys generate`") from exc
    if len(key) != 32:
        raise KeyError_("the encryption key must be 32 bytes (AES-256), base64-encoded")
    return key


def ensure_key_file(path: Path) -> str:
    """Create a local key once (mode 0600) and return it. For the embedded default only."""
    return ensure_secret_file(path, generate_key)


class EncryptionCodec(PayloadCodec):
    def __init__(
        self, key_id: str, key: bytes, old_keys: dict[str, bytes] | None = None, *, allow_plaintext: bool = False
    ) -> None:
        self.key_id = key_id
        self.allow_plaintext = allow_plaintext
        self._encrypt = AESGCM(key)
        self._keys = {key_id: self._encrypt} | {k: AESGCM(v) for k, v in (old_keys or {}).items()}

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        out = []
        for p in payloads:
            nonce = os.urandom(12)
            data = nonce + self._encrypt.encrypt(nonce, p.SerializeToString(), None)
            out.append(Payload(metadata={"encoding": ENCODING, KEY_ID: self.key_id.encode()}, data=data))
        return out

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        out = []
        for p in payloads:
            if p.metadata.get("encoding") != ENCODING:
                out.append(p if self.allow_plaintext else _refused(p))
                continue
            key_id = p.metadata.get(KEY_ID, b"").decode()
            cipher = self._keys.get(key_id)
            if cipher is None:
                raise ValueError(
                    f"payload was encrypted with key {key_id!r}, which this process does not have: "
                    "add it to FRONTDOOR_ENCRYPTION_OLD_KEYS as id:base64"
                )
            out.append(Payload.FromString(cipher.decrypt(p.data[:12], p.data[12:], None)))
        return out


def _refused(p: Payload) -> Payload:
    """A stand-in for a plaintext payload: carries its encoding, never its data."""
    encoding = p.metadata.get("encoding", b"(none)")[:64]
    return Payload(metadata={"encoding": REFUSED.encode(), REFUSED_ENCODING: encoding})


class RefusedPlaintextConverter(EncodingPayloadConverter):
    """Turns the codec's stand-in into a clear refusal where the value is needed: an
    Update is rejected, a workflow started with plaintext input fails, a query errs."""

    @property
    def encoding(self) -> str:
        return REFUSED

    def to_payload(self, value: Any) -> Payload | None:
        return None  # never chosen to encode

    def from_payload(self, payload: Payload, type_hint: type | None = None) -> Any:
        encoding = payload.metadata.get(REFUSED_ENCODING, b"").decode(errors="replace")
        raise ApplicationError(
            f"plaintext payload refused by the codec: a {encoding!r} payload was not encrypted by a frontdoor "
            "interface. Send actions through the web app, the API or the frontdoor command "
            "(FRONTDOOR_CODEC_ALLOW_PLAINTEXT=1 allows plaintext during a migration)",
            type=PLAINTEXT_REFUSED,
            non_retryable=True,
        )


class FrontdoorPayloadConverter(PydanticPayloadConverter):
    """The pydantic payload converter, plus the refusal of plaintext stand-ins.

    The SDK makes one of these for every workflow run and for every workflow activation the
    worker handles. Each would build its own JSON converter (a pydantic serializer) and its own
    cache of type adapters, so every new run would build its models' adapters again: about 4%
    of a loaded worker's time (bench/README.md). They share one set, built by the first; the
    converters hold no state but that cache (bounded at 1,024 types, thread-safe)."""

    _shared: ClassVar[tuple[EncodingPayloadConverter, ...]] = ()

    def __init__(self) -> None:
        cls = type(self)
        if not cls._shared:
            super().__init__()
            cls._shared = (*self.converters.values(), RefusedPlaintextConverter())
        self._set_converters(*cls._shared)


def parse_old_keys(text: str | None) -> dict[str, bytes]:
    keys: dict[str, bytes] = {}
    for item in _split(text):
        key_id, _, value = item.partition(":")
        if not value:
            raise KeyError_("FRONTDOOR_ENCRYPTION_OLD_KEYS takes id:base64 pairs separated by commas")
        keys[key_id] = decode_key(value)
    return keys


def _split(text: str | None) -> Iterable[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]
