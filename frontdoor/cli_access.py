"""`frontdoor access case KIND ID` and `frontdoor access person USERNAME`: who looked at a
child's record, and what a person opened (team and service managers; a person their own)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from frontdoor import access, timefmt
from frontdoor.config import load_settings
from frontdoor.errors import FrontdoorError


def _limit(text: str) -> int:
    value = int(text)
    if not 1 <= value <= access.MAX_PAGE:
        raise argparse.ArgumentTypeError(f"give 1 to {access.MAX_PAGE}")
    return value


def _print(page: access.AccessPage, tz: str, as_json: bool, empty: str, who: bool) -> None:
    if as_json:
        print(json.dumps(page.as_dict(), indent=2))
        return
    for r in page.rows:
        whom = f"{r.username} ({r.role})" if who else f"{r.kind} {r.subject_id}"
        what = r.part + (f" {r.detail}" if r.detail else "")
        print(f"{timefmt.local(r.at, tz)}  {whom:<36} {r.channel:<8} {what:<30} {r.outcome}")
    if not page.rows:
        print(empty)
    if page.next_before is not None:
        print(f"... older: add --before {page.next_before}")


def cmd_access(args: argparse.Namespace) -> int:
    from frontdoor.users import actor_for
    from workflows.registry import BY_KIND

    settings = load_settings()
    actor = actor_for(settings.database_url, args.as_user)
    if args.access_cmd == "case":
        if args.kind not in BY_KIND:
            raise FrontdoorError(f"no process {args.kind!r}; one of {', '.join(BY_KIND)}")
        page = access.of_case(settings.database_url, actor, args.kind, args.id, limit=args.limit, before=args.before)
        _print(page, settings.timezone, args.json, f"nobody has opened {args.kind} {args.id}", who=True)
    else:
        page = access.of_person(settings.database_url, actor, args.username, limit=args.limit, before=args.before)
        _print(page, settings.timezone, args.json, f"{args.username} has opened no record", who=False)
    return 0


def register(sub: Any) -> None:
    a = sub.add_parser("access", help="the access log: who looked at a child's record, what a person opened",
                       description="Every view of a case's details (page, API, document, CLI) is logged. Team and "
                       "service managers read the log; a person may read what they opened themselves.")
    asub = a.add_subparsers(dest="access_cmd", required=True)
    c = asub.add_parser("case", help="who looked at this case, newest first")
    c.add_argument("kind", help="the process, e.g. contact")
    c.add_argument("id")
    p = asub.add_parser("person", help="what this person opened, newest first")
    p.add_argument("username")
    for sp in (c, p):
        sp.add_argument("--as", dest="as_user", required=True, metavar="USER", help="who is asking")
        sp.add_argument("--limit", type=_limit, default=50, help=f"rows (1-{access.MAX_PAGE}, default 50)")
        sp.add_argument("--before", type=int, help="the row id an earlier page ended at (older rows)")
        sp.add_argument("--json", action="store_true")
        sp.set_defaults(func=cmd_access)
