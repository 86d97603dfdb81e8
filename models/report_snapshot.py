"""The key report figures over time: once a day the ReportSnapshotWorkflow (its Schedule:
frontdoor/schedules.py, `report-snapshot`) keeps every report's key figures (the "Key
figures" table each report heads with) in the case record (`report_snapshots`), so a
director or a performance meeting sees how the headline numbers move from day to day.

What a day's snapshot covers: the `window_days` (28) whole days that end the day before it
is taken (the service's local dates), so every snapshot compares like with like, four weeks
of complete days, whatever hour it runs.

One row per (day taken, report, figure); the same day taken again replaces that day's rows.
Pure: no I/O. The snapshot activity writes the rows; frontdoor/report_figures.py computes
the figures (the reports live in the interface, which activities may not import: see
`KeyFigures`) and reads the history.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import UniqueConstraint
from sqlmodel import Field as TableField
from sqlmodel import SQLModel

from models.tables import _ts

WINDOW_DAYS = 28  # the days a snapshot's figures cover, ending the day before it is taken
MAX_WINDOW_DAYS = 366
REPORT_LENGTH = 40
FIGURE_LENGTH = 200
MAX_FIGURES = 1000  # rows in one day's snapshot (there are about eighty)

# (report name, figure name, value); None: nothing to count (e.g. a % of nothing)
Figure = tuple[str, str, float | None]
# What the worker hands the snapshot activity (Deps.key_figures): every report's key figures
# for an inclusive window of local dates, computed from the case record at `database_url`.
# It lives in the interface (frontdoor/report_figures.figures_for), which activities may not
# import; the worker, which may import both, wires it in.
KeyFigures = Callable[[str, date, date], list[Figure]]


def snapshot_window(taken_on: date, days: int = WINDOW_DAYS) -> tuple[date, date]:
    """The inclusive local dates a snapshot taken on `taken_on` covers: `days` whole days
    ending the day before."""
    end = taken_on - timedelta(days=1)
    return end - timedelta(days=days - 1), end


class ReportSnapshotRequest(BaseModel):
    """What the Schedule starts the snapshot workflow with. A step that fails is tried again
    every `retry_every`, doubling up to `retry_at_most`, and shows as a technical fault meanwhile."""

    model_config = ConfigDict(extra="forbid")
    schedule_id: str = Field(default="frontdoor-report-snapshot", max_length=200)
    at: datetime | None = None  # the moment taken (None: the workflow's time)
    window_days: int = Field(default=WINDOW_DAYS, ge=1, le=MAX_WINDOW_DAYS)
    retry_every: timedelta = Field(default=timedelta(minutes=1), gt=timedelta(0), le=timedelta(hours=1))
    retry_at_most: timedelta = Field(default=timedelta(minutes=30), gt=timedelta(0), le=timedelta(hours=6))


class ReportSnapshotTaking(BaseModel):
    """What the activity takes: the moment, and how many days the figures cover."""

    model_config = ConfigDict(extra="forbid")
    at: datetime
    window_days: int = Field(default=WINDOW_DAYS, ge=1, le=MAX_WINDOW_DAYS)


class ReportSnapshotResult(BaseModel):
    taken_on: date  # the service's local date of the moment taken
    window_from: date
    window_to: date
    reports: int
    figures: int
    summary: str = ""  # in words, for `frontdoor schedules`


class ReportSnapshotRow(SQLModel, table=True):
    """One key figure of one report, as it stood on one day; the same day taken again replaces it."""

    __tablename__ = "report_snapshots"
    __table_args__ = (UniqueConstraint("taken_on", "report", "figure"),)
    id: int | None = TableField(default=None, primary_key=True)
    taken_on: date = TableField(index=True)  # the service's local date it was taken
    taken_at: datetime = _ts(nullable=False)  # the moment taken
    window_from: date  # the first day the figures cover (inclusive)
    window_to: date  # the last day (inclusive)
    report: str = TableField(max_length=REPORT_LENGTH)
    figure: str = TableField(max_length=FIGURE_LENGTH)
    position: int = 0  # the figure's place in its report's key figures table
    value: float | None = None
