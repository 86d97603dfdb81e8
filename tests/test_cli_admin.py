"""`frontdoor users ...` and `frontdoor trail ...` as an administrator runs them: real
processes on a real SQLite case record."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

from activities.records import append_action
from models.database import init_db, session
from models.messages import ActionEntry

ROOT = Path(__file__).resolve().parent.parent


def cli(tmp_path: Path, *args: str, stdin: str | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("FRONTDOOR_", "DATABASE_URL"))}
    return subprocess.run(
        [sys.executable, "-m", "frontdoor.cli", *args], cwd=ROOT, input=stdin, capture_output=True, text=True, timeout=60,
        env=base | {"FRONTDOOR_VAR_DIR": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path / 'fd.db'}"} | env,
    )


def test_people_passwords_and_tokens_from_the_command_line(tmp_path: Path) -> None:
    weak = cli(tmp_path, "users", "add", "ann", "--role", "social_worker", "--password", "a")
    assert weak.returncode == 1 and "too weak" in weak.stderr and "at least 12" in weak.stderr
    added = cli(tmp_path, "users", "add", "ann", "--role", "social_worker", "--password-stdin", stdin="ferry lantern moss 42\n")
    assert added.returncode == 0, added.stderr
    assert "API token 'default'" in added.stdout and "fd_" in added.stdout

    issued = cli(tmp_path, "users", "token", "ann", "--label", "laptop")
    assert issued.returncode == 0 and issued.stdout.strip().splitlines()[-1].startswith("fd_")
    again = cli(tmp_path, "users", "token", "ann", "--label", "laptop")
    assert again.returncode == 1 and "already has a token labelled 'laptop'" in again.stderr
    listed = cli(tmp_path, "users", "tokens", "ann").stdout
    assert "default" in listed and "laptop" in listed and listed.count("live") == 2
    assert "revoked token 'laptop'" in cli(tmp_path, "users", "revoke", "ann", "--label", "laptop").stdout

    weak = cli(tmp_path, "users", "password", "ann", "--password-stdin", stdin="ann-password-1\n")
    assert weak.returncode == 1 and "contains the username" in weak.stderr

    disabled = cli(tmp_path, "users", "disable", "ann")
    assert disabled.returncode == 0 and "1 token(s) revoked" in disabled.stdout
    assert "DISABLED" in cli(tmp_path, "users", "list").stdout
    refused = cli(tmp_path, "users", "token", "ann", "--label", "new")
    assert refused.returncode == 1 and "disabled" in refused.stderr


def test_trail_verify_reports_tampering_and_exits_1(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fd.db'}"
    init_db(url)
    with session(url) as s:
        for case in ("C-A", "C-B"):
            for n in range(3):
                append_action(s, ActionEntry(
                    idempotency_key=f"{case}/{n}/{uuid.uuid4().hex[:6]}", subject_id=case, workflow_id=f"contact-{case}",
                    actor="sam", role="social_worker", at=datetime.now(UTC), action=f"step_{n}",
                ))
    clean = cli(tmp_path, "trail", "verify")
    assert clean.returncode == 0 and "trail OK: 2 case(s), 6 row(s)" in clean.stdout, clean.stdout + clean.stderr
    heads = cli(tmp_path, "trail", "heads")
    assert set(json.loads(heads.stdout)["heads"]) == {"C-A", "C-B"}
    (tmp_path / "heads.json").write_text(heads.stdout)

    db = sqlite3.connect(tmp_path / "fd.db")  # an attacker with the file
    db.execute("DROP TRIGGER actions_no_update")
    db.execute("UPDATE actions SET actor = 'mallory' WHERE subject_id = 'C-B' AND seq = 2")
    db.commit()
    db.close()
    found = cli(tmp_path, "trail", "verify")
    assert found.returncode == 1
    assert "TRAIL PROBLEMS: 1 problem(s) in 1 case(s)" in found.stdout
    assert "C-B seq 2" in found.stdout and "EDITED" in found.stdout
    assert cli(tmp_path, "trail", "verify", "C-A").returncode == 0
    assert cli(tmp_path, "trail", "verify", "C-B", "--heads", str(tmp_path / "heads.json")).returncode == 1
