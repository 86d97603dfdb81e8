"""The `frontdoor` command: run the stack, manage people, work cases, ask what is stuck.

The commands for each process (`frontdoor contact ...`, `frontdoor consultation ...`,
`frontdoor early_help ...`) are generated from its action table: one verb per action,
named as the action, with an option per field of its model.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from pydantic import BaseModel, ValidationError

from frontdoor import fields, json_file, timefmt
from frontdoor.config import ConfigError, Settings, load_settings, parse_duration
from frontdoor.errors import FrontdoorError, StillWorking, days_errors
from models import codes
from models.bounds import duration_errors
from workflows.process import Action, Process
from workflows.registry import PROCESSES


def _duration(text: str) -> timedelta:
    try:
        return parse_duration(text)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _moment(text: str) -> str:
    """An ISO time with a zone, or +DURATION from now (e.g. +4h)."""
    if text.startswith("+"):
        return (datetime.now(UTC) + _duration(text[1:])).isoformat()
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: give an ISO time such as 2026-11-27T17:00:00Z, or +4h") from None
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r}: give the time zone too, e.g. 2026-11-27T17:00:00Z")
    return value.isoformat()


def _validation_message(exc: ValidationError) -> str:
    lines = [f"  {'.'.join(str(p) for p in err['loc']) or 'input'}: {err['msg'].removeprefix('Value error, ')}"
             for err in exc.errors()]
    return "the input is not valid:\n" + "\n".join(lines)


# ---------------------------------------------------------------------- output
def _text_env(settings: Settings) -> Environment:
    env = Environment(loader=FileSystemLoader(str(settings.templates_dir)), undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=False)
    env.filters["when"] = lambda m: timefmt.local(m, settings.timezone)
    env.filters["left"] = timefmt.time_left
    env.globals.update(codes.template_globals())
    return env


def print_state(settings: Settings, proc: Process, state: BaseModel, as_json: bool) -> None:
    if as_json:
        print(state.model_dump_json(indent=2))
        return
    text = _text_env(settings).get_template(f"{proc.kind}/summary.txt").render(s=state)
    print("\n".join(line for line in text.splitlines() if line.strip()))


async def _client(settings: Settings) -> Any:
    from frontdoor.temporal import connect

    return await connect(settings)


def _actor(settings: Settings, username: str) -> Any:
    from frontdoor.users import actor_for

    return actor_for(settings.database_url, username)


# ---------------------------------------------------------------------- the stack and people
def cmd_worker(args: argparse.Namespace) -> int:
    """The worker is the top-level worker.py: run it as its own program."""
    sys.stdout.flush()
    os.execv(sys.executable, [sys.executable, "-m", "worker"])


def cmd_web(args: argparse.Namespace) -> int:
    try:
        from frontdoor.web.server import serve
    except ImportError as exc:
        raise FrontdoorError(f"the web app is not installed ({exc}): run `make install`") from None
    return serve(load_settings(), seed_demo_users=args.seed_demo_users)


def cmd_history(args: argparse.Namespace) -> int:
    """Import earlier contacts, referrals and plans (e.g. from a legacy system) for history checks."""
    from frontdoor import record
    from models.database import init_db

    settings = load_settings()
    init_db(settings.database_url)
    try:
        added, already = record.import_earlier(settings.database_url, Path(args.file), lambda line: print(line, flush=True))
    except ValueError as exc:
        raise FrontdoorError(str(exc)) from None
    print(f"imported {added} earlier record(s); {already} were already there")
    return 0


def cmd_keys(args: argparse.Namespace) -> int:
    from frontdoor.codec import generate_key

    print(generate_key())
    return 0


# ---------------------------------------------------------------------- a process's commands
def _read_json(path: str | None) -> dict[str, Any]:
    return json_file.load(Path(path), dict, "one JSON object") if path else {}


def _from_options(args: argparse.Namespace, specs: tuple[fields.FieldSpec, ...]) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for f in specs:
        value = getattr(args, f.dest, None)
        if value is None:
            continue
        flat[f.path] = value
    return fields.nest(flat)


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def _shift_to_now(data: dict[str, Any], model: type[BaseModel], received_field: str) -> None:
    """Move the case's times so it was received now, keeping the gaps between them (e.g. a
    police attendance 80 hours before receipt stays 80 hours before)."""
    raw = data.get(received_field)
    if not raw:
        return
    delta = datetime.now(UTC) - datetime.fromisoformat(str(raw))
    for name, info in model.model_fields.items():
        inner, _ = fields.unwrap(info.annotation)
        if inner is datetime and data.get(name):
            data[name] = (datetime.fromisoformat(str(data[name])) + delta).isoformat()


async def _start(proc: Process, args: argparse.Namespace) -> int:
    from frontdoor import processes

    spec = proc.start
    assert spec is not None
    settings = load_settings()
    actor = _actor(settings, args.as_user)
    data = _merge(_read_json(args.file), _from_options(args, fields.specs(spec.model)))
    if args.now:
        _shift_to_now(data, spec.model, spec.received_field)
    item = spec.model.model_validate(data)
    _, state = await processes.start_and_open(await _client(settings), settings, proc, item, actor)
    subject = spec.subject_id(item)
    shown = state
    if state is not None:  # showing the case is a read like `show`'s: the submitter's to make, and logged
        try:
            _open(settings, proc, args, subject, "state")
        except FrontdoorError:
            shown = None
    if args.json:
        print(shown.model_dump_json(indent=2) if shown is not None else "null")
        return 0
    now_at = f", now {state.stage.value.replace('_', ' ')}" if state is not None else " (its workflow has not opened it yet)"
    print(f"{proc.noun} {subject} received{now_at}" + (f". {spec.next_step(item)}" if spec.next_step else ""))
    if shown is not None:  # the start's answer: the case as it opened
        print_state(settings, proc, shown, False)
    print(f"next: frontdoor {proc.kind} show {subject} --as {actor.username}")
    return 0


def _open(settings: Settings, proc: Process | None, args: argparse.Namespace, subject_id: str, part: str,
          document: Any = None) -> None:
    """Who reads: every CLI read of a case's details names a person (--as), is theirs to make
    (the process's readers), is logged, and is refused when the case is restricted to others."""
    from frontdoor import access

    actor = _actor(settings, args.as_user)
    if proc is not None and not proc.may_read(actor.role):
        raise FrontdoorError(f"{actor.username} ({actor.role.value}) may not read {proc.noun}s")
    kind = (document.process if document is not None else None) or (proc.kind if proc else "case")
    access.open_case(settings.database_url, actor, kind, subject_id, "cli", part,
                     document.id if document is not None else None,
                     any_kind=document is not None and document.process is None)


async def _show(proc: Process, args: argparse.Namespace) -> int:
    from frontdoor import processes

    settings = load_settings()
    _open(settings, proc, args, args.id, "state")
    print_state(settings, proc, await processes.get_state(await _client(settings), proc, args.id), args.json)
    return 0


async def _act(proc: Process, action: Action, args: argparse.Namespace) -> int:
    from frontdoor import processes

    settings = load_settings()
    payload = _from_options(args, fields.specs(action.model)) | {"actor": _actor(settings, args.as_user)}
    state = await processes.act(await _client(settings), proc, args.id, action.name, payload,
                                settings=settings)
    if not args.json:
        print(f"done: {action.title}")
    print_state(settings, proc, state, args.json)
    return 0


async def _list(proc: Process, args: argparse.Namespace) -> int:
    from frontdoor import stuck

    settings = load_settings()
    client = await _client(settings)
    query = stuck.cases_query(proc, stage=args.stage, flag=args.flag, open_only=not args.all)
    rows = await stuck.list_rows(client, query, limit=args.limit)
    for r in rows:
        due = f" due {timefmt.local(r.due_at, settings.timezone)}" if r.due_at else ""
        print(f"{r.id:<24} {r.stage or '-':<24} since {timefmt.local(r.since, settings.timezone)}  "
              f"allocated to {r.holder or '-':<10}{due} {','.join(r.flags)}")
    print(f"{len(rows)} {proc.noun}(s)" + (f" (first {args.limit})" if len(rows) >= args.limit else ""))
    return 0


def _case_record(args: argparse.Namespace) -> int:
    """`trail`, `documents` and `messages`: what the case record holds about a case."""
    from frontdoor import processes, record

    settings = load_settings()
    url, tz, what = settings.database_url, settings.timezone, args.record
    if what == "documents" and args.doc_id:
        doc = record.document(url, args.doc_id)
        if doc is None:
            raise FrontdoorError(f"no document {args.doc_id}")
        _open(settings, processes.BY_KIND.get(doc.process or ""), args, doc.subject_id, "document", doc)
        print(doc.content)
        return 0
    _open(settings, args.proc, args, args.id, what)
    lines: list[str] = []
    if what == "trail":
        for r in record.trail(url, args.id):
            extra = f" {json.dumps(r.details)}" if r.details else ""
            lines.append(f"{timefmt.local(r.at, tz)}  {r.actor} ({r.role})  {r.action}{': ' + r.reasons if r.reasons else ''}{extra}")
    elif what == "documents":
        lines = [f"{timefmt.local(d.created_at, tz)}  {d.kind:<26} {d.title}   id: {d.id}" for d in record.documents(url, args.id)]
    else:
        for m in record.messages(url, args.id):
            lines.append(f"{timefmt.local(m.created_at, tz)}  -> {m.channel:<28} {m.subject}")
            if args.full:
                lines.append("    " + m.body.replace("\n", "\n    "))
    print("\n".join(lines) if lines else f"no {what} recorded for {args.id}")
    return 0


def _add_field_options(parser: argparse.ArgumentParser, specs: tuple[fields.FieldSpec, ...],
                       required: bool = True) -> None:
    for f in specs:
        if f.items and not f.line:
            continue  # a list of records with no one-line form (e.g. children): the JSON file gives those
        help_text = f.help or f.label
        if f.kind == "checkbox":
            parser.add_argument(f.option, dest=f.dest, action=argparse.BooleanOptionalAction, default=None,
                                help=help_text + (" (yes unless you say --no-...)" if f.default else ""))
            continue
        kw: dict[str, Any] = {"dest": f.dest, "help": help_text,
                              "required": required and f.required and f.group is None and f.kind != "checks"}
        if f.choices:
            values: list[Any] = [value for value, _ in f.choices]
            if all(str(v).isdigit() for v in values):  # a numbered code list, e.g. levels of need
                kw["type"], values = int, [int(v) for v in values]
            kw["choices"] = values
        else:
            kw["metavar"] = f.line or f.path.rsplit(".", 1)[-1].upper()
        if f.kind == "checks" or (f.kind == "text" and isinstance(f.default, list)):
            kw["action"] = "append"
            kw["help"] += " (repeat for more)"
        elif f.kind == "datetime":
            kw["type"] = _moment
            kw["metavar"] = "TIME|+DURATION"
        elif f.kind == "number":
            kw["type"] = int
        parser.add_argument(f.option, **kw)


def _run(fn: Any) -> Any:
    return lambda a: asyncio.run(fn(a))


READER_HELP = "who is reading (every read of a case is logged in the access log, and refused when it is restricted)"


def _register(sub: Any, proc: Process) -> None:
    p = sub.add_parser(proc.kind, help=f"{proc.noun}s: " + ", ".join(proc.actions.names()),
                       description=f"Work {proc.noun}s: start one, see it, act on it. Every action is "
                       "refused, with the reason, when the stage or your role does not allow it.")
    ps = p.add_subparsers(dest=f"{proc.kind}_cmd", required=True, metavar="ACTION")

    if proc.start is not None:
        spec = proc.start
        s = ps.add_parser(spec.name, help=spec.title.lower(), description=f"{spec.title}. {spec.help}")
        s.add_argument("file", nargs="?", help="a JSON file; options below set or override its fields")
        s.add_argument("--as", dest="as_user", required=True, metavar="USER", help="who is acting")
        s.add_argument("--now", action="store_true", help="move the case's times so it was received now")
        s.add_argument("--json", action="store_true",
                       help="print the case as it opened as JSON, nothing else (null when it has not opened yet)")
        _add_field_options(s, fields.specs(spec.model), required=False)
        s.set_defaults(func=_run(lambda a, proc=proc: _start(proc, a)))

    reader = ("--as",)
    sh = ps.add_parser("show", help=f"show {'an' if proc.noun[0] in 'aeiou' else 'a'} {proc.noun}")
    sh.add_argument("id")
    sh.add_argument(*reader, dest="as_user", required=True, metavar="USER", help=READER_HELP)
    sh.add_argument("--json", action="store_true")
    sh.set_defaults(func=_run(lambda a, proc=proc: _show(proc, a)))
    ls = ps.add_parser("list", help=f"list {proc.noun}s (open ones unless --all)")
    ls.add_argument("--stage")
    ls.add_argument("--flag")
    ls.add_argument("--all", action="store_true")
    ls.add_argument("--limit", type=int, default=50)
    ls.set_defaults(func=_run(lambda a, proc=proc: _list(proc, a)))
    for what, help_text in (("trail", "the append-only action trail: who did what, when and why"),
                            ("documents", "documents rendered for it"),
                            ("messages", "messages sent about it (agencies, staff, teams, the referrer)")):
        r = ps.add_parser(what, help=help_text)
        r.add_argument("id")
        r.add_argument(*reader, dest="as_user", required=True, metavar="USER", help=READER_HELP)
        if what == "documents":
            r.add_argument("--doc-id", help="print one document's content")
        if what == "messages":
            r.add_argument("--full", action="store_true", help="print each message's body too")
        r.set_defaults(func=_case_record, record=what, proc=proc)

    for action in proc.actions:
        who = action.who()
        a = ps.add_parser(action.name, help=f"{action.title.lower()} ({who})",
                          description=f"{action.title}. {action.help} Who may: {who}.")
        a.add_argument("id", help=f"the {proc.noun}'s id")
        a.add_argument("--as", dest="as_user", required=True, metavar="USER", help="who is acting (`frontdoor users list`)")
        a.add_argument("--json", action="store_true", help="print the new state as JSON")
        _add_field_options(a, fields.specs(action.model))
        a.set_defaults(func=_run(lambda args, proc=proc, action=action: _act(proc, action, args)))


async def _stuck(args: argparse.Namespace) -> int:
    from frontdoor import stuck

    settings = load_settings()
    if args.trend or args.days is not None:  # over time, from the case record's hourly snapshots
        from frontdoor import stuck_trend
        from models.database import init_db

        days = stuck_trend.DEFAULT_DAYS if args.days is None else args.days
        if wrong := days_errors(days, stuck_trend.MAX_DAYS, "--days"):
            raise FrontdoorError("--days: " + wrong[0]["message"])
        init_db(settings.database_url)
        found = stuck_trend.trend(settings.database_url, days, settings.timezone)
        print(json.dumps(found.as_dict(), indent=2) if args.json else stuck_trend.as_text(found))
        return 0
    client = await _client(settings)
    chosen = [k for k in stuck.KINDS if getattr(args, k, False)]
    if args.due_within:
        chosen.append("due_soon")
    within = args.due_within or timedelta(hours=4)
    if problems := duration_errors("--due-within", within):
        raise FrontdoorError(problems[0].message)
    if not chosen:
        counted = await stuck.counts(client, stuck.KINDS, within, settings.stuck_queries_at_once)
        # a server without an attribute: say so, show the rest
        out: dict[str, int | str] = {name: f"n/a ({str(value)[:60]})" if isinstance(value, Exception) else value
                                     for name, value in counted.items()}
        if args.json:
            print(json.dumps(out, indent=2))
        else:
            print("What is stuck (counts; add e.g. --overdue to list):")
            for name, value in out.items():
                print(f"  {stuck.KINDS[name].title:<48} {value}")
        return 0
    if args.page_token and len(chosen) != 1:
        raise FrontdoorError("--page-token continues one list: name exactly one (e.g. --overdue --page-token TOKEN)")
    if not 1 <= args.limit <= 100_000:
        raise FrontdoorError(f"--limit must be between 1 and 100000, not {args.limit}")
    key = stuck.token_key(settings.web_secret_key)
    start = stuck.decode_token(args.page_token, key) if args.page_token else None
    result: dict[str, Any] = {}
    for name in chosen:
        total = await stuck.count(client, name, within)
        rows: list[stuck.Row] = []
        token: bytes | None = None
        size = stuck.MAX_PAGE if args.all else min(args.limit, stuck.MAX_PAGE)
        async for batch, after in stuck.pages(client, stuck.query_for(name, within), page_size=size,
                                              next_page_token=start):
            rows, token = rows + batch, after
            if not args.all and len(rows) >= args.limit:
                break
        rows.sort(key=lambda r: r.since or datetime.max.replace(tzinfo=UTC))
        more = stuck.encode_token(token, key)
        result[name] = {"count": total, "rows": [r.as_dict() for r in rows], "next_page_token": more}
        if not args.json:
            print(f"{stuck.KINDS[name].title}: {total}" + (" (from the page token)" if start else ""))
            for r in rows:
                due = f" due {timefmt.local(r.due_at, settings.timezone)}" if r.due_at else ""
                fault = f" FAULT {r.fault}" if r.fault else ""
                print(f"  {r.id:<24} {r.kind:<12} {r.stage or '-':<24} since {timefmt.local(r.since, settings.timezone)}"
                      f"  allocated to {r.holder or '-'}{due}{fault}" + (f"  waits on {r.waits_on}" if r.waits_on else ""))
            if more:
                flag = ("--" + name.replace("_", "-") if name != "due_soon"
                        else f"--due-within {int(within.total_seconds())}s")
                print(f"  ... more: --all for the whole list, or the next page: "
                      f"frontdoor stuck {flag} --limit {args.limit} --page-token {more}")
    if args.json:
        print(json.dumps(result, indent=2))
    return 0


# ---------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    from frontdoor import stuck

    p = argparse.ArgumentParser(
        prog="frontdoor",
        description="Children's services front door on durable Temporal workflows. "
        "Configuration comes from FRONTDOOR_* environment variables, TEMPORAL_ADDRESS and DATABASE_URL (see README).",
    )
    sub = p.add_subparsers(dest="cmd", required=True, metavar="COMMAND")

    sub.add_parser("run", help="start the whole stack on the embedded default (dev server, worker, web)")
    sub.add_parser("worker", help="run a worker against TEMPORAL_ADDRESS (run as many as you like)").set_defaults(func=cmd_worker)
    w = sub.add_parser("web", help="serve the web app and JSON API")
    w.add_argument("--seed-demo-users", action="store_true", help="create one demo user per role (embedded default only)")
    w.set_defaults(func=cmd_web)

    k = sub.add_parser("keys", help="encryption keys for the payload codec")
    k.add_argument("keys_cmd", choices=["generate"], help="print a new base64 AES-256 key for FRONTDOOR_ENCRYPTION_KEY")
    k.set_defaults(func=cmd_keys)

    h = sub.add_parser("history", help="earlier contacts, referrals and plans used by history checks")
    hs = h.add_subparsers(dest="history_cmd", required=True)
    hi = hs.add_parser("import", help="import earlier records from a JSON list of contacts (each may carry an outcome)")
    hi.add_argument("file")
    h.set_defaults(func=cmd_history)

    for proc in PROCESSES:
        _register(sub, proc)

    from frontdoor import cli_admin

    cli_admin.register(sub)  # users, trail, run --use-existing
    from frontdoor import cli_practices

    cli_practices.register(sub)  # missing import, morning agenda, schedules
    from frontdoor.reports import cli as report_cli

    report_cli.register(sub)  # report NAME, annex-a (issue 10)
    from frontdoor import cli_access

    cli_access.register(sub)  # the access log (issue 9)

    st = sub.add_parser("stuck", help="what is stuck: counts, or lists with a filter")
    for name, kind in stuck.KINDS.items():
        if name != "due_soon":
            st.add_argument("--" + name.replace("_", "-"), dest=name, action="store_true", help=kind.title.lower())
    st.add_argument("--due-within", type=_duration, metavar="DURATION", help="decisions due within e.g. 4h")
    st.add_argument("--limit", type=int, default=50,
                    help="rows per list (default 50); when there are more it prints the next page's token")
    st.add_argument("--all", action="store_true", help="every row of each list, paging to its end")
    st.add_argument("--page-token", metavar="TOKEN", help="continue one list from the token a previous page printed")
    st.add_argument("--json", action="store_true")
    st.add_argument("--trend", action="store_true", help="each list over the last days (daily maximum, latest), "
                    "from the hourly snapshots")
    st.add_argument("--days", type=int, metavar="N", help="with --trend: days back, 1 to 90 (default 14)")
    st.set_defaults(func=lambda a: asyncio.run(_stuck(a)))
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except StillWorking as exc:  # taken: not an error
        print(exc.message)
        return 0
    except ValidationError as exc:
        print(f"frontdoor: {_validation_message(exc)}", file=sys.stderr)
    except (FrontdoorError, ConfigError) as exc:
        print(f"frontdoor: {getattr(exc, 'message', exc)}", file=sys.stderr)
    except BrokenPipeError:  # output piped into `head`: not an error
        return 0
    except ConnectionError as exc:
        print(f"frontdoor: {exc}", file=sys.stderr)
    except KeyboardInterrupt:
        return 130
    return 1


def entry() -> None:
    """Console entry point. Exits without interpreter finalisation: the Temporal SDK's
    native threads can abort a finalising interpreter (PyGILState_Release), which would
    turn a finished command into a crash."""
    code = main()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:
        pass
    os._exit(code)


if __name__ == "__main__":
    entry()
