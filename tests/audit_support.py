"""Helpers for the audit programme's tests: start an audit as a round would, and the
bodies of its actions (every domain of the tool graded)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from temporalio.client import Client

from models.audit import AuditAssignment, AuditInput, AuditTool
from models.roles import Actor, Role
from models.timescales import Span, Timescales
from tests.clients import Cases
from workflows import audit
from workflows.registry import BY_KIND

ROOT = Path(__file__).resolve().parent.parent
TOOL = AuditTool.from_json((ROOT / "config" / "audit_tool.json").read_text())
TESS = Actor(username="tess", role=Role.TEAM_MANAGER)
audits = Cases(BY_KIND["audit"])
rounds = Cases(BY_KIND["audit_round"])


def spans(**hours: float) -> dict[str, Span]:
    """Audit step timescales as plain durations: spans(first_line=1, re_audit=2, ...)."""
    return {f"audit_{k}": Span(working_days=0, duration=timedelta(hours=v)) for k, v in hours.items()}


async def start_audit(
    client: Client, task_queue: str, *, timescales: Timescales | None = None, tool: AuditTool = TOOL,
    case_id: str | None = None, case_kind: str = "contact", auditor: str = "tom", re_auditor: str = "tess",
    moderator: str = "maya", worker: str | None = "sam", deciders: list[str] | None = None, audit_id: str | None = None,
) -> str:
    aid = audit_id or f"AT-{uuid.uuid4().hex[:8]}"
    inp = AuditInput(
        audit_id=aid, round_id=None, tool=tool, started_by=moderator, timescales=timescales or Timescales(activity_attempts=2),
        assignment=AuditAssignment(case_id=case_id or f"C-{uuid.uuid4().hex[:8]}", case_kind=case_kind, team="spa-east",
                                   auditor=auditor, re_auditor=re_auditor, moderator=moderator, worker=worker,
                                   deciders=deciders if deciders is not None else ["dora"]),
    )
    await client.start_workflow(audit.AuditWorkflow.run, inp, id=audit.workflow_id(aid), task_queue=task_queue,
                                search_attributes=audit.start_attributes(inp))
    return aid


def grading(actor: Actor, grades: dict[str, str] | None = None, overall: str = "good", tool: AuditTool = TOOL) -> dict[str, Any]:
    grades = grades or {}
    return {
        "actor": actor,
        "domains": [{"domain": d.id, "grade": grades.get(d.id, "good"), "comment": f"{d.title}: seen in the record"}
                    for d in tool.domains],
        "overall": overall, "overall_comment": "Safe, timely practice; the child's voice could be stronger.",
    }


def moderation(actor: Actor, grades: dict[str, tuple[str, str | None]] | None = None, overall: str = "good",
               overall_reason: str | None = None, tool: AuditTool = TOOL) -> dict[str, Any]:
    grades = grades or {}
    return {
        "actor": actor,
        "domains": [{"domain": d.id, "grade": grades.get(d.id, ("good", None))[0], "reason": grades.get(d.id, ("good", None))[1]}
                    for d in tool.domains],
        "overall": overall, "overall_reason": overall_reason, "comment": "Moderated against the tool's descriptors.",
    }


def meeting(actor: Actor, themes: list[str] | None = None) -> dict[str, Any]:
    return {"actor": actor, "learning_points": "Record the child's own words; weigh the history at triage.",
            "themes": themes or ["childs_voice_absent", "history_not_weighed"]}
