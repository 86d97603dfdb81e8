"""The case record on real databases: SQLite always, PostgreSQL when one is available
(`make test` starts the machine's PostgreSQL 15 and sets FRONTDOOR_TEST_POSTGRES_URL)."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from jinja2 import TemplateNotFound
from sqlalchemy import event, text
from sqlalchemy.exc import DBAPIError
from sqlmodel import col, select

from activities.contact import ContactActivities
from activities.deps import Deps
from activities.history import history_check
from activities.outbox import OutboundMessage, StoredOutbox
from activities.records import append_action
from models.bounds import MAX_CHILDREN, MAX_HISTORY_MATCHES
from models.case_record import name_key, save_contact
from models.codes import LevelOfNeed
from models.database import get_engine, init_db, session
from models.messages import ActionEntry, CaseUpdate, ContactStep, DocumentRequest
from models.tables import ActionRecord, ContactRecord, DocumentRecord, OutboxMessage
from models.thresholds import ThresholdRules
from tests.conftest import letters, make_contact
from tests.helpers import action_trail

RULES = ThresholdRules.load(Path(__file__).resolve().parent.parent / "config" / "threshold_rules.json")

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


NOW = datetime(2026, 11, 26, 9, 14, tzinfo=UTC)  # "this" contact's receipt in the history tests


def at(**delta: float) -> str:
    """A receipt time before NOW, e.g. at(days=30)."""
    return (NOW - timedelta(**delta)).isoformat()


def check(s, contact, rules=RULES):
    """The history check as the activities run it: this contact's factors and receipt."""
    return history_check(s, rules, contact.id, contact.children, contact.concerns.factors, contact.received_at)


def test_history_matches_on_identifiers_and_on_name_with_date_of_birth(store_url):
    nhs = nhs_number()
    local = f"CH-{uuid.uuid4().hex[:8]}"
    kid = child()
    earlier = [
        make_contact(received_at=at(days=300), children=[kid | {"nhs_number": nhs}], concerns={"factors": ["3B"]}),
        make_contact(received_at=at(days=200), children=[{"local_id": local, "first_name": "A"}], concerns={"factors": ["16A", "3C"]}),
        # same child, name written differently: accents, case and hyphen folded
        make_contact(
            received_at=at(days=100),
            children=[{"first_name": "AMY", "last_name": kid["last_name"].upper(), "date_of_birth": "2018-03-02"}],
            concerns={"factors": ["16A"]},
        ),
        # same name, different date of birth: not a match
        make_contact(received_at=at(days=50), children=[{"first_name": "Amy", "last_name": kid["last_name"], "date_of_birth": "2019-03-02"}]),
    ]
    now = make_contact(received_at=NOW.isoformat(), children=[kid | {"local_id": local, "nhs_number": nhs}], concerns={"factors": ["3B", "16A"]})
    with session(store_url) as s:
        for c in [*earlier, now]:
            save_contact(s, c)
        result = check(s, now)
    how = {m.earlier_contact_id: (m.matched_on, m.confidence) for m in result.matches}
    assert how == {
        earlier[0].id: ("nhs_number", "exact"),
        earlier[1].id: ("local_id", "exact"),
        earlier[2].id: ("name + date of birth", "probable"),
    }
    assert [m.earlier_contact_id for m in result.matches] == [e.id for e in earlier[:3]]  # oldest first
    patterns = {p.theme: p for p in result.recurring}
    assert {t: (p.occurrences, p.contact_ids, p.includes_this_contact) for t, p in patterns.items()} == {
        "domestic_abuse": (3, [earlier[0].id, earlier[1].id], True),
        "neglect": (3, [earlier[1].id, earlier[2].id], True),
    }
    assert patterns["domestic_abuse"].summary == "3rd domestic abuse contact in 12 months"
    assert result.earlier_contacts == 3


