"""The JSON API: every action a person takes on a screen, for partner systems and scripts.

Authentication is a bearer token (`frontdoor users add NAME --role ROLE` prints one).
The server fills each action's `actor` from the token and checks the role against
models/roles.PERMISSIONS before the workflow's validators check again. Errors always
answer `{"detail": "what was wrong and what to do"}`: 401 no or bad token, 403 wrong
role, 404 no such contact, 409 the stage does not allow it (or a duplicate id),
422 invalid input (with `errors`, one per field).
"""

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, ValidationError, create_model
from starlette.concurrency import run_in_threadpool
from temporalio.client import Client

from frontdoor import contacts, stuck
from frontdoor.config import ConfigError, Settings, parse_duration
from frontdoor.errors import FrontdoorError
from frontdoor.web import views
from frontdoor.web.auth import api_permission
from models.codes import Route
from models.contact import Contact
from models.roles import Actor
from models.state import ContactState, Stage

router = APIRouter(prefix="/api", tags=["api"])


class InvalidInput(FrontdoorError):
    status = 422

    def __init__(self, message: str, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or []


def field_errors(exc: ValidationError, drop_prefix: tuple[str, ...] = ()) -> list[dict[str, str]]:
    out = []
    for err in exc.errors():
        loc = [str(p) for p in err["loc"] if str(p) not in drop_prefix]
        out.append({"field": ".".join(loc) or "body", "message": err["msg"].removeprefix("Value error, ")})
    return out


def invalid_from(exc: ValidationError, drop_prefix: tuple[str, ...] = ()) -> InvalidInput:
    errors = field_errors(exc, drop_prefix)
    return InvalidInput("the input is not valid: " + "; ".join(f"{e['field']}: {e['message']}" for e in errors), errors)


class ErrorBody(BaseModel):
    detail: str
    errors: list[dict[str, str]] | None = None


ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody, "description": text}
    for code, text in {
        401: "no API token, or it was revoked", 403: "your role may not do this",
        404: "no such contact", 409: "the contact's stage does not allow this",
        422: "invalid input (one entry per field in `errors`)",
    }.items()
}


def body_model(action: str) -> type[BaseModel]:
    """The action's input model without `actor`: the server fills it from the token."""
    _, model = contacts.ACTIONS[action]
    fields: dict[str, Any] = {
        name: (info.annotation, info) for name, info in model.model_fields.items() if name != "actor"
    }
    name = f"{model.__name__}Body"
    return create_model(name, __config__=ConfigDict(extra="forbid"), __doc__=model.__doc__, **fields)


def client_of(request: Request) -> Client:
    client = request.app.state.client
    if client is None:
        raise FrontdoorError("the web app is not connected to Temporal yet: try again in a moment")
    return client


def settings_of(request: Request) -> Settings:
    return request.app.state.settings


# ------------------------------------------------------------------ contacts
class Submitted(BaseModel):
    id: str
    workflow_id: str
    url: str


@router.post("/contacts", status_code=201, response_model=Submitted, responses=ERRORS)
async def submit(
    request: Request,
    contact: Contact,
    actor: Actor = Depends(api_permission("submit_contact")),
) -> Submitted:
    """Receive a contact: starts its durable workflow. 409 when the id was used before."""
    wid = await contacts.submit_contact(client_of(request), settings_of(request), contact, actor)
    return Submitted(id=contact.id, workflow_id=wid, url=f"/api/contacts/{contact.id}")


@router.get("/contacts", responses=ERRORS)
async def list_contacts(
    request: Request,
    stage: Stage | None = Query(None, description="only contacts at this stage"),
    route: Route | None = Query(None, description="only contacts on this route"),
    overdue: bool | None = Query(None, description="true: decision overdue only; false: not overdue"),
    closed: bool = Query(False, description="include closed contacts"),
    limit: int = Query(100, ge=1, le=1000),
    actor: Actor = Depends(api_permission("view")),
) -> dict[str, Any]:
    """Open contacts (a visibility query: no personal data), oldest first."""
    query = views.contacts_query(stage.value if stage else None, route.value if route else None, overdue,
                                 open_only=not closed)
    rows = await views.list_rows(client_of(request), query, limit)
    rows.sort(key=lambda r: r.received_at or r.since)  # type: ignore[arg-type, return-value]
    return {"count": len(rows), "contacts": [r.as_dict() for r in rows]}


