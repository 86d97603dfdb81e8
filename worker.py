"""The frontdoor worker: every workflow and activity, on one task queue.

Stateless: run as many as you like against the same Temporal namespace and database.
Usage: `frontdoor worker` (or `python worker.py`); configuration from the environment.
"""

from __future__ import annotations

import asyncio
import compileall
import logging
import signal
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from temporalio.client import Client
from temporalio.worker import Worker

from activities.case import CaseActivities
from activities.caseload import CaseloadActivities
from activities.deps import Deps
from activities.outbox import Outbox, StoredOutbox
from activities.report_snapshot import ReportSnapshotActivities
from activities.stuck import StuckActivities
from frontdoor.config import Settings, load_settings
from frontdoor.report_figures import figures_for
from frontdoor.schedules import WORKFLOWS as SCHEDULED
from frontdoor.schedules import ensure_schedules
from frontdoor.temporal import connect, ensure_search_attributes, workflow_runner
from models.database import init_db
from workflows.registry import PROCESSES

log = logging.getLogger("frontdoor.worker")

WORKFLOWS: list[type] = [p.workflow for p in PROCESSES] + SCHEDULED  # and the launchers the schedules start


def ensure_bytecode() -> None:
    """Every workflow run imports its workflow's module afresh inside the SDK's sandbox (and
    again when an evicted run is replayed). Without bytecode on disk, as where
    PYTHONDONTWRITEBYTECODE is set (common in containers), each of those imports compiles the
    source: about 30 ms for the contact's module, per contact. Writes what is missing or stale;
    a read-only installation is left as it is (the imports then compile, and still work)."""
    for workflow in WORKFLOWS:
        source = getattr(sys.modules[workflow.__module__], "__file__", None)
        if source:
            compileall.compile_file(source, quiet=2)


def deps(settings: Settings, outbox: Outbox | None = None) -> Deps:
    return Deps(
        database_url=settings.database_url, templates_dir=settings.templates_dir, rules_path=settings.threshold_rules,
        outbox=outbox or StoredOutbox(settings.database_url), timezone=settings.timezone,
        quadrants=tuple(settings.early_help_quadrants), audit_tool=settings.audit_tool,
        key_figures=figures_for(settings),  # the reports' key figures, for the daily report snapshot
    )


def activities(settings: Settings, outbox: Outbox | None = None) -> list[Any]:
    """Every activity of every process, bound to this deployment's database, templates and outbox."""
    d = deps(settings, outbox)
    classes: list[type] = [CaseActivities, CaseloadActivities, StuckActivities, ReportSnapshotActivities] + [cls for p in PROCESSES for cls in p.activities]
    found: list[Any] = []
    for cls in dict.fromkeys(classes):
        instance = cls(d)
        found += [getattr(instance, name) for name, fn in vars(cls).items()
                  if callable(fn) and hasattr(fn, "__temporal_activity_definition")]
    return found


def build_worker(
    client: Client, settings: Settings, *, task_queue: str | None = None, outbox: Outbox | None = None,
    executor: ThreadPoolExecutor | None = None,
) -> Worker:
    return Worker(
        client,
        task_queue=task_queue or settings.temporal.task_queue,
        workflows=WORKFLOWS,
        workflow_runner=workflow_runner(client.data_converter),
        activities=activities(settings, outbox),
        activity_executor=executor or ThreadPoolExecutor(max_workers=32, thread_name_prefix="activity"),
        max_concurrent_activities=32,
        # each cached ContactWorkflow holds ~250 KB; an evicted one replays its history on demand
        max_cached_workflows=settings.worker_cache,
    )


async def run_worker(settings: Settings | None = None) -> None:
    settings = settings or load_settings()
    init_db(settings.database_url)
    ensure_bytecode()
    client = await connect(settings)
    try:
        added = await ensure_search_attributes(client)
        if added:
            log.info("registered search attributes: %s", ", ".join(added))
    except PermissionError as exc:
        log.error("%s", exc)
        raise SystemExit(2) from exc
    for schedule, done in await ensure_schedules(client, settings):  # frontdoor/schedules.py
        log.info("schedule %s %s", schedule, done)
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
