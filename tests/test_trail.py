"""A tamper-evident action trail (issue 9, section 2), on SQLite and PostgreSQL.

The attacks: `INSERT OR REPLACE` rewrote a row silently on SQLite, TRUNCATE emptied it on
PostgreSQL, and a forged INSERT looked like any other row. Here REPLACE and TRUNCATE are
refused, and an attacker with the database file or the owner's login (who can drop or
disable the triggers first) edits, inserts, deletes and reorders rows: `trail.verify`
finds each.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlmodel import select

from activities.records import append_action
from frontdoor import trail
from models import chain
from models.database import get_engine, init_db, session
from models.messages import ActionEntry
from models.tables import ActionRecord, TrailHead

T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path) -> str:
    if request.param == "sqlite":
        u = f"sqlite:///{tmp_path / 'trail.db'}"
    else:
        u = os.environ.get("FRONTDOOR_TEST_POSTGRES_URL") or ""
        if not u:
            pytest.skip("no PostgreSQL: set FRONTDOOR_TEST_POSTGRES_URL (make test does it)")
    init_db(u)
    return u


def entry(subject: str, n: int, **kw: Any) -> ActionEntry:
    return ActionEntry(
        idempotency_key=f"contact-{subject}/run/{n}-{uuid.uuid4().hex[:6]}", subject_id=subject,
        workflow_id=f"contact-{subject}", kind="contact", actor="sam", role="social_worker",
        at=T0 + timedelta(minutes=n), action=f"step_{n}", reasons=f"reason {n}", details={"n": n, "rag": "red"},
    ) .model_copy(update=kw)


def write(url: str, n: int = 5) -> str:
    subject = f"C-{uuid.uuid4().hex[:10]}"
    with session(url) as s:
        for i in range(1, n + 1):
            assert append_action(s, entry(subject, i)) is True
    return subject


def rows(url: str, subject: str) -> list[ActionRecord]:
    with session(url) as s:
        return list(s.exec(select(ActionRecord).where(ActionRecord.subject_id == subject).order_by(ActionRecord.seq)))


@contextmanager
def attacker(url: str) -> Iterator[Any]:
    """A DB-API connection with the trail's triggers out of the way, as someone holding the
    SQLite file (drops them) or the database owner's login (disables them) would have."""
    if url.startswith("sqlite"):
        conn = sqlite3.connect(url.split("///", 1)[1])
        for name in ("actions_no_update", "actions_no_delete", "actions_no_replace", "trail_heads_no_delete", "trail_heads_advance"):
            conn.execute(f"DROP TRIGGER IF EXISTS {name}")
        try:
            yield conn
            conn.commit()
        finally:
            conn.close()
            init_db(url)  # frontdoor puts them back at its next start
    else:
        raw = get_engine(url).raw_connection()
        try:
            cur = raw.cursor()
            cur.execute("ALTER TABLE actions DISABLE TRIGGER USER")
            cur.execute("ALTER TABLE trail_heads DISABLE TRIGGER USER")
            yield cur
            cur.execute("ALTER TABLE actions ENABLE TRIGGER USER")
            cur.execute("ALTER TABLE trail_heads ENABLE TRIGGER USER")
            raw.commit()
        finally:
            raw.close()


def param(url: str) -> str:
    return "?" if url.startswith("sqlite") else "%s"


def tamper(url: str, sql: str, *args: Any) -> None:
    with attacker(url) as c:
        c.execute(sql.replace("?", param(url)), args)


# ------------------------------------------------------------------ the database refuses
def test_a_clean_trail_verifies_and_links_each_row_to_the_one_before(url: str) -> None:
    subject = write(url, 4)
    got = rows(url, subject)
    assert [r.seq for r in got] == [1, 2, 3, 4]
    assert got[0].prev_hash == chain.GENESIS and all(b.prev_hash == a.hash for a, b in zip(got, got[1:], strict=False))
    report = trail.verify(url, subject)
    assert report.ok and report.rows == 4 and report.cases == 1
    with session(url) as s:
        assert append_action(s, entry(subject, 1).model_copy(update={"idempotency_key": got[0].idempotency_key})) is False
    assert len(rows(url, subject)) == 4  # a retried activity adds nothing, and breaks nothing


