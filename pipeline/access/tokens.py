"""Credentials: dashboard sessions and API tokens, both presented as ``Authorization: Bearer``.

A credential reads ``<id>.<secret>``: the id is public (it names the credential in lists and the
audit log), the secret is 32 random bytes shown once and stored only as its SHA-256. Each check
reads the user's current state, so disabling a user or lowering their role applies at once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from typing import Any, Literal

from pipeline.access.roles import RANK, Principal, at_most
from pipeline.errors import BadRequest, Forbidden, NotFound, NotSignedIn
from pipeline.settings import AuthSettings
from pipeline.store import Store
from pipeline.store import access as queries

Kind = Literal["session", "token"]
_PREFIX: dict[str, str] = {"session": "s_", "token": "t_"}
# last_used_at is written at most this often per credential, not on every request.
_TOUCH_EVERY = timedelta(minutes=1)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _issue(
    store: Store,
    kind: Kind,
    user_name: str,
    role: str,
    *,
    label: str | None,
    now: datetime,
    expires_at: datetime,
) -> tuple[str, dict[str, Any]]:
    credential_id = _PREFIX[kind] + secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    with store.transaction() as cur:
        queries.insert_credential(
            cur, id=credential_id, kind=kind, user_name=user_name, role=role, label=label,
            secret_hash=_digest(secret), at=now, expires_at=expires_at,
        )  # fmt: skip
    info = {"id": credential_id, "kind": kind, "user_name": user_name, "role": role,
            "label": label, "created_at": now, "expires_at": expires_at}  # fmt: skip
    return f"{credential_id}.{secret}", info


def start_session(
    store: Store, settings: AuthSettings, user: dict[str, Any], *, now: datetime
) -> tuple[str, dict[str, Any]]:
    """A dashboard session for a user who just signed in: the bearer secret and its record."""
    return _issue(
        store, "session", str(user["name"]), str(user["role"]), label=None, now=now,
        expires_at=now + settings.session_lifetime,
    )  # fmt: skip


def create_token(
    store: Store,
    settings: AuthSettings,
    owner: Principal,
    *,
    label: str,
    role: str | None,
    lifetime: timedelta,
    now: datetime,
) -> tuple[str, dict[str, Any]]:
    """An API token for ``owner`` with ``role`` (default: theirs), never above their own role."""
    role = role or owner.role
    if role not in RANK:
        raise BadRequest(f"unknown role {role!r}; use one of {', '.join(RANK)}")
    if not at_most(role, owner.role):
        raise Forbidden(f"a token cannot have a role above yours ({owner.role})")
    if lifetime <= timedelta(0) or lifetime > settings.token_max_lifetime:
        raise BadRequest(
            f"a token lives between a second and {settings.token_max_lifetime.days} days"
        )
    return _issue(store, "token", owner.name, role, label=label, now=now, expires_at=now + lifetime)


def resolve(store: Store, bearer: str, *, now: datetime) -> Principal:
    """The person a presented credential stands for, or ``NotSignedIn`` saying why not."""
    credential_id, _, secret = bearer.strip().partition(".")
    if not credential_id or not secret or len(bearer) > 200:
        raise NotSignedIn("the credential is malformed; sign in again")
    with store.read() as cur:
        found = queries.credential(cur, credential_id)
    if found is None or not hmac.compare_digest(_digest(secret), str(found["secret_hash"])):
        raise NotSignedIn("unknown credential; sign in again")
    if found["revoked_at"] is not None:
        raise NotSignedIn(f"this {found['kind']} was revoked; sign in again")
    if found["expires_at"] <= now:
        raise NotSignedIn(f"this {found['kind']} expired; sign in again")
    if found["disabled"]:
        raise NotSignedIn("this account is disabled; ask an admin")
    last = found["last_used_at"]
    if last is None or now - last >= _TOUCH_EVERY:
        with store.transaction() as cur:
            queries.touch_credential(cur, credential_id, now)
    # A token keeps the role it was made with unless its user has since been moved lower.
    role = str(found["role"])
    if not at_most(role, str(found["user_role"])):
        role = str(found["user_role"])
    via = "session" if found["kind"] == "session" else f"token:{credential_id}"
    return Principal(
        name=str(found["user_name"]), role=role, via=via,
        teams=tuple(found["teams"] or ()), brands=tuple(found["brands"] or ()),
        display_name=found["display_name"], credential_id=credential_id,
    )  # fmt: skip


def revoke(store: Store, by: Principal, credential_id: str, *, now: datetime) -> dict[str, Any]:
    """Revoke a credential: one's own, or anyone's for an admin."""
    with store.read() as cur:
        found = queries.credential(cur, credential_id)
    if found is None:
        raise NotFound(f"no credential {credential_id!r}")
    if found["user_name"] != by.name and not by.may("users:admin"):
        raise Forbidden("you can revoke only your own sessions and tokens")
    with store.transaction() as cur:
        queries.revoke_credential(cur, credential_id, now)
    return {"id": credential_id, "user_name": found["user_name"], "revoked_at": now}


def listing(store: Store, user_name: str | None, kind: Kind = "token") -> list[dict[str, Any]]:
    with store.read() as cur:
        return queries.credentials(cur, user_name, kind)
