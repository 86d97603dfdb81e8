"""Server-rendered screens, generated from the processes (workflows/registry.py): each
process's lists, its start form, its case page with a form for every action the case's
stage allows and the person's role may take; sign-in; the supervisor's dashboard. Every
form POST carries a CSRF token; every action goes through frontdoor.processes.act, so the
workflow's validator (the action table) has the last word."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from temporalio.client import Client

from frontdoor import access, processes, record, stuck, timefmt
from frontdoor.config import ConfigError, Settings, parse_duration
from frontdoor.errors import FrontdoorError, NotFound, StillWorking
from frontdoor.web import forms
from frontdoor.web.auth import check, check_role, csrf_token, page_actor, sign_in, verify_csrf
from models.bounds import duration_errors
from models.roles import PERMISSIONS, Actor, Role
from workflows.process import ListView, Process

router = APIRouter(include_in_schema=False)

SUPERVISOR = ("/supervisor", "What is stuck")
REPORTS = ("/reports", "Reports")  # frontdoor/web/reports.py (issue 10)


# ------------------------------------------------------------------ navigation, from the processes
def nav(actor: Actor) -> list[tuple[str, str]]:
    """The lists this person works from, then starting a case, then the supervisor's view."""
    links = [(f"/{v.name}", v.title) for p in processes.PROCESSES for v in p.views if actor.role in v.roles]
    links += [(f"/{p.path}/new", p.start.title) for p in processes.PROCESSES
              if p.start and actor.role in p.start.roles and not any(v.name == p.path for v in p.views)]
    links += [REPORTS] if actor.role in PERMISSIONS["reports"] else []
    return links + ([SUPERVISOR] if actor.role in PERMISSIONS["stuck"] else [])


def home(actor: Actor) -> str:
    views = [v for p in processes.PROCESSES for v in p.views if actor.role in v.roles]
    return f"/{views[0].name}" if views else SUPERVISOR[0]  # every role has one or the other (tests/test_registry)


def case_url(kind: str | None, subject_id: str) -> str | None:
    proc = processes.BY_KIND.get(kind or "")
    return f"/{proc.path}/{subject_id}" if proc else None


def _settings(request: Request) -> Settings:
    return request.app.state.settings


def _client(request: Request) -> Client:
    client = request.app.state.client
    if client is None:
        raise FrontdoorError("the web app is not connected to Temporal yet: try again in a moment")
    return client


def render(request: Request, template: str, status: int = 200, actor: Actor | None = None, **context: Any) -> HTMLResponse:
    """Render `web/<template>` (or a process's `<kind>/<template>` given with its folder)."""
    env = request.app.state.templates
    has_session = "session" in request.scope
    flash = request.session.pop("flash", None) if has_session else None
    name = template if "/" in template else f"web/{template}"
    html = env.get_template(name).render(
        request=request, actor=actor, csrf=csrf_token(request) if has_session else "",
        flash=flash, now=datetime.now(UTC), home=home(actor) if actor else "/login",
        nav=nav(actor) if actor else [],
        may=lambda permission: actor is not None and actor.role in PERMISSIONS.get(permission, frozenset()),
        **context,
    )
    return HTMLResponse(html, status_code=status)


def error_page(request: Request, status: int, message: str) -> HTMLResponse:
    return render(request, "error.html", status=status, actor=None, status_code=status, message=message)


def flash(request: Request, kind: str, message: str) -> None:
    request.session["flash"] = {"kind": kind, "message": message}


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def _errors(exc: ValidationError) -> list[str]:
    return [f"{'.'.join(str(p) for p in e['loc']) or 'input'}: {e['msg'].removeprefix('Value error, ')}"
            for e in exc.errors()]


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
    return RedirectResponse(home(actor) if target in ("/", "/login") else target, status_code=303)


@router.post("/logout")
async def logout(request: Request) -> Response:
    form = await request.form()
    verify_csrf(request, form.get("csrf_token"))
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


@router.get("/")
async def start_page(actor: Actor = Depends(page_actor)) -> Response:
    return RedirectResponse(home(actor), status_code=303)


