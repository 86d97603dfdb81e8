"""Server-rendered screens: sign-in, the worker's queue and contact page, the manager's
decisions, the supervisor's dashboard. Every form POST carries a CSRF token; every
action goes through frontdoor.contacts.act, so the workflow's validators have the last word."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from temporalio.client import Client

from frontdoor import contacts
from frontdoor.config import ConfigError, Settings, parse_duration
from frontdoor.errors import FrontdoorError, NotFound
from frontdoor.web import views
from frontdoor.web.auth import check, csrf_token, page_actor, sign_in, verify_csrf
from models.codes import POLICE_SOURCE
from models.contact import Contact
from models.roles import PERMISSIONS, Actor, Role
from models.state import Stage

router = APIRouter(include_in_schema=False)

HOME = {
    Role.RFS_OFFICER: "/queue", Role.SOCIAL_WORKER: "/queue", Role.EARLY_HELP_ADVISER: "/queue",
    Role.SENIOR_ADVISER: "/queue", Role.TEAM_MANAGER: "/manager", Role.SERVICE_MANAGER: "/supervisor",
}
ACTION_TITLES = {
    "triage": "Triage against the threshold guidance", "review": "Daily review and priority (RAG)",
    "pickup": "Pick up this urgent contact", "consent": "Record consent", "override_consent": "Override consent",
    "map_requests": "Request MAP checks", "map_responses": "Record an agency's answer",
    "proceed_without": "Proceed without an agency", "recommendation": "Write the recommendation",
    "decision": "Management decision", "extension": "Extend the decision deadline", "retry": "Retry after a technical fault",
}


def _settings(request: Request) -> Settings:
    return request.app.state.settings


def _client(request: Request) -> Client:
    client = request.app.state.client
    if client is None:
        raise FrontdoorError("the web app is not connected to Temporal yet: try again in a moment")
    return client


def render(request: Request, template: str, status: int = 200, actor: Actor | None = None, **context: Any) -> HTMLResponse:
    env = request.app.state.templates
    flash = request.session.pop("flash", None) if "session" in request.scope else None
    html = env.get_template(f"web/{template}").render(
        request=request, actor=actor, csrf=csrf_token(request) if "session" in request.scope else "",
        flash=flash, now=datetime.now(UTC), home=HOME.get(actor.role) if actor else "/login",
        may=lambda action: actor is not None and actor.role in PERMISSIONS.get(action, frozenset()),
        **context,
    )
    return HTMLResponse(html, status_code=status)


def error_page(request: Request, status: int, message: str) -> HTMLResponse:
    actor = None
    return render(request, "error.html", status=status, actor=actor, status_code=status, message=message)


def flash(request: Request, kind: str, message: str) -> None:
    request.session["flash"] = {"kind": kind, "message": message}


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


# ------------------------------------------------------------------ sign in and out
@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request, next: str | None = None) -> HTMLResponse:
    return render(request, "login.html", next=_safe_next(next), error=None, username="")


@router.post("/login")
async def login(request: Request) -> Response:
    form = await request.form()
    verify_csrf(request, form.get("csrf_token"))
    username, password = str(form.get("username") or "").strip(), str(form.get("password") or "")
    actor = await sign_in(request, username, password) if username and password else None
    if actor is None:
        return render(request, "login.html", status=401, next=_safe_next(str(form.get("next") or "")),
                      error="Wrong username or password. Ask your administrator if you are locked out.",
                      username=username)
    target = _safe_next(str(form.get("next") or ""))
    return RedirectResponse(HOME[actor.role] if target in ("/", "/login") else target, status_code=303)


@router.post("/logout")
async def logout(request: Request) -> Response:
    form = await request.form()
    verify_csrf(request, form.get("csrf_token"))
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


@router.get("/")
async def home(actor: Actor = Depends(page_actor)) -> Response:
    return RedirectResponse(HOME[actor.role], status_code=303)


# ------------------------------------------------------------------ worker: queue
@router.get("/queue", response_class=HTMLResponse)
async def queue(request: Request, actor: Actor = Depends(page_actor)) -> HTMLResponse:
    check(actor, "view")
    rows = await views.list_rows(_client(request), views.contacts_query(), limit=500)
    rows.sort(key=views.queue_order)
    return render(request, "queue.html", actor=actor, rows=rows)


# ------------------------------------------------------------------ worker: new contact
def _new_id() -> str:
    return f"C-{datetime.now(UTC):%Y}-{secrets.randbelow(10**6):06d}"


def _blank_form(settings: Settings) -> dict[str, Any]:
    now = views.local_input(datetime.now(UTC), settings.timezone)
    return {"id": _new_id(), "received_at": now, "source": "", "police_attendance_at": "", "factors": [],
            "consent_status": "not_sought"}


def _opt(form: FormData, name: str) -> str | None:
    value = form.get(name)
    text = str(value).strip() if value is not None else ""
    return text or None


def _contact_from_form(form: FormData, settings: Settings) -> dict[str, Any]:
    tz = settings.timezone

    def when(name: str) -> str | None:
        raw = _opt(form, name)
        if raw is None:
            return None
        try:
            return views.parse_local(raw, tz).isoformat()
        except ValueError:
            return raw  # the model says what is wrong with it

    children = []
    for i in (0, 1):
        child = {k: _opt(form, f"child{i}_{k}") for k in (
            "first_name", "last_name", "date_of_birth", "sex", "nhs_number", "local_id", "postcode", "ethnicity")}
        if any(child.values()) or i == 0:
            children.append({k: v for k, v in child.items() if v is not None})
    return {
        "id": _opt(form, "id") or "",
        "received_at": when("received_at"),
        "source": _opt(form, "source") or "",
        "referrer": {k: _opt(form, f"referrer_{k}") for k in ("name", "agency", "role", "phone", "email")},
        "children": children,
        "concerns": {"factors": [str(f) for f in form.getlist("factors")], "summary": _opt(form, "summary") or ""},
        "consent": {"status": _opt(form, "consent_status") or "not_sought", "note": _opt(form, "consent_note")},
        "police_attendance_at": when("police_attendance_at"),
    }


@router.get("/contacts/new", response_class=HTMLResponse)
async def new_contact_form(request: Request, actor: Actor = Depends(page_actor)) -> HTMLResponse:
    check(actor, "submit_contact")
    return render(request, "new_contact.html", actor=actor, values=_blank_form(_settings(request)), errors=[],
                  police_source=POLICE_SOURCE)


@router.post("/contacts/new")
async def new_contact(request: Request, actor: Actor = Depends(page_actor)) -> Response:
    check(actor, "submit_contact")
    form = await request.form()
    verify_csrf(request, form.get("csrf_token"))
    settings = _settings(request)
    data = _contact_from_form(form, settings)
    values = {k: str(v) for k, v in form.items() if k != "csrf_token"} | {"factors": form.getlist("factors")}
    errors: list[str] = []
    try:
        contact = Contact.model_validate(data)
        await contacts.submit_contact(_client(request), settings, contact, actor)
    except ValidationError as exc:
        errors = [f"{'.'.join(str(p) for p in e['loc']) or 'contact'}: {e['msg'].removeprefix('Value error, ')}"
                  for e in exc.errors()]
    except FrontdoorError as exc:
        errors = [exc.message]
    if errors:
        return render(request, "new_contact.html", status=422, actor=actor, values=values, errors=errors,
                      police_source=POLICE_SOURCE)
    flash(request, "ok", f"Contact {contact.id} received. The history check runs now.")
    return RedirectResponse(f"/contacts/{contact.id}", status_code=303)


# ------------------------------------------------------------------ worker: the contact page
@router.get("/contacts/{contact_id}", response_class=HTMLResponse)
async def contact_page(contact_id: str, request: Request, actor: Actor = Depends(page_actor)) -> HTMLResponse:
    check(actor, "view")
    settings = _settings(request)
    state = await contacts.get_state(_client(request), contact_id)
    record, docs, trail = await run_in_threadpool(
        lambda: (views.record_of(settings, contact_id), views.documents_of(settings, contact_id),
                 views.trail_of(settings, contact_id))
    )
    default_deadline = (state.decision_due_at or datetime.now(UTC)) + parse_duration("24h")
    return render(
        request, "contact.html", actor=actor, state=state, record=record, documents=docs, trail=trail,
        offered=views.offered(state, actor), stage_allows=views.stage_allows(state), titles=ACTION_TITLES,
        temporal_url=views.temporal_link(settings, contacts.workflow_id(contact_id)),
        unasked=views.unasked_agencies(state), consent_label=views.consent_label(state),
        refresh=state.stage in views.TRANSIENT, spa_open=state.stage in views.SPA_OPEN,
        default_deadline=views.local_input(default_deadline, settings.timezone),
        stage_names={s.value: s.value.replace("_", " ") for s in Stage},
    )


def _bool(form: FormData, name: str) -> bool:
    return str(form.get(name) or "").lower() in {"on", "true", "1", "yes"}


def payload_from_form(action: str, form: FormData, settings: Settings) -> dict[str, Any]:
    """The action's input (without actor) from its HTML form."""
    o = lambda name: _opt(form, name)  # noqa: E731
    if action == "triage":
        advice = None
        if o("advice_from"):
            advice = {"given_by": o("advice_from"), "advice": o("advice") or "", "reasons": o("advice_reasons") or ""}
        return {"level": o("level"), "route": o("route"), "rationale": o("rationale") or "",
                "threshold_advice": advice, "departure_reason": o("departure_reason"),
                "history_considered": _bool(form, "history_considered")}
    if action in ("review",):
        return {"rag": o("rag"), "note": o("note")}
    if action in ("pickup", "retry"):
        return {"note": o("note")}
    if action == "consent":
        return {"status": o("status"), "note": o("note")}
    if action == "override_consent":
        return {"reason": o("reason"), "explanation": o("explanation") or ""}
    if action == "map_requests":
        return {"agencies": [str(a) for a in form.getlist("agencies")], "questions": o("questions")}
    if action == "map_responses":
        return {"agency": o("agency"), "information": o("information") or "",
                "known_to_agency": not _bool(form, "not_known")}
    if action == "proceed_without":
        return {"agency": o("agency"), "reason": o("reason") or ""}
    if action == "recommendation":
        return {"summary": o("summary") or "", "recommended_outcome": o("recommended_outcome"), "quadrant": o("quadrant")}
    if action == "decision":
        return {"outcome": o("outcome"), "rationale": o("rationale") or "", "quadrant": o("quadrant"),
                "recurring_pattern_considered": _bool(form, "recurring_pattern_considered")}
    if action == "extension":
        raw = o("new_deadline")
        try:
            deadline: Any = views.parse_local(raw, settings.timezone) if raw else None
        except ValueError:
            deadline = raw
        return {"reason": o("reason"), "new_deadline": deadline, "explanation": o("explanation")}
    raise NotFound(f"no action {action}")


