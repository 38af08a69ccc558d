"""``escucha import`` and the ``files`` source on a real store: bad rows, re-imports, resumes."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from crawlers.files import FileImport, FileSource, from_settings, import_source_name
from pipeline.errors import ConfigError, InputError
from pipeline.settings import Settings, SourceSettings
from pipeline.stages.ingest import IngestResult, store_page
from pipeline.stages.poll import poll_source
from pipeline.store import Store
from pipeline.store import mentions as q

DATA = Path(__file__).parents[1] / "data" / "import"


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "escucha.duckdb") as store:
        yield store


@dataclass
class Report:
    """What one import did, as the CLI counts it."""

    ingest: IngestResult = field(default_factory=IngestResult)
    imported: int = 0
    bad: int = 0
    pages: int = 0
    last_line: int = 0

    @property
    def rows(self) -> int:
        return self.imported + self.bad


def _import(
    db: Store, path: Path, platform: str, *, fresh: bool = False, page_size: int = 500
) -> tuple[Report, list[tuple[int, str]]]:
    """What the CLI does: the files connector's pages stored by ingest, from the saved cursor."""
    bad: list[tuple[int, str]] = []
    source = FileImport(
        path, platform, on_bad_row=lambda n, why: bad.append((n, why)), page_size=page_size
    )
    with db.read() as cur:
        cursor = None if fresh else q.get_cursor(cur, source.name)
    report = Report()
    for page in source.fetch(cursor):
        report.ingest += store_page(db, source.name, source.platform, page)
        report.pages += 1
        report.imported += len(page.mentions)
        report.last_line = page.cursor[str(path.resolve())]["line"]  # type: ignore[index]
    report.bad = len(bad)
    return report, bad


def _keys(db: Store) -> list[str]:
    with db.read() as cur:
        return [row[0] for row in cur.execute("SELECT key FROM mentions ORDER BY key").fetchall()]


@pytest.mark.parametrize(
    ("name", "platform", "stored", "bad_line"),
    [
        ("mentions.jsonl", "forum", ["1001", "1002", "1004", "1005"], 3),
        ("mentions.csv", "google_reviews", ["r-1", "r-2", "r-4"], 5),
    ],
)
def test_import_stores_good_rows_reports_bad_ones_and_reimport_changes_nothing(
    db: Store, tmp_path: Path, name: str, platform: str, stored: list[str], bad_line: int
) -> None:
    path = tmp_path / name
    shutil.copy(DATA / name, path)
    report, bad = _import(db, path, platform, page_size=2)
    assert [line for line, _ in bad] == [bad_line]
    assert _keys(db) == sorted(f"{platform}:{i}" for i in stored)
    assert (report.ingest.new, report.bad, report.imported) == (len(stored), 1, len(stored))
    with db.read() as cur:
        row = cur.execute(
            "SELECT source, platform, raw FROM mentions ORDER BY key LIMIT 1"
        ).fetchone()
        cursor = q.get_cursor(cur, import_source_name(path))
    assert row[0] == f"import:{path.resolve()}"
    assert row[1] == platform
    assert json.loads(row[2])["id"]  # the original row is kept
    assert cursor is not None
    assert cursor[str(path.resolve())]["line"] == report.last_line

    again, bad_again = _import(db, path, platform)
    assert again.pages == 0  # already imported and unchanged: nothing read
    assert again.rows == 0
    assert not bad_again

    # Even reading the whole file again (no cursor) stores nothing new and edits nothing.
    full, bad_full = _import(db, path, platform, fresh=True)
    assert (full.ingest.new, full.ingest.edited, full.ingest.unchanged) == (0, 0, len(stored))
    assert [line for line, _ in bad_full] == [bad_line]
    assert _keys(db) == sorted(f"{platform}:{i}" for i in stored)


def _row(i: int, text: str = "hola") -> str:
    return json.dumps(
        {"id": f"m{i}", "text": f"{text} {i}", "author": "ana", "created_at": "2024-01-01T00:00Z"}
    )


def test_appended_rows_are_read_from_where_the_last_import_stopped(
    db: Store, tmp_path: Path
) -> None:
    path = tmp_path / "grow.jsonl"
    path.write_text("".join(_row(i) + "\n" for i in range(5)), encoding="utf-8")
    first, _ = _import(db, path, "x")
    with path.open("a", encoding="utf-8") as handle:
        handle.write(_row(5) + "\n" + _row(6) + "\n")
    second, _ = _import(db, path, "x")
    # Only the two new rows are read: the import resumed after line 5.
    assert (first.ingest.new, second.rows, second.ingest.new) == (5, 2, 2)
    assert len(_keys(db)) == 7


