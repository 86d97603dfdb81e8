"""The morning case discussion on the dev server: a contact marked "threshold unclear" goes on
the next meeting's agenda; partners add to the items that ask them, and only those; the chair
records the outcome, which reaches the contact's trail and page; closing rolls items not
reached to the next working day; an item rolled over twice is stuck; the record is a document."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest

from frontdoor import record, stuck
from frontdoor.errors import InvalidInput, Refused
from models.calendar import WorkingCalendar
from models.morning import MorningOpening, MorningStage
from models.state import Stage
from tests.clients import act, contacts, morning
from tests.conftest import RITA, SAM, STARTED, TOM, make_contact, running_worker
from tests.helpers import submit, wait_for, wait_stage
from tests.missing_support import HANA, PAT

CAL = WorkingCalendar()


def far_working_day() -> date:
    """A working day years ahead, different for each test: nobody else's discussion."""
    day = date(2040, 1, 1) + timedelta(days=random.randrange(0, 3650))
    return day if CAL.is_working_day(day) else CAL.next_working_day(day)


async def open_far(client, settings, task_queue) -> date:
    day = far_working_day()
    STARTED.append(await morning.start_as_of(client, settings, MorningOpening(date=day), TOM,
                                             CAL.end_of(day) - timedelta(hours=20), task_queue=task_queue))
    return day


async def _morning(client, day: date, check=lambda s: True, what="the discussion"):
    async def get():
        try:
            state = await morning.get_state(client, day.isoformat())
        except Exception:  # noqa: BLE001 (not started yet)
            return None
        return state if check(state) else None

    return await wait_for(get, 15, what=what)


async def test_an_unclear_contact_goes_on_the_agenda_and_the_chairs_outcome_reaches_it(dev_env, settings, task_queue):
    client = dev_env.client
    c = make_contact()
    async with running_worker(client, settings, task_queue):
        await submit(client, settings, task_queue, c)
        await wait_stage(client, c.id, Stage.AWAITING_TRIAGE)
        state = await act(client, c.id, "threshold_unclear", {
            "actor": SAM, "question": "Level 3 or 4? Neglect indicators but parents engaging", "ask": ["police"]})
        pending = state.discussions[0]
        day = pending.meeting
        assert day is not None and CAL.is_working_day(day) and pending.outcome is None
        STARTED.append(morning.workflow_id(day.isoformat()))
        with pytest.raises(Refused) as twice:
            await act(client, c.id, "threshold_unclear", {"actor": SAM, "question": "Again?"})
        assert twice.value.status == 409 and "on the agenda of the morning discussion" in twice.value.message

        m = await _morning(client, day, lambda s: any(e.item.contact_id == c.id for e in s.agenda))
        item = next(e for e in m.agenda if e.item.contact_id == c.id)
        assert item.item.asked == ["police"] and item.item.about == c.children[0].display_name

        # partners add to the items that ask them, and only as their own agency
        with pytest.raises(Refused) as not_asked:
            await morning.act(client, day.isoformat(), "share", {"actor": HANA, "item": item.number, "information": "GP: known"})
        assert not_asked.value.status == 403 and "does not ask health" in not_asked.value.message
        with pytest.raises(Refused) as other_agency:
            await morning.act(client, day.isoformat(), "share",
                              {"actor": PAT, "item": item.number, "information": "x" * 5, "agency": "health"})
        assert other_agency.value.status == 422
        m = await morning.act(client, day.isoformat(), "share",
                              {"actor": PAT, "item": item.number, "information": "Two call-outs to the address in 2026"})
        assert [(i.agency, i.by) for i in m.entry(item.number).shared] == [("police", PAT.username)]
        # a partner's own item, before the meeting
        m = await morning.act(client, day.isoformat(), "add", {
            "actor": PAT, "question": "Should this go to a strategy discussion?", "about": "Tom Smith, born 02/03/2015",
            "ask": ["police", "health"]})
        partner_item = m.agenda[-1]
        with pytest.raises(Refused) as named:  # partners cannot reach into contacts through an item
            await morning.act(client, day.isoformat(), "add", {"actor": PAT, "question": "And this one?",
                                                               "contact_id": c.id})
        assert named.value.status == 422 and "partners do not name the front door's contacts" in named.value.message
        assert partner_item.item.raised_role == "police_partner" and partner_item.item.contact_id is None

        with pytest.raises(Refused) as not_chair:
            await morning.act(client, day.isoformat(), "record", {
                "actor": SAM, "item": item.number, "attendees": ["Sam"], "next_step": "early_help", "next_step_by": "Sam"})
        assert not_chair.value.status == 403
        m = await morning.act(client, day.isoformat(), "record", {
            "actor": TOM, "item": item.number, "attendees": "PC Pat Jones (police); Sam (SPA social worker)",
            "police_shared": "Two call-outs, one with the child present", "next_step": "strategy_discussion",
            "next_step_by": "Duty team manager", "note": "Threshold met for a strategy discussion"})
        assert m.stage == MorningStage.MEETING and m.chair == TOM.username
        assert m.entry(item.number).outcome.attendees == ["PC Pat Jones (police)", "Sam (SPA social worker)"]
        assert m.entry(item.number).contact_told is True
        with pytest.raises(Refused) as late_item:
            await morning.act(client, day.isoformat(), "add", {"actor": PAT, "question": "One more?", "about": "Someone"})
        assert late_item.value.status == 409 and "next working day" in late_item.value.message

        contact = await wait_for(lambda: _discussed(client, c.id), what="the outcome on the contact")
        outcome = contact.discussions[0].outcome
        assert outcome.next_step == "strategy_discussion" and outcome.chair == TOM.username and outcome.meeting == day
        trail = record.trail(settings.database_url, c.id)
        told = next(t for t in trail if t.action == "morning_discussion_outcome")
        assert told.actor == TOM.username and told.details["next_step"] == "strategy_discussion"
        assert {"threshold_unclear", "put_on_morning_agenda"} <= {t.action for t in trail}

        m = await morning.act(client, day.isoformat(), "close", {"actor": TOM, "note": "Quorate"})
        following = CAL.next_working_day(day)
        STARTED.append(morning.workflow_id(following.isoformat()))
        assert m.stage == MorningStage.CLOSED and m.document_id
        assert m.entry(partner_item.number).rolled_to >= following and m.rolled_to == m.entry(partner_item.number).rolled_to
        nxt = await _morning(client, m.rolled_to, lambda s: s.agenda)
        assert [(e.item.item_id, e.item.rolled_over, e.item.first_meeting) for e in nxt.agenda] == [
            (partner_item.item.item_id, 1, day)]
        doc = record.document(settings.database_url, m.document_id)
        assert doc is not None and doc.process == "morning" and "Strategy discussion" in doc.content
        assert "Tom Smith" in doc.content and "Not reached" in doc.content


