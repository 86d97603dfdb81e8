"""The intake contract, code lists, threshold rules and durations: pure logic, no servers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from frontdoor.config import ConfigError, format_duration, parse_duration
from models.calendar import WorkingCalendar
from models.codes import CIN_FACTORS, THEMES, LevelOfNeed
from models.contact import Contact
from models.state import HistoryMatch, RecurringPattern
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


# -- recurring patterns (the rule is data: config/threshold_rules.json "recurring") ---------------
RECEIVED = datetime(2026, 11, 26, 9, 14, tzinfo=UTC)


def earlier(cid: str, days: float, *themes: str, child: int = 0) -> HistoryMatch:
    return HistoryMatch(child_index=child, earlier_contact_id=cid, received_at=RECEIVED - timedelta(days=days),
                        matched_on="nhs_number", confidence="exact", themes=list(themes))


def test_the_rules_file_keeps_a_twelve_month_look_back():
    assert RULES.recurring.lookback_months == 12
    assert RULES.recurring.window_start(RECEIVED) == datetime(2025, 11, 26, 9, 14, tzinfo=UTC)


def test_a_theme_again_within_the_window_recurs_counting_this_contact():
    [p] = RULES.recurring.patterns([earlier("C-1", 30, "domestic_abuse")], ["domestic_abuse"], RECEIVED)
    assert (p.occurrences, p.contact_ids, p.includes_this_contact, p.summary) == (
        2, ["C-1"], True, "2nd domestic abuse contact in 12 months")
    assert RULES.recurring.patterns([earlier("C-1", 30, "domestic_abuse")], ["neglect"], RECEIVED) == []


def test_a_contact_matched_for_two_children_counts_once():
    ms = [earlier("C-1", 30, "neglect", child=0), earlier("C-1", 30, "neglect", child=1), earlier("C-2", 20, "neglect", child=1)]
    [p] = RULES.recurring.patterns(ms, [], RECEIVED)
    assert (p.occurrences, p.contact_ids, p.child_indexes, p.includes_this_contact) == (2, ["C-1", "C-2"], [0, 1], False)


def test_earlier_contacts_are_listed_oldest_first():
    ms = [earlier("C-9", 10, "neglect"), earlier("C-1", 200, "neglect"), earlier("C-5", 100, "neglect")]
    [p] = RULES.recurring.patterns(ms, ["neglect"], RECEIVED)
    assert p.contact_ids == ["C-1", "C-5", "C-9"] and p.summary == "4th neglect contact in 12 months"


def test_a_misspelt_recurring_setting_is_refused(tmp_path):
    bad = tmp_path / "rules.json"
    bad.write_text('{"recurring": {"lookback_month": 6}, "rules": [{"id": "n", "level": 3, "reason": "r", "any_factors": ["16A"]}]}')
    with pytest.raises(ValidationError, match="lookback_month"):
        ThresholdRules.load(bad)


def test_patterns_recorded_before_the_window_still_decode_and_read_as_before():
    old = RecurringPattern.model_validate({"theme": "domestic_abuse", "occurrences": 2, "contact_ids": ["C-1", "C-2"]})
    assert not old.includes_this_contact and old.window_months is None
    assert old.summary == "domestic abuse in 2 earlier contacts"


match_lists = st.lists(
    st.builds(
        earlier,
        st.sampled_from(["C-1", "C-2", "C-3", "C-4", "C-5"]),
        st.floats(min_value=-30, max_value=800, allow_nan=False),
        st.sampled_from(sorted(THEMES)),
        child=st.integers(0, 2),
    ),
    max_size=12,
)


@given(match_lists, theme_sets)
def test_a_pattern_counts_exactly_the_earlier_contacts_in_the_window(matches, themes_now):
    since = RULES.recurring.window_start(RECEIVED)
    for p in RULES.recurring.patterns(matches, themes_now, RECEIVED):
        counted = {m.earlier_contact_id for m in matches if p.theme in m.themes and since <= m.received_at <= RECEIVED}
        assert set(p.contact_ids) == counted
        assert p.includes_this_contact == (p.theme in themes_now)
        assert p.occurrences == len(counted) + p.includes_this_contact
        assert len(counted) >= (1 if p.includes_this_contact else 2)


@given(match_lists, theme_sets, st.sampled_from(sorted(THEMES)), st.floats(min_value=0, max_value=365))
def test_more_history_or_this_contacts_theme_never_removes_a_pattern(matches, themes_now, theme, days):
    before = {p.theme for p in RULES.recurring.patterns(matches, themes_now, RECEIVED)}
    more = RULES.recurring.patterns([*matches, earlier("C-new", days, theme)], themes_now, RECEIVED)
    assert before <= {p.theme for p in more}
    assert before <= {p.theme for p in RULES.recurring.patterns(matches, [*themes_now, theme], RECEIVED)}


def test_the_second_domestic_abuse_contact_raises_the_suggested_level():
    patterns = RULES.recurring.patterns([earlier("C-1", 60, "domestic_abuse")], ["domestic_abuse"], RECEIVED)
    first_time = RULES.suggest(["3B"], [], 0)
    second_time = RULES.suggest(["3B"], [p.theme for p in patterns], 1)
    assert (first_time.level, second_time.level) == (LevelOfNeed.TARGETED_EARLY_HELP, LevelOfNeed.SPECIALIST)
