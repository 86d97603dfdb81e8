"""Stuck lists over time: every stuck list's count, taken at the top of each hour by the
StuckSnapshotWorkflow (its Schedule: frontdoor/schedules.py) and kept in the case record
(`stuck_snapshots`), so a manager sees whether a backlog is growing.

One row per list per hour; the same hour taken again replaces that hour's rows. Pure: no
I/O; the snapshot activity writes these rows, frontdoor/stuck_trend.py reads them.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import UniqueConstraint
from sqlmodel import Field as TableField
from sqlmodel import SQLModel

from models.tables import _ts

MAX_LISTS = 200  # stuck lists in one snapshot (there are about twenty)
MAX_QUERY = 2000  # characters of one visibility query
NAME_LENGTH = 64


def top_of_hour(moment: datetime) -> datetime:
    """The hour a snapshot belongs to (UTC; the service's zone differs from UTC by whole hours)."""
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


class StuckSnapshotRequest(BaseModel):
    """What the Schedule starts the snapshot workflow with. A step that fails is tried again
    every `retry_every`, doubling up to `retry_at_most`, and shows as a technical fault meanwhile."""

    model_config = ConfigDict(extra="forbid")
    schedule_id: str = Field(default="frontdoor-stuck-snapshot", max_length=200)
    at: datetime | None = None  # the moment counted (None: the workflow's time)
    retry_every: timedelta = Field(default=timedelta(minutes=1), gt=timedelta(0), le=timedelta(hours=1))
    retry_at_most: timedelta = Field(default=timedelta(minutes=30), gt=timedelta(0), le=timedelta(hours=6))


class StuckCounting(BaseModel):
    """What the activity counts: each stuck list's visibility query at one moment."""

    model_config = ConfigDict(extra="forbid")
    at: datetime
    queries: dict[str, str] = Field(max_length=MAX_LISTS)


class StuckSnapshotResult(BaseModel):
    hour: datetime
    taken_on: date  # the service's local date of that hour
    counts: dict[str, int]
    summary: str = ""  # in words, for `frontdoor schedules`


class StuckSnapshotRow(SQLModel, table=True):
    """One stuck list's count in one hour; the same hour taken again replaces the row."""

    __tablename__ = "stuck_snapshots"
    __table_args__ = (UniqueConstraint("hour", "name"),)
    id: int | None = TableField(default=None, primary_key=True)
    hour: datetime = _ts(nullable=False, index=True)  # the top of the hour counted (UTC)
    taken_on: date = TableField(index=True)  # that hour's local date (the service's time zone)
    taken_at: datetime = _ts(nullable=False)  # the moment counted
    name: str = TableField(max_length=NAME_LENGTH)
    count: int = 0
