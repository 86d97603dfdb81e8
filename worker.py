"""The frontdoor worker: every workflow and activity, on one task queue.

Stateless: run as many as you like against the same Temporal namespace and database.
Usage: `frontdoor worker` (or `python worker.py`); configuration from the environment.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from temporalio.client import Client
from temporalio.worker import Worker

from activities.contact import ContactActivities
from activities.doors import CalendarActivities, ConsultationActivities, EarlyHelpActivities
from activities.outbox import Outbox, StoredOutbox
from models.database import init_db
from frontdoor.config import Settings, load_settings
from frontdoor.temporal import connect, ensure_search_attributes
from workflows.consultation import ConsultationWorkflow
from workflows.contact import ContactWorkflow
from workflows.early_help import EarlyHelpWorkflow

log = logging.getLogger("frontdoor.worker")

WORKFLOWS: list[type] = [ContactWorkflow, ConsultationWorkflow, EarlyHelpWorkflow]


def activities(settings: Settings, outbox: Outbox | None = None) -> list[Any]:
    """Every activity, bound to this deployment's database, templates and outbox."""
    contact = ContactActivities(
        settings.database_url, settings.templates_dir, settings.threshold_rules,
        outbox or StoredOutbox(settings.database_url),
    )
    outbox = outbox or contact.outbox
    calendar = CalendarActivities(settings.timezone)
    consultation = ConsultationActivities(settings.database_url)
    early_help = EarlyHelpActivities(
        settings.database_url, settings.threshold_rules, outbox, list(settings.early_help_quadrants)
    )
    return [
        contact.record_contact,
        contact.record_action,
        contact.update_case_record,
        contact.check_history,
        contact.render_document,
        contact.send_map_request,
        contact.record_agency_answer,
        contact.notify,
        contact.hand_off,
        calendar.working_day_due,
        calendar.service_day_end,
        consultation.record_consultation,
        early_help.early_help_quadrants,
        early_help.record_early_help,
        early_help.review_early_help_history,
        early_help.hand_off_early_help,
    ]


def build_worker(
    client: Client, settings: Settings, *, task_queue: str | None = None, outbox: Outbox | None = None,
    executor: ThreadPoolExecutor | None = None,
) -> Worker:
    return Worker(
        client,
        task_queue=task_queue or settings.temporal.task_queue,
        workflows=WORKFLOWS,
        activities=activities(settings, outbox),
        activity_executor=executor or ThreadPoolExecutor(max_workers=32, thread_name_prefix="activity"),
        max_concurrent_activities=32,
        # each cached ContactWorkflow holds ~250 KB; an evicted one replays its history on demand
        max_cached_workflows=settings.worker_cache,
    )


async def run_worker(settings: Settings | None = None) -> None:
    settings = settings or load_settings()
    init_db(settings.database_url)
    client = await connect(settings)
    try:
        added = await ensure_search_attributes(client)
        if added:
            log.info("registered search attributes: %s", ", ".join(added))
    except PermissionError as exc:
        log.error("%s", exc)
        raise SystemExit(2) from exc
    worker = build_worker(client, settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    log.info(
        "worker polling task queue %r on %s (namespace %s), database %s",
        settings.temporal.task_queue, settings.temporal.address, settings.temporal.namespace,
        settings.database_url.split("@")[-1],
    )
    async with worker:
        await stop.wait()
        log.info("worker stopping")


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    asyncio.run(run_worker())
