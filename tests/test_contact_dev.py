"""The contact workflow on the real Temporal dev server: every validator, refusals with
reasons, duplicates, the full SPA flow, encryption of history."""

from __future__ import annotations

import pytest
from sqlmodel import select
from temporalio.client import WorkflowUpdateFailedError

from frontdoor.errors import Duplicate, NotFound, Refused
from models.database import session
from models.state import Stage
from models.tables import DocumentRecord, HandoffRecord, OutboxMessage
from tests.clients import act, get_state, submit_contact, workflow_id
from tests.conftest import MAYA, RITA, SAM, TOM, letters, make_contact, running_worker
from tests.helpers import action_trail, decision, submit, to_decision, to_spa, wait_stage
from workflows.contact import ContactWorkflow
from workflows.process import OPENED

pytestmark = pytest.mark.asyncio


async def refused(coro, kind: str, match: str) -> Refused:
    with pytest.raises(Refused, match=match) as exc:
        await coro
    assert exc.value.kind == kind, exc.value.message
    return exc.value


async def test_whole_spa_flow_hands_off_once_and_records_everything(dev_env, settings, task_queue):
    client = dev_env.client
    c = make_contact(consent={"status": "not_sought"})
    async with running_worker(client, settings, task_queue):
        state = await to_spa(client, settings, task_queue, c)
        assert state.stage == Stage.AWAITING_CONSENT
        assert state.decision_due_at is not None
        await act(client, c.id, "review", {"actor": SAM, "rag": "amber"})
        await act(client, c.id, "record_consent", {"actor": SAM, "status": "sought", "note": "rang mother"})
        state = await act(client, c.id, "record_consent", {"actor": SAM, "status": "given", "note": "mother agreed"})
        assert state.stage == Stage.MAP_CHECKS
        state = await act(client, c.id, "request_map_checks", {"actor": SAM, "agencies": ["police", "gp"]})
        assert [m.agency.value for m in state.outstanding_agencies] == ["police", "gp"]
        await act(client, c.id, "record_map_response", {"actor": SAM, "agency": "police", "information": "Not known"})
        state = await act(client, c.id, "proceed_without_agency", {"actor": SAM, "agency": "gp", "reason": "Surgery closed until Monday"})
        assert state.stage == Stage.AWAITING_RECOMMENDATION
        await act(client, c.id, "recommend", {"actor": SAM, "summary": "Neglect concern, parents engaging.", "recommended_outcome": "targeted_early_help", "quadrant": "north_west"})
        state = await act(client, c.id, "decide", decision("targeted_early_help", quadrant="north_west"))
        final = await client.get_workflow_handle_for(ContactWorkflow.run, workflow_id(c.id)).result()
    assert final.stage == Stage.CLOSED and final.outcome.value == "targeted_early_help"
    assert final.handoff.team == "early_help_north_west"
    with session(settings.database_url) as s:
        trail = [a.action for a in action_trail(s, c.id)]
        docs = {d.kind for d in s.exec(select(DocumentRecord).where(DocumentRecord.subject_id == c.id))}
        sent = [m.channel for m in s.exec(select(OutboxMessage).where(OutboxMessage.subject_id == c.id))]
        handoffs = s.exec(select(HandoffRecord).where(HandoffRecord.contact_id == c.id)).all()
    assert trail == [
        "contact_received", "history_checked", "triage", "daily_review", "consent_sought", "consent_given",
        "map_requested", "map_response", "map_proceed_without", "recommendation", "management_decision",
        "handed_off", "closed",
    ]
    assert docs == {"map_request", "recommendation", "decision_record", "referrer_feedback"}
    assert sorted(sent) == ["agency:gp", "agency:police", "referrer", "team:early_help_north_west"]
    assert len(handoffs) == 1


async def test_a_duplicate_contact_is_refused(dev_env, settings, task_queue):
    c = make_contact()
    async with running_worker(dev_env.client, settings, task_queue):
        await submit(dev_env.client, settings, task_queue, c)
        with pytest.raises(Duplicate, match="already been received"):
            await submit_contact(dev_env.client, settings, c, RITA, task_queue=task_queue)


