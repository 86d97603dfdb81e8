"""The report facts are exactly what the trail says: real workflows on the dev server
(contact, consultation, early help), then each facts row checked against the case's own
trail entries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import select

from models.database import session
from models.early_help import EarlyHelpStage
from models.facts import (
    ChildFacts,
    ConsultationFacts,
    ContactFacts,
    EarlyHelpFacts,
    EarlyHelpStepFacts,
    ExtensionFacts,
)
from models.state import Stage
from models.tables import ActionRecord
from tests.clients import act, consultations, early_help, get_state, submit_contact, workflow_id
from tests.conftest import ERIN, RITA, SAM, SANA, TOM, make_contact
from tests.consultation_early_help_support import (
    consultation_early_help_worker,
    make_consultation,
    record,
    start_direct,
)
from tests.helpers import action_trail, decision, wait_for, wait_stage, with_timescales
from workflows.contact import ContactWorkflow


def utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def trail_of(url: str, subject: str) -> dict[str, list[ActionRecord]]:
    by_action: dict[str, list[ActionRecord]] = {}
    with session(url) as s:
        for a in action_trail(s, subject):
            by_action.setdefault(a.action, []).append(a)
    return by_action


def facts(url: str, model: Any, key: Any) -> Any:
    with session(url) as s:
        return s.get(model, key)


async def _eh_stage(client, case_id, stage, timeout=15.0):
    async def check():
        try:
            state = await early_help.get_state(client, case_id)
        except Exception:  # noqa: BLE001 (the child workflow may not have started yet)
            return None
        return state if state.stage == stage else None

    return await wait_for(check, timeout, what=f"{case_id} to reach {stage.value}")


async def test_an_spa_contact_and_its_step_down_are_projected_as_the_trail_says(dev_env, settings, task_queue):
    client, url = dev_env.client, settings.database_url
    received = datetime.now(UTC) - timedelta(minutes=5)
    c = make_contact(
        source="6", received_at=received.isoformat(), police_attendance_at=(received - timedelta(hours=30)).isoformat(),
        consent={"status": "not_sought"},
    )
    case_id = f"EH-{c.id}"
    async with consultation_early_help_worker(client, settings, task_queue) as started:
        started.append(await submit_contact(client, settings, c, RITA, task_queue=task_queue))
        state = await wait_stage(client, c.id, Stage.AWAITING_TRIAGE)
        suggested = state.suggested_level
        await act(client, c.id, "triage", {
            "actor": RITA, "level": 4, "route": "spa", "rationale": "Police: child present at incident",
            "departure_reason": None if suggested == 4 else "Child present", "history_considered": True,
            "threshold_advice": {"given_by": "sam", "advice": "SPA at level 4", "reasons": "injury"},
        })
        await act(client, c.id, "review", {"actor": SAM, "rag": "red"})
        await act(client, c.id, "override_consent", {
            "actor": TOM, "reason": "seeking_consent_increases_risk", "explanation": "Father may react badly",
        })
        await act(client, c.id, "request_map_checks", {"actor": SAM, "agencies": ["police"]})
        await act(client, c.id, "record_map_response", {"actor": SAM, "agency": "police", "information": "Known"})
        state = await get_state(client, c.id)
        new_deadline = state.decision_due_at + timedelta(hours=6)
        await act(client, c.id, "extend", {"actor": TOM, "reason": "interpreter_awaited", "new_deadline": new_deadline.isoformat()})
        await act(client, c.id, "recommend", {
            "actor": SAM, "summary": "Low-level concerns; family engaging.", "recommended_outcome": "targeted_early_help",
        })
        await act(client, c.id, "decide", decision("targeted_early_help", quadrant="south_east"))
        await client.get_workflow_handle_for(ContactWorkflow.run, workflow_id(c.id)).result()

        # the step-down: the early help case, through to its decision
        started.append(early_help.workflow_id(case_id))
        await _eh_stage(client, case_id, EarlyHelpStage.AWAITING_DIRECTIONS)
        await early_help.act(client, case_id, "give_directions", {"actor": SANA, "directions": "See the family", "adviser": "erin"})
        await early_help.act(client, case_id, "record_consent", {"actor": ERIN, "status": "given"})
        await wait_for(lambda: _history_ready(client, case_id), what="history review")
        await early_help.act(client, case_id, "record_conversation", {"actor": ERIN, "with_whom": "parent", "name": "Mother", "summary": "Wants help"})
        await early_help.act(client, case_id, "finish_gathering", {"actor": ERIN})
        await early_help.act(client, case_id, "recommend", {
            "actor": ERIN, "summary": "Family support worker in the south east.", "recommended_outcome": "targeted_early_help",
            "quadrant": "south_east", "history_considered": True,
        })
        await early_help.act(client, case_id, "decide", {
            "actor": TOM, "outcome": "targeted_early_help", "quadrant": "south_east", "rationale": "Agreed",
            "recurring_pattern_considered": True,
        })
        await _eh_stage(client, case_id, EarlyHelpStage.CLOSED)

    trail = trail_of(url, c.id)
    f = facts(url, ContactFacts, c.id)
    triage = trail["triage"][0]
    decided = trail["management_decision"][0]
    extension = trail["deadline_extended"][0]
    assert f.source == "6" and f.police_delay_hours == trail["contact_received"][0].details["police_delay_hours"] == 30.0
    assert utc(f.received_at) == received
    assert f.route == "spa" and f.level == 4 and f.is_referral and not f.advice_or_nfa
    assert utc(f.referral_at) == utc(f.spa_arrival_at) == utc(triage.at) and f.triaged_by == "rita"
    assert f.advice_given and f.advice_by == "sam" and f.history_considered is True
    assert f.triage_suggested_level == triage.details.get("suggested_level")
    assert f.recurring is bool(trail["history_checked"][0].details.get("recurring"))
    assert f.rag == "red" and f.consent_from_referrer == "not_sought"
    assert f.consent_status == "overridden" and f.consent_override_reason == "seeking_consent_increases_risk"
    assert f.recommended_outcome == "targeted_early_help" and f.recommended_by == "sam" and f.allocated_worker == "sam"
    assert f.extensions == 1 and f.extension_hours == 6.0
    assert utc(f.decision_due_at) == datetime.fromisoformat(extension.details["new_deadline"])
    assert utc(f.decided_at) == utc(decided.at) and f.decided_by == "tom" and f.on_time is decided.details["on_time"] is True
    assert f.outcome == "targeted_early_help" and f.quadrant == "south_east" and f.nfa is False and not f.overdue
    assert f.hours_to_decision == round((utc(decided.at) - utc(triage.at)).total_seconds() / 3600, 2)
    assert f.team == "early_help_south_east" and f.final_outcome == "targeted_early_help"
    assert utc(f.closed_at) == utc(trail["closed"][0].at)
    with session(url) as s:
        ext = s.exec(select(ExtensionFacts).where(ExtensionFacts.contact_id == c.id)).all()
        children = s.exec(select(ChildFacts).where(ChildFacts.contact_id == c.id)).all()
        steps = {r.step: r for r in s.exec(select(EarlyHelpStepFacts).where(EarlyHelpStepFacts.case_id == case_id))}
    assert [(e.reason, e.hours_added, e.extended_by) for e in ext] == [("interpreter_awaited", 6.0, "tom")]
    assert [(ch.kind, utc(ch.referral_at)) for ch in children] == [("contact", utc(triage.at))]
    assert utc(children[0].window_start) == utc(triage.at).replace(year=utc(triage.at).year - 1)

    eh_trail = trail_of(url, case_id)
    h = facts(url, EarlyHelpFacts, case_id)
    assert h.entry == "step_down" and h.origin_contact_id == c.id and h.children_contact_id == c.id
    assert utc(h.received_at) == utc(eh_trail["early_help_received"][0].at)
    assert utc(h.directions_at) == utc(eh_trail["directions"][0].at) and h.adviser == "erin"
    assert utc(h.decided_at) == utc(eh_trail["early_help_decision"][0].at) == utc(h.assessment_done_at)
    assert h.outcome == "targeted_early_help" and h.quadrant == "south_east" and h.team == "early_help_south_east"
    assert sorted(steps) == ["decision", "directions", "gathering", "recommendation"]
    assert all(st.completed and not st.overdue for st in steps.values())
    assert utc(steps["gathering"].started_at) == max(utc(h.directions_at), utc(h.consent_given_at))
    assert utc(steps["gathering"].done_at) == utc(eh_trail["gathering_finished"][0].at)
    assert utc(steps["decision"].started_at) == utc(eh_trail["recommendation"][0].at)


async def _history_ready(client, case_id):
    return (await early_help.get_state(client, case_id)).history is not None


async def test_an_invited_referral_and_an_advice_contact_are_projected(dev_env, settings, task_queue):
    client, url = dev_env.client, settings.database_url
    s = with_timescales(settings, invited_referral_due=timedelta(seconds=30))
    call = make_consultation(children=[{"first_name": "Amy", "last_name": "Jones"}])
    async with consultation_early_help_worker(client, s, task_queue) as started:
        await record(client, s, task_queue, started, call)
        await wait_for(lambda: _consultation_stage(client, call.id, "awaiting_referral"), what="awaiting referral")
        contact = make_contact(consultation_ref=call.id)
        started.append(await submit_contact(client, s, contact, RITA, task_queue=task_queue))
        await wait_for(lambda: _consultation_stage(client, call.id, "closed"), what="consultation closed")
        state = await wait_stage(client, contact.id, Stage.AWAITING_TRIAGE)
        await act(client, contact.id, "triage", {
            "actor": RITA, "level": 2, "route": "advice_nfa", "rationale": "Advice to the school",
            "departure_reason": None if state.suggested_level == 2 else "Low level", "history_considered": True,
        })
        await client.get_workflow_handle_for(ContactWorkflow.run, workflow_id(contact.id)).result()
    k = facts(url, ConsultationFacts, call.id)
    k_trail = trail_of(url, call.id)
    recorded = k_trail["consultation_recorded"][0].details
    assert k.outcome == "referral_invited" and k.anonymous is recorded["anonymous"] is False
    assert k.children_named == recorded["children_named"] == 1
    assert utc(k.called_at) == utc(call.called_at) and k.reference == call.id
    assert utc(k.referral_due_at) == datetime.fromisoformat(k_trail["consultation_recorded"][0].details["referral_due_at"])
    assert k.referral_contact_id == contact.id and k.referral_on_time is True and k.after_follow_up is False
    assert k.follow_up_raised_at is None and k.closure == "referral_received"
    f = facts(url, ContactFacts, contact.id)
    assert f.consultation_ref == call.id and f.consultation_linked is True
    assert f.route == "advice_nfa" and f.advice_or_nfa and not f.is_referral and f.referral_at is None
    assert f.handoff_outcome == "advice_signposting" and f.team is None and f.closed_at is not None
    with session(url) as db:
        children = db.exec(select(ChildFacts).where(ChildFacts.contact_id == contact.id)).all()
    assert len(children) == 1 and children[0].referral_at is None


async def _consultation_stage(client, cid, stage):
    state = await consultations.get_state(client, cid)
    return state if state.stage.value == stage else None


async def test_a_step_up_from_early_help_is_a_referral_with_its_own_facts(dev_env, settings, task_queue):
    client, url = dev_env.client, settings.database_url
    async with consultation_early_help_worker(client, settings, task_queue) as started:
        req = await start_direct(client, settings, task_queue, started, ERIN, concerns={"factors": ["3B"], "summary": "DA"})
        await early_help.act(client, req.id, "give_directions", {"actor": SANA, "directions": "Visit", "adviser": "erin"})
        await _eh_stage(client, req.id, EarlyHelpStage.GATHERING)
        await early_help.act(client, req.id, "consult", {
            "actor": ERIN, "consulted": "tom", "consulted_role": "team_manager", "advice": "Step up",
        })
        state = await early_help.act(client, req.id, "step_up", {"actor": ERIN, "reason": "Disclosure of DA"})
        su = state.step_up_contact_id
        started.append(f"contact-{su}")
        await _eh_stage(client, req.id, EarlyHelpStage.CLOSED)
        await wait_for(lambda: _in_spa(client, su), what="the step-up contact in the SPA")
    h = facts(url, EarlyHelpFacts, req.id)
    eh_trail = trail_of(url, req.id)
    assert h.entry == "direct" and h.children_contact_id == req.id and h.step_up_contact_id == su
    assert utc(h.stepped_up_at) == utc(eh_trail["stepped_up"][0].at) == utc(h.assessment_done_at)
    with session(url) as s:
        steps = {r.step: r for r in s.exec(select(EarlyHelpStepFacts).where(EarlyHelpStepFacts.case_id == req.id))}
        direct_children = s.exec(select(ChildFacts).where(ChildFacts.contact_id == req.id)).all()
        su_children = s.exec(select(ChildFacts).where(ChildFacts.contact_id == su)).all()
    assert steps["directions"].completed and not steps["gathering"].completed
    assert utc(steps["gathering"].done_at) == utc(h.stepped_up_at)  # cut short by the step-up: neither met nor late
    assert "recommendation" not in steps
    assert [c.kind for c in direct_children] == ["early_help"]
    su_trail = trail_of(url, su)
    f = facts(url, ContactFacts, su)
    assert f.source == "5D" and f.stepped_up_from == req.id and f.route == "spa" and f.is_referral
    assert utc(f.referral_at) == utc(f.spa_arrival_at) == utc(su_trail["stepped_up_from_early_help"][0].at)
    # the same child: the step-up's child carries the direct request's child key
    assert [c.child_key for c in su_children] == [c.child_key for c in direct_children]
    assert utc(su_children[0].referral_at) == utc(f.referral_at)


async def _in_spa(client, contact_id):
    try:
        state = await get_state(client, contact_id)
    except Exception:  # noqa: BLE001 (not started yet)
        return None
    return state if state.stage in (Stage.AWAITING_CONSENT, Stage.MAP_CHECKS, Stage.AWAITING_RECOMMENDATION) else None
