"""Timescales the workflows run to. Read from configuration, passed into each workflow
at start so that the workflow stays deterministic and the values are in its history."""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel


class Timescales(BaseModel):
    decision_deadline: timedelta = timedelta(hours=24)
    urgent_pickup: timedelta = timedelta(hours=1)
    map_response_due: timedelta = timedelta(hours=4)
    police_delay_flag: timedelta = timedelta(hours=24)
    invited_referral_working_days: int = 2
    return_interview: timedelta = timedelta(hours=72)
    activity_attempts: int = 5
