"""Determinism guard: histories of real runs replay on today's workflow code.

The fixtures under tests/fixtures/histories were recorded by tests/record_histories.py:
the contact ones from the first released ContactWorkflow (commit 0672569), the
consultation and early help ones from the first versions of those workflows,
local-audit/ from every workflow once the action trail became local activities, and
one-shape/ from the one-shape version (and the missing episode, the morning discussion and
its schedule's launcher, the audit and its round, from their first versions), and
local-writes/ from every process once its short case-record writes became local activities
(patch "case-record-writes-local"). A change
to live workflow code that is not behind workflow.patched() fails here.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from frontdoor.temporal import data_converter
from models.roles import Role
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
    assert set(IDS) >= {f"one-shape/{name}" for name in first | {"early-help-replay-eh-up"}}
    # the missing episode, the morning discussion (and a contact put to it), the schedule's launcher
    assert set(IDS) >= {f"one-shape/{name}" for name in ("missing-replay-missing", "morning-replay-morning",
                                                          "morning-replay-contact", "frontdoor-morning-discussion-run-replay")}
    assert set(IDS) >= {"one-shape/audit-replay-round-01", "one-shape/audit-round-replay-round"}  # issue 12
    assert "one-shape/frontdoor-stuck-snapshot-run-replay" in IDS  # issue 10: the hourly stuck snapshot
    assert "one-shape/frontdoor-report-snapshot-run-replay" in IDS  # issue 10: the daily key report figures
    # issue 13: the case-record writes as local activities, in every process that makes them
    assert set(IDS) >= {f"local-writes/{name}" for name in first | {
        "early-help-replay-eh-up", "missing-replay-missing", "morning-replay-morning", "morning-replay-contact",
        "audit-replay-round-01", "audit-round-replay-round"}}


async def test_a_rule_tightened_after_an_update_was_accepted_still_replays(monkeypatch):
    """Validators do not run on replay and handlers do; a handler that checked the rule again
    would fail the replay of an update accepted under the old rule. Here the daily review,
    taken by a social worker in the recorded history, becomes a manager-only action."""
    import dataclasses

    from temporalio.worker import UnsandboxedWorkflowRunner

    from workflows.contact import ContactWorkflow
    from workflows.process import ActionTable

    path = HISTORIES / "one-shape" / "replay-spa.json"
    history = WorkflowHistory.from_json(path.stem, path.read_text())
    assert '"name": "review"' in path.read_text()  # a review was accepted in this history
    tighter = ActionTable(*[
        dataclasses.replace(a, roles=frozenset({Role.TEAM_MANAGER})) if a.name == "review" else a
        for a in ContactWorkflow.actions
    ])
    monkeypatch.setattr(ContactWorkflow, "actions", tighter)
    with pytest.raises(Exception, match="may not review"):  # the tightened rule refuses a social worker now
        tighter["review"].check(SAM, None, None, "contact X")
    result = await Replayer(
        workflows=WORKFLOWS, data_converter=data_converter(codec_for_tests()), workflow_runner=UnsandboxedWorkflowRunner(),
    ).replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, result.replay_failure


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
