"""What every report is made of: a date window, tables of figures, a chart. The SQL they
share (conditions, counts, percentiles in the database) is in `frontdoor/reports/sql.py`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlmodel import Session

from frontdoor.errors import FrontdoorError
from models.bounds import months_after

MAX_YEARS = 5
LIST_LIMIT = 500  # rows in a listing table (the total is always given)


class ReportInputError(FrontdoorError):
    """A report's input is not usable; the message names the field and what to give."""

    status = 422

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field = field_name
        self.reason = message


@dataclass(frozen=True)
class Window:
    """The dates a report covers, inclusive, in the service's own time zone."""

    start: date
    end: date
    timezone: str = "Europe/London"
    police_flag_hours: float = 24.0
    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def label(self) -> str:
        return f"{self.start:%d/%m/%Y} to {self.end:%d/%m/%Y}"


def parse_day(value: str | None, field_name: str) -> date | None:
    """A date from outside: YYYY-MM-DD (or DD/MM/YYYY), refused with a message naming the field."""
    if value is None or value == "":
        return None
    text = str(value).strip()
    if len(text) > 10:
        raise ReportInputError(field_name, f"{text[:20]!r} is not a date: give YYYY-MM-DD, e.g. 2026-04-01")
    for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ReportInputError(field_name, f"{text!r} is not a date: give YYYY-MM-DD, e.g. 2026-04-01")


def window_for(
    start: str | date | None, end: str | date | None, *, today: date, default_months: int = 12,
    timezone: str = "Europe/London", police_flag_hours: float = 24.0,
) -> Window:
    """The inclusive window from --from/--to (or ?from=&to=); by default the last
    `default_months` months up to today. At most five years; never before 2000."""
    to = end if isinstance(end, date) else parse_day(end, "to")
    frm = start if isinstance(start, date) else parse_day(start, "from")
    if to is None:
        to = today
    if to < date(2000, 1, 1):  # before the default from is counted back from it (year 1 has no year before)
        raise ReportInputError("to", f"{to.isoformat()} is before 2000: the case record starts later")
    if frm is None:
        frm = months_after(to, -default_months) + timedelta(days=1)
    if frm < date(2000, 1, 1):
        raise ReportInputError("from", f"{frm.isoformat()} is before 2000: the case record starts later")
    if to > today + timedelta(days=366):
        raise ReportInputError("to", f"{to.isoformat()} is more than a year ahead of today ({today.isoformat()})")
    if frm > to:
        raise ReportInputError("from", f"{frm.isoformat()} is after to ({to.isoformat()}): give from on or before to")
    if (to - frm).days > 366 * MAX_YEARS:
        raise ReportInputError("to", f"the range {frm.isoformat()} to {to.isoformat()} is longer than {MAX_YEARS} years: split it")
    return Window(frm, to, timezone=timezone, police_flag_hours=police_flag_hours)


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: str = "text"  # text | int | pct | hours | number | date | week | month | datetime | bool


@dataclass
class Table:
    name: str
    title: str
    columns: list[Column]
    rows: list[list[Any]]
    note: str = ""
    total: int | None = None  # listings: how many there were (rows may be fewer: LIST_LIMIT)

    def column(self, key: str) -> list[Any]:
        index = [c.key for c in self.columns].index(key)
        return [row[index] for row in self.rows]


@dataclass(frozen=True)
class Chart:
    """One chart of one table: `x` is the category column, `y` the series (columns)."""

    table: str
    kind: str  # bar (grouped when several y) | stacked | line | barh
    x: str
    y: tuple[str, ...]
    title: str
    x_label: str
    y_label: str


@dataclass(frozen=True)
class Report:
    name: str
    title: str
    description: str  # for people: what it shows and how it is counted
    compute: Callable[[Session, Window], list[Table]]
    chart: Chart


@dataclass
class ReportResult:
    report: Report
    window: Window
    tables: list[Table]
    generated_at: datetime

    def table(self, name: str) -> Table:
        for t in self.tables:
            if t.name == name:
                return t
        raise KeyError(name)


def utc(moment: datetime | None) -> datetime | None:
    """Aware UTC (SQLite hands back naive UTC times)."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def key_figures(rows: list[tuple[str, Any]], note: str = "") -> Table:
    """The headline numbers at the top of a report: (measure, value)."""
    return Table(
        "summary", "Key figures",
        [Column("measure", "Measure"), Column("value", "Value", "number")],
        [[label, value] for label, value in rows], note=note,
    )


def week_label(day: date | None) -> str:
    return f"w/c {day:%d/%m/%Y}" if day else "-"


def month_label(day: date | None) -> str:
    return f"{day:%b %Y}" if day else "-"
