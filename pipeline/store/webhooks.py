"""Named queries on the webhook inbox: raw deliveries stored before they are answered, then
processed by the service's cycle (or set aside with the reason); and delivery states and opt-ins
that the deliveries carry."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from pipeline.store import Cursor, one, rows, scalar

MAX_REASON_CHARS = 500
# A later report never takes a message back: read beats delivered beats sent; failed beats all.
_DELIVERY_RANK = {"sent": 1, "delivered": 2, "read": 3, "failed": 4}


@dataclass(frozen=True, slots=True)
class Delivery:
    """One stored webhook delivery."""

    digest: str
    source: str
    body: bytes
    received_at: datetime


def digest(body: bytes) -> str:
    """The key of a delivery: the hex SHA-256 of its raw body."""
    return hashlib.sha256(body).hexdigest()


def receive(cur: Cursor, source: str, body: bytes, *, now: datetime) -> bool:
    """Store a delivery once; True when it is new (a platform's retry only counts again)."""
    key = digest(body)
    if one(cur, "SELECT 1 AS x FROM webhook_inbox WHERE digest = ?", [key]) is not None:
        cur.execute("UPDATE webhook_inbox SET deliveries = deliveries + 1 WHERE digest = ?", [key])
        return False
    cur.execute(
        "INSERT INTO webhook_inbox (digest, source, body, received_at) VALUES (?, ?, ?, ?)",
        [key, source, body, now],
    )
    return True


def pending(cur: Cursor, limit: int = 100) -> list[Delivery]:
    """Deliveries not processed yet, oldest first."""
    found = rows(
        cur,
        """SELECT digest, source, body, received_at FROM webhook_inbox WHERE status = 'pending'
           ORDER BY received_at, digest LIMIT ?""",
        [limit],
    )
    return [Delivery(**row) for row in found]


def mark_processed(cur: Cursor, key: str, *, now: datetime) -> None:
    cur.execute(
        "UPDATE webhook_inbox SET status = 'processed', processed_at = ? WHERE digest = ?",
        [now, key],
    )


def set_aside(cur: Cursor, key: str, reason: str, *, now: datetime) -> None:
    """Keep a delivery that could not be processed, with why, out of the pending queue."""
    cur.execute(
        """UPDATE webhook_inbox SET status = 'set_aside', reason = ?, processed_at = ?
           WHERE digest = ?""",
        [reason[:MAX_REASON_CHARS], now, key],
    )


def status_of(cur: Cursor, key: str) -> dict[str, object] | None:
    """A delivery's status, reason and delivery count (for health pages and tests)."""
    return one(
        cur,
        "SELECT status, reason, deliveries, source FROM webhook_inbox WHERE digest = ?",
        [key],
    )


def counts(cur: Cursor) -> dict[str, int]:
    found = dict(
        cur.execute("SELECT status, count(*) FROM webhook_inbox GROUP BY status").fetchall()
    )
    return {status: int(found.get(status, 0)) for status in ("pending", "processed", "set_aside")}


def apply_delivery(
    cur: Cursor,
    platform_id: str,
    status: str,
    *,
    at: datetime,
    error: str | None = None,
) -> list[str]:
    """Record what the platform reports about the message it calls ``platform_id`` on our
    outbound messages, never moving a message back (a late 'sent' after 'read' is ignored).
    Returns the ids of the cases whose message changed."""
    rank = _DELIVERY_RANK.get(status)
    if rank is None:
        return []
    found = rows(
        cur,
        """SELECT id, case_id, delivery_status FROM messages
           WHERE native_id = ? AND direction = 'outbound'""",
        [platform_id],
    )
    changed = []
    for row in found:
        if _DELIVERY_RANK.get(row["delivery_status"] or "", 0) >= rank:
            continue
        cur.execute(
            """UPDATE messages SET delivery_status = ?, delivery_at = ?, delivery_error = ?
               WHERE id = ?""",
            [status, at, error, row["id"]],
        )
        if row["case_id"]:
            changed.append(str(row["case_id"]))
    return changed


def record_opt_in(
    cur: Cursor, channel: str, address: str, *, at: datetime, case_id: str | None
) -> bool:
    """The customer at ``address`` wrote to us on ``channel``: they opted in. True when new."""
    key = address.strip().lower()
    if opted_in(cur, channel, key):
        if case_id is not None:
            cur.execute(
                """UPDATE channel_opt_ins SET case_id = coalesce(case_id, ?)
                   WHERE channel = ? AND address = ?""",
                [case_id, channel, key],
            )
        return False
    cur.execute("INSERT INTO channel_opt_ins VALUES (?, ?, ?, ?)", [channel, key, at, case_id])
    return True


def opted_in(cur: Cursor, channel: str, address: str) -> bool:
    found = scalar(
        cur,
        "SELECT count(*) FROM channel_opt_ins WHERE channel = ? AND address = ?",
        [channel, address.strip().lower()],
    )
    return bool(found)


def last_inbound_from(cur: Cursor, platform: str, address: str) -> datetime | None:
    """When the customer at ``address`` last wrote on ``platform`` (WhatsApp, e-mail), in any of
    their cases: WhatsApp's window is the customer's, not a case's."""
    found = scalar(
        cur,
        """SELECT max(m.created_at) FROM messages m JOIN cases c ON c.id = m.case_id
           WHERE m.direction = 'inbound' AND m.platform = ? AND c.private_channel = ?
             AND lower(trim(c.private_conversation)) = ?""",
        [platform, platform, address.strip().lower()],
    )
    return found if isinstance(found, datetime) else None


def last_inbound_at(cur: Cursor, case_id: str, platform: str) -> datetime | None:
    """When the customer last wrote on ``platform`` in this case (for messaging windows)."""
    found = scalar(
        cur,
        """SELECT max(created_at) FROM messages
           WHERE case_id = ? AND direction = 'inbound' AND platform = ?""",
        [case_id, platform],
    )
    return found if isinstance(found, datetime) else None


def case_for_message_ids(cur: Cursor, native_ids: list[str]) -> str | None:
    """The case of the newest message among ``native_ids`` (a reply's In-Reply-To/References,
    a WhatsApp reply's context), or None."""
    if not native_ids:
        return None
    found = one(
        cur,
        """SELECT case_id FROM messages
           WHERE native_id IN (SELECT unnest(?)) AND case_id IS NOT NULL
           ORDER BY id DESC LIMIT 1""",
        [native_ids],
    )
    return None if found is None else str(found["case_id"])


def case_by_conversation(cur: Cursor, channel: str, conversation: str) -> str | None:
    """The case (open first, then the newest) continued on ``channel`` with this customer."""
    found = one(
        cur,
        """SELECT id FROM cases WHERE private_channel = ? AND lower(private_conversation) = ?
           ORDER BY (status IN ('closed', 'dismissed')), opened_at DESC, id DESC LIMIT 1""",
        [channel, conversation.strip().lower()],
    )
    return None if found is None else str(found["id"])
