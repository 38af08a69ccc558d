"""Privacy requests about one person we listened to: export everything held, or erase it."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from pipeline.access import audit
from pipeline.api.deps import ServiceDep
from pipeline.api.policy import PrincipalDep
from pipeline.care import privacy
from pipeline.errors import BadRequest
from pipeline.records import utcnow

router = APIRouter(prefix="/privacy")


class PersonBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    author: str = Field(
        min_length=2, max_length=300, description="an author key (x:handle) or @handle"
    )


class EraseBody(PersonBody):
    confirm: bool = Field(False, description="must be true: erasure cannot be undone")


@router.post("/export")
def export_person(body: PersonBody, principal: PrincipalDep, service: ServiceDep) -> dict[str, Any]:
    """Everything held about one person (and their linked accounts), as one JSON document."""
    document = privacy.export_person(service.store, body.author)
    # The audit names no one: the request is logged, the person is not.
    audit.record(
        service.store, principal, "privacy.export", now=utcnow(),
        detail={"rows": document.get("summary")},
    )  # fmt: skip
    return document


@router.post("/erase")
def erase_person(body: EraseBody, principal: PrincipalDep, service: ServiceDep) -> dict[str, Any]:
    """Erase what is held about one person; counts and trends survive, anonymised."""
    if not body.confirm:
        raise BadRequest("erasure cannot be undone: send `confirm: true` to go ahead")
    report = privacy.erase_person(service.store, body.author, now=utcnow())
    found = asdict(report)
    audit.record(
        service.store, principal, "privacy.erase", now=utcnow(),
        target=str(found.get("erasure_id")), detail=found,
    )  # fmt: skip
    return found
