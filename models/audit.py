"""The audit programme: case audits with re-audit, moderation and a reflective meeting.

The letter calls audit "a critical cornerstone": first-line managers audit cases "using an
audit tool that invites an evaluative approach", audits are re-audited and moderated by
senior managers, and reflective meetings with the social worker are part of the model.

- **The audit tool is data** (`config/audit_tool.json`, read as `AuditTool`): domains, the
  four grades with their descriptors, and the learning themes. Each audit carries the tool
  it started with (in its workflow input) and records its version and fingerprint, so an
  edit to the tool changes new audits, never started ones.
- **An audit round** (`AuditRoundRequest`) samples N cases per team for a period with a
  recorded seed (`draw_sample`: the same seed and candidates give the same sample), or takes
  chosen cases, and assigns each to a first-line manager who did not decide it and a
  different manager to re-audit it (`assign_auditors`).
- **One audit** goes first-line audit -> re-audit (graded independently) -> moderation
  (final grades; a reason for every change) -> reflective meeting (scheduled; learning
  points; the worker's own reflections and acknowledgement) -> closed.

Pure: these models are decoded again when a history replays; nothing here reads the clock.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections import defaultdict
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, ClassVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    computed_field,
    field_validator,
    model_validator,
)
from sqlalchemy import JSON, Column, Text, UniqueConstraint
from sqlmodel import Field as TableField
from sqlmodel import SQLModel

from models.bounds import (
    CalendarDate,
    Code,
    FieldError,
    Instant,
    Name,
    ReasonText,
    ShortText,
    Username,
    distinct,
    split_box,
)
from models.deadline import DeadlineRecord
from models.signing import PersonAction
from models.state import Fault
from models.tables import _ts
from models.timescales import Timescales

FORBID = ConfigDict(extra="forbid")
MAX_DOMAINS = 20
MAX_THEMES = 40
MAX_ROUND_CASES = 100  # audits one round starts (a round a month of "over 500 a year")
MAX_PER_TEAM = 50
MAX_TEAMS = 30
ID_PATTERN = r"^[a-z][a-z0-9_]{1,39}$"
ToolId = Annotated[str, Field(pattern=ID_PATTERN, max_length=40)]
CaseId = Annotated[Code, Field(min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
NO_TEAM = "(no team)"
# Trail entries that record who decided a case (their actor may not audit it).
DECISION_ACTIONS = ("management_decision", "early_help_decision")


# ---------------------------------------------------------------------- grades
class Grade(StrEnum):
    OUTSTANDING = "outstanding"
    GOOD = "good"
    REQUIRES_IMPROVEMENT = "requires_improvement"
    INADEQUATE = "inadequate"


GRADE_RANK: dict[Grade, int] = {Grade.OUTSTANDING: 1, Grade.GOOD: 2, Grade.REQUIRES_IMPROVEMENT: 3, Grade.INADEQUATE: 4}
CRITICAL = Grade.INADEQUATE  # a critical weakness: inadequate in any domain


# ---------------------------------------------------------------------- the tool (config/audit_tool.json)
class GradeDescriptor(BaseModel):
    model_config = FORBID
    grade: Grade
    descriptor: ShortText = Field(min_length=3)


class AuditDomain(BaseModel):
    model_config = FORBID
    id: ToolId
    title: Name = Field(min_length=3)
    question: ShortText = Field(min_length=3)
    look_for: list[ShortText] = Field(default_factory=list, max_length=12)


class LearningTheme(BaseModel):
    model_config = FORBID
    id: ToolId
    title: Name = Field(min_length=3)


class AuditTool(BaseModel):
    """The audit tool. A misspelt key is an error, not a silent default."""

    model_config = FORBID
    name: Name = Field(min_length=3)
    version: Code = Field(min_length=1)
    guidance: ShortText = ""
    grades: list[GradeDescriptor] = Field(min_length=len(Grade), max_length=len(Grade))
    domains: list[AuditDomain] = Field(min_length=1, max_length=MAX_DOMAINS)
    learning_themes: list[LearningTheme] = Field(min_length=1, max_length=MAX_THEMES)

    @model_validator(mode="after")
    def _each_once(self) -> AuditTool:
        missing = [g.value for g in Grade if g not in {d.grade for d in self.grades}]
        if missing:
            raise ValueError(f"grades: describe each of the four grades once (missing {', '.join(missing)})")
        for field, ids in (("domains", [d.id for d in self.domains]), ("learning_themes", [t.id for t in self.learning_themes])):
            twice = sorted({i for i in ids if ids.count(i) > 1})
            if twice:
                raise ValueError(f"{field}: each id once ({', '.join(twice)} twice)")
        return self

    @property
    def fingerprint(self) -> str:
        """A digest of the tool's content: two tools with the same version label but different
        content tell apart."""
        text = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    @property
    def version_label(self) -> str:
        return f"{self.version} ({self.fingerprint[:12]})"

    def domain_ids(self) -> list[str]:
        return [d.id for d in self.domains]

    def theme_ids(self) -> list[str]:
        return [t.id for t in self.learning_themes]

    def descriptor(self, grade: Grade | str) -> str:
        return next((d.descriptor for d in self.grades if d.grade == grade), "")

    @classmethod
    def from_json(cls, text: str, source: str = "the audit tool") -> AuditTool:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{source} is not valid JSON: {exc}") from None
        return cls.model_validate(data)


# ---------------------------------------------------------------------- the actions
def _line(value: Any, text_field: str) -> Any:
    """'history=good: what was seen' -> {"domain": "history", "grade": "good", text_field: "..."}
    (the command line's way of giving one domain's grade)."""
    if not isinstance(value, str):
        return value
    head, _, text = value.partition(":")
    domain, sep, grade = head.partition("=")
    if not sep:
        raise ValueError(f"{value[:60]!r}: give DOMAIN=GRADE: TEXT, e.g. history=good: chronology clear")
    out: dict[str, Any] = {"domain": domain.strip(), "grade": grade.strip()}
    if text.strip():
        out[text_field] = text.strip()
    return out


class DomainGrade(BaseModel):
    """One domain's grade with its evaluative comment."""

    model_config = FORBID
    LINE: ClassVar[str] = "DOMAIN=GRADE: COMMENT"  # one per line on the command line (frontdoor/fields.py)
    domain: ToolId
    grade: Grade
    comment: ReasonText = Field(min_length=3, description="evaluative: what difference the practice made for the child")

    @model_validator(mode="before")
    @classmethod
    def _from_line(cls, value: Any) -> Any:
        return _line(value, "comment")


