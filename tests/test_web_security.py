"""Sessions, sign-in, tokens and headers (issue 9, sections 3 and 5), each reproduction
as an attack that now fails: a cookie kept after logout, 40 guesses in two seconds,
usernames found by timing, weak passwords, a disabled person's sessions and tokens,
one token per person, and responses without X-Frame-Options or HSTS."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from frontdoor import sessions, users
from frontdoor.config import Settings
from frontdoor.web.app import create_app
from frontdoor.web.sessions import SESSION_COOKIE
from models.roles import Role
from tests.web_support import PASSWORD, add_people

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
TRY_AGAIN = re.compile(r"Try again at \d\d:\d\d")


@pytest.fixture(scope="module")
def people(database_url: str) -> Any:
    return add_people(database_url)


def an_address() -> str:
    """Each test signs in from its own address: failures are counted per address."""
    n = uuid.uuid4().int
    return f"10.{n % 250}.{(n >> 8) % 250}.{(n >> 16) % 250 + 1}"


@asynccontextmanager
async def browser(app: FastAPI, address: str | None = None, base: str = "http://frontdoor.test") -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=(address or an_address(), 40000), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url=base) as http:
        yield http


def app_for(dev_env: Any, settings: Settings, **changes: Any) -> FastAPI:
    return create_app(replace(settings, **changes) if changes else settings, client=dev_env.client)


async def sign_in(http: httpx.AsyncClient, username: str, password: str = PASSWORD) -> httpx.Response:
    page = await http.get("/login")
    match = CSRF.search(page.text)
    assert match, page.text
    return await http.post("/login", data={"username": username, "password": password, "csrf_token": match.group(1)})


async def sign_out(http: httpx.AsyncClient, page: str = "/decisions") -> None:
    html = (await http.get(page)).text
    r = await http.post("/logout", data={"csrf_token": CSRF.search(html).group(1)})  # type: ignore[union-attr]
    assert r.status_code == 303


# ------------------------------------------------------------------ sessions
async def test_a_cookie_saved_before_logout_no_longer_opens_the_manager_page(dev_env, settings, people) -> None:
    app = app_for(dev_env, settings)
    tom = people[Role.TEAM_MANAGER].username
    async with browser(app) as http:
        r = await sign_in(http, tom)
        assert r.status_code == 303 and r.headers["location"] == "/decisions"
        saved = http.cookies[SESSION_COOKIE]
        assert (await http.get("/decisions")).status_code == 200
        await sign_out(http)
        assert (await http.get("/decisions")).status_code == 303
    # the attacker replays the cookie they copied before the logout
    async with browser(app) as thief:
        thief.cookies.set(SESSION_COOKIE, saved)
        r = await thief.get("/decisions")
        assert r.status_code == 303 and r.headers["location"].startswith("/login")
        assert (await thief.get("/queue")).status_code == 303


async def test_the_cookie_holds_only_a_signed_random_id(dev_env, settings, people) -> None:
    app = app_for(dev_env, settings)
    sam = people[Role.SOCIAL_WORKER].username
    async with browser(app) as http:
        await http.get("/login")
        before = http.cookies[SESSION_COOKIE]  # a visitor's id, for the form's CSRF token
        r = await sign_in(http, sam)
        assert r.status_code == 303
        value = http.cookies[SESSION_COOKIE]
        assert value != before  # a fresh id at sign-in: a planted id is worth nothing
        assert sam not in value and len(value) < 120
        assert sessions.count_for(settings, sam) >= 1
        forged = value[:-3] + ("AAA" if not value.endswith("AAA") else "BBB")
        http.cookies.set(SESSION_COOKIE, forged)
        assert (await http.get("/queue")).status_code == 303


async def test_idle_and_absolute_timeouts_end_a_session(dev_env, settings, people) -> None:
    sam = people[Role.SOCIAL_WORKER].username
    idle_app = app_for(dev_env, settings, session_idle=timedelta(seconds=1), session_max=timedelta(hours=1))
    async with browser(idle_app) as http:
        assert (await sign_in(http, sam)).status_code == 303
        assert (await http.get("/queue")).status_code == 200
        await asyncio.sleep(1.3)
        assert (await http.get("/queue")).status_code == 303
    short_app = app_for(dev_env, settings, session_idle=timedelta(seconds=1), session_max=timedelta(seconds=1.5))
    async with browser(short_app) as http:
        assert (await sign_in(http, sam)).status_code == 303
        for _ in range(3):  # kept busy, so never idle, but the lifetime still runs out
            await asyncio.sleep(0.6)
            status = (await http.get("/queue")).status_code
        assert status == 303


async def test_disabling_a_person_ends_their_sessions_and_tokens(dev_env, settings, database_url) -> None:
    name = f"dis-{uuid.uuid4().hex[:6]}"
    token = users.add_user(database_url, name, Role.SOCIAL_WORKER, name, PASSWORD)
    second = users.issue_token(database_url, name, "script")
    app = app_for(dev_env, settings)
    async with browser(app) as http:
        assert (await sign_in(http, name)).status_code == 303
        for t in (token, second):
            assert (await http.get("/api/stuck", headers={"Authorization": f"Bearer {t}"})).status_code == 200
        assert users.disable_user(database_url, name) == (1, 2)
        assert (await http.get("/queue")).status_code == 303
        for t in (token, second):
            r = await http.get("/api/stuck", headers={"Authorization": f"Bearer {t}"})
            assert r.status_code == 401 and "not valid" in r.text
        assert (await sign_in(http, name)).status_code == 401
    users.enable_user(database_url, name)
    with pytest.raises(Exception, match="no live token"):
        users.revoke_tokens(database_url, name, "script")  # still revoked: enabling issues nothing


# ------------------------------------------------------------------ sign-in throttling
async def test_forty_wrong_passwords_are_throttled_and_the_right_one_then_waits(dev_env, settings, people) -> None:
    rita = people[Role.RFS_OFFICER].username
    app = app_for(dev_env, settings)
    statuses = []
    async with browser(app) as http:
        for _ in range(40):
            r = await sign_in(http, rita, "not the password")
            statuses.append(r.status_code)
        assert statuses[:5] == [401] * 5 and set(statuses[5:]) == {429}
        assert TRY_AGAIN.search(r.text), r.text
        r = await sign_in(http, rita)  # the right password now waits too
        assert r.status_code == 429 and TRY_AGAIN.search(r.text)
    async with browser(app) as elsewhere:  # per person: another address does not help
        assert (await sign_in(elsewhere, rita)).status_code == 429


async def test_guessing_from_one_address_is_throttled_across_web_processes(dev_env, settings, people) -> None:
    """Two app instances (as two web processes) count in the same database."""
    address = an_address()
    apps = [app_for(dev_env, settings), app_for(dev_env, settings)]
    statuses = []
    for n in range(settings.signin_per_address):
        async with browser(apps[n % 2], address) as http:
            statuses.append((await sign_in(http, f"nobody-{uuid.uuid4().hex[:8]}", "guess")).status_code)
    assert set(statuses) == {401}
    sam = people[Role.SOCIAL_WORKER].username
    for app in apps:
        async with browser(app, address) as http:
            r = await sign_in(http, sam)
            assert r.status_code == 429 and TRY_AGAIN.search(r.text)
    async with browser(apps[0]) as other:
        assert (await sign_in(other, sam)).status_code == 303


async def test_unknown_and_known_names_both_run_the_password_hash(dev_env, settings, database_url, people, monkeypatch) -> None:
    calls: list[str] = []
    real: Callable[[str, bytes], bytes] = users._scrypt

    def counting(password: str, salt: bytes) -> bytes:
        calls.append(password)
        return real(password, salt)

    monkeypatch.setattr(users, "_scrypt", counting)
    users.check_password("warm the decoy", None)
    no_password = f"api-{uuid.uuid4().hex[:6]}"
    users.create_user(database_url, no_password, Role.SOCIAL_WORKER)
    app = app_for(dev_env, settings)
    for username in (f"ghost-{uuid.uuid4().hex[:6]}", people[Role.SOCIAL_WORKER].username, no_password):
        calls.clear()
        async with browser(app) as http:
            assert (await sign_in(http, username, "a wrong guess")).status_code == 401
        assert calls == ["a wrong guess"], username


# ------------------------------------------------------------------ passwords and tokens
def test_weak_passwords_are_refused(database_url: str) -> None:
    name = f"pw-{uuid.uuid4().hex[:6]}"
    for weak, why in (
        ("a", "at least 12"), ("short pass", "at least 12"), (f"{name}-is-my-password", "contains the username"),
        ("Password2024!", "attackers try first"), ("qwertyuiop12", "attackers try first"),
        ("correct horse battery staple", "attackers try first"), ("aaaaaaaaaaaaaaaa", "repeats"),
    ):
        with pytest.raises(users.WeakPassword, match=why):
            users.add_user(database_url, name, Role.SOCIAL_WORKER, password=weak)
    assert not [u for u in users.list_users(database_url) if u.username == name]
    users.add_user(database_url, name, Role.SOCIAL_WORKER, password="river lamp orchard 7")
    with pytest.raises(users.WeakPassword):
        users.set_password(database_url, name, "letmein")
    users.set_password(database_url, name, "a much longer passphrase")
    assert users.authenticate(database_url, name, "a much longer passphrase") is not None


async def test_tokens_are_named_separate_and_each_revocable(dev_env, settings, database_url) -> None:
    name = f"tok-{uuid.uuid4().hex[:6]}"
    users.create_user(database_url, name, Role.TEAM_MANAGER, password=PASSWORD)
    laptop = users.issue_token(database_url, name, "laptop")
    script = users.issue_token(database_url, name, "nightly script")
    assert laptop != script
    with pytest.raises(Exception, match="already has a token labelled 'laptop'"):
        users.issue_token(database_url, name, "laptop")
    app = app_for(dev_env, settings)

    async def status(token: str) -> int:
        async with browser(app) as http:
            return (await http.get("/api/stuck", headers={"Authorization": f"Bearer {token}"})).status_code

    assert (await status(laptop), await status(script)) == (200, 200)
    assert users.revoke_tokens(database_url, name, "laptop") == 1
    assert (await status(laptop), await status(script)) == (401, 200)
    listed = {t.label: t for t in users.list_tokens(database_url, name)}
    assert listed["laptop"].revoked_at is not None and listed["nightly script"].revoked_at is None
    assert listed["nightly script"].last_used_at is not None
    assert users.revoke_tokens(database_url, name) == 1
    assert await status(script) == 401


# ------------------------------------------------------------------ headers and cookies
async def test_every_response_carries_the_security_headers(dev_env, settings, people) -> None:
    app = app_for(dev_env, settings)

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("an unexpected fault")

    token = {"Authorization": f"Bearer {people[Role.SOCIAL_WORKER].token}"}
    async with browser(app) as http:
        answers = {
            "page": await http.get("/login"),
            "redirect": await http.get("/queue"),
            "404 page": await http.get("/no-such-page"),
            "404 api": await http.get("/api/contacts/NOPE-1", headers=token),
            "401 api": await http.get("/api/stuck"),
            "422 api": await http.post("/api/contacts", json={"id": "x"}, headers=token),
            "403 form": await http.post("/login", data={"username": "x", "password": "y"}),
            "500": await http.get("/boom"),
            "static": await http.get("/static/app.css"),
        }
    assert answers["500"].status_code == 500 and "an unexpected fault" not in answers["500"].text
    for what, r in answers.items():
        assert r.headers.get("x-frame-options") == "DENY", what
        assert "camera=()" in r.headers.get("permissions-policy", ""), what
        assert "frame-ancestors 'none'" in r.headers.get("content-security-policy", ""), what
        assert r.headers.get("x-content-type-options") == "nosniff", what
        assert "strict-transport-security" not in r.headers, what  # plain http: no HSTS


async def test_over_https_cookies_are_secure_and_hsts_is_sent(dev_env, settings, people) -> None:
    app = app_for(dev_env, settings)  # FRONTDOOR_SECURE_COOKIES unset: auto
    async with browser(app, base="https://frontdoor.test") as http:
        r = await sign_in(http, people[Role.SOCIAL_WORKER].username)
        assert r.status_code == 303
        cookie = r.headers["set-cookie"].lower()
        assert "secure" in cookie and "httponly" in cookie and "samesite=lax" in cookie
        assert r.headers["strict-transport-security"].startswith("max-age=31536000")
    async with browser(app) as http:
        r = await sign_in(http, people[Role.SOCIAL_WORKER].username)
        assert "secure" not in r.headers["set-cookie"].lower()
    forced = app_for(dev_env, settings, secure_cookies=True)
    async with browser(forced) as http:
        r = await sign_in(http, people[Role.SOCIAL_WORKER].username)
        assert "secure" in r.headers["set-cookie"].lower() and "strict-transport-security" in r.headers


async def test_frontdoor_web_believes_x_forwarded_proto_only_from_its_proxies(dev_env, settings) -> None:
    """The real `frontdoor web` (uvicorn): behind a trusted proxy that says https, cookies
    are Secure and HSTS is sent; the same header from anyone else changes nothing."""
    for trusted, secure in (("127.0.0.1", True), ("10.9.9.9", False)):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("FRONTDOOR_", "TEMPORAL_", "DATABASE_URL"))} | {
            "TEMPORAL_ADDRESS": dev_env.client.service_client.config.target_host, "DATABASE_URL": settings.database_url,
            "FRONTDOOR_VAR_DIR": str(settings.var_dir), "FRONTDOOR_WEB_PORT": str(port), "FRONTDOOR_TRUSTED_PROXIES": trusted,
        }
        proc = subprocess.Popen([sys.executable, "-m", "frontdoor.cli", "web"], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
                for _ in range(150):
                    try:
                        r = await http.get("/login", headers={"X-Forwarded-Proto": "https"})
                        break
                    except httpx.TransportError:
                        assert proc.poll() is None, "frontdoor web exited"
                        await asyncio.sleep(0.2)
            assert r.status_code == 200
            assert ("; secure" in r.headers["set-cookie"].lower()) is secure, trusted
            assert ("strict-transport-security" in r.headers) is secure, trusted
            assert r.headers["x-frame-options"] == "DENY" and "server" not in r.headers
        finally:
            proc.terminate()
            proc.wait(timeout=20)
