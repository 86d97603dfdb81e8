"""ContactWorkflow: one durable workflow per contact, from intake to handoff.

Stages: intake -> history check -> triage -> (urgent pickup | SPA: consent -> MAP
checks -> recommendation -> management decision | early help | advice) -> handoff.
What people may do, and when, is the action table below: each action is an Update whose
validator is its row. The management decision is due 24 hours (configurable) after the
contact arrives in the SPA: `self.decision_deadline`, a durable timer that an extension
moves (workflows/deadline.py).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from functools import partial
from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeKey
from temporalio.exceptions import FailureError

with workflow.unsafe.imports_passed_through():
    import workflows.consultation as consultation
    import workflows.early_help as early_help
    import workflows.morning_identity as morning_identity
    import workflows.process as process
    import workflows.search_attributes as sa
    from activities.case import CaseActivities
    from activities.contact import ContactActivities
    from models.actions import (
        ConsentOverride,
        ConsentUpdate,
        Extension,
        ManagementDecision,
        MapRequest,
        MapResponse,
        Pickup,
        ProceedWithoutAgency,
        Recommendation,
        Review,
        Triage,
    )
    from models.bounds import EXTENSION_MAX_SPAN, MAX_EXTENSIONS, extension_errors
    from models.calendar import WorkingCalendar
    from models.codes import (
        DECISION_OUTCOMES,
        ROUTE_LEVELS,
        Agency,
        ConsentStatus,
        Outcome,
        Route,
        team_for_outcome,
    )
    from models.consultation import ReferralArrived
    from models.contact import ConsentStatement, Contact
    from models.deadline import DeadlineRecord
    from models.discussion import AgendaItem, DiscussionNotice, DiscussionRecord, ThresholdUnclear
    from models.early_help import EarlyHelpEntry, EarlyHelpInput, Origin
    from models.messages import (
        AgencyAnswer,
        CaseUpdate,
        ContactStep,
        DocumentRequest,
        HandoffRequest,
        MapDispatch,
    )
    from models.roles import (
        ADVISERS,
        CONSENT_TAKERS,
        CONTACT_READERS,
        INTAKE,
        MANAGERS,
        SOCIAL_WORK,
        SOCIAL_WORKERS,
        TRIAGERS,
        Actor,
        Role,
    )
    from models.state import (
        ConsentEvent,
        ConsentState,
        ContactState,
        ContactWorkflowInput,
        Flag,
        Handoff,
        MapCheck,
        Stage,
        StepUpEntry,
    )
    from workflows.base import (
        ANSWER_BEFORE_SENDING,
        ONE_WRITE_PER_ACTION,
        SHARED,
        AuditedWorkflow,
        human_action,
        invalid,
        require_weighed,
        start_once,
    )
    from workflows.contact_identity import KIND, ContactIdentity, start_attributes, workflow_id
    from workflows.deadline import ONE_MS, Deadline, DeadlineRule

SPA_OPEN = frozenset({Stage.AWAITING_CONSENT, Stage.MAP_CHECKS, Stage.AWAITING_RECOMMENDATION, Stage.AWAITING_DECISION})
BEFORE_RECOMMENDATION = frozenset({Stage.AWAITING_CONSENT, Stage.MAP_CHECKS, Stage.AWAITING_RECOMMENDATION})
TELL_MANAGERS = ("team_manager", "service_manager")


# ---------------------------------------------------------------------- the rules of each action
def _consent_open(s: ContactState) -> str | None:
    if s.recommendation is not None:
        return "consent is handled in the SPA before the recommendation"
    if s.consent.cleared_for_map:
        return f"consent is already {s.consent.status.value}"
    return None


def _unasked(s: ContactState) -> list[Agency]:
    asked = {m.agency for m in s.map_checks}
    return [a for a in Agency if a not in asked]


def _map_ready(s: ContactState) -> str | None:
    if not s.consent.cleared_for_map:
        return (f"consent is {s.consent.status.value}: no MAP request may be sent until consent is given "
                "or a team manager overrides it with a reason")
    return None if _unasked(s) else "every agency has been asked"


def _answers_awaited(s: ContactState) -> str | None:
    return None if s.outstanding_agencies else "no agency's answer is awaited"


def _nothing_outstanding(s: ContactState) -> str | None:
    waiting = [m.agency.value for m in s.outstanding_agencies]
    if waiting:
        return f"still waiting on {', '.join(waiting)}: record their answers or proceed without them, saying why"
    return None


def _settled(check: MapCheck) -> bool:
    return not check.outstanding


def _no_discussion_pending(s: ContactState) -> str | None:
    pending = s.discussion_pending
    if pending is None:
        return None
    when = f" of {pending.meeting:%d/%m/%Y}" if pending.meeting else ""
    return f"it is on the agenda of the morning discussion{when} already"


def _undecided(s: ContactState) -> str | None:
    return None if s.decision is None else "the decision is made"


def _triage_rules(s: ContactState, t: Triage) -> None:
    if t.level not in ROUTE_LEVELS[t.route]:
        allowed = ", ".join(str(int(lv)) for lv in sorted(ROUTE_LEVELS[t.route]))
        raise invalid(f"route {t.route.value} is for level(s) {allowed}, not level {int(t.level)}")
    suggested = s.suggested_level
    if suggested is not None and t.level != suggested and not (t.departure_reason or "").strip():
        raise invalid(
            f"the threshold rules suggest level {int(suggested)}; triage at level {int(t.level)} "
            "needs a departure_reason saying why"
        )
    require_weighed(s.recurring_themes, t.history_considered, "history_considered")


def _map_request_rules(s: ContactState, m: MapRequest) -> None:
    if len(set(m.agencies)) != len(m.agencies):
        raise invalid("an agency is named twice")
    asked = {c.agency for c in s.map_checks}
    again = [a.value for a in m.agencies if a in asked]
    if again:
        raise invalid(f"already asked: {', '.join(again)}")


def _outstanding_rules(s: ContactState, r: MapResponse | ProceedWithoutAgency) -> None:
    for check in s.map_checks:
        if check.agency == r.agency:
            if not check.outstanding:
                raise invalid(f"{r.agency.value} has already answered or been set aside")
            return
    raise invalid(f"{r.agency.value} was not asked; ask it first with a MAP request")


def _outcome_rules(outcome: Outcome) -> None:
    if outcome not in DECISION_OUTCOMES:
        raise invalid(f"choose one of: {', '.join(o.value for o in DECISION_OUTCOMES)}")


def _decision_rules(s: ContactState, d: ManagementDecision) -> None:
    _outcome_rules(d.outcome)
    require_weighed(s.recurring_themes, d.recurring_pattern_considered, "recurring_pattern_considered")


def _extension_rules(s: ContactState, e: Extension) -> None:
    deadline = s.decision_deadline
    if deadline is None or deadline.due_at is None:
        return
    if len(deadline.extensions) >= MAX_EXTENSIONS:
        raise invalid(f"the decision deadline has been extended {MAX_EXTENSIONS} times already: decide, or escalate")
    problems = extension_errors(e.new_deadline, deadline.due_at, workflow.now(),
                                deadline.max_extension or EXTENSION_MAX_SPAN)
    if problems:
        raise invalid(f"{problems[0].path}: {problems[0].message}")


ACTIONS = process.ActionTable(
    process.Action("triage", Triage, TRIAGERS, "Triage against the threshold guidance",
                   stages=frozenset({Stage.AWAITING_TRIAGE}), rules=_triage_rules, needs="is done once, while the contact awaits triage",
                   people={"threshold_advice.given_by": ADVISERS},
                   form=lambda s: {"level": {"default": int(s.suggested_level) if s.suggested_level else None},
                           "history_considered": {"label": "I have considered the history"
                                                  + (" and the recurring pattern" if s.recurring_themes else "")}},
                   help="Record a level of need and a route, with reasons (and any social worker's threshold advice)."),
    process.Action("review", Review, SOCIAL_WORK, "Daily review and priority (RAG)",
                   help="Every contact is reviewed and prioritised on the day it arrives."),
    process.Action("pickup", Pickup, SOCIAL_WORK, "Pick up this urgent contact", stages=frozenset({Stage.AWAITING_PICKUP}),
                   needs="is for an urgent contact awaiting pickup"),
    process.Action("record_consent", ConsentUpdate, CONSENT_TAKERS, "Record consent", stages=SPA_OPEN, ready=_consent_open,
                   needs="is handled in the SPA before the recommendation",
                   form=lambda s: {"status": {"choices": [ConsentStatus.SOUGHT, ConsentStatus.GIVEN, ConsentStatus.REFUSED]}}),
    process.Action("override_consent", ConsentOverride, MANAGERS, "Override consent", stages=SPA_OPEN, ready=_consent_open,
                   needs="is handled in the SPA before the recommendation",
                   help="When risk to the child is the overriding priority: a documented reason."),
    process.Action("request_map_checks", MapRequest, SOCIAL_WORK, "Request MAP checks", stages=BEFORE_RECOMMENDATION,
                   ready=_map_ready, rules=_map_request_rules, form=lambda s: {"agencies": {"choices": _unasked(s)}},
                   needs="are made in the SPA before the recommendation"),
    process.Action("record_map_response", MapResponse, SOCIAL_WORK, "Record an agency's answer", ready=_answers_awaited,
                   rules=_outstanding_rules, form=lambda s: {"agency": {"choices": [m.agency for m in s.outstanding_agencies]}}),
    process.Action("proceed_without_agency", ProceedWithoutAgency, SOCIAL_WORK, "Proceed without an agency",
                   ready=_answers_awaited, rules=_outstanding_rules,
                   form=lambda s: {"agency": {"choices": [m.agency for m in s.outstanding_agencies]}}),
    process.Action("recommend", Recommendation, SOCIAL_WORKERS, "Write the recommendation",
                   stages=frozenset({Stage.MAP_CHECKS, Stage.AWAITING_RECOMMENDATION}), ready=_nothing_outstanding,
                   needs="follows consent and MAP checks in the SPA",
                   rules=lambda s, r: _outcome_rules(r.recommended_outcome),
                   form=lambda s: {"recommended_outcome": {"choices": list(DECISION_OUTCOMES)}}),
    process.Action("decide", ManagementDecision, MANAGERS, "Management decision", stages=frozenset({Stage.AWAITING_DECISION}),
                   rules=_decision_rules, needs="needs the social worker's recommendation first",
                   form=lambda s: {
               "outcome": {"choices": list(DECISION_OUTCOMES),
                           "default": s.recommendation.recommended_outcome if s.recommendation else None},
               "quadrant": {"default": s.recommendation.quadrant if s.recommendation else None},
               "recurring_pattern_considered": {"hidden": not s.recurring_themes,
                                                "label": "The recurring pattern ("
                                                + ", ".join(t.replace("_", " ") for t in s.recurring_themes)
                                                + ") was considered"},
           }),
    process.Action("extend", Extension, MANAGERS, "Extend the decision deadline", stages=SPA_OPEN, ready=_undecided,
                   rules=_extension_rules, needs="is for an SPA contact awaiting its decision",
                   form=lambda s: {"new_deadline": {"default": (s.decision_due_at + timedelta(hours=24))
                                            if s.decision_due_at else None}}),
    process.Action("threshold_unclear", ThresholdUnclear, TRIAGERS | SOCIAL_WORK, "Threshold unclear: for the morning discussion",
                   ready=_no_discussion_pending,
                   help="Put the contact on the next morning case discussion's agenda with the question, and ask the SPA's "
                "police and health partners what their agencies know. The outcome comes back here."),
    *SHARED,
)


# ---------------------------------------------------------------------- deadlines
def _decision_message(wf: ContactWorkflow, d: Deadline) -> tuple[str, str]:
    return (
        f"Decision overdue on contact {wf.subject_id}",
        f"The management decision was due {d.due_at:%Y-%m-%d %H:%M} UTC and has not been made. "
        f"Stage: {wf.state.stage.value}. Decide, or extend with a reason.",
    )


def _pickup_message(wf: ContactWorkflow, d: Deadline) -> tuple[str, str]:
    return (
        f"URGENT contact {wf.subject_id} not picked up",
        "An urgent contact passed to the assessment team has not been picked up within "
        f"{wf.inp.timescales.urgent_pickup}. Please make sure it is allocated now.",
    )


async def _chase(wf: ContactWorkflow, d: Deadline) -> None:
    check = next(m for m in wf.state.map_checks if m.deadline is d.record)
    await wf.act(ContactActivities.send_map_request, wf._dispatch(check, chase=True))


DECISION = DeadlineRule(
    "decision", flags=(Flag.DECISION_OVERDUE,), tell=TELL_MANAGERS, trail="decision_overdue", message=_decision_message,
    notify_key=lambda wf, d: f"{workflow.info().workflow_id}/overdue/{len(d.record.extensions)}",
)
PICKUP = DeadlineRule(
    "pickup", flags=(Flag.PICKUP_LATE,), tell=TELL_MANAGERS, trail="urgent_pickup_escalated", message=_pickup_message,
    notify_key=lambda wf, d: f"{workflow.info().workflow_id}/pickup-escalation", details=lambda wf, d: {},
)
REVIEW = DeadlineRule("review", flags=(Flag.REVIEW_LATE,), floor=ONE_MS)
AGENCY_ANSWER = DeadlineRule(
    "map", flags=(Flag.AGENCY_LATE,), floor=ONE_MS, then=_chase, trail="map_chased",
    details=lambda wf, d: {"agency": d.record.name.removeprefix("map:")},
)


# ---------------------------------------------------------------------- the workflow
@workflow.defn(name="ContactWorkflow")
class ContactWorkflow(
    ContactIdentity, AuditedWorkflow[ContactWorkflowInput],
    kind=KIND, noun="contact", State=ContactState, actions=ACTIONS, workflow_id=workflow_id,
):
    opening = frozenset({Stage.INTAKE, Stage.HISTORY_CHECK})  # the start's answer: at triage, its history checked

    @workflow.init
    def __init__(self, inp: ContactWorkflowInput) -> None:
        contact = inp.contact
        self._begin(inp, contact.id)
        self._tasks: list[asyncio.Task[None]] = []
        self._sending: list[asyncio.Task[None]] = []  # MAP requests still on their way out
        police_delay = None
        if contact.police_attendance_at is not None:
            police_delay = contact.received_at - contact.police_attendance_at
        now = workflow.now()
        self.state = ContactState(
            contact_id=contact.id,
            stage=Stage.INTAKE,
            stage_since=now,
            holder=inp.submitted_by,
            received_at=contact.received_at,
            source=contact.source,
            children=[c.display_name for c in contact.children],
            police_delay=police_delay,
            police_delay_flagged=bool(police_delay and police_delay > inp.timescales.police_delay_flag),
            review_deadline=DeadlineRecord(name="review", started_at=now, due_at=inp.review_due_at),
            consent=ConsentState(status=contact.consent.status, from_referrer=True),
        )
        self.review_deadline = Deadline.of(self, REVIEW, self.state.review_deadline)
        self.decision_deadline: Deadline | None = None
        self.pickup_deadline: Deadline | None = None

    # ------------------------------------------------------------------ the flow
    @workflow.run
    async def run(self, inp: ContactWorkflowInput) -> ContactState:
        self.sync(first=True)  # the start showed it at intake; awaiting triage follows in this task
        await self.write(ContactActivities.record_contact, inp.contact)
        await self.audit(
            None, "contact_received",
            source=inp.contact.source, submitted_by=inp.submitted_by, police_delay_hours=self._police_delay_hours(),
        )
        if inp.contact.consultation_ref and self.patched("link-consultation"):
            await self._link_consultation(inp.contact.consultation_ref)
        self._tasks.append(asyncio.create_task(self.review_deadline.wait(self._reviewed_or_closed)))

        # From EVERY_CHANGE_AT_START a local activity (a read of a second at most for the
        # largest contact allowed, bench/README.md): from its start to awaiting triage a contact
        # is one workflow task, and its stage is shown once, at awaiting triage, unless the
        # check faults.
        local = self.generation >= 2
        self._set_stage(Stage.HISTORY_CHECK, show=not local)
        history = await self.act(ContactActivities.check_history, inp.contact.id, local=local)
        self.state.history = history
        self.state.suggested_level = history.suggestion.level if history.suggestion else None
        await self.audit(
            None, "history_checked",
            matches=len(history.matches), recurring=[p.theme for p in history.recurring],
            suggested_level=int(self.state.suggested_level) if self.state.suggested_level else None,
        )
        self._set_stage(Stage.AWAITING_TRIAGE)
        if inp.entry == "step_up" and inp.step_up is not None:
            await self._enter_from_step_up(inp.step_up)
        await workflow.wait_condition(lambda: self.state.triage is not None)
        assert self.state.triage is not None
        route = self.state.triage.route
        if route == Route.URGENT:
            await self._urgent()
        elif route == Route.SPA:
            await self._single_point_of_access()
            if self.state.outcome == Outcome.TARGETED_EARLY_HELP and self.patched("start-early-help"):
                await self._start_early_help(EarlyHelpEntry.STEP_DOWN)
        elif route == Route.EARLY_HELP:
            await self._hand_off(Outcome.EARLY_HELP_HUB, "Routed to the early help hub at triage")
            if self.patched("start-early-help"):
                await self._start_early_help(EarlyHelpEntry.TRIAGE)
        else:
            await self._hand_off(Outcome.ADVICE_SIGNPOSTING, "Advice or signposting given at triage")
        await asyncio.gather(*self._sending)  # none left to send on a run begun before ANSWER_BEFORE_SENDING
        await self._close()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.state

    async def _urgent(self) -> None:
        """Immediate and significant risk: hand off at once, then make sure it is picked up."""
        await self._hand_off(Outcome.URGENT_ASSESSMENT, "Immediate and significant risk: strategy discussion")
        self.pickup_deadline = Deadline.begin(self, PICKUP, workflow.now() + self.inp.timescales.urgent_pickup)
        self.state.pickup_deadline = self.pickup_deadline.record
        self._set_stage(Stage.AWAITING_PICKUP)
        await self.pickup_deadline.wait(lambda: self.state.picked_up_at is not None)

    async def _single_point_of_access(self) -> None:
        now = workflow.now()
        self.state.spa_entered_at = now
        self.decision_deadline = Deadline.begin(self, DECISION, now + self.inp.timescales.decision_deadline,
                                                max_extension=self.inp.timescales.extension_max_span)
        self.state.decision_deadline = self.decision_deadline.record
        self._set_stage(self._spa_stage())
        await self.decision_deadline.wait(lambda: self.state.decision is not None)
        await workflow.wait_condition(lambda: self.state.stage == Stage.HANDOFF)
        decision = self.state.decision
        assert decision is not None
        await self._hand_off(decision.outcome, decision.rationale, decision.quadrant)

    async def _hand_off(self, outcome: Outcome, summary: str, quadrant: Any = None) -> None:
        self._set_stage(Stage.HANDOFF)
        team = team_for_outcome(outcome, quadrant)
        result = await self.act(
            ContactActivities.hand_off,
            HandoffRequest(
                contact_id=self.subject_id, workflow_id=workflow.info().workflow_id, team=team,
                outcome=outcome, at=workflow.now(), summary=summary,
            ),
        )
        self.state.handoff = Handoff(
            team=team, outcome=outcome, at=workflow.now(), handoff_id=result.handoff_id,
            feedback_document_id=result.feedback_document_id,
        )
        self.state.outcome = outcome
        await self.audit(None, "handed_off", team=team, outcome=outcome.value)

    async def _close(self) -> None:
        self.state.closed_at = workflow.now()
        self.review_deadline.finish()
        self._set_stage(Stage.CLOSED)
        await self.write(ContactActivities.update_case_record, self._case_update())
        await self.audit(None, "closed", outcome=self.state.outcome.value if self.state.outcome else None)

    def _reviewed_or_closed(self) -> bool:
        return self.state.review is not None or self.state.stage == Stage.CLOSED

    # ------------------------------------------------------------------ other processes
    async def _link_consultation(self, reference: str) -> None:
        """A contact quoting a consultation's reference tells that consultation (a signal:
        fire-and-forget); the consultation closes as linked."""
        contact = self.inp.contact
        try:
            await workflow.get_external_workflow_handle(consultation.workflow_id(reference)).signal(
                consultation.ConsultationWorkflow.referral_arrived,
                ReferralArrived(contact_id=contact.id, received_at=contact.received_at),
            )
        except FailureError as err:
            self.state.consultation_linked = False
            await self.audit(
                None, "consultation_not_linked",
                f"no open consultation {reference} to link to ({err.message}); the reference stays on the contact",
                consultation_ref=reference,
            )
            return
        self.state.consultation_linked = True
        await self.audit(None, "linked_to_consultation", consultation_ref=reference)

    async def _start_early_help(self, entry: EarlyHelpEntry) -> None:
        """Start the early help case as an abandoned child: the start is a command in this
        history and the child's id is deterministic, so it happens exactly once; the case
        outlives the contact, which closes at once."""
        s, contact = self.state, self.inp.contact
        decision = s.decision
        consent = {ConsentStatus.GIVEN: "given", ConsentStatus.REFUSED: "refused"}.get(s.consent.status, "not_sought")
        case_id = early_help.case_id_for_contact(contact.id)
        inp = EarlyHelpInput(
            case_id=case_id,
            entry=entry,
            request=contact.model_copy(update={"consent": ConsentStatement(status=ConsentStatus(consent), note=contact.consent.note)}),
            submitted_by=(decision.actor.username if decision else (s.triage.actor.username if s.triage else self.inp.submitted_by)),
            origin=Origin(
                contact_id=contact.id,
                rationale=decision.rationale if decision else (s.triage.rationale if s.triage else None),
                level=int(s.triage.level) if s.triage else None,
                quadrant=decision.quadrant.value if decision and decision.quadrant else None,
                recurring_themes=s.recurring_themes,
            ),
            timescales=self.inp.timescales,
        )
        await start_once(early_help.EarlyHelpWorkflow.run, inp, early_help.workflow_id(case_id),
                         early_help.start_attributes(inp))
        s.early_help_case_id = case_id

    async def _enter_from_step_up(self, up: StepUpEntry) -> None:
        """Stepped up from early help: the step-up is the triage, straight into the SPA."""
        s = self.state
        s.triage = Triage(
            actor=up.actor, level=up.level, route=Route.SPA, history_considered=True,
            rationale=f"Stepped up from early help case {up.early_help_case_id}: {up.reason}",
        )
        s.triaged_at = workflow.now()
        s.history_considered_by.append(up.actor.username)
        await self.audit(
            up.actor, "stepped_up_from_early_help", up.reason, early_help_case_id=up.early_help_case_id, level=int(up.level)
        )
        await self.write(
            ContactActivities.update_case_record,
            CaseUpdate(contact_id=s.contact_id, stage=s.stage.value, level=int(up.level), route=Route.SPA.value),
        )

    # ------------------------------------------------------------------ helpers
    def _police_delay_hours(self) -> float | None:
        delay = self.state.police_delay
        return round(delay.total_seconds() / 3600, 1) if delay is not None else None

    def _spa_stage(self) -> Stage:
        s = self.state
        if s.decision is not None:
            return Stage.HANDOFF
        if s.recommendation is not None:
            return Stage.AWAITING_DECISION
        if s.consent.status in (ConsentStatus.NOT_SOUGHT, ConsentStatus.SOUGHT):
            return Stage.AWAITING_CONSENT
        if s.consent.cleared_for_map and (not s.map_checks or s.outstanding_agencies):
            return Stage.MAP_CHECKS
        return Stage.AWAITING_RECOMMENDATION

    def _took(self, actor: Actor) -> None:
        self.state.holder = actor.username

    def _case_update(self) -> CaseUpdate:
        s = self.state
        return CaseUpdate(
            contact_id=s.contact_id, stage=s.stage.value,
            level=int(s.triage.level) if s.triage else None, route=s.triage.route.value if s.triage else None,
            outcome=s.outcome, decided_at=s.decided_at, closed_at=s.closed_at,
        )

    def _dispatch(self, check: MapCheck, chase: bool = False) -> MapDispatch:
        assert check.due_at is not None
        return MapDispatch(
            contact_id=self.subject_id, workflow_id=workflow.info().workflow_id, agency=check.agency,
            due_at=check.due_at, requested_at=check.requested_at, chase=chase,
        )

    def _doc_context(self) -> dict[str, Any]:
        return {
            "state": self.state.model_dump(mode="json"),
            "at": workflow.now().isoformat(),
            "police_delay_hours": self._police_delay_hours(),
        }

    def search_attributes(self) -> dict[SearchAttributeKey, Any]:
        s = self.state
        flags: set[str] = set()
        if s.review is None and s.stage != Stage.CLOSED:
            flags.add(Flag.UNREVIEWED)
        if s.stage == Stage.AWAITING_PICKUP:
            flags.add(Flag.AWAITING_PICKUP)
        if s.police_delay_flagged:
            flags.add(Flag.POLICE_DELAY)
        if s.history and s.history.recurring:
            flags.add(Flag.RECURRING_PATTERN)
        due = None
        if s.stage in SPA_OPEN:
            due = s.decision_due_at
        elif s.stage == Stage.AWAITING_PICKUP:
            due = s.pickup_due_at
        return {
            **self.stage_attributes(),
            sa.SOURCE: s.source,
            sa.RECEIVED: s.received_at,
            sa.ROUTE: s.triage.route.value if s.triage else None,
            sa.LEVEL: int(s.triage.level) if s.triage else None,
            sa.PRIORITY: s.review.rag.value if s.review else None,
            sa.FLAGS: sorted(flags),
            sa.THEMES: s.recurring_themes,
            sa.DUE: due,
        }


    # ------------------------------------------------------------------ the morning case discussion
    @human_action
    async def threshold_unclear(self, t: ThresholdUnclear) -> ContactState:
        """On the next morning discussion's agenda (workflows/morning_identity.put_on_agenda)."""
        s = self.state
        record = DiscussionRecord(item_id=f"{self.subject_id}:{len(s.discussions) + 1}", question=t.question,
                                  asked=list(t.ask), by=t.actor.username, at=workflow.now())
        s.discussions.append(record)
        await self.audit(t.actor, "threshold_unclear", t.question, ask=", ".join(a.value for a in t.ask) or None)
        item = AgendaItem(item_id=record.item_id, question=t.question, contact_id=self.subject_id,
                          about=", ".join(s.children), asked=list(t.ask), raised_by=t.actor.username,
                          raised_role=t.actor.role.value, raised_at=record.at)
        record.meeting = await morning_identity.put_on_agenda(self, item, self.inp.timescales, t.actor.username)
        await self.audit(None, "put_on_morning_agenda", meeting=record.meeting.isoformat(), item_id=record.item_id)
        return self.view()  # type: ignore[no-any-return]

    @workflow.signal(name=morning_identity.DISCUSSION_UPDATE)
    async def discussion_update(self, notice: DiscussionNotice) -> None:
        """From the morning discussion: the chair's outcome, or the item rolled over. Told
        twice, it records once."""
        s = self.state
        record = next((d for d in s.discussions if d.item_id == notice.item_id), None)
        if record is None:  # an item a worker or partner added about this contact
            record = DiscussionRecord(item_id=notice.item_id, question=notice.question, by="morning discussion",
                                      at=workflow.now(), meeting=notice.meeting)
            s.discussions.append(record)
        o = notice.outcome
        if o is not None:
            if record.outcome is not None:
                return
            record.outcome, record.meeting = o, notice.meeting
            await self.audit(
                Actor(username=o.chair, role=Role.TEAM_MANAGER), "morning_discussion_outcome", o.note,
                meeting=notice.meeting.isoformat(), next_step=o.next_step.value, next_step_by=o.next_step_by,
                attendees="; ".join(o.attendees), police_shared=o.police_shared, health_shared=o.health_shared,
                others_shared=o.others_shared,
            )
        elif notice.rolled_to is not None and record.meeting != notice.rolled_to:
            record.meeting, record.rolled_over = notice.rolled_to, record.rolled_over + 1
            await self.audit(None, "morning_discussion_rolled_over", "not reached at the meeting",
                             meeting=notice.meeting.isoformat(), rolled_to=notice.rolled_to.isoformat())

    # ------------------------------------------------------------------ the actions
    # Each handler changes the state before its first await and checks nothing: the
    # action table (ACTIONS) is the validator.
    @human_action
    async def triage(self, t: Triage) -> ContactState:
        one = self.patched(ONE_WRITE_PER_ACTION)
        self.state.triage, self.state.triaged_at = t, workflow.now()
        if t.history_considered:
            self.state.history_considered_by.append(t.actor.username)
        self._took(t.actor)
        line = self.entry(
            t.actor, "triage", t.rationale,
            level=int(t.level), route=t.route.value,
            suggested_level=int(self.state.suggested_level) if self.state.suggested_level else None,
            departure_reason=t.departure_reason,
            threshold_advice=t.threshold_advice.model_dump() if t.threshold_advice else None,
            history_considered=t.history_considered,
        )
        if one:
            await self._step(ContactStep(entry=line, case=self._case_update()))
        else:  # a run that recorded its triage before ONE_WRITE_PER_ACTION: the line, then the record
            await self.record_line(line)
            await self.write(ContactActivities.update_case_record, self._case_update())
        return self.view()  # type: ignore[no-any-return]

    @human_action
    async def review(self, r: Review) -> ContactState:
        self.state.review, self.state.reviewed_at = r, workflow.now()
        self.review_deadline.finish()
        self._took(r.actor)
        self.sync()
        await self.audit(r.actor, "daily_review", r.note, rag=r.rag.value)
        return self.view()  # type: ignore[no-any-return]

    @human_action
    async def pickup(self, p: Pickup) -> ContactState:
        self.state.picked_up_by, self.state.picked_up_at = p.actor.username, workflow.now()
        if self.pickup_deadline is not None:
            self.pickup_deadline.finish()
        self._took(p.actor)
        await self.audit(p.actor, "urgent_picked_up", p.note)
        return self.view()  # type: ignore[no-any-return]

    @human_action
    async def record_consent(self, c: ConsentUpdate) -> ContactState:
        consent = self.state.consent
        consent.status, consent.from_referrer = c.status, False
        consent.events.append(ConsentEvent(at=workflow.now(), by=c.actor.username, status=c.status, note=c.note))
        self._took(c.actor)
        self._set_stage(self._spa_stage())
        await self.audit(c.actor, f"consent_{c.status.value}", c.note)
        return self.view()  # type: ignore[no-any-return]

    @human_action
    async def override_consent(self, o: ConsentOverride) -> ContactState:
        consent = self.state.consent
        consent.status, consent.override = ConsentStatus.OVERRIDDEN, o
        consent.events.append(
            ConsentEvent(at=workflow.now(), by=o.actor.username, status=ConsentStatus.OVERRIDDEN, note=o.explanation)
        )
        self._set_stage(self._spa_stage())
        await self.audit(o.actor, "consent_overridden", o.explanation, reason=o.reason.value)
        return self.view()  # type: ignore[no-any-return]

    @human_action
    async def request_map_checks(self, m: MapRequest) -> ContactState:
        after_reply = self.patched(ANSWER_BEFORE_SENDING)
        now = workflow.now()
        due = now + self.inp.timescales.map_response_due
        new: list[tuple[MapCheck, Deadline]] = []
        for agency in m.agencies:
            chase = Deadline.begin(self, AGENCY_ANSWER, due, name=f"map:{agency.value}")
            new.append((MapCheck(agency=agency, requested_at=now, requested_by=m.actor.username, deadline=chase.record), chase))
        self.state.map_checks.extend(check for check, _ in new)
        self._took(m.actor)
        self._set_stage(self._spa_stage())
        if after_reply:
            # The worker has their answer once the request is on the trail; the requests go
            # to the agencies' mailboxes after it (a mailbox that is down faults the contact,
            # not the person's request), and the contact does not close before they have gone.
            self._sending.append(asyncio.create_task(self._send_map_requests(new, m.questions)))
        else:  # a run that recorded its request before this change sent first, then answered
            await self._send_map_requests(new, m.questions)
        await self.audit(m.actor, "map_requested", m.questions, agencies=[a.value for a in m.agencies])
        return self.view()  # type: ignore[no-any-return]

    async def _send_map_requests(self, new: list[tuple[MapCheck, Deadline]], questions: str | None) -> None:
        dispatches = []
        for check, _ in new:
            d = self._dispatch(check)
            d.questions = questions
            dispatches.append(self.act(ContactActivities.send_map_request, d))
        doc_ids = await asyncio.gather(*dispatches)
        for (check, chase), doc_id in zip(new, doc_ids, strict=True):
            check.document_id = doc_id
            self._tasks.append(asyncio.create_task(chase.wait(partial(_settled, check))))

    async def _step(self, step: ContactStep) -> str | None:
        """An action's write and trail line as one local activity (ONE_WRITE_PER_ACTION)."""
        return await self.act(ContactActivities.record_step, step, local=True)  # type: ignore[no-any-return]

    async def _write_then_audit(
        self, one: bool, write: AgencyAnswer | DocumentRequest, actor: Actor, action: str, reasons: str | None,
        **details: Any,
    ) -> str | None:
        """The case record's write (an agency's answer, or a document: its id is returned), then
        the trail line: one local activity, or, on a run that took the action before
        ONE_WRITE_PER_ACTION, the two its history recorded."""
        if one:
            answer, document = (write, None) if isinstance(write, AgencyAnswer) else (None, write)
            return await self._step(ContactStep(entry=self.entry(actor, action, reasons, **details),
                                                answer=answer, document=document))
        if isinstance(write, AgencyAnswer):
            await self.write(ContactActivities.record_agency_answer, write.contact_id, write.agency, write.response,
                             write.waived_reason)
            found = None
        else:
            found = await self.write(CaseActivities.render_document, write)
        await self.audit(actor, action, reasons, **details)
        return found

    def _answered(self, agency: Agency) -> MapCheck:
        check = next(c for c in self.state.map_checks if c.agency == agency)
        for d in self.deadlines:
            if d.record is check.deadline:
                d.finish()
        return check

    @human_action
    async def record_map_response(self, r: MapResponse) -> ContactState:
        one = self.patched(ONE_WRITE_PER_ACTION)
        check = self._answered(r.agency)
        check.responded_at, check.response, check.known_to_agency = workflow.now(), r.information, r.known_to_agency
        self._set_stage(self._spa_stage())
        answer = AgencyAnswer(contact_id=self.subject_id, agency=r.agency.value, response=r.information)
        await self._write_then_audit(one, answer, r.actor, "map_response", None,
                                     agency=r.agency.value, known_to_agency=r.known_to_agency)
        return self.view()  # type: ignore[no-any-return]

    @human_action
    async def proceed_without_agency(self, p: ProceedWithoutAgency) -> ContactState:
        one = self.patched(ONE_WRITE_PER_ACTION)
        check = self._answered(p.agency)
        check.waived_reason, check.waived_by = p.reason, p.actor.username
        self._set_stage(self._spa_stage())
        answer = AgencyAnswer(contact_id=self.subject_id, agency=p.agency.value, waived_reason=p.reason)
        await self._write_then_audit(one, answer, p.actor, "map_proceed_without", p.reason, agency=p.agency.value)
        return self.view()  # type: ignore[no-any-return]

    @human_action
    async def recommend(self, r: Recommendation) -> ContactState:
        one = self.patched(ONE_WRITE_PER_ACTION)
        self.state.recommendation = r
        self._took(r.actor)
        self._set_stage(self._spa_stage())
        context = self._doc_context() | {"recommendation": r.model_dump(mode="json")}
        document = DocumentRequest(
            document_id=f"{workflow.info().workflow_id}/recommendation",
            subject_id=self.subject_id, kind="recommendation", title="Social worker's recommendation",
            context=context,
        )
        self.state.recommendation_document_id = await self._write_then_audit(
            one, document, r.actor, "recommendation", r.summary, recommended_outcome=r.recommended_outcome.value,
        )
        return self.view()  # type: ignore[no-any-return]

    @human_action
    async def decide(self, d: ManagementDecision) -> ContactState:
        one = self.patched(ONE_WRITE_PER_ACTION)
        self.state.decision, self.state.decided_at = d, workflow.now()
        if self.decision_deadline is not None:
            self.decision_deadline.finish()
        self._took(d.actor)
        on_time = self.state.decision_due_at is None or workflow.now() <= self.state.decision_due_at
        document = DocumentRequest(
            document_id=f"{workflow.info().workflow_id}/decision",
            subject_id=self.subject_id, kind="decision_record", title="Management decision",
            context=self._doc_context() | {"decision": d.model_dump(mode="json"), "on_time": on_time},
        )
        await self._write_then_audit(
            one, document, d.actor, "management_decision", d.rationale, outcome=d.outcome.value,
            quadrant=d.quadrant.value if d.quadrant else None, on_time=on_time,
            recurring_pattern_considered=d.recurring_pattern_considered,
        )
        self._set_stage(Stage.HANDOFF)
        return self.view()  # type: ignore[no-any-return]

    @human_action
    async def extend(self, e: Extension) -> ContactState:
        assert self.decision_deadline is not None
        granted = self.decision_deadline.extend(e)
        self.sync()
        await self.audit(
            e.actor, "deadline_extended", e.explanation, reason=e.reason.value,
            previous_deadline=granted.previous_deadline.isoformat(), new_deadline=e.new_deadline.isoformat(),
        )
        return self.view()  # type: ignore[no-any-return]


