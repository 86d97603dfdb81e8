"""AuditRoundWorkflow: a service manager's audit round, which starts one audit per case.

Why a workflow of its own rather than a start action that creates audits: the round's
choices are made once and kept. The tool is read once (an activity, so its content is in
this history) and passed to every audit; the seed is recorded (drawn from the workflow's
own random source when the manager gives none), so the sample can be drawn again; the
sample and the assignment of auditors come from one activity; and each audit starts as a
child with a deterministic id, exactly once, however often this workflow is replayed. The
round then follows its audits to the end and closes when the last one closes, so its page
shows the round's progress and what could not be audited, and why.

Stages: planning -> in progress -> closed.
"""

from __future__ import annotations

import asyncio
from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeKey, SearchAttributePair
from temporalio.exceptions import ChildWorkflowError

with workflow.unsafe.imports_passed_through():
    import workflows.audit as audit
    import workflows.search_attributes as sa
    from activities.audit import AuditActivities
    from models.audit import (
        AuditAssignment,
        AuditInput,
        AuditRoundInput,
        AuditRoundRecord,
        AuditRoundRequest,
        AuditRoundStage,
        AuditRoundState,
        AuditState,
        AuditTool,
        RoundAudit,
        RoundPlanRequest,
    )
    from models.roles import AUDIT_ROUND_READERS, AUDIT_ROUND_STARTERS, Actor
    from workflows.base import SHARED, AuditedWorkflow, start_once
    from workflows.process import ActionTable, Process, Start, StartContext

KIND = "audit_round"


def workflow_id(subject_id: str) -> str:
    return f"audit-round-{subject_id}"


def audit_id(round_id: str, n: int) -> str:
    return f"{round_id}-{n:02d}"


ACTIONS = ActionTable(*SHARED)


