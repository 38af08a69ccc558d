"""Score: enrich and classify new mentions in batches, and store the scores."""

from __future__ import annotations

import logging

from classifiers.base import Classifier
from pipeline.records import TextItem, utcnow
from pipeline.stages.enrich import BrandMatcher, near_duplicate_key
from pipeline.store import Store, rows

logger = logging.getLogger(__name__)


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
    predictions = classifier.predict(items)
    now = utcnow()
    with store.transaction() as cur:
        for row, prediction in zip(pending, predictions, strict=True):
            scores = prediction.sentiment_scores
            cur.execute(
                """INSERT OR REPLACE INTO scores VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                [
                    row["key"], prediction.model_version, prediction.lang, prediction.sentiment,
                    scores["negative"], scores["neutral"], scores["positive"],
                    prediction.complaint, prediction.intent, prediction.urgency.score,
                    prediction.urgency.level, list(prediction.urgency.reasons), now,
                ],
            )  # fmt: skip
            cur.execute(
                """UPDATE mentions SET lang = ?, brand = ?, cluster_key = ?, stage = 'scored'
                   WHERE key = ?""",
                [
                    row["lang_hint"] or prediction.lang,
                    matcher.match(row["text"], row["title"]),
                    near_duplicate_key(row["text"]),
                    row["key"],
                ],
            )
    logger.debug("scored %d mentions", len(pending))
    return len(pending)
