"""What a payload costs the worker: the workflow runner (frontdoor/temporal.py), the SDK's
sandbox without the per-payload context trips, only where contexts change nothing; and the
payload converter (frontdoor/codec.py), one set of converters for every run."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Self

from temporalio.api.common.v1 import Payload
from temporalio.converter import (
    DataConverter,
    PayloadCodec,
    SerializationContext,
    WithSerializationContext,
)
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from frontdoor.codec import REFUSED, FrontdoorPayloadConverter
from frontdoor.temporal import (
    ContextFreeSandboxRunner,
    data_converter,
    takes_no_context,
    workflow_runner,
)
from models.contact import Child
from tests.conftest import codec_for_tests, new_id
from tests.sandbox_probe_workflow import SandboxProbe, echo


@dataclass
class ContextCodec(PayloadCodec, WithSerializationContext):
    """A codec that keys on the workflow or activity it encodes for, as a per-workflow key would."""

    context: SerializationContext | None = None

    def with_context(self, context: SerializationContext) -> Self:
        return type(self)(context)

    async def encode(self, payloads: list[Payload]) -> list[Payload]:
        return payloads

    async def decode(self, payloads: list[Payload]) -> list[Payload]:
        return payloads


def test_the_front_doors_converter_takes_no_context() -> None:
    converter = data_converter(codec_for_tests())
    assert takes_no_context(converter)
    assert type(workflow_runner(converter)) is ContextFreeSandboxRunner


def test_a_codec_that_takes_a_context_keeps_the_sdks_own_sandbox() -> None:
    converter = DataConverter(payload_codec=ContextCodec())
    assert not takes_no_context(converter)
    assert type(workflow_runner(converter)) is SandboxedWorkflowRunner


async def test_the_runner_still_refuses_what_the_sandbox_refuses(dev_env, task_queue) -> None:
    """Through the worker's runner, on the dev server with the front door's codec: the wall
    clock is refused inside the workflow, and a payload goes to an activity and back."""
    client = dev_env.client
    assert takes_no_context(client.data_converter)
    async with Worker(client, task_queue=task_queue, workflows=[SandboxProbe], activities=[echo],
                      workflow_runner=workflow_runner(client.data_converter)):
        result = await client.execute_workflow(SandboxProbe.run, "a child at risk", id=new_id("probe"),
                                               task_queue=task_queue)
    assert result == ["refused: RestrictedWorkflowAccessError", "echo: a child at risk"]


def test_every_payload_converter_shares_one_json_converter_and_its_type_adapters() -> None:
    """The SDK makes a converter for every run and every activation: the second finds the
    adapter the first built, and still refuses a plaintext stand-in."""
    first, second = FrontdoorPayloadConverter(), FrontdoorPayloadConverter()
    assert first is not second and list(first.converters.values()) == list(second.converters.values())
    json_converter = second.converters[b"json/plain"]
    child = Child(first_name="Ava", last_name="Example", date_of_birth=date(2015, 4, 1))
    payload = first.to_payloads([child])[0]
    assert first.from_payloads([payload], [Child]) == [child]  # builds Child's adapter, or finds it
    hits = json_converter._type_adapter.cache_info().hits  # type: ignore[attr-defined]
    assert second.from_payloads([payload], [Child]) == [child]
    assert json_converter._type_adapter.cache_info().hits > hits  # type: ignore[attr-defined]
    assert REFUSED.encode() in second.converters
