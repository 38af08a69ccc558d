"""The alerts raised, newest first."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from pipeline.api.deps import Limit, Offset, ServiceDep
from pipeline.store import alerts

router = APIRouter()


@router.get("/alerts")
def list_alerts(service: ServiceDep, limit: Limit = 50, offset: Offset = 0) -> dict[str, Any]:
    with service.store.read() as cur:
        items, total = alerts.recent(cur, limit=limit, offset=offset)
    return {"items": items, "total": total}
