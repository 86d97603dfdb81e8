"""MorningWorkflow: one morning case discussion (one working day's meeting), and the
launcher its Temporal Schedule starts each weekday.

The agenda collects itself: contacts marked "threshold unclear" signal their item
(workflows/morning_identity.put_on_agenda), items rolled over from the last meeting come in
the input, and partners and workers add items before the meeting (`add`). Partners add what
their agency knows (`share`) to the items that ask them. The chair (a team manager) records
each item (`record`): the outcome is signalled to the contact, which records it on its trail
and page. `close`, or the end of the meeting's day (a durable deadline), closes the meeting:
items not reached roll over to the next working day (weekends and bank holidays skipped);
an item rolled over twice shows as stuck. The meeting's record is rendered as a document.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from temporalio import workflow
from temporalio.common import (
    SearchAttributeKey,
    SearchAttributePair,
)
from temporalio.exceptions import FailureError

with workflow.unsafe.imports_passed_through():
    import workflows.contact_identity as contact_identity
    import workflows.process as process
    import workflows.search_attributes as sa
    from activities.case import CaseActivities
    from activities.morning import MorningActivities
    from models.discussion import NEXT_STEP_NAMES, AgendaItem, DiscussionNotice, ItemOutcome
    from models.messages import DocumentRequest
    from models.morning import (
        ASKED_AS,
        MAX_AGENDA,
        MAX_SHARED,
        PARTNER_AGENCY,
        AgencyInformation,
        AgendaAddition,
        AgendaEntry,
        ItemDiscussed,
        MeetingClosure,
        MorningFlag,
        MorningInput,
        MorningItemRecord,
        MorningMeetingRecord,
        MorningOpening,
        MorningScheduleInput,
        MorningStage,
        MorningState,
        SharedInformation,
        SharingAgency,
    )
    from models.roles import (
        MORNING_CHAIRS,
        MORNING_CONTRIBUTORS,
        MORNING_READERS,
        ROLE_NAMES,
        Actor,
    )
    from workflows.base import SHARED, AuditedWorkflow, human_action, invalid
    from workflows.deadline import Deadline, DeadlineRule
    from workflows.launcher import ScheduleLauncher
    from workflows.morning_identity import (
        AGENDA_ITEM,
        DISCUSSION_UPDATE,
        KIND,
        MorningIdentity,
        open_discussion,
        put_on_agenda,
        start_attributes,
        workflow_id,
    )

BEFORE_CLOSE = frozenset({MorningStage.AGENDA, MorningStage.MEETING})


# ---------------------------------------------------------------------- the rules of each action
def _waiting(s: MorningState) -> list[AgendaEntry]:
    return [e for e in s.agenda if e.outcome is None and e.rolled_to is None]


def _any_waiting(s: MorningState) -> str | None:
    return None if _waiting(s) else "no item on the agenda is waiting to be discussed"


def _entry(s: MorningState, number: int) -> AgendaEntry:
    entry = s.entry(number)
    if entry is None:
        raise invalid(f"item: there is no item {number} on the agenda of {s.date:%d/%m/%Y}"
                      + (f" (items 1 to {len(s.agenda)})" if s.agenda else " (the agenda is empty)"))
    return entry


def _share_rules(s: MorningState, p: AgencyInformation) -> None:
    entry = _entry(s, p.item)
    role = p.actor.role
    if role in PARTNER_AGENCY:
        own = PARTNER_AGENCY[role]
        if p.agency not in (None, own):
            raise invalid(f"agency: a {ROLE_NAMES[role].lower()} shares what {own.value} knows")
        if ASKED_AS[role] not in entry.item.asked:
            raise process.forbidden(f"{p.actor.username} ({role.value}) may not add to item {p.item}: it does not ask "
                                    f"{ASKED_AS[role].value}; partners add to the items they are asked about")
    if entry.outcome is not None:
        raise invalid(f"item: item {p.item} has been discussed; add what your agency knows to the next item")
    if len(entry.shared) >= MAX_SHARED:
        raise invalid(f"item: item {p.item} has {MAX_SHARED} pieces of information already")


def _record_rules(s: MorningState, r: ItemDiscussed) -> None:
    entry = _entry(s, r.item)
    if entry.outcome is not None:
        raise invalid(f"item: item {r.item} was recorded already ({NEXT_STEP_NAMES[entry.outcome.next_step].lower()})")
    if entry.rolled_to is not None:
        raise invalid(f"item: item {r.item} rolled over to {entry.rolled_to:%d/%m/%Y}: record it there")


def _add_rules(s: MorningState, a: AgendaAddition) -> None:
    if a.contact_id and a.actor.role in PARTNER_AGENCY:
        raise invalid("contact_id: partners do not name the front door's contacts: say who the item is about "
                      "(about), and a worker links it to the contact")


def _first_waiting(s: MorningState) -> dict[str, Any]:
    waiting = _waiting(s)
    return {"item": {"default": waiting[0].number if waiting else None}}


ACTIONS = process.ActionTable(
    process.Action("add", AgendaAddition, MORNING_CONTRIBUTORS, "Add an item to the agenda",
                   stages=frozenset({MorningStage.AGENDA}),
                   ready=lambda s: None if len(s.agenda) < MAX_AGENDA else f"the agenda has {MAX_AGENDA} items already",
                   rules=_add_rules,
                   needs="is done before the meeting begins: add it to the next working day's discussion",
                   help="A question for the meeting: who it is about, and which partners are asked what their agency knows."),
    process.Action("share", AgencyInformation, MORNING_CONTRIBUTORS, "Add what your agency knows",
                   stages=BEFORE_CLOSE, ready=_any_waiting, rules=_share_rules, form=_first_waiting,
                   help="Partners add to the items that ask them, before or during the meeting."),
    process.Action("record", ItemDiscussed, MORNING_CHAIRS, "Record an item's discussion",
                   stages=BEFORE_CLOSE, ready=_any_waiting, rules=_record_rules, form=_first_waiting,
                   help="The chair records who attended, what each agency shared, the agreed next step and who takes it. "
                "A contact's item: the outcome goes to the contact."),
    process.Action("close", MeetingClosure, MORNING_CHAIRS, "Close the meeting", stages=BEFORE_CLOSE,
                   help="Items not reached roll over to the next working day. The meeting's record is rendered."),
    *SHARED,
)


# ---------------------------------------------------------------------- the end of the meeting's day
async def _day_ended(wf: MorningWorkflow, d: Deadline) -> None:
    waiting = _waiting(wf.state)
    if waiting:
        await wf.notify(
            f"{workflow.info().workflow_id}/not-closed", ["team_manager"],
            f"Morning discussion {wf.state.date:%d/%m/%Y} was not closed",
            f"The day ended with {len(waiting)} item(s) not discussed: they roll over to the next working day's "
            "agenda. An item rolled over twice shows as stuck.",
        )


def _mark_closing(wf: MorningWorkflow, d: Deadline) -> None:
    wf.state.auto_closed = True
    wf._close_requested = True


DAY_END = DeadlineRule("meeting_day", trail="meeting_day_ended", marks=_mark_closing, then=_day_ended,
                       details=lambda wf, d: {"waiting": len(_waiting(wf.state))})


# ---------------------------------------------------------------------- the workflow
@workflow.defn(name="MorningDiscussionWorkflow")
class MorningWorkflow(
    MorningIdentity, AuditedWorkflow[MorningInput],
    kind=KIND, noun="morning discussion", State=MorningState, actions=ACTIONS, workflow_id=workflow_id,
):
    caseload = False  # a meeting its chair runs, not anyone's open work (frontdoor/caseloads.py)

    @workflow.init
    def __init__(self, inp: MorningInput) -> None:
        self._begin(inp, inp.date.isoformat())
        self._close_requested = False
        self.close_deadline: Deadline | None = None
        self.state = MorningState(date=inp.date, stage=MorningStage.AGENDA, stage_since=workflow.now(),
                                  holder=inp.opened_by, opened_by=inp.opened_by)
        for item in inp.items:
            self._take(item)

    # ------------------------------------------------------------------ the flow
    @workflow.run
    async def run(self, inp: MorningInput) -> MorningState:
        s = self.state
        self.sync()
        day = await self.act(MorningActivities.meeting_day, inp.date, inp.timescales.morning_discussion_at)
        s.meeting_at = day.meeting_at
        self.close_deadline = Deadline.begin(self, DAY_END, day.ends_at)
        s.close_deadline = self.close_deadline.record
        self.sync()
        await self.write(MorningActivities.record_meeting, self._meeting_row())
        for entry in list(s.agenda):
            await self.write(MorningActivities.record_item, self._item_row(entry))
        await self.audit(None, "discussion_opened", opened_by=inp.opened_by, meeting_at=day.meeting_at.isoformat(),
                         items=len(s.agenda), rolled_over=sum(1 for e in s.agenda if e.item.rolled_over))
        await self.close_deadline.wait(lambda: self._close_requested)
        self.close_deadline.finish()
        await self._close()
        while True:  # items signalled while it was closing roll over too
            await workflow.wait_condition(workflow.all_handlers_finished)
            if not _waiting(s):
                break
            await self._roll_over()
        return self.view()  # type: ignore[no-any-return]

    async def _close(self) -> None:
        s = self.state
        await self._roll_over()
        s.closed_at = workflow.now()
        s.document_id = await self.write(
            CaseActivities.render_document,
            DocumentRequest(
                document_id=f"{workflow.info().workflow_id}/record", subject_id=self.subject_id,
                kind="morning_discussion_record", title=f"Morning case discussion {s.date:%d/%m/%Y}",
                context={"state": s.model_dump(mode="json"), "at": workflow.now().isoformat(),
                         "next_steps": {k.value: v for k, v in NEXT_STEP_NAMES.items()}},
            ),
        )
        self._set_stage(MorningStage.CLOSED)
        await self.write(MorningActivities.record_meeting, self._meeting_row())
        await self.audit(None, "discussion_closed", s.closing_note, closed_by=s.closed_by or "the end of the day",
                         discussed=s.discussed, rolled_over=sum(1 for e in s.agenda if e.rolled_to),
                         rolled_to=s.rolled_to.isoformat() if s.rolled_to else None, document_id=s.document_id)

    async def _roll_over(self) -> None:
        """Items not reached go to the next working day's agenda, keeping their id."""
        s = self.state
        for entry in _waiting(s):
            item = entry.item.model_copy(update={"rolled_over": entry.item.rolled_over + 1})
            entry.rolled_to = day = await put_on_agenda(self, item, self.inp.timescales, "roll-over", after=s.date)
            s.rolled_to = day
            self.sync()
            await self.write(MorningActivities.record_item, self._item_row(entry, item))
            await self.audit(None, "item_rolled_over", item=entry.number, item_id=item.item_id,
                             contact_id=item.contact_id, rolled_to=day.isoformat(), times=item.rolled_over)
            if item.contact_id:
                await self._tell_contact(entry, DiscussionNotice(item_id=item.item_id, meeting=s.date, rolled_to=day,
                                                                 question=item.question))

    async def _tell_contact(self, entry: AgendaEntry, notice: DiscussionNotice) -> bool:
        """The contact records the outcome (or the roll-over) on its trail and page."""
        cid = entry.item.contact_id
        assert cid is not None
        try:
            await workflow.get_external_workflow_handle(contact_identity.workflow_id(cid)).signal(DISCUSSION_UPDATE, notice)
        except FailureError as err:
            await self.audit(None, "contact_not_told", f"contact {cid} is not open ({err.message}): the outcome is kept "
                             "in this meeting's record", item=entry.number, contact_id=cid)
            return False
        return True

    # ------------------------------------------------------------------ helpers
    def _take(self, item: AgendaItem) -> AgendaEntry | None:
        """Put an item on this agenda once (a retried delivery adds nothing)."""
        s = self.state
        if any(e.item.item_id == item.item_id for e in s.agenda):
            return None
        if item.first_meeting is None:
            item = item.model_copy(update={"first_meeting": s.date})
        entry = AgendaEntry(number=len(s.agenda) + 1, item=item)
        s.agenda.append(entry)
        return entry

    def _item_row(self, entry: AgendaEntry, item: AgendaItem | None = None) -> MorningItemRecord:
        item = item or entry.item
        o = entry.outcome
        return MorningItemRecord(
            item_id=item.item_id, contact_id=item.contact_id, raised_at=item.raised_at, raised_role=item.raised_role,
            asked=[a.value for a in item.asked], first_meeting=item.first_meeting,
            last_meeting=entry.rolled_to or self.state.date, times_rolled=item.rolled_over,
            next_step=o.next_step.value if o else None, next_step_by=o.next_step_by if o else None,
            discussed_on=o.meeting if o else None,
        )

    def _meeting_row(self) -> MorningMeetingRecord:
        s = self.state
        return MorningMeetingRecord(
            date=s.date, workflow_id=workflow.info().workflow_id, opened_by=s.opened_by, meeting_at=s.meeting_at,
            items=len(s.agenda), discussed=s.discussed, rolled_over=sum(1 for e in s.agenda if e.rolled_to),
            closed_at=s.closed_at, closed_by=s.closed_by, auto_closed=s.auto_closed, document_id=s.document_id,
        )

    def search_attributes(self) -> dict[SearchAttributeKey, Any]:
        s = self.state
        stuck = any(e.item.rolled_over >= 2 for e in _waiting(s)) and s.stage != MorningStage.CLOSED
        return {
            **self.stage_attributes(),
            sa.HOLDER: s.chair or s.holder,  # the chair, once named
            sa.RECEIVED: s.meeting_at,
            sa.DUE: s.close_deadline.due_at if s.close_deadline and s.stage != MorningStage.CLOSED else None,
            sa.FLAGS: [MorningFlag.ROLLED_OVER_TWICE.value] if stuck else [],
        }

    # ------------------------------------------------------------------ signals and actions
    @workflow.signal(name=AGENDA_ITEM)
    async def agenda_item(self, item: AgendaItem) -> None:
        """An item for this agenda: a contact marked "threshold unclear", or a roll-over."""
        entry = self._take(item)
        if entry is None:
            return
        self.sync()
        await self.audit(None, "item_put_on_agenda", item.question, item=entry.number, item_id=item.item_id,
                         contact_id=item.contact_id, raised_by=item.raised_by, rolled_over=item.rolled_over or None)
        await self.write(MorningActivities.record_item, self._item_row(entry))

    @human_action
    async def add(self, a: AgendaAddition) -> MorningState:
        s = self.state
        item = AgendaItem(
            item_id=f"D{s.date:%Y%m%d}-{len(s.agenda) + 1}", question=a.question, contact_id=a.contact_id,
            about=a.about or "", asked=a.ask, raised_by=a.actor.username, raised_role=a.actor.role.value,
            raised_at=workflow.now(),
        )
        entry = self._take(item)
        assert entry is not None
        self.sync()
        await self.audit(a.actor, "item_added", a.question, item=entry.number, contact_id=a.contact_id,
                         ask=[p.value for p in a.ask])
        await self.write(MorningActivities.record_item, self._item_row(entry))
        return self.view()  # type: ignore[no-any-return]

    @human_action
    async def share(self, p: AgencyInformation) -> MorningState:
        entry = self.state.entry(p.item)
        assert entry is not None
        role = p.actor.role
        agency = PARTNER_AGENCY.get(role) or p.agency or SharingAgency.CHILDRENS_SOCIAL_CARE
        entry.shared.append(SharedInformation(agency=agency, information=p.information, by=p.actor.username,
                                              role=role.value, at=workflow.now()))
        await self.audit(p.actor, "information_shared", p.information, item=p.item, agency=agency.value)
        return self.view()  # type: ignore[no-any-return]

    @human_action
    async def record(self, r: ItemDiscussed) -> MorningState:
        s = self.state
        entry = s.entry(r.item)
        assert entry is not None
        entry.outcome = outcome = ItemOutcome(
            attendees=r.attendees, police_shared=r.police_shared, health_shared=r.health_shared,
            others_shared=r.others_shared, next_step=r.next_step, next_step_by=r.next_step_by, note=r.note,
            chair=r.actor.username, recorded_at=workflow.now(), meeting=s.date,
        )
        if s.began_at is None:
            s.began_at = workflow.now()
        s.chair = r.actor.username
        self._set_stage(MorningStage.MEETING)
        await self.audit(r.actor, "item_discussed", r.note, item=r.item, item_id=entry.item.item_id,
                         contact_id=entry.item.contact_id, next_step=r.next_step.value, next_step_by=r.next_step_by,
                         attendees="; ".join(r.attendees))
        await self.write(MorningActivities.record_item, self._item_row(entry))
        if entry.item.contact_id:
            entry.contact_told = await self._tell_contact(
                entry, DiscussionNotice(item_id=entry.item.item_id, meeting=s.date, outcome=outcome,
                                        question=entry.item.question))
        return self.view()  # type: ignore[no-any-return]

    @human_action
    async def close(self, c: MeetingClosure) -> MorningState:
        s = self.state
        s.closed_by, s.closing_note = c.actor.username, c.note
        s.chair = s.chair or c.actor.username
        self._close_requested = True
        await workflow.wait_condition(lambda: s.stage == MorningStage.CLOSED or self.fault is not None)
        return self.view()  # type: ignore[no-any-return]


