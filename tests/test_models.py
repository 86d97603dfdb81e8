"""The intake contract, code lists, threshold rules and durations: pure logic, no servers."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from frontdoor.config import ConfigError, format_duration, parse_duration
from models.calendar import WorkingCalendar
from models.codes import CIN_FACTORS, THEMES, LevelOfNeed
from models.contact import Contact
from models.thresholds import ThresholdRules
from tests.conftest import make_contact

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
RULES = ThresholdRules.load(Path(__file__).resolve().parent.parent / "config" / "threshold_rules.json")


def error_fields(exc: ValidationError) -> set[str]:
    return {".".join(str(p) for p in e["loc"]) for e in exc.errors()}


def test_the_spec_example_is_accepted_as_is():
    contact = Contact.model_validate_json((EXAMPLES / "police_domestic_abuse.json").read_text())
    assert contact.children[0].nhs_number == "9434765919"
    assert contact.received_at - contact.police_attendance_at == timedelta(hours=81, minutes=44)


@pytest.mark.parametrize("name", ["police_domestic_abuse", "school_neglect", "anonymous_public"])
def test_examples_are_valid_contacts(name):
    Contact.model_validate_json((EXAMPLES / f"{name}.json").read_text())


def test_police_contact_needs_attendance_time_and_others_refuse_it():
    with pytest.raises(ValidationError, match="police_attendance_at is required"):
        make_contact(source="6")
    with pytest.raises(ValidationError, match="only for police"):
        make_contact(source="2A", police_attendance_at="2026-11-20T10:00:00Z")


def test_errors_name_the_field_and_the_problem():
    with pytest.raises(ValidationError) as exc:
        Contact.model_validate(
            {"id": "bad id!", "received_at": "2026-11-26T09:00:00", "source": "99", "referrer": {}, "children": []}
        )
    fields = error_fields(exc.value)
    assert {"id", "received_at", "source", "children"} <= fields
    text = str(exc.value)
    assert "unknown CIN source code '99'" in text
    assert "give a time zone" in text


def test_a_child_needs_a_name_or_an_identifier():
    with pytest.raises(ValidationError, match="name or an identifier"):
        make_contact(children=[{"sex": "F"}])


def test_nhs_number_check_digit_is_verified():
    make_contact(children=[{"nhs_number": "943 476 5919"}])
    with pytest.raises(ValidationError, match="check digit"):
        make_contact(children=[{"nhs_number": "9434765918"}])


def test_unknown_factor_codes_are_refused():
    with pytest.raises(ValidationError, match="unknown CIN factor"):
        make_contact(concerns={"factors": ["3B", "99Z"], "summary": ""})


def test_only_the_required_fields_are_required():
    Contact.model_validate(
        {"id": "C-1", "received_at": "2026-11-26T09:14:00Z", "source": "9", "referrer": {}, "children": [{"local_id": "CH-1"}]}
    )


# -- threshold rules ---------------------------------------------------------------
def test_recurring_domestic_abuse_suggests_specialist_level():
    s = RULES.suggest(["3B"], ["domestic_abuse"], 2)
    assert s.level == LevelOfNeed.SPECIALIST
    assert "recurring-domestic-abuse" in s.rule_ids


def test_single_neglect_concern_suggests_targeted_early_help():
    assert RULES.suggest(["16A"], [], 0).level == LevelOfNeed.TARGETED_EARLY_HELP


def test_no_factors_suggests_universal_and_unknown_falls_back_to_default():
    # found by the property below: "21" alone is below the default, and that is intended
    assert RULES.suggest(["21"], [], 0).level == LevelOfNeed.UNIVERSAL
    assert RULES.suggest([], [], 0).level == RULES.default_level


def test_a_rule_without_a_condition_is_refused(tmp_path):
    bad = tmp_path / "rules.json"
    bad.write_text('{"rules": [{"id": "x", "level": 4, "reason": "r"}]}')
    with pytest.raises(ValidationError, match="no condition"):
        ThresholdRules.load(bad)


factor_sets = st.lists(st.sampled_from(sorted(CIN_FACTORS)), max_size=6)
theme_sets = st.lists(st.sampled_from(sorted(THEMES)), max_size=3)


CONCERNS = sorted(set(CIN_FACTORS) - {"21"})  # 21 is "no factors identified", not a concern


@given(factor_sets, theme_sets, st.integers(0, 20), st.sampled_from(CONCERNS))
def test_more_concerns_never_lower_the_suggested_level(factors, themes, earlier, extra):
    before = RULES.suggest(factors, themes, earlier).level
    assert RULES.suggest([*factors, extra], themes, earlier).level >= before


@given(factor_sets, theme_sets, st.integers(0, 20))
def test_history_never_lowers_the_suggested_level(factors, themes, earlier):
    assert RULES.suggest(factors, themes, earlier + 1).level >= RULES.suggest(factors, themes, earlier).level
    assert RULES.suggest(factors, [*themes, "neglect"], earlier).level >= RULES.suggest(factors, themes, earlier).level


@given(factor_sets, theme_sets, st.integers(0, 20))
def test_every_suggestion_gives_reasons(factors, themes, earlier):
    s = RULES.suggest(factors, themes, earlier)
    assert s.reasons and 1 <= s.level <= 4


# -- durations and days ------------------------------------------------------------------
@pytest.mark.parametrize("text,seconds", [("24h", 86400), ("90m", 5400), ("5s", 5), ("2d", 172800), ("1.5h", 5400), ("30", 30)])
def test_durations_parse(text, seconds):
    assert parse_duration(text).total_seconds() == seconds


@pytest.mark.parametrize("text", ["", "soon", "-5m", "0s", "5 parsecs"])
def test_bad_durations_say_how_to_write_one(text):
    with pytest.raises(ConfigError, match="duration|longer than zero"):
        parse_duration(text)


@given(st.integers(min_value=1, max_value=10**7))
def test_format_then_parse_round_trips_to_the_minute(seconds):
    text = format_duration(timedelta(seconds=seconds))
    total = sum(parse_duration(part).total_seconds() for part in _parts(text))
    assert abs(total - seconds) < 60 or seconds < 60


def _parts(text: str) -> list[str]:
    out, cur = [], ""
    for ch in text:
        cur += ch
        if ch.isalpha():
            out.append(cur)
            cur = ""
    return out


def end_of_day(moment: datetime) -> datetime:
    calendar = WorkingCalendar("Europe/London")
    return calendar.end_of(calendar.local_date(moment))


def test_end_of_day_is_local_midnight_across_clock_changes():

    summer = end_of_day(datetime.fromisoformat("2026-07-01T22:30:00+00:00"))  # 23:30 BST
    assert summer.isoformat() == "2026-07-01T23:00:00+00:00"
    late = end_of_day(datetime.fromisoformat("2026-07-01T23:30:00+00:00"))  # 00:30 BST next day
    assert late.isoformat() == "2026-07-02T23:00:00+00:00"
    winter = end_of_day(datetime.fromisoformat("2026-11-26T09:14:00+00:00"))
    assert winter.isoformat() == "2026-11-27T00:00:00+00:00"


def test_edited_rules_apply_without_a_restart(tmp_path):
    import os

    path = tmp_path / "rules.json"
    path.write_text('{"rules": [{"id": "n", "level": 3, "reason": "neglect", "any_factors": ["16A"]}]}')
    assert ThresholdRules.current(path).suggest(["16A"], [], 0).level == 3
    assert ThresholdRules.current(path) is ThresholdRules.current(path)  # parsed once
    path.write_text('{"rules": [{"id": "n", "level": 4, "reason": "neglect", "any_factors": ["16A"]}]}')
    stamp = path.stat().st_mtime_ns + 1_000_000
    os.utime(path, ns=(stamp, stamp))
    assert ThresholdRules.current(path).suggest(["16A"], [], 0).level == 4
