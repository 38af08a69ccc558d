"""How often the score cache spares the model, through the product's own score stage.

Two streams go through ``store_page`` and ``score_pending`` (in the service's batches) with a
deterministic stand-in classifier that records what it is asked for, so the figures do not depend
on the model's outputs:

- the bundled sandbox corpus (crawlers/sandbox/sandbox_corpus.jsonl.gz), as replayed;
- a synthetic stream of ``BENCH_STREAM`` mentions (default 100,000) in which 30% repeat an earlier
  text (copy-paste campaigns from small accounts: same text, no reach or engagement).

Prints the hit rate (mentions scored without a model call), and for the corpus what keying on the
text alone, or on the folded, whitespace-collapsed text, would reach. Figures only.
"""

from __future__ import annotations

import os
import random
import time
from datetime import UTC, datetime, timedelta

import pytest

from crawlers.sandbox.corpus import load_corpus
from pipeline.fold import fold
from pipeline.records import Mention, Page, Prediction, Urgency
from pipeline.settings import ServiceSettings
from pipeline.stages.enrich import BrandMatcher
from pipeline.stages.ingest import store_page
from pipeline.stages.score import score_pending
from pipeline.store import Store

pytestmark = pytest.mark.bench

STREAM = int(os.environ.get("BENCH_STREAM", "100000"))
REPEATS = 0.3
BATCH = ServiceSettings().score_batch


class RecordingClassifier:
    version = "recording-bench"

    def __init__(self) -> None:
        self.items: list = []

    def predict(self, items):
        self.items.extend(items)
        return [
            Prediction("es", "neutral", {"negative": 0.2, "neutral": 0.6, "positive": 0.2},
                       0.1, "other", Urgency(0.1, 0), self.version)
            for _ in items
        ]  # fmt: skip


def _score_all(store: Store, matcher: BrandMatcher) -> tuple[int, RecordingClassifier, float]:
    classifier = RecordingClassifier()
    started = time.perf_counter()
    scored = 0
    while done := score_pending(store, classifier, matcher, batch=BATCH):
        scored += done
    return scored, classifier, time.perf_counter() - started


def _rate(hits: int, total: int) -> str:
    return f"{hits:,}/{total:,} = {hits / total:.1%}"


def test_hit_rate_on_the_sandbox_corpus(example_settings, tmp_path):
    corpus = load_corpus()
    start = datetime.now(UTC) - timedelta(days=2)
    mentions = [item.to_mention(start + timedelta(seconds=item.offset_s)) for item in corpus]
    with Store.open(tmp_path / "corpus.duckdb") as store:
        for i in range(0, len(mentions), 500):
            store_page(store, "sandbox", "sandbox", Page(tuple(mentions[i : i + 500])))
        matcher = BrandMatcher.from_settings(example_settings)
        scored, classifier, seconds = _score_all(store, matcher)
    texts = [m.text if not m.title else f"{m.title}. {m.text}" for m in mentions]
    calls = len(classifier.items)
    print(f"\nsandbox corpus: {scored:,} mentions, {calls:,} sent to the model in {seconds:.1f}s")
    print(f"  hit rate (key: exact text + lang, platform, rating, reach, engagement, contacts): "
          f"{_rate(scored - calls, scored)}")  # fmt: skip
    print(f"  text alone would reach {_rate(scored - len(set(texts)), scored)}")
    folded = {" ".join(fold(text).split()) for text in texts}
    print(f"  folded, collapsed text alone would reach {_rate(scored - len(folded), scored)}")
    assert scored == len(mentions) and calls < scored


def test_hit_rate_on_a_stream_with_30_percent_repeats(example_settings, tmp_path):
    rng = random.Random(1407)
    start = datetime.now(UTC) - timedelta(days=1)
    texts: list[str] = []
    mentions = []
    for i in range(STREAM):
        if texts and rng.random() < REPEATS:
            text = rng.choice(texts)
        else:
            text = f"Orbita {rng.choice(['no funciona', 'me cobra de más', 'va genial'])} #{i}"
            texts.append(text)
        mentions.append(
            Mention(platform="x", native_id=str(i), text=text, author=f"user{i}", lang="es",
                    created_at=start + timedelta(seconds=i * 0.5))
        )  # fmt: skip
    with Store.open(tmp_path / "stream.duckdb") as store:
        for i in range(0, len(mentions), 5000):
            store_page(store, "stream", "x", Page(tuple(mentions[i : i + 5000])))
        matcher = BrandMatcher.from_settings(example_settings)
        scored, classifier, seconds = _score_all(store, matcher)
    calls = len(classifier.items)
    repeats = STREAM - len(texts)
    print(f"\nsynthetic stream: {scored:,} mentions ({repeats:,} repeats), {calls:,} sent to the "
          f"model; hit rate {_rate(scored - calls, scored)}; stage {scored / seconds:,.0f} "
          f"mentions/s without model time")  # fmt: skip
    assert scored == STREAM and calls == len(texts)