async def _discussed(client, cid):
    state = await contacts.get_state(client, cid)
    return state if state.discussions and state.discussions[0].outcome else None


async def test_an_item_not_reached_twice_is_stuck(dev_env, settings, task_queue):
    client = dev_env.client
    async with running_worker(client, settings, task_queue):
        day = await open_far(client, settings, task_queue)
        await _morning(client, day, lambda s: s.meeting_at is not None)
        m = await morning.act(client, day.isoformat(), "add", {"actor": RITA, "question": "Early help or SPA?",
                                                               "about": "The Patel children"})
        item_id = m.agenda[0].item.item_id
        for times in (1, 2):
            m = await morning.act(client, day.isoformat(), "close", {"actor": TOM})
            day = m.rolled_to
            STARTED.append(morning.workflow_id(day.isoformat()))
            nxt = await _morning(client, day, lambda s: s.agenda)
            assert nxt.agenda[0].item.item_id == item_id and nxt.agenda[0].item.rolled_over == times
        assert "item_rolled_over_twice" in nxt.flags
        rows = await wait_for(lambda: _stuck_ids(client, "morning_rolled_twice"), what="the stuck list")
        assert day.isoformat() in rows
        m = await morning.act(client, day.isoformat(), "record", {"actor": TOM, "item": 1, "attendees": ["Tom"],
                                                                  "next_step": "early_help", "next_step_by": "Hub"})
        assert "item_rolled_over_twice" not in m.flags


async def _stuck_ids(client, name):
    rows, _ = await stuck.page(client, name, page_size=500)
    return {r.id for r in rows} or None


async def test_opening_a_discussion_by_hand_is_for_working_days_ahead(dev_env, settings, task_queue):
    client = dev_env.client
    today = date.today()
    saturday = today + timedelta(days=(5 - today.weekday()) % 7 or 7)  # the next Saturday, never today
    with pytest.raises(InvalidInput, match="not a working day"):
        await morning.start(client, settings, MorningOpening(date=saturday), TOM, task_queue=task_queue)
    with pytest.raises(InvalidInput, match="has passed"):
        await morning.start(client, settings, MorningOpening(date=date(2020, 1, 6)), TOM, task_queue=task_queue)
    with pytest.raises(Refused) as who:
        await morning.start(client, settings, MorningOpening(date=far_working_day()), PAT, task_queue=task_queue)
    assert who.value.status == 403