async def test_an_unknown_contact_is_not_found(dev_env):
    with pytest.raises(NotFound, match="no contact"):
        await get_state(dev_env.client, "NO-SUCH-CONTACT")


async def test_triage_validators(dev_env, settings, task_queue):
    client = dev_env.client
    c = make_contact(concerns={"factors": ["16A"]})  # rules suggest level 3
    async with running_worker(client, settings, task_queue):
        await submit(client, settings, task_queue, c)
        await wait_stage(client, c.id, Stage.AWAITING_TRIAGE)
        base = {"actor": RITA, "level": 3, "route": "spa", "rationale": "Neglect concern"}
        await refused(act(client, c.id, "triage", base | {"actor": TOM}), "PermissionDenied", "may not triage")
        await refused(act(client, c.id, "triage", base | {"level": 4}), "InvalidAction", "needs a departure_reason")
        await refused(act(client, c.id, "triage", base | {"route": "urgent"}), "InvalidAction", "route urgent is for level")
        await refused(act(client, c.id, "review", {"actor": RITA, "rag": "red"}), "PermissionDenied", "may not review")
        await refused(act(client, c.id, "record_consent", {"actor": SAM, "status": "given"}), "WrongStage", "consent is handled in the SPA")
        state = await act(
            client, c.id, "triage",
            base | {"threshold_advice": {"given_by": "sam", "advice": "SPA at level 3", "reasons": "neglect, no history"}},
        )
        assert state.triage.threshold_advice.given_by == "sam"
        await refused(act(client, c.id, "triage", base), "WrongStage", "is done once, while the contact awaits triage")
    with session(settings.database_url) as s:
        triage = [a for a in action_trail(s, c.id) if a.action == "triage"]
    assert len(triage) == 1  # refused actions write nothing
    assert triage[0].details["threshold_advice"]["reasons"] == "neglect, no history"


async def test_spa_validators(dev_env, settings, task_queue):
    client = dev_env.client
    c = make_contact(consent={"status": "not_sought"})
    async with running_worker(client, settings, task_queue):
        await to_spa(client, settings, task_queue, c)
        await refused(act(client, c.id, "request_map_checks", {"actor": SAM, "agencies": ["police"]}), "WrongStage", "no MAP request may be sent until consent")
        await refused(
            act(client, c.id, "override_consent", {"actor": SAM, "reason": "risk_of_significant_harm", "explanation": "risk"}),
            "PermissionDenied", "only team manager",
        )
        await refused(act(client, c.id, "decide", decision()), "WrongStage", "needs the social worker's recommendation first")
        await refused(act(client, c.id, "recommend", {"actor": SAM, "summary": "Too early to say.", "recommended_outcome": "nfa"}), "WrongStage", "follows consent")
        await act(client, c.id, "override_consent", {"actor": TOM, "reason": "risk_of_significant_harm", "explanation": "Asking father raises risk"})
        await act(client, c.id, "request_map_checks", {"actor": SAM, "agencies": ["school"]})
        await refused(act(client, c.id, "request_map_checks", {"actor": SAM, "agencies": ["school"]}), "InvalidAction", "already asked: school")
        await refused(act(client, c.id, "record_map_response", {"actor": SAM, "agency": "gp", "information": "x"}), "InvalidAction", "gp was not asked")
        await refused(act(client, c.id, "recommend", {"actor": SAM, "summary": "Summary of findings.", "recommended_outcome": "nfa"}), "WrongStage", "still waiting on school")
        await act(client, c.id, "record_map_response", {"actor": SAM, "agency": "school", "information": "Attendance good"})
        await refused(act(client, c.id, "recommend", {"actor": TOM, "summary": "Summary of findings.", "recommended_outcome": "nfa"}), "PermissionDenied", "may not recommend")
        await act(client, c.id, "recommend", {"actor": SAM, "summary": "Summary of findings.", "recommended_outcome": "nfa"})
        await refused(act(client, c.id, "decide", decision() | {"actor": SAM}), "PermissionDenied", "may not decide")
        await refused(act(client, c.id, "extend", {"actor": SAM, "reason": "interpreter_awaited", "new_deadline": "2099-01-01T00:00:00Z"}), "PermissionDenied", "may not extend")
        await refused(act(client, c.id, "extend", {"actor": TOM, "reason": "interpreter_awaited", "new_deadline": "2001-01-01T00:00:00Z"}), "InvalidAction", "does not move the deadline")
        await refused(act(client, c.id, "retry_fault", {"actor": MAYA}), "WrongStage", "no technical fault")
        state = await act(client, c.id, "decide", decision("nfa"))
        assert state.stage == Stage.HANDOFF


