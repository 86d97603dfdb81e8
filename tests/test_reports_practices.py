"""The other processes' figures as reports in the one registry (missing children, the audit
programme, caseloads over time): a small known dataset in their case-record tables gives the
known figures, on SQLite and PostgreSQL (a random far-off year per test, so a kept PostgreSQL
database does not count earlier runs)."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from frontdoor import reports
from frontdoor.reports import charts, export
from frontdoor.reports.base import Window
from models.audit import AuditGradeRow, AuditThemeRow
from models.caseload import CaseloadSnapshotRow
from models.database import init_db, session
from models.missing import MissingEpisodeRow
from models.morning import MorningItemRow
from tests.conftest import unique_year


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def url(request, tmp_path_factory):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('practice-reports') / 'reports.db'}"
    else:
        url = os.environ.get("FRONTDOOR_TEST_POSTGRES_URL")
        if not url:
            pytest.skip("no PostgreSQL: set FRONTDOOR_TEST_POSTGRES_URL (make test does it when PostgreSQL 15 is installed)")
    init_db(url)
    return url


def year() -> int:
    return unique_year()


def window(y: int) -> Window:
    """March and April of year y, as seen on 1 June."""
    return Window(date(y, 3, 1), date(y, 4, 30), now=datetime(y, 6, 1, tzinfo=UTC))


def noon(y: int, month: int, day: int) -> datetime:
    return datetime(y, month, day, 12, tzinfo=UTC)


def run(url: str, name: str, w: Window) -> dict[str, list[list]]:
    with session(url) as s:
        result = reports.run(s, name, w)
    assert charts.render_svg(result).lstrip().startswith(("<?xml", "<svg"))
    assert export.to_csv(result) and export.to_xlsx(result)
    return {t.name: t.rows for t in result.tables} | {"summary": {m: v for m, v in result.table("summary").rows}}  # type: ignore[dict-item]


def episode(returned: datetime | None, *, reported: datetime | None = None, offered_after: float | None = None,
            delay: float | None = None, closed: bool = False, repeat: int | None = None,
            contact: str | None = None) -> MissingEpisodeRow:
    due = returned + timedelta(hours=72) if returned else None
    offered = returned + timedelta(hours=offered_after) if returned and offered_after is not None else None
    return MissingEpisodeRow(
        id=f"R-{uuid.uuid4().hex[:12]}", workflow_id="w", missing_from="home", risk="low",
        reported_missing_at=reported or (returned - timedelta(hours=10)),  # type: ignore[operator]
        returned_at=returned, police_returned_at=returned if delay is not None else None, report_delay_hours=delay,
        interview_due_at=due, offered_at=offered, offered_on_time=(offered <= due) if offered and due else None,
        stage="closed" if closed else "awaiting_offer", repeat_episodes=repeat, contact_id=contact,
    )


def test_missing_children_report(url):
    y = year()
    with session(url) as s:
        s.add_all([
            episode(noon(y, 3, 5), offered_after=5, delay=10),  # within 72 hours; police on time
            episode(noon(y, 3, 10), offered_after=80, delay=30, repeat=3, contact="C-1"),  # late; police late; repeat, contact
            episode(noon(y, 4, 2), delay=48, closed=True, repeat=4),  # never offered; police late; repeat, no contact
            episode(None, reported=noon(y, 4, 20)),  # still missing
            episode(noon(y, 5, 3), offered_after=1, delay=100),  # May: outside the window
        ])
        s.commit()
    got = run(url, "missing-children", window(y))
    summary = got["summary"]
    assert summary["Children returned"] == 3
    assert summary["Return interviews offered within 72 hours"] == 1
    assert summary["Offered late"] == 1 and summary["Not offered, the time passed"] == 1
    assert summary["Not yet offered, still in time"] == 0 and summary["% offered within 72 hours"] == 33.3
    assert summary["Returns on a police list"] == 3
    assert summary["Police reports of a return over 24 hours late"] == 2 and summary["% police reports over 24 hours"] == 66.7
    assert summary["Missing episodes reported"] == 4 and summary["Repeat missing (the pattern found)"] == 2
    assert summary["% repeat missing"] == 50.0 and summary["Repeat missing with a contact raised"] == 1
    march, april = got["by_month"]
    assert march == [date(y, 3, 1), 2, 1, 1, 0, 50.0, 2, 1, 50.0, 30.0, 2, 1, 1]
    assert april == [date(y, 4, 1), 1, 0, 0, 1, 0.0, 1, 1, 100.0, 48.0, 2, 1, 0]
    assert [r[0] for r in got["police_delay"]] == [date(y, 3, 1), date(y, 4, 1)]


def test_audit_programme_report(url):
    y = year()
    rank = {"outstanding": 1, "good": 2, "requires_improvement": 3, "inadequate": 4}
    prefix = uuid.uuid4().hex[:8]

    def grades(n: int, step: str, at: datetime, overall: str, domain: str) -> list[AuditGradeRow]:
        return [AuditGradeRow(audit_id=f"{prefix}-{n}", step=step, domain=d, grade=g, rank=rank[g], at=at)
                for d, g in (("overall", overall), ("voice_of_child", domain))]

    def theme(n: int, name: str, at: datetime) -> AuditThemeRow:
        return AuditThemeRow(audit_id=f"{prefix}-{n}", theme=f"{name}_{prefix}", at=at)

    with session(url) as s:
        s.add_all([
            *grades(1, "first_line", noon(y, 3, 5), "good", "good"), *grades(1, "moderation", noon(y, 3, 10), "good", "good"),
            # moderation lowers the overall grade and finds the child's voice inadequate: a critical weakness
            *grades(2, "first_line", noon(y, 3, 15), "good", "good"),
            *grades(2, "moderation", noon(y, 3, 20), "requires_improvement", "inadequate"),
            *grades(3, "first_line", noon(y, 4, 1), "outstanding", "good"),
            *grades(3, "moderation", noon(y, 4, 5), "outstanding", "good"),
            *grades(4, "first_line", noon(y, 5, 25), "good", "good"),  # moderated in June: outside
            *grades(4, "moderation", noon(y, 6, 1), "inadequate", "inadequate"),
            theme(1, "recording", noon(y, 3, 12)), theme(2, "recording", noon(y, 3, 25)),
            theme(3, "recording", noon(y, 4, 7)), theme(3, "supervision", noon(y, 4, 7)),
            theme(4, "supervision", noon(y, 6, 2)),
        ])
        s.commit()
    got = run(url, "audits", window(y))
    summary = got["summary"]
    assert summary["Audits moderated (final overall grade)"] == 3 and summary["% good or outstanding"] == 66.7
    assert summary["Audits where moderation changed the overall grade"] == 1
    assert summary["% agreement (moderation kept the first-line grade)"] == 66.7
    assert summary["Audits with a critical weakness (inadequate in any domain)"] == 1
    assert summary["% with a critical weakness"] == 33.3
    # columns: month, outstanding, good, requires improvement, inadequate, total
    assert got["grades_by_month"] == [[date(y, 3, 1), 0, 1, 1, 0, 2], [date(y, 4, 1), 1, 0, 0, 0, 1]]
    assert got["agreement_by_domain"] == [["voice_of_child", 3, 1, 33.3, 0, 1]]
    assert got["agreement_by_month"] == [[date(y, 3, 1), 2, 1, 50.0], [date(y, 4, 1), 1, 0, 0.0]]
    assert got["critical_by_month"] == [[date(y, 3, 1), 2, 1, 50.0], [date(y, 4, 1), 1, 0, 0.0]]
    themes = {r[0]: r[1:] for r in got["themes"] if r[0].endswith(prefix)}
    assert themes == {f"recording {prefix}": [3, 2, f"{y}-03", f"{y}-04", True],
                      f"supervision {prefix}": [1, 1, f"{y}-04", f"{y}-04", False]}


def test_caseloads_report(url):
    y = year()
    tag = uuid.uuid4().hex[:6]

    def snap(day: date, who: str, team: str, n: int) -> CaseloadSnapshotRow:
        return CaseloadSnapshotRow(taken_on=day, taken_at=datetime.combine(day, datetime.min.time(), tzinfo=UTC),
                                   username=f"{who}-{tag}", role="social_worker", team=f"{team}-{tag}", open_items=n,
                                   target=15)

    d1, d2 = date(y, 3, 1), date(y, 3, 2)
    with session(url) as s:
        s.add_all([
            snap(d1, "sam", "east", 10), snap(d1, "sid", "east", 20), snap(d1, "sue", "west", 6),
            snap(d2, "sam", "east", 12), snap(d2, "sid", "east", 16), snap(d2, "sue", "west", 11),
            snap(date(y, 5, 1), "sam", "east", 30),  # outside the window
        ])
        s.commit()
    got = run(url, "caseloads", window(y))
    assert got["by_day"] == [[d1, 3, 36, 12.0, 20, 1], [d2, 3, 39, 13.0, 16, 1]]
    assert got["by_team"][:2] == [[d1, f"east-{tag}", "social_worker", 2, 30, 15.0, 5.0, 10, 20, 1],
                                  [d1, f"west-{tag}", "social_worker", 1, 6, 6.0, 0.0, 6, 6, 0]]
    assert len(got["by_team"]) == 4
    summary = got["summary"]
    assert summary["Days with a snapshot"] == 2 and summary["Average caseload on the last day"] == 13.0
    assert summary["Over their target on the last day"] == 1 and summary["Highest average in the range"] == 13.0


def test_morning_discussion_report(url):
    """Three items discussed in March (two stay in the SPA, one rolled over twice to a strategy
    discussion), one in April, one not yet discussed: the report's figures and months."""
    y = year()

    def item(discussed: date | None, step: str | None, rolled: int = 0) -> MorningItemRow:
        return MorningItemRow(item_id=f"I-{uuid.uuid4().hex[:12]}", raised_at=noon(y, 3, 1), raised_role="social_worker",
                              asked=["police"], first_meeting=date(y, 3, 1).isoformat(),
                              last_meeting=(discussed or date(y, 3, 1)).isoformat(), times_rolled=rolled,
                              next_step=step, discussed_on=discussed.isoformat() if discussed else None)

    with session(url) as s:
        s.add_all([item(date(y, 3, 2), "stays_in_spa"), item(date(y, 3, 3), "stays_in_spa", 1),
                   item(date(y, 3, 4), "strategy_discussion", 2), item(None, None, 1),
                   item(date(y, 4, 30), "no_further_action"), item(date(y, 5, 1), "early_help")])
        s.commit()
    r = run(url, "morning-discussion", window(y))
    assert r["summary"]["Items discussed"] == 4 and r["summary"]["Next step: Stays in the SPA"] == 2
    assert r["summary"]["Rolled over to a later meeting"] == 2 and r["summary"]["Rolled over twice or more (stuck)"] == 1
    assert r["summary"]["Next step: Early help"] == 0  # discussed on 1 May: outside March and April
    assert r["by_month"] == [[f"{y}-03", 2, 0, 1, 0, 0, 3, 2], [f"{y}-04", 0, 0, 0, 1, 0, 1, 0]]