@workflow.defn(name="AuditRoundWorkflow")
class AuditRoundWorkflow(
    AuditedWorkflow[AuditRoundInput],
    kind=KIND, noun="audit round", State=AuditRoundState, actions=ACTIONS, workflow_id=workflow_id,
):
    opening = frozenset({AuditRoundStage.PLANNING})  # the start's answer: its cases chosen, their audits begun
    caseload = False  # a round is a container: its audits are the caseload (frontdoor/caseloads.py)

    @workflow.init
    def __init__(self, inp: AuditRoundInput) -> None:
        req = inp.request
        self._begin(inp, req.id)
        now = workflow.now()
        self.state = AuditRoundState(
            round_id=req.id, title=req.title, stage=AuditRoundStage.PLANNING, stage_since=now, holder=inp.started_by,
            started_at=now, request=req,
        )

    @workflow.run
    async def run(self, inp: AuditRoundInput) -> AuditRoundState:
        s, req = self.state, inp.request
        self.sync()
        tool: AuditTool = await self.act(AuditActivities.load_audit_tool)
        s.tool_version = tool.version_label
        s.seed = req.seed if req.seed is not None else workflow.random().randint(1, 2**31 - 1)
        plan = await self.act(AuditActivities.plan_round, RoundPlanRequest(round_id=req.id, request=req, seed=s.seed))
        s.candidates, s.teams, s.skipped, s.notes = plan.candidates, plan.teams, plan.skipped, plan.notes
        s.audits = [
            RoundAudit(audit_id=audit_id(req.id, n), case_id=a.candidate.case_id, case_kind=a.candidate.case_kind,
                       team=a.candidate.team, auditor=a.auditor, re_auditor=a.re_auditor)
            for n, a in enumerate(plan.audits, 1)
        ]
        await self.write(AuditActivities.record_round, self._record())
        await self.audit(
            None, "round_started", req.title, started_by=inp.started_by, seed=s.seed, tool_version=s.tool_version,
            period=f"{req.period_from.isoformat()}..{req.period_to.isoformat()}", per_team=req.per_team,
            chosen=len(req.cases) or None, candidates=s.candidates, audits=len(s.audits),
            skipped=[f"{u.case_id}: {u.reason}" for u in s.skipped] or None, notes=s.notes or None,
        )
        watching = []
        for entry, planned in zip(s.audits, plan.audits, strict=True):
            c = planned.candidate
            child = AuditInput(
                audit_id=entry.audit_id, round_id=req.id, tool=tool, started_by=inp.started_by, timescales=inp.timescales,
                assignment=AuditAssignment(case_id=c.case_id, case_kind=c.case_kind, team=c.team, auditor=planned.auditor,
                                           re_auditor=planned.re_auditor, moderator=inp.started_by, worker=c.worker,
                                           deciders=c.deciders),
            )
            handle = await start_once(audit.AuditWorkflow.run, child, audit.workflow_id(entry.audit_id),
                                      audit.start_attributes(child))
            if handle is None:
                entry.status = "ended"
                continue
            watching.append(asyncio.create_task(self._follow(entry, handle)))
        self._set_stage(AuditRoundStage.IN_PROGRESS)
        await asyncio.gather(*watching)
        s.closed_at = workflow.now()
        self._set_stage(AuditRoundStage.CLOSED)
        await self.write(AuditActivities.record_round, self._record())
        await self.audit(None, "closed", audits=len(s.audits), closed=s.audits_closed)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.view()  # type: ignore[no-any-return]

    async def _follow(self, entry: RoundAudit, handle: Any) -> None:
        try:
            result: AuditState = await handle
        except ChildWorkflowError as err:  # terminated or failed: the round goes on without it
            entry.status, entry.closed_at = "ended", workflow.now()
            await self.audit(None, "audit_ended", str(err.cause or err)[:300], audit_id=entry.audit_id)
            return
        entry.status, entry.closed_at = "closed", workflow.now()
        entry.auditor, entry.re_auditor = result.auditor, result.re_auditor  # as it was done (it may have been reallocated)
        entry.final_overall, entry.critical_weakness = result.final_overall, result.critical_weakness
        self.sync()

    def _record(self) -> AuditRoundRecord:
        s, req = self.state, self.inp.request
        return AuditRoundRecord(
            round_id=s.round_id, workflow_id=workflow.info().workflow_id, title=s.title, started_by=self.inp.started_by,
            started_at=s.started_at, period_from=req.period_from, period_to=req.period_to, per_team=req.per_team,
            seed=s.seed, tool_version=s.tool_version, candidates=s.candidates, audits=len(s.audits), skipped=s.skipped,
            closed_at=s.closed_at,
        )

    def search_attributes(self) -> dict[SearchAttributeKey, Any]:
        s = self.state
        return {
            **self.stage_attributes(),
            sa.RECEIVED: s.started_at,
            sa.FLAGS: [],
        }


# ---------------------------------------------------------------------- starting one, and the list
def _start_input(req: AuditRoundRequest, actor: Actor, ctx: StartContext) -> AuditRoundInput:
    return AuditRoundInput(request=req, started_by=actor.username, timescales=ctx.timescales)


def _start_attributes(req: AuditRoundRequest) -> list[SearchAttributePair[Any]]:
    return [SearchAttributePair(sa.KIND, KIND), SearchAttributePair(sa.SUBJECT, req.id),
            SearchAttributePair(sa.STAGE, AuditRoundStage.PLANNING.value)]


PROCESS = Process(
    AuditRoundWorkflow, path="audit-rounds", subject_field="round_id",
    readers=AUDIT_ROUND_READERS,
    start=Start(
        name="start", title="Start an audit round", model=AuditRoundRequest, roles=AUDIT_ROUND_STARTERS,
        subject_id=lambda r: r.id, workflow_input=_start_input, search_attributes=_start_attributes,
        next_step=lambda r: "Its audits start in a moment: each is allocated to its first-line manager.",
        help="A random sample of N closed (or open) cases per team for a period, with a recorded seed, or chosen "
        "cases; each is audited by a first-line manager who did not decide it, re-audited by another, and moderated by you.",
    ),
    # no list view of its own: /audit-rounds lists them for their readers, with the start form for a
    # service manager, whose navigation offers it (a view naming them would make it their home page)
    activities=(AuditActivities,),
    transient=frozenset({AuditRoundStage.PLANNING}),
)
