"""Ingest: idempotent upsert of a page of mentions, committed together with its cursor.

A page is written in a handful of set-based statements (the page goes in as an Arrow table), so
importing or replaying thousands of mentions costs milliseconds per page, not per row.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from pipeline.records import Page, utcnow
from pipeline.store import Store
from pipeline.store import mentions as q

logger = logging.getLogger(__name__)


@dataclass
class IngestResult:
    new: int = 0
    edited: int = 0
    unchanged: int = 0

    def __iadd__(self, other: IngestResult) -> IngestResult:
        self.new += other.new
        self.edited += other.edited
        self.unchanged += other.unchanged
        return self

    @property
    def stored(self) -> int:
        return self.new + self.edited


def store_page(store: Store, source: str, platform: str, page: Page) -> IngestResult:
    """Write one page's mentions and its cursor in one transaction; duplicates cost nothing."""
    result = IngestResult()
    now = utcnow()
    # Last occurrence wins inside a page, so a page repeating a key stores it once.
    unique = {m.key: (m if m.source else m.with_source(source)) for m in page.mentions}
    with store.transaction() as cur:
        if unique:
            known = q.existing_hashes(cur, list(unique))
            new = [m for k, m in unique.items() if k not in known]
            edited = [m for k, m in unique.items() if k in known and known[k] != m.content_hash]
            result.new, result.edited = len(new), len(edited)
            result.unchanged = len(unique) - result.new - result.edited
            q.write_page(
                cur, list(unique.values()), new_keys=[m.key for m in new], edited=edited, now=now
            )
        q.save_cursor(cur, source, platform, page.cursor, page.rate_limit, result.stored)
    logger.debug(
        "stored page", extra={"source": source, "new": result.new, "edited": result.edited}
    )
    return result
