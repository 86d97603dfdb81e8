"""Checking the action trail: every case's rows must form an unbroken hash chain that ends
at the case's chain head (models/chain.py). `frontdoor trail verify [ID]` runs it.

What it finds, and how:
- edited: a row's content no longer matches its own hash;
- inserted: a row outside the chain (no place or hash), a second row at one place, rows
  beyond the chain head, or a link to a row that is not its predecessor;
- deleted: a gap in the sequence, a head beyond the last row, a head with no rows;
- reordered: a row linked to a row other than the one before it, or written before the
  row it follows.

A chain of plain SHA-256 links catches anyone who changes rows without recomputing every
later link and the head. Someone with write access who recomputes them all is caught only
against a copy of the heads kept elsewhere (`frontdoor trail heads`, then `verify --heads`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import func
from sqlmodel import col, select

from models import chain
from models.database import session
from models.tables import ActionRecord, TrailHead

Kind = Literal["edited", "inserted", "deleted", "reordered"]


@dataclass(frozen=True)
class Problem:
    subject_id: str
    kind: Kind
    message: str
    seq: int | None = None
    row_id: int | None = None

    def line(self) -> str:
        where = f" seq {self.seq}" if self.seq is not None else ""
        row = f" (row id {self.row_id})" if self.row_id is not None else ""
        return f"{self.subject_id}{where}{row}: {self.kind.upper()}: {self.message}"


@dataclass
class Report:
    cases: int = 0
    rows: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def kinds(self) -> set[str]:
        return {p.kind for p in self.problems}


Progress = Callable[[int, int], None]


def verify(
    database_url: str, subject_id: str | None = None, *, progress: Progress | None = None,
    heads: dict[str, tuple[int, str]] | None = None,
) -> Report:
    """Check one case's trail (or every case's). `heads`, from an earlier `export_heads`, also
    checks that each case's chain still passes through the link recorded then."""
    report = Report()
    with session(database_url) as s:
        head_query = select(TrailHead)
        count_query = select(func.count(func.distinct(ActionRecord.subject_id)))
        if subject_id is not None:
            head_query = head_query.where(TrailHead.subject_id == subject_id)
            count_query = count_query.where(ActionRecord.subject_id == subject_id)
        stored_heads = {h.subject_id: (h.seq, h.hash) for h in s.exec(head_query)}
        total = max(int(s.exec(count_query).one()), len(stored_heads))
        seen: set[str] = set()
        for case_id, rows in _cases(s, subject_id):
            seen.add(case_id)
            report.cases += 1
            report.rows += len(rows)
            report.problems += check_case(case_id, rows, stored_heads.get(case_id))
            if heads and case_id in heads:
                report.problems += _against_anchor(case_id, rows, heads[case_id])
            if progress is not None:
                progress(report.cases, total)
    for case_id, (seq, _hash) in sorted(stored_heads.items()):
        if case_id not in seen and seq > 0:
            report.cases += 1
            report.problems.append(Problem(case_id, "deleted", f"all {seq} row(s) of this case are gone; its chain head remains"))
    for case_id, (seq, _hash) in sorted((heads or {}).items()):
        if case_id not in seen and case_id not in stored_heads and (subject_id is None or case_id == subject_id):
            report.problems.append(Problem(case_id, "deleted", f"the case and its {seq} row(s) are gone, with its chain head"))
    return report


def _cases(s: Any, subject_id: str | None) -> Iterator[tuple[str, list[ActionRecord]]]:
    """Each case's rows, streaming through the table one case at a time."""
    query = select(ActionRecord).order_by(col(ActionRecord.subject_id), col(ActionRecord.id))
    if subject_id is not None:
        query = query.where(ActionRecord.subject_id == subject_id)
    current: str | None = None
    rows: list[ActionRecord] = []
    for row in s.exec(query.execution_options(yield_per=1000)):
        if row.subject_id != current and rows:
            yield current or "", rows
            rows = []
        current = row.subject_id
        rows.append(row)
    if rows:
        yield current or "", rows