# ------------------------------------------------------------------ documents
@router.get("/documents/{document_id:path}", response_class=HTMLResponse)
async def show_document(document_id: str, request: Request, actor: Actor = Depends(page_actor)) -> HTMLResponse:
    check(actor, "view")
    doc = await run_in_threadpool(record.document, _settings(request).database_url, document_id)
    if doc is None:
        raise NotFound(f"no document {document_id}")
    proc = processes.BY_KIND.get(doc.process or "")
    if proc is not None:
        check_reader(actor, proc)
    elif not all(p.may_read(actor.role) for p in processes.PROCESSES):  # a document kept before it named its process
        raise NotFound(f"no document {document_id} you may read")
    await run_in_threadpool(access.open_case, _settings(request).database_url, actor, doc.process or "case",
                            doc.subject_id, "document", "document", document_id, any_kind=doc.process is None)
    # Rendered by activities/documents.py from autoescaped templates; shown as stored.
    return HTMLResponse(doc.content)


# ------------------------------------------------------------------ supervisor
def _within(text: str | None) -> tuple[str, Any]:
    """The dashboard's "due within": a duration in bounds, or the default."""
    try:
        window = parse_duration((text or "4h")[:20], name="within")
    except ConfigError:
        return "4h", parse_duration("4h")
    return ((text or "4h"), window) if not duration_errors("within", window) else ("4h", parse_duration("4h"))


async def stuck_panels(client: Client, within: Any, at_once: int, limit: int = 25) -> list[dict[str, Any]]:
    """Every stuck list of every process, so lists added later appear here too (`at_once`:
    settings.stuck_queries_at_once)."""
    async def panel(name: str) -> tuple[int, list[stuck.Row]]:
        total = await stuck.count(client, name, within)
        rows, _ = await stuck.page(client, name, within, page_size=limit)
        return total, sorted(rows, key=lambda r: r.since or datetime.max.replace(tzinfo=UTC))

    panels = []
    for name, result in (await stuck.each_list(stuck.KINDS, panel, at_once)).items():
        # a cluster without the attribute: say so, show the rest
        total, rows, error = (0, [], str(result)[:200]) if isinstance(result, Exception) else (*result, None)
        panels.append({"name": name, "title": stuck.KINDS[name].title, "count": total, "rows": rows, "error": error})
    return panels


def temporal_link(settings: Settings, workflow_id: str) -> str:
    t = settings.temporal
    return f"{t.ui_url.rstrip('/')}/namespaces/{t.namespace}/workflows/{workflow_id}"


@router.get("/supervisor", response_class=HTMLResponse)
@router.get("/supervisor/panels", response_class=HTMLResponse)
async def supervisor(request: Request, within: str | None = None, actor: Actor = Depends(page_actor)) -> HTMLResponse:
    """The dashboard; /supervisor/panels is its refreshing part alone."""
    check(actor, "stuck")
    label, window = _within(within)
    panels = await stuck_panels(_client(request), window, request.app.state.settings.stuck_queries_at_once)
    whole = not request.url.path.endswith("/panels")
    teams = trend = trend_chart = None
    if whole:  # each stuck list over the last 14 days, from the hourly snapshots
        from frontdoor import stuck_trend

        trend = await run_in_threadpool(stuck_trend.trend, _settings(request).database_url, stuck_trend.DEFAULT_DAYS,
                                        _settings(request).timezone)
        trend_chart = await run_in_threadpool(stuck_trend.chart_src, trend)
    if whole and actor.role in PERMISSIONS["caseloads"]:  # each team's caseloads, under the stuck lists
        from frontdoor import caseloads

        teams = await caseloads.all_teams(_client(request), _settings(request))
    return render(request, "supervisor.html" if whole else "_panels.html", actor=actor, panels=panels, within=label,
                  teams=teams, trend=trend, trend_chart=trend_chart,
                  poll_ms=int(request.app.state.poll_seconds * 1000),
                  link=lambda wid: temporal_link(_settings(request), wid))


