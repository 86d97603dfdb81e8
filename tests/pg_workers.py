"""A PostgreSQL database for each pytest-xdist worker, so parallel test processes never share
rows (report tests count what is in their date ranges; trail tests verify whole chains)."""

from __future__ import annotations

import re

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url


def own_database(base_url: str, worker: str) -> str:
    """`base_url` with its database renamed `<name>_<worker>`, dropped and made again."""
    if not re.fullmatch(r"gw\d{1,3}", worker):
        raise ValueError(f"unexpected pytest-xdist worker name {worker!r}")
    url = make_url(base_url)
    name = f"{url.database}_{worker}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            c.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as e:  # noqa: BLE001 (say what to do, whatever the driver raised)
        raise RuntimeError(
            f"could not make the test database {name} for worker {worker} ({e.__class__.__name__}: {e}). "
            "The role needs CREATEDB (scripts/ensure_postgres.sh grants it), or run the tests in one "
            "process: make test TEST_WORKERS=0"
        ) from e
    finally:
        admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)
