"""The FastAPI application: one router per resource, and the one place errors become responses.

Every error the product raises on purpose answers with its class's ``status`` and its message;
a 500 is a bug.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from pipeline.api import (
    agents,
    aggregates,
    alerts,
    cases,
    config,
    corrections,
    customers,
    health,
    mentions,
)
from pipeline.errors import EscuchaError
from pipeline.service import Service

ROUTERS = (health, alerts, config, mentions, corrections, cases, customers, agents, aggregates)


async def _error_response(request: Request, exc: Exception) -> JSONResponse:
    """The error boundary: the error's class decides the status, its message is the detail."""
    status = exc.status if isinstance(exc, EscuchaError) else 500
    return JSONResponse({"detail": str(exc)}, status_code=status)


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
        description="Social listening and social customer care: mentions, cases, replies.",
        lifespan=lifespan,
    )
    app.state.service = service
    app.state.store = service.store
    for module in ROUTERS:
        app.include_router(module.router)
    app.add_exception_handler(EscuchaError, _error_response)
    return app
