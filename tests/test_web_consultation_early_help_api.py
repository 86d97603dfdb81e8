"""The JSON API of the consultation line and the early help hub on the real dev server and
database: every endpoint, the error codes, and which role may do each action (checked by
the server before the workflow's validators check again)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio

from models.roles import Role
from tests.clients import early_help
from tests.clients import workflow_id as contact_workflow_id
from tests.web_support import WebEnv, add_people, app_settings, contact_body, wait_for, web_env

RFS, SW, TM, SM = Role.RFS_OFFICER, Role.SOCIAL_WORKER, Role.TEAM_MANAGER, Role.SERVICE_MANAGER
EHA, SA = Role.EARLY_HELP_ADVISER, Role.SENIOR_ADVISER
REFERRAL_DUE = timedelta(seconds=2)


@pytest.fixture(scope="module")
def people(database_url):
    return add_people(database_url)


@pytest_asyncio.fixture
async def web(dev_env, settings, task_queue) -> AsyncIterator[WebEnv]:
    cfg = app_settings(settings, task_queue, invited_referral_due=REFERRAL_DUE)
    async with web_env(dev_env.client, cfg, task_queue) as env:
        yield env


def call_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": f"CONS-{uuid.uuid4().hex[:10]}",
        "called_at": datetime.now(UTC).isoformat(),
        "caller": {"name": "Ms K Patel", "agency": "Stoke Primary School", "role": "DSL"},
        "children": [{"first_name": "Amy", "last_name": "Jones"}],
        "concern": "Amy often arrives hungry; mother seems low.",
        "factors": ["16A"],
        "advice": "Talk to mother about consent and refer to the front door.",
        "outcome": "referral_invited",
    }
    body.update(overrides)
    return body


async def post(web: WebEnv, person, path: str, body: dict[str, Any], status: int = 200) -> dict[str, Any]:
    r = await web.http.post(path, json=body, headers=person.auth)
    assert r.status_code == status, f"{path}: {r.status_code} {r.text}"
    return r.json()


async def get(web: WebEnv, person, path: str, status: int = 200) -> dict[str, Any]:
    r = await web.http.get(path, headers=person.auth)
    assert r.status_code == status, f"{path}: {r.status_code} {r.text}"
    return r.json()


async def record_call(web: WebEnv, person, **overrides: Any) -> str:
    body = call_body(**overrides)
    answer = await post(web, person, "/api/consultations", body, status=201)
    web.started.append(answer["workflow_id"])
    return body["id"]


async def stage_of(web: WebEnv, person, path: str, stage: str) -> dict[str, Any]:
    async def check():
        state = await get(web, person, path)
        return state if state["stage"] == stage else None

    return await wait_for(check, what=f"{path} to reach {stage}")


async def listed(web: WebEnv, person, path: str, key: str, subject_id: str) -> dict[str, Any] | None:
    rows = (await get(web, person, path))["rows"]
    return next((r for r in rows if r["id"] == subject_id), None)


# ---------------------------------------------------------------------- consultations
async def test_consultation_from_the_call_to_the_follow_up(web: WebEnv, people) -> None:
    cid = await record_call(web, people[SW])
    path = f"/api/consultations/{cid}"
    state = await stage_of(web, people[SW], path, "awaiting_referral")
    assert state["reference"] == cid and state["children"] == ["Amy Jones"] and not state["anonymous"]
    assert "No history look-up" in state["history_lookup"] and state["holder"] == people[SW].username

    row = await wait_for(lambda: listed(web, people[SM], "/api/consultations?flag=referral_awaited", "consultations", cid),
                         what="listed as awaited")
    assert row["kind"] == "consultation" and row["ref"] == cid and row["due_at"]
    assert await listed(web, people[SM], "/api/consultations?stage=follow_up", "consultations", cid) is None

    early = {"outcome": "no_longer_needed", "note": "Rang back; school nurse plan agreed"}
    refused = await post(web, people[SW], f"{path}/record_follow_up", early, status=409)
    assert refused["kind"] == "WrongStage" and "once the invited referral is overdue" in refused["detail"]

    await stage_of(web, people[SW], path, "follow_up")
    row = await wait_for(lambda: listed(web, people[TM], "/api/consultations?flag=follow_up_due", "consultations", cid),
                         what="listed as follow-up due")
    assert row["stage"] == "follow_up"

    refused = await post(web, people[RFS], f"{path}/record_follow_up", early, status=403)
    assert "may not record follow up" in refused["detail"]
    bad = await post(web, people[SW], f"{path}/record_follow_up", {"outcome": "forgot", "note": "x"}, status=422)
    assert {"outcome", "note"} <= {e["field"] for e in bad["errors"]}
    bad = await post(web, people[SW], f"{path}/record_follow_up", early | {"actor": {"username": "tom", "role": "team_manager"}},
                     status=422)
    assert "actor" in {e["field"] for e in bad["errors"]}

    state = await post(web, people[SW], f"{path}/record_follow_up", early)
    assert state["follow_up"]["outcome"] == "no_longer_needed"
    assert state["follow_up"]["actor"]["username"] == people[SW].username
    closed = await stage_of(web, people[SM], path, "closed")
    assert closed["closure"] == "no_longer_needed"

    async def trail_closed() -> list[dict[str, Any]] | None:  # the trail entry follows the stage
        actions = (await get(web, people[SM], f"{path}/trail"))["actions"]
        return actions if "closed" in {a["action"] for a in actions} else None

    trail = await wait_for(trail_closed, what="the closed entry in the trail")
    assert [a["action"] for a in trail][:1] == ["consultation_recorded"]
    assert {"follow_up_raised", "follow_up_call", "closed"} <= {a["action"] for a in trail}
    assert next(a for a in trail if a["action"] == "follow_up_call")["actor"] == people[SW].username
    docs = (await get(web, people[SM], f"{path}/documents"))["documents"]
    assert docs and all(d["url"].startswith("/documents/") for d in docs)
    assert await listed(web, people[SM], "/api/consultations", "consultations", cid) is None
    assert await listed(web, people[SM], "/api/consultations?closed=true", "consultations", cid) is not None


async def test_consultation_errors_401_403_404_409_422(web: WebEnv, people) -> None:
    body = call_body(outcome="advice_only", children=[])
    r = await web.http.post("/api/consultations", json=body)
    assert r.status_code == 401 and "Authorization: Bearer" in r.json()["detail"]
    refused = await post(web, people[RFS], "/api/consultations", body, status=403)
    assert "may not record a consultation call" in refused["detail"]
    bad = await post(web, people[SW], "/api/consultations",
                     call_body(anonymous=True, concern="", called_at="2026-11-26T09:14:00", caller={"name": "X"}), status=422)
    fields = {e["field"] for e in bad["errors"]}
    assert {"concern", "called_at", "caller.agency"} <= fields, bad
    bad = await post(web, people[SW], "/api/consultations", call_body(anonymous=True), status=422)
    assert "stores no identity" in bad["detail"]

    answer = await post(web, people[TM], "/api/consultations", body, status=201)
    web.started.append(answer["workflow_id"])
    assert answer == {"id": body["id"], "workflow_id": f"consultation-{body['id']}",
                      "url": f"/api/consultations/{body['id']}"}
    dup = await post(web, people[SW], "/api/consultations", body, status=409)
    assert "already been received" in dup["detail"]
    closed = await stage_of(web, people[SW], f"/api/consultations/{body['id']}", "closed")
    assert closed["anonymous"] and closed["children"] == [] and closed["closure"] == "advice_only"

    missing = await get(web, people[SW], "/api/consultations/NOPE-1", status=404)
    assert "no consultation NOPE-1" in missing["detail"]
    await post(web, people[SW], "/api/consultations/NOPE-1/follow-up", {"outcome": "escalated", "note": "Escalate"},
               status=404)
    r = await web.http.get("/api/consultations?stage=nowhere", headers=people[SW].auth)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "query.stage"

    open_call = await record_call(web, people[SW])
    await stage_of(web, people[SW], f"/api/consultations/{open_call}", "awaiting_referral")
    again = await post(web, people[TM], f"/api/consultations/{open_call}/retry_fault", {"note": "why not"}, status=409)
    assert "no technical fault" in again["detail"]
    await post(web, people[SW], f"/api/consultations/{open_call}/retry_fault", {}, status=403)


# ---------------------------------------------------------------------- early help
def case_body(**overrides: Any) -> dict[str, Any]:
    return contact_body(**({"id": f"EH-{uuid.uuid4().hex[:10]}", "source": "5D"} | overrides))


async def start_case(web: WebEnv, person, **overrides: Any) -> str:
    body = case_body(**overrides)
    answer = await post(web, person, "/api/early-help", body, status=201)
    assert answer["url"] == f"/api/early-help/{body['id']}"
    web.started.append(answer["workflow_id"])
    return body["id"]


async def history_ready(web: WebEnv, person, path: str) -> dict[str, Any] | None:
    state = await get(web, person, path)
    return state if state["stage"] == "gathering" and state["history"] is not None else None


DIRECTIONS = {"directions": "Ask mother for consent first; then speak to the health visitor."}  # + the adviser


async def test_early_help_direct_case_to_a_quadrant(web: WebEnv, people) -> None:
    case = await start_case(web, people[EHA], consent={"status": "not_sought"})
    path = f"/api/early-help/{case}"
    state = await stage_of(web, people[EHA], path, "awaiting_directions")
    assert state["entry"] == "direct" and state["consent_status"] == "not_sought"
    async def listed_with_due():
        row = await listed(web, people[SM], "/api/early-help?stage=awaiting_directions", "cases", case)
        return row if row and row["due_at"] else None  # the step's due time follows its start

    row = await wait_for(listed_with_due, what="listed with the directions due")
    assert row["kind"] == "early_help" and row["ref"] is None

    refused = await post(web, people[EHA], f"{path}/give_directions", DIRECTIONS, status=403)
    assert "may not give directions" in refused["detail"]
    early = await post(web, people[EHA], f"{path}/record_conversation",
                       {"with_whom": "parent", "name": "Mother", "summary": "Too early"}, status=409)
    assert early["kind"] == "WrongStage"
    nobody = await post(web, people[SA], f"{path}/give_directions", DIRECTIONS | {"adviser": "erin-nobody"}, status=422)
    assert nobody["errors"][0]["field"] == "adviser"  # the adviser named must be a person of the hub
    state = await post(web, people[SA], f"{path}/give_directions", DIRECTIONS | {"adviser": people[EHA].username})
    assert state["stage"] == "awaiting_consent" and state["directions"]["actor"]["username"] == people[SA].username
    bad = await post(web, people[EHA], f"{path}/record_consent", {"status": "refused"}, status=422)
    assert "record the advice" in bad["detail"]
    state = await post(web, people[EHA], f"{path}/record_consent", {"status": "given", "note": "Mother agreed"})
    await wait_for(lambda: history_ready(web, people[EHA], path), what="the history review")

    bad = await post(web, people[EHA], f"{path}/record_conversation", {"with_whom": "agency", "name": "DSL", "summary": "Known"},
                     status=422)
    assert "names the agency" in bad["detail"]
    await post(web, people[EHA], f"{path}/record_conversation",
               {"with_whom": "agency", "agency": "health_visitor", "name": "HV", "summary": "Low mood noted"})
    premature = await post(web, people[EHA], f"{path}/finish_gathering", {}, status=409)
    assert "speak to the parents" in premature["detail"] and premature["kind"] == "WrongStage"
    await post(web, people[EHA], f"{path}/record_conversation", {"with_whom": "parent", "name": "Mother", "summary": "Wants help"})
    state = await post(web, people[EHA], f"{path}/finish_gathering", {"note": "Enough to recommend"})
    assert state["stage"] == "awaiting_recommendation" and len(state["conversations"]) == 2

    rec = {"summary": "Low mood affects routines; mother wants support.", "recommended_outcome": "targeted_early_help"}
    bad = await post(web, people[EHA], f"{path}/recommend", rec, status=422)
    assert "quadrant" in bad["detail"]
    state = await post(web, people[EHA], f"{path}/recommend", rec | {"quadrant": "north_east"})
    assert state["stage"] == "awaiting_decision" and state["recommendation_document_id"]
    await post(web, people[EHA], f"{path}/decide", {"outcome": "universal_services", "rationale": "No"}, status=403)
    state = await post(web, people[TM], f"{path}/decide",
                       {"outcome": "targeted_early_help", "quadrant": "north_east", "rationale": "Family support worker"})
    assert state["decision"]["actor"]["username"] == people[TM].username
    closed = await stage_of(web, people[SM], path, "closed")
    assert closed["team"] and closed["outcome"] == "targeted_early_help"
    assert [s["name"] for s in closed["steps"]] == ["directions", "gathering", "recommendation", "decision"]

    async def closed_in_trail() -> set[str] | None:  # the trail's closing entry follows the stage
        actions = {a["action"] for a in (await get(web, people[SM], f"{path}/trail"))["actions"]}
        return actions if "closed" in actions else None

    trail = await wait_for(closed_in_trail, what="the closed entry in the trail")
    assert {"early_help_received", "directions", "consent_given", "history_reviewed", "conversation",
            "gathering_finished", "recommendation", "early_help_decision", "closed"} <= trail
    kinds = {d["kind"] for d in (await get(web, people[SM], f"{path}/documents"))["documents"]}
    assert "early_help_recommendation" in kinds
    assert await listed(web, people[SM], "/api/early-help?closed=true", "cases", case) is not None


async def test_early_help_step_up_and_errors(web: WebEnv, people) -> None:
    body = case_body()
    r = await web.http.post("/api/early-help", json=body)
    assert r.status_code == 401
    refused = await post(web, people[SM], "/api/early-help", body, status=403)
    assert "may not start an early help case" in refused["detail"]
    bad = await post(web, people[EHA], "/api/early-help", case_body(source="99", children=[]), status=422)
    assert {"source", "children"} <= {e["field"] for e in bad["errors"]}
    await get(web, people[EHA], "/api/early-help/NOPE-2", status=404)
    await post(web, people[SA], "/api/early-help/NOPE-2/directions", DIRECTIONS, status=404)
    r = await web.http.get("/api/early-help?stage=nowhere", headers=people[SM].auth)
    assert r.status_code == 422

    case = await start_case(web, people[SA])  # consent given by the referrer
    dup = await post(web, people[SA], "/api/early-help", case_body(id=case), status=409)
    assert "already been received" in dup["detail"]
    path = f"/api/early-help/{case}"
    await stage_of(web, people[SA], path, "awaiting_directions")
    await post(web, people[TM], f"{path}/give_directions", DIRECTIONS)
    await wait_for(lambda: history_ready(web, people[EHA], path), what="the history review")
    await post(web, people[EHA], f"{path}/record_conversation",
               {"with_whom": "parent", "name": "Ms Carter", "summary": "Disclosed domestic abuse witnessed by the children"})
    up = {"reason": "Disclosure of domestic abuse witnessed by the children"}
    refused = await post(web, people[EHA], f"{path}/step_up", up, status=422)
    assert "consultation with a senior adviser" in refused["detail"]
    bad = await post(web, people[EHA], f"{path}/consult", {"consulted": "rita", "consulted_role": "rfs_officer",
                                                            "advice": "Step up"}, status=422)
    assert "senior adviser or an SPA team manager" in bad["detail"]
    await post(web, people[TM], f"{path}/consult", {"consulted": "sana", "consulted_role": "senior_adviser",
                                                    "advice": "Step up"}, status=403)
    state = await post(web, people[EHA], f"{path}/consult",
                       {"consulted": people[TM].username, "consulted_role": "team_manager", "advice": "Above the threshold"})
    assert len(state["consultations"]) == 1
    state = await post(web, people[EHA], f"{path}/step_up", up)
    spa = state["step_up_contact_id"]
    assert spa
    web.started.append(contact_workflow_id(spa))
    contact = await get(web, people[SW], f"/api/contacts/{spa}")
    assert contact["contact_id"] == spa
    await stage_of(web, people[SW], path, "closed")
    await wait_for(lambda: _completed(web, early_help.workflow_id(case)), what="the workflow to complete")
    again = await post(web, people[TM], f"{path}/retry_fault", {}, status=404)
    assert "no open early help case" in again["detail"]


async def _completed(web: WebEnv, wid: str) -> bool:
    desc = await web.client.get_workflow_handle(wid).describe()
    return desc.status is not None and desc.status.name == "COMPLETED"
