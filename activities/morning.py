"""Activities of the morning case discussion: the meeting's times on the working-day
calendar, and its case record (meetings and items, for the reports). Each is idempotent."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from temporalio import activity

from activities.deps import Activities
from models.case_record import put_row
from models.database import session
from models.morning import (
    MeetingDay,
    MorningItemRecord,
    MorningItemRow,
    MorningMeetingRecord,
    MorningMeetingRow,
)

SEARCH_DAYS = 40  # the next working day is always within this (Christmas and a weekend: 5)


class MorningActivities(Activities):
    def _at(self, day: date, at: time) -> datetime:
        return datetime.combine(day, at, tzinfo=self.calendar.zone).astimezone(UTC)

    # Computed here, not in the workflows: a newer bank-holiday list never changes a running
    # workflow's history on replay.
    @activity.defn
    def meeting_day(self, day: date, at: time) -> MeetingDay:
        """When the meeting of `day` is, and when its day ends (it closes itself then)."""
        return MeetingDay(meeting_at=self._at(day, at), ends_at=self.calendar.end_of(day))

    @activity.defn
    def next_meeting_day(self, now: datetime, at: time, after: date | None = None) -> date:
        """Where an item goes. A new item: the first working day whose meeting has not begun
        (today before the meeting time). A roll-over from the meeting of `after`: the first
        working day after it whose day has not ended (the next meeting, even if it has begun)."""
        day = self.calendar.local_date(now) if after is None else after + timedelta(days=1)
        for _ in range(SEARCH_DAYS):
            if self.calendar.is_working_day(day):
                ends = self._at(day, at) if after is None else self.calendar.end_of(day)
                if ends > now:
                    return day
            day += timedelta(days=1)
        raise ValueError(f"no working day within {SEARCH_DAYS} days of {day}: check the calendar")

    @activity.defn
    def is_working_day(self, day: date) -> bool:
        return self.calendar.is_working_day(day)

    @activity.defn
    def service_date(self, moment: datetime) -> date:
        return self.calendar.local_date(moment)

    # -- the case record -----------------------------------------------------------
    @activity.defn
    def record_meeting(self, record: MorningMeetingRecord) -> None:
        with session(self.deps.database_url) as s:
            day = record.date.isoformat()
            new = {"date": day, "workflow_id": record.workflow_id, "opened_by": record.opened_by}
            put_row(s, MorningMeetingRow, day, new, record.model_dump(exclude={"date"}))

    @activity.defn
    def record_item(self, record: MorningItemRecord) -> None:
        with session(self.deps.database_url) as s:
            new = {"item_id": record.item_id, "raised_at": record.raised_at, "raised_role": record.raised_role,
                   "last_meeting": record.last_meeting.isoformat()}
            values = {name: value.isoformat() if isinstance(value, date) and not isinstance(value, datetime) else value
                      for name, value in record.model_dump().items()}
            put_row(s, MorningItemRow, record.item_id, new, values)
