"""The CLI is generated from the action tables: every action of every process is a verb
with its own name, and its options parse into that action's model."""

from __future__ import annotations

import pytest

from frontdoor import cli, fields
from models.roles import Actor, Role
from workflows.registry import PROCESSES


def test_every_action_of_every_process_is_a_verb_named_as_in_its_table() -> None:
    parser = cli.build_parser()
    commands = parser._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    for proc in PROCESSES:
        verbs = set(commands[proc.kind]._subparsers._group_actions[0].choices)  # type: ignore[union-attr]
        assert set(proc.actions.names()) <= verbs, proc.kind
        assert {"show", "list", "trail", "documents", "messages"} <= verbs
        if proc.start:
            assert proc.start.name in verbs


@pytest.mark.parametrize(("argv", "expected"), [
    (["contact", "triage", "C-1", "--as", "rita", "--level", "4", "--route", "spa", "--rationale", "Repeat DV",
      "--history-considered", "--threshold-advice-given-by", "sam", "--threshold-advice-advice", "SPA",
      "--threshold-advice-reasons", "third incident"],
     {"level": 4, "route": "spa", "history_considered": True,
      "threshold_advice": {"given_by": "sam", "advice": "SPA", "reasons": "third incident"}}),
    (["contact", "request_map_checks", "C-1", "--as", "sam", "--agencies", "police", "--agencies", "gp"],
     {"agencies": ["police", "gp"]}),
    (["contact", "record_map_response", "C-1", "--as", "sam", "--agency", "gp", "--information", "Not known",
      "--no-known-to-agency"], {"agency": "gp", "known_to_agency": False}),
    (["consultation", "record_follow_up", "CONS-1", "--as", "cara", "--outcome", "escalated", "--note", "Rang"],
     {"outcome": "escalated", "note": "Rang"}),
    (["early_help", "recommend", "EH-1", "--as", "erin", "--summary", "Concise summary", "--recommended-outcome",
      "targeted_early_help", "--quadrant", "north_east"], {"quadrant": "north_east"}),
    (["early_help", "step_up", "EH-1", "--as", "erin", "--reason", "Disclosure"], {"reason": "Disclosure"}),
])
def test_options_become_the_actions_model(argv: list[str], expected: dict[str, object]) -> None:
    args = cli.build_parser().parse_args(argv)
    proc = next(p for p in PROCESSES if p.kind == argv[0])
    action = proc.actions[argv[1]]
    payload = cli._from_options(args, fields.specs(action.model))
    model = action.model.model_validate(payload | {"actor": Actor(username="x", role=Role.TEAM_MANAGER)})
    dumped = model.model_dump(mode="json")
    for key, value in expected.items():
        assert dumped[key] == value, key


def test_stuck_has_a_flag_for_every_list_of_every_process() -> None:
    from frontdoor import stuck

    args = cli.build_parser().parse_args(["stuck", "--follow-up-due", "--directions-overdue", "--overdue"])
    assert args.follow_up_due and args.directions_overdue and args.overdue and not args.referral_awaited
    assert {s.name for p in PROCESSES for s in p.stuck} <= set(stuck.KINDS)


def test_lists_of_records_are_options_only_where_they_have_a_one_line_form(capsys) -> None:
    """An audit's grades take DOMAIN=GRADE: COMMENT per option; a contact's children have no
    one-line form, so they come from the JSON file, not an option that could only fail."""
    parser = cli.build_parser()
    args = parser.parse_args(["audit", "record_audit", "A-1", "--as", "tess", "--domains", "history=good: read",
                              "--overall", "good", "--overall-comment", "Safe"])
    assert args.domains == ["history=good: read"]
    with pytest.raises(SystemExit):
        parser.parse_args(["contact", "submit", "c.json", "--as", "rita", "--children", "Amy"])
    assert "unrecognized arguments: --children" in capsys.readouterr().err
