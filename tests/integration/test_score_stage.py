"""The score stage: batches of new mentions get scores, a language, a brand and a cluster.

The classifier here is a small deterministic stand-in, injected through the Classifier protocol,
so the test is about what the stage stores, not about the model (tests/integration/test_model.py).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pipeline.records import Mention, Page, Prediction, Urgency
from pipeline.stages.enrich import BrandMatcher
from pipeline.stages.ingest import store_page
from pipeline.stages.score import score_pending
from pipeline.store import rows


class KeywordClassifier:
    version = "keyword-test"

    def predict(self, items):
        out = []
        for item in items:
            angry = "fatal" in item.text
            out.append(
                Prediction(
                    lang="es",
                    sentiment="negative" if angry else "neutral",
                    sentiment_scores={
                        "negative": 0.8 if angry else 0.1,
                        "neutral": 0.1 if angry else 0.8,
                        "positive": 0.1,
                    },
                    complaint=0.9 if angry else 0.1,
                    intent="complaint" if angry else "other",
                    urgency=Urgency(0.5, 1, ("repeated contact",))
                    if item.prior_contacts
                    else Urgency(0.1, 0),
                    model_version=self.version,
                )
            )
        return out


def test_scores_brand_inheritance_clusters_and_prior_contacts(store, example_settings):
    now = datetime.now(UTC)
    mentions = (
        Mention(platform="forum", native_id="t1", text="Orbita va fatal en Cádiz", author="ana",
                created_at=now - timedelta(minutes=10), thread_id="t1"),
        Mention(platform="forum", native_id="t2", text="+1, a mí también me pasa", author="bob",
                created_at=now - timedelta(minutes=5), parent_id="t1", thread_id="t1"),
        Mention(platform="forum", native_id="9", text="Orbita va fatal en Cádiz https://x.co/1", author="ana",
                created_at=now - timedelta(minutes=1)),
        Mention(platform="x", native_id="10", text="La órbita lunar es preciosa", author="eva",
                created_at=now),
    )  # fmt: skip
    store_page(store, "s", "forum", Page(mentions))
    matcher = BrandMatcher.from_settings(example_settings)
    assert score_pending(store, KeywordClassifier(), matcher, batch=2) == 2
    assert score_pending(store, KeywordClassifier(), matcher, batch=10) == 2
    assert score_pending(store, KeywordClassifier(), matcher) == 0
    with store.read() as cur:
        found = {
            r["key"]: r
            for r in rows(
                cur,
                "SELECT m.key, m.brand, m.stage, m.cluster_key, s.sentiment, s.urgency_reasons FROM mentions m JOIN scores s ON s.mention_key = m.key",
            )
        }
    assert found["forum:t2"]["brand"] == "Orbita"  # inherited from the thread it answers
    assert found["x:10"]["brand"] is None  # the query excludes "órbita lunar"
    assert (
        found["forum:t1"]["cluster_key"] == found["forum:9"]["cluster_key"]
    )  # same text, link aside
    assert found["forum:9"]["urgency_reasons"] == ["repeated contact"]  # ana wrote before
    assert {r["stage"] for r in found.values()} == {"scored"}
