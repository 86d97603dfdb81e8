"""An audit in real headless Chromium, from the first-line manager's form to the reflective
meeting: the first-line manager grades every domain in the grid, a second manager re-audits
without seeing those grades, the service manager moderates with both side by side (a change
needs its reason), the first-line manager schedules and records the meeting, and the case's
social worker adds their reflections and acknowledges it."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import pytest_asyncio

from frontdoor import users
from models.roles import Role
from tests.audit_support import TOOL, start_audit
from tests.browser_support import skip_reason
from tests.web_support import PASSWORD, Live, Person, sign_in
from workflows.audit import workflow_id

pytestmark = pytest.mark.skipif(skip_reason() is not None, reason=skip_reason() or "")
WAIT = 20_000  # ms


@dataclass
class AuditSite:
    url: str
    people: dict[str, Person]  # tma, tmb: first-line and re-auditing team managers; sm; sw
    audit_id: str


@pytest_asyncio.fixture
async def audit(live: Live, database_url: str) -> AsyncIterator[AuditSite]:
    """An audit in its first-line stage on the shared live site, with its own team of people."""
    suffix = uuid.uuid4().hex[:6]
    people = {}
    for tag, role in (("tma", Role.TEAM_MANAGER), ("tmb", Role.TEAM_MANAGER), ("sm", Role.SERVICE_MANAGER),
                      ("sw", Role.SOCIAL_WORKER)):
        name = f"{tag}-{suffix}"
        people[tag] = Person(name, role, users.add_user(database_url, name, role, name, PASSWORD, team=f"b-{suffix}"))
    aid = await start_audit(live.client, live.settings.temporal.task_queue, auditor=people["tma"].username,
                            re_auditor=people["tmb"].username, moderator=people["sm"].username,
                            worker=people["sw"].username, deciders=[f"dec-{suffix}"])
    live.started.append(workflow_id(aid))
    yield AuditSite(live.url, people, aid)


async def grade(page: Any, form: str, grades: dict[str, str], overall: str = "good") -> None:
    for i, d in enumerate(TOOL.domains):
        await page.select_option(f"{form} select[name='domains.{i}.grade']", grades.get(d.id, "good"))
        comment = page.locator(f"{form} textarea[name='domains.{i}.comment']")
        if await comment.count():
            await comment.fill(f"{d.title}: what the record shows for the child")
    await page.select_option(f"{form} select[name=overall]", overall)


async def test_an_audit_from_the_first_line_form_to_the_reflective_meeting(browser, audit: AuditSite) -> None:
    from playwright.async_api import expect

    url, people, aid = audit.url, audit.people, audit.audit_id
    consent = next(i for i, d in enumerate(TOOL.domains) if d.id == "consent")

    # the first-line manager: from their list to the grading grid
    tma = await sign_in(browser, url, people["tma"])
    await tma.click("nav >> text=Case audits")
    await expect(tma).to_have_url(re.compile(r"/audits$"))
    await tma.click(f"a:text('{aid}')")
    await expect(tma.locator("#stage")).to_have_attribute("data-stage", "first_line_audit", timeout=WAIT)
    form = "#form-record_audit"
    await expect(tma.locator(f"{form} table.grading tr")).to_have_count(len(TOOL.domains))
    assert await tma.input_value(f"{form} select[name='domains.0.grade']") == ""  # a grade is chosen, not defaulted
    assert await tma.input_value(f"{form} select[name=overall]") == ""
    await grade(tma, form, {"consent": "requires_improvement"})
    await tma.fill(f"{form} textarea[name=overall_comment]", "Safe and timely; consent was assumed, not sought.")
    await tma.click(f"{form} button[type=submit]")
    await expect(tma.locator(".flash")).to_contain_text("First-line audit: saved")
    await expect(tma.locator("#stage")).to_have_attribute("data-stage", "re_audit")

    # the re-auditor does not see the first-line grades
    tmb = await sign_in(browser, url, people["tmb"])
    await tmb.goto(f"/audits/{aid}")
    await expect(tmb.locator("#blind")).to_be_visible()
    await expect(tmb.locator("#comparison tr[data-domain=consent] td").first).to_have_text("hidden")
    await grade(tmb, "#form-record_re_audit", {"consent": "inadequate"})
    await tmb.fill("#form-record_re_audit textarea[name=overall_comment]", "Consent was never considered.")
    await tmb.click("#form-record_re_audit button[type=submit]")
    await expect(tmb.locator(".flash")).to_contain_text("Re-audit: saved")

    # the service manager: both side by side, the disagreement marked; a change needs its reason
    sm = await sign_in(browser, url, people["sm"])
    await sm.goto(f"/audits/{aid}")
    await expect(sm.locator("#comparison tr[data-domain=consent]")).to_have_class(re.compile("disagree"))
    await expect(sm.locator("#disagreements")).to_contain_text("consent")
    form = "#form-moderate"
    assert await sm.input_value(f"{form} select[name='domains.{consent}.grade']") == "requires_improvement"  # first-line
    await sm.select_option(f"{form} select[name='domains.{consent}.grade']", "inadequate")
    await sm.fill(f"{form} textarea[name=comment]", "Moderated with both audits.")
    await sm.click(f"{form} button[type=submit]")
    await expect(sm.locator(".flash")).to_contain_text(f"domains.{consent}.reason (consent)")
    await sm.select_option(f"{form} select[name='domains.{consent}.grade']", "inadequate")
    await sm.fill(f"{form} textarea[name='domains.{consent}.reason']", "No consent and no override: the family was not asked")
    await sm.fill(f"{form} textarea[name=comment]", "Moderated with both audits.")
    await sm.click(f"{form} button[type=submit]")
    await expect(sm.locator(".flash")).to_contain_text("saved")
    await expect(sm.locator("#critical")).to_contain_text("Consent")
    await expect(sm.locator("#comparison tr[data-domain=consent]")).to_have_class(re.compile("changed"))

    # the first-line manager schedules and records the reflective meeting
    await tma.reload()
    await expect(tma.locator("#stage")).to_have_attribute("data-stage", "reflective_meeting")
    when = (await tma.evaluate("Date.now()")) / 1000
    from datetime import datetime

    at = (datetime.fromtimestamp(when, ZoneInfo("Europe/London")) + timedelta(days=2)).strftime("%Y-%m-%dT10:00")
    await tma.fill("#form-schedule_meeting input[name=at]", at)
    await tma.fill("#form-schedule_meeting textarea[name=place], #form-schedule_meeting input[name=place]", "Room 2")
    await tma.click("#form-schedule_meeting button[type=submit]")
    await expect(tma.locator("#meeting-planned")).to_contain_text(people["sw"].username)
    await tma.fill("#form-record_meeting textarea[name=learning_points]",
                   "Consent is sought before checks; record what the child says in their words.")
    await tma.check("#form-record_meeting input[name=themes][value=consent_practice]")
    await tma.check("#form-record_meeting input[name=themes][value=childs_voice_absent]")
    await tma.click("#form-record_meeting button[type=submit]")
    await expect(tma.locator("#learning-points")).to_contain_text("Consent is sought")
    await expect(tma.locator("#awaiting-acknowledgement")).to_contain_text(people["sw"].username)

    # the social worker reflects and acknowledges; the audit closes
    sw = await sign_in(browser, url, people["sw"])
    await sw.goto(f"/audits/{aid}")
    await sw.fill("#form-acknowledge textarea[name=reflections]", "I assumed the school had asked; I will ask myself.")
    await sw.check("#form-acknowledge input[name=read_and_understood]")
    await sw.click("#form-acknowledge button[type=submit]")
    await expect(sw.locator("#reflections")).to_contain_text("I will ask myself")
    await expect(sw.locator("#stage")).to_have_attribute("data-stage", "closed", timeout=WAIT)
    await expect(sw.locator("#trail")).to_contain_text("acknowledged")
    for page in (tma, tmb, sm, sw):
        await page.context.close()
