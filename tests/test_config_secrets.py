"""Secrets come from the environment, from a file a secret store mounts (..._FILE), or are
generated once in var/ (0600, in a 0700 directory); nothing else reads them."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest

from frontdoor.config import ConfigError, load_settings
from frontdoor.temporal import codec_from_settings

KEY = base64.b64encode(os.urandom(32)).decode()
OLD = base64.b64encode(os.urandom(32)).decode()


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    for name in list(os.environ):
        if name.startswith("FRONTDOOR_") or name == "DATABASE_URL":
            monkeypatch.delenv(name)
    monkeypatch.setenv("FRONTDOOR_VAR_DIR", str(tmp_path / "var"))
    return monkeypatch


def test_keys_are_generated_once_in_a_private_var(env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    s = load_settings()
    ring, secret, codec_key = s.signing_keyring, s.web_secret_key, s.encryption_key_text
    var = tmp_path / "var"
    assert stat.S_IMODE(var.stat().st_mode) == 0o700
    for name in ("signing.key", "secret.key", "encryption.key"):
        assert stat.S_IMODE((var / name).stat().st_mode) == 0o600
    again = load_settings()
    assert again.signing_keyring == ring and again.web_secret_key == secret and again.encryption_key_text == codec_key
    assert ring.signing_key_id == "local-1" and len(ring.signing_key) == 32


def test_keys_from_the_environment_or_from_files(env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    env.setenv("FRONTDOOR_SIGNING_KEY", KEY)
    env.setenv("FRONTDOOR_SIGNING_KEY_ID", "2026-11")
    env.setenv("FRONTDOOR_SIGNING_OLD_KEYS", f"2026-05:{OLD}")
    (tmp_path / "enc").write_text(KEY + "\n")
    (tmp_path / "web").write_text("a web secret from the store\n")
    env.setenv("FRONTDOOR_ENCRYPTION_KEY_FILE", str(tmp_path / "enc"))
    env.setenv("FRONTDOOR_SECRET_KEY_FILE", str(tmp_path / "web"))
    env.setenv("FRONTDOOR_CODEC_ALLOW_PLAINTEXT", "1")
    s = load_settings()
    assert s.signing_keyring.signing_key_id == "2026-11"
    assert s.signing_keyring.keys["2026-05"] == base64.b64decode(OLD)
    assert s.encryption_key == KEY and s.web_secret_key == "a web secret from the store"
    assert codec_from_settings(s).allow_plaintext is True
    assert not (tmp_path / "var" / "signing.key").exists()  # nothing generated when keys are given


def test_bad_secret_settings_say_what_to_do(env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    env.setenv("FRONTDOOR_SIGNING_KEY", KEY)
    env.setenv("FRONTDOOR_SIGNING_KEY_FILE", str(tmp_path / "k"))
    with pytest.raises(ConfigError, match="not both"):
        load_settings()
    env.delenv("FRONTDOOR_SIGNING_KEY")
    with pytest.raises(ConfigError, match="cannot read it"):
        load_settings()
    (tmp_path / "k").write_text("short\n")
    with pytest.raises(ConfigError, match="not base64|at least 32"):
        _ = load_settings().signing_keyring
    env.delenv("FRONTDOOR_SIGNING_KEY_FILE")
    env.setenv("FRONTDOOR_SECURE_COOKIES", "sometimes")
    with pytest.raises(ConfigError, match="on, off or auto"):
        load_settings()
    env.setenv("FRONTDOOR_SECURE_COOKIES", "on")
    env.setenv("FRONTDOOR_SESSION_IDLE", "11h")
    with pytest.raises(ConfigError, match="SESSION_IDLE must not be longer"):
        load_settings()
    env.setenv("FRONTDOOR_SESSION_IDLE", "20m")
    s = load_settings()
    assert s.secure_cookies is True and s.session_idle.total_seconds() == 1200


def test_the_supervisors_lists_in_flight_at_once_is_bounded(env: pytest.MonkeyPatch) -> None:
    assert load_settings().stuck_queries_at_once == 1  # in turn on the dev server's SQLite visibility
    env.setenv("FRONTDOOR_STUCK_QUERIES_AT_ONCE", "8")
    assert load_settings().stuck_queries_at_once == 8
    for wrong, says in (("0", "from 1 to 32"), ("1000", "from 1 to 32"), ("many", "not a whole number")):
        env.setenv("FRONTDOOR_STUCK_QUERIES_AT_ONCE", wrong)
        with pytest.raises(ConfigError, match=says):
            load_settings()
