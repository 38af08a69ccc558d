"""The full-text index: folding, stemming, the query syntax, and staying in step with the store."""

from __future__ import annotations

import logging
import shutil
from datetime import UTC, datetime, timedelta

import pytest

from pipeline.records import Mention, Page
from pipeline.stages.ingest import store_page
from pipeline.store import Store, fulltext
from pipeline.store.search import MentionFilter, page

T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)
TEXTS = {
    "1": "Órbita lleva 3 días sin FIBRA en Sevilla",
    "2": "Me llegó la factura duplicada otra vez",
    "3": "They charged me twice for the router",
    "4": "La órbita lunar del satélite",
    "5": "Gracias Orbita, todo perfecto con la portabilidad",
}


def mention(native_id: str, text: str, *, platform: str = "x", days: int = 0) -> Mention:
    return Mention(
        platform=platform, native_id=native_id, text=text, author=f"autor{native_id}",
        created_at=T0 + timedelta(days=days),
    )  # fmt: skip


def write(store: Store, *mentions: Mention) -> None:
    store_page(store, "s", "x", Page(tuple(mentions)))


def keys(store: Store, q: str, **filters: object) -> list[str]:
    with store.read() as cur:
        found = page(cur, MentionFilter(q=q, **filters), index=fulltext.index_for(store))  # type: ignore[arg-type]
    return sorted(item["key"] for item in found.items)


@pytest.fixture
def seeded():
    with Store.open(":memory:") as store:
        write(store, *(mention(n, text, days=int(n)) for n, text in TEXTS.items()))
        yield store


def test_accents_and_case_are_folded(seeded):
    assert keys(seeded, "ORBITA fibra") == ["x:1"]
    assert keys(seeded, "orbita") == ["x:1", "x:4", "x:5"]
    assert keys(seeded, "DIAS sevilla") == ["x:1"]
    assert keys(seeded, "llego") == ["x:2"]


def test_spanish_and_english_words_match_their_stems(seeded):
    assert keys(seeded, "facturas") == ["x:2"]
    assert keys(seeded, "duplicadas") == ["x:2"]
    assert keys(seeded, "charge") == ["x:3"]
    assert keys(seeded, "routers") == ["x:3"]


def test_phrases_booleans_and_prefixes_follow_the_brand_query_syntax(seeded):
    assert keys(seeded, '"orbita lunar"') == ["x:4"]
    assert keys(seeded, '"lunar orbita"') == []
    assert keys(seeded, "orbita AND NOT lunar") == ["x:1", "x:5"]
    assert keys(seeded, "fibra OR perfecto") == ["x:1", "x:5"]
    assert keys(seeded, "(fibra OR satelite) sevilla") == ["x:1"]
    assert keys(seeded, "NOT orbita") == ["x:2", "x:3"]
    assert keys(seeded, "porta*") == ["x:5"]
    assert keys(seeded, "autor3") == ["x:3"]
    # What a search box gets typed into is never an error: stray syntax is read as words.
    assert keys(seeded, '(fibra "sevilla') == ["x:1"]
    assert keys(seeded, "100%_") == []


def test_dates_and_platform_are_applied_in_the_index(seeded):
    write(seeded, mention("9", "orbita desde reddit", platform="reddit", days=9))
    assert keys(seeded, "orbita", platform="reddit") == ["reddit:9"]
    window = {"since": T0 + timedelta(days=2), "until": T0 + timedelta(days=5)}
    assert keys(seeded, "orbita", **window) == ["x:4"]


def test_the_best_match_comes_first_and_the_total_is_exact(seeded):
    write(seeded, mention("6", "fibra fibra fibra sin fibra"))
    with seeded.read() as cur:
        index = fulltext.index_for(seeded)
        found = page(cur, MentionFilter(q="fibra"), index=index, limit=1)
    assert [m["key"] for m in found.items] == ["x:6"]
    assert (found.total, found.total_is_estimate) == (2, False)


