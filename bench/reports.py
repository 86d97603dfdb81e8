"""Reports benchmark: 100,000 contacts over two years in a case record, then each report
for 12 months and the Ofsted Annex A export of the last six months.

The case record is written through the production path: every contact with
activities.records.save_contact and every trail entry with activities.records.append_action
(so the report facts are projected exactly as in a live run). Only the commits are
batched: the session's commit() flushes, and a real commit comes every --batch entries.
The mix of routes, outcomes, extensions, consent, police delays, early help cases and
consultation calls is generated from a fixed seed (below), so two runs hold the same data.
Trail entries the facts do not read (daily review, MAP requests and answers) are left out:
they would only lengthen the actions table, which no report reads.

Then, with nothing else running, each report is computed --runs times for the last 12
months of the data (p50 and p95 of the wall time, report.compute only, then the SVG chart
apart), and the Annex A lists 1, 2 and 3 for the last six months are built and written as
XLSX and CSV (--annex-runs times).

    .venv/bin/python bench/reports.py                          # SQLite, and PostgreSQL when FRONTDOOR_TEST_POSTGRES_URL is set
    .venv/bin/python bench/reports.py --contacts 10000         # a quick look
    .venv/bin/python bench/reports.py --sqlite var/bench-reports.db --keep   # keep the file to measure again with --reuse
    .venv/bin/python bench/reports.py --database-url postgresql://...       # a PostgreSQL database of your own (must be empty)
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event, func, select, text
from sqlmodel import Session

from activities.records import append_action
from frontdoor import reports
from frontdoor.reports import annex_a, charts
from frontdoor.reports.base import Window
from models.case_record import save_contact
from models.contact import Contact
from models.database import get_engine, init_db, normalise_url
from models.facts import ContactFacts
from models.messages import ActionEntry

END = datetime(2026, 11, 1, tzinfo=UTC)  # the data runs up to here (fixed: two runs hold the same record)
SOURCES = ["6"] * 30 + ["2A"] * 18 + ["3A", "3B", "3C", "3D", "3E", "3F"] * 2 + ["1A"] * 8 + ["1B", "1C", "1D"] * 2 + \
    ["4", "5A", "5B", "5C", "7", "8", "9", "10"] * 2 + ["2B"] * 3
ROUTES = ["spa"] * 55 + ["advice_nfa"] * 25 + ["early_help"] * 15 + ["urgent"] * 5
OUTCOMES = ["assessment_s17"] * 35 + ["strategy_discussion_s47"] * 15 + ["targeted_early_help"] * 15 + \
    ["universal_advice"] * 15 + ["nfa"] * 20
MANAGERS = ["tom", "una", "vic", "wyn", "xan", "yas"]
WORKERS = [f"sw{i}" for i in range(40)]
ETHNICITIES = ["WBRI"] * 60 + ["WOTH", "MWBC", "AIND", "APKN", "BAFR", "BCRB", "CHNE", "OOTH", "NOBT", "REFU"] * 4
REASONS = ["parent_carer_unavailable", "agency_unavailable", "interpreter_awaited", "other"]
OVERRIDES = ["risk_of_significant_harm", "seeking_consent_increases_risk", "crime_prevention", "parent_uncontactable_urgent"]
THEMES = ["neglect", "domestic_abuse", "parental_mental_health", "parental_substance_misuse"]
QUADRANTS = ["north_west", "north_east", "south_west", "south_east"]


def say(text: str) -> None:
    print(text, flush=True)


class BatchSession(Session):
    """The production functions commit after each write; here a commit flushes, and the
    benchmark commits for real every --batch entries. Until then it holds its rows (a
    session's identity map holds them weakly), so a case's next entry finds its facts row
    without reading it again, as one long transaction would."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.held: list[Any] = []
        event.listen(self, "pending_to_persistent", lambda _s, obj: self.held.append(obj))
        event.listen(self, "loaded_as_persistent", lambda _s, obj: self.held.append(obj))

    def commit(self) -> None:
        self.flush()

    def really_commit(self) -> None:
        super().commit()
        self.expunge_all()
        self.held.clear()


class Writer:
    def __init__(self, s: BatchSession, batch: int) -> None:
        self.s, self.batch, self.pending, self.entries = s, batch, 0, 0
        self.seq = 0

    def entry(self, kind: str, subject: str, action: str, at: datetime, actor: str = "frontdoor", **details: Any) -> None:
        self.seq += 1
        prefix = {"contact": "contact", "early_help": "early-help", "consultation": "consultation"}[kind]
        appended = append_action(self.s, ActionEntry(
            idempotency_key=f"bench/{subject}/{self.seq}", subject_id=subject, workflow_id=f"{prefix}-{subject}", kind=kind,
            actor=actor, role="system" if actor == "frontdoor" else "person", at=at, action=action,
            details={k: v for k, v in details.items() if v is not None},
        ))
        assert appended
        self.entries += 1
        self.pending += 1
        if self.pending >= self.batch:
            self.flush()

    def flush(self) -> None:
        self.s.really_commit()
        self.pending = 0


class Children:
    """Who the contacts are about: most children are new to the front door; about one in
    four has been in a contact before (picked from the last 20,000 children seen), so some
    come back once or twice and a few often, as in a real caseload."""

    def __init__(self, rng: random.Random) -> None:
        self.rng, self.seen = rng, 0

    def pick(self) -> list[dict[str, Any]]:
        kids = []
        for _ in range(self.rng.choice([1, 1, 1, 1, 2, 2, 3])):
            if self.seen and self.rng.random() < 0.27:
                n = self.seen - 1 - int(self.rng.expovariate(1 / 4000)) % self.seen
            else:
                n, self.seen = self.seen, self.seen + 1
            born = date(2008, 1, 1) + timedelta(days=(n * 7919) % 6200)
            child: dict[str, Any] = {
                "local_id": f"CH-{n:07d}", "first_name": f"Child{n}", "last_name": f"Family{n // 3}",
                "sex": "U" if n % 50 == 0 else "MF"[n % 2], "ethnicity": ETHNICITIES[n % len(ETHNICITIES)],
            }
            if n % 97 == 0:
                child["expected_due_date"] = "2027-01-01"  # unborn
            else:
                child["date_of_birth"] = born.isoformat()
            kids.append(child)
        return kids


def generate(s: BatchSession, contacts: int, seed: int, batch: int) -> tuple[int, int]:
    """Returns (contacts, trail entries)."""
    rng = random.Random(seed)
    w = Writer(s, batch)
    start = END - timedelta(days=730)
    children = Children(rng)
    began = time.perf_counter()
    for i in range(contacts):
        received = start + timedelta(seconds=rng.randrange(730 * 86400))
        _contact(w, rng, f"BR-{i:07d}", received, children)
        if i % 10 == 0:
            _consultation(w, rng, f"BK-{i:07d}", received + timedelta(minutes=rng.randrange(600)))
        if (i + 1) % 5000 == 0 or i + 1 == contacts:
            elapsed = time.perf_counter() - began
            say(f"  {i + 1:>7,} / {contacts:,} contacts, {w.entries:,} trail entries, {elapsed:6.0f} s "
                f"({w.entries / elapsed:,.0f} entries/s)")
    w.flush()
    return contacts, w.entries


def _contact(w: Writer, rng: random.Random, cid: str, received: datetime, children: Children) -> None:
    source = rng.choice(SOURCES)
    body: dict[str, Any] = {
        "id": cid, "received_at": received.isoformat(), "source": source,
        "referrer": {"name": "Referrer", "agency": "Agency"}, "children": children.pick(),
        "concerns": {"factors": ["16A"], "summary": "Benchmark contact"},
        "consent": {"status": rng.choice(["given", "given", "not_sought", "refused"])},
    }
    delay = None
    if source == "6":
        delay = round(min(240.0, rng.lognormvariate(2.6, 0.9)), 1)
        body["police_attendance_at"] = (received - timedelta(hours=delay)).isoformat()
    assert save_contact(w.s, Contact.model_validate(body))
    e = w.entry
    e("contact", cid, "contact_received", received, source=source, submitted_by="rita", police_delay_hours=delay)
    recurring = [rng.choice(THEMES)] if rng.random() < 0.25 else []
    suggested = rng.choice([2, 3, 3, 4, 4])
    e("contact", cid, "history_checked", received + timedelta(seconds=2), matches=len(recurring) * 2, recurring=recurring,
      suggested_level=suggested)
    route = rng.choice(ROUTES)
    level = {"spa": rng.choice([3, 4]), "urgent": 4, "early_help": rng.choice([2, 3]), "advice_nfa": rng.choice([1, 2])}[route]
    triaged = received + timedelta(minutes=rng.randrange(5, 240))
    advice = {"given_by": rng.choice(WORKERS), "advice": "advice", "reasons": "reasons"} if rng.random() < 0.3 else None
    e("contact", cid, "triage", triaged, "rita", level=level, route=route, suggested_level=suggested,
      departure_reason="officer's judgement" if level != suggested else None, threshold_advice=advice,
      history_considered=bool(recurring) or rng.random() < 0.5)
    if route == "advice_nfa":
        e("contact", cid, "handed_off", triaged, outcome="advice_signposting")
        e("contact", cid, "closed", triaged, outcome="advice_signposting")
        return
    if route == "urgent":
        e("contact", cid, "handed_off", triaged, team="assessment_team", outcome="urgent_assessment")
        e("contact", cid, "urgent_picked_up", triaged + timedelta(minutes=rng.randrange(5, 90)), rng.choice(WORKERS))
        e("contact", cid, "closed", triaged + timedelta(minutes=95), outcome="urgent_assessment")
        return
    if route == "early_help":
        e("contact", cid, "handed_off", triaged, team="early_help_hub", outcome="early_help_hub")
        e("contact", cid, "closed", triaged, outcome="early_help_hub")
        _early_help(w, rng, f"EH-{cid}", triaged + timedelta(seconds=5), "triage", cid)
        return
    _spa(w, rng, cid, triaged, recurring)


def _spa(w: Writer, rng: random.Random, cid: str, arrived: datetime, recurring: list[str]) -> None:
    e = w.entry
    worker = rng.choice(WORKERS)
    if rng.random() < 0.1:
        e("contact", cid, "consent_overridden", arrived + timedelta(hours=1), "tom", reason=rng.choice(OVERRIDES))
    elif rng.random() < 0.4:
        e("contact", cid, "consent_sought", arrived + timedelta(hours=1), worker)
        e("contact", cid, rng.choice(["consent_given"] * 4 + ["consent_refused"]), arrived + timedelta(hours=2), worker)
    due = arrived + timedelta(hours=24)
    hours = max(0.5, rng.gauss(18, 7))
    if rng.random() < 0.12:  # an extension with its reason
        new = due + timedelta(hours=rng.choice([4, 8, 24]))
        e("contact", cid, "deadline_extended", due - timedelta(hours=1), "tom", reason=rng.choice(REASONS),
          previous_deadline=due.isoformat(), new_deadline=new.isoformat())
        due = new
    decided = arrived + timedelta(hours=hours)
    if decided > due:
        e("contact", cid, "decision_overdue", due, due=due.isoformat())
    if decided > END:  # still waiting at the end of the data
        return
    outcome = rng.choice(OUTCOMES)
    e("contact", cid, "recommendation", decided - timedelta(hours=1), worker, recommended_outcome=outcome)
    quadrant = rng.choice(QUADRANTS) if outcome == "targeted_early_help" else None
    e("contact", cid, "management_decision", decided, rng.choice(MANAGERS), outcome=outcome, quadrant=quadrant,
      on_time=decided <= due, recurring_pattern_considered=bool(recurring) and rng.random() < 0.97)
    team = {"assessment_s17": "assessment_team", "strategy_discussion_s47": "assessment_team",
            "targeted_early_help": f"early_help_{quadrant}"}.get(outcome)
    e("contact", cid, "handed_off", decided, team=team, outcome=outcome)
    e("contact", cid, "closed", decided, outcome=outcome)
    if outcome == "targeted_early_help":
        _early_help(w, rng, f"EH-{cid}", decided + timedelta(seconds=5), "step_down", cid)


def _early_help(w: Writer, rng: random.Random, case: str, received: datetime, entry: str, origin: str) -> None:
    e = w.entry
    e("early_help", case, "early_help_received", received, entry=entry, submitted_by="rita", origin_contact_id=origin,
      consent_from_referrer="not_sought")
    at = received + timedelta(hours=rng.uniform(1, 40))
    if at > received + timedelta(hours=30):
        e("early_help", case, "directions_overdue", received + timedelta(hours=30), due=(received + timedelta(hours=30)).isoformat())
    e("early_help", case, "directions", at, "sana", adviser="erin")
    if rng.random() < 0.1:
        e("early_help", case, "consent_refused", at + timedelta(hours=3), "erin", advice="signposted")
        e("early_help", case, "handed_off", at + timedelta(hours=3), outcome="consent_refused_advice")
        e("early_help", case, "closed", at + timedelta(hours=3), outcome="consent_refused_advice")
        return
    e("early_help", case, "consent_given", at + timedelta(hours=3), "erin")
    e("early_help", case, "history_reviewed", at + timedelta(hours=3), matches=0, recurring=[])
    at += timedelta(days=rng.uniform(2, 9))
    e("early_help", case, "gathering_finished", at, "erin", conversations=3)
    at += timedelta(days=rng.uniform(0.5, 3))
    if at > END:
        return
    outcome = rng.choice(["targeted_early_help"] * 6 + ["universal_services"] * 3 + ["step_up"])
    quadrant = rng.choice(QUADRANTS) if outcome == "targeted_early_help" else None
    e("early_help", case, "recommendation", at, "erin", recommended_outcome=outcome, quadrant=quadrant)
    at += timedelta(hours=rng.uniform(1, 30))
    e("early_help", case, "early_help_decision", at, "tom", outcome=outcome, quadrant=quadrant)
    if outcome == "step_up":
        e("early_help", case, "stepped_up", at, "tom", contact_id=f"{case}-SU", level=4)
    else:
        team = f"early_help_{quadrant}" if quadrant else None
        e("early_help", case, "handed_off", at, outcome=outcome, team=team, quadrant=quadrant)
    e("early_help", case, "closed", at, outcome=outcome, quadrant=quadrant)


def _consultation(w: Writer, rng: random.Random, kid: str, called: datetime) -> None:
    e = w.entry
    invited = rng.random() < 0.45
    due = called + timedelta(days=2)
    e("consultation", kid, "consultation_recorded", called, "cara", outcome="referral_invited" if invited else "advice_only",
      caller_agency="School", anonymous=rng.random() < 0.3, children_named=rng.choice([0, 1, 2]), reference=kid,
      referral_due_at=due.isoformat() if invited else None)
    if not invited:
        e("consultation", kid, "closed", called, closure="advice_only")
        return
    if rng.random() < 0.7:
        e("consultation", kid, "referral_received", called + timedelta(hours=rng.uniform(1, 40)), contact_id="-", on_time=True,
          after_follow_up=False)
        e("consultation", kid, "closed", called + timedelta(hours=41), closure="referral_received")
        return
    e("consultation", kid, "follow_up_raised", due, due=due.isoformat())
    outcome = rng.choice(["referral_made", "no_longer_needed", "escalated"])
    e("consultation", kid, "follow_up_call", due + timedelta(hours=3), "cara", outcome=outcome)
    e("consultation", kid, "closed", due + timedelta(hours=3), closure=outcome)


# ---------------------------------------------------------------------- measuring
def pct(values: list[float], q: int) -> float:
    ordered = sorted(values)
    return ordered[max(0, -(-q * len(ordered) // 100) - 1)]


def timed(fn: Callable[[], Any], runs: int) -> tuple[list[float], Any]:
    times, out = [], None
    for _ in range(runs):
        began = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - began)
    return times, out


def measure(url: str, runs: int, annex_runs: int, out_dir: Path) -> list[str]:
    engine = get_engine(url)
    year = Window(date(2025, 11, 1), date(2026, 10, 31))
    half = Window(date(2026, 5, 1), date(2026, 10, 31))
    lines = [
        f"| report (12 months: {year.label}) | p50 ms | p95 ms | chart ms |",
        "| --- | ---: | ---: | ---: |",
    ]
    with Session(engine) as s:
        n = s.execute(select(func.count()).select_from(ContactFacts)).scalar_one()
        say(f"measuring on {n:,} contacts ({engine.dialect.name}), {runs} runs each")
        for name in reports.REPORTS:
            times, result = timed(lambda name=name: reports.run(s, name, year), runs)
            chart_times, _ = timed(lambda result=result: charts.render_svg(result), 3)
            p50, p95 = pct(times, 50) * 1000, pct(times, 95) * 1000
            say(f"  {name:<20} p50 {p50:7.1f} ms  p95 {p95:7.1f} ms  chart {statistics.median(chart_times) * 1000:6.1f} ms")
            lines.append(f"| {name} | {p50:.0f} | {p95:.0f} | {statistics.median(chart_times) * 1000:.0f} |")

        def annex() -> int:
            lists = {k: annex_a.build(s, k, half) for k in annex_a.LISTS}
            (out_dir / "annex-a.xlsx").write_bytes(annex_a.to_xlsx(lists))
            for k, rows in lists.items():
                (out_dir / f"annex-a-{k}.csv").write_text(annex_a.to_csv(k, rows))
            return sum(len(r) for r in lists.values())

        def build_only() -> dict[int, int]:
            return {k: len(annex_a.build(s, k, half)) for k in annex_a.LISTS}

        build_times, counts = timed(build_only, annex_runs)
        times, rows = timed(annex, annex_runs)
        say(f"  Annex A ({half.label}): lists {counts} = {rows:,} rows; built in p50 {pct(build_times, 50):.2f} s, "
            f"built and written (XLSX + 3 CSV) p50 {pct(times, 50):.2f} s, p95 {pct(times, 95):.2f} s")
        lines.append("")
        lines.append(f"Annex A, lists 1-3 for six months ({half.label}): {counts[1]:,} + {counts[2]:,} + {counts[3]:,} = "
                     f"{rows:,} rows; queries p50 {pct(build_times, 50):.2f} s; queries and files (one XLSX, three CSV) "
                     f"p50 {pct(times, 50):.2f} s, p95 {pct(times, 95):.2f} s.")
    return lines


# ---------------------------------------------------------------------- the run
def prepare(url: str, contacts: int, seed: int, batch: int, reuse: bool) -> None:
    init_db(url)
    engine = get_engine(url)
    with Session(engine) as s:
        have = s.execute(select(func.count()).select_from(ContactFacts)).scalar_one()
    if have and reuse:
        say(f"reusing {have:,} contacts already in the case record")
        _statistics(engine)
        return
    if have:
        sys.exit(f"bench/reports.py: {url.split('@')[-1]} already holds {have:,} contacts: give an empty database, or --reuse")
    say(f"generating {contacts:,} contacts over two years to {END:%d/%m/%Y} into {engine.dialect.name} (seed {seed}) ...")
    began = time.perf_counter()
    with BatchSession(engine, expire_on_commit=False) as s:
        n, entries = generate(s, contacts, seed, batch)
    say(f"generated {n:,} contacts, {entries:,} trail entries in {time.perf_counter() - began:.0f} s")
    _statistics(engine)


def _statistics(engine: Any) -> None:
    """Fresh planner statistics, as a production database would have (PostgreSQL: and the
    visibility map autovacuum keeps, which index-only scans need)."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE"))


def postgres_schema(base: str) -> tuple[str, str]:
    """A fresh schema in the test database (dropped afterwards unless --keep): (schema, URL)."""
    schema = f"bench_reports_{uuid.uuid4().hex[:8]}"
    with get_engine(base).begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    return schema, f"{base}?options=-csearch_path%3D{schema}"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--contacts", type=int, default=100_000)
    p.add_argument("--seed", type=int, default=20261101)
    p.add_argument("--batch", type=int, default=5000, help="trail entries per commit while generating")
    p.add_argument("--runs", type=int, default=9, help="timed runs of each report")
    p.add_argument("--annex-runs", type=int, default=3)
    p.add_argument("--sqlite", help="SQLite file (default: a temporary file)")
    p.add_argument("--database-url", help="also (or only, with --no-sqlite) a PostgreSQL database of your own, empty")
    p.add_argument("--no-sqlite", action="store_true")
    p.add_argument("--reuse", action="store_true", help="measure a case record generated before (with --keep)")
    p.add_argument("--keep", action="store_true", help="keep the SQLite file / PostgreSQL schema")
    args = p.parse_args()
    if not 100 <= args.contacts <= 2_000_000:
        p.error("--contacts: between 100 and 2,000,000")
    say(f"bench/reports.py on {platform.node()} ({os.cpu_count()} CPUs), Python {platform.python_version()}")
    out_dir = Path(tempfile.mkdtemp(prefix="fd-bench-reports-"))
    targets: list[tuple[str, str, Callable[[], None]]] = []
    if not args.no_sqlite:
        path = Path(args.sqlite) if args.sqlite else out_dir / "reports.db"
        targets.append(("SQLite", f"sqlite:///{path}", lambda: None if args.keep else path.unlink(missing_ok=True)))
    pg = args.database_url or os.environ.get("FRONTDOOR_TEST_POSTGRES_URL")
    if pg:
        if args.database_url:
            targets.append(("PostgreSQL", normalise_url(args.database_url), lambda: None))
        else:
            schema, schema_url = postgres_schema(pg)

            def drop(schema: str = schema, url: str = schema_url) -> None:
                if not args.keep:
                    get_engine(url).dispose()
                    with get_engine(pg).begin() as conn:
                        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))

            targets.append(("PostgreSQL", schema_url, drop))
    report: list[str] = []
    for label, url, cleanup in targets:
        say(f"== {label}")
        try:
            prepare(url, args.contacts, args.seed, args.batch, args.reuse)
            report += [f"### {label}", "", *measure(url, args.runs, args.annex_runs, out_dir), ""]
        finally:
            cleanup()
    say("\n" + "\n".join(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
