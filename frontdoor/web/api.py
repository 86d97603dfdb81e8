"""The JSON API: every action a person takes on a screen, for partner systems and scripts.

Generated from the processes' action tables (workflows/registry.py): for each process,
`POST /api/{path}` starts a case, `GET /api/{path}` lists open cases, `GET /api/{path}/{id}`
reads one (with `/trail`, `/documents` and `/messages`), and `POST /api/{path}/{id}/{action}`
takes each action, named as in the table.

Authentication is a bearer token (`frontdoor users add NAME --role ROLE` prints one). The
server fills each action's `actor` from the token and checks the role against the action's
row before the workflow's validator checks the whole rule. Errors always answer
`{"detail": "what was wrong and what to do"}`: 401 no or bad token, 403 wrong role,
404 no such case, 409 the stage does not allow it (or a duplicate id), 422 invalid input
(with `errors`, one per field).
"""

from datetime import timedelta
from typing import Any, Literal

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool
from temporalio.client import Client

from frontdoor import access, fields, processes, record, stuck
from frontdoor import stuck_trend as stuck_trend_
from frontdoor.config import ConfigError, Settings, parse_duration
from frontdoor.errors import FrontdoorError, InvalidInput, StillWorking
from frontdoor.web.auth import api_permission, api_roles
from models.bounds import duration_errors
from models.roles import Actor, Role
from workflows.process import Action, Process

router = APIRouter(prefix="/api")


def field_errors(exc: ValidationError, drop_prefix: tuple[str, ...] = ()) -> list[dict[str, str]]:
    out = []
    for err in exc.errors():
        loc = [str(p) for p in err["loc"] if str(p) not in drop_prefix]
        out.append({"field": ".".join(loc) or "body", "message": err["msg"].removeprefix("Value error, ")})
    return out


def invalid_from(exc: ValidationError, drop_prefix: tuple[str, ...] = ()) -> InvalidInput:
    return InvalidInput.of(field_errors(exc, drop_prefix))


class ErrorBody(BaseModel):
    detail: str
    errors: list[dict[str, str]] | None = None
    kind: str | None = None


ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody, "description": text}
    for code, text in {
        400: "the body could not be read (not JSON, or not UTF-8)",
        401: "no API token, or it was revoked", 403: "your role may not do this, or the action was not vouched for",
        404: "no such case", 409: "the case's stage does not allow this (or the id was used before)",
        413: "the request body is larger than FRONTDOOR_MAX_BODY_BYTES",
        422: "invalid input (one entry per field in `errors`). Besides what the schema states, the rules it cannot "
             "state answer 422 too: times against the clock (a receipt not in the future, a child under 25), rules "
             "across fields (police attendance only for source 6), people named who must exist, page tokens",
        429: "too many attempts: try again later",
        503: "Temporal or the workers did not answer in time: try again",
    }.items()
}
ACTED: dict[int | str, dict[str, Any]] = ERRORS | {
    202: {"model": ErrorBody, "description": "taken and still being carried out (FRONTDOOR_ACTION_TIMEOUT passed): "
          "`url` is the case"},
}


def page_key(request: Request) -> bytes:
    return stuck.token_key(settings_of(request).web_secret_key)


def client_of(request: Request) -> Client:
    client = request.app.state.client
    if client is None:
        raise FrontdoorError("the web app is not connected to Temporal yet: try again in a moment")
    return client


def settings_of(request: Request) -> Settings:
    return request.app.state.settings


class Started(BaseModel):
    id: str
    workflow_id: str
    url: str


class Page(BaseModel):
    count: int
    rows: list[dict[str, Any]]
    next_page_token: str | None = None


