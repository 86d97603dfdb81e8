"""A report's tables as JSON, CSV, XLSX (openpyxl) and plain text for the terminal.

Rows hold raw values (numbers, dates, times); each column's kind says how to show them:
dates as dd/mm/yyyy, times in the service's time zone, percentages and hours to one
decimal place, and JSON with ISO dates and UTC times.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from frontdoor.reports.base import Column, ReportResult, Table, month_label, utc, week_label

if TYPE_CHECKING:  # openpyxl (and the numpy it loads) only when a spreadsheet is written
    from openpyxl import Workbook
    from openpyxl.worksheet._write_only import WriteOnlyWorksheet

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _local(value: datetime, zone: ZoneInfo) -> datetime:
    moment = utc(value)
    assert moment is not None
    return moment.astimezone(zone)


def cell_text(column: Column, value: Any, zone: ZoneInfo) -> str:
    """For people (the page and the terminal)."""
    if value is None:
        return "-"
    if column.kind == "month":
        return month_label(value)
    if column.kind == "week":
        return week_label(value)
    if column.kind == "date" and isinstance(value, date):
        return f"{value:%d/%m/%Y}"
    if column.kind == "datetime" and isinstance(value, datetime):
        return f"{_local(value, zone):%d/%m/%Y %H:%M}"
    if column.kind in ("pct", "hours", "number") and isinstance(value, float):
        return f"{value:.1f}"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def cell_csv(column: Column, value: Any, zone: ZoneInfo) -> Any:
    if value is None:
        return ""
    if column.kind == "month" and isinstance(value, date):
        return f"{value:%Y-%m}"
    if column.kind in ("week", "date") and isinstance(value, date):
        return f"{value:%d/%m/%Y}"
    if column.kind == "datetime" and isinstance(value, datetime):
        return f"{_local(value, zone):%d/%m/%Y %H:%M}"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return value


def cell_json(column: Column, value: Any) -> Any:
    if isinstance(value, datetime):
        moment = utc(value)
        return moment.isoformat() if moment else None
    if isinstance(value, date):
        return f"{value:%Y-%m}" if column.kind == "month" else value.isoformat()
    return value


def to_json(result: ReportResult) -> dict[str, Any]:
    w = result.window
    return {
        "name": result.report.name,
        "title": result.report.title,
        "description": result.report.description,
        "from": w.start.isoformat(),
        "to": w.end.isoformat(),
        "timezone": w.timezone,
        "generated_at": result.generated_at.astimezone(UTC).isoformat(),
        "chart": {"table": result.report.chart.table, "title": result.report.chart.title},
        "tables": [
            {
                "name": t.name,
                "title": t.title,
                "note": t.note or None,
                "total": t.total,
                "columns": [{"key": c.key, "label": c.label, "kind": c.kind} for c in t.columns],
                "rows": [{c.key: cell_json(c, v) for c, v in zip(t.columns, row, strict=True)} for row in t.rows],
            }
            for t in result.tables
        ],
    }


def table_csv(table: Table, zone: ZoneInfo, writer: Any) -> None:
    writer.writerow([c.label for c in table.columns])
    for row in table.rows:
        writer.writerow([cell_csv(c, v, zone) for c, v in zip(table.columns, row, strict=True)])


def to_csv(result: ReportResult, table: str | None = None) -> str:
    """One table (`table`), or every table in turn, each under a line with its title."""
    zone = ZoneInfo(result.window.timezone)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    if table is not None:
        table_csv(result.table(table), zone, writer)
        return out.getvalue()
    writer.writerow([f"{result.report.title}, {result.window.label}"])
    for t in result.tables:
        writer.writerow([])
        writer.writerow([t.title])
        table_csv(t, zone, writer)
    return out.getvalue()


def _sheet_name(title: str, used: set[str]) -> str:
    base = "".join(ch for ch in title if ch not in '[]:*?/\\')[:31] or "Sheet"
    name, n = base, 2
    while name.lower() in used:
        suffix = f" ({n})"
        name, n = base[: 31 - len(suffix)] + suffix, n + 1
    used.add(name.lower())
    return name


def xlsx_value(column: Column, value: Any, zone: ZoneInfo) -> tuple[Any, str | None]:
    """(cell value, number format)."""
    if value is None:
        return None, None
    if column.kind in ("date", "week") and isinstance(value, date):
        return value, "dd/mm/yyyy"
    if column.kind == "month" and isinstance(value, date):
        return value, "mmm yyyy"
    if column.kind == "datetime" and isinstance(value, datetime):
        return _local(value, zone).replace(tzinfo=None), "dd/mm/yyyy hh:mm"
    if column.kind in ("pct", "hours") and isinstance(value, float):
        return value, "0.0"
    if isinstance(value, bool):
        return ("yes" if value else "no"), None
    return value, None


def new_workbook() -> Workbook:
    """A write-only workbook. openpyxl is imported here, not at the top: it takes a quarter of
    a second, and every command of the CLI would pay it."""
    from openpyxl import Workbook

    return Workbook(write_only=True)


def write_rows(ws: WriteOnlyWorksheet, columns: list[Column], rows: list[list[Any]], zone: ZoneInfo) -> None:
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    bold = Font(bold=True)
    header = []
    for c in columns:
        cell = WriteOnlyCell(ws, value=c.label)
        cell.font = bold
        header.append(cell)
    ws.append(header)
    for row in rows:
        cells: list[Any] = []
        for c, v in zip(columns, row, strict=True):
            value, fmt = xlsx_value(c, v, zone)
            if fmt is None:
                cells.append(value)
            else:
                cell = WriteOnlyCell(ws, value=value)
                cell.number_format = fmt
                cells.append(cell)
        ws.append(cells)


def to_xlsx(result: ReportResult) -> bytes:
    """One sheet per table, after an 'About' sheet saying what the report is."""
    zone = ZoneInfo(result.window.timezone)
    wb = new_workbook()
    used: set[str] = set()
    about = wb.create_sheet(_sheet_name("About", used))
    about.append([result.report.title])
    about.append([result.report.description])
    about.append([f"From {result.window.start:%d/%m/%Y} to {result.window.end:%d/%m/%Y} (inclusive), {result.window.timezone}"])
    about.append([f"Generated {result.generated_at.astimezone(zone):%d/%m/%Y %H:%M}"])
    for t in result.tables:
        if t.note:
            about.append([f"{t.title}: {t.note}"])
    for t in result.tables:
        ws = wb.create_sheet(_sheet_name(t.title, used))
        write_rows(ws, t.columns, t.rows, zone)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def to_text(result: ReportResult) -> str:
    """Aligned plain-text tables for the terminal."""
    zone = ZoneInfo(result.window.timezone)
    lines = [f"{result.report.title}: {result.window.label}", ""]
    for t in result.tables:
        lines.append(t.title)
        cells = [[c.label for c in t.columns]] + [[cell_text(c, v, zone) for c, v in zip(t.columns, row, strict=True)] for row in t.rows]
        widths = [min(80, max(len(r[i]) for r in cells)) for i in range(len(t.columns))]
        numeric = [c.kind not in ("text", "datetime", "date", "week", "month") for c in t.columns]
        for r in cells:
            parts = [(v[:80].rjust(wd) if num else v[:80].ljust(wd)) for v, wd, num in zip(r, widths, numeric, strict=True)]
            lines.append("  " + "  ".join(parts).rstrip())
        if not t.rows:
            lines.append("  (none)")
        if t.total is not None and t.total > len(t.rows):
            lines.append(f"  ... {t.total} in all; {len(t.rows)} shown")
        if t.note:
            lines.append(f"  {t.note}")
        lines.append("")
    return "\n".join(lines)
