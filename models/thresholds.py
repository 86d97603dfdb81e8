"""Threshold guidance as data: a rule table suggests a level of need.

The table lives in a JSON file the service edits (config/threshold_rules.json); this
module only reads and applies it. Suggestions advise; a person decides.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from pydantic import BaseModel, Field, model_validator

from models.codes import CIN_FACTORS, THEMES, LevelOfNeed
from models.state import ThresholdSuggestion

_CACHE: dict[Path, tuple[int, ThresholdRules]] = {}


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
