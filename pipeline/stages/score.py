"""Score: enrich and classify new mentions in batches, and store the scores."""

from __future__ import annotations

import logging

import pyarrow as pa

from classifiers.base import Classifier
from pipeline.errors import ClassifierError
from pipeline.records import TextItem, utcnow
from pipeline.stages.enrich import BrandMatcher, near_duplicate_key
from pipeline.store import Store, rows

logger = logging.getLogger(__name__)

_SCHEMA = pa.schema(
    [
        ("mention_key", pa.string()), ("model_version", pa.string()), ("lang", pa.string()),
        ("sentiment", pa.string()), ("p_negative", pa.float64()), ("p_neutral", pa.float64()),
        ("p_positive", pa.float64()), ("complaint", pa.float64()), ("intent", pa.string()),
        ("urgency_score", pa.float64()), ("urgency_level", pa.int32()),
        ("urgency_reasons", pa.list_(pa.string())), ("scored_at", pa.timestamp("us", tz="UTC")),
        ("mention_lang", pa.string()), ("brand", pa.string()), ("cluster_key", pa.string()),
    ]
)  # fmt: skip


def score_pending(
    store: Store, classifier: Classifier, matcher: BrandMatcher, *, batch: int = 64
) -> int:
    """Score up to ``batch`` mentions waiting in stage 'new'; returns how many were scored."""
    with store.read() as cur:
        pending = rows(
            cur,
            """SELECT m.key, m.text, m.title, m.lang_hint, m.platform, m.rating,
                   m.author_followers, m.likes, m.replies, m.shares,
                   (SELECT count(*) FROM mentions p WHERE p.author_key = m.author_key
                      AND p.created_at < m.created_at
                      AND p.created_at > m.created_at - INTERVAL 3 DAY) AS prior_contacts
               FROM mentions m WHERE m.stage = 'new' ORDER BY m.created_at LIMIT ?""",
            [batch],
        )
    if not pending:
        return 0
    items = [
        TextItem(
            text=row["text"] if not row["title"] else f"{row['title']}. {row['text']}",
            lang=row["lang_hint"],
            platform=row["platform"],
            rating=row["rating"],
            author_followers=row["author_followers"],
            likes=row["likes"],
            replies=row["replies"],
            shares=row["shares"],
            prior_contacts=int(row["prior_contacts"]),
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
                "mention_key": row["key"],
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
                "mention_lang": row["lang_hint"] or p.lang,
                "brand": matcher.match(row["text"], row["title"]),
                "cluster_key": near_duplicate_key(row["text"]),
            }
            for row, p in zip(pending, predictions, strict=True)
        ],
        schema=_SCHEMA,
    )
    with store.transaction() as cur:
        cur.register("scored_batch", scored)
        try:
            cur.execute(
                """INSERT OR REPLACE INTO scores SELECT mention_key, model_version, lang, sentiment,
                       p_negative, p_neutral, p_positive, complaint, intent, urgency_score,
                       urgency_level, urgency_reasons, scored_at FROM scored_batch"""
            )
            cur.execute(
                """UPDATE mentions SET lang = b.mention_lang, brand = b.brand,
                       cluster_key = b.cluster_key, stage = 'scored'
                   FROM scored_batch b WHERE mentions.key = b.mention_key"""
            )
            # A reply that names no brand is about the brand of the post it answers.
            cur.execute(
                """UPDATE mentions SET brand = p.brand FROM mentions p
                   WHERE mentions.key IN (SELECT mention_key FROM scored_batch)
                   AND mentions.brand IS NULL AND p.brand IS NOT NULL
                   AND p.key = coalesce(mentions.parent_key, mentions.thread_key)"""
            )
        finally:
            cur.unregister("scored_batch")
    logger.debug("scored %d mentions", len(pending))
    return len(pending)
