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

from functools import partial
from typing import Any

from temporalio import workflow
from temporalio.common import (
    SearchAttributeKey,
    SearchAttributePair,
    TypedSearchAttributes,
)

with workflow.unsafe.imports_passed_through():
    import workflows.contact_identity as contact_identity
    import workflows.process as process
    import workflows.search_attributes as sa
    from activities.case import CaseActivities
    from activities.early_help import EarlyHelpActivities
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
        StepUp,
        ThresholdConsultation,
    )
    from models.early_help import ConsultationRecord as ConsultedRecord
    from models.messages import DocumentRequest
    from models.roles import (
        EARLY_HELP_ADVISERS,
        EARLY_HELP_LEADS,
        EARLY_HELP_READERS,
        EARLY_HELP_TEAM,
        EARLY_HELP_WORKERS,
        ROLE_NAMES,
        SENIOR_CONSULTEES,
        Actor,
        Role,
    )
    from models.state import ContactWorkflowInput, StepUpEntry
    from workflows.base import (
        SHARED,
        AuditedWorkflow,
        human_action,
        invalid,
        require_weighed,
        start_once,
    )
    from workflows.deadline import Deadline, open_step, step_rules, wait_through

KIND = "early_help"
OPEN_WORK = frozenset({
    EarlyHelpStage.AWAITING_DIRECTIONS, EarlyHelpStage.AWAITING_CONSENT, EarlyHelpStage.GATHERING,
    EarlyHelpStage.AWAITING_RECOMMENDATION, EarlyHelpStage.AWAITING_DECISION,
})


def workflow_id(subject_id: str) -> str:
    return f"early-help-{subject_id}"


def case_id_for_contact(contact_id: str) -> str:
    """The early help case a contact routes to the hub (at triage, or stepped down)."""
    return f"EH-{contact_id}"


def step_up_contact_id(case_id: str) -> str:
    return f"{case_id}-SU"


# ---------------------------------------------------------------------- the rules of each action
def _consent_ready(s: EarlyHelpState) -> str | None:
    return "consent is already given" if s.consent_status == ConsentStatus.GIVEN else None


def _spoken_to_parents(s: EarlyHelpState) -> str | None:
    if s.history is None:
        return "the history review is still running: try again in a moment"
    if not any(c.conversation.with_whom == ConversationWith.PARENT for c in s.conversations):
        return "speak to the parents (and record it) before finishing information gathering"
    return None


def _quadrant_rules(s: EarlyHelpState, outcome: EarlyHelpOutcome, quadrant: str | None) -> None:
    if outcome not in DECIDABLE:
        raise invalid(f"choose one of: {', '.join(o.value for o in DECIDABLE)}")
    if outcome == EarlyHelpOutcome.TARGETED_EARLY_HELP:
        if quadrant not in s.quadrants:
            raise invalid(f"targeted early help needs a quadrant: one of {', '.join(s.quadrants)}")
    elif quadrant is not None:
        raise invalid("a quadrant goes with targeted early help only")


def _consulted_or_senior(s: EarlyHelpState, actor: Actor, doing: str) -> None:
    if actor.role == Role.EARLY_HELP_ADVISER and not s.consultations:
        raise invalid(
            f"{doing} needs a recorded consultation with a senior adviser or SPA manager first "
            "(frontdoor early_help consult ...)"
        )


def _recommendation_rules(s: EarlyHelpState, r: EarlyHelpRecommendation) -> None:
    _quadrant_rules(s, r.recommended_outcome, r.quadrant)
    require_weighed(s.recurring_themes, r.history_considered, "history_considered")
    if r.recommended_outcome == EarlyHelpOutcome.STEP_UP:
        _consulted_or_senior(s, r.actor, "recommending a step-up")


def _decision_rules(s: EarlyHelpState, d: EarlyHelpDecision) -> None:
    _quadrant_rules(s, d.outcome, d.quadrant)
    require_weighed(s.recurring_themes, d.recurring_pattern_considered, "recurring_pattern_considered")


def _quadrant_form(s: EarlyHelpState) -> dict[str, Any]:
    return {"quadrant": {"choices": s.quadrants}}