# ------------------------------------------------------------------ generated per process
def _register(proc: Process) -> None:
    base = f"/{proc.path}"
    tag = proc.noun + "s"
    readers = api_roles(proc.readers or frozenset(Role), f"read {proc.noun}s")
    stage_type = proc.state.model_fields["stage"].annotation
    Stage_: Any = Literal[tuple(s.value for s in stage_type)]  # type: ignore[union-attr]

    if proc.start is not None:
        spec = proc.start
        Item = spec.model

        async def start(request: Request, item: Item = Body(...),  # type: ignore[valid-type]
                        actor: Actor = Depends(api_roles(spec.roles, spec.title.lower()))) -> Started:
            wid = await processes.start(client_of(request), settings_of(request), proc, item, actor)  # type: ignore[arg-type]
            subject = spec.subject_id(item)
            return Started(id=subject, workflow_id=wid, url=f"/api/{proc.path}/{subject}")

        start.__doc__ = (f"{spec.title}: starts its durable workflow. {spec.help} Answers once the {proc.noun} has "
                         f"opened (its first steps done), or after FRONTDOOR_ACTION_TIMEOUT with it received all the "
                         f"same. 409 when the id was used before.")
        router.add_api_route(base, start, methods=["POST"], status_code=201, response_model=Started, responses=ERRORS,
                             name=f"start_{proc.kind}", tags=[tag])

    async def list_cases(
        request: Request,
        stage: Stage_ | None = Query(None, description="only cases at this stage"),  # type: ignore[valid-type]
        flag: str | None = Query(None, pattern=r"^[a-z_]{1,40}$", description="only cases showing this flag, e.g. decision_overdue"),
        closed: bool = Query(False, description="include closed cases"),
        limit: int = Query(100, ge=1, le=stuck.MAX_PAGE),
        page_token: str | None = Query(None, max_length=2000, description="from the previous page's next_page_token"),
        actor: Actor = Depends(readers),
    ) -> Page:
        query = stuck.cases_query(proc, stage=stage, flag=flag, open_only=not closed)
        rows, token = await stuck.page_of(client_of(request), query, page_size=limit,
                                          next_page_token=stuck.decode_token(page_token, page_key(request)))
        rows.sort(key=lambda r: r.received_at.isoformat() if r.received_at else "")
        return Page(count=len(rows), rows=[r.as_dict() for r in rows],
                    next_page_token=stuck.encode_token(token, page_key(request)))

    list_cases.__doc__ = (f"Open {proc.noun}s (a visibility query: no personal data), a page at a time; "
                          "pass next_page_token back for the next page.")
    router.add_api_route(base, list_cases, methods=["GET"], response_model=Page, responses=ERRORS,
                         name=f"list_{proc.kind}", tags=[tag])

    async def opened(request: Request, actor: Actor, subject_id: str, part: str) -> None:
        """Every read of a case's details is logged, and refused when it is restricted (frontdoor/access.py)."""
        await run_in_threadpool(access.open_case, settings_of(request).database_url, actor, proc.kind, subject_id,
                                "api", part)

    async def show(subject_id: str, request: Request, actor: Actor = Depends(readers)) -> Any:
        await opened(request, actor, subject_id, "state")
        return await processes.get_state(client_of(request), proc, subject_id)

    show.__doc__ = f"The {proc.noun}'s full state, read from its workflow."
    router.add_api_route(f"{base}/{{subject_id}}", show, methods=["GET"], response_model=proc.state,
                         responses=ERRORS, name=f"show_{proc.kind}", tags=[tag])

    async def trail(subject_id: str, request: Request, actor: Actor = Depends(readers)) -> dict[str, Any]:
        await opened(request, actor, subject_id, "trail")
        rows = await run_in_threadpool(record.trail, settings_of(request).database_url, subject_id)
        return {"id": subject_id, "actions": record.trail_json(rows)}

    async def documents(subject_id: str, request: Request, actor: Actor = Depends(readers)) -> dict[str, Any]:
        await opened(request, actor, subject_id, "documents")
        rows = await run_in_threadpool(record.documents, settings_of(request).database_url, subject_id)
        return {"id": subject_id, "documents": record.documents_json(rows)}

    async def messages(subject_id: str, request: Request, actor: Actor = Depends(readers)) -> dict[str, Any]:
        await opened(request, actor, subject_id, "messages")
        rows = await run_in_threadpool(record.messages, settings_of(request).database_url, subject_id)
        return {"id": subject_id, "messages": record.messages_json(rows)}

    trail.__doc__ = f"The append-only action trail of a {proc.noun}: who did what, when and why."
    documents.__doc__ = f"Documents rendered for a {proc.noun}, with links."
    messages.__doc__ = f"Messages sent about a {proc.noun}: agencies, staff, teams, the referrer."
    for name, fn in (("trail", trail), ("documents", documents), ("messages", messages)):
        router.add_api_route(f"{base}/{{subject_id}}/{name}", fn, methods=["GET"], responses=ERRORS,
                             name=f"{proc.kind}_{name}", tags=[tag])

    for action in proc.actions:
        router.add_api_route(
            f"{base}/{{subject_id}}/{action.name}", _action_endpoint(proc, action), methods=["POST"],
            response_model=proc.state, responses=ACTED, name=f"{proc.kind}_{action.name}", tags=[tag],
        )


