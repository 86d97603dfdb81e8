"""Caseload pages and API: a person's open work, a team's, and allocation that shows the
receiver's caseload before it is confirmed.

Pages: /caseloads (your own), /caseloads/people/{name}, /caseloads/teams, /caseloads/teams/{team}
(with caseloads over time from the daily snapshots), /caseloads/allocate?kind=&id= (choose
who: each candidate's caseload against their target) and ?to= (their caseload, what this
allocation makes it, and a reason; a second reason when it takes them over their target).
API: GET /api/caseloads/people/{name}, /api/caseloads/teams/{team}, /api/caseloads/teams/{team}/over-time,
/api/caseloads/allocate/preview, and POST /api/caseloads/allocate.

A person sees their own caseload; team and service managers see anyone's and every team's.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from frontdoor import caseloads, processes, stuck, users
from frontdoor.errors import FrontdoorError, InvalidInput
from frontdoor.web.api import ERRORS, client_of, settings_of
from frontdoor.web.auth import (
    Forbidden,
    api_actor,
    api_roles,
    check,
    check_role,
    page_actor,
    verify_csrf,
)
from frontdoor.web.pages import check_reader, flash, render
from models.bounds import Code, ReasonText, Username
from models.caseload import Rag, open_work_query
from models.roles import ALLOCATORS, PERMISSIONS, Actor, Role

router = APIRouter()
NAME = r"^[A-Za-z0-9._@-]{1,80}$"
TEAM = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
KIND = r"^[a-z_]{1,40}$"
OVER_TIME_DAYS = 30


def _may_see(actor: Actor, username: str) -> None:
    if actor.username != username and actor.role not in PERMISSIONS["caseloads"]:
        raise Forbidden(f"{actor.username} ({actor.role.value}) may see their own caseload; "
                        "a team manager or service manager sees anyone's")


def _process(kind: str) -> Any:
    return processes.process(kind)


# ---------------------------------------------------------------------- pages
@router.get("/caseloads", include_in_schema=False)
async def my_caseload(actor: Actor = Depends(page_actor)) -> Response:
    return RedirectResponse(f"/caseloads/people/{actor.username}", status_code=303)


@router.get("/caseloads/people/{username}", response_class=HTMLResponse, include_in_schema=False)
async def person_page(username: str, request: Request, actor: Actor = Depends(page_actor)) -> HTMLResponse:
    _may_see(actor, username)
    c = await caseloads.caseload_of(client_of(request), settings_of(request), username)
    return render(request, "caseload/person.html", actor=actor, c=c, manager=actor.role in PERMISSIONS["caseloads"],
                  allocator=actor.role in ALLOCATORS)


@router.get("/caseloads/teams", response_class=HTMLResponse, include_in_schema=False)
async def teams_page(request: Request, actor: Actor = Depends(page_actor)) -> HTMLResponse:
    check(actor, "caseloads")
    teams = await caseloads.all_teams(client_of(request), settings_of(request))
    return render(request, "caseload/teams.html", actor=actor, teams=teams)


@router.get("/caseloads/teams/{team}", response_class=HTMLResponse, include_in_schema=False)
async def team_page(team: str, request: Request, actor: Actor = Depends(page_actor)) -> HTMLResponse:
    check(actor, "caseloads")
    settings = settings_of(request)
    t = await caseloads.team_caseload(client_of(request), settings, team)
    since = (datetime.now(UTC) - timedelta(days=OVER_TIME_DAYS)).date()
    history = await run_in_threadpool(lambda: caseloads.caseloads_over_time(settings.database_url, team=team, since=since))
    return render(request, "caseload/team.html", actor=actor, t=t, summary=t.summary(), history=history,
                  days=OVER_TIME_DAYS, allocator=actor.role in ALLOCATORS)


@router.get("/caseloads/allocate", response_class=HTMLResponse, include_in_schema=False)
async def allocate_page(request: Request, kind: str = Query(..., pattern=KIND), id: str = Query(..., max_length=80),
                        to: str | None = Query(None, pattern=NAME), actor: Actor = Depends(page_actor)) -> HTMLResponse:
    check_role(actor, ALLOCATORS, "allocate work")
    return await _allocate_page(request, actor, kind, id, to)


async def _allocate_page(request: Request, actor: Actor, kind: str, subject_id: str, to: str | None, *,
                         values: dict[str, str] | None = None, errors: list[str] | None = None,
                         status: int = 200) -> HTMLResponse:
    proc = _process(kind)
    check_reader(actor, proc)
    client, settings = client_of(request), settings_of(request)
    state = await processes.get_state(client, proc, subject_id)
    roles = caseloads.receiving_roles(proc, state)
    context: dict[str, Any] = {"proc": proc, "subject": subject_id, "s": state, "roles": roles, "to": to,
                               "values": values or {}, "errors": errors or [], "candidates": [], "p": None}
    if to is None:
        people = [u for u in users.list_users(settings.database_url) if u.active and Role(u.role) in roles]
        rows = await stuck.list_rows(client, open_work_query(caseloads.counted_kinds(), [u.username for u in people]),
                                     limit=caseloads.MAX_ROWS)
        held: dict[str, list[stuck.Row]] = {}
        for r in rows:
            held.setdefault(r.holder or "", []).append(r)
        context["candidates"] = sorted(
            (caseloads.Caseload(u.username, Role(u.role), u.team, held.get(u.username, []), settings.caseload_targets,
                                u.display_name) for u in people if u.username != state.holder),
            key=lambda c: (c.rag != Rag.GREEN, c.count, c.username))
    else:
        context["p"] = await caseloads.preview(client, settings, proc, subject_id, to)
    return render(request, "caseload/allocate.html", status=status, actor=actor, **context)


@router.post("/caseloads/allocate", include_in_schema=False)
async def allocate_confirm(request: Request, actor: Actor = Depends(page_actor)) -> Response:
    form = await request.form()
    verify_csrf(request, form.get("csrf_token"))
    check_role(actor, ALLOCATORS, "allocate work")
    values = {k: str(form.get(k) or "").strip() for k in ("kind", "id", "to", "reason", "over_target_reason")}
    proc = _process(values["kind"])
    check_reader(actor, proc)
    payload = {"actor": actor, "to": values["to"], "reason": values["reason"],
               "over_target_reason": values["over_target_reason"] or None}
    try:
        await caseloads.allocate(client_of(request), settings_of(request), proc, values["id"], payload)
    except InvalidInput as exc:
        errors = [f"{e['field'].replace('_', ' ')}: {e['message']}" for e in exc.errors] or [exc.message]
        return await _allocate_page(request, actor, values["kind"], values["id"], values["to"] or None, values=values,
                                    errors=errors, status=422)
    except FrontdoorError as exc:
        flash(request, "error", f"Not allocated: {exc.message}")
        return RedirectResponse(f"/{proc.path}/{values['id']}", status_code=303)
    flash(request, "ok", f"{proc.noun.capitalize()} {values['id']} allocated to {values['to']}.")
    return RedirectResponse(f"/{proc.path}/{values['id']}", status_code=303)


# ---------------------------------------------------------------------- API
class AllocationBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: str = Field(pattern=KIND, description="the process, e.g. contact, early_help, audit")
    id: Code = Field(min_length=1)
    to: Username = Field(min_length=1, pattern=NAME)
    reason: ReasonText = Field(min_length=3)
    over_target_reason: ReasonText | None = None


@router.get("/api/caseloads/people/{username}", responses=ERRORS, tags=["caseloads"])
async def person_api(request: Request, username: str, actor: Actor = Depends(api_actor)) -> dict[str, Any]:
    """A person's open work by process and stage, the oldest item, the target and its RAG
    (your own; a team or service manager reads anyone's)."""
    _may_see(actor, username)
    return (await caseloads.caseload_of(client_of(request), settings_of(request), username)).as_dict()


@router.get("/api/caseloads/teams/{team}", responses=ERRORS, tags=["caseloads"])
async def team_api(request: Request, team: str,
                   actor: Actor = Depends(api_roles(PERMISSIONS["caseloads"], "see team caseloads"))) -> dict[str, Any]:
    """Each member's caseload against their target, and the practitioners' average and spread."""
    return (await caseloads.team_caseload(client_of(request), settings_of(request), team)).as_dict()


@router.get("/api/caseloads/teams/{team}/over-time", responses=ERRORS, tags=["caseloads"])
async def team_over_time_api(
    request: Request, team: str, days: int = Query(OVER_TIME_DAYS, ge=1, le=3660),
    actor: Actor = Depends(api_roles(PERMISSIONS["caseloads"], "see team caseloads")),
) -> dict[str, Any]:
    """Per day (from the daily snapshot): the practitioners' average caseload and its spread."""
    since = (datetime.now(UTC) - timedelta(days=days)).date()
    url = settings_of(request).database_url
    rows = await run_in_threadpool(lambda: caseloads.caseloads_over_time(url, team=team, since=since))
    return {"team": team, "since": since.isoformat(), "rows": rows}


@router.get("/api/caseloads/allocate/preview", responses=ERRORS, tags=["caseloads"])
async def preview_api(
    request: Request, kind: str = Query(..., pattern=KIND), id: str = Query(..., max_length=80),
    to: str = Query(..., pattern=NAME), actor: Actor = Depends(api_roles(ALLOCATORS, "allocate work")),
) -> dict[str, Any]:
    """What allocating the case to `to` would do: their caseload now and after, over the target or
    not (then `over_target_reason` is needed), and anything that stops it."""
    proc = _process(kind)
    _check_api_reader(actor, proc)
    return (await caseloads.preview(client_of(request), settings_of(request), proc, id, to)).as_dict()


@router.post("/api/caseloads/allocate", responses=ERRORS, tags=["caseloads"])
async def allocate_api(request: Request, body: AllocationBody,
                       actor: Actor = Depends(api_roles(ALLOCATORS, "allocate work"))) -> Any:
    """Allocate a case with the receiver's caseload checked: 422 when they may not take it, or when it
    takes them over their target without `over_target_reason`. Returns the case's new state."""
    proc = _process(body.kind)
    _check_api_reader(actor, proc)
    payload = {"actor": actor, "to": body.to, "reason": body.reason, "over_target_reason": body.over_target_reason}
    return await caseloads.allocate(client_of(request), settings_of(request), proc, body.id, payload)


def _check_api_reader(actor: Actor, proc: Any) -> None:
    check_role(actor, proc.readers or frozenset(Role), f"read {proc.noun}s")
