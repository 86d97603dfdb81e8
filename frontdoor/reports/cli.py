"""`frontdoor report NAME ...` and `frontdoor annex-a ...`: reports and the Ofsted Annex A
lists from the command line. `register(subparsers)` adds both commands; the main parser
in frontdoor/cli.py calls it once."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from frontdoor import report_figures, reports
from frontdoor.config import Settings, load_settings
from frontdoor.errors import days_errors
from frontdoor.reports import annex_a, export
from frontdoor.reports.base import ReportInputError, Window
from models import annex_a as spec
from models.database import init_db, session

FORMATS = ("table", "csv", "xlsx", "json")
HISTORY = "figures-history"  # not a report: every report's key figures, from the daily snapshots


def _progress(message: str) -> None:
    print(f"frontdoor: {message}", file=sys.stderr, flush=True)


def _listing() -> str:
    width = max(len(n) for n in reports.REPORTS)
    lines = ["reports:"]
    for r in reports.REPORTS.values():
        lines.append(f"  {r.name:<{width}}  {r.title}")
    lines.append("")
    lines.append("Dates are YYYY-MM-DD, inclusive, in the service's time zone (FRONTDOOR_TIMEZONE); the default range is")
    lines.append("the last 12 months up to today. A referral is a contact routed to the SPA or the urgent route, or")
    lines.append("stepped up from early help (models/facts.py). Examples:")
    lines.append("  frontdoor report timeliness --from 2026-04-01 --to 2027-03-31")
    lines.append("  frontdoor report police-delay --format csv --out police.csv")
    lines.append("  frontdoor report volumes --format xlsx --out volumes.xlsx --chart volumes.svg")
    lines.append(f"  frontdoor report {HISTORY} --days 28       # key figures from the daily snapshots")
    return "\n".join(lines)


def register(sub: Any) -> None:
    r = sub.add_parser(
        "report", help="a report for a date range: timeliness, police delay, volumes, ... (see --help)",
        description="Reports added up from the case record, for any range of dates.", epilog=_listing(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    r.add_argument("name", metavar="NAME", choices=[*reports.REPORTS, HISTORY],
                   help=f"the report (listed below), or {HISTORY}: the daily snapshots' key figures")
    r.add_argument("--from", dest="start", metavar="YYYY-MM-DD", help="first day (default: 12 months before --to)")
    r.add_argument("--to", dest="end", metavar="YYYY-MM-DD", help="last day, inclusive (default: today)")
    r.add_argument("--format", choices=FORMATS, default="table", help="table (default), csv, xlsx or json")
    r.add_argument("--table", metavar="TABLE", help="with --format csv: one table only (e.g. by_week; --format json lists them)")
    r.add_argument("--out", metavar="FILE", help="write to FILE instead of the terminal (needed for xlsx)")
    r.add_argument("--chart", metavar="FILE.svg", help="also write the report's chart as SVG")
    r.add_argument("--days", type=int, metavar="N", help=f"with {HISTORY}: the snapshots of the last N days "
                   f"(1 to {report_figures.MAX_DAYS}; default {report_figures.DEFAULT_DAYS})")
    r.set_defaults(func=cmd_report)

    a = sub.add_parser(
        "annex-a", help="Ofsted Annex A lists 1 (contacts), 2 (early help), 3 (referrals) as CSV or XLSX",
        description="Ofsted Annex A lists, one row per child, with the column names, dd/mm/yyyy dates and value "
        "spellings inspectors' tools read (models/annex_a.py). The default range is the last six months.",
        epilog="Examples:\n  frontdoor annex-a --list all --out annex-a.xlsx\n"
        "  frontdoor annex-a --list 1 --from 2026-10-01 --to 2027-03-31 --out list1.csv",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    a.add_argument("--list", dest="lists", default="all", metavar="1|2|3|all", help="which list (default all: one XLSX, a sheet each)")
    a.add_argument("--from", dest="start", metavar="YYYY-MM-DD", help="first day (default: six months before --to)")
    a.add_argument("--to", dest="end", metavar="YYYY-MM-DD", help="last day, inclusive (default: today)")
    a.add_argument("--format", choices=("csv", "xlsx"), help="csv or xlsx (default: from --out's extension)")
    a.add_argument("--out", required=True, metavar="FILE", help="where to write (.csv or .xlsx)")
    a.set_defaults(func=cmd_annex_a)

    d = sub.add_parser(
        "demo", help="fill an EMPTY case record with months of fictional demo cases, so the reports have something to show",
        description="Fill an empty case record (DATABASE_URL) with plausible, clearly fictional cases over the last "
        "--months months: contacts, consultations and early help cases driven through the real workflows on an "
        "embedded time-skipping Temporal server (scripted people; deadlines pass and agencies are chased for real), "
        "then placed on the calendar up to today; plus missing episodes, audits and caseload snapshots written "
        "directly. Refuses a database that holds anything already (real data or an earlier demo).",
        epilog="Example:\n  DATABASE_URL=sqlite:///var/demo.db frontdoor demo --months 6\n  frontdoor web --seed-demo-users   "
        "# then sign in as a manager and open /reports",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    d.add_argument("--months", type=int, default=6, help="how many months up to today (1 to 12; default 6)")
    d.add_argument("--per-week", type=int, default=20, help="contacts a week (1 to 60; default 20)")
    d.add_argument("--seed", type=int, default=2026, help="the same seed gives the same cases")
    d.set_defaults(func=cmd_demo)


def _ready(settings: Settings) -> None:
    init_db(settings.database_url)  # the report facts' tables, on a case record made before them


def _write(out: str | None, body: str | bytes) -> None:
    if out is None:
        if isinstance(body, bytes):
            raise ReportInputError("--out", "XLSX is a binary file: give --out FILE.xlsx")
        sys.stdout.write(body if body.endswith("\n") else body + "\n")
        return
    path = Path(out)
    if isinstance(body, bytes):
        path.write_bytes(body)
    else:
        path.write_text(body, encoding="utf-8", newline="")
    _progress(f"wrote {path}")


def cmd_figures_history(args: argparse.Namespace, settings: Settings) -> int:
    days = report_figures.DEFAULT_DAYS if args.days is None else args.days
    if wrong := days_errors(days, report_figures.MAX_DAYS, "--days"):
        raise ReportInputError("--days", wrong[0]["message"])
    if args.format not in ("table", "json"):
        raise ReportInputError("--format", f"{HISTORY} is given as table or json")
    _ready(settings)
    found = report_figures.history(settings.database_url, days, settings.timezone)
    _write(args.out, json.dumps(found.as_dict(), indent=2) if args.format == "json" else report_figures.as_text(found))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    settings = load_settings()
    if args.name == HISTORY:
        return cmd_figures_history(args, settings)
    if args.days is not None:
        raise ReportInputError("--days", f"only {HISTORY} takes --days: a report takes --from and --to")
    w: Window = reports.window(settings, args.start, args.end)
    if args.format == "xlsx" and not args.out:
        raise ReportInputError("--out", "XLSX is a binary file: give --out FILE.xlsx")
    _ready(settings)
    report = reports.get(args.name)
    _progress(f"{report.title}, {w.label} ...")
    started = time.perf_counter()
    with session(settings.database_url) as s:
        result = reports.run(s, args.name, w)
    _progress(f"computed in {time.perf_counter() - started:.2f} s")
    if args.table and args.table not in {t.name for t in result.tables}:
        raise ReportInputError("--table", f"{args.name} has no table {args.table!r}: use one of {', '.join(t.name for t in result.tables)}")
    body: str | bytes
    if args.format == "json":
        body = json.dumps(export.to_json(result), indent=2)
    elif args.format == "csv":
        body = export.to_csv(result, args.table)
    elif args.format == "xlsx":
        body = export.to_xlsx(result)
    else:
        body = export.to_text(result)
    _write(args.out, body)
    if args.chart:
        from frontdoor.reports import charts  # matplotlib: only when a chart is asked for

        Path(args.chart).write_text(charts.render_svg(result), encoding="utf-8")
        _progress(f"wrote {args.chart}")
    return 0


def cmd_annex_a(args: argparse.Namespace) -> int:
    settings = load_settings()
    numbers = annex_a.parse_lists(args.lists)
    w = reports.window(settings, args.start, args.end, default_months=6)
    fmt = args.format or ("csv" if str(args.out).lower().endswith(".csv") else "xlsx")
    if fmt == "csv" and len(numbers) > 1:
        raise ReportInputError("--list", "a CSV file holds one list: give --list 1, 2 or 3, or --format xlsx for all three")
    _ready(settings)
    lists: dict[int, list[list[Any]]] = {}
    with session(settings.database_url) as s:
        for n in numbers:
            started = time.perf_counter()
            _progress(f"Annex A {spec.LIST_TITLES[n]}, {w.label} ...")
            lists[n] = annex_a.build(s, n, w)
            _progress(f"  {len(lists[n]):,} rows in {time.perf_counter() - started:.2f} s")
    if fmt == "csv":
        number, rows = next(iter(lists.items()))
        _write(args.out, annex_a.to_csv(number, rows))
    else:
        _write(args.out, annex_a.to_xlsx(lists, w.timezone))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """The demo runs the workflows with their worker, so it runs as its own program (the
    top-level demo.py), as `frontdoor worker` does: the interface never imports the worker."""
    import subprocess

    settings = load_settings()
    sys.stdout.flush()
    return subprocess.call([
        sys.executable, "-m", "demo", "--months", str(args.months), "--per-week", str(args.per_week),
        "--seed", str(args.seed), "--database-url", settings.database_url,
    ])
