"""Who read a child's record, and who may (issue 9 §4), as an attacker inside the service
would try it: on the real dev server, the real database, the real app and the real
`frontdoor` command.

- every view of a case's details (page, API, document, CLI) is in the access log with its
  channel and part; the log is append-only;
- the access log's pages and API are refused to a social worker asking about others;
- restricting needs a manager and a reason; then a social worker who is not named cannot
  read the case by page, API, document or CLI (each refusal logged), a named one and the
  managers can, lists show the row without its details, and lifting opens it again.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from models.database import get_engine, session
from models.roles import Role
from models.tables import DocumentRecord
from tests.test_cli_practices_e2e import _cli
from tests.web_support import PASSWORD, Person, WebEnv, add_people, app_settings, web_env

RFS, SW, TM, SM = Role.RFS_OFFICER, Role.SOCIAL_WORKER, Role.TEAM_MANAGER, Role.SERVICE_MANAGER


@pytest.fixture(scope="module")
def people(database_url: str) -> dict[Role, Person]:
    return add_people(database_url)


@pytest.fixture(scope="module")
def others(database_url: str) -> dict[Role, Person]:
    """A second person of every role: the social worker who is named, or the one who is not."""
    return add_people(database_url)


@pytest_asyncio.fixture
async def web(dev_env: Any, settings: Any, task_queue: str) -> AsyncIterator[WebEnv]:
    async with web_env(dev_env.client, app_settings(settings, task_queue), task_queue) as env:
        yield env


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF token on the page"
    return found.group(1)


async def sign_in(web: WebEnv, person: Person) -> None:
    web.http.cookies.clear()
    page = await web.http.get("/login")
    r = await web.http.post("/login", data={"username": person.username, "password": PASSWORD, "csrf_token": _csrf(page.text)})
    assert r.status_code == 303, r.text


def add_document(database_url: str, cid: str) -> str:
    """A document of the case, as the document activity stores it."""
    doc_id = f"contact-{cid}/test/letter"
    with session(database_url) as s:
        s.add(DocumentRecord(id=doc_id, subject_id=cid, kind="letter", process="contact", title="A letter",
                             content=f"<p>About {cid}</p>", created_at=datetime.now(UTC)))
        s.commit()
    return doc_id


async def access_rows(web: WebEnv, manager: Person, cid: str) -> list[dict[str, Any]]:
    r = await web.http.get(f"/api/contacts/{cid}/access?limit=200", headers=manager.auth)
    assert r.status_code == 200, r.text
    return list(r.json()["rows"])


async def test_every_read_of_a_case_is_logged_with_its_channel(web: WebEnv, people, dev_env, settings, task_queue,
                                                               tmp_path) -> None:
    cid = await web.submit(people[RFS])
    await web.wait_stage(people[RFS], cid, "awaiting_triage")
    sw, tm = people[SW], people[TM]
    doc_id = add_document(web.settings.database_url, cid)
    before = await access_rows(web, tm, cid)  # the wait above read it as the RfS officer

    for part in ("", "/trail", "/documents", "/messages"):
        assert (await web.http.get(f"/api/contacts/{cid}{part}", headers=sw.auth)).status_code == 200
    await sign_in(web, sw)
    assert (await web.http.get(f"/contacts/{cid}")).status_code == 200
    r = await web.http.get(f"/documents/{doc_id}")
    assert r.status_code == 200 and cid in r.text
    cli = _cli(dev_env, settings, task_queue, tmp_path)
    await asyncio.to_thread(cli.run, "contact", "show", cid, "--as", sw.username)
    await asyncio.to_thread(cli.run, "contact", "trail", cid, "--as", sw.username)
    await asyncio.to_thread(cli.run, "contact", "documents", cid, "--doc-id", doc_id, "--as", sw.username)
    lists = await web.http.get("/api/contacts", headers=sw.auth)  # a list is not a view of a child's details
    assert lists.status_code == 200

    rows = (await access_rows(web, tm, cid))[: -len(before) or None]
    seen = [(r["username"], r["channel"], r["part"], r["outcome"]) for r in reversed(rows)]
    me = sw.username
    assert seen == [(me, "api", "state", "shown"), (me, "api", "trail", "shown"), (me, "api", "documents", "shown"),
                    (me, "api", "messages", "shown"), (me, "page", "state", "shown"), (me, "document", "document", "shown"),
                    (me, "cli", "state", "shown"), (me, "cli", "trail", "shown"), (me, "cli", "document", "shown")]
    assert rows[0]["detail"] == doc_id and rows[0]["kind"] == "contact" and rows[0]["role"] == "social_worker"

    mine = await web.http.get(f"/api/people/{me}/access?limit=3", headers=sw.auth)  # a person sees their own
    assert mine.status_code == 200 and mine.json()["count"] == 3 and mine.json()["next_before"] is not None
    older = await web.http.get(f"/api/people/{me}/access?limit=3&before={mine.json()['next_before']}", headers=sw.auth)
    assert [r["id"] for r in older.json()["rows"]] == [r["id"] for r in rows[3:6]]
    assert (await web.http.get(f"/api/people/{me}/access?limit=100000", headers=sw.auth)).status_code == 422


async def test_the_access_log_is_for_managers_and_for_ones_own_views(web: WebEnv, people, others) -> None:
    cid = await web.submit(people[RFS])
    await web.wait_stage(people[RFS], cid, "awaiting_triage")
    sw, other = people[SW], others[SW]
    for who, path, answer in (
        (sw, f"/api/contacts/{cid}/access", 403),  # who looked at a child: managers only
        (sw, f"/api/people/{other.username}/access", 403),  # what someone else opened
        (sw, f"/api/people/{sw.username}/access", 200),
        (people[RFS], f"/api/people/{sw.username}/access", 403),
        (people[TM], f"/api/people/{sw.username}/access", 200),
        (people[SM], f"/api/contacts/{cid}/access", 200),
        (people[TM], "/api/people/nobody-at-all/access", 404),
    ):
        r = await web.http.get(path, headers=who.auth)
        assert r.status_code == answer, (who.username, path, r.status_code, r.text)
        if answer == 403:
            assert "only team and service managers may" in r.json()["detail"]
    await sign_in(web, sw)
    page = await web.http.get(f"/people/{other.username}/access")
    assert page.status_code == 403 and "only team and service managers may" in page.text
    assert (await web.http.get(f"/contacts/{cid}/access")).status_code == 403
    assert (await web.http.get(f"/people/{sw.username}/access")).status_code == 200
    await sign_in(web, people[TM])
    page = await web.http.get(f"/contacts/{cid}/access")
    assert page.status_code == 200 and people[RFS].username in page.text  # the RfS officer read it


async def test_a_restricted_record_is_refused_everywhere_to_people_not_named(web: WebEnv, people, others, dev_env,
                                                                            settings, task_queue, tmp_path) -> None:
    cid = await web.submit(people[RFS])
    await web.wait_stage(people[RFS], cid, "awaiting_triage")
    doc_id = add_document(web.settings.database_url, cid)
    tm, named, outsider = people[TM], others[SW], people[SW]
    restrict = f"/api/contacts/{cid}/restrict"

    # the right role, and a reason
    r = await web.http.post(restrict, json={"allowed": [named.username], "reason": "A staff member's child"},
                            headers=outsider.auth)
    assert r.status_code == 403 and "may not restrict" in r.json()["detail"]
    r = await web.http.post(restrict, json={"allowed": [named.username]}, headers=tm.auth)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "reason"
    r = await web.http.post(restrict, json={"allowed": ["nobody-at-all"], "reason": "A staff member's child"},
                            headers=tm.auth)
    assert r.status_code == 422 and "no person 'nobody-at-all'" in r.text
    r = await web.http.post(f"/api/contacts/{cid}/lift_restriction", json={"reason": "Not needed"}, headers=tm.auth)
    assert r.status_code == 409 and "is not restricted" in r.json()["detail"]
    r = await web.http.post(restrict, json={"allowed": [named.username], "reason": "A staff member's child"},
                            headers=tm.auth)
    assert r.status_code == 200, r.text

    # the social worker who is not named: API, page, document, CLI
    for part in ("", "/trail", "/documents", "/messages"):
        r = await web.http.get(f"/api/contacts/{cid}{part}", headers=outsider.auth)
        assert r.status_code == 403, (part, r.text)
        assert "restricted record" in r.json()["detail"] and f"Ask {tm.username} (team manager)" in r.json()["detail"]
        assert r.json()["kind"] == "Restricted"
    await sign_in(web, outsider)
    page = await web.http.get(f"/contacts/{cid}")
    assert page.status_code == 403 and "restricted record" in page.text and "Wyn" not in page.text
    doc = await web.http.get(f"/documents/{doc_id}")
    assert doc.status_code == 403 and f"About {cid}" not in doc.text
    cli = _cli(dev_env, settings, task_queue, tmp_path)
    for args in (("contact", "show", cid), ("contact", "trail", cid), ("contact", "messages", cid),
                 ("contact", "documents", cid, "--doc-id", doc_id)):
        out = await asyncio.to_thread(cli.run, *args, "--as", outsider.username, ok=False)
        assert out.returncode == 1 and "restricted record" in out.stderr and "Wyn" not in out.stdout, args
    # acting is reading too (an action answers with the case's state): the outsider's action is
    # refused by the workflow itself, through the API, the CLI or straight to Temporal, and nothing is written
    r = await web.http.post(f"/api/contacts/{cid}/review", json={"rag": "amber", "note": "a look"}, headers=outsider.auth)
    assert r.status_code == 403 and "restricted record" in r.json()["detail"] and "Wyn" not in r.text, r.text
    assert r.json()["kind"] == "Restricted"
    out = await asyncio.to_thread(cli.run, "contact", "review", cid, "--rag", "amber", "--as", outsider.username, ok=False)
    assert out.returncode == 1 and "restricted record" in out.stderr and "Wyn" not in out.stdout
    reviewed = await web.http.post(f"/api/contacts/{cid}/review", json={"rag": "amber", "note": "named"}, headers=named.auth)
    assert reviewed.status_code == 200, reviewed.text  # the named social worker acts on it
    trail = (await web.http.get(f"/api/contacts/{cid}/trail", headers=tm.auth)).json()["actions"]
    assert [a["actor"] for a in trail if a["action"] == "daily_review"] == [named.username]
    refused = [r for r in await access_rows(web, tm, cid) if r["username"] == outsider.username]
    assert {(r["channel"], r["part"]) for r in refused if r["outcome"] == "refused"} == {
        ("api", "state"), ("api", "trail"), ("api", "documents"), ("api", "messages"), ("page", "state"),
        ("document", "document"), ("cli", "state"), ("cli", "trail"), ("cli", "messages"), ("cli", "document")}

    # lists still show that it exists, with no personal data
    listed = (await web.http.get("/api/contacts?limit=500", headers=outsider.auth)).json()["rows"]
    row = next(r for r in listed if r["id"] == cid)
    assert "Wyn" not in str(row)

    # the named social worker and the managers read it; the page says it is restricted
    assert (await web.http.get(f"/api/contacts/{cid}", headers=named.auth)).status_code == 200
    assert (await web.http.get(f"/api/contacts/{cid}/trail", headers=people[SM].auth)).status_code == 200
    await sign_in(web, named)
    page = await web.http.get(f"/contacts/{cid}")
    assert page.status_code == 200 and 'id="restricted"' in page.text and "A staff member&#39;s child" in page.text

    # restricting and lifting are in the action trail; lifting opens it again
    r = await web.http.post(f"/api/contacts/{cid}/lift_restriction", json={"reason": "The worker has left"},
                            headers=people[SM].auth)
    assert r.status_code == 200, r.text
    assert (await web.http.get(f"/api/contacts/{cid}", headers=outsider.auth)).status_code == 200
    trail = (await web.http.get(f"/api/contacts/{cid}/trail", headers=outsider.auth)).json()["actions"]
    entries = [(a["action"], a["actor"], a["reasons"]) for a in trail if "restrict" in a["action"]]
    assert entries == [("restricted", tm.username, "A staff member's child"),
                       ("restriction_lifted", people[SM].username, "The worker has left")]
    assert next(a for a in trail if a["action"] == "restricted")["details"] == {"allowed": [named.username]}


def test_the_access_log_is_append_only(database_url: str) -> None:
    from frontdoor import access
    from models.roles import Actor

    subject = f"C-{uuid.uuid4().hex[:8]}"
    access.open_case(database_url, Actor(username="sam", role=Role.SOCIAL_WORKER), "contact", subject, "cli", "state")
    engine = get_engine(database_url)
    for sql in (f"UPDATE access_log SET username = 'mallory' WHERE subject_id = '{subject}'",
                f"DELETE FROM access_log WHERE subject_id = '{subject}'"):
        with pytest.raises(DBAPIError, match="append-only"):
            with engine.begin() as conn:
                conn.execute(text(sql))
    if engine.dialect.name == "sqlite":
        with pytest.raises(DBAPIError, match="append-only"):
            with engine.begin() as conn:
                row_id = conn.execute(text(f"SELECT id FROM access_log WHERE subject_id = '{subject}'")).scalar()
                conn.execute(text("INSERT OR REPLACE INTO access_log (id, at, username, role, kind, subject_id, channel, "
                                  f"part, outcome) VALUES ({row_id}, '2026-01-01', 'x', 'x', 'x', 'x', 'x', 'x', 'x')"))
    with session(database_url) as s:
        from sqlmodel import select

        from models.access import AccessRecord

        rows = s.exec(select(AccessRecord).where(AccessRecord.subject_id == subject)).all()
        assert [(r.username, r.channel) for r in rows] == [("sam", "cli")]


def test_a_view_that_cannot_be_logged_is_refused(tmp_path) -> None:
    """When the access log cannot be written (here a trigger makes every insert fail, as a
    full disk or a lost connection would), the view is refused with a 503 and nothing is read."""
    from frontdoor import access
    from models.database import init_db
    from models.roles import Actor

    url = f"sqlite:///{tmp_path / 'broken.db'}"
    init_db(url)
    with get_engine(url).begin() as conn:
        conn.execute(text("CREATE TRIGGER access_log_broken BEFORE INSERT ON access_log "
                          "BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END"))
    with pytest.raises(access.AccessLogUnavailable, match="not shown") as refused:
        access.open_case(url, Actor(username="sam", role=Role.SOCIAL_WORKER), "contact", "C-1", "api", "state")
    assert refused.value.status == 503
