"""Cases: the queue, one case, a preview of what an action would post, and the actions."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from pipeline.api.deps import Limit, Offset, ServiceDep, Urgency
from pipeline.care import lifecycle
from pipeline.care.cases import ActionRequest
from pipeline.errors import BadRequest, CaseError, NotFound
from pipeline.store.search import CaseFilter, cases

router = APIRouter()


class ActionBody(BaseModel):
    actor: str = Field(min_length=1, max_length=200)
    text: str | None = Field(None, max_length=10_000)
    reason: str | None = Field(None, max_length=2_000)
    team: str | None = None
    level: str | None = None
    assignee: str | None = None
    direction: Literal["up", "down"] | None = None


class BulkAssignBody(BaseModel):
    case_ids: list[str] = Field(min_length=1, max_length=1000)
    assignee: str = Field(min_length=1)
    actor: str = Field(min_length=1)


@router.get("/cases")
def list_cases(
    service: ServiceDep,
    status: Annotated[list[str] | None, Query()] = None,
    open: bool | None = None,
    team: str | None = None,
    level: str | None = None,
    assignee: str | None = None,
    platform: str | None = None,
    lang: str | None = None,
    brand: str | None = None,
    min_urgency: Urgency = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> dict[str, Any]:
    unknown = sorted(set(status or []) - set(lifecycle.STATUSES))
    if unknown:
        raise BadRequest(f"unknown status {unknown}; use {list(lifecycle.STATUSES)}")
    filters = CaseFilter(
        tuple(status or ()), open, team, level, assignee, platform, lang, brand, min_urgency
    )
    with service.store.read() as cur:
        items, total = cases(cur, filters, limit=limit, offset=offset)
    now = service.clock()
    for item in items:  # where each clock stands, in its team's business hours and warning time
        item["sla"] = service.cases.sla_status(item, now)
    return {"items": items, "total": total}


@router.get("/cases/{case_id}")
def get_case(case_id: str, service: ServiceDep) -> dict[str, Any]:
    return service.cases.detail(case_id)


@router.get("/cases/{case_id}/preview/{action}")
def preview(case_id: str, action: str, service: ServiceDep) -> dict[str, Any]:
    if action not in lifecycle.POSTING_ACTIONS:
        raise BadRequest(
            f"{action!r} posts nothing; preview one of {sorted(lifecycle.POSTING_ACTIONS)}"
        )
    found = service.cases.preview(case_id, action)
    return found.__dict__


@router.post("/cases/{case_id}/actions/{action}")
def act(case_id: str, action: str, body: ActionBody, service: ServiceDep) -> dict[str, Any]:
    return service.cases.act(case_id, action, ActionRequest(**body.model_dump()))


@router.post("/cases/bulk-assign")
def bulk_assign(body: BulkAssignBody, service: ServiceDep) -> dict[str, Any]:
    done, failed = [], {}
    for case_id in body.case_ids:
        try:
            service.cases.act(
                case_id, "assign", ActionRequest(actor=body.actor, assignee=body.assignee)
            )
            done.append(case_id)
        except (CaseError, NotFound) as exc:
            failed[case_id] = str(exc)
    return {"assigned": done, "failed": failed}
