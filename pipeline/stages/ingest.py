"""Ingest: idempotent upsert of a page of mentions, committed together with its cursor."""

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
        known = q.existing_hashes(cur, list(unique))
        for key, mention in unique.items():
            if key not in known:
                q.insert_mention(cur, mention, now)
                result.new += 1
            elif known[key] != mention.content_hash:
                q.update_edited(cur, mention, now)
                result.edited += 1
            else:
                q.update_engagement(cur, mention)
                result.unchanged += 1
            q.upsert_author(cur, mention, now)
        q.save_cursor(cur, source, platform, page.cursor, page.rate_limit, result.stored)
    logger.debug(
        "stored page", extra={"source": source, "new": result.new, "edited": result.edited}
    )
    return result
