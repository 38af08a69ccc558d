"""The privacy of the people we listen to: export everything held about a person, erase it on
request, keep mentions only as long as configured, and forget what a platform deleted.

A person is named by an author key as stored (``x:ana``, ``reddit:t2_abc``) or a handle on one
platform (``reddit:ann``), or ``@handle`` for that handle on every platform; the accounts an agent
linked to theirs (customer 360) are theirs too. Erasing keeps every counted row (see
``pipeline/store/privacy.py``), so volumes, sentiment and care figures do not change.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from pipeline.errors import BadRequest, ConfigError, NotFound
from pipeline.records import utcnow
from pipeline.settings import Settings
from pipeline.store import Cursor, Store, fulltext
from pipeline.store import privacy as q

logger = logging.getLogger(__name__)

# Retention anonymises this many mentions per transaction, and at most RETENTION_BATCHES
# batches per run: a large backlog is worked off over several runs, never in one long write.
RETENTION_BATCH = 2_000
RETENTION_BATCHES = 25
_AUTHOR_HINT = (
    "name an author key as stored ('x:ana', 'reddit:t2_abc'), a handle on one platform "
    "('reddit:ann'), or '@ana' for that handle on every platform"
)


@dataclass(frozen=True)
class ErasureReport:
    """What one erasure changed: an opaque id and the rows touched per table. It holds no
    handle and no text, so it can go to an audit log as it is."""

    erasure_id: str
    at: datetime
    rows: Mapping[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.rows.values())

    def as_dict(self) -> dict[str, Any]:
        return {"erasure_id": self.erasure_id, "at": self.at.isoformat(), "rows": dict(self.rows)}


def parse_author(author: str) -> tuple[str | None, str]:
    """``(platform, handle)`` of an author as given: ``x:ana`` or ``@ana`` (platform None)."""
    text = author.strip()
    if text.startswith("@"):
        platform, handle = None, text[1:]
    elif ":" in text:
        platform, handle = text.split(":", 1)
        platform = platform.strip().lower()
    else:
        raise BadRequest(f"cannot tell which author {author!r} is", hint=_AUTHOR_HINT)
    handle = handle.strip()
    if not handle or platform == "":
        raise BadRequest(f"cannot tell which author {author!r} is", hint=_AUTHOR_HINT)
    return platform, handle


def person_keys(cur: Cursor, author: str) -> set[str]:
    """Every author key of the person ``author`` names, with the accounts linked to them."""
    platform, handle = parse_author(author)
    keys = q.author_keys(cur, handle, platform)
    frontier = set(keys)
    while frontier:  # links are followed to the end: a-b and b-c make a, b and c one person
        frontier = q.linked_keys(cur, frontier) - keys
        keys |= frontier
    return keys


def _nothing_held(author: str) -> NotFound:
    return NotFound(
        f"nothing is held about {author!r}",
        hint=f"{_AUTHOR_HINT}; a person already erased is not found again",
    )


def export_person(store: Store, author: str) -> dict[str, Any]:
    """Everything held about a person, as one JSON-serialisable document (datetimes as ISO
    strings): their accounts, mentions with current scores, corrections on them, cases with
    events, messages and replies, identity links, and a summary of counts."""
    with store.read() as cur:
        keys = person_keys(cur, author)
        held = q.held(cur, keys)
    if not keys or held.empty():
        raise _nothing_held(author)
    cases = []
    for case in held.cases:
        of_case = case["id"]
        cases.append(
            {
                **case,
                "events": [e for e in held.case_events if e["case_id"] == of_case],
                "messages": [m for m in held.messages if m["case_id"] == of_case],
                "outbox": [o for o in held.outbox if o["case_id"] == of_case],
            }
        )
    document = {
        "subject": author,
        "exported_at": utcnow(),
        "author_keys": sorted(keys),
        "accounts": held.accounts,
        "mentions": held.mentions,
        "corrections": held.corrections,
        "cases": cases,
        "identity_links": held.identity_links,
        "summary": {
            "accounts": len(held.accounts),
            "mentions": len(held.mentions),
            "corrections": len(held.corrections),
            "cases": len(held.cases),
            "case_events": len(held.case_events),
            "messages": len(held.messages),
            "outbox": len(held.outbox),
            "identity_links": len(held.identity_links),
        },
    }
    exported: dict[str, Any] = _jsonable(document)
    return exported


def erase_person(store: Store, author: str, *, now: datetime) -> ErasureReport:
    """Erase a person (and the accounts linked to them) in one transaction; see
    ``pipeline/store/privacy.erase_authors`` for what changes and what is kept.

    Raises NotFound when nothing is held about ``author``.
    """
    with store.transaction() as cur:
        keys = person_keys(cur, author)
        if not keys or q.held(cur, keys).empty():
            raise _nothing_held(author)
        rows = q.erase_authors(cur, keys, token=q.new_token(), now=now)
    report = ErasureReport(erasure_id=uuid.uuid4().hex, at=now, rows=rows)
    fulltext.index_pending(store)  # the old words leave the search index now, not next cycle
    logger.info(
        "erased a person's data: %d rows",
        report.total,
        extra={"erasure_id": report.erasure_id, "rows": dict(report.rows)},
    )
    return report


def retention_rules(settings: Settings) -> list[tuple[str | None, timedelta, list[str]]]:
    """``(platform, keep, other_than)`` per configured retention: a platform's own entry, then
    "*" (platform None) for every platform without one."""
    days = settings.privacy.retention_days
    for platform, value in days.items():
        if value < 1:
            raise ConfigError(
                f"must be at least 1 day, got {value}",
                key=f"privacy.retention_days.{platform}",
                hint="remove the entry to keep that platform's mentions for good",
            )
    named = sorted(p for p in days if p != "*")
    rules: list[tuple[str | None, timedelta, list[str]]] = [
        (platform, timedelta(days=days[platform]), []) for platform in named
    ]
    if "*" in days:
        rules.append((None, timedelta(days=days["*"]), named))
    return rules


def apply_retention(store: Store, settings: Settings, now: datetime) -> dict[str, int]:
    """Anonymise the mentions older than their platform's retention (``privacy.retention_days``)
    that are not erased yet, in bounded batches, and delete the author rows nothing names any
    more. Returns the rows changed per table (counts only)."""
    rules = retention_rules(settings)
    done = {"mentions": 0, "authors": 0, "identity_links": 0}
    if not rules:
        return done
    for platform, keep, other_than in rules:
        for _ in range(RETENTION_BATCHES):
            with store.transaction() as cur:
                keys = q.expired(
                    cur, before=now - keep, limit=RETENTION_BATCH, platform=platform,
                    other_than=other_than,
                )  # fmt: skip
                done["mentions"] += q.anonymise_mentions(cur, keys, now=now, reason="retention")
            if len(keys) < RETENTION_BATCH:
                break
    if done["mentions"]:
        days = settings.privacy.retention_days
        platforms = None if "*" in days else sorted(days)
        with store.transaction() as cur:
            dropped = q.drop_unreferenced_authors(cur, platforms)
        for table, count in dropped.items():
            done[table] += count
        fulltext.index_pending(store)
    return done


def forget_deleted(
    store: Store, mention_keys: Sequence[str], *, now: datetime | None = None
) -> int:
    """Erase mentions their platform reports deleted or removed; returns how many were erased
    (a key not held, or already erased, counts nothing)."""
    with store.transaction() as cur:
        erased = q.anonymise_mentions(
            cur, list(mention_keys), now=now or utcnow(), reason="deleted"
        )
    if erased:
        fulltext.index_pending(store)
    return erased


def _jsonable(value: Any) -> Any:
    """``value`` with datetimes as ISO strings and stored JSON text parsed."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, Mapping):
        return {str(k): _parsed(str(k), v) for k, v in value.items()}
    if isinstance(value, Iterable) and not isinstance(value, str | bytes):
        return [_jsonable(v) for v in value]
    return value


def _parsed(name: str, value: Any) -> Any:
    if name in ("raw", "detail") and isinstance(value, str):
        try:
            return _jsonable(json.loads(value))
        except ValueError:
            return value
    return _jsonable(value)
