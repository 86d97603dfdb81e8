"""The reports page in real headless Chromium: the server-drawn chart shows under the
site's Content-Security-Policy (it is an image, so the policy's ban on inline styles does
not blank it), the table is there, and changing the dates redraws both."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
import pytest_asyncio

from frontdoor import users
from frontdoor.web.app import create_app
from models.database import init_db, session
from models.roles import Role
from tests import report_data
from tests.browser_support import live_server, skip_reason

pytestmark = pytest.mark.skipif(skip_reason() is not None, reason=skip_reason() or "")
PASSWORD = "correct horse battery"


@pytest_asyncio.fixture(scope="module")
async def live(tmp_path_factory, settings) -> AsyncIterator[str]:
    """The reports on their own database (the hand-built report data), in the shared browser."""
    root = tmp_path_factory.mktemp("browser-reports")
    url = f"sqlite:///{root / 'web.db'}"
    init_db(url)
    with session(url) as s:
        report_data.build(s)
    users.add_user(url, "manager-b", Role.SERVICE_MANAGER, "Manager", PASSWORD)
    app = create_app(replace(settings, database_url=url, var_dir=root / "var"), client=object())  # type: ignore[arg-type]
    async with live_server(app) as base:
        yield base


async def test_the_chart_shows_beside_its_table(browser, live: str) -> None:
    from playwright.async_api import expect

    base = live
    context = await browser.new_context(base_url=base, timezone_id="Europe/London", locale="en-GB")
    page = await context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    await page.goto("/login")
    await page.fill("input[name=username]", "manager-b")
    await page.fill("input[name=password]", PASSWORD)
    await page.click("form[action='/login'] button[type=submit]")
    await page.goto("/reports/timeliness?from=2019-01-01&to=2019-03-31")
    chart = page.locator("figure.chart img")
    await expect(chart).to_be_visible()
    width = await chart.evaluate("img => img.complete && img.naturalWidth")
    assert width and width > 100
    await expect(page.locator("#by_week table")).to_contain_text("w/c 07/01/2019")
    await expect(page.locator("#summary table")).to_contain_text("75.0")
    await page.fill("input[name=from]", "2019-02-01")
    await page.click("form.report-range button[type=submit]")
    await expect(page).to_have_url(re.compile(r"from=2019-02-01"))
    await expect(page.locator("#summary table")).to_contain_text("100.0")
    assert not [p for p in problems if "Content Security Policy" in p or "Refused" in p], problems
    await context.close()
