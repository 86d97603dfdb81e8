"""Documents rendered from jinja2 templates and kept in the case record."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from models import codes
from models.roles import ROLE_NAMES


def _london(value: Any, fmt: str = "%d/%m/%Y %H:%M") -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(ZoneInfo("Europe/London")).strftime(fmt)


@lru_cache(maxsize=4)
def environment(templates_dir: str) -> Environment:
    env = Environment(
        loader=FileSystemLoader(templates_dir),
        autoescape=select_autoescape(["html", "xml"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["london"] = _london
    env.globals.update(
        sources=codes.CIN_SOURCES,
        factors=codes.CIN_FACTORS,
        themes=codes.THEMES,
        agencies={a.value: n for a, n in codes.AGENCY_NAMES.items()},
        outcomes={o.value: n for o, n in codes.OUTCOME_NAMES.items()},
        levels=codes.LEVEL_NAMES,
        routes={r.value: n for r, n in codes.ROUTE_NAMES.items()},
        extension_reasons={r.value: n for r, n in codes.EXTENSION_REASON_NAMES.items()},
        role_names={r.value: n for r, n in ROLE_NAMES.items()},
    )
    return env


def render(templates_dir: Path, template: str, **context: Any) -> str:
    return environment(str(templates_dir)).get_template(template).render(**context)
