"""The consultation line: calls, named and anonymous, referrals invited, received within
the due time (two working days by default), follow-ups raised and how they ended."""

from __future__ import annotations

from sqlalchemy import and_, func, select
from sqlmodel import Session, col

from frontdoor.reports.base import Chart, Column, Report, Table, Window, key_figures
from frontdoor.reports.sql import between, count_if, pct
from models.facts import ConsultationFacts as C

FOLLOW_UPS = {
    "referral_made": "Referral made",
    "no_longer_needed": "No longer needed",
    "escalated": "Escalated",
}


def compute(s: Session, w: Window) -> list[Table]:
    where = [between(col(C.called_on), w)]
    invited = col(C.outcome) == "referral_invited"
    received = col(C.referral_received_at).is_not(None)
    measures = (
        func.count(), count_if(col(C.anonymous).is_not(True)), count_if(col(C.anonymous).is_(True)), count_if(invited),
        count_if(received), count_if(col(C.referral_on_time).is_(True)), count_if(col(C.follow_up_raised_at).is_not(None)),
    )
    n, named, anonymous, n_invited, n_received, on_time, follow_ups = s.execute(select(*measures).where(*where)).one()
    awaited = s.execute(
        select(func.count()).where(*where, invited, col(C.closed_at).is_(None))
    ).scalar_one()
    after = s.execute(select(func.count()).where(*where, received, col(C.after_follow_up).is_(True))).scalar_one()
    outcome = col(C.follow_up_outcome)
    no_call = outcome.is_(None)
    ends = s.execute(select(
        *[count_if(outcome == key) for key in FOLLOW_UPS],
        count_if(and_(no_call, received)),
        count_if(and_(no_call, col(C.closed_at).is_(None))),
    ).where(*where, col(C.follow_up_raised_at).is_not(None))).one()
    month = col(C.called_month)
    by_month = s.execute(select(month, *measures).where(*where).group_by(month).order_by(month)).all()
    return [
        key_figures([
            ("Consultation calls", n),
            ("Child named", named),
            ("Anonymous", anonymous),
            ("Referrals invited", n_invited),
            ("Invited referrals received", n_received),
            ("Received within the due time", on_time),
            ("% of invited referrals received within the due time", pct(on_time, n_invited)),
            ("Follow-ups raised (referral not received in time)", follow_ups),
            ("Received after a follow-up", after),
            ("Still awaited", awaited),
        ], note="Calls made in the range. An invited referral is due within two working days (configurable); "
                "when it has not come, a follow-up call is raised and its outcome recorded."),
        Table("by_month", "The consultation line, by month", [
            Column("month", "Month", "month"), Column("calls", "Calls", "int"), Column("named", "Named", "int"),
            Column("anonymous", "Anonymous", "int"), Column("invited", "Referrals invited", "int"),
            Column("received", "Received", "int"), Column("on_time", "Received within due time", "int"),
            Column("follow_ups", "Follow-ups raised", "int"),
        ], [list(row) for row in by_month]),
        Table("follow_ups", "How the follow-ups ended", [Column("outcome", "Outcome"), Column("calls", "Follow-ups", "int")],
              [[name, count] for name, count in zip(
                  [*FOLLOW_UPS.values(), "Referral arrived before the call back", "Not yet called back"], ends, strict=True)]),
    ]


REPORT = Report(
    name="consultations",
    title="The consultation line",
    description=(
        "Telephone consultations in the range: named and anonymous calls, referrals invited, how many "
        "arrived within the due time, the follow-ups raised when they did not, and how those ended."
    ),
    compute=compute,
    chart=Chart("by_month", "bar", "month", ("calls", "invited", "on_time"), "Consultation calls and invited referrals, by month",
                "Month", "Calls"),
)
