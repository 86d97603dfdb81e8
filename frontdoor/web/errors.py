"""Every error answers the same way: JSON `{"detail": ...}` under /api, the error page
elsewhere, with the security headers (added around everything by headers.SecurityHeaders)."""

from __future__ import annotations

from typing import Any

from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.types import Scope

TITLES = {400: "Not understood", 401: "Please sign in", 403: "Not allowed", 404: "Not found",
          405: "Not this way", 409: "Not at this stage", 413: "Too large", 422: "Not valid", 429: "Please wait"}


def error_answer(scope: Scope, status: int, message: str, **extra: Any) -> Response:
    if str(scope.get("path", "")).startswith("/api"):
        return JSONResponse({"detail": message, **extra}, status_code=status)
    app = scope.get("app")
    env = getattr(getattr(app, "state", None), "templates", None)
    if env is not None:
        html = env.get_template("web/error.html").render(
            actor=None, csrf="", flash=None, home="/", nav=[], status_code=status, message=message,
            may=lambda permission: False, request=None,
        )
        return HTMLResponse(html, status_code=status)
    return HTMLResponse(f"<!doctype html><title>{TITLES.get(status, 'Problem')}</title><p>{message}</p>", status_code=status)
