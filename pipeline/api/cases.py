"""Cases: the queue, one case, a preview of what an action would post, and the actions."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from pipeline.access import audit
from pipeline.access.roles import Principal
from pipeline.analytics.risks import category
from pipeline.api.deps import Limit, Offset, ServiceDep, Urgency
from pipeline.api.policy import PrincipalDep
from pipeline.care import lifecycle
from pipeline.care.cases import ActionRequest
from pipeline.errors import BadRequest, CaseError, CaseNotFound, Forbidden, NotFound
from pipeline.records import utcnow
from pipeline.service import Service
from pipeline.store import cases as case_rows
from pipeline.store.search import CaseFilter, cases

router = APIRouter()


class ActionBody(BaseModel):
    """What an action needs; who takes it is the signed-in person, never a name in the body."""

    model_config = ConfigDict(extra="forbid")
    text: str | None = Field(None, max_length=10_000)
    reason: str | None = Field(None, max_length=2_000)
    team: str | None = None
    level: str | None = None
    assignee: str | None = None
    direction: Literal["up", "down"] | None = None
    channel: Literal["dm", "whatsapp", "email", "web_form"] | None = None


class BulkAssignBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    case_ids: list[str] = Field(min_length=1, max_length=1000)
    assignee: str = Field(min_length=1, max_length=200)


def check_case(service: Service, principal: Principal, case_id: str) -> None:
    """404 when there is no such case, 403 when it is outside the asker's teams and brands."""
    with service.store.read() as cur:
        found = case_rows.get(cur, case_id)
    if found is None:
        raise CaseNotFound(case_id)
    if not principal.sees_case(found.team, found.brand):
        raise Forbidden(f"case {case_id} belongs to a team or brand you do not work for")


@router.get("/cases")
def list_cases(
    service: ServiceDep,
    principal: PrincipalDep,
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
        tuple(status or ()), open, team, level, assignee, platform, lang, brand, min_urgency,
        in_teams=principal.case_teams(), in_brands=principal.case_brands(),
    )  # fmt: skip
    with service.store.read() as cur:
        items, total = cases(cur, filters, limit=limit, offset=offset)
    now = service.clock()
    for item in items:  # where each clock stands, in its team's business hours and warning time
        item["sla"] = service.cases.sla_status(item, now)
        with_categories(item)
    return {"items": items, "total": total}


def with_categories(row: dict[str, Any]) -> dict[str, Any]:
    """``row`` with ``urgency_categories``: each urgency reason's risk category key, in order
    (what the dashboard names in the reader's language; pipeline/analytics/risks.py)."""
    row["urgency_categories"] = [category(str(r))[0] for r in row.get("urgency_reasons") or []]
    return row


@router.get("/cases/{case_id}")
def get_case(case_id: str, service: ServiceDep, principal: PrincipalDep) -> dict[str, Any]:
    check_case(service, principal, case_id)
    found = service.cases.detail(case_id)
    with_categories(found["case"])
    if isinstance(found.get("mention"), dict):
        with_categories(found["mention"])
    return found


@router.get("/cases/{case_id}/preview/{action}")
def preview(
    case_id: str,
    action: str,
    service: ServiceDep,
    principal: PrincipalDep,
    channel: Literal["dm", "whatsapp", "email", "web_form"] | None = None,
) -> dict[str, Any]:
    check_case(service, principal, case_id)
    if action not in lifecycle.POSTING_ACTIONS:
        raise BadRequest(
            f"{action!r} posts nothing; preview one of {sorted(lifecycle.POSTING_ACTIONS)}"
        )
    found = service.cases.preview(case_id, action, channel)
    return found.__dict__


@router.post("/cases/{case_id}/actions/{action}")
def act(
    case_id: str, action: str, body: ActionBody, service: ServiceDep, principal: PrincipalDep
) -> dict[str, Any]:
    check_case(service, principal, case_id)
    done = service.cases.act(
        case_id, action, ActionRequest(actor=principal.name, **body.model_dump())
    )
    detail = {k: v for k, v in body.model_dump().items() if k in ("team", "level", "assignee")}
    audit.record(
        service.store, principal, f"case.{action}", now=utcnow(), target=case_id,
        detail={k: v for k, v in detail.items() if v is not None} or None,
    )  # fmt: skip
    return done


@router.post("/cases/bulk-assign")
def bulk_assign(
    body: BulkAssignBody, service: ServiceDep, principal: PrincipalDep
) -> dict[str, Any]:
    done, failed = [], {}
    for case_id in body.case_ids:
        try:
            check_case(service, principal, case_id)
            service.cases.act(
                case_id, "assign", ActionRequest(actor=principal.name, assignee=body.assignee)
            )
            done.append(case_id)
        except (CaseError, NotFound, Forbidden) as exc:
            failed[case_id] = str(exc)
    if done:
        audit.record(
            service.store, principal, "case.bulk_assign", now=utcnow(),
            target=",".join(done)[:500], detail={"assignee": body.assignee, "cases": len(done)},
        )  # fmt: skip
    return {"assigned": done, "failed": failed}
