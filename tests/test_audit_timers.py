"""Every audit step's deadline on the time-skipping test server: the first-line audit, the
re-audit, moderation and the reflective meeting each go overdue when their time passes
(the flags the stuck list reads, the managers told, the trail entry), and stop being
overdue when the step is done; a step done in time is met and never flagged."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from models.audit import AuditStage
from models.database import session
from models.tables import ActionRecord, OutboxMessage
from models.timescales import Timescales
from tests.audit_support import TESS, audits, grading, meeting, moderation, spans, start_audit
from tests.conftest import MAYA, SAM, STARTED, TOM, running_worker
from tests.helpers import wait_for
from workflows.audit import STEP_TITLES, workflow_id

STEPS = [  # step, its stage, its timescale (hours), who is told
    ("first_line", AuditStage.FIRST_LINE, 10, {"role:team_manager", "role:service_manager"}),
    ("re_audit", AuditStage.RE_AUDIT, 20, {"role:team_manager", "role:service_manager"}),
    ("moderation", AuditStage.MODERATION, 30, {"role:service_manager"}),
    ("meeting", AuditStage.REFLECTIVE_MEETING, 40, {"role:team_manager", "role:service_manager"}),
]


def _trail(settings, aid: str) -> list[str]:
    with session(settings.database_url) as s:
        return [r.action for r in s.exec(select(ActionRecord).where(ActionRecord.subject_id == aid))]


def _told(settings, aid: str) -> dict[str, set[str]]:
    with session(settings.database_url) as s:
        out: dict[str, set[str]] = {}
        for m in s.exec(select(OutboxMessage).where(OutboxMessage.subject_id == aid)):
            out.setdefault(m.subject, set()).add(m.channel)
        return out


async def _at(client, aid: str, stage: AuditStage):
    async def check():
        state = await audits.get_state(client, aid)
        current = [st for st in state.steps if st.done_at is None]
        return state if state.stage == stage and current and current[-1].due_at else None

    return await wait_for(check, 15, what=f"{aid} at {stage.value} with its due time")


async def test_each_step_goes_overdue_when_its_time_passes_and_recovers_when_done(ts_env, settings, task_queue):
    env, client = ts_env, ts_env.client
    timescales = Timescales(activity_attempts=2, **spans(**{step: hours for step, _, hours, _ in STEPS}))
    async with running_worker(client, settings, task_queue):
        aid = await start_audit(client, task_queue, timescales=timescales)
        STARTED.append(workflow_id(aid))
        for step, stage, hours, tell in STEPS:
            state = await _at(client, aid, stage)
            record = state.steps[-1]
            assert record.name == step and record.due_at - record.started_at == timedelta(hours=hours)
            await env.sleep(record.due_at - await env.get_current_time() - timedelta(minutes=5))
            state = await audits.get_state(client, aid)
            assert f"audit_{step}_overdue" not in state.flags and "audit_overdue" not in state.flags

            await env.sleep(timedelta(minutes=10))

            async def overdue(step=step):
                state = await audits.get_state(client, aid)
                return state if f"audit_{step}_overdue" in state.flags else None

            state = await wait_for(overdue, 15, what=f"{step} overdue")
            assert "audit_overdue" in state.flags and state.steps[-1].overdue
            trail = await wait_for(lambda step=step: f"{step}_overdue" in _trail(settings, aid) and _trail(settings, aid),
                                   15, what=f"{step}_overdue in the trail")
            assert trail.count(f"{step}_overdue") == 1
            subject = f"Audit {aid}: {STEP_TITLES[step]} overdue"
            told = await wait_for(lambda subject=subject: _told(settings, aid).get(subject), 15, what=f"{subject} sent")
            assert told == tell

            # the step is done: it stops being overdue, and is recorded as late
            if step == "first_line":
                state = await audits.act(client, aid, "record_audit", grading(TOM))
            elif step == "re_audit":
                state = await audits.act(client, aid, "record_re_audit", grading(TESS, {"consent": "requires_improvement"}))
            elif step == "moderation":
                state = await audits.act(client, aid, "moderate", moderation(MAYA))
            else:
                at = await env.get_current_time() + timedelta(hours=1)
                await audits.act(client, aid, "schedule_meeting", {"actor": TOM, "at": at.isoformat(), "place": "Room 2"})
                await audits.act(client, aid, "record_meeting", meeting(TOM))
                state = await audits.act(client, aid, "acknowledge", {
                    "actor": SAM, "reflections": "I will record what the child says in their words.", "read_and_understood": True})
            assert f"audit_{step}_overdue" not in state.flags and "audit_overdue" not in state.flags
            done = next(st for st in state.steps if st.name == step)
            assert done.done_at is not None and done.met is False
        assert state.stage == AuditStage.CLOSED
        await client.get_workflow_handle(workflow_id(aid)).result()


async def test_steps_done_in_time_are_met_and_never_flagged(ts_env, settings, task_queue):
    env, client = ts_env, ts_env.client
    timescales = Timescales(activity_attempts=2, **spans(first_line=10, re_audit=10, moderation=10, meeting=10))
    async with running_worker(client, settings, task_queue):
        aid = await start_audit(client, task_queue, timescales=timescales)
        STARTED.append(workflow_id(aid))
        await _at(client, aid, AuditStage.FIRST_LINE)
        await env.sleep(timedelta(hours=9))
        await audits.act(client, aid, "record_audit", grading(TOM))
        await _at(client, aid, AuditStage.RE_AUDIT)
        await env.sleep(timedelta(hours=9))
        await audits.act(client, aid, "record_re_audit", grading(TESS))
        await _at(client, aid, AuditStage.MODERATION)
        await audits.act(client, aid, "moderate", moderation(MAYA))
        await _at(client, aid, AuditStage.REFLECTIVE_MEETING)
        at = await env.get_current_time() + timedelta(hours=2)
        await audits.act(client, aid, "schedule_meeting", {"actor": TOM, "at": at.isoformat()})
        await env.sleep(timedelta(hours=3))
        await audits.act(client, aid, "record_meeting", meeting(TOM))
        state = await audits.act(client, aid, "acknowledge", {"actor": SAM, "reflections": "Agreed.", "read_and_understood": True})
        assert state.stage == AuditStage.CLOSED
        assert [st.met for st in state.steps] == [True, True, True, True]
        assert not [a for a in _trail(settings, aid) if a.endswith("_overdue")]
        assert not _told(settings, aid)
