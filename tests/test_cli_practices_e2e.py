"""The missing list, the morning agenda and the schedules through the `frontdoor` command:
real processes against the real dev server and database, with the examples."""

from __future__ import annotations

import base64
import json
import os
import uuid
from dataclasses import replace
from datetime import UTC, datetime

from frontdoor import missing_lists, schedules
from models import signing
from models.calendar import WorkingCalendar
from tests.clients import contacts, missing, morning
from tests.conftest import STARTED, TEST_KEY, running_worker
from tests.helpers import delete_schedules, wait_for
from tests.test_cli_e2e import Cli

CAL = WorkingCalendar()


def _cli(dev_env, settings, task_queue, tmp_path, **env: str) -> Cli:
    return Cli(dict(
        os.environ,
        TEMPORAL_ADDRESS=dev_env.client.service_client.config.target_host,
        TEMPORAL_NAMESPACE=dev_env.client.namespace,
        FRONTDOOR_TASK_QUEUE=task_queue,
        DATABASE_URL=settings.database_url,
        FRONTDOOR_VAR_DIR=str(tmp_path),
        FRONTDOOR_ENCRYPTION_KEY=base64.b64encode(TEST_KEY).decode(),
        FRONTDOOR_ENCRYPTION_KEY_ID="test-1",
        FRONTDOOR_SIGNING_KEY=base64.b64encode(signing.current().keys[signing.current().signing_key_id]).decode(),
        FRONTDOOR_SIGNING_KEY_ID=signing.current().signing_key_id,
        **env,
    ))


async def test_the_police_lists_and_a_return_home_interview_through_the_cli(dev_env, settings, task_queue, tmp_path):
    suffix = uuid.uuid4().hex[:6]
    ella, rita = f"ella{suffix}", f"rita{suffix}"
    cli = _cli(dev_env, settings, task_queue, tmp_path, FRONTDOOR_MISSING_LEAD=ella)
    refs = ["SP-2026-004501", "SP-2026-004502", "SP-2026-004503", "SP-2026-004504"]
    STARTED.extend(missing.workflow_id(r) for r in refs)
    async with running_worker(dev_env.client, settings, task_queue):
        for name, role in ((ella, "early_help_adviser"), (rita, "rfs_officer")):
            await cli("users", "add", name, "--role", role)
        out = (await cli("missing", "import", "examples/police_missing_list.json", "--as", rita, "--now")).stdout
        assert "3 row(s), 3 valid, 0 refused" in out and "3 new" in out and "[3/3]" in out
        kayla = await wait_for(lambda: _stage(cli, refs[0], "awaiting_offer", ella), 20, what="Kayla's episode")
        assert kayla["holder"] == ella and kayla["report_delay_flagged"] is True  # returned a day before the list
        shown = (await cli("missing", "show", refs[0], "--as", ella)).stdout
        assert "Kayla Brooks" in shown and "return home interview to be offered by" in shown and "LATE" in shown

        # the next day's list, as of now (--now moves its times each time: here it is moved once)
        shifted, _ = missing_lists.shift_to_now((cli_root() / "examples" / "police_missing_list.csv").read_bytes(),
                                                filename="police_missing_list.csv")
        csv_list = tmp_path / "police_missing_list.csv"
        csv_list.write_bytes(shifted)
        out = (await cli("missing", "import", str(csv_list), "--as", rita)).stdout
        assert "1 new" in out and "1 updated" in out and f"updated  {refs[1]}" in out
        again = await cli.json("missing", "import", str(csv_list), "--as", rita)
        assert again["new"] == [] and again["updated"] == [] and again["unchanged"] == 2
        await wait_for(lambda: _stage(cli, refs[1], "awaiting_offer", ella), 20, what="Jordan's return")

        bad = tmp_path / "bad.csv"
        bad.write_text(csv_list.read_text().replace(",high,", ",severe,"))
        out = await cli("missing", "import", str(bad), "--as", rita, ok=False)
        assert out.returncode == 3 and "line 2: SP-2026-004502: risk:" in out.stdout
        out = await cli("missing", "import", "examples/police_missing_list.csv", "--as", ella + "x", ok=False)
        assert "frontdoor users add" in out.stderr

        await cli("missing", "offer_interview", refs[0], "--as", ella, "--method", "visit")
        out = (await cli("missing", "record_interview", refs[0], "--as", ella, "--outcome", "done",
                         "--child-said", "A man she met online drives her about", "--concerns", "11A",
                         "--concerns", "24A")).stdout
        assert f"contact raised: {refs[0]}-RHI" in out
        STARTED.append(contacts.workflow_id(f"{refs[0]}-RHI"))
        trail = (await cli("missing", "trail", refs[0], "--as", ella)).stdout
        for action in ("episode_received", "return_reported_by_police", "interview_offered", "return_interview_done",
                       "contact_raised", "closed"):
            assert action in trail


def cli_root():
    from tests.test_cli_e2e import ROOT

    return ROOT


async def _stage(cli: Cli, ref: str, stage: str, reader: str):
    state = await cli.json("missing", "show", ref, "--as", reader)
    return state if state["stage"] == stage else None


async def test_the_morning_agenda_and_the_schedules_through_the_cli(dev_env, settings, task_queue, tmp_path):
    suffix = uuid.uuid4().hex[:6]
    tom, pat = f"tom{suffix}", f"pat{suffix}"
    cli = _cli(dev_env, settings, task_queue, tmp_path)
    day = CAL.add_working_days(CAL.local_date(datetime.now(UTC)), 15 + int(suffix, 16) % 5)
    STARTED.append(morning.workflow_id(day.isoformat()))
    s = replace(settings, temporal=replace(settings.temporal, task_queue=task_queue))
    async with running_worker(dev_env.client, settings, task_queue):
        for name, role in ((tom, "team_manager"), (pat, "police_partner")):
            await cli("users", "add", name, "--role", role)
        refused = await cli("morning", "open", "--as", pat, "--date", day.isoformat(), ok=False)
        assert "may not open a morning discussion" in refused.stderr
        opened = json.loads((await cli("morning", "open", "--as", tom, "--date", day.isoformat(), "--json")).stdout)
        assert opened["date"] == day.isoformat() and opened["stage"] == "agenda"  # the start's answer, as JSON only
        await cli("morning", "add", day.isoformat(), "--as", pat, "--question", "Strategy discussion or early help?",
                  "--about", "Tom Smith, born 02/03/2015", "--ask", "police")
        out = (await cli("morning", "agenda", day.isoformat())).stdout
        assert "1. Tom Smith, born 02/03/2015 asks police" in out and "Q: Strategy discussion or early help?" in out
        missing_day = await cli("morning", "agenda", "2041-01-07", ok=False)
        assert "no morning discussion for 07/01/2041 yet" in missing_day.stderr

        await delete_schedules(dev_env.client)  # a server where they were never made
        assert "not created" in (await cli("schedules")).stdout
        await schedules.ensure_schedules(dev_env.client, s)
        try:
            listed = json.loads((await cli("schedules", "--json")).stdout)
            assert [v["id"] for v in listed] == [schedules.schedule_id(e) for e in schedules.SCHEDULES]
            assert {"frontdoor-morning-discussion", "frontdoor-caseload-snapshot"} <= {v["id"] for v in listed}
            assert not any(v["paused"] for v in listed)
            out = (await cli("schedules")).stdout
            assert "(active)  weekdays at 09:30 Europe/London" in out and "next runs:" in out and "last run: never" in out
            assert "(active)  every day at 18:00 Europe/London" in out
        finally:
            await delete_schedules(dev_env.client)
