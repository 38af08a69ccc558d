"""Named queries for access: users, their credentials (sessions and API tokens) and the audit log.

The audit log is append-only: this module offers no way to change or delete a row, and each row
carries ``chain``, the SHA-256 of the previous row's chain and its own content, so an edit made
behind the product's back shows up in :func:`verify_chain`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pipeline.store import Cursor, one, rows, scalar

USER_COLUMNS = (
    "name, display_name, email, role, teams, brands, disabled, failed_logins, locked_until,"
    " created_at, updated_at, last_login_at, password_hash IS NOT NULL AS has_password"
)

# What an admin may change on a user, by column; anything else is refused by the caller.
EDITABLE = frozenset({"display_name", "email", "role", "teams", "brands", "disabled"})


# -- users ------------------------------------------------------------------------------------


def insert_user(
    cur: Cursor,
    *,
    name: str,
    role: str,
    password_hash: str | None,
    display_name: str | None,
    email: str | None,
    teams: Sequence[str],
    brands: Sequence[str],
    at: datetime,
) -> None:
    cur.execute(
        """INSERT INTO users (name, display_name, email, role, teams, brands, password_hash,
               created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        [name, display_name, email, role, list(teams), list(brands), password_hash, at, at],
    )


def user(cur: Cursor, name: str) -> dict[str, Any] | None:
    """One user without the password hash (``has_password`` says whether one is set)."""
    return one(cur, f"SELECT {USER_COLUMNS} FROM users WHERE name = ?", [name])  # noqa: S608 - fixed columns


def user_by_email(cur: Cursor, email: str) -> dict[str, Any] | None:
    return one(
        cur,
        f"SELECT {USER_COLUMNS} FROM users WHERE lower(email) = lower(?) ORDER BY name LIMIT 1",  # noqa: S608 - fixed columns
        [email],
    )


def password_hash(cur: Cursor, name: str) -> str | None:
    found = scalar(cur, "SELECT password_hash FROM users WHERE name = ?", [name])
    return None if found is None else str(found)


def users(cur: Cursor) -> list[dict[str, Any]]:
    return rows(cur, f"SELECT {USER_COLUMNS} FROM users ORDER BY name")  # noqa: S608 - fixed columns


def count_users(cur: Cursor) -> int:
    return int(scalar(cur, "SELECT count(*) FROM users") or 0)


def update_user(cur: Cursor, name: str, changes: dict[str, Any], at: datetime) -> None:
    """Set the ``EDITABLE`` columns in ``changes`` (unknown names raise ``KeyError``)."""
    unknown = set(changes) - EDITABLE
    if unknown:
        raise KeyError(f"not editable: {sorted(unknown)}")
    if not changes:
        return
    assignments = ", ".join(f"{column} = ?" for column in changes)
    cur.execute(
        f"UPDATE users SET {assignments}, updated_at = ? WHERE name = ?",  # noqa: S608 - columns from EDITABLE
        [*changes.values(), at, name],
    )


def set_password_hash(cur: Cursor, name: str, hashed: str | None, at: datetime) -> None:
    cur.execute(
        "UPDATE users SET password_hash = ?, failed_logins = 0, locked_until = NULL,"
        " updated_at = ? WHERE name = ?",
        [hashed, at, name],
    )


def record_failed_login(cur: Cursor, name: str, *, max_failed: int, lock_until: datetime) -> int:
    """Count one more failed sign-in, locking the account at ``max_failed`` in a row; returns
    the count."""
    cur.execute(
        """UPDATE users SET failed_logins = failed_logins + 1,
               locked_until = CASE WHEN failed_logins + 1 >= ? THEN ? ELSE locked_until END
           WHERE name = ?""",
        [max_failed, lock_until, name],
    )
    return int(scalar(cur, "SELECT failed_logins FROM users WHERE name = ?", [name]) or 0)


def record_good_login(cur: Cursor, name: str, at: datetime) -> None:
    cur.execute(
        "UPDATE users SET failed_logins = 0, locked_until = NULL, last_login_at = ? WHERE name = ?",
        [at, name],
    )


# -- credentials -------------------------------------------------------------------------------


