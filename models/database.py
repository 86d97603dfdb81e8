"""The case record's database: one engine per DATABASE_URL, schema creation, append-only guards.

Below both activities/ (which write) and the interface's read module (frontdoor/record.py).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, insert, inspect, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, SQLModel, col, create_engine

import models.facts  # noqa: F401  (registers the report facts' tables)
from models import access, chain
from models.append_only import AppendOnly
from models.tables import ActionRecord, TrailHead

_engines: dict[str, Engine] = {}
_lock = threading.Lock()

TRAIL_APPEND_ONLY = AppendOnly(
    "actions", "the action trail is append-only", function="frontdoor_append_only",
    collides="id = NEW.id OR idempotency_key = NEW.idempotency_key"
             " OR (NEW.seq IS NOT NULL AND subject_id = NEW.subject_id AND seq = NEW.seq)",
)
# the chain's heads: each moves on by one row at a time and is never removed
_TRAIL_HEADS_SQLITE = [
    """CREATE TRIGGER IF NOT EXISTS trail_heads_no_delete BEFORE DELETE ON trail_heads
       BEGIN SELECT RAISE(ABORT, 'a trail head is never removed'); END""",
    """CREATE TRIGGER IF NOT EXISTS trail_heads_advance BEFORE UPDATE ON trail_heads
       WHEN NEW.seq != OLD.seq + 1 OR NEW.subject_id != OLD.subject_id
       BEGIN SELECT RAISE(ABORT, 'a trail head only moves on by one row'); END""",
]
_TRAIL_HEADS_POSTGRES = [
    """CREATE OR REPLACE FUNCTION frontdoor_trail_head() RETURNS trigger AS $$
       BEGIN
         IF TG_OP = 'UPDATE' AND NEW.seq = OLD.seq + 1 AND NEW.subject_id = OLD.subject_id THEN RETURN NEW; END IF;
         RAISE EXCEPTION 'a trail head only moves on by one row, and is never removed';
       END; $$ LANGUAGE plpgsql""",
    "DROP TRIGGER IF EXISTS trail_heads_guard ON trail_heads",
    """CREATE TRIGGER trail_heads_guard BEFORE UPDATE OR DELETE ON trail_heads
       FOR EACH ROW EXECUTE FUNCTION frontdoor_trail_head()""",
    "DROP TRIGGER IF EXISTS trail_heads_no_truncate ON trail_heads",
    """CREATE TRIGGER trail_heads_no_truncate BEFORE TRUNCATE ON trail_heads
       FOR EACH STATEMENT EXECUTE FUNCTION frontdoor_append_only()""",
]
_CHAIN_COLUMNS = {"seq": "INTEGER", "prev_hash": "VARCHAR(64)", "hash": "VARCHAR(64)"}


def normalise_url(url: str) -> str:
    """Accept postgres:// and postgresql:// URLs and use the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def get_engine(url: str) -> Engine:
    url = normalise_url(url)
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            if url.startswith("sqlite"):
                path = url.split("///", 1)[-1]
                if path and path != ":memory:":
                    _private_file(Path(path))
                engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

                @event.listens_for(engine, "connect")
                def _pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
                    cur = dbapi_conn.cursor()
                    cur.execute("PRAGMA journal_mode=WAL")
                    cur.execute("PRAGMA synchronous=NORMAL")
                    cur.execute("PRAGMA foreign_keys=ON")
                    cur.close()
            else:
                engine = create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)
            _engines[url] = engine
        return engine


