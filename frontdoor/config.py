"""All configuration in one place: environment variables with the FRONTDOOR_ prefix.

Every address (Temporal, database, web) and every timescale is read here and nowhere
else, so a deployment changes behaviour without touching code.
"""

from __future__ import annotations

import base64
import os
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import time, timedelta
from functools import cached_property
from pathlib import Path
from typing import Any

from models.caseload import CaseloadTargets, parse_targets
from models.signing import Keyring, SigningKeyError, keyring_from_text
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


_TIME_OF_DAY = re.compile(r"^\s*([01]?[0-9]|2[0-3]):([0-5][0-9])\s*$")


def parse_time_of_day(text: str, *, name: str = "time") -> time:
    """Parse a local time of day, '09:30' or '9:30' (24-hour clock)."""
    match = _TIME_OF_DAY.match(str(text))
    if not match:
        raise ConfigError(f"{name}={text!r} is not a time of day: use HH:MM on the 24-hour clock, e.g. 09:30")
    return time(int(match.group(1)), int(match.group(2)))


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


def _bounded_int(name: str, default: int, low: int, high: int) -> int:
    value = _int(name, default)
    if not low <= value <= high:
        raise ConfigError(f"FRONTDOOR_{name}={value} is out of range: give a whole number from {low} to {high}")
    return value


def _bool(name: str, default: bool = False) -> bool:
    raw = _env(name)
    if raw is None:
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def _duration(name: str, default: str) -> timedelta:
    return parse_duration(_env(name, default) or default, name=f"FRONTDOOR_{name}")


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
        elif inner is time:
            overrides[field_name] = parse_time_of_day(raw, name=f"FRONTDOOR_{env_name}")
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
    # the supervisor's lists asked at once: 1 on the dev server's SQLite visibility (in turn is
    # steadier there: bench/README.md); more on a cluster whose visibility store answers in parallel
    stuck_queries_at_once: int = 1
    action_timeout: timedelta = timedelta(seconds=10)  # an action not done by then answers "still being carried out"
    max_body_bytes: int = 1_048_576  # a request body larger than this is refused (413)
    missing_lead: str | None = None  # FRONTDOOR_MISSING_LEAD: the designated worker who holds missing episodes
    # the audit programme and caseloads (issue 12)
    audit_tool: Path = REPO_ROOT / "config" / "audit_tool.json"
    caseload_targets: CaseloadTargets = field(default_factory=CaseloadTargets)
    caseload_snapshot_at: tuple[int, int] = (18, 0)  # service-local time of the daily caseload snapshot
    report_snapshot_at: tuple[int, int] = (6, 0)  # service-local time of the daily key report figures snapshot
    # secrets and sign-in (see _secret, Security in README.md)
    signing_key: str | None = None
    signing_key_id: str = "local-1"
    signing_old_keys: str | None = None
    signature_max_age: timedelta = timedelta(minutes=5)
    secret_key: str | None = None
    codec_allow_plaintext: bool = False
    secure_cookies: bool | None = None  # None: secure when the request came over https
    trusted_proxies: str = "127.0.0.1"
    session_idle: timedelta = timedelta(minutes=30)
    session_max: timedelta = timedelta(hours=10)
    signin_window: timedelta = timedelta(minutes=15)
    signin_per_person: int = 5
    signin_per_address: int = 30
    password_min_length: int = 12

    @property
    def encryption_key_file(self) -> Path:
        return self.var_dir / "encryption.key"

    @property
    def signing_key_file(self) -> Path:
        return self.var_dir / "signing.key"

    @property
    def secret_key_file(self) -> Path:
        return self.var_dir / "secret.key"

    @cached_property
    def encryption_key_text(self) -> str:
        """The payload codec key (base64): from the environment or its _FILE, else var/encryption.key."""
        return self.encryption_key or ensure_secret_file(self.encryption_key_file, _random_key)

    @cached_property
    def signing_keyring(self) -> Keyring:
        """The keys that sign actors (models/signing.py): the current one and old ones that still verify."""
        text = self.signing_key or ensure_secret_file(self.signing_key_file, _random_key)
        try:
            return keyring_from_text(self.signing_key_id, text, self.signing_old_keys)
        except SigningKeyError as exc:
            raise ConfigError(str(exc)) from None

    @cached_property
    def web_secret_key(self) -> str:
        """Signs the web app's session cookies: FRONTDOOR_SECRET_KEY(_FILE), else var/secret.key."""
        return self.secret_key or ensure_secret_file(self.secret_key_file, lambda: secrets.token_urlsafe(48))


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
        encryption_key=_secret("ENCRYPTION_KEY"),
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
        stuck_queries_at_once=_bounded_int("STUCK_QUERIES_AT_ONCE", 1, 1, 32),
        action_timeout=_duration("ACTION_TIMEOUT", "10s"),
        max_body_bytes=_int("MAX_BODY_BYTES", 1_048_576),
        missing_lead=(_env("MISSING_LEAD") or "").strip() or None,
        **_caseload_settings(),
        **_security_settings(),
    )


