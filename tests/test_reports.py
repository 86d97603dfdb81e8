"""Every report's figures on a small hand-made case record whose answers were worked out by
hand (tests/report_data.py), on SQLite and on PostgreSQL (FRONTDOOR_TEST_POSTGRES_URL;
skipped when absent). Percentiles are nearest-rank: the p-th percentile of n values is
the value at rank ceil(p/100 * n)."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import settings as settings_hypothesis
from hypothesis import strategies as st
from sqlalchemy import literal, select, text, union_all
from sqlmodel import col

from activities.facts import rebuild
from frontdoor import reports
from frontdoor.reports.base import ReportInputError, Window, window_for
from frontdoor.reports.sql import percentiles
from models.database import get_engine, init_db, session
from models.facts import FACT_TABLES
from tests import report_data
from tests.report_data import NOW, WINDOW


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def record_url(request, tmp_path_factory):
    """A case record holding only the hand-made data (PostgreSQL: in a schema of its own)."""
    schema = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('reports') / 'reports.db'}"
    else:
        base = os.environ.get("FRONTDOOR_TEST_POSTGRES_URL")
        if not base:
            pytest.skip("no PostgreSQL: set FRONTDOOR_TEST_POSTGRES_URL (make test does it when PostgreSQL 15 is installed)")
        schema = f"reports_{uuid.uuid4().hex[:10]}"
        with get_engine(base).begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
        url = f"{base}?options=-csearch_path%3D{schema}"
    init_db(url)
    with session(url) as s:
        report_data.build(s)
    yield url
    if schema is not None:
        get_engine(url).dispose()
        with get_engine(base).begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))


W = Window(*WINDOW, now=NOW)


def run(url: str, name: str, w: Window = W) -> dict[str, Any]:
    """The report's tables as {table name: rows as dicts keyed by column}; the summary as {measure: value}."""
    with session(url) as s:
        result = reports.run(s, name, w)
    tables: dict[str, Any] = {}
    for t in result.tables:
        rows = [dict(zip([c.key for c in t.columns], row, strict=True)) for row in t.rows]
        tables[t.name] = {r["measure"]: r["value"] for r in rows} if t.name == "summary" else rows
    return tables


def by(rows: list[dict[str, Any]], key: str) -> dict[Any, dict[str, Any]]:
    return {r[key]: r for r in rows}


