"""The consultation line and early help hub screens through a test client, on the real dev
server: nav links by role, recording a call and following it up by form, an early help
case from the start-case form to a decision by form, CSRF, autoescaping, and the
supervisor dashboard linking each row to its page."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
import pytest_asyncio

from models.roles import Role
from tests.conftest import letters
from tests.test_web_pages import csrf_of, sign_in
from tests.web_support import WebEnv, add_people, app_settings, wait_for, web_env

RFS, SW, TM, SM = Role.RFS_OFFICER, Role.SOCIAL_WORKER, Role.TEAM_MANAGER, Role.SERVICE_MANAGER
EHA, SA = Role.EARLY_HELP_ADVISER, Role.SENIOR_ADVISER


@pytest.fixture(scope="module")
def people(database_url):
    return add_people(database_url)


@pytest_asyncio.fixture
async def web(dev_env, settings, task_queue) -> AsyncIterator[WebEnv]:
    cfg = app_settings(settings, task_queue, invited_referral_due=timedelta(seconds=2))
    async with web_env(dev_env.client, cfg, task_queue) as env:
        yield env


async def as_person(web: WebEnv, person) -> None:
    web.http.cookies.clear()
    r = await sign_in(web.http, person.username)
    assert r.status_code == 303


async def follow(web: WebEnv, r) -> str:
    assert r.status_code == 303, r.text
    return (await web.http.get(r.headers["location"])).text


async def test_nav_links_follow_the_role(web: WebEnv, people) -> None:
    expected = {RFS: (False, False), SW: (True, False), EHA: (False, True), SA: (False, True), TM: (True, True),
                SM: (False, False)}
    for role, (consultation_line, hub) in expected.items():
        await as_person(web, people[role])
        page = (await web.http.get("/supervisor")).text
        assert ('href="/consultations"' in page) == consultation_line, role
        assert ('href="/early-help"' in page) == hub, role
    # every role may look (the supervisor dashboard links here); only some may record or start
    for path, form in (("/consultations", 'id="start-consultation"'), ("/early-help", 'id="start-early_help"')):
        page = await web.http.get(path)
        assert page.status_code == 200 and form not in page.text


async def test_record_a_call_by_form_then_follow_it_up(web: WebEnv, people) -> None:
    await as_person(web, people[SW])
    line = (await web.http.get("/consultations")).text
    assert 'id="start-consultation"' in line
    cid = f"CONS-{uuid.uuid4().hex[:8]}"
    data = {
        "csrf_token": csrf_of(line), "id": cid, "called_at": "2026-11-26T09:14",
        "caller.name": "Ms K Patel", "caller.agency": "Stoke Primary School", "caller.role": "DSL",
        "children.0.first_name": "<script>alert(1)</script>", "children.0.last_name": "Jones",
        "concern": "Arrives hungry; mother seems low.", "factors": ["16A"],
        "advice": "Talk to mother about consent, then refer.", "outcome": "referral_invited",
    }
    r = await web.http.post("/consultations", data={k: v for k, v in data.items() if k != "csrf_token"})
    assert r.status_code == 403
    bad = await web.http.post("/consultations", data=data | {"concern": "", "caller.agency": ""})
    assert bad.status_code == 422 and "The consultation was not saved" in bad.text and "caller.agency" in bad.text
    assert 'value="Ms K Patel"' in bad.text  # what was typed is kept

    page = await follow(web, await web.http.post("/consultations", data=data))
    web.started.append(f"consultation-{cid}")
    assert f"Consultation {cid} received." in page and "No history look-up was made" in page
    assert "<script>alert(1)</script>" not in page

    async def page_at(stage: str) -> str | None:
        text = (await web.http.get(f"/consultations/{cid}")).text
        return text if f'data-stage="{stage}"' in text else None

    page = await wait_for(lambda: page_at("awaiting_referral"), what="awaiting the referral")
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Jones" in page and 'id="referral-due"' in page
    assert 'id="form-record_follow_up"' not in page
    line = (await web.http.get("/consultations")).text
    assert f'href="/consultations/{cid}"' in line.split('id="awaited"')[1]

    await as_person(web, people[SM])
    panels = await wait_for(lambda: _panel_links(web, cid), what="the supervisor dashboard to list the consultation")
    assert f'href="/consultations/{cid}"' in panels

    await as_person(web, people[SW])
    page = await wait_for(lambda: page_at("follow_up"), what="the follow-up")
    assert 'id="follow-up-due"' in page and 'id="form-record_follow_up"' in page

    await as_person(web, people[RFS])  # the consultation line is not the RfS officer's work
    refused = await web.http.get(f"/consultations/{cid}")
    assert refused.status_code == 403 and "may not read consultations" in refused.text
    r = await web.http.post(f"/consultations/{cid}/actions/record_follow_up", data={
        "csrf_token": csrf_of((await web.http.get("/contacts/new")).text), "outcome": "escalated", "note": "Trying my luck"})
    text = await follow(web, r)
    assert "not saved" in text and "may not record follow up" in text

    await as_person(web, people[SW])
    page = (await web.http.get(f"/consultations/{cid}")).text
    line = (await web.http.get("/consultations")).text
    assert f'href="/consultations/{cid}"' in line.split('id="follow-ups"')[1]
    page = await follow(web, await web.http.post(f"/consultations/{cid}/actions/record_follow_up", data={
        "csrf_token": csrf_of(page), "outcome": "no_longer_needed", "note": "x"}))
    assert "Record the follow-up call: not saved." in page and "note" in page
    page = await follow(web, await web.http.post(f"/consultations/{cid}/actions/record_follow_up", data={
        "csrf_token": csrf_of(page), "outcome": "no_longer_needed", "note": "School nurse plan agreed with mother"}))
    assert "Record the follow-up call: saved." in page and 'id="follow-up"' in page
    page = await wait_for(lambda: page_at("closed"), what="closed")
    assert "follow up call" in page.split('id="trail"')[1] and people[SW].username in page.split('id="trail"')[1]
    assert 'href="/documents/' in page


async def _panel_links(web: WebEnv, subject_id: str) -> str | None:
    text = (await web.http.get("/supervisor/panels")).text
    return text if subject_id in text else None


async def test_an_early_help_case_by_form_from_start_to_decision(web: WebEnv, people) -> None:
    await as_person(web, people[EHA])
    hub = (await web.http.get("/early-help")).text
    assert 'id="start-early_help"' in hub
    case = f"EH-{uuid.uuid4().hex[:8]}"
    data = {
        "csrf_token": csrf_of(hub), "id": case, "received_at": "2026-11-26T09:14", "source": "5D",
        "referrer.name": "Health visitor", "referrer.agency": "Health", "children.0.first_name": "Noah",
        "children.0.last_name": f"Form{letters()}", "concerns.factors": ["1C"], "concerns.summary": "Mother isolated",
        "consent.status": "not_sought",
    }
    bad = await web.http.post("/early-help", data=data | {"source": "", "children.0.first_name": "", "children.0.last_name": ""})
    assert bad.status_code == 422 and "The early help case was not saved" in bad.text
    page = await follow(web, await web.http.post("/early-help", data=data))
    web.started.append(f"early-help-{case}")
    assert f"Early help case {case} received" in page
    assert 'id="form-give_directions"' not in page and 'id="form-record_consent"' in page and 'id="form-step_up"' in page

    async def in_hub() -> str | None:
        text = (await web.http.get("/early-help")).text
        row = re.search(rf'<tr[^>]*>\s*<td><a href="/early-help/{case}">.*?</tr>', text, re.S)
        return row.group(0) if row and " left" in row.group(0) else None

    row = await wait_for(in_hub, what="the hub to list the case with its time left")
    assert "awaiting directions" in row and "direct" in row

    async def act(action: str, fields: dict[str, str], expect: str = "saved.") -> str:
        page = (await web.http.get(f"/early-help/{case}")).text
        assert f'id="form-{action}"' in page, (action, page.split('id="actions"')[1][:400])
        text = await follow(web, await web.http.post(f"/early-help/{case}/actions/{action}",
                                                     data={"csrf_token": csrf_of(page)} | fields))
        assert expect in text, text.split('<main>')[1][:400]
        return text

    await as_person(web, people[SA])
    await act("give_directions", {"directions": "Consent first; then the health visitor and GP.", "adviser": people[EHA].username})
    await as_person(web, people[EHA])
    await act("record_consent", {"status": "given", "note": "Mother agreed"})

    async def gathering() -> str | None:  # the history review is done: finishing waits only on the parents
        text = (await web.http.get(f"/early-help/{case}")).text
        return text if "not yet, speak to the parents" in text else None

    await wait_for(gathering, what="the history review")
    await act("record_conversation", {"with_whom": "agency", "name": "Dr Shah", "summary": "Waiting list"}, expect="not saved")
    await act("record_conversation", {"with_whom": "agency", "agency": "gp", "name": "Dr Shah", "summary": "Waiting list"})
    page = (await web.http.get(f"/early-help/{case}")).text
    assert 'id="form-finish_gathering"' not in page  # not offered until the parents are spoken to
    refused = await follow(web, await web.http.post(f"/early-help/{case}/actions/finish_gathering",
                                                    data={"csrf_token": csrf_of(page)}))
    assert "not saved" in refused and "speak to the parents" in refused
    await act("record_conversation", {"with_whom": "parent", "agency": "", "name": "Mrs Price", "summary": "Feels isolated"})
    await act("finish_gathering", {"note": ""})
    page = await act("recommend", {"summary": "Low mood affects routines; support wanted.",
                                        "recommended_outcome": "targeted_early_help", "quadrant": "north_east"})
    assert 'id="recommendation"' in page and "Early help recommendation" in page
    assert 'id="form-decide"' not in page

    await as_person(web, people[TM])
    page = await act("decide", {"outcome": "targeted_early_help", "quadrant": "north_east",
                                  "rationale": "Family support worker and a perinatal group"})
    assert 'id="decision"' in page
    r = await web.http.post(f"/early-help/{case}/actions/decide", data={"outcome": "universal_services", "rationale": "x"})
    assert r.status_code == 403

    async def closed() -> str | None:
        text = (await web.http.get(f"/early-help/{case}")).text
        return text if 'data-stage="closed"' in text else None

    page = await wait_for(closed, what="the case to close")
    assert "Mrs Price" in page and "Dr Shah" in page and 'id="steps"' in page
    trail = page.split('id="trail"')[1]
    assert "directions" in trail and "early help decision" in trail and people[TM].username in trail


async def test_unknown_pages_and_actions(web: WebEnv, people) -> None:
    await as_person(web, people[TM])
    for path in ("/consultations/NOPE-1", "/early-help/NOPE-1"):
        r = await web.http.get(path)
        assert r.status_code == 404 and "check the id" in r.text
    page = (await web.http.get("/early-help")).text
    r = await web.http.post("/early-help/NOPE-1/actions/teleport", data={"csrf_token": csrf_of(page)})
    assert r.status_code == 404
    r = await follow(web, await web.http.post("/early-help/NOPE-1/actions/give_directions", data={
        "csrf_token": csrf_of(page), "directions": "Speak to the family"}))
    assert "not saved" in r and "no open early help case" in r
