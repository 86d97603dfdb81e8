"""The hourly stuck snapshot's activity: count each stuck list in Temporal visibility (the
worker's own client, `activity.client()`, as the caseload snapshot does) and keep the
counts in the case record. The queries come from the workflow (activities do not import
workflows, where the catalogue of stuck lists is). Idempotent: a second snapshot in the
same hour replaces that hour's rows."""

from __future__ import annotations

import asyncio
from datetime import date, datetime

from sqlalchemy import delete
from sqlmodel import col
from temporalio import activity

from activities.deps import Activities
from models.database import session
from models.stuck_trend import StuckCounting, StuckSnapshotResult, StuckSnapshotRow, top_of_hour


class StuckActivities(Activities):
    @activity.defn
    async def take_stuck_snapshot(self, counting: StuckCounting) -> StuckSnapshotResult:
        """One count_workflows per list (never a loop over workflows), then one write."""
        client = activity.client()
        counts = {name: (await client.count_workflows(query)).count for name, query in counting.queries.items()}
        hour = top_of_hour(counting.at)
        day = hour.astimezone(self.calendar.zone).date()
        await asyncio.to_thread(self._write, hour, day, counting.at, counts)
        summary = (f"{sum(counts.values())} stuck across {len(counts)} lists at {hour:%H:%M} UTC "
                   f"({sum(1 for n in counts.values() if n)} lists not empty)")
        return StuckSnapshotResult(hour=hour, taken_on=day, counts=counts, summary=summary)

    def _write(self, hour: datetime, day: date, at: datetime, counts: dict[str, int]) -> None:
        with session(self.deps.database_url) as s:
            s.execute(delete(StuckSnapshotRow).where(col(StuckSnapshotRow.hour) == hour))
            for name, n in counts.items():
                s.add(StuckSnapshotRow(hour=hour, taken_on=day, taken_at=at, name=name, count=n))
            s.commit()
