"""Scores: the one rule for "the current score of a mention", and the writes that keep it.

Every score is kept in ``scores`` (keyed by mention and model version, for audit and re-scoring);
``current_scores`` holds the latest one per mention and is written in the same transaction. Reads
join ``CURRENT_SCORE`` and never pick a latest row themselves, so a re-scored mention is seen once.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from pipeline.store import Cursor, rollups, rows

# Join the current score of mention ``m`` as ``s`` (no row: the mention is not scored yet).
CURRENT_SCORE = "LEFT JOIN current_scores s ON s.mention_key = m.key"
# The same, for reads that want scored mentions only.
SCORED = "JOIN current_scores s ON s.mention_key = m.key"

SCORE_SCHEMA = pa.schema(
    [
        ("mention_key", pa.string()), ("model_version", pa.string()), ("lang", pa.string()),
        ("sentiment", pa.string()), ("p_negative", pa.float64()), ("p_neutral", pa.float64()),
        ("p_positive", pa.float64()), ("complaint", pa.float64()), ("intent", pa.string()),
        ("urgency_score", pa.float64()), ("urgency_level", pa.int32()),
        ("urgency_reasons", pa.list_(pa.string())), ("scored_at", pa.timestamp("us", tz="UTC")),
        ("mention_lang", pa.string()), ("brand", pa.string()), ("cluster_key", pa.string()),
    ]
)  # fmt: skip
_COLUMNS = """mention_key, model_version, lang, sentiment, p_negative, p_neutral, p_positive,
    complaint, intent, urgency_score, urgency_level, urgency_reasons, scored_at"""


@dataclass(frozen=True, slots=True)
class PendingMention:
    """A mention waiting to be scored, with what the classifier needs to know about it."""

    key: str
    text: str
    title: str | None
    lang_hint: str | None
    platform: str
    rating: float | None
    author_followers: int | None
    likes: int
    replies: int
    shares: int
    prior_contacts: int


def pending(cur: Cursor, limit: int) -> list[PendingMention]:
    """The newest mentions not scored yet (a backlog drains from what can still be answered),
    with the author's contacts in the 3 days before."""
    found = rows(
        cur,
        """SELECT m.key, m.text, m.title, m.lang_hint, m.platform, m.rating,
               m.author_followers, m.likes, m.replies, m.shares,
               (SELECT count(*) FROM mentions p WHERE p.author_key = m.author_key
                  AND p.created_at < m.created_at
                  AND p.created_at > m.created_at - INTERVAL 3 DAY) AS prior_contacts
           FROM mentions m WHERE m.stage = 'new' ORDER BY m.created_at DESC, m.key LIMIT ?""",
        [limit],
    )
    return [
        PendingMention(**{**row, "prior_contacts": int(row["prior_contacts"])}) for row in found
    ]


def waiting(cur: Cursor) -> int:
    """How many mentions wait to be scored."""
    found = cur.execute("SELECT count(*) FROM mentions WHERE stage = 'new'").fetchone()
    return int(found[0]) if found else 0


def write(cur: Cursor, batch: pa.Table) -> None:
    """Store a batch of scores (``SCORE_SCHEMA``): history, current score and the mentions'
    language, brand and near-duplicate cluster, all in the caller's transaction."""
    cur.register("scored_batch", batch)
    try:
        cur.execute(f"INSERT OR REPLACE INTO scores SELECT {_COLUMNS} FROM scored_batch")  # noqa: S608 - fixed column list
        cur.execute(
            f"""INSERT OR REPLACE INTO current_scores SELECT {_COLUMNS} FROM scored_batch
                QUALIFY row_number() OVER (PARTITION BY mention_key ORDER BY scored_at DESC) = 1"""  # noqa: S608 - fixed column list
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
        hours = cur.execute(
            """SELECT DISTINCT date_trunc('hour', m.created_at) FROM mentions m
               WHERE m.key IN (SELECT mention_key FROM scored_batch)"""
        )
        rollups.recount(cur, [hour for (hour,) in hours.fetchall()])
    finally:
        cur.unregister("scored_batch")
