"""Timescales the workflows run to. Read from configuration, passed into each workflow
at start so that the workflow stays deterministic and the values are in its history."""

from __future__ import annotations

from datetime import time, timedelta

from pydantic import BaseModel, Field

from models.bounds import EXTENSION_MAX_SPAN


class Span(BaseModel):
    """A step's timescale: working days on the service's calendar (models/calendar.py),
    or a plain duration, which wins when set (for demonstrations and tests)."""

    working_days: int = Field(default=1, ge=0)
    duration: timedelta | None = None


class Timescales(BaseModel):
    decision_deadline: timedelta = timedelta(hours=24)
    urgent_pickup: timedelta = timedelta(hours=1)
    map_response_due: timedelta = timedelta(hours=4)
    police_delay_flag: timedelta = timedelta(hours=24)
    invited_referral_working_days: int = 2
    return_interview: timedelta = timedelta(hours=72)  # offered within this of a missing child's return
    repeat_missing_window: timedelta = timedelta(days=90)  # episodes counted for the repeat missing pattern
    repeat_missing_episodes: int = 3  # this many in the window (this one included) flag the pattern
    # the morning case discussion: each working day at this local time (FRONTDOOR_MORNING_DISCUSSION_AT=09:30)
    morning_discussion_at: time = time(9, 30)
    activity_attempts: int = 5
    extension_max_span: timedelta = EXTENSION_MAX_SPAN  # how far one extension may move a decision deadline
    # consultation line: a plain duration here replaces the working days (demos, tests)
    invited_referral_due: timedelta | None = None
    # early help hub: management directions, information gathering, recommendation, decision
    early_help_directions: Span = Field(default_factory=lambda: Span(working_days=1))
    early_help_gathering: Span = Field(default_factory=lambda: Span(working_days=5))
    early_help_recommendation: Span = Field(default_factory=lambda: Span(working_days=2))
    early_help_decision: Span = Field(default_factory=lambda: Span(working_days=1))
    # the audit programme: first-line audit, re-audit, moderation, reflective meeting (to acknowledgement)
    audit_first_line: Span = Field(default_factory=lambda: Span(working_days=10))
    audit_re_audit: Span = Field(default_factory=lambda: Span(working_days=10))
    audit_moderation: Span = Field(default_factory=lambda: Span(working_days=10))
    audit_meeting: Span = Field(default_factory=lambda: Span(working_days=15))

    @property
    def invited_referral(self) -> Span:
        return Span(working_days=self.invited_referral_working_days, duration=self.invited_referral_due)
