"""One stuck list in full, a page at a time (the supervisor's dashboard shows the first rows
of each): past any number of overdue cases a supervisor can read them all. The page token
is the API's (signed, so only tokens this deployment gave out come back)."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from frontdoor import stuck
from frontdoor.errors import NotFound
from frontdoor.web.api import client_of, page_key
from frontdoor.web.auth import check, page_actor
from frontdoor.web.pages import _within, render, temporal_link
from models.roles import Actor

router = APIRouter(include_in_schema=False)  # a page, not the API (its JSON twin is /api/stuck)
PAGE = 100


@router.get("/supervisor/lists/{kind}", response_class=HTMLResponse)
async def stuck_list(request: Request, kind: str, within: str | None = Query(None, max_length=20),
                     page_token: str | None = Query(None, max_length=2000),
                     limit: int = Query(PAGE, ge=1, le=stuck.MAX_PAGE),
                     actor: Actor = Depends(page_actor)) -> HTMLResponse:
    check(actor, "stuck")
    if kind not in stuck.KINDS:
        raise NotFound(f"no stuck list {kind[:40]!r}: the lists are on the supervisor's page")
    label, window = _within(within)
    client = client_of(request)
    total = await stuck.count(client, kind, window)
    rows, token = await stuck.page(client, kind, window, page_size=limit,
                                   next_page_token=stuck.decode_token(page_token, page_key(request)))
    rows.sort(key=lambda r: r.since or datetime.max.replace(tzinfo=UTC))
    return render(request, "stuck_list.html", actor=actor, kind=kind, title=stuck.KINDS[kind].title, count=total,
                  rows=rows, within=label, limit=limit, first=page_token is None,
                  next_token=stuck.encode_token(token, page_key(request)),
                  link=lambda wid: temporal_link(request.app.state.settings, wid))
