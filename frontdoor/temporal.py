"""Connecting to Temporal: the data converter with its codec, TLS, search attributes."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.client import Client, TLSConfig
from temporalio.common import SearchAttributeKey
from temporalio.converter import DataConverter
from temporalio.service import RPCError

from frontdoor.codec import EncryptionCodec, FrontdoorPayloadConverter, decode_key, parse_old_keys
from frontdoor.config import Settings
from models import signing
from workflows import search_attributes as sa

log = logging.getLogger("frontdoor")


def codec_from_settings(settings: Settings) -> EncryptionCodec:
    return EncryptionCodec(
        settings.encryption_key_id, decode_key(settings.encryption_key_text),
        parse_old_keys(settings.encryption_old_keys), allow_plaintext=settings.codec_allow_plaintext,
    )


def data_converter(codec: EncryptionCodec | None) -> DataConverter:
    """Pydantic models in, AES-GCM out; plaintext coming in is refused (frontdoor/codec.py)."""
    return DataConverter(payload_converter_class=FrontdoorPayloadConverter, payload_codec=codec)


def configure_signing(settings: Settings) -> None:
    """This process signs (interfaces) and verifies (the worker's validators) actors with the
    configured keyring; every process that talks to Temporal connects through connect()."""
    signing.configure(settings.signing_keyring, max_age=settings.signature_max_age)


async def connect(settings: Settings, *, codec: EncryptionCodec | None = None) -> Client:
    configure_signing(settings)
    t = settings.temporal
    tls: TLSConfig | bool = False
    if t.tls:
        tls = TLSConfig(
            server_root_ca_cert=t.tls_ca_cert.read_bytes() if t.tls_ca_cert else None,
            client_cert=t.tls_client_cert.read_bytes() if t.tls_client_cert else None,
            client_private_key=t.tls_client_key.read_bytes() if t.tls_client_key else None,
            domain=t.tls_server_name,
        )
    try:
        return await Client.connect(
            t.address,
            namespace=t.namespace,
            tls=tls,
            api_key=t.api_key,
            data_converter=data_converter(codec or codec_from_settings(settings)),
        )
    except RuntimeError as exc:
        raise ConnectionError(
            f"cannot reach Temporal at {t.address} (namespace {t.namespace}): {exc}. "
            "Start the stack with `make run`, or set TEMPORAL_ADDRESS to your cluster."
        ) from exc


async def ensure_search_attributes(client: Client, keys: Sequence[SearchAttributeKey[Any]] = sa.ALL) -> list[str]:
    """Register missing custom search attributes (by default every one frontdoor uses).
    Returns the names added.

    On a cluster that does not allow this (Temporal Cloud, a locked-down namespace),
    raises PermissionError saying which attributes to register and how.
    """
    wanted = {key.name: IndexedValueType.ValueType(key.indexed_value_type) for key in keys}
    existing = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=client.namespace)
    )
    missing = {k: v for k, v in wanted.items() if k not in existing.custom_attributes}
    if not missing:
        return []
    try:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace=client.namespace, search_attributes=missing)
        )
    except RPCError as exc:
        if "already exists" in str(exc).lower():
            return []
        names = " ".join(f"--name {k} --type {IndexedValueType.Name(v).removeprefix('INDEXED_VALUE_TYPE_')}" for k, v in missing.items())
        raise PermissionError(
            f"search attributes {', '.join(missing)} are missing and could not be registered ({exc}). "
            f"Ask the cluster's operator to run: temporal operator search-attribute create {names}"
        ) from exc
    return sorted(missing)