def _once(domains: list[Any]) -> list[Any]:
    ids = [d.domain for d in domains]
    twice = sorted({i for i in ids if ids.count(i) > 1})
    if twice:
        raise ValueError(f"grade each domain once ({', '.join(twice)} given twice)")
    return domains


EACH_DOMAIN_ONCE = AfterValidator(_once)  # a grading names each of the tool's domains at most once


class AuditGrading(PersonAction):
    """A first-line audit or a re-audit: every domain of the tool graded, with a comment each, and an overall grade."""

    domains: Annotated[list[DomainGrade], EACH_DOMAIN_ONCE] = Field(min_length=1, max_length=MAX_DOMAINS)
    overall: Grade
    overall_comment: ReasonText = Field(min_length=3, description="the overall evaluation: the child's experience and what should change")


class ModeratedDomain(BaseModel):
    model_config = FORBID
    LINE: ClassVar[str] = "DOMAIN=GRADE[: REASON]"
    domain: ToolId
    grade: Grade
    reason: ReasonText | None = Field(default=None, description="required when it differs from the first-line grade")

    @model_validator(mode="before")
    @classmethod
    def _from_line(cls, value: Any) -> Any:
        return _line(value, "reason")


class Moderation(PersonAction):
    """A service manager's final grades: a reason for any change from the first-line audit."""

    domains: Annotated[list[ModeratedDomain], EACH_DOMAIN_ONCE] = Field(min_length=1, max_length=MAX_DOMAINS)
    overall: Grade
    overall_reason: ReasonText | None = Field(default=None, description="required when it differs from the first-line overall grade")
    comment: ReasonText = Field(min_length=3, description="the moderator's summary")


