"""Determinism guard: histories of real runs replay on today's workflow code.

The fixtures under tests/fixtures/histories were recorded by tests/record_histories.py:
the contact ones from the first released ContactWorkflow (commit 0672569), the
consultation and early help ones from the first versions of those workflows, and
local-audit/ from every workflow once the action trail became local activities. A change
to live workflow code that is not behind workflow.patched() fails here.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from frontdoor.temporal import data_converter
from models.state import Stage
from tests.clients import act, workflow_id
from tests.conftest import RITA, SAM, codec_for_tests, make_contact, running_worker
from tests.helpers import decision, submit, to_decision, to_spa, wait_stage
from worker import WORKFLOWS

HISTORIES = Path(__file__).parent / "fixtures" / "histories"
FIXTURES = sorted(HISTORIES.rglob("*.json"))
IDS = [str(p.relative_to(HISTORIES).with_suffix("")) for p in FIXTURES]


def replayer() -> Replayer:
    return Replayer(workflows=WORKFLOWS, data_converter=data_converter(codec_for_tests()))


@pytest.mark.parametrize("path", FIXTURES, ids=IDS)
async def test_recorded_histories_replay_on_current_code(path):
    history = WorkflowHistory.from_json(path.stem, path.read_text())
    result = await replayer().replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, f"{path.name} no longer replays: {result.replay_failure}"


def test_there_are_recorded_histories():
    first = {"replay-spa", "replay-urgent", "replay-early_help", "replay-advice_nfa", "consultation-replay-cons", "early-help-replay-eh"}
    assert set(IDS) >= first | {f"local-audit/{name}" for name in first}


async def test_a_history_recorded_now_replays(dev_env, settings, task_queue):
    client = dev_env.client
    c = make_contact()
    async with running_worker(client, settings, task_queue):
        await to_spa(client, settings, task_queue, c, level=3)
        await act(client, c.id, "review", {"actor": SAM, "rag": "red"})
        await to_decision(client, c.id)
        await act(client, c.id, "decide", decision())
        await wait_stage(client, c.id, Stage.CLOSED)
        other = make_contact(concerns={"factors": ["4A"]})
        await submit(client, settings, task_queue, other)
        await wait_stage(client, other.id, Stage.AWAITING_TRIAGE)
        await act(client, other.id, "triage", {"actor": RITA, "level": 2, "route": "early_help", "rationale": "Lower need", "departure_reason": "Family asking for help"})
        await wait_stage(client, other.id, Stage.CLOSED)
        histories = [await client.get_workflow_handle(workflow_id(x.id)).fetch_history() for x in (c, other)]
    for history in histories:
        result = await replayer().replay_workflow(history, raise_on_replay_failure=False)
        assert result.replay_failure is None