async def test_unknown_agency_and_malformed_input_are_rejected_before_history(dev_env, settings, task_queue):
    """Raw payloads that bypass the client's pydantic check are still refused by the workflow."""
    client = dev_env.client
    c = make_contact()
    async with running_worker(client, settings, task_queue):
        await to_spa(client, settings, task_queue, c, level=3)
        handle = client.get_workflow_handle(workflow_id(c.id))
        with pytest.raises(WorkflowUpdateFailedError):
            await handle.execute_update("request_map_checks", {"actor": SAM.model_dump(), "agencies": ["martians"]})
        with pytest.raises(WorkflowUpdateFailedError):
            await handle.execute_update("decide", {"actor": TOM.model_dump(), "outcome": "nfa"})  # no rationale
        history = await handle.fetch_history()
    accepted = [e.workflow_execution_update_accepted_event_attributes.accepted_request.input.name
                for e in history.events if e.HasField("workflow_execution_update_accepted_event_attributes")]
    assert accepted == [OPENED, "triage"]  # the start's answer and the triage: nothing else was accepted


async def test_recurring_pattern_must_be_confirmed_at_triage_and_decision(dev_env, settings, task_queue):
    client = dev_env.client
    kid = {"first_name": "Rae", "last_name": f"Cole{c_suffix()}", "date_of_birth": "2017-02-03"}
    async with running_worker(client, settings, task_queue):
        for _ in range(2):  # two earlier contacts about domestic abuse, taken through to closure
            earlier = make_contact(children=[kid], concerns={"factors": ["3B"]})
            await submit(client, settings, task_queue, earlier)
            await wait_stage(client, earlier.id, Stage.AWAITING_TRIAGE)
            state = await get_state(client, earlier.id)
            await act(client, earlier.id, "triage", {"actor": RITA, "level": 2, "route": "advice_nfa", "rationale": "Advice given", "departure_reason": "Parents separated", "history_considered": True})
            await client.get_workflow_handle_for(ContactWorkflow.run, workflow_id(earlier.id)).result()
        c = make_contact(children=[kid], concerns={"factors": ["3B"]})
        await submit(client, settings, task_queue, c)
        state = await wait_stage(client, c.id, Stage.AWAITING_TRIAGE)
        assert [p.theme for p in state.history.recurring] == ["domestic_abuse"]
        assert "recurring_pattern" in state.flags
        assert state.suggested_level == 4
        triage = {"actor": RITA, "level": 4, "route": "spa", "rationale": "Third DV incident"}
        await refused(act(client, c.id, "triage", triage), "InvalidAction", "confirm history_considered")
        await act(client, c.id, "triage", triage | {"history_considered": True})
        await to_decision(client, c.id)
        await refused(act(client, c.id, "decide", decision(recurring_pattern_considered=False)), "InvalidAction", "confirm recurring_pattern_considered")
        state = await act(client, c.id, "decide", decision())
    assert state.decision.recurring_pattern_considered is True


