"""The score cache: a prediction per distinct classifier input, so repeated text is scored once.

The key is a SHA-256 of everything the classifier is given for one mention and of the scope that
made the prediction (the model's version and the escucha release, whose lexicons and rules also
shape the result), so a hit is the prediction a fresh call would return:

- the text exactly as the model sees it (title and body). It is not accent-folded, case-folded or
  whitespace-collapsed: the default model's char n-gram blend and language detection see accents,
  and the intent and urgency patterns match literal spaces, so "Cómo" and "como", or a doubled
  space, can score differently;
- the language hint, platform and rating;
- the author's followers, likes, replies, shares and earlier contacts, because the classifier folds
  them into urgency (reach, engagement, repeated contact) inside ``predict``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from datetime import datetime

import pyarrow as pa

from pipeline.records import SENTIMENTS, Prediction, TextItem, Urgency
from pipeline.store import Cursor

CACHE_SCHEMA = pa.schema(
    [
        ("content_hash", pa.string()), ("model_version", pa.string()), ("lang", pa.string()),
        ("sentiment", pa.string()), ("p_negative", pa.float64()), ("p_neutral", pa.float64()),
        ("p_positive", pa.float64()), ("complaint", pa.float64()), ("intent", pa.string()),
        ("urgency_score", pa.float64()), ("urgency_level", pa.int32()),
        ("urgency_reasons", pa.list_(pa.string())), ("cached_at", pa.timestamp("us", tz="UTC")),
    ]
)  # fmt: skip
_COLUMNS = ", ".join(CACHE_SCHEMA.names)


def content_key(item: TextItem, scope: str) -> str:
    """The cache key of ``item`` for predictions made by ``scope`` (model version and release)."""
    inputs = [
        scope, item.text, item.lang, item.platform, item.rating, item.author_followers,
        item.likes, item.replies, item.shares, item.prior_contacts,
    ]  # fmt: skip
    encoded = json.dumps(inputs, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(encoded.encode("utf-8")).hexdigest()


def lookup(cur: Cursor, keys: Iterable[str]) -> dict[str, Prediction]:
    """The cached predictions for those of ``keys`` that have one."""
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    found = cur.execute(
        f"""SELECT {_COLUMNS} FROM score_cache
            WHERE content_hash IN (SELECT unnest(?::VARCHAR[]))""",  # noqa: S608 - fixed column list
        [wanted],
    ).fetchall()
    cached = {}
    for row in found:
        record = dict(zip(CACHE_SCHEMA.names, row, strict=True))
        cached[record["content_hash"]] = Prediction(
            lang=record["lang"],
            sentiment=record["sentiment"],
            sentiment_scores={label: record[f"p_{label}"] for label in SENTIMENTS},
            complaint=record["complaint"],
            intent=record["intent"],
            urgency=Urgency(
                score=record["urgency_score"],
                level=record["urgency_level"],
                reasons=tuple(record["urgency_reasons"]),
            ),
            model_version=record["model_version"],
        )
    return cached


def insert(cur: Cursor, predictions: Mapping[str, Prediction], now: datetime) -> None:
    """Remember fresh predictions by key, in the caller's transaction (a known key is kept)."""
    if not predictions:
        return
    batch = pa.Table.from_pylist(
        [
            {
                "content_hash": key,
                "model_version": p.model_version,
                "lang": p.lang,
                "sentiment": p.sentiment,
                **{f"p_{label}": float(p.sentiment_scores[label]) for label in SENTIMENTS},
                "complaint": float(p.complaint),
                "intent": p.intent,
                "urgency_score": float(p.urgency.score),
                "urgency_level": int(p.urgency.level),
                "urgency_reasons": list(p.urgency.reasons),
                "cached_at": now,
            }
            for key, p in predictions.items()
        ],
        schema=CACHE_SCHEMA,
    )
    cur.register("cache_batch", batch)
    try:
        cur.execute(
            f"INSERT OR IGNORE INTO score_cache SELECT {_COLUMNS} FROM cache_batch"  # noqa: S608 - fixed column list
        )
    finally:
        cur.unregister("cache_batch")