# ---------------------------------------------------------------------- starting one, and the lists
def _start_input(contact: Contact, actor: Actor, ctx: process.StartContext) -> ContactWorkflowInput:
    calendar = WorkingCalendar(ctx.timezone)
    review_due = calendar.end_of(calendar.local_date(max(contact.received_at, ctx.now)))
    return ContactWorkflowInput(contact=contact, submitted_by=actor.username, timescales=ctx.timescales,
                                review_due_at=review_due)


RAG_ORDER = {"red": 0, "amber": 1, "green": 2}


def _iso(moment: Any) -> str:
    return str(moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ"))


def _queue_order(r: Any) -> tuple[int, int, str]:
    """Today's queue: unreviewed first, then red, amber, green, then the oldest."""
    return (0 if Flag.UNREVIEWED in r.flags else 1, RAG_ORDER.get(r.priority or "", 3),
            r.received_at.isoformat() if r.received_at else "~")




PROCESS = process.Process(
    ContactWorkflow, path="contacts", subject_field="contact_id",
    readers=CONTACT_READERS,
    start=process.Start(
        name="submit", title="Receive a contact", model=Contact, roles=INTAKE,
        subject_id=lambda c: c.id, workflow_input=_start_input, search_attributes=start_attributes,
        help="A contact about one or more children, in the intake contract (see examples/).",
    ),
    stuck=(
        process.StuckList("overdue", "Decisions overdue", process.flagged(Flag.DECISION_OVERDUE)),
        process.StuckList("due_soon", "Decisions due soon",
                          lambda now, within: f"{process.OPEN} AND FdKind = 'contact' AND FdRoute = 'spa' "
                          f"AND FdDueAt >= '{_iso(now)}' AND FdDueAt <= '{_iso(now + within)}'"),
        process.StuckList("unreviewed", "Not yet reviewed", process.flagged(Flag.UNREVIEWED)),
        process.StuckList("review_late", "Not reviewed on the day", process.flagged(Flag.REVIEW_LATE)),
        process.StuckList("awaiting_consent", "Waiting on consent", lambda now, within: f"{process.OPEN} AND FdStage = 'awaiting_consent'"),
        process.StuckList("awaiting_agency", "Waiting on an agency past its due time", process.flagged(Flag.AGENCY_LATE)),
        process.StuckList("urgent_unpicked", "Urgent, not picked up", process.flagged(Flag.AWAITING_PICKUP)),
    ),
    views=(
        process.ListView("queue", "Today's queue", frozenset({Role.RFS_OFFICER, Role.SOCIAL_WORKER}), order=_queue_order,
                         help="Every open contact: unreviewed first, then by priority, then the oldest."),
        process.ListView("decisions", "Decisions awaited", MANAGERS,
                         where="FdRoute = 'spa' AND FdStage IN ('awaiting_consent', 'map_checks', "
                       "'awaiting_recommendation', 'awaiting_decision')",
                         order=process.time_left,
                         groups=(("ready", "Ready for your decision", lambda r: r.stage == Stage.AWAITING_DECISION),
                         ("gathering", "Still gathering", lambda r: r.stage != Stage.AWAITING_DECISION)),
                         help="SPA contacts by time left before the decision deadline; overdue in red."),
    ),
    activities=(ContactActivities,),
    transient=frozenset({Stage.INTAKE, Stage.HISTORY_CHECK, Stage.HANDOFF}),
)
