"""Named queries for the privacy of the people we listen to: find what is held about a set of
author keys, export it, erase it, and anonymise mentions past their retention.

An erased mention keeps its row (key, platform, brand, language, times, engagement, scores), so
counts and ``mention_hours`` stay exact; its text, title, link, payload, handle and reach are
replaced, ``erased_at``/``erased_reason`` mark it (migration 0009) and its ``search_seq`` moves,
so the full-text index re-indexes it without the old words. Ingest never writes an erased row.
"""

from __future__ import annotations

import secrets
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pipeline.store import Cursor, rows
from pipeline.store.scores import CURRENT_SCORE

Reason = Literal["request", "retention", "deleted"]

# What an erased case event, message or outbox row says instead of its text.
ERASED_TEXT = ""
# Keys of a case event's detail that hold what was written or to whom (see pipeline/care/cases.py).
_PERSONAL_DETAIL = '{"text": null, "where": null}'
_CANCELLED = "cancelled: the personal data of its recipient was erased"

_MENTIONS = f"""SELECT m.key, m.platform, m.native_id, m.source, m.kind, m.brand, m.text,
    m.title, m.url, coalesce(m.lang, m.lang_hint) AS lang, m.author, m.author_key,
    m.author_followers, m.created_at, m.fetched_at, m.updated_at, m.parent_key, m.thread_key,
    m.rating, m.likes, m.replies, m.shares, m.edits, m.raw, m.erased_at, m.erased_reason,
    s.model_version, s.sentiment, s.p_negative, s.p_neutral, s.p_positive, s.complaint,
    s.intent, s.urgency_score, s.urgency_level, s.urgency_reasons, s.scored_at
    FROM mentions m {CURRENT_SCORE}"""  # noqa: S608 - fixed fragments


def new_token() -> str:
    """8 random hex digits standing for one erased person on every row of one erasure: their
    handle becomes ``erased-<token>`` and their author key ``erased:<token>``."""
    return secrets.token_hex(4)


def _changed(cur: Cursor, sql: str, params: Sequence[Any]) -> int:
    """Run an UPDATE or DELETE and return how many rows it changed."""
    found = cur.execute(sql, list(params)).fetchone()
    return int(found[0]) if found else 0


# -- whose data ------------------------------------------------------------------------------------


def author_keys(cur: Cursor, handle: str, platform: str | None = None) -> set[str]:
    """The author keys held for ``handle`` (case-insensitive) on ``platform``, or on every
    platform: as an authors row (by key or handle), on mentions, or on cases."""
    handle = handle.lower()
    key = None if platform is None else f"{platform}:{handle}"
    found = cur.execute(
        """SELECT key FROM authors
               WHERE key = ? OR (lower(handle) = ? AND (? IS NULL OR platform = ?))
           UNION SELECT author_key FROM mentions
               WHERE erased_at IS NULL
               AND (author_key = ? OR (lower(author) = ? AND (? IS NULL OR platform = ?)))
           UNION SELECT author_key FROM cases
               WHERE author_key = ? OR (lower(author) = ? AND (? IS NULL OR platform = ?))""",
        [key, handle, platform, platform] * 3,
    ).fetchall()
    return {str(k) for (k,) in found}


def linked_keys(cur: Cursor, keys: Collection[str]) -> set[str]:
    """Accounts directly linked to ``keys``: in the same customer, or confirmed by an agent."""
    if not keys:
        return set()
    found = cur.execute(
        """SELECT key FROM authors WHERE customer_id IN (
               SELECT customer_id FROM authors
               WHERE key IN (SELECT unnest(?)) AND customer_id IS NOT NULL)
           UNION SELECT b_key FROM identity_links
               WHERE decision = 'linked' AND a_key IN (SELECT unnest(?))
           UNION SELECT a_key FROM identity_links
               WHERE decision = 'linked' AND b_key IN (SELECT unnest(?))""",
        [list(keys)] * 3,
    ).fetchall()
    return {str(k) for (k,) in found}


# -- export --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Held:
    """Every row held about a set of author keys, as stored."""

    accounts: list[dict[str, Any]]
    mentions: list[dict[str, Any]]
    corrections: list[dict[str, Any]]
    cases: list[dict[str, Any]]
    case_events: list[dict[str, Any]]
    messages: list[dict[str, Any]]
    outbox: list[dict[str, Any]]
    identity_links: list[dict[str, Any]]

    def empty(self) -> bool:
        return not (self.accounts or self.mentions or self.cases or self.identity_links)


