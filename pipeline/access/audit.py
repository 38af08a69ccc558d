"""The audit log: who did what, when, through which credential. Append-only (see
``pipeline/store/access.py``); the actor always comes from the signed-in principal, never from
a name typed into a request."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pipeline.access.roles import Principal
from pipeline.store import Store
from pipeline.store import access as queries

SYSTEM = Principal(name="system", role="admin", via="service")


def record(
    store: Store,
    who: Principal | str,
    action: str,
    *,
    now: datetime,
    target: str | None = None,
    outcome: str = "ok",
    detail: dict[str, Any] | None = None,
    via: str | None = None,
) -> int:
    """Append one entry. ``detail`` must hold no message text, handles or secrets."""
    actor = who.name if isinstance(who, Principal) else who
    channel = via or (who.via if isinstance(who, Principal) else "anonymous")
    with store.transaction() as cur:
        return queries.append_audit(
            cur, at=now, actor=actor, via=channel, action=action, target=target,
            outcome=outcome, detail=detail,
        )  # fmt: skip


def entries(
    store: Store,
    *,
    actor: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
    limit: int = 200,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    with store.read() as cur:
        return queries.audit(
            cur, actor=actor, action=action, since=since, limit=limit, offset=offset
        )


def broken_at(store: Store) -> int | None:
    """The first audit entry that was changed behind the product's back, or None."""
    with store.read() as cur:
        return queries.verify_chain(cur)
