"""Administration commands: people (`frontdoor users ...`), the action trail's integrity
(`frontdoor trail ...`), and `frontdoor run --use-existing`.

`register(subparsers)` adds them to the `frontdoor` command (frontdoor/cli.py).
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from frontdoor.config import load_settings
from frontdoor.errors import FrontdoorError
from models.roles import Role


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from frontdoor.cli_caseload import register as register_caseload

    _users(sub)
    _trail(sub)
    register_caseload(sub)  # caseload show / team / allocate / snapshot
    run = sub.choices.get("run")
    if run is not None:
        run.add_argument(
            "--use-existing", action="store_true",
            help="use a Temporal server already answering on TEMPORAL_ADDRESS instead of refusing to start",
        )
        run.set_defaults(func=cmd_run)


def cmd_run(args: argparse.Namespace) -> int:
    from frontdoor.stack import run_stack

    return run_stack(load_settings(), use_existing=bool(getattr(args, "use_existing", False)))


# ---------------------------------------------------------------------- users
def _users(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    u = sub.add_parser("users", help="people, their roles, passwords and API tokens")
    us = u.add_subparsers(dest="users_cmd", required=True, metavar="ACTION")
    ua = us.add_parser("add", help="add a person with a role; prints a first API token (label 'default')")
    ua.add_argument("name")
    ua.add_argument("--role", required=True, choices=[r.value for r in Role])
    ua.add_argument("--display-name")
    ua.add_argument("--team", help="the team they work in (caseloads and audit samples group by it), e.g. spa-east")
    pw = ua.add_mutually_exclusive_group()
    pw.add_argument("--password", help="for signing in to the web app (visible to other users of this machine: prefer --password-stdin)")
    pw.add_argument("--password-stdin", action="store_true", help="read the password from the first line of standard input")
    ua.add_argument("--no-token", action="store_true", help="issue no API token (web sign-in only)")
    us.add_parser("list", help="list people")
    uteam = us.add_parser("team", help="move a person to a team (caseloads and audit samples group by it)")
    uteam.add_argument("name")
    uteam.add_argument("team", nargs="?", help="the team; leave out for no team")
    up = us.add_parser("password", help="set a person's password (asks twice; ends their browser sessions)")
    up.add_argument("name")
    up.add_argument("--password-stdin", action="store_true", help="read the password from the first line of standard input")
    ud = us.add_parser("disable", help="stop a person at once: ends their sessions and revokes every token")
    ud.add_argument("name")
    ue = us.add_parser("enable", help="let a disabled person sign in again (tokens stay revoked)")
    ue.add_argument("name")
    ut = us.add_parser("token", help="issue another API token under a label (shown once)")
    ut.add_argument("name")
    ut.add_argument("--label", required=True, help="what the token is for, e.g. 'laptop' or 'nightly export'")
    uts = us.add_parser("tokens", help="a person's API tokens: labels, when issued and last used, revoked")
    uts.add_argument("name")
    ur = us.add_parser("revoke", help="revoke one labelled API token, or every one of the person's tokens")
    ur.add_argument("name")
    ur.add_argument("--label", help="only the token with this label")
    u.set_defaults(func=cmd_users)


def _read_password(args: argparse.Namespace, *, ask: bool) -> str | None:
    if getattr(args, "password", None):
        return str(args.password)
    if getattr(args, "password_stdin", False):
        line = sys.stdin.readline().rstrip("\r\n")
        if not line:
            raise FrontdoorError("no password on standard input")
        return line
    if not ask:
        return None
    if not sys.stdin.isatty():
        raise FrontdoorError("give the password on standard input with --password-stdin, or run this in a terminal")
    first = getpass.getpass("New password: ")
    if getpass.getpass("Same again: ") != first:
        raise FrontdoorError("the two passwords differ: nothing changed")
    return first


def _when(moment: datetime | None) -> str:
    if moment is None:
        return "-"
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone().strftime("%d/%m/%Y %H:%M")


def cmd_users(args: argparse.Namespace) -> int:
    from frontdoor import users
    from models.database import init_db

    settings = load_settings()
    url = settings.database_url
    init_db(url)
    name = getattr(args, "name", "")
    if args.users_cmd == "add":
        password = _read_password(args, ask=False)
        users.create_user(url, name, args.role, args.display_name or "", password, min_length=settings.password_min_length,
                          team=args.team)
        print(f"added {name} ({args.role})" + ("" if password else "; no password: set one with `frontdoor users password " + name + "`"))
        if not args.no_token:
            token = users.issue_token(url, name, "default")
            print(f"API token 'default' (shown once, keep it safe):\n{token}")
    elif args.users_cmd == "list":
        for u in users.list_users(url):
            live = [t for t in users.list_tokens(url, u.username) if t.revoked_at is None]
            print(f"{u.username:<16} {u.role:<20} {u.team or '-':<14} {'active' if u.active else 'DISABLED':<9} "
                  f"{'password' if u.password_hash else 'no password':<12} {len(live)} token(s)")
    elif args.users_cmd == "team":
        users.set_team(url, name, args.team)
        print(f"{name} is now in team {args.team}" if args.team else f"{name} is now in no team")
    elif args.users_cmd == "password":
        password = _read_password(args, ask=True) or ""
        users.set_password(url, name, password, min_length=settings.password_min_length)
        print(f"password of {name} changed; their browser sessions have ended")
    elif args.users_cmd == "disable":
        ended, revoked = users.disable_user(url, name)
        print(f"disabled {name}: {ended} session(s) ended, {revoked} token(s) revoked. "
              f"`frontdoor users enable {name}` lets them back in")
    elif args.users_cmd == "enable":
        users.enable_user(url, name)
        print(f"enabled {name}; issue a token with `frontdoor users token {name} --label LABEL` if they need the API")
    elif args.users_cmd == "token":
        token = users.issue_token(url, name, args.label)
        print(f"API token {args.label!r} for {name} (shown once, keep it safe; "
              f"`frontdoor users revoke {name} --label {args.label!r}` ends it):\n{token}")
    elif args.users_cmd == "tokens":
        tokens = users.list_tokens(url, name)
        if not tokens:
            print(f"{name} has no API tokens")
        for t in tokens:
            state = f"revoked {_when(t.revoked_at)}" if t.revoked_at else "live"
            print(f"{t.label:<24} issued {_when(t.created_at)}  last used {_when(t.last_used_at)}  {state}")
    elif args.users_cmd == "revoke":
        count = users.revoke_tokens(url, name, args.label)
        what = f"token {args.label!r}" if args.label else f"{count} token(s)"
        print(f"revoked {what} of {name}; `frontdoor users token {name} --label LABEL` issues a new one")
    return 0


# ---------------------------------------------------------------------- trail
def _trail(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    t = sub.add_parser("trail", help="the action trail's integrity: verify the hash chains")
    ts = t.add_subparsers(dest="trail_cmd", required=True, metavar="ACTION")
    tv = ts.add_parser("verify", help="check every case's trail (or one case's) for edited, inserted, deleted or reordered rows")
    tv.add_argument("id", nargs="?", help="one case (contact, consultation or episode id)")
    tv.add_argument("--heads", type=Path, help="also check against heads saved earlier with `frontdoor trail heads`")
    ts.add_parser("heads", help="print every case's chain head as JSON, to keep outside the database")
    t.set_defaults(func=cmd_trail)


def cmd_trail(args: argparse.Namespace) -> int:
    from frontdoor import trail
    from models.database import init_db

    settings = load_settings()
    init_db(settings.database_url)
    if args.trail_cmd == "heads":
        print(json.dumps(trail.export_heads(settings.database_url), indent=1))
        return 0
    anchor = None
    if args.heads:
        try:
            anchor = trail.load_heads(args.heads.read_text())
        except OSError as exc:
            raise FrontdoorError(f"cannot read {args.heads}: {exc.strerror}") from None
        except ValueError as exc:
            raise FrontdoorError(f"{args.heads}: {exc}") from None
    started = last = time.monotonic()

    def progress(done: int, total: int) -> None:
        nonlocal last
        if time.monotonic() - last >= 2.0:
            last = time.monotonic()
            print(f"  checked {done}/{total} case(s) ...", file=sys.stderr, flush=True)

    report = trail.verify(settings.database_url, args.id, progress=progress, heads=anchor)
    took = time.monotonic() - started
    scope = f"case {args.id}" if args.id else f"{report.cases} case(s)"
    if report.ok:
        if args.id and report.rows == 0:
            print(f"no trail rows for {args.id} (and no chain head): nothing to check")
            return 0
        print(f"trail OK: {scope}, {report.rows} row(s) checked in {took:.1f}s; every chain is whole and ends at its head")
        return 0
    cases = len({p.subject_id for p in report.problems})
    print(f"TRAIL PROBLEMS: {len(report.problems)} problem(s) in {cases} case(s) "
          f"({scope}, {report.rows} row(s) checked in {took:.1f}s):")
    for p in report.problems:
        print(f"  {p.line()}")
    print("The trail has been changed outside frontdoor. Keep this output, restore the database from a "
          "backup to compare, and tell your information governance lead.")
    return 1
