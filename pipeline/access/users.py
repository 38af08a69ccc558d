"""People who sign in: adding them, their passwords (argon2, via pwdlib), roles and scope, and
checking a sign-in with lock-out after repeated failures."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from pwdlib import PasswordHash

from pipeline.access.roles import ROLES
from pipeline.errors import BadRequest, Conflict, NotFound, NotSignedIn, SignInLocked
from pipeline.settings import AuthSettings
from pipeline.store import Store
from pipeline.store import access as queries

NAME = re.compile(r"^[a-z0-9][a-z0-9._@+-]{1,63}$")
MIN_PASSWORD = 10
MAX_PASSWORD = 256

_hasher = PasswordHash.recommended()  # argon2id with the library's current parameters
# Verified when the name is unknown, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("not a password anyone has")
_WRONG = "wrong user name or password"


def check_name(name: str) -> str:
    folded = name.strip().lower()
    if not NAME.match(folded):
        raise BadRequest(
            f"{name!r} is not a valid user name",
            hint="2-64 characters: letters, digits and . _ @ + - (an e-mail address works)",
        )
    return folded


def check_role(role: str) -> str:
    if role not in ROLES:
        raise BadRequest(f"unknown role {role!r}; use one of {', '.join(ROLES)}")
    return role


def check_password(password: str, name: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise BadRequest(f"the password must have at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise BadRequest(f"the password must have at most {MAX_PASSWORD} characters")
    if name.lower() in password.lower():
        raise BadRequest("the password must not contain the user name")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def add(
    store: Store,
    name: str,
    *,
    role: str,
    password: str | None,
    now: datetime,
    display_name: str | None = None,
    email: str | None = None,
    teams: Sequence[str] = (),
    brands: Sequence[str] = (),
) -> dict[str, Any]:
    """Create a user; ``password`` None means single sign-on only. Returns the user."""
    name = check_name(name)
    check_role(role)
    if password is not None:
        check_password(password, name)
    hashed = hash_password(password) if password is not None else None
    with store.transaction() as cur:
        if queries.user(cur, name) is not None:
            raise Conflict(f"the user {name!r} already exists", hint="use `escucha users reset`")
        queries.insert_user(
            cur, name=name, role=role, password_hash=hashed, display_name=display_name,
            email=email, teams=teams, brands=brands, at=now,
        )  # fmt: skip
        found = queries.user(cur, name)
    assert found is not None
    return found


def get(store: Store, name: str) -> dict[str, Any]:
    with store.read() as cur:
        found = queries.user(cur, name.strip().lower())
    if found is None:
        raise NotFound(f"no user {name!r}", hint="`escucha users list` shows who exists")
    return found


def listing(store: Store) -> list[dict[str, Any]]:
    with store.read() as cur:
        return queries.users(cur)


def update(store: Store, name: str, changes: dict[str, Any], *, now: datetime) -> dict[str, Any]:
    """Change role, scope, display name, e-mail or disabled; disabling ends every session and
    token of the user at once."""
    get(store, name)
    name = name.strip().lower()
    if "role" in changes:
        check_role(str(changes["role"]))
    with store.transaction() as cur:
        queries.update_user(cur, name, changes, now)
        if changes.get("disabled"):
            queries.revoke_user_credentials(cur, name, now)
        found = queries.user(cur, name)
    assert found is not None
    return found


def set_password(store: Store, name: str, password: str, *, now: datetime) -> int:
    """Set a new password, unlock the account and end its sessions and tokens (returns how many)."""
    get(store, name)
    name = name.strip().lower()
    check_password(password, name)
    hashed = hash_password(password)
    with store.transaction() as cur:
        queries.set_password_hash(cur, name, hashed, now)
        return queries.revoke_user_credentials(cur, name, now)


def authenticate(
    store: Store, settings: AuthSettings, name: str, password: str, *, now: datetime
) -> dict[str, Any]:
    """The user, when ``password`` is theirs and the account is usable; otherwise
    ``NotSignedIn`` (the same message for a wrong name and a wrong password) or ``SignInLocked``."""
    folded = name.strip().lower()
    with store.read() as cur:
        found = queries.user(cur, folded)
        hashed = queries.password_hash(cur, folded) if found else None
    if found is None or hashed is None:
        _hasher.verify(password, _DUMMY_HASH)
        raise NotSignedIn(_WRONG)
    locked_until = found["locked_until"]
    if locked_until is not None and locked_until > now:
        raise SignInLocked(locked_until.isoformat(timespec="seconds"))
    valid, rehashed = _hasher.verify_and_update(password, hashed)
    if not valid:
        with store.transaction() as cur:
            failures = queries.record_failed_login(
                cur, folded, max_failed=settings.max_failed_logins,
                lock_until=now + settings.lockout,
            )  # fmt: skip
        if failures >= settings.max_failed_logins:
            raise SignInLocked((now + settings.lockout).isoformat(timespec="seconds"))
        raise NotSignedIn(_WRONG)
    if found["disabled"]:
        raise NotSignedIn("this account is disabled; ask an admin")
    with store.transaction() as cur:
        queries.record_good_login(cur, folded, now)
        if rehashed is not None:  # stored with older parameters: upgrade it now we know it
            queries.set_password_hash(cur, folded, rehashed, now)
    return found


def lockout_left(user: dict[str, Any], now: datetime) -> timedelta | None:
    until = user.get("locked_until")
    return until - now if until is not None and until > now else None