def _private_file(path: Path) -> None:
    """Create the SQLite file 0600 before SQLite does (its -wal and -shm files copy the mode)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)  # the mode applies to a folder made here
    if not path.exists():
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except FileExistsError:
            pass


def register_tables() -> None:
    """Import every module that defines a table, so a program that has not imported them all
    (the demo, a migration) still creates the whole case record."""
    from models import (  # noqa: F401
        access,
        audit,
        caseload,
        consultation,
        early_help,
        facts,
        missing,
        morning,
        report_snapshot,
        stuck_trend,
        tables,
    )


def init_db(url: str) -> Engine:
    """Create missing tables, bring older ones up to date, and set the append-only
    triggers. Safe to run at every start, from many processes at once on PostgreSQL."""
    register_tables()
    engine = get_engine(url)
    postgres = engine.dialect.name == "postgresql"
    for attempt in range(3):
        try:
            with engine.begin() as conn:
                if postgres:
                    conn.execute(text("SELECT pg_advisory_xact_lock(7441)"))  # many workers may start at once
                SQLModel.metadata.create_all(conn)
                _add_missing_columns(conn)
                _add_chain_columns(conn)
                _seal_unchained_trail(conn, postgres)
                guards = (TRAIL_APPEND_ONLY.statements(postgres) + access.ACCESS_LOG_APPEND_ONLY.statements(postgres)
                          + (_TRAIL_HEADS_POSTGRES if postgres else _TRAIL_HEADS_SQLITE))
                for stmt in guards:
                    conn.execute(text(stmt))
            break
        except OperationalError as exc:  # SQLite: another process created a table a moment ago
            if "already exists" not in str(exc) or attempt == 2:
                raise
    return engine


def _add_missing_columns(conn: Connection) -> None:
    """A case record made by an earlier version gets the columns added since (each new column
    is nullable or has a default: additive changes only; a rename needs a migration of its own)."""
    inspector = inspect(conn)
    existing = set(inspector.get_table_names())
    for table in SQLModel.metadata.sorted_tables:
        if table.name not in existing:
            continue
        have = {c["name"] for c in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name in have:
                continue
            kind = column.type.compile(dialect=conn.dialect)
            conn.execute(text(f'ALTER TABLE {table.name} ADD COLUMN "{column.name}" {kind}'))


def _add_chain_columns(conn: Connection) -> None:
    """Trails written before the hash chain get its columns (and its unique place index)."""
    have = {c["name"] for c in inspect(conn).get_columns("actions")}
    for name, sql_type in _CHAIN_COLUMNS.items():
        if name not in have:
            conn.execute(text(f"ALTER TABLE actions ADD COLUMN {name} {sql_type}"))
    conn.execute(text("CREATE UNIQUE INDEX IF NOT EXISTS ix_actions_subject_seq ON actions (subject_id, seq)"))


def _seal_unchained_trail(conn: Connection, postgres: bool) -> None:
    """Chain the rows of a trail written before the chain existed, once: only while no case
    has a chain head yet. After that an unchained row is a forgery and verify reports it."""
    if conn.execute(select(col(TrailHead.subject_id)).limit(1)).first() is not None:
        return
    rows = conn.execute(select(ActionRecord).where(col(ActionRecord.seq).is_(None)).order_by(col(ActionRecord.id))).all()
    if not rows:
        return
    conn.execute(text("DROP TRIGGER IF EXISTS actions_append_only ON actions" if postgres else "DROP TRIGGER IF EXISTS actions_no_update"))
    heads: dict[str, tuple[int, str]] = {}
    for row in rows:
        seq, prev = heads.get(row.subject_id, (0, chain.GENESIS))
        seq += 1
        digest = chain.link(prev, chain.content_of(row, seq=seq))
        conn.execute(
            update(ActionRecord).where(col(ActionRecord.id) == row.id).values(seq=seq, prev_hash=prev, hash=digest)
        )
        heads[row.subject_id] = (seq, digest)
    for subject_id, (seq, digest) in heads.items():
        conn.execute(insert(TrailHead).values(subject_id=subject_id, seq=seq, hash=digest))
    # the triggers are created again by init_db straight after


@contextmanager
def session(url: str) -> Iterator[Session]:
    with Session(get_engine(url), expire_on_commit=False) as s:
        yield s


# The INSERT that knows ON CONFLICT, by dialect: the case record runs on SQLite and PostgreSQL.
CONFLICT_INSERTS: dict[str, Any] = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def conflict_insert(dialect: str) -> Any:
    """PostgreSQL's INSERT for "postgresql", SQLite's for anything else (the only two we run on)."""
    return CONFLICT_INSERTS["postgresql" if dialect == "postgresql" else "sqlite"]


def insert_once(s: Session, row: SQLModel) -> bool:
    """`row` added in the session's transaction unless a row with one of its keys (primary or
    unique) is there already: one INSERT ... ON CONFLICT DO NOTHING through SQLAlchemy Core,
    without the ORM's unit of work (the hot writes of a contact: bench/README.md). True when
    it was added. An autoincrement key left None is the database's to give."""
    conn = s.connection()
    table = row.__table__  # type: ignore[attr-defined]
    values = {c.name: getattr(row, c.name) for c in table.columns
              if not (c.primary_key and getattr(row, c.name) is None)}
    # RETURNING tells whether it was added (a rowcount is -1 on PostgreSQL when a key is returned)
    statement = conflict_insert(conn.dialect.name)(table).values(values).on_conflict_do_nothing().returning(*table.primary_key.columns)
    return conn.execute(statement).first() is not None
