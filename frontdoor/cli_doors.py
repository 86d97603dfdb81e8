"""`frontdoor consultation ...` and `frontdoor early-help ...`: the two doors beside the main flow.

`register(subparsers)` adds both commands (and their lists to `frontdoor stuck`); the
main parser in frontdoor/cli.py calls it once.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from frontdoor.config import load_settings
from frontdoor.errors import FrontdoorError
from models.codes import Agency
from models.consultation import FollowUpOutcome
from models.early_help import DECIDABLE, ConversationWith


def _when(moment: datetime | None) -> str:
    from frontdoor.cli import _when as when

    return when(moment)


async def _client(settings: Any) -> Any:
    from frontdoor.temporal import connect

    return await connect(settings)


def _actor(settings: Any, username: str) -> Any:
    from frontdoor.users import actor_for

    return actor_for(settings.database_url, username)


def _child(text: str) -> dict[str, Any]:
    """'First Last' or 'First Last,2018-03-02'."""
    name, _, dob = text.partition(",")
    parts = name.strip().split(" ", 1)
    child: dict[str, Any] = {"first_name": parts[0]}
    if len(parts) > 1:
        child["last_name"] = parts[1]
    if dob.strip():
        child["date_of_birth"] = dob.strip()
    return child


# ---------------------------------------------------------------------- consultations
def print_consultation(s: Any) -> None:
    print(f"Consultation {s.consultation_id}   stage: {s.stage.value} since {_when(s.stage_since)}   held by {s.holder}")
    print(f"  call at {_when(s.called_at)} from {s.caller.name}, {s.caller.agency}")
    print(f"  child: {'anonymous (no identity stored)' if s.anonymous else ', '.join(s.children)}")
    print(f"  {s.history_lookup}")
    print(f"  concern: {s.concern}")
    print(f"  advice: {s.advice}")
    if s.reference:
        print(f"  referral invited: quote reference {s.reference}; due by {_when(s.referral_due_at)}")
    else:
        print("  advice only: no referral invited")
    if s.flags:
        print(f"  flags: {', '.join(s.flags)}")
    if s.fault:
        print(f"  TECHNICAL FAULT in {s.fault.activity}: {s.fault.error} (retry: frontdoor consultation retry {s.consultation_id} --as USER)")
    if s.follow_up_raised_at:
        print(f"  ** FOLLOW-UP raised {_when(s.follow_up_raised_at)}: ring the caller back and record the outcome")
    if s.follow_up:
        print(f"  follow-up call by {s.follow_up.actor.username} at {_when(s.follow_up_at)}: {s.follow_up.outcome.value}: {s.follow_up.note}")
    if s.referral_contact_id:
        timing = "on time" if s.referral_on_time else "late"
        print(f"  referral received as contact {s.referral_contact_id} at {_when(s.referral_received_at)} ({timing})")
    if s.closed_at:
        print(f"  closed {_when(s.closed_at)}: {s.closure.value if s.closure else '-'}")


async def _consultation_record(args: argparse.Namespace) -> int:
    from frontdoor.consultations import record_consultation
    from models.consultation import Consultation

    settings = load_settings()
    actor = _actor(settings, args.as_user)
    data: dict[str, Any] = json.loads(Path(args.file).read_text()) if args.file else {}
    flags = {
        "id": args.id, "called_at": args.called_at, "concern": args.concern, "advice": args.advice,
        "factors": args.factor, "anonymous": args.anonymous or None,
        "outcome": "referral_invited" if args.invite_referral else ("advice_only" if not data.get("outcome") else None),
        "children": [_child(c) for c in args.child] if args.child else None,
    }
    data.update({k: v for k, v in flags.items() if v is not None})
    caller = data.setdefault("caller", {})
    for key in ("name", "agency", "role", "phone"):
        value = getattr(args, f"caller_{key}")
        if value:
            caller[key] = value
    data.setdefault("id", f"CONS-{datetime.now(UTC):%Y}-{uuid.uuid4().hex[:6]}")
    data.setdefault("called_at", datetime.now(UTC).isoformat())
    consultation = Consultation.model_validate(data)
    await record_consultation(await _client(settings), settings, consultation, actor)
    print(f"consultation {consultation.id} recorded")
    if consultation.reference:
        print(f"the caller quotes reference {consultation.reference} as consultation_ref when referring")
    print(f"next: frontdoor consultation show {consultation.id}")
    return 0


async def _consultation_show(args: argparse.Namespace) -> int:
    from frontdoor.consultations import get_state

    state = await get_state(await _client(load_settings()), args.id)
    print(state.model_dump_json(indent=2)) if args.json else print_consultation(state)
    return 0


async def _consultation_act(args: argparse.Namespace) -> int:
    from frontdoor.consultations import act

    settings = load_settings()
    actor = _actor(settings, args.as_user)
    if args.consultation_cmd == "follow-up":
        action, payload = "follow_up", {"actor": actor, "outcome": args.outcome, "note": args.note, "contact_id": args.contact_id}
    else:
        action, payload = "retry", {"actor": actor, "note": args.note}
    state = await act(await _client(settings), args.id, action, payload)
    if args.json:
        print(state.model_dump_json(indent=2))
    else:
        print(f"done: {args.consultation_cmd}")
        print_consultation(state)
    return 0


# ---------------------------------------------------------------------- early help
def print_early_help(s: Any) -> None:
    print(f"Early help {s.case_id}   stage: {s.stage.value} since {_when(s.stage_since)}   held by {s.holder}")
    origin = f" from contact {s.origin.contact_id}" if s.origin else ""
    print(f"  entry: {s.entry.value}{origin}; children: {', '.join(s.children)}")
    if s.origin and s.origin.rationale:
        print(f"  why: {s.origin.rationale}")
    if s.flags:
        print(f"  flags: {', '.join(s.flags)}")
    if s.fault:
        print(f"  TECHNICAL FAULT in {s.fault.activity}: {s.fault.error} (retry: frontdoor early-help retry {s.case_id} --as USER)")
    for step in s.steps:
        if step.done_at:
            status = "met" if step.met else "LATE"
            print(f"  {step.step:<15} due {_when(step.due_at)}  done {_when(step.done_at)} ({status})")
        else:
            print(f"  {step.step:<15} due {_when(step.due_at)}{'  ** OVERDUE **' if step.overdue else ''}")
    if s.directions:
        print(f"  directions ({s.directions.actor.username}): {s.directions.directions}; adviser {s.adviser or '-'}")
    print(f"  consent: {s.consent_status.value}{' (from referrer)' if s.consent_from_referrer else ''}")
    if s.history:
        print(f"  history: {len(s.history.matches)} earlier record(s)")
        for p in s.history.recurring:
            print(f"  ** RECURRING PATTERN: {p.theme} in {p.occurrences} earlier contacts ({', '.join(p.contact_ids)})")
    for c in s.conversations:
        who = c.conversation.with_whom.value + (f" ({c.conversation.agency.value})" if c.conversation.agency else "")
        print(f"  spoke to {who} {c.conversation.name}: {c.conversation.summary}")
    for t in s.consultations:
        print(f"  consulted {t.consultation.consulted} ({t.consultation.consulted_role.value}): {t.consultation.advice}")
    if s.recommendation:
        r = s.recommendation
        print(f"  recommendation by {r.actor.username}: {r.recommended_outcome.value}{' ' + r.quadrant if r.quadrant else ''}")
    if s.decision:
        d = s.decision
        print(f"  decision by {d.actor.username}: {d.outcome.value}{' ' + d.quadrant if d.quadrant else ''}: {d.rationale}")
    if s.step_up_contact_id:
        print(f"  stepped up into the SPA as contact {s.step_up_contact_id} (frontdoor contact show {s.step_up_contact_id})")
    if s.closed_at:
        print(f"  closed {_when(s.closed_at)}: {s.outcome.value if s.outcome else '-'}{' -> team ' + s.team if s.team else ''}")


async def _early_help_start(args: argparse.Namespace) -> int:
    from frontdoor.early_help import start_early_help
    from models.contact import Contact

    settings = load_settings()
    actor = _actor(settings, args.as_user)
    try:
        data = json.loads(Path(args.file).read_text())
    except FileNotFoundError:
        raise FrontdoorError(f"no file {args.file}") from None
    if args.id:
        data["id"] = args.id
    if args.now:
        data["received_at"] = datetime.now(UTC).isoformat()
    request = Contact.model_validate(data)
    await start_early_help(await _client(settings), settings, request, actor)
    print(f"early help case {request.id} started; next: frontdoor early-help show {request.id}")
    return 0


async def _early_help_show(args: argparse.Namespace) -> int:
    from frontdoor.early_help import get_state

    state = await get_state(await _client(load_settings()), args.id)
    print(state.model_dump_json(indent=2)) if args.json else print_early_help(state)
    return 0


def _early_help_payload(args: argparse.Namespace, actor: Any) -> tuple[str, dict[str, Any]]:
    a, base = args.early_help_cmd, {"actor": actor}
    if a == "directions":
        return "directions", base | {"directions": args.directions, "adviser": args.adviser}
    if a == "consent":
        return "consent", base | {"status": args.status, "note": args.note, "advice": args.advice}
    if a == "conversation":
        return "conversation", base | {"with_whom": args.with_whom, "name": args.name, "summary": args.summary, "agency": args.agency}
    if a == "consult":
        return "consult", base | {"consulted": args.consulted, "consulted_role": args.consulted_role, "advice": args.advice}
    if a == "finish-gathering":
        return "finish_gathering", base | {"note": args.note}
    if a == "recommend":
        return "recommendation", base | {
            "summary": args.summary, "recommended_outcome": args.outcome, "quadrant": args.quadrant,
            "history_considered": args.history_considered,
        }
    if a == "decide":
        return "decision", base | {
            "outcome": args.outcome, "rationale": args.rationale, "quadrant": args.quadrant,
            "recurring_pattern_considered": args.pattern_considered,
        }
    if a == "step-up":
        return "step_up", base | {"reason": args.reason, "level": args.level}
    return "retry", base | {"note": args.note}


async def _early_help_act(args: argparse.Namespace) -> int:
    from frontdoor.early_help import act

    settings = load_settings()
    action, payload = _early_help_payload(args, _actor(settings, args.as_user))
    state = await act(await _client(settings), args.id, action, payload)
    if args.json:
        print(state.model_dump_json(indent=2))
    else:
        print(f"done: {args.early_help_cmd}")
        print_early_help(state)
    return 0


async def _list(kind: str, args: argparse.Namespace) -> int:
    from frontdoor.stuck import OPEN, row_from

    client = await _client(load_settings())
    query = f"FdKind = '{kind}'" + (f" AND {OPEN}" if not args.all else "")
    n = 0
    async for e in client.list_workflows(query, limit=args.limit):
        r = row_from(e)
        due = f" due {_when(r.due_at)}" if r.due_at else ""
        print(f"{r.subject_id:<24} {r.stage or '-':<24} since {_when(r.since)}  held by {r.holder or '-':<10}{due} {','.join(r.flags)}")
        n += 1
    print(f"{n} {kind.replace('_', ' ')} case(s)")
    return 0


# ---------------------------------------------------------------------- parser
def register(sub: Any) -> None:
    """Add `consultation` and `early-help` to the main parser, and their lists to `stuck`."""
    from frontdoor.cli import _documents, _trail

    def run(fn: Any) -> Any:
        return lambda a: asyncio.run(fn(a))

    # -- consultation
    c = sub.add_parser("consultation", help="the telephone consultation line: record calls, follow up invited referrals")
    cs = c.add_subparsers(dest="consultation_cmd", required=True, metavar="ACTION")
    r = cs.add_parser("record", help="record a consultation call (no history look-up is ever made)")
    r.add_argument("--as", dest="as_user", required=True, metavar="USER")
    r.add_argument("--file", help="a JSON consultation; flags below override its fields")
    r.add_argument("--id", help="consultation id (default: generated); it is the reference an invited referral quotes")
    r.add_argument("--called-at", help="when the call was, e.g. 2026-11-26T09:14:00Z (default: now)")
    r.add_argument("--caller-name")
    r.add_argument("--caller-agency")
    r.add_argument("--caller-role")
    r.add_argument("--caller-phone")
    r.add_argument("--child", action="append", metavar="'First Last[,YYYY-MM-DD]'", help="a child named by the caller (optional)")
    r.add_argument("--anonymous", action="store_true", help="the caller did not name the child: no identity is stored")
    r.add_argument("--concern", help="the concern as the caller described it")
    r.add_argument("--factor", action="append", help="CIN factor code, e.g. 16A (repeat)")
    r.add_argument("--advice", help="the advice given")
    r.add_argument("--invite-referral", action="store_true", help="the caller was invited to refer (a follow-up follows if it never comes)")
    r.set_defaults(func=run(_consultation_record))
    sh = cs.add_parser("show", help="show a consultation")
    sh.add_argument("id")
    sh.add_argument("--json", action="store_true")
    sh.set_defaults(func=run(_consultation_show))
    f = cs.add_parser("follow-up", help="record the outcome of ringing the caller back")
    f.add_argument("id")
    f.add_argument("--as", dest="as_user", required=True, metavar="USER")
    f.add_argument("--outcome", required=True, choices=[o.value for o in FollowUpOutcome])
    f.add_argument("--note", required=True, help="what was said (for no_longer_needed: why)")
    f.add_argument("--contact-id", help="the referral's contact id, when the caller says it is now made")
    f.add_argument("--json", action="store_true")
    f.set_defaults(func=run(_consultation_act))
    rt = cs.add_parser("retry", help="manager: retry a consultation whose activity kept failing")
    rt.add_argument("id")
    rt.add_argument("--as", dest="as_user", required=True, metavar="USER")
    rt.add_argument("--note")
    rt.add_argument("--json", action="store_true")
    rt.set_defaults(func=run(_consultation_act))
    ls = cs.add_parser("list", help="list consultations (open ones unless --all)")
    ls.add_argument("--all", action="store_true")
    ls.add_argument("--limit", type=int, default=50)
    ls.set_defaults(func=run(lambda a: _list("consultation", a)))
    tr = cs.add_parser("trail", help="the append-only action trail of a consultation")
    tr.add_argument("id")
    tr.set_defaults(func=_trail)

    # -- early help
    e = sub.add_parser("early-help", help="the early help hub: directions, consent, gathering, recommendation, decision")
    es = e.add_subparsers(dest="early_help_cmd", required=True, metavar="ACTION")
    st = es.add_parser("start", help="start a case directly from a JSON request (the intake contract)")
    st.add_argument("file")
    st.add_argument("--as", dest="as_user", required=True, metavar="USER")
    st.add_argument("--id", help="override the case id in the file")
    st.add_argument("--now", action="store_true", help="set received_at to now")
    st.set_defaults(func=run(_early_help_start))
    sh = es.add_parser("show", help="show an early help case")
    sh.add_argument("id")
    sh.add_argument("--json", action="store_true")
    sh.set_defaults(func=run(_early_help_show))
    ls = es.add_parser("list", help="list early help cases (open ones unless --all)")
    ls.add_argument("--all", action="store_true")
    ls.add_argument("--limit", type=int, default=50)
    ls.set_defaults(func=run(lambda a: _list("early_help", a)))
    tr = es.add_parser("trail", help="the append-only action trail of a case")
    tr.add_argument("id")
    tr.set_defaults(func=_trail)
    dc = es.add_parser("documents", help="documents rendered and messages sent for a case")
    dc.add_argument("id")
    dc.add_argument("--doc-id", help="print one document's content")
    dc.set_defaults(func=_documents)

    def action(name: str, help_text: str) -> argparse.ArgumentParser:
        a = es.add_parser(name, help=help_text, description=help_text)
        a.add_argument("id", help="early help case id")
        a.add_argument("--as", dest="as_user", required=True, metavar="USER")
        a.add_argument("--json", action="store_true")
        a.set_defaults(func=run(_early_help_act))
        return a

    d = action("directions", "team manager or senior adviser: management oversight and directions")
    d.add_argument("--directions", required=True)
    d.add_argument("--adviser", help="the early help adviser allocated")
    co = action("consent", "parental consent: sought, given or refused (a refusal closes the case with advice)")
    co.add_argument("--status", required=True, choices=["sought", "given", "refused"])
    co.add_argument("--note")
    co.add_argument("--advice", help="with refused: the advice given to the family")
    cv = action("conversation", "adviser: record a conversation (referrer, agency, parent, child)")
    cv.add_argument("--with", dest="with_whom", required=True, choices=[w.value for w in ConversationWith])
    cv.add_argument("--name", required=True)
    cv.add_argument("--agency", choices=[x.value for x in Agency])
    cv.add_argument("--summary", required=True)
    cn = action("consult", "adviser: record consulting a senior adviser or SPA manager (needs near the threshold)")
    cn.add_argument("--consulted", required=True, metavar="USER")
    cn.add_argument("--consulted-role", required=True, choices=["senior_adviser", "team_manager"])
    cn.add_argument("--advice", required=True)
    fg = action("finish-gathering", "adviser: information gathering is done")
    fg.add_argument("--note")
    rc = action("recommend", "adviser: a concise recommendation (rendered as a document)")
    rc.add_argument("--summary", required=True)
    rc.add_argument("--outcome", required=True, choices=[o.value for o in DECIDABLE])
    rc.add_argument("--quadrant", help="with targeted_early_help: the area quadrant")
    rc.add_argument("--history-considered", action="store_true")
    de = action("decide", "team manager or senior adviser: the decision")
    de.add_argument("--outcome", required=True, choices=[o.value for o in DECIDABLE])
    de.add_argument("--rationale", required=True)
    de.add_argument("--quadrant")
    de.add_argument("--pattern-considered", action="store_true")
    su = action("step-up", "step the case up into the SPA (an adviser consults first)")
    su.add_argument("--reason", required=True)
    su.add_argument("--level", type=int, choices=[3, 4], default=4)
    rt = action("retry", "manager: retry a case whose activity kept failing")
    rt.add_argument("--note")

    # -- their lists in `frontdoor stuck`
    stuck = sub.choices.get("stuck")
    if stuck is not None:
        stuck.add_argument("--referral-awaited", action="store_true", help="invited referrals not yet received")
        stuck.add_argument("--follow-up-due", action="store_true", help="consultation follow-ups outstanding")
        stuck.add_argument("--directions-overdue", action="store_true", help="early help directions overdue")
        stuck.add_argument("--early-help-overdue", action="store_true", help="early help steps past their timescale")
