"""A whole audit round on the dev server, through the JSON API: closed contacts worked by a
team's social worker and decided by its manager; a service manager's round samples them with
a recorded seed and assigns each to first-line managers who did not decide it; each audit
goes through first-line audit, independent re-audit, moderation and the reflective meeting
to closed, and the round closes with it. On the way: every refusal the rules make, the
stuck list of overdue audits, the auditor's caseload, the case record the reports read, and
the case itself untouched."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest_asyncio
from sqlmodel import select

from frontdoor import users
from models.audit import AuditGradeRow, AuditRoundRow, AuditRow, AuditSnapshotRow, AuditThemeRow
from models.database import session
from models.roles import Role
from models.tables import ActionRecord, TrailHead
from models.timescales import Span
from tests.audit_support import TOOL
from tests.clients import workflow_id as contact_wid
from tests.web_support import (
    PASSWORD,
    Person,
    WebEnv,
    app_settings,
    wait_for,
    web_env,
)
from workflows.audit import workflow_id as audit_wid


@dataclass
class Team:
    name: str
    rfs: Person
    sw: Person
    other_sw: Person
    decider: Person  # the team manager who decides the cases
    tm_a: Person
    tm_b: Person
    sm: Person


def make_team(database_url: str) -> Team:
    suffix = uuid.uuid4().hex[:6]
    team = f"t-{suffix}"

    def person(tag: str, role: Role) -> Person:
        name = f"{tag}-{suffix}"
        return Person(name, role, users.add_user(database_url, name, role, name, PASSWORD, team=team))

    return Team(team, person("rfs", Role.RFS_OFFICER), person("sw", Role.SOCIAL_WORKER), person("sw2", Role.SOCIAL_WORKER),
                person("tmd", Role.TEAM_MANAGER), person("tma", Role.TEAM_MANAGER), person("tmb", Role.TEAM_MANAGER),
                person("sm", Role.SERVICE_MANAGER))


@pytest_asyncio.fixture
async def web(dev_env, settings, task_queue) -> AsyncIterator[WebEnv]:
    cfg = app_settings(settings, task_queue, audit_first_line=Span(working_days=0, duration=timedelta(seconds=2)))
    async with web_env(dev_env.client, cfg, task_queue) as env:
        yield env


async def post(web: WebEnv, person: Person, path: str, body: dict[str, Any], status: int = 200) -> dict[str, Any]:
    r = await web.http.post(path, json=body, headers=person.auth)
    assert r.status_code == status, f"{path}: {r.status_code} {r.text}"
    return r.json()


async def get(web: WebEnv, person: Person, path: str, status: int = 200) -> Any:
    r = await web.http.get(path, headers=person.auth)
    assert r.status_code == status, f"{path}: {r.status_code} {r.text}"
    return r.json()


async def closed_contact(web: WebEnv, t: Team, *, decided: bool) -> str:
    """A contact worked by the team's social worker: decided by its manager in the SPA, or advice at triage."""
    cid = await web.submit(t.rfs)
    await web.wait_stage(t.rfs, cid, "awaiting_triage")
    if decided:
        await web.act(t.rfs, cid, "triage", {"level": 4, "route": "spa", "rationale": "Neglect over months",
                                             "departure_reason": "Hunger every day", "history_considered": True})
        await web.act(t.sw, cid, "recommend", {"summary": "School sees hunger daily; mother low.",
                                              "recommended_outcome": "assessment_s17"})
        await web.act(t.decider, cid, "decide", {"outcome": "assessment_s17", "rationale": "Assessment needed"})
    else:
        await web.act(t.sw, cid, "triage", {"level": 2, "route": "advice_nfa", "rationale": "Advice to the school",
                                            "departure_reason": "One report only", "history_considered": True})
    await web.wait_stage(t.rfs, cid, "closed")
    await web.client.get_workflow_handle(contact_wid(cid)).result()  # its trail is complete
    return cid


def grading(grades: dict[str, str] | None = None, drop: str | None = None) -> dict[str, Any]:
    grades = grades or {}
    return {"domains": [{"domain": d.id, "grade": grades.get(d.id, "good"), "comment": f"{d.title}: as recorded"}
                        for d in TOOL.domains if d.id != drop],
            "overall": "good", "overall_comment": "Safe and timely; the child's voice thin."}


def final(changes: dict[str, tuple[str, str | None]], first: dict[str, str]) -> dict[str, Any]:
    return {"domains": [{"domain": d.id, "grade": changes.get(d.id, (first.get(d.id, "good"), None))[0],
                         "reason": changes.get(d.id, ("", None))[1]} for d in TOOL.domains],
            "overall": "good", "comment": "Moderated with both audits side by side."}


