"""The schema: migrations apply once, forward only, and mentions round-trip through the store."""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.errors import StorageError
from pipeline.records import Mention, Page
from pipeline.stages.ingest import store_page
from pipeline.store import Store, rows
from pipeline.store.migrate import apply_migrations, available


def test_all_migrations_apply_to_an_empty_database_and_a_second_run_applies_nothing(tmp_path):
    path = tmp_path / "db.duckdb"
    with Store.open(path) as store, store.read() as cur:
        recorded = [r["name"] for r in rows(cur, "SELECT name FROM _migrations ORDER BY number")]
    assert recorded == [m.name for m in available()]
    connection = duckdb.connect(str(path))
    try:
        assert apply_migrations(connection) == []
    finally:
        connection.close()


def test_a_database_from_a_newer_version_is_refused(tmp_path):
    path = tmp_path / "db.duckdb"
    Store.open(path).close()
    connection = duckdb.connect(str(path))
    connection.execute("INSERT INTO _migrations VALUES (9999, '9999_future.sql', now())")
    connection.close()
    with pytest.raises(StorageError, match="newer version"):
        Store.open(path)


def test_a_second_process_gets_a_clear_error_while_the_file_is_held(tmp_path):
    import subprocess
    import sys

    path = tmp_path / "db.duckdb"
    with Store.open(path):
        code = (
            "import sys\nfrom pipeline.store import Store\nfrom pipeline.errors import DatabaseLocked\n"
            f"try:\n    Store.open({str(path)!r})\nexcept DatabaseLocked as e:\n"
            "    print(e); sys.exit(3)\n"
        )
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 3, done.stderr
    assert "in use by another process" in done.stdout
    assert "escucha serve" in done.stdout


texts = st.text(min_size=1, max_size=200).filter(lambda s: "\x00" not in s)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    native_id=st.text(alphabet="abcdef0123456789", min_size=1, max_size=20),
    text=texts,
    author=st.text(alphabet="abcdefghij_", min_size=1, max_size=15),
    followers=st.none() | st.integers(min_value=0, max_value=10**9),
    rating=st.none() | st.floats(min_value=1, max_value=5),
    created=st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    ),
)
def test_a_mention_round_trips_through_the_store(
    native_id, text, author, followers, rating, created
):
    mention = Mention(
        platform="x", native_id=native_id, text=text, author=author, created_at=created,
        author_followers=followers, rating=rating, raw={"id": native_id, "nested": {"a": [1]}},
    )  # fmt: skip
    with Store.open(":memory:") as store:
        first = store_page(store, "s", "x", Page((mention,), cursor={"since": native_id}))
        again = store_page(store, "s", "x", Page((mention,), cursor={"since": native_id}))
        with store.read() as cur:
            (row,) = rows(cur, "SELECT * FROM mentions")
    assert (first.new, again.new, again.unchanged) == (1, 0, 1)
    assert row["key"] == mention.key
    assert row["text"] == text
    assert row["author"] == author
    assert row["created_at"] == created
    assert row["author_followers"] == followers
    assert row["rating"] == rating


def test_an_edited_mention_is_updated_and_scored_again():
    base = Mention(
        platform="x", native_id="1", text="bad", author="a", created_at=datetime.now(UTC)
    )
    edited = Mention(
        platform="x", native_id="1", text="fixed now", author="a", created_at=base.created_at
    )
    with Store.open(":memory:") as store:
        store_page(store, "s", "x", Page((base,)))
        with store.transaction() as cur:
            cur.execute("UPDATE mentions SET stage = 'triaged'")
        result = store_page(store, "s", "x", Page((edited,)))
        with store.read() as cur:
            (row,) = rows(cur, "SELECT text, edits, stage FROM mentions")
    assert result.edited == 1
    assert row == {"text": "fixed now", "edits": 1, "stage": "new"}


def test_a_failing_page_stores_nothing_and_keeps_the_old_cursor():
    good = Mention(platform="x", native_id="1", text="a", author="a", created_at=datetime.now(UTC))
    with Store.open(":memory:") as store:
        store_page(store, "s", "x", Page((good,), cursor={"since": "1"}))
        with pytest.raises(duckdb.Error), store.transaction() as cur:
            cur.execute("INSERT INTO mentions (key) VALUES ('half-written')")
        with store.read() as cur:
            assert [r["key"] for r in rows(cur, "SELECT key FROM mentions")] == ["x:1"]
            assert rows(cur, "SELECT cursor FROM source_state")[0]["cursor"] == '{"since": "1"}'
