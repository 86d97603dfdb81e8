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
from temporalio.converter import (
    DataConverter,
    StorageDriverStoreContext,
    WorkflowSerializationContext,
)
from temporalio.service import RPCError
from temporalio.worker import WorkflowInstance, WorkflowInstanceDetails, WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

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


class _ContextFreeInstance(WorkflowInstance):
    """A sandboxed workflow instance that answers the two per-payload context questions itself.

    The worker asks a workflow instance, for every payload of every activation and completion
    (about six times a payload), which serialization context and which external-store context
    the payload belongs to. The sandbox answers each by compiling and running a snippet of code
    inside the sandbox (`exec`, with its importer applied): about a tenth of the worker's time
    under load (bench/README.md). When no converter or codec takes a context, every answer
    leads to the same converter, so "no context" is the same answer without the trip."""

    def __init__(self, inner: WorkflowInstance) -> None:
        self._inner = inner

    def activate(self, act: Any) -> Any:
        return self._inner.activate(act)

    def get_info(self) -> Any:
        return self._inner.get_info()

    def get_thread_id(self) -> int | None:
        return self._inner.get_thread_id()

    def get_serialization_context(self, command_info: Any) -> None:
        return None

    def get_external_store_context(self, command_info: Any) -> StorageDriverStoreContext:
        return StorageDriverStoreContext()


class ContextFreeSandboxRunner(SandboxedWorkflowRunner):
    """The SDK's sandbox, every determinism check as it is, without the per-payload context
    trips into it. Only for a data converter that ignores contexts (`takes_no_context`)."""

    def create_instance(self, det: WorkflowInstanceDetails) -> WorkflowInstance:
        return _ContextFreeInstance(super().create_instance(det))


def takes_no_context(converter: DataConverter) -> bool:
    """True when a serialization context changes nothing in `converter` (no converter, codec or
    failure converter of it takes one) and it stores nothing outside the history."""
    probe = WorkflowSerializationContext(namespace="probe", workflow_id="probe")
    return converter.external_storage is None and converter.with_context(probe) is converter


def workflow_runner(converter: DataConverter) -> WorkflowRunner:
    """The sandbox for workflows; without the context trips when the converter ignores them."""
    return ContextFreeSandboxRunner() if takes_no_context(converter) else SandboxedWorkflowRunner()


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
