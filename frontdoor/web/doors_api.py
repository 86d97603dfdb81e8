"""The JSON API of the consultation line and the early help hub.

Same conventions as the contact API (frontdoor/web/api.py): a bearer token, `actor`
filled by the server, the role checked against models/roles.PERMISSIONS before the
workflow's validators check again; 201/200 with the new state; 401/403/404/409/422
with a `detail` (and `errors` per field on 422).
"""


from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool

from frontdoor import consultations, early_help
from frontdoor.web import views
from frontdoor.web.api import ERRORS, client_of, invalid_from, settings_of
from frontdoor.web.auth import api_permission
from frontdoor.web.doors import (
    CONSULTATION,
    EARLY_HELP,
    Door,
    body_model,
    consultations_query,
    early_help_query,
)
from models.consultation import Consultation, ConsultationFlag, ConsultationStage, ConsultationState
from models.contact import Contact
from models.early_help import EarlyHelpStage, EarlyHelpState
from models.roles import Actor

router = APIRouter(prefix="/api", tags=["consultation line and early help hub"])


class Started(BaseModel):
    id: str
    workflow_id: str
    url: str
    reference: str | None = None


def _sorted(rows: list[views.Row]) -> list[dict[str, Any]]:
    rows.sort(key=lambda r: r.received_at or r.since)  # type: ignore[arg-type, return-value]
    return [r.as_dict() for r in rows]


async def _trail(settings: Any, subject_id: str) -> dict[str, Any]:
    rows = await run_in_threadpool(views.trail_of, settings, subject_id)
    return {"id": subject_id, "actions": [r.model_dump(mode="json", exclude={"id", "idempotency_key"}) for r in rows]}


async def _documents(settings: Any, subject_id: str) -> dict[str, Any]:
    docs = await run_in_threadpool(views.documents_of, settings, subject_id)
    return {"id": subject_id, "documents": [
        {"id": d.id, "kind": d.kind, "title": d.title, "created_at": d.created_at.isoformat(), "url": f"/documents/{d.id}"}
        for d in docs
    ]}


# ------------------------------------------------------------------ consultations
@router.post("/consultations", status_code=201, response_model=Started, responses=ERRORS)
async def record_consultation(
    request: Request, consultation: Consultation, actor: Actor = Depends(api_permission("record_consultation")),
) -> Started:
    """Record a consultation call: starts its durable workflow (no history look-up, ever).
    An invited referral (`outcome: referral_invited`) quotes `reference` as `consultation_ref`;
    if it has not arrived in time, a follow-up is raised. 409 when the id was used before."""
    wid = await consultations.record_consultation(client_of(request), settings_of(request), consultation, actor)
    return Started(id=consultation.id, workflow_id=wid, url=f"/api/consultations/{consultation.id}",
                   reference=consultation.reference)


@router.get("/consultations", responses=ERRORS)
async def list_consultations(
    request: Request,
    stage: ConsultationStage | None = Query(None, description="only consultations at this stage"),
    flag: ConsultationFlag | None = Query(None, description="referral_awaited or follow_up_due"),
    closed: bool = Query(False, description="include closed consultations"),
    limit: int = Query(100, ge=1, le=1000),
    actor: Actor = Depends(api_permission("view")),
) -> dict[str, Any]:
    """Consultations (a visibility query: no personal data), oldest call first."""
    query = consultations_query(stage.value if stage else None, flag.value if flag else None, open_only=not closed)
    rows = await views.list_rows(client_of(request), query, limit)
    return {"count": len(rows), "consultations": _sorted(rows)}


@router.get("/consultations/{consultation_id}", response_model=ConsultationState, responses=ERRORS)
async def show_consultation(
    consultation_id: str, request: Request, actor: Actor = Depends(api_permission("view")),
) -> ConsultationState:
    """The consultation's full state, read from its workflow."""
    return await consultations.get_state(client_of(request), consultation_id)


# ------------------------------------------------------------------ early help
@router.post("/early-help", status_code=201, response_model=Started, responses=ERRORS)
async def start_early_help(
    request: Request, case: Contact, actor: Actor = Depends(api_permission("start_early_help")),
) -> Started:
    """Start an early help case directly (the intake contract; its id is the case id).
    409 when the id was used before."""
    wid = await early_help.start_early_help(client_of(request), settings_of(request), case, actor)
    return Started(id=case.id, workflow_id=wid, url=f"/api/early-help/{case.id}")


@router.get("/early-help", responses=ERRORS)
async def list_early_help(
    request: Request,
    stage: EarlyHelpStage | None = Query(None, description="only cases at this stage"),
    overdue: bool | None = Query(None, description="true: a step past its timescale; false: none"),
    closed: bool = Query(False, description="include closed cases"),
    limit: int = Query(100, ge=1, le=1000),
    actor: Actor = Depends(api_permission("view")),
) -> dict[str, Any]:
    """Early help cases (a visibility query: no personal data), oldest first; `due_at` is the current step's."""
    query = early_help_query(stage.value if stage else None, overdue, open_only=not closed)
    rows = await views.list_rows(client_of(request), query, limit)
    return {"count": len(rows), "cases": _sorted(rows)}


@router.get("/early-help/{case_id}", response_model=EarlyHelpState, responses=ERRORS)
async def show_early_help(case_id: str, request: Request, actor: Actor = Depends(api_permission("view"))) -> EarlyHelpState:
    """The case's full state, read from its workflow."""
    return await early_help.get_state(client_of(request), case_id)


# ------------------------------------------------------------------ trails and documents, actions
def _register(door: Door, state_model: type[BaseModel]) -> None:
    async def trail(subject_id: str, request: Request, actor: Actor = Depends(api_permission("view"))) -> dict[str, Any]:
        return await _trail(settings_of(request), subject_id)

    async def documents(subject_id: str, request: Request, actor: Actor = Depends(api_permission("view"))) -> dict[str, Any]:
        return await _documents(settings_of(request), subject_id)

    trail.__doc__ = f"The append-only action trail of a {door.noun}: who did what, when and why."
    documents.__doc__ = f"Documents rendered for a {door.noun}, with links."
    base = f"/{door.api}/{{subject_id}}"
    router.add_api_route(f"{base}/trail", trail, methods=["GET"], responses=ERRORS, name=f"api_{door.kind}_trail")
    router.add_api_route(f"{base}/documents", documents, methods=["GET"], responses=ERRORS, name=f"api_{door.kind}_documents")
    for action in door.actions:
        router.add_api_route(
            f"{base}/{door.paths[action]}", _action_endpoint(door, action), methods=["POST"],
            response_model=state_model, responses=ERRORS, name=f"api_{door.kind}_{action}",
        )


def _action_endpoint(door: Door, action: str) -> Any:
    Body_ = body_model(door, action)
    permission = door.permission(action)

    async def endpoint(
        subject_id: str, request: Request, body: Body_,  # type: ignore[valid-type]
        actor: Actor = Depends(api_permission(permission)),
    ) -> Any:
        _, model = door.actions[action]
        try:
            payload = model.model_validate(body.model_dump() | {"actor": actor})  # type: ignore[attr-defined]
        except ValidationError as exc:
            raise invalid_from(exc, drop_prefix=("body",)) from None
        return await door.module.act(client_of(request), subject_id, action, payload)

    endpoint.__name__ = f"{door.kind}_{action}"
    endpoint.__doc__ = (f"{door.titles[action]} ({door.noun}): returns the new state. "
                        f"Needs the '{permission}' permission.")
    return endpoint


_register(CONSULTATION, ConsultationState)
_register(EARLY_HELP, EarlyHelpState)
