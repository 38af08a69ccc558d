"""Mentions a stage set aside (the reason, retry, discard): nothing that fails stops the rest."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from pipeline.access import audit
from pipeline.api.deps import Limit, Offset, ServiceDep
from pipeline.api.policy import PrincipalDep
from pipeline.records import utcnow
from pipeline.stages import set_aside

router = APIRouter(prefix="/set-aside")


@router.get("")
def list_set_aside(service: ServiceDep, limit: Limit = 100, offset: Offset = 0) -> dict[str, Any]:
    items, total = set_aside.listing(service.store, limit=limit, offset=offset)
    return {"items": items, "total": total}


@router.post("/{key}/retry")
def retry(key: str, service: ServiceDep, principal: PrincipalDep) -> dict[str, Any]:
    stage = set_aside.retry(service.store, key, by=principal.name)
    audit.record(service.store, principal, "set_aside.retry", now=utcnow(), target=key)
    return {"mention_key": key, "back_to": stage}


@router.post("/{key}/discard")
def discard(key: str, service: ServiceDep, principal: PrincipalDep) -> dict[str, Any]:
    set_aside.discard(service.store, key, by=principal.name)
    audit.record(service.store, principal, "set_aside.discard", now=utcnow(), target=key)
    return {"mention_key": key, "discarded": True}
