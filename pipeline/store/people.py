"""Named queries for people: authors and the customers their accounts are linked into, agents'
decisions on links, and agents' shift overrides."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pipeline.store import Cursor, one, rows


def author(cur: Cursor, key: str) -> dict[str, Any] | None:
    return one(cur, "SELECT * FROM authors WHERE key = ?", [key])


def authors(cur: Cursor) -> list[dict[str, Any]]:
    return rows(cur, "SELECT key, platform, handle, name, customer_id FROM authors")


def customer_accounts(cur: Cursor, customer_id: str) -> list[dict[str, Any]]:
    return rows(cur, "SELECT * FROM authors WHERE customer_id = ? ORDER BY key", [customer_id])


def record_link_decision(
    cur: Cursor,
    a: str,
    b: str,
    *,
    decision: str,
    actor: str,
    reason: str | None,
    confidence: float | None,
    at: datetime,
) -> None:
    cur.execute(
        """INSERT INTO identity_links (a_key, b_key, decision, actor, reason, confidence,
               created_at) VALUES (?, ?, ?, ?, ?, ?, ?)""",
        [a, b, decision, actor, reason, confidence, at],
    )


def decided_pairs(cur: Cursor) -> list[tuple[str, str]]:
    """Pairs an agent linked or rejected; a pair whose link was undone is open to suggest again."""
    return [
        (str(row["a_key"]), str(row["b_key"]))
        for row in _latest_decisions(cur)
        if row["decision"] != "unlinked"
    ]


def confirmed_links(cur: Cursor, keys: list[str]) -> list[dict[str, Any]]:
    """The links standing now (the pair's latest decision is 'linked') that touch ``keys``,
    with who decided and when, oldest first."""
    return [row for row in _latest_decisions(cur, keys) if row["decision"] == "linked"]


def _latest_decisions(cur: Cursor, keys: list[str] | None = None) -> list[dict[str, Any]]:
    return rows(
        cur,
        """SELECT a_key, b_key, decision, actor, reason, confidence, created_at FROM (
               SELECT *, row_number() OVER (
                   PARTITION BY least(a_key, b_key), greatest(a_key, b_key)
                   ORDER BY created_at DESC, id DESC) AS nth
               FROM identity_links
               WHERE ? OR a_key IN (SELECT unnest(?)) OR b_key IN (SELECT unnest(?)))
           WHERE nth = 1 ORDER BY created_at, a_key, b_key""",
        [keys is None, keys or [], keys or []],
    )


def leave_customer(cur: Cursor, key: str) -> None:
    """The account ``key`` no longer belongs to any customer."""
    cur.execute("UPDATE authors SET customer_id = NULL WHERE key = ?", [key])


def cases_of_accounts(cur: Cursor, keys: list[str]) -> list[dict[str, Any]]:
    """Every case of these accounts with its outcome (status, dates, satisfaction), newest
    first."""
    return rows(
        cur,
        """SELECT id, author_key, platform, brand, status, opened_at, resolved_at, closed_at,
                  dismiss_reason, csat_score
           FROM cases WHERE author_key IN (SELECT unnest(?))
           ORDER BY opened_at DESC, id DESC LIMIT 100""",
        [keys],
    )


def new_customer_id(cur: Cursor) -> str:
    seq = cur.execute("SELECT nextval('customer_seq')").fetchone()
    assert seq is not None
    return f"P-{int(seq[0]):06d}"


def link(cur: Cursor, customer_id: str, keys: list[str], merged: list[str]) -> None:
    """Put the accounts ``keys``, and every account of the customers ``merged``, in one customer."""
    cur.execute(
        "UPDATE authors SET customer_id = ? WHERE key IN (SELECT unnest(?))"
        " OR (customer_id IS NOT NULL AND customer_id IN (SELECT unnest(?)))",
        [customer_id, keys, merged],
    )


def remember_channel_account(
    cur: Cursor, platform: str, address: str, *, name: str | None, at: datetime
) -> str:
    """The account of a customer who wrote on a private channel (a WhatsApp number, an e-mail
    address), kept like an author so it can be linked to their other accounts; its key."""
    handle = address.strip().lower()
    key = f"{platform}:{handle}"
    cur.execute(
        """INSERT INTO authors (key, platform, handle, name, first_seen, last_seen)
           VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT (key) DO UPDATE SET
               last_seen = greatest(authors.last_seen, excluded.last_seen),
               name = coalesce(excluded.name, authors.name)""",
        [key, platform, handle, name, at, at],
    )
    return key


def case_conversations(cur: Cursor) -> list[dict[str, Any]]:
    """Cases a customer continued on WhatsApp or by e-mail: the case, its author's account and
    the account on that channel."""
    return rows(
        cur,
        """SELECT id AS case_id, author_key, private_channel AS channel,
                  private_channel || ':' || lower(trim(private_conversation)) AS account
           FROM cases WHERE private_channel IN ('whatsapp', 'email')
             AND private_conversation IS NOT NULL AND author_key IS NOT NULL""",
    )


def channel_accounts(cur: Cursor, keys: list[str]) -> list[dict[str, Any]]:
    """The WhatsApp and e-mail accounts among ``keys``, with when they opted in (first wrote to
    us there; None if never)."""
    return rows(
        cur,
        """SELECT a.key, a.platform, a.handle, o.opted_in_at
           FROM authors a
           LEFT JOIN channel_opt_ins o ON o.channel = a.platform AND o.address = a.handle
           WHERE a.key IN (SELECT unnest(?)) AND a.platform IN ('whatsapp', 'email')
           ORDER BY a.key""",
        [keys],
    )


def inbound_texts(cur: Cursor) -> list[tuple[str, str]]:
    """(author key, text) of every private message customers sent."""
    found = cur.execute(
        """SELECT c.author_key, m.text FROM messages m JOIN cases c ON c.id = m.case_id
           WHERE m.direction = 'inbound'"""
    ).fetchall()
    return [(str(key), str(text)) for key, text in found]


def shift_overrides(cur: Cursor) -> dict[str, bool]:
    return {
        str(a): bool(on)
        for a, on in cur.execute("SELECT agent, on_shift FROM agent_shifts").fetchall()
    }


def set_shift(cur: Cursor, agent: str, *, on_shift: bool, actor: str, at: datetime) -> None:
    cur.execute(
        """INSERT INTO agent_shifts VALUES (?, ?, ?, ?) ON CONFLICT (agent) DO UPDATE SET
               on_shift = excluded.on_shift, updated_by = excluded.updated_by,
               updated_at = excluded.updated_at""",
        [agent, on_shift, actor, at],
    )
