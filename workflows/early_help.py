"""EarlyHelpWorkflow: one early help hub case, from directions to a service or a step-up.

Stages: awaiting directions (timed) -> awaiting consent (voluntary: a refusal closes
the case with advice) -> gathering (history reviewed, conversations recorded; timed)
-> awaiting recommendation (timed) -> awaiting decision (timed) -> handoff to a
quadrant's targeted early help, to universal services, or a step-up into the SPA (a
ContactWorkflow started as an abandoned child, entering the SPA directly). Each timed
step's due time comes from the working-day calendar (an activity); when it passes,
the case shows `<step>_overdue` and `early_help_overdue` in FdFlags.
"""

from __future__ import annotations

from datetime import timedelta
from functools import partial
from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeKey, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

with workflow.unsafe.imports_passed_through():
    from activities.contact import ContactActivities
    from activities.doors import CalendarActivities, EarlyHelpActivities
    from models.codes import ConsentStatus, LevelOfNeed
    from models.contact import ConsentStatement, Contact, Referrer
    from models.early_help import (
        DECIDABLE,
        OVERDUE_FLAG,
        TIMED_STEPS,
        Conversation,
        ConversationRecord,
        ConversationWith,
        Directions,
        EarlyHelpConsent,
        EarlyHelpDecision,
        EarlyHelpEntry,
        EarlyHelpHandoff,
        EarlyHelpInput,
        EarlyHelpOutcome,
        EarlyHelpRecommendation,
        EarlyHelpRecordUpdate,
        EarlyHelpStage,
        EarlyHelpState,
        FinishGathering,
        HistoryReview,
        StepTime,
        StepUp,
        ThresholdConsultation,
    )
    from models.early_help import ConsultationRecord as ConsultedRecord
    from models.messages import DocumentRequest, Notification
    from models.roles import ROLE_NAMES, Actor, Role
    from models.state import ContactWorkflowInput, StepUpEntry
    from workflows import search_attributes as sa
    from workflows.base import (
        AuditedWorkflow,
        check_role,
        invalid,
        remaining,
        require_weighed,
        wrong_stage,
    )

_MIN_WAIT = timedelta(milliseconds=1)
OPEN_WORK = (
    EarlyHelpStage.AWAITING_DIRECTIONS, EarlyHelpStage.AWAITING_CONSENT, EarlyHelpStage.GATHERING,
    EarlyHelpStage.AWAITING_RECOMMENDATION, EarlyHelpStage.AWAITING_DECISION,
)
# who is told when a step runs late
LATE_TELL = {
    "directions": ["team_manager", "senior_adviser"],
    "gathering": ["early_help_adviser", "senior_adviser"],
    "recommendation": ["early_help_adviser", "senior_adviser"],
    "decision": ["team_manager", "senior_adviser"],
}


def step_up_contact_id(case_id: str) -> str:
    return f"{case_id}-SU"


