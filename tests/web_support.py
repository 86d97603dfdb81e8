"""Shared pieces of the web tests: people with real tokens and passwords in the test
database, an app on the real dev server with a worker on the test's own task queue,
the live site the browser tests share (and signing in to it in the browser), and clean-up
of the workflows a test started."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import httpx
import uvicorn
from temporalio.client import Client

from frontdoor import users
from frontdoor.config import Settings
from frontdoor.web.app import create_app
from models.roles import Role
from tests.browser_support import live_server
from tests.clients import workflow_id
from tests.conftest import letters, running_worker

PASSWORD = "correct horse battery"


@dataclass
class Person:
    username: str
    role: Role
    token: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def add_people(database_url: str) -> dict[Role, Person]:
    """One person per role, with a unique name (the test database is shared by the session)."""
    suffix = uuid.uuid4().hex[:6]
    people = {}
    for role in Role:
        name = f"{role.value.split('_')[0]}-{suffix}"
        people[role] = Person(name, role, users.add_user(database_url, name, role, name, PASSWORD))
    return people


def app_settings(settings: Settings, task_queue: str, **timescales: Any) -> Settings:
    s = replace(settings, temporal=replace(settings.temporal, task_queue=task_queue))
    if timescales:
        s = replace(s, timescales=s.timescales.model_copy(update=timescales))
    return s


@dataclass
class WebEnv:
    http: httpx.AsyncClient
    settings: Settings
    client: Client
    task_queue: str
    started: list[str] = field(default_factory=list)
    keep_running: bool = False  # leave its workflows for the next worker on the same queue
    app: Any = None  # the app itself, for a second client (a browser with its own cookies)

    def keep(self) -> None:
        self.started.clear()
        self.keep_running = True

    async def submit(self, person: Person, **overrides: Any) -> str:
        body = contact_body(**overrides)
        r = await self.http.post("/api/contacts", json=body, headers=person.auth)
        assert r.status_code == 201, r.text
        self.started.append(workflow_id(body["id"]))
        return body["id"]

    async def state(self, person: Person, contact_id: str) -> dict[str, Any]:
        r = await self.http.get(f"/api/contacts/{contact_id}", headers=person.auth)
        assert r.status_code == 200, r.text
        return r.json()

    async def wait_stage(self, person: Person, contact_id: str, stage: str) -> dict[str, Any]:
        async def check() -> dict[str, Any] | None:
            s = await self.state(person, contact_id)
            return s if s["stage"] == stage else None

        return await wait_for(check, what=f"{contact_id} to reach {stage}")

    async def act(self, person: Person, contact_id: str, path: str, body: dict[str, Any], status: int = 200) -> dict[str, Any]:
        r = await self.http.post(f"/api/contacts/{contact_id}/{path}", json=body, headers=person.auth)
        assert r.status_code == status, f"{path}: {r.status_code} {r.text}"
        return r.json()


async def wait_for(predicate: Callable[[], Any], timeout: float = 20.0, what: str = "condition") -> Any:
    """Poll until the predicate is truthy; visibility and workflow progress are asynchronous."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


def contact_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": f"W-{uuid.uuid4().hex[:10]}",
        "received_at": datetime.now(UTC).isoformat(),
        "source": "2A",
        "referrer": {"name": "Ms K Patel", "agency": "Stoke Primary School"},
        "children": [{"first_name": "Wyn", "last_name": f"Web{letters()}", "date_of_birth": "2016-04-01"}],
        "concerns": {"factors": ["16A"], "summary": "Arrives hungry most days"},
        "consent": {"status": "given"},
    }
    body.update(overrides)
    return body


async def terminate(client: Client, workflow_ids: list[str]) -> None:
    """Leave nothing running that could show up in another test's stuck lists."""
    for wid in workflow_ids:
        try:
            await client.get_workflow_handle(wid).terminate("web test finished")
        except Exception:  # noqa: BLE001 (already closed)
            pass


async def terminate_queue(client: Client, task_queue: str) -> None:
    """Terminate every workflow still running on a test's task queue, including those its
    workflows started (a morning discussion has one id per day for the whole server: left
    running without a worker, it would swallow the next test's items)."""
    query = f"TaskQueue = '{task_queue}' AND ExecutionStatus = 'Running'"
    await terminate(client, [w.id async for w in client.list_workflows(query)])


@asynccontextmanager
async def web_env(client: Client, settings: Settings, task_queue: str, **worker_overrides: Any) -> AsyncIterator[WebEnv]:
    app = create_app(settings, client=client)
    async with running_worker(client, settings, task_queue, **worker_overrides):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://frontdoor.test") as http:
            env = WebEnv(http, settings, client, task_queue, app=app)
            try:
                yield env
            finally:
                await terminate(client, env.started)
                if not env.keep_running:
                    await terminate_queue(client, task_queue)


@asynccontextmanager
async def serving(app: Any) -> AsyncIterator[str]:
    """The app on a real HTTP server on 127.0.0.1 (a free port), for clients in other
    processes or threads (Schemathesis, the model-based test). Yields its base URL."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()  # raises why it could not start
            await asyncio.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@dataclass
class Live:
    """The live site of the browser tests: the app on a real HTTP server (`url`) with a worker
    on its own task queue, one person per role, and the workflows to terminate afterwards."""

    url: str
    people: dict[Role, Person]
    settings: Settings
    client: Client
    started: list[str] = field(default_factory=list)


@asynccontextmanager
async def live_site(client: Client, settings: Settings, database_url: str) -> AsyncIterator[Live]:
    """Start the site once (tests/conftest.py's `live_site` fixture: one a session); each
    test module terminates what it started (the `live` fixture)."""
    cfg = app_settings(settings, f"tq-web-{uuid.uuid4().hex[:8]}")
    app = create_app(cfg, client=client, poll_seconds=1.0)
    async with running_worker(client, cfg, cfg.temporal.task_queue), live_server(app) as url:
        site = Live(url, add_people(database_url), cfg, client)
        try:
            yield site
        finally:
            await terminate_queue(client, cfg.temporal.task_queue)


async def sign_in(browser: Any, url: str, person: Person) -> Any:
    """A new browser context (its own cookies) signed in as `person`: a page on their landing screen."""
    from playwright.async_api import expect

    context = await browser.new_context(base_url=url, timezone_id="Europe/London", locale="en-GB")
    page = await context.new_page()
    await page.goto("/login")
    await page.fill("input[name=username]", person.username)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("form[action='/login'] button[type=submit]")
    await expect(page.locator("header .who")).to_contain_text(person.username)
    return page
