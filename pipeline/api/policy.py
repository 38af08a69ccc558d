"""Who may call what: every route of the API names the permission it needs, here and only here.

``authorise`` runs before every route (the app adds it as a global dependency). It reads the
bearer credential, turns it into a :class:`~pipeline.access.roles.Principal` and checks the
route's permission; a route missing from ``POLICY`` is refused, so a new route is closed until
someone decides who may call it. Which cases and brands a person sees (their scope) is checked by
the routes that read them, with the rules of ``pipeline.access.roles``.
"""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import Depends, Request

from pipeline.access import audit, tokens
from pipeline.access.roles import Permission, Principal
from pipeline.errors import Forbidden, NotSignedIn
from pipeline.records import utcnow
from pipeline.service import Service

PUBLIC: Final = "public"

POLICY: dict[tuple[str, str], Permission | str] = {
    ("GET", "/health"): PUBLIC,
    # Liveness and readiness for load balancers and orchestrators: no data in them.
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,
    ("GET", "/metrics"): "service:metrics",
    ("POST", "/auth/login"): PUBLIC,
    ("GET", "/auth/oidc/login"): PUBLIC,
    ("GET", "/auth/oidc/callback"): PUBLIC,
    ("POST", "/auth/oidc/exchange"): PUBLIC,
    # The platforms call these; a delivery is checked by its signature (api/webhooks.py).
    ("GET", "/webhooks/{source}"): PUBLIC,
    ("POST", "/webhooks/{source}"): PUBLIC,
    ("POST", "/auth/logout"): "account",
    ("GET", "/auth/me"): "account",
    ("POST", "/auth/password"): "account",
    ("GET", "/auth/tokens"): "account",
    ("POST", "/auth/tokens"): "account",
    ("DELETE", "/auth/tokens/{token_id}"): "account",
    ("GET", "/openapi.json"): "account",
    # One's own preferences only: the route reads the caller, never a user named in the path.
    ("GET", "/me/preferences/{name}"): "account",
    ("PUT", "/me/preferences/{name}"): "account",
    ("GET", "/stats"): "listening:read",
    ("GET", "/sources"): "listening:read",
    ("GET", "/config/ui"): "listening:read",
    ("GET", "/alerts"): "listening:read",
    ("GET", "/aggregates/overview"): "listening:read",
    ("GET", "/listening/themes"): "listening:read",
    ("GET", "/listening/authors"): "listening:read",
    ("GET", "/listening/risks"): "listening:read",
    ("GET", "/listening/alerts"): "listening:read",
    ("GET", "/listening/crisis"): "listening:read",
    ("GET", "/mentions"): "listening:read",
    ("GET", "/mentions/{key}"): "listening:read",
    ("GET", "/mentions/export"): "listening:export",
    ("POST", "/mentions/{key}/corrections"): "labels:correct",
    ("POST", "/mentions/{key}/hide"): "cases:work",
    ("GET", "/corrections/export"): "listening:export",
    ("GET", "/aggregates/care"): "care:metrics",
    ("GET", "/cases"): "cases:read",
    ("GET", "/cases/{case_id}"): "cases:read",
    ("GET", "/cases/{case_id}/preview/{action}"): "cases:work",
    ("POST", "/cases/{case_id}/actions/{action}"): "cases:work",
    ("POST", "/cases/bulk-assign"): "cases:work",
    ("GET", "/customers/suggestions"): "customers:review",
    ("POST", "/customers/links"): "customers:link",
    ("GET", "/customers/{author_key}"): "customers:read",
    ("DELETE", "/customers/links"): "customers:link",
    ("GET", "/customers/{author_key}/suggestions"): "customers:link",
    ("GET", "/agents"): "agents:read",
    ("PUT", "/agents/{name}/shift"): "agents:read",  # others' shifts need agents:shift (route)
    ("GET", "/set-aside"): "pipeline:repair",
    ("POST", "/set-aside/{key}/retry"): "pipeline:repair",
    ("POST", "/set-aside/{key}/discard"): "pipeline:repair",
    ("GET", "/users"): "users:admin",
    ("POST", "/users"): "users:admin",
    ("PATCH", "/users/{name}"): "users:admin",
    ("POST", "/users/{name}/password"): "users:admin",
    ("GET", "/audit"): "audit:read",
    ("GET", "/audit/export"): "audit:read",
    ("POST", "/privacy/export"): "privacy:admin",
    ("POST", "/privacy/erase"): "privacy:admin",
}


def bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def authorise(request: Request) -> None:
    """The one access check: the route's permission against the caller's role."""
    route = request.scope.get("route")
    key = (request.method, getattr(route, "path", request.url.path))
    needed = POLICY.get(key)
    if needed is None:
        raise Forbidden(f"{key[0]} {key[1]} has no access rule; nobody may call it")
    request.state.principal = None
    if needed == PUBLIC:
        return
    service: Service = request.app.state.service
    presented = bearer(request)
    if presented is None:
        raise NotSignedIn("sign in first: send `Authorization: Bearer <session or API token>`")
    principal = tokens.resolve(service.store, presented, now=utcnow())
    if not principal.may(needed):  # type: ignore[arg-type]
        audit.record(
            service.store, principal, "access.denied", now=utcnow(),
            target=f"{key[0]} {key[1]}", outcome="denied",
        )  # fmt: skip
        raise Forbidden(f"your role ({principal.role}) may not do this ({needed})")
    request.state.principal = principal


def current_principal(request: Request) -> Principal:
    """The signed-in caller of a non-public route (set by ``authorise``)."""
    principal: Principal | None = getattr(request.state, "principal", None)
    if principal is None:  # a public route asking for a principal is a bug in the route
        raise NotSignedIn("sign in first")
    return principal


PrincipalDep = Annotated[Principal, Depends(current_principal)]