class ScheduleMeeting(PersonAction):
    at: Instant
    with_worker: Username | None = Field(default=None, description="the case's worker (default: the worker the audit found)")
    place: ShortText | None = None


class RecordMeeting(PersonAction):
    learning_points: ReasonText = Field(min_length=10, description="the learning points agreed in the meeting")
    themes: Annotated[list[ToolId], distinct("name each learning theme once")] = Field(
        min_length=1, max_length=10, description="the learning themes (from the audit tool)"
    )
    held_at: Instant | None = Field(default=None, description="when it was held (default: now)")
    notes: ShortText | None = None


class Acknowledgement(PersonAction):
    """The case's worker, in their own words, and their acknowledgement of the audit and its learning."""

    reflections: ReasonText = Field(min_length=3, description="your own reflections on the audit and the learning")
    read_and_understood: bool = Field(default=False, validate_default=True,
                                      description="I have read the audit and the learning points")

    @field_validator("read_and_understood")
    @classmethod
    def _confirmed(cls, value: bool) -> bool:
        if not value:
            raise ValueError("confirm that you have read the audit and the learning points")
        return value


# ---------------------------------------------------------------------- one audit
class AuditStage(StrEnum):
    OPENING = "opening"
    FIRST_LINE = "first_line_audit"
    RE_AUDIT = "re_audit"
    MODERATION = "moderation"
    REFLECTIVE_MEETING = "reflective_meeting"
    CLOSED = "closed"


# Each timed step, the stage it runs in; "audit_<step>_overdue" and AUDIT_OVERDUE show while it is overdue.
AUDIT_STEPS: dict[AuditStage, str] = {
    AuditStage.FIRST_LINE: "first_line",
    AuditStage.RE_AUDIT: "re_audit",
    AuditStage.MODERATION: "moderation",
    AuditStage.REFLECTIVE_MEETING: "meeting",
}
AUDIT_OVERDUE = "audit_overdue"


def step_flag(step: str) -> str:
    return f"audit_{step}_overdue"


class AuditableKind(StrEnum):
    """Processes whose cases are audited (FdKind)."""

    CONTACT = "contact"
    EARLY_HELP = "early_help"


class AuditAssignment(BaseModel):
    """Who does what on one audit, as the round planned it."""

    case_id: str
    case_kind: str
    team: str | None = None
    auditor: str  # first-line manager who did not decide the case
    re_auditor: str  # a different manager who did not decide it
    moderator: str  # a service manager (the round's)
    worker: str | None = None  # the case's practitioner, for the reflective meeting
    deciders: list[str] = Field(default_factory=list)  # who decided the case (from the trail)


class AuditInput(BaseModel):
    audit_id: str
    round_id: str | None = None
    assignment: AuditAssignment
    tool: AuditTool  # the tool as it was when the audit started
    started_by: str
    timescales: Timescales = Field(default_factory=Timescales)


class SnapshotRequest(BaseModel):
    audit_id: str
    case_id: str
    case_kind: str


class SnapshotSummary(BaseModel):
    """The case as the audit reads it: the trail up to `trail_seq` (hash-chained, so the
    rows are provably those), documents made by `taken_at`, and the case's summary then."""

    taken_at: datetime
    case_id: str
    case_kind: str
    trail_seq: int = 0
    trail_hash: str | None = None
    received_at: datetime | None = None
    closed_at: datetime | None = None
    stage: str | None = None
    outcome: str | None = None
    documents: int = 0


class Graded(BaseModel):
    grading: AuditGrading
    at: datetime


class Moderated(BaseModel):
    moderation: Moderation
    at: datetime


