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

from sqlalchemy import func, select, text
from sqlmodel import Session

from activities.demo import BatchSession, Children, Writer, consultation, contact
from frontdoor import reports
from frontdoor.reports import annex_a, charts
from frontdoor.reports.base import Window
from models.database import get_engine, init_db, normalise_url
from models.facts import ContactFacts

END = datetime(2026, 11, 1, tzinfo=UTC)  # the data runs up to here (fixed: two runs hold the same record)


def say(text: str) -> None:
    print(text, flush=True)


def generate(s: BatchSession, contacts: int, seed: int, batch: int) -> tuple[int, int]:
    """Returns (contacts, trail entries)."""
    rng = random.Random(seed)
    w = Writer(s, batch, END, flush=s.really_commit)
    start = END - timedelta(days=730)
    children = Children(rng)
    began = time.perf_counter()
    for i in range(contacts):
        received = start + timedelta(seconds=rng.randrange(730 * 86400))
        contact(w, rng, f"BR-{i:07d}", received, children)
        if i % 10 == 0:
            consultation(w, rng, f"BK-{i:07d}", received + timedelta(minutes=rng.randrange(600)))
        if (i + 1) % 5000 == 0 or i + 1 == contacts:
            elapsed = time.perf_counter() - began
            say(f"  {i + 1:>7,} / {contacts:,} contacts, {w.entries:,} trail entries, {elapsed:6.0f} s "
                f"({w.entries / elapsed:,.0f} entries/s)")
    w.flush()
    return contacts, w.entries


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
