"""The hash-chained action trail: what a chained append costs, and how fast
`frontdoor trail verify` checks a whole trail. Prints figures; not a test.

    .venv/bin/python bench/trail.py                      # 2,000 cases x 10 rows on SQLite
    .venv/bin/python bench/trail.py --database-url postgresql://...   # on PostgreSQL (its tables are added to)
    .venv/bin/python bench/trail.py --threads 4          # appends from 4 threads at once, to few cases
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from activities.records import append_action  # noqa: E402
from frontdoor import trail  # noqa: E402
from models.database import init_db, session  # noqa: E402
from models.messages import ActionEntry  # noqa: E402


def entry(case: str, n: int) -> ActionEntry:
    return ActionEntry(
        idempotency_key=f"{case}/{n}/{uuid.uuid4().hex[:8]}", subject_id=case, workflow_id=f"contact-{case}",
        kind="contact", actor="sam", role="social_worker", at=datetime.now(UTC) + timedelta(microseconds=n),
        action="daily_review", reasons="Seen at school; mother engaging", details={"rag": "amber", "n": n},
    )


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", type=int, default=2000)
    ap.add_argument("--rows", type=int, default=10, help="rows per case")
    ap.add_argument("--threads", type=int, default=1, help="append from this many threads at once")
    ap.add_argument("--database-url", help="default: a fresh SQLite file in a temporary directory")
    args = ap.parse_args()
    tmp = tempfile.TemporaryDirectory(prefix="bench-trail-")
    url = args.database_url or f"sqlite:///{Path(tmp.name) / 'trail.db'}"
    init_db(url)
    run = uuid.uuid4().hex[:6]
    cases = [f"B-{run}-{i:06d}" for i in range(args.cases)]
    latencies: list[float] = []
    lock = threading.Lock()

    def worker(share: list[str]) -> None:
        mine: list[float] = []
        for n in range(args.rows):
            for case in share:
                t0 = time.perf_counter()
                with session(url) as s:
                    append_action(s, entry(case, n))
                mine.append((time.perf_counter() - t0) * 1000)
        with lock:
            latencies.extend(mine)

    total = args.cases * args.rows
    print(f"appending {total} rows to {args.cases} cases from {args.threads} thread(s) on {url.split('@')[-1]} ...", flush=True)
    started = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(cases[i :: args.threads],)) for i in range(args.threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    took = time.perf_counter() - started
    print(f"  append: {total / took:.0f} rows/s; per append p50 {statistics.median(latencies):.2f} ms, "
          f"p95 {pct(latencies, 95):.2f} ms, max {max(latencies):.1f} ms", flush=True)

    started = time.perf_counter()
    report = trail.verify(url, progress=lambda done, all_: print(f"  verified {done}/{all_} cases", flush=True)
                          if done % 1000 == 0 else None)
    took = time.perf_counter() - started
    print(f"  verify (whole trail): {report.cases} cases, {report.rows} rows in {took:.2f}s "
          f"= {report.rows / took:.0f} rows/s; problems: {len(report.problems)}")
    started = time.perf_counter()
    one = trail.verify(url, cases[len(cases) // 2])
    print(f"  verify (one case, {one.rows} rows): {(time.perf_counter() - started) * 1000:.1f} ms")
    tmp.cleanup()
    return 0 if report.ok or args.database_url else 1


if __name__ == "__main__":
    raise SystemExit(main())
