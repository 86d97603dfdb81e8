"""Activities of a missing episode: its case record row (with the child's identifiers, so a
later episode of the same child is found), and its history: earlier contacts through the
contact's own history check (activities/history.history_check), and earlier episodes of the
same child for the repeat missing pattern. Each is idempotent."""

from __future__ import annotations

from sqlmodel import Session, col, or_, select
from temporalio import activity

from activities.deps import Activities
from activities.history import EXACT, PROBABLE, history_check
from models.case_record import name_key, put_row
from models.database import session
from models.missing import (
    GOING_MISSING,
    EpisodeHistory,
    EpisodeHistoryRequest,
    EpisodeMatch,
    EpisodeRecordUpdate,
    MissingEpisodeRow,
    RepeatPattern,
)
from models.thresholds import ThresholdRules


class MissingActivities(Activities):
    @activity.defn
    def record_episode(self, update: EpisodeRecordUpdate) -> None:
        """Upsert the episode's summary row."""
        child = update.child
        with session(self.deps.database_url) as s:
            new = {"id": update.police_ref, "workflow_id": update.workflow_id, "missing_from": update.missing_from,
                   "risk": update.risk, "reported_missing_at": update.reported_missing_at}
            values = update.model_dump(exclude={"police_ref", "child"})
            values |= {
                "nhs_number": child.nhs_number, "local_id": child.local_id, "date_of_birth": child.date_of_birth,
                "first_name_key": name_key(child.first_name), "last_name_key": name_key(child.last_name),
            }
            put_row(s, MissingEpisodeRow, update.police_ref, new, values)

    @activity.defn
    def check_episode_history(self, request: EpisodeHistoryRequest) -> EpisodeHistory:
        """Earlier contacts about the child, as any contact's history check finds them (how
        each was matched, recurring patterns, a suggested level), and the child's earlier
        episodes: `repeat_at` or more in the window, this one included, is a pattern."""
        rules = ThresholdRules.current(self.deps.rules_path)
        with session(self.deps.database_url) as s:
            history = history_check(s, rules, request.police_ref, [request.child], [GOING_MISSING],
                                    request.reported_missing_at)
            earlier = earlier_episodes(s, request)
        since = request.reported_missing_at - request.window
        in_window = [e for e in earlier if since <= e.reported_missing_at <= request.reported_missing_at]
        repeat = None
        if len(in_window) + 1 >= request.repeat_at:
            repeat = RepeatPattern(episodes=len(in_window) + 1, window_days=request.window.days,
                                   police_refs=[e.police_ref for e in in_window])
        return EpisodeHistory(history=history, earlier=earlier[-50:], repeat=repeat)


def earlier_episodes(s: Session, request: EpisodeHistoryRequest) -> list[EpisodeMatch]:
    """Episodes of the same child reported before this one, oldest first: on an NHS number or
    local id (exact), or the same folded first and last name with the date of birth (probable)."""
    child = request.child
    first, last = name_key(child.first_name), name_key(child.last_name)
    conditions = []
    if child.nhs_number:
        conditions.append(col(MissingEpisodeRow.nhs_number) == child.nhs_number)
    if child.local_id:
        conditions.append(col(MissingEpisodeRow.local_id) == child.local_id)
    if child.date_of_birth and first and last:
        conditions.append((col(MissingEpisodeRow.date_of_birth) == child.date_of_birth)
                          & (col(MissingEpisodeRow.last_name_key) == last)
                          & (col(MissingEpisodeRow.first_name_key) == first))
    if not conditions:
        return []
    rows = s.exec(
        select(MissingEpisodeRow).where(or_(*conditions), col(MissingEpisodeRow.id) != request.police_ref,
                                        col(MissingEpisodeRow.reported_missing_at) <= request.reported_missing_at)
        .order_by(col(MissingEpisodeRow.reported_missing_at))
    ).all()
    out = []
    for r in rows:
        if child.nhs_number and r.nhs_number == child.nhs_number:
            how, confidence = "nhs_number", EXACT
        elif child.local_id and r.local_id == child.local_id:
            how, confidence = "local_id", EXACT
        else:
            how, confidence = "name + date of birth", PROBABLE
        out.append(EpisodeMatch(police_ref=r.id, reported_missing_at=r.reported_missing_at, returned_at=r.returned_at,
                                matched_on=how, confidence=confidence))
    return out
