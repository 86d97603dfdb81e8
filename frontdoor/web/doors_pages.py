"""Screens of the consultation line and the early help hub: lists from visibility, a form
to record a call or start a case, and a page per consultation or case with a form for
each action its stage allows and the person's role may do. Every form carries the CSRF
token; every action goes through frontdoor.consultations.act / frontdoor.early_help.act,
so the workflow's validators have the last word."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from frontdoor import consultations, early_help
from frontdoor.errors import FrontdoorError, NotFound
from frontdoor.web import views
from frontdoor.web.auth import check, page_actor, verify_csrf
from frontdoor.web.doors import (
    CONSULTATION,
    CONSULTATION_TRANSIENT,
    EARLY_HELP,
    EARLY_HELP_TRANSIENT,
    Door,
    consultation_allows,
    consultations_query,
    early_help_allows,
    early_help_query,
    offered,
)
from frontdoor.web.pages import _bool, _client, _contact_from_form, _opt, _settings, flash, render
from models.codes import POLICE_SOURCE, Agency
from models.consultation import Consultation, ConsultationStage, FollowUpOutcome
from models.contact import Contact
from models.early_help import DECIDABLE, ConversationWith
from models.roles import Actor

router = APIRouter(include_in_schema=False)


def _errors(exc: ValidationError, what: str) -> list[str]:
    return [f"{'.'.join(str(p) for p in e['loc']) or what}: {e['msg'].removeprefix('Value error, ')}" for e in exc.errors()]


def _local_now(request: Request) -> str:
    return views.local_input(datetime.now(UTC), _settings(request).timezone)


def _when(form: FormData, name: str, tz: str) -> str | None:
    raw = _opt(form, name)
    if raw is None:
        return None
    try:
        return views.parse_local(raw, tz).isoformat()
    except ValueError:
        return raw  # the model says what is wrong with it


# ------------------------------------------------------------------ the consultation line
def _blank_call(request: Request) -> dict[str, Any]:
    return {"id": f"CONS-{datetime.now(UTC):%Y}-{secrets.randbelow(10**6):06d}", "called_at": _local_now(request),
            "outcome": "referral_invited", "factors": []}


def _consultation_from_form(form: FormData, tz: str) -> dict[str, Any]:
    children = []
    for i in (0, 1):
        child = {k: _opt(form, f"child{i}_{k}") for k in ("first_name", "last_name", "date_of_birth")}
        if any(child.values()):
            children.append({k: v for k, v in child.items() if v is not None})
    return {
        "id": _opt(form, "id") or "",
        "called_at": _when(form, "called_at", tz),
        "caller": {k: _opt(form, f"caller_{k}") for k in ("name", "agency", "role", "phone", "email")},
        "anonymous": _bool(form, "anonymous"),
        "children": children,
        "concern": _opt(form, "concern") or "",
        "factors": [str(f) for f in form.getlist("factors")],
        "advice": _opt(form, "advice") or "",
        "outcome": _opt(form, "outcome"),
    }


async def _consultation_line(request: Request, actor: Actor, values: dict[str, Any], errors: list[str],
                             status: int = 200) -> HTMLResponse:
    rows = await views.list_rows(_client(request), consultations_query(), limit=500)
    rows.sort(key=lambda r: r.due_at or r.received_at or datetime.max.replace(tzinfo=UTC))
    groups = {
        "follow_up": [r for r in rows if r.stage == ConsultationStage.FOLLOW_UP.value],
        "awaiting_referral": [r for r in rows if r.stage == ConsultationStage.AWAITING_REFERRAL.value],
        "other": [r for r in rows if r.stage not in (ConsultationStage.FOLLOW_UP.value, ConsultationStage.AWAITING_REFERRAL.value)],
    }
    return render(request, "consultations.html", status=status, actor=actor, groups=groups, values=values,
                  errors=errors)


@router.get("/consultations", response_class=HTMLResponse)
async def consultation_line(request: Request, actor: Actor = Depends(page_actor)) -> HTMLResponse:
    check(actor, "view")
    return await _consultation_line(request, actor, _blank_call(request), [])


@router.post("/consultations")
async def record_call(request: Request, actor: Actor = Depends(page_actor)) -> Response:
    check(actor, "record_consultation")
    form = await request.form()
    verify_csrf(request, form.get("csrf_token"))
    settings = _settings(request)
    values = {k: str(v) for k, v in form.items() if k != "csrf_token"} | {"factors": form.getlist("factors")}
    errors: list[str] = []
    try:
        consultation = Consultation.model_validate(_consultation_from_form(form, settings.timezone))
        await consultations.record_consultation(_client(request), settings, consultation, actor)
    except ValidationError as exc:
        errors = _errors(exc, "consultation")
    except FrontdoorError as exc:
        errors = [exc.message]
    if errors:
        return await _consultation_line(request, actor, values, errors, status=422)
    note = (f" The caller quotes reference {consultation.reference} when referring." if consultation.reference
            else " Advice only: it closes now.")
    flash(request, "ok", f"Consultation {consultation.id} recorded.{note}")
    return RedirectResponse(f"/consultations/{consultation.id}", status_code=303)


@router.get("/consultations/{consultation_id}", response_class=HTMLResponse)
async def consultation_page(consultation_id: str, request: Request, actor: Actor = Depends(page_actor)) -> HTMLResponse:
    check(actor, "view")
    settings = _settings(request)
    state = await consultations.get_state(_client(request), consultation_id)
    docs, trail = await run_in_threadpool(
        lambda: (views.documents_of(settings, consultation_id), views.trail_of(settings, consultation_id))
    )
    allowed = consultation_allows(state)
    return render(
        request, "consultation.html", actor=actor, state=state, documents=docs, trail=trail,
        offered=offered(CONSULTATION, allowed, actor), stage_allows=allowed, titles=CONSULTATION.titles,
        temporal_url=views.temporal_link(settings, consultations.workflow_id(consultation_id)),
        refresh=state.stage in CONSULTATION_TRANSIENT, follow_up_outcomes=[o.value for o in FollowUpOutcome],
    )


# ------------------------------------------------------------------ the early help hub
def _blank_case(request: Request) -> dict[str, Any]:
    return {"id": f"EH-{datetime.now(UTC):%Y}-{secrets.randbelow(10**6):06d}", "received_at": _local_now(request),
            "source": "", "factors": [], "consent_status": "not_sought"}


async def _hub(request: Request, actor: Actor, values: dict[str, Any], errors: list[str], status: int = 200) -> HTMLResponse:
    rows = await views.list_rows(_client(request), early_help_query(), limit=500)
    rows.sort(key=views.by_time_left)
    return render(request, "early_help_hub.html", status=status, actor=actor, rows=rows, values=values, errors=errors,
                  police_source=POLICE_SOURCE)


@router.get("/early-help", response_class=HTMLResponse)
async def hub(request: Request, actor: Actor = Depends(page_actor)) -> HTMLResponse:
    check(actor, "view")
    return await _hub(request, actor, _blank_case(request), [])


@router.post("/early-help")
async def start_case(request: Request, actor: Actor = Depends(page_actor)) -> Response:
    check(actor, "start_early_help")
    form = await request.form()
    verify_csrf(request, form.get("csrf_token"))
    settings = _settings(request)
    values = {k: str(v) for k, v in form.items() if k != "csrf_token"} | {"factors": form.getlist("factors")}
    errors: list[str] = []
    try:
        case = Contact.model_validate(_contact_from_form(form, settings))
        await early_help.start_early_help(_client(request), settings, case, actor)
    except ValidationError as exc:
        errors = _errors(exc, "case")
    except FrontdoorError as exc:
        errors = [exc.message]
    if errors:
        return await _hub(request, actor, values, errors, status=422)
    flash(request, "ok", f"Early help case {case.id} started: management directions are due next.")
    return RedirectResponse(f"/early-help/{case.id}", status_code=303)


@router.get("/early-help/{case_id}", response_class=HTMLResponse)
async def case_page(case_id: str, request: Request, actor: Actor = Depends(page_actor)) -> HTMLResponse:
    check(actor, "view")
    settings = _settings(request)
    state = await early_help.get_state(_client(request), case_id)
    docs, trail = await run_in_threadpool(lambda: (views.documents_of(settings, case_id), views.trail_of(settings, case_id)))
    allowed = early_help_allows(state)
    current = next((s for s in reversed(state.steps) if s.done_at is None), None)
    return render(
        request, "early_help_case.html", actor=actor, state=state, documents=docs, trail=trail,
        offered=offered(EARLY_HELP, allowed, actor), stage_allows=allowed, titles=EARLY_HELP.titles,
        temporal_url=views.temporal_link(settings, early_help.workflow_id(case_id)), current_step=current,
        refresh=state.stage in EARLY_HELP_TRANSIENT or (state.stage.value == "gathering" and state.history is None),
        decidable=[o.value for o in DECIDABLE], conversation_with=[w.value for w in ConversationWith],
        agency_values=[a.value for a in Agency],
    )


# ------------------------------------------------------------------ actions from forms
def door_payload(door: Door, action: str, form: FormData) -> dict[str, Any]:
    """The action's input (without actor) from its HTML form."""
    o = lambda name: _opt(form, name)  # noqa: E731
    if action == "retry":
        return {"note": o("note")}
    if door is CONSULTATION and action == "follow_up":
        return {"outcome": o("outcome"), "note": o("note") or "", "contact_id": o("contact_id")}
    if action == "directions":
        return {"directions": o("directions") or "", "adviser": o("adviser")}
    if action == "consent":
        return {"status": o("status"), "note": o("note"), "advice": o("advice")}
    if action == "conversation":
        return {"with_whom": o("with_whom"), "name": o("name") or "", "agency": o("agency"), "summary": o("summary") or ""}
    if action == "consult":
        return {"consulted": o("consulted") or "", "consulted_role": o("consulted_role"), "advice": o("advice") or ""}
    if action == "finish_gathering":
        return {"note": o("note")}
    if action == "recommendation":
        return {"summary": o("summary") or "", "recommended_outcome": o("recommended_outcome"), "quadrant": o("quadrant"),
                "history_considered": _bool(form, "history_considered")}
    if action == "decision":
        return {"outcome": o("outcome"), "rationale": o("rationale") or "", "quadrant": o("quadrant"),
                "recurring_pattern_considered": _bool(form, "recurring_pattern_considered")}
    if action == "step_up":
        return {"reason": o("reason") or "", "level": o("level") or 4}
    raise NotFound(f"no action {action}")