class MeetingPlan(BaseModel):
    schedule: ScheduleMeeting
    at: datetime  # when it was scheduled


class MeetingHeld(BaseModel):
    record: RecordMeeting
    at: datetime


class Acknowledged(BaseModel):
    acknowledgement: Acknowledgement
    at: datetime


class DomainComparison(BaseModel):
    """One domain side by side: first-line, re-audit and final grade."""

    domain: str
    title: str
    first_line: Grade | None = None
    first_line_comment: str | None = None
    re_audit: Grade | None = None
    re_audit_comment: str | None = None
    final: Grade | None = None
    reason: str | None = None

    @property
    def disagree(self) -> bool:
        return self.first_line is not None and self.re_audit is not None and self.first_line != self.re_audit

    @property
    def changed(self) -> bool:
        return self.first_line is not None and self.final is not None and self.final != self.first_line


class AuditState(BaseModel):
    audit_id: str
    round_id: str | None = None
    case_id: str
    case_kind: str
    team: str | None = None
    tool: AuditTool
    tool_version: str
    tool_fingerprint: str
    stage: AuditStage
    stage_since: datetime
    holder: str  # allocated to
    started_at: datetime
    auditor: str
    re_auditor: str
    moderator: str
    meeting_lead: str | None = None
    worker: str | None = None
    deciders: list[str] = Field(default_factory=list)
    snapshot: SnapshotSummary | None = None
    first_line: Graded | None = None
    re_audit: Graded | None = None
    moderation: Moderated | None = None
    meeting: MeetingPlan | None = None
    meeting_held: MeetingHeld | None = None
    acknowledged: Acknowledged | None = None
    steps: list[DeadlineRecord] = Field(default_factory=list)
    closed_at: datetime | None = None
    fault: Fault | None = None
    flags: list[str] = Field(default_factory=list)

    def comparison(self) -> list[DomainComparison]:
        def by_domain(graded: Graded | None) -> dict[str, DomainGrade]:
            return {d.domain: d for d in graded.grading.domains} if graded else {}

        first, again = by_domain(self.first_line), by_domain(self.re_audit)
        final = {d.domain: d for d in self.moderation.moderation.domains} if self.moderation else {}
        rows = []
        for d in self.tool.domains:
            f, r, m = first.get(d.id), again.get(d.id), final.get(d.id)
            rows.append(DomainComparison(
                domain=d.id, title=d.title,
                first_line=f.grade if f else None, first_line_comment=f.comment if f else None,
                re_audit=r.grade if r else None, re_audit_comment=r.comment if r else None,
                final=m.grade if m else None, reason=m.reason if m else None,
            ))
        return rows

    @computed_field  # type: ignore[prop-decorator]
    @property
    def disagreements(self) -> list[str]:
        """Domains the first-line audit and the re-audit graded differently (and "overall")."""
        out = [c.domain for c in self.comparison() if c.disagree]
        if self.first_line and self.re_audit and self.first_line.grading.overall != self.re_audit.grading.overall:
            out.append("overall")
        return out

    @computed_field  # type: ignore[prop-decorator]
    @property
    def final_overall(self) -> Grade | None:
        return self.moderation.moderation.overall if self.moderation else None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def critical_weakness(self) -> bool | None:
        """Inadequate in any domain of the final grades (None until moderated)."""
        if self.moderation is None:
            return None
        return any(d.grade == CRITICAL for d in self.moderation.moderation.domains)

    def allocation_refusal(self, to: str) -> str | None:
        """Why this audit's current step may not go to `to` (read by the allocate action's rule)."""
        stage = self.stage
        if stage in (AuditStage.FIRST_LINE, AuditStage.RE_AUDIT, AuditStage.MODERATION) and to in self.deciders:
            return f"{to} decided case {self.case_id}: it is audited by a manager who did not decide it"
        if stage == AuditStage.FIRST_LINE and to == self.re_auditor:
            return f"{to} re-audits this case: the first-line audit and the re-audit are by different managers"
        if stage == AuditStage.RE_AUDIT and self.first_line is not None and to == self.first_line.grading.actor.username:
            return f"{to} made the first-line audit: the re-audit is by a different manager"
        if stage == AuditStage.REFLECTIVE_MEETING and self.meeting_held is not None:
            return "the meeting is recorded: the case's worker acknowledges it, and that is not reallocated"
        if stage == AuditStage.REFLECTIVE_MEETING and to == self.worker:
            return f"{to} is the case's worker: the meeting is led by a manager"
        return None


