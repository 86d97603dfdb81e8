"""Bad input from outside, at the model level: every limit in models/bounds.py holds.

Shape rules (lengths, counts, characters, unknown fields, the calendar's range) are pydantic
constraints and hold wherever a model is decoded; rules against the clock are in
`plausibility_errors(item, now)`, which the interface calls before starting a workflow.
"""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from models import bounds
from models.actions import (
    ConsentOverride,
    ConsentUpdate,
    Extension,
    ManagementDecision,
    MapRequest,
    MapResponse,
    Pickup,
    ProceedWithoutAgency,
    Recommendation,
    RetryFault,
    Review,
    Triage,
)
from models.bounds import FieldError, plausibility_errors
from models.consultation import Consultation, FollowUpCall
from models.contact import Contact
from models.early_help import (
    Conversation,
    Directions,
    EarlyHelpConsent,
    EarlyHelpDecision,
    EarlyHelpRecommendation,
    FinishGathering,
    StepUp,
    ThresholdConsultation,
)

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
ACTOR = {"username": "tom", "role": "team_manager"}

CONTACT: dict[str, Any] = {
    "id": "C-2026-000123",
    "received_at": "2026-11-26T09:14:00Z",
    "source": "6",
    "referrer": {"name": "PC Jane Smith", "agency": "Surrey Police", "role": "Officer in case",
                 "phone": "01234 567890", "email": "jane.smith@police.example"},
    "children": [{"local_id": "CH-100045", "nhs_number": "9434765919", "first_name": "Amy",
                  "last_name": "Jones", "date_of_birth": "2018-03-02", "sex": "F",
                  "ethnicity": "WBRI", "postcode": "GU1 4AA"}],
    "concerns": {"factors": ["3B", "16A"], "summary": "Police attended a domestic incident ..."},
    "consent": {"status": "not_sought", "note": "Mother not asked at scene"},
    "police_attendance_at": "2026-11-22T23:30:00Z",
    "consultation_ref": "CONS-1",
}

# Every model that takes input from outside, with a valid example of it.
SAMPLES: list[tuple[type[BaseModel], dict[str, Any]]] = [
    (Contact, CONTACT),
    (Consultation, {
        "id": "CONS-2026-0042", "called_at": "2026-11-26T09:00:00Z",
        "caller": {"name": "Ms K Patel", "agency": "Stoke Primary", "role": "DSL", "phone": "0123", "email": "k@s.example"},
        "children": [{"first_name": "Amy", "last_name": "Jones", "date_of_birth": "2018-03-02"}],
        "concern": "Arrives hungry", "factors": ["16A"], "advice": "Refer to early help", "outcome": "referral_invited",
    }),
    (FollowUpCall, {"actor": ACTOR, "outcome": "referral_made", "note": "Rang back", "contact_id": "C-1"}),
    (Triage, {"actor": ACTOR, "level": 3, "route": "spa", "rationale": "Needs SPA",
              "threshold_advice": {"given_by": "sam", "advice": "SPA", "reasons": "recurring"},
              "departure_reason": "Family asks", "history_considered": True}),
    (Review, {"actor": ACTOR, "rag": "red", "note": "Seen"}),
    (Pickup, {"actor": ACTOR, "note": "Taken"}),
    (ConsentUpdate, {"actor": ACTOR, "status": "given", "note": "Mother agreed"}),
    (ConsentOverride, {"actor": ACTOR, "reason": "seeking_consent_increases_risk", "explanation": "Risk to Amy"}),
    (MapRequest, {"actor": ACTOR, "agencies": ["police", "gp"], "questions": "Any call-outs?"}),
    (MapResponse, {"actor": ACTOR, "agency": "police", "information": "Two call-outs"}),
    (ProceedWithoutAgency, {"actor": ACTOR, "agency": "gp", "reason": "Surgery closed"}),
    (Recommendation, {"actor": ACTOR, "summary": "Third incident with Amy present",
                      "recommended_outcome": "targeted_early_help", "quadrant": "north_west"}),
    (ManagementDecision, {"actor": ACTOR, "outcome": "targeted_early_help", "rationale": "Support",
                          "quadrant": "north_west"}),
    (Extension, {"actor": ACTOR, "reason": "other", "new_deadline": "2026-11-27T17:00:00Z", "explanation": "GP answer"}),
    (RetryFault, {"actor": ACTOR, "note": "fixed"}),
    (Directions, {"actor": ACTOR, "directions": "Speak to school", "adviser": "erin"}),
    (EarlyHelpConsent, {"actor": ACTOR, "status": "refused", "note": "Declined", "advice": "Children's centre"}),
    (Conversation, {"actor": ACTOR, "with_whom": "agency", "name": "Ms Patel", "agency": "school", "summary": "Hungry"}),
    (ThresholdConsultation, {"actor": ACTOR, "consulted": "sana", "consulted_role": "senior_adviser", "advice": "Stay"}),
    (FinishGathering, {"actor": ACTOR, "note": "Done"}),
    (EarlyHelpRecommendation, {"actor": ACTOR, "summary": "Family support", "recommended_outcome": "targeted_early_help",
                               "quadrant": "north_west", "history_considered": True}),
    (EarlyHelpDecision, {"actor": ACTOR, "outcome": "targeted_early_help", "rationale": "Support", "quadrant": "north_west"}),
    (StepUp, {"actor": ACTOR, "reason": "Risk rising", "level": 4}),
]
IDS = [m.__name__ for m, _ in SAMPLES]


