"""The FastAPI application: pages for people, a JSON API for systems, one set of workflows.

`create_app(settings, client=None)`: with no client it connects to Temporal in the
lifespan (frontdoor.temporal.connect); tests pass the dev server's client instead.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.exceptions import HTTPException as StarletteHTTPException
from temporalio.client import Client
from temporalio.service import RPCError

from frontdoor import timefmt
from frontdoor.config import Settings
from frontdoor.errors import FrontdoorError
from frontdoor.web import access_log, api, audits, caseloads, pages, practices, stuck_pages
from frontdoor.web import reports as report_pages
from frontdoor.web.auth import SignInRequired
from frontdoor.web.errors import error_answer
from frontdoor.web.headers import SecurityHeaders
from frontdoor.web.limits import RequestLimits
from frontdoor.web.sessions import ServerSessions
from models import codes
from models.database import init_db
from models.roles import ROLE_NAMES
from workflows import registry  # noqa: F401  (every process's tables are known before init_db)

STATIC = Path(__file__).resolve().parent / "static"
log = logging.getLogger("frontdoor.web")


def templates(settings: Settings) -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(settings.templates_dir)),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    tz = settings.timezone
    env.filters["london"] = lambda m, fmt="%a %d %b %Y %H:%M": timefmt.local(m, tz, fmt)
    env.filters["left"] = timefmt.time_left
    env.filters["age"] = timefmt.age
    env.filters["label"] = codes.label
    env.globals.update(
        codes.template_globals(), role_names={r.value: n for r, n in ROLE_NAMES.items()}, timezone=tz,
        case_url=pages.case_url,
    )
    return env


def create_app(settings: Settings, client: Client | None = None, *, poll_seconds: float = 10.0,
               secure_cookies: bool | None = None) -> FastAPI:
    """`secure_cookies` overrides settings.secure_cookies (FRONTDOOR_SECURE_COOKIES: on, off,
    or auto = when the request came over https, directly or from a trusted proxy)."""
    if secure_cookies is not None:
        settings = replace(settings, secure_cookies=secure_cookies)
    init_db(settings.database_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if app.state.client is None:
            from frontdoor.temporal import connect

            app.state.client = await connect(settings)
        yield

    app = FastAPI(
        title="frontdoor",
        summary="Children's services front door: contacts from intake to handoff, the consultation line and the early help hub, on durable workflows",
        description=(api.__doc__ or "") + "\n\nSee docs/web.md for curl examples.",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,  # Swagger UI would load scripts from a CDN: everything here is served locally
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.client = client
    app.state.templates = templates(settings)
    app.state.poll_seconds = poll_seconds
    app.add_middleware(ServerSessions, settings=settings)  # server-side sessions (frontdoor/web/sessions.py)
    app.add_middleware(RequestLimits, settings=settings)  # body size and OPTIONS, before anything reads the body
    app.add_middleware(SecurityHeaders, settings=settings)  # outermost: every response, errors included

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        detail = {404: f"no such address: {request.url.path}", 405: f"{request.method} is not taken at {request.url.path}"}
        answer = error_answer(request.scope, exc.status_code, detail.get(exc.status_code, str(exc.detail)))
        answer.headers.update(exc.headers or {})  # e.g. Allow on a 405
        return answer

    @app.exception_handler(RPCError)
    async def temporal_error(request: Request, exc: RPCError) -> Response:
        log.warning("Temporal answered %s to %s %s: %s", exc.status, request.method, request.url.path, exc.message)
        return error_answer(request.scope, 503, "Temporal could not answer just now; nothing was changed. Try again in a moment.")

    @app.exception_handler(FrontdoorError)
    async def frontdoor_error(request: Request, exc: FrontdoorError) -> Response:
        if request.url.path.startswith("/api"):
            return api.error_response(exc)
        return pages.error_page(request, exc.status, exc.message)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        errors = []
        for err in exc.errors():
            loc = [str(p) for p in err.get("loc", ()) if str(p) != "body"]
            errors.append({"field": ".".join(loc) or "body", "message": str(err.get("msg", "")).removeprefix("Value error, ")})
        detail = "the input is not valid: " + "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        if request.url.path.startswith("/api"):
            return JSONResponse({"detail": detail, "errors": errors}, status_code=422)
        return pages.error_page(request, 422, detail)

    @app.exception_handler(SignInRequired)
    async def sign_in_required(request: Request, exc: SignInRequired) -> Response:
        return RedirectResponse(f"/login?next={exc.next_url}", status_code=303)

    # every router's operations document the errors every route can answer (401, 403, 422 as
    # ErrorBody ...): Schemathesis holds the server to what the schema says
    app.include_router(practices.router, responses=api.ERRORS)  # the missing list's upload page and API, before the generated routes
    app.include_router(audits.router, responses=api.ERRORS)  # before the generic pages: /audits/{id}/case (issue 12)
    app.include_router(stuck_pages.router, responses=api.ERRORS)  # one stuck list in full, a page at a time (issue 13)
    app.include_router(caseloads.router, responses=api.ERRORS)  # caseload pages and API (issue 12)
    app.include_router(report_pages.router, responses=api.ERRORS)  # /reports pages and /api/reports (issue 10)
    app.include_router(access_log.router, responses=api.ERRORS)  # who looked at a child's record, what a person opened (issue 9)
    app.include_router(api.router, responses=api.ERRORS)
    app.include_router(pages.router, responses=api.ERRORS)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app