class AuditRecordUpdate(BaseModel):
    """The case record's rows for one audit (the reports read these with SQL)."""

    audit_id: str
    workflow_id: str
    round_id: str | None = None
    case_id: str
    case_kind: str
    team: str | None = None
    auditor: str
    re_auditor: str
    moderator: str
    worker: str | None = None
    tool_version: str
    tool_fingerprint: str
    stage: str
    started_at: datetime
    first_line: Graded | None = None
    re_audit: Graded | None = None
    moderation: Moderated | None = None
    meeting_held: MeetingHeld | None = None
    acknowledged_at: datetime | None = None
    closed_at: datetime | None = None


# ---------------------------------------------------------------------- a round: choosing cases
class AuditRoundRequest(BaseModel):
    """A service manager's audit round: a sample of cases per team for a period, or chosen cases."""

    model_config = FORBID
    id: Annotated[Code, Field(min_length=3, pattern=r"^[A-Za-z0-9][A-Za-z0-9-]{2,40}$")]
    title: Name = Field(min_length=3)
    period_from: CalendarDate = Field(description="cases that began on or after this day")
    period_to: CalendarDate = Field(description="... and on or before this day")
    per_team: int = Field(default=3, ge=1, le=MAX_PER_TEAM, description="cases sampled per team")
    kinds: list[AuditableKind] = Field(default_factory=lambda: [AuditableKind.CONTACT, AuditableKind.EARLY_HELP],
                                       min_length=1, max_length=len(AuditableKind))
    include_open: bool = Field(default=False, description="sample open cases too (closed ones only by default)")
    teams: list[Code] = Field(default_factory=list, max_length=MAX_TEAMS, description="only these teams (none: every team)")
    cases: list[CaseId] = Field(default_factory=list, max_length=MAX_ROUND_CASES,
                                description="chosen cases instead of a sample")
    auditors: list[Username] = Field(default_factory=list, max_length=MAX_TEAMS * 4,
                                     description="the first-line managers auditing this round (none: every team manager)")
    seed: int | None = Field(default=None, ge=0, le=2**31 - 1, description="reproduce an earlier sample with its seed")

    @field_validator("teams", "cases", "auditors", mode="before")
    @classmethod
    def _one_per_line(cls, value: Any) -> Any:
        """A form's text area (or a command line's comma list) gives several values in one."""
        return split_box(value, r"[,\s]+")

    @model_validator(mode="after")
    def _period(self) -> AuditRoundRequest:
        if self.period_to < self.period_from:
            raise ValueError("period_to is before period_from: check the dates")
        if len(set(self.cases)) != len(self.cases):
            raise ValueError("cases: name each case once")
        return self

    def plausibility_errors(self, now: datetime) -> list[FieldError]:
        problems = []
        if self.period_from > now.date():
            problems.append(FieldError("period_from", f"{self.period_from:%d/%m/%Y} is in the future: audits look back"))
        if (self.period_to - self.period_from).days > 366:
            problems.append(FieldError("period_to", "a round's period is at most a year: start one round per period"))
        return problems


class Candidate(BaseModel):
    """A case a round may audit, from the case record's trail."""

    case_id: str
    case_kind: str
    opened_at: datetime
    closed_at: datetime | None = None
    team: str | None = None
    worker: str | None = None
    deciders: list[str] = Field(default_factory=list)


