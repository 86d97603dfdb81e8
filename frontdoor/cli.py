"""The `frontdoor` command: run the stack, manage users, act on contacts, ask what is stuck."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from frontdoor.config import ConfigError, format_duration, load_settings, parse_duration
from frontdoor.errors import FrontdoorError
from models.codes import (
    AGENCY_NAMES,
    DECISION_OUTCOMES,
    OUTCOME_NAMES,
    Agency,
    ConsentOverrideReason,
    ExtensionReason,
    Quadrant,
    Rag,
    Route,
)


def _duration(text: str) -> timedelta:
    try:
        return parse_duration(text)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _when(moment: datetime | None) -> str:
    if moment is None:
        return "-"
    from zoneinfo import ZoneInfo

    return moment.astimezone(ZoneInfo("Europe/London")).strftime("%d/%m/%Y %H:%M")


def _validation_message(exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "contact"
        lines.append(f"  {where}: {err['msg']}")
    return "the input is not valid:\n" + "\n".join(lines)


# ---------------------------------------------------------------------- commands
async def _client(settings: Any) -> Any:
    from frontdoor.temporal import connect

    return await connect(settings)


def cmd_worker(args: argparse.Namespace) -> int:
    from worker import run_worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    asyncio.run(run_worker(load_settings()))
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from frontdoor.stack import run_stack

    return run_stack(load_settings())


def cmd_web(args: argparse.Namespace) -> int:
    try:
        from frontdoor.web.server import serve
    except ImportError as exc:
        raise FrontdoorError(f"the web app is not installed ({exc}): run `make install`") from None
    return serve(load_settings(), seed_demo_users=args.seed_demo_users)


def cmd_history(args: argparse.Namespace) -> int:
    """Import earlier contacts, referrals and plans (e.g. from a legacy system) for history checks."""
    from activities.records import save_contact
    from models.database import init_db, session
    from models.codes import Outcome
    from models.contact import Contact
    from models.tables import ContactRecord

    settings = load_settings()
    init_db(settings.database_url)
    items = json.loads(Path(args.file).read_text())
    added = 0
    with session(settings.database_url) as s:
        for n, item in enumerate(items, 1):
            outcome = item.pop("outcome", None)
            contact = Contact.model_validate(item)
            new = save_contact(s, contact, kind="prior")
            if new:
                record = s.get(ContactRecord, contact.id)
                if record is not None:
                    record.outcome = Outcome(outcome).value if outcome else None
                    record.stage = "closed"
                    s.add(record)
                    s.commit()
                added += 1
            print(f"  [{n}/{len(items)}] {contact.id}{'' if new else ' (already there)'}", flush=True)
    print(f"imported {added} earlier record(s); {len(items) - added} were already there")
    return 0


def cmd_keys(args: argparse.Namespace) -> int:
    from frontdoor.codec import generate_key

    print(generate_key())
    return 0


async def _submit(args: argparse.Namespace) -> int:
    from frontdoor.contacts import submit_contact
    from frontdoor.users import actor_for
    from models.contact import Contact

    settings = load_settings()
    actor = actor_for(settings.database_url, args.as_user)
    path = Path(args.file)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise FrontdoorError(f"no file {path}") from None
    except json.JSONDecodeError as exc:
        raise FrontdoorError(f"{path} is not valid JSON: {exc}") from None
    if args.now:
        data["received_at"] = datetime.now(UTC).isoformat()
        if data.get("police_attendance_at") and args.police_delay:
            data["police_attendance_at"] = (datetime.now(UTC) - args.police_delay).isoformat()
    if args.id:
        data["id"] = args.id
    contact = Contact.model_validate(data)
    client = await _client(settings)
    wid = await submit_contact(client, settings, contact, actor)
    print(f"contact {contact.id} received; workflow {wid}")
    print(f"next: frontdoor contact show {contact.id}")
    return 0


def _print_state(state: Any) -> None:
    s = state
    print(f"Contact {s.contact_id}   stage: {s.stage.value} since {_when(s.stage_since)}   held by {s.holder}")
    print(f"  received {_when(s.received_at)} from source {s.source}; children: {', '.join(s.children)}")
    if s.police_delay is not None:
        hours = s.police_delay.total_seconds() / 3600
        print(f"  police notification delay: {hours:.1f} h{'  ** LATE **' if s.police_delay_flagged else ''}")
    if s.flags:
        print(f"  flags: {', '.join(s.flags)}")
    if s.fault:
        print(f"  TECHNICAL FAULT in {s.fault.activity} since {_when(s.fault.since)}: {s.fault.error}")
        print(f"    a manager retries with: frontdoor contact retry {s.contact_id} --as USER")
    if s.history:
        print(f"  history: {len(s.history.matches)} earlier contact(s)")
        for m in s.history.matches:
            print(f"    {m.earlier_contact_id} {_when(m.received_at)} matched on {m.matched_on} ({m.confidence}) themes: {', '.join(m.themes) or '-'}")
        for p in s.history.recurring:
            print(f"  ** RECURRING PATTERN: {p.theme} in {p.occurrences} earlier contacts ({', '.join(p.contact_ids)})")
        if s.history.suggestion:
            print(f"  suggested level: {int(s.history.suggestion.level)} ({'; '.join(s.history.suggestion.reasons)})")
    if s.review:
        print(f"  reviewed: {s.review.rag.value} by {s.review.actor.username} at {_when(s.reviewed_at)}")
    else:
        print(f"  NOT REVIEWED (due by {_when(s.review_due_at)})")
    if s.triage:
        t = s.triage
        print(f"  triage: level {int(t.level)}, route {t.route.value} by {t.actor.username}: {t.rationale}")
        if t.threshold_advice:
            a = t.threshold_advice
            print(f"    threshold advice from {a.given_by}: {a.advice} (because {a.reasons})")
    if s.pickup_due_at:
        print(f"  urgent pickup due {_when(s.pickup_due_at)}; picked up: {s.picked_up_by or 'NO'}")
    if s.spa_entered_at:
        print(f"  consent: {s.consent.status.value}{' (from referrer)' if s.consent.from_referrer else ''}")
        if s.consent.override:
            print(f"    overridden by {s.consent.override.actor.username}: {s.consent.override.reason.value}: {s.consent.override.explanation}")
        for m in s.map_checks:
            status = "answered" if m.responded_at else ("proceeded without: " + m.waived_reason if m.waived_reason else f"due {_when(m.due_at)}")
            print(f"  MAP {AGENCY_NAMES[m.agency]}: {status}{' (chased)' if m.chased_at else ''}")
        if s.recommendation:
            print(f"  recommendation: {OUTCOME_NAMES[s.recommendation.recommended_outcome]} by {s.recommendation.actor.username}")
        due = s.decision_due_at
        left = (due - datetime.now(UTC)) if due else None
        if s.decision is None and left is not None:
            print(f"  decision due {_when(due)}" + (f" ({format_duration(left)} left)" if left.total_seconds() > 0 else "  ** OVERDUE **"))
        elif due is not None:
            print(f"  decision was due {_when(due)}")
        for e in s.extensions:
            print(f"    extended by {e.extension.actor.username}: {e.extension.reason.value} {e.extension.explanation or ''} -> {_when(e.extension.new_deadline)}")
        if s.decision:
            print(f"  decision: {OUTCOME_NAMES[s.decision.outcome]} by {s.decision.actor.username} at {_when(s.decided_at)}: {s.decision.rationale}")
    if s.handoff:
        print(f"  handed off to {s.handoff.team or 'referrer feedback only'} at {_when(s.handoff.at)} ({s.handoff.handoff_id})")
    if s.closed_at:
        print(f"  closed {_when(s.closed_at)} with outcome {OUTCOME_NAMES[s.outcome] if s.outcome else '-'}")


async def _show(args: argparse.Namespace) -> int:
    from frontdoor.contacts import get_state

    settings = load_settings()
    state = await get_state(await _client(settings), args.id)
    if args.json:
        print(state.model_dump_json(indent=2))
    else:
        _print_state(state)
    return 0


def _trail(args: argparse.Namespace) -> int:
    from activities.records import action_trail
    from models.database import session

    settings = load_settings()
    with session(settings.database_url) as s:
        rows = action_trail(s, args.id)
    if not rows:
        print(f"no actions recorded for {args.id}")
    for r in rows:
        extra = f" {json.dumps(r.details)}" if r.details else ""
        print(f"{_when(r.at)}  {r.actor} ({r.role})  {r.action}{': ' + r.reasons if r.reasons else ''}{extra}")
    return 0


def _documents(args: argparse.Namespace) -> int:
    from sqlmodel import col, select

    from models.database import session
    from models.tables import DocumentRecord, OutboxMessage

    settings = load_settings()
    with session(settings.database_url) as s:
        if args.doc_id:
            doc = s.get(DocumentRecord, args.doc_id)
            if doc is None:
                raise FrontdoorError(f"no document {args.doc_id}")
            print(doc.content)
            return 0
        for d in s.exec(select(DocumentRecord).where(DocumentRecord.subject_id == args.id).order_by(col(DocumentRecord.created_at))):
            print(f"{_when(d.created_at)}  {d.kind:<18} {d.title}   id: {d.id}")
        for m in s.exec(select(OutboxMessage).where(OutboxMessage.subject_id == args.id).order_by(col(OutboxMessage.created_at))):
            print(f"{_when(m.created_at)}  sent -> {m.channel:<28} {m.subject}")
    return 0


def _payload(args: argparse.Namespace, actor: Any) -> tuple[str, dict[str, Any]]:
    a, base = args.contact_cmd, {"actor": actor}
    if a == "triage":
        advice = None
        if args.advice_from:
            advice = {"given_by": args.advice_from, "advice": args.advice or "", "reasons": args.advice_reasons or ""}
        return "triage", base | {
            "level": args.level, "route": args.route, "rationale": args.rationale, "threshold_advice": advice,
            "departure_reason": args.departure_reason, "history_considered": args.history_considered,
        }
    if a == "review":
        return "review", base | {"rag": args.rag, "note": args.note}
    if a == "pickup":
        return "pickup", base | {"note": args.note}
    if a == "consent":
        return "consent", base | {"status": args.status, "note": args.note}
    if a == "override-consent":
        return "override_consent", base | {"reason": args.reason, "explanation": args.explanation}
    if a == "map-request":
        return "map_requests", base | {"agencies": args.agency, "questions": args.questions}
    if a == "map-response":
        return "map_responses", base | {"agency": args.agency, "information": args.information, "known_to_agency": not args.not_known}
    if a == "proceed-without":
        return "proceed_without", base | {"agency": args.agency, "reason": args.reason}
    if a == "recommend":
        return "recommendation", base | {"summary": args.summary, "recommended_outcome": args.outcome, "quadrant": args.quadrant}
    if a == "decide":
        return "decision", base | {
            "outcome": args.outcome, "rationale": args.rationale, "quadrant": args.quadrant,
            "recurring_pattern_considered": args.pattern_considered,
        }
    if a == "extend":
        until = datetime.now(UTC) + args.by if args.by else args.until
        return "extension", base | {"reason": args.reason, "new_deadline": until, "explanation": args.explanation}
    if a == "retry":
        return "retry", base | {"note": args.note}
    raise FrontdoorError(f"unknown action {a}")


async def _act(args: argparse.Namespace) -> int:
    from frontdoor.contacts import act
    from frontdoor.users import actor_for

    settings = load_settings()
    actor = actor_for(settings.database_url, args.as_user)
    action, payload = _payload(args, actor)
    state = await act(await _client(settings), args.id, action, payload)
    if args.json:
        print(state.model_dump_json(indent=2))
    else:
        print(f"done: {args.contact_cmd}")
        _print_state(state)
    return 0


async def _list(args: argparse.Namespace) -> int:
    from frontdoor.stuck import OPEN, row_from

    settings = load_settings()
    client = await _client(settings)
    query = "FdKind = 'contact'" + (f" AND {OPEN}" if not args.all else "")
    if args.stage:
        query += f" AND FdStage = '{args.stage}'"
    if args.route:
        query += f" AND FdRoute = '{args.route}'"
    n = 0
    async for e in client.list_workflows(query, limit=args.limit):
        r = row_from(e)
        print(f"{r.subject_id:<20} {r.stage or '-':<24} since {_when(r.since)}  held by {r.holder or '-':<10} {','.join(r.flags)}")
        n += 1
    print(f"{n} contact(s)" + (f" (first {args.limit})" if n >= args.limit else ""))
    return 0


async def _stuck(args: argparse.Namespace) -> int:
    from frontdoor import stuck

    settings = load_settings()
    client = await _client(settings)
    chosen = [k for k in stuck.KINDS if getattr(args, k, False)]
    if args.due_within:
        chosen.append("due_soon")
    within = args.due_within or timedelta(hours=4)
    if not chosen:
        out: dict[str, int | str] = {}
        for name in stuck.KINDS:
            try:
                out[name] = await stuck.count(client, name, within)
            except Exception as exc:  # noqa: BLE001 (a server without the attribute)
                out[name] = f"n/a ({str(exc)[:60]})"
        if args.json:
            print(json.dumps(out, indent=2))
        else:
            print("What is stuck (counts; add e.g. --overdue to list):")
            for name, value in out.items():
                print(f"  {stuck.KINDS[name].title:<44} {value}")
        return 0
    result: dict[str, Any] = {}
    for name in chosen:
        total = await stuck.count(client, name, within)
        rows, _ = await stuck.page(client, name, within, page_size=args.limit)
        rows.sort(key=lambda r: r.since or datetime.max.replace(tzinfo=UTC))
        result[name] = {"count": total, "rows": [r.as_dict() for r in rows]}
        if not args.json:
            print(f"{stuck.KINDS[name].title}: {total}")
            for r in rows:
                due = f" due {_when(r.due_at)}" if r.due_at else ""
                fault = f" FAULT {r.fault}" if r.fault else ""
                print(f"  {r.subject_id:<20} {r.kind:<12} {r.stage or '-':<24} since {_when(r.since)}  held by {r.holder or '-'}{due}{fault}")
            if total > len(rows):
                print(f"  ... and {total - len(rows)} more (raise --limit)")
    if args.json:
        print(json.dumps(result, indent=2))
    return 0


# ---------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="frontdoor",
        description="Children's services front door on durable Temporal workflows. "
        "Configuration comes from FRONTDOOR_* environment variables, TEMPORAL_ADDRESS and DATABASE_URL (see README).",
    )
    sub = p.add_subparsers(dest="cmd", required=True, metavar="COMMAND")

    sub.add_parser("run", help="start the whole stack on the embedded default (dev server, worker, web)").set_defaults(func=cmd_run)
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

    c = sub.add_parser("contact", help="submit a contact, see it, and act on it")
    cs = c.add_subparsers(dest="contact_cmd", required=True, metavar="ACTION")

    def action(name: str, help_text: str, needs_user: bool = True) -> argparse.ArgumentParser:
        a = cs.add_parser(name, help=help_text, description=help_text)
        a.add_argument("id", help="contact id, e.g. C-2026-000123")
        if needs_user:
            a.add_argument("--as", dest="as_user", required=True, metavar="USER", help="who is acting (see `frontdoor users list`)")
            a.add_argument("--json", action="store_true", help="print the new state as JSON")
        return a

    s = cs.add_parser("submit", help="submit a contact from a JSON file (the intake contract)")
    s.add_argument("file")
    s.add_argument("--as", dest="as_user", required=True, metavar="USER")
    s.add_argument("--now", action="store_true", help="set received_at to now (for trying out the examples)")
    s.add_argument("--police-delay", type=_duration, help="with --now: police attended this long before now, e.g. 36h")
    s.add_argument("--id", help="override the contact id in the file")
    s.set_defaults(func=lambda a: asyncio.run(_submit(a)))

    sh = action("show", "show a contact's state", needs_user=False)
    sh.add_argument("--json", action="store_true")
    sh.set_defaults(func=lambda a: asyncio.run(_show(a)))
    action("trail", "the append-only action trail of a contact", needs_user=False).set_defaults(func=_trail)
    d = action("documents", "documents rendered and messages sent for a contact", needs_user=False)
    d.add_argument("--doc-id", help="print one document's content")
    d.set_defaults(func=_documents)

    ls = cs.add_parser("list", help="list contacts (open ones unless --all)")
    ls.add_argument("--stage")
    ls.add_argument("--route", choices=[r.value for r in Route])
    ls.add_argument("--all", action="store_true")
    ls.add_argument("--limit", type=int, default=50)
    ls.set_defaults(func=lambda a: asyncio.run(_list(a)))

    def run_act(a: argparse.Namespace) -> int:
        return asyncio.run(_act(a))

    t = action("triage", "RfS officer: level of need, route and rationale")
    t.add_argument("--level", type=int, required=True, choices=[1, 2, 3, 4])
    t.add_argument("--route", required=True, choices=[r.value for r in Route])
    t.add_argument("--rationale", required=True)
    t.add_argument("--advice-from", help="the social worker who gave threshold advice")
    t.add_argument("--advice", help="the advice given")
    t.add_argument("--advice-reasons", help="the reasons for the advice")
    t.add_argument("--departure-reason", help="why the level differs from the suggested level")
    t.add_argument("--history-considered", action="store_true", help="confirm the history and any recurring pattern were weighed")
    r = action("review", "social worker: daily review and RAG priority")
    r.add_argument("--rag", required=True, choices=[x.value for x in Rag])
    r.add_argument("--note")
    pk = action("pickup", "assessment team: pick up an urgent contact")
    pk.add_argument("--note")
    co = action("consent", "record consent sought, given or refused")
    co.add_argument("--status", required=True, choices=["sought", "given", "refused"])
    co.add_argument("--note")
    ov = action("override-consent", "team manager: override consent with a documented reason")
    ov.add_argument("--reason", required=True, choices=[x.value for x in ConsentOverrideReason])
    ov.add_argument("--explanation", required=True)
    mr = action("map-request", "ask agencies for information (after consent)")
    mr.add_argument("--agency", action="append", required=True, choices=[x.value for x in Agency])
    mr.add_argument("--questions")
    ma = action("map-response", "record an agency's answer")
    ma.add_argument("--agency", required=True, choices=[x.value for x in Agency])
    ma.add_argument("--information", required=True)
    ma.add_argument("--not-known", action="store_true", help="the agency does not know the family")
    pw = action("proceed-without", "proceed without an agency's answer, saying why")
    pw.add_argument("--agency", required=True, choices=[x.value for x in Agency])
    pw.add_argument("--reason", required=True)
    rc = action("recommend", "social worker: summary and recommended outcome")
    rc.add_argument("--summary", required=True)
    rc.add_argument("--outcome", required=True, choices=[o.value for o in DECISION_OUTCOMES])
    rc.add_argument("--quadrant", choices=[q.value for q in Quadrant])
    de = action("decide", "team manager: the management decision")
    de.add_argument("--outcome", required=True, choices=[o.value for o in DECISION_OUTCOMES])
    de.add_argument("--rationale", required=True)
    de.add_argument("--quadrant", choices=[q.value for q in Quadrant])
    de.add_argument("--pattern-considered", action="store_true", help="confirm the flagged recurring pattern was considered")
    ex = action("extend", "team manager: extend the decision deadline with a reason")
    ex.add_argument("--reason", required=True, choices=[x.value for x in ExtensionReason])
    g = ex.add_mutually_exclusive_group(required=True)
    g.add_argument("--by", type=_duration, help="new deadline this long from now, e.g. 8h")
    g.add_argument("--until", type=datetime.fromisoformat, help="new deadline, e.g. 2026-11-27T17:00:00+00:00")
    ex.add_argument("--explanation")
    rt = action("retry", "manager: retry a contact whose activity kept failing")
    rt.add_argument("--note")
    for name in ("triage", "review", "pickup", "consent", "override-consent", "map-request", "map-response",
                 "proceed-without", "recommend", "decide", "extend", "retry"):
        cs.choices[name].set_defaults(func=run_act)

    st = sub.add_parser("stuck", help="what is stuck: counts, or lists with a filter")
    st.add_argument("--overdue", action="store_true", help="management decisions overdue")
    st.add_argument("--due-within", type=_duration, metavar="DURATION", help="decisions due within e.g. 4h")
    st.add_argument("--unreviewed", action="store_true", help="contacts not yet reviewed")
    st.add_argument("--review-late", action="store_true", help="contacts not reviewed on the day they arrived")
    st.add_argument("--awaiting-consent", action="store_true")
    st.add_argument("--awaiting-agency", action="store_true", help="waiting on an agency past its due time")
    st.add_argument("--urgent-unpicked", action="store_true", help="urgent contacts not picked up")
    st.add_argument("--faulted", action="store_true", help="activities that keep failing (technical)")
    st.add_argument("--workflow-task-failing", action="store_true", help="workflow code failing (a bad deploy)")
    st.add_argument("--limit", type=int, default=50, help="rows per list (default 50)")
    st.add_argument("--json", action="store_true")
    st.set_defaults(func=lambda a: asyncio.run(_stuck(a)))

    from frontdoor import cli_admin, cli_doors

    cli_doors.register(sub)  # consultation line and early help hub
    cli_admin.register(sub)  # users, trail, run --use-existing
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
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
