"""Reports over HTTP: the JSON API (bearer tokens) and the pages (signed-in managers), on
an app holding the hand-made case record. Who may see them, every format, and clear 422s
naming the field for bad input."""

from __future__ import annotations

import base64
import csv
import io
import re
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from openpyxl import load_workbook

from frontdoor import reports, users
from frontdoor.config import Settings
from frontdoor.web import reports as report_web
from frontdoor.web.app import create_app
from models import annex_a as spec
from models.database import init_db, session
from models.roles import Role
from tests import report_data

PASSWORD = "correct horse battery"
RANGE = {"from": "2019-01-01", "to": "2019-03-31"}
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(scope="module")
def app_and_people(tmp_path_factory, settings):
    root = tmp_path_factory.mktemp("web-reports")
    url = f"sqlite:///{root / 'web.db'}"
    init_db(url)
    with session(url) as s:
        report_data.build(s)
    cfg: Settings = replace(settings, database_url=url, var_dir=root / "var")
    app = create_app(cfg, client=object())  # type: ignore[arg-type]  (no workflow is touched here)
    people = {role: (f"{role.value}-r", users.add_user(url, f"{role.value}-r", role, role.value, PASSWORD)) for role in Role}
    return app, people


@pytest_asyncio.fixture
async def http(app_and_people) -> AsyncIterator[httpx.AsyncClient]:
    app, _ = app_and_people
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://frontdoor.test") as client:
        yield client


def auth(app_and_people, role: Role) -> dict[str, str]:
    return {"Authorization": f"Bearer {app_and_people[1][role][1]}"}


async def test_only_managers_see_reports(http, app_and_people):
    assert (await http.get("/api/reports")).status_code == 401
    for role in Role:
        r = await http.get("/api/reports", headers=auth(app_and_people, role))
        allowed = role in (Role.TEAM_MANAGER, Role.SERVICE_MANAGER)
        assert r.status_code == (200 if allowed else 403), role
        if not allowed:
            assert "only service_manager, team_manager may" in r.json()["detail"]
        r = await http.get("/api/reports/annex-a/1", headers=auth(app_and_people, role))
        assert r.status_code == (200 if allowed else 403), role


async def test_the_list_names_every_report_and_annex_a_list(http, app_and_people):
    body = (await http.get("/api/reports", headers=auth(app_and_people, Role.SERVICE_MANAGER))).json()
    assert [r["name"] for r in body["reports"]] == list(reports.REPORTS)
    assert all(r["description"] and r["url"] == f"/api/reports/{r['name']}" for r in body["reports"])
    assert [a["columns"] for a in body["annex_a"]] == [list(spec.LIST_COLUMNS[n]) for n in (1, 2, 3)]


async def test_a_report_in_every_format(http, app_and_people):
    h = auth(app_and_people, Role.TEAM_MANAGER)
    r = await http.get("/api/reports/timeliness", params=RANGE, headers=h)
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    summary = r.json()["tables"][0]
    assert summary["rows"][2] == {"measure": "% within the deadline", "value": 75.0}
    r = await http.get("/api/reports/timeliness", params=RANGE | {"format": "csv", "table": "by_manager"}, headers=h)
    assert r.headers["content-type"].startswith("text/csv")
    assert r.headers["content-disposition"] == 'attachment; filename="timeliness_by_manager_2019-01-01_2019-03-31.csv"'
    rows = list(csv.reader(io.StringIO(r.text)))
    assert rows[1][:3] == ["tom", "3", "3"]
    r = await http.get("/api/reports/timeliness", params=RANGE | {"format": "xlsx"}, headers=h)
    assert load_workbook(io.BytesIO(r.content)).sheetnames[0] == "About"
    r = await http.get("/api/reports/timeliness", params=RANGE | {"format": "svg"}, headers=h)
    assert r.headers["content-type"].startswith("image/svg+xml")
    assert ET.fromstring(r.text).find("{http://www.w3.org/2000/svg}title").text == reports.get("timeliness").chart.title


async def test_annex_a_over_the_api(http, app_and_people):
    h = auth(app_and_people, Role.SERVICE_MANAGER)
    r = await http.get("/api/reports/annex-a/3", params=RANGE, headers=h)
    rows = list(csv.reader(io.StringIO(r.text)))
    assert rows[0] == list(spec.LIST_COLUMNS[3]) and len(rows) == 8
    assert r.headers["content-disposition"].endswith('annex-a-list-3_2019-01-01_2019-03-31.csv"')
    r = await http.get("/api/reports/annex-a/all", params=RANGE | {"format": "xlsx"}, headers=h)
    assert load_workbook(io.BytesIO(r.content)).sheetnames == list(spec.LIST_TITLES.values())


