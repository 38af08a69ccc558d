"""Signing in and out, one's own account, and API tokens."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from pipeline.access import audit, tokens, users
from pipeline.access.roles import GRANTS, Principal
from pipeline.api.deps import ServiceDep
from pipeline.api.policy import PrincipalDep
from pipeline.errors import EscuchaError, Forbidden, NotSignedIn
from pipeline.records import utcnow

router = APIRouter(prefix="/auth")


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LoginBody(_Body):
    name: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=1, max_length=users.MAX_PASSWORD)


class PasswordBody(_Body):
    current: str = Field(min_length=1, max_length=users.MAX_PASSWORD)
    new: str = Field(min_length=1, max_length=users.MAX_PASSWORD)


class TokenBody(_Body):
    label: str = Field(min_length=1, max_length=100)
    role: str | None = None
    days: int = Field(90, ge=1, le=3650)


def me(principal: Principal) -> dict[str, Any]:
    return {
        "name": principal.name, "display_name": principal.display_name or principal.name,
        "role": principal.role, "teams": list(principal.teams), "brands": list(principal.brands),
        "via": principal.via, "permissions": sorted(GRANTS.get(principal.role, ())),
    }  # fmt: skip


@router.post("/login")
def login(body: LoginBody, service: ServiceDep, request: Request) -> dict[str, Any]:
    """Sign in with a user name and password; answers a session token for ``Bearer``."""
    now = utcnow()
    settings = service.settings.auth
    try:
        user = users.authenticate(service.store, settings, body.name, body.password, now=now)
    except EscuchaError as exc:
        audit.record(
            service.store, "anonymous", "auth.login", now=now, via="password",
            target=body.name.strip().lower()[:64], outcome="failed",
            detail={"reason": type(exc).__name__},
        )  # fmt: skip
        raise
    token, info = tokens.start_session(service.store, settings, user, now=now)
    audit.record(service.store, str(user["name"]), "auth.login", now=now, via="password")
    principal = tokens.resolve(service.store, token, now=now)
    return {"token": token, "expires_at": info["expires_at"], "user": me(principal)}


@router.post("/logout")
def logout(principal: PrincipalDep, service: ServiceDep) -> dict[str, Any]:
    """End the session (or revoke the token) this request came with."""
    now = utcnow()
    if principal.credential_id is None:
        raise NotSignedIn("no credential to end")
    tokens.revoke(service.store, principal, principal.credential_id, now=now)
    audit.record(service.store, principal, "auth.logout", now=now)
    return {"signed_out": True}


@router.get("/me")
def whoami(principal: PrincipalDep) -> dict[str, Any]:
    return me(principal)


@router.post("/password")
def change_password(
    body: PasswordBody, principal: PrincipalDep, service: ServiceDep
) -> dict[str, Any]:
    """Change one's own password: every session and token of the account ends."""
    now = utcnow()
    settings = service.settings.auth
    try:
        users.authenticate(service.store, settings, principal.name, body.current, now=now)
    except NotSignedIn:  # the session is fine; the password typed is not (it counts a failure)
        raise Forbidden("the current password is not right") from None
    ended = users.set_password(service.store, principal.name, body.new, now=now)
    audit.record(service.store, principal, "user.password", now=now, target=principal.name)
    return {"changed": True, "credentials_ended": ended}


@router.get("/tokens")
def list_tokens(
    principal: PrincipalDep, service: ServiceDep, everyone: bool = False
) -> list[dict[str, Any]]:
    """One's API tokens (an admin may ask for ``everyone``'s); secrets are never shown again."""
    owner = None if everyone and principal.may("users:admin") else principal.name
    return tokens.listing(service.store, owner, "token")


@router.post("/tokens", status_code=201)
def create_token(body: TokenBody, principal: PrincipalDep, service: ServiceDep) -> dict[str, Any]:
    """A new API token, role no higher than one's own; the ``token`` is shown this once."""
    now = utcnow()
    token, info = tokens.create_token(
        service.store, service.settings.auth, principal, label=body.label, role=body.role,
        lifetime=timedelta(days=body.days), now=now,
    )  # fmt: skip
    audit.record(
        service.store, principal, "token.create", now=now, target=info["id"],
        detail={"role": info["role"], "days": body.days},
    )  # fmt: skip
    return {**info, "token": token}


@router.delete("/tokens/{token_id}")
def revoke_token(token_id: str, principal: PrincipalDep, service: ServiceDep) -> dict[str, Any]:
    now = utcnow()
    done = tokens.revoke(service.store, principal, token_id, now=now)
    audit.record(service.store, principal, "token.revoke", now=now, target=token_id)
    return done