@router.post("/contacts/{contact_id}/actions/{action}")
async def contact_action(contact_id: str, action: str, request: Request, actor: Actor = Depends(page_actor)) -> Response:
    form = await request.form()
    verify_csrf(request, form.get("csrf_token"))
    if action not in contacts.ACTIONS:
        raise NotFound(f"no action {action}; one of {', '.join(contacts.ACTIONS)}")
    back = RedirectResponse(f"/contacts/{contact_id}", status_code=303)
    try:
        check(actor, views.ACTION_PERMISSIONS[action])
        _, model = contacts.ACTIONS[action]
        payload = model.model_validate(payload_from_form(action, form, _settings(request)) | {"actor": actor})
        await contacts.act(_client(request), contact_id, action, payload)
    except ValidationError as exc:
        msgs = [f"{'.'.join(str(p) for p in e['loc']) or action}: {e['msg'].removeprefix('Value error, ')}" for e in exc.errors()]
        flash(request, "error", f"{ACTION_TITLES[action]}: not saved. " + "; ".join(msgs))
        return back
    except FrontdoorError as exc:
        flash(request, "error", f"{ACTION_TITLES[action]}: not saved. {exc.message}")
        return back
    flash(request, "ok", f"{ACTION_TITLES[action]}: saved.")
    return back


