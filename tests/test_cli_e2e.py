"""One whole contact end to end through the `frontdoor` command, as a newcomer would
drive it: real processes against the real dev server and database."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from sqlmodel import select

from models import signing
from models.access import AccessRecord
from models.database import session
from tests.conftest import TEST_KEY, running_worker

ROOT = Path(__file__).resolve().parent.parent


class Cli:
    def __init__(self, env: dict[str, str]) -> None:
        self.env = env

    def run(self, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [sys.executable, "-m", "frontdoor.cli", *args], env=self.env, cwd=ROOT,
            capture_output=True, text=True, timeout=60,
        )
        if ok and proc.returncode != 0:
            raise AssertionError(f"frontdoor {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}{proc.stdout}")
        return proc

    async def __call__(self, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        # in a thread: the worker under test shares this event loop
        return await asyncio.to_thread(self.run, *args, ok=ok)

    async def json(self, *args: str) -> dict:
        return json.loads((await self(*args, "--json")).stdout)


def earlier_contacts_as_of_now(tmp_path: Path) -> Path:
    """examples/earlier_contacts.json moved in time with the contact (submitted `--now`), so
    they stay within the 12-month look-back window as the calendar moves on."""
    example = json.loads((ROOT / "examples" / "police_domestic_abuse.json").read_text())
    shift = datetime.now(UTC) - datetime.fromisoformat(example["received_at"])
    items = json.loads((ROOT / "examples" / "earlier_contacts.json").read_text())
    for item in items:
        for key in ("received_at", "police_attendance_at"):
            if item.get(key):
                item[key] = (datetime.fromisoformat(item[key]) + shift).isoformat()
    path = tmp_path / "earlier_contacts.json"
    path.write_text(json.dumps(items))
    return path


async def poll(cli: Cli, contact_id: str, stage: str, reader: str, timeout: float = 20) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        state = await cli.json("contact", "show", contact_id, "--as", reader)
        if state["stage"] == stage:
            return state
        if time.monotonic() > deadline:
            raise AssertionError(f"{contact_id} stayed at {state['stage']}, expected {stage}")
        await asyncio.sleep(0.3)


async def test_a_contact_from_submission_to_handoff_through_the_cli(dev_env, settings, task_queue, tmp_path):
    suffix = uuid.uuid4().hex[:6]
    rita, sam, tom = f"rita{suffix}", f"sam{suffix}", f"tom{suffix}"
    cid = f"C-E2E-{suffix}"
    cli = Cli(
        dict(
            os.environ,
            TEMPORAL_ADDRESS=dev_env.client.service_client.config.target_host,
            TEMPORAL_NAMESPACE=dev_env.client.namespace,
            FRONTDOOR_TASK_QUEUE=task_queue,
            DATABASE_URL=settings.database_url,
            FRONTDOOR_VAR_DIR=str(tmp_path),
            FRONTDOOR_ENCRYPTION_KEY=base64.b64encode(TEST_KEY).decode(),
            FRONTDOOR_ENCRYPTION_KEY_ID="test-1",
            # the worker here verifies actors with the suite's signing key: the CLI signs with it
            FRONTDOOR_SIGNING_KEY=base64.b64encode(signing.current().keys[signing.current().signing_key_id]).decode(),
            FRONTDOOR_SIGNING_KEY_ID=signing.current().signing_key_id,
            FRONTDOOR_DECISION_DEADLINE="4s",
        )
    )
    async with running_worker(dev_env.client, settings, task_queue):
        for name, role in ((rita, "rfs_officer"), (sam, "social_worker"), (tom, "team_manager")):
            assert "API token" in (await cli("users", "add", name, "--role", role)).stdout
        await cli("history", "import", str(earlier_contacts_as_of_now(tmp_path)))
        out = (await cli("contact", "submit", "examples/police_domestic_abuse.json", "--as", rita, "--now", "--id", cid)).stdout
        assert f"contact {cid} received, now awaiting triage" in out  # the start's answer: its intake done
        assert "RECURRING PATTERN: 3rd domestic abuse contact" in out  # and the contact as it opened, as `show` prints it
        with session(settings.database_url) as s:  # showing it was a read, logged as `show`'s is
            reads = s.exec(select(AccessRecord).where(AccessRecord.subject_id == cid)).all()
        assert [(r.username, r.channel, r.part) for r in reads] == [(rita, "cli", "state")]

        state = await poll(cli, cid, "awaiting_triage", sam)
        assert state["police_delay_flagged"] is True
        # the two imported contacts are within the window; other tests may have named Amy too
        patterns = {p["theme"]: p for p in state["history"]["recurring"]}
        assert {"domestic_abuse", "neglect"} <= set(patterns)
        assert {"C-2025-000871", "C-2026-000102"} <= set(patterns["domestic_abuse"]["contact_ids"])
        assert "C-2026-000102" in patterns["neglect"]["contact_ids"]
        assert all(p["includes_this_contact"] for p in patterns.values())
        assert patterns["domestic_abuse"]["summary"].endswith("domestic abuse contact in 12 months")
        shown = (await cli("contact", "show", cid, "--as", sam)).stdout
        assert "RECURRING PATTERN: 3rd domestic abuse contact in 12 months" in shown and "LATE" in shown

        refused = await cli("contact", "triage", cid, "--as", tom, "--level", "4", "--route", "spa", "--rationale", "x y z", ok=False)
        assert refused.returncode == 1 and "may not triage" in refused.stderr
        refused = await cli("contact", "triage", cid, "--as", rita, "--level", "4", "--route", "spa", "--rationale", "Repeat DV", ok=False)
        assert "confirm history_considered" in refused.stderr

        await cli("contact", "triage", cid, "--as", rita, "--level", "4", "--route", "spa", "--rationale", "Repeat DV, child present",
            "--history-considered", "--threshold-advice-given-by", sam, "--threshold-advice-advice", "SPA at level 4",
            "--threshold-advice-reasons", "third incident")
        await cli("contact", "review", cid, "--as", sam, "--rag", "red")
        refused = await cli("contact", "request_map_checks", cid, "--as", sam, "--agencies", "police", ok=False)
        assert "no MAP request may be sent until consent" in refused.stderr
        await cli("contact", "override_consent", cid, "--as", tom, "--reason", "risk_of_significant_harm", "--explanation", "Asking father raises risk")
        await cli("contact", "request_map_checks", cid, "--as", sam, "--agencies", "police", "--agencies", "school")
        await cli("contact", "record_map_response", cid, "--as", sam, "--agency", "police", "--information", "Two call-outs this year")
        await cli("contact", "proceed_without_agency", cid, "--as", sam, "--agency", "school", "--reason", "School closed for half term")
        await cli("contact", "recommend", cid, "--as", sam, "--summary", "Third domestic abuse incident with Amy present.", "--recommended-outcome", "strategy_discussion_s47")

        deadline = time.monotonic() + 20
        while True:  # the 4-second decision deadline passes
            overdue = (await cli.json("stuck", "--overdue"))["overdue"]
            if cid in [r["id"] for r in overdue["rows"]]:
                break
            assert time.monotonic() < deadline, "the contact never showed as overdue"
            await asyncio.sleep(0.5)
        row = next(r for r in overdue["rows"] if r["id"] == cid)
        assert row["stage"] == "awaiting_decision" and row["holder"] == sam

        await cli("contact", "decide", cid, "--as", tom, "--outcome", "strategy_discussion_s47", "--rationale", "Recurring DV: s47 threshold met", "--recurring-pattern-considered")
        state = await poll(cli, cid, "closed", sam)
        assert state["handoff"]["team"] == "assessment_team"

        trail = (await cli("contact", "trail", cid, "--as", tom)).stdout
        for action in ("triage", "consent_overridden", "map_requested", "decision_overdue", "management_decision", "handed_off", "closed"):
            assert action in trail
        documents = (await cli("contact", "documents", cid, "--as", sam)).stdout
        assert "Feedback to the referrer" in documents
        assert "team:assessment_team" in (await cli("contact", "messages", cid, "--as", sam)).stdout
        letter = (await cli("contact", "documents", cid, "--doc-id", f"contact-{cid}/handoff/referrer-feedback", "--as", rita)).stdout
        assert "Dear PC Jane Smith" in letter


def test_help_and_bad_input_speak_to_the_user(tmp_path):
    env = dict(os.environ, FRONTDOOR_VAR_DIR=str(tmp_path), DATABASE_URL=f"sqlite:///{tmp_path / 'x.db'}")
    cli = Cli(env).run
    assert "stuck" in cli("--help").stdout
    assert "--due-within" in cli("stuck", "--help").stdout
    bad = tmp_path / "bad.json"
    bad.write_text('{"id": "C-1", "received_at": "2026-11-26T09:14:00Z", "source": "6", "referrer": {}, "children": [{"first_name": "A"}]}')
    cli("users", "add", "rita", "--role", "rfs_officer")
    out = cli("contact", "submit", str(bad), "--as", "rita", ok=False)
    assert out.returncode == 1 and "police_attendance_at is required" in out.stderr
    out = cli("contact", "submit", str(bad), "--as", "nobody", ok=False)
    assert "frontdoor users add nobody" in out.stderr
    bad_env = Cli(env | {"FRONTDOOR_DECISION_DEADLINE": "tomorrow"}).run
    out = bad_env("contact", "show", "C-1", "--as", "rita", ok=False)
    assert "FRONTDOOR_DECISION_DEADLINE='tomorrow' is not a duration" in out.stderr