def draw_sample(candidates: list[Candidate], per_team: int, seed: int) -> list[Candidate]:
    """Up to `per_team` cases per team, drawn with `seed`. Each team's draw depends only on
    the seed and that team's candidates (ordered by case id), so the same seed over the same
    cases gives the same sample whatever else is in the record."""
    teams: dict[str, list[Candidate]] = defaultdict(list)
    for c in candidates:
        teams[c.team or NO_TEAM].append(c)
    chosen: list[Candidate] = []
    for team in sorted(teams):
        pool = sorted(teams[team], key=lambda c: (c.case_kind, c.case_id))
        rng = random.Random(f"{seed}:{team}")
        chosen += sorted(rng.sample(pool, min(per_team, len(pool))), key=lambda c: (c.case_kind, c.case_id))
    return chosen


class Assigned(BaseModel):
    candidate: Candidate
    auditor: str
    re_auditor: str


class Unassigned(BaseModel):
    case_id: str
    reason: str


def assign_auditors(cases: list[Candidate], managers: list[str], seed: int) -> tuple[list[Assigned], list[Unassigned]]:
    """Each case to a first-line manager who did not decide it (nor worked it), and a different
    one to re-audit it; the fewest audits first, ties broken by the seed. Deterministic."""
    order = sorted(set(managers))
    random.Random(f"{seed}:managers").shuffle(order)
    load = {m: 0 for m in order}
    done: list[Assigned] = []
    left: list[Unassigned] = []
    for case in cases:
        barred = set(case.deciders) | ({case.worker} if case.worker else set())
        eligible = [m for m in order if m not in barred]
        if len(eligible) < 2:
            left.append(Unassigned(case_id=case.case_id, reason=(
                f"needs two first-line managers who did not decide it; {len(eligible)} available"
                + (f" (decided by {', '.join(sorted(case.deciders))})" if case.deciders else ""))))
            continue
        auditor = min(eligible, key=lambda m: load[m])
        load[auditor] += 1
        re_auditor = min((m for m in eligible if m != auditor), key=lambda m: load[m])
        load[re_auditor] += 1
        done.append(Assigned(candidate=case, auditor=auditor, re_auditor=re_auditor))
    return done, left


class RoundPlanRequest(BaseModel):
    round_id: str
    request: AuditRoundRequest
    seed: int


class RoundPlan(BaseModel):
    seed: int
    candidates: int  # cases in the period the sample was drawn from
    teams: dict[str, int] = Field(default_factory=dict)  # candidates per team
    audits: list[Assigned] = Field(default_factory=list)
    skipped: list[Unassigned] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)  # e.g. a named auditor who is not a team manager


# ---------------------------------------------------------------------- a round: the workflow's state
class AuditRoundStage(StrEnum):
    PLANNING = "planning"
    IN_PROGRESS = "in_progress"
    CLOSED = "closed"


class AuditRoundInput(BaseModel):
    request: AuditRoundRequest
    started_by: Username
    timescales: Timescales = Field(default_factory=Timescales)


class RoundAudit(BaseModel):
    audit_id: str
    case_id: str
    case_kind: str
    team: str | None = None
    auditor: str
    re_auditor: str
    status: str = "open"  # open | closed | ended (stopped without closing)
    closed_at: datetime | None = None
    final_overall: Grade | None = None
    critical_weakness: bool | None = None


class AuditRoundState(BaseModel):
    round_id: str
    title: str
    stage: AuditRoundStage
    stage_since: datetime
    holder: str
    started_at: datetime
    request: AuditRoundRequest
    seed: int | None = None
    tool_version: str | None = None
    candidates: int | None = None
    teams: dict[str, int] = Field(default_factory=dict)
    audits: list[RoundAudit] = Field(default_factory=list)
    skipped: list[Unassigned] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    closed_at: datetime | None = None
    fault: Fault | None = None
    flags: list[str] = Field(default_factory=list)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def audits_closed(self) -> int:
        return sum(1 for a in self.audits if a.status != "open")


