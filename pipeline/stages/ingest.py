"""Ingest: idempotent upsert of a page of mentions, committed together with its cursor.

A page is written in a handful of set-based statements (the page goes in as an Arrow table), so
importing or replaying thousands of mentions costs milliseconds per page, not per row.
Whatever a connector brings, no field is stored longer than its cap in ``pipeline.records``.
A mention the platform reports deleted (``Mention.deleted``) is erased if held and never stored;
an erased mention (``pipeline/store/privacy.py``) is never written again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

from pipeline.records import FIELD_CAPS, Mention, Page, utcnow
from pipeline.store import Store, privacy
from pipeline.store import mentions as q

logger = logging.getLogger(__name__)


@dataclass
class IngestResult:
    new: int = 0
    edited: int = 0
    unchanged: int = 0  # known already, or erased before (and kept erased)
    erased: int = 0  # held mentions erased because the platform deleted them

    def __iadd__(self, other: IngestResult) -> IngestResult:
        self.new += other.new
        self.edited += other.edited
        self.unchanged += other.unchanged
        self.erased += other.erased
        return self

    @property
    def stored(self) -> int:
        return self.new + self.edited


def store_page(store: Store, source: str, platform: str, page: Page) -> IngestResult:
    """Write one page's mentions and its cursor in one transaction; duplicates cost nothing."""
    result = IngestResult()
    now = utcnow()
    # Last occurrence wins inside a page, so a page repeating a key stores it once.
    unique = {m.key: _bounded(m if m.source else m.with_source(source)) for m in page.mentions}
    with store.transaction() as cur:
        if unique:
            known = q.existing_hashes(cur, list(unique))
            erased = q.erased_keys(cur, list(known))
            deleted = [k for k, m in unique.items() if m.deleted]
            result.erased = privacy.anonymise_mentions(
                cur, [k for k in deleted if k in known], now=now, reason="deleted"
            )
            live = {k: m for k, m in unique.items() if not m.deleted and k not in erased}
            new = [m for k, m in live.items() if k not in known]
            edited = [m for k, m in live.items() if k in known and known[k] != m.content_hash]
            result.new, result.edited = len(new), len(edited)
            result.unchanged = len(unique) - result.new - result.edited - len(deleted)
            if live:
                q.write_page(
                    cur, list(live.values()), new_keys=[m.key for m in new], edited=edited, now=now
                )
        q.save_cursor(cur, source, platform, page.cursor, page.rate_limit, result.stored)
    logger.debug(
        "stored page",
        extra={
            "source": source, "new": result.new, "edited": result.edited,
            "erased": result.erased,
        },
    )  # fmt: skip
    return result


def _bounded(mention: Mention) -> Mention:
    """``mention`` with each field cut to its cap (the last line of defence; imports refuse such
    rows before they get here). Logs the key and the fields cut, never their content."""
    cut: dict[str, str] = {}
    for name, cap in FIELD_CAPS.items():
        value = getattr(mention, name)
        if value is not None and len(value) > cap:
            cut[name] = value[:cap]
    if not cut:
        return mention
    logger.warning(
        "cut over-long fields of a mention",
        extra={"key": mention.key, "source": mention.source, "fields": sorted(cut)},
    )
    return replace(mention, **cut)  # type: ignore[arg-type]