def test_insert_or_replace_is_refused_on_sqlite(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'replace.db'}"
    init_db(url)
    subject = write(url, 3)
    first = rows(url, subject)[0]
    conn = sqlite3.connect(url.split("///", 1)[1])
    attempts = {
        "same id": ("INSERT OR REPLACE INTO actions (id, idempotency_key, subject_id, workflow_id, actor, role, at, action, details) "
                    "VALUES (?, 'new-key', ?, 'w', 'mallory', 'team_manager', '2026-11-26 09:00:00', 'forged', '{}')", (first.id, subject)),
        "same key": ("INSERT OR REPLACE INTO actions (idempotency_key, subject_id, workflow_id, actor, role, at, action, details) "
                     "VALUES (?, ?, 'w', 'mallory', 'team_manager', '2026-11-26 09:00:00', 'forged', '{}')", (first.idempotency_key, subject)),
        "same place": ("REPLACE INTO actions (idempotency_key, subject_id, workflow_id, actor, role, at, action, details, seq) "
                       "VALUES ('other-key', ?, 'w', 'mallory', 'team_manager', '2026-11-26 09:00:00', 'forged', '{}', 1)", (subject,)),
        "upsert": ("INSERT INTO actions (idempotency_key, subject_id, workflow_id, actor, role, at, action, details) "
                   "VALUES (?, ?, 'w', 'm', 'r', '2026-11-26 09:00:00', 'x', '{}') ON CONFLICT (idempotency_key) DO UPDATE SET actor = 'mallory'",
                   (first.idempotency_key, subject)),
    }
    for what, (sql, args) in attempts.items():
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute(sql, args)
            conn.commit()
        conn.rollback()
        assert [r.actor for r in rows(url, subject)] == ["sam", "sam", "sam"], what
    conn.close()
    assert trail.verify(url, subject).ok


