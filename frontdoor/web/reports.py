"""Reports in the browser and the JSON API: managers' and service managers' figures with
a chart (SVG drawn on the server), the table behind it, CSV and XLSX downloads, and the
Ofsted Annex A lists.

API (bearer token, permission `reports`):
- GET /api/reports                                  the reports there are
- GET /api/reports/{name}?from=&to=&format=json|csv|xlsx|svg[&table=]
- GET /api/reports/annex-a/{list}?from=&to=&format=csv|xlsx   list 1, 2, 3 (or all: xlsx)
- GET /api/reports/figures/history?days=N           the daily snapshots' key figures (1..400 days)
Pages (signed-in session): /reports, /reports/{name}, and downloads under them.

Dates are YYYY-MM-DD (inclusive, the service's time zone); reports default to the last
12 months, Annex A to the last six. A range is at most five years.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from frontdoor import report_figures, reports
from frontdoor.config import Settings
from frontdoor.reports import annex_a, charts, export
from frontdoor.reports.base import ReportInputError, ReportResult, Window
from frontdoor.web import pages
from frontdoor.web.auth import api_permission, check, page_actor
from models import annex_a as spec
from models.database import session
from models.roles import Actor

router = APIRouter()
PERMISSION = "reports"
NAME = Path(min_length=1, max_length=40, pattern=r"^[a-z0-9-]+$", description="report name, e.g. timeliness")
LIST = Path(min_length=1, max_length=3, description="Annex A list: 1, 2, 3 (or all, as XLSX)")
FROM = Query(None, alias="from", max_length=10, description="first day, YYYY-MM-DD (inclusive)")
TO = Query(None, alias="to", max_length=10, description="last day, YYYY-MM-DD (inclusive; default today)")
TABLE = Query(None, max_length=40, pattern=r"^[a-z0-9_]+$", description="with format=csv: one table only")


def _settings(request: Request) -> Settings:
    return request.app.state.settings


def _invalid(exc: ReportInputError) -> JSONResponse:
    return JSONResponse(
        {"detail": f"the input is not valid: {exc.message}", "errors": [{"field": exc.field, "message": exc.reason}]},
        status_code=422,
    )


def _window(settings: Settings, start: str | None, end: str | None, months: int = 12) -> Window:
    return reports.window(settings, start, end, default_months=months)


def _compute(settings: Settings, name: str, w: Window) -> ReportResult:
    with session(settings.database_url) as s:
        return reports.run(s, name, w)


def _lists(settings: Settings, numbers: list[int], w: Window) -> dict[int, list[list[Any]]]:
    with session(settings.database_url) as s:
        return {n: annex_a.build(s, n, w) for n in numbers}


def _file(name: str, w: Window, ext: str) -> str:
    return f"{name}_{w.start:%Y-%m-%d}_{w.end:%Y-%m-%d}.{ext}"


def _download(body: bytes | str, media: str, filename: str) -> Response:
    return Response(body, media_type=media, headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def report_response(result: ReportResult, fmt: str, table: str | None = None) -> Response:
    w = result.window
    if fmt == "csv":
        if table is not None and table not in {t.name for t in result.tables}:
            raise ReportInputError("table", f"{result.report.name} has no table {table!r}: "
                                            f"use one of {', '.join(t.name for t in result.tables)}")
        suffix = f"_{table}" if table else ""
        return _download(export.to_csv(result, table), "text/csv; charset=utf-8", _file(result.report.name + suffix, w, "csv"))
    if fmt == "xlsx":
        return _download(export.to_xlsx(result), export.XLSX_TYPE, _file(result.report.name, w, "xlsx"))
    if fmt == "svg":
        return Response(charts.render_svg(result), media_type="image/svg+xml")
    return JSONResponse(export.to_json(result))


def annex_response(lists: dict[int, list[list[Any]]], fmt: str, w: Window) -> Response:
    if fmt == "csv":
        if len(lists) != 1:
            raise ReportInputError("format", "CSV holds one list: ask for list 1, 2 or 3, or for all as xlsx")
        number, rows = next(iter(lists.items()))
        return _download(annex_a.to_csv(number, rows), "text/csv; charset=utf-8", _file(f"annex-a-list-{number}", w, "csv"))
    tag = "all" if len(lists) > 1 else str(next(iter(lists)))
    return _download(annex_a.to_xlsx(lists, w.timezone), export.XLSX_TYPE, _file(f"annex-a-list-{tag}", w, "xlsx"))


async def _guarded(work: Callable[[], Any]) -> Any:
    try:
        return await run_in_threadpool(work)
    except ReportInputError as exc:
        return _invalid(exc)


# ---------------------------------------------------------------------- API
@router.get("/api/reports", tags=["reports"], summary="The reports and the Annex A lists there are")
async def list_reports(actor: Actor = Depends(api_permission(PERMISSION))) -> dict[str, Any]:
    return {
        "reports": [
            {"name": r.name, "title": r.title, "description": r.description, "url": f"/api/reports/{r.name}"}
            for r in reports.REPORTS.values()
        ],
        "annex_a": [
            {"list": n, "title": spec.LIST_TITLES[n], "columns": list(spec.LIST_COLUMNS[n]), "url": f"/api/reports/annex-a/{n}"}
            for n in annex_a.LISTS
        ],
        "formats": {"reports": ["json", "csv", "xlsx", "svg"], "annex_a": ["csv", "xlsx"]},
    }


@router.get("/api/reports/annex-a/{number}", tags=["reports"], summary="An Ofsted Annex A list as CSV or XLSX")
async def annex_a_api(
    request: Request, number: str = LIST, start: str | None = FROM, end: str | None = TO,
    format: Literal["csv", "xlsx"] = Query("csv"), actor: Actor = Depends(api_permission(PERMISSION)),
) -> Response:
    settings = _settings(request)

    def work() -> Response:
        numbers = annex_a.parse_lists(number)
        w = _window(settings, start, end, months=6)
        return annex_response(_lists(settings, numbers, w), format, w)

    result: Response = await _guarded(work)
    return result


@router.get("/api/reports/figures/history", tags=["reports"], summary="Every report's key figures, day by day")
async def figures_history(
    request: Request,
    days: int = Query(report_figures.DEFAULT_DAYS, ge=1, le=report_figures.MAX_DAYS, description="days back, today included"),
    actor: Actor = Depends(api_permission(PERMISSION)),
) -> dict[str, Any]:
    """The key figures of each daily report snapshot taken in the last `days` days (each over the 28 days before it)."""
    settings = _settings(request)
    found = await run_in_threadpool(report_figures.history, settings.database_url, days, settings.timezone)
    return found.as_dict()


@router.get("/api/reports/{name}", tags=["reports"], summary="One report for a date range")
async def report_api(
    request: Request, name: str = NAME, start: str | None = FROM, end: str | None = TO,
    format: Literal["json", "csv", "xlsx", "svg"] = Query("json"), table: str | None = TABLE,
    actor: Actor = Depends(api_permission(PERMISSION)),
) -> Response:
    reports.get(name)  # 404 naming the reports there are
    settings = _settings(request)

    def work() -> Response:
        return report_response(_compute(settings, name, _window(settings, start, end)), format, table)

    result: Response = await _guarded(work)
    return result


# ---------------------------------------------------------------------- pages
def render(request: Request, template: str, actor: Actor, status: int = 200, **context: Any) -> HTMLResponse:
    """Render templates/reports/<template> inside the site's layout (navigation and all)."""
    return pages.render(request, f"reports/{template}", status=status, actor=actor, **context)


