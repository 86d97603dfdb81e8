"""Helpers for the missing children and morning discussion tests (real servers, our own client code)."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from models.missing import CSV_COLUMNS, MissingEpisodeReport
from models.roles import Actor, Role
from tests.conftest import letters

ELLA = Actor(username="ella", role=Role.EARLY_HELP_ADVISER)  # the designated worker
PAT = Actor(username="pat", role=Role.POLICE_PARTNER)
HANA = Actor(username="hana", role=Role.HEALTH_PARTNER)


def police_ref() -> str:
    return f"SP-{uuid.uuid4().hex[:10]}"


def child(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"first_name": "Mia", "last_name": f"Miss{letters()}", "date_of_birth": "2011-05-04", "sex": "F"}
    base.update(overrides)
    return base


def report(**overrides: Any) -> dict[str, Any]:
    """One row of the police's daily list (JSON shape)."""
    now = datetime.now(UTC)
    base: dict[str, Any] = {
        "police_ref": police_ref(),
        "child": child(),
        "missing_from": "home",
        "reported_missing_at": (now - timedelta(hours=30)).isoformat(),
        "returned_at": None,
        "circumstances": "Left home after an argument; seen with older youths.",
        "risk": "medium",
    }
    base.update(overrides)
    return base


def make_report(**overrides: Any) -> MissingEpisodeReport:
    return MissingEpisodeReport.model_validate(report(**overrides))


def as_csv(rows: list[dict[str, Any]]) -> str:
    """Rows (JSON shape) as the CSV the police send."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(CSV_COLUMNS), lineterminator="\n")
    writer.writeheader()
    for r in rows:
        flat = {k: v for k, v in r.items() if k != "child"} | dict(r.get("child") or {})
        writer.writerow({k: ("" if flat.get(k) is None else flat[k]) for k in CSV_COLUMNS})
    return out.getvalue()


def nhs_number() -> str:
    """A random NHS number with a valid check digit."""
    import random

    while True:
        digits = [random.randint(0, 9) for _ in range(9)]
        check = 11 - sum(d * w for d, w in zip(digits, range(10, 1, -1), strict=True)) % 11
        check = 0 if check == 11 else check
        if check != 10:
            return "".join(map(str, digits)) + str(check)
