"""The FastAPI application: one router per resource, and the one place errors become responses.

Every error the product raises on purpose answers with its class's ``status`` and its message;
a 500 is a bug. A bug's log line names the route and the exception's type and frames, never its
message (which may quote the request: a body, a handle); ``serve --verbose`` logs the message too.
"""

from __future__ import annotations

import json
import logging
import math
import time
import traceback
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pipeline import telemetry
from pipeline.api import (
    admin,
    agents,
    aggregates,
    alerts,
    auth,
    cases,
    config,
    corrections,
    customers,
    health,
    listening,
    mentions,
    preferences,
    privacy,
    set_aside,
    sso,
    webhooks,
)
from pipeline.api.policy import authorise
from pipeline.errors import EscuchaError, NotSignedIn
from pipeline.service import Service

logger = logging.getLogger(__name__)

# No request needs more: the longest field any body takes is a 10,000-character reply.
MAX_BODY_BYTES = 1_000_000

ROUTERS = (
    health, auth, sso, admin, privacy, alerts, config, mentions, corrections, cases, customers,
    agents, aggregates, listening, set_aside, webhooks, preferences,
)  # fmt: skip


async def _error_response(request: Request, exc: Exception) -> JSONResponse:
    """The error boundary: the error's class decides the status, its message is the detail."""
    status = exc.status if isinstance(exc, EscuchaError) else 500
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, NotSignedIn) else None
    return JSONResponse({"detail": str(exc)}, status_code=status, headers=headers)


def _json_safe(value: Any) -> Any:
    """``value`` with what JSON cannot carry made printable: non-finite numbers, lone surrogates."""
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if isinstance(value, str) and not value.isascii():
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, dict):
        return {_json_safe(key): _json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(item) for item in value]
    return value


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    """A request that does not fit the API: 422 with FastAPI's list of what was wrong, JSON-safe."""
    errors = exc.errors() if isinstance(exc, RequestValidationError) else [{"msg": str(exc)}]
    readable = jsonable_encoder(errors, custom_encoder={bytes: _bytes_as_text})
    return JSONResponse({"detail": _json_safe(readable)}, status_code=422)


def _bytes_as_text(value: bytes) -> str:
    return value.decode("utf-8", "backslashreplace")


def _json_body_problem(body: bytes) -> str | None:
    """Why ``body`` is JSON Python reads but cannot write back, or None.

    Python's parser turns ``1e999999`` into infinity and accepts ``NaN`` and lone surrogates such as
    ``"\\ud800"``; none of those can be stored or sent back, so they are refused at the door.
    Malformed JSON is left to FastAPI, which answers it with its own 422.
    """

    def finite(text: str) -> float:
        number = float(text)
        if not math.isfinite(number):
            raise ValueError(f"the number {text[:40]} is too large")
        return number

    def constant(text: str) -> Any:
        raise ValueError(f"{text} is not a JSON number")

    try:
        document = json.loads(body, parse_float=finite, parse_constant=constant)
    except json.JSONDecodeError:
        return None
    except RecursionError:
        return "the JSON body is nested too deeply"
    except ValueError as exc:  # raised by the hooks above, or bytes that are not UTF-8
        return str(exc) if not isinstance(exc, UnicodeDecodeError) else "the body is not UTF-8"
    pending = [document]
    while pending:
        value = pending.pop()
        if isinstance(value, dict):
            pending.extend(value.keys())
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
        elif isinstance(value, str) and not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                return "a string holds a lone surrogate (an unpaired \\ud800-\\udfff escape)"
    return None


