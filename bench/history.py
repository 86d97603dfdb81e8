"""How long the history check takes for the largest contact the front door accepts.

Builds a case record with the worst case the bounds allow: a contact naming
models/bounds.MAX_CHILDREN children, each in --earlier earlier contacts that themselves
name all of them (half matched on NHS number, half on name + date of birth only), among
--noise unrelated contacts. Then times `activities.history.history_check` (what the
check_history activity runs, within its 30-second timeout) over --runs runs, and, for
comparison, the same search made one child at a time (one query per child, as before
issue 8). Prints p50/p95, the number of matches, and the size of the result that goes
into the workflow's history. No Temporal server is needed.

    .venv/bin/python bench/history.py                                  # temporary SQLite
    DATABASE_URL=postgresql://... .venv/bin/python bench/history.py --earlier 200
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from activities.history import find_matches, history_check, name_key, themes_of  # noqa: E402
from models.bounds import MAX_CHILDREN  # noqa: E402
from models.contact import Child  # noqa: E402
from models.database import init_db, session  # noqa: E402
from models.tables import ChildRecord, ContactRecord  # noqa: E402
from models.thresholds import ThresholdRules  # noqa: E402

NOW = datetime.now(UTC)


def nhs(n: int) -> str:
    """A valid NHS number (mod-11 check digit) derived from n."""
    while True:
        digits = [int(d) for d in f"{n % 10**9:09d}"]
        check = 11 - sum(d * w for d, w in zip(digits, range(10, 1, -1), strict=True)) % 11
        check = 0 if check == 11 else check
        if check != 10:
            return "".join(map(str, digits)) + str(check)
        n += 1


def add_contact(s, cid: str, received: datetime, factors: list[str], children: list[dict]) -> None:  # type: ignore[no-untyped-def]
    s.add(ContactRecord(id=cid, kind="prior", received_at=received, source="2A", factors=factors,
                        themes=themes_of(factors), payload={}))
    s.flush()
    for position, c in enumerate(children):
        s.add(ChildRecord(contact_id=cid, position=position, nhs_number=c.get("nhs_number"),
                          first_name=c["first_name"], last_name=c["last_name"],
                          first_name_key=name_key(c["first_name"]), last_name_key=name_key(c["last_name"]),
                          date_of_birth=c["date_of_birth"]))


def build(url: str, earlier: int, noise: int) -> list[Child]:
    tag = uuid.uuid4().hex[:6]
    family = f"Bench{tag}"
    kids = [{"first_name": f"Kid{chr(97 + i)}{tag}", "last_name": family, "date_of_birth": date(2008 + i % 16, 1 + i % 12, 1 + i),
             "nhs_number": nhs(10**8 + 7919 * i + int(tag, 16) % 10**6)} for i in range(MAX_CHILDREN)]
    started = time.monotonic()
    with session(url) as s:
        for n in range(earlier):
            named = [k if n % 2 else {**k, "nhs_number": None} for k in kids]
            add_contact(s, f"B-{tag}-E{n}", NOW - timedelta(days=1 + n * 700 / max(earlier, 1)),
                        ["3B"] if n % 3 == 0 else ["16A"], named)
        for n in range(noise):
            others = [{"first_name": f"Other{n}c{j}", "last_name": f"Noise{n % 997}", "date_of_birth": date(2010 + n % 15, 1 + n % 12, 1 + n % 28),
                       "nhs_number": nhs(2 * 10**8 + n * 3 + j)} for j in range(1 + n % 3)]
            add_contact(s, f"B-{tag}-N{n}", NOW - timedelta(days=n % 900), ["4B"], others)
            if n % 2000 == 1999:
                s.commit()
                print(f"  {n + 1}/{noise} unrelated contacts", flush=True)
        s.commit()
    print(f"built {earlier} earlier contacts x {MAX_CHILDREN} children and {noise} unrelated contacts "
          f"in {time.monotonic() - started:.1f}s", flush=True)
    return [Child.model_validate(k) for k in kids]


def timed(runs: int, fn) -> list[float]:  # type: ignore[no-untyped-def]
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        out.append(time.perf_counter() - started)
    return out


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--earlier", type=int, default=500, help="earlier contacts naming all the children (default 500)")
    parser.add_argument("--noise", type=int, default=20000, help="unrelated contacts in the record (default 20000)")
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = os.environ.get("DATABASE_URL") or f"sqlite:///{tmp}/history.db"
        print(f"case record: {url.split('@')[-1]}", flush=True)
        init_db(url)
        children = build(url, args.earlier, args.noise)
        rules = ThresholdRules.load(ROOT / "config" / "threshold_rules.json")
        factors = ["3B", "16A"]
        result = None

        def batched() -> None:
            nonlocal result
            with session(url) as s:
                result = history_check(s, rules, "B-this", children, factors, NOW)

        def per_child() -> None:
            with session(url) as s:
                for child in children:
                    find_matches(s, "B-this", [child])

        one = timed(args.runs, batched)
        many = timed(args.runs, per_child)
        assert result is not None
        size = len(result.model_dump_json())
        print(f"\n{MAX_CHILDREN} children x {args.earlier} earlier contacts: "
              f"{len(result.matches) + result.matches_not_shown} matches ({len(result.matches)} kept in the result, "
              f"{size / 1024:.0f} KiB), {result.earlier_contacts} earlier contacts, "
              f"patterns: {'; '.join(p.summary for p in result.recurring)}")
        print(f"  history_check, one query:      p50 {pct(one, 0.5) * 1000:7.0f} ms   p95 {pct(one, 0.95) * 1000:7.0f} ms")
        print(f"  matching one child at a time:  p50 {pct(many, 0.5) * 1000:7.0f} ms   p95 {pct(many, 0.95) * 1000:7.0f} ms"
              f"   ({MAX_CHILDREN} queries)")
        print(f"  mean {statistics.mean(one):.3f}s over {args.runs} runs; the activity's timeout is 30 s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