def test_the_second_contact_with_a_theme_is_a_recurring_pattern(store_url):
    """The letter's case: one earlier domestic abuse contact, and now a second one."""
    kid = child()
    first = make_contact(received_at=at(days=90), children=[kid], concerns={"factors": ["3B"]})
    now = make_contact(received_at=NOW.isoformat(), children=[kid], concerns={"factors": ["3A"]})
    with session(store_url) as s:
        save_contact(s, first)
        save_contact(s, now)
        result = check(s, now)
    [p] = result.recurring
    assert (p.theme, p.occurrences, p.contact_ids, p.includes_this_contact) == ("domestic_abuse", 2, [first.id], True)
    assert p.window_months == 12 and p.child_indexes == [0]
    assert p.summary == "2nd domestic abuse contact in 12 months"
    # and the threshold rule fires for the second incident: the suggested level rises
    assert result.suggestion is not None and result.suggestion.level == LevelOfNeed.SPECIALIST
    assert "recurring-domestic-abuse" in result.suggestion.rule_ids


def test_one_earlier_contact_with_another_theme_is_not_a_pattern(store_url):
    kid = child()
    first = make_contact(received_at=at(days=90), children=[kid], concerns={"factors": ["3B"]})
    now = make_contact(received_at=NOW.isoformat(), children=[kid], concerns={"factors": ["16A"]})
    with session(store_url) as s:
        save_contact(s, first)
        save_contact(s, now)
        result = check(s, now)
    assert [m.earlier_contact_id for m in result.matches] == [first.id]
    assert result.recurring == []
    assert result.suggestion is not None and result.suggestion.level == LevelOfNeed.TARGETED_EARLY_HELP


def test_a_theme_in_two_earlier_contacts_recurs_even_when_absent_now(store_url):
    """Continuing harm: domestic abuse twice before, this contact is about neglect."""
    kid = child()
    earlier = [make_contact(received_at=at(days=d), children=[kid], concerns={"factors": ["3B"]}) for d in (200, 100)]
    now = make_contact(received_at=NOW.isoformat(), children=[kid], concerns={"factors": ["16A"]})
    with session(store_url) as s:
        for c in [*earlier, now]:
            save_contact(s, c)
        result = check(s, now)
    [p] = result.recurring
    assert (p.theme, p.occurrences, p.contact_ids, p.includes_this_contact) == ("domestic_abuse", 2, [e.id for e in earlier], False)
    assert p.summary == "domestic abuse in 2 earlier contacts in 12 months (not in this one)"


@pytest.mark.parametrize(
    "earlier_at,recurring",
    [
        (datetime(2025, 11, 26, 9, 14, tzinfo=UTC), True),  # exactly twelve months before
        (NOW - timedelta(days=366), False),
        (datetime(2025, 11, 26, 9, 13, 59, tzinfo=UTC), False),  # a second outside the window
        (datetime(2024, 6, 1, tzinfo=UTC), False),
        (NOW, True),  # received at the same moment
        (NOW + timedelta(minutes=1), False),  # received after this contact: not earlier
    ],
    ids=["exactly-12-months", "366-days", "just-outside", "years-ago", "same-moment", "after"],
)
def test_the_look_back_window_counts_back_from_this_contacts_receipt(store_url, earlier_at, recurring):
    kid = child()
    first = make_contact(received_at=earlier_at.isoformat(), children=[kid], concerns={"factors": ["16A"]})
    now = make_contact(received_at=NOW.isoformat(), children=[kid], concerns={"factors": ["16A"]})
    with session(store_url) as s:
        save_contact(s, first)
        save_contact(s, now)
        result = check(s, now)
    assert [m.earlier_contact_id for m in result.matches] == [first.id]  # the history shows it either way
    assert bool(result.recurring) is recurring