@router.get("/reports", response_class=HTMLResponse, include_in_schema=False)
async def reports_page(
    request: Request, start: str | None = FROM, end: str | None = TO, actor: Actor = Depends(page_actor),
) -> HTMLResponse:
    check(actor, PERMISSION)
    settings = _settings(request)
    w = _window(settings, start, end, 12)
    annex = _window(settings, None, None, 6)
    latest = await run_in_threadpool(report_figures.latest_taken_on, settings.database_url)
    return render(
        request, "index.html", actor, reports=list(reports.REPORTS.values()), window=w, annex_window=annex,
        annex_lists=spec.LIST_TITLES, figures_latest=latest,
    )


@router.get("/reports/annex-a/{number}/download", include_in_schema=False)
async def annex_a_download(
    request: Request, number: str = LIST, start: str | None = FROM, end: str | None = TO,
    format: Literal["csv", "xlsx"] = Query("xlsx"), actor: Actor = Depends(page_actor),
) -> Response:
    check(actor, PERMISSION)
    settings = _settings(request)
    numbers = annex_a.parse_lists(number)
    w = _window(settings, start, end, months=6)
    lists = await run_in_threadpool(_lists, settings, numbers, w)
    return annex_response(lists, format, w)


@router.get("/reports/{name}", response_class=HTMLResponse, include_in_schema=False)
async def report_page(
    request: Request, name: str = NAME, start: str | None = FROM, end: str | None = TO, actor: Actor = Depends(page_actor),
) -> HTMLResponse:
    check(actor, PERMISSION)
    report = reports.get(name)
    settings = _settings(request)
    w = _window(settings, start, end, 12)
    result = await run_in_threadpool(_compute, settings, name, w)
    svg = await run_in_threadpool(charts.render_svg, result)
    zone = ZoneInfo(w.timezone)
    return render(
        request, "report.html", actor, report=report, result=result, window=w,
        chart_src="data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode(),
        cell=lambda column, value: export.cell_text(column, value, zone),
        query=f"from={w.start.isoformat()}&to={w.end.isoformat()}",
    )


@router.get("/reports/{name}/download", include_in_schema=False)
async def report_download(
    request: Request, name: str = NAME, start: str | None = FROM, end: str | None = TO,
    format: Literal["csv", "xlsx", "svg", "json"] = Query("csv"), table: str | None = TABLE,
    actor: Actor = Depends(page_actor),
) -> Response:
    check(actor, PERMISSION)
    reports.get(name)
    settings = _settings(request)
    w = _window(settings, start, end)
    result = await run_in_threadpool(_compute, settings, name, w)
    return report_response(result, format, table)