def held(cur: Cursor, keys: Collection[str]) -> Held:
    """What is held about the authors ``keys``: their accounts, their mentions with current
    scores and the corrections on them, their cases with events, messages and outbox rows, and
    the identity links naming them."""
    wanted = sorted(keys)
    cases = rows(
        cur,
        "SELECT * FROM cases WHERE author_key IN (SELECT unnest(?)) ORDER BY opened_at, id",
        [wanted],
    )
    case_ids = [c["id"] for c in cases]

    def of_cases(table: str) -> list[dict[str, Any]]:
        return rows(
            cur,
            f"SELECT * FROM {table} WHERE case_id IN (SELECT unnest(?)) ORDER BY id",  # noqa: S608 - fixed table names
            [case_ids],
        )

    return Held(
        accounts=rows(
            cur, "SELECT * FROM authors WHERE key IN (SELECT unnest(?)) ORDER BY key", [wanted]
        ),
        mentions=rows(
            cur,
            _MENTIONS + " WHERE m.author_key IN (SELECT unnest(?)) ORDER BY m.created_at, m.key",
            [wanted],
        ),
        corrections=rows(
            cur,
            """SELECT c.* FROM corrections c JOIN mentions m ON m.key = c.mention_key
               WHERE m.author_key IN (SELECT unnest(?)) ORDER BY c.id""",
            [wanted],
        ),
        cases=cases,
        case_events=of_cases("case_events"),
        messages=of_cases("messages"),
        outbox=of_cases("outbox"),
        identity_links=rows(
            cur,
            """SELECT * FROM identity_links
               WHERE a_key IN (SELECT unnest(?)) OR b_key IN (SELECT unnest(?)) ORDER BY id""",
            [wanted, wanted],
        ),
    )


# -- erasure -------------------------------------------------------------------------------------


def anonymise_mentions(
    cur: Cursor,
    keys: Sequence[str],
    *,
    now: datetime,
    reason: Reason,
    token: str | None = None,
) -> int:
    """Erase the words and the author of mentions not erased yet, keeping the row for counts.

    With ``token`` (``new_token``) every row gets that author (one erased person); without it
    each row gets its own, unrelated to the others. Unscored mentions are not scored any more.
    Returns how many rows changed. Nothing ``mention_hours`` counts by changes: no recount.
    """
    if not keys:
        return 0
    # A salt nobody keeps: per-row pseudonyms can be neither reversed nor linked to each other.
    ident = "?" if token is not None else "left(md5(key || ?), 8)"
    value = token if token is not None else secrets.token_hex(16)
    return _changed(
        cur,
        f"""UPDATE mentions SET text = '', title = NULL, url = NULL, raw = NULL,
               author = 'erased-' || {ident}, author_key = 'erased:' || {ident},
               author_followers = NULL,
               content_hash = 'erased', stage = 'triaged', erased_at = ?, erased_reason = ?,
               search_seq = nextval('mention_search_seq')
           WHERE key IN (SELECT unnest(?)) AND erased_at IS NULL""",  # noqa: S608 - fixed fragments
        [value, value, now, reason, list(keys)],
    )


