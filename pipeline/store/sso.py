"""Named queries for single sign-on in flight (``sign_in_flows``): each authorisation request's
state, until its callback takes it once, then the one-time code the dashboard redeems once.

A flow moves through three states, each taken by exactly one caller (the store's write lock makes
the read and the mark one step): started (``used_at`` NULL), called back (``used_at`` set, and on
success ``code_hash`` and ``user_name``), redeemed (``code_hash`` cleared again).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pipeline.store import Cursor, one

_FLOW_COLUMNS = "state, nonce, return_to, created_at, code_hash, user_name, used_at"


def insert_flow(
    cur: Cursor, *, state: str, nonce: str, return_to: str | None, at: datetime
) -> None:
    cur.execute(
        "INSERT INTO sign_in_flows (state, nonce, return_to, created_at) VALUES (?, ?, ?, ?)",
        [state, nonce, return_to, at],
    )


def flow(cur: Cursor, state: str) -> dict[str, Any] | None:
    return one(cur, f"SELECT {_FLOW_COLUMNS} FROM sign_in_flows WHERE state = ?", [state])  # noqa: S608 - fixed columns


def take_flow(cur: Cursor, state: str, at: datetime) -> dict[str, Any] | None:
    """The flow of ``state`` as it was before this call, marked used now; None when unknown.

    A caller that finds ``used_at`` already set in the answer is replaying the state: only the
    first caller sees NULL. Run it inside a transaction so no one else takes it in between.
    """
    found = flow(cur, state)
    if found is not None and found["used_at"] is None:
        cur.execute(
            "UPDATE sign_in_flows SET used_at = ? WHERE state = ? AND used_at IS NULL",
            [at, state],
        )
    return found


def set_code(cur: Cursor, state: str, *, code_hash: str, user_name: str, at: datetime) -> None:
    """Attach the one-time code (its hash) and the signed-in user to a called-back flow;
    ``used_at`` becomes the moment the code was issued, which its lifetime counts from."""
    cur.execute(
        "UPDATE sign_in_flows SET code_hash = ?, user_name = ?, used_at = ? WHERE state = ?",
        [code_hash, user_name, at, state],
    )


def redeem_code(cur: Cursor, code_hash: str) -> dict[str, Any] | None:
    """The flow holding this code, with the code cleared so it cannot be redeemed again."""
    found = one(
        cur,
        f"SELECT {_FLOW_COLUMNS} FROM sign_in_flows WHERE code_hash = ?",  # noqa: S608 - fixed columns
        [code_hash],
    )
    if found is not None:
        cur.execute("UPDATE sign_in_flows SET code_hash = NULL WHERE state = ?", [found["state"]])
    return found


def purge_flows(cur: Cursor, before: datetime) -> int:
    """Delete flows started before ``before`` (finished or abandoned); returns how many."""
    gone = cur.execute(
        "DELETE FROM sign_in_flows WHERE created_at < ? RETURNING state", [before]
    ).fetchall()
    return len(gone)
