"""ContactWorkflow: one durable workflow per contact, from intake to handoff.

Stages: intake -> history check -> triage -> (urgent pickup | SPA: consent -> MAP
checks -> recommendation -> management decision | early help | advice) -> handoff.
Human actions are Updates whose validators refuse, with the reason, anything the
stage or the person's role does not allow. The management decision deadline is a
durable timer that an extension moves.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from functools import partial
from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeKey

with workflow.unsafe.imports_passed_through():
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
    from models.codes import (
        DECISION_OUTCOMES,
        ROUTE_LEVELS,
        ConsentStatus,
        Outcome,
        Route,
        team_for_outcome,
    )
    from models.messages import (
        CaseUpdate,
        DocumentRequest,
        HandoffRequest,
        MapDispatch,
        Notification,
    )
    from models.roles import Actor
    from models.state import (
        ConsentEvent,
        ConsentState,
        ContactState,
        ContactWorkflowInput,
        ExtensionRecord,
        Flag,
        Handoff,
        MapCheck,
        Stage,
    )
    from workflows import search_attributes as sa
    from workflows.base import (
        AuditedWorkflow,
        check_role,
        invalid,
        remaining,
        require_weighed,
        wrong_stage,
    )
    from workflows.door_hooks import enter_from_step_up, link_consultation, start_early_help

SPA_OPEN_STAGES = (Stage.AWAITING_CONSENT, Stage.MAP_CHECKS, Stage.AWAITING_RECOMMENDATION, Stage.AWAITING_DECISION)


@workflow.defn(name="ContactWorkflow")
class ContactWorkflow(AuditedWorkflow):
    @workflow.init
    def __init__(self, inp: ContactWorkflowInput) -> None:
        contact = inp.contact
        self.inp = inp
        self._init_base(contact.id, "contact", inp.timescales.activity_attempts)
        self._deadline_version = 0
        self._tasks: list[asyncio.Task[None]] = []
        police_delay = None
        if contact.police_attendance_at is not None:
            police_delay = contact.received_at - contact.police_attendance_at
        self.state = ContactState(
            contact_id=contact.id,
            stage=Stage.INTAKE,
            stage_since=workflow.now(),
            holder=inp.submitted_by,
            received_at=contact.received_at,
            source=contact.source,
            children=[c.display_name for c in contact.children],
            police_delay=police_delay,
            police_delay_flagged=bool(police_delay and police_delay > inp.timescales.police_delay_flag),
            review_due_at=inp.review_due_at,
            consent=ConsentState(status=contact.consent.status, from_referrer=True),
        )

    # ------------------------------------------------------------------ the flow
    @workflow.run
    async def run(self, inp: ContactWorkflowInput) -> ContactState:
        self.sync()
        await self.act(ContactActivities.record_contact, inp.contact)
        await self.audit(
            None,
            "contact_received",
            source=inp.contact.source,
            submitted_by=inp.submitted_by,
            police_delay_hours=self._police_delay_hours(),
        )
        if inp.contact.consultation_ref and workflow.patched("link-consultation"):
            await link_consultation(self, inp.contact.consultation_ref)
        self._tasks.append(asyncio.create_task(self._watch_review()))

        self._set_stage(Stage.HISTORY_CHECK)
        history = await self.act(ContactActivities.check_history, inp.contact.id)
        self.state.history = history
        self.state.suggested_level = history.suggestion.level if history.suggestion else None
        await self.audit(
            None,
            "history_checked",
            matches=len(history.matches),
            recurring=[p.theme for p in history.recurring],
            suggested_level=int(self.state.suggested_level) if self.state.suggested_level else None,
        )
        self._set_stage(Stage.AWAITING_TRIAGE)
        if inp.entry == "step_up" and inp.step_up is not None:
            await enter_from_step_up(self, inp.step_up)
        await workflow.wait_condition(lambda: self.state.triage is not None)
        assert self.state.triage is not None
        route = self.state.triage.route
        if route == Route.URGENT:
            await self._urgent()
        elif route == Route.SPA:
            await self._single_point_of_access()
            if self.state.outcome == Outcome.TARGETED_EARLY_HELP and workflow.patched("start-early-help"):
                await start_early_help(self, "step_down")
        elif route == Route.EARLY_HELP:
            await self._hand_off(Outcome.EARLY_HELP_HUB, "Routed to the early help hub at triage")
            if workflow.patched("start-early-help"):
                await start_early_help(self, "triage")
        else:
            await self._hand_off(Outcome.ADVICE_SIGNPOSTING, "Advice or signposting given at triage")
        await self._close()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.state

    async def _urgent(self) -> None:
        """Immediate and significant risk: hand off at once, then make sure it is picked up."""
        await self._hand_off(Outcome.URGENT_ASSESSMENT, "Immediate and significant risk: strategy discussion")
        self.state.pickup_due_at = workflow.now() + self.inp.timescales.urgent_pickup
        self._set_stage(Stage.AWAITING_PICKUP)
        try:
            await workflow.wait_condition(
                lambda: self.state.picked_up_at is not None, timeout=remaining(self.state.pickup_due_at)
            )
        except TimeoutError:
            self.state.pickup_escalated = True
            self.sync()
            await self.act(
                ContactActivities.notify,
                Notification(
                    idempotency_key=f"{workflow.info().workflow_id}/pickup-escalation",
                    subject_id=self.subject_id,
                    roles=["team_manager", "service_manager"],
                    subject=f"URGENT contact {self.subject_id} not picked up",
                    body="An urgent contact passed to the assessment team has not been picked up within "
                    f"{self.inp.timescales.urgent_pickup}. Please make sure it is allocated now.",
                ),
            )
            await self.audit(None, "urgent_pickup_escalated")
            await workflow.wait_condition(lambda: self.state.picked_up_at is not None)

    async def _single_point_of_access(self) -> None:
        now = workflow.now()
        self.state.spa_entered_at = now
        self.state.decision_due_at = now + self.inp.timescales.decision_deadline
        self._set_stage(self._spa_stage())
        while self.state.decision is None:
            due = self.state.decision_due_at
            assert due is not None
            version = self._deadline_version
            if due > workflow.now():
                try:
                    await workflow.wait_condition(
                        partial(self._decided_or_moved, version),
                        timeout=remaining(due),
                    )
                except TimeoutError:
                    pass
                continue
            if not self.state.decision_overdue:
                await self._mark_overdue()
            await workflow.wait_condition(
                partial(self._decided_or_moved, version)
            )
        await workflow.wait_condition(lambda: self.state.stage == Stage.HANDOFF)
        decision = self.state.decision
        await self._hand_off(decision.outcome, decision.rationale, decision.quadrant)

    def _decided_or_moved(self, version: int) -> bool:
        return self.state.decision is not None or self._deadline_version != version

    async def _mark_overdue(self) -> None:
        self.state.decision_overdue = True
        self.sync()
        await self.act(
            ContactActivities.notify,
            Notification(
                idempotency_key=f"{workflow.info().workflow_id}/overdue/{self._deadline_version}",
                subject_id=self.subject_id,
                roles=["team_manager", "service_manager"],
                subject=f"Decision overdue on contact {self.subject_id}",
                body=f"The management decision was due {self.state.decision_due_at:%Y-%m-%d %H:%M} UTC "
                f"and has not been made. Stage: {self.state.stage.value}. Decide, or extend with a reason.",
            ),
        )
        await self.audit(None, "decision_overdue", due=self.state.decision_due_at.isoformat() if self.state.decision_due_at else None)

    async def _hand_off(self, outcome: Outcome, summary: str, quadrant: Any = None) -> None:
        self._set_stage(Stage.HANDOFF)
        info = workflow.info()
        team = team_for_outcome(outcome, quadrant)
        result = await self.act(
            ContactActivities.hand_off,
            HandoffRequest(
                contact_id=self.subject_id, workflow_id=info.workflow_id, team=team,
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
        self._set_stage(Stage.CLOSED)
        await self.act(ContactActivities.update_case_record, self._case_update())
        await self.audit(None, "closed", outcome=self.state.outcome.value if self.state.outcome else None)

    async def _watch_review(self) -> None:
        """A contact not reviewed by the end of its day shows as stuck."""
        try:
            await workflow.wait_condition(
                lambda: self.state.review is not None or self.state.stage == Stage.CLOSED,
                timeout=max(remaining(self.state.review_due_at), timedelta(milliseconds=1)),
            )
        except TimeoutError:
            self.state.review_late = True
            self.sync()

    async def _watch_agency(self, check: MapCheck) -> None:
        try:
            await workflow.wait_condition(
                lambda: not check.outstanding, timeout=max(remaining(check.due_at), timedelta(milliseconds=1))
            )
        except TimeoutError:
            self.sync()  # agency_late
            check.chased_at = workflow.now()
            await self.act(
                ContactActivities.send_map_request,
                self._dispatch(check, chase=True),
            )
            await self.audit(None, "map_chased", agency=check.agency.value)

    # ------------------------------------------------------------------ helpers
    def _police_delay_hours(self) -> float | None:
        delay = self.state.police_delay
        return round(delay.total_seconds() / 3600, 1) if delay is not None else None

    def _set_stage(self, stage: Stage) -> None:
        if stage != self.state.stage:
            self.state.stage = stage
            self.state.stage_since = workflow.now()
        self.sync()

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
            contact_id=s.contact_id,
            stage=s.stage.value,
            level=int(s.triage.level) if s.triage else None,
            route=s.triage.route.value if s.triage else None,
            outcome=s.outcome,
            decided_at=s.decided_at,
            closed_at=s.closed_at,
        )

    def _dispatch(self, check: MapCheck, chase: bool = False) -> MapDispatch:
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
        s, now = self.state, workflow.now()
        flags: set[str] = set()
        if s.review is None and s.stage != Stage.CLOSED:
            flags.add(Flag.UNREVIEWED)
            if s.review_late:
                flags.add(Flag.REVIEW_LATE)
        if s.decision_overdue and s.decision is None:
            flags.add(Flag.DECISION_OVERDUE)
        if any(m.outstanding and m.due_at <= now for m in s.map_checks) and s.recommendation is None:
            flags.add(Flag.AGENCY_LATE)
        if s.stage == Stage.AWAITING_PICKUP:
            flags.add(Flag.AWAITING_PICKUP)
            if s.pickup_escalated:
                flags.add(Flag.PICKUP_LATE)
        if s.police_delay_flagged:
            flags.add(Flag.POLICE_DELAY)
        if s.history and s.history.recurring:
            flags.add(Flag.RECURRING_PATTERN)
        due = None
        if s.stage in SPA_OPEN_STAGES:
            due = s.decision_due_at
        elif s.stage == Stage.AWAITING_PICKUP:
            due = s.pickup_due_at
        return {
            sa.STAGE: s.stage.value,
            sa.SINCE: s.stage_since,
            sa.HOLDER: s.holder,
            sa.SOURCE: s.source,
            sa.RECEIVED: s.received_at,
            sa.ROUTE: s.triage.route.value if s.triage else None,
            sa.LEVEL: int(s.triage.level) if s.triage else None,
            sa.PRIORITY: s.review.rag.value if s.review else None,
            sa.FLAGS: sorted(flags),
            sa.THEMES: s.recurring_themes,
            sa.DUE: due,
        }

    def _refresh(self) -> ContactState:
        """The state as callers see it, with its current flags and fault (a copy: queries must not mutate)."""
        flags = sorted(self.search_attributes()[sa.FLAGS] + (["faulted"] if self.fault else []))
        return self.state.model_copy(update={"flags": flags, "fault": self.fault})

    # ------------------------------------------------------------------ queries
    @workflow.query
    def current_state(self) -> ContactState:
        return self._refresh()

    # ------------------------------------------------------------------ triage
    def _check_triage(self, t: Triage) -> None:
        check_role(t.actor, "triage")
        if self.state.stage != Stage.AWAITING_TRIAGE:
            raise wrong_stage(f"contact {self.subject_id} is at {self.state.stage.value}, not awaiting triage")
        if t.level not in ROUTE_LEVELS[t.route]:
            allowed = ", ".join(str(int(lv)) for lv in sorted(ROUTE_LEVELS[t.route]))
            raise invalid(f"route {t.route.value} is for level(s) {allowed}, not level {int(t.level)}")
        suggested = self.state.suggested_level
        if suggested is not None and t.level != suggested and not (t.departure_reason or "").strip():
            raise invalid(
                f"the threshold rules suggest level {int(suggested)}; triage at level {int(t.level)} "
                "needs a departure_reason saying why"
            )
        require_weighed(self.state.recurring_themes, t.history_considered, "history_considered")

    @workflow.update
    async def triage(self, t: Triage) -> ContactState:
        self._check_triage(t)
        self.state.triage, self.state.triaged_at = t, workflow.now()
        if t.history_considered:
            self.state.history_considered_by.append(t.actor.username)
        self._took(t.actor)
        await self.audit(
            t.actor, "triage", t.rationale,
            level=int(t.level), route=t.route.value,
            suggested_level=int(self.state.suggested_level) if self.state.suggested_level else None,
            departure_reason=t.departure_reason,
            threshold_advice=t.threshold_advice.model_dump() if t.threshold_advice else None,
            history_considered=t.history_considered,
        )
        await self.act(ContactActivities.update_case_record, self._case_update())
        return self._refresh()

    @triage.validator
    def _validate_triage(self, t: Triage) -> None:
        self._check_triage(t)

    # ------------------------------------------------------------------ daily review
    def _check_review(self, r: Review) -> None:
        check_role(r.actor, "review")
        if self.state.stage == Stage.CLOSED:
            raise wrong_stage(f"contact {self.subject_id} is closed")

    @workflow.update
    async def review(self, r: Review) -> ContactState:
        self._check_review(r)
        self.state.review, self.state.reviewed_at = r, workflow.now()
        self._took(r.actor)
        self.sync()
        await self.audit(r.actor, "daily_review", r.note, rag=r.rag.value)
        return self._refresh()

    @review.validator
    def _validate_review(self, r: Review) -> None:
        self._check_review(r)

    # ------------------------------------------------------------------ urgent pickup
    def _check_pickup(self, p: Pickup) -> None:
        check_role(p.actor, "pickup")
        if self.state.stage != Stage.AWAITING_PICKUP:
            raise wrong_stage(f"contact {self.subject_id} is at {self.state.stage.value}, not awaiting pickup")

    @workflow.update
    async def pickup(self, p: Pickup) -> ContactState:
        self._check_pickup(p)
        self.state.picked_up_by, self.state.picked_up_at = p.actor.username, workflow.now()
        self._took(p.actor)
        await self.audit(p.actor, "urgent_picked_up", p.note)
        return self._refresh()

    @pickup.validator
    def _validate_pickup(self, p: Pickup) -> None:
        self._check_pickup(p)

    # ------------------------------------------------------------------ consent
    def _check_consent_open(self) -> None:
        if self.state.stage not in SPA_OPEN_STAGES or self.state.recommendation is not None:
            raise wrong_stage(
                f"consent is handled in the SPA before the recommendation; contact is at {self.state.stage.value}"
            )
        if self.state.consent.cleared_for_map:
            raise wrong_stage(f"consent is already {self.state.consent.status.value}")

    def _check_consent(self, c: ConsentUpdate) -> None:
        check_role(c.actor, "record_consent")
        self._check_consent_open()

    @workflow.update
    async def record_consent(self, c: ConsentUpdate) -> ContactState:
        self._check_consent(c)
        consent = self.state.consent
        consent.status, consent.from_referrer = c.status, False
        consent.events.append(ConsentEvent(at=workflow.now(), by=c.actor.username, status=c.status, note=c.note))
        self._took(c.actor)
        self._set_stage(self._spa_stage())
        await self.audit(c.actor, f"consent_{c.status.value}", c.note)
        return self._refresh()

    @record_consent.validator
    def _validate_consent(self, c: ConsentUpdate) -> None:
        self._check_consent(c)

    def _check_override(self, o: ConsentOverride) -> None:
        check_role(o.actor, "override_consent")
        self._check_consent_open()

    @workflow.update
    async def override_consent(self, o: ConsentOverride) -> ContactState:
        self._check_override(o)
        consent = self.state.consent
        consent.status, consent.override = ConsentStatus.OVERRIDDEN, o
        consent.events.append(
            ConsentEvent(at=workflow.now(), by=o.actor.username, status=ConsentStatus.OVERRIDDEN, note=o.explanation)
        )
        self._set_stage(self._spa_stage())
        await self.audit(o.actor, "consent_overridden", o.explanation, reason=o.reason.value)
        return self._refresh()

    @override_consent.validator
    def _validate_override(self, o: ConsentOverride) -> None:
        self._check_override(o)

    # ------------------------------------------------------------------ MAP checks
    def _check_map_request(self, m: MapRequest) -> None:
        check_role(m.actor, "request_map")
        if self.state.stage not in (Stage.AWAITING_CONSENT, Stage.MAP_CHECKS, Stage.AWAITING_RECOMMENDATION):
            raise wrong_stage(f"MAP checks are made in the SPA before the recommendation; contact is at {self.state.stage.value}")
        if not self.state.consent.cleared_for_map:
            raise wrong_stage(
                f"consent is {self.state.consent.status.value}: no MAP request may be sent until consent "
                "is given or a team manager overrides it with a reason"
            )
        asked = {c.agency for c in self.state.map_checks}
        again = [a.value for a in m.agencies if a in asked]
        if again:
            raise invalid(f"already asked: {', '.join(again)}")
        if len(set(m.agencies)) != len(m.agencies):
            raise invalid("an agency is named twice")

    @workflow.update
    async def request_map_checks(self, m: MapRequest) -> ContactState:
        self._check_map_request(m)
        now = workflow.now()
        new = [
            MapCheck(agency=a, requested_at=now, requested_by=m.actor.username, due_at=now + self.inp.timescales.map_response_due)
            for a in m.agencies
        ]
        self.state.map_checks.extend(new)
        self._took(m.actor)
        self._set_stage(self._spa_stage())
        dispatches = []
        for check in new:
            d = self._dispatch(check)
            d.questions = m.questions
            dispatches.append(self.act(ContactActivities.send_map_request, d))
        doc_ids = await asyncio.gather(*dispatches)
        for check, doc_id in zip(new, doc_ids, strict=True):
            check.document_id = doc_id
            self._tasks.append(asyncio.create_task(self._watch_agency(check)))
        await self.audit(m.actor, "map_requested", m.questions, agencies=[a.value for a in m.agencies])
        return self._refresh()

    @request_map_checks.validator
    def _validate_map_request(self, m: MapRequest) -> None:
        self._check_map_request(m)

    def _outstanding_check(self, agency: Any) -> MapCheck:
        for check in self.state.map_checks:
            if check.agency == agency:
                if not check.outstanding:
                    raise invalid(f"{agency.value} has already answered or been set aside")
                return check
        raise invalid(f"{agency.value} was not asked; ask it first with a MAP request")

    def _check_map_response(self, r: MapResponse) -> None:
        check_role(r.actor, "record_map_response")
        self._outstanding_check(r.agency)

    @workflow.update
    async def record_map_response(self, r: MapResponse) -> ContactState:
        self._check_map_response(r)
        check = self._outstanding_check(r.agency)
        check.responded_at, check.response, check.known_to_agency = workflow.now(), r.information, r.known_to_agency
        self._set_stage(self._spa_stage())
        await self.act(ContactActivities.record_agency_answer, self.subject_id, r.agency.value, r.information, None)
        await self.audit(r.actor, "map_response", agency=r.agency.value, known_to_agency=r.known_to_agency)
        return self._refresh()

    @record_map_response.validator
    def _validate_map_response(self, r: MapResponse) -> None:
        self._check_map_response(r)

    def _check_proceed(self, p: ProceedWithoutAgency) -> None:
        check_role(p.actor, "proceed_without_agency")
        self._outstanding_check(p.agency)

    @workflow.update
    async def proceed_without_agency(self, p: ProceedWithoutAgency) -> ContactState:
        self._check_proceed(p)
        check = self._outstanding_check(p.agency)
        check.waived_reason, check.waived_by = p.reason, p.actor.username
        self._set_stage(self._spa_stage())
        await self.act(ContactActivities.record_agency_answer, self.subject_id, p.agency.value, None, p.reason)
        await self.audit(p.actor, "map_proceed_without", p.reason, agency=p.agency.value)
        return self._refresh()

    @proceed_without_agency.validator
    def _validate_proceed(self, p: ProceedWithoutAgency) -> None:
        self._check_proceed(p)

    # ------------------------------------------------------------------ recommendation
    def _check_recommendation(self, r: Recommendation) -> None:
        check_role(r.actor, "recommend")
        if self.state.stage not in (Stage.MAP_CHECKS, Stage.AWAITING_RECOMMENDATION):
            raise wrong_stage(
                f"a recommendation follows consent and MAP checks in the SPA; contact is at {self.state.stage.value}"
            )
        waiting = [m.agency.value for m in self.state.outstanding_agencies]
        if waiting:
            raise wrong_stage(
                f"still waiting on {', '.join(waiting)}: record their answers or proceed without them, saying why"
            )
        if r.recommended_outcome not in DECISION_OUTCOMES:
            raise invalid(f"recommend one of: {', '.join(o.value for o in DECISION_OUTCOMES)}")

    @workflow.update
    async def recommend(self, r: Recommendation) -> ContactState:
        self._check_recommendation(r)
        self.state.recommendation = r
        self._took(r.actor)
        self._set_stage(self._spa_stage())
        context = self._doc_context() | {"recommendation": r.model_dump(mode="json")}
        self.state.recommendation_document_id = await self.act(
            ContactActivities.render_document,
            DocumentRequest(
                document_id=f"{workflow.info().workflow_id}/recommendation",
                subject_id=self.subject_id, kind="recommendation", title="Social worker's recommendation",
                context=context,
            ),
        )
        await self.audit(r.actor, "recommendation", r.summary, recommended_outcome=r.recommended_outcome.value)
        return self._refresh()

    @recommend.validator
    def _validate_recommendation(self, r: Recommendation) -> None:
        self._check_recommendation(r)

    # ------------------------------------------------------------------ decision
    def _check_decision(self, d: ManagementDecision) -> None:
        check_role(d.actor, "decide")
        if self.state.stage != Stage.AWAITING_DECISION:
            raise wrong_stage(
                f"a management decision needs the social worker's recommendation first; contact is at {self.state.stage.value}"
            )
        if d.outcome not in DECISION_OUTCOMES:
            raise invalid(f"decide one of: {', '.join(o.value for o in DECISION_OUTCOMES)}")
        require_weighed(self.state.recurring_themes, d.recurring_pattern_considered, "recurring_pattern_considered")

    @workflow.update
    async def decide(self, d: ManagementDecision) -> ContactState:
        self._check_decision(d)
        self.state.decision, self.state.decided_at = d, workflow.now()
        self._took(d.actor)
        on_time = self.state.decision_due_at is None or workflow.now() <= self.state.decision_due_at
        await self.act(
            ContactActivities.render_document,
            DocumentRequest(
                document_id=f"{workflow.info().workflow_id}/decision",
                subject_id=self.subject_id, kind="decision_record", title="Management decision",
                context=self._doc_context() | {"decision": d.model_dump(mode="json"), "on_time": on_time},
            ),
        )
        await self.audit(
            d.actor, "management_decision", d.rationale, outcome=d.outcome.value,
            quadrant=d.quadrant.value if d.quadrant else None, on_time=on_time,
            recurring_pattern_considered=d.recurring_pattern_considered,
        )
        self._set_stage(Stage.HANDOFF)
        return self._refresh()

    @decide.validator
    def _validate_decision(self, d: ManagementDecision) -> None:
        self._check_decision(d)

    # ------------------------------------------------------------------ extension
    def _check_extension(self, e: Extension) -> None:
        check_role(e.actor, "extend")
        if self.state.stage not in SPA_OPEN_STAGES or self.state.decision is not None:
            raise wrong_stage(f"only an SPA contact awaiting its decision can be extended; it is at {self.state.stage.value}")
        current = self.state.decision_due_at
        if current is not None and e.new_deadline <= current:
            raise invalid(f"the new deadline must be after the current one ({current.isoformat()})")
        if e.new_deadline <= workflow.now():
            raise invalid("the new deadline is in the past")

    @workflow.update
    async def extend(self, e: Extension) -> ContactState:
        self._check_extension(e)
        previous = self.state.decision_due_at
        assert previous is not None
        self.state.extensions.append(ExtensionRecord(extension=e, previous_deadline=previous, at=workflow.now()))
        self.state.decision_due_at = e.new_deadline
        self.state.decision_overdue = False
        self._deadline_version += 1
        self.sync()
        await self.audit(
            e.actor, "deadline_extended", e.explanation, reason=e.reason.value,
            previous_deadline=previous.isoformat(), new_deadline=e.new_deadline.isoformat(),
        )
        return self._refresh()

    @extend.validator
    def _validate_extension(self, e: Extension) -> None:
        self._check_extension(e)
