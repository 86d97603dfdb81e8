"""`frontdoor demo` as a newcomer runs it: a real process on a real SQLite case record. It
refuses a record holding real data (and an earlier demo), and a small demo gives every
manager's report something to show."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from frontdoor import reports
from frontdoor.reports import annex_a
from frontdoor.reports.base import Window
from models.case_record import save_contact
from models.database import init_db, session
from models.tables import ActionRecord, ContactRecord
from tests.conftest import make_contact

ROOT = Path(__file__).resolve().parent.parent


def demo(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("FRONTDOOR_", "DATABASE_URL"))}
    return subprocess.run(
        [sys.executable, "-m", "frontdoor.cli", "demo", *args], cwd=ROOT, capture_output=True, text=True, timeout=600,
        env=base | {"FRONTDOOR_VAR_DIR": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path / 'fd.db'}"},
    )


def counts(url: str) -> tuple[int, int]:
    with session(url) as s:
        return (s.execute(select(func.count()).select_from(ContactRecord)).scalar_one(),
                s.execute(select(func.count()).select_from(ActionRecord)).scalar_one())


def test_the_demo_refuses_a_case_record_with_real_data(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fd.db'}"
    init_db(url)
    with session(url) as s:
        assert save_contact(s, make_contact())
    refused = demo(tmp_path, "--months", "1", "--per-week", "2")
    assert refused.returncode == 1
    assert "holds real data (1 cases that are not the demo's)" in refused.stderr and "new database" in refused.stderr
    assert counts(url) == (1, 0)  # nothing written


def test_a_small_demo_fills_every_report_and_annex_a(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fd.db'}"
    done = demo(tmp_path, "--months", "1", "--per-week", "3")
    assert done.returncode == 0, done.stderr
    assert "/ 12 contacts" in done.stdout and "Open /reports" in done.stdout  # progress, then what to do next
    contacts, entries = counts(url)
    assert contacts >= 12 and entries > contacts * 3
    today = datetime.now(UTC).date()
    w = Window(today - timedelta(days=62), today)
    with session(url) as s:
        for name in reports.REPORTS:
            result = reports.run(s, name, w)
            chart = result.table(result.report.chart.table)
            assert chart.rows, f"{name}: its chart's table is empty after the demo"
        assert annex_a.build(s, 1, w), "Annex A list 1 is empty after the demo"
    again = demo(tmp_path, "--months", "1")
    assert again.returncode == 1 and "already holds the demo" in again.stderr
    assert counts(url) == (contacts, entries)
