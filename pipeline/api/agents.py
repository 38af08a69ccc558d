"""Agents: who is in which team, their load, and whether they are on shift."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict

from pipeline.access import audit
from pipeline.api.deps import ServiceDep
from pipeline.api.policy import PrincipalDep
from pipeline.care import customers as people
from pipeline.errors import Forbidden
from pipeline.records import utcnow

router = APIRouter()


class ShiftBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    on_shift: bool


@router.get("/agents")
def list_agents(service: ServiceDep) -> list[dict[str, Any]]:
    return people.agents(service.store, service.settings)


@router.put("/agents/{name}/shift")
def set_agent_shift(
    name: str, body: ShiftBody, service: ServiceDep, principal: PrincipalDep
) -> dict[str, Any]:
    """Put an agent on or off shift: one's own shift, or anyone's with ``agents:shift``."""
    if name != principal.name and not principal.may("agents:shift"):
        raise Forbidden("you may change only your own shift")
    people.set_shift(
        service.store, service.settings, name, on_shift=body.on_shift, actor=principal.name
    )
    audit.record(
        service.store, principal, "agent.shift", now=utcnow(), target=name,
        detail={"on_shift": body.on_shift},
    )  # fmt: skip
    return next(a for a in people.agents(service.store, service.settings) if a["name"] == name)