@pytest.mark.parametrize("path, params, field", [
    ("/api/reports/timeliness", {"from": "yesterday"}, "from"),
    ("/api/reports/timeliness", {"from": "2019-03-01", "to": "2019-01-01"}, "from"),
    ("/api/reports/timeliness", {"from": "2010-01-01", "to": "2019-01-01"}, "to"),
    ("/api/reports/timeliness", {"to": "31-31-2019"}, "to"),
    ("/api/reports/timeliness", RANGE | {"format": "csv", "table": "nope"}, "table"),
    ("/api/reports/annex-a/7", {}, "list"),
    ("/api/reports/annex-a/all", {"format": "csv"}, "format"),
])
async def test_bad_input_is_a_422_naming_the_field(http, app_and_people, path, params, field):
    r = await http.get(path, params=params, headers=auth(app_and_people, Role.TEAM_MANAGER))
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["errors"][0]["field"] == field and body["detail"].startswith("the input is not valid: " + field)


async def test_framework_bounds_are_422s_and_an_unknown_report_is_404(http, app_and_people):
    h = auth(app_and_people, Role.TEAM_MANAGER)
    r = await http.get("/api/reports/timeliness", params={"format": "pdf"}, headers=h)
    assert r.status_code == 422 and "format" in r.json()["detail"]
    r = await http.get("/api/reports/timeliness", params={"from": "2019-01-01" * 3}, headers=h)
    assert r.status_code == 422 and "from" in r.json()["detail"]
    r = await http.get("/api/reports/no-such-report", headers=h)
    assert r.status_code == 404 and "timeliness" in r.json()["detail"]


# ---------------------------------------------------------------------- pages
async def sign_in(http: httpx.AsyncClient, username: str) -> None:
    page = await http.get("/login")
    token = CSRF.search(page.text).group(1)  # type: ignore[union-attr]
    r = await http.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 303


async def test_the_reports_pages_for_a_manager(http, app_and_people):
    await sign_in(http, app_and_people[1][Role.TEAM_MANAGER][0])
    index = await http.get("/reports", params=RANGE)
    assert index.status_code == 200
    for r in reports.REPORTS.values():
        assert f'href="/reports/{r.name}?from=2019-01-01&amp;to=2019-03-31"' in index.text and r.title in index.text
    assert "/reports/annex-a/1/download?" in index.text and "Referral NFA" in index.text
    page = await http.get("/reports/timeliness", params=RANGE)
    assert page.status_code == 200 and "Decisions within the deadline, by team manager" in page.text
    assert "<th scope=\"col\" class=\"num\">% within deadline</th>" in page.text
    src = re.search(r'<img src="data:image/svg\+xml;base64,([^"]+)"[^>]* alt="([^"]+)"', page.text)
    assert src is not None and "the figures are in the table" in src.group(2)
    svg = ET.fromstring(base64.b64decode(src.group(1)))
    assert svg.find("{http://www.w3.org/2000/svg}title").text == reports.get("timeliness").chart.title
    download = await http.get("/reports/timeliness/download", params=RANGE | {"format": "xlsx"})
    assert download.status_code == 200 and load_workbook(io.BytesIO(download.content)).sheetnames[0] == "About"
    annex = await http.get("/reports/annex-a/1/download", params=RANGE | {"format": "csv"})
    assert list(csv.reader(io.StringIO(annex.text)))[0] == list(spec.LIST_COLUMNS[1])
    bad = await http.get("/reports/timeliness", params={"from": "2019-03-01", "to": "2019-01-01"})
    assert bad.status_code == 422 and "from: 2019-03-01 is after to" in bad.text


async def test_a_social_worker_is_refused_the_pages(http, app_and_people):
    assert (await http.get("/reports")).status_code == 303  # not signed in: to the sign-in page
    await sign_in(http, app_and_people[1][Role.SOCIAL_WORKER][0])
    r = await http.get("/reports")
    assert r.status_code == 403 and "may not reports" in r.text


def test_the_stylesheet_the_pages_link_is_served_locally():
    css = Path(report_web.__file__).resolve().parent / "static" / "reports.css"
    assert css.exists() and "figure.chart img" in css.read_text()
