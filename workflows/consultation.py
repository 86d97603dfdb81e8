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

from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeKey, SearchAttributePair

with workflow.unsafe.imports_passed_through():
    import workflows.process as process
    import workflows.search_attributes as sa
    from activities.case import CaseActivities
    from activities.consultation import ConsultationActivities
    from models.consultation import (
        NO_HISTORY_LOOKUP,
        Consultation,
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
    from models.messages import DocumentRequest
    from models.roles import CONSULTATION_READERS, SOCIAL_WORK, Actor
    from workflows.base import ANSWER_BEFORE_SENDING, SHARED, AuditedWorkflow, human_action
    from workflows.deadline import ONE_MS, Deadline, DeadlineRule

KIND = "consultation"
REFERRAL_ARRIVED = "referral_arrived"


def workflow_id(subject_id: str) -> str:
    return f"consultation-{subject_id}"


def _follow_up_ready(s: ConsultationState) -> str | None:
    if s.referral_contact_id is not None:
        return f"the referral has arrived as contact {s.referral_contact_id}: no follow-up needed"
    return None if s.follow_up is None else "the follow-up call is recorded"


ACTIONS = process.ActionTable(
    process.Action("record_follow_up", FollowUpCall, SOCIAL_WORK, "Record the follow-up call",
                   stages=frozenset({ConsultationStage.FOLLOW_UP}), ready=_follow_up_ready,
                   needs="is recorded once the invited referral is overdue",
                   help="Once the invited referral is overdue: ring the caller back and record what they said."),
    *SHARED,
)


def _follow_up_message(wf: ConsultationWorkflow, d: Deadline) -> tuple[str, str]:
    s = wf.state
    return (
        f"Ring back: invited referral {s.reference} has not arrived",
        f"{s.holder}: the referral invited on the consultation of {s.called_at:%d/%m/%Y %H:%M} UTC "
        f"({s.caller.name}, {s.caller.agency}) was due by {d.due_at:%d/%m/%Y %H:%M} UTC and has "
        "not arrived. Ring the caller back and record the outcome: "
        f"frontdoor consultation record_follow_up {wf.subject_id} --outcome ...",
    )


async def _record_row(wf: ConsultationWorkflow, d: Deadline) -> None:
    await wf.act(ConsultationActivities.record_consultation, wf._row())


INVITED_REFERRAL = DeadlineRule(
    "referral", flags=(ConsultationFlag.FOLLOW_UP_DUE,), tell=("social_worker",), trail="follow_up_raised",
    message=_follow_up_message, marks=lambda wf, d: wf._set_stage(ConsultationStage.FOLLOW_UP), then=_record_row,
    floor=ONE_MS, notify_key=lambda wf, d: f"{workflow.info().workflow_id}/follow-up",
)


@workflow.defn(name="ConsultationWorkflow")
class ConsultationWorkflow(
    AuditedWorkflow[ConsultationInput],
    kind=KIND, noun="consultation", State=ConsultationState, actions=ACTIONS, workflow_id=workflow_id,
):
    opening = frozenset({ConsultationStage.RECORDING})  # the start's answer: recorded, its document made

    @workflow.init
    def __init__(self, inp: ConsultationInput) -> None:
        c = inp.consultation
        self._begin(inp, c.id)
        self._arrival: ReferralArrived | None = None
        self._escalation: FollowUpCall | None = None  # told to the managers by the run, after the answer
        self.referral_deadline: Deadline | None = None
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
            due = await self.act(CaseActivities.working_day_due, c.called_at, inp.timescales.invited_referral)
            self.referral_deadline = Deadline.begin(self, INVITED_REFERRAL, due, started_at=c.called_at)
            s.referral_deadline = self.referral_deadline.record
        await self.write(ConsultationActivities.record_consultation, self._row())
        s.document_id = await self.write(
            CaseActivities.render_document,
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
        if self.referral_deadline is None:
            await self._close(ConsultationClosure.ADVICE_ONLY)
            await workflow.wait_condition(workflow.all_handlers_finished)  # the start's answer (`opened`) first
            return self.view()  # type: ignore[no-any-return]

        self._set_stage(ConsultationStage.AWAITING_REFERRAL)
        await self.referral_deadline.wait(lambda: self._arrival is not None or s.follow_up is not None)
        self.referral_deadline.finish()
        if self._escalation is not None:  # never on a run begun before ANSWER_BEFORE_SENDING
            await self._escalate(self._escalation)
        if self._arrival is not None:
            await self._link(self._arrival)
        else:
            await self._close(ConsultationClosure(s.follow_up.outcome.value if s.follow_up else "escalated"))
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.view()  # type: ignore[no-any-return]

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
        await self.write(ConsultationActivities.record_consultation, self._row())
        await self.audit(None, "closed", closure=closure.value)

    # ------------------------------------------------------------------ helpers
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

    def search_attributes(self) -> dict[SearchAttributeKey, Any]:
        s = self.state
        waiting = s.stage in (ConsultationStage.AWAITING_REFERRAL, ConsultationStage.FOLLOW_UP)
        return {
            **self.stage_attributes(),
            sa.RECEIVED: s.called_at,
            sa.REF: s.reference,
            sa.FLAGS: [ConsultationFlag.REFERRAL_AWAITED.value] if waiting else [],
            sa.DUE: s.referral_due_at if waiting else None,
        }

    # ------------------------------------------------------------------ queries, signals, actions

    @workflow.signal(name=REFERRAL_ARRIVED)
    def referral_arrived(self, arrival: ReferralArrived) -> None:
        """A contact quoting this consultation's reference has arrived (from the contact workflow)."""
        if self._arrival is None and self.state.closure is None and self.state.reference is not None:
            self._arrival = arrival
            self.state.referral_contact_id = arrival.contact_id  # no follow-up call is needed now

    @human_action
    async def record_follow_up(self, f: FollowUpCall) -> ConsultationState:
        after_reply = self.patched(ANSWER_BEFORE_SENDING)
        self.state.follow_up, self.state.follow_up_at = f, workflow.now()
        self.state.holder = f.actor.username
        if f.outcome == FollowUpOutcome.ESCALATED:
            if after_reply:  # the managers are told by the run: the worker's answer does not wait for the mailbox
                self._escalation = f
            else:  # a run that recorded its follow-up before this change told them first
                await self._escalate(f)
        await self.audit(f.actor, "follow_up_call", f.note, outcome=f.outcome.value, contact_id=f.contact_id)
        return self.view()  # type: ignore[no-any-return]

    async def _escalate(self, f: FollowUpCall) -> None:
        await self.notify(
            f"{workflow.info().workflow_id}/escalated", ["team_manager"],
            f"Consultation {self.subject_id} escalated: invited referral not made",
            f"{f.actor.username} rang the caller back ({self.state.caller.agency}) and escalates: {f.note}",
        )


# ---------------------------------------------------------------------- starting one, and the lists
def _start_input(c: Consultation, actor: Actor, ctx: process.StartContext) -> ConsultationInput:
    return ConsultationInput(consultation=c, consultant=actor, timescales=ctx.timescales)


def _start_attributes(c: Consultation) -> list[SearchAttributePair[Any]]:
    attrs: list[SearchAttributePair[Any]] = [
        SearchAttributePair(sa.KIND, KIND), SearchAttributePair(sa.SUBJECT, c.id),
        SearchAttributePair(sa.STAGE, ConsultationStage.RECORDING.value), SearchAttributePair(sa.RECEIVED, c.called_at),
    ]
    if c.reference:
        attrs.append(SearchAttributePair(sa.REF, c.reference))
    return attrs


PROCESS = process.Process(
    ConsultationWorkflow, path="consultations", subject_field="consultation_id",
    readers=CONSULTATION_READERS,
    start=process.Start(
        name="record", title="Record a consultation call", model=Consultation, roles=SOCIAL_WORK,
        subject_id=lambda c: c.id, workflow_input=_start_input, search_attributes=_start_attributes,
        received_field="called_at",
        next_step=lambda c: f"The caller quotes reference {c.reference} when referring." if c.reference
        else "Advice only: it closes now.",
        help="A professional rang for advice. No history look-up is ever made. An invited referral "
        "quotes the consultation's id as consultation_ref; if it has not arrived in time, a follow-up is raised.",
    ),
    stuck=(
        process.StuckList("referral_awaited", "Invited referrals not yet received",
                          process.flagged(ConsultationFlag.REFERRAL_AWAITED)),
        process.StuckList("follow_up_due", "Consultation follow-ups outstanding",
                          process.flagged(ConsultationFlag.FOLLOW_UP_DUE)),
    ),
    views=(
        process.ListView("consultations", "Consultation line", SOCIAL_WORK, order=process.due_first,
                         groups=(("follow-ups", "Ring back: follow-ups due", lambda r: r.stage == ConsultationStage.FOLLOW_UP),
                         ("awaited", "Invited referrals awaited", lambda r: r.stage == ConsultationStage.AWAITING_REFERRAL),
                         ("other-open", "Other", lambda r: r.stage not in (ConsultationStage.FOLLOW_UP,
                                                             ConsultationStage.AWAITING_REFERRAL))),
                         help="Telephone consultations: follow-ups to ring back first, then invited referrals awaited."),
    ),
    activities=(ConsultationActivities,),
    transient=frozenset({ConsultationStage.RECORDING}),
)
