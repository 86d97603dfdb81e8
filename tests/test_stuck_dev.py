"""Supervisors' stuck lists on the real dev server: each is one visibility query, and
each row names the contact, the stage, since when and who holds it.

Other tests share the server, so these assert on their own contacts being in (or out
of) each list rather than on totals.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.worker import Worker

from activities.outbox import OutboundMessage, StoredOutbox
from frontdoor import stuck
from models.state import Stage
from tests.broken_workflow import BrokenDeploy
from tests.clients import act, get_state
from tests.conftest import MAYA, RITA, SAM, STARTED, TOM, make_contact, new_id, running_worker
from tests.helpers import submit, to_spa, wait_for, wait_stage, with_timescales
from workflows import search_attributes as sa

pytestmark = pytest.mark.asyncio


async def listed(client, kind: str, within: timedelta = timedelta(hours=4)) -> dict[str, stuck.StuckRow]:
    rows, _ = await stuck.page(client, kind, within, page_size=1000)
    return {r.id: r for r in rows}


async def eventually_listed(client, kind: str, ids: set[str], within: timedelta = timedelta(hours=4)) -> dict[str, stuck.StuckRow]:
    async def check():
        rows = await listed(client, kind, within)
        return rows if ids <= rows.keys() else None

    return await wait_for(check, 15, 0.1, what=f"{ids} in stuck list {kind}")


async def test_each_stuck_question_lists_the_right_contacts(dev_env, settings, task_queue):
    client = dev_env.client
    short = with_timescales(settings, decision_deadline=timedelta(seconds=2), map_response_due=timedelta(seconds=2))
    async with running_worker(client, settings, task_queue):
        overdue = make_contact(consent={"status": "given"})
        due_soon = make_contact(consent={"status": "not_sought"})
        reviewed = make_contact()
        urgent = make_contact(concerns={"factors": ["19C"]})
        await to_spa(client, short, task_queue, overdue, level=3)
        await to_spa(client, settings, task_queue, due_soon, level=3)
        await act(client, overdue.id, "request_map_checks", {"actor": SAM, "agencies": ["police"]})
        await submit(client, settings, task_queue, reviewed)
        await wait_stage(client, reviewed.id, Stage.AWAITING_TRIAGE)
        await act(client, reviewed.id, "review", {"actor": SAM, "rag": "green"})
        await submit(client, settings, task_queue, urgent)
        await wait_stage(client, urgent.id, Stage.AWAITING_TRIAGE)
        await act(client, urgent.id, "triage", {"actor": RITA, "level": 4, "route": "urgent", "rationale": "Disclosure"})

        rows = await eventually_listed(client, "overdue", {overdue.id})
        assert due_soon.id not in rows
        row = rows[overdue.id]
        assert row.stage == "map_checks" and row.holder == "sam" and row.since is not None and row.kind == "contact"

        rows = await eventually_listed(client, "awaiting_agency", {overdue.id})
        assert due_soon.id not in rows

        rows = await eventually_listed(client, "due_soon", {due_soon.id}, within=timedelta(hours=25))
        assert overdue.id not in rows  # already past due: it is overdue, not due soon
        assert due_soon.id not in await listed(client, "due_soon", timedelta(hours=1))

        rows = await eventually_listed(client, "awaiting_consent", {due_soon.id})
        assert rows[due_soon.id].stage == "awaiting_consent" and overdue.id not in rows

        rows = await eventually_listed(client, "unreviewed", {overdue.id, due_soon.id, urgent.id})
        assert reviewed.id not in rows

        rows = await eventually_listed(client, "urgent_unpicked", {urgent.id})
        assert rows[urgent.id].stage == "awaiting_pickup" and rows[urgent.id].due_at is not None
        await act(client, urgent.id, "pickup", {"actor": SAM})
        await wait_for(lambda: _absent(client, "urgent_unpicked", urgent.id), 15, 0.1, what="urgent contact to leave the list")

        assert await stuck.count(client, "overdue") >= 1
        # an extension takes a contact off the overdue list
        state = await get_state(client, overdue.id)
        await act(client, overdue.id, "extend", {"actor": TOM, "reason": "agency_unavailable", "new_deadline": (state.decision_due_at + timedelta(hours=8)).isoformat()})
        await wait_for(lambda: _absent(client, "overdue", overdue.id), 15, 0.1, what="extended contact to leave the overdue list")


async def _absent(client, kind: str, contact_id: str) -> bool:
    return contact_id not in await listed(client, kind)


class FlakyMailbox(StoredOutbox):
    """An agency mailbox that is down until it is mended: the true external edge."""

    def __init__(self, database_url: str) -> None:
        super().__init__(database_url)
        self.down = True
        self.calls = 0

    def send(self, message: OutboundMessage) -> bool:
        if message.channel.startswith("agency:"):
            self.calls += 1
            if self.down:
                raise ConnectionError("agency mailbox unreachable (connection refused)")
        return super().send(message)


async def test_an_activity_that_keeps_failing_marks_the_contact_faulted_until_retried(dev_env, settings, task_queue):
    client = dev_env.client
    mailbox = FlakyMailbox(settings.database_url)
    c = make_contact()
    async with running_worker(client, settings, task_queue, outbox=mailbox):
        await to_spa(client, settings, task_queue, c, level=3)
        # the social worker's request is answered at once: the mailbox being down is the
        # contact's fault to mend, not the person's wait (ANSWER_BEFORE_SENDING)
        state = await asyncio.wait_for(act(client, c.id, "request_map_checks", {"actor": SAM, "agencies": ["police"]}), 10)
        assert [m.agency.value for m in state.map_checks] == ["police"] and state.map_checks[0].document_id is None
        rows = await eventually_listed(client, "faulted", {c.id})
        assert "send_map_request" in rows[c.id].fault and "unreachable" in rows[c.id].fault
        state = await get_state(client, c.id)
        assert state.fault is not None and "faulted" in state.flags
        assert mailbox.calls == settings.timescales.activity_attempts  # bounded retries, then it waits
        with pytest.raises(Exception, match="may not retry"):
            await act(client, c.id, "retry_fault", {"actor": SAM})
        mailbox.down = False
        await act(client, c.id, "retry_fault", {"actor": MAYA, "note": "mailbox back up"})
        state = await wait_for(lambda: _sent(client, c.id), 15, 0.1, what="the request to go once the fault is mended")
        assert state.fault is None and mailbox.calls == settings.timescales.activity_attempts + 1
        await wait_for(lambda: _absent(client, "faulted", c.id), 15, 0.1, what="fault to clear")


async def _sent(client, contact_id: str):
    state = await get_state(client, contact_id)
    return state if state.map_checks and state.map_checks[0].document_id is not None else None


async def test_workflow_code_that_keeps_failing_is_found_through_reported_problems(dev_env, task_queue):
    client = dev_env.client
    subject = new_id("BROKEN")
    wid = f"contact-{subject}"
    async with Worker(client, task_queue=task_queue, workflows=[BrokenDeploy]):
        await client.start_workflow(
            BrokenDeploy.run, id=wid, task_queue=task_queue,
            search_attributes=TypedSearchAttributes(
                [SearchAttributePair(sa.KIND, "contact"), SearchAttributePair(sa.SUBJECT, subject)]
            ),
        )
        STARTED.append(wid)
        rows = await wait_for(lambda: _present(client, subject), 40, 0.5, what="the broken workflow to be reported")
        assert rows[subject].kind == "contact" and rows[subject].workflow_id == wid
        await client.get_workflow_handle(wid).terminate("test finished")


async def _present(client, subject: str):
    rows = await listed(client, "workflow_task_failing")
    return rows if subject in rows else None


async def test_the_supervisors_lists_are_asked_at_most_so_many_at_once_and_a_failing_list_leaves_the_rest(dev_env):
    """The supervisor's page, the API and the CLI ask every list through stuck.each_list: at most
    `at_once` in flight (settings.stuck_queries_at_once; in turn by default), in the lists'
    order, and a list whose query fails does not hide the others."""
    in_flight = peak = 0

    async def ask(name: str) -> int:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.02)
        in_flight -= 1
        if name == "broken":
            raise RuntimeError("FdNoSuch is not a search attribute")
        return len(name)

    names = [f"list{i}" for i in range(20)] + ["broken"]
    for at_once in (None, 4):
        peak = 0
        got = await stuck.each_list(names, ask, at_once)
        assert list(got) == names and got["list3"] == 5
        assert peak == (at_once or stuck.AT_ONCE)
        assert isinstance(got["broken"], RuntimeError)
    counted = await stuck.counts(dev_env.client, stuck.KINDS, at_once=4)
    assert list(counted) == list(stuck.KINDS) and all(isinstance(n, int) and n >= 0 for n in counted.values())