# ---------------------------------------------------------------------- the launcher the Schedule starts
@workflow.defn(name="MorningScheduleWorkflow")
class MorningSchedule(ScheduleLauncher):
    """Started by the front door's Temporal Schedule each weekday at the configured time (a
    schedule's workflow ids carry the time it fired, so the day's discussion, `morning-{date}`,
    is started from here, as an abandoned child with its deterministic id). On a working day
    it opens today's discussion; every time it opens the next working day's, so partners can
    add items before that meeting. A bank holiday opens nothing today (the working-day
    calendar decides, in an activity). A failing step shows as a technical fault in the
    stuck lists (FdFlags faulted) and is tried again, later and later, until it works."""

    @workflow.run
    async def run(self, inp: MorningScheduleInput) -> str:
        self.schedule_id = inp.schedule_id
        self.show("running")
        today, working, following = await self.until_it_works(lambda: self._days(inp), inp)
        self.show("opening")
        opened: list[str] = []
        already: list[str] = []
        for day in ([today] if working else []) + [following]:
            (opened if await open_discussion(day, "schedule", inp.timescales, []) else already).append(day.isoformat())
        self.show("done")
        notes = [] if working else [f"{today:%d/%m/%Y} is not a working day: no discussion today"]
        notes += [f"opened {', '.join(opened)}"] if opened else []
        notes += [f"open already: {', '.join(already)}"] if already else []
        return "; ".join(notes)

    async def _days(self, inp: MorningScheduleInput) -> tuple[date, bool, date]:
        """Today's service date, whether it is a working day, and the next meeting's day."""
        today: date = await self.step(MorningActivities.service_date, workflow.now())
        working: bool = await self.step(MorningActivities.is_working_day, today)
        following: date = await self.step(MorningActivities.next_meeting_day, workflow.now(),
                                          inp.timescales.morning_discussion_at, today)
        return today, working, following


