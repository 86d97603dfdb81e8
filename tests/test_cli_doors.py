"""The CLI verbs of the consultation line and the early help hub parse as documented."""

from __future__ import annotations

from frontdoor.cli import build_parser
from frontdoor.cli_doors import _child, _early_help_payload


def test_consultation_and_early_help_verbs_parse() -> None:
    p = build_parser()
    a = p.parse_args([
        "consultation", "record", "--as", "cara", "--caller-name", "Ms K Patel", "--caller-agency", "School",
        "--child", "Amy Jones,2018-03-02", "--concern", "Hungry", "--advice", "Refer", "--invite-referral",
    ])
    assert a.invite_referral and a.child == ["Amy Jones,2018-03-02"]
    assert _child(a.child[0]) == {"first_name": "Amy", "last_name": "Jones", "date_of_birth": "2018-03-02"}
    a = p.parse_args(["consultation", "follow-up", "CONS-1", "--as", "cara", "--outcome", "escalated", "--note", "Rang"])
    assert a.outcome == "escalated"
    a = p.parse_args(["early-help", "recommend", "EH-1", "--as", "erin", "--summary", "Concise summary", "--outcome",
                      "targeted_early_help", "--quadrant", "north_east"])
    action, payload = _early_help_payload(a, {"username": "erin"})
    assert action == "recommendation" and payload["quadrant"] == "north_east"
    a = p.parse_args(["early-help", "step-up", "EH-1", "--as", "erin", "--reason", "Disclosure"])
    assert _early_help_payload(a, None)[1]["level"] == 4
    a = p.parse_args(["stuck", "--follow-up-due", "--directions-overdue"])
    assert a.follow_up_due and a.directions_overdue and not a.referral_awaited
