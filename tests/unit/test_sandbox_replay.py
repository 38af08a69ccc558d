"""Sandbox replay: history at first start, streaming at ``speed``, pages, cursors and restarts."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from crawlers.sandbox import PAGE_SIZE, CorpusItem, SandboxPlatform
from pipeline.errors import InputError

START = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


class Clock:
    """A settable clock for tests."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def small_corpus(n: int = 100, step: int = 60) -> list[CorpusItem]:
    return [
        CorpusItem(id=f"m{i:04d}", platform="x", text=f"Orbita post {i}", author=f"user{i % 7}",
                   offset_s=i * step, lang="es" if i % 2 else "en")
        for i in range(n)
    ]  # fmt: skip


def fetch_all(sandbox: SandboxPlatform, cursor=None):
    pages = list(sandbox.fetch(cursor))
    mentions = [m for page in pages for m in page.mentions]
    return pages, mentions, (pages[-1].cursor if pages else cursor)


def test_first_start_replays_the_history_ending_now(tmp_path):
    clock = Clock()
    sandbox = SandboxPlatform(None, tmp_path, clock=clock)
    pages, mentions, cursor = fetch_all(sandbox)
    share = len(mentions) / len(sandbox.corpus)
    assert 0.6 <= share <= 0.7
    assert all(len(page.mentions) <= PAGE_SIZE for page in pages)
    assert max(m.created_at for m in mentions) == START
    assert min(m.created_at for m in mentions) < START - timedelta(days=7)
    assert cursor == {"position": len(mentions), "epoch": START.isoformat()}
    assert {m.platform for m in mentions} >= {"x", "reddit", "youtube", "google_reviews", "forum"}
    assert all("expected" not in m.raw for m in mentions)  # labels stay hidden from the product


def test_pages_carry_increasing_positions_and_the_fixed_epoch(tmp_path):
    sandbox = SandboxPlatform(small_corpus(100), tmp_path, clock=Clock(), history=0.5, page_size=7)
    pages, mentions, _ = fetch_all(sandbox)
    assert len(mentions) == 50
    positions = [page.cursor["position"] for page in pages]
    assert positions == sorted(positions)
    assert positions[-1] == 50
    assert all(len(page.mentions) <= 7 for page in pages)
    assert {page.cursor["epoch"] for page in pages} == {START.isoformat()}
    assert [m.native_id for m in mentions] == [f"m{i:04d}" for i in range(50)]


def test_the_rest_streams_in_at_speed(tmp_path):
    clock = Clock()
    sandbox = SandboxPlatform(small_corpus(100, step=60), tmp_path, clock=clock, speed=10,
                              history=0.5)  # fmt: skip
    _, first, cursor = fetch_all(sandbox)
    assert len(first) == 50
    assert list(sandbox.fetch(cursor)) == []  # nothing new until time passes
    clock.advance(60)  # 600 corpus seconds = 10 more mentions at one a minute
    _, more, cursor = fetch_all(sandbox, cursor)
    assert [m.native_id for m in more] == [f"m{i:04d}" for i in range(50, 60)]
    assert all(m.created_at <= clock.now for m in more)
    assert more[0].created_at == START + timedelta(seconds=6)  # 60 corpus s after the split / 10
    clock.advance(10_000)
    _, rest, cursor = fetch_all(sandbox, cursor)
    assert len(rest) == 40
    assert cursor["position"] == 100
    assert sandbox.remaining(cursor) == 0
    assert sandbox.upcoming(cursor) == 0


def test_a_restart_resumes_exactly_where_the_cursor_left(tmp_path):
    clock = Clock()
    corpus = small_corpus(100)
    first = SandboxPlatform(corpus, tmp_path, clock=clock, history=0.3, page_size=10)
    pages = first.fetch(None)
    kept = [next(pages), next(pages)]  # the process dies after storing two pages
    cursor = kept[-1].cursor
    clock.advance(3600)
    again = SandboxPlatform(corpus, tmp_path, clock=clock, history=0.3, page_size=10)
    _, resumed, _ = fetch_all(again, cursor)
    seen = [m.native_id for page in kept for m in page.mentions] + [m.native_id for m in resumed]
    assert seen == [item.id for item in corpus[: len(seen)]]  # no gap, no duplicate
    fresh = {m.native_id: m.created_at for m in fetch_all(again)[1]}
    for page in kept:  # the same mention gets the same time after a restart
        for mention in page.mentions:
            assert fresh[mention.native_id] == mention.created_at


def test_the_epoch_is_fixed_once_in_the_state_folder(tmp_path):
    clock = Clock()
    SandboxPlatform(small_corpus(), tmp_path, clock=clock).epoch
    clock.advance(86_400)
    later = SandboxPlatform(small_corpus(), tmp_path, clock=clock)
    assert later.epoch == START
    assert json.loads((tmp_path / "replay.json").read_text())["epoch"] == START.isoformat()


def test_the_cursor_epoch_wins_over_the_state_folder(tmp_path):
    sandbox = SandboxPlatform(small_corpus(100), tmp_path, clock=Clock(), history=0.5)
    older = (START - timedelta(days=1)).isoformat()
    pages = list(sandbox.fetch({"position": 0, "epoch": older}))
    assert {p.cursor["epoch"] for p in pages} == {older}
    assert len([m for p in pages for m in p.mentions]) == 100  # a day at speed 60 streams it all


@pytest.mark.parametrize(
    "cursor",
    [{"position": "3"}, {"position": -1}, {"position": 10_000}, {"position": 0, "epoch": "soon"}],
)
def test_a_bad_cursor_is_refused_clearly(tmp_path, cursor):
    sandbox = SandboxPlatform(small_corpus(), tmp_path, clock=Clock())
    with pytest.raises(InputError):
        list(sandbox.fetch(cursor))


def test_a_damaged_replay_state_names_the_file(tmp_path):
    (tmp_path / "replay.json").write_text("{not json")
    sandbox = SandboxPlatform(small_corpus(), tmp_path, clock=Clock())
    with pytest.raises(InputError, match=r"replay\.json"):
        list(sandbox.fetch(None))
