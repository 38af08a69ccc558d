"""Service health (for load balancers and orchestrators), Prometheus metrics, counts and the
state of each source."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from pipeline import telemetry
from pipeline.api.deps import ServiceDep
from pipeline.errors import EscuchaError

router = APIRouter()


@router.get("/health")
def health(service: ServiceDep) -> dict[str, Any]:
    """Open to anyone (load balancers, the dashboard before sign-in): tells nothing of the data,
    only what the sign-in page needs (its language, and the single sign-on button's label)."""
    oidc = service.settings.auth.oidc
    return {
        "status": "ok" if service.classifier_error is None else "degraded",
        "model": service.model_version,
        "model_error": service.classifier_error is not None,
        "ui_language": service.settings.service.ui_language,
        "sso": None if oidc is None else {"label": oidc.label, "login": "/auth/oidc/login"},
    }


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """Liveness, open to anyone: the process answers. Restart it when this fails."""
    return {"status": "alive"}


@router.get("/readyz")
def readyz(service: ServiceDep) -> JSONResponse:
    """Readiness, open to anyone: 200 when the store answers and the model did not fail to load,
    503 with the checks that failed otherwise (names only; the service log has the reasons)."""
    failed = []
    try:
        service.stats()
    except (EscuchaError, OSError, RuntimeError):
        failed.append("store")
    if service.classifier_error is not None:
        failed.append("model")
    if failed:
        return JSONResponse({"status": "not ready", "failed": failed}, status_code=503)
    return JSONResponse({"status": "ready", "failed": []})


@router.get("/metrics", response_class=Response)
def metrics(service: ServiceDep) -> Response:
    """Prometheus metrics: polls, ingest, scoring latency, backlogs, outbox lag, API latency.
    Counts only, no text or handles; any role's API token may scrape it (docs/operations.md)."""
    helps = {
        "scoring_backlog": "Mentions waiting to be scored.",
        "triage_backlog": "Mentions scored and waiting for triage.",
        "outbox_pending": "Outbox messages waiting to be sent.",
        "outbox_oldest_pending_seconds": "Age of the oldest outbox message waiting (outbox lag).",
        "webhooks_pending": "Webhook deliveries stored and waiting to be processed.",
        "open_cases": "Cases not closed or dismissed.",
    }
    depths = service.backlog()
    now = CollectorRegistry()
    now.register(telemetry.Backlog(lambda: {k: (helps[k], v) for k, v in depths.items()}))
    body = generate_latest(telemetry.REGISTRY) + generate_latest(now)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


@router.get("/stats")
def stats(service: ServiceDep) -> dict[str, Any]:
    return service.stats()


@router.get("/sources")
def sources(service: ServiceDep) -> list[dict[str, Any]]:
    health_rows = service.sources_health()
    known = {row["source"] for row in health_rows}
    for config in service.settings.sources:
        if config.name not in known:
            health_rows.append({"source": config.name, "platform": config.platform})
    for row in health_rows:
        config_error = service.source_errors.get(row["source"])
        if config_error:
            row["last_error"] = config_error
    return health_rows
