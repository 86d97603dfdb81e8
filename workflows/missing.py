"""MissingWorkflow: one episode of a child missing from home, school or care, from the
police's daily list to the return home interview.

Stages: history check (the child matched to earlier contacts, as any contact is, and to
earlier episodes: three in 90 days is a pattern) -> missing (until a list, or the worker,
says the child has returned) -> awaiting the offer (a return home interview must be offered
within 72 hours of the return: `interview_deadline`, durable; when it passes the episode
shows in the stuck lists and the team manager is told) -> offered -> the interview done or
declined, with what the child said and any concerns as CIN factor codes -> closed.
Concerns raise a contact into the front door (a ContactWorkflow started by class, abandoned,
its intake carrying `missing_episode_ref`); repeat missing suggests one.

A later police list reaches an open episode as a signal (`police_list`): the list is a
system's data, not a person's decision, so no action table applies; a row that changes
nothing is not sent, and one sent again changes nothing. The delay from the return to the
list that first carried it is kept: police reports are "often submitted late".
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeKey, SearchAttributePair

with workflow.unsafe.imports_passed_through():
    import workflows.contact_identity as contact_identity
    import workflows.process as process
    import workflows.search_attributes as sa
    from activities.case import CaseActivities
    from activities.missing import MissingActivities
    from models.bounds import CLOCK_SKEW, SUMMARY_MAX
    from models.codes import ConsentStatus
    from models.contact import Concerns, ConsentStatement, Contact, Referrer
    from models.missing import (
        GOING_MISSING,
        MAX_LISTS_KEPT,
        EpisodeClosure,
        EpisodeHistoryRequest,
        EpisodeRecordUpdate,
        InterviewOffer,
        MissingEpisodeReport,
        MissingFlag,
        MissingInput,
        MissingReturn,
        MissingStage,
        MissingState,
        PoliceListEntry,
        RaiseContact,
        ReturnInterview,
        RiskGrading,
    )
    from models.roles import MANAGERS, MISSING_READERS, MISSING_TEAM, ROLE_NAMES, Actor
    from models.state import ContactWorkflowInput
    from workflows.base import SHARED, AuditedWorkflow, human_action, invalid, start_once
    from workflows.deadline import Deadline, DeadlineRule

KIND = "missing"
POLICE_LIST = "police_list"  # the signal a later list sends to an open episode
OPEN_STAGES = frozenset({MissingStage.MISSING, MissingStage.AWAITING_OFFER, MissingStage.INTERVIEW_OFFERED})


def workflow_id(subject_id: str) -> str:
    return f"missing-{subject_id}"


def contact_id_for(police_ref: str) -> str:
    """The contact an episode raises (one at most): deterministic, so it starts once."""
    return f"{police_ref}-RHI"


# ---------------------------------------------------------------------- the rules of each action
def _not_future(moment: datetime, field: str) -> None:
    if moment > workflow.now() + CLOCK_SKEW:
        raise invalid(f"{field}: {moment:%d/%m/%Y %H:%M} is in the future: check the date and its time zone")


def _return_rules(s: MissingState, r: MissingReturn) -> None:
    if r.returned_at < s.reported_missing_at:
        raise invalid(f"returned_at: before the child was reported missing ({s.reported_missing_at:%d/%m/%Y %H:%M} UTC)")
    _not_future(r.returned_at, "returned_at")


def _offer_rules(s: MissingState, o: InterviewOffer) -> None:
    if o.offered_at is not None:
        if s.returned_at is not None and o.offered_at < s.returned_at:
            raise invalid(f"offered_at: before the child's return ({s.returned_at:%d/%m/%Y %H:%M} UTC)")
        _not_future(o.offered_at, "offered_at")


def _interview_rules(s: MissingState, i: ReturnInterview) -> None:
    if i.interviewed_at is not None:
        if s.offered_at is not None and i.interviewed_at < s.offered_at:
            raise invalid(f"interviewed_at: before the interview was offered ({s.offered_at:%d/%m/%Y %H:%M} UTC)")
        _not_future(i.interviewed_at, "interviewed_at")


def _no_contact_yet(s: MissingState) -> str | None:
    return None if s.contact_id is None else f"contact {s.contact_id} has been raised from this episode already"


ACTIONS = process.ActionTable(
    process.Action("record_return", MissingReturn, MISSING_TEAM, "Record the child's return",
                   stages=frozenset({MissingStage.MISSING}), rules=_return_rules,
                   needs="is for a child not yet known to have returned",
                   help="When you learn of the return before a police list says so: the 72 hours run from the return."),
    process.Action("offer_interview", InterviewOffer, MISSING_TEAM, "Offer the return home interview",
                   stages=frozenset({MissingStage.AWAITING_OFFER}), rules=_offer_rules,
                   needs="follows the child's return",
                   help="Statutory guidance: offered within 72 hours of the child's return."),
    process.Action("record_interview", ReturnInterview, MISSING_TEAM, "Record the return home interview",
                   stages=frozenset({MissingStage.INTERVIEW_OFFERED}), rules=_interview_rules,
                   needs="follows the offer",
                   help="Done or declined: what the child said, and any concerns as CIN factor codes "
                "(10A going missing, 11A CSE, 24A CCE ...): concerns raise a contact into the front door."),
    process.Action("raise_contact", RaiseContact, MISSING_TEAM, "Raise a contact into the front door", ready=_no_contact_yet,
                   help="E.g. when the child keeps going missing: a contact about the child, linked to this episode."),
    process.Action("close_episode", EpisodeClosure, MANAGERS, "Close without an interview", stages=OPEN_STAGES,
                   help="E.g. another authority's child, or a duplicate of another episode: say why."),
    *SHARED,
)


# ---------------------------------------------------------------------- the 72 hours
def _overdue_message(wf: MissingWorkflow, d: Deadline) -> tuple[str, str]:
    s = wf.state
    late = f" The police list carried the return {wf._delay_hours()} hours after it." if s.report_delay else ""
    return (
        f"Return home interview not offered: missing episode {wf.subject_id}",
        f"{s.child_name} returned {s.returned_at:%d/%m/%Y %H:%M} UTC (missing from {s.missing_from.value}); "
        f"the interview was due to be offered by {d.due_at:%d/%m/%Y %H:%M} UTC. Allocated to {s.holder}.{late}",
    )


RETURN_INTERVIEW = DeadlineRule(
    "return_interview", flags=(MissingFlag.INTERVIEW_OVERDUE.value,), tell=("team_manager",),
    trail="return_interview_overdue", message=_overdue_message,
    notify_key=lambda wf, d: f"{workflow.info().workflow_id}/interview-overdue",
)


# ---------------------------------------------------------------------- the workflow
@workflow.defn(name="MissingEpisodeWorkflow")
class MissingWorkflow(
    AuditedWorkflow[MissingInput],
    kind=KIND, noun="missing episode", State=MissingState, actions=ACTIONS, workflow_id=workflow_id,
):
    opening = frozenset({MissingStage.HISTORY_CHECK})  # the start's answer: its earlier episodes found, a repeat flagged

    @workflow.init
    def __init__(self, inp: MissingInput) -> None:
        r = inp.report
        self._begin(inp, r.police_ref)
        self._closing = False
        self.interview_deadline: Deadline | None = None
        self.state = MissingState(
            police_ref=r.police_ref, stage=MissingStage.HISTORY_CHECK, stage_since=workflow.now(), holder=inp.holder,
            child=r.child, child_name=r.child.display_name, missing_from=r.missing_from, risk=r.risk,
            circumstances=r.circumstances, reported_missing_at=r.reported_missing_at, first_listed_at=inp.listed_at,
            lists=[inp.list_id] if inp.list_id else [],
        )
        if r.returned_at is not None:
            self._police_return(r.returned_at, inp.listed_at)

    # ------------------------------------------------------------------ the flow
    @workflow.run
    async def run(self, inp: MissingInput) -> MissingState:
        s = self.state
        self.sync()
        await self.write(MissingActivities.record_episode, self._row())
        await self.audit(
            None, "episode_received", s.circumstances or None, missing_from=s.missing_from.value, risk=s.risk.value,
            reported_missing_at=s.reported_missing_at.isoformat(), started_by=inp.started_by, held_by=s.holder,
            returned_at=s.returned_at.isoformat() if s.returned_at else None, list=inp.list_id,
            listed_at=inp.listed_at.isoformat() if inp.listed_at else None,
        )
        if s.report_delay is not None:
            await self._audit_return_reported(inp.list_id)
        await self._check_history()
        await workflow.wait_condition(lambda: s.returned_at is not None or self._closing)
        if not self._closing:
            await self._await_interview()
        await self._close()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.view()  # type: ignore[no-any-return]

    async def _check_history(self) -> None:
        s, ts = self.state, self.inp.timescales
        self._set_stage(MissingStage.HISTORY_CHECK)
        found = await self.act(
            MissingActivities.check_episode_history,
            EpisodeHistoryRequest(police_ref=s.police_ref, child=s.child, reported_missing_at=s.reported_missing_at,
                                  window=ts.repeat_missing_window, repeat_at=ts.repeat_missing_episodes),
        )
        s.history, s.earlier_episodes, s.repeat = found.history, found.earlier, found.repeat
        if s.returned_at is None:
            self._set_stage(MissingStage.MISSING)  # once returned, the stage moves when the 72 hours begin
        self.sync()
        await self.audit(
            None, "history_checked", matches=len(found.history.matches), earlier_episodes=len(found.earlier),
            matched_on=sorted({m.matched_on for m in found.history.matches}) or None,
            recurring=[p.theme for p in found.history.recurring] or None,
        )
        if s.repeat is not None:
            await self.audit(
                None, "repeat_missing_pattern",
                f"{s.repeat.episodes} episodes in {s.repeat.window_days} days: consider raising a contact",
                episodes=s.repeat.episodes, earlier=", ".join(s.repeat.police_refs),
            )
        await self.write(MissingActivities.record_episode, self._row())

    async def _await_interview(self) -> None:
        s = self.state
        assert s.returned_at is not None
        self.interview_deadline = Deadline.begin(self, RETURN_INTERVIEW, s.returned_at + self.inp.timescales.return_interview,
                                                 started_at=s.returned_at)
        s.interview_deadline = self.interview_deadline.record
        self._set_stage(MissingStage.AWAITING_OFFER)
        await self.write(MissingActivities.record_episode, self._row())
        await self.interview_deadline.wait(lambda: s.offer is not None or self._closing)
        if self._closing and s.offer is None:
            return
        self._set_stage(MissingStage.INTERVIEW_OFFERED)
        await workflow.wait_condition(lambda: s.interview is not None or self._closing)
        if s.interview is not None and s.interview.concerns and s.contact_id is None:
            concerns = ", ".join(s.interview.concerns)
            await self._raise_contact(s.interview.actor, f"Concerns from the return home interview: {concerns}",
                                      list(s.interview.concerns))

    async def _close(self) -> None:
        s = self.state
        if self.interview_deadline is not None:
            self.interview_deadline.finish()
        s.closed_at = workflow.now()
        s.closure = (f"interview_{s.interview.outcome.value}" if s.interview is not None
                     else "closed_without_interview")
        self._set_stage(MissingStage.CLOSED)
        await self.write(MissingActivities.record_episode, self._row())
        await self.audit(None, "closed", s.closure_reason, closure=s.closure, contact_id=s.contact_id)

    async def _raise_contact(self, actor: Actor, reason: str, factors: list[str]) -> None:
        """A contact about the child into the front door, once (a deterministic id), linked
        both ways: this episode keeps its id, its intake carries this episode's reference."""
        s = self.state
        if s.contact_id is not None:
            return
        s.contact_id = cid = contact_id_for(s.police_ref)
        s.contact_reason = reason
        self.sync()
        now = workflow.now()
        review_due = await self.act(CaseActivities.service_day_end, now)
        contact = Contact(
            id=cid, received_at=now, source="5D",  # CIN census: LA services, early help (the designated worker)
            referrer=Referrer(name=actor.username, agency="Missing children: return home interviews",
                              role=ROLE_NAMES[actor.role]),
            children=[s.child],
            concerns=Concerns(factors=sorted({GOING_MISSING, *factors}), summary=self._contact_summary(reason)),
            consent=ConsentStatement(status=ConsentStatus.NOT_SOUGHT, note="not asked by the return home interview"),
            missing_episode_ref=s.police_ref,
        )
        inp = ContactWorkflowInput(contact=contact, submitted_by=actor.username, timescales=self.inp.timescales,
                                   review_due_at=review_due)
        await start_once(contact_identity.ContactIdentity.run, inp, contact_identity.workflow_id(cid),
                         contact_identity.typed_start_attributes(contact))
        await self.audit(actor, "contact_raised", reason, contact_id=cid, factors=", ".join(contact.concerns.factors))
        await self.write(MissingActivities.record_episode, self._row())

    def _contact_summary(self, reason: str) -> str:
        s = self.state
        lines = [reason, f"Missing from {s.missing_from.value}, reported {s.reported_missing_at:%d/%m/%Y %H:%M} UTC"
                 + (f", returned {s.returned_at:%d/%m/%Y %H:%M} UTC" if s.returned_at else ", not yet returned")
                 + f"; police risk grading {s.risk.value.replace('_', ' ')} (police reference {s.police_ref})."]
        if s.circumstances:
            lines.append(f"Circumstances: {s.circumstances}")
        if s.interview is not None:
            lines.append(f"Return home interview ({s.interview.outcome.value}) by {s.interview.actor.username}: "
                         f"the child said: {s.interview.child_said}")
        if s.repeat is not None:
            lines.append(f"{s.repeat.episodes} missing episodes in {s.repeat.window_days} days "
                         f"(earlier: {', '.join(s.repeat.police_refs)}).")
        text = "\n".join(lines)
        return text if len(text) <= SUMMARY_MAX else text[: SUMMARY_MAX - 1] + "…"

    # ------------------------------------------------------------------ helpers
    def _police_return(self, returned_at: datetime, listed_at: datetime | None) -> None:
        """A police list gives the return: it starts the 72 hours unless a worker recorded the
        return first; the first list that carries it gives the report's delay."""
        s = self.state
        s.police_returned_at = returned_at
        if s.returned_at is None:
            s.returned_at, s.return_source = returned_at, "police_list"
        if listed_at is not None and s.return_listed_at is None:
            s.return_listed_at = listed_at
            s.report_delay = max(listed_at - returned_at, timedelta(0))
            s.report_delay_flagged = s.report_delay > self.inp.timescales.police_delay_flag

    def _delay_hours(self) -> float | None:
        delay = self.state.report_delay
        return round(delay.total_seconds() / 3600, 1) if delay is not None else None

    async def _audit_return_reported(self, list_id: str | None) -> None:
        s = self.state
        await self.audit(None, "return_reported_by_police", returned_at=s.police_returned_at.isoformat() if s.police_returned_at else None,
                         listed_at=s.return_listed_at.isoformat() if s.return_listed_at else None,
                         delay_hours=self._delay_hours(), late=s.report_delay_flagged, list=list_id)

    def _row(self) -> EpisodeRecordUpdate:
        s = self.state
        i = s.interview
        return EpisodeRecordUpdate(
            police_ref=s.police_ref, workflow_id=workflow.info().workflow_id, child=s.child,
            missing_from=s.missing_from.value, risk=s.risk.value, reported_missing_at=s.reported_missing_at,
            returned_at=s.returned_at, police_returned_at=s.police_returned_at, return_listed_at=s.return_listed_at,
            report_delay_hours=self._delay_hours(), first_listed_at=s.first_listed_at,
            interview_due_at=s.interview_due_at, offered_at=s.offered_at, offered_on_time=s.offered_on_time,
            interview_outcome=i.outcome.value if i else None,
            interview_at=(i.interviewed_at or s.interview_recorded_at) if i else None,
            concerns=list(i.concerns) if i else [], contact_id=s.contact_id,
            repeat_episodes=s.repeat.episodes if s.repeat else None, stage=s.stage.value, closed_at=s.closed_at,
            closure=s.closure,
        )

    def search_attributes(self) -> dict[SearchAttributeKey, Any]:
        s = self.state
        flags: set[str] = set()
        if s.stage == MissingStage.MISSING:
            flags.add(MissingFlag.STILL_MISSING.value)
        if s.stage == MissingStage.AWAITING_OFFER:
            flags.add(MissingFlag.AWAITING_OFFER.value)
        if s.report_delay_flagged:
            flags.add(MissingFlag.LATE_POLICE_REPORT.value)
        if s.repeat is not None:
            flags.add(MissingFlag.REPEAT_MISSING.value)
            if s.contact_id is None and s.stage != MissingStage.CLOSED:
                flags.add(MissingFlag.CONTACT_SUGGESTED.value)
        if s.risk == RiskGrading.HIGH and s.stage != MissingStage.CLOSED:
            flags.add(MissingFlag.HIGH_RISK.value)
        return {
            **self.stage_attributes(),
            sa.RECEIVED: s.reported_missing_at,
            sa.PRIORITY: s.risk.value,
            sa.REF: s.contact_id,
            sa.FLAGS: sorted(flags),
            sa.THEMES: [p.theme for p in s.history.recurring] if s.history else [],
            sa.DUE: s.interview_due_at if s.stage == MissingStage.AWAITING_OFFER else None,
        }

    # ------------------------------------------------------------------ a later police list, and the actions
    @workflow.signal(name=POLICE_LIST)
    async def police_list(self, entry: PoliceListEntry) -> None:
        """A later list's row for this episode: a return time, a new risk grading, more
        circumstances. A row that changes nothing changes nothing (it is sent again safely)."""
        s, report = self.state, entry.report
        changes = s.list_changes(report)
        if not changes or s.closed_at is not None:
            return
        if "return" in changes and report.returned_at is not None:
            self._police_return(report.returned_at, entry.listed_at)
        elif "return_time" in changes:
            s.police_returned_at = report.returned_at  # kept and shown; the 72 hours run from the first return known
        if "risk" in changes:
            s.risk = report.risk
        if "circumstances" in changes:
            s.circumstances = report.circumstances
        if "missing_from" in changes:
            s.missing_from = report.missing_from
        if entry.list_id not in s.lists:
            s.lists = [*s.lists, entry.list_id][-MAX_LISTS_KEPT:]
        self.sync()
        await self.audit(None, "police_list_update", changes=", ".join(changes), list=entry.list_id,
                         imported_by=entry.imported_by, risk=s.risk.value,
                         returned_at=report.returned_at.isoformat() if report.returned_at else None)
        if "return" in changes:
            await self._audit_return_reported(entry.list_id)
        await self.write(MissingActivities.record_episode, self._row())

    @human_action
    async def record_return(self, r: MissingReturn) -> MissingState:
        s = self.state
        s.returned_at, s.return_source = r.returned_at, "worker"
        await self.audit(r.actor, "return_recorded", r.note, returned_at=r.returned_at.isoformat())
        await workflow.wait_condition(lambda: s.stage != MissingStage.MISSING or self.fault is not None)
        return self.view()  # type: ignore[no-any-return]

    @human_action
    async def offer_interview(self, o: InterviewOffer) -> MissingState:
        s = self.state
        s.offer, s.offered_at = o, o.offered_at or workflow.now()
        if self.interview_deadline is not None:
            self.interview_deadline.finish()
        s.holder = o.actor.username
        if self.generation >= 2:  # the stage moves here, in the one upsert (the run's own move finds it moved)
            self._set_stage(MissingStage.INTERVIEW_OFFERED)
        else:
            self.sync()
        await self.audit(o.actor, "interview_offered", o.note, method=o.method.value, offered_at=s.offered_at.isoformat(),
                         interviewer=o.interviewer or o.actor.username, on_time=s.offered_on_time)
        await self.write(MissingActivities.record_episode, self._row())
        return self.view()  # type: ignore[no-any-return]

    @human_action
    async def record_interview(self, i: ReturnInterview) -> MissingState:
        s = self.state
        s.interview, s.interview_recorded_at = i, workflow.now()
        await self.audit(i.actor, f"return_interview_{i.outcome.value}", i.child_said,
                         concerns=", ".join(i.concerns) or None,
                         interviewed_at=i.interviewed_at.isoformat() if i.interviewed_at else None, note=i.note)
        await workflow.wait_condition(lambda: s.stage == MissingStage.CLOSED or self.fault is not None)
        return self.view()  # type: ignore[no-any-return]

    @human_action
    async def raise_contact(self, c: RaiseContact) -> MissingState:
        await self._raise_contact(c.actor, c.reason, [])
        return self.view()  # type: ignore[no-any-return]

    @human_action
    async def close_episode(self, c: EpisodeClosure) -> MissingState:
        s = self.state
        self._closing = True
        s.closure_reason = c.reason
        await self.audit(c.actor, "episode_closed_without_interview", c.reason)
        await workflow.wait_condition(lambda: s.stage == MissingStage.CLOSED or self.fault is not None)
        return self.view()  # type: ignore[no-any-return]