def test_the_window_is_read_from_the_rules(store_url, tmp_path):
    kid = child()
    first = make_contact(received_at=at(days=400), children=[kid], concerns={"factors": ["16A"]})
    now = make_contact(received_at=NOW.isoformat(), children=[kid], concerns={"factors": ["16A"]})
    rules = RULES.model_copy(update={"recurring": RULES.recurring.model_copy(update={"lookback_months": 24})})
    with session(store_url) as s:
        save_contact(s, first)
        save_contact(s, now)
        assert check(s, now).recurring == []
        [p] = check(s, now, rules).recurring
    assert p.summary == "2nd neglect contact in 24 months"


def test_a_probable_name_and_date_of_birth_match_counts(store_url):
    kid = child()
    first = make_contact(received_at=at(days=30), children=[{"first_name": "Amy", "last_name": kid["last_name"].upper(),
                                                            "date_of_birth": "2018-03-02"}], concerns={"factors": ["3C"]})
    now = make_contact(received_at=NOW.isoformat(), children=[kid | {"nhs_number": nhs_number()}], concerns={"factors": ["3B"]})
    with session(store_url) as s:
        save_contact(s, first)
        save_contact(s, now)
        result = check(s, now)
    [m] = result.matches
    assert (m.matched_on, m.confidence) == ("name + date of birth", "probable")
    assert [p.summary for p in result.recurring] == ["2nd domestic abuse contact in 12 months"]


def test_a_siblings_earlier_contact_is_not_this_childs_history(store_url):
    family = f"Jones{letters()}"
    amy = {"first_name": "Amy", "last_name": family, "date_of_birth": "2018-03-02", "postcode": "GU1 4AA"}
    ben = {"first_name": "Ben", "last_name": family, "date_of_birth": "2015-07-09", "postcode": "GU1 4AA"}
    bens = make_contact(received_at=at(days=60), children=[ben], concerns={"factors": ["3B"]})
    now = make_contact(received_at=NOW.isoformat(), children=[amy], concerns={"factors": ["3B"]})
    with session(store_url) as s:
        save_contact(s, bens)
        save_contact(s, now)
        result = check(s, now)
    assert result.matches == [] and result.recurring == []
    # an earlier contact naming both children is Amy's history (through Amy, not Ben)
    both = make_contact(received_at=at(days=30), children=[ben, amy], concerns={"factors": ["3C"]})
    with session(store_url) as s:
        save_contact(s, both)
        amy_only = check(s, now)
    # and a contact naming both children counts each child's own history
    family_now = make_contact(received_at=(NOW + timedelta(minutes=1)).isoformat(), children=[amy, ben], concerns={"factors": ["3A"]})
    with session(store_url) as s:
        save_contact(s, family_now)
        family = check(s, family_now)
    assert [(m.earlier_contact_id, m.child_index) for m in amy_only.matches] == [(both.id, 0)]
    assert [p.summary for p in amy_only.recurring] == ["2nd domestic abuse contact in 12 months"]
    assert sorted((m.earlier_contact_id, m.child_index) for m in family.matches) == sorted(
        [(bens.id, 1), (both.id, 0), (both.id, 1), (now.id, 0)]
    )
    [p] = family.recurring
    assert p.contact_ids == [bens.id, both.id, now.id] and p.child_indexes == [0, 1]
    assert p.summary == "4th domestic abuse contact in 12 months"


def test_a_record_imported_from_a_legacy_system_counts(store_url):
    kid = child(nhs_number=nhs_number())
    legacy = make_contact(received_at=at(days=120), source="2A", children=[{"nhs_number": kid["nhs_number"]}],
                          concerns={"factors": ["16A"]})
    now = make_contact(received_at=NOW.isoformat(), children=[kid], concerns={"factors": ["16A", "4B"]})
    with session(store_url) as s:
        save_contact(s, legacy, kind="prior")
        save_contact(s, now)
        result = check(s, now)
    [m] = result.matches
    assert (m.kind, m.matched_on) == ("prior", "nhs_number")
    assert [p.summary for p in result.recurring] == ["2nd neglect contact in 12 months"]


