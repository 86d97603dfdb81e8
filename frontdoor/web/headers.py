"""Security headers on every response: pages, API answers, redirects, 404s, and errors,
including a 500 from an unexpected exception (which Starlette answers from outside the
ordinary middleware, so this middleware answers it itself)."""

from __future__ import annotations

import logging
import secrets

from starlette.datastructures import MutableHeaders
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from frontdoor.config import Settings
from frontdoor.web.sessions import secure_request

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
PERMISSIONS_POLICY = (
    "camera=(), microphone=(), geolocation=(), payment=(), usb=(), serial=(), bluetooth=(), "
    "accelerometer=(), gyroscope=(), magnetometer=(), display-capture=(), interest-cohort=()"
)
HSTS = "max-age=31536000; includeSubDomains"
log = logging.getLogger("frontdoor.web")


def unexpected(scope: Scope) -> Response:
    """The answer to an error nobody foresaw: JSON under /api, a page elsewhere; never the
    exception's text (it is logged with its reference)."""
    reference = secrets.token_hex(4)
    log.exception("unexpected error %s on %s %s", reference, scope.get("method"), scope.get("path"))
    message = f"Something went wrong on our side (reference {reference}); it has been logged. Try again, or tell the service desk the reference."
    if str(scope.get("path", "")).startswith("/api"):
        return JSONResponse({"detail": message}, status_code=500)
    return HTMLResponse(
        "<!doctype html><html lang=\"en-GB\"><head><meta charset=\"utf-8\"><title>Problem · frontdoor</title>"
        "<link rel=\"stylesheet\" href=\"/static/web.css\"></head><body><main><h1>Something went wrong</h1>"
        f"<p class=\"error\" role=\"alert\">{message}</p><p><a href=\"/\">Back to your start page</a></p></main></body></html>",
        status_code=500,
    )


class SecurityHeaders:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_wrapper(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                self.add(scope, MutableHeaders(scope=message))
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        except Exception:
            if started:
                raise
            await unexpected(scope)(scope, receive, send_wrapper)
            raise  # the server logs it; the browser already has its answer

    def add(self, scope: Scope, headers: MutableHeaders) -> None:
        path = scope.get("path", "")
        wanted = {
            "Content-Security-Policy": CSP,
            "X-Content-Type-Options": "nosniff",
            "X-Frame-Options": "DENY",
            "Referrer-Policy": "same-origin",
            "Permissions-Policy": PERMISSIONS_POLICY,
            "Cross-Origin-Opener-Policy": "same-origin",
        }
        if not path.startswith("/static"):
            wanted["Cache-Control"] = "no-store"
        if secure_request(self.settings, scope):
            wanted["Strict-Transport-Security"] = HSTS
        for name, value in wanted.items():
            if name not in headers:
                headers[name] = value