ACTIONS = process.ActionTable(
    process.Action("give_directions", Directions, EARLY_HELP_LEADS, "Management directions",
                   stages=frozenset({EarlyHelpStage.AWAITING_DIRECTIONS}), people={"adviser": EARLY_HELP_WORKERS},
                   help="Prompt directions from a manager, and the adviser who takes the case."),
    process.Action("record_consent", EarlyHelpConsent, EARLY_HELP_TEAM, "Record parental consent",
                   stages=frozenset({EarlyHelpStage.AWAITING_DIRECTIONS, EarlyHelpStage.AWAITING_CONSENT}),
                   ready=_consent_ready,
                   form=lambda s: {"status": {"choices": [ConsentStatus.SOUGHT, ConsentStatus.GIVEN, ConsentStatus.REFUSED]}},
                   help="Early help is voluntary: a refusal closes the case with advice."),
    process.Action("record_conversation", Conversation, EARLY_HELP_WORKERS, "Record a conversation",
                   stages=frozenset({EarlyHelpStage.GATHERING, EarlyHelpStage.AWAITING_RECOMMENDATION})),
    process.Action("consult", ThresholdConsultation, EARLY_HELP_ADVISERS, "Record a threshold consultation",
                   stages=frozenset({EarlyHelpStage.GATHERING, EarlyHelpStage.AWAITING_RECOMMENDATION,
                             EarlyHelpStage.AWAITING_DECISION}), people={"consulted": SENIOR_CONSULTEES},
                   help="When the need is close to the statutory threshold: a senior adviser or SPA manager's advice."),
    process.Action("finish_gathering", FinishGathering, EARLY_HELP_WORKERS, "Finish information gathering",
                   stages=frozenset({EarlyHelpStage.GATHERING}), ready=_spoken_to_parents),
    process.Action("recommend", EarlyHelpRecommendation, EARLY_HELP_WORKERS, "Write the recommendation",
                   stages=frozenset({EarlyHelpStage.AWAITING_RECOMMENDATION}), rules=_recommendation_rules,
                   form=lambda s: _quadrant_form(s) | {"recommended_outcome": {"choices": list(DECIDABLE)}}),
    process.Action("decide", EarlyHelpDecision, EARLY_HELP_LEADS, "Decision",
                   stages=frozenset({EarlyHelpStage.AWAITING_DECISION}), rules=_decision_rules,
                   form=lambda s: _quadrant_form(s) | {
               "outcome": {"choices": list(DECIDABLE),
                           "default": s.recommendation.recommended_outcome if s.recommendation else None},
               "recurring_pattern_considered": {"hidden": not s.recurring_themes}}),
    process.Action("step_up", StepUp, EARLY_HELP_TEAM, "Step up into the SPA", stages=OPEN_WORK,
                   rules=lambda s, u: _consulted_or_senior(s, u.actor, "a step-up by an adviser"),
                   help="The need is at the statutory threshold: a contact enters the SPA directly."),
    *SHARED,
)


# ---------------------------------------------------------------------- each timed step's deadline
LATE_TELL = {
    "directions": ("team_manager", "senior_adviser"),
    "gathering": ("early_help_adviser", "senior_adviser"),
    "recommendation": ("early_help_adviser", "senior_adviser"),
    "decision": ("team_manager", "senior_adviser"),
}


def _late_message(wf: EarlyHelpWorkflow, d: Deadline) -> tuple[str, str]:
    step = d.record.name
    return (
        f"Early help {wf.subject_id}: {step} overdue",
        f"The {step} step of early help case {wf.subject_id} was due {d.due_at:%d/%m/%Y %H:%M} UTC "
        f"and is not done. Allocated to {wf.state.holder}.",
    )


STEP_RULES = step_rules(LATE_TELL, lambda step: f"{step}_overdue", OVERDUE_FLAG, _late_message)


def _attributes(case_id: str, source: str) -> list[SearchAttributePair[Any]]:
    return [
        SearchAttributePair(sa.KIND, KIND), SearchAttributePair(sa.SUBJECT, case_id),
        SearchAttributePair(sa.STAGE, EarlyHelpStage.AWAITING_DIRECTIONS.value), SearchAttributePair(sa.SOURCE, source),
    ]


