"""Screenshots of the main screens for docs/web.md, taken in headless Chromium.

Starts its own throwaway stack (a Temporal dev server on a free port, a worker and the
web app in this process, a SQLite database in a temporary folder), seeds the demo users,
puts a few contacts into telling states, and photographs each role's screens.

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import sys
import tempfile
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import uvicorn  # noqa: E402
from temporalio.testing import WorkflowEnvironment  # noqa: E402

from frontdoor.config import Settings, TemporalSettings  # noqa: E402
from frontdoor.temporal import codec_from_settings, data_converter  # noqa: E402
from frontdoor.web.app import create_app  # noqa: E402
from frontdoor.web.auth import DEMO_PASSWORD, seed_demo_users  # noqa: E402
from models import signing  # noqa: E402
from models.case_record import save_contact  # noqa: E402
from models.consultation import Consultation  # noqa: E402
from models.contact import Contact  # noqa: E402
from models.database import init_db, session  # noqa: E402
from models.roles import Actor, Role  # noqa: E402
from models.tables import ContactRecord  # noqa: E402
from models.timescales import Timescales  # noqa: E402
from tests.clients import act, consultations, early_help, get_state, submit_contact  # noqa: E402  # noqa: E402
from worker import build_worker  # noqa: E402
from workflows import search_attributes as sa  # noqa: E402

RITA, SAM, TOM, ERIN, SANA = (Actor(username=u, role=r) for u, r in (
    ("rita", Role.RFS_OFFICER), ("sam", Role.SOCIAL_WORKER), ("tom", Role.TEAM_MANAGER),
    ("erin", Role.EARLY_HELP_ADVISER), ("sana", Role.SENIOR_ADVISER)))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def example(name: str, **changes: Any) -> Contact:
    data = json.loads((ROOT / "examples" / name).read_text())
    data.update(changes)
    return Contact.model_validate(data)


def import_history(url: str) -> None:
    with session(url) as s:
        for item in json.loads((ROOT / "examples" / "earlier_contacts.json").read_text()):
            outcome = item.pop("outcome", None)
            contact = Contact.model_validate(item)
            if save_contact(s, contact, kind="prior"):
                record = s.get(ContactRecord, contact.id)
                assert record is not None
                record.outcome, record.stage = outcome, "closed"
                s.add(record)
                s.commit()


async def until(client: Any, cid: str, stage: str) -> None:
    for _ in range(200):
        if (await get_state(client, cid)).stage.value == stage:
            return
        await asyncio.sleep(0.1)
    raise RuntimeError(f"{cid} did not reach {stage}")


async def populate(client: Any, settings: Settings) -> dict[str, str]:
    now = datetime.now(UTC)
    triage = {"rationale": "Needs a decision on statutory support", "history_considered": True}

    amy = example("police_domestic_abuse.json", id="C-2026-000123", received_at=now.isoformat(),
                  police_attendance_at=(now - timedelta(hours=38)).isoformat())
    await submit_contact(client, settings, amy, RITA)
    await until(client, amy.id, "awaiting_triage")
    await act(client, amy.id, "review", {"actor": SAM, "rag": "red", "note": "Third contact this year"})
    await act(client, amy.id, "triage", {"actor": RITA, "level": 4, "route": "spa", **triage})
    await act(client, amy.id, "override_consent", {"actor": TOM, "reason": "seeking_consent_increases_risk",
                                                    "explanation": "Asking the father may raise the risk to Amy and her mother"})
    await act(client, amy.id, "request_map_checks", {"actor": SAM, "agencies": ["police", "gp", "school"],
                                                "questions": "Any incidents or concerns since February?"})
    await act(client, amy.id, "record_map_response", {"actor": SAM, "agency": "police",
                                                 "information": "Two further call-outs since May; no arrests."})

    leo = example("school_neglect.json", id="C-2026-000124", received_at=(now - timedelta(hours=3)).isoformat())
    await submit_contact(client, settings, leo, RITA)

    ready = example("school_neglect.json", id="C-2026-000119", received_at=(now - timedelta(hours=20)).isoformat(),
                    children=[{"first_name": "Noah", "last_name": "Price", "date_of_birth": "2013-09-30"}])
    await submit_contact(client, settings, ready, RITA)
    await until(client, ready.id, "awaiting_triage")
    await act(client, ready.id, "review", {"actor": SAM, "rag": "amber"})
    await act(client, ready.id, "triage", {"actor": RITA, "level": 3, "route": "spa", **triage})
    await act(client, ready.id, "request_map_checks", {"actor": SAM, "agencies": ["school"]})
    await act(client, ready.id, "record_map_response", {"actor": SAM, "agency": "school", "information": "Attendance 82%; lunches missed."})
    await act(client, ready.id, "recommend", {"actor": SAM, "recommended_outcome": "targeted_early_help",
                                                   "quadrant": "south_west",
                                                   "summary": "Neglect at the lower end; mother engaging. Targeted early help."})

    short = replace(settings, timescales=settings.timescales.model_copy(update={"decision_deadline": timedelta(seconds=2)}))
    late = example("school_neglect.json", id="C-2026-000117", received_at=(now - timedelta(hours=26)).isoformat(),
                   children=[{"first_name": "Ella", "last_name": "Hughes", "date_of_birth": "2019-02-14"}])
    await submit_contact(client, short, late, RITA)
    await until(client, late.id, "awaiting_triage")
    await act(client, late.id, "triage", {"actor": RITA, "level": 3, "route": "spa", **triage})

    urgent = example("school_neglect.json", id="C-2026-000125", received_at=(now - timedelta(minutes=20)).isoformat(),
                     children=[{"first_name": "Baby", "last_name": "Ward", "date_of_birth": "2026-08-01"}],
                     concerns={"factors": ["18C"], "summary": "Unexplained bruising to a non-mobile baby."})
    await submit_contact(client, settings, urgent, RITA)
    await until(client, urgent.id, "awaiting_triage")
    await act(client, urgent.id, "triage", {"actor": RITA, "level": 4, "route": "urgent", "rationale": "Injury to a baby"})
    line_and_hub = await populate_consultation_early_help(client, settings, now)
    await asyncio.sleep(3)  # the short deadline passes; visibility catches up
    return {"amy": amy.id, "ready": ready.id, **line_and_hub}


async def populate_consultation_early_help(client: Any, settings: Settings, now: datetime) -> dict[str, str]:
    """A consultation whose invited referral never came, one awaited, and an early help case gathering."""
    call = {"caller": {"name": "Ms K Patel", "agency": "Stoke Primary School", "role": "DSL"},
            "concern": "Amy often arrives hungry; mother seems low and has missed two meetings.", "factors": ["16A"],
            "advice": "This may need more than school support: talk to mother about consent and refer to the front door.",
            "outcome": "referral_invited"}
    quick = replace(settings, timescales=settings.timescales.model_copy(update={"invited_referral_due": timedelta(seconds=2)}))
    overdue = Consultation.model_validate(call | {"id": "CONS-2026-0042", "called_at": (now - timedelta(hours=1)).isoformat(),
                                                  "children": [{"first_name": "Amy", "last_name": "Jones"}]})
    await consultations.start(client, quick, overdue, SAM)
    awaited = Consultation.model_validate(call | {"id": "CONS-2026-0043", "called_at": now.isoformat(),
                                                  "caller": {"name": "Dr Shah", "agency": "Riverside Surgery"},
                                                  "concern": "Father drinking heavily; toddler often unwell.", "factors": ["2C"]})
    await consultations.start(client, settings, awaited, SAM)

    case = example("early_help_request.json", id="EH-2026-0007", received_at=(now - timedelta(hours=2)).isoformat())
    await early_help.start(client, settings, case, ERIN)
    await early_help.act(client, case.id, "give_directions", {
        "actor": SANA, "adviser": "erin",
        "directions": "Ask mother for consent first; then speak to the health visitor and the GP."})
    await early_help.act(client, case.id, "record_consent", {"actor": ERIN, "status": "given", "note": "Mother agreed on the phone"})
    for _ in range(100):
        if (await early_help.get_state(client, case.id)).history is not None:
            break
        await asyncio.sleep(0.1)
    await early_help.act(client, case.id, "record_conversation", {
        "actor": ERIN, "with_whom": "parent", "name": "Mrs Price (mother)",
        "summary": "Feels isolated; would welcome a family support worker and a baby group"})
    await early_help.act(client, case.id, "record_conversation", {
        "actor": ERIN, "with_whom": "agency", "agency": "gp", "name": "Dr Shah",
        "summary": "Mother on the waiting list for perinatal mental health"})
    return {"consultation": overdue.id, "case": case.id}


async def main(out: Path, only: set[str] | None = None) -> None:
    from playwright.async_api import async_playwright

    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        var = Path(tmp)
        settings = Settings(temporal=TemporalSettings(task_queue="screenshots"), database_url=f"sqlite:///{var / 'fd.db'}",
                            var_dir=var, timescales=Timescales())
        signing.configure(settings.signing_keyring, max_age=settings.signature_max_age)  # as temporal.connect does
        init_db(settings.database_url)
        seed_demo_users(settings.database_url)
        import_history(settings.database_url)
        env = await WorkflowEnvironment.start_local(
            dev_server_existing_path=str(Path(sys.executable).parent / "temporal"), search_attributes=sa.ALL,
            data_converter=data_converter(codec_from_settings(settings)),
        )
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        server = uvicorn.Server(uvicorn.Config(create_app(settings, client=env.client), log_level="warning"))
        try:
            async with build_worker(env.client, settings):
                task = asyncio.create_task(server.serve(sockets=[sock]))
                ids = await populate(env.client, settings)
                async with async_playwright() as pw:
                    browser = await pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)

                    async def as_user(username: str) -> Any:
                        ctx = await browser.new_context(base_url=f"http://127.0.0.1:{port}", timezone_id="Europe/London",
                                                         locale="en-GB", viewport={"width": 1360, "height": 900})
                        page = await ctx.new_page()
                        await page.goto("/login")
                        if username:
                            await page.fill("input[name=username]", username)
                            await page.fill("input[name=password]", DEMO_PASSWORD)
                            await page.click("form[action='/login'] button")
                            await page.wait_for_load_state("networkidle")
                        return page

                    async def shot(page: Any, name: str, **kwargs: Any) -> None:
                        if not only or name in only:
                            await page.screenshot(path=str(out / f"{name}.png"), **kwargs)

                    page = await as_user("")
                    await shot(page, "login")
                    page = await as_user("rita")
                    await shot(page, "queue", full_page=True)
                    await page.goto("/contacts/new")
                    await shot(page, "new-contact")
                    page = await as_user("sam")
                    await page.goto(f"/contacts/{ids['amy']}")
                    await shot(page, "contact", full_page=True)
                    page = await as_user("tom")
                    await shot(page, "manager", full_page=True)
                    await page.goto(f"/contacts/{ids['ready']}")
                    await page.locator("#form-decide").scroll_into_view_if_needed()
                    await shot(page, "decision")
                    page = await as_user("maya")
                    await shot(page, "supervisor", full_page=True)
                    page = await as_user("sam")
                    await page.goto("/consultations")
                    await shot(page, "consultations", full_page=True)
                    await page.goto(f"/consultations/{ids['consultation']}")
                    await shot(page, "consultation", full_page=True)
                    page = await as_user("erin")
                    await page.goto("/early-help")
                    await shot(page, "early-help")
                    await page.goto(f"/early-help/{ids['case']}")
                    await shot(page, "early-help-case", full_page=True)
                    await browser.close()
                server.should_exit = True
                await task
        finally:
            await env.shutdown()
    for png in sorted(p for p in out.glob("*.png") if not only or p.stem in only):
        print(f"wrote {png.relative_to(ROOT) if png.is_relative_to(ROOT) else png}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--only", nargs="*", metavar="NAME", help="take only these (e.g. consultation early-help-case)")
    args = parser.parse_args()
    asyncio.run(main(args.out, set(args.only) if args.only else None))
