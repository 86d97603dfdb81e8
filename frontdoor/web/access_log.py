"""The access log's pages and API (issue 9): who looked at a child's record
(`/{path}/{id}/access`, `GET /api/{path}/{id}/access`) and what a person opened
(`/people/{username}/access`, `GET /api/people/{username}/access`). Team and service
managers only; a person may see what they opened themselves. Newest first, a bounded page
at a time (`limit`, then `before` = the previous page's `next_before`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from frontdoor import access, processes
from frontdoor.web.api import ERRORS, settings_of
from frontdoor.web.auth import api_actor, page_actor
from frontdoor.web.pages import render
from models.roles import Actor
from workflows.process import Process

router = APIRouter()

Limit = Query(50, ge=1, le=access.MAX_PAGE, description="rows per page, newest first")
Before = Query(None, ge=1, le=2**63 - 1, description="the previous page's next_before: older rows")
Who = Path(..., min_length=1, max_length=80, pattern=r"^[A-Za-z0-9._@-]+$")


def _case_routes(proc: Process) -> None:
    async def case_page(subject_id: str, request: Request, limit: int = Limit, before: int | None = Before,
                        actor: Actor = Depends(page_actor)) -> HTMLResponse:
        page = await run_in_threadpool(access.of_case, settings_of(request).database_url, actor, proc.kind,
                                       subject_id, limit=limit, before=before)
        return render(request, "access.html", actor=actor, page=page, title=f"Who has looked at {proc.noun} {subject_id}",
                      back=f"/{proc.path}/{subject_id}", by_person=True, limit=limit)

    async def case_api(subject_id: str, request: Request, limit: int = Limit, before: int | None = Before,
                       actor: Actor = Depends(api_actor)) -> dict[str, Any]:
        page = await run_in_threadpool(access.of_case, settings_of(request).database_url, actor, proc.kind,
                                       subject_id, limit=limit, before=before)
        return {"kind": proc.kind, "id": subject_id} | page.as_dict()

    case_api.__doc__ = (f"Who has looked at this {proc.noun}'s details (page, API, document, CLI; refused attempts "
                        "too), newest first. Team and service managers only.")
    router.add_api_route(f"/{proc.path}/{{subject_id}}/access", case_page, methods=["GET"],
                         response_class=HTMLResponse, include_in_schema=False)
    router.add_api_route(f"/api/{proc.path}/{{subject_id}}/access", case_api, methods=["GET"], responses=ERRORS,
                         name=f"{proc.kind}_access", tags=["access log"])


for _proc in processes.PROCESSES:
    _case_routes(_proc)


@router.get("/people/{username}/access", response_class=HTMLResponse, include_in_schema=False)
async def person_page(request: Request, username: str = Who, limit: int = Limit, before: int | None = Before,
                      actor: Actor = Depends(page_actor)) -> HTMLResponse:
    page = await run_in_threadpool(access.of_person, settings_of(request).database_url, actor, username,
                                   limit=limit, before=before)
    return render(request, "access.html", actor=actor, page=page, title=f"What {username} has opened",
                  back=None, by_person=False, limit=limit)


@router.get("/api/people/{username}/access", responses=ERRORS, tags=["access log"])
async def person_api(request: Request, username: str = Who, limit: int = Limit, before: int | None = Before,
                     actor: Actor = Depends(api_actor)) -> dict[str, Any]:
    """What this person has opened, newest first. Team and service managers; a person their own."""
    page = await run_in_threadpool(access.of_person, settings_of(request).database_url, actor, username,
                                   limit=limit, before=before)
    return {"username": username} | page.as_dict()
