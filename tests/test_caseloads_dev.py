"""Caseloads on the dev server: allocating open work with the receiver's caseload shown
first, a reason asked when it takes them over their target, a person's and a team's
caseload by process and stage with the oldest item and the RAG colour, the pages, and the
daily snapshot (its workflow, its Schedule) feeding caseloads over time."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest_asyncio
from sqlmodel import select
from temporalio.worker import Worker

from activities.caseload import CaseloadActivities
from activities.deps import Deps
from activities.outbox import StoredOutbox
from frontdoor import caseloads, users
from models.caseload import CaseloadSnapshotRow, CaseloadTargets
from models.database import session
from models.roles import Role
from models.tables import ActionRecord
from tests.test_web_pages import csrf_of, sign_in
from tests.web_support import PASSWORD, Person, WebEnv, app_settings, wait_for, web_env
from workflows.caseload import CaseloadSnapshotWorkflow


def team_of(database_url: str) -> tuple[str, dict[str, Person]]:
    suffix = uuid.uuid4().hex[:6]
    team = f"c-{suffix}"
    people = {}
    for tag, role in (("rfs", Role.RFS_OFFICER), ("sw1", Role.SOCIAL_WORKER), ("sw2", Role.SOCIAL_WORKER),
                      ("tm", Role.TEAM_MANAGER), ("sm", Role.SERVICE_MANAGER)):
        name = f"{tag}-{suffix}"
        people[tag] = Person(name, role, users.add_user(database_url, name, role, name, PASSWORD, team=team))
    return team, people


@pytest_asyncio.fixture
async def web(dev_env, settings, task_queue) -> AsyncIterator[WebEnv]:
    targets = CaseloadTargets(targets=CaseloadTargets().targets | {Role.SOCIAL_WORKER: 2})  # amber at 2, red at 3
    cfg = replace(app_settings(settings, task_queue), caseload_targets=targets)
    async with web_env(dev_env.client, cfg, task_queue) as env:
        yield env


async def call(web: WebEnv, person: Person, method: str, path: str, body: dict[str, Any] | None = None,
               status: int = 200) -> Any:
    r = await web.http.request(method, path, json=body, headers=person.auth)
    assert r.status_code == status, f"{path}: {r.status_code} {r.text}"
    return r.json()


async def test_allocation_shows_the_receivers_caseload_and_asks_why_over_target(web: WebEnv, database_url) -> None:
    team, p = team_of(database_url)
    sw1, sw2, tm, sm, rfs = p["sw1"], p["sw2"], p["tm"], p["sm"], p["rfs"]
    contacts = [await web.submit(rfs) for _ in range(3)]
    for cid in contacts:
        await web.wait_stage(rfs, cid, "awaiting_triage")

    def alloc(cid: str, to: Person, **extra: Any) -> dict[str, Any]:
        return {"kind": "contact", "id": cid, "to": to.username, "reason": "Knows the school"} | extra

    for n, cid in enumerate(contacts[:2], 1):
        state = await call(web, tm, "POST", "/api/caseloads/allocate", alloc(cid, sw1))
        assert state["holder"] == sw1.username
        mine = await call(web, sw1, "GET", f"/api/caseloads/people/{sw1.username}")
        assert mine["open"] == n and mine["rag"] == ("green" if n == 1 else "amber") and mine["target"] == 2

    preview = await call(web, sm, "GET", f"/api/caseloads/allocate/preview?kind=contact&id={contacts[2]}&to={sw1.username}")
    assert preview["receiver"]["open"] == 2 and preview["after"] == 3 and preview["over_target"] is True
    assert preview["rag_after"] == "red" and preview["problems"] == [] and preview["allocated_to"] == rfs.username
    refused = await call(web, tm, "POST", "/api/caseloads/allocate", alloc(contacts[2], sw1), status=422)
    assert refused["errors"][0]["field"] == "over_target_reason" and "over their target" in refused["detail"]
    refused = await call(web, tm, "POST", f"/api/contacts/{contacts[2]}/allocate",  # the contact's own endpoint too
                         {"to": sw1.username, "reason": "Cover"}, status=422)
    assert refused["errors"][0]["field"] == "over_target_reason" and "over their target" in refused["detail"]
    state = await call(web, tm, "POST", "/api/caseloads/allocate",
                       alloc(contacts[2], sw1, over_target_reason="Sibling of a child she already works with"))
    assert state["holder"] == sw1.username

    mine = await call(web, sw1, "GET", f"/api/caseloads/people/{sw1.username}")
    assert mine["open"] == 3 and mine["rag"] == "red"
    assert mine["by_process"] == [{"kind": "contact", "noun": "contact", "count": 3, "stages": {"awaiting_triage": 3}}]
    assert mine["oldest"]["id"] == contacts[0]
    squad = await call(web, sm, "GET", f"/api/caseloads/teams/{team}")
    assert squad["summary"]["people"] == 3 and squad["summary"]["total"] == 3  # rfs, sw1, sw2 are practitioners
    assert squad["summary"]["over_target"] == 1 and squad["summary"]["max"] == 3 and squad["summary"]["min"] == 0

    with session(database_url) as s:
        entry = s.exec(select(ActionRecord).where(ActionRecord.subject_id == contacts[2],
                                                  ActionRecord.action == "allocated")).one()
    assert entry.actor == tm.username and entry.reasons == "Knows the school"
    assert entry.details == {"to": sw1.username, "previous": rfs.username,
                             "over_target_reason": "Sibling of a child she already works with"}

    # refusals: the same person, a role that does not do this work, nobody of that name; the workflow's own rule
    r = await call(web, tm, "POST", "/api/caseloads/allocate", alloc(contacts[0], sw1), status=422)
    assert "allocated to" in r["detail"] and "already" in r["detail"]
    r = await call(web, tm, "POST", "/api/caseloads/allocate", alloc(contacts[0], sm), status=422)
    assert "goes to a" in r["detail"]
    await call(web, tm, "POST", "/api/caseloads/allocate", alloc(contacts[0], Person("nobody-x", Role.SOCIAL_WORKER, "")),
               status=404)
    r = await call(web, tm, "POST", f"/api/contacts/{contacts[0]}/allocate", {"to": sw1.username, "reason": "Again"}, status=422)
    assert f"allocated to {sw1.username} already" in r["detail"]  # the generic endpoint checks as the caseload one does
    state = await call(web, tm, "POST", f"/api/contacts/{contacts[0]}/allocate", {"to": sw2.username, "reason": "Leave"})
    assert state["holder"] == sw2.username
    await call(web, sw1, "POST", f"/api/contacts/{contacts[0]}/allocate", {"to": sw1.username, "reason": "Mine"}, status=403)

    # the pages: the caseload, the team, and the allocation's confirmation step
    web.http.cookies.clear()
    await sign_in(web.http, sw1.username)
    page = await web.http.get("/caseloads", follow_redirects=True)
    assert page.status_code == 200 and f"Caseload of {sw1.username}" in page.text and 'data-rag="amber"' in page.text  # 2 of 2 now
    assert (await web.http.get(f"/caseloads/people/{sw2.username}")).status_code == 403
    assert (await web.http.get(f"/caseloads/teams/{team}")).status_code == 403
    web.http.cookies.clear()
    await sign_in(web.http, tm.username)
    page = await web.http.get(f"/caseloads/teams/{team}")
    assert page.status_code == 200 and f'data-person="{sw1.username}"' in page.text and "over target" in page.text
    every = await web.http.get("/caseloads/teams")
    assert every.status_code == 200 and f'data-team="{team}"' in every.text
    choose = await web.http.get(f"/caseloads/allocate?kind=contact&id={contacts[1]}")
    assert choose.status_code == 200 and f'data-person="{sw2.username}"' in choose.text
    assert f'data-person="{sw1.username}"' not in choose.text  # it is theirs already
    confirm = await web.http.get(f"/caseloads/allocate?kind=contact&id={contacts[1]}&to={sw2.username}")
    assert confirm.status_code == 200 and "confirm-allocation" in confirm.text and "over_target_reason" not in confirm.text
    r = await web.http.post("/caseloads/allocate", data={"csrf_token": csrf_of(confirm.text), "kind": "contact",
                                                        "id": contacts[1], "to": sw2.username, "reason": "Rebalance"})
    assert r.status_code == 303 and r.headers["location"] == f"/contacts/{contacts[1]}"
    case = await web.http.get(f"/contacts/{contacts[1]}")
    assert f'allocated to <strong id="allocated-to"><a href="/caseloads/people/{sw2.username}">' in case.text
    over = await web.http.get(f"/caseloads/allocate?kind=contact&id={contacts[2]}&to={sw2.username}")
    assert "over_target_reason" in over.text and 'id="over-target"' in over.text  # sw2 holds 2 now
    r = await web.http.post("/caseloads/allocate", data={"csrf_token": csrf_of(over.text), "kind": "contact",
                                                        "id": contacts[2], "to": sw2.username, "reason": "Rebalance"})
    assert r.status_code == 422 and "over their target" in r.text


async def test_the_daily_snapshot_feeds_caseloads_over_time(dev_env, settings, database_url, task_queue) -> None:
    team, p = team_of(database_url)
    client = dev_env.client
    snap_queue = f"{task_queue}-snap"
    cfg = replace(app_settings(settings, snap_queue))
    deps = Deps(database_url=database_url, templates_dir=Path("templates"), rules_path=settings.threshold_rules,
                outbox=StoredOutbox(database_url), timezone=settings.timezone)
    async with web_env(client, app_settings(settings, task_queue), task_queue) as web:
        cid = await web.submit(p["rfs"])
        await web.wait_stage(p["rfs"], cid, "awaiting_triage")
        await call(web, p["tm"], "POST", "/api/caseloads/allocate", {"kind": "contact", "id": cid, "to": p["sw1"].username,
                                                                     "reason": "Hers"})
        await wait_for(lambda: _holder_seen(web, p["sw1"]), what="visibility to show the allocation")
        async with Worker(client, task_queue=snap_queue, workflows=[CaseloadSnapshotWorkflow],
                          activities=[CaseloadActivities(deps).take_caseload_snapshot]):
            result = await caseloads.snapshot_now(client, cfg, task_queue=snap_queue)
            again = await caseloads.snapshot_now(client, cfg, task_queue=snap_queue)  # the same day: replaced, not doubled
    assert result.people >= 5 and again.taken_on == result.taken_on
    with session(database_url) as s:
        rows = s.exec(select(CaseloadSnapshotRow).where(CaseloadSnapshotRow.team == team)).all()
    assert {r.username: r.open_items for r in rows} == {p["rfs"].username: 0, p["sw1"].username: 1, p["sw2"].username: 0,
                                                        p["tm"].username: 0, p["sm"].username: 0}
    sw1 = next(r for r in rows if r.username == p["sw1"].username)
    assert sw1.by_kind == {"contact": 1} and sw1.target == 15 and sw1.role == "social_worker"
    over_time = caseloads.caseloads_over_time(database_url, team=team)
    by_role = {r["role"]: r for r in over_time}
    assert by_role["social_worker"]["average"] == 0.5 and by_role["social_worker"]["stdev"] == 0.5
    assert by_role["social_worker"]["day"] == result.taken_on.isoformat()


async def _holder_seen(web: WebEnv, person: Person) -> bool:
    mine = await call(web, person, "GET", f"/api/caseloads/people/{person.username}")
    return mine["open"] == 1


def test_every_process_but_the_round_is_caseload() -> None:
    assert caseloads.counted_kinds() == ["contact", "consultation", "early_help", "missing", "audit"]
    assert re.search(r"FdKind IN \('audit', 'consultation', 'contact', 'early_help', 'missing'\)",
                     caseloads.open_work_query(caseloads.counted_kinds()))
