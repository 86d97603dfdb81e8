"""The early help hub on the dev server: the whole flow, validators, step-up, step-down, stuck lists."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from frontdoor import stuck
from frontdoor.errors import NotFound, Refused
from models.database import session
from models.early_help import EarlyHelpEntry, EarlyHelpOutcome, EarlyHelpStage
from models.state import Stage
from models.tables import DocumentRecord, OutboxMessage
from models.timescales import Span
from tests.clients import act as contact_act
from tests.clients import early_help, submit_contact
from tests.clients import get_state as contact_state
from tests.conftest import ERIN, RITA, SANA, TOM, make_contact
from tests.consultation_early_help_support import consultation_early_help_worker, start_direct
from tests.helpers import action_trail, wait_for, with_timescales


async def _stage(client, case_id, stage, timeout=10.0):
    async def check():
        try:
            state = await early_help.get_state(client, case_id)
        except NotFound:  # a child workflow not started yet
            return None
        return state if state.stage == stage else None

    return await wait_for(check, timeout, what=f"{case_id} to reach {stage.value}")


async def _refused(status, client, case_id, action, payload):
    with pytest.raises(Refused) as exc:
        await early_help.act(client, case_id, action, payload)
    assert exc.value.status == status, exc.value.message
    return exc.value.message


def _directions(actor=SANA):
    return {"actor": actor, "directions": "Speak to school and mother; check health visitor.", "adviser": "erin"}


async def test_direct_case_from_directions_to_a_quadrant(dev_env, settings, task_queue):
    client = dev_env.client
    async with consultation_early_help_worker(client, settings, task_queue) as started:
        req = await start_direct(client, settings, task_queue, started, ERIN, consent={"status": "not_sought"})
        cid = req.id
        await _refused(403, client, cid, "give_directions", _directions(ERIN))
        await _refused(409, client, cid, "record_conversation", {"actor": ERIN, "with_whom": "parent", "name": "Mother", "summary": "Too early"})
        state = await early_help.act(client, cid, "give_directions", _directions())
        assert state.stage == EarlyHelpStage.AWAITING_CONSENT and state.holder == "erin"
        await _refused(409, client, cid, "finish_gathering", {"actor": ERIN})
        await early_help.act(client, cid, "record_consent", {"actor": ERIN, "status": "given", "note": "Mother agreed by phone"})
        state = await _stage(client, cid, EarlyHelpStage.GATHERING)
        await wait_for(lambda: _history_ready(client, cid), what="history review")
        await early_help.act(
            client, cid, "record_conversation",
            {"actor": ERIN, "with_whom": "agency", "agency": "school", "name": "DSL", "summary": "Attendance 82%"},
        )
        msg = await _refused(409, client, cid, "finish_gathering", {"actor": ERIN})  # the state does not allow it yet
        assert "parents" in msg
        await early_help.act(
            client, cid, "record_conversation", {"actor": ERIN, "with_whom": "parent", "name": "Mother", "summary": "Wants help with routines"}
        )
        state = await early_help.act(client, cid, "finish_gathering", {"actor": ERIN, "note": "Enough to recommend"})
        assert state.stage == EarlyHelpStage.AWAITING_RECOMMENDATION
        rec = {"actor": ERIN, "summary": "Low-level neglect; mother engaging.", "recommended_outcome": "targeted_early_help"}
        assert "quadrant" in await _refused(422, client, cid, "recommend", rec)
        await _refused(422, client, cid, "recommend", rec | {"quadrant": "mars"})
        state = await early_help.act(client, cid, "recommend", rec | {"quadrant": "north_west"})
        assert state.stage == EarlyHelpStage.AWAITING_DECISION and state.recommendation_document_id
        await _refused(403, client, cid, "decide", {"actor": ERIN, "outcome": "universal_services", "rationale": "n/a"})
        state = await early_help.act(
            client, cid, "decide",
            {"actor": TOM, "outcome": "targeted_early_help", "quadrant": "north_west", "rationale": "Family support worker"},
        )
        final = await _stage(client, cid, EarlyHelpStage.CLOSED)
    assert final.outcome == EarlyHelpOutcome.TARGETED_EARLY_HELP and final.team == "early_help_north_west"
    assert [s.name for s in final.steps] == ["directions", "gathering", "recommendation", "decision"]
    assert all(s.met for s in final.steps)
    with session(settings.database_url) as s:
        trail = [a.action for a in action_trail(s, cid)]
        docs = {d.kind for d in s.exec(select(DocumentRecord).where(DocumentRecord.subject_id == cid))}
        sent = sorted(m.channel for m in s.exec(select(OutboxMessage).where(OutboxMessage.subject_id == cid)))
    assert "early_help_received" in trail  # (a person acting within milliseconds of the start may come first)
    assert [a for a in trail if a in ("directions", "consent_given", "history_reviewed")] == [
        "directions", "consent_given", "history_reviewed",
    ]
    assert trail[-3:] == ["early_help_decision", "handed_off", "closed"]
    assert docs == {"early_help_recommendation"}
    assert sent == ["referrer", "team:early_help_north_west"]


async def _history_ready(client, cid):
    return (await early_help.get_state(client, cid)).history is not None


async def test_consent_refused_closes_with_advice(dev_env, settings, task_queue):
    client = dev_env.client
    async with consultation_early_help_worker(client, settings, task_queue) as started:
        req = await start_direct(client, settings, task_queue, started, SANA, consent={"status": "not_sought"})
        await early_help.act(client, req.id, "give_directions", _directions())
        with pytest.raises(ValueError, match="advice"):
            await early_help.act(client, req.id, "record_consent", {"actor": ERIN, "status": "refused"})
        await early_help.act(
            client, req.id, "record_consent", {"actor": ERIN, "status": "refused", "advice": "Signposted to the family centre"}
        )
        final = await _stage(client, req.id, EarlyHelpStage.CLOSED)
    assert final.outcome == EarlyHelpOutcome.CONSENT_REFUSED and final.history is None  # nothing gathered


async def test_adviser_steps_up_into_the_spa_after_consulting(dev_env, settings, task_queue):
    client = dev_env.client
    async with consultation_early_help_worker(client, settings, task_queue) as started:
        req = await start_direct(client, settings, task_queue, started, ERIN, concerns={"factors": ["3B"], "summary": "DA at home"})
        cid = req.id
        await early_help.act(client, cid, "give_directions", _directions())
        await _stage(client, cid, EarlyHelpStage.GATHERING)
        up = {"actor": ERIN, "reason": "Disclosure of DA incident with child present"}
        assert "consultation" in await _refused(422, client, cid, "step_up", up)
        await early_help.act(
            client, cid, "consult",
            {"actor": ERIN, "consulted": "tom", "consulted_role": "team_manager", "advice": "Step up to the SPA"},
        )
        state = await early_help.act(client, cid, "step_up", up)
        su = state.step_up_contact_id
        assert su == f"{cid}-SU" and state.outcome == EarlyHelpOutcome.STEP_UP
        started.append(f"contact-{su}")
        final = await _stage(client, cid, EarlyHelpStage.CLOSED)
        spa = await wait_for(lambda: _spa_state(client, su), what="the step-up contact in the SPA")
        with pytest.raises(NotFound):  # closed: no more actions
            await early_help.act(client, cid, "step_up", up)
        # the SPA carries on as usual: the triage refuses (it was stepped up already)
        with pytest.raises(Refused):
            await contact_act(client, su, "triage", {"actor": RITA, "level": 4, "route": "spa", "rationale": "again"})
    assert final.outcome == EarlyHelpOutcome.STEP_UP
    assert spa.triage.route.value == "spa" and spa.source == "5D" and spa.decision_due_at is not None
    assert "Stepped up from early help" in spa.triage.rationale


async def _spa_state(client, contact_id):
    try:
        state = await contact_state(client, contact_id)
    except Exception:  # noqa: BLE001 (not started yet)
        return None
    return state if state.stage in (Stage.AWAITING_CONSENT, Stage.MAP_CHECKS, Stage.AWAITING_RECOMMENDATION) else None


async def test_triage_to_early_help_starts_the_hub_case_exactly_once(dev_env, settings, task_queue):
    client = dev_env.client
    c = make_contact(concerns={"factors": ["16A"], "summary": "Arrives hungry"})
    async with consultation_early_help_worker(client, settings, task_queue) as started:
        started.append(await submit_contact(client, settings, c, RITA, task_queue=task_queue))
        await wait_for(lambda: _contact_stage(client, c.id, Stage.AWAITING_TRIAGE), what="triage")
        await contact_act(
            client, c.id, "triage",
            {"actor": RITA, "level": 3, "route": "early_help", "rationale": "Lower level of need", "history_considered": True},
        )
        case_id = f"EH-{c.id}"
        started.append(early_help.workflow_id(case_id))
        state = await _stage(client, case_id, EarlyHelpStage.AWAITING_DIRECTIONS)
        closed = await wait_for(lambda: _contact_stage(client, c.id, Stage.CLOSED), what="contact closed")
    assert state.entry == EarlyHelpEntry.TRIAGE and state.origin.contact_id == c.id and state.origin.level == 3
    assert closed.early_help_case_id == case_id and closed.outcome.value == "early_help_hub"
    starts = 0
    async for event in client.get_workflow_handle(f"contact-{c.id}").fetch_history_events():
        starts += event.HasField("start_child_workflow_execution_initiated_event_attributes")
    assert starts == 1


async def _contact_stage(client, contact_id, stage):
    state = await contact_state(client, contact_id)
    return state if state.stage == stage else None


async def test_overdue_directions_show_in_the_stuck_lists(dev_env, settings, task_queue):
    client = dev_env.client
    s = with_timescales(settings, early_help_directions=Span(working_days=0, duration=timedelta(seconds=1)))
    async with consultation_early_help_worker(client, s, task_queue) as started:
        req = await start_direct(client, s, task_queue, started, ERIN)

        async def listed():
            rows, _ = await stuck.page(client, "directions_overdue", page_size=200)
            return [r for r in rows if r.id == req.id]

        rows = await wait_for(listed, what="the case in the directions_overdue list")
        assert rows[0].kind == "early_help" and rows[0].stage == "awaiting_directions" and rows[0].due_at
        state = await early_help.get_state(client, req.id)
        assert {"directions_overdue", "early_help_overdue"} <= set(state.flags)
        state = await early_help.act(client, req.id, "give_directions", _directions(TOM))
        assert "directions_overdue" not in state.flags and state.steps[0].met is False


async def test_spa_decision_of_targeted_early_help_steps_down_into_the_hub(dev_env, settings, task_queue):
    from tests.helpers import decision, to_decision, to_spa

    client = dev_env.client
    c = make_contact()
    async with consultation_early_help_worker(client, settings, task_queue) as started:
        started.append(f"contact-{c.id}")
        await to_spa(client, settings, task_queue, c)
        await to_decision(client, c.id)
        await contact_act(client, c.id, "decide", decision("targeted_early_help", quadrant="north_east"))
        case_id = f"EH-{c.id}"
        started.append(early_help.workflow_id(case_id))
        state = await _stage(client, case_id, EarlyHelpStage.AWAITING_DIRECTIONS)
    assert state.entry == EarlyHelpEntry.STEP_DOWN and state.origin.quadrant == "north_east"
    assert state.holder == "tom"
