"""Imports that meet hostile or broken files: a line that is not UTF-8, a row of megabytes.

Each is one bad row reported by its line number; the other rows are stored.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from crawlers.files import FileImport
from pipeline.records import MAX_AUTHOR_CHARS, MAX_TEXT_CHARS, MAX_URL_CHARS, Mention, Page
from pipeline.stages.ingest import store_page
from pipeline.store import Store


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "escucha.duckdb") as store:
        yield store


def _import(db: Store, path: Path) -> list[tuple[int, str]]:
    """What ``escucha import`` does: the file's pages stored by ingest; the bad rows returned."""
    bad: list[tuple[int, str]] = []
    source = FileImport(path, "forum", on_bad_row=lambda n, why: bad.append((n, why)))
    for page in source.fetch(None):
        store_page(db, source.name, source.platform, page)
    return bad


def _stored(db: Store) -> dict[str, tuple[str, str, str | None]]:
    with db.read() as cur:
        rows = cur.execute("SELECT key, text, author, url FROM mentions ORDER BY key").fetchall()
    return {key: (text, author, url) for key, text, author, url in rows}


def _row(native_id: str, text: str = "Orbita sin fibra", **extra: str) -> bytes:
    row = {"id": native_id, "text": text, "author": "ana", "created_at": "2024-05-01T10:00Z"}
    return json.dumps({**row, **extra}, ensure_ascii=False).encode("utf-8") + b"\n"


def test_a_jsonl_line_that_is_not_utf8_is_one_bad_row(db: Store, tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    broken = _row("2", "caña").replace("caña".encode(), b"ca\xffa")
    path.write_bytes(_row("1") + broken + _row("3", "Órbita"))
    bad = _import(db, path)
    assert sorted(_stored(db)) == ["forum:1", "forum:3"]
    assert [line for line, _ in bad] == [2]
    assert "not valid UTF-8 (byte 0xff" in bad[0][1]


def test_a_csv_row_that_is_not_utf8_is_one_bad_row(db: Store, tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_bytes(
        b"id,text,author,created_at\n"
        b"1,Orbita sin fibra,ana,2024-05-01\n"
        b'2,"dos l\xedneas\ncon ca\xf1a",pepe,2024-05-01\n'
        b"3,\xc3\x93rbita,leo,2024-05-01\n"
    )
    bad = _import(db, path)
    assert _stored(db)["forum:3"][0] == "Órbita"
    assert sorted(_stored(db)) == ["forum:1", "forum:3"]
    assert [line for line, _ in bad] == [3]
    assert "not valid UTF-8" in bad[0][1]


def test_a_row_of_megabytes_is_reported_and_the_rest_stored_quickly(
    db: Store, tmp_path: Path
) -> None:
    path = tmp_path / "in.jsonl"
    huge = "Orbita " * (5_000_000 // 7)
    path.write_bytes(
        _row("1")
        + _row("2", huge)
        + _row("3", url="https://example.com/" + "a" * MAX_URL_CHARS)
        + _row("4", author="x" * (MAX_AUTHOR_CHARS + 1))
        + _row("5", "Órbita " * (MAX_TEXT_CHARS // 7))
    )
    started = time.monotonic()
    bad = _import(db, path)
    assert time.monotonic() - started < 10
    assert sorted(_stored(db)) == ["forum:1", "forum:5"]
    assert [line for line, _ in bad] == [2, 3, 4]
    text_reason, url_reason, author_reason = (reason for _, reason in bad)
    assert f"at most {MAX_TEXT_CHARS:,}" in text_reason and "text" in text_reason
    assert "Orbita" not in text_reason  # the reason does not echo the text
    assert "url" in url_reason and "author" in author_reason


def test_no_connector_can_store_an_unbounded_mention(db: Store) -> None:
    mention = Mention(
        platform="web",
        native_id="long",
        text="x" * (MAX_TEXT_CHARS * 3),
        title="t" * 100_000,
        author="a" * 100_000,
        url="https://example.com/" + "u" * 100_000,
        created_at=datetime(2024, 5, 1, tzinfo=UTC),
    )
    assert store_page(db, "crawl", "web", Page((mention,))).new == 1
    with db.read() as cur:
        text, title, author, url = cur.execute(
            "SELECT text, title, author, url FROM mentions WHERE key = 'web:long'"
        ).fetchone()
    assert len(text) == MAX_TEXT_CHARS
    assert len(author) == MAX_AUTHOR_CHARS
    assert len(url) == MAX_URL_CHARS
    assert 0 < len(title) < 100_000


def test_a_huge_platform_payload_keeps_only_its_size(db: Store) -> None:
    mention = Mention(
        platform="web", native_id="raw", text="hola", author="a",
        created_at=datetime(2024, 5, 1, tzinfo=UTC), raw={"html": "<p>" * 500_000},
    )  # fmt: skip
    small = Mention(
        platform="web", native_id="small", text="hola", author="a",
        created_at=datetime(2024, 5, 1, tzinfo=UTC), raw={"id": 7},
    )  # fmt: skip
    store_page(db, "crawl", "web", Page((mention, small)))
    with db.read() as cur:
        stored = dict(cur.execute("SELECT native_id, raw FROM mentions").fetchall())
    assert "omitted" in stored["raw"] and len(stored["raw"]) < 200
    assert json.loads(stored["small"]) == {"id": 7}
