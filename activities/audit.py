"""Activities of the audit programme: the tool, a round's sample, each audit's snapshot of
the case, and the case-record rows the reports read. Idempotent: rows are keyed by round
id, audit id, (audit, step, domain) and (audit, theme); a snapshot once taken is kept.

An audit reads the case; it never writes under the case's id."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select
from temporalio import activity

from activities.deps import Activities
from models.audit import (
    DECISION_ACTIONS,
    GRADE_RANK,
    AuditGradeRow,
    AuditRecordUpdate,
    AuditRoundRecord,
    AuditRoundRow,
    AuditRow,
    AuditSnapshotRow,
    AuditThemeRow,
    AuditTool,
    Candidate,
    RoundPlan,
    RoundPlanRequest,
    SnapshotRequest,
    SnapshotSummary,
    Unassigned,
    assign_auditors,
    draw_sample,
)
from models.case_record import put_row
from models.database import conflict_insert, session
from models.early_help import EarlyHelpRow
from models.roles import PRACTITIONERS, Role
from models.tables import ActionRecord, ContactRecord, DocumentRecord, TrailHead, User

DEFAULT_TOOL = Path(__file__).resolve().parent.parent / "config" / "audit_tool.json"
CHUNK = 500


def read_tool(path: Path) -> AuditTool:
    try:
        text = path.read_text()
    except OSError as exc:
        raise LookupError(f"the audit tool {path} cannot be read ({exc.strerror}): check FRONTDOOR_AUDIT_TOOL") from None
    try:
        return AuditTool.from_json(text, str(path))
    except ValueError as exc:  # pydantic's ValidationError is a ValueError: the file names what is wrong
        raise LookupError(f"the audit tool {path} is not valid: {exc}") from None


class AuditActivities(Activities):
    @activity.defn
    def load_audit_tool(self) -> AuditTool:
        """The tool as it is now: a round passes it to each audit it starts, so an edit to the
        file changes the next round's audits and never an audit already started."""
        return read_tool(self.deps.audit_tool or DEFAULT_TOOL)

    @activity.defn
    def plan_round(self, plan: RoundPlanRequest) -> RoundPlan:
        """The cases a round audits and who audits each: chosen cases, or a seeded sample of
        each team's cases that began in the period (closed ones, unless open ones are asked
        for too; never a case audited before)."""
        req = plan.request
        with session(self.deps.database_url) as s:
            people = {u.username: u for u in s.exec(select(User)).all()}
            managers = [u.username for u in people.values() if u.active and u.role == Role.TEAM_MANAGER.value
                        and (not req.auditors or u.username in req.auditors)]
            skipped_auditors = [a for a in req.auditors if a not in managers]
            notes = [f"{a} is not an active team manager: left out of this round's auditors" for a in skipped_auditors]
            skipped: list[Unassigned] = []
            if req.cases:
                found = {c.case_id: c for c in candidates(s, people, subject_ids=list(req.cases))}
                skipped += [Unassigned(case_id=c, reason="not in the case record: check the id")
                            for c in req.cases if c not in found]
                chosen = [found[c] for c in req.cases if c in found]
                pool = chosen
            else:
                start = datetime.combine(req.period_from, time(0), self.calendar.zone).astimezone(UTC)
                end = datetime.combine(req.period_to + timedelta(days=1), time(0), self.calendar.zone).astimezone(UTC)
                audited = set(s.exec(select(AuditRow.case_id)).all())
                pool = [c for c in candidates(s, people, kinds=[k.value for k in req.kinds], opened_from=start,
                                              opened_before=end)
                        if c.case_id not in audited and (req.include_open or c.closed_at is not None)
                        and (not req.teams or (c.team or "") in req.teams)]
                chosen = draw_sample(pool, req.per_team, plan.seed)
        teams: dict[str, int] = {}
        for c in pool:
            teams[c.team or "(no team)"] = teams.get(c.team or "(no team)", 0) + 1
        assigned, left = assign_auditors(chosen, managers, plan.seed)
        return RoundPlan(seed=plan.seed, candidates=len(pool), teams=teams, audits=assigned, skipped=skipped + left,
                         notes=notes)

    @activity.defn
    def snapshot_case(self, request: SnapshotRequest) -> SnapshotSummary:
        """Where the case's trail stood and its summary, as the audit reads it (taken once)."""
        with session(self.deps.database_url) as s:
            row = s.get(AuditSnapshotRow, request.audit_id)
            if row is None:
                row = _snapshot(s, request, datetime.now(UTC))
                s.add(row)
                s.commit()
            return SnapshotSummary.model_validate(row.summary)

    @activity.defn
    def record_round(self, record: AuditRoundRecord) -> None:
        with session(self.deps.database_url) as s:
            new = {"id": record.round_id, "workflow_id": record.workflow_id, "title": record.title,
                   "started_by": record.started_by, "started_at": record.started_at, "period_from": record.period_from,
                   "period_to": record.period_to, "per_team": record.per_team}
            values = {name: getattr(record, name) for name in ("seed", "tool_version", "candidates", "audits", "closed_at")}
            put_row(s, AuditRoundRow, record.round_id, new, values | {"skipped": [u.model_dump() for u in record.skipped]})

    @activity.defn
    def record_audit(self, update: AuditRecordUpdate) -> None:
        """The audit's row, its grades at each step and its learning themes."""
        with session(self.deps.database_url) as s:
            row = s.get(AuditRow, update.audit_id) or AuditRow(
                id=update.audit_id, workflow_id=update.workflow_id, case_id=update.case_id, case_kind=update.case_kind,
                auditor=update.auditor, re_auditor=update.re_auditor, moderator=update.moderator,
                tool_version=update.tool_version, tool_fingerprint=update.tool_fingerprint, stage=update.stage,
                started_at=update.started_at,
            )
            for name in ("round_id", "team", "auditor", "re_auditor", "moderator", "worker", "stage",
                         "acknowledged_at", "closed_at"):
                setattr(row, name, getattr(update, name))
            grades: list[dict[str, Any]] = []
            for step, graded in (("first_line", update.first_line), ("re_audit", update.re_audit)):
                if graded is None:
                    continue
                setattr(row, f"{step}_at", graded.at)
                setattr(row, f"{step}_overall", graded.grading.overall.value)
                grades += [_grade(update.audit_id, step, d.domain, d.grade, graded.at, d.comment) for d in graded.grading.domains]
                grades.append(_grade(update.audit_id, step, "overall", graded.grading.overall, graded.at,
                                     graded.grading.overall_comment))
            if update.moderation is not None:
                m = update.moderation
                row.moderated_at, row.final_overall = m.at, m.moderation.overall.value
                row.critical_weakness = any(d.grade.value == "inadequate" for d in m.moderation.domains)
                grades += [_grade(update.audit_id, "moderation", d.domain, d.grade, m.at, d.reason) for d in m.moderation.domains]
                grades.append(_grade(update.audit_id, "moderation", "overall", m.moderation.overall, m.at,
                                     m.moderation.overall_reason))
            themes: list[dict[str, Any]] = []
            if update.meeting_held is not None:
                row.meeting_at = update.meeting_held.record.held_at or update.meeting_held.at
                themes = [{"audit_id": update.audit_id, "theme": t, "at": update.meeting_held.at}
                          for t in update.meeting_held.record.themes]
            s.add(row)
            _insert_new(s, AuditGradeRow, grades, ["audit_id", "step", "domain"])
            _insert_new(s, AuditThemeRow, themes, ["audit_id", "theme"])
            s.commit()


