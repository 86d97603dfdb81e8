"""The case record's database: one engine per DATABASE_URL, schema creation, append-only guards.

Below both activities/ (which write) and the interface's read module (frontdoor/record.py).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, create_engine

import models.door_tables  # noqa: F401  (registers the tables)
import models.facts  # noqa: F401
import models.tables  # noqa: F401

_engines: dict[str, Engine] = {}
_lock = threading.Lock()

_APPEND_ONLY_SQLITE = [
    """CREATE TRIGGER IF NOT EXISTS actions_no_update BEFORE UPDATE ON actions
       BEGIN SELECT RAISE(ABORT, 'the action trail is append-only'); END""",
    """CREATE TRIGGER IF NOT EXISTS actions_no_delete BEFORE DELETE ON actions
       BEGIN SELECT RAISE(ABORT, 'the action trail is append-only'); END""",
]
_APPEND_ONLY_POSTGRES = [
    """CREATE OR REPLACE FUNCTION frontdoor_append_only() RETURNS trigger AS $$
       BEGIN RAISE EXCEPTION 'the action trail is append-only'; END; $$ LANGUAGE plpgsql""",
    "DROP TRIGGER IF EXISTS actions_append_only ON actions",
    """CREATE TRIGGER actions_append_only BEFORE UPDATE OR DELETE ON actions
       FOR EACH ROW EXECUTE FUNCTION frontdoor_append_only()""",
]


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
                    Path(path).parent.mkdir(parents=True, exist_ok=True)
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


def init_db(url: str) -> Engine:
    """Create missing tables and the append-only triggers. Safe to run at every start."""
    engine = get_engine(url)
    SQLModel.metadata.create_all(engine)
    statements = _APPEND_ONLY_SQLITE if engine.dialect.name == "sqlite" else _APPEND_ONLY_POSTGRES
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(7441)"))  # many workers may start at once
        for stmt in statements:
            conn.execute(text(stmt))
    return engine


@contextmanager
def session(url: str) -> Iterator[Session]:
    with Session(get_engine(url), expire_on_commit=False) as s:
        yield s
