"""Placing a simulated case record on the calendar (`frontdoor demo`, issue 10 section 4).

The demo drives the real workflows on a time-skipping Temporal server, whose clock starts
at the wall clock's now and runs months ahead: what the workflows record is dated in the
future. `place_on_calendar` moves every recorded moment back by one amount, so that the
last simulated moment is now. Every duration is kept, so every figure a report computes
(hours to a decision, on time or late, days to a directions step) is what the workflows did.

- every UTC time column of the case record's tables (not the people's: users, tokens,
  sessions, sign-in failures, the access log), and every full ISO time inside their JSON
  (a trail entry's `due`, `new_deadline`; a contact's `received_at` in its payload);
  calendar dates (a child's date of birth) stay as they are;
- a few columns the activities fill from the wall clock (a document's `created_at`, an
  outbox message's, an agency request's chase and answer) first become the simulated
  moment they were written at (`WallToSim`, from the demo's checkpoints);
- the workflows write a staging record (a file of the demo's own); the moved record is
  copied into the empty one at DATABASE_URL, its trail appended entry by entry through
  activities.records.append_action: the hash chain and the report facts (local dates,
  weeks, months) are made by the code that makes them for the workflows, and the trail,
  append-only, is never rewritten.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Table, insert, select
from sqlmodel import SQLModel

from activities.demo import BatchSession
from activities.facts import FACT_TABLES
from activities.records import append_action
from models.database import get_engine
from models.messages import ActionEntry
from models.tables import ActionRecord, UTCDateTime

# the people's tables: not the case record, and the demo writes none of them
PEOPLE = frozenset({"users", "api_tokens", "web_sessions", "sign_in_failures", "access_log"})
# columns the activities fill from the wall clock (the moment the activity ran)
WALL_CLOCK = {
    "documents": ("created_at",),
    "outbox": ("created_at", "delivered_at"),
    "agency_requests": ("chased_at", "responded_at"),
}


class WallToSim:
    """The simulated moment at a wall-clock moment of the demo's run, from checkpoints
    (wall, simulated) taken as it went: the latest checkpoint before, plus the time since."""

    def __init__(self) -> None:
        self.walls: list[datetime] = []
        self.sims: list[datetime] = []

    def checkpoint(self, wall: datetime, sim: datetime) -> None:
        self.walls.append(_utc(wall))
        self.sims.append(_utc(sim))

    def __call__(self, wall: datetime) -> datetime:
        wall = _utc(wall)
        i = bisect.bisect_right(self.walls, wall) - 1
        if i < 0:
            return wall
        return self.sims[i] + (wall - self.walls[i])


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def shift_json(value: Any, delta: timedelta) -> Any:
    """`value` with every full ISO time inside it (with a time of day) moved back by `delta`."""
    if isinstance(value, dict):
        return {k: shift_json(v, delta) for k, v in value.items()}
    if isinstance(value, list):
        return [shift_json(v, delta) for v in value]
    if isinstance(value, str) and len(value) >= 16 and value[4:5] == "-" and value[10:11] == "T":
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
        return (moment - delta).isoformat()
    return value


def place_on_calendar(staging_url: str, database_url: str, delta: timedelta,
                      wall_to_sim: Callable[[datetime], datetime] | None = None,
                      say: Callable[[str], None] = print) -> dict[str, int]:
    """Copy the case record the workflows wrote at `staging_url` into the (empty) one at
    `database_url`, every time moved back by `delta` (see the module). The trail is appended
    entry by entry in its order through activities.records.append_action, so the chain and
    the report facts are made by the code that makes them for the workflows (the trail is
    append-only: nothing is rewritten). Returns the rows copied by table."""
    fact_names = {t.name for t in FACT_TABLES}
    copied: dict[str, int] = {}
    with get_engine(staging_url).connect() as src, BatchSession(get_engine(database_url), expire_on_commit=False) as s:
        for table in SQLModel.metadata.sorted_tables:
            if table.name in PEOPLE or table.name in fact_names or table.name in ("actions", "trail_heads"):
                continue
            rows = [_moved(dict(r), table, delta, WALL_CLOCK.get(table.name, ()), wall_to_sim)
                    for r in src.execute(select(table)).mappings()]
            if rows:
                s.connection().execute(insert(table), rows)
                copied[table.name] = len(rows)
        s.really_commit()
        actions: Table = ActionRecord.__table__  # type: ignore[attr-defined]
        n = 0
        for r in src.execute(select(actions).order_by(actions.c.id)):
            appended = append_action(s, ActionEntry(
                idempotency_key=r.idempotency_key, subject_id=r.subject_id, workflow_id=r.workflow_id, kind=r.kind,
                actor=r.actor, role=r.role, at=_utc(r.at) - delta, action=r.action, reasons=r.reasons,
                details=shift_json(r.details or {}, delta),
            ))
            if not appended:
                raise RuntimeError(f"trail entry {r.idempotency_key} was not appended")
            n += 1
            if n % 1000 == 0:
                s.really_commit()
        s.really_commit()
        copied["actions"] = n
    say(f"  placed on the calendar: every time moved back {delta.days} days {delta.seconds // 3600} h, "
        f"{n:,} trail entries appended again (chain and report facts) and {sum(copied.values()) - n:,} rows copied")
    return copied


def _moved(row: dict[str, Any], table: Table, delta: timedelta, wall: tuple[str, ...],
           wall_to_sim: Callable[[datetime], datetime] | None) -> dict[str, Any]:
    for c in table.columns:
        v = row.get(c.name)
        if v is None:
            continue
        if isinstance(c.type, UTCDateTime):
            moment = _utc(v)
            if c.name in wall and wall_to_sim is not None:
                moment = wall_to_sim(moment)
            row[c.name] = moment - delta
        elif type(c.type).__name__ == "JSON":
            row[c.name] = shift_json(v, delta)
    return row
