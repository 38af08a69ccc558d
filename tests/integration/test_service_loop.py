"""The service loop: a slow source or a failing model never holds up the rest of the cycle."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

from pipeline.records import Mention, Page
from pipeline.service import Service


class SlowSource:
    name = "slow"
    platform = "forum"

    def __init__(self) -> None:
        self.release = threading.Event()

    def fetch(self, cursor):
        self.release.wait(10)
        yield Page(
            (
                Mention(
                    platform="forum",
                    native_id="1",
                    text="hola",
                    author="a",
                    created_at=datetime.now(UTC),
                ),
            ),
            cursor={"n": 1},
        )


class BrokenModel:
    version = "broken"

    def predict(self, items):
        raise RuntimeError("CUDA error: device lost")


def test_a_slow_poll_runs_beside_the_cycle_and_is_collected_later(store, example_settings):
    slow = SlowSource()
    service = Service(
        example_settings, store, sources={"slow": slow}, classifier_factory=lambda: BrokenModel()
    )
    started = time.monotonic()
    first = service.run_cycle(force=True, wait=False)
    assert time.monotonic() - started < 5  # not held by the source
    assert first.polls == []
    again = service.run_cycle(force=True, wait=False)
    assert again.polls == []  # still running: not started twice
    slow.release.set()
    deadline = time.monotonic() + 10
    report = service.run_cycle(wait=False)
    while not report.polls and time.monotonic() < deadline:
        time.sleep(0.1)
        report = service.run_cycle(wait=False)
    assert [p.ingest.new for p in report.polls] == [1]
    # A failing model leaves the mention unscored, says why, and the cycle goes on.
    assert any("model failed on a batch of 1" in e for e in report.errors)
    assert service.stats()["mentions"] == 1
    service.stop()


class SlowComplaints:
    """Every text a complaint, ``delay`` seconds a batch; remembers the order of the texts."""

    version = "slow-complaints"

    def __init__(self, delay: float = 0.05) -> None:
        self.delay = delay
        self.seen: list[str] = []

    def predict(self, items):
        from pipeline.records import Prediction, Urgency

        time.sleep(self.delay)
        self.seen += [item.text for item in items]
        scores = {"negative": 0.9, "neutral": 0.05, "positive": 0.05}
        return [
            Prediction("es", "negative", scores, 0.95, "complaint", Urgency(0.4, 1), self.version)
            for _ in items
        ]


def _backlog(store, n: int, now: datetime) -> None:
    from datetime import timedelta

    from pipeline.stages.ingest import store_page

    old = [
        Mention(platform="forum", native_id=f"h{i}", text=f"Orbita historial {i}",
                author=f"h{i}", created_at=now - timedelta(days=30, minutes=i))
        for i in range(n)
    ]  # fmt: skip
    fresh = Mention(platform="forum", native_id="new", text="Orbita sin luz desde esta mañana",
                    author="ana", created_at=now - timedelta(minutes=1))  # fmt: skip
    store_page(store, "seed", "forum", Page((*old, fresh)))


def test_a_backlog_is_scored_newest_first_and_its_case_opens_at_once(store, example_settings):
    model = SlowComplaints()
    settings = example_settings.model_copy(
        update={"service": example_settings.service.model_copy(update={"score_batch": 16})}
    )
    service = Service(settings, store, sources={}, classifier_factory=lambda: model)
    _backlog(store, 200, datetime.now(UTC))
    report = service.run_cycle()
    assert model.seen[0] == "Orbita sin luz desde esta mañana"
    assert len(report.triage.opened) == 1  # the fresh complaint; the history is only listened to
    assert report.scored == 201


def test_a_stop_request_ends_scoring_between_batches(store, example_settings):
    model = SlowComplaints(delay=0.2)  # a long backlog: 200 batches, 40 s
    settings = example_settings.model_copy(
        update={"service": example_settings.service.model_copy(update={"score_batch": 10})}
    )
    service = Service(settings, store, sources={}, classifier_factory=lambda: model)
    _backlog(store, 2000, datetime.now(UTC))
    service.start()
    while len(model.seen) < 30:
        time.sleep(0.01)
    started = time.monotonic()
    service.stop()
    assert time.monotonic() - started < 2
    with store.read() as cur:
        scored = cur.execute("SELECT count(*) FROM mentions WHERE stage <> 'new'").fetchone()[0]
    assert 30 <= scored < 2001
    assert scored % 10 == 0  # whole batches only