async def test_a_whole_round_from_sample_to_closed(web: WebEnv, database_url) -> None:
    t = make_team(database_url)
    by_name = {p.username: p for p in (t.decider, t.tm_a, t.tm_b)}
    cases = [await closed_contact(web, t, decided=True), await closed_contact(web, t, decided=True),
             await closed_contact(web, t, decided=False)]
    heads = {c: _head(database_url, c) for c in cases}

    today = datetime.now(UTC).date()
    round_id = f"AR-{uuid.uuid4().hex[:8]}"
    body = {"id": round_id, "title": "Front door decisions", "period_from": (today - timedelta(days=1)).isoformat(),
            "period_to": today.isoformat(), "per_team": 2, "kinds": ["contact"], "teams": [t.name],
            "auditors": [t.decider.username, t.tm_a.username, t.tm_b.username]}
    assert (await post(web, t.decider, "/api/audit-rounds", body, status=403))["detail"].startswith(t.decider.username)
    started = await post(web, t.sm, "/api/audit-rounds", body, status=201)
    web.started.append(started["workflow_id"])

    async def in_progress():
        r = await get(web, t.sm, f"/api/audit-rounds/{round_id}")
        return r if r["stage"] == "in_progress" else None

    rnd = await wait_for(in_progress, what="the round to start its audits")
    assert rnd["candidates"] == 3 and rnd["teams"] == {t.name: 3} and len(rnd["audits"]) == 2
    assert rnd["seed"] is not None and rnd["tool_version"] == TOOL.version_label and rnd["skipped"] == []
    web.started += [audit_wid(a["audit_id"]) for a in rnd["audits"]]
    assert {a["case_id"] for a in rnd["audits"]} <= set(cases)
    for a in rnd["audits"]:
        decided = a["case_id"] in cases[:2]
        assert a["auditor"] != a["re_auditor"]
        if decided:
            assert t.decider.username not in (a["auditor"], a["re_auditor"])  # not by the manager who decided it
    trail = (await get(web, t.sm, f"/api/audit-rounds/{round_id}/trail"))["actions"]
    started_entry = next(e for e in trail if e["action"] == "round_started")
    assert started_entry["details"]["seed"] == rnd["seed"] and started_entry["details"]["candidates"] == 3

    for a in rnd["audits"]:
        await _audit_to_closed(web, t, by_name, a, first=a is rnd["audits"][0], decided=a["case_id"] in cases[:2])

    async def round_closed():
        r = await get(web, t.sm, f"/api/audit-rounds/{round_id}")
        return r if r["stage"] == "closed" else None

    rnd = await wait_for(round_closed, what="the round to close with its last audit")
    assert rnd["audits_closed"] == 2 and all(a["status"] == "closed" for a in rnd["audits"])
    assert [a["critical_weakness"] for a in rnd["audits"]] == [True, False]

    with session(database_url) as s:
        row = s.get(AuditRoundRow, round_id)
        assert row is not None and row.seed == rnd["seed"] and row.audits == 2 and row.closed_at is not None
        for a in rnd["audits"]:
            audit = s.get(AuditRow, a["audit_id"])
            assert audit is not None and audit.stage == "closed" and audit.final_overall == "good"
            assert audit.tool_fingerprint == TOOL.fingerprint and audit.team == t.name
            grades = s.exec(select(AuditGradeRow).where(AuditGradeRow.audit_id == a["audit_id"])).all()
            assert len(grades) == 3 * (len(TOOL.domains) + 1)
            themes = s.exec(select(AuditThemeRow).where(AuditThemeRow.audit_id == a["audit_id"])).all()
            assert {th.theme for th in themes} == {"childs_voice_absent", "history_not_weighed"}
            snap = s.get(AuditSnapshotRow, a["audit_id"])
            assert snap is not None and (snap.trail_seq, snap.trail_hash) == heads[a["case_id"]]
        # the audits never wrote under the cases' ids: their trails end where they ended
        for c in cases:
            assert _head(database_url, c) == heads[c]
            kinds = {r.kind for r in s.exec(select(ActionRecord).where(ActionRecord.subject_id == c))}
            assert kinds == {"contact"}


async def _audit_to_closed(web: WebEnv, t: Team, by_name: dict[str, Person], a: dict[str, Any], *, first: bool,
                           decided: bool) -> None:
    aid = a["audit_id"]
    auditor, re_auditor = by_name[a["auditor"]], by_name[a["re_auditor"]]
    path = f"/api/audits/{aid}"

    async def at(stage: str):
        async def check():
            s = await get(web, t.sm, path)
            return s if s["stage"] == stage else None

        return await wait_for(check, what=f"{aid} at {stage}")

    state = await at("first_line_audit")
    assert state["holder"] == auditor.username and state["snapshot"]["case_id"] == a["case_id"]
    assert state["worker"] == t.sw.username and state["tool_version"] == TOOL.version_label
    if first:
        # the first-line step's 2-second timescale passes: the stuck list shows the audit
        row = await wait_for(lambda: _stuck_row(web, t.sm, aid), what="the audit in the audit_overdue stuck list")
        assert row["stage"] == "first_line_audit" and row["holder"] == auditor.username
        assert "audit_first_line_overdue" in row["flags"] and row["ref"] == a["case_id"]
        # the auditor's caseload holds it
        mine = await get(web, auditor, f"/api/caseloads/people/{auditor.username}")
        assert aid in {i["id"] for i in mine["items"]} and any(p["kind"] == "audit" for p in mine["by_process"])
        # refusals: not the allocated manager, a domain missing, an allocation to the decider
        r = await post(web, re_auditor, f"{path}/record_audit", grading(), status=403)
        assert f"allocated to {auditor.username}" in r["detail"]
        r = await post(web, auditor, f"{path}/record_audit", grading(drop="consent"), status=422)
        assert "missing consent" in r["detail"]
        r = await post(web, t.sm, "/api/caseloads/allocate", {"kind": "audit", "id": aid, "to": t.sw.username,
                                                             "reason": "Cover"}, status=422)
        assert "goes to a team manager" in r["detail"]
    if decided:  # the manager who decided the case may not audit it
        assert state["deciders"] == [t.decider.username]
        r = await post(web, t.sm, "/api/caseloads/allocate", {"kind": "audit", "id": aid, "to": t.decider.username,
                                                             "reason": "Cover"}, status=422)
        assert "did not decide it" in r["detail"]
    first_grades = {"consent": "requires_improvement"} if first else {}
    await post(web, auditor, f"{path}/record_audit", grading(first_grades))
    state = await at("re_audit")
    assert state["holder"] == re_auditor.username
    if first:
        r = await post(web, auditor, f"{path}/record_re_audit", grading(), status=403)
        assert "allocated to" in r["detail"]
    state = await post(web, re_auditor, f"{path}/record_re_audit", grading({"timeliness": "requires_improvement"}))
    assert state["stage"] == "moderation" and state["holder"] == t.sm.username
    assert set(state["disagreements"]) == ({"consent", "timeliness"} if first else {"timeliness"})
    changes = {"timeliness": ("inadequate", "No decision for 3 days and no extension")} if first else {}
    if first:
        r = await post(web, t.sm, f"{path}/moderate", final({"timeliness": ("inadequate", None)}, first_grades), status=422)
        assert "domains.5.reason (timeliness)" in r["detail"]
    state = await post(web, t.sm, f"{path}/moderate", final(changes, first_grades))
    assert state["stage"] == "reflective_meeting" and state["holder"] == auditor.username
    assert state["critical_weakness"] is first and state["final_overall"] == "good"
    at_time = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    await post(web, auditor, f"{path}/schedule_meeting", {"at": at_time, "place": "Room 4"})
    state = await post(web, auditor, f"{path}/record_meeting", {
        "learning_points": "Record the child's words; weigh the history at triage.",
        "themes": ["childs_voice_absent", "history_not_weighed"]})
    assert state["holder"] == t.sw.username
    if first:
        r = await post(web, t.other_sw, f"{path}/acknowledge", {"reflections": "Not mine", "read_and_understood": True},
                       status=403)
        assert f"({t.sw.username}) acknowledges" in r["detail"]
        r = await post(web, t.sw, f"{path}/acknowledge", {"reflections": "Yes"}, status=422)
        assert "read_and_understood" in r["detail"]
    state = await post(web, t.sw, f"{path}/acknowledge", {"reflections": "I will write down what children say.",
                                                          "read_and_understood": True})
    assert state["stage"] == "closed"
    async def trail_closed():
        actions = [e["action"] for e in (await get(web, t.sm, f"{path}/trail"))["actions"]]
        return actions if "closed" in actions else None

    trail = await wait_for(trail_closed, what=f"{aid} closed in its trail")
    for expected in ("audit_started", "first_line_audit", "re_audit", "moderated", "meeting_scheduled",
                     "meeting_recorded", "acknowledged", "closed"):
        assert expected in trail, (expected, trail)
    as_read = await get(web, t.sm, f"{path}/case")
    assert as_read["case_id"] == a["case_id"] and as_read["trail"] and as_read["trail"][0]["action"] == "contact_received"
    await get(web, t.rfs, f"{path}/case", status=200)  # RfS officers read contacts and audits


def _head(database_url: str, case_id: str) -> tuple[int, str]:
    with session(database_url) as s:
        head = s.get(TrailHead, case_id)
        assert head is not None
        return head.seq, head.hash


async def _stuck_row(web: WebEnv, person: Person, aid: str) -> dict[str, Any] | None:
    r = await get(web, person, "/api/stuck?kind=audit_overdue&limit=500")
    return next((row for row in r["rows"] if row["id"] == aid), None)
