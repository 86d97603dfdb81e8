"""Commands beyond the generated ones: `frontdoor missing import FILE` (the police's daily
list), `frontdoor morning agenda [DATE]` and `frontdoor schedules`.

`register(subparsers)` adds them (frontdoor/cli.py, after the processes' own commands).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from frontdoor import timefmt
from frontdoor.config import load_settings
from frontdoor.errors import FrontdoorError, NotFound

REFUSED_ROWS = 3  # exit status when the list was imported but some rows were refused


def _subcommands(parser: argparse.ArgumentParser) -> Any:
    """The ACTION subparsers of a process's command (frontdoor/cli.py made them)."""
    return next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))  # noqa: SLF001


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    missing = sub.choices.get("missing")
    if missing is not None:
        imp = _subcommands(missing).add_parser(
            "import", help="import the police's daily list (CSV or JSON): start or update one episode per row",
            description="Import the police's daily list of missing children. New police references start an "
            "episode allocated to the designated worker (FRONTDOOR_MISSING_LEAD); open ones are updated when the list "
            "changes them; the same list twice changes nothing. Rows that fail validation are reported with their "
            f"line and the rest are kept (exit status {REFUSED_ROWS} when any was refused). Columns: see "
            "examples/police_missing_list.csv.")
        imp.add_argument("file", help="the list: .csv or .json")
        imp.add_argument("--as", dest="as_user", required=True, metavar="USER", help="who imports it")
        imp.add_argument("--issued-at", metavar="TIME", help="a CSV list's time (ISO, with a zone); default: now")
        imp.add_argument("--now", action="store_true", help="move the list's times so it was issued now (the examples)")
        imp.add_argument("--json", action="store_true", help="print the import's report as JSON")
        imp.set_defaults(func=cmd_missing_import)
    morning = sub.choices.get("morning")
    if morning is not None:
        ag = _subcommands(morning).add_parser(
            "agenda", help="the agenda of a morning discussion (default: today's, or the next working day's)")
        ag.add_argument("date", nargs="?", type=date.fromisoformat, help="YYYY-MM-DD")
        ag.add_argument("--json", action="store_true")
        ag.set_defaults(func=lambda a: asyncio.run(_agenda(a)))
    sc = sub.add_parser("schedules", help="the front door's Temporal Schedules: next run, last run, paused")
    sc.add_argument("--json", action="store_true")
    sc.set_defaults(func=lambda a: asyncio.run(_schedules(a)))


# ---------------------------------------------------------------------- missing import
def cmd_missing_import(args: argparse.Namespace) -> int:
    from frontdoor import missing_lists
    from frontdoor.users import actor_for
    from models.database import init_db

    settings = load_settings()
    init_db(settings.database_url)
    actor = actor_for(settings.database_url, args.as_user)
    path = Path(args.file)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise FrontdoorError(f"no file {path}") from None
    issued_at = None
    if args.issued_at:
        try:
            issued_at = datetime.fromisoformat(args.issued_at)
        except ValueError:
            raise FrontdoorError(f"--issued-at {args.issued_at!r}: give an ISO time such as 2026-11-26T07:00:00Z") from None
        if issued_at.tzinfo is None:
            raise FrontdoorError("--issued-at: give the time zone too, e.g. 2026-11-26T07:00:00Z")
    if args.now:
        data, issued_at = missing_lists.shift_to_now(data, filename=path.name, issued_at=issued_at)
    parsed = missing_lists.parse_list(data, filename=path.name)
    say = (lambda line: print(line, file=sys.stderr, flush=True)) if args.json else (lambda line: print(line, flush=True))
    say(f"{path}: {parsed.total} row(s), {len(parsed.rows)} valid, {len(parsed.problems)} refused")
    for p in parsed.problems:
        say(f"  line {p.line}: {p.police_ref or '-'}: {p.reason}")

    async def run() -> missing_lists.ImportReport:
        from frontdoor.temporal import connect

        return await missing_lists.import_list(await connect(settings), settings, parsed, actor, via="cli",
                                               listed_at=issued_at, progress=say)

    report = asyncio.run(run())
    if args.json:
        print(report.model_dump_json(indent=2))
    else:
        print(report.summary())
        for ref in report.new:
            print(f"  new      {ref}")
        for ref in report.updated:
            print(f"  updated  {ref}")
        for n in report.not_updated:
            print(f"  closed   {n.police_ref}: {n.reason}")
    return REFUSED_ROWS if report.invalid else 0


# ---------------------------------------------------------------------- morning agenda
async def _agenda(args: argparse.Namespace) -> int:
    from frontdoor import processes
    from frontdoor.temporal import connect
    from models.calendar import WorkingCalendar

    settings = load_settings()
    calendar = WorkingCalendar(settings.timezone)
    today = calendar.local_date(datetime.now(UTC))
    proc = processes.process("morning")
    client = await connect(settings)
    # today's discussion while it is open, else the next working day's
    days = [args.date] if args.date else ([today] if calendar.is_working_day(today) else []) + [
        calendar.next_working_day(today)]
    state = None
    for day in days:
        try:
            state = await processes.get_state(client, proc, day.isoformat())
        except NotFound:
            continue
        if args.date or state.stage.value != "closed":
            break
    if state is None:
        raise NotFound(f"no morning discussion for {days[-1]:%d/%m/%Y} yet: the schedule opens it the working day "
                       f"before (see `frontdoor schedules`), or a team manager opens one: "
                       f"frontdoor morning open --date {days[-1]} --as USER") from None
    if args.json:
        print(state.model_dump_json(indent=2))
    else:
        print(_summary(settings, "morning", state))
    return 0


def _summary(settings: Any, kind: str, state: Any) -> str:
    """A case's CLI summary (templates/<kind>/summary.txt), as `frontdoor <kind> show` prints it."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    from models import codes

    env = Environment(loader=FileSystemLoader(str(settings.templates_dir)), undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["when"] = lambda m: timefmt.local(m, settings.timezone)
    env.filters["left"] = timefmt.time_left
    env.globals.update(codes.template_globals())
    text = env.get_template(f"{kind}/summary.txt").render(s=state)
    return "\n".join(line for line in text.splitlines() if line.strip())


# ---------------------------------------------------------------------- schedules
async def _schedules(args: argparse.Namespace) -> int:
    from frontdoor import schedules
    from frontdoor.temporal import connect

    settings = load_settings()
    views = await schedules.describe_schedules(await connect(settings), settings)
    if args.json:
        print(json.dumps([v.as_dict() for v in views], indent=2))
        return 0
    tz = settings.timezone
    for v in views:
        state = "not created" if not v.exists else ("PAUSED" if v.paused else "active")
        print(f"{v.id}  ({state})  {v.when}")
        print(f"  {v.title}")
        if v.paused and v.note:
            print(f"  note: {v.note}")
        if v.next_runs:
            print("  next runs: " + ", ".join(timefmt.local(m, tz) for m in v.next_runs))
        print(f"  last run: {timefmt.local(v.last_run, tz) if v.last_run else 'never'}"
              + (f" ({v.last_workflow_id})" if v.last_workflow_id else "") + (f": {v.last_result}" if v.last_result else ""))
    return 0