# ------------------------------------------------------------------ generated per process
def _new_id(proc: Process) -> str:
    prefix = {"contact": "C", "consultation": "CONS", "early_help": "EH"}.get(proc.kind, proc.kind[:4].upper())
    return f"{prefix}-{datetime.now(UTC):%Y}-{secrets.randbelow(10**6):06d}"


def _blank_values(proc: Process, settings: Settings) -> dict[str, Any]:
    assert proc.start is not None
    now = timefmt.local_input(datetime.now(UTC), settings.timezone)
    return {"id": _new_id(proc), proc.start.received_field: now}


def check_reader(actor: Actor, proc: Process) -> None:
    check_role(actor, proc.readers or frozenset(Role), f"read {proc.noun}s")


async def _list_page(request: Request, actor: Actor, proc: Process, view: ListView, *, values: dict[str, Any] | None = None,
                     errors: list[str] | None = None, status: int = 200) -> HTMLResponse:
    check_reader(actor, proc)
    if actor.role not in view.roles:
        check(actor, "view")
    rows = await stuck.list_rows(_client(request), stuck.view_query(proc, view), limit=stuck.MAX_PAGE)
    if view.order:
        rows.sort(key=view.order)
    groups = [(gid, title, [r for r in rows if keep(r)]) for gid, title, keep in view.groups] or [(view.name, "", rows)]
    start = proc.start if proc.start and actor.role in proc.start.roles and view.name == proc.path else None
    return render(request, "list.html", status=status, actor=actor, proc=proc, view=view, groups=groups, total=len(rows),
                  start=start, values=values if values is not None else (_blank_values(proc, _settings(request)) if start else {}),
                  errors=errors or [])


def _case_page_context(request: Request, proc: Process, state: Any, actor: Actor) -> dict[str, Any]:
    settings = _settings(request)
    subject = proc.subject_of(state)
    offered = proc.actions.offered(state, actor.role)
    return {
        "proc": proc, "state": state, "s": state, "subject": subject,
        "offered": [(a, forms.action_fields(a, state, settings.timezone)) for a in offered],
        "others": [a for a in proc.actions.now(state) if a not in offered],
        "not_yet": proc.actions.not_yet(state, actor.role),
        "temporal_url": temporal_link(settings, proc.workflow_id(subject)),
        "refresh": state.stage in proc.transient,
    }


async def _case_page(request: Request, proc: Process, subject_id: str, actor: Actor) -> HTMLResponse:
    check_reader(actor, proc)
    url = _settings(request).database_url
    restriction = await run_in_threadpool(access.open_case, url, actor, proc.kind, subject_id, "page", "state")
    state = await processes.get_state(_client(request), proc, subject_id)
    received, docs, trail, messages = await run_in_threadpool(
        lambda: (record.received(url, subject_id), record.documents(url, subject_id), record.trail(url, subject_id),
                 record.messages(url, subject_id))
    )
    return render(request, "case.html", actor=actor, record=received, documents=docs, trail=trail, messages=messages,
                  restriction=restriction,
                  **_case_page_context(request, proc, state, actor))


async def _start(request: Request, proc: Process, actor: Actor, back: ListView | None) -> Response:
    spec = proc.start
    assert spec is not None
    check_role(actor, spec.roles, spec.title.lower())
    form = await request.form()
    verify_csrf(request, form.get("csrf_token"))
    settings = _settings(request)
    values = {k: str(v) for k, v in form.items() if k != "csrf_token"} | {
        k: [str(x) for x in form.getlist(k)] for k in form.keys() if len(form.getlist(k)) > 1 or k.endswith("factors")}
    errors: list[str] = []
    try:
        item = spec.model.model_validate(forms.read(spec.model, form, settings.timezone))
        await processes.start(_client(request), settings, proc, item, actor)
    except ValidationError as exc:
        errors = _errors(exc)
    except (FrontdoorError, forms.FormError) as exc:
        errors = [getattr(exc, "message", str(exc))]
    if errors:
        if back is not None:
            return await _list_page(request, actor, proc, back, values=values, errors=errors, status=422)
        return render(request, "start.html", status=422, actor=actor, proc=proc, values=values, errors=errors)
    subject = spec.subject_id(item)
    note = f" {spec.next_step(item)}" if spec.next_step else ""
    flash(request, "ok", f"{proc.noun.capitalize()} {subject} received.{note}")
    return RedirectResponse(f"/{proc.path}/{subject}", status_code=303)


