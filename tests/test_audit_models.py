"""The audit programme's and caseloads' pure rules: the audit tool as data, the seeded sample
(hypothesis: the same seed over the same cases gives the same sample, whatever order they
come in and whatever other teams hold), auditor assignment, the actions' shapes, caseload
targets and their settings."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from frontdoor.config import ConfigError, load_settings
from models.audit import (
    Acknowledgement,
    AuditGrading,
    AuditRoundRequest,
    AuditStage,
    AuditState,
    AuditTool,
    Candidate,
    DomainGrade,
    assign_auditors,
    draw_sample,
)
from models.caseload import CaseloadTargets, Rag, open_work_query, parse_targets, spread
from models.roles import Actor, Role
from tests.audit_support import ROOT, TOOL

TOM = Actor(username="tom", role=Role.TEAM_MANAGER)
NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)


# ---------------------------------------------------------------------- the tool
def test_the_tool_in_config_is_valid_and_has_the_issues_domains() -> None:
    tool = AuditTool.from_json((ROOT / "config" / "audit_tool.json").read_text())
    assert tool.domain_ids() == ["history", "threshold", "consent", "childs_voice", "management_oversight", "timeliness",
                                 "recording"]
    assert {g.grade.value for g in tool.grades} == {"outstanding", "good", "requires_improvement", "inadequate"}
    assert tool.version_label.startswith(tool.version + " (") and len(tool.fingerprint) == 16


def test_an_edited_tool_has_another_fingerprint_and_a_broken_one_is_refused_naming_why() -> None:
    data = json.loads((ROOT / "config" / "audit_tool.json").read_text())
    same = AuditTool.model_validate(data)
    assert same.fingerprint == TOOL.fingerprint
    data["domains"][0]["question"] += " And the siblings?"
    assert AuditTool.model_validate(data).fingerprint != TOOL.fingerprint  # same version label, other content
    broken = dict(data, grades=data["grades"][:3] + [data["grades"][0]])
    with pytest.raises(ValidationError, match="missing inadequate"):
        AuditTool.model_validate(broken)
    twice = dict(data, domains=data["domains"] + [data["domains"][1]])
    with pytest.raises(ValidationError, match="threshold twice"):
        AuditTool.model_validate(twice)
    with pytest.raises(ValidationError, match="Extra inputs"):
        AuditTool.model_validate(dict(data, colour="blue"))
    with pytest.raises(ValueError, match="not valid JSON"):
        AuditTool.from_json("{", "config/audit_tool.json")


def test_a_round_reads_the_tool_as_it_is_now_and_says_what_is_wrong_with_a_broken_one(tmp_path) -> None:
    """Editing the tool changes what the next round reads (its audits carry it in their input);
    an audit already started keeps the tool it was given (tests/test_audit_dev.py: its fingerprint)."""
    from pathlib import Path

    from activities.audit import AuditActivities
    from activities.deps import Deps
    from activities.outbox import StoredOutbox

    path = tmp_path / "audit_tool.json"
    data = json.loads((ROOT / "config" / "audit_tool.json").read_text())
    path.write_text(json.dumps(data))
    url = f"sqlite:///{tmp_path / 'x.db'}"
    reader = AuditActivities(Deps(database_url=url, templates_dir=Path("templates"), rules_path=Path("x"),
                                  outbox=StoredOutbox(url), audit_tool=path))
    before = reader.load_audit_tool()
    assert before.fingerprint == TOOL.fingerprint
    data["version"] = "2026.2"
    data["domains"].append({"id": "siblings", "title": "Siblings considered", "question": "Were the siblings seen?"})
    path.write_text(json.dumps(data))
    after = reader.load_audit_tool()
    assert after.version_label.startswith("2026.2 (") and "siblings" in after.domain_ids()
    assert before.domain_ids() == TOOL.domain_ids()  # what was read before is unchanged
    path.write_text(json.dumps(dict(data, grades=[])))
    with pytest.raises(LookupError, match="audit_tool.json is not valid"):
        reader.load_audit_tool()


# ---------------------------------------------------------------------- the sample
def _case(i: int, team: str | None, deciders: tuple[str, ...] = ()) -> Candidate:
    return Candidate(case_id=f"C-{i:04d}", case_kind="contact", opened_at=NOW, team=team, deciders=list(deciders))


TEAMS = st.sampled_from(["spa-east", "spa-west", "early-help", None])
CASES = st.lists(st.tuples(st.integers(0, 500), TEAMS), max_size=60, unique_by=lambda t: t[0])


@settings(max_examples=60, deadline=None)
@given(CASES, st.integers(1, 5), st.integers(0, 2**31 - 1), st.randoms(use_true_random=False))
def test_the_same_seed_over_the_same_cases_gives_the_same_sample(cases, per_team, seed, rnd) -> None:
    candidates = [_case(i, team) for i, team in cases]
    sample = draw_sample(candidates, per_team, seed)
    shuffled = list(candidates)
    rnd.shuffle(shuffled)
    assert [c.case_id for c in draw_sample(shuffled, per_team, seed)] == [c.case_id for c in sample]
    by_team: dict[str | None, int] = {}
    for c in sample:
        by_team[c.team] = by_team.get(c.team, 0) + 1
    for team in {t for _, t in cases}:
        assert by_team.get(team, 0) == min(per_team, sum(1 for _, t in cases if t == team))
    assert len({c.case_id for c in sample}) == len(sample)


@settings(max_examples=40, deadline=None)
@given(CASES, CASES, st.integers(1, 4), st.integers(0, 2**31 - 1))
def test_a_teams_sample_does_not_depend_on_other_teams_cases(ours, theirs, per_team, seed) -> None:
    mine = [_case(i, "spa-east") for i, _ in ours]
    others = [_case(1000 + i, "spa-west") for i, _ in theirs]
    alone = [c.case_id for c in draw_sample(mine, per_team, seed)]
    together = [c.case_id for c in draw_sample(mine + others, per_team, seed) if c.team == "spa-east"]
    assert alone == together


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 500), st.lists(st.sampled_from(["a", "b", "c", "d"]), max_size=3)),
                max_size=30, unique_by=lambda t: t[0]), st.integers(0, 2**31 - 1))
def test_each_case_goes_to_two_managers_who_did_not_decide_it(cases, seed) -> None:
    managers = ["a", "b", "c", "d"]
    candidates = [_case(i, "spa-east", tuple(deciders)) for i, deciders in cases]
    done, left = assign_auditors(candidates, managers, seed)
    assert len(done) + len(left) == len(candidates)
    for a in done:
        assert a.auditor != a.re_auditor
        assert a.auditor not in a.candidate.deciders and a.re_auditor not in a.candidate.deciders
    for u in left:
        case = next(c for c in candidates if c.case_id == u.case_id)
        assert len(set(managers) - set(case.deciders)) < 2 and "needs two first-line managers" in u.reason
    assert assign_auditors(candidates, list(reversed(managers)), seed) == (done, left)  # their order does not matter


def test_without_deciders_the_audits_are_shared_evenly() -> None:
    done, _ = assign_auditors([_case(i, "t") for i in range(9)], ["a", "b", "c"], seed=7)
    load = {m: sum((a.auditor == m) + (a.re_auditor == m) for a in done) for m in "abc"}
    assert sorted(load.values()) == [6, 6, 6]
    done, left = assign_auditors([_case(1, "t")], ["a"], seed=7)
    assert not done and "1 available" in left[0].reason


# ---------------------------------------------------------------------- the actions
def test_a_grade_may_be_given_as_a_line_and_each_domain_once() -> None:
    g = DomainGrade.model_validate("history=requires_improvement: the 2025 contact was not read")
    assert (g.domain, g.grade.value, g.comment) == ("history", "requires_improvement", "the 2025 contact was not read")
    with pytest.raises(ValidationError, match="DOMAIN=GRADE: TEXT"):
        DomainGrade.model_validate("history good")
    with pytest.raises(ValidationError, match="history given twice"):
        AuditGrading.model_validate({"actor": TOM, "overall": "good", "overall_comment": "Fine work",
                                     "domains": ["history=good: read", "history=good: read again"]})
    with pytest.raises(ValidationError, match="confirm that you have read"):
        Acknowledgement.model_validate({"actor": TOM, "reflections": "Agreed"})


def test_a_round_request_reads_one_per_line_and_is_plausible() -> None:
    r = AuditRoundRequest.model_validate({"id": "AR-2026-11", "title": "November", "period_from": "2026-10-01",
                                          "period_to": "2026-10-31", "cases": "C-1\nC-2, C-3", "teams": ["spa-east"]})
    assert r.cases == ["C-1", "C-2", "C-3"] and r.per_team == 3 and [k.value for k in r.kinds] == ["contact", "early_help"]
    assert r.plausibility_errors(NOW) == []
    with pytest.raises(ValidationError, match="before period_from"):
        AuditRoundRequest.model_validate({"id": "AR-1x", "title": "Bad", "period_from": "2026-10-02", "period_to": "2026-10-01"})
    future = r.model_copy(update={"period_from": date(2027, 1, 1), "period_to": date(2028, 6, 1)})
    assert {e.path for e in future.plausibility_errors(NOW)} == {"period_from", "period_to"}


def test_who_an_audit_step_may_go_to() -> None:
    state = AuditState(
        audit_id="A-1", case_id="C-1", case_kind="contact", tool=TOOL, tool_version=TOOL.version_label,
        tool_fingerprint=TOOL.fingerprint, stage=AuditStage.FIRST_LINE, stage_since=NOW, holder="tom", started_at=NOW,
        auditor="tom", re_auditor="tess", moderator="maya", worker="sam", deciders=["dora"],
    )
    assert "did not decide it" in (state.allocation_refusal("dora") or "")
    assert "different managers" in (state.allocation_refusal("tess") or "")
    assert state.allocation_refusal("tariq") is None
    meeting = state.model_copy(update={"stage": AuditStage.REFLECTIVE_MEETING})
    assert "case's worker" in (meeting.allocation_refusal("sam") or "")


# ---------------------------------------------------------------------- caseloads
def test_caseload_colours_against_the_target() -> None:
    targets = CaseloadTargets()
    assert targets.target(Role.SOCIAL_WORKER) == 15 and targets.amber_at(Role.SOCIAL_WORKER) == 12
    assert [targets.rag(Role.SOCIAL_WORKER, n) for n in (0, 11, 12, 15, 16)] == [
        Rag.GREEN, Rag.GREEN, Rag.AMBER, Rag.AMBER, Rag.RED]
    assert not targets.over_after(Role.SOCIAL_WORKER, 14) and targets.over_after(Role.SOCIAL_WORKER, 15)
    assert spread([15, 12, 18, 9]) == {"people": 4, "total": 54, "average": 13.5, "stdev": 3.35, "min": 9, "max": 18}
    assert spread([])["average"] is None


def test_caseload_targets_from_settings(monkeypatch) -> None:
    assert parse_targets("social_worker=12, early_help_adviser=14") == {Role.SOCIAL_WORKER: 12, Role.EARLY_HELP_ADVISER: 14}
    for bad, message in (("social_worker", "role=number"), ("wizard=3", "not a role"), ("social_worker=x", "whole number"),
                         ("social_worker=0", "between 1")):
        with pytest.raises(ValueError, match=message):
            parse_targets(bad)
    monkeypatch.setenv("FRONTDOOR_CASELOAD_TARGETS", "social_worker=12")
    monkeypatch.setenv("FRONTDOOR_CASELOAD_AMBER", "0.5")
    monkeypatch.setenv("FRONTDOOR_CASELOAD_SNAPSHOT_AT", "07:30")
    s = load_settings()
    assert s.caseload_targets.target(Role.SOCIAL_WORKER) == 12 and s.caseload_targets.amber_at(Role.SOCIAL_WORKER) == 6
    assert s.caseload_targets.target(Role.EARLY_HELP_ADVISER) == 15 and s.caseload_snapshot_at == (7, 30)
    monkeypatch.setenv("FRONTDOOR_CASELOAD_AMBER", "2")
    with pytest.raises(ConfigError, match="FRONTDOOR_CASELOAD_AMBER"):
        load_settings()
    monkeypatch.setenv("FRONTDOOR_CASELOAD_AMBER", "0.8")
    monkeypatch.setenv("FRONTDOOR_CASELOAD_SNAPSHOT_AT", "25:00")
    with pytest.raises(ConfigError, match="HH:MM"):
        load_settings()


def test_the_open_work_query_quotes_every_name() -> None:
    q = open_work_query(["contact", "audit"], ["o'neil", "sam"])
    assert "FdKind IN ('audit', 'contact')" in q and "FdHolder IN ('o''neil', 'sam')" in q
    assert open_work_query(["contact"], []).endswith("FdHolder = ''")