class StrictJSONBodies:
    """ASGI middleware: a JSON body that cannot round-trip (``_json_body_problem``) gets a 422."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        content_type = dict(scope.get("headers", ())).get(b"content-type", b"")
        if scope["type"] != "http" or b"json" not in content_type.lower():
            await self.app(scope, receive, send)
            return
        received: list[Message] = []
        size = 0
        while True:
            message = await receive()
            received.append(message)
            size += len(message.get("body", b""))
            if size > MAX_BODY_BYTES:
                too_big = {"detail": f"the request body is over {MAX_BODY_BYTES:,} bytes"}
                await JSONResponse(too_big, status_code=413)(scope, receive, send)
                return
            if message["type"] != "http.request" or not message.get("more_body", False):
                break
        body = b"".join(m.get("body", b"") for m in received if m["type"] == "http.request")
        problem = _json_body_problem(body) if body else None
        if problem is not None:
            error = {"type": "json_invalid", "loc": ["body"], "msg": problem, "input": None}
            await JSONResponse({"detail": [error]}, status_code=422)(scope, receive, send)
            return

        async def replay() -> Message:
            return received.pop(0) if received else await receive()

        await self.app(scope, replay, send)


# Sent with every answer: the API's JSON holds customers' words and handles, so nothing may cache,
# frame or sniff it. No CORS headers are sent, so browsers keep other sites from reading it.
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
)


class SecurityHeaders:
    """ASGI middleware: adds ``SECURITY_HEADERS`` to every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(n, v) for n, v in SECURITY_HEADERS if n not in names]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, with_headers)


class RequestContext:
    """ASGI middleware: each request gets an id (the caller's ``X-Request-ID`` when it is a plain
    token, else a new one) that every log line of the request carries and the response echoes,
    and its latency is counted by method, route template and status for ``/metrics``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        rid = telemetry.request_id(given)
        token = telemetry.REQUEST_ID.set(rid)
        started = time.perf_counter()
        status = 500

        async def with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = [*message.get("headers", []), (b"x-request-id", rid.encode("latin-1"))]
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, with_id)
        finally:
            # The route's template, never the path: ids and handles stay out of the labels.
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            telemetry.HTTP.labels(scope["method"], route, str(status)).observe(
                time.perf_counter() - started
            )
            telemetry.REQUEST_ID.reset(token)


class InternalErrors:
    """ASGI middleware, outermost: an unexpected exception becomes a JSON 500 and one log line
    with the route template, the exception's type and its frames, not its message."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            route = getattr(scope.get("route"), "path", "an unknown route")
            kind = f"{type(exc).__module__}.{type(exc).__qualname__}"
            frames = "".join(traceback.format_tb(exc.__traceback__))
            logger.error("internal error in %s %s: %s\n%s", scope["method"], route, kind, frames)
            logger.debug("internal error in %s %s", scope["method"], route, exc_info=exc)
            if started:
                raise  # the response is under way; the server closes the connection
            detail = "internal error; the service log names where it happened"
            await JSONResponse({"detail": detail}, status_code=500)(scope, receive, send)


def create_app(service: Service, *, run_scheduler: bool = False) -> FastAPI:
    """The API over ``service``; with ``run_scheduler`` the service loop runs with the app."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if run_scheduler:
            service.start()
        try:
            yield
        finally:
            if run_scheduler:
                service.stop()

    app = FastAPI(
        title="escucha",
        version="0.1.0",
        description="Social listening and social customer care: mentions, cases, replies. "
        "Every route but /health and sign-in needs `Authorization: Bearer <token>`.",
        lifespan=lifespan,
        # Every route passes the access check first (pipeline/api/policy.py); the interactive
        # docs are off, and the schema is served to signed-in callers only.
        dependencies=[Depends(authorise)],
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )

    @app.get("/openapi.json", include_in_schema=False)
    def openapi_schema() -> dict[str, Any]:
        return app.openapi()

    app.state.service = service
    app.state.store = service.store
    for module in ROUTERS:
        app.include_router(module.router)
    app.add_exception_handler(EscuchaError, _error_response)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_middleware(StrictJSONBodies)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(InternalErrors)
    app.add_middleware(RequestContext)  # added last: runs first, so every log line has the id
    return app
