"""A deadline as the workflows keep it in their state: when the clock started, when it is
due, when it passed (went overdue), when the work was done, and every extension with its
reason. workflows/deadline.py is the object that moves it; screens and reports read it."""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel, Field, computed_field

from models.actions import Extension


class ExtensionRecord(BaseModel):
    """An extension as granted: the person's Extension, the due time it replaced, and when."""

    extension: Extension
    previous_deadline: datetime
    at: datetime


class DeadlineRecord(BaseModel):
    name: str  # e.g. "decision", "review", "map:police", "directions"
    started_at: datetime
    due_at: datetime | None = None  # None only while a working-day due time is being worked out
    passed_at: datetime | None = None  # when it went overdue (an extension clears it)
    done_at: datetime | None = None  # when the work it waits for was done
    max_extension: timedelta | None = None  # how far one extension may move it (None: it is not extended)
    extensions: list[ExtensionRecord] = Field(default_factory=list)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def overdue(self) -> bool:
        """Passed and still not done: what the stuck lists show."""
        return self.passed_at is not None and self.done_at is None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def met(self) -> bool | None:
        """Done by its due time (None while not done)."""
        if self.done_at is None or self.due_at is None:
            return None
        return self.done_at <= self.due_at