def test_other_filters_apply_to_the_matches_and_a_large_match_set_is_estimated(seeded, monkeypatch):
    write(seeded, *(mention(str(n), f"orbita numero {n}") for n in range(10, 40)))
    assert keys(seeded, "orbita", lang="es") == []  # no language identified yet
    assert len(keys(seeded, "orbita", case="none")) == 33
    with seeded.read() as cur:
        index = fulltext.index_for(seeded)
        exact = page(cur, MentionFilter(q="orbita", case="none"), index=index, limit=5)
        monkeypatch.setattr("pipeline.store.search.SEARCH_WINDOW", 10)
        rough = page(cur, MentionFilter(q="orbita", case="none"), index=index, limit=5)
    assert (exact.total, exact.total_is_estimate) == (33, False)
    assert (rough.total, rough.total_is_estimate) == (33, True)
    assert len(rough.items) == 5


def test_an_edited_mention_is_found_by_its_new_words_only(seeded):
    assert keys(seeded, "fibra") == ["x:1"]
    write(seeded, mention("1", "Ya funciona el internet, gracias", days=1))
    with seeded.transaction() as cur:
        # What store/mentions.update_edited does when a mention's words change.
        fulltext.mark_changed(cur, ["x:1"])
    assert fulltext.index_pending(seeded) == 1
    assert keys(seeded, "fibra") == []
    assert keys(seeded, "internet") == ["x:1"]


def test_a_removed_mention_leaves_the_index(seeded):
    index = fulltext.index_for(seeded)
    fulltext.index_pending(seeded)
    assert index.search("lunar").total == 1
    fulltext.remove(seeded, ["x:4"])
    assert index.search("lunar").total == 0
    assert index.search("orbita").total == 2


def test_a_deleted_index_is_rebuilt_from_the_database(tmp_path, caplog):
    database = tmp_path / "escucha.duckdb"
    with Store.open(database) as store:
        write(store, mention("1", "sin fibra"), mention("2", "factura"))
        assert fulltext.index_pending(store) == 2
    folder = fulltext.index_path(str(database))
    assert folder is not None and folder.is_dir()
    shutil.rmtree(folder)
    with caplog.at_level(logging.WARNING), Store.open(database) as store:
        assert fulltext.index_pending(store) == 2
        assert keys(store, "fibra") == ["x:1"]
    assert "no full-text index" in caplog.text


def test_an_unreadable_index_is_rebuilt(tmp_path, caplog):
    database = tmp_path / "escucha.duckdb"
    with Store.open(database) as store:
        write(store, mention("1", "sin fibra"))
        fulltext.index_pending(store)
    folder = fulltext.index_path(str(database))
    assert folder is not None
    (folder / "meta.json").write_text("{not json")
    with caplog.at_level(logging.WARNING), Store.open(database) as store:
        assert keys(store, "fibra") == ["x:1"]
    assert "rebuilding the full-text index" in caplog.text


def test_a_crash_between_the_two_commits_loses_and_duplicates_nothing(tmp_path, monkeypatch):
    database = tmp_path / "escucha.duckdb"
    with Store.open(database) as store:
        write(store, mention("1", "sin fibra"), mention("2", "factura"))
        fulltext.index_pending(store)
        # The database commits an edit and a new mention; the process dies before the index
        # commits them.
        write(store, mention("1", "fibra otra vez caida", days=1), mention("3", "fibra nueva"))
        with store.transaction() as cur:
            fulltext.mark_changed(cur, ["x:1"])

        def crash(*_: object) -> None:
            raise SystemExit("killed")

        monkeypatch.setattr(fulltext.FullTextIndex, "_commit", crash)
        with pytest.raises(SystemExit):
            fulltext.index_pending(store)
        monkeypatch.undo()
    with Store.open(database) as store:
        assert fulltext.index_pending(store) == 2
        assert fulltext.index_pending(store) == 0
        with store.read() as cur:
            index = fulltext.index_for(store)
            found = page(cur, MentionFilter(q="fibra"), index=index)
        assert sorted(m["key"] for m in found.items) == ["x:1", "x:3"]
        assert found.total == 2
        assert keys(store, "caida") == ["x:1"]
        assert keys(store, "sin") == []


def test_a_search_finds_what_was_just_written_without_waiting_for_the_cycle(seeded):
    write(seeded, mention("7", "averia masiva en Valencia"))
    assert keys(seeded, "valencia") == ["x:7"]
