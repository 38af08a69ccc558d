"""Named queries for cases: the case row, its audit events, messages, mentions and queue facts.

Only ``pipeline.care.cases`` changes a case's status; these functions are its hands in the store.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pipeline.records import FINAL_STATUSES
from pipeline.store import Cursor, one, rows
from pipeline.store.scores import CURRENT_SCORE

_FINAL = list(FINAL_STATUSES)


@dataclass(frozen=True, slots=True)
class NewCase:
    """Everything a case starts with when triage opens it."""

    id: str
    brand: str | None
    platform: str
    lang: str | None
    author_key: str
    author: str
    mention_key: str
    rule: str
    team: str
    level: str
    assignee: str | None
    priority: int
    urgency_level: int
    urgency_score: float
    urgency_reasons: Sequence[str]
    opened_at: datetime
    first_response_due: datetime
    resolution_due: datetime


@dataclass(frozen=True, slots=True)
class CaseRow:
    """One case as stored, with the native id, source and text of the mention that opened it."""

    id: str
    status: str
    brand: str | None
    platform: str
    lang: str | None
    author_key: str
    author: str
    mention_key: str
    rule: str | None
    team: str | None
    level: str | None
    assignee: str | None
    priority: int
    urgency_level: int
    urgency_score: float
    urgency_reasons: list[str]
    private_channel: str | None
    private_conversation: str | None
    opened_at: datetime
    updated_at: datetime
    first_response_due: datetime | None
    first_response_at: datetime | None
    resolution_due: datetime | None
    deflected_at: datetime | None
    resolved_at: datetime | None
    closed_public_at: datetime | None
    closed_at: datetime | None
    sla_paused_at: datetime | None
    sla_breached: bool
    dismiss_reason: str | None
    csat_score: int | None
    mention_native_id: str
    source: str | None
    text: str


@dataclass(frozen=True, slots=True)
class CaseRef:
    """What deciding about a customer's existing case needs."""

    id: str
    status: str
    deflected_at: datetime | None
    urgency_level: int


@dataclass(frozen=True, slots=True)
class SlaBreach:
    """A case whose running SLA clock passed its due time."""

    case_id: str
    team: str | None
    brand: str | None
    status: str
    clock: str  # "first_response" or "resolution"
    due: datetime


def get(cur: Cursor, case_id: str) -> CaseRow | None:
    """The case, with its mention's native id, source and text."""
    found = one(
        cur,
        """SELECT c.*, m.native_id AS mention_native_id, m.source AS source, m.text AS text
           FROM cases c JOIN mentions m ON m.key = c.mention_key WHERE c.id = ?""",
        [case_id],
    )
    return None if found is None else CaseRow(**found)


def next_id(cur: Cursor) -> str:
    seq = cur.execute("SELECT nextval('case_seq')").fetchone()
    assert seq is not None
    return f"C-{int(seq[0]):06d}"