@router.get("/contacts/{contact_id}", response_model=ContactState, responses=ERRORS)
async def show(contact_id: str, request: Request, actor: Actor = Depends(api_permission("view"))) -> ContactState:
    """The contact's full state, read from its workflow."""
    return await contacts.get_state(client_of(request), contact_id)


@router.get("/contacts/{contact_id}/trail", responses=ERRORS)
async def trail(contact_id: str, request: Request, actor: Actor = Depends(api_permission("view"))) -> dict[str, Any]:
    """The append-only action trail: who did what, when and why."""
    rows = await run_in_threadpool(views.trail_of, settings_of(request), contact_id)
    return {"id": contact_id, "actions": [r.model_dump(mode="json", exclude={"id", "idempotency_key"}) for r in rows]}


@router.get("/contacts/{contact_id}/documents", responses=ERRORS)
async def documents(contact_id: str, request: Request, actor: Actor = Depends(api_permission("view"))) -> dict[str, Any]:
    """Documents rendered for the contact (MAP requests, recommendation, decision, feedback)."""
    docs = await run_in_threadpool(views.documents_of, settings_of(request), contact_id)
    return {"id": contact_id, "documents": [
        {"id": d.id, "kind": d.kind, "title": d.title, "created_at": d.created_at.isoformat(), "url": f"/documents/{d.id}"}
        for d in docs
    ]}


def _action_endpoint(action: str) -> Any:
    Body_ = body_model(action)
    permission = views.ACTION_PERMISSIONS[action]

    async def endpoint(
        contact_id: str, request: Request, body: Body_,  # type: ignore[valid-type]
        actor: Actor = Depends(api_permission(permission)),
    ) -> ContactState:
        _, model = contacts.ACTIONS[action]
        try:
            payload = model.model_validate(body.model_dump() | {"actor": actor})  # type: ignore[attr-defined]
        except ValidationError as exc:
            raise invalid_from(exc, drop_prefix=("body",)) from None
        return await contacts.act(client_of(request), contact_id, action, payload)

    endpoint.__name__ = action
    endpoint.__doc__ = f"{action.replace('_', ' ').capitalize()}: returns the new state. Needs the '{permission}' permission."
    return endpoint


for _action in contacts.ACTIONS:
    router.add_api_route(
        f"/contacts/{{contact_id}}/{views.ACTION_PATHS[_action]}", _action_endpoint(_action), methods=["POST"],
        response_model=ContactState, responses=ERRORS, name=f"api_{_action}",
    )


# ------------------------------------------------------------------ stuck
@router.get("/stuck", responses=ERRORS)
async def stuck_lists(
    request: Request,
    kind: str | None = Query(None, description="one of " + ", ".join(stuck.KINDS) + "; none: counts of every kind"),
    within: str = Query("4h", description="for due_soon: a duration such as 4h or 90m"),
    limit: int = Query(50, ge=1, le=500),
    actor: Actor = Depends(api_permission("stuck")),
) -> dict[str, Any]:
    """What is stuck: one visibility query per kind (frontdoor/stuck.KINDS)."""
    try:
        window: timedelta = parse_duration(within, name="within")
    except ConfigError as exc:
        raise InvalidInput(str(exc), [{"field": "within", "message": str(exc)}]) from None
    client = client_of(request)
    if kind is None:
        return {"within": within, "counts": {name: await stuck.count(client, name, window) for name in stuck.KINDS}}
    if kind not in stuck.KINDS:
        message = f"unknown stuck list {kind!r}; one of {', '.join(stuck.KINDS)}"
        raise InvalidInput(message, [{"field": "kind", "message": message}])
    total = await stuck.count(client, kind, window)
    rows, _ = await stuck.page(client, kind, window, page_size=limit)
    rows.sort(key=lambda r: r.since.isoformat() if r.since else "")
    return {"kind": kind, "title": stuck.KINDS[kind].title, "within": within, "count": total,
            "rows": [r.as_dict() for r in rows]}


def error_response(exc: FrontdoorError) -> JSONResponse:
    body: dict[str, Any] = {"detail": exc.message}
    if isinstance(exc, InvalidInput):
        body["errors"] = exc.errors
    kind = getattr(exc, "kind", None)
    if kind:
        body["kind"] = kind
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    return JSONResponse(body, status_code=exc.status, headers=headers)


