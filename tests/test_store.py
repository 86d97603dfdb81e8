"""The case record on real databases: SQLite always, PostgreSQL when one is available
(`make test` starts the machine's PostgreSQL 15 and sets FRONTDOOR_TEST_POSTGRES_URL)."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlmodel import col, select

from activities.history import name_key, search_history
from activities.outbox import OutboundMessage, StoredOutbox
from activities.records import action_trail, append_action, save_contact
from models.database import init_db, session
from models.messages import ActionEntry
from models.tables import ActionRecord, ContactRecord, OutboxMessage
from tests.conftest import letters, make_contact

LONDON = ZoneInfo("Europe/London")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def store_url(request, tmp_path_factory):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('store') / 'store.db'}"
    else:
        url = os.environ.get("FRONTDOOR_TEST_POSTGRES_URL")
        if not url:
            pytest.skip("no PostgreSQL: set FRONTDOOR_TEST_POSTGRES_URL (make test does it when PostgreSQL 15 is installed)")
    init_db(url)
    return url


def nhs_number() -> str:
    """A fresh valid NHS number (mod-11 check digit), so runs on a kept database do not meet."""
    while True:
        digits = [int(d) for d in f"{uuid.uuid4().int % 10**9:09d}"]
        check = 11 - sum(d * w for d, w in zip(digits, range(10, 1, -1), strict=True)) % 11
        check = 0 if check == 11 else check
        if check != 10:
            return "".join(map(str, digits)) + str(check)


def child(**kw):
    base = {"first_name": "Amy", "last_name": f"Jones{letters()}", "date_of_birth": "2018-03-02"}
    return base | kw


def test_a_contact_is_saved_once(store_url):
    c = make_contact()
    with session(store_url) as s:
        assert save_contact(s, c) is True
        assert save_contact(s, c) is False


def test_history_matches_on_identifiers_and_on_name_with_date_of_birth(store_url):
    nhs = nhs_number()
    local = f"CH-{uuid.uuid4().hex[:8]}"
    kid = child()
    t0 = datetime(2025, 1, 1, tzinfo=UTC)
    earlier = [
        make_contact(received_at=t0.isoformat(), children=[kid | {"nhs_number": nhs}], concerns={"factors": ["3B"]}),
        make_contact(received_at=(t0 + timedelta(days=30)).isoformat(), children=[{"local_id": local, "first_name": "A"}], concerns={"factors": ["16A", "3C"]}),
        # same child, name written differently: accents, case and hyphen folded
        make_contact(
            received_at=(t0 + timedelta(days=60)).isoformat(),
            children=[{"first_name": "AMY", "last_name": kid["last_name"].upper(), "date_of_birth": "2018-03-02"}],
            concerns={"factors": ["16A"]},
        ),
        # same name, different date of birth: not a match
        make_contact(children=[{"first_name": "Amy", "last_name": kid["last_name"], "date_of_birth": "2019-03-02"}]),
    ]
    now = make_contact(children=[kid | {"local_id": local, "nhs_number": nhs}], concerns={"factors": ["3B", "16A"]})
    with session(store_url) as s:
        for c in [*earlier, now]:
            save_contact(s, c)
        result = search_history(s, now.id, now.children)
    how = {m.earlier_contact_id: (m.matched_on, m.confidence) for m in result.matches}
    assert how == {
        earlier[0].id: ("nhs_number", "exact"),
        earlier[1].id: ("local_id", "exact"),
        earlier[2].id: ("name + date of birth", "probable"),
    }
    themes = {p.theme: p.occurrences for p in result.recurring}
    assert themes == {"domestic_abuse": 2, "neglect": 2}


def test_one_earlier_contact_is_not_a_pattern(store_url):
    kid = child()
    first = make_contact(children=[kid], concerns={"factors": ["16A"]})
    now = make_contact(children=[kid], concerns={"factors": ["16A"]})
    with session(store_url) as s:
        save_contact(s, first)
        save_contact(s, now)
        result = search_history(s, now.id, now.children)
    assert [m.earlier_contact_id for m in result.matches] == [first.id]
    assert result.recurring == []


def test_name_keys_fold_case_accents_and_punctuation():
    assert name_key("O'Brien-Smith") == name_key("obrien smith") == "obriensmith"
    assert name_key("Zoë") == name_key("ZOE")
    assert name_key("  ") is None


def _entry(subject: str, key: str) -> ActionEntry:
    return ActionEntry(
        idempotency_key=key, subject_id=subject, workflow_id=f"contact-{subject}", actor="sam",
        role="social_worker", at=datetime.now(UTC), action="daily_review", reasons="looked", details={"rag": "red"},
    )


def test_the_action_trail_is_append_only(store_url):
    subject = f"T-{uuid.uuid4().hex[:8]}"
    with session(store_url) as s:
        assert append_action(s, _entry(subject, f"{subject}/1")) is True
        assert append_action(s, _entry(subject, f"{subject}/1")) is False  # a retried activity adds nothing
        assert len(action_trail(s, subject)) == 1
    for statement in (
        "UPDATE actions SET reasons = 'rewritten' WHERE subject_id = :s",
        "DELETE FROM actions WHERE subject_id = :s",
    ):
        with session(store_url) as s, pytest.raises(DBAPIError, match="append-only"):
            s.execute(text(statement), {"s": subject})
            s.commit()
    with session(store_url) as s:
        rows = s.exec(select(ActionRecord).where(ActionRecord.subject_id == subject)).all()
        assert [r.reasons for r in rows] == ["looked"]


def test_the_stored_outbox_delivers_each_key_once(store_url):
    outbox = StoredOutbox(store_url)
    key = f"k-{uuid.uuid4().hex}"
    msg = OutboundMessage(idempotency_key=key, channel="agency:police", recipient="Police", subject="s", body="b", subject_id="x")
    assert outbox.send(msg) is True
    assert outbox.send(msg) is False
    with session(store_url) as s:
        assert len(s.exec(select(OutboxMessage).where(OutboxMessage.idempotency_key == key)).all()) == 1


# -- time zones: every instant is stored as UTC and read back aware ------------------------------
def test_an_instant_with_an_offset_is_read_back_as_the_same_instant_in_utc(store_url):
    c = make_contact(received_at="2026-07-01T09:00:00+01:00")  # 09:00 BST is 08:00 UTC
    with session(store_url) as s:
        save_contact(s, c)
    with session(store_url) as s:
        if s.get_bind().dialect.name == "postgresql":
            s.execute(text("SET LOCAL TIME ZONE 'Europe/London'"))  # the server answers in the session's zone
        got = s.get(ContactRecord, c.id)
        assert got is not None
        assert got.received_at == datetime(2026, 7, 1, 8, 0, tzinfo=UTC)
        assert got.received_at.utcoffset() == timedelta(0)
        # and in the database itself, the stored wall time is UTC's
        raw = s.execute(text("SELECT received_at FROM contacts WHERE id = :id"), {"id": c.id}).scalar_one()
        assert (raw if isinstance(raw, datetime) else datetime.fromisoformat(str(raw))).replace(tzinfo=None) in (
            datetime(2026, 7, 1, 8, 0), datetime(2026, 7, 1, 9, 0)  # PostgreSQL answers in its session's zone
        )
        if isinstance(raw, str):  # SQLite keeps text: it must be the UTC wall time
            assert raw.startswith("2026-07-01 08:00:00")


@pytest.mark.parametrize(
    "times",
    [
        # spring forward, 29 March 2026: 00:30 GMT, then 02:30 BST (01:30 UTC)
        ["2026-03-29T00:30:00+00:00", "2026-03-29T02:30:00+01:00"],
        # fall back, 25 October 2026: 01:30 happens twice, first in BST then in GMT
        ["2026-10-25T01:30:00+01:00", "2026-10-25T01:30:00+00:00"],
    ],
    ids=["spring", "autumn"],
)
def test_instants_across_a_summer_time_change_keep_their_order_and_their_value(store_url, times):
    contacts = [make_contact(received_at=t) for t in times]
    with session(store_url) as s:
        for c in contacts:
            save_contact(s, c)
    expected = [datetime.fromisoformat(t).astimezone(UTC) for t in times]
    assert expected[1] - expected[0] == timedelta(hours=1)
    ids = [c.id for c in contacts]
    with session(store_url) as s:
        rows = s.exec(select(ContactRecord).where(col(ContactRecord.id).in_(ids)).order_by(col(ContactRecord.received_at))).all()
        assert [r.id for r in rows] == ids
        assert [r.received_at for r in rows] == expected
        assert all(r.received_at.tzinfo is not None and r.received_at.utcoffset() == timedelta(0) for r in rows)
        # a comparison with an instant given in another offset finds exactly the later one
        later = s.exec(
            select(ContactRecord.id).where(
                col(ContactRecord.id).in_(ids), col(ContactRecord.received_at) > datetime.fromisoformat(times[0]).astimezone(LONDON)
            )
        ).all()
        assert list(later) == [ids[1]]


def test_the_action_trail_keeps_utc_times(store_url):
    subject = f"T-{uuid.uuid4().hex[:8]}"
    at = datetime.fromisoformat("2026-10-25T01:30:00+01:00")
    with session(store_url) as s:
        append_action(s, _entry(subject, f"{subject}/1").model_copy(update={"at": at}))
    with session(store_url) as s:
        [row] = action_trail(s, subject)
    assert row.at == at and row.at.utcoffset() == timedelta(0)


def test_every_time_column_of_the_case_record_stores_utc():
    from sqlmodel import SQLModel

    import models.door_tables  # noqa: F401  (registers the tables)
    from models.tables import UTCDateTime

    columns = [(t.name, c.name, c.type) for t in SQLModel.metadata.sorted_tables for c in t.columns]
    times = [(t, c) for t, c, kind in columns if isinstance(kind, UTCDateTime)]
    assert ("contacts", "received_at") in times and ("consultations", "called_at") in times
    from sqlalchemy import DateTime

    plain = [(t, c) for t, c, kind in columns if isinstance(kind, DateTime)]
    assert plain == [], f"time columns without UTCDateTime: {plain}"
