"""What the dashboard needs to draw its filters and forms: brands, teams, statuses, languages."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from pipeline.api.deps import ServiceDep
from pipeline.care import lifecycle
from pipeline.store import catalog

router = APIRouter()


@router.get("/config/ui")
def ui_config(service: ServiceDep) -> dict[str, Any]:
    settings = service.settings
    with service.store.read() as cur:
        platforms = catalog.platforms(cur)
        langs = catalog.languages(cur)
    return {
        "brands": [
            {"name": b.name, "competitors": b.competitors, "languages": b.languages}
            for b in settings.brands
        ],
        "platforms": platforms,
        "languages": langs,
        "teams": [
            {"name": t.name, "level": t.level, "agents": [a.name for a in t.agents]}
            for t in settings.teams
        ],
        "levels": settings.levels,
        "statuses": list(lifecycle.STATUSES),
        "actions": list(lifecycle.ACTIONS),
        "ui_language": settings.service.ui_language,
        "dashboard_url": settings.service.dashboard_url,
    }