async def _act(door: Door, subject_id: str, action: str, request: Request, actor: Actor) -> Response:
    form = await request.form()
    verify_csrf(request, form.get("csrf_token"))
    if action not in door.actions:
        raise NotFound(f"no action {action}; one of {', '.join(door.actions)}")
    back = RedirectResponse(f"/{door.pages}/{subject_id}", status_code=303)
    title = door.titles[action]
    try:
        check(actor, door.permission(action))
        _, model = door.actions[action]
        payload = model.model_validate(door_payload(door, action, form) | {"actor": actor})
        await door.module.act(_client(request), subject_id, action, payload)
    except ValidationError as exc:
        flash(request, "error", f"{title}: not saved. " + "; ".join(_errors(exc, action)))
        return back
    except FrontdoorError as exc:
        flash(request, "error", f"{title}: not saved. {exc.message}")
        return back
    flash(request, "ok", f"{title}: saved.")
    return back


@router.post("/consultations/{consultation_id}/actions/{action}")
async def consultation_action(consultation_id: str, action: str, request: Request,
                              actor: Actor = Depends(page_actor)) -> Response:
    return await _act(CONSULTATION, consultation_id, action, request, actor)


@router.post("/early-help/{case_id}/actions/{action}")
async def early_help_action(case_id: str, action: str, request: Request, actor: Actor = Depends(page_actor)) -> Response:
    return await _act(EARLY_HELP, case_id, action, request, actor)
