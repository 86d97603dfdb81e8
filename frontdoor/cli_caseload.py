"""`frontdoor caseload ...`: a person's or a team's open work against the targets,
allocation with the receiver's caseload shown first, caseloads over time, and the daily
snapshot. Registered by frontdoor/cli_admin.register."""

from __future__ import annotations

import argparse
import asyncio
import json
from datetime import date
from typing import Any

from frontdoor.config import Settings, load_settings
from frontdoor.errors import FrontdoorError

RAG_WORDS = {"green": "", "amber": "  (near the target)", "red": "  ** OVER THE TARGET **"}


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    c = sub.add_parser("caseload", help="caseloads: a person's or a team's open work, allocation, over time")
    cs = c.add_subparsers(dest="caseload_cmd", required=True, metavar="ACTION")
    show = cs.add_parser("show", help="a person's open work by process and stage, against their target")
    show.add_argument("name")
    show.add_argument("--json", action="store_true")
    team = cs.add_parser("team", help="a team's caseloads: each person against their target, the average and spread")
    team.add_argument("team")
    team.add_argument("--json", action="store_true")
    alloc = cs.add_parser("allocate", help="allocate a case to a person: shows their caseload first")
    alloc.add_argument("kind", help="the process, e.g. contact, early_help, audit")
    alloc.add_argument("id")
    alloc.add_argument("--as", dest="as_user", required=True, metavar="USER")
    alloc.add_argument("--to", required=True, metavar="NAME", help="who takes it on")
    alloc.add_argument("--reason", help="why it goes to them (needed unless --preview)")
    alloc.add_argument("--over-target-reason", help="why, when it takes them over their target")
    alloc.add_argument("--preview", action="store_true", help="only show their caseload and what this would do")
    over = cs.add_parser("over-time", help="the average and spread of caseloads per team and day (daily snapshots)")
    over.add_argument("--team")
    over.add_argument("--since", type=date.fromisoformat, metavar="YYYY-MM-DD")
    over.add_argument("--json", action="store_true")
    cs.add_parser("snapshot", help="take today's caseload snapshot now (the daily schedule does it, see `frontdoor schedules`)")
    c.set_defaults(func=lambda a: asyncio.run(_run(a)))


async def _client(settings: Settings) -> Any:
    from frontdoor.temporal import connect

    return await connect(settings)


def _line(c: Any) -> str:
    target = f"/{c.target}" if c.target else ""
    return f"{c.username:<16} {c.role.value if c.role else '-':<20} {c.count:>3}{target:<4} {c.rag.value:<6}{RAG_WORDS[c.rag.value]}"


async def _run(args: argparse.Namespace) -> int:
    from frontdoor import caseloads, processes, timefmt
    from frontdoor.users import actor_for
    from models.database import init_db

    settings = load_settings()
    init_db(settings.database_url)
    cmd = args.caseload_cmd
    if cmd == "over-time":
        rows = caseloads.caseloads_over_time(settings.database_url, team=args.team, since=args.since)
        if args.json:
            print(json.dumps(rows, indent=2))
        for r in [] if args.json else rows:
            print(f"{r['day']}  {r['team'] or '-':<14} {r['role']:<20} people {r['people']:>3}  average {r['average']:>6}  "
                  f"spread (sd) {r['stdev']:>5}  min {r['min']:>3}  max {r['max']:>3}  over target {r['over_target']}")
        if not rows:
            print("no caseload snapshots yet: `frontdoor caseload snapshot` takes one; the daily schedule keeps them")
        return 0
    client = await _client(settings)
    if cmd == "show":
        c = await caseloads.caseload_of(client, settings, args.name)
        if args.json:
            print(json.dumps(c.as_dict(), indent=2))
            return 0
        print(_line(c) + f"   team {c.team or '-'}")
        for p in c.by_process():
            stages = ", ".join(f"{stage.replace('_', ' ')} {n}" for stage, n in p["stages"].items())
            print(f"  {p['noun']:<18} {p['count']:>3}   {stages}")
        if c.oldest is not None:
            print(f"  oldest: {c.oldest.kind} {c.oldest.id} received {timefmt.local(c.oldest.received_at, settings.timezone)}"
                  f" ({timefmt.age(c.oldest.received_at)} ago)")
    elif cmd == "team":
        t = await caseloads.team_caseload(client, settings, args.team)
        if args.json:
            print(json.dumps(t.as_dict(), indent=2))
            return 0
        for c in t.people:
            print(_line(c))
        s = t.summary()
        print(f"practitioners: {s['people']}, open work {s['total']}, average {s['average']}, spread (sd) {s['stdev']}, "
              f"over target {s['over_target']}")
    elif cmd == "allocate":
        proc = processes.process(args.kind)
        pv = await caseloads.preview(client, settings, proc, args.id, args.to)
        rc = pv.receiver
        print(f"{proc.noun} {args.id} at {pv.stage.replace('_', ' ')}, allocated to {pv.holder}")
        print(f"{args.to} now: {rc.count} open (target {rc.target or '-'}, {rc.rag.value}); after: {pv.after} "
              f"({pv.rag_after.value}){'  ** OVER THE TARGET: give --over-target-reason **' if pv.over_target else ''}")
        for problem in pv.problems:
            print(f"  cannot: {problem}")
        if args.preview:
            return 0
        if not args.reason:
            raise FrontdoorError("give --reason: why it goes to them")
        actor = actor_for(settings.database_url, args.as_user)
        await caseloads.allocate(client, settings, proc, args.id, {
            "actor": actor, "to": args.to, "reason": args.reason, "over_target_reason": args.over_target_reason})
        print(f"done: {proc.noun} {args.id} allocated to {args.to}")
    elif cmd == "snapshot":
        result = await caseloads.snapshot_now(client, settings)
        print(f"caseload snapshot of {result.taken_on}: {result.people} people, {result.items} open items")
    return 0