def erase_authors(
    cur: Cursor, keys: Collection[str], *, token: str, now: datetime
) -> dict[str, int]:
    """Erase one person known by the author ``keys``; return the rows changed per table.

    Mentions keep their rows (see ``anonymise_mentions``); cases keep their timings, team and
    outcome but not who they were about; the conversation and the replies lose their text, and
    replies not sent yet are cancelled; the authors rows and the identity links naming them are
    deleted. Label corrections keep their values: they say nothing about the person.
    """
    wanted = sorted(keys)
    mention_keys = [
        str(k)
        for (k,) in cur.execute(
            "SELECT key FROM mentions WHERE author_key IN (SELECT unnest(?))", [wanted]
        ).fetchall()
    ]
    case_ids = [
        str(c)
        for (c,) in cur.execute(
            "SELECT id FROM cases WHERE author_key IN (SELECT unnest(?))", [wanted]
        ).fetchall()
    ]
    changed = {
        "mentions": anonymise_mentions(cur, mention_keys, now=now, reason="request", token=token)
    }
    changed["cases"] = _changed(
        cur,
        """UPDATE cases SET author = 'erased-' || ?, author_key = 'erased:' || ?,
               private_conversation = NULL WHERE id IN (SELECT unnest(?))""",
        [token, token, case_ids],
    )
    changed["case_events"] = _changed(
        cur,
        f"""UPDATE case_events SET
               actor = CASE WHEN actor LIKE 'customer:%' THEN 'customer:erased-' || ?
                            ELSE actor END,
               detail = CASE WHEN detail IS NULL THEN NULL
                             ELSE json_merge_patch(detail, '{_PERSONAL_DETAIL}') END
           WHERE case_id IN (SELECT unnest(?))
           AND (actor LIKE 'customer:%' OR json_exists(detail, '$.text')
                OR json_exists(detail, '$.where'))""",  # noqa: S608 - fixed JSON literal
        [token, case_ids],
    )
    changed["messages"] = _changed(
        cur,
        """UPDATE messages SET text = ?,
               author = CASE WHEN direction = 'inbound' THEN 'erased-' || ? ELSE author END
           WHERE case_id IN (SELECT unnest(?))""",
        [ERASED_TEXT, token, case_ids],
    )
    changed["outbox"] = _changed(
        cur,
        """UPDATE outbox SET text = ?,
               recipient = CASE WHEN recipient IS NULL THEN NULL ELSE 'erased-' || ? END,
               last_error = CASE WHEN status IN ('pending', 'sending') THEN ?
                                 ELSE last_error END,
               status = CASE WHEN status IN ('pending', 'sending') THEN 'failed' ELSE status END
           WHERE case_id IN (SELECT unnest(?))""",
        [ERASED_TEXT, token, _CANCELLED, case_ids],
    )
    changed["identity_links"] = _changed(
        cur,
        """DELETE FROM identity_links
           WHERE a_key IN (SELECT unnest(?)) OR b_key IN (SELECT unnest(?))""",
        [wanted, wanted],
    )
    changed["authors"] = _changed(
        cur, "DELETE FROM authors WHERE key IN (SELECT unnest(?))", [wanted]
    )
    return changed


# -- retention -----------------------------------------------------------------------------------


def expired(
    cur: Cursor,
    *,
    before: datetime,
    limit: int,
    platform: str | None = None,
    other_than: Sequence[str] = (),
) -> list[str]:
    """Keys of mentions created before ``before`` and not erased, oldest first: on ``platform``,
    or (None) on any platform but ``other_than``."""
    found = cur.execute(
        """SELECT key FROM mentions
           WHERE erased_at IS NULL AND created_at < ?
           AND (? IS NULL OR platform = ?) AND platform NOT IN (SELECT unnest(?::VARCHAR[]))
           ORDER BY created_at, key LIMIT ?""",
        [before, platform, platform, list(other_than), limit],
    ).fetchall()
    return [str(k) for (k,) in found]


def drop_unreferenced_authors(cur: Cursor, platforms: Sequence[str] | None) -> dict[str, int]:
    """Delete the authors rows (of ``platforms``, or all) no kept mention or case names any more,
    and the identity links naming them; return the rows deleted per table."""
    unused = """SELECT a.key FROM authors a
        WHERE (? IS NULL OR a.platform IN (SELECT unnest(?::VARCHAR[])))
        AND NOT EXISTS (SELECT 1 FROM mentions m WHERE m.author_key = a.key)
        AND NOT EXISTS (SELECT 1 FROM cases c WHERE c.author_key = a.key)"""
    keys = [str(k) for (k,) in cur.execute(unused, [platforms, platforms]).fetchall()]
    if not keys:
        return {"authors": 0, "identity_links": 0}
    links = _changed(
        cur,
        """DELETE FROM identity_links
           WHERE a_key IN (SELECT unnest(?)) OR b_key IN (SELECT unnest(?))""",
        [keys, keys],
    )
    deleted = _changed(cur, "DELETE FROM authors WHERE key IN (SELECT unnest(?))", [keys])
    return {"authors": deleted, "identity_links": links}
