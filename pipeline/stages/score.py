"""Score: enrich and classify new mentions in batches, and store the scores.

Each distinct classifier input goes to the model once: a batch first takes what the score cache
(``store/score_cache``) already holds, and only the rest is predicted and remembered.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from functools import cache
from importlib import metadata

import pyarrow as pa

from pipeline.errors import ClassifierError
from pipeline.ports import Classifier
from pipeline.records import Prediction, TextItem, utcnow
from pipeline.stages import set_aside
from pipeline.stages.enrich import BrandMatcher, near_duplicate_key
from pipeline.store import Store, score_cache, scores

logger = logging.getLogger(__name__)


@cache
def _release() -> str:
    """The installed escucha release: its lexicons and rules shape predictions too."""
    try:
        return metadata.version("escucha")
    except metadata.PackageNotFoundError:
        return "unknown"


def score_pending(
    store: Store, classifier: Classifier, matcher: BrandMatcher, *, batch: int = 64
) -> int:
    """Score up to ``batch`` mentions waiting in stage 'new'; returns how many left the queue
    (scored, or set aside because the model failed on them alone)."""
    with store.read() as cur:
        pending = scores.pending(cur, batch)
    if not pending:
        return 0
    items = [
        TextItem(
            text=row.text if not row.title else f"{row.title}. {row.text}",
            lang=row.lang_hint,
            platform=row.platform,
            rating=row.rating,
            author_followers=row.author_followers,
            likes=row.likes,
            replies=row.replies,
            shares=row.shares,
            prior_contacts=row.prior_contacts,
        )
        for row in pending
    ]
    scope = f"{classifier.version}|escucha {_release()}"
    keys = [score_cache.content_key(item, scope) for item in items]
    with store.read() as cur:
        cached = score_cache.lookup(cur, keys)
    misses = {key: item for key, item in zip(keys, items, strict=True) if key not in cached}
    fresh, failed = _predict_each_once(classifier, misses)
    now = utcnow()
    if failed:  # set those aside; the rest of the batch is scored as usual
        for row, key in zip(pending, keys, strict=True):
            if key in failed:
                set_aside.hold(store, row.key, stage="score", exc=failed[key], now=now)
        kept = [(row, key) for row, key in zip(pending, keys, strict=True) if key not in failed]
        pending = [row for row, _ in kept]
        keys = [key for _, key in kept]
        if not pending:
            return len(failed)
    predictions = [cached.get(key) or fresh[key] for key in keys]
    scored = pa.Table.from_pylist(
        [
            {
                "mention_key": row.key,
                "model_version": p.model_version,
                "lang": p.lang,
                "sentiment": p.sentiment,
                "p_negative": float(p.sentiment_scores["negative"]),
                "p_neutral": float(p.sentiment_scores["neutral"]),
                "p_positive": float(p.sentiment_scores["positive"]),
                "complaint": float(p.complaint),
                "intent": p.intent,
                "urgency_score": float(p.urgency.score),
                "urgency_level": int(p.urgency.level),
                "urgency_reasons": list(p.urgency.reasons),
                "scored_at": now,
                "mention_lang": row.lang_hint or p.lang,
                "brand": matcher.match(row.text, row.title),
                "cluster_key": near_duplicate_key(row.text),
            }
            for row, p in zip(pending, predictions, strict=True)
        ],
        schema=scores.SCORE_SCHEMA,
    )
    with store.transaction() as cur:
        scores.write(cur, scored)
        score_cache.insert(cur, fresh, now)
    hits = sum(key in cached for key in keys)
    logger.debug("scored %d mentions, %d from the score cache", len(pending), hits)
    return len(pending) + len(failed)


def _predict_each_once(
    classifier: Classifier, misses: dict[str, TextItem]
) -> tuple[dict[str, Prediction], dict[str, ClassifierError]]:
    """Predictions by content key, and the keys the model failed on.

    A batch that fails is retried one item at a time to find the items it fails on; when it fails
    on every one, the model itself is broken and the error is raised (the batch stays unscored).
    """
    keys = list(misses)
    try:
        return dict(zip(keys, _predict(classifier, list(misses.values())), strict=True)), {}
    except ClassifierError as batch_error:
        if len(keys) == 1:
            raise
        fresh: dict[str, Prediction] = {}
        failed: dict[str, ClassifierError] = {}
        for key in keys:
            try:
                (fresh[key],) = _predict(classifier, [misses[key]])
            except ClassifierError as exc:
                failed[key] = exc
        if not fresh:
            raise batch_error from None
        return fresh, failed


def _predict(classifier: Classifier, items: Sequence[TextItem]) -> list[Prediction]:
    """The classifier's predictions for ``items``, its failures as ClassifierError."""
    if not items:
        return []
    try:
        predictions = classifier.predict(items)
    except ClassifierError:
        raise
    except Exception as exc:
        raise ClassifierError(
            f"the model failed on a batch of {len(items)} mentions ({type(exc).__name__}: {exc})",
            hint="the mentions stay unscored and are retried on the next cycle",
        ) from exc
    if len(predictions) != len(items):
        raise ClassifierError(f"the model returned {len(predictions)} results for {len(items)}")
    return predictions