def insert_credential(
    cur: Cursor,
    *,
    id: str,
    kind: str,
    user_name: str,
    role: str,
    label: str | None,
    secret_hash: str,
    at: datetime,
    expires_at: datetime,
) -> None:
    cur.execute(
        """INSERT INTO credentials (id, kind, user_name, role, label, secret_hash, created_at,
               expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
        [id, kind, user_name, role, label, secret_hash, at, expires_at],
    )


def credential(cur: Cursor, id: str) -> dict[str, Any] | None:
    """A credential with its hash and its user's current state (for checking a presented secret)."""
    return one(
        cur,
        """SELECT c.*, u.role AS user_role, u.teams, u.brands, u.disabled, u.display_name
           FROM credentials c JOIN users u ON u.name = c.user_name WHERE c.id = ?""",
        [id],
    )


def credentials(cur: Cursor, user_name: str | None, kind: str) -> list[dict[str, Any]]:
    """Credentials of one kind (of one user, or everyone's), newest first, without hashes."""
    return rows(
        cur,
        """SELECT id, kind, user_name, role, label, created_at, expires_at, revoked_at,
                  last_used_at FROM credentials
           WHERE kind = ? AND (? IS NULL OR user_name = ?) ORDER BY created_at DESC""",
        [kind, user_name, user_name],
    )


def touch_credential(cur: Cursor, id: str, at: datetime) -> None:
    cur.execute("UPDATE credentials SET last_used_at = ? WHERE id = ?", [at, id])


def revoke_credential(cur: Cursor, id: str, at: datetime) -> bool:
    """Revoke one credential; False when it does not exist or was already revoked."""
    found = scalar(
        cur, "SELECT count(*) FROM credentials WHERE id = ? AND revoked_at IS NULL", [id]
    )
    cur.execute(
        "UPDATE credentials SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", [at, id]
    )
    return bool(found)


def revoke_user_credentials(cur: Cursor, user_name: str, at: datetime) -> int:
    """Revoke every live credential of a user (disabled, password reset); returns how many."""
    count = int(
        scalar(
            cur,
            "SELECT count(*) FROM credentials WHERE user_name = ? AND revoked_at IS NULL",
            [user_name],
        )
        or 0
    )
    cur.execute(
        "UPDATE credentials SET revoked_at = ? WHERE user_name = ? AND revoked_at IS NULL",
        [at, user_name],
    )
    return count


# -- audit log ---------------------------------------------------------------------------------


def _chain(previous: str, entry: dict[str, Any]) -> str:
    content = json.dumps(entry, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256((previous + "\n" + content).encode("utf-8")).hexdigest()


_AUDIT_FIELDS = ("id", "happened_at", "actor", "via", "action", "target", "outcome", "detail")


def append_audit(
    cur: Cursor,
    *,
    at: datetime,
    actor: str,
    via: str,
    action: str,
    target: str | None,
    outcome: str,
    detail: dict[str, Any] | None,
) -> int:
    """Append one audit row, chained to the one before it; returns its id."""
    last = one(cur, "SELECT chain FROM audit_log ORDER BY id DESC LIMIT 1")
    previous = str(last["chain"]) if last else ""
    new_id = int(scalar(cur, "SELECT nextval('audit_seq')"))
    detail_json = json.dumps(detail, sort_keys=True, default=str) if detail else None
    entry = {
        "id": new_id, "happened_at": at.isoformat(), "actor": actor, "via": via, "action": action,
        "target": target, "outcome": outcome, "detail": detail_json,
    }  # fmt: skip
    cur.execute(
        """INSERT INTO audit_log (id, happened_at, actor, via, action, target, outcome, detail,
               chain) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        [new_id, at, actor, via, action, target, outcome, detail_json, _chain(previous, entry)],
    )
    return new_id


def audit(
    cur: Cursor,
    *,
    actor: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
    limit: int = 200,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    """Audit rows, newest first, filtered by actor, action prefix and time; and their total."""
    where = (
        "(? IS NULL OR actor = ?) AND (? IS NULL OR starts_with(action, ?))"
        " AND (? IS NULL OR happened_at >= ?)"
    )
    params = [actor, actor, action, action, since, since]
    total = int(scalar(cur, f"SELECT count(*) FROM audit_log WHERE {where}", params) or 0)  # noqa: S608 - fixed clause
    found = rows(
        cur,
        f"SELECT {', '.join(_AUDIT_FIELDS)} FROM audit_log WHERE {where}"  # noqa: S608 - fixed clause
        " ORDER BY id DESC LIMIT ? OFFSET ?",
        [*params, limit, offset],
    )
    for row in found:
        row["detail"] = json.loads(row["detail"]) if row["detail"] else None
    return found, total


def verify_chain(cur: Cursor) -> int | None:
    """The id of the first audit row whose chain does not match its content, or None."""
    previous = ""
    for values in cur.execute(
        f"SELECT {', '.join(_AUDIT_FIELDS)}, chain FROM audit_log ORDER BY id"  # noqa: S608 - fixed columns
    ).fetchall():
        entry = dict(zip(_AUDIT_FIELDS, values[:-1], strict=True))
        entry["happened_at"] = entry["happened_at"].isoformat()
        if _chain(previous, entry) != values[-1]:
            return int(entry["id"])
        previous = str(values[-1])
    return None