def test_truncate_is_refused_on_postgresql() -> None:
    url = os.environ.get("FRONTDOOR_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("no PostgreSQL: set FRONTDOOR_TEST_POSTGRES_URL (make test does it)")
    init_db(url)
    subject = write(url, 2)
    for table in ("actions", "trail_heads"):
        with session(url) as s, pytest.raises(DBAPIError, match="append-only"):
            s.execute(text(f"TRUNCATE {table}"))
            s.commit()
    with session(url) as s, pytest.raises(DBAPIError, match="never removed"):
        s.execute(text("DELETE FROM trail_heads WHERE subject_id = :s"), {"s": subject})
        s.commit()
    assert len(rows(url, subject)) == 2 and trail.verify(url, subject).ok


def test_a_chain_head_only_moves_on_by_one(url: str) -> None:
    subject = write(url, 2)
    for sql in ("UPDATE trail_heads SET seq = 1 WHERE subject_id = :s", "DELETE FROM trail_heads WHERE subject_id = :s"):
        with session(url) as s, pytest.raises(DBAPIError):
            s.execute(text(sql), {"s": subject})
            s.commit()


# ------------------------------------------------------------------ verify finds tampering
def test_an_edited_row_is_found(url: str) -> None:
    subject = write(url)
    victim = rows(url, subject)[2]
    tamper(url, "UPDATE actions SET reasons = 'nothing to see', actor = 'tom' WHERE id = ?", victim.id)
    report = trail.verify(url, subject)
    assert report.kinds() == {"edited"}
    assert [(p.seq, p.row_id) for p in report.problems] == [(3, victim.id)]


def test_an_edited_detail_or_time_is_found(url: str) -> None:
    subject = write(url)
    victim = rows(url, subject)[1]
    tamper(url, "UPDATE actions SET details = ? WHERE id = ?", '{"n": 2, "rag": "green"}', victim.id)
    assert trail.verify(url, subject).kinds() == {"edited"}
    subject = write(url)
    victim = rows(url, subject)[1]
    at = "2026-11-26 09:01:30" if url.startswith("sqlite") else "2026-11-26 09:01:30+00"
    tamper(url, "UPDATE actions SET at = ? WHERE id = ?", at, victim.id)
    assert trail.verify(url, subject).kinds() == {"edited"}


def test_inserted_rows_are_found(url: str) -> None:
    # a forged row with no chain fields, as `INSERT INTO actions ...` by hand would make
    subject = write(url, 3)
    tamper(url, "INSERT INTO actions (idempotency_key, subject_id, workflow_id, kind, actor, role, at, action, details) "
                "VALUES (?, ?, ?, 'contact', 'mallory', 'team_manager', ?, 'decision', '{}')",
           f"forged-{uuid.uuid4().hex}", subject, f"contact-{subject}", "2026-11-26 09:02:30")
    report = trail.verify(url, subject)
    assert "inserted" in report.kinds() and any("mallory" in p.message for p in report.problems)

    # a forger who knows the chain: a well-formed row after the last, but the head stays put
    subject = write(url, 3)
    last = rows(url, subject)[-1]
    forged = entry(subject, 4, actor="mallory", role="team_manager")
    body = chain.content(**(forged.model_dump(mode="json") | {"at": forged.at, "seq": 4}))
    digest = chain.link(last.hash or "", body)
    tamper(url, "INSERT INTO actions (idempotency_key, subject_id, workflow_id, kind, actor, role, at, action, reasons, details, seq, prev_hash, hash) "
                "VALUES (?, ?, ?, 'contact', 'mallory', 'team_manager', ?, ?, ?, ?, 4, ?, ?)",
           forged.idempotency_key, subject, forged.workflow_id,
           forged.at.strftime("%Y-%m-%d %H:%M:%S.%f") + ("" if url.startswith("sqlite") else "+00"),
           forged.action, forged.reasons, '{"n": 4, "rag": "red"}', last.hash, digest)
    report = trail.verify(url, subject)
    assert report.kinds() == {"inserted"}, report.problems
    assert "after the chain head" in report.problems[0].message


def test_deleted_rows_are_found(url: str) -> None:
    subject = write(url)
    middle = rows(url, subject)[2]
    tamper(url, "DELETE FROM actions WHERE id = ?", middle.id)
    report = trail.verify(url, subject)
    assert report.kinds() == {"deleted"} and "seq 3 missing" in report.problems[0].message

    subject = write(url)
    tamper(url, "DELETE FROM actions WHERE subject_id = ? AND seq >= 4", subject)
    report = trail.verify(url, subject)
    assert report.kinds() == {"deleted"} and "seq 4-5" in report.problems[0].message

    subject = write(url, 3)
    tamper(url, "DELETE FROM actions WHERE subject_id = ?", subject)
    report = trail.verify(url, subject)
    assert report.kinds() == {"deleted"} and "all 3 row(s)" in report.problems[0].message


def test_reordered_rows_are_found(url: str) -> None:
    subject = write(url)
    a, b = rows(url, subject)[1:3]
    with attacker(url) as c:  # swap the places of seq 2 and 3 (through a free place: the index is unique)
        p = param(url)
        c.execute(f"UPDATE actions SET seq = 99 WHERE id = {p}", (a.id,))
        c.execute(f"UPDATE actions SET seq = 2 WHERE id = {p}", (b.id,))
        c.execute(f"UPDATE actions SET seq = 3 WHERE id = {p}", (a.id,))
    report = trail.verify(url, subject)
    assert "reordered" in report.kinds()
    assert any("linked to seq" in p.message for p in report.problems)

    # backdating: the times of two rows swapped (the hashes cover the times)
    subject = write(url)
    a, b = rows(url, subject)[1:3]
    with attacker(url) as c:
        p = param(url)
        fmt = (lambda t: t.strftime("%Y-%m-%d %H:%M:%S.%f")) if url.startswith("sqlite") else (lambda t: t)
        c.execute(f"UPDATE actions SET at = {p} WHERE id = {p}", (fmt(b.at), a.id))
        c.execute(f"UPDATE actions SET at = {p} WHERE id = {p}", (fmt(a.at), b.id))
    report = trail.verify(url, subject)
    assert report.kinds() == {"edited"} and {p.seq for p in report.problems} == {2, 3}

    # rows given each other's ids (the order they were written in)
    subject = write(url)
    a, b = rows(url, subject)[1:3]
    with attacker(url) as c:
        p = param(url)
        c.execute(f"UPDATE actions SET id = {p} WHERE id = {p}", (-a.id, a.id))  # type: ignore[operator]
        c.execute(f"UPDATE actions SET id = {p} WHERE id = {p}", (a.id, b.id))
        c.execute(f"UPDATE actions SET id = {p} WHERE id = {p}", (b.id, -a.id))  # type: ignore[operator]
    report = trail.verify(url, subject)
    assert report.kinds() == {"reordered"} and "written (row id" in report.problems[0].message


def test_a_rewritten_and_rehashed_chain_is_caught_against_a_heads_file(url: str) -> None:
    subject = write(url, 3)
    anchor = trail.load_heads(__import__("json").dumps(trail.export_heads(url)))
    # the strongest attacker: rewrites a row and recomputes every later link and the head
    got = rows(url, subject)
    prev = chain.GENESIS
    with attacker(url) as c:
        p = param(url)
        for r in got:
            body = chain.content_of(r)
            if r.seq == 2:
                body["reasons"] = "rewritten"
            digest = chain.link(prev, body)
            c.execute(f"UPDATE actions SET reasons = {p}, prev_hash = {p}, hash = {p} WHERE id = {p}", (body["reasons"], prev, digest, r.id))
            prev = digest
        c.execute(f"UPDATE trail_heads SET hash = {p} WHERE subject_id = {p}", (prev, subject))
    assert trail.verify(url, subject).ok  # the chain alone cannot tell: that is what the heads file is for
    report = trail.verify(url, subject, heads=anchor)
    assert report.kinds() == {"edited"} and "heads file" in report.problems[0].message


def test_two_appends_to_one_case_at_the_same_moment_queue_up(url: str) -> None:
    subject = f"C-{uuid.uuid4().hex[:10]}"
    errors: list[BaseException] = []

    def worker(w: int) -> None:
        try:
            for i in range(8):
                with session(url) as s:
                    assert append_action(s, entry(subject, w * 100 + i, at=T0 + timedelta(seconds=w * 100 + i)))
        except BaseException as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    got = rows(url, subject)
    assert [r.seq for r in got] == list(range(1, 49))
    with session(url) as s:
        head = s.get(TrailHead, subject)
    assert head is not None and head.seq == 48 and head.hash == got[-1].hash
    assert trail.verify(url, subject).ok  # times interleave across threads: that is no tampering


def test_a_trail_from_before_the_chain_is_sealed_once(tmp_path) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.execute("""CREATE TABLE actions (id INTEGER PRIMARY KEY, idempotency_key VARCHAR(200) NOT NULL UNIQUE,
        subject_id VARCHAR NOT NULL, workflow_id VARCHAR NOT NULL, kind VARCHAR, actor VARCHAR NOT NULL,
        role VARCHAR NOT NULL, at DATETIME NOT NULL, action VARCHAR NOT NULL, reasons TEXT, details JSON)""")
    for i in range(3):
        conn.execute("INSERT INTO actions (idempotency_key, subject_id, workflow_id, kind, actor, role, at, action, reasons, details) "
                     "VALUES (?, 'C-OLD', 'contact-C-OLD', 'contact', 'sam', 'social_worker', ?, ?, NULL, '{}')",
                     (f"k{i}", f"2025-01-0{i + 1} 10:00:00.000000", f"step_{i}"))
    conn.commit()
    conn.close()
    url = f"sqlite:///{path}"
    init_db(url)
    assert [r.seq for r in rows(url, "C-OLD")] == [1, 2, 3]
    assert trail.verify(url).ok
    with session(url) as s:
        assert append_action(s, entry("C-OLD", 4))
    assert trail.verify(url, "C-OLD").ok
    # from now on an unchained row is a forgery, and a restart does not launder it
    tamper(url, "INSERT INTO actions (idempotency_key, subject_id, workflow_id, actor, role, at, action, details) "
                "VALUES ('forged', 'C-OLD', 'contact-C-OLD', 'mallory', 'team_manager', '2025-01-01 09:00:00', 'decision', '{}')")
    init_db(url)
    assert trail.verify(url, "C-OLD").kinds() == {"inserted"}
