"""The missing list's API and upload page, and what the partners may read, through a test
client on the real dev server and database."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from models.roles import Role
from tests.clients import missing
from tests.missing_support import as_csv, report
from tests.web_support import PASSWORD, WebEnv, add_people, app_settings, web_env

EHA, SW, RFS, POLICE, HEALTH, TM = (Role.EARLY_HELP_ADVISER, Role.SOCIAL_WORKER, Role.RFS_OFFICER, Role.POLICE_PARTNER,
                                    Role.HEALTH_PARTNER, Role.TEAM_MANAGER)
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(scope="module")
def people(database_url):
    return add_people(database_url)


@pytest_asyncio.fixture
async def web(dev_env, settings, task_queue) -> AsyncIterator[WebEnv]:
    async with web_env(dev_env.client, app_settings(settings, task_queue), task_queue) as env:
        yield env


async def sign_in(web: WebEnv, username: str) -> None:
    page = await web.http.get("/login")
    r = await web.http.post("/login", data={"username": username, "password": PASSWORD,
                                            "csrf_token": CSRF.search(page.text).group(1)})
    assert r.status_code == 303, r.text


async def test_the_api_imports_a_list_once_keeps_good_rows_and_names_bad_ones(web: WebEnv, people) -> None:
    good, bad = report(), report(risk="catastrophic")
    body = as_csv([good, bad])
    url = "/api/missing/daily-lists?issued_at=2026-11-27T07:00:00Z"
    r = await web.http.post(url, content=body, headers=people[EHA].auth | {"content-type": "text/csv"})
    assert r.status_code == 200, r.text
    web.started.append(missing.workflow_id(good["police_ref"]))
    out = r.json()
    assert out["new"] == [good["police_ref"]] and out["listed_at"].startswith("2026-11-27T07:00")
    assert out["invalid"] == [{"line": 3, "police_ref": bad["police_ref"], "reason": out["invalid"][0]["reason"]}]
    assert out["invalid"][0]["reason"].startswith("risk:")
    r = await web.http.post(url, content=body, headers=people[EHA].auth | {"content-type": "text/csv"})
    assert r.json()["new"] == [] and r.json()["unchanged"] == 1 and r.json()["list_id"] == out["list_id"]

    for role in (SW, POLICE):
        r = await web.http.post(url, content=body, headers=people[role].auth | {"content-type": "text/csv"})
        assert r.status_code == 403 and "may not import the police's missing list" in r.json()["detail"]
    r = await web.http.post("/api/missing/daily-lists", content=b"police_ref;risk\nX;low\n",
                            headers=people[RFS].auth | {"content-type": "text/csv"})
    assert r.status_code == 422 and "the columns are" in r.json()["detail"]
    r = await web.http.post("/api/missing/daily-lists", content=json.dumps({"episodes": "none"}),
                            headers=people[RFS].auth | {"content-type": "application/json"})
    assert r.status_code == 422 and "list of episodes" in r.json()["detail"]
    # the declared type decides (Schemathesis sent JSON as text/csv and it was read as JSON: 200)
    r = await web.http.post("/api/missing/daily-lists", content=json.dumps([good]),
                            headers=people[RFS].auth | {"content-type": "text/csv"})
    assert r.status_code == 422 and "the CSV's first line names its columns" in r.json()["detail"], r.text
    r = await web.http.post(url.replace("2026-11-27T07:00:00Z", "soon"), content=body,
                            headers=people[EHA].auth | {"content-type": "text/csv"})
    assert r.status_code == 422 and "issued_at" in r.json()["detail"]
    spec = (await web.http.get("/openapi.json")).json()
    assert set(spec["paths"]["/api/missing/daily-lists"]["post"]["requestBody"]["content"]) == {"application/json", "text/csv"}


async def test_the_upload_page_imports_and_lists_refused_rows(web: WebEnv, people) -> None:
    good, bad = report(), report(police_ref="not a ref!")
    await sign_in(web, people[EHA].username)
    page = await web.http.get("/missing/daily-lists")
    assert page.status_code == 200 and 'enctype="multipart/form-data"' in page.text
    token = CSRF.search(page.text).group(1)
    r = await web.http.post("/missing/daily-lists", data={"csrf_token": token},
                            files={"list": ("today.json", json.dumps([good, bad]).encode(), "application/json")})
    assert r.status_code == 200, r.text
    web.started.append(missing.workflow_id(good["police_ref"]))
    assert "1 new" in r.text and "1 refused" in r.text and f'href="/missing/{good["police_ref"]}"' in r.text
    assert 'id="invalid"' in r.text and "police_ref" in r.text
    r = await web.http.post("/missing/daily-lists", data={"csrf_token": token},
                            files={"list": ("today.csv", b"nonsense,columns\n1,2\n", "text/csv")})
    assert r.status_code == 422 and "The list was not imported" in r.text
    r = await web.http.post("/missing/daily-lists", data={"csrf_token": "forged"},
                            files={"list": ("today.json", b"[]", "application/json")})
    assert r.status_code == 403


async def test_partners_read_the_morning_discussion_and_nothing_else(web: WebEnv, people) -> None:
    for role in (POLICE, HEALTH):
        headers = people[role].auth
        assert (await web.http.get("/api/morning", headers=headers)).status_code == 200
        for path in ("/api/contacts", "/api/missing", "/api/consultations", "/api/early-help", "/api/stuck"):
            assert (await web.http.get(path, headers=headers)).status_code == 403, (role, path)
    web.http.cookies.clear()
    await sign_in(web, people[POLICE].username)
    r = await web.http.get("/")
    assert r.status_code == 303 and r.headers["location"] == "/morning"
    assert (await web.http.get("/morning")).status_code == 200
    for path in ("/queue", "/contacts/anything", "/missing", "/supervisor", "/missing/daily-lists"):
        assert (await web.http.get(path)).status_code == 403, path


async def test_the_supervisors_dashboard_has_the_new_stuck_lists(web: WebEnv, people) -> None:
    await sign_in(web, people[Role.SERVICE_MANAGER].username)
    page = await web.http.get("/supervisor")
    assert page.status_code == 200
    for title in ("Return home interviews not offered in 72 hours", "Return home interviews outstanding",
                  "Repeat missing: a contact suggested, not raised", "Morning discussion: items rolled over twice"):
        assert title in page.text
