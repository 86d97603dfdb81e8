"""Security headers on every response: pages, API answers, redirects, 404s, and errors,
including a 500 from an unexpected exception (which Starlette answers from outside the
ordinary middleware, so this middleware answers it itself)."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.responses import PlainTextResponse
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
            response = PlainTextResponse("Something went wrong on our side; it has been logged. Try again.", 500)
            await response(scope, receive, send_wrapper)
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
