"""The case as an audit read it: its record, its trail up to the entry the audit started at
(the hash chain shows those rows are the ones that were there) and the documents made by
then. A page and a JSON read of a new kind: the generic case pages show a case as it is now.

Who may read it: the audit's readers who may also read the audited case's process."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from frontdoor import access, processes, record
from frontdoor.errors import NotFound
from frontdoor.web.api import ERRORS, client_of, settings_of
from frontdoor.web.auth import api_roles, check_role, page_actor
from frontdoor.web.pages import render
from models.roles import Actor, Role
from workflows.registry import BY_KIND

router = APIRouter()
AUDIT = BY_KIND["audit"]


def _check(actor: Actor, case_kind: str) -> None:
    check_role(actor, AUDIT.readers, "read audits")
    proc = BY_KIND.get(case_kind)
    if proc is not None:
        check_role(actor, proc.readers or frozenset(Role), f"read {proc.noun}s")


def _as_read(database_url: str, audit_id: str, actor: Actor, channel: str) -> dict[str, Any]:
    snap = record.audit_snapshot(database_url, audit_id)
    if snap is None:
        raise NotFound(f"no audit {audit_id[:80]} has read a case yet: check the id")
    _check(actor, snap.case_kind)
    access.open_case(database_url, actor, snap.case_kind, snap.case_id, channel, "audit", audit_id)  # logged, restricted
    return {
        "snapshot": snap,
        "received": record.received(database_url, snap.case_id),
        "trail": record.trail_upto(database_url, snap.case_id, snap.trail_seq),
        "documents": record.documents_upto(database_url, snap.case_id, snap.taken_at),
    }


@router.get("/audits/{audit_id}/case", response_class=HTMLResponse, include_in_schema=False)
async def case_as_read(audit_id: str, request: Request, actor: Actor = Depends(page_actor)) -> HTMLResponse:
    check_role(actor, AUDIT.readers, "read audits")
    url = request.app.state.settings.database_url
    found = await run_in_threadpool(_as_read, url, audit_id, actor, "page")
    return render(request, "audit/case_as_read.html", actor=actor, audit_id=audit_id, **found)


@router.get("/api/audits/{audit_id}/case", responses=ERRORS, tags=["audits"])
async def case_as_read_api(audit_id: str, request: Request,
                           actor: Actor = Depends(api_roles(AUDIT.readers, "read audits"))) -> dict[str, Any]:
    """The case as the audit read it: the snapshot, the case as received, its trail up to the
    snapshot's entry and the documents made by then."""
    found = await run_in_threadpool(_as_read, settings_of(request).database_url, audit_id, actor, "api")
    snap = found["snapshot"]
    state = await processes.get_state(client_of(request), AUDIT, audit_id)
    return {
        "audit_id": audit_id, "case_id": snap.case_id, "case_kind": snap.case_kind, "tool_version": state.tool_version,
        "snapshot": snap.summary, "received": found["received"], "trail": record.trail_json(found["trail"]),
        "documents": record.documents_json(found["documents"]),
    }
