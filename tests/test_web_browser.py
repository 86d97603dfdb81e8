"""The screens in a real headless browser: each role signs in and a contact goes from
the new-contact form through triage, consent, MAP checks, recommendation and decision
to handoff by clicking; the supervisor dashboard shows an overdue decision without a reload."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest

from models.roles import Role
from tests.browser_support import skip_reason
from tests.clients import act, workflow_id
from tests.conftest import RITA, letters, make_contact
from tests.web_support import Live, app_settings, sign_in, wait_for

pytestmark = pytest.mark.skipif(skip_reason() is not None, reason=skip_reason() or "")
WAIT = 20_000  # ms: the longest a screen may take to show what a workflow did


async def signed_in(browser: Any, live: Live, role: Role) -> Any:
    return await sign_in(browser, live.url, live.people[role])


async def submit_form(page: Any, action: str) -> None:
    from playwright.async_api import expect

    await page.click(f"#form-{action} button[type=submit]")
    await expect(page.locator(".flash")).to_contain_text("saved.", timeout=WAIT)
    await expect(page.locator(".flash")).not_to_contain_text("not saved")


async def test_a_contact_from_the_form_to_handoff_by_clicking(browser, live: Live) -> None:
    from playwright.async_api import expect

    # request-for-support officer: the new-contact form, triage into the SPA, consent
    rita = await signed_in(browser, live, Role.RFS_OFFICER)
    await expect(rita).to_have_url(re.compile(r"/queue$"))
    await rita.click("nav >> text=Receive a contact")
    cid = await rita.input_value("input[name=id]")
    live.started.append(workflow_id(cid))
    await rita.select_option("select[name=source]", "2A")
    await rita.fill("input[name='referrer.name']", "Ms K Patel")
    await rita.fill("input[name='referrer.agency']", "Stoke Primary School")
    await rita.fill("input[name='children.0.first_name']", "Ada")
    await rita.fill("input[name='children.0.last_name']", f"Browser{letters()}")
    await rita.fill("input[name='children.0.date_of_birth']", "2016-05-04")
    await rita.check("input[name='concerns.factors'][value='16A']")
    await rita.fill("textarea[name='concerns.summary']", "Arrives hungry; uniform unwashed for weeks.")
    await rita.select_option("select[name='consent.status']", "not_sought")
    await rita.click("#start-contact button[type=submit]")
    await expect(rita).to_have_url(re.compile(f"/contacts/{cid}$"))
    await expect(rita.locator("#form-triage")).to_be_visible(timeout=WAIT)  # the page follows the history check
    await expect(rita.locator("text=Threshold rules suggest")).to_contain_text("level 3")
    await rita.select_option("#form-triage [name=level]", "4")
    await rita.select_option("#form-triage [name=route]", "spa")
    await rita.fill("#form-triage [name=rationale]", "Neglect reported daily: SPA decision needed")
    await rita.fill("#form-triage [name=departure_reason]", "Hunger and hygiene together over weeks")
    await rita.check("#form-triage [name=history_considered]")
    await submit_form(rita, "triage")
    await expect(rita.locator("#stage")).to_have_attribute("data-stage", "awaiting_consent")
    await expect(rita.locator("#deadline")).to_contain_text("left")
    await rita.select_option("#form-record_consent [name=status]", "given")
    await rita.fill("#form-record_consent [name=note]", "Mother agreed by phone")
    await submit_form(rita, "record_consent")
    await expect(rita.locator("#consent")).to_contain_text("Given")

    # social worker: finds it in the queue, reviews, MAP checks, recommends
    sam = await signed_in(browser, live, Role.SOCIAL_WORKER)
    await expect(sam.locator(f"#queue a:text('{cid}')")).to_be_visible(timeout=WAIT)
    await sam.click(f"#queue a:text('{cid}')")
    await sam.select_option("#form-review [name=rag]", "red")
    await submit_form(sam, "review")
    await sam.check("#form-request_map_checks input[value=police]")
    await sam.check("#form-request_map_checks input[value=school]")
    await submit_form(sam, "request_map_checks")
    await expect(sam.locator("#map-checks")).to_contain_text("School")
    await sam.select_option("#form-record_map_response [name=agency]", "police")
    await sam.fill("#form-record_map_response [name=information]", "One call-out last year")
    await submit_form(sam, "record_map_response")
    await sam.fill("#form-proceed_without_agency [name=reason]", "School closed for half term")
    await submit_form(sam, "proceed_without_agency")
    await expect(sam.locator("#map-checks")).to_contain_text("proceeded without")
    await sam.fill("#form-recommend [name=summary]", "Neglect confirmed by school; police know of one call-out.")
    await sam.select_option("#form-recommend [name=recommended_outcome]", "assessment_s17")
    await submit_form(sam, "recommend")
    await expect(sam.locator("#stage")).to_have_attribute("data-stage", "awaiting_decision")
    assert await sam.locator("#form-decide").count() == 0  # only managers decide

    # team manager: the decision list, the decision, the handoff
    tom = await signed_in(browser, live, Role.TEAM_MANAGER)
    await expect(tom).to_have_url(re.compile(r"/decisions$"))
    await expect(tom.locator(f"#ready a:text('{cid}')")).to_be_visible(timeout=WAIT)
    await tom.click(f"#ready a:text('{cid}')")
    await tom.fill("#form-decide [name=rationale]", "Assessment under section 17 needed")
    await submit_form(tom, "decide")
    await expect(tom.locator("#handoff")).to_contain_text("assessment team", timeout=WAIT)
    await expect(tom.locator("#stage")).to_have_attribute("data-stage", "closed", timeout=WAIT)
    await expect(tom.locator("#trail")).to_contain_text("management decision")
    await tom.click("#documents >> text=Management decision")
    await expect(tom.locator("body")).to_contain_text("Assessment under section 17 needed")
    for page in (rita, sam, tom):
        await page.context.close()


async def test_supervisor_dashboard_shows_an_overdue_decision_without_reloading(browser, live: Live) -> None:
    from playwright.async_api import expect

    maya = await signed_in(browser, live, Role.SERVICE_MANAGER)
    await expect(maya).to_have_url(re.compile(r"/supervisor$"))
    await maya.evaluate("window.__sameDocument = true")

    short = app_settings(live.settings, live.settings.temporal.task_queue, decision_deadline=timedelta(seconds=1))
    contact = make_contact()
    live.started.append(workflow_id(contact.id))
    from tests.clients import submit_contact

    await submit_contact(live.client, short, contact, RITA)
    await wait_for(lambda: _awaiting_triage(live, contact.id), what="triage to open")
    await act(live.client, contact.id, "triage", {
        "actor": RITA, "level": 3, "route": "spa", "rationale": "Needs an SPA decision", "history_considered": True,
    })

    overdue = maya.locator("section#overdue")
    await expect(overdue.locator(f"a:text('{contact.id}')")).to_be_visible(timeout=WAIT)
    assert await maya.evaluate("window.__sameDocument") is True  # refreshed by fetch(), not a reload
    link = overdue.locator("tr", has_text=contact.id).locator("a", has_text="Temporal UI")
    href = await link.get_attribute("href")
    assert href == f"{live.settings.temporal.ui_url}/namespaces/default/workflows/{workflow_id(contact.id)}"
    await expect(maya.locator(".count[data-kind=overdue] .n")).not_to_have_text("0")
    await maya.click(f"section#overdue a:text('{contact.id}')")
    await expect(maya.locator("#deadline")).to_contain_text("overdue by")
    await maya.context.close()


async def _awaiting_triage(live: Live, cid: str) -> bool:
    from tests.clients import get_state

    return (await get_state(live.client, cid)).stage.value == "awaiting_triage"
