"""Agents: who is in which team, their load, and whether they are on shift."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from pipeline.api.deps import ServiceDep
from pipeline.care import customers as people

router = APIRouter()


class ShiftBody(BaseModel):
    on_shift: bool
    actor: str = Field(min_length=1)


@router.get("/agents")
def list_agents(service: ServiceDep) -> list[dict[str, Any]]:
    return people.agents(service.store, service.settings)


@router.put("/agents/{name}/shift")
def set_agent_shift(name: str, body: ShiftBody, service: ServiceDep) -> dict[str, Any]:
    people.set_shift(
        service.store, service.settings, name, on_shift=body.on_shift, actor=body.actor
    )
    return next(a for a in people.agents(service.store, service.settings) if a["name"] == name)
