"""Screens and endpoints beyond the generated ones, for the missing children's daily list:
the upload page (`/missing/daily-lists`) and `POST /api/missing/daily-lists`. Both read the
list with frontdoor.missing_lists (JSON or CSV; bad rows reported by line, the rest kept)
and answer with what the import started, updated and refused.

Included by frontdoor/web/app.py before the generated routes, so `/missing/daily-lists` is
this page and not a case called "daily-lists".
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import UploadFile

from frontdoor import missing_lists, timefmt
from frontdoor.errors import FrontdoorError, InvalidInput
from frontdoor.web.api import ERRORS, client_of, settings_of
from frontdoor.web.auth import api_roles, check_role, page_actor, verify_csrf
from frontdoor.web.pages import render
from models.bounds import check_instant
from models.missing import CSV_COLUMNS, MAX_LIST_BYTES, DailyList
from models.roles import MISSING_IMPORTERS, Actor

router = APIRouter()
DOING = "import the police's missing list"
PAGE = "missing/daily_lists.html"


async def _body(request: Request) -> bytes:
    """The request's body, refused past the list's size limit without reading it all."""
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > MAX_LIST_BYTES:
            raise InvalidInput(f"the list is larger than {MAX_LIST_BYTES:,} bytes: split it",
                               [{"field": "body", "message": f"at most {MAX_LIST_BYTES:,} bytes"}])
    return bytes(data)


def _issued(text: str | None, tz: str) -> datetime | None:
    """The list's time, for a CSV list: an ISO time with a zone, or a local time of the service."""
    if not text:
        return None
    try:
        return check_instant(timefmt.parse_local(text, tz))
    except ValueError as exc:
        raise InvalidInput(f"issued_at: {text!r} is not a time ({exc}): give an ISO time such as 2026-11-26T07:00:00Z",
                           [{"field": "issued_at", "message": "not a time"}]) from None


@router.post(
    "/api/missing/daily-lists", response_model=missing_lists.ImportReport, responses=ERRORS, tags=["missing episodes"],
    openapi_extra={"requestBody": {"required": True, "content": {
        "application/json": {"schema": DailyList.model_json_schema(ref_template="#/components/schemas/{model}")},
        "text/csv": {"schema": {"type": "string", "description": "columns: " + ", ".join(CSV_COLUMNS)}},
    }}},
)
async def import_daily_list(
    request: Request,
    issued_at: str | None = Query(None, max_length=40, description="a CSV list's time (JSON says it itself); default: now"),
    actor: Actor = Depends(api_roles(MISSING_IMPORTERS, DOING)),
) -> missing_lists.ImportReport:
    """The police's daily list of missing children (JSON `DailyList`, or CSV with the columns in
    examples/police_missing_list.csv): an episode is started for each new police reference, and
    an open one is updated when the list changes it (e.g. adds the return time). Importing the
    same list again changes nothing. Rows that fail validation are in `invalid` with their line
    and the reason; the rest are kept (200). 422 when the list as a whole cannot be read."""
    settings = settings_of(request)
    data = await _body(request)
    parsed = missing_lists.parse_list(data, content_type=request.headers.get("content-type"))
    return await missing_lists.import_list(client_of(request), settings, parsed, actor, via="api",
                                           listed_at=_issued(issued_at, settings.timezone))


@router.get("/missing/daily-lists", response_class=HTMLResponse, include_in_schema=False)
async def upload_form(request: Request, actor: Actor = Depends(page_actor)) -> HTMLResponse:
    check_role(actor, MISSING_IMPORTERS, DOING)
    return render(request, PAGE, actor=actor, report=None, errors=[], columns=CSV_COLUMNS)


@router.post("/missing/daily-lists", include_in_schema=False)
async def upload(request: Request, actor: Actor = Depends(page_actor)) -> Response:
    check_role(actor, MISSING_IMPORTERS, DOING)
    settings = settings_of(request)
    form = await request.form(max_files=1, max_fields=10)
    verify_csrf(request, form.get("csrf_token"))
    upload = form.get("list")
    context: dict[str, Any] = {"report": None, "errors": [], "columns": CSV_COLUMNS}
    try:
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise InvalidInput("choose the list's file (CSV or JSON)")
        data = await upload.read(MAX_LIST_BYTES + 1)
        if len(data) > MAX_LIST_BYTES:
            raise InvalidInput(f"the list is larger than {MAX_LIST_BYTES:,} bytes: split it")
        parsed = missing_lists.parse_list(data, filename=upload.filename, content_type=upload.content_type)
        context["report"] = await missing_lists.import_list(
            client_of(request), settings, parsed, actor, via="page",
            listed_at=_issued(str(form.get("issued_at") or ""), settings.timezone))
        context["filename"] = upload.filename
    except FrontdoorError as exc:
        context["errors"] = [exc.message]
        return render(request, PAGE, status=exc.status, actor=actor, **context)
    return render(request, PAGE, actor=actor, **context)