# ---------------------------------------------------------------------- reading the case record
def candidates(
    s: Session, people: dict[str, User], *, kinds: Sequence[str] | None = None, subject_ids: Sequence[str] | None = None,
    opened_from: datetime | None = None, opened_before: datetime | None = None,
) -> list[Candidate]:
    """Cases from the action trail (every process writes it): when each began (its first
    entry) and closed, who decided it, who worked it, and that worker's team."""
    opened = func.min(col(ActionRecord.at)).label("opened")
    closed = func.max(col(ActionRecord.at)).filter(col(ActionRecord.action) == "closed").label("closed")
    query = sa_select(col(ActionRecord.subject_id), func.min(col(ActionRecord.kind)), opened, closed).group_by(
        col(ActionRecord.subject_id))
    if kinds is not None:
        query = query.where(col(ActionRecord.kind).in_(list(kinds)))
    else:
        query = query.where(col(ActionRecord.kind).is_not(None), col(ActionRecord.kind).not_in(["audit", "audit_round"]))
    if subject_ids is not None:
        query = query.where(col(ActionRecord.subject_id).in_(list(subject_ids)))
    if opened_from is not None:
        query = query.having(opened >= opened_from)
    if opened_before is not None:
        query = query.having(opened < opened_before)
    cases = {sid: (kind, _utc(o), _utc(c)) for sid, kind, o, c in s.execute(query).all()}
    detail = _people_of(s, list(cases), people)
    out = []
    for sid, (kind, opened_at, closed_at) in sorted(cases.items()):
        worker, deciders = detail.get(sid, (None, []))
        decider_team = next((people[d].team for d in deciders if d in people and people[d].team), None)
        team = (people[worker].team if worker in people else None) or decider_team
        out.append(Candidate(case_id=sid, case_kind=kind or "", opened_at=opened_at, closed_at=closed_at, team=team,
                             worker=worker, deciders=deciders))
    return out


