"""The JSON API on the real dev server and database: every action, every error code,
and which role may do what (checked by the server before the workflow checks again)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from frontdoor import stuck, users
from models.roles import PARTNERS, PERMISSIONS, Role
from tests.clients import workflow_id
from tests.web_support import WebEnv, add_people, app_settings, contact_body, wait_for, web_env
from workflows.registry import BY_KIND, PROCESSES

RFS, SW, TM, SM, EHA = Role.RFS_OFFICER, Role.SOCIAL_WORKER, Role.TEAM_MANAGER, Role.SERVICE_MANAGER, Role.EARLY_HELP_ADVISER


@pytest.fixture(scope="module")
def people(database_url):
    return add_people(database_url)


@pytest_asyncio.fixture
async def web(dev_env, settings, task_queue) -> AsyncIterator[WebEnv]:
    async with web_env(dev_env.client, app_settings(settings, task_queue), task_queue) as env:
        yield env


def later(hours: float) -> str:
    return (datetime.now(UTC) + timedelta(hours=hours)).isoformat()


async def to_spa(web: WebEnv, people, **overrides) -> str:
    cid = await web.submit(people[RFS], **overrides)
    state = await web.wait_stage(people[RFS], cid, "awaiting_triage")
    assert state["suggested_level"] == 3
    await web.act(people[RFS], cid, "triage", {
        "level": 4, "route": "spa", "rationale": "Neglect over months: SPA decision needed",
        "departure_reason": "Hunger reported daily by the school", "history_considered": True,
    })
    return cid


# ---------------------------------------------------------------------- the whole flow
async def test_every_spa_action_from_intake_to_handoff(web: WebEnv, people) -> None:
    cid = await web.submit(people[RFS], consent={"status": "not_sought"})
    state = await web.wait_stage(people[SW], cid, "awaiting_triage")
    assert state["contact_id"] == cid and state["history"]["matches"] == [] and "unreviewed" in state["flags"]

    state = await web.act(people[SW], cid, "review", {"rag": "amber", "note": "Seen on the day"})
    assert state["review"]["rag"] == "amber" and state["review"]["actor"]["username"] == people[SW].username
    state = await web.act(people[RFS], cid, "triage", {
        "level": 4, "route": "spa", "rationale": "Needs an SPA decision",
        "departure_reason": "Officer's judgement", "history_considered": True,
    })
    assert state["stage"] == "awaiting_consent" and state["triage"]["actor"]["role"] == "rfs_officer"
    state = await web.act(people[SW], cid, "record_consent", {"status": "sought", "note": "Rang mother"})
    assert state["consent"]["status"] == "sought"
    state = await web.act(people[SW], cid, "record_consent", {"status": "given"})
    assert state["stage"] == "map_checks"
    state = await web.act(people[SW], cid, "request_map_checks", {"agencies": ["police", "school"], "questions": "Known?"})
    assert [m["agency"] for m in state["map_checks"]] == ["police", "school"]

    async def sent() -> dict[str, Any] | None:  # the requests leave after the answer (ANSWER_BEFORE_SENDING)
        now = await web.state(people[SW], cid)
        return now if all(m["document_id"] for m in now["map_checks"]) else None

    state = await wait_for(sent, what="both MAP requests to be sent")
    assert state["fault"] is None
    state = await web.act(people[SW], cid, "record_map_response", {"agency": "police", "information": "One call-out in 2025"})
    state = await web.act(people[SW], cid, "proceed_without_agency", {"agency": "school", "reason": "School closed for half term"})
    assert state["stage"] == "awaiting_recommendation"
    state = await web.act(people[SW], cid, "recommend", {
        "summary": "Police know of one call-out; neglect reported daily.", "recommended_outcome": "assessment_s17",
    })
    assert state["stage"] == "awaiting_decision" and state["recommendation_document_id"]

    listed = await wait_for(lambda: _listed(web, people[TM], "stage=awaiting_decision", cid), what="listed")
    assert listed["route"] == "spa" and listed["due_at"]

    new_deadline = later(30)
    state = await web.act(people[TM], cid, "extend", {"reason": "interpreter_awaited", "new_deadline": new_deadline})
    assert len(state["extensions"]) == 1
    assert datetime.fromisoformat(state["decision_due_at"]) == datetime.fromisoformat(new_deadline)
    state = await web.act(people[TM], cid, "decide", {"outcome": "assessment_s17", "rationale": "Assessment needed"})
    assert state["decision"]["actor"]["username"] == people[TM].username

    closed = await web.wait_stage(people[SM], cid, "closed")
    assert closed["handoff"]["team"] == "assessment_team" and closed["outcome"] == "assessment_s17"

    async def trail_closed():  # the stage shows closed a moment before the trail's last entry is written
        rows = (await web.http.get(f"/api/contacts/{cid}/trail", headers=people[SM].auth)).json()["actions"]
        return rows if "closed" in [a["action"] for a in rows] else None

    trail = await wait_for(trail_closed, what="the closed entry in the trail")
    actions = [a["action"] for a in trail]
    for expected in ("contact_received", "daily_review", "triage", "consent_sought", "consent_given", "map_requested",
                     "map_response", "map_proceed_without", "recommendation", "deadline_extended",
                     "management_decision", "handed_off", "closed"):
        assert expected in actions
    assert {a["actor"] for a in trail if a["action"] == "management_decision"} == {people[TM].username}
    docs = (await web.http.get(f"/api/contacts/{cid}/documents", headers=people[SW].auth)).json()["documents"]
    assert {"map_request", "recommendation", "decision_record"} <= {d["kind"] for d in docs}


async def _listed(web: WebEnv, person, query: str, cid: str):
    r = await web.http.get(f"/api/contacts?{query}", headers=person.auth)
    assert r.status_code == 200, r.text
    return next((c for c in r.json()["rows"] if c["id"] == cid), None)


async def test_consent_override_then_map_and_urgent_pickup(web: WebEnv, people) -> None:
    cid = await to_spa(web, people, consent={"status": "not_sought"})
    refused = await web.act(people[SW], cid, "request_map_checks", {"agencies": ["gp"]}, status=409)
    assert "consent is not_sought" in refused["detail"] and refused["kind"] == "WrongStage"
    state = await web.act(people[TM], cid, "override_consent", {
        "reason": "risk_of_significant_harm", "explanation": "Asking the father would put the child at risk",
    })
    assert state["consent"]["status"] == "overridden" and state["stage"] == "map_checks"
    state = await web.act(people[SW], cid, "request_map_checks", {"agencies": ["gp"]})
    assert state["map_checks"][0]["agency"] == "gp"

    urgent = await web.submit(people[RFS], concerns={"factors": ["18C"], "summary": "Bruising"})
    await web.wait_stage(people[RFS], urgent, "awaiting_triage")
    await web.act(people[RFS], urgent, "triage", {"level": 4, "route": "urgent", "rationale": "Injury to a baby"})
    await web.wait_stage(people[SW], urgent, "awaiting_pickup")
    state = await web.act(people[SW], urgent, "pickup", {"note": "Allocated to the duty team"})
    assert state["picked_up_by"] == people[SW].username
    await web.wait_stage(people[SW], urgent, "closed")


async def test_retry_after_a_technical_fault(dev_env, settings, task_queue, people) -> None:
    app_cfg = app_settings(settings, task_queue)
    async with web_env(dev_env.client, app_cfg, task_queue, threshold_rules=Path("/nonexistent/rules.json")) as broken:
        cid = await broken.submit(people[RFS])
        state = await wait_for(lambda: _faulted(broken, people[TM], cid), what="the fault to show")
        assert state["fault"]["activity"] == "check_history"
        refused = await broken.act(people[SW], cid, "retry_fault", {"note": "try again"}, status=403)
        assert "may not retry fault" in refused["detail"]
        broken.keep()  # keep it running for the mended worker below
    async with web_env(dev_env.client, app_cfg, task_queue) as mended:
        mended.started.append(workflow_id(cid))
        state = await mended.act(people[TM], cid, "retry_fault", {"note": "rules file restored"})
        assert state["fault"] is None
        await mended.wait_stage(people[TM], cid, "awaiting_triage")
        again = await mended.act(people[TM], cid, "retry_fault", {}, status=409)
        assert "no technical fault" in again["detail"]


async def _faulted(web: WebEnv, person, cid: str):
    state = await web.state(person, cid)
    return state if state["fault"] else None


# ---------------------------------------------------------------------- errors
async def test_submit_errors_401_403_409_422(web: WebEnv, people, database_url) -> None:
    body = contact_body()
    r = await web.http.post("/api/contacts", json=body)
    assert r.status_code == 401 and "Authorization: Bearer" in r.json()["detail"]
    r = await web.http.post("/api/contacts", json=body, headers={"Authorization": "Bearer fd_not-a-token"})
    assert r.status_code == 401 and "not valid" in r.json()["detail"]

    name = f"revoked-{body['id']}"
    token = users.add_user(database_url, name, Role.RFS_OFFICER)
    users.revoke_token(database_url, name)
    r = await web.http.post("/api/contacts", json=body, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401

    r = await web.http.post("/api/contacts", json=body, headers=people[SM].auth)
    assert r.status_code == 403 and "may not receive a contact" in r.json()["detail"]

    bad = contact_body(source="99", children=[], received_at="2026-11-26T09:14:00")
    r = await web.http.post("/api/contacts", json=bad, headers=people[RFS].auth)
    assert r.status_code == 422
    fields = {e["field"] for e in r.json()["errors"]}
    assert {"source", "children", "received_at"} <= fields, r.json()
    assert "unknown CIN source code" in r.json()["detail"]
    r = await web.http.post("/api/contacts", json=contact_body(source="6"), headers=people[RFS].auth)
    assert r.status_code == 422 and "police_attendance_at is required" in r.json()["detail"]

    r = await web.http.post("/api/contacts", json=body, headers=people[RFS].auth)
    assert r.status_code == 201 and r.json() == {"id": body["id"], "workflow_id": f"contact-{body['id']}",
                                                 "url": f"/api/contacts/{body['id']}"}
    web.started.append(r.json()["workflow_id"])
    r = await web.http.post("/api/contacts", json=body, headers=people[RFS].auth)
    assert r.status_code == 409 and "already been received" in r.json()["detail"]


async def test_action_errors_404_409_422(web: WebEnv, people) -> None:
    r = await web.http.get("/api/contacts/NOPE-123", headers=people[SW].auth)
    assert r.status_code == 404 and "no contact NOPE-123" in r.json()["detail"]
    r = await web.http.post("/api/contacts/NOPE-123/review", json={"rag": "red"}, headers=people[SW].auth)
    assert r.status_code == 404

    cid = await web.submit(people[RFS])
    await web.wait_stage(people[RFS], cid, "awaiting_triage")
    # the stage does not allow it
    r = await web.act(people[TM], cid, "decide", {"outcome": "nfa", "rationale": "Nothing to do"}, status=409)
    assert "recommendation first" in r["detail"]
    # body shape: missing and unknown fields, a bad enum value, and `actor` is the server's to fill
    r = await web.act(people[RFS], cid, "triage", {"level": 9, "route": "spa"}, status=422)
    assert {"level", "rationale"} <= {e["field"] for e in r["errors"]}
    r = await web.act(people[RFS], cid, "triage", {
        "level": 4, "route": "spa", "rationale": "x" * 5, "actor": {"username": "tom", "role": "team_manager"},
    }, status=422)
    assert "actor" in {e["field"] for e in r["errors"]}
    # the workflow refuses what the guidance does not allow
    r = await web.act(people[RFS], cid, "triage", {"level": 1, "route": "urgent", "rationale": "Quick"}, status=422)
    assert "route urgent is for level(s) 4" in r["detail"] and r["kind"] == "InvalidAction"

    spa = await to_spa(web, people)
    r = await web.act(people[TM], spa, "extend", {"reason": "other", "new_deadline": later(30)}, status=422)
    assert "needs an explanation" in r["detail"]
    r = await web.act(people[TM], spa, "extend", {"reason": "parent_carer_unavailable",
                                                      "new_deadline": "2026-11-27T17:00:00"}, status=422)
    assert "time zone" in r["detail"]
    r = await web.act(people[TM], spa, "extend", {"reason": "parent_carer_unavailable",
                                                      "new_deadline": later(1)}, status=422)
    assert "does not move the deadline" in r["detail"]
    r = await web.act(people[SW], spa, "request_map_checks", {"agencies": ["the_moon"]}, status=422)
    assert r["errors"][0]["field"].startswith("agencies")
    r = await web.act(people[SW], spa, "recommend", {"summary": "Too soon to say anything", "recommended_outcome": "nfa"})
    r = await web.act(people[SW], spa, "record_consent", {"status": "given"}, status=409)
    assert "consent is handled in the SPA before the recommendation" in r["detail"]
    r = await web.act(people[TM], spa, "decide", {"outcome": "targeted_early_help", "rationale": "Early help"}, status=422)
    assert "quadrant" in r["detail"]


async def test_list_and_stuck_queries(dev_env, settings, task_queue, people) -> None:
    short = app_settings(settings, task_queue, decision_deadline=timedelta(seconds=1))
    async with web_env(dev_env.client, short, task_queue) as web:
        cid = await to_spa(web, people)
        row = await wait_for(lambda: _stuck_row(web, people[SM], "overdue", cid), what="overdue in /api/stuck")
        assert row["stage"] == "awaiting_consent" or row["stage"] == "map_checks"
        assert "decision_overdue" in row["flags"] and row["holder"] == people[RFS].username
        listed = await _listed(web, people[SM], "flag=decision_overdue", cid)
        assert listed is not None and listed["overdue"] is True
        assert await _listed(web, people[SM], "flag=pickup_late", cid) is None

        r = await web.http.get("/api/stuck", headers=people[EHA].auth)
        assert r.status_code == 200 and set(r.json()["counts"]) == set(stuck.KINDS)
        assert r.json()["counts"]["overdue"] >= 1
        r = await web.http.get("/api/stuck?kind=due_soon&within=90m", headers=people[SM].auth)
        assert r.status_code == 200 and r.json()["within"] == "90m"
        r = await web.http.get("/api/stuck?kind=bogus", headers=people[SM].auth)
        assert r.status_code == 422 and "query.kind" in r.json()["detail"] and "'overdue'" in r.json()["detail"]
        r = await web.http.get("/api/stuck?kind=overdue&within=soon", headers=people[SM].auth)
        assert r.status_code == 422 and "not a duration" in r.json()["detail"]
        r = await web.http.get("/api/stuck?kind=overdue")
        assert r.status_code == 401
        r = await web.http.get("/api/contacts?stage=nowhere", headers=people[SM].auth)
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "query.stage"


async def _stuck_row(web: WebEnv, person, kind: str, cid: str):
    r = await web.http.get(f"/api/stuck?kind={kind}&limit=500", headers=person.auth)
    assert r.status_code == 200, r.text
    return next((row for row in r.json()["rows"] if row["id"] == cid), None)


# ---------------------------------------------------------------------- who may do what
SAMPLE_BODIES: dict[str, dict[str, dict[str, Any]]] = {
    "contact": {
        "triage": {"level": 4, "route": "spa", "rationale": "Because of the concerns"},
        "review": {"rag": "red"},
        "pickup": {},
        "record_consent": {"status": "given"},
        "override_consent": {"reason": "other", "explanation": "Risk outweighs"},
        "request_map_checks": {"agencies": ["police"]},
        "record_map_response": {"agency": "police", "information": "Known"},
        "proceed_without_agency": {"agency": "police", "reason": "No answer"},
        "recommend": {"summary": "A balanced summary here", "recommended_outcome": "nfa"},
        "decide": {"outcome": "nfa", "rationale": "Nothing further"},
        "extend": {"reason": "interpreter_awaited", "new_deadline": "2099-01-01T09:00:00Z"},
        "threshold_unclear": {"question": "Level 3 or 4?", "ask": ["police"]},
        "allocate": {"to": "sam", "reason": "Sam knows the family"},
        "retry_fault": {},
        "restrict": {"allowed": [], "reason": "A staff member's child"},
        "lift_restriction": {"reason": "No longer needed"},
    },
    "consultation": {
        "record_follow_up": {"outcome": "escalated", "note": "No referral made"},
        "allocate": {"to": "sam", "reason": "Cover while Cara is away"},
        "retry_fault": {},
        "restrict": {"allowed": [], "reason": "A staff member's child"},
        "lift_restriction": {"reason": "No longer needed"},
    },
    "early_help": {
        "give_directions": {"directions": "Speak to school and mother.", "adviser": "@early_help_adviser"},
        "record_consent": {"status": "given"},
        "record_conversation": {"with_whom": "parent", "name": "Mother", "summary": "Spoke"},
        "consult": {"consulted": "@senior_adviser", "consulted_role": "senior_adviser", "advice": "Stay in early help"},
        "finish_gathering": {},
        "recommend": {"summary": "A concise summary", "recommended_outcome": "universal_services"},
        "decide": {"outcome": "universal_services", "rationale": "Universal services"},
        "step_up": {"reason": "Above the threshold"},
        "allocate": {"to": "erin", "reason": "Erin covers the north west"},
        "retry_fault": {},
        "restrict": {"allowed": [], "reason": "A staff member's child"},
        "lift_restriction": {"reason": "No longer needed"},
    },
    "audit_round": {
        "allocate": {"to": "maya", "reason": "Maya runs the programme now"},
        "retry_fault": {},
        "restrict": {"allowed": [], "reason": "A staff member's child"},
        "lift_restriction": {"reason": "No longer needed"},
    },
    "audit": {
        "record_audit": {"domains": ["history=good: read and weighed"], "overall": "good", "overall_comment": "Safe"},
        "record_re_audit": {"domains": [{"domain": "history", "grade": "good", "comment": "Agreed"}], "overall": "good",
                            "overall_comment": "Safe"},
        "moderate": {"domains": [{"domain": "history", "grade": "good"}], "overall": "good", "comment": "Moderated"},
        "schedule_meeting": {"at": "2099-01-01T09:00:00Z", "place": "Room 2"},
        "record_meeting": {"learning_points": "Record the child's words", "themes": ["childs_voice_absent"]},
        "acknowledge": {"reflections": "I will", "read_and_understood": True},
        "allocate": {"to": "tess", "reason": "Tom is away"},
        "retry_fault": {},
        "restrict": {"allowed": [], "reason": "A staff member's child"},
        "lift_restriction": {"reason": "No longer needed"},
    },
    "missing": {
        "record_return": {"returned_at": "2026-11-26T09:00:00Z"},
        "offer_interview": {"method": "phone"},
        "record_interview": {"outcome": "done", "child_said": "Stayed at a friend's", "concerns": ["10A"]},
        "raise_contact": {"reason": "Third episode in three months"},
        "close_episode": {"reason": "Another authority's child"},
        "allocate": {"to": "erin", "reason": "Erin is the designated worker"},
        "retry_fault": {},
        "restrict": {"allowed": [], "reason": "A staff member's child"},
        "lift_restriction": {"reason": "No longer needed"},
    },
    "morning": {
        "add": {"question": "Strategy discussion or not?", "about": "Amy Jones, born 02/03/2018", "ask": ["police"]},
        "share": {"item": 1, "information": "Two call-outs in 2026"},
        "record": {"item": 1, "attendees": ["Tom (chair)"], "next_step": "early_help", "next_step_by": "Hub"},
        "close": {},
        "allocate": {"to": "tess", "reason": "Tess chairs this week"},
        "retry_fault": {},
        "restrict": {"allowed": [], "reason": "A staff member's child"},
        "lift_restriction": {"reason": "No longer needed"},
    },
}


async def test_permission_matrix_role_by_action_for_every_process(web: WebEnv, people) -> None:
    """On an id with no open workflow: a role the action's row refuses gets 403 naming who
    may; a role it lets through reaches the workflow, which answers 404."""
    assert set(SAMPLE_BODIES) == {p.kind for p in PROCESSES}
    seen = 0
    for proc in PROCESSES:
        assert set(SAMPLE_BODIES[proc.kind]) == set(proc.actions.names()), proc.kind
        for name, sample in SAMPLE_BODIES[proc.kind].items():
            action = proc.actions[name]  # "@role": the person of that role (named people must exist)
            body = {k: people[Role(v[1:])].username if isinstance(v, str) and v.startswith("@") else v
                    for k, v in sample.items()}
            for role, person in people.items():
                r = await web.http.post(f"/api/{proc.path}/NOBODY-{name}/{name}", json=body, headers=person.auth)
                expected = 404 if role in action.roles else 403
                assert r.status_code == expected, f"{role.value} {proc.kind} {name}: {r.status_code} {r.text}"
                if expected == 403:
                    assert f"may not {name.replace('_', ' ')}" in r.json()["detail"]
                seen += 1
    assert seen == sum(len(p.actions.names()) for p in PROCESSES) * len(Role)

    for proc in PROCESSES:
        for role, person in people.items():  # starting: allowed roles reach body validation
            r = await web.http.post(f"/api/{proc.path}", json={"id": "x"}, headers=person.auth)
            if proc.start is None:  # audits are started by their round, not by a person
                assert r.status_code == 405, (proc.kind, role)
            else:
                assert r.status_code == (422 if role in proc.start.roles else 403), (proc.kind, role)
            # reading: people see the work their role does; the stuck lists (no personal data) are for all
            reads = {f"/api/{proc.path}": 200, f"/api/{proc.path}/NOBODY": 404, f"/api/{proc.path}/NOBODY/trail": 200,
                     f"/api/{proc.path}/NOBODY/documents": 200, f"/api/{proc.path}/NOBODY/messages": 200}
            for path, answer in reads.items():
                got = (await web.http.get(path, headers=person.auth)).status_code
                assert got == (answer if proc.may_read(role) else 403), (role, path, got)
            stuck_answer = (await web.http.get("/api/stuck?kind=overdue", headers=person.auth)).status_code
            assert stuck_answer == (200 if role in PERMISSIONS["stuck"] else 403), (role, stuck_answer)
    assert not BY_KIND["contact"].may_read(Role.EARLY_HELP_ADVISER)  # an adviser sees early help work, not the SPA's
    for partner in PARTNERS:  # the partners read the morning discussion and nothing else of the front door
        assert [p.kind for p in PROCESSES if p.may_read(partner)] == ["morning"]
        assert partner not in PERMISSIONS["stuck"]
    assert BY_KIND["audit"].start is None and BY_KIND["audit_round"].start.roles == {SM}


async def test_permission_matrix_of_the_caseload_and_audit_reads(web: WebEnv, people) -> None:
    """Your own caseload for all; anyone's and the teams' for managers; allocation for team and
    service managers; the case as an audit read it for the audit's readers."""
    managers, allocators = {TM, SM}, {TM, SM}
    someone = people[SW].username
    for role, person in people.items():
        reads = {
            f"/api/caseloads/people/{person.username}": 200,
            f"/api/caseloads/people/{someone}": 200 if role in managers or role == SW else 403,
            "/api/caseloads/teams/no-such-team": 404 if role in managers else 403,
            "/api/caseloads/teams/no-such-team/over-time": 200 if role in managers else 403,
            f"/api/caseloads/allocate/preview?kind=contact&id=NOBODY&to={someone}": 404 if role in allocators else 403,
            "/api/audits/NOBODY/case": 404 if BY_KIND["audit"].may_read(role) else 403,
        }
        for path, expected in reads.items():
            r = await web.http.get(path, headers=person.auth)
            assert r.status_code == expected, (role.value, path, r.status_code, r.text)
        r = await web.http.post("/api/caseloads/allocate", json={"kind": "contact", "id": "NOBODY", "to": someone,
                                                                 "reason": "Cover"}, headers=person.auth)
        assert r.status_code == (404 if role in allocators else 403), (role.value, r.text)
    r = await web.http.get(f"/api/caseloads/people/{someone}")
    assert r.status_code == 401


async def _completed(web: WebEnv, cid: str) -> bool:
    desc = await web.client.get_workflow_handle(workflow_id(cid)).describe()
    return desc.status is not None and desc.status.name == "COMPLETED"


async def test_openapi_documents_every_action_of_every_process_without_actor(web: WebEnv) -> None:
    r = await web.http.get("/openapi.json")
    assert r.status_code == 200
    spec = r.json()
    for proc in PROCESSES:
        assert f"/api/{proc.path}" in spec["paths"]
        for action in proc.actions:
            op = spec["paths"][f"/api/{proc.path}/{{subject_id}}/{action.name}"]["post"]
            ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
            assert "actor" not in spec["components"]["schemas"][ref].get("properties", {})
            assert {"200", "401", "403", "409", "422"} <= set(op["responses"])
    assert "/api/stuck" in spec["paths"] and BY_KIND["contact"].path == "contacts"


async def test_instants_keep_their_offset_across_a_summer_time_change(web: WebEnv, people) -> None:
    """09:00 BST is 08:00 UTC: the API returns the same instant with its offset, in the state,
    the trail and the list; a time given in winter (GMT) keeps its own instant."""
    summer = await web.submit(people[RFS], received_at="2026-07-01T09:00:00+01:00")
    winter = await web.submit(people[RFS], received_at="2026-10-26T09:00:00+00:00")  # the day after the clocks went back
    for cid, utc in ((summer, datetime(2026, 7, 1, 8, tzinfo=UTC)), (winter, datetime(2026, 10, 26, 9, tzinfo=UTC))):
        state = await web.wait_stage(people[RFS], cid, "awaiting_triage")
        received = datetime.fromisoformat(state["received_at"])
        assert received.utcoffset() is not None and received == utc, state["received_at"]
        r = await web.http.get(f"/api/contacts/{cid}/trail", headers=people[SM].auth)
        for entry in r.json()["actions"]:
            assert datetime.fromisoformat(entry["at"]).utcoffset() is not None, entry
