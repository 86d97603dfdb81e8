"""The daily report snapshot's activity: every report's key figures over the snapshot's
window, kept in the case record (`report_snapshots`). Idempotent: a second snapshot on the
same local day replaces that day's rows.

The design, and why: the reports (the SQL that adds the figures up) live in the interface,
frontdoor/reports/, and activities may not import the interface (tests/test_architecture.py).
Moving twelve reports into models/ would be a large move for one caller, and copying their
SQL would let the snapshot drift from the reports people read. So the activity takes the
computation as a plain function (`models.report_snapshot.KeyFigures`, in `Deps.key_figures`)
that the worker, which may import both, wires in: frontdoor/report_figures.figures_for, the
very reports the reports page runs. The activity owns the moment, the window and the write.
"""

from __future__ import annotations

import asyncio
from datetime import date, datetime

from sqlalchemy import delete
from sqlmodel import col
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.deps import Activities
from models.database import session
from models.report_snapshot import (
    FIGURE_LENGTH,
    MAX_FIGURES,
    REPORT_LENGTH,
    Figure,
    ReportSnapshotResult,
    ReportSnapshotRow,
    ReportSnapshotTaking,
    snapshot_window,
)

NOT_WIRED = ("the worker gave no report figures (Deps.key_figures): start the worker with `frontdoor worker`, "
             "which wires in frontdoor/report_figures.figures_for")


class ReportSnapshotActivities(Activities):
    @activity.defn
    async def take_report_snapshot(self, taking: ReportSnapshotTaking) -> ReportSnapshotResult:
        """The reports' SQL over the window (a few aggregates each), then one write."""
        if self.deps.key_figures is None:
            raise ApplicationError(NOT_WIRED, non_retryable=True)
        day = taking.at.astimezone(self.calendar.zone).date()
        start, end = snapshot_window(day, taking.window_days)
        figures = await asyncio.to_thread(self.deps.key_figures, self.deps.database_url, start, end)
        if len(figures) > MAX_FIGURES:
            raise ApplicationError(f"{len(figures)} key figures is more than {MAX_FIGURES}: a report returns too many",
                                   non_retryable=True)
        await asyncio.to_thread(self._write, day, taking.at, start, end, figures)
        reports = len({r for r, _, _ in figures})
        summary = f"{len(figures)} key figures of {reports} reports, {start:%d/%m/%Y} to {end:%d/%m/%Y}"
        return ReportSnapshotResult(taken_on=day, window_from=start, window_to=end, reports=reports,
                                    figures=len(figures), summary=summary)

    def _write(self, day: date, at: datetime, start: date, end: date, figures: list[Figure]) -> None:
        positions: dict[str, int] = {}
        with session(self.deps.database_url) as s:
            s.execute(delete(ReportSnapshotRow).where(col(ReportSnapshotRow.taken_on) == day))
            for report, figure, value in figures:
                position = positions[report] = positions.get(report, -1) + 1
                s.add(ReportSnapshotRow(taken_on=day, taken_at=at, window_from=start, window_to=end,
                                        report=report[:REPORT_LENGTH], figure=figure[:FIGURE_LENGTH],
                                        position=position, value=None if value is None else float(value)))
            s.commit()
