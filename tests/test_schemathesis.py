"""The API against Schemathesis (`st run --checks all`), once per role's token: whatever the
generator sends (valid, invalid, odd methods, garbage), no 5xx, every status and body as the
OpenAPI says, schema-invalid input refused, nothing accepted that should not be. Bounded to
keep `make test` quick; `make fuzz` runs it long."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from frontdoor.web.app import create_app
from models.roles import Role
from tests.conftest import running_worker
from tests.web_support import add_people, app_settings, serving, terminate_queue

ROOT = Path(__file__).resolve().parent.parent
ST = Path(sys.executable).parent / "st"
SECONDS_PER_ROLE = int(os.environ.get("FRONTDOOR_FUZZ_SECONDS", "5"))


@pytest.mark.skipif(not ST.exists() and shutil.which("st") is None, reason="schemathesis is not installed")
async def test_the_api_answers_every_generated_request_as_its_schema_says(dev_env, settings, task_queue) -> None:
    here = app_settings(settings, task_queue)
    people = add_people(settings.database_url)
    app = create_app(here, client=dev_env.client)
    async with running_worker(dev_env.client, here, task_queue), serving(app) as base:
        failures = []
        for role in Role:
            run = await asyncio.create_subprocess_exec(
                str(ST), "run", f"{base}/openapi.json", "--checks", "all",
                "-H", f"Authorization: Bearer {people[role].token}", "--max-time", str(SECONDS_PER_ROLE),
                "--workers", "1", "--phases", "examples,coverage,fuzzing", "--no-color",
                "--suppress-health-check", "all",
                cwd=str(ROOT), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            )
            out, _ = await run.communicate()
            if run.returncode != 0:  # the failures themselves (what was sent, what came back), then the summary
                text = out.decode()
                start = text.find("FAILURES")
                found = text[start:start + 8000] if start >= 0 else ""
                failures.append(f"--- as {role.value} ---\n{found}\n...\n{text[-1500:]}")
        await terminate_queue(dev_env.client, task_queue)
        assert not failures, "\n".join(failures)
