"""`frontdoor demo` as a newcomer runs it: a real process on a real SQLite case record. It
drives the real workflows (an embedded time-skipping Temporal server, scripted people),
places the record on the calendar up to today, and refuses a record holding real data (and
an earlier demo)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from demo import week_start
from frontdoor import reports
from frontdoor.reports import annex_a
from frontdoor.reports.base import Window
from frontdoor.trail import verify
from models.case_record import save_contact
from models.database import init_db, session
from models.facts import ContactFacts
from models.tables import ActionRecord, ContactRecord, DocumentRecord
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


def test_a_contact_stepped_up_from_a_demo_early_help_case_is_the_demos(tmp_path: Path) -> None:
    """The demo's step-ups are contacts EH-DEMO-...-SU: a second run must say the record holds
    the demo, not that it holds real data (a CI run found one counted as real)."""
    from activities.demo import holdings

    url = f"sqlite:///{tmp_path / 'fd.db'}"
    init_db(url)
    with session(url) as s:
        assert save_contact(s, make_contact(id="DEMO-C-000001")) and save_contact(s, make_contact(id="EH-DEMO-C-000013-SU"))
        assert holdings(s) == (0, 2)
        assert save_contact(s, make_contact(id="EH-REAL-1-SU"))
        assert holdings(s) == (1, 2)


def test_a_month_of_demo_is_made_by_the_workflows_and_fills_the_reports(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fd.db'}"
    done = demo(tmp_path, "--months", "1", "--per-week", "6")
    finished = datetime.now(UTC)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "contacts/s" in done.stdout and "simulated" in done.stdout and "Open /reports" in done.stdout  # progress, then what to do next
    assert "0 steps refused" in done.stdout, done.stdout
    contacts, entries = counts(url)
    assert contacts >= 20 and entries > contacts * 5
    with session(url) as s:
        trail = s.execute(select(ActionRecord)).scalars().all()
        ids = set(s.execute(select(ContactRecord.id)).scalars())
        late = set(s.execute(select(ContactFacts.contact_id).where(ContactFacts.on_time.is_(False))).scalars())
        decided = set(s.execute(select(ContactFacts.contact_id).where(ContactFacts.decided_at.is_not(None))).scalars())
        documents = s.execute(select(func.count()).select_from(DocumentRecord)).scalar_one()
    by_case: dict[str, Counter[str]] = {}
    for row in trail:
        by_case.setdefault(row.subject_id, Counter())[row.action] += 1
        # a workflow's trail key: workflow id / run id / step (a direct writer's is not)
        wid, run_id, _step = row.idempotency_key.rsplit("/", 2)
        assert wid == row.workflow_id and len(run_id) == 36, row.idempotency_key
    # every contact went through its workflow: received and history checked by the workflow,
    # handed off once when it closed; a late decision was reported overdue by its timer
    for cid in ids:
        actions = by_case[cid]
        assert actions["contact_received"] == 1 and actions["history_checked"] == 1, (cid, actions)
        # triaged once, or (a contact stepped up from early help) its triage is the step-up
        assert actions["triage"] + actions["stepped_up_from_early_help"] == 1, (cid, actions)
        if actions["closed"]:
            assert actions["handed_off"] == 1, (cid, actions)
    assert late and late <= decided
    for cid in late:
        assert by_case[cid]["decision_overdue"] >= 1, (cid, by_case[cid])
    all_actions = sum(by_case.values(), Counter())
    assert all_actions["map_chased"] >= 1  # an agency late to answer was chased by the workflow's timer
    assert all_actions["early_help_received"] >= 1 and all_actions["consultation_recorded"] >= 1
    assert documents >= len(decided)  # the decision records the workflows rendered
    # the trail's chain verifies after the record was placed on the calendar
    report = verify(url)
    assert report.ok, report.problems[:3]
    # ... which ends today: every moment in the last month (and a bit), none in the future
    times = [row.at.replace(tzinfo=UTC) if row.at.tzinfo is None else row.at for row in trail]
    assert finished - timedelta(days=33) <= min(times) and max(times) <= finished
    today = finished.date()
    w = Window(today - timedelta(days=40), today)
    with session(url) as s:
        summary = dict(reports.run(s, "timeliness", w).table("summary").rows)
        assert 0 < summary["Within the deadline"] < summary["Management decisions made"], summary
        assert reports.run(s, "volumes", w).table(reports.run(s, "volumes", w).report.chart.table).rows
        assert annex_a.build(s, 1, w), "Annex A list 1 is empty after the demo"
    again = demo(tmp_path, "--months", "1")
    assert again.returncode == 1 and "already holds the demo" in again.stderr
    assert counts(url) == (contacts, entries)


def test_a_simulated_month_begins_on_a_monday_midnight_whatever_the_day_it_runs() -> None:
    """The demo's draws are counted from there, so a seed gives the same front door on any
    day (a month begun at the wall clock's time drew a different month each hour, and once
    no late decision: a CI failure)."""
    london = "Europe/London"
    assert week_start(datetime(2026, 11, 28, 8, 46, tzinfo=UTC), london) == datetime(2026, 11, 30, tzinfo=UTC)
    assert week_start(datetime(2026, 11, 30, 0, 0, tzinfo=UTC), london) == datetime(2026, 11, 30, tzinfo=UTC)
    assert week_start(datetime(2026, 11, 30, 0, 1, tzinfo=UTC), london) == datetime(2026, 12, 7, tzinfo=UTC)
    # summer time: a Monday's midnight in London is 23:00 UTC on the Sunday
    assert week_start(datetime(2026, 7, 1, 12, 0, tzinfo=UTC), london) == datetime(2026, 7, 5, 23, 0, tzinfo=UTC)