@router.get("/documents/{document_id:path}", response_class=HTMLResponse)
async def show_document(document_id: str, request: Request, actor: Actor = Depends(page_actor)) -> HTMLResponse:
    check(actor, "view")
    doc = await run_in_threadpool(views.document, _settings(request), document_id)
    if doc is None:
        raise NotFound(f"no document {document_id}")
    # Rendered by activities/documents.py from autoescaped templates; shown as stored.
    return HTMLResponse(doc.content)


# ------------------------------------------------------------------ manager
@router.get("/manager", response_class=HTMLResponse)
async def manager(request: Request, actor: Actor = Depends(page_actor)) -> HTMLResponse:
    check(actor, "view")
    rows = await views.list_rows(_client(request), views.contacts_query(route="spa"), limit=500)
    rows = [r for r in rows if r.stage in [s.value for s in views.SPA_OPEN]]
    rows.sort(key=views.by_time_left)
    ready = [r for r in rows if r.stage == Stage.AWAITING_DECISION.value]
    gathering = [r for r in rows if r.stage != Stage.AWAITING_DECISION.value]
    return render(request, "manager.html", actor=actor, ready=ready, gathering=gathering)


# ------------------------------------------------------------------ supervisor
def _within(text: str | None) -> tuple[str, Any]:
    try:
        return (text or "4h"), parse_duration(text or "4h", name="within")
    except ConfigError:
        return "4h", parse_duration("4h")


@router.get("/supervisor", response_class=HTMLResponse)
async def supervisor(request: Request, within: str | None = None, actor: Actor = Depends(page_actor)) -> HTMLResponse:
    check(actor, "stuck")
    label, window = _within(within)
    panels = await views.stuck_panels(_client(request), window)
    return render(request, "supervisor.html", actor=actor, panels=panels, within=label,
                  poll_ms=int(request.app.state.poll_seconds * 1000), link=lambda wid: views.temporal_link(_settings(request), wid))


@router.get("/supervisor/panels", response_class=HTMLResponse)
async def supervisor_panels(request: Request, within: str | None = None, actor: Actor = Depends(page_actor)) -> HTMLResponse:
    check(actor, "stuck")
    label, window = _within(within)
    panels = await views.stuck_panels(_client(request), window)
    return render(request, "_panels.html", actor=actor, panels=panels, within=label,
                  link=lambda wid: views.temporal_link(_settings(request), wid))
