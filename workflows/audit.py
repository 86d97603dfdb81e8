"""AuditWorkflow: one case audit, from the first-line audit to the reflective meeting.

Stages: opening (the case is read as it stands: a snapshot of its trail and record) ->
first-line audit (a manager who did not decide the case grades every domain of the audit
tool) -> re-audit (a different manager grades it again, independently) -> moderation (a
service manager sets the final grades, with a reason for every change from the first-line
audit) -> reflective meeting (scheduled with the case's worker; learning points and themes
recorded; the worker adds their own reflections and acknowledges) -> closed. Each step has
a durable deadline (Timescales.audit_<step>: working days, or a plain duration); when one
passes the audit shows `audit_<step>_overdue` and `audit_overdue` and the managers are told.

The audit reads the case and never changes it: it writes only under its own id. Audits are
started by an audit round (workflows/audit_round.py), which passes the audit tool as it was
then: an edit to config/audit_tool.json changes later audits, not this one.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes

with workflow.unsafe.imports_passed_through():
    import workflows.process as process
    import workflows.search_attributes as sa
    from activities.audit import AuditActivities
    from models.audit import (
        AUDIT_OVERDUE,
        AUDIT_STEPS,
        Acknowledged,
        Acknowledgement,
        AuditGrading,
        AuditInput,
        AuditRecordUpdate,
        AuditStage,
        AuditState,
        Graded,
        MeetingHeld,
        MeetingPlan,
        Moderated,
        Moderation,
        RecordMeeting,
        ScheduleMeeting,
        SnapshotRequest,
        step_flag,
    )
    from models.roles import (
        AUDIT_READERS,
        FIRST_LINE_MANAGERS,
        MEETING_LEADS,
        MODERATORS,
        PRACTITIONERS,
        Actor,
    )
    from workflows.base import SHARED, AuditedWorkflow, human_action, invalid
    from workflows.deadline import Deadline, open_step, step_rules, wait_through

KIND = "audit"


def workflow_id(subject_id: str) -> str:
    return f"audit-{subject_id}"


# ---------------------------------------------------------------------- the rules of each action
def _allocated(s: AuditState, actor_name: str) -> None:
    if actor_name != s.holder:
        raise process.forbidden(f"this step of audit {s.audit_id} is allocated to {s.holder}: only they record it "
                                "(a team manager can reallocate it)")


def _domains(s: AuditState, given: list[str]) -> None:
    ids = s.tool.domain_ids()
    unknown = [d for d in given if d not in ids]
    if unknown:
        raise invalid(f"not domains of the audit tool {s.tool_version}: {', '.join(unknown)}; "
                      f"its domains are {', '.join(ids)}")
    missing = [d for d in ids if d not in given]
    if missing:
        raise invalid(f"grade every domain of the audit tool: missing {', '.join(missing)}")


def _grading_rules(s: AuditState, g: AuditGrading) -> None:
    who = g.actor.username
    _allocated(s, who)
    if who in s.deciders:
        raise invalid(f"{who} decided case {s.case_id}: it is audited by a manager who did not decide it")
    if s.stage == AuditStage.RE_AUDIT and s.first_line is not None and who == s.first_line.grading.actor.username:
        raise invalid(f"{who} made the first-line audit: the re-audit is by a different manager")
    _domains(s, [d.domain for d in g.domains])


def _moderation_rules(s: AuditState, m: Moderation) -> None:
    _allocated(s, m.actor.username)
    _domains(s, [d.domain for d in m.domains])
    first = {d.domain: d.grade for d in s.first_line.grading.domains} if s.first_line else {}
    unexplained = [f"domains.{i}.reason ({d.domain})" for i, d in enumerate(m.domains)
                   if d.grade != first.get(d.domain) and not (d.reason or "").strip()]
    if unexplained:
        raise invalid("a reason for every grade changed from the first-line audit: " + ", ".join(unexplained))
    if s.first_line and m.overall != s.first_line.grading.overall and not (m.overall_reason or "").strip():
        raise invalid(f"overall_reason: the overall grade changes from {s.first_line.grading.overall.value}: say why")


def _schedule_rules(s: AuditState, m: ScheduleMeeting) -> None:
    _allocated(s, m.actor.username)
    if m.at <= workflow.now():
        raise invalid("at: schedule the meeting for a time still to come")
    worker = m.with_worker or s.worker
    if not worker:
        raise invalid("with_worker: the audit found no worker on the case: name the worker the meeting is with")
    if worker == m.actor.username:
        raise invalid("with_worker: the meeting is between a manager and the case's worker")


def _meeting_ready(s: AuditState) -> str | None:
    if s.meeting_held is not None:
        return "the meeting is recorded"
    return None if s.meeting is not None else "schedule the meeting first"


def _meeting_rules(s: AuditState, r: RecordMeeting) -> None:
    _allocated(s, r.actor.username)
    unknown = [t for t in r.themes if t not in s.tool.theme_ids()]
    if unknown:
        raise invalid(f"themes: not learning themes of the audit tool: {', '.join(unknown)}; "
                      f"choose from {', '.join(s.tool.theme_ids())}")


def _acknowledge_ready(s: AuditState) -> str | None:
    return None if s.meeting_held is not None else "the meeting is not recorded yet"


def _acknowledge_rules(s: AuditState, a: Acknowledgement) -> None:
    if a.actor.username != s.worker:
        raise process.forbidden(f"the case's worker ({s.worker}) acknowledges their own audit")


CHOOSE = {"prompt": True}  # a grade is chosen, never taken from the first option


def _grading_form(s: AuditState) -> dict[str, Any]:
    return {"domains": {"rows": [(d.id, d.title) for d in s.tool.domains], "key": "domain", "item": {"grade": CHOOSE}},
            "overall": CHOOSE}


def _moderation_form(s: AuditState) -> dict[str, Any]:
    first = {d.domain: {"grade": d.grade} for d in s.first_line.grading.domains} if s.first_line else {}
    return {"domains": {"rows": [(d.id, d.title) for d in s.tool.domains], "key": "domain", "values": first,
                        "item": {"grade": CHOOSE}},
            "overall": CHOOSE | {"default": s.first_line.grading.overall if s.first_line else None}}


GRADED_STEP = "is graded by the manager it is allocated to"
ACTIONS = process.ActionTable(
    process.Action("record_audit", AuditGrading, FIRST_LINE_MANAGERS, "First-line audit", stages=frozenset({AuditStage.FIRST_LINE}),
                   rules=_grading_rules, form=_grading_form, needs="comes first, before the re-audit",
                   help="Grade every domain of the audit tool with an evaluative comment, then the overall grade."),
    process.Action("record_re_audit", AuditGrading, FIRST_LINE_MANAGERS, "Re-audit", stages=frozenset({AuditStage.RE_AUDIT}),
                   rules=_grading_rules, form=_grading_form, needs="follows the first-line audit",
                   help="A different manager grades the case again, independently: the first-line grades are not shown."),
    process.Action("moderate", Moderation, MODERATORS, "Moderation (final grades)", stages=frozenset({AuditStage.MODERATION}),
                   rules=_moderation_rules, form=_moderation_form, needs="follows the re-audit",
                   help="The final grades, with the first-line and re-audit grades side by side; a reason for every change "
                   "from the first-line audit."),
    process.Action("schedule_meeting", ScheduleMeeting, MEETING_LEADS, "Schedule the reflective meeting",
                   stages=frozenset({AuditStage.REFLECTIVE_MEETING}), ready=lambda s: "the meeting is recorded" if s.meeting_held else None,
                   rules=_schedule_rules, needs="follows moderation",
                   form=lambda s: {"with_worker": {"default": s.worker}}),
    process.Action("record_meeting", RecordMeeting, MEETING_LEADS, "Record the reflective meeting",
                   stages=frozenset({AuditStage.REFLECTIVE_MEETING}), ready=_meeting_ready, rules=_meeting_rules,
                   needs="follows moderation",
                   form=lambda s: {"themes": {"choices": [t.id for t in s.tool.learning_themes]}},
                   help="The learning points agreed with the worker, and their themes."),
    process.Action("acknowledge", Acknowledgement, PRACTITIONERS, "Acknowledge the audit and add your reflections",
                   stages=frozenset({AuditStage.REFLECTIVE_MEETING}), ready=_acknowledge_ready, rules=_acknowledge_rules,
                   needs="follows the reflective meeting",
                   help="The case's worker, in their own words; the audit then closes."),
    *SHARED,
)


# ---------------------------------------------------------------------- each step's deadline
STEP_TELL = {
    "first_line": ("team_manager", "service_manager"),
    "re_audit": ("team_manager", "service_manager"),
    "moderation": ("service_manager",),
    "meeting": ("team_manager", "service_manager"),
}
STEP_TITLES = {"first_line": "first-line audit", "re_audit": "re-audit", "moderation": "moderation",
               "meeting": "reflective meeting"}


def _late_message(wf: AuditWorkflow, d: Deadline) -> tuple[str, str]:
    step = STEP_TITLES[d.record.name]
    return (
        f"Audit {wf.subject_id}: {step} overdue",
        f"The {step} of audit {wf.subject_id} (case {wf.state.case_id}) was due {d.due_at:%d/%m/%Y %H:%M} UTC "
        f"and is not done. Allocated to {wf.state.holder}.",
    )


STEP_RULES = step_rules(STEP_TELL, step_flag, AUDIT_OVERDUE, _late_message)


def start_attributes(inp: AuditInput) -> TypedSearchAttributes:
    """Set when a round starts the audit, so it shows in every list at once."""
    return TypedSearchAttributes([
        SearchAttributePair(sa.KIND, KIND), SearchAttributePair(sa.SUBJECT, inp.audit_id),
        SearchAttributePair(sa.STAGE, AuditStage.OPENING.value), SearchAttributePair(sa.REF, inp.assignment.case_id),
        SearchAttributePair(sa.HOLDER, inp.assignment.auditor),
    ])


# ---------------------------------------------------------------------- the workflow
@workflow.defn(name="AuditWorkflow")
class AuditWorkflow(
    AuditedWorkflow[AuditInput],
    kind=KIND, noun="audit", State=AuditState, actions=ACTIONS, workflow_id=workflow_id,
):
    opening = frozenset({AuditStage.OPENING})

    @workflow.init
    def __init__(self, inp: AuditInput) -> None:
        self._begin(inp, inp.audit_id)
        a, now = inp.assignment, workflow.now()
        self.state = AuditState(
            audit_id=inp.audit_id, round_id=inp.round_id, case_id=a.case_id, case_kind=a.case_kind, team=a.team,
            tool=inp.tool, tool_version=inp.tool.version_label, tool_fingerprint=inp.tool.fingerprint,
            stage=AuditStage.OPENING, stage_since=now, holder=a.auditor, started_at=now,
            auditor=a.auditor, re_auditor=a.re_auditor, moderator=a.moderator, worker=a.worker, deciders=list(a.deciders),
        )

    # ------------------------------------------------------------------ the flow
    @workflow.run
    async def run(self, inp: AuditInput) -> AuditState:
        s = self.state
        self.sync()
        s.snapshot = await self.act(
            AuditActivities.snapshot_case, SnapshotRequest(audit_id=inp.audit_id, case_id=s.case_id, case_kind=s.case_kind)
        )
        await self.write(AuditActivities.record_audit, self._record())
        await self.audit(
            None, "audit_started", case_id=s.case_id, case_kind=s.case_kind, round_id=s.round_id,
            tool_version=s.tool_version, auditor=s.auditor, re_auditor=s.re_auditor, moderator=s.moderator,
            worker=s.worker, trail_seq=s.snapshot.trail_seq, trail_hash=s.snapshot.trail_hash,
        )
        while True:
            stage = self._expected_stage()
            self._enter(stage)
            await self._fill_step_due_times("audit_")
            if stage == AuditStage.CLOSED:
                break
            await wait_through(self._current_step(), partial(self._moved_from, stage))
            await self.write(AuditActivities.record_audit, self._record())
        s.closed_at = workflow.now()
        self.sync()
        await self.write(AuditActivities.record_audit, self._record())
        await self.audit(None, "closed", final_overall=s.final_overall.value if s.final_overall else None,
                         critical_weakness=s.critical_weakness)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.view()  # type: ignore[no-any-return]

    # ------------------------------------------------------------------ helpers
    def _expected_stage(self) -> AuditStage:
        s = self.state
        if s.snapshot is None:
            return AuditStage.OPENING
        if s.first_line is None:
            return AuditStage.FIRST_LINE
        if s.re_audit is None:
            return AuditStage.RE_AUDIT
        if s.moderation is None:
            return AuditStage.MODERATION
        if s.acknowledged is None:
            return AuditStage.REFLECTIVE_MEETING
        return AuditStage.CLOSED

    def _moved_from(self, stage: AuditStage) -> bool:
        return self._expected_stage() != stage

    def _enter(self, stage: AuditStage) -> None:
        """Move stage: the step of the stage left ends; the next begins, allocated to whoever does it."""
        s = self.state
        if self._step_to(stage, AUDIT_STEPS, STEP_RULES):
            s.holder = {
                AuditStage.FIRST_LINE: s.auditor, AuditStage.RE_AUDIT: s.re_auditor, AuditStage.MODERATION: s.moderator,
                AuditStage.REFLECTIVE_MEETING: s.meeting_lead or s.auditor,
            }.get(stage, s.holder)
        self.sync()

    async def _step_recorded(self, actor: Actor, trail: str, reasons: str | None, **details: Any) -> AuditState:
        """The end of every step's action: the audit moves on to its next step, and the trail
        records the step with `details`."""
        self._enter(self._expected_stage())
        await self.audit(actor, trail, reasons, **details)
        return self.view()  # type: ignore[no-any-return]

    def _current_step(self) -> Deadline | None:
        return open_step(self, AUDIT_STEPS.get(self.state.stage))

    def allocated(self, username: str) -> None:
        s = self.state
        if s.stage == AuditStage.FIRST_LINE:
            s.auditor = username
        elif s.stage == AuditStage.RE_AUDIT:
            s.re_auditor = username
        elif s.stage == AuditStage.MODERATION:
            s.moderator = username
        elif s.stage == AuditStage.REFLECTIVE_MEETING:
            s.meeting_lead = username

    def _record(self) -> AuditRecordUpdate:
        s = self.state
        return AuditRecordUpdate(
            audit_id=s.audit_id, workflow_id=workflow.info().workflow_id, round_id=s.round_id, case_id=s.case_id,
            case_kind=s.case_kind, team=s.team, auditor=s.first_line.grading.actor.username if s.first_line else s.auditor,
            re_auditor=s.re_audit.grading.actor.username if s.re_audit else s.re_auditor,
            moderator=s.moderation.moderation.actor.username if s.moderation else s.moderator, worker=s.worker,
            tool_version=s.tool_version, tool_fingerprint=s.tool_fingerprint, stage=s.stage.value, started_at=s.started_at,
            first_line=s.first_line, re_audit=s.re_audit, moderation=s.moderation, meeting_held=s.meeting_held,
            acknowledged_at=s.acknowledged.at if s.acknowledged else None, closed_at=s.closed_at,
        )

    def search_attributes(self) -> dict[SearchAttributeKey, Any]:
        s = self.state
        step = self._current_step()
        return {
            **self.stage_attributes(),
            sa.RECEIVED: s.started_at,
            sa.REF: s.case_id,
            sa.FLAGS: [],
            sa.DUE: step.record.due_at if step is not None else None,
        }

    # ------------------------------------------------------------------ the actions
    # Each handler changes the state before its first await and checks nothing: the
    # action table (ACTIONS) is the validator.
    @human_action
    async def record_audit(self, g: AuditGrading) -> AuditState:
        self.state.first_line = Graded(grading=g, at=workflow.now())
        self.state.auditor = g.actor.username
        return await self._step_recorded(g.actor, "first_line_audit", g.overall_comment, overall=g.overall.value,
                                         grades={d.domain: d.grade.value for d in g.domains})

    @human_action
    async def record_re_audit(self, g: AuditGrading) -> AuditState:
        s = self.state
        s.re_audit = Graded(grading=g, at=workflow.now())
        s.re_auditor = g.actor.username
        return await self._step_recorded(g.actor, "re_audit", g.overall_comment, overall=g.overall.value,
                                         grades={d.domain: d.grade.value for d in g.domains},
                                         disagreements=s.disagreements or None)

    @human_action
    async def moderate(self, m: Moderation) -> AuditState:
        s = self.state
        s.moderation = Moderated(moderation=m, at=workflow.now())
        s.moderator = m.actor.username
        changed = [c.domain for c in s.comparison() if c.changed]
        return await self._step_recorded(m.actor, "moderated", m.comment, final_overall=m.overall.value,
                                         changed=changed or None, overall_reason=m.overall_reason,
                                         critical_weakness=s.critical_weakness)

    @human_action
    async def schedule_meeting(self, m: ScheduleMeeting) -> AuditState:
        s = self.state
        s.meeting = MeetingPlan(schedule=m, at=workflow.now())
        s.meeting_lead = m.actor.username
        if m.with_worker:
            s.worker = m.with_worker
        self.sync()
        await self.audit(m.actor, "meeting_scheduled", m.place, at=m.at.isoformat(), with_worker=s.worker)
        return self.view()  # type: ignore[no-any-return]

    @human_action
    async def record_meeting(self, r: RecordMeeting) -> AuditState:
        s = self.state
        s.meeting_held = MeetingHeld(record=r, at=workflow.now())
        s.holder = s.worker or s.holder  # the worker acknowledges next
        self.sync()
        await self.audit(r.actor, "meeting_recorded", r.learning_points, themes=r.themes,
                         held_at=(r.held_at or workflow.now()).isoformat(), with_worker=s.worker)
        await self.write(AuditActivities.record_audit, self._record())
        return self.view()  # type: ignore[no-any-return]

    @human_action
    async def acknowledge(self, a: Acknowledgement) -> AuditState:
        self.state.acknowledged = Acknowledged(acknowledgement=a, at=workflow.now())
        return await self._step_recorded(a.actor, "acknowledged", a.reflections)


# ---------------------------------------------------------------------- the lists


PROCESS = process.Process(
    AuditWorkflow, path="audits", subject_field="audit_id",
    readers=AUDIT_READERS,
    stuck=(
        process.StuckList("audit_overdue", "Audits: a step past its timescale",
                          process.flagged(AUDIT_OVERDUE),
                          help="First-line audit, re-audit, moderation or reflective meeting past its due time."),
    ),
    views=(
        process.ListView("audits", "Case audits", FIRST_LINE_MANAGERS, order=process.time_left,
                         groups=(("first-line", "First-line audits", lambda r: r.stage == AuditStage.FIRST_LINE),
                         ("re-audit", "Re-audits", lambda r: r.stage == AuditStage.RE_AUDIT),
                         ("moderation", "Moderation", lambda r: r.stage == AuditStage.MODERATION),
                         ("meeting", "Reflective meetings", lambda r: r.stage == AuditStage.REFLECTIVE_MEETING)),
                         help="Open audits by step, the soonest due first; yours are allocated to you."),
    ),
    activities=(AuditActivities,),
    transient=frozenset({AuditStage.OPENING}),
)
