"""Poll one source: fetch its pages from the saved cursor and store each with its cursor."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from pipeline.errors import EscuchaError, RateLimited
from pipeline.ports import Source
from pipeline.records import utcnow
from pipeline.stages.ingest import IngestResult, store_page
from pipeline.store import Store
from pipeline.store import mentions as q

logger = logging.getLogger(__name__)


@dataclass
class PollResult:
    source: str
    pages: int = 0
    ingest: IngestResult = field(default_factory=IngestResult)
    error: str | None = None
    retry_after: float | None = None


def poll_source(
    store: Store,
    source: Source,
    *,
    every: timedelta | None = None,
    now: datetime | None = None,
) -> PollResult:
    """Fetch everything new from ``source``; never raises for source failures.

    Pages already stored stay stored when a later page fails: each page and its cursor were
    committed together, so the next poll resumes from the last committed cursor.
    """
    started = now or utcnow()
    result = PollResult(source=source.name)
    with store.read() as cur:
        cursor = q.get_cursor(cur, source.name)
    try:
        for page in source.fetch(cursor):
            result.ingest += store_page(store, source.name, source.platform, page)
            result.pages += 1
    except RateLimited as exc:
        result.error = str(exc)
        result.retry_after = exc.retry_after
    except EscuchaError as exc:
        result.error = str(exc)
    except Exception as exc:  # a connector bug must not stop the other sources
        logger.exception("source %s crashed", source.name)
        result.error = f"unexpected {type(exc).__name__}: {exc}"
    delay = every or timedelta(minutes=5)
    if result.retry_after is not None:
        delay = max(delay, timedelta(seconds=result.retry_after))
    with store.transaction() as cur:
        q.record_run(
            cur,
            source.name,
            source.platform,
            at=started,
            items=result.ingest.stored,
            error=result.error,
            next_run_at=started + delay,
        )
    if result.error:
        logger.warning("source %s failed: %s", source.name, result.error)
    return result
