"""The daily caseload snapshot: each person's open work, counted from visibility (the
same query the caseload page asks), kept in the case record for caseloads over time.
Idempotent: a second snapshot on the same service day replaces that day's rows."""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from datetime import UTC, date, datetime

from sqlalchemy import delete
from sqlmodel import col, select
from temporalio import activity
from temporalio.common import SearchAttributeKey

from activities.deps import Activities
from models.caseload import (
    CaseloadSnapshotRequest,
    CaseloadSnapshotResult,
    CaseloadSnapshotRow,
    open_work_query,
)
from models.database import session
from models.roles import Role
from models.tables import User

PAGE = 1000
# the same keys as workflows/search_attributes.py (activities do not import workflows)
HOLDER = SearchAttributeKey.for_keyword("FdHolder")
KIND = SearchAttributeKey.for_keyword("FdKind")


class CaseloadActivities(Activities):
    @activity.defn
    async def take_caseload_snapshot(self, request: CaseloadSnapshotRequest) -> CaseloadSnapshotResult:
        """Count every active person's open work (zero too: an empty caseload is a fact of the day)."""
        counts: dict[str, Counter[str]] = defaultdict(Counter)
        async for execution in activity.client().list_workflows(open_work_query(request.kinds), page_size=PAGE):
            attrs = execution.typed_search_attributes
            holder, kind = attrs.get(HOLDER), attrs.get(KIND)
            if holder and kind:
                counts[holder][kind] += 1
        at = request.at or datetime.now(UTC)
        day = at.astimezone(self.calendar.zone).date()
        people = await asyncio.to_thread(self._write, day, at, counts, request)
        return CaseloadSnapshotResult(taken_on=day, people=people, items=sum(sum(c.values()) for c in counts.values()))

    def _write(self, day: date, at: datetime, counts: dict[str, Counter[str]], request: CaseloadSnapshotRequest) -> int:
        with session(self.deps.database_url) as s:
            people = [u for u in s.exec(select(User)).all() if u.active]
            s.execute(delete(CaseloadSnapshotRow).where(col(CaseloadSnapshotRow.taken_on) == day))
            for u in people:
                by_kind = dict(counts.get(u.username, Counter()))
                s.add(CaseloadSnapshotRow(
                    taken_on=day, taken_at=at, username=u.username, role=u.role, team=u.team,
                    open_items=sum(by_kind.values()), target=request.targets.target(Role(u.role)), by_kind=by_kind,
                ))
            s.commit()
            return len(people)