# ---------------------------------------------------------------------- starting one, and the lists
def _start_input(o: MorningOpening, actor: Actor, ctx: process.StartContext) -> MorningInput:
    return MorningInput(date=o.date, opened_by=actor.username, timescales=ctx.timescales)


def _start_attributes(o: MorningOpening) -> Sequence[SearchAttributePair[Any]]:
    """The same as the launcher's (morning_identity.start_attributes)."""
    return start_attributes(o.date).search_attributes


def _by_date(r: Any) -> str:
    return r.id



PROCESS = process.Process(
    MorningWorkflow, path="morning", subject_field="date",
    readers=MORNING_READERS,
    start=process.Start(
        name="open", title="Open a morning discussion", model=MorningOpening, roles=MORNING_CHAIRS,
        subject_id=lambda o: o.date.isoformat(), workflow_input=_start_input, search_attributes=_start_attributes,
        help="The schedule opens each working day's discussion (and the next one's agenda) by itself: open one "
             "by hand only for a day it has not opened.",
    ),
    stuck=(
        process.StuckList("morning_rolled_twice", "Morning discussion: items rolled over twice",
                          process.flagged(MorningFlag.ROLLED_OVER_TWICE)),
    ),
    views=(
        process.ListView("morning", "Morning case discussion", MORNING_CONTRIBUTORS, order=_by_date,
                         help="Today's discussion and the next working day's agenda: items where the threshold is not "
                      "clear, for the SPA's police and health partners."),
    ),
    activities=(MorningActivities,),
)
