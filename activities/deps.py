"""What activities need from the deployment: addresses and settings, given once by the worker."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from activities.outbox import Outbox
from models.calendar import WorkingCalendar
from models.report_snapshot import KeyFigures


@dataclass(frozen=True)
class Deps:
    database_url: str
    templates_dir: Path
    rules_path: Path  # the threshold rules (config/threshold_rules.json)
    outbox: Outbox  # the one external edge: agencies' mailboxes, team inboxes
    timezone: str = "Europe/London"
    quadrants: tuple[str, ...] = ("north_west", "north_east", "south_west", "south_east")
    audit_tool: Path | None = None  # config/audit_tool.json when not set (FRONTDOOR_AUDIT_TOOL)
    key_figures: KeyFigures | None = None  # the reports' key figures (the worker wires frontdoor/report_figures)


class Activities:
    """The one shape of every activities class: the worker makes one with the deployment's Deps
    and registers its `@activity.defn` methods, which read what they need from `self.deps`.
    `calendar` is the service's working days and time zone (`calendar.zone`)."""

    def __init__(self, deps: Deps) -> None:
        self.deps = deps
        self.calendar = WorkingCalendar(deps.timezone)