def _caseload_settings() -> dict[str, Any]:
    """FRONTDOOR_AUDIT_TOOL, FRONTDOOR_CASELOAD_TARGETS (role=number,...: over the defaults),
    FRONTDOOR_CASELOAD_AMBER (the share of the target where amber begins) and
    FRONTDOOR_CASELOAD_SNAPSHOT_AT (HH:MM, the daily snapshot) and FRONTDOOR_REPORT_SNAPSHOT_AT
    (HH:MM, the daily key report figures)."""
    targets = CaseloadTargets()
    raw = _env("CASELOAD_TARGETS")
    if raw:
        try:
            targets.targets.update(parse_targets(raw))
        except ValueError as exc:
            raise ConfigError(f"FRONTDOOR_CASELOAD_TARGETS: {exc}") from None
    amber = _env("CASELOAD_AMBER")
    if amber:
        try:
            targets = targets.model_copy(update={"amber_share": float(amber)})
            CaseloadTargets.model_validate(targets.model_dump())
        except ValueError:
            raise ConfigError(f"FRONTDOOR_CASELOAD_AMBER={amber!r}: a share of the target above 0 and at most 1, e.g. 0.8") from None
    tool = _env("AUDIT_TOOL")
    return dict(audit_tool=Path(tool) if tool else REPO_ROOT / "config" / "audit_tool.json",
                caseload_targets=targets, caseload_snapshot_at=_time_of_day("CASELOAD_SNAPSHOT_AT", "18:00"),
                report_snapshot_at=_time_of_day("REPORT_SNAPSHOT_AT", "06:00"))


def _time_of_day(name: str, default: str) -> tuple[int, int]:
    """FRONTDOOR_<name> as HH:MM (the daily snapshots' times: CASELOAD_SNAPSHOT_AT, REPORT_SNAPSHOT_AT)."""
    at = (_env(name) or default).strip()
    hour, _, minute = at.partition(":")
    if not (hour.isdigit() and minute.isdigit() and int(hour) < 24 and int(minute) < 60):
        raise ConfigError(f"FRONTDOOR_{name}={at!r}: a time of day as HH:MM, e.g. {default}")
    return int(hour), int(minute)


# ---------------------------------------------------------------------- secrets
def _random_key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


def ensure_var_dir(var_dir: Path) -> Path:
    """var/ holds the database, logs and keys: only its owner may enter it."""
    var_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    var_dir.chmod(0o700)
    return var_dir


def ensure_secret_file(path: Path, make: Callable[[], str]) -> str:
    """Return the secret kept in `path`, generating it once (mode 0600) when it is missing.

    Written to a temporary file and linked into place, so two processes starting at the
    same moment agree on one key and neither reads a half-written file."""
    if not path.exists():
        ensure_var_dir(path.parent)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as f:
                f.write(make() + "\n")
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass  # another process made it first: use theirs
        finally:
            tmp.unlink(missing_ok=True)
    text = path.read_text().strip()
    if not text:
        raise ConfigError(f"{path} is empty: delete it to have a new key generated, or restore it from your backup")
    return text


def _secret(name: str) -> str | None:
    """A secret from FRONTDOOR_{name}, or from the file FRONTDOOR_{name}_FILE names (a secret
    store's mounted file in production). None when neither is set."""
    value, file_name = _env(name), _env(f"{name}_FILE")
    if value and file_name:
        raise ConfigError(f"set FRONTDOOR_{name} or FRONTDOOR_{name}_FILE, not both")
    if not file_name:
        return value or None
    path = Path(file_name)
    try:
        text = path.read_text().strip()
    except OSError as exc:
        raise ConfigError(f"FRONTDOOR_{name}_FILE={file_name}: cannot read it ({exc.strerror}); check the path and its permissions") from None
    if not text:
        raise ConfigError(f"FRONTDOOR_{name}_FILE={file_name} is empty")
    return text


def _tristate(name: str) -> bool | None:
    raw = (_env(name) or "auto").strip().lower()
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    if raw == "auto":
        return None
    raise ConfigError(f"FRONTDOOR_{name}={raw!r}: use on, off or auto")


def _security_settings() -> dict[str, Any]:
    idle, longest = _duration("SESSION_IDLE", "30m"), _duration("SESSION_MAX", "10h")
    if idle > longest:
        raise ConfigError("FRONTDOOR_SESSION_IDLE must not be longer than FRONTDOOR_SESSION_MAX")
    limits = {name: _int(name, default) for name, default in
              (("SIGNIN_PER_PERSON", 5), ("SIGNIN_PER_ADDRESS", 30), ("PASSWORD_MIN_LENGTH", 12))}
    for name, value in limits.items():
        if not 1 <= value <= 1000:
            raise ConfigError(f"FRONTDOOR_{name}={value}: use a whole number from 1 to 1000")
    return dict(
        signing_key=_secret("SIGNING_KEY"),
        signing_key_id=_env("SIGNING_KEY_ID", "local-1") or "local-1",
        signing_old_keys=_env("SIGNING_OLD_KEYS"),
        signature_max_age=_duration("SIGNATURE_MAX_AGE", "5m"),
        secret_key=_secret("SECRET_KEY"),
        codec_allow_plaintext=_bool("CODEC_ALLOW_PLAINTEXT"),
        secure_cookies=_tristate("SECURE_COOKIES"),
        trusted_proxies=_env("TRUSTED_PROXIES", "127.0.0.1") or "127.0.0.1",
        session_idle=idle,
        session_max=longest,
        signin_window=_duration("SIGNIN_WINDOW", "15m"),
        signin_per_person=limits["SIGNIN_PER_PERSON"],
        signin_per_address=limits["SIGNIN_PER_ADDRESS"],
        password_min_length=limits["PASSWORD_MIN_LENGTH"],
    )
