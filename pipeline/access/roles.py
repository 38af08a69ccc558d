"""Roles, what each may do, and which cases and brands a signed-in person sees.

This module holds the rules; the API applies them in one place (``pipeline/api/policy.py``: every
route names the permission it needs, and a route without one is refused).

Roles, from most to least trusted (an API token's role is never above its user's):

admin    everything: users, credentials, the audit log, privacy requests, every case
manager  every case of their brands, shifts, exports, care metrics, set-aside mentions
agent    the cases of their teams: reply, move, resolve; the customer view for those cases
analyst  listening dashboards, care metrics, exports and label corrections; no private messages
viewer   listening dashboards only
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from pipeline.errors import Forbidden

Role = Literal["admin", "manager", "agent", "analyst", "viewer"]
ROLES: tuple[Role, ...] = ("admin", "manager", "agent", "analyst", "viewer")

# Rank for "no higher than": a token may carry its user's role or any role ranked below it.
RANK: dict[str, int] = {"admin": 4, "manager": 3, "agent": 2, "analyst": 1, "viewer": 0}

Permission = Literal[
    "listening:read",  # overview, mentions, search, sources, alerts
    "service:metrics",  # Prometheus counts (no text, no handles): any role's API token may scrape
    "listening:export",  # CSV/Parquet downloads of mentions and label corrections
    "care:metrics",  # response times, SLA, CSAT
    "cases:read",  # the queue and a case with its private messages
    "cases:work",  # acknowledge, deflect, reply, assign, resolve, close, dismiss
    "customers:read",  # one person's accounts and history
    "customers:link",  # confirm or reject that two accounts are one person
    "customers:review",  # the list of suggested links across every customer
    "labels:correct",  # correct a mention's sentiment, urgency, complaint or intent
    "agents:read",  # who is on shift, with their load
    "agents:shift",  # put anyone on or off shift (an agent may always change their own)
    "pipeline:repair",  # retry or discard mentions a stage set aside
    "users:admin",  # people, roles, passwords, everyone's tokens
    "audit:read",  # the audit log and its export
    "privacy:admin",  # export or erase what is held about a person
    "account",  # one's own sign-in, sessions and API tokens
]

_LISTEN: frozenset[Permission] = frozenset({"listening:read", "service:metrics", "account"})
_ANALYSE: frozenset[Permission] = _LISTEN | {"listening:export", "care:metrics", "labels:correct"}
_CARE: frozenset[Permission] = _LISTEN | {
    "care:metrics", "cases:read", "cases:work", "customers:read", "customers:link",
    "labels:correct", "agents:read",
}  # fmt: skip
_MANAGE: frozenset[Permission] = frozenset({"agents:shift", "customers:review", "pipeline:repair"})
_ADMINISTER: frozenset[Permission] = frozenset({"users:admin", "audit:read", "privacy:admin"})

GRANTS: dict[str, frozenset[Permission]] = {
    "viewer": _LISTEN,
    "analyst": _ANALYSE,
    "agent": _CARE,
    "manager": _CARE | _ANALYSE | _MANAGE,
    "admin": _CARE | _ANALYSE | _MANAGE | _ADMINISTER,
}


def may(role: str, permission: Permission) -> bool:
    return permission in GRANTS.get(role, frozenset())


def at_most(role: str, ceiling: str) -> bool:
    """Whether ``role`` is ``ceiling`` or ranked below it."""
    return role in RANK and RANK[role] <= RANK.get(ceiling, -1)


@dataclass(frozen=True)
class Principal:
    """Who is asking: a user, through a session or an API token, with the role that applies.

    ``teams`` are the care teams an agent works for; ``brands`` the brands this person sees
    (empty = every brand).
    """

    name: str
    role: str
    via: str  # session, token:<id>, cli, service
    teams: tuple[str, ...] = ()
    brands: tuple[str, ...] = ()
    display_name: str | None = None
    credential_id: str | None = field(default=None, compare=False)

    def may(self, permission: Permission) -> bool:
        return may(self.role, permission)

    # -- scope: which cases ----------------------------------------------------------------------

    def case_teams(self) -> tuple[str, ...] | None:
        """The teams whose cases this person sees; None = any team (managers and admins)."""
        return self.teams if self.role == "agent" else None

    def case_brands(self) -> tuple[str, ...] | None:
        """The brands whose cases this person sees; None = any brand."""
        return None if self.role == "admin" or not self.brands else self.brands

    def sees_case(self, team: str | None, brand: str | None) -> bool:
        teams, brands = self.case_teams(), self.case_brands()
        if teams is not None and team not in teams:
            return False
        return brands is None or brand in brands

    # -- scope: which brands of listening data ---------------------------------------------------

    def brand_scope(self) -> tuple[str, ...] | None:
        """The brands whose mentions and aggregates this person sees; None = every brand."""
        return None if self.role == "admin" or not self.brands else self.brands


def scoped_brand(
    principal: Principal, asked: str | None, competitors: Mapping[str, Sequence[str]]
) -> str | None:
    """The brand a listening query runs on for ``principal``.

    A person limited to some brands reads those and their competitors; asking for nothing reads
    their one brand, and someone with several must choose; anything else is ``Forbidden``.
    """
    allowed = principal.brand_scope()
    if allowed is None:
        return asked
    if asked is None:
        if len(allowed) == 1:
            return allowed[0]
        raise Forbidden(f"choose a brand: you see {', '.join(sorted(allowed))}")
    if not sees_brand(principal, asked, competitors):
        raise Forbidden(f"you do not see the brand {asked!r}")
    return asked


def sees_brand(
    principal: Principal, brand: str | None, competitors: Mapping[str, Sequence[str]]
) -> bool:
    """Whether one mention of ``brand`` is visible to ``principal``."""
    allowed = principal.brand_scope()
    if allowed is None:
        return True
    return brand in set(allowed) | {c for b in allowed for c in competitors.get(b, ())}