def insert(cur: Cursor, case: NewCase, *, now: datetime) -> None:
    """A new case in status ``new``, with its first mention attached."""
    cur.execute(
        """INSERT INTO cases (id, status, brand, platform, lang, author_key, author, mention_key,
               rule, team, level, assignee, priority, urgency_level, urgency_score,
               urgency_reasons, opened_at, updated_at, first_response_due, resolution_due)
           VALUES (?, 'new', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        [
            case.id, case.brand, case.platform, case.lang, case.author_key, case.author,
            case.mention_key, case.rule, case.team, case.level, case.assignee, case.priority,
            case.urgency_level, case.urgency_score, list(case.urgency_reasons), case.opened_at,
            now, case.first_response_due, case.resolution_due,
        ],
    )  # fmt: skip
    attach_mention(cur, case.id, case.mention_key, now)


def attach_mention(cur: Cursor, case_id: str, mention_key: str, at: datetime) -> None:
    cur.execute(
        "INSERT INTO case_mentions VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
        [case_id, mention_key, at],
    )


_CASE_COLUMNS = frozenset(
    {
        "status", "updated_at", "first_response_at", "deflected_at", "private_channel",
        "sla_paused_at", "closed_public_at", "resolved_at", "closed_at", "dismiss_reason",
        "team", "level", "assignee", "resolution_due", "csat_score", "sla_breached",
        "urgency_level", "urgency_score", "urgency_reasons", "priority",
        "private_conversation",
    }
)  # fmt: skip


def update(cur: Cursor, case_id: str, updates: Mapping[str, Any]) -> None:
    """Set the given columns of one case (names from a fixed allow-list)."""
    unknown = set(updates) - _CASE_COLUMNS
    if unknown:
        raise ValueError(f"not case columns: {sorted(unknown)}")
    columns = sorted(updates)
    assignments = ", ".join(f"{column} = ?" for column in columns)
    cur.execute(
        f"UPDATE cases SET {assignments} WHERE id = ?",  # noqa: S608 - column names from the allow-list
        [*(updates[c] for c in columns), case_id],
    )


def add_event(
    cur: Cursor,
    case_id: str,
    *,
    actor: str,
    action: str,
    from_status: str | None,
    to_status: str | None,
    at: datetime,
    detail: Mapping[str, Any] | None = None,
    outbox_id: int | None = None,
) -> None:
    """Append one audit event to the case's trail."""
    cur.execute(
        """INSERT INTO case_events (case_id, created_at, actor, action, from_status, to_status,
               detail, outbox_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
        [
            case_id, at, actor, action, from_status, to_status,
            json.dumps(dict(detail or {}), ensure_ascii=False, default=str), outbox_id,
        ],
    )  # fmt: skip


def add_message(
    cur: Cursor,
    case_id: str,
    *,
    direction: str,
    visibility: str,
    platform: str,
    author: str,
    text: str,
    lang: str | None,
    at: datetime,
    native_id: str | None = None,
    outbox_id: int | None = None,
) -> None:
    """One message of the case's conversation, inbound or outbound."""
    cur.execute(
        """INSERT INTO messages (case_id, direction, visibility, platform, native_id, author,
               text, lang, created_at, outbox_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        [case_id, direction, visibility, platform, native_id, author, text, lang, at, outbox_id],
    )


def has_message(cur: Cursor, case_id: str, native_id: str) -> bool:
    found = cur.execute(
        "SELECT 1 FROM messages WHERE native_id = ? AND case_id = ?", [native_id, case_id]
    ).fetchone()
    return found is not None


def customer_cases(
    cur: Cursor, platform: str, *, author_keys: Sequence[str], handle: str | None, open_only: bool
) -> list[CaseRef]:
    """The cases of one customer on one platform, open ones first, newest first.

    A customer is known by their author keys (``platform:id``) and, where a platform reports a
    handle in one place and an id in another, by their handle (case-insensitive).
    """
    found = rows(
        cur,
        """SELECT id, status, deflected_at, urgency_level FROM cases
           WHERE platform = ?
             AND (author_key IN (SELECT unnest(?)) OR (? IS NOT NULL AND lower(author) = lower(?)))
             AND (NOT ? OR status NOT IN (SELECT unnest(?)))
           ORDER BY (status IN (SELECT unnest(?))), opened_at DESC, id DESC""",
        [platform, list(author_keys), handle, handle, open_only, _FINAL, _FINAL],
    )
    return [CaseRef(**row) for row in found]


def open_loads(cur: Cursor, team: str | None = None) -> dict[str, int]:
    """Open cases per assigned agent (in one team, or in all)."""
    found = cur.execute(
        """SELECT assignee, count(*) FROM cases WHERE assignee IS NOT NULL
           AND status NOT IN (SELECT unnest(?)) AND (? IS NULL OR team = ?) GROUP BY assignee""",
        [_FINAL, team, team],
    ).fetchall()
    return {str(agent): int(n) for agent, n in found}


def unassigned(cur: Cursor, team: str) -> list[dict[str, Any]]:
    """The team's open cases nobody has, in queue order (SLA due time, then priority)."""
    return rows(
        cur,
        """SELECT id, lang, platform, brand, status FROM cases
           WHERE team = ? AND assignee IS NULL AND status IN ('new', 'acknowledged', 'in_private')
           ORDER BY CASE WHEN first_response_at IS NULL THEN first_response_due
                         ELSE resolution_due END NULLS LAST,
                    priority DESC, urgency_level DESC, id""",
        [team],
    )


def last_assignee(cur: Cursor, team: str) -> str | None:
    """The agent the team assigned last (its round-robin position)."""
    found = cur.execute(
        "SELECT assignee FROM cases WHERE team = ? AND assignee IS NOT NULL"
        " ORDER BY opened_at DESC, id DESC LIMIT 1",
        [team],
    ).fetchone()
    return None if found is None else str(found[0])


def past_due(cur: Cursor, now: datetime) -> list[SlaBreach]:
    """Running cases whose clock (first response, else resolution) is due before ``now`` and
    not yet marked breached; paused clocks do not run."""
    found = rows(
        cur,
        """SELECT id AS case_id, team, brand, status,
               CASE WHEN first_response_at IS NULL THEN 'first_response'
                    ELSE 'resolution' END AS clock,
               CASE WHEN first_response_at IS NULL THEN first_response_due
                    ELSE resolution_due END AS due
           FROM cases WHERE NOT sla_breached
           AND status NOT IN ('resolved', 'closed_public', 'closed', 'dismissed')
           AND sla_paused_at IS NULL
           AND ((first_response_at IS NULL AND first_response_due < ?)
                OR (first_response_at IS NOT NULL AND resolution_due < ?))""",
        [now, now],
    )
    return [SlaBreach(**row) for row in found]


def counts_by_status(cur: Cursor) -> dict[str, int]:
    found = cur.execute("SELECT status, count(*) FROM cases GROUP BY status").fetchall()
    return {str(status): int(n) for status, n in found}


_MENTION = f"""SELECT m.key, m.platform, m.native_id, m.source, m.kind, m.brand, m.text,
    m.title, m.url, coalesce(m.lang, m.lang_hint) AS lang, m.author, m.author_key,
    m.author_followers, m.created_at, m.rating, m.likes, m.replies, m.shares, m.parent_key,
    m.thread_key, s.sentiment, s.p_negative, s.p_neutral, s.p_positive, s.complaint, s.intent,
    s.urgency_score, s.urgency_level, s.urgency_reasons
    FROM mentions m {CURRENT_SCORE}"""  # noqa: S608 - fixed fragments


@dataclass(frozen=True, slots=True)
class CaseRecord:
    """A case with everything around it: the mention and its thread, the other mentions it
    gathered, the author and their history on every linked channel, the audit trail, the
    conversation and the outbox."""

    case: CaseRow
    mention: dict[str, Any] | None
    thread: list[dict[str, Any]]
    mentions: list[dict[str, Any]]
    author: dict[str, Any] | None
    history: list[dict[str, Any]]
    events: list[dict[str, Any]]
    messages: list[dict[str, Any]]
    outbox: list[dict[str, Any]]


def record(cur: Cursor, case: CaseRow) -> CaseRecord:
    case_id = case.id
    mention = one(cur, _MENTION + " WHERE m.key = ?", [case.mention_key])
    thread_key = (mention or {}).get("thread_key") or case.mention_key
    thread = _mentions(cur, thread_keys(cur, thread_key))
    gathered = cur.execute("SELECT mention_key FROM case_mentions WHERE case_id = ?", [case_id])
    attached = _mentions(cur, [key for (key,) in gathered.fetchall()])
    author = one(cur, "SELECT * FROM authors WHERE key = ?", [case.author_key])
    events = rows(cur, "SELECT * FROM case_events WHERE case_id = ? ORDER BY id", [case_id])
    for event in events:
        event["detail"] = json.loads(event["detail"]) if event["detail"] else {}
    return CaseRecord(
        case=case,
        mention=mention,
        thread=thread,
        mentions=attached,
        author=author,
        history=author_history(cur, case.author_key, exclude_case=case_id),
        events=events,
        messages=rows(cur, "SELECT * FROM messages WHERE case_id = ? ORDER BY id", [case_id]),
        outbox=rows(cur, "SELECT * FROM outbox WHERE case_id = ? ORDER BY id", [case_id]),
    )


def thread_keys(cur: Cursor, thread_key: str) -> list[str]:
    """The keys of a thread: its first post and every reply (looked up by index, not scanned)."""
    replies = cur.execute("SELECT key FROM mentions WHERE thread_key = ?", [thread_key])
    return [thread_key, *(key for (key,) in replies.fetchall() if key != thread_key)]


def _mentions(cur: Cursor, keys: list[str]) -> list[dict[str, Any]]:
    """These mentions with their current scores, oldest first."""
    if not keys:
        return []
    return rows(cur, _MENTION + " WHERE m.key = ANY(?) ORDER BY m.created_at", [keys])


def author_scopes(cur: Cursor, author_key: str) -> list[tuple[str | None, str | None]]:
    """The (team, brand) of every case of this author: who may see them as a customer."""
    found = cur.execute(
        "SELECT DISTINCT team, brand FROM cases WHERE author_key = ?", [author_key]
    ).fetchall()
    return [(team, brand) for team, brand in found]


def author_history(
    cur: Cursor, author_key: str, *, exclude_case: str | None = None
) -> list[dict[str, Any]]:
    """The author's cases and mentions on every channel linked to the same customer."""
    customer = cur.execute("SELECT customer_id FROM authors WHERE key = ?", [author_key])
    row = customer.fetchone()
    keys = [author_key]
    if row is not None and row[0] is not None:  # accounts linked into one customer
        linked = cur.execute("SELECT key FROM authors WHERE customer_id = ?", [row[0]])
        keys = sorted({author_key, *(key for (key,) in linked.fetchall())})
    found = rows(
        cur,
        """SELECT 'case' AS type, c.id AS ref, c.platform, c.status AS detail,
                  c.opened_at AS happened_at
               FROM cases c WHERE c.author_key = ANY(?) AND c.id <> ?
           UNION ALL
           SELECT 'mention', m.key, m.platform, left(m.text, 140), m.created_at
               FROM mentions m WHERE m.author_key = ANY(?)""",
        [keys, exclude_case or "", keys],
    )
    # Sorted here: an ORDER BY ... LIMIT in the query makes DuckDB scan every mention instead of
    # reading the author's through the index.
    found.sort(key=lambda r: (r["happened_at"], r["ref"]), reverse=True)
    return found[:50]
