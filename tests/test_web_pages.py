"""The server-rendered pages through a test client: sign-in, CSRF, cookies, what each
role is offered, forms that act on the real workflow, seeding demo users."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio

from frontdoor import users
from frontdoor.web.auth import seed_demo_users
from models.roles import Role
from tests.web_support import PASSWORD, WebEnv, add_people, app_settings, wait_for, web_env

RFS, SW, TM, SM = Role.RFS_OFFICER, Role.SOCIAL_WORKER, Role.TEAM_MANAGER, Role.SERVICE_MANAGER
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(scope="module")
def people(database_url):
    return add_people(database_url)


@pytest_asyncio.fixture
async def web(dev_env, settings, task_queue) -> AsyncIterator[WebEnv]:
    async with web_env(dev_env.client, app_settings(settings, task_queue), task_queue) as env:
        yield env


def csrf_of(html: str) -> str:
    match = CSRF.search(html)
    assert match, "no CSRF token in the page"
    return match.group(1)


async def sign_in(http: httpx.AsyncClient, username: str, password: str = PASSWORD) -> httpx.Response:
    page = await http.get("/login")
    return await http.post("/login", data={"username": username, "password": password, "csrf_token": csrf_of(page.text)})


async def test_sign_in_sets_a_signed_httponly_samesite_cookie(web: WebEnv, people) -> None:
    r = await web.http.get("/queue")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    page = await web.http.get("/login")
    assert page.status_code == 200 and "Content-Security-Policy" in page.headers
    r = await web.http.post("/login", data={"username": people[SW].username, "password": PASSWORD})
    assert r.status_code == 403 and "did not come from this site" in r.text
    r = await sign_in(web.http, people[SW].username, "wrong")
    assert r.status_code == 401 and "Wrong username or password" in r.text
    r = await sign_in(web.http, people[SW].username)
    assert r.status_code == 303 and r.headers["location"] == "/queue"
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    r = await web.http.get("/queue")
    assert r.status_code == 200 and people[SW].username in r.text
    r = await web.http.post("/logout", data={"csrf_token": csrf_of(r.text)})
    assert r.status_code == 303
    assert (await web.http.get("/queue")).status_code == 303


async def test_each_role_lands_on_its_screen(web: WebEnv, people) -> None:
    for role, home in ((RFS, "/queue"), (TM, "/decisions"), (SM, "/supervisor")):
        web.http.cookies.clear()
        r = await sign_in(web.http, people[role].username)
        assert r.headers["location"] == home
        page = await web.http.get(home)
        assert page.status_code == 200
    sup = await web.http.get("/supervisor")
    for title in ("Decisions overdue", "Not yet reviewed", "Technical faults"):
        assert title in sup.text
    fragment = await web.http.get("/supervisor/panels")
    assert fragment.status_code == 200 and "<html" not in fragment.text and "Decisions overdue" in fragment.text


async def test_contact_page_offers_only_what_stage_and_role_allow(web: WebEnv, people) -> None:
    cid = await web.submit(people[RFS], children=[{"first_name": "<script>alert(1)</script>", "last_name": "Esc"}])
    await web.wait_stage(people[RFS], cid, "awaiting_triage")

    await sign_in(web.http, people[RFS].username)
    page = (await web.http.get(f"/contacts/{cid}")).text
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert 'id="form-triage"' in page and 'id="form-review"' not in page and 'id="form-decide"' not in page
    r = await web.http.post(f"/contacts/{cid}/actions/triage", data={
        "csrf_token": csrf_of(page), "level": "4", "route": "spa", "rationale": "SPA decision needed",
        "departure_reason": "Daily hunger", "history_considered": "on",
    })
    assert r.status_code == 303
    page = (await web.http.get(f"/contacts/{cid}")).text
    assert "Triage against the threshold guidance: saved." in page
    assert 'id="form-record_consent"' not in page  # consent was given by the referrer
    assert 'id="form-override_consent"' not in page and 'id="form-extend"' not in page  # managers only

    web.http.cookies.clear()
    await sign_in(web.http, people[SW].username)
    page = (await web.http.get(f"/contacts/{cid}")).text
    assert 'id="form-request_map_checks"' in page and 'id="form-review"' in page and 'id="form-recommend"' in page
    r = await web.http.post(f"/contacts/{cid}/actions/decide", data={
        "csrf_token": csrf_of(page), "outcome": "nfa", "rationale": "Trying my luck"})
    page = (await web.http.get(r.headers["location"])).text
    assert "not saved" in page and "may not decide" in page
    r = await web.http.post(f"/contacts/{cid}/actions/recommend", data={
        "csrf_token": csrf_of(page), "summary": "short", "recommended_outcome": "nfa"})
    page = (await web.http.get(r.headers["location"])).text
    assert "not saved" in page and "summary" in page
    r = await web.http.post(f"/contacts/{cid}/actions/recommend", data={
        "csrf_token": csrf_of(page), "summary": "Nothing found by anyone asked.", "recommended_outcome": "nfa"})
    page = (await web.http.get(r.headers["location"])).text
    assert "Write the recommendation: saved." in page
    doc = re.search(r'href="/documents/([^"]+/recommendation)"', page)
    assert doc, "the recommendation document is linked"
    rendered = await web.http.get(f"/documents/{doc.group(1)}")
    assert rendered.status_code == 200 and "Nothing found by anyone asked." in rendered.text

    web.http.cookies.clear()
    await sign_in(web.http, people[TM].username)
    manager = (await web.http.get("/decisions")).text
    assert cid in manager
    page = (await web.http.get(f"/contacts/{cid}")).text
    assert 'id="form-decide"' in page and 'id="form-extend"' in page
    r = await web.http.post(f"/contacts/{cid}/actions/decide", data={"outcome": "nfa", "rationale": "No CSRF"})
    assert r.status_code == 403
    await web.http.post(f"/contacts/{cid}/actions/decide", data={
        "csrf_token": csrf_of(page), "outcome": "nfa", "rationale": "Nothing further needed"})
    state = await web.wait_stage(people[TM], cid, "closed")
    assert state["decision"]["actor"]["username"] == people[TM].username


async def test_new_contact_form_shows_field_errors_and_submits(web: WebEnv, people) -> None:
    await sign_in(web.http, people[RFS].username)
    form = (await web.http.get("/contacts/new")).text
    assert 'value="16A"' in form and "Police" in form
    data = {"csrf_token": csrf_of(form), "id": "bad id!", "received_at": "2026-11-26T09:14", "source": "6"}
    r = await web.http.post("/contacts/new", data=data)
    assert r.status_code == 422 and "use letters, digits" in r.text and "The contact was not saved" in r.text
    assert "children: Field required" in r.text  # no child named
    cid = f"F-{people[RFS].username}"
    r = await web.http.post("/contacts/new", data={
        "csrf_token": csrf_of(form), "id": cid, "received_at": "2026-11-26T09:14", "source": "2A",
        "referrer.name": "Ms Head", "children.0.first_name": "Ada", "children.0.last_name": "Form", "concerns.factors": ["16A", "3B"],
        "concerns.summary": "Form test", "consent.status": "given",
    })
    assert r.status_code == 303 and r.headers["location"] == f"/contacts/{cid}"
    web.started.append(f"contact-{cid}")
    state = await web.wait_stage(people[RFS], cid, "awaiting_triage")
    assert state["received_at"].startswith("2026-11-26T09:14:00")  # London in November is UTC
    await wait_for(lambda: _in_queue(web, cid), what="the queue to list the contact")


async def _in_queue(web: WebEnv, cid: str) -> bool:
    return cid in (await web.http.get("/queue")).text


def test_seeding_demo_users_once(tmp_path) -> None:
    from models.database import init_db

    url = f"sqlite:///{tmp_path / 'seed.db'}"
    init_db(url)
    first = seed_demo_users(url)
    assert len(first) == len(users.DEMO_USERS) and all("password 'demo'" in line for line in first)
    assert {u.username: u.role for u in users.list_users(url)} == {k: v.value for k, v in users.DEMO_USERS.items()}
    assert users.authenticate(url, "tom", "demo").role == Role.TEAM_MANAGER
    second = seed_demo_users(url)
    assert all("already there" in line for line in second)