class AuditRoundRecord(BaseModel):
    round_id: str
    workflow_id: str
    title: str
    started_by: str
    started_at: datetime
    period_from: date
    period_to: date
    per_team: int
    seed: int | None = None
    tool_version: str | None = None
    candidates: int | None = None
    audits: int = 0
    skipped: list[Unassigned] = Field(default_factory=list)
    closed_at: datetime | None = None


# ---------------------------------------------------------------------- case record (the reports read these)
class AuditRoundRow(SQLModel, table=True):
    __tablename__ = "audit_rounds"
    id: str = TableField(primary_key=True, max_length=64)
    workflow_id: str
    title: str
    started_by: str = TableField(max_length=80)
    started_at: datetime = _ts(nullable=False, index=True)
    period_from: date
    period_to: date
    per_team: int
    seed: int | None = None
    tool_version: str | None = None
    candidates: int | None = None
    audits: int = 0
    skipped: list[dict[str, Any]] = TableField(default_factory=list, sa_column=Column(JSON))
    closed_at: datetime | None = _ts(nullable=True)


class AuditRow(SQLModel, table=True):
    __tablename__ = "audits"
    id: str = TableField(primary_key=True, max_length=80)
    workflow_id: str
    round_id: str | None = TableField(default=None, index=True)
    case_id: str = TableField(index=True, max_length=64)
    case_kind: str = TableField(max_length=40)
    team: str | None = TableField(default=None, index=True, max_length=64)
    auditor: str = TableField(max_length=80)
    re_auditor: str = TableField(max_length=80)
    moderator: str = TableField(max_length=80)
    worker: str | None = TableField(default=None, max_length=80)
    tool_version: str
    tool_fingerprint: str = TableField(max_length=16)
    stage: str
    started_at: datetime = _ts(nullable=False, index=True)
    first_line_at: datetime | None = _ts(nullable=True, index=True)
    first_line_overall: str | None = None
    re_audit_at: datetime | None = _ts(nullable=True)
    re_audit_overall: str | None = None
    moderated_at: datetime | None = _ts(nullable=True, index=True)
    final_overall: str | None = None
    critical_weakness: bool | None = None
    meeting_at: datetime | None = _ts(nullable=True)
    acknowledged_at: datetime | None = _ts(nullable=True)
    closed_at: datetime | None = _ts(nullable=True)


class AuditGradeRow(SQLModel, table=True):
    """One grade of one audit at one step (`domain` 'overall' is the overall grade)."""

    __tablename__ = "audit_grades"
    __table_args__ = (UniqueConstraint("audit_id", "step", "domain"),)
    id: int | None = TableField(default=None, primary_key=True)
    audit_id: str = TableField(index=True, max_length=80)
    step: str = TableField(max_length=20)  # first_line | re_audit | moderation
    domain: str = TableField(index=True, max_length=40)
    grade: str = TableField(max_length=30)
    rank: int  # 1 outstanding .. 4 inadequate
    at: datetime = _ts(nullable=False, index=True)
    comment: str | None = TableField(default=None, sa_column=Column(Text))


class AuditThemeRow(SQLModel, table=True):
    """A learning theme named in an audit's reflective meeting."""

    __tablename__ = "audit_themes"
    __table_args__ = (UniqueConstraint("audit_id", "theme"),)
    id: int | None = TableField(default=None, primary_key=True)
    audit_id: str = TableField(index=True, max_length=80)
    theme: str = TableField(index=True, max_length=40)
    at: datetime = _ts(nullable=False, index=True)


class AuditSnapshotRow(SQLModel, table=True):
    """The case as an audit read it at start: where its trail stood and its summary then."""

    __tablename__ = "audit_snapshots"
    audit_id: str = TableField(primary_key=True, max_length=80)
    case_id: str = TableField(index=True, max_length=64)
    case_kind: str = TableField(max_length=40)
    taken_at: datetime = _ts(nullable=False)
    trail_seq: int = 0
    trail_hash: str | None = TableField(default=None, max_length=64)
    summary: dict[str, Any] = TableField(default_factory=dict, sa_column=Column(JSON))
