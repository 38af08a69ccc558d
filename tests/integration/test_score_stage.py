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
from pipeline.store import Store, rows


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


class CountingClassifier:
    """Deterministic scores from the text and its context, counting the texts it is asked for."""

    def __init__(self, version: str = "counting-test") -> None:
        self.version = version
        self.seen: list[str] = []

    def predict(self, items):
        self.seen.extend(item.text for item in items)
        out = []
        for item in items:
            share = (sum(map(ord, item.text)) % 997) / 997 * 0.5
            reach = (item.author_followers or 0) / 1e6
            out.append(
                Prediction(
                    lang=item.lang or "es",
                    sentiment="negative",
                    sentiment_scores={
                        "negative": 0.5 + share,
                        "neutral": 0.3,
                        "positive": 0.2 - share / 2.5,
                    },
                    complaint=0.1 + share,
                    intent="complaint" if share > 0.25 else "other",
                    urgency=Urgency(0.2 + share + reach, 1, (f"reach {reach}",) if reach else ()),
                    model_version=self.version,
                )
            )
        return out


SCORE_COLUMNS = """model_version, lang, sentiment, p_negative, p_neutral, p_positive, complaint,
    intent, urgency_score, urgency_level, urgency_reasons"""


def _scores(store):
    with store.read() as cur:
        found = rows(cur, f"SELECT mention_key, {SCORE_COLUMNS} FROM scores ORDER BY 1")
    return {r.pop("mention_key"): r for r in found}


def test_repeated_text_is_classified_once_and_scored_identically(store, example_settings):
    now = datetime.now(UTC)
    campaign = "Orbita me ha cobrado dos veces este mes y nadie responde"

    def post(native_id, text, author, minutes, **extra):
        return Mention(platform="x", native_id=native_id, text=text, author=author,
                       created_at=now - timedelta(minutes=minutes), **extra)  # fmt: skip

    store_page(store, "s", "x", Page((
        post("1", campaign, "ana", 30), post("2", campaign, "bob", 20),
        post("3", "Orbita funciona bien hoy", "eva", 10),
    )))  # fmt: skip
    classifier = CountingClassifier()
    matcher = BrandMatcher.from_settings(example_settings)
    assert score_pending(store, classifier, matcher) == 3
    assert sorted(classifier.seen) == sorted([campaign, "Orbita funciona bien hoy"])

    # A later copy is served from the cache; another reach, model or platform is scored afresh.
    store_page(store, "s", "x", Page((
        post("4", campaign, "carla", 5),
        post("5", campaign, "dani", 4, author_followers=250_000),
    )))  # fmt: skip
    classifier.seen.clear()
    assert score_pending(store, classifier, matcher) == 2
    assert classifier.seen == [campaign]  # only the one with a different reach

    found = _scores(store)
    assert found["x:1"] == found["x:2"] == found["x:4"]
    assert found["x:5"] != found["x:1"]

    # A cache hit stores exactly what a fresh prediction stores.
    with Store.open(":memory:") as fresh_store:
        store_page(fresh_store, "s", "x", Page((post("4", campaign, "carla", 5),)))
        assert score_pending(fresh_store, CountingClassifier(), matcher) == 1
        assert _scores(fresh_store)["x:4"] == found["x:4"]

    store_page(store, "s", "x", Page((post("6", campaign, "fran", 1),)))
    other_model = CountingClassifier(version="counting-test-2")
    assert score_pending(store, other_model, matcher) == 1
    assert other_model.seen == [campaign]
    assert _scores(store)["x:6"]["model_version"] == "counting-test-2"