def leaves(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[tuple[Any, ...], Any]]:
    """Every (path, value) of a JSON-like sample, leaves and inner nodes; the actor is the server's."""
    out: list[tuple[tuple[Any, ...], Any]] = [(path, value)]
    if isinstance(value, dict):
        for k, v in value.items():
            if k != "actor":
                out += leaves(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += leaves(v, (*path, i))
    return out


def put(sample: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    data = copy.deepcopy(sample)
    node: Any = data
    for p in path[:-1]:
        node = node[p]
    node[path[-1]] = value
    return data


def locs(exc: ValidationError) -> set[tuple[Any, ...]]:
    return {tuple(e["loc"]) for e in exc.errors()}


@pytest.mark.parametrize("model,sample", SAMPLES, ids=IDS)
def test_the_samples_are_valid(model, sample):
    model.model_validate(sample)


@pytest.mark.parametrize("model,sample", SAMPLES, ids=IDS)
def test_a_lone_surrogate_is_refused_in_every_string_field_naming_it(model, sample):
    strings = [p for p, v in leaves(sample) if isinstance(v, str)]
    assert strings
    for path in strings:
        with pytest.raises(ValidationError) as exc:
            model.model_validate(put(sample, path, "Uni\ud800"))
        assert path in locs(exc.value), (path, exc.value)


def test_the_surrogate_message_says_what_to_do():
    with pytest.raises(ValidationError, match="unpaired surrogate .* send the text as UTF-8"):
        Contact.model_validate(put(CONTACT, ("children", 0, "last_name"), "Uni\ud800"))
    with pytest.raises(ValidationError, match="control character U\\+0000"):
        Contact.model_validate(put(CONTACT, ("concerns", "summary"), "a\x00b"))
    # tabs and new lines are text
    Contact.model_validate(put(CONTACT, ("concerns", "summary"), "line one\n\tline two\r\n"))


@pytest.mark.parametrize("model,sample", SAMPLES, ids=IDS)
def test_no_string_field_takes_an_unbounded_length(model, sample):
    too_long = "x" * (bounds.SUMMARY_MAX + 1)
    for path in [p for p, v in leaves(sample) if isinstance(v, str)]:
        with pytest.raises(ValidationError) as exc:
            model.model_validate(put(sample, path, too_long))
        assert path in locs(exc.value), path


@pytest.mark.parametrize("model,sample", SAMPLES, ids=IDS)
def test_unknown_fields_are_refused_at_every_level_naming_them(model, sample):
    objects = [p for p, v in leaves(sample) if isinstance(v, dict)]
    for path in objects:
        node: Any = sample
        for p in path:
            node = node[p]
        with pytest.raises(ValidationError) as exc:
            model.model_validate(put(sample, path, node | {"nested": {"deep": [1, 2, 3]}}) if path else sample | {"nested": 1})
        assert (*path, "nested") in locs(exc.value), path


def test_the_issues_reproductions_of_size_and_shape_are_refused_naming_the_field():
    deep: dict[str, Any] = {}
    node = deep
    for _ in range(300):
        node["a"] = {}
        node = node["a"]
    for path in [(), ("children", 0), ("referrer",)]:
        target = copy.deepcopy(CONTACT)
        holder: Any = target
        for p in path:
            holder = holder[p]
        holder["nested"] = deep
        with pytest.raises(ValidationError) as exc:
            Contact.model_validate(target)
        assert [(tuple(e["loc"]), e["type"]) for e in exc.value.errors()] == [((*path, "nested"), "extra_forbidden")]
    kid = CONTACT["children"][0]
    with pytest.raises(ValidationError) as exc:
        Contact.model_validate(CONTACT | {"children": [kid] * 5000})
    assert locs(exc.value) == {("children",)}  # refused before 5,000 children are validated
    with pytest.raises(ValidationError) as exc:
        Contact.model_validate(put(CONTACT, ("concerns", "summary"), "x" * 3_000_000))
    assert locs(exc.value) == {("concerns", "summary")}
    with pytest.raises(ValidationError) as exc:
        Extension.model_validate({"actor": ACTOR, "reason": "other", "new_deadline": "2026-11-27T17:00:00Z",
                                  "explanation": "x" * 1_500_000})
    assert locs(exc.value) == {("explanation",)}


def _walk_schema(schema: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    defs = schema.get("$defs", {})
    seen: list[tuple[str, dict[str, Any]]] = []

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            if "$ref" in node:
                name = node["$ref"].rsplit("/", 1)[-1]
                if name not in {n for n, _ in seen if n.startswith("$")}:
                    seen.append(("$" + name, {}))
                    walk(defs[name], name)
                return
            if node.get("type") in ("string", "array"):
                seen.append((where, node))
            for k, v in node.items():
                if k in ("properties",):
                    for prop, sub in v.items():
                        walk(sub, f"{where}.{prop}")
                elif k in ("items", "anyOf", "allOf", "oneOf", "additionalProperties"):
                    walk(v, where)
        elif isinstance(node, list):
            for item in node:
                walk(item, where)

    walk(schema, schema.get("title", "?"))
    return [s for s in seen if not s[0].startswith("$")]


@pytest.mark.parametrize("model,sample", SAMPLES, ids=IDS)
def test_the_schema_documents_every_bound(model, sample):
    """Every string has a maxLength (or is a code list or a date); every list a maxItems;
    no object takes unknown properties."""
    schema = model.model_json_schema()
    for where, node in _walk_schema(schema):
        if "Actor" in where:
            continue
        if node["type"] == "string":
            assert "maxLength" in node or "enum" in node or "format" in node or "const" in node, where
        else:
            assert "maxItems" in node, where
    for name, sub in [("", schema), *schema.get("$defs", {}).items()]:
        if sub.get("type") == "object" and name != "Actor":
            assert sub.get("additionalProperties") is False, name or model.__name__


# -- counts ---------------------------------------------------------------------------------
def test_a_contact_names_at_most_max_children():
    kids = [{"first_name": f"Kid{i}", "last_name": "Large", "date_of_birth": "2015-01-01"} for i in range(bounds.MAX_CHILDREN)]
    Contact.model_validate(CONTACT | {"children": kids})
    with pytest.raises(ValidationError, match=f"at most {bounds.MAX_CHILDREN}") as exc:
        Contact.model_validate(CONTACT | {"children": [*kids, kids[0]]})
    assert ("children",) in locs(exc.value)
    schema = Contact.model_json_schema()
    assert schema["properties"]["children"]["maxItems"] == bounds.MAX_CHILDREN


def test_lists_of_factors_and_agencies_are_bounded():
    with pytest.raises(ValidationError) as exc:
        Contact.model_validate(put(CONTACT, ("concerns", "factors"), ["16A"] * (bounds.MAX_FACTORS + 1)))
    assert ("concerns", "factors") in locs(exc.value)
    with pytest.raises(ValidationError) as exc:
        MapRequest.model_validate({"actor": ACTOR, "agencies": ["police"] * (bounds.MAX_AGENCIES + 1)})
    assert ("agencies",) in locs(exc.value)


# -- the calendar's absolute range (shape: holds on decode too) --------------------------------
@pytest.mark.parametrize("when", ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "1899-12-31T23:59:59Z"])
def test_received_at_outside_the_calendar_is_refused(when):
    with pytest.raises(ValidationError, match="outside 1900-2199") as exc:
        Contact.model_validate(CONTACT | {"received_at": when, "police_attendance_at": None, "source": "2A"})
    assert ("received_at",) in locs(exc.value)


def test_an_extension_to_the_end_of_time_is_refused():
    with pytest.raises(ValidationError, match="outside 1900-2199") as exc:
        Extension.model_validate({"actor": ACTOR, "reason": "agency_unavailable", "new_deadline": "9999-12-31T23:59:59-23:59"})
    assert ("new_deadline",) in locs(exc.value)


def test_a_date_of_birth_outside_the_calendar_is_refused():
    with pytest.raises(ValidationError) as exc:
        Contact.model_validate(put(CONTACT, ("children", 0, "date_of_birth"), "0001-01-01"))
    assert ("children", 0, "date_of_birth") in locs(exc.value)


# -- rules across fields name the field -------------------------------------------------------
def test_police_rules_name_police_attendance_at():
    with pytest.raises(ValidationError, match="required when the source is 6") as exc:
        Contact.model_validate(CONTACT | {"police_attendance_at": None})
    assert locs(exc.value) == {("police_attendance_at",)}
    with pytest.raises(ValidationError, match="only for police") as exc:
        Contact.model_validate(CONTACT | {"source": "2A"})
    assert locs(exc.value) == {("police_attendance_at",)}
    with pytest.raises(ValidationError, match="after received_at") as exc:
        Contact.model_validate(CONTACT | {"police_attendance_at": "2026-11-26T10:00:00Z"})
    assert locs(exc.value) == {("police_attendance_at",)}


def test_action_rules_name_their_field():
    with pytest.raises(ValidationError) as exc:
        Extension.model_validate({"actor": ACTOR, "reason": "other", "new_deadline": "2026-11-27T17:00:00Z"})
    assert locs(exc.value) == {("explanation",)}
    with pytest.raises(ValidationError) as exc:
        ManagementDecision.model_validate({"actor": ACTOR, "outcome": "targeted_early_help", "rationale": "Support"})
    assert locs(exc.value) == {("quadrant",)}
    with pytest.raises(ValidationError) as exc:
        ConsentUpdate.model_validate({"actor": ACTOR, "status": "overridden"})
    assert locs(exc.value) == {("status",)}
    with pytest.raises(ValidationError) as exc:
        EarlyHelpConsent.model_validate({"actor": ACTOR, "status": "refused"})
    assert locs(exc.value) == {("advice",)}
    with pytest.raises(ValidationError) as exc:
        Conversation.model_validate({"actor": ACTOR, "with_whom": "agency", "name": "X", "summary": "Hungry"})
    assert locs(exc.value) == {("agency",)}
    with pytest.raises(ValidationError) as exc:
        ThresholdConsultation.model_validate({"actor": ACTOR, "consulted": "x", "consulted_role": "rfs_officer", "advice": "abc"})
    assert locs(exc.value) == {("consulted_role",)}


# -- an unborn child ----------------------------------------------------------------------------
def test_an_unborn_child_has_an_expected_due_date_instead_of_a_date_of_birth():
    unborn = {"last_name": "Ward", "expected_due_date": "2027-03-01"}
    c = Contact.model_validate(CONTACT | {"children": [unborn]})
    assert c.children[0].expected_due_date == date(2027, 3, 1)
    assert c.children[0].date_of_birth is None
    assert c.children[0].unborn
    with pytest.raises(ValidationError, match="not both") as exc:
        Contact.model_validate(CONTACT | {"children": [unborn | {"date_of_birth": "2018-03-02"}]})
    assert locs(exc.value) == {("children", 0, "expected_due_date")}
    assert "expected_due_date" in Contact.model_json_schema()["$defs"]["Child"]["properties"]


def test_an_unnamed_unborn_child_shows_as_unborn():
    c = Contact.model_validate(CONTACT | {"children": [{"local_id": "U-1", "expected_due_date": "2027-03-01"}]})
    assert "unborn" in c.children[0].display_name


# -- plausibility against the clock ---------------------------------------------------------------
def contact(**changes: Any) -> Contact:
    return Contact.model_validate(CONTACT | changes)


def paths(errors: list[FieldError]) -> list[str]:
    return [e.path for e in errors]


def test_a_plausible_contact_has_no_errors():
    assert plausibility_errors(contact(), NOW) == []


def test_received_in_the_future_beyond_the_clock_skew_is_implausible():
    just_ahead = NOW + bounds.CLOCK_SKEW
    assert plausibility_errors(contact(received_at=just_ahead.isoformat()), NOW) == []
    errors = plausibility_errors(contact(received_at=(just_ahead + timedelta(seconds=1)).isoformat()), NOW)
    assert paths(errors) == ["received_at"]
    assert "in the future" in errors[0].message
    # 2099 is shape-valid (it decodes, so a stored history replays) but implausible
    assert paths(plausibility_errors(contact(received_at="2099-01-01T00:00:00Z"), NOW)) == ["received_at"]


def test_received_absurdly_long_ago_is_implausible():
    old = NOW - bounds.RECEIPT_MAX_AGE - timedelta(seconds=1)
    errors = plausibility_errors(contact(received_at=old.isoformat(), police_attendance_at=(old - timedelta(hours=1)).isoformat()), NOW)
    assert paths(errors) == ["received_at"]
    assert "history import" in errors[0].message


def test_police_attendance_long_before_receipt_is_implausible():
    attended = datetime(2026, 11, 26, 9, 14, tzinfo=UTC) - bounds.POLICE_ATTENDANCE_MAX_BEFORE_RECEIPT - timedelta(minutes=1)
    assert paths(plausibility_errors(contact(police_attendance_at=attended.isoformat()), NOW)) == ["police_attendance_at"]


def test_a_date_of_birth_in_the_future_is_implausible():
    errors = plausibility_errors(contact(children=[CONTACT["children"][0] | {"date_of_birth": "2027-01-01"}]), NOW)
    assert paths(errors) == ["children.0.date_of_birth"]
    assert "expected_due_date" in errors[0].message
    # a child born today (anywhere on Earth) is not in the future
    assert plausibility_errors(contact(children=[{"first_name": "New", "date_of_birth": "2026-11-27"}]), NOW) == []


def test_a_child_is_under_25_at_receipt():
    ok = {"first_name": "Care", "last_name": "Leaver", "date_of_birth": "2001-11-27"}  # 24 on 26/11/2026
    assert plausibility_errors(contact(children=[ok]), NOW) == []
    too_old = ok | {"date_of_birth": "2001-11-26"}  # 25 that day
    assert paths(plausibility_errors(contact(children=[ok, too_old]), NOW)) == ["children.1.date_of_birth"]


def test_an_unborn_childs_due_date_is_within_ten_months():
    def due(day: str) -> list[str]:
        return paths(plausibility_errors(contact(children=[{"last_name": "Ward", "expected_due_date": day}]), NOW))

    assert due("2027-09-26") == []  # ten months after 26/11/2026
    assert due("2027-09-27") == ["children.0.expected_due_date"]
    assert due("2026-11-12") == []  # two weeks overdue
    assert due("2026-11-11") == ["children.0.expected_due_date"]


def test_every_problem_is_reported_at_once():
    kids = [{"first_name": "A", "date_of_birth": "2030-01-01"}, {"last_name": "B", "expected_due_date": "2029-01-01"}]
    errors = plausibility_errors(contact(received_at="2030-01-01T00:00:00Z", police_attendance_at="2029-12-31T00:00:00Z",
                                         children=kids), NOW)
    assert set(paths(errors)) == {"received_at", "children.0.date_of_birth", "children.1.expected_due_date"}


def test_a_consultation_is_checked_the_same_way():
    sample = dict(SAMPLES[1][1])
    cons = Consultation.model_validate(sample | {"called_at": "2027-01-01T00:00:00Z",
                                                 "children": [{"first_name": "A", "date_of_birth": "2027-01-01"}]})
    assert paths(plausibility_errors(cons, NOW)) == ["called_at", "children.0.date_of_birth"]


def test_plausibility_needs_an_aware_now():
    with pytest.raises(ValueError, match="aware"):
        plausibility_errors(contact(), datetime(2026, 11, 26))


def test_an_extension_moves_the_deadline_forward_by_at_most_the_span():
    due = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
    assert bounds.extension_errors(due + bounds.EXTENSION_MAX_SPAN, due, NOW) == []
    assert paths(bounds.extension_errors(due + bounds.EXTENSION_MAX_SPAN + timedelta(seconds=1), due, NOW)) == ["new_deadline"]
    assert "does not move" in bounds.extension_errors(due, due, NOW)[0].message
    assert "already passed" in bounds.extension_errors(NOW - timedelta(hours=1), NOW - timedelta(hours=2), NOW)[0].message
    assert bounds.extension_errors(due + timedelta(days=20), due, NOW, max_span=timedelta(days=21)) == []


def test_within_durations_are_bounded():
    assert bounds.duration_errors("within", timedelta(hours=4)) == []
    assert paths(bounds.duration_errors("within", timedelta(hours=99999999))) == ["within"]
    assert paths(bounds.duration_errors("within", timedelta(0))) == ["within"]
    assert "between 1 minute and 31 days" in bounds.duration_errors("within", timedelta(days=40))[0].message


def test_calendar_arithmetic_at_month_ends():
    assert bounds.months_after(date(2026, 3, 31), -1) == date(2026, 2, 28)
    assert bounds.months_after(date(2024, 2, 29), 12) == date(2025, 2, 28)
    assert bounds.months_before(datetime(2026, 11, 26, 9, 14, tzinfo=UTC), 12) == datetime(2025, 11, 26, 9, 14, tzinfo=UTC)
    assert bounds.years_before(date(2028, 2, 29), 25) == date(2003, 2, 28)


def test_no_model_reads_the_clock():
    """Models are decoded again on replay: a rule there that reads the clock would refuse, one
    day, a history it accepted before. Checks against the clock take `now` as an argument."""
    import ast
    from pathlib import Path

    clock = {"now", "today", "utcnow", "time", "monotonic"}
    found = []
    for path in sorted((Path(__file__).resolve().parent.parent / "models").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in clock:
                found.append(f"{path.name}:{node.lineno}")
    assert found == []


def test_a_list_typed_in_one_box_is_split_and_each_item_given_once():
    """bounds.split_box and bounds.distinct, as the morning discussion, the missing episode's
    return interview and the audit meeting use them: one rule, each field's own message."""
    from models.audit import RecordMeeting
    from models.discussion import ThresholdUnclear
    from models.missing import split_codes
    from models.morning import split_names

    assert split_names("Sam; Sara\nTom;") == ["Sam", "Sara", "Tom"]
    assert split_codes(["10A, 11A 24A", 3]) == ["10A", "11A", "24A", 3]  # a non-string is left to the type
    assert split_codes(None) is None
    actor = {"username": "sam", "role": "social_worker"}
    with pytest.raises(ValidationError, match="a partner is named twice"):
        ThresholdUnclear.model_validate({"actor": actor, "question": "Which level?", "ask": ["police", "police"]})
    assert ThresholdUnclear.model_validate({"actor": actor, "question": "Which level?", "ask": ["police", "health"]}).ask
    with pytest.raises(ValidationError, match="name each learning theme once"):
        RecordMeeting.model_validate({"actor": actor, "learning_points": "Points agreed at length", "themes": ["child_voice", "child_voice"]})