def start_attributes(inp: EarlyHelpInput) -> TypedSearchAttributes:
    """Set when the case starts (from a contact too), so it shows in every list at once."""
    return TypedSearchAttributes(_attributes(inp.case_id, inp.request.source))


@workflow.defn(name="EarlyHelpWorkflow")
class EarlyHelpWorkflow(
    AuditedWorkflow[EarlyHelpInput],
    kind=KIND, noun="early help case", State=EarlyHelpState, actions=ACTIONS, workflow_id=workflow_id,
):
    @workflow.init
    def __init__(self, inp: EarlyHelpInput) -> None:
        self._begin(inp, inp.case_id)
        req, now = inp.request, workflow.now()
        self.state = EarlyHelpState(
            case_id=inp.case_id,
            entry=inp.entry,
            origin=inp.origin,
            stage=EarlyHelpStage.AWAITING_DIRECTIONS,
            stage_since=now,
            holder=inp.submitted_by,
            received_at=now,
            source=req.source,
            children=[c.display_name for c in req.children],
            quadrants=[],
            consent_status=req.consent.status,
        )
        self._begin_step(STEP_RULES[TIMED_STEPS[EarlyHelpStage.AWAITING_DIRECTIONS]], now)

    # ------------------------------------------------------------------ the flow
    @workflow.run
    async def run(self, inp: EarlyHelpInput) -> EarlyHelpState:
        s = self.state
        self.sync()
        s.quadrants = await self.act(EarlyHelpActivities.early_help_quadrants)
        await self.write(
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
            await self._fill_step_due_times("early_help_")
            if stage not in OPEN_WORK:
                break
            if stage == EarlyHelpStage.GATHERING and s.history is None:
                await self._review_history()
            await wait_through(self._current_step(), partial(self._moved_from, stage))
        await self._finish()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.view()  # type: ignore[no-any-return]

    async def _review_history(self) -> None:
        req = self.inp.request
        history = await self.act(
            EarlyHelpActivities.review_early_help_history,
            HistoryReview(subject_id=req.id, children=req.children, factors=req.concerns.factors,
                          received_at=req.received_at),
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
        await self.write(EarlyHelpActivities.record_early_help, self._record(), None)
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
        review_due = await self.act(CaseActivities.service_day_end, now)
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
        await start_once(contact_identity.ContactIdentity.run, inp, contact_identity.workflow_id(contact_id),
                         contact_identity.typed_start_attributes(contact))
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

    def _set_stage(self, stage: EarlyHelpStage, *, show: bool = True) -> None:
        """Move stage; a timed step ends as its stage is left and begins as its stage is entered."""
        self._step_to(stage, TIMED_STEPS, STEP_RULES)
        if show:
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

    def _current_step(self) -> Deadline | None:
        return open_step(self, TIMED_STEPS.get(self.state.stage))

    def search_attributes(self) -> dict[SearchAttributeKey, Any]:
        s = self.state
        step = self._current_step()
        return {
            **self.stage_attributes(),
            sa.SOURCE: s.source,
            sa.RECEIVED: s.received_at,
            sa.REF: s.origin.contact_id if s.origin else None,
            sa.LEVEL: s.origin.level if s.origin else None,
            sa.FLAGS: ["recurring_pattern"] if s.recurring_themes else [],
            sa.THEMES: s.recurring_themes,
            sa.DUE: step.record.due_at if step is not None else None,
        }


    # ------------------------------------------------------------------ the actions
    # Each handler changes the state before its first await and checks nothing: the
    # action table (ACTIONS) is the validator.
    @human_action
    async def give_directions(self, d: Directions) -> EarlyHelpState:
        self.state.directions, self.state.directions_at = d, workflow.now()
        self.state.adviser = d.adviser
        self.state.holder = d.adviser or d.actor.username
        self._set_stage(self._expected_stage())
        await self.audit(d.actor, "directions", d.directions, adviser=d.adviser)
        return self.view()  # type: ignore[no-any-return]

    @human_action
    async def record_consent(self, c: EarlyHelpConsent) -> EarlyHelpState:
        s = self.state
        s.consent_status, s.consent_from_referrer = c.status, False
        s.consent_events.append(c)
        self._took(c.actor)
        self._set_stage(self._expected_stage())
        await self.audit(c.actor, f"consent_{c.status.value}", c.note, advice=c.advice)
        return self.view()  # type: ignore[no-any-return]

    @human_action
    async def record_conversation(self, c: Conversation) -> EarlyHelpState:
        self.state.conversations.append(ConversationRecord(conversation=c, at=workflow.now()))
        self._took(c.actor)
        await self.audit(
            c.actor, "conversation", c.summary, with_whom=c.with_whom.value, name=c.name,
            agency=c.agency.value if c.agency else None,
        )
        return self.view()  # type: ignore[no-any-return]

    @human_action
    async def consult(self, t: ThresholdConsultation) -> EarlyHelpState:
        self.state.consultations.append(ConsultedRecord(consultation=t, at=workflow.now()))
        await self.audit(t.actor, "threshold_consultation", t.advice, consulted=t.consulted, consulted_role=t.consulted_role.value)
        return self.view()  # type: ignore[no-any-return]

    @human_action
    async def finish_gathering(self, f: FinishGathering) -> EarlyHelpState:
        self.state.gathering_done_at = workflow.now()
        self._took(f.actor)
        self._set_stage(self._expected_stage())
        await self.audit(f.actor, "gathering_finished", f.note, conversations=len(self.state.conversations))
        return self.view()  # type: ignore[no-any-return]

    @human_action
    async def recommend(self, r: EarlyHelpRecommendation) -> EarlyHelpState:
        s = self.state
        s.recommendation = r
        self._took(r.actor)
        self._set_stage(self._expected_stage())
        s.recommendation_document_id = await self.write(
            CaseActivities.render_document,
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
        return self.view()  # type: ignore[no-any-return]

    @human_action
    async def decide(self, d: EarlyHelpDecision) -> EarlyHelpState:
        s = self.state
        s.decision, s.decided_at = d, workflow.now()
        self._took(d.actor)
        self._set_stage(self._expected_stage())
        await self.audit(d.actor, "early_help_decision", d.rationale, outcome=d.outcome.value, quadrant=d.quadrant)
        return self.view()  # type: ignore[no-any-return]

    @human_action
    async def step_up(self, u: StepUp) -> EarlyHelpState:
        self.state.step_up = u
        self._took(u.actor)
        self._set_stage(self._expected_stage())
        await workflow.wait_condition(lambda: self.state.step_up_contact_id is not None)
        return self.view()  # type: ignore[no-any-return]


# ---------------------------------------------------------------------- starting one, and the lists
def _start_input(request: Contact, actor: Actor, ctx: process.StartContext) -> EarlyHelpInput:
    return EarlyHelpInput(case_id=request.id, entry=EarlyHelpEntry.DIRECT, request=request,
                          submitted_by=actor.username, timescales=ctx.timescales)





PROCESS = process.Process(
    EarlyHelpWorkflow, path="early-help", subject_field="case_id",
    readers=EARLY_HELP_READERS,
    start=process.Start(
        name="start", title="Start an early help case", model=Contact, roles=EARLY_HELP_TEAM,
        subject_id=lambda c: c.id, workflow_input=_start_input,
        search_attributes=lambda c: _attributes(c.id, c.source),
        help="A request for early help made straight to the hub, in the intake contract; its id is the case id.",
    ),
    stuck=(
        process.StuckList("directions_overdue", "Early help: management directions overdue",
                          process.flagged("directions_overdue")),
        process.StuckList("early_help_overdue", "Early help: a step past its timescale",
                          process.flagged(OVERDUE_FLAG)),
    ),
    views=(
        process.ListView("early-help", "Early help hub", EARLY_HELP_TEAM, order=process.time_left,
                         help="Open early help cases by the time left on their current step."),
    ),
    activities=(EarlyHelpActivities,),
    transient=frozenset({EarlyHelpStage.HANDOFF}),
)
