"""Case-record tables for the consultation line and the early help hub.

Summary rows for reports ("consultations and the referrals that followed", Annex A
list 2). A consultation row never holds a child's identity.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from models.tables import UTCDateTime


def _ts(**kw: Any) -> Any:
    return Field(sa_column=Column(UTCDateTime(), **kw))


class ConsultationRow(SQLModel, table=True):
    __tablename__ = "consultations"
    id: str = Field(primary_key=True, max_length=64)
    workflow_id: str = Field(index=True)
    called_at: datetime = _ts(nullable=False, index=True)
    caller_agency: str
    anonymous: bool = True
    children_named: int = 0
    factors: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    outcome: str = Field(index=True)
    reference: str | None = Field(default=None, index=True)
    referral_due_at: datetime | None = _ts(nullable=True)
    referral_contact_id: str | None = None
    referral_received_at: datetime | None = _ts(nullable=True)
    follow_up_raised_at: datetime | None = _ts(nullable=True)
    follow_up_outcome: str | None = None
    closure: str | None = None
    closed_at: datetime | None = _ts(nullable=True)


class EarlyHelpRow(SQLModel, table=True):
    __tablename__ = "early_help_cases"
    id: str = Field(primary_key=True, max_length=64)
    workflow_id: str = Field(index=True)
    entry: str
    origin_contact_id: str | None = Field(default=None, index=True)
    started_at: datetime = _ts(nullable=False, index=True)
    stage: str = "awaiting_directions"
    outcome: str | None = None
    quadrant: str | None = None
    step_up_contact_id: str | None = None
    closed_at: datetime | None = _ts(nullable=True)


DOOR_TABLES = [ConsultationRow.__table__, EarlyHelpRow.__table__]  # type: ignore[attr-defined]