# ---------------------------------------------------------------------- the SQL percentile
@pytest.mark.parametrize("values, p50, p90", [
    ([5.0], 5.0, 5.0),
    ([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0], 5.0, 9.0),
    ([10.0, 1.0, 7.0, 3.0], 3.0, 10.0),
    ([2.0, 2.0, 9.0], 2.0, 9.0),
])
def test_percentiles_are_nearest_rank_in_sql(record_url, values, p50, p90):
    rows = union_all(*[select(literal(v).label("v"), literal("a" if i % 2 else "b").label("g")) for i, v in enumerate(values)]).subquery()
    with session(record_url) as s:
        assert tuple(s.execute(percentiles(rows.c.v, [], select_from=rows)).one()) == (p50, p90)
        grouped = {g: (a, b) for g, a, b in s.execute(percentiles(rows.c.v, [], by=[rows.c.g], select_from=rows)).all()}
    for g in grouped:
        mine = sorted(v for i, v in enumerate(values) if ("a" if i % 2 else "b") == g)
        n = len(mine)
        assert grouped[g] == (mine[-(-50 * n // 100) - 1], mine[-(-90 * n // 100) - 1])


def test_percentiles_of_nothing_are_none(record_url):
    from models.facts import ContactFacts as F

    with session(record_url) as s:
        assert tuple(s.execute(percentiles(col(F.hours_to_decision), [col(F.contact_id) == "nobody"])).one()) == (None, None)


# ---------------------------------------------------------------------- each report
def test_timeliness(record_url):
    r = run(record_url, "timeliness")
    assert r["summary"] == {
        "Management decisions made": 4,  # C1 10h, C2 28.5h (after an extension), C4 48h late, C5 23h
        "Within the deadline": 3,
        "% within the deadline": 75.0,
        "Median hours from SPA arrival to decision": 23.0,
        "90th percentile hours from SPA arrival to decision": 48.0,
        "Decisions still overdue (SPA arrival in the range)": 1,  # C8
        "Extensions": 1,
        "Hours added by extensions": 6.0,
    }
    weeks = by(r["by_week"], "week")
    assert list(weeks) == [date(2019, 1, 7), date(2019, 1, 21), date(2019, 2, 4)]
    assert weeks[date(2019, 1, 7)] == {
        "week": date(2019, 1, 7), "decisions": 2, "within": 2, "pct_within": 100.0, "median_hours": 10.0, "p90_hours": 28.5,
    }
    assert (weeks[date(2019, 1, 21)]["pct_within"], weeks[date(2019, 1, 21)]["median_hours"]) == (0.0, 48.0)
    managers = by(r["by_manager"], "manager")
    assert (managers["tom"]["decisions"], managers["tom"]["pct_within"], managers["tom"]["median_hours"], managers["tom"]["p90_hours"]) == (3, 100.0, 23.0, 28.5)
    assert (managers["una"]["decisions"], managers["una"]["within"]) == (1, 0)
    [overdue] = r["overdue"]
    assert overdue["contact_id"] == "C8" and overdue["hours_overdue"] == round((NOW - report_data.t("2019-03-06", "10:00")).total_seconds() / 3600, 1)
    assert r["extensions"] == [{"reason": "Agency unavailable or answer awaited", "extensions": 1, "hours_added": 6.0, "average_hours": 6.0}]


def test_police_delay(record_url):
    r = run(record_url, "police-delay")
    assert r["summary"] == {
        "Police notifications received": 3, "Median delay (hours)": 30.0, "90th percentile delay (hours)": 50.0,
        "Over 24 hours": 2, "% over 24 hours": 66.7,
    }
    months = by(r["by_month"], "month")
    assert months[date(2019, 1, 1)] == {
        "month": date(2019, 1, 1), "notifications": 2, "median_hours": 10.0, "p90_hours": 30.0, "over": 1, "pct_over": 50.0,
    }
    assert (months[date(2019, 2, 1)]["median_hours"], months[date(2019, 2, 1)]["pct_over"]) == (50.0, 100.0)
    assert [(x["contact_id"], x["delay_hours"]) for x in r["longest"]] == [("C6", 50.0), ("C1", 30.0), ("C2", 10.0)]
    stricter = run(record_url, "police-delay", Window(*WINDOW, now=NOW, police_flag_hours=40))
    assert stricter["summary"]["Over 40 hours"] == 1


def test_volumes_and_conversion(record_url):
    r = run(record_url, "volumes")
    assert r["summary"] == {
        "Contacts received": 9,
        "Referrals (routed to the SPA or urgent, or stepped up from early help)": 7,
        "% of contacts that became referrals": 77.8,
        "Advice or no further action": 2,  # C3 advice at triage, C2 decided NFA
        "% advice or no further action": 22.2,
        "Not yet triaged": 0,
    }
    grid = by(r["by_month_source"], "month")
    assert grid[date(2019, 1, 1)] == {"month": date(2019, 1, 1), "s_2A": 2, "s_6": 2, "s_1A": 0, "s_3A": 0, "s_5D": 0, "s_8": 0, "total": 4}
    assert [row["total"] for row in r["by_month_source"]] == [4, 3, 2]
    routes = {row["route"]: row["contacts"] for row in r["routes"]}
    assert list(routes.values()) == [1, 6, 1, 1, 0]  # urgent, SPA, early help, advice, not yet triaged
    sources = by(r["by_source"], "source")
    assert sources["6"] == {
        "source": "6", "name": "Police", "contacts": 3, "referrals": 3, "pct_referral": 100.0, "advice_nfa": 1, "pct_advice_nfa": 33.3,
    }
    assert (sources["2A"]["referrals"], sources["2A"]["advice_nfa"], sources["5D"]["referrals"]) == (1, 1, 1)
    assert sum(row["contacts"] for row in r["by_source"]) == 9


def test_re_referrals(record_url):
    r = run(record_url, "re-referrals")
    # Amy: C1 (C0b seven months before; C0 over a year before) and C5 (C0b and C1): 2 of 7 child referrals
    assert r["summary"] == {"Referrals (one per child)": 7, "Re-referrals within 12 months": 2, "% re-referrals": 28.6}
    assert [(m["month"], m["referrals"], m["rereferrals"]) for m in r["by_month"]] == [
        (date(2019, 1, 1), 3, 1), (date(2019, 2, 1), 2, 1), (date(2019, 3, 1), 2, 0),
    ]
    later = run(record_url, "re-referrals", Window(date(2017, 12, 1), date(2018, 12, 31), now=NOW))
    # C0 (December 2017) was Amy's first; C0b six months later is a re-referral
    assert later["summary"]["Referrals (one per child)"] == 2 and later["summary"]["Re-referrals within 12 months"] == 1


def test_recurring_patterns(record_url):
    r = run(record_url, "recurring-patterns")
    assert r["summary"] == {
        "Contacts received": 9, "With a recurring theme in their history": 2, "% of contacts": 22.2, "Triaged": 2,
        "% where triage confirmed the history was considered": 100.0, "Decided by a manager": 2,
        "% where the decision confirmed the pattern was weighed": 50.0, "Not confirmed (listed below)": 1,
    }
    assert r["themes"] == [{"theme": "Neglect", "contacts": 2}, {"theme": "Domestic abuse", "contacts": 1}]
    [short] = r["not_confirmed"]
    assert (short["contact_id"], short["triage"], short["decision"]) == ("C5", "yes", "no")
    assert r["outcomes"] == [{"outcome": "Child and family assessment (section 17)", "contacts": 2}]


def test_consent(record_url):
    r = run(record_url, "consent")
    status = {row["status"]: (row["contacts"], row["from_referrer"]) for row in r["status"]}
    assert status == {
        "Given": (3, 3), "Refused": (1, 0), "Not sought": (1, 1), "Sought, answer awaited": (0, 0), "Overridden by a manager": (1, 0),
    }
    assert r["summary"]["Contacts in the SPA"] == 6 and r["summary"]["As the referrer said (not changed in the SPA)"] == 4
    assert r["overrides"] == [{"reason": "Risk of significant harm", "overrides": 1, "pct": 100.0}]


def test_threshold_advice(record_url):
    r = run(record_url, "threshold-advice")
    assert r["summary"] == {
        "Triages": 8, "With threshold advice recorded": 2, "% with threshold advice recorded": 25.0,
        "With a level suggested by the threshold rules": 6, "Departing from the suggested level": 1,
        "% departing from the suggested level": 16.7,
    }
    assert r["levels"] == [{"suggested": 3, "level": 4, "triages": 1}]
    [dep] = r["departures"]
    assert (dep["contact_id"], dep["reason"], dep["by"]) == ("C2", "Injury seen by the officer", "rita")
    assert [(m["triages"], m["advised"], m["departures"]) for m in r["by_month"]] == [(4, 1, 1), (3, 1, 0), (1, 0, 0)]


def test_consultation_line(record_url):
    r = run(record_url, "consultations")
    assert r["summary"] == {
        "Consultation calls": 3, "Child named": 2, "Anonymous": 1, "Referrals invited": 2, "Invited referrals received": 1,
        "Received within the due time": 1, "% of invited referrals received within the due time": 50.0,
        "Follow-ups raised (referral not received in time)": 1, "Received after a follow-up": 0, "Still awaited": 0,
    }
    assert {row["outcome"]: row["calls"] for row in r["follow_ups"]}["Escalated"] == 1
    assert sum(row["calls"] for row in r["follow_ups"]) == 1
    assert [(m["calls"], m["invited"], m["on_time"], m["follow_ups"]) for m in r["by_month"]] == [(1, 1, 1, 0), (2, 1, 0, 1)]


def test_early_help(record_url):
    r = run(record_url, "early-help")
    assert r["summary"] == {
        "Early help cases received": 3, "Routed at triage": 1, "Stepped down from the SPA (step-downs)": 0,
        "Started by the hub": 2, "% of directions given within their timescale": 66.7,
        "Stepped up into the SPA (step-ups)": 1, "Consent refused": 1,
    }
    steps = {row["step"]: (row["started"], row["met"], row["late"], row["open"], row["pct_met"]) for row in r["steps"]}
    assert steps == {
        "Management directions": (3, 2, 1, 0, 66.7),
        "Information gathering": (2, 1, 0, 0, 100.0),  # EH-D2's gathering was cut short by its step-up
        "Recommendation": (1, 1, 0, 0, 100.0),
        "Decision": (1, 1, 0, 0, 100.0),
    }
    assert {row["outcome"]: row["cases"] for row in r["outcomes"]} == {
        "Targeted early help: north west": 1, "Stepped up into the SPA": 1, "Consent refused: advice given": 1,
    }


def test_a_range_outside_the_data_gives_empty_tables_not_errors(record_url):
    empty = Window(date(2021, 1, 1), date(2021, 1, 31), now=NOW)
    for name in reports.REPORTS:
        r = run(record_url, name, empty)
        assert all(not rows for key, rows in r.items() if key not in ("summary", "routes", "follow_ups", "steps", "status", "extensions"))


def test_rebuilding_the_facts_from_the_trail_gives_the_same_figures(record_url, tmp_path):
    before = {name: run(record_url, name) for name in reports.REPORTS}
    snapshot = _facts(record_url)
    with session(record_url) as s:
        assert rebuild(s) > 0
    assert _facts(record_url) == snapshot
    assert {name: run(record_url, name) for name in reports.REPORTS} == before


def _facts(url: str) -> dict[str, list[tuple[Any, ...]]]:
    with session(url) as s:
        out = {}
        for table in FACT_TABLES:
            cols = [c for c in table.columns if c.name != "id"]
            out[table.name] = sorted(tuple(str(r) for r in row) for row in s.execute(select(*cols)).all())
        return out


def test_a_facts_row_created_meanwhile_keeps_its_values_and_takes_this_entrys_changes(record_url):
    """Two workers projecting the first entries of one case at once: the second insert
    yields, and its changes land on the row the first made (no unique-key error, which
    would roll the trail entry back)."""
    from sqlalchemy import delete, insert

    from activities.facts import _OPEN, _conn, _defaults_of, _open
    from models.facts import ContactFacts

    table = ContactFacts.__table__
    with session(record_url) as s:
        s.info[_OPEN] = {}
        mine = _open(s, ContactFacts, contact_id="RACE-1")
        assert mine.new
        _conn(s).execute(insert(table).values(**{**_defaults_of(ContactFacts), "contact_id": "RACE-1", "source": "6"}))
        mine.rag = "red"
        mine.save(_conn(s))
        s.commit()
    with session(record_url) as s:
        row = _conn(s).execute(select(table.c.source, table.c.rag).where(table.c.contact_id == "RACE-1")).one()
        _conn(s).execute(delete(table).where(table.c.contact_id == "RACE-1"))
        s.commit()
    assert tuple(row) == ("6", "red")


def test_entries_of_one_case_projected_at_once_lose_no_update(record_url):
    """Twelve workers append an extension to the same contact at the same moment: every
    one is counted (PostgreSQL locks the row; on SQLite the trail entry's insert takes the
    write lock before the facts row is read)."""
    import threading

    from activities.records import append_action
    from models.facts import ContactFacts, ExtensionFacts
    from models.messages import ActionEntry

    cid, start = f"CONC-{uuid.uuid4().hex[:6]}", datetime(2031, 1, 6, 9, tzinfo=UTC)
    barrier = threading.Barrier(12)
    failures: list[BaseException] = []

    def extend(n: int) -> None:
        entry = ActionEntry(
            idempotency_key=f"{cid}/{n}", subject_id=cid, workflow_id=f"contact-{cid}", kind="contact", actor="tom",
            role="team_manager", at=start + timedelta(minutes=n), action="deadline_extended",
            details={"reason": "other", "previous_deadline": start.isoformat(), "new_deadline": (start + timedelta(hours=2)).isoformat()},
        )
        try:
            with session(record_url) as s:
                barrier.wait()
                assert append_action(s, entry)
        except BaseException as exc:  # noqa: BLE001 (reported below)
            failures.append(exc)

    threads = [threading.Thread(target=extend, args=(n,)) for n in range(12)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not failures, failures
    with session(record_url) as s:
        facts = s.get(ContactFacts, cid)
        rows = s.execute(select(ExtensionFacts.hours_added).where(ExtensionFacts.contact_id == cid)).scalars().all()
    assert (facts.extensions, facts.extension_hours, len(rows)) == (12, 24.0, 12)


# ---------------------------------------------------------------------- date windows
def test_windows_default_to_the_last_twelve_or_six_months_and_refuse_bad_input():
    today = date(2026, 11, 27)
    w = window_for(None, None, today=today)
    assert (w.start, w.end) == (date(2025, 11, 28), today)
    assert window_for(None, None, today=today, default_months=6).start == date(2026, 5, 28)
    assert window_for("2026-01-01", "31/01/2026", today=today).end == date(2026, 1, 31)
    with pytest.raises(ReportInputError) as exc:
        window_for("2026-02-01", "2026-01-01", today=today)
    assert exc.value.field == "from" and "after" in exc.value.reason
    with pytest.raises(ReportInputError) as exc:
        window_for("2020-01-01", "2026-01-01", today=today)
    assert exc.value.field == "to" and "5 years" in exc.value.reason
    for bad in ("yesterday", "2026-13-01", "2026-01-01T00:00:00", "1999-12-31"):
        with pytest.raises(ReportInputError) as exc:
            window_for(bad, None, today=today)
        assert exc.value.field == "from", bad
    with pytest.raises(ReportInputError) as exc:
        window_for(None, "2029-01-01", today=today)
    assert exc.value.field == "to"


def test_the_window_uses_the_service_time_zone():
    from frontdoor.config import Settings

    settings = Settings(database_url="sqlite://", timezone="Europe/London")
    w = reports.window(settings, "2026-06-01", "2026-06-30")
    assert (w.timezone, w.police_flag_hours) == ("Europe/London", 24.0)
    assert reports.today(settings) == datetime.now(UTC).astimezone(__import__("zoneinfo").ZoneInfo("Europe/London")).date()
    assert w.end - w.start == timedelta(days=29)


@settings_hypothesis(max_examples=300, deadline=None)
@given(
    st.one_of(st.none(), st.text(max_size=14), st.dates().map(date.isoformat), st.dates().map(lambda d: d.strftime("%d/%m/%Y"))),
    st.one_of(st.none(), st.text(max_size=14), st.dates().map(date.isoformat)),
)
@example(None, "0001-01-01")  # found by CI: the default from, a year before year 1, was a 500
def test_any_from_and_to_give_a_bounded_window_or_a_reason_naming_the_field(start, end):
    today = date(2026, 11, 27)
    try:
        w = window_for(start, end, today=today)
    except ReportInputError as exc:
        assert exc.field in ("from", "to") and exc.reason
        return
    assert date(2000, 1, 1) <= w.start <= w.end <= today + timedelta(days=366)
    assert (w.end - w.start).days <= 366 * 5
