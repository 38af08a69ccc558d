"""A mention re-scored by a newer model is one mention everywhere, with its newer score."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pytest

from pipeline.analytics.overview import SPIKE_HISTORY, summarise
from pipeline.store import Store, scores
from pipeline.store import aggregates as agg
from pipeline.store.search import MentionFilter, mention, mentions

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


def score(store: Store, key: str, sentiment: str, version: str, at: datetime) -> None:
    p = {"negative": (0.9, 0.05, 0.05), "positive": (0.05, 0.05, 0.9)}[sentiment]
    row = {
        "mention_key": key, "model_version": version, "lang": "es", "sentiment": sentiment,
        "p_negative": p[0], "p_neutral": p[1], "p_positive": p[2], "complaint": 0.2,
        "intent": "other", "urgency_score": 0.1, "urgency_level": 0, "urgency_reasons": [],
        "scored_at": at, "mention_lang": "es", "brand": "acme", "cluster_key": None,
    }  # fmt: skip
    with store.transaction() as cur:
        scores.write(cur, pa.Table.from_pylist([row], schema=scores.SCORE_SCHEMA))


@pytest.fixture
def store() -> Iterator[Store]:
    with Store.open(":memory:") as s:
        with s.transaction() as cur:
            cur.execute(
                """INSERT INTO mentions (key, platform, native_id, brand, text, lang, author_key,
                       author, created_at, fetched_at, updated_at, content_hash)
                   VALUES ('x:1', 'x', '1', 'acme', 'el pedido llegó roto', 'es', 'x:ana', 'ana',
                       ?, ?, ?, 'h1')""",
                [T0, T0, T0],
            )
        score(s, "x:1", "negative", "v1", T0 + timedelta(minutes=1))
        score(s, "x:1", "positive", "v2", T0 + timedelta(days=2))
        yield s


def test_a_rescored_mention_is_listed_once_with_its_newer_score(store: Store) -> None:
    with store.read() as cur:
        items, total = mentions(cur, MentionFilter())
        negative, _ = mentions(cur, MentionFilter(sentiment="negative"))
        one = mention(cur, "x:1")
    assert total == 1
    assert [(m["key"], m["sentiment"]) for m in items] == [("x:1", "positive")]
    assert negative == []  # the older model's verdict no longer counts
    assert one is not None
    assert one["sentiment"] == "positive"


def test_a_rescored_mention_is_counted_once_in_the_overview(store: Store) -> None:
    selection = agg.Filters(since=T0 - timedelta(days=1), until=T0 + timedelta(days=1))
    with store.read() as cur:
        found = agg.overview_rows(cur, selection, brands=["acme"], history=SPIKE_HISTORY)
    answer = summarise(found, brand_names=["acme"])
    assert answer["total"] == 1
    [day] = answer["sentiment"]
    assert (day["scored"], day["negative"], day["positive"]) == (1, 0, 1)
    assert answer["net_sentiment"] == 1.0
    assert answer["negative_terms"] == []
    assert answer["share_of_voice"] == [{"brand": "acme", "mentions": 1, "share": 1.0}]
