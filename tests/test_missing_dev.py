"""Missing children on the dev server: the police's daily list imported (bad rows reported,
the rest kept, a second import changing nothing, a later list adding a return), the return
home interview to a contact linked both ways, repeat missing, who may do what."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError
from sqlmodel import col, select

from frontdoor import missing_lists, record, stuck
from frontdoor.errors import Refused
from models.database import session
from models.missing import MissingEpisodeRow, MissingListImportRow, MissingStage
from tests.clients import contacts, missing
from tests.conftest import SAM, STARTED, TOM, running_worker
from tests.helpers import wait_for
from tests.missing_support import ELLA, as_csv, child, make_report, nhs_number, report


async def _stage(client, ref, stage, timeout=15.0):
    async def check():
        state = await missing.get_state(client, ref)
        return state if state.stage == stage else None

    return await wait_for(check, timeout, what=f"{ref} to reach {stage.value}")


def _trail(database_url, subject):
    return [r.action for r in record.trail(database_url, subject)]


async def test_daily_list_import_keeps_good_rows_reports_bad_ones_and_changes_nothing_twice(dev_env, settings, task_queue):
    client = dev_env.client
    now = datetime.now(UTC)
    a = report()
    b = report(returned_at=(now - timedelta(hours=10)).isoformat(), risk="high")
    bad_times = report(returned_at=(now - timedelta(hours=40)).isoformat())  # before reported_missing_at
    bad_risk = report(risk="extreme")
    text = as_csv([a, b, bad_times, bad_risk])
    parsed = missing_lists.parse_list(text.encode(), filename="list.csv")
    assert [ref for _, r in parsed.rows for ref in [r.police_ref]] == [a["police_ref"], b["police_ref"]]
    assert [(p.line, p.police_ref) for p in parsed.problems] == [(4, bad_times["police_ref"]), (5, bad_risk["police_ref"])]
    assert "returned_at is before reported_missing_at" in parsed.problems[0].reason
    assert parsed.problems[1].reason.startswith("risk:")

    async with running_worker(client, settings, task_queue):
        first = await missing_lists.import_list(client, settings, parsed, ELLA, via="test", task_queue=task_queue)
        STARTED.extend(missing.workflow_id(r) for r in first.new)
        assert sorted(first.new) == sorted([a["police_ref"], b["police_ref"]]) and len(first.invalid) == 2
        sa = await _stage(client, a["police_ref"], MissingStage.MISSING)
        sb = await _stage(client, b["police_ref"], MissingStage.AWAITING_OFFER)
        assert sa.holder == ELLA.username and "still_missing" in sa.flags
        assert sb.interview_due_at == sb.returned_at + timedelta(hours=72)
        assert sb.report_delay is not None and abs(sb.report_delay - timedelta(hours=10)) < timedelta(minutes=5)
        assert "high_risk" in sb.flags and "interview_awaiting_offer" in sb.flags
        trail_b = _trail(settings.database_url, b["police_ref"])
        assert {"episode_received", "return_reported_by_police", "history_checked"} <= set(trail_b)

        # the same list again: nothing changes, not even the trails
        before = {ref: len(_trail(settings.database_url, ref)) for ref in (a["police_ref"], b["police_ref"])}
        again = await missing_lists.import_list(client, settings, missing_lists.parse_list(text.encode(), filename="list.csv"),
                                                ELLA, via="test", task_queue=task_queue)
        assert again.new == [] and again.updated == [] and again.unchanged == 2 and again.list_id == first.list_id
        assert {ref: len(_trail(settings.database_url, ref)) for ref in before} == before

        # a later list (JSON) adds A's return: A's episode is updated, and its delay recorded
        returned = now - timedelta(hours=28)
        issued = now - timedelta(minutes=5)
        later = json.dumps({"issued_at": issued.isoformat(), "force": "Surrey Police",
                            "episodes": [a | {"returned_at": returned.isoformat()}, b]})
        update = await missing_lists.import_list(client, settings, missing_lists.parse_list(later.encode(), filename="l.json"),
                                                 ELLA, via="test", task_queue=task_queue)
        assert update.updated == [a["police_ref"]] and update.unchanged == 1 and update.listed_at == issued, update
        sa = await _stage(client, a["police_ref"], MissingStage.AWAITING_OFFER)
        assert sa.returned_at == returned and sa.return_source == "police_list" and sa.return_listed_at == issued
        assert sa.report_delay_flagged and "late_police_report" in sa.flags
        again = await missing_lists.import_list(client, settings, missing_lists.parse_list(later.encode(), filename="l.json"),
                                                ELLA, via="test", task_queue=task_queue)
        assert again.updated == [] and again.unchanged == 2
        assert _trail(settings.database_url, a["police_ref"]).count("police_list_update") == 1

    with session(settings.database_url) as s:
        row = s.get(MissingEpisodeRow, a["police_ref"])
        assert row is not None and row.report_delay_hours == pytest.approx(28, abs=0.2) and row.stage == "awaiting_offer"
        imports = s.exec(select(MissingListImportRow).where(col(MissingListImportRow.list_id) == first.list_id)).all()
        assert [(i.new, i.unchanged, i.invalid) for i in imports] == [(2, 0, 2), (0, 2, 2)]


async def test_a_list_that_cannot_be_read_is_refused_whole():
    with pytest.raises(missing_lists.ListError, match="unknown colour"):
        missing_lists.parse_list(b"police_ref,colour\nX,red\n", filename="l.csv")
    with pytest.raises(missing_lists.ListError, match="not valid JSON"):
        missing_lists.parse_list(b'{"episodes": [', filename="l.json")
    with pytest.raises(missing_lists.ListError, match="unknown field"):
        missing_lists.parse_list(b'{"episodes": [], "when": 1}', filename="l.json")
    text = json.dumps({"episodes": [report(), {"police_ref": "X"}]}, indent=2)
    parsed = missing_lists.parse_list(text.encode())
    starts = text.splitlines().index('      "police_ref": "X"')  # 0-based: the 1-based line before it opens it
    assert len(parsed.rows) == 1 and parsed.rows[0][0] == 3 and parsed.problems[0].line == starts
    assert "child: Field required" in parsed.problems[0].reason


async def test_interview_offered_then_done_with_concerns_raises_a_contact_linked_both_ways(dev_env, settings, task_queue):
    client = dev_env.client
    returned = datetime.now(UTC) - timedelta(hours=2)
    r = make_report(returned_at=returned.isoformat())
    async with running_worker(client, settings, task_queue):
        STARTED.append(await missing.start(client, settings, r, ELLA, task_queue=task_queue))
        state = await _stage(client, r.police_ref, MissingStage.AWAITING_OFFER)
        assert state.holder == ELLA.username and state.report_delay is None  # entered by hand: no list
        with pytest.raises(Refused) as denied:
            await missing.act(client, r.police_ref, "offer_interview", {"actor": SAM, "method": "phone"})
        assert denied.value.status == 403 and "may not offer interview" in denied.value.message
        with pytest.raises(Refused) as early:
            await missing.act(client, r.police_ref, "record_interview",
                              {"actor": ELLA, "outcome": "done", "child_said": "Stayed at a friend's"})
        assert early.value.status == 409 and "follows the offer" in early.value.message
        state = await missing.act(client, r.police_ref, "offer_interview",
                                  {"actor": ELLA, "method": "visit", "interviewer": "Ella (early help)"})
        assert state.stage == MissingStage.INTERVIEW_OFFERED and state.offered_on_time is True
        with pytest.raises(ValidationError, match="unknown CIN factor code"):
            await missing.act(client, r.police_ref, "record_interview",
                              {"actor": ELLA, "outcome": "done", "child_said": "x" * 5, "concerns": ["99Z"]})
        state = await missing.act(client, r.police_ref, "record_interview", {
            "actor": ELLA, "outcome": "done", "child_said": "Older boys give her cannabis and lifts",
            "concerns": "11A, 24A",
        })
        assert state.stage == MissingStage.CLOSED and state.closure == "interview_done"
        cid = state.contact_id
        assert cid == f"{r.police_ref}-RHI"
        STARTED.append(contacts.workflow_id(cid))
        contact = await wait_for(lambda: _contact_state(client, cid), what="the raised contact")
        assert contact.children == [r.child.display_name]
        intake = await wait_for(lambda: record.received(settings.database_url, cid), what="the contact's intake")
        assert intake["missing_episode_ref"] == r.police_ref and intake["source"] == "5D"
        assert intake["concerns"]["factors"] == ["10A", "11A", "24A"]
        assert "cannabis" in intake["concerns"]["summary"]
    trail = _trail(settings.database_url, r.police_ref)
    assert trail.index("interview_offered") < trail.index("return_interview_done") < trail.index("contact_raised")
    with session(settings.database_url) as s:
        row = s.get(MissingEpisodeRow, r.police_ref)
        assert row is not None and row.offered_on_time and row.contact_id == cid and row.concerns == ["11A", "24A"]


async def _contact_state(client, cid):
    try:
        return await contacts.get_state(client, cid)
    except Exception:  # noqa: BLE001 (not started yet)
        return None


async def test_third_episode_in_90_days_flags_repeat_missing_and_suggests_a_contact(dev_env, settings, task_queue):
    client = dev_env.client
    now = datetime.now(UTC)
    same = child(nhs_number=nhs_number())
    reports = [make_report(child=same, reported_missing_at=(now - timedelta(days=d)).isoformat(),
                           returned_at=(now - timedelta(days=d) + timedelta(hours=5)).isoformat()) for d in (80, 30)]
    third = make_report(child=same | {"first_name": "Mya"})  # a different spelling: matched on the NHS number
    async with running_worker(client, settings, task_queue):
        for r in reports:
            STARTED.append(await missing.start(client, settings, r, ELLA, task_queue=task_queue))
            state = await _stage(client, r.police_ref, MissingStage.AWAITING_OFFER)
        assert state.repeat is None and [e.police_ref for e in state.earlier_episodes] == [reports[0].police_ref]
        STARTED.append(await missing.start(client, settings, third, ELLA, task_queue=task_queue))
        state = await _stage(client, third.police_ref, MissingStage.MISSING)
        assert state.repeat is not None and state.repeat.episodes == 3
        assert state.repeat.police_refs == [r.police_ref for r in reports]
        assert {e.matched_on for e in state.earlier_episodes} == {"nhs_number"}
        assert {"repeat_missing", "contact_suggested"} <= set(state.flags)
        rows = await wait_for(lambda: _stuck_ids(client, "repeat_missing_no_contact"), what="the stuck list")
        assert third.police_ref in rows
        state = await missing.act(client, third.police_ref, "raise_contact",
                                  {"actor": ELLA, "reason": "Third time missing in three months"})
        STARTED.append(contacts.workflow_id(state.contact_id))
        assert "contact_suggested" not in state.flags and "repeat_missing" in state.flags
        with pytest.raises(Refused) as twice:
            await missing.act(client, third.police_ref, "raise_contact", {"actor": ELLA, "reason": "again"})
        assert twice.value.status == 409 and "raised from this episode already" in twice.value.message
        intake = await wait_for(lambda: record.received(settings.database_url, state.contact_id), what="the intake")
        assert "3 missing episodes in 90 days" in intake["concerns"]["summary"]
        # the manager closes it without an interview (the designated worker may not)
        with pytest.raises(Refused):
            await missing.act(client, third.police_ref, "close_episode", {"actor": ELLA, "reason": "Duplicate"})
        state = await missing.act(client, third.police_ref, "close_episode", {"actor": TOM, "reason": "Another LA's child"})
        assert state.stage == MissingStage.CLOSED and state.closure == "closed_without_interview"


async def _stuck_ids(client, name):
    rows, _ = await stuck.page(client, name, page_size=500)
    return {r.id for r in rows}
