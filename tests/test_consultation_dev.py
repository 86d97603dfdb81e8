"""The consultation line on the dev server: no history look-up, linking, follow-up, validators, stuck lists."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import pytest

from activities.outbox import OutboundMessage, StoredOutbox
from frontdoor import stuck
from frontdoor.errors import Refused
from models.consultation import ConsultationClosure, ConsultationStage
from tests.clients import consultations, submit_contact
from tests.conftest import RITA, SAM, TOM, make_contact
from tests.consultation_early_help_support import (
    CARA,
    consultation_early_help_worker,
    make_consultation,
    record,
    scheduled_activities,
)
from tests.helpers import wait_for, with_timescales


async def _stage(client, cid, stage, timeout=10.0):
    async def check():
        state = await consultations.get_state(client, cid)
        return state if state.stage == stage else None

    return await wait_for(check, timeout, what=f"{cid} to reach {stage.value}")


async def test_named_consultation_never_looks_up_history(dev_env, settings, task_queue):
    client = dev_env.client
    named = make_consultation(
        outcome="advice_only",
        children=[{"first_name": "Amy", "last_name": "Jones", "date_of_birth": "2018-03-02", "nhs_number": "9434765919"}],
    )
    invited = make_consultation(children=[{"first_name": "Ben", "last_name": "Jones"}])
    async with consultation_early_help_worker(client, settings, task_queue) as started:
        await record(client, settings, task_queue, started, named)
        await record(client, settings, task_queue, started, invited)
        state = await _stage(client, named.id, ConsultationStage.CLOSED)
        await _stage(client, invited.id, ConsultationStage.AWAITING_REFERRAL)
        for c in (named, invited):
            names = await scheduled_activities(client, consultations.workflow_id(c.id))
            assert "record_consultation" in names
            assert "check_history" not in names and "review_early_help_history" not in names
    assert state.closure == ConsultationClosure.ADVICE_ONLY
    assert state.children == ["Amy Jones"] and not state.anonymous
    assert "No history look-up" in state.history_lookup


async def test_anonymous_consultation_stores_no_identity(dev_env, settings, task_queue):
    client = dev_env.client
    c = make_consultation(outcome="advice_only")
    async with consultation_early_help_worker(client, settings, task_queue) as started:
        await record(client, settings, task_queue, started, c)
        state = await _stage(client, c.id, ConsultationStage.CLOSED)
    assert state.anonymous and state.children == []
    with pytest.raises(ValueError, match="anonymous"):
        make_consultation(anonymous=True, children=[{"first_name": "Amy"}])


async def test_invited_referral_arrives_links_and_raises_no_follow_up(dev_env, settings, task_queue):
    client = dev_env.client
    s = with_timescales(settings, invited_referral_due=timedelta(seconds=4))
    c = make_consultation()
    async with consultation_early_help_worker(client, s, task_queue) as started:
        await record(client, s, task_queue, started, c)
        state = await _stage(client, c.id, ConsultationStage.AWAITING_REFERRAL)
        assert state.reference == c.id and state.flags == ["referral_awaited"]
        contact = make_contact(consultation_ref=state.reference)
        started.append(await submit_contact(client, s, contact, RITA, task_queue=task_queue))
        state = await _stage(client, c.id, ConsultationStage.CLOSED)
        await _asleep(5)  # past the (short) due time: nothing more happens
        state = await consultations.get_state(client, c.id)
    assert state.closure == ConsultationClosure.REFERRAL_RECEIVED
    assert state.referral_contact_id == contact.id and state.referral_on_time
    assert state.follow_up_raised_at is None and state.flags == []


async def test_referral_never_comes_raises_follow_up_and_records_outcome(dev_env, settings, task_queue):
    client = dev_env.client
    s = with_timescales(settings, invited_referral_due=timedelta(seconds=1))
    c = make_consultation()
    async with consultation_early_help_worker(client, s, task_queue) as started:
        await record(client, s, task_queue, started, c)
        state = await _stage(client, c.id, ConsultationStage.FOLLOW_UP)
        assert set(state.flags) == {"referral_awaited", "follow_up_due"}
        rows = await wait_for(
            lambda: _ids(client, "follow_up_due"), what="the follow-up in the stuck list",
            timeout=10,
        )
        assert c.id in rows
        assert c.id in await _ids(client, "referral_awaited")
        # validators: role, then content
        with pytest.raises(Refused) as denied:
            await consultations.act(client, c.id, "record_follow_up", {"actor": RITA, "outcome": "referral_made", "note": "Rang back"})
        assert denied.value.status == 403
        state = await consultations.act(
            client, c.id, "record_follow_up", {"actor": CARA, "outcome": "escalated", "note": "Head teacher reluctant; escalate"}
        )
        assert state.follow_up is not None
        state = await _stage(client, c.id, ConsultationStage.CLOSED)
        with pytest.raises(Exception):  # noqa: B017 (closed: no update accepted)
            await consultations.act(client, c.id, "record_follow_up", {"actor": TOM, "outcome": "referral_made", "note": "again"})
    assert state.closure == ConsultationClosure.ESCALATED


class SlowManagersMailbox(StoredOutbox):
    """The managers' mailbox, slow to take a message (the one true external edge)."""

    def __init__(self, database_url: str) -> None:
        super().__init__(database_url)
        self.told: list[str] = []

    def send(self, message: OutboundMessage) -> bool:
        if message.channel == "role:team_manager":
            time.sleep(3.0)
            self.told.append(message.subject)
        return super().send(message)


