"""Set aside what a stage cannot process, so the items behind it go on; retry or discard later.

A stage that fails on one mention (the model raises on its text, a rule or the case layer breaks on
it) holds that mention with the reason instead of failing its batch; a failure on every item at
once is the stage's own (a broken model), and stays the stage's error, retried next cycle.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from pipeline.errors import Conflict, NotFound
from pipeline.store import Store
from pipeline.store import set_aside as queries

logger = logging.getLogger(__name__)


def reason_of(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[: queries.MAX_REASON]


def hold(store: Store, key: str, *, stage: str, exc: BaseException, now: datetime) -> None:
    with store.transaction() as cur:
        queries.hold(cur, key, stage=stage, reason=reason_of(exc), now=now)
    # The reason may quote the text: it goes to the list, the log names only the kind.
    logger.warning("set aside %s at the %s stage: %s", key, stage, type(exc).__name__)


def listing(store: Store, *, limit: int = 100, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    with store.read() as cur:
        return queries.held(cur, limit=limit, offset=offset)


def _held(store: Store, key: str) -> None:
    with store.read() as cur:
        found = queries.entry(cur, key)
    if found is None:
        raise NotFound(f"no mention {key!r} was set aside")
    if found["status"] != "held":
        raise Conflict(f"mention {key!r} was already {found['status']}")


def retry(store: Store, key: str, *, by: str) -> str:
    """Send a held mention back to the stage that failed on it; returns that stage."""
    _held(store, key)
    with store.transaction() as cur:
        return queries.release(cur, key, by=by)


def discard(store: Store, key: str, *, by: str) -> None:
    """Stop trying: the mention stays stored and counted, and is never processed again."""
    _held(store, key)
    with store.transaction() as cur:
        queries.discard(cur, key, by=by)