@workflow.defn(name="EarlyHelpWorkflow")
class EarlyHelpWorkflow(AuditedWorkflow):
    @workflow.init
    def __init__(self, inp: EarlyHelpInput) -> None:
        self.inp = inp
        self._init_base(inp.case_id, "early_help", inp.timescales.activity_attempts)
        req = inp.request
        self.state = EarlyHelpState(
            case_id=inp.case_id,
            entry=inp.entry,
            origin=inp.origin,
            stage=EarlyHelpStage.AWAITING_DIRECTIONS,
            stage_since=workflow.now(),
            holder=inp.submitted_by,
            received_at=workflow.now(),
            source=req.source,
            children=[c.display_name for c in req.children],
            quadrants=[],
            consent_status=req.consent.status,
            steps=[StepTime(step=TIMED_STEPS[EarlyHelpStage.AWAITING_DIRECTIONS], started_at=workflow.now())],
        )

    # ------------------------------------------------------------------ the flow
    @workflow.run
    async def run(self, inp: EarlyHelpInput) -> EarlyHelpState:
        s = self.state
        self.sync()
        s.quadrants = await self.act(EarlyHelpActivities.early_help_quadrants)
        await self.act(
            EarlyHelpActivities.record_early_help, self._record(), inp.request if inp.entry == EarlyHelpEntry.DIRECT else None
        )
        await self.audit(
            None, "early_help_received", entry=inp.entry.value, submitted_by=inp.submitted_by,
            origin_contact_id=inp.origin.contact_id if inp.origin else None,
            consent_from_referrer=s.consent_status.value,
        )
        while True:
            stage = self._expected_stage()
            self._set_stage(stage)
            await self._fill_due_times()
            if stage not in OPEN_WORK:
                break
            if stage == EarlyHelpStage.GATHERING and s.history is None:
                await self._review_history()
            step = self._current_step()
            if step is not None:
                await self._watch(step, stage)
            else:
                await workflow.wait_condition(partial(self._moved_from, stage))
        await self._finish()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._refresh()

    async def _fill_due_times(self) -> None:
        """Each timed step's due time, from the calendar, counted from when the step began
        (a step may begin and even end inside an Update, before the loop comes round)."""
        for step in self.state.steps:
            if step.due_at is None:
                span = getattr(self.inp.timescales, f"early_help_{step.step}")
                step.due_at = await self.act(CalendarActivities.working_day_due, step.started_at, span)
        self.sync()

    async def _watch(self, step: StepTime, stage: EarlyHelpStage) -> None:
        """Wait for the step to be done; past its due time it shows as overdue and people are told."""
        due = step.due_at
        assert due is not None

        def moved_on() -> bool:
            return self._expected_stage() != stage

        try:
            await workflow.wait_condition(moved_on, timeout=max(remaining(due), _MIN_WAIT))
        except TimeoutError:
            step.overdue = True
            self.sync()
            await self.act(
                ContactActivities.notify,
                Notification(
                    idempotency_key=f"{workflow.info().workflow_id}/{step.step}-overdue",
                    subject_id=self.subject_id,
                    roles=LATE_TELL[step.step],
                    subject=f"Early help {self.subject_id}: {step.step} overdue",
                    body=f"The {step.step} step of early help case {self.subject_id} was due "
                    f"{due:%d/%m/%Y %H:%M} UTC and is not done. Held by {self.state.holder}.",
                ),
            )
            await self.audit(None, f"{step.step}_overdue", due=due.isoformat())
            await workflow.wait_condition(moved_on)

    async def _review_history(self) -> None:
        req = self.inp.request
        history = await self.act(
            EarlyHelpActivities.review_early_help_history,
            HistoryReview(subject_id=req.id, children=req.children, factors=req.concerns.factors),
        )
        self.state.history = history
        self.sync()
        await self.audit(
            None, "history_reviewed", matches=len(history.matches),
            recurring=[p.theme for p in history.recurring],
            suggested_level=int(history.suggestion.level) if history.suggestion else None,
        )

    async def _finish(self) -> None:
        s = self.state
        if s.step_up is None and s.decision is not None and s.decision.outcome == EarlyHelpOutcome.STEP_UP:
            s.step_up = StepUp(actor=s.decision.actor, reason=s.decision.rationale)
        if s.step_up is not None:
            await self._step_up_into_spa(s.step_up)
        elif s.consent_status == ConsentStatus.REFUSED:
            advice = next((e.advice for e in reversed(s.consent_events) if e.advice), "") or ""
            await self._hand_off(EarlyHelpOutcome.CONSENT_REFUSED, None, None, f"Consent refused; advice given: {advice}")
        else:
            d = s.decision
            assert d is not None
            team = f"early_help_{d.quadrant}" if d.outcome == EarlyHelpOutcome.TARGETED_EARLY_HELP else None
            await self._hand_off(d.outcome, d.quadrant, team, d.rationale)
        s.closed_at = workflow.now()
        self._set_stage(EarlyHelpStage.CLOSED)
        await self.act(EarlyHelpActivities.record_early_help, self._record(), None)
        await self.audit(None, "closed", outcome=s.outcome.value if s.outcome else None, quadrant=s.quadrant)

    async def _hand_off(self, outcome: EarlyHelpOutcome, quadrant: str | None, team: str | None, summary: str) -> None:
        s = self.state
        s.outcome, s.quadrant, s.team = outcome, quadrant, team
        self._set_stage(EarlyHelpStage.HANDOFF)
        referrer = self.inp.request.referrer
        await self.act(
            EarlyHelpActivities.hand_off_early_help,
            EarlyHelpHandoff(
                case_id=self.subject_id, workflow_id=workflow.info().workflow_id, outcome=outcome, team=team,
                summary=summary, referrer=referrer.email or referrer.name,
            ),
        )
        await self.audit(None, "handed_off", outcome=outcome.value, team=team, quadrant=quadrant)

    async def _step_up_into_spa(self, up: StepUp) -> None:
        """Start the SPA contact (exactly once: a child workflow with a deterministic id,
        abandoned so it outlives this case), carrying what the hub knows."""
        s, req = self.state, self.inp.request
        contact_id = step_up_contact_id(self.subject_id)
        now = workflow.now()
        review_due = await self.act(CalendarActivities.service_day_end, now)
        known = [f"Stepped up from early help case {self.subject_id} by {up.actor.username}: {up.reason}."]
        if req.concerns.summary:
            known.append(f"Original concern: {req.concerns.summary}")
        for c in s.conversations:
            known.append(f"Spoke to {c.conversation.with_whom.value} {c.conversation.name}: {c.conversation.summary}")
        for t in s.consultations:
            known.append(f"Consulted {t.consultation.consulted} ({t.consultation.consulted_role.value}): {t.consultation.advice}")
        consent = {ConsentStatus.GIVEN: "given", ConsentStatus.REFUSED: "refused"}.get(s.consent_status, "not_sought")
        contact = Contact(
            id=contact_id,
            received_at=now,
            source="5D",  # CIN census: LA services, early help
            referrer=Referrer(name=up.actor.username, agency="Early help hub", role=ROLE_NAMES[up.actor.role]),
            children=req.children,
            concerns=req.concerns.model_copy(update={"summary": "\n".join(known)}),
            consent=ConsentStatement(status=ConsentStatus(consent), note="as recorded by the early help hub"),
        )
        inp = ContactWorkflowInput(
            contact=contact, submitted_by=up.actor.username, timescales=self.inp.timescales, review_due_at=review_due,
            entry="step_up",
            step_up=StepUpEntry(early_help_case_id=self.subject_id, actor=up.actor, reason=up.reason, level=LevelOfNeed(up.level)),
        )
        try:
            await workflow.start_child_workflow(
                "ContactWorkflow", inp, id=f"contact-{contact_id}",
                parent_close_policy=workflow.ParentClosePolicy.ABANDON,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            )
        except WorkflowAlreadyStartedError:
            workflow.logger.info("step-up contact %s already exists", contact_id)
        s.step_up_contact_id = contact_id
        s.outcome = EarlyHelpOutcome.STEP_UP
        self._set_stage(EarlyHelpStage.HANDOFF)
        await self.audit(up.actor, "stepped_up", up.reason, contact_id=contact_id, level=up.level)

    # ------------------------------------------------------------------ helpers
    def _ended(self) -> bool:
        s = self.state
        return s.step_up is not None or s.consent_status == ConsentStatus.REFUSED or s.decision is not None

    def _moved_from(self, stage: EarlyHelpStage) -> bool:
        return self._expected_stage() != stage

    def _expected_stage(self) -> EarlyHelpStage:
        s = self.state
        if s.closed_at is not None:
            return EarlyHelpStage.CLOSED
        if self._ended():
            return EarlyHelpStage.HANDOFF
        if s.directions is None:
            return EarlyHelpStage.AWAITING_DIRECTIONS
        if s.consent_status != ConsentStatus.GIVEN:
            return EarlyHelpStage.AWAITING_CONSENT
        if s.gathering_done_at is None:
            return EarlyHelpStage.GATHERING
        if s.recommendation is None:
            return EarlyHelpStage.AWAITING_RECOMMENDATION
        return EarlyHelpStage.AWAITING_DECISION

    def _set_stage(self, stage: EarlyHelpStage) -> None:
        """Move stage; a timed step ends as its stage is left and begins as its stage is entered."""
        s = self.state
        if stage != s.stage:
            now = workflow.now()
            current = self._current_step()
            if current is not None:
                current.done_at = now
            s.stage, s.stage_since = stage, now
            if stage in TIMED_STEPS:
                s.steps.append(StepTime(step=TIMED_STEPS[stage], started_at=now))
        self.sync()

    def _took(self, actor: Actor) -> None:
        self.state.holder = actor.username

    def _record(self) -> EarlyHelpRecordUpdate:
        s = self.state
        return EarlyHelpRecordUpdate(
            case_id=s.case_id, workflow_id=workflow.info().workflow_id, entry=s.entry, started_at=s.received_at,
            stage=s.stage.value, origin_contact_id=s.origin.contact_id if s.origin else None,
            outcome=s.outcome.value if s.outcome else None, quadrant=s.quadrant,
            step_up_contact_id=s.step_up_contact_id, closed_at=s.closed_at,
        )

    def _current_step(self) -> StepTime | None:
        s = self.state
        if s.stage in TIMED_STEPS and s.steps and s.steps[-1].step == TIMED_STEPS[s.stage] and s.steps[-1].done_at is None:
            return s.steps[-1]
        return None

    def _flags(self) -> list[str]:
        flags: set[str] = set()
        step = self._current_step()
        if step is not None and step.overdue:
            flags |= {f"{step.step}_overdue", OVERDUE_FLAG}
        if self.state.recurring_themes:
            flags.add("recurring_pattern")
        return sorted(flags)

    def search_attributes(self) -> dict[SearchAttributeKey, Any]:
        s = self.state
        return {
            sa.STAGE: s.stage.value,
            sa.SINCE: s.stage_since,
            sa.HOLDER: s.holder,
            sa.SOURCE: s.source,
            sa.RECEIVED: s.received_at,
            sa.REF: s.origin.contact_id if s.origin else None,
            sa.LEVEL: s.origin.level if s.origin else None,
            sa.FLAGS: self._flags(),
            sa.THEMES: s.recurring_themes,
            sa.DUE: step.due_at if (step := self._current_step()) is not None else None,
        }

    def _refresh(self) -> EarlyHelpState:
        flags = sorted(self._flags() + (["faulted"] if self.fault else []))
        return self.state.model_copy(update={"flags": flags, "fault": self.fault})

    def _open(self, *stages: EarlyHelpStage, doing: str) -> None:
        if self.state.stage not in stages or self._ended():
            names = " or ".join(st.value for st in stages)
            raise wrong_stage(f"{doing} happens while the case is {names}; case {self.subject_id} is {self.state.stage.value}")

    def _check_quadrant(self, outcome: EarlyHelpOutcome, quadrant: str | None) -> None:
        if outcome == EarlyHelpOutcome.TARGETED_EARLY_HELP:
            if quadrant not in self.state.quadrants:
                raise invalid(f"targeted early help needs a quadrant: one of {', '.join(self.state.quadrants)}")
        elif quadrant is not None:
            raise invalid("a quadrant goes with targeted early help only")

    @workflow.query
    def current_state(self) -> EarlyHelpState:
        return self._refresh()

    # ------------------------------------------------------------------ directions
    def _check_directions(self, d: Directions) -> None:
        check_role(d.actor, "early_help_directions")
        self._open(EarlyHelpStage.AWAITING_DIRECTIONS, doing="management directions")

    @workflow.update
    async def give_directions(self, d: Directions) -> EarlyHelpState:
        self._check_directions(d)
        self.state.directions, self.state.directions_at = d, workflow.now()
        self.state.adviser = d.adviser
        self.state.holder = d.adviser or d.actor.username
        self._set_stage(self._expected_stage())
        await self.audit(d.actor, "directions", d.directions, adviser=d.adviser)
        return self._refresh()

    @give_directions.validator
    def _validate_directions(self, d: Directions) -> None:
        self._check_directions(d)

    # ------------------------------------------------------------------ consent
    def _check_consent(self, c: EarlyHelpConsent) -> None:
        check_role(c.actor, "early_help_consent")
        self._open(EarlyHelpStage.AWAITING_DIRECTIONS, EarlyHelpStage.AWAITING_CONSENT, doing="recording consent")
        if self.state.consent_status == ConsentStatus.GIVEN:
            raise wrong_stage("consent is already given")

    @workflow.update
    async def record_consent(self, c: EarlyHelpConsent) -> EarlyHelpState:
        self._check_consent(c)
        s = self.state
        s.consent_status, s.consent_from_referrer = c.status, False
        s.consent_events.append(c)
        self._took(c.actor)
        self._set_stage(self._expected_stage())
        await self.audit(c.actor, f"consent_{c.status.value}", c.note, advice=c.advice)
        return self._refresh()

    @record_consent.validator
    def _validate_consent(self, c: EarlyHelpConsent) -> None:
        self._check_consent(c)

    # ------------------------------------------------------------------ information gathering
    def _check_conversation(self, c: Conversation) -> None:
        check_role(c.actor, "early_help_gather")
        self._open(EarlyHelpStage.GATHERING, EarlyHelpStage.AWAITING_RECOMMENDATION, doing="information gathering")

    @workflow.update
    async def record_conversation(self, c: Conversation) -> EarlyHelpState:
        self._check_conversation(c)
        self.state.conversations.append(ConversationRecord(conversation=c, at=workflow.now()))
        self._took(c.actor)
        await self.audit(
            c.actor, "conversation", c.summary, with_whom=c.with_whom.value, name=c.name,
            agency=c.agency.value if c.agency else None,
        )
        return self._refresh()

    @record_conversation.validator
    def _validate_conversation(self, c: Conversation) -> None:
        self._check_conversation(c)

    def _check_threshold_consultation(self, t: ThresholdConsultation) -> None:
        check_role(t.actor, "early_help_consult")
        self._open(
            EarlyHelpStage.GATHERING, EarlyHelpStage.AWAITING_RECOMMENDATION, EarlyHelpStage.AWAITING_DECISION,
            doing="consulting on the threshold",
        )

    @workflow.update
    async def consult(self, t: ThresholdConsultation) -> EarlyHelpState:
        self._check_threshold_consultation(t)
        self.state.consultations.append(ConsultedRecord(consultation=t, at=workflow.now()))
        await self.audit(t.actor, "threshold_consultation", t.advice, consulted=t.consulted, consulted_role=t.consulted_role.value)
        return self._refresh()

    @consult.validator
    def _validate_consult(self, t: ThresholdConsultation) -> None:
        self._check_threshold_consultation(t)

    def _check_finish(self, f: FinishGathering) -> None:
        check_role(f.actor, "early_help_gather")
        self._open(EarlyHelpStage.GATHERING, doing="finishing information gathering")
        s = self.state
        if s.history is None:
            raise wrong_stage("the history review is still running: try again in a moment")
        if not any(c.conversation.with_whom == ConversationWith.PARENT for c in s.conversations):
            raise invalid("speak to the parents (and record it) before finishing information gathering")

    @workflow.update
    async def finish_gathering(self, f: FinishGathering) -> EarlyHelpState:
        self._check_finish(f)
        self.state.gathering_done_at = workflow.now()
        self._took(f.actor)
        self._set_stage(self._expected_stage())
        await self.audit(f.actor, "gathering_finished", f.note, conversations=len(self.state.conversations))
        return self._refresh()

    @finish_gathering.validator
    def _validate_finish(self, f: FinishGathering) -> None:
        self._check_finish(f)

    # ------------------------------------------------------------------ recommendation
    def _consulted_or_senior(self, actor: Actor, doing: str) -> None:
        if actor.role == Role.EARLY_HELP_ADVISER and not self.state.consultations:
            raise invalid(
                f"{doing} needs a recorded consultation with a senior adviser or SPA manager first "
                "(frontdoor early-help consult ...)"
            )

    def _check_recommendation(self, r: EarlyHelpRecommendation) -> None:
        check_role(r.actor, "early_help_recommend")
        self._open(EarlyHelpStage.AWAITING_RECOMMENDATION, doing="the recommendation")
        if r.recommended_outcome not in DECIDABLE:
            raise invalid(f"recommend one of: {', '.join(o.value for o in DECIDABLE)}")
        self._check_quadrant(r.recommended_outcome, r.quadrant)
        require_weighed(self.state.recurring_themes, r.history_considered, "history_considered")
        if r.recommended_outcome == EarlyHelpOutcome.STEP_UP:
            self._consulted_or_senior(r.actor, "recommending a step-up")

    @workflow.update
    async def recommend(self, r: EarlyHelpRecommendation) -> EarlyHelpState:
        self._check_recommendation(r)
        s = self.state
        s.recommendation = r
        self._took(r.actor)
        self._set_stage(self._expected_stage())
        s.recommendation_document_id = await self.act(
            ContactActivities.render_document,
            DocumentRequest(
                document_id=f"{workflow.info().workflow_id}/recommendation",
                subject_id=self.subject_id, kind="early_help_recommendation", title="Early help recommendation",
                context={
                    "contact": {"id": self.subject_id},
                    "state": s.model_dump(mode="json"), "request": self.inp.request.model_dump(mode="json"),
                    "recommendation": r.model_dump(mode="json"), "at": workflow.now().isoformat(),
                },
            ),
        )
        await self.audit(r.actor, "recommendation", r.summary, recommended_outcome=r.recommended_outcome.value, quadrant=r.quadrant)
        return self._refresh()

    @recommend.validator
    def _validate_recommendation(self, r: EarlyHelpRecommendation) -> None:
        self._check_recommendation(r)

    # ------------------------------------------------------------------ decision
    def _check_decision(self, d: EarlyHelpDecision) -> None:
        check_role(d.actor, "early_help_decide")
        self._open(EarlyHelpStage.AWAITING_DECISION, doing="the decision")
        if d.outcome not in DECIDABLE:
            raise invalid(f"decide one of: {', '.join(o.value for o in DECIDABLE)}")
        self._check_quadrant(d.outcome, d.quadrant)
        require_weighed(self.state.recurring_themes, d.recurring_pattern_considered, "recurring_pattern_considered")

    @workflow.update
    async def decide(self, d: EarlyHelpDecision) -> EarlyHelpState:
        self._check_decision(d)
        s = self.state
        s.decision, s.decided_at = d, workflow.now()
        self._took(d.actor)
        self._set_stage(self._expected_stage())
        await self.audit(d.actor, "early_help_decision", d.rationale, outcome=d.outcome.value, quadrant=d.quadrant)
        return self._refresh()

    @decide.validator
    def _validate_decision(self, d: EarlyHelpDecision) -> None:
        self._check_decision(d)

    # ------------------------------------------------------------------ step-up
    def _check_step_up(self, u: StepUp) -> None:
        check_role(u.actor, "step_up")
        self._open(*OPEN_WORK, doing="a step-up")
        self._consulted_or_senior(u.actor, "a step-up by an adviser")

    @workflow.update
    async def step_up(self, u: StepUp) -> EarlyHelpState:
        self._check_step_up(u)
        self.state.step_up = u
        self._took(u.actor)
        self._set_stage(self._expected_stage())
        await workflow.wait_condition(lambda: self.state.step_up_contact_id is not None)
        return self._refresh()

    @step_up.validator
    def _validate_step_up(self, u: StepUp) -> None:
        self._check_step_up(u)
