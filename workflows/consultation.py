"""ConsultationWorkflow: one telephone consultation, and the invited referral it may await.

The call is recorded when it ends (caller, agency, concern, advice, outcome). No
history look-up ever runs here, names or not: the history activity is never called
(tests assert no such activity is scheduled in the workflow's history). An invited referral is awaited until a due time on the
working-day calendar (computed by an activity); a contact quoting the reference
signals `referral_arrived` and closes the consultation as linked. When the time
passes first, a follow-up is raised for the consultant to ring the caller back,
and the call's outcome is recorded with an Update.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeKey

with workflow.unsafe.imports_passed_through():
    from activities.contact import ContactActivities
    from activities.doors import CalendarActivities, ConsultationActivities
    from models.consultation import (
        NO_HISTORY_LOOKUP,
        ConsultationClosure,
        ConsultationFlag,
        ConsultationInput,
        ConsultationOutcome,
        ConsultationRecordRow,
        ConsultationStage,
        ConsultationState,
        FollowUpCall,
        FollowUpOutcome,
        ReferralArrived,
    )
    from models.messages import DocumentRequest, Notification
    from workflows import search_attributes as sa
    from workflows.base import AuditedWorkflow, check_role, remaining, wrong_stage

REFERRAL_ARRIVED = "referral_arrived"
_MIN_WAIT = timedelta(milliseconds=1)


@workflow.defn(name="ConsultationWorkflow")
class ConsultationWorkflow(AuditedWorkflow):
    @workflow.init
    def __init__(self, inp: ConsultationInput) -> None:
        c = inp.consultation
        self.inp = inp
        self._init_base(c.id, "consultation", inp.timescales.activity_attempts)
        self._arrival: ReferralArrived | None = None
        self.state = ConsultationState(
            consultation_id=c.id,
            reference=c.reference,
            stage=ConsultationStage.RECORDING,
            stage_since=workflow.now(),
            holder=inp.consultant.username,
            called_at=c.called_at,
            caller=c.caller,
            anonymous=c.anonymous,
            children=[] if c.anonymous else [child.display_name for child in c.children],
            concern=c.concern,
            factors=list(c.factors),
            advice=c.advice,
            outcome=c.outcome,
            history_lookup=NO_HISTORY_LOOKUP,
        )

    # ------------------------------------------------------------------ the flow
    @workflow.run
    async def run(self, inp: ConsultationInput) -> ConsultationState:
        c, s = inp.consultation, self.state
        self.sync()
        if c.outcome == ConsultationOutcome.REFERRAL_INVITED:
            s.referral_due_at = await self.act(
                CalendarActivities.working_day_due, c.called_at, inp.timescales.invited_referral
            )
        await self.act(ConsultationActivities.record_consultation, self._row())
        s.document_id = await self.act(
            ContactActivities.render_document,
            DocumentRequest(
                document_id=f"{workflow.info().workflow_id}/consultation-record",
                subject_id=self.subject_id, kind="consultation_record", title="Telephone consultation",
                context={"contact": {"id": self.subject_id}, "state": s.model_dump(mode="json"), "at": workflow.now().isoformat()},
            ),
        )
        await self.audit(
            inp.consultant, "consultation_recorded", c.advice,
            outcome=c.outcome.value, caller_agency=c.caller.agency, anonymous=c.anonymous,
            children_named=len(c.children), history_lookup="not performed: consultation",
            reference=s.reference, referral_due_at=s.referral_due_at.isoformat() if s.referral_due_at else None,
        )
        if c.outcome == ConsultationOutcome.ADVICE_ONLY:
            await self._close(ConsultationClosure.ADVICE_ONLY)
            return self._refresh()

        self._set_stage(ConsultationStage.AWAITING_REFERRAL)
        assert s.referral_due_at is not None
        try:
            await workflow.wait_condition(
                lambda: self._arrival is not None, timeout=max(remaining(s.referral_due_at), _MIN_WAIT)
            )
        except TimeoutError:
            await self._raise_follow_up()
            await workflow.wait_condition(lambda: self._arrival is not None or s.follow_up is not None)
        if self._arrival is not None:
            await self._link(self._arrival)
        else:
            await self._close(ConsultationClosure(s.follow_up.outcome.value if s.follow_up else "escalated"))
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._refresh()

    async def _raise_follow_up(self) -> None:
        s = self.state
        s.follow_up_raised_at = workflow.now()
        self._set_stage(ConsultationStage.FOLLOW_UP)
        await self.act(ConsultationActivities.record_consultation, self._row())
        await self.act(
            ContactActivities.notify,
            Notification(
                idempotency_key=f"{workflow.info().workflow_id}/follow-up",
                subject_id=self.subject_id,
                roles=["social_worker"],
                subject=f"Ring back: invited referral {s.reference} has not arrived",
                body=f"{s.holder}: the referral invited on the consultation of {s.called_at:%d/%m/%Y %H:%M} UTC "
                f"({s.caller.name}, {s.caller.agency}) was due by {s.referral_due_at:%d/%m/%Y %H:%M} UTC and has "
                "not arrived. Ring the caller back and record the outcome: "
                f"frontdoor consultation follow-up {self.subject_id} --outcome ...",
            ),
        )
        await self.audit(None, "follow_up_raised", due=s.referral_due_at.isoformat() if s.referral_due_at else None)

    async def _link(self, arrival: ReferralArrived) -> None:
        s = self.state
        s.referral_contact_id, s.referral_received_at = arrival.contact_id, arrival.received_at
        s.referral_on_time = s.referral_due_at is None or arrival.received_at <= s.referral_due_at
        await self.audit(
            None, "referral_received", contact_id=arrival.contact_id, on_time=s.referral_on_time,
            after_follow_up=s.follow_up_raised_at is not None,
        )
        await self._close(ConsultationClosure.REFERRAL_RECEIVED)

    async def _close(self, closure: ConsultationClosure) -> None:
        self.state.closure, self.state.closed_at = closure, workflow.now()
        self._set_stage(ConsultationStage.CLOSED)
        await self.act(ConsultationActivities.record_consultation, self._row())
        await self.audit(None, "closed", closure=closure.value)

    # ------------------------------------------------------------------ helpers
    def _set_stage(self, stage: ConsultationStage) -> None:
        if stage != self.state.stage:
            self.state.stage, self.state.stage_since = stage, workflow.now()
        self.sync()

    def _row(self) -> ConsultationRecordRow:
        s, c = self.state, self.inp.consultation
        return ConsultationRecordRow(
            id=s.consultation_id, workflow_id=workflow.info().workflow_id, called_at=s.called_at,
            caller_agency=s.caller.agency, anonymous=s.anonymous, children_named=len(c.children),
            factors=s.factors, outcome=s.outcome.value, reference=s.reference, referral_due_at=s.referral_due_at,
            referral_contact_id=s.referral_contact_id, referral_received_at=s.referral_received_at,
            follow_up_raised_at=s.follow_up_raised_at,
            follow_up_outcome=s.follow_up.outcome.value if s.follow_up else None,
            closure=s.closure.value if s.closure else None, closed_at=s.closed_at,
        )

    def _flags(self) -> list[str]:
        s = self.state
        flags = []
        if s.stage in (ConsultationStage.AWAITING_REFERRAL, ConsultationStage.FOLLOW_UP):
            flags.append(ConsultationFlag.REFERRAL_AWAITED.value)
        if s.stage == ConsultationStage.FOLLOW_UP:
            flags.append(ConsultationFlag.FOLLOW_UP_DUE.value)
        return flags

    def search_attributes(self) -> dict[SearchAttributeKey, Any]:
        s = self.state
        return {
            sa.STAGE: s.stage.value,
            sa.SINCE: s.stage_since,
            sa.HOLDER: s.holder,
            sa.RECEIVED: s.called_at,
            sa.REF: s.reference,
            sa.FLAGS: self._flags(),
            sa.DUE: s.referral_due_at if s.stage in (ConsultationStage.AWAITING_REFERRAL, ConsultationStage.FOLLOW_UP) else None,
        }

    def _refresh(self) -> ConsultationState:
        flags = sorted(self._flags() + (["faulted"] if self.fault else []))
        return self.state.model_copy(update={"flags": flags, "fault": self.fault})

    # ------------------------------------------------------------------ queries and signals
    @workflow.query
    def current_state(self) -> ConsultationState:
        return self._refresh()

    @workflow.signal(name=REFERRAL_ARRIVED)
    def referral_arrived(self, arrival: ReferralArrived) -> None:
        """A contact quoting this consultation's reference has arrived (from the contact workflow)."""
        if self._arrival is None and self.state.closure is None and self.state.reference is not None:
            self._arrival = arrival

    # ------------------------------------------------------------------ follow-up call
    def _check_follow_up(self, f: FollowUpCall) -> None:
        check_role(f.actor, "consultation_follow_up")
        if self.state.stage != ConsultationStage.FOLLOW_UP or self.state.follow_up is not None:
            raise wrong_stage(
                f"consultation {self.subject_id} is {self.state.stage.value}: a follow-up call is recorded "
                "once the invited referral is overdue"
            )
        if self._arrival is not None:
            raise wrong_stage(f"the referral has just arrived as contact {self._arrival.contact_id}: no follow-up needed")

    @workflow.update
    async def record_follow_up(self, f: FollowUpCall) -> ConsultationState:
        self._check_follow_up(f)
        self.state.follow_up, self.state.follow_up_at = f, workflow.now()
        self.state.holder = f.actor.username
        if f.outcome == FollowUpOutcome.ESCALATED:
            await self.act(
                ContactActivities.notify,
                Notification(
                    idempotency_key=f"{workflow.info().workflow_id}/escalated",
                    subject_id=self.subject_id,
                    roles=["team_manager"],
                    subject=f"Consultation {self.subject_id} escalated: invited referral not made",
                    body=f"{f.actor.username} rang the caller back ({self.state.caller.agency}) and escalates: {f.note}",
                ),
            )
        await self.audit(f.actor, "follow_up_call", f.note, outcome=f.outcome.value, contact_id=f.contact_id)
        return self._refresh()

    @record_follow_up.validator
    def _validate_follow_up(self, f: FollowUpCall) -> None:
        self._check_follow_up(f)