async def test_the_second_domestic_abuse_contact_is_a_recurring_pattern(dev_env, settings, task_queue):
    """The letter's case (issue 8): one earlier domestic abuse contact, and the second arrives."""
    client = dev_env.client
    kid = {"first_name": "Ivy", "last_name": f"Hale{c_suffix()}", "date_of_birth": "2016-09-12"}
    async with running_worker(client, settings, task_queue):
        earlier = make_contact(children=[kid], concerns={"factors": ["3B"]})
        await submit(client, settings, task_queue, earlier)
        state = await wait_stage(client, earlier.id, Stage.AWAITING_TRIAGE)
        assert state.history.recurring == [] and state.suggested_level == 3  # the first time: no pattern
        c = make_contact(children=[kid], concerns={"factors": ["3A"]})
        await submit(client, settings, task_queue, c)
        state = await wait_stage(client, c.id, Stage.AWAITING_TRIAGE)
        [p] = state.history.recurring
        assert (p.theme, p.occurrences, p.contact_ids, p.includes_this_contact) == ("domestic_abuse", 2, [earlier.id], True)
        assert p.summary == "2nd domestic abuse contact in 12 months"
        assert "recurring_pattern" in state.flags
        assert state.suggested_level == 4  # the recurring-domestic-abuse rule fires
        triage = {"actor": RITA, "level": 4, "route": "spa", "rationale": "Second DV incident"}
        await refused(act(client, c.id, "triage", triage), "InvalidAction", "confirm history_considered")
        await act(client, c.id, "triage", triage | {"history_considered": True})
        await to_decision(client, c.id)
        await refused(act(client, c.id, "decide", decision(recurring_pattern_considered=False)), "InvalidAction", "confirm recurring_pattern_considered")


def c_suffix() -> str:
    return letters()


async def test_personal_data_is_not_readable_in_temporal_history(dev_env, settings, task_queue):
    client = dev_env.client
    name = f"Unmistakable{c_suffix()}"
    c = make_contact(children=[{"first_name": name, "last_name": "Person", "nhs_number": "9434765919"}])
    async with running_worker(client, settings, task_queue):
        await to_spa(client, settings, task_queue, c, level=3)
        state = await get_state(client, c.id)
        assert f"{name} Person" in state.children  # readable through the codec
        raw = await client.service_client.workflow_service.get_workflow_execution_history(
            __import__("temporalio.api.workflowservice.v1", fromlist=["x"]).GetWorkflowExecutionHistoryRequest(
                namespace=client.namespace,
                execution=__import__("temporalio.api.common.v1", fromlist=["x"]).WorkflowExecution(workflow_id=workflow_id(c.id)),
            )
        )
    blob = raw.SerializeToString()
    assert name.encode() not in blob
    assert b"9434765919" not in blob
    assert b"binary/encrypted" in blob


async def test_each_action_writes_its_record_and_trail_line_in_one_local_activity(dev_env, settings, task_queue):
    """ONE_WRITE_PER_ACTION: an action that changes the case record (triage, an agency's answer,
    the recommendation, the decision) takes one local activity for its write and its trail line,
    not one each; the record, the documents and the trail all have them."""
    from temporalio.api.enums.v1 import EventType

    client = dev_env.client
    c = make_contact(consent={"status": "given"})
    async with running_worker(client, settings, task_queue):
        await to_spa(client, settings, task_queue, c, level=3)
        state = await to_decision(client, c.id)
        await act(client, c.id, "decide", decision())
        await wait_stage(client, c.id, Stage.CLOSED)
        history = await client.get_workflow_handle(workflow_id(c.id)).fetch_history()
    markers: dict[str, int] = {}
    name = None
    for e in history.events:
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
            name = e.workflow_execution_update_accepted_event_attributes.accepted_request.input.name
            markers[name] = 0
        elif e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED and name is not None:
            markers[name] += 1
        elif e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED:
            name = None
    # one local activity each (a run begun on today's code takes the change from its start,
    # EVERY_CHANGE_AT_START: no patch marker of its own on the first update)
    assert {k: markers[k] for k in ("triage", "record_map_response", "recommend", "decide")} == {
        "triage": 1, "record_map_response": 1, "recommend": 1, "decide": 1}
    assert state.recommendation_document_id == f"{workflow_id(c.id)}/recommendation"
    with session(settings.database_url) as s:
        docs = {d.kind for d in s.exec(select(DocumentRecord).where(DocumentRecord.subject_id == c.id))}
        trail = [a.action for a in action_trail(s, c.id)]
    assert {"recommendation", "decision_record"} <= docs
    assert [a for a in trail if a in ("triage", "map_response", "recommendation", "management_decision")] == [
        "triage", "map_response", "recommendation", "management_decision"]
