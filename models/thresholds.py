"""Threshold guidance as data: a rule table suggests a level of need.

The table lives in a JSON file the service edits (config/threshold_rules.json); this
module only reads and applies it. Suggestions advise; a person decides.

The same file says when a concern theme is a recurring pattern (`recurring`): a theme of
this contact that appeared in an earlier contact within the look-back window (default
12 months, counted back from this contact's receipt) recurs, counting this contact ("2nd
domestic abuse contact in 12 months"); a theme in two or more earlier contacts within
the window recurs even when this contact does not carry it (continuing harm).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from models.bounds import RECURRING_LOOKBACK_MONTHS, months_before
from models.codes import CIN_FACTORS, THEMES, LevelOfNeed
from models.state import HistoryMatch, RecurringPattern, ThresholdSuggestion

_CACHE: dict[Path, tuple[int, ThresholdRules]] = {}


class RecurringRule(BaseModel):
    """When a theme is a recurring pattern. Pure: the same matches give the same patterns."""

    model_config = ConfigDict(extra="forbid")  # a misspelt setting is an error, not a silent default
    lookback_months: int = Field(default=RECURRING_LOOKBACK_MONTHS, ge=1, le=120)
    min_earlier_when_present: int = Field(default=1, ge=1, description="earlier contacts with a theme this contact carries")
    min_earlier_when_absent: int = Field(default=2, ge=1, description="earlier contacts with a theme this contact does not carry")
    description: str | None = None

    def window_start(self, received_at: datetime) -> datetime:
        return months_before(received_at, self.lookback_months)

    def patterns(
        self, matches: Iterable[HistoryMatch], themes_now: Iterable[str], received_at: datetime
    ) -> list[RecurringPattern]:
        """The recurring themes among `matches` (earlier contacts about this contact's
        children) for a contact carrying `themes_now`, received at `received_at`.

        An earlier contact counts when received within the window and not after this
        contact; one matched for several children counts once.
        """
        since = self.window_start(received_at)
        now = set(themes_now)
        when: dict[str, datetime] = {}
        by_theme: dict[str, set[str]] = defaultdict(set)
        children: dict[str, set[int]] = defaultdict(set)
        for m in matches:
            if not since <= m.received_at <= received_at:
                continue
            when[m.earlier_contact_id] = m.received_at
            for theme in m.themes:
                by_theme[theme].add(m.earlier_contact_id)
                children[theme].add(m.child_index)
        out = []
        for theme in sorted(by_theme):
            ids, present = by_theme[theme], theme in now
            if len(ids) < (self.min_earlier_when_present if present else self.min_earlier_when_absent):
                continue
            out.append(
                RecurringPattern(
                    theme=theme,
                    occurrences=len(ids) + (1 if present else 0),
                    contact_ids=sorted(ids, key=lambda i: (when[i], i)),
                    includes_this_contact=present,
                    window_months=self.lookback_months,
                    child_indexes=sorted(children[theme]),
                )
            )
        return out


class ThresholdRule(BaseModel):
    id: str
    level: LevelOfNeed
    reason: str
    any_factors: list[str] = Field(default_factory=list)
    recurring_theme: str | None = None
    min_earlier_contacts: int | None = None

    @model_validator(mode="after")
    def _valid(self) -> ThresholdRule:
        if not (self.any_factors or self.recurring_theme or self.min_earlier_contacts):
            raise ValueError(f"rule {self.id!r} has no condition (any_factors, recurring_theme, min_earlier_contacts)")
        unknown = [f for f in self.any_factors if f not in CIN_FACTORS]
        if unknown:
            raise ValueError(f"rule {self.id!r} names unknown CIN factors {unknown}")
        if self.recurring_theme and self.recurring_theme not in THEMES:
            raise ValueError(f"rule {self.id!r} names unknown theme {self.recurring_theme!r}; themes: {sorted(THEMES)}")
        return self

    def matches(self, factors: set[str], recurring: set[str], earlier_contacts: int) -> bool:
        if self.any_factors and not factors.intersection(self.any_factors):
            return False
        if self.recurring_theme and self.recurring_theme not in recurring:
            return False
        if self.min_earlier_contacts and earlier_contacts < self.min_earlier_contacts:
            return False
        return True


class ThresholdRules(BaseModel):
    default_level: LevelOfNeed = LevelOfNeed.EARLY_HELP
    rules: list[ThresholdRule]
    recurring: RecurringRule = Field(default_factory=RecurringRule)
    description: str | None = None

    @classmethod
    def current(cls, path: Path) -> ThresholdRules:
        """The rules as the file stands now, parsed once per change of the file."""
        try:
            stamp = path.stat().st_mtime_ns
        except FileNotFoundError:
            return cls.load(path)  # raises the fix-it message
        cached = _CACHE.get(path)
        if cached is None or cached[0] != stamp:
            cached = (stamp, cls.load(path))
            _CACHE[path] = cached
        return cached[1]

    @classmethod
    def load(cls, path: Path) -> ThresholdRules:
        try:
            return cls.model_validate(json.loads(path.read_text()))
        except FileNotFoundError as exc:
            raise ValueError(f"threshold rules file {path} not found: set FRONTDOOR_THRESHOLD_RULES") from exc

    def suggest(
        self, factors: Iterable[str], recurring_themes: Iterable[str], earlier_contacts: int
    ) -> ThresholdSuggestion:
        fs, rs = set(factors), set(recurring_themes)
        hits = [r for r in self.rules if r.matches(fs, rs, earlier_contacts)]
        if not hits:
            return ThresholdSuggestion(level=self.default_level, reasons=["No rule matched: default level"])
        level = max(r.level for r in hits)
        top = [r for r in hits if r.level == level]
        return ThresholdSuggestion(
            level=LevelOfNeed(level), reasons=[r.reason for r in top], rule_ids=[r.id for r in top]
        )
