"""All configuration in one place: environment variables with the FRONTDOOR_ prefix.

Every address (Temporal, database, web) and every timescale is read here and nowhere
else, so a deployment changes behaviour without touching code.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from models.timescales import Span, Timescales

REPO_ROOT = Path(__file__).resolve().parent.parent

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


class ConfigError(ValueError):
    """A setting has a value we cannot use; the message says which and how to fix it."""


def parse_duration(text: str, *, name: str = "duration") -> timedelta:
    """Parse '24h', '90m', '5s', '2d', '1.5h' or a bare number of seconds."""
    match = _DURATION.match(str(text))
    if not match:
        raise ConfigError(
            f"{name}={text!r} is not a duration: use a number with a unit, e.g. 24h, 90m, 5s, 2d"
        )
    value, unit = match.groups()
    seconds = float(value) * _UNITS[unit or "s"]
    if seconds <= 0:
        raise ConfigError(f"{name}={text!r} must be longer than zero")
    return timedelta(seconds=seconds)


def format_duration(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{days}d" if days else "", f"{hours}h" if hours else "", f"{minutes}m" if minutes else ""]
    text = "".join(parts) or f"{secs}s"
    return sign + text


def parse_span(text: str, *, name: str = "timescale") -> Span:
    """Parse a step's timescale: '2wd' is two working days (weekends and bank holidays
    excluded); anything else is a plain duration ('10m', '4h'), for demonstrations."""
    raw = str(text).strip().lower()
    if raw.endswith("wd"):
        try:
            days = int(raw[:-2])
        except ValueError:
            raise ConfigError(f"{name}={text!r}: give whole working days, e.g. 1wd, 5wd") from None
        if days < 0:
            raise ConfigError(f"{name}={text!r} must not be negative")
        return Span(working_days=days)
    return Span(working_days=0, duration=parse_duration(raw, name=name))


RUN_ENV = "run.env"
CARRIED = ("FRONTDOOR_", "TEMPORAL_", "DATABASE_URL")

# Settings `frontdoor run` was started with (var/run.env): every frontdoor command on this
# machine then runs to the same timescales and addresses as the stack, unless its own
# environment says otherwise.
_overlay: dict[str, str] = {}


def _lookup(full_name: str, default: str | None = None) -> str | None:
    value = os.environ.get(full_name)
    if value is None:
        value = _overlay.get(full_name, default)
    return value


def _env(name: str, default: str | None = None) -> str | None:
    return _lookup(f"FRONTDOOR_{name}", default)


def write_run_env(var_dir: Path, environ: dict[str, str]) -> Path:
    """Record the stack's own settings for the other frontdoor commands (see _overlay)."""
    path = var_dir / RUN_ENV
    lines = [f"{k}={v}" for k, v in sorted(environ.items()) if k.startswith(CARRIED) and "\n" not in v and k != "FRONTDOOR_VAR_DIR"]
    path.write_text("# written by `frontdoor run`; removed when it stops\n" + "\n".join(lines) + "\n")
    path.chmod(0o600)
    return path


def read_run_env(var_dir: Path) -> dict[str, str]:
    path = var_dir / RUN_ENV
    if not path.exists():
        return {}
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line and not line.startswith("#"))
    return {k.strip(): v for k, v in pairs}


def _int(name: str, default: int) -> int:
    raw = _env(name)
    try:
        return int(raw) if raw is not None else default
    except ValueError:
        raise ConfigError(f"FRONTDOOR_{name}={raw!r} is not a whole number, e.g. {default}") from None


def _bool(name: str, default: bool = False) -> bool:
    raw = _env(name)
    if raw is None:
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def read_timescales() -> Timescales:
    """Timescales from FRONTDOOR_<FIELD> variables (e.g. FRONTDOOR_DECISION_DEADLINE=24h);
    what is not set keeps its default, stated once in models/timescales.py."""
    overrides: dict[str, object] = {}
    for field_name, info in Timescales.model_fields.items():
        env_name = field_name.upper()
        raw = _env(env_name)
        if raw is None:
            continue
        inner = info.annotation
        if inner in (timedelta, timedelta | None):
            overrides[field_name] = parse_duration(raw, name=f"FRONTDOOR_{env_name}")
        elif inner is Span:
            overrides[field_name] = parse_span(raw, name=f"FRONTDOOR_{env_name}")
        else:
            overrides[field_name] = _int(env_name, int(info.default or 1))
    return Timescales(**overrides)  # type: ignore[arg-type]


