"""Administration: people and their roles, and the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from pipeline.access import audit, users
from pipeline.access.roles import Role
from pipeline.api import exports
from pipeline.api.deps import Limit, Offset, ServiceDep
from pipeline.api.policy import PrincipalDep
from pipeline.errors import BadRequest
from pipeline.records import utcnow

router = APIRouter()

_Names = Annotated[list[Annotated[str, Field(min_length=1, max_length=100)]], Field(max_length=100)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NewUser(_Body):
    name: str = Field(min_length=2, max_length=64)
    role: Role
    password: str | None = Field(None, max_length=users.MAX_PASSWORD)  # None: single sign-on
    display_name: str | None = Field(None, max_length=200)
    email: str | None = Field(None, max_length=254)
    teams: _Names = []
    brands: _Names = []


class UserChanges(_Body):
    role: Role | None = None
    display_name: str | None = Field(None, max_length=200)
    email: str | None = Field(None, max_length=254)
    teams: _Names | None = None
    brands: _Names | None = None
    disabled: bool | None = None


class NewPassword(_Body):
    password: str = Field(min_length=1, max_length=users.MAX_PASSWORD)


def _check_scope(service: Any, teams: list[str] | None, brands: list[str] | None) -> None:
    known_teams = {t.name for t in service.settings.teams}
    known_brands = {b.name for b in service.settings.brands}
    unknown_teams = sorted(set(teams or ()) - known_teams)
    unknown_brands = sorted(set(brands or ()) - known_brands) if known_brands else []
    if unknown_teams:
        raise BadRequest(f"unknown teams {unknown_teams}; configured: {sorted(known_teams)}")
    if unknown_brands:
        raise BadRequest(f"unknown brands {unknown_brands}; configured: {sorted(known_brands)}")


@router.get("/users")
def list_users(service: ServiceDep) -> list[dict[str, Any]]:
    return users.listing(service.store)


@router.post("/users", status_code=201)
def add_user(body: NewUser, principal: PrincipalDep, service: ServiceDep) -> dict[str, Any]:
    _check_scope(service, body.teams, body.brands)
    now = utcnow()
    created = users.add(
        service.store, body.name, role=body.role, password=body.password, now=now,
        display_name=body.display_name, email=body.email, teams=body.teams, brands=body.brands,
    )  # fmt: skip
    audit.record(
        service.store, principal, "user.add", now=now, target=created["name"],
        detail={"role": body.role, "teams": body.teams, "brands": body.brands},
    )  # fmt: skip
    return created


@router.patch("/users/{name}")
def change_user(
    name: str, body: UserChanges, principal: PrincipalDep, service: ServiceDep
) -> dict[str, Any]:
    changes = body.model_dump(exclude_unset=True)
    _check_scope(service, changes.get("teams"), changes.get("brands"))
    if name.strip().lower() == principal.name and (
        changes.get("disabled") or changes.get("role", "admin") != "admin"
    ):
        raise BadRequest("you cannot disable yourself or give up your own admin role")
    now = utcnow()
    changed = users.update(service.store, name, changes, now=now)
    detail = {k: v for k, v in changes.items() if k in ("role", "teams", "brands", "disabled")}
    audit.record(
        service.store, principal, "user.change", now=now, target=changed["name"], detail=detail
    )
    return changed


@router.post("/users/{name}/password")
def reset_password(
    name: str, body: NewPassword, principal: PrincipalDep, service: ServiceDep
) -> dict[str, Any]:
    """Set someone's password (and unlock them); their sessions and tokens end."""
    now = utcnow()
    ended = users.set_password(service.store, name, body.password, now=now)
    audit.record(service.store, principal, "user.password", now=now, target=name.lower())
    return {"changed": True, "credentials_ended": ended}


@router.get("/audit")
def list_audit(
    service: ServiceDep,
    actor: Annotated[str | None, Query(max_length=64)] = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
    since: datetime | None = None,
    limit: Limit = 200,
    offset: Offset = 0,
) -> dict[str, Any]:
    items, total = audit.entries(
        service.store, actor=actor, action=action, since=since, limit=limit, offset=offset
    )
    return {"items": items, "total": total, "tampered_at": audit.broken_at(service.store)}


@router.get("/audit/export")
def export_audit(
    principal: PrincipalDep,
    service: ServiceDep,
    since: datetime | None = None,
) -> Response:
    now = utcnow()
    items, _ = audit.entries(service.store, since=since, limit=1_000_000)
    audit.record(service.store, principal, "audit.export", now=now, detail={"rows": len(items)})
    columns = ["id", "happened_at", "actor", "via", "action", "target", "outcome", "detail"]
    return exports.csv_stream(items, columns, f"audit-{now:%Y%m%d-%H%M}.csv")