def _people_of(s: Session, subject_ids: list[str], people: dict[str, User]) -> dict[str, tuple[str | None, list[str]]]:
    """Per case: its worker (the last practitioner who acted on it or was allocated it) and its deciders."""
    practitioner = {r.value for r in PRACTITIONERS}
    out: dict[str, tuple[str | None, list[str]]] = {}
    for chunk in _chunks(subject_ids, CHUNK):
        rows = s.execute(
            sa_select(col(ActionRecord.subject_id), col(ActionRecord.actor), col(ActionRecord.role),
                      col(ActionRecord.action), col(ActionRecord.details))
            .where(col(ActionRecord.subject_id).in_(chunk))
            .order_by(col(ActionRecord.subject_id), col(ActionRecord.seq), col(ActionRecord.id))
        ).all()
        for sid, actor, role, action, details in rows:
            worker, deciders = out.get(sid, (None, []))
            if action in DECISION_ACTIONS and actor not in deciders:
                deciders = [*deciders, actor]
            if role in practitioner:
                worker = actor
            if action == "allocated" and isinstance(details, dict):
                to = str(details.get("to") or "")
                if to in people and people[to].role in practitioner:
                    worker = to
            out[sid] = (worker, deciders)
    return out


def _snapshot(s: Session, request: SnapshotRequest, now: datetime) -> AuditSnapshotRow:
    head = s.get(TrailHead, request.case_id)
    first = s.exec(select(func.min(col(ActionRecord.at))).where(ActionRecord.subject_id == request.case_id)).one()
    closed_at = s.exec(select(func.max(col(ActionRecord.at))).where(
        ActionRecord.subject_id == request.case_id, ActionRecord.action == "closed")).one()
    documents = s.exec(select(func.count()).select_from(DocumentRecord).where(
        DocumentRecord.subject_id == request.case_id)).one()
    summary: dict[str, Any] = {}
    if request.case_kind == "contact" and (contact := s.get(ContactRecord, request.case_id)) is not None:
        summary = {"stage": contact.stage, "outcome": contact.outcome, "received_at": contact.received_at,
                   "level": contact.level, "route": contact.route, "decided_at": contact.decided_at}
    elif request.case_kind == "early_help" and (case := s.get(EarlyHelpRow, request.case_id)) is not None:
        summary = {"stage": case.stage, "outcome": case.outcome, "received_at": case.started_at, "quadrant": case.quadrant}
    snap = SnapshotSummary(
        taken_at=now, case_id=request.case_id, case_kind=request.case_kind,
        trail_seq=head.seq if head else 0, trail_hash=head.hash if head else None,
        received_at=summary.get("received_at") or _utc(first), closed_at=_utc(closed_at),
        stage=summary.get("stage"), outcome=summary.get("outcome"), documents=int(documents or 0),
    )
    return AuditSnapshotRow(
        audit_id=request.audit_id, case_id=request.case_id, case_kind=request.case_kind, taken_at=now,
        trail_seq=snap.trail_seq, trail_hash=snap.trail_hash,
        summary=snap.model_dump(mode="json") | {"record": {k: v.isoformat() if isinstance(v, datetime) else v
                                                           for k, v in summary.items()}},
    )


def _grade(audit_id: str, step: str, domain: str, grade: Any, at: datetime, comment: str | None) -> dict[str, Any]:
    return {"audit_id": audit_id, "step": step, "domain": domain, "grade": grade.value, "rank": GRADE_RANK[grade],
            "at": at, "comment": comment}


def _insert_new(s: Session, table: Any, rows: list[dict[str, Any]], keys: list[str]) -> None:
    """Insert rows that are not there yet (a retried activity adds nothing)."""
    if not rows:
        return
    s.execute(conflict_insert(s.get_bind().dialect.name)(table).values(rows).on_conflict_do_nothing(index_elements=keys))


def _chunks(items: list[str], size: int) -> Iterable[list[str]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _utc(moment: Any) -> Any:
    if isinstance(moment, datetime) and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment
