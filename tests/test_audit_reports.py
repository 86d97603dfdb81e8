"""What the audit programme learns, on SQLite and PostgreSQL: the case-record rows written by
the audit's own activity (twice: it is idempotent), then each report's SQL (grades over
time, agreement between first-line audit and moderation, recurring learning themes, the
share with a critical weakness by month) and caseloads over time from daily snapshots."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from activities.audit import AuditActivities
from activities.deps import Deps
from activities.outbox import StoredOutbox
from frontdoor import audit_reports
from frontdoor.caseloads import caseloads_over_time
from models.audit import (
    AuditGradeRow,
    AuditGrading,
    AuditRecordUpdate,
    Graded,
    MeetingHeld,
    Moderated,
    Moderation,
    RecordMeeting,
)
from models.caseload import CaseloadSnapshotRow
from models.database import init_db, session
from models.roles import Actor, Role
from tests.audit_support import TOOL

TOM = Actor(username="tom", role=Role.TEAM_MANAGER)
TESS = Actor(username="tess", role=Role.TEAM_MANAGER)
MAYA = Actor(username="maya", role=Role.SERVICE_MANAGER)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def store_url(request, tmp_path_factory):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('reports') / 'reports.db'}"
    else:
        url = os.environ.get("FRONTDOOR_TEST_POSTGRES_URL")
        if not url:
            pytest.skip("no PostgreSQL: set FRONTDOOR_TEST_POSTGRES_URL (make test does it when PostgreSQL 15 is installed)")
    init_db(url)
    return url


def at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 11, 0, tzinfo=UTC)


def graded(actor: Actor, day: date, changes: dict[str, str] | None = None, overall: str = "good") -> Graded:
    changes = changes or {}
    return Graded(at=at(day), grading=AuditGrading(
        actor=actor, overall=overall, overall_comment="Evaluated",
        domains=[{"domain": d.id, "grade": changes.get(d.id, "good"), "comment": "As recorded"} for d in TOOL.domains]))


def moderated(day: date, changes: dict[str, str] | None = None, overall: str = "good") -> Moderated:
    changes = changes or {}
    return Moderated(at=at(day), moderation=Moderation(
        actor=MAYA, overall=overall, overall_reason="Changed" if overall != "good" else None, comment="Moderated",
        domains=[{"domain": d.id, "grade": changes.get(d.id, "good"), "reason": "Changed" if d.id in changes else None}
                 for d in TOOL.domains]))


def held(day: date, themes: list[str]) -> MeetingHeld:
    return MeetingHeld(at=at(day), record=RecordMeeting(actor=TOM, learning_points="Points agreed in the meeting",
                                                        themes=themes))


def update(round_id: str, n: int, first: Graded, again: Graded, final: Moderated, meeting: MeetingHeld) -> AuditRecordUpdate:
    return AuditRecordUpdate(
        audit_id=f"{round_id}-{n:02d}", workflow_id=f"audit-{round_id}-{n:02d}", round_id=round_id,
        case_id=f"C-{uuid.uuid4().hex[:8]}", case_kind="contact", team="spa-east", auditor="tom", re_auditor="tess",
        moderator="maya", worker="sam", tool_version=TOOL.version_label, tool_fingerprint=TOOL.fingerprint,
        stage="closed", started_at=first.at - timedelta(days=2), first_line=first, re_audit=again, moderation=final,
        meeting_held=meeting, acknowledged_at=meeting.at, closed_at=meeting.at,
    )


@pytest.fixture(scope="module")
def round_id(store_url, tmp_path_factory) -> str:
    rid = f"RPT-{uuid.uuid4().hex[:8]}"
    jan, feb = date(2026, 1, 14), date(2026, 2, 10)
    activities = AuditActivities(Deps(database_url=store_url, templates_dir=Path("templates"),
                                      rules_path=Path("config/threshold_rules.json"), outbox=StoredOutbox(store_url)))
    audits = [
        # moderation lowers timeliness to inadequate and the overall grade: a critical weakness
        update(rid, 1, graded(TOM, jan), graded(TESS, jan), moderated(jan, {"timeliness": "inadequate"}, "requires_improvement"),
               held(jan, ["history_not_weighed", "childs_voice_absent"])),
        # moderation raises consent from requires improvement to good
        update(rid, 2, graded(TOM, jan, {"consent": "requires_improvement"}), graded(TESS, jan), moderated(jan),
               held(jan, ["childs_voice_absent"])),
        # the re-audit disagrees on recording; moderation agrees with the first-line audit
        update(rid, 3, graded(TESS, feb), graded(TOM, feb, {"recording": "requires_improvement"}), moderated(feb),
               held(feb, ["childs_voice_absent"])),
    ]
    for u in audits + audits:  # a retried activity adds nothing
        activities.record_audit(u)
    return rid


def test_the_rows_are_written_once(store_url, round_id) -> None:
    with session(store_url) as s:
        rows = s.exec(select(AuditGradeRow).where(col_like(AuditGradeRow.audit_id, round_id))).all()
    assert len(rows) == 3 * 3 * (len(TOOL.domains) + 1)


def col_like(column, round_id: str):
    return column.startswith(f"{round_id}-")


def test_grades_over_time(store_url, round_id) -> None:
    rows = audit_reports.grades_over_time(store_url, round_id=round_id)
    assert [(r["month"], r["grade"], r["count"], r["share"]) for r in rows] == [
        ("2026-01", "good", 1, 0.5), ("2026-01", "requires_improvement", 1, 0.5), ("2026-02", "good", 1, 1.0)]
    first = audit_reports.grades_over_time(store_url, step="first_line", domain="consent", round_id=round_id)
    assert [(r["month"], r["grade"], r["count"]) for r in first] == [
        ("2026-01", "good", 1), ("2026-01", "requires_improvement", 1), ("2026-02", "good", 1)]
    with pytest.raises(ValueError, match="step is one of"):
        audit_reports.grades_over_time(store_url, step="nonsense")


def test_agreement_between_first_line_audit_and_moderation(store_url, round_id) -> None:
    a = audit_reports.agreement(store_url, round_id=round_id)
    assert (a["audits"], a["overall_changed"], a["overall_share_changed"]) == (3, 1, round(1 / 3, 4))
    domains = {d["domain"]: d for d in a["domains"]}
    assert set(domains) == set(TOOL.domain_ids())
    assert (domains["timeliness"]["changed"], domains["timeliness"]["lowered"], domains["timeliness"]["raised"]) == (1, 1, 0)
    assert (domains["consent"]["changed"], domains["consent"]["raised"], domains["consent"]["lowered"]) == (1, 1, 0)
    assert all(d["changed"] == 0 for k, d in domains.items() if k not in ("timeliness", "consent"))
    assert [(m["month"], m["audits"], m["overall_changed"]) for m in a["by_month"]] == [("2026-01", 2, 1), ("2026-02", 1, 0)]
    again = audit_reports.agreement(store_url, compare_to="re_audit", round_id=round_id)
    changed = {d["domain"]: d["changed"] for d in again["domains"]}
    assert changed["recording"] == 1 and changed["consent"] == 1 and again["overall_changed"] == 0


def test_recurring_learning_themes(store_url, round_id) -> None:
    rows = audit_reports.learning_themes(store_url, TOOL, round_id=round_id)
    assert [(r["theme"], r["audits"], r["months"], r["recurring"]) for r in rows] == [
        ("childs_voice_absent", 3, 2, True), ("history_not_weighed", 1, 1, False)]
    assert rows[0]["title"] == "The child's voice absent" and (rows[0]["first_month"], rows[0]["last_month"]) == ("2026-01", "2026-02")


def test_share_with_a_critical_weakness_by_month(store_url, round_id) -> None:
    rows = audit_reports.critical_weakness_by_month(store_url, round_id=round_id)
    assert rows == [{"month": "2026-01", "audited": 2, "critical": 1, "share": 0.5},
                    {"month": "2026-02", "audited": 1, "critical": 0, "share": 0.0}]


def test_caseloads_over_time_average_and_spread_per_team(store_url) -> None:
    team = f"team-{uuid.uuid4().hex[:6]}"
    days = [date(2026, 3, 2), date(2026, 3, 3)]
    counts = {days[0]: [15, 12, 18, 9], days[1]: [16, 16, 16, 16]}
    with session(store_url) as s:
        for day, values in counts.items():
            for i, n in enumerate(values):
                s.add(CaseloadSnapshotRow(taken_on=day, taken_at=at(day), username=f"sw{i}-{team}", role="social_worker",
                                          team=team, open_items=n, target=15, by_kind={"contact": n}))
            s.add(CaseloadSnapshotRow(taken_on=day, taken_at=at(day), username=f"tm-{team}", role="team_manager",
                                      team=team, open_items=40, target=20, by_kind={"contact": 40}))
        s.commit()
    rows = caseloads_over_time(store_url, team=team)
    assert [(r["day"], r["people"], r["total"], r["average"], r["min"], r["max"], r["over_target"]) for r in rows] == [
        ("2026-03-02", 4, 54, 13.5, 9, 18, 1), ("2026-03-03", 4, 64, 16.0, 16, 16, 4)]
    assert rows[0]["stdev"] == 3.35  # population sd of 15, 12, 18, 9 and rows[1]["stdev"] == 0.0
    managers = caseloads_over_time(store_url, team=team, roles=frozenset({Role.TEAM_MANAGER}))
    assert [(r["role"], r["average"], r["over_target"]) for r in managers] == [("team_manager", 40.0, 1)] * 2
    assert caseloads_over_time(store_url, team=team, since=days[1])[0]["day"] == "2026-03-03"
