"""Customers: one person's accounts and history across channels, and linking their accounts."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from pipeline.api.deps import ServiceDep
from pipeline.care import customers as people
from pipeline.store.cases import author_history

router = APIRouter()


class LinkBody(BaseModel):
    a: str = Field(min_length=3)
    b: str = Field(min_length=3)
    actor: str = Field(min_length=1)
    decision: Literal["linked", "rejected"] = "linked"
    reason: str | None = None
    confidence: float | None = Field(None, ge=0, le=1)


@router.get("/customers/suggestions")
def customer_suggestions(
    service: ServiceDep, min_confidence: Annotated[float, Query(ge=0, le=1)] = 0.5
) -> list[dict[str, Any]]:
    return [s.__dict__ for s in people.suggestions(service.store, min_confidence=min_confidence)]


@router.post("/customers/links", status_code=201)
def link_customers(body: LinkBody, service: ServiceDep) -> dict[str, Any]:
    return people.decide_link(
        service.store, body.a, body.b, decision=body.decision, actor=body.actor,
        reason=body.reason, confidence=body.confidence,
    )  # fmt: skip


@router.get("/customers/{author_key}")
def customer(author_key: str, service: ServiceDep) -> dict[str, Any]:
    accounts = people.linked_accounts(service.store, author_key)
    with service.store.read() as cur:
        history = author_history(cur, author_key)
    return {"accounts": accounts, "history": history}