# ---------------------------------------------------------------------- starting one, and the lists
def _start_input(r: MissingEpisodeReport, actor: Actor, ctx: process.StartContext) -> MissingInput:
    return MissingInput(report=r, holder=actor.username, started_by=actor.username, timescales=ctx.timescales)


def start_attributes(r: MissingEpisodeReport) -> list[SearchAttributePair[Any]]:
    return [SearchAttributePair(sa.KIND, KIND), SearchAttributePair(sa.SUBJECT, r.police_ref),
            SearchAttributePair(sa.STAGE, MissingStage.HISTORY_CHECK.value),
            SearchAttributePair(sa.RECEIVED, r.reported_missing_at), SearchAttributePair(sa.PRIORITY, r.risk.value)]



PROCESS = process.Process(
    MissingWorkflow, path="missing", subject_field="police_ref",
    readers=MISSING_READERS,
    start=process.Start(
        name="report", title="Record a missing episode", model=MissingEpisodeReport, roles=MISSING_TEAM,
        subject_id=lambda r: r.police_ref, workflow_input=_start_input, search_attributes=start_attributes,
        received_field="reported_missing_at",
        help="An episode the police told you of outside the daily list (the list itself is imported with "
             "`frontdoor missing import FILE`). You hold it.",
    ),
    stuck=(
        process.StuckList("return_interview_overdue", "Return home interviews not offered in 72 hours",
                          process.flagged(MissingFlag.INTERVIEW_OVERDUE)),
        process.StuckList("return_interviews_outstanding", "Return home interviews outstanding",
                          lambda now, within: f"{process.OPEN} AND FdKind = '{KIND}' AND FdStage IN "
                          f"('{MissingStage.AWAITING_OFFER.value}', '{MissingStage.INTERVIEW_OFFERED.value}')"),
        process.StuckList("repeat_missing_no_contact", "Repeat missing: a contact suggested, not raised",
                          process.flagged(MissingFlag.CONTACT_SUGGESTED)),
    ),
    views=(
        process.ListView("missing", "Missing children", MISSING_TEAM, order=process.due_first,
                         groups=(("overdue", "Interview not offered within 72 hours",
                          lambda r: MissingFlag.INTERVIEW_OVERDUE.value in r.flags),
                         ("awaiting-offer", "Returned: offer the interview",
                          lambda r: r.stage == MissingStage.AWAITING_OFFER
                          and MissingFlag.INTERVIEW_OVERDUE.value not in r.flags),
                         ("offered", "Interview offered", lambda r: r.stage == MissingStage.INTERVIEW_OFFERED),
                         ("missing", "Still missing", lambda r: r.stage in (MissingStage.MISSING,
                                                                            MissingStage.HISTORY_CHECK))),
                         help="Episodes from the police's daily list: the 72 hours to offer a return home interview first."),
    ),
    activities=(MissingActivities,),
    transient=frozenset({MissingStage.HISTORY_CHECK}),
)
