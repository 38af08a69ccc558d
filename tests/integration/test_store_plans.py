"""The lookups behind the case and mention pages read through an index, not the whole table:
checked in DuckDB's own profile of the store's queries (a table scan of "Type: Index Scan"
reading only the rows it needs)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from pipeline.records import Mention, Page
from pipeline.stages.ingest import store_page
from pipeline.store import Cursor, Store, search
from pipeline.store import cases as cq

N = 20_000
T0 = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    path = tmp_path_factory.mktemp("plans") / "escucha.duckdb"
    mentions = tuple(
        Mention(
            platform="x", native_id=str(i), text=f"hola {i}", author=f"a{i % 500}",
            created_at=T0 + timedelta(minutes=i), thread_id=str(i - i % 10) if i % 10 else None,
        )
        for i in range(N)
    )  # fmt: skip
    with Store.open(path) as opened:
        store_page(opened, "test", "x", Page(mentions))
        yield opened


def _scans(node: dict[str, Any]) -> list[dict[str, Any]]:
    found = [node] if node.get("type") == "TABLE_SCAN" else []
    for child in node.get("children", []):
        found += _scans(child)
    return found


def _profile(store: Store, tmp_path: Path, call: Callable[[Cursor], Any]) -> list[dict[str, Any]]:
    """The table scans of the last query ``call`` runs."""
    output = tmp_path / "profile.json"
    with store.read() as cur:
        cur.execute("PRAGMA enable_profiling='json'")
        cur.execute(f"PRAGMA profiling_output='{output}'")
        call(cur)
        cur.execute("PRAGMA disable_profiling")
    return [scan for op in json.loads(output.read_text())["operator"] for scan in _scans(op)]


@pytest.mark.parametrize(
    ("what", "call"),
    [
        ("a thread's replies", lambda cur: cq.thread_keys(cur, "x:100")),
        ("a mention by key", lambda cur: search.mention(cur, "x:12345")),
    ],
)
def test_lookups_read_an_index_not_the_table(store, tmp_path, what, call) -> None:
    scans = _profile(store, tmp_path, call)
    mentions = [s for s in scans if s["extra_info"].get("Table", "").endswith(".mentions")]
    assert mentions, f"{what}: no scan of mentions in the profile"
    for scan in mentions:
        assert scan["extra_info"].get("Type") == "Index Scan", (what, scan["extra_info"])
        assert scan["rows_scanned"] < 100, (what, scan["rows_scanned"])