def test_a_replaced_file_is_read_again_and_edits_are_detected(db: Store, tmp_path: Path) -> None:
    path = tmp_path / "export.jsonl"
    path.write_text("".join(_row(i) + "\n" for i in range(5)), encoding="utf-8")
    _import(db, path, "x")
    # Same length, new content at the top: the next export of the same name.
    path.write_text("".join(_row(i, "hol@") + "\n" for i in range(5)), encoding="utf-8")
    again, _ = _import(db, path, "x")
    assert (again.rows, again.ingest.edited, again.ingest.new) == (5, 5, 0)  # from the top


def test_progress_reaches_the_file_size(db: Store, tmp_path: Path) -> None:
    path = tmp_path / "p.jsonl"
    path.write_text("".join(_row(i) + "\n" for i in range(30)), encoding="utf-8")
    source = FileImport(path, "x", page_size=10)
    seen = []
    for page in source.fetch(None):
        store_page(db, source.name, source.platform, page)
        seen.append(source.progress(page))
    size = path.stat().st_size
    assert len(seen) == 3
    assert seen[-1] == (size, size)


def test_an_import_source_fails_at_once_and_retries_a_failed_file(
    db: Store, tmp_path: Path
) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_text("", encoding="utf-8")
    with pytest.raises(InputError, match="the file is empty"):
        list(FileImport(path, "x").fetch(None))
    # A failure the files source remembered does not stop a later import of the same file.
    path.write_text(_row(1) + "\n", encoding="utf-8")
    failed = {str(path.resolve()): {"line": 0, "size": 1, "mtime": 0.0, "sha": "x", "error": "e"}}
    pages = list(FileImport(path, "x").fetch(failed))
    assert [len(page.mentions) for page in pages] == [1]
    assert FileImport(path, "x").name == import_source_name(path) == f"import:{path.resolve()}"


# --- the files source --------------------------------------------------------------------------


def _settings(tmp_path: Path, **options: object) -> tuple[SourceSettings, Settings]:
    source = SourceSettings.model_validate({"name": "drop", "platform": "files", **options})
    config = tmp_path / "escucha.toml"
    config.write_text("", encoding="utf-8")
    return source, Settings(config_path=config)


def test_files_source_watches_a_folder(db: Store, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(DATA / "mentions.jsonl", inbox / "a.jsonl")
    (inbox / "notes.txt").write_text("ignored", encoding="utf-8")
    source = from_settings(
        *_settings(tmp_path, path="inbox", mention_platform="forum", settle="0s")
    )
    first = poll_source(db, source)
    assert first.error is None
    assert first.ingest.new == 4

    assert poll_source(db, source).pages == 0  # nothing changed: nothing read

    shutil.copy(DATA / "mentions.csv", inbox / "b.csv")
    (inbox / "latin1.csv").write_bytes(
        "id,text,author,created_at,año\nz1,caña,pepe,2024-01-01,2024\n".encode("latin-1")
    )
    third = poll_source(db, source)
    assert third.ingest.new == 3  # b.csv; latin1.csv fails without stopping the others
    assert third.error is not None
    assert "latin1.csv:1: not valid UTF-8" in third.error
    assert len(_keys(db)) == 7

    # The failed file is not retried until it changes; then it is.
    assert poll_source(db, source).error is None
    (inbox / "latin1.csv").write_text(
        "id,text,author,created_at,año\nz1,caña,pepe,2024-01-01,2024\n", encoding="utf-8"
    )
    assert poll_source(db, source).ingest.new == 1


def test_files_source_leaves_files_still_being_written(db: Store, tmp_path: Path) -> None:
    path = tmp_path / "live.jsonl"
    path.write_text(_row(1) + "\n", encoding="utf-8")
    clock: Callable[[], float] = lambda: path.stat().st_mtime + 1  # noqa: E731
    source = FileSource("live", path, "x", settle=_seconds(5), clock=clock)
    assert poll_source(db, source).pages == 0
    source = FileSource("live", path, "x", settle=_seconds(0.5), clock=clock)
    assert poll_source(db, source).ingest.new == 1


def _seconds(value: float):  # type: ignore[no-untyped-def]
    from datetime import timedelta

    return timedelta(seconds=value)


@pytest.mark.parametrize(
    ("options", "key"),
    [
        ({"mention_platform": "x"}, "sources.drop.path"),
        ({"path": "in"}, "sources.drop.mention_platform"),
        ({"path": "in", "mention_platform": "x", "format": "xml"}, "sources.drop.format"),
        ({"path": "in", "mention_platform": "X Y"}, "sources.drop.mention_platform"),
    ],
)
def test_files_source_config_errors_name_the_key(
    tmp_path: Path, options: dict[str, object], key: str
) -> None:
    with pytest.raises(ConfigError) as info:
        from_settings(*_settings(tmp_path, **options))
    assert info.value.key == key
