"""Allocation: every piece of open work is allocated to a person (its `holder`, shown to
people as "allocated to"). A team manager allocates and reallocates it with a reason; when
the receiver's caseload would go over its target, the interface asks for a reason for that
too (frontdoor/caseloads.py shows the receiver's caseload before it is confirmed)."""

from __future__ import annotations

from pydantic import Field

from models.bounds import ReasonText, Username
from models.signing import PersonAction


class Allocation(PersonAction):
    to: Username = Field(min_length=1, description="who takes the work on (their username)")
    reason: ReasonText = Field(min_length=3, description="why it is allocated to them, or moved from its last holder")
    over_target_reason: ReasonText | None = Field(
        default=None, description="why, when it takes the receiver over their caseload target"
    )