def test_an_unborn_child_is_matched_on_identifiers_only(store_url):
    family = f"Ward{letters()}"
    local = f"CH-{uuid.uuid4().hex[:8]}"
    earlier = make_contact(received_at=at(days=60), children=[{"last_name": family, "local_id": local,
                                                               "expected_due_date": "2027-03-01"}],
                           concerns={"factors": ["2B"]})
    now = make_contact(received_at=NOW.isoformat(), children=[{"last_name": family, "expected_due_date": "2027-03-01"},
                                                              {"local_id": local, "expected_due_date": "2027-03-01"}],
                       concerns={"factors": ["2B"]})
    with session(store_url) as s:
        save_contact(s, earlier)
        save_contact(s, now)
        result = check(s, now)
    assert [(m.child_index, m.matched_on) for m in result.matches] == [(1, "local_id")]
    assert [p.summary for p in result.recurring] == ["2nd parental substance misuse contact in 12 months"]


def test_an_early_help_review_counts_back_from_the_requests_receipt(store_url):
    """review_early_help_history: this request's factors and receipt (given, or read from
    the case record for a review recorded before HistoryReview carried it)."""
    from activities.early_help import EarlyHelpActivities
    from models.early_help import HistoryReview

    rules_path = Path(__file__).resolve().parent.parent / "config" / "threshold_rules.json"
    activities = EarlyHelpActivities(Deps(store_url, Path("templates"), rules_path, StoredOutbox(store_url)))
    kid = child()
    first = make_contact(received_at=at(days=300), children=[kid], concerns={"factors": ["4B"]})
    request = make_contact(received_at=NOW.isoformat(), source="5D", children=[kid], concerns={"factors": ["4B"]})
    with session(store_url) as s:
        save_contact(s, first)
        save_contact(s, request, kind="early_help")
    review = HistoryReview(subject_id=request.id, children=request.children, factors=request.concerns.factors)
    [p] = activities.review_early_help_history(review).recurring  # receipt read from the case record
    assert p.summary == "2nd parental mental health contact in 12 months"
    later = review.model_copy(update={"received_at": NOW + timedelta(days=100)})  # 400 days after the first
    assert activities.review_early_help_history(later).recurring == []


