"""The morning case discussion in a real headless browser: a police partner lands on the
discussion, sees the agenda and adds what the police know to the item that asks them (and
cannot open the contact); the chair records the outcome and closes the meeting; the record
opens as a document; the social worker sees the outcome on the contact's page."""

from __future__ import annotations

import re

import pytest

from models.roles import Role
from models.state import Stage
from tests.browser_support import skip_reason
from tests.clients import act, contacts, get_state, morning
from tests.conftest import RITA, SAM, make_contact
from tests.test_web_browser import WAIT, signed_in, submit_form
from tests.web_support import Live, wait_for

pytestmark = pytest.mark.skipif(skip_reason() is not None, reason=skip_reason() or "")


async def test_the_morning_discussion_page_from_partner_to_chair(browser, live: Live) -> None:
    from playwright.async_api import expect

    contact = make_contact()
    live.started.append(contacts.workflow_id(contact.id))
    await contacts.start(live.client, live.settings, contact, RITA)
    await wait_for(lambda: _at(live, contact.id, Stage.AWAITING_TRIAGE), what="triage to open")
    state = await act(live.client, contact.id, "threshold_unclear", {
        "actor": SAM, "question": "Neglect or not yet? School worried, parents engaging", "ask": ["police"]})
    day = state.discussions[0].meeting.isoformat()
    live.started.append(morning.workflow_id(day))

    pat = await signed_in(browser, live, Role.POLICE_PARTNER)
    await expect(pat).to_have_url(re.compile(r"/morning$"))
    await pat.click(f"a:text('{day}')")
    await expect(pat).to_have_url(re.compile(f"/morning/{day}$"))
    row = pat.locator("#agenda tr", has_text="Neglect or not yet?")
    await expect(row).to_contain_text(contact.children[0].display_name)
    number = (await row.locator("td").first.inner_text()).strip()
    assert await row.locator(f"a[href='/contacts/{contact.id}']").count() == 0  # partners do not open contacts
    await expect(pat.locator("#partner-note")).to_contain_text("police")
    assert await pat.locator("#form-record").count() == 0 and await pat.locator("#form-close").count() == 0
    await pat.fill("#form-share [name=item]", number)
    await pat.fill("#form-share [name=information]", "Two call-outs to the address this year; no arrests")
    await submit_form(pat, "share")
    await expect(pat.locator(f"#item-{number} .shared")).to_contain_text("Two call-outs")
    response = await pat.goto(f"/contacts/{contact.id}")
    assert response is not None and response.status == 403

    tom = await signed_in(browser, live, Role.TEAM_MANAGER)
    await tom.goto(f"/morning/{day}")
    await tom.fill("#form-record [name=item]", number)
    await tom.fill("#form-record [name=attendees]", "PC Pat (police); Nurse Hana (health); Tom (chair)")
    await tom.fill("#form-record [name=police_shared]", "Call-outs confirmed")
    await tom.select_option("#form-record [name=next_step]", "stays_in_spa")
    await tom.fill("#form-record [name=next_step_by]", "SPA social worker")
    await submit_form(tom, "record")
    await expect(tom.locator(f"#item-{number} .outcome")).to_contain_text("Stays in the SPA")
    await expect(tom.locator("#stage")).to_have_attribute("data-stage", "meeting")
    await tom.fill("#form-close [name=note]", "All items taken")
    await submit_form(tom, "close")
    await expect(tom.locator("#stage")).to_have_attribute("data-stage", "closed", timeout=WAIT)
    await tom.click("#record-link")
    await expect(tom.locator("body")).to_contain_text("Stays in the SPA")
    await expect(tom.locator("body")).to_contain_text("PC Pat (police)")

    sam = await signed_in(browser, live, Role.SOCIAL_WORKER)
    await sam.goto(f"/contacts/{contact.id}")
    await expect(sam.locator("#morning-discussion .next-step")).to_contain_text("stays in spa", timeout=WAIT)
    await expect(sam.locator("#trail")).to_contain_text("morning discussion outcome")
    for page in (pat, tom, sam):
        await page.context.close()


async def _at(live: Live, cid: str, stage: Stage) -> bool:
    return (await get_state(live.client, cid)).stage == stage
