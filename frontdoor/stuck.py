"""What is stuck: each supervisor question is one Temporal visibility query.

Never a loop over workflows: counts use count_workflows, lists page through
list_workflows; every row comes from search attributes alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio.client import Client, WorkflowExecution

from workflows import search_attributes as sa

OPEN = "ExecutionStatus = 'Running'"


def _ts(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class StuckKind:
    name: str
    title: str
    query: Callable[[datetime, timedelta], str]


def _flag(flag: str) -> Callable[[datetime, timedelta], str]:
    return lambda now, within: f"{OPEN} AND FdFlags = '{flag}'"


KINDS: dict[str, StuckKind] = {
    k.name: k
    for k in [
        StuckKind("overdue", "Decisions overdue", _flag("decision_overdue")),
        StuckKind(
            "due_soon",
            "Decisions due soon",
            lambda now, within: f"{OPEN} AND FdKind = 'contact' AND FdRoute = 'spa' "
            f"AND FdDueAt >= '{_ts(now)}' AND FdDueAt <= '{_ts(now + within)}'",
        ),
        StuckKind("unreviewed", "Not yet reviewed", _flag("unreviewed")),
        StuckKind("review_late", "Not reviewed on the day", _flag("review_late")),
        StuckKind("awaiting_consent", "Waiting on consent", lambda now, within: f"{OPEN} AND FdStage = 'awaiting_consent'"),
        StuckKind("awaiting_agency", "Waiting on an agency past its due time", _flag("agency_late")),
        StuckKind("urgent_unpicked", "Urgent, not picked up", _flag("awaiting_pickup")),
        StuckKind("faulted", "Technical faults (activities failing)", _flag("faulted")),
        StuckKind("referral_awaited", "Invited referrals not yet received", _flag("referral_awaited")),
        StuckKind("follow_up_due", "Consultation follow-ups outstanding", _flag("follow_up_due")),
        StuckKind("directions_overdue", "Early help: management directions overdue", _flag("directions_overdue")),
        StuckKind("early_help_overdue", "Early help: a step past its timescale", _flag("early_help_overdue")),
        StuckKind(
            "workflow_task_failing",
            "Technical faults (workflow code failing)",
            lambda now, within: f"{OPEN} AND TemporalReportedProblems IS NOT NULL",
        ),
    ]
}


@dataclass
class StuckRow:
    workflow_id: str
    subject_id: str
    kind: str
    stage: str | None
    since: datetime | None
    holder: str | None
    due_at: datetime | None
    flags: list[str]
    fault: str | None
    priority: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "workflow_id": self.workflow_id,
            "id": self.subject_id,
            "kind": self.kind,
            "stage": self.stage,
            "since": self.since.isoformat() if self.since else None,
            "holder": self.holder,
            "due_at": self.due_at.isoformat() if self.due_at else None,
            "flags": self.flags,
            "fault": self.fault,
            "priority": self.priority,
        }


def row_from(execution: WorkflowExecution) -> StuckRow:
    attrs = execution.typed_search_attributes
    kind = attrs.get(sa.KIND) or ""
    wid = execution.id
    return StuckRow(
        workflow_id=wid,
        subject_id=wid.removeprefix("early-help-") if wid.startswith("early-help-") else (wid.split("-", 1)[1] if "-" in wid else wid),
        kind=kind,
        stage=attrs.get(sa.STAGE),
        since=attrs.get(sa.SINCE) or execution.start_time,
        holder=attrs.get(sa.HOLDER),
        due_at=attrs.get(sa.DUE),
        flags=list(attrs.get(sa.FLAGS) or []),
        fault=attrs.get(sa.FAULT),
        priority=attrs.get(sa.PRIORITY),
    )


def query_for(kind: str, within: timedelta = timedelta(hours=4), now: datetime | None = None) -> str:
    if kind not in KINDS:
        raise ValueError(f"unknown stuck list {kind!r}; one of {', '.join(KINDS)}")
    return KINDS[kind].query(now or datetime.now(UTC), within)


async def count(client: Client, kind: str, within: timedelta = timedelta(hours=4)) -> int:
    return (await client.count_workflows(query_for(kind, within))).count


async def page(
    client: Client, kind: str, within: timedelta = timedelta(hours=4), *, page_size: int = 50,
    next_page_token: bytes | None = None,
) -> tuple[list[StuckRow], bytes | None]:
    """One page of rows, oldest stage first is not promised by visibility: callers sort the page."""
    iterator = client.list_workflows(query_for(kind, within), page_size=page_size, next_page_token=next_page_token)
    await iterator.fetch_next_page(page_size=page_size)
    rows = [row_from(e) for e in iterator.current_page or []]
    return rows, iterator.next_page_token
