"""Record histories of real contact runs as JSON fixtures for the replay tests.

    python -m tests.record_histories tests/fixtures/histories

Run it from a checkout of the workflow version whose histories you want to keep
(e.g. a `git worktree` of a release); the replay tests then prove that today's code
still replays what that version wrote. Payloads are encrypted with the suite's fixed
test key.
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from datetime import timedelta
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from activities.store import init_db
from frontdoor.config import Settings, TemporalSettings
from frontdoor.contacts import act, submit_contact
from frontdoor.temporal import data_converter
from models.state import Stage
from models.timescales import Timescales
from tests.conftest import BIN, RITA, SAM, TOM, codec_for_tests, make_contact, running_worker
from tests.helpers import wait_stage
from workflows import search_attributes as sa
from workflows.contact import ContactWorkflow

ROOT = Path(__file__).resolve().parent.parent


async def _spa(client, settings, tq) -> str:
    c = make_contact(id="REPLAY-SPA", consent={"status": "not_sought"})
    await submit_contact(client, settings, c, RITA, task_queue=tq)
    await wait_stage(client, c.id, Stage.AWAITING_TRIAGE)
    await act(client, c.id, "triage", {"actor": RITA, "level": 3, "route": "spa", "rationale": "SPA decision needed"})
    await act(client, c.id, "review", {"actor": SAM, "rag": "amber"})
    await act(client, c.id, "override_consent", {"actor": TOM, "reason": "risk_of_significant_harm", "explanation": "Risk"})
    await act(client, c.id, "map_requests", {"actor": SAM, "agencies": ["police", "gp"]})
    await act(client, c.id, "map_responses", {"actor": SAM, "agency": "police", "information": "Known"})
    await asyncio.sleep(2.5)  # the agency due time and the decision deadline pass
    await act(client, c.id, "proceed_without", {"actor": SAM, "agency": "gp", "reason": "No answer"})
    state = await act(client, c.id, "recommendation", {"actor": SAM, "summary": "Summary of what was found.", "recommended_outcome": "assessment_s17"})
    await act(client, c.id, "extension", {"actor": TOM, "reason": "other", "explanation": "Manager away", "new_deadline": (state.decision_due_at + timedelta(hours=1)).isoformat()})
    await act(client, c.id, "decision", {"actor": TOM, "outcome": "assessment_s17", "rationale": "Assessment needed"})
    await wait_stage(client, c.id, Stage.CLOSED)
    return c.id


async def _urgent(client, settings, tq) -> str:
    c = make_contact(id="REPLAY-URGENT", concerns={"factors": ["19C"]})
    await submit_contact(client, settings, c, RITA, task_queue=tq)
    await wait_stage(client, c.id, Stage.AWAITING_TRIAGE)
    await act(client, c.id, "triage", {"actor": RITA, "level": 4, "route": "urgent", "rationale": "Disclosure"})
    await wait_stage(client, c.id, Stage.AWAITING_PICKUP)
    await asyncio.sleep(2.5)  # the pickup deadline passes: escalation
    await act(client, c.id, "pickup", {"actor": SAM})
    await wait_stage(client, c.id, Stage.CLOSED)
    return c.id


async def _routed(client, settings, tq, route: str, level: int) -> str:
    c = make_contact(id=f"REPLAY-{route.upper()}", concerns={"factors": ["4A"]})
    await submit_contact(client, settings, c, RITA, task_queue=tq)
    await wait_stage(client, c.id, Stage.AWAITING_TRIAGE)
    await act(client, c.id, "triage", {"actor": RITA, "level": level, "route": route, "rationale": "Lower need"})
    await wait_stage(client, c.id, Stage.CLOSED)
    return c.id


async def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path("/tmp") / f"record-{uuid.uuid4().hex[:6]}"
    tmp.mkdir()
    settings = Settings(
        temporal=TemporalSettings(task_queue="record"),
        database_url=f"sqlite:///{tmp / 'record.db'}",
        var_dir=tmp,
        timescales=Timescales(decision_deadline=timedelta(seconds=2), urgent_pickup=timedelta(seconds=2), map_response_due=timedelta(seconds=2)),
        threshold_rules=ROOT / "config" / "threshold_rules.json",
        templates_dir=ROOT / "templates",
    )
    init_db(settings.database_url)
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(BIN / "temporal"), search_attributes=sa.ALL, data_converter=data_converter(codec_for_tests())
    )
    try:
        client = env.client
        async with running_worker(client, settings, "record"):
            ids = [
                await _spa(client, settings, "record"),
                await _urgent(client, settings, "record"),
                await _routed(client, settings, "record", "early_help", 2),
                await _routed(client, settings, "record", "advice_nfa", 2),
            ]
        for cid in ids:
            history = await client.get_workflow_handle(f"contact-{cid}").fetch_history()
            path = out / f"{cid.lower()}.json"
            path.write_text(history.to_json())
            print(f"wrote {path} ({len(history.events)} events)")
    finally:
        await env.shutdown()


if __name__ == "__main__":
    assert ContactWorkflow  # the version under record is the one importable here
    asyncio.run(main(Path(sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/histories")))
