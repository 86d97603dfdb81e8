"""Plausible, clearly fictional case records written directly (no workflow runs).

- bench/reports.py: a big record, fast: contacts with their whole trail, consultations and
  early help cases, written through the same path as the workflows' activities
  (models.case_record.save_contact, activities.records.append_action: the hash chain and
  the report facts). It measures SQL, not the workflows.
- `frontdoor demo` (the top-level demo.py, which drives the real workflows): `holdings` (its
  refusal of a case record holding anything), `Children` (who the contacts are about) and
  `fill_the_rest`: what no workflow of the demo makes yet (missing episodes, morning
  discussion items, moderated audits, caseload snapshots).

Demo ids start DEMO-; names are Child<n> Family<n>.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import event, func, or_, select
from sqlmodel import Session, col

from activities.records import append_action
from models.audit import GRADE_RANK, AuditGradeRow, AuditThemeRow, Grade
from models.case_record import save_contact
from models.caseload import CaseloadSnapshotRow
from models.contact import Contact
from models.database import get_engine
from models.messages import ActionEntry
from models.missing import MissingEpisodeRow
from models.morning import MorningItemRow
from models.tables import ActionRecord, ContactRecord

SOURCES = ["6"] * 30 + ["2A"] * 18 + ["3A", "3B", "3C", "3D", "3E", "3F"] * 2 + ["1A"] * 8 + ["1B", "1C", "1D"] * 2 + \
    ["4", "5A", "5B", "5C", "7", "8", "9", "10"] * 2 + ["2B"] * 3
ROUTES = ["spa"] * 55 + ["advice_nfa"] * 25 + ["early_help"] * 15 + ["urgent"] * 5
OUTCOMES = ["assessment_s17"] * 35 + ["strategy_discussion_s47"] * 15 + ["targeted_early_help"] * 15 + \
    ["universal_advice"] * 15 + ["nfa"] * 20
MANAGERS = ["tom", "una", "vic", "wyn", "xan", "yas"]
WORKERS = [f"sw{i}" for i in range(40)]
ETHNICITIES = ["WBRI"] * 60 + ["WOTH", "MWBC", "AIND", "APKN", "BAFR", "BCRB", "CHNE", "OOTH", "NOBT", "REFU"] * 4
REASONS = ["parent_carer_unavailable", "agency_unavailable", "interpreter_awaited", "other"]
OVERRIDES = ["risk_of_significant_harm", "seeking_consent_increases_risk", "crime_prevention", "parent_uncontactable_urgent"]
THEMES = ["neglect", "domestic_abuse", "parental_mental_health", "parental_substance_misuse"]
QUADRANTS = ["north_west", "north_east", "south_west", "south_east"]


class BatchSession(Session):
    """The production functions commit after each write; here a commit flushes, and the
    benchmark (or the demo) commits for real every --batch entries. Until then it holds its rows (a
    session's identity map holds them weakly), so a case's next entry finds its facts row
    without reading it again, as one long transaction would."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.held: list[Any] = []
        event.listen(self, "pending_to_persistent", lambda _s, obj: self.held.append(obj))
        event.listen(self, "loaded_as_persistent", lambda _s, obj: self.held.append(obj))

    def commit(self) -> None:
        self.flush()

    def really_commit(self) -> None:
        super().commit()
        self.expunge_all()
        self.held.clear()


class Writer:
    """Appends trail entries through activities.records.append_action (the chain and the
    report facts, as the workflows' activities write them). `flush` is called every `batch`
    entries (the benchmark commits its batches there; the demo's session commits each entry)."""

    def __init__(self, s: Session, batch: int, end: datetime, key_prefix: str = "bench",
                 flush: Callable[[], None] | None = None) -> None:
        self.s, self.batch, self.pending, self.entries = s, batch, 0, 0
        self.seq, self.end, self.key_prefix, self._flush = 0, end, key_prefix, flush
        self.summary = "Benchmark contact" if key_prefix == "bench" else "Demo contact (fictional)"

    def entry(self, kind: str, subject: str, action: str, at: datetime, actor: str = "frontdoor", **details: Any) -> None:
        self.seq += 1
        prefix = {"contact": "contact", "early_help": "early-help", "consultation": "consultation"}[kind]
        appended = append_action(self.s, ActionEntry(
            idempotency_key=f"{self.key_prefix}/{subject}/{self.seq}", subject_id=subject, workflow_id=f"{prefix}-{subject}", kind=kind,
            actor=actor, role="system" if actor == "frontdoor" else "person", at=at, action=action,
            details={k: v for k, v in details.items() if v is not None},
        ))
        assert appended
        self.entries += 1
        self.pending += 1
        if self.pending >= self.batch:
            self.flush()

    def flush(self) -> None:
        if self._flush is not None:
            self._flush()
        self.pending = 0


class Children:
    """Who the contacts are about: most children are new to the front door; about one in
    four has been in a contact before (picked from the last 20,000 children seen), so some
    come back once or twice and a few often, as in a real caseload."""

    def __init__(self, rng: random.Random) -> None:
        self.rng, self.seen = rng, 0

    def pick(self) -> list[dict[str, Any]]:
        kids = []
        for _ in range(self.rng.choice([1, 1, 1, 1, 2, 2, 3])):
            if self.seen and self.rng.random() < 0.27:
                n = self.seen - 1 - int(self.rng.expovariate(1 / 4000)) % self.seen
            else:
                n, self.seen = self.seen, self.seen + 1
            born = date(2008, 1, 1) + timedelta(days=(n * 7919) % 6200)
            child: dict[str, Any] = {
                "local_id": f"CH-{n:07d}", "first_name": f"Child{n}", "last_name": f"Family{n // 3}",
                "sex": "U" if n % 50 == 0 else "MF"[n % 2], "ethnicity": ETHNICITIES[n % len(ETHNICITIES)],
            }
            if n % 97 == 0:
                child["expected_due_date"] = "2027-01-01"  # unborn
            else:
                child["date_of_birth"] = born.isoformat()
            kids.append(child)
        return kids


def contact(w: Writer, rng: random.Random, cid: str, received: datetime, children: Children) -> None:
    source = rng.choice(SOURCES)
    body: dict[str, Any] = {
        "id": cid, "received_at": received.isoformat(), "source": source,
        "referrer": {"name": "Referrer", "agency": "Agency"}, "children": children.pick(),
        "concerns": {"factors": ["16A"], "summary": w.summary},
        "consent": {"status": rng.choice(["given", "given", "not_sought", "refused"])},
    }
    delay = None
    if source == "6":
        delay = round(min(240.0, rng.lognormvariate(2.6, 0.9)), 1)
        body["police_attendance_at"] = (received - timedelta(hours=delay)).isoformat()
    assert save_contact(w.s, Contact.model_validate(body))
    e = w.entry
    e("contact", cid, "contact_received", received, source=source, submitted_by="rita", police_delay_hours=delay)
    recurring = [rng.choice(THEMES)] if rng.random() < 0.25 else []
    suggested = rng.choice([2, 3, 3, 4, 4])
    e("contact", cid, "history_checked", received + timedelta(seconds=2), matches=len(recurring) * 2, recurring=recurring,
      suggested_level=suggested)
    route = rng.choice(ROUTES)
    level = {"spa": rng.choice([3, 4]), "urgent": 4, "early_help": rng.choice([2, 3]), "advice_nfa": rng.choice([1, 2])}[route]
    triaged = received + timedelta(minutes=rng.randrange(5, 240))
    advice = {"given_by": rng.choice(WORKERS), "advice": "advice", "reasons": "reasons"} if rng.random() < 0.3 else None
    e("contact", cid, "triage", triaged, "rita", level=level, route=route, suggested_level=suggested,
      departure_reason="officer's judgement" if level != suggested else None, threshold_advice=advice,
      history_considered=bool(recurring) or rng.random() < 0.5)
    if route == "advice_nfa":
        e("contact", cid, "handed_off", triaged, outcome="advice_signposting")
        e("contact", cid, "closed", triaged, outcome="advice_signposting")
        return
    if route == "urgent":
        e("contact", cid, "handed_off", triaged, team="assessment_team", outcome="urgent_assessment")
        e("contact", cid, "urgent_picked_up", triaged + timedelta(minutes=rng.randrange(5, 90)), rng.choice(WORKERS))
        e("contact", cid, "closed", triaged + timedelta(minutes=95), outcome="urgent_assessment")
        return
    if route == "early_help":
        e("contact", cid, "handed_off", triaged, team="early_help_hub", outcome="early_help_hub")
        e("contact", cid, "closed", triaged, outcome="early_help_hub")
        _early_help(w, rng, f"EH-{cid}", triaged + timedelta(seconds=5), "triage", cid)
        return
    _spa(w, rng, cid, triaged, recurring)


def _spa(w: Writer, rng: random.Random, cid: str, arrived: datetime, recurring: list[str]) -> None:
    e = w.entry
    worker = rng.choice(WORKERS)
    if rng.random() < 0.1:
        e("contact", cid, "consent_overridden", arrived + timedelta(hours=1), "tom", reason=rng.choice(OVERRIDES))
    elif rng.random() < 0.4:
        e("contact", cid, "consent_sought", arrived + timedelta(hours=1), worker)
        e("contact", cid, rng.choice(["consent_given"] * 4 + ["consent_refused"]), arrived + timedelta(hours=2), worker)
    due = arrived + timedelta(hours=24)
    hours = max(0.5, rng.gauss(18, 7))
    if rng.random() < 0.12:  # an extension with its reason
        new = due + timedelta(hours=rng.choice([4, 8, 24]))
        e("contact", cid, "deadline_extended", due - timedelta(hours=1), "tom", reason=rng.choice(REASONS),
          previous_deadline=due.isoformat(), new_deadline=new.isoformat())
        due = new
    decided = arrived + timedelta(hours=hours)
    if decided > due:
        e("contact", cid, "decision_overdue", due, due=due.isoformat())
    if decided > w.end:  # still waiting at the end of the data
        return
    outcome = rng.choice(OUTCOMES)
    e("contact", cid, "recommendation", decided - timedelta(hours=1), worker, recommended_outcome=outcome)
    quadrant = rng.choice(QUADRANTS) if outcome == "targeted_early_help" else None
    e("contact", cid, "management_decision", decided, rng.choice(MANAGERS), outcome=outcome, quadrant=quadrant,
      on_time=decided <= due, recurring_pattern_considered=bool(recurring) and rng.random() < 0.97)
    team = {"assessment_s17": "assessment_team", "strategy_discussion_s47": "assessment_team",
            "targeted_early_help": f"early_help_{quadrant}"}.get(outcome)
    e("contact", cid, "handed_off", decided, team=team, outcome=outcome)
    e("contact", cid, "closed", decided, outcome=outcome)
    if outcome == "targeted_early_help":
        _early_help(w, rng, f"EH-{cid}", decided + timedelta(seconds=5), "step_down", cid)


def _early_help(w: Writer, rng: random.Random, case: str, received: datetime, entry: str, origin: str) -> None:
    e = w.entry
    e("early_help", case, "early_help_received", received, entry=entry, submitted_by="rita", origin_contact_id=origin,
      consent_from_referrer="not_sought")
    at = received + timedelta(hours=rng.uniform(1, 40))
    if at > received + timedelta(hours=30):
        e("early_help", case, "directions_overdue", received + timedelta(hours=30), due=(received + timedelta(hours=30)).isoformat())
    e("early_help", case, "directions", at, "sana", adviser="erin")
    if rng.random() < 0.1:
        e("early_help", case, "consent_refused", at + timedelta(hours=3), "erin", advice="signposted")
        e("early_help", case, "handed_off", at + timedelta(hours=3), outcome="consent_refused_advice")
        e("early_help", case, "closed", at + timedelta(hours=3), outcome="consent_refused_advice")
        return
    e("early_help", case, "consent_given", at + timedelta(hours=3), "erin")
    e("early_help", case, "history_reviewed", at + timedelta(hours=3), matches=0, recurring=[])
    at += timedelta(days=rng.uniform(2, 9))
    e("early_help", case, "gathering_finished", at, "erin", conversations=3)
    at += timedelta(days=rng.uniform(0.5, 3))
    if at > w.end:
        return
    outcome = rng.choice(["targeted_early_help"] * 6 + ["universal_services"] * 3 + ["step_up"])
    quadrant = rng.choice(QUADRANTS) if outcome == "targeted_early_help" else None
    e("early_help", case, "recommendation", at, "erin", recommended_outcome=outcome, quadrant=quadrant)
    at += timedelta(hours=rng.uniform(1, 30))
    e("early_help", case, "early_help_decision", at, "tom", outcome=outcome, quadrant=quadrant)
    if outcome == "step_up":
        e("early_help", case, "stepped_up", at, "tom", contact_id=f"{case}-SU", level=4)
    else:
        team = f"early_help_{quadrant}" if quadrant else None
        e("early_help", case, "handed_off", at, outcome=outcome, team=team, quadrant=quadrant)
    e("early_help", case, "closed", at, outcome=outcome, quadrant=quadrant)


def consultation(w: Writer, rng: random.Random, kid: str, called: datetime) -> None:
    e = w.entry
    invited = rng.random() < 0.45
    due = called + timedelta(days=2)
    e("consultation", kid, "consultation_recorded", called, "cara", outcome="referral_invited" if invited else "advice_only",
      caller_agency="School", anonymous=rng.random() < 0.3, children_named=rng.choice([0, 1, 2]), reference=kid,
      referral_due_at=due.isoformat() if invited else None)
    if not invited:
        e("consultation", kid, "closed", called, closure="advice_only")
        return
    if rng.random() < 0.7:
        e("consultation", kid, "referral_received", called + timedelta(hours=rng.uniform(1, 40)), contact_id="-", on_time=True,
          after_follow_up=False)
        e("consultation", kid, "closed", called + timedelta(hours=41), closure="referral_received")
        return
    e("consultation", kid, "follow_up_raised", due, due=due.isoformat())
    outcome = rng.choice(["referral_made", "no_longer_needed", "escalated"])
    e("consultation", kid, "follow_up_call", due + timedelta(hours=3), "cara", outcome=outcome)
    e("consultation", kid, "closed", due + timedelta(hours=3), closure=outcome)




# ---------------------------------------------------------------------- frontdoor demo
DEMO = "DEMO-"
AUDIT_DOMAINS = ("history", "threshold", "consent", "childs_voice", "management_oversight", "timeliness", "recording")
AUDIT_THEMES = ("history_not_weighed", "threshold_reasoning", "consent_practice", "childs_voice_absent",
                "drift_and_delay", "recording_quality", "multi_agency", "good_practice")
GRADES = [Grade.OUTSTANDING] + [Grade.GOOD] * 5 + [Grade.REQUIRES_IMPROVEMENT] * 3 + [Grade.INADEQUATE]
TEAMS = {"demo-spa-east": 5, "demo-spa-west": 4, "demo-early-help": 3}


class NotEmpty(Exception):
    """The case record holds data: the demo fills only an empty one."""


def _demo_id(column: Any) -> Any:
    """The demo's own ids: DEMO-..., and EH-DEMO-... (an early help case and a contact stepped up from it)."""
    return or_(col(column).startswith(DEMO), col(column).startswith("EH-" + DEMO))


def holdings(s: Session) -> tuple[int, int]:
    """(cases that are not the demo's, the demo's own cases) in the case record."""
    counts = [
        s.execute(select(func.count()).select_from(ContactRecord).where(~_demo_id(ContactRecord.id))).scalar_one(),
        s.execute(select(func.count(func.distinct(col(ActionRecord.subject_id)))).where(~_demo_id(ActionRecord.subject_id))).scalar_one(),
        s.execute(select(func.count()).select_from(MissingEpisodeRow)
                  .where(~col(MissingEpisodeRow.id).startswith(DEMO))).scalar_one(),
        s.execute(select(func.count()).select_from(AuditGradeRow).where(~col(AuditGradeRow.audit_id).startswith(DEMO))).scalar_one(),
    ]
    demo = s.execute(select(func.count()).select_from(ContactRecord).where(_demo_id(ContactRecord.id))).scalar_one()
    return int(sum(counts)), int(demo)


def _missing(s: BatchSession, rng: random.Random, start: datetime, end: datetime, n: int) -> int:
    for i in range(n):
        reported = start + timedelta(seconds=rng.randrange(int((end - start).total_seconds()) - 5 * 86400))
        returned = reported + timedelta(hours=rng.uniform(2, 60))
        delay = round(min(200.0, rng.lognormvariate(2.8, 0.8)), 1)
        due = returned + timedelta(hours=72)
        offered = returned + timedelta(hours=rng.uniform(2, 100)) if rng.random() < 0.9 else None
        repeat = rng.choice([3, 4, 5]) if rng.random() < 0.2 else None
        s.add(MissingEpisodeRow(
            id=f"{DEMO}M-{i:05d}", workflow_id=f"missing-{DEMO}M-{i:05d}", missing_from=rng.choice(["home", "care", "school"]),
            risk=rng.choice(["low", "low", "medium", "high"]), reported_missing_at=reported, returned_at=returned,
            police_returned_at=returned, return_listed_at=returned + timedelta(hours=delay), report_delay_hours=delay,
            first_listed_at=reported + timedelta(hours=6), interview_due_at=due, offered_at=offered,
            offered_on_time=(offered <= due) if offered else None, repeat_episodes=repeat,
            contact_id=f"{DEMO}C-R{i:05d}" if repeat and rng.random() < 0.6 else None,
            stage="closed" if offered else "awaiting_offer", closed_at=offered + timedelta(days=3) if offered else None,
        ))
    s.really_commit()
    return n


def _morning(s: BatchSession, rng: random.Random, start: datetime, end: datetime, n: int) -> int:
    """Items the morning case discussion took: most discussed at their first meeting, some
    rolled over once or twice, each with the next step agreed."""
    steps = ["stays_in_spa", "stays_in_spa", "early_help", "strategy_discussion", "no_further_action",
             "more_information_needed"]
    for i in range(n):
        raised = start + timedelta(seconds=rng.randrange(int((end - start).total_seconds()) - 5 * 86400))
        first = (raised + timedelta(days=1)).date()
        while first.weekday() >= 5:
            first += timedelta(days=1)
        rolled = rng.choices([0, 1, 2], weights=[8, 2, 1])[0]
        discussed = first + timedelta(days=rolled)
        s.add(MorningItemRow(
            item_id=f"{DEMO}I-{i:05d}", raised_at=raised, raised_role=rng.choice(["social_worker", "rfs_officer", "police_partner"]),
            asked=rng.sample(["police", "health"], rng.choice([1, 2])), first_meeting=first.isoformat(),
            last_meeting=discussed.isoformat(), times_rolled=rolled, next_step=rng.choice(steps),
            discussed_on=discussed.isoformat(),
        ))
    s.really_commit()
    return n


def _audits(s: BatchSession, rng: random.Random, start: datetime, end: datetime, n: int) -> int:
    for i in range(n):
        audit_id = f"{DEMO}A-{i:04d}"
        first_at = start + timedelta(seconds=rng.randrange(int((end - start).total_seconds()) - 14 * 86400))
        moderated_at = first_at + timedelta(days=rng.uniform(3, 12))
        for step, at in (("first_line", first_at), ("moderation", moderated_at)):
            for domain in ("overall", *AUDIT_DOMAINS):
                grade = rng.choice(GRADES)
                s.add(AuditGradeRow(audit_id=audit_id, step=step, domain=domain, grade=grade.value, rank=GRADE_RANK[grade], at=at))
        for theme in rng.sample(AUDIT_THEMES, rng.choice([1, 2])):
            s.add(AuditThemeRow(audit_id=audit_id, theme=theme, at=moderated_at + timedelta(days=2)))
    s.really_commit()
    return n


def _caseloads(s: BatchSession, rng: random.Random, first: date, last: date) -> int:
    people = [(f"{team}-sw{k + 1}", team) for team, size in TEAMS.items() for k in range(size)]
    load = {who: rng.randint(8, 16) for who, _ in people}
    day, days = first, 0
    while day <= last:
        if day.weekday() < 5:
            for who, team in people:
                load[who] = max(2, min(25, load[who] + rng.choice([-1, 0, 0, 1, 1])))
                s.add(CaseloadSnapshotRow(taken_on=day, taken_at=datetime.combine(day, datetime.min.time(), tzinfo=UTC),
                                          username=who, role="social_worker", team=team, open_items=load[who], target=15))
            days += 1
        day += timedelta(days=1)
    s.really_commit()
    return days


def fill_the_rest(database_url: str, rng: random.Random, start: datetime, end: datetime, per_week: int, months: int,
                  say: Callable[[str], None] = print) -> dict[str, int]:
    """What no workflow of the demo makes yet, written directly for the reports: missing
    episodes, morning discussion items, moderated audits and weekday caseload snapshots
    between `start` and `end` (`frontdoor demo` calls it once its workflows are done)."""
    weeks = max(1, round((end - start).days / 7))
    with BatchSession(get_engine(database_url), expire_on_commit=False) as s:
        episodes = _missing(s, rng, start, end, max(1, per_week // 4) * weeks)
        items = _morning(s, rng, start, end, max(1, per_week // 8) * weeks)
        audits = _audits(s, rng, start, end, max(1, months * 6))
        days = _caseloads(s, rng, start.date(), end.date())
    say(f"  written directly (no workflow yet): {episodes} missing episodes, {items} morning discussion items, "
        f"{audits} moderated audits, caseload snapshots for {days} days")
    return {"missing": episodes, "morning_items": items, "audits": audits, "caseload_days": days}