def test_the_largest_contact_is_checked_in_a_bounded_number_of_queries(store_url):
    """MAX_CHILDREN children, each in many earlier contacts that themselves name MAX_CHILDREN
    children: one query for the whole contact, and every match found (timing: bench/history.py)."""
    family = f"Big{letters()}"
    kids = [{"first_name": f"Kid{letters(4)}", "last_name": family, "date_of_birth": f"20{10 + i % 10:02d}-0{1 + i % 9}-1{i % 9}",
             "nhs_number": nhs_number()} for i in range(MAX_CHILDREN)]
    earlier_count = 40
    earlier = [
        make_contact(received_at=at(days=5 * (n + 1)), children=[k if n % 2 else {k2: v for k2, v in k.items() if k2 != "nhs_number"}
                                                               for k in kids], concerns={"factors": ["3B"] if n % 4 == 0 else ["4B"]})
        for n in range(earlier_count)
    ]
    now = make_contact(received_at=NOW.isoformat(), children=kids, concerns={"factors": ["3B", "16A"]})
    with session(store_url) as s:
        for c in [*earlier, now]:
            save_contact(s, c)
    statements: list[str] = []
    engine = get_engine(store_url)

    def count(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        with session(store_url) as s:
            result = check(s, now)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    selects = [st for st in statements if st.lstrip().upper().startswith("SELECT")]
    assert len(selects) <= 2, selects
    assert result.earlier_contacts == earlier_count
    shown = {(m.earlier_contact_id, m.child_index) for m in result.matches}
    assert len(shown) + result.matches_not_shown == earlier_count * MAX_CHILDREN
    assert len(result.matches) <= MAX_HISTORY_MATCHES
    assert {m.matched_on for m in result.matches} == {"nhs_number", "name + date of birth"}
    # the most recent are shown
    newest = sorted(earlier, key=lambda c: c.received_at)[-1]
    assert {(newest.id, i) for i in range(MAX_CHILDREN)} <= shown
    [p] = [p for p in result.recurring if p.theme == "domestic_abuse"]
    in_window = [c for c in earlier if "3B" in c.concerns.factors and c.received_at >= NOW - timedelta(days=365)]
    assert p.occurrences == len(in_window) + 1 and p.child_indexes == list(range(MAX_CHILDREN))


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


def test_a_persons_action_writes_its_record_document_and_line_together_or_not_at_all(store_url):
    """record_step is one transaction: a step whose document cannot be rendered leaves the
    case record as it was (no half-taken action), and the retry writes each part once."""
    c = make_contact()
    with session(store_url) as s:
        save_contact(s, c)
    deps = Deps(store_url, Path("templates"), Path("config/threshold_rules.json"), StoredOutbox(store_url))
    activities = ContactActivities(deps)
    step = ContactStep(
        entry=_entry(c.id, f"{c.id}/triage"),
        case=CaseUpdate(contact_id=c.id, stage="awaiting_recommendation", level=3, route="spa"),
        document=DocumentRequest(document_id=f"{c.id}/note", subject_id=c.id, kind="no_such_document", title="A note"),
    )
    with pytest.raises(TemplateNotFound):
        activities.record_step(step)
    with session(store_url) as s:
        record = s.get(ContactRecord, c.id)
        assert record is not None and record.route is None and record.level is None
        assert action_trail(s, c.id) == []
    dispatch = {"agency": "police", "contact_id": c.id, "workflow_id": f"contact-{c.id}", "chase": False, "questions": None,
                "due_at": datetime.now(UTC).isoformat(), "requested_at": datetime.now(UTC).isoformat()}
    mended = step.model_copy(update={"document": step.document.model_copy(
        update={"kind": "map_request", "context": {"dispatch": dispatch, "agency_name": "Police"}})})
    for _ in range(2):  # a retry after a lost answer writes nothing twice
        assert activities.record_step(mended) == f"{c.id}/note"
    with session(store_url) as s:
        record = s.get(ContactRecord, c.id)
        assert record is not None and (record.route, record.level) == ("spa", 3)
        assert len(action_trail(s, c.id)) == 1
        assert len(s.exec(select(DocumentRecord).where(DocumentRecord.subject_id == c.id)).all()) == 1


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

    import models.consultation  # noqa: F401  (registers the tables)
    import models.early_help  # noqa: F401
    from models.tables import UTCDateTime

    columns = [(t.name, c.name, c.type) for t in SQLModel.metadata.sorted_tables for c in t.columns]
    times = [(t, c) for t, c, kind in columns if isinstance(kind, UTCDateTime)]
    assert ("contacts", "received_at") in times and ("consultations", "called_at") in times
    from sqlalchemy import DateTime

    plain = [(t, c) for t, c, kind in columns if isinstance(kind, DateTime)]
    assert plain == [], f"time columns without UTCDateTime: {plain}"


def test_a_case_record_from_an_earlier_version_gains_the_new_columns(tmp_path):
    """init_db adds the columns a later version defines to tables an earlier one made."""
    import sqlite3

    path = tmp_path / "old.db"
    with sqlite3.connect(path) as old:
        old.execute("CREATE TABLE documents (id VARCHAR PRIMARY KEY, subject_id VARCHAR, kind VARCHAR, title VARCHAR,"
                    " content TEXT, created_at DATETIME)")
        old.execute("INSERT INTO documents VALUES ('d1', 'C-1', 'decision_record', 'Decision', 'x', '2026-01-01')")
    init_db(f"sqlite:///{path}")
    with sqlite3.connect(path) as now:
        columns = [row[1] for row in now.execute("PRAGMA table_info(documents)")]
        kept = now.execute("SELECT id, process FROM documents").fetchall()
    assert "process" in columns and kept == [("d1", None)]