def _action_endpoint(proc: Process, action: Action) -> Any:
    Body_ = fields.body_model(action.model)

    async def endpoint(
        subject_id: str, request: Request, body: Body_,  # type: ignore[valid-type]
        actor: Actor = Depends(api_roles(action.roles, action.doing())),
    ) -> Any:
        try:
            payload = action.model.model_validate(body.model_dump() | {"actor": actor})  # type: ignore[attr-defined]
        except ValidationError as exc:
            raise invalid_from(exc, drop_prefix=("body",)) from None
        return await processes.act(client_of(request), proc, subject_id, action.name, payload,
                                   settings=settings_of(request))

    endpoint.__name__ = f"{proc.kind}_{action.name}"
    endpoint.__doc__ = f"{action.title} ({proc.noun}): returns the new state. {action.help} Who may: {action.who()}."
    return endpoint


for _proc in processes.PROCESSES:
    _register(_proc)


# ------------------------------------------------------------------ stuck
StuckKind: Any = Literal[tuple(stuck.KINDS)]  # type: ignore[valid-type]

@router.get("/stuck", responses=ERRORS, tags=["what is stuck"])
async def stuck_lists(
    request: Request,
    kind: StuckKind | None = Query(None, description="a stuck list; none: counts of every list"),  # type: ignore[valid-type]
    within: str = Query("4h", max_length=20, description="for due_soon: a duration such as 4h or 90m"),
    limit: int = Query(50, ge=1, le=stuck.MAX_PAGE),
    page_token: str | None = Query(None, max_length=2000, description="from the previous page's next_page_token"),
    actor: Actor = Depends(api_permission("stuck")),
) -> dict[str, Any]:
    """What is stuck: one visibility query per kind; a list pages to its end with next_page_token."""
    try:
        window: timedelta = parse_duration(within, name="within")
    except ConfigError as exc:
        raise InvalidInput(str(exc), [{"field": "within", "message": str(exc)}]) from None
    if problems := duration_errors("within", window):
        raise InvalidInput.of([e.as_dict() for e in problems])
    client = client_of(request)
    if kind is None:
        counted = await stuck.counts(client, stuck.KINDS, window, request.app.state.settings.stuck_queries_at_once)
        for result in counted.values():
            if isinstance(result, Exception):
                raise result
        return {"within": within, "counts": counted}
    total = await stuck.count(client, kind, window)
    rows, token = await stuck.page(client, kind, window, page_size=limit,
                                   next_page_token=stuck.decode_token(page_token, page_key(request)))
    rows.sort(key=lambda r: r.since.isoformat() if r.since else "")
    return {"kind": kind, "title": stuck.KINDS[kind].title, "within": within, "count": total,
            "rows": [r.as_dict() for r in rows], "next_page_token": stuck.encode_token(token, page_key(request))}


@router.get("/stuck/trend", responses=ERRORS, tags=["what is stuck"])
async def stuck_trend(
    request: Request,
    days: int = Query(stuck_trend_.DEFAULT_DAYS, ge=1, le=stuck_trend_.MAX_DAYS, description="days back, today included"),
    actor: Actor = Depends(api_permission("stuck")),
) -> dict[str, Any]:
    """Each stuck list over the last days (hourly snapshots): its daily maximum and latest count."""
    settings = settings_of(request)
    found = await run_in_threadpool(stuck_trend_.trend, settings.database_url, days, settings.timezone)
    return found.as_dict()


def error_response(exc: FrontdoorError) -> JSONResponse:
    body: dict[str, Any] = {"detail": exc.message}
    if isinstance(exc, InvalidInput):
        body["errors"] = exc.errors
    kind = getattr(exc, "kind", None)
    if kind:
        body["kind"] = kind
    if isinstance(exc, StillWorking):
        body["url"] = "/api" + exc.url
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    return JSONResponse(body, status_code=exc.status, headers=headers)
