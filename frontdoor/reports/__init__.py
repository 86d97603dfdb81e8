"""Reports: what managers, inspectors and the police partnership ask, added up in SQL.

Every report reads the report facts (models/facts.py: one row per case, projected from
the action trail as it is written), never Temporal visibility, and aggregates in the
database (SQLite or PostgreSQL): counts, sums and percentiles by window functions. A
report is a `Report` (name, title, description, the SQL in its `compute`, its tables'
columns and a chart); `REPORTS` lists them for the page, the API and the CLI.

What a referral is: see models/facts.py (one place).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlmodel import Session

from frontdoor.config import Settings
from frontdoor.errors import NotFound
from frontdoor.reports import (
    audits,
    caseloads,
    consent,
    consultations,
    early_help,
    missing,
    morning,
    patterns,
    police,
    rereferrals,
    threshold,
    timeliness,
    volumes,
)
from frontdoor.reports.base import Report, ReportInputError, ReportResult, Window, window_for

REPORTS: dict[str, Report] = {
    r.name: r
    for r in (
        timeliness.REPORT, police.REPORT, volumes.REPORT, rereferrals.REPORT, patterns.REPORT,
        consent.REPORT, threshold.REPORT, consultations.REPORT, early_help.REPORT,
        # the other processes' figures, so managers find them all in one place
        missing.REPORT, morning.REPORT, audits.REPORT, caseloads.REPORT,
    )
}
FORMATS = ("json", "csv", "xlsx")

__all__ = ["REPORTS", "Report", "ReportInputError", "ReportResult", "Window", "get", "run", "today", "window"]


def get(name: str) -> Report:
    report = REPORTS.get(name)
    if report is None:
        raise NotFound(f"no report called {name[:60]!r}: the reports are {', '.join(REPORTS)}")
    return report


# A report reads a year of facts in a few index range scans; SQLite's defaults (a 2 MB page
# cache, sorts spilling to temporary files) make each scan read pages again. Per connection.
_SQLITE_READING = ("PRAGMA cache_size=-65536", "PRAGMA temp_store=MEMORY", "PRAGMA mmap_size=268435456")


def run(s: Session, name: str, w: Window) -> ReportResult:
    report = get(name)
    if s.get_bind().dialect.name == "sqlite":
        for pragma in _SQLITE_READING:
            s.execute(text(pragma))
    return ReportResult(report, w, report.compute(s, w), datetime.now(UTC))


def today(settings: Settings) -> date:
    return datetime.now(UTC).astimezone(ZoneInfo(settings.timezone)).date()


def window(settings: Settings, start: str | date | None, end: str | date | None, default_months: int = 12) -> Window:
    """The inclusive date window for a request, in the service's time zone, with the police
    delay flag the service is configured with."""
    return window_for(
        start, end, today=today(settings), default_months=default_months, timezone=settings.timezone,
        police_flag_hours=settings.timescales.police_delay_flag.total_seconds() / 3600,
    )
