"""AES-GCM payload codec: personal data never sits readable in Temporal history.

Every payload (workflow inputs, update arguments, results, queries) is encrypted with
the current key; older keys stay available for decryption so keys can be rotated.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"


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
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(generate_key() + "\n")
    return path.read_text().strip()


class EncryptionCodec(PayloadCodec):
    def __init__(self, key_id: str, key: bytes, old_keys: dict[str, bytes] | None = None) -> None:
        self.key_id = key_id
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
                out.append(p)
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
