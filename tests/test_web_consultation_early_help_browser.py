"""The consultation line in real headless Chromium: a social worker records a call that
names a child and invites a referral, through the form, and lands on its page awaiting
the referral; the supervisor dashboard links the row to that page."""

from __future__ import annotations

import re

import pytest

from models.roles import Role
from tests.browser_support import skip_reason
from tests.web_support import Live, sign_in
from workflows.consultation import workflow_id

pytestmark = pytest.mark.skipif(skip_reason() is not None, reason=skip_reason() or "")
WAIT = 20_000  # ms


async def test_record_a_consultation_with_an_invited_referral_by_clicking(browser, live: Live) -> None:
    from playwright.async_api import expect

    sam = await sign_in(browser, live.url, live.people[Role.SOCIAL_WORKER])
    await sam.click("nav >> text=Consultation line")
    await expect(sam).to_have_url(re.compile(r"/consultations$"))
    cid = await sam.input_value("#start-consultation input[name=id]")
    live.started.append(workflow_id(cid))
    await sam.fill("input[name='caller.name']", "Ms K Patel")
    await sam.fill("input[name='caller.agency']", "Stoke Primary School")
    await sam.fill("input[name='children.0.first_name']", "Amy")
    await sam.fill("input[name='children.0.last_name']", "Jones")
    await sam.fill("textarea[name=concern]", "Amy often arrives hungry; mother seems low.")
    await sam.fill("textarea[name=advice]", "Talk to mother about consent and refer to the front door.")
    await sam.select_option("select[name=outcome]", "referral_invited")
    await sam.click("#start-consultation button[type=submit]")
    await expect(sam).to_have_url(re.compile(f"/consultations/{cid}$"))
    await expect(sam.locator(".flash")).to_contain_text(f"quotes reference {cid}")
    await expect(sam.locator("#stage")).to_have_attribute("data-stage", "awaiting_referral", timeout=WAIT)
    await expect(sam.locator("#no-history")).to_contain_text("No history look-up was made")
    await expect(sam.locator("#children")).to_have_text("Amy Jones")
    await expect(sam.locator("#referral-due")).to_contain_text("left")
    await expect(sam.locator("#trail")).to_contain_text("consultation recorded")

    maya = await sign_in(browser, live.url, live.people[Role.SERVICE_MANAGER])
    row_link = maya.locator(f"section#referral_awaited a:text('{cid}')")
    await expect(row_link).to_be_visible(timeout=WAIT)  # by the dashboard's own refresh if need be
    assert await row_link.get_attribute("href") == f"/consultations/{cid}"
    await row_link.click()
    await expect(maya.locator("#record")).to_contain_text("Stoke Primary School")
    for page in (sam, maya):
        await page.context.close()