async def test_an_escalating_follow_up_answers_before_the_managers_mailbox_has_it(dev_env, settings, task_queue):
    """The worker's follow-up is recorded and answered at once; the managers are told after it,
    before the consultation closes (ANSWER_BEFORE_SENDING). Before, the answer waited for the mailbox."""
    client = dev_env.client
    s = with_timescales(settings, invited_referral_due=timedelta(seconds=1))
    mailbox = SlowManagersMailbox(s.database_url)
    c = make_consultation()
    async with consultation_early_help_worker(client, s, task_queue, outbox=mailbox) as started:
        await record(client, s, task_queue, started, c)
        await _stage(client, c.id, ConsultationStage.FOLLOW_UP)
        mailbox.told.clear()  # the follow-up's own reminder went to social workers, not managers
        began = asyncio.get_running_loop().time()
        state = await consultations.act(
            client, c.id, "record_follow_up", {"actor": CARA, "outcome": "escalated", "note": "Caller will not refer"}
        )
        assert asyncio.get_running_loop().time() - began < 2.5 and state.follow_up is not None
        state = await _stage(client, c.id, ConsultationStage.CLOSED)
    assert state.closure == ConsultationClosure.ESCALATED
    assert mailbox.told == [f"Consultation {c.id} escalated: invited referral not made"]


async def test_follow_up_refused_before_it_is_due(dev_env, settings, task_queue):
    client = dev_env.client
    c = make_consultation()
    async with consultation_early_help_worker(client, settings, task_queue) as started:
        await record(client, settings, task_queue, started, c)
        await _stage(client, c.id, ConsultationStage.AWAITING_REFERRAL)
        with pytest.raises(Refused) as early:
            await consultations.act(client, c.id, "record_follow_up", {"actor": SAM, "outcome": "referral_made", "note": "Rang"})
        assert early.value.status == 409
    with pytest.raises(Refused):
        await consultations.start(client, settings, make_consultation(), RITA, task_queue=task_queue)


async def test_contact_quoting_an_unknown_reference_is_kept_unlinked(dev_env, settings, task_queue):
    from tests.clients import get_state

    client = dev_env.client
    contact = make_contact(consultation_ref="CONS-does-not-exist")
    async with consultation_early_help_worker(client, settings, task_queue) as started:
        started.append(await submit_contact(client, settings, contact, RITA, task_queue=task_queue))

        async def unlinked():
            state = await get_state(client, contact.id)
            return state if state.consultation_linked is False else None

        await wait_for(unlinked, what="the contact to record it could not link")


async def _ids(client, kind: str) -> list[str]:
    rows, _ = await stuck.page(client, kind, page_size=200)
    return [r.id for r in rows]


async def _asleep(seconds: float) -> None:
    import asyncio

    await asyncio.sleep(seconds)
