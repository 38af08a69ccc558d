"""Score: enrich and classify new mentions in batches, and store the scores."""

from __future__ import annotations

import logging

import pyarrow as pa

from pipeline.errors import ClassifierError
from pipeline.ports import Classifier
from pipeline.records import TextItem, utcnow
from pipeline.stages.enrich import BrandMatcher, near_duplicate_key
from pipeline.store import Store, scores

logger = logging.getLogger(__name__)


def score_pending(
    store: Store, classifier: Classifier, matcher: BrandMatcher, *, batch: int = 64
) -> int:
    """Score up to ``batch`` mentions waiting in stage 'new'; returns how many were scored."""
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
    now = utcnow()
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
    logger.debug("scored %d mentions", len(pending))
    return len(pending)
