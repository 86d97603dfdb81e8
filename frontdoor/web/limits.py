"""Bounds on what a request may bring, answered before any handler runs: a body larger than
the limit is refused (413) whether it says its length or streams it; an OPTIONS request is
answered with every method the path takes."""

from __future__ import annotations

from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from frontdoor.config import Settings


class TooLarge(Exception):
    pass


class RequestLimits:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.limit = settings.max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["method"] == "OPTIONS":
            await self._options(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await self._too_large(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise TooLarge
            return message

        try:
            await self.app(scope, counted, send)
        except TooLarge:
            await self._too_large(scope, receive, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        from frontdoor.web.errors import error_answer

        message = f"the request is larger than {self.limit:,} bytes: send less (a summary of at most 10,000 characters)"
        await error_answer(scope, 413, message)(scope, receive, send)

    async def _options(self, scope: Scope, receive: Receive, send: Send) -> None:
        from starlette.responses import Response

        app = scope.get("app")
        routes = getattr(getattr(app, "router", None), "routes", [])
        methods = {m for m in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
                   if any(route.matches(dict(scope, method=m))[0] == Match.FULL for route in routes)}
        if not methods:
            from frontdoor.web.errors import error_answer

            await error_answer(scope, 404, f"no such address: {scope.get('path')}")(scope, receive, send)
            return
        allow = ", ".join(sorted(methods | {"OPTIONS"}))
        await Response(status_code=204, headers={"Allow": allow})(scope, receive, send)