@dataclass(frozen=True)
class TemporalSettings:
    address: str = "127.0.0.1:7233"
    namespace: str = "default"
    task_queue: str = "frontdoor"
    tls: bool = False
    tls_ca_cert: Path | None = None
    tls_client_cert: Path | None = None
    tls_client_key: Path | None = None
    tls_server_name: str | None = None
    api_key: str | None = None
    ui_url: str = "http://127.0.0.1:8233"


@dataclass(frozen=True)
class Settings:
    temporal: TemporalSettings = field(default_factory=TemporalSettings)
    database_url: str = ""
    var_dir: Path = REPO_ROOT / "var"
    encryption_key: str | None = None
    encryption_key_id: str = "local-1"
    encryption_old_keys: str | None = None
    timescales: Timescales = field(default_factory=Timescales)
    threshold_rules: Path = REPO_ROOT / "config" / "threshold_rules.json"
    templates_dir: Path = REPO_ROOT / "templates"
    timezone: str = "Europe/London"
    early_help_quadrants: tuple[str, ...] = ("north_west", "north_east", "south_west", "south_east")
    web_host: str = "127.0.0.1"
    web_port: int = 8000
    seed_demo_users: bool = False
    worker_cache: int = 200

    @property
    def encryption_key_file(self) -> Path:
        return self.var_dir / "encryption.key"


def load_settings() -> Settings:
    """Read the environment. Raises ConfigError with a fix-it message on bad values."""
    global _overlay
    var_dir = Path(os.environ.get("FRONTDOOR_VAR_DIR") or str(REPO_ROOT / "var")).resolve()
    _overlay = read_run_env(var_dir)
    database_url = _lookup("DATABASE_URL") or _env("DATABASE_URL") or f"sqlite:///{var_dir / 'frontdoor.db'}"

    def _path(name: str) -> Path | None:
        raw = _env(name)
        return Path(raw) if raw else None

    tls_ca, tls_cert, tls_key = _path("TEMPORAL_TLS_CA"), _path("TEMPORAL_TLS_CERT"), _path("TEMPORAL_TLS_KEY")
    temporal = TemporalSettings(
        address=_lookup("TEMPORAL_ADDRESS") or _env("TEMPORAL_ADDRESS", "127.0.0.1:7233") or "",
        namespace=_lookup("TEMPORAL_NAMESPACE") or _env("TEMPORAL_NAMESPACE", "default") or "default",
        task_queue=_env("TASK_QUEUE", "frontdoor") or "frontdoor",
        tls=_bool("TEMPORAL_TLS") or bool(tls_ca or tls_cert),
        tls_ca_cert=tls_ca,
        tls_client_cert=tls_cert,
        tls_client_key=tls_key,
        tls_server_name=_env("TEMPORAL_TLS_SERVER_NAME"),
        api_key=_lookup("TEMPORAL_API_KEY") or _env("TEMPORAL_API_KEY"),
        ui_url=_env("TEMPORAL_UI_URL", "http://127.0.0.1:8233") or "",
    )
    if bool(tls_cert) != bool(tls_key):
        raise ConfigError(
            "FRONTDOOR_TEMPORAL_TLS_CERT and FRONTDOOR_TEMPORAL_TLS_KEY go together: set both for mTLS, or neither"
        )
    timescales = read_timescales()
    quadrants = tuple(q.strip() for q in (_env("EARLY_HELP_QUADRANTS") or "").split(",") if q.strip())
    try:
        web_port = int(_env("WEB_PORT", "8000") or 8000)
    except ValueError as exc:
        raise ConfigError("FRONTDOOR_WEB_PORT must be a port number, e.g. 8000") from exc
    return Settings(
        temporal=temporal,
        database_url=database_url,
        var_dir=var_dir,
        encryption_key=_env("ENCRYPTION_KEY"),
        encryption_key_id=_env("ENCRYPTION_KEY_ID", "local-1") or "local-1",
        encryption_old_keys=_env("ENCRYPTION_OLD_KEYS"),
        timescales=timescales,
        threshold_rules=Path(_env("THRESHOLD_RULES", str(REPO_ROOT / "config" / "threshold_rules.json")) or ""),
        templates_dir=Path(_env("TEMPLATES_DIR", str(REPO_ROOT / "templates")) or ""),
        timezone=_env("TIMEZONE", "Europe/London") or "Europe/London",
        early_help_quadrants=quadrants or Settings.early_help_quadrants,
        web_host=_env("WEB_HOST", "127.0.0.1") or "127.0.0.1",
        web_port=web_port,
        seed_demo_users=_bool("SEED_DEMO_USERS"),
        worker_cache=_int("WORKER_CACHE", 200),
    )