def check_case(subject_id: str, rows: list[ActionRecord], head: tuple[int, str] | None) -> list[Problem]:
    problems: list[Problem] = []

    def problem(kind: Kind, message: str, row: ActionRecord | None = None) -> None:
        problems.append(Problem(subject_id, kind, message, row.seq if row else None, row.id if row else None))

    chained = sorted((r for r in rows if r.seq is not None and r.hash is not None), key=lambda r: (r.seq or 0, r.id or 0))
    for r in rows:
        if r.seq is None or r.hash is None:
            problem("inserted", f"row {r.action!r} by {r.actor} has no place in the chain: it was not written by frontdoor", r)
    by_hash = {r.hash: r for r in chained}
    expected_seq, prev_hash, prev_row = 1, chain.GENESIS, None
    for r in chained:
        seq = r.seq or 0
        if seq < expected_seq:
            problem("inserted", f"a second row at seq {seq} ({r.action!r} by {r.actor})", r)
            continue
        if seq > expected_seq:
            missing = f"seq {expected_seq}" if seq == expected_seq + 1 else f"seq {expected_seq}-{seq - 1}"
            problem("deleted", f"{missing} missing before this row", r)
            prev_hash = r.prev_hash or ""  # pick the chain up again after the gap
        if chain.link(r.prev_hash or "", chain.content_of(r)) != r.hash:
            problem("edited", f"the row ({r.action!r} by {r.actor} at {chain.at_text(r.at)}) does not match its hash: changed after it was written", r)
        if r.prev_hash != prev_hash:
            before = by_hash.get(r.prev_hash or "")
            if before is not None and before is not r:
                problem("reordered", f"the row is linked to seq {before.seq}, not to the row before it", r)
            else:
                problem("inserted", "the link to the row before is broken: a row was put in, or the one before was replaced", r)
        # Times are not compared: a write retried after a fault may carry an earlier time
        # than a row written meanwhile. Row ids follow the chain, since both are given out
        # under the case's chain-head lock.
        if prev_row is not None and (r.id or 0) < (prev_row.id or 0):
            problem("reordered", f"it was written (row id {r.id}) before the row it follows (row id {prev_row.id})", r)
        expected_seq, prev_hash, prev_row = seq + 1, r.hash or "", r
    last_seq, last_hash = (prev_row.seq or 0, prev_row.hash or "") if prev_row else (0, chain.GENESIS)
    if head is None:
        if chained:
            problem("inserted", "the case has trail rows but no chain head: its rows were put in outside frontdoor")
    elif head[0] > last_seq:
        gone = f"seq {last_seq + 1}" if head[0] == last_seq + 1 else f"seq {last_seq + 1}-{head[0]}"
        problem("deleted", f"the last row(s) ({gone}) are gone: the chain head is at seq {head[0]}")
    elif head[0] < last_seq:
        problem("inserted", f"rows after the chain head (seq {head[0] + 1}-{last_seq}) were put in outside frontdoor")
    elif head[1] != last_hash:
        problem("edited", f"the last row (seq {last_seq}) is not the one the chain head recorded")
    return problems


def _against_anchor(subject_id: str, rows: list[ActionRecord], anchor: tuple[int, str]) -> list[Problem]:
    seq, digest = anchor
    at_seq = [r for r in rows if r.seq == seq]
    if not at_seq:
        return [Problem(subject_id, "deleted", f"the row at seq {seq}, recorded in the heads file, is gone", seq)]
    if all(r.hash != digest for r in at_seq):
        return [Problem(subject_id, "edited", f"the chain no longer passes through the link recorded at seq {seq} in the heads file: rewritten and re-hashed", seq)]
    return []


# ------------------------------------------------------------------ heads kept elsewhere
def export_heads(database_url: str) -> dict[str, Any]:
    """Every case's chain head, to keep outside the database (write-once storage, a ticket,
    an email to the Caldicott guardian): verify --heads FILE then shows a rewritten chain."""
    with session(database_url) as s:
        heads = {h.subject_id: [h.seq, h.hash] for h in s.exec(select(TrailHead).order_by(col(TrailHead.subject_id)))}
    return {"exported_at": datetime.now(UTC).isoformat(), "heads": heads}


def load_heads(text: str) -> dict[str, tuple[int, str]]:
    try:
        data = json.loads(text)
        return {k: (int(v[0]), str(v[1])) for k, v in data["heads"].items()}
    except (ValueError, KeyError, TypeError, IndexError) as exc:
        raise ValueError(f"not a heads file written by `frontdoor trail heads` ({exc})") from None