async def _act(request: Request, proc: Process, subject_id: str, name: str, actor: Actor) -> Response:
    form = await request.form()
    verify_csrf(request, form.get("csrf_token"))
    if name not in proc.actions:
        raise NotFound(f"no action {name}; one of {', '.join(proc.actions.names())}")
    action = proc.actions[name]
    back = RedirectResponse(f"/{proc.path}/{subject_id}", status_code=303)
    try:
        check_role(actor, action.roles, action.doing())
        payload = action.model.model_validate(forms.read(action.model, form, _settings(request).timezone) | {"actor": actor})
        await processes.act(_client(request), proc, subject_id, name, payload, settings=_settings(request))
    except StillWorking as exc:
        flash(request, "ok", exc.message)
        return back
    except ValidationError as exc:
        flash(request, "error", f"{action.title}: not saved. " + "; ".join(_errors(exc)))
        return back
    except (FrontdoorError, forms.FormError) as exc:
        flash(request, "error", f"{action.title}: not saved. {getattr(exc, 'message', exc)}")
        return back
    flash(request, "ok", f"{action.title}: saved.")
    return back


def _view_page(proc: Process, view: ListView) -> Any:
    async def view_page(request: Request, actor: Actor = Depends(page_actor)) -> HTMLResponse:
        return await _list_page(request, actor, proc, view)

    return view_page


def _register(proc: Process) -> None:
    collection = next((v for v in proc.views if v.name == proc.path), None)
    default = collection or ListView(proc.path, f"Open {proc.noun}s", frozenset(Role))

    for view in proc.views:
        if view.name != proc.path:
            router.add_api_route(f"/{view.name}", _view_page(proc, view), methods=["GET"], response_class=HTMLResponse)

    async def collection_page(request: Request, actor: Actor = Depends(page_actor)) -> HTMLResponse:
        return await _list_page(request, actor, proc, default)

    router.add_api_route(f"/{proc.path}", collection_page, methods=["GET"], response_class=HTMLResponse)

    if proc.start is not None:
        spec = proc.start

        async def start_form(request: Request, actor: Actor = Depends(page_actor)) -> HTMLResponse:
            check_role(actor, spec.roles, spec.title.lower())
            return render(request, "start.html", actor=actor, proc=proc, values=_blank_values(proc, _settings(request)),
                          errors=[])

        async def start_new(request: Request, actor: Actor = Depends(page_actor)) -> Response:
            return await _start(request, proc, actor, None)

        async def start_from_list(request: Request, actor: Actor = Depends(page_actor)) -> Response:
            return await _start(request, proc, actor, default)

        router.add_api_route(f"/{proc.path}/new", start_form, methods=["GET"], response_class=HTMLResponse)
        router.add_api_route(f"/{proc.path}/new", start_new, methods=["POST"])
        router.add_api_route(f"/{proc.path}", start_from_list, methods=["POST"])

    async def case_page(subject_id: str, request: Request, actor: Actor = Depends(page_actor)) -> HTMLResponse:
        return await _case_page(request, proc, subject_id, actor)

    async def case_action(subject_id: str, name: str, request: Request, actor: Actor = Depends(page_actor)) -> Response:
        return await _act(request, proc, subject_id, name, actor)

    router.add_api_route(f"/{proc.path}/{{subject_id}}", case_page, methods=["GET"], response_class=HTMLResponse)
    router.add_api_route(f"/{proc.path}/{{subject_id}}/actions/{{name}}", case_action, methods=["POST"])


for _proc in processes.PROCESSES:
    _register(_proc)
