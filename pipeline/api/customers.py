"""Customers: one person's accounts and history across channels, and linking their accounts."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from pipeline.access import audit
from pipeline.access.roles import Principal
from pipeline.api.deps import ServiceDep
from pipeline.api.policy import PrincipalDep
from pipeline.care import customers as people
from pipeline.errors import Forbidden
from pipeline.records import utcnow
from pipeline.service import Service
from pipeline.store.cases import author_history, author_scopes

router = APIRouter()


class LinkBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    a: str = Field(min_length=3, max_length=300)
    b: str = Field(min_length=3, max_length=300)
    decision: Literal["linked", "rejected"] = "linked"
    reason: str | None = None
    confidence: float | None = Field(None, ge=0, le=1)


def check_customer(service: Service, principal: Principal, author_key: str) -> None:
    """Agents and brand-limited managers see a customer only through a case they may see."""
    if principal.case_teams() is None and principal.case_brands() is None:
        return
    with service.store.read() as cur:
        scopes = author_scopes(cur, author_key)
    if not any(principal.sees_case(team, brand) for team, brand in scopes):
        raise Forbidden(f"{author_key} has no case in your teams or brands")


@router.get("/customers/suggestions")
def customer_suggestions(
    service: ServiceDep, min_confidence: Annotated[float, Query(ge=0, le=1)] = 0.5
) -> list[dict[str, Any]]:
    return [s.__dict__ for s in people.suggestions(service.store, min_confidence=min_confidence)]


@router.post("/customers/links", status_code=201)
def link_customers(body: LinkBody, service: ServiceDep, principal: PrincipalDep) -> dict[str, Any]:
    check_customer(service, principal, body.a)
    decided = people.decide_link(
        service.store, body.a, body.b, decision=body.decision, actor=principal.name,
        reason=body.reason, confidence=body.confidence,
    )  # fmt: skip
    audit.record(
        service.store, principal, f"customer.{body.decision}", now=utcnow(),
        detail={"confidence": body.confidence},
    )  # fmt: skip
    return decided


@router.delete("/customers/links")
def unlink_customers(
    service: ServiceDep,
    principal: PrincipalDep,
    a: Annotated[str, Query(min_length=3, max_length=300)],
    b: Annotated[str, Query(min_length=3, max_length=300)],
    reason: Annotated[str | None, Query(max_length=500)] = None,
) -> dict[str, Any]:
    """Undo a confirmed link: the account ``b`` leaves the customer it shares with ``a``."""
    check_customer(service, principal, a)
    undone = people.undo_link(service.store, a, b, actor=principal.name, reason=reason)
    audit.record(
        service.store, principal, "customer.unlinked", now=utcnow(),
        detail={"links": undone["undone"]},
    )  # fmt: skip
    return undone


@router.get("/customers/{author_key}")
def customer(author_key: str, service: ServiceDep, principal: PrincipalDep) -> dict[str, Any]:
    check_customer(service, principal, author_key)
    view = people.customer_view(service.store, author_key)
    with service.store.read() as cur:
        view["history"] = author_history(cur, author_key)
    return view


@router.get("/customers/{author_key}/suggestions")
def account_suggestions(
    author_key: str,
    service: ServiceDep,
    principal: PrincipalDep,
    min_confidence: Annotated[float, Query(ge=0, le=1)] = 0.5,
) -> list[dict[str, Any]]:
    """Suggested links for this customer's accounts (the one given and those linked to it)."""
    check_customer(service, principal, author_key)
    keys = [str(a["key"]) for a in people.linked_accounts(service.store, author_key)]
    found = people.suggestions(service.store, min_confidence=min_confidence, accounts=keys)
    return [s.__dict__ for s in found]
