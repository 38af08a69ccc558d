"""Service health, counts and the state of each source."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from pipeline.api.deps import ServiceDep

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
