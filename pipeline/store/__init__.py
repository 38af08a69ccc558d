"""The DuckDB store: one file, owned by one process, migrated forward on open.

Writers go through ``transaction()`` (serialised by a lock, committed or rolled back whole);
readers use ``read()`` cursors, which DuckDB lets run beside the writer.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb

from pipeline.errors import DatabaseLocked, StorageError
from pipeline.store.migrate import apply_migrations

logger = logging.getLogger(__name__)

Cursor = duckdb.DuckDBPyConnection


class Store:
    """A migrated DuckDB database."""

    def __init__(self, connection: duckdb.DuckDBPyConnection, path: str) -> None:
        self._conn = connection
        self.path = path
        self._lock = threading.RLock()
        self._closed = False

    @classmethod
    def open(cls, path: Path | str, *, migrate: bool = True) -> Store:
        """Open (creating if needed) and migrate the database at ``path`` (":memory:" allowed)."""
        target = str(path)
        if target != ":memory:":
            parent = Path(target).parent
            try:
                parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StorageError(
                    f"cannot create the folder {parent} for the database ({exc})",
                    hint="check the `database` setting and the folder's permissions",
                ) from exc
        try:
            connection = duckdb.connect(target)
        except duckdb.IOException as exc:
            if "lock" in str(exc).lower():
                raise DatabaseLocked(target) from exc
            raise StorageError(f"cannot open the database {target} ({exc})") from exc
        except duckdb.Error as exc:
            raise StorageError(
                f"cannot open the database {target} ({exc})",
                hint="is it a DuckDB file? Move it aside to start a new one",
            ) from exc
        connection.execute("SET TimeZone = 'UTC'")
        store = cls(connection, target)
        if migrate:
            applied = apply_migrations(connection)
            if applied:
                logger.info("applied migrations %s", ", ".join(applied), extra={"db": target})
        return store

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._conn.close()
                self._closed = True

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[Cursor]:
        """One write transaction: everything inside commits together or not at all."""
        with self._lock:
            cursor = self._conn.cursor()
            cursor.execute("SET TimeZone = 'UTC'")
            cursor.begin()
            try:
                yield cursor
            except BaseException:
                cursor.rollback()
                cursor.close()
                raise
            try:
                cursor.commit()
            except duckdb.Error as exc:
                cursor.close()
                raise StorageError(f"could not commit to {self.path} ({exc})") from exc
            cursor.close()

    @contextmanager
    def read(self) -> Iterator[Cursor]:
        """A cursor for reads; it sees committed data."""
        cursor = self._conn.cursor()
        cursor.execute("SET TimeZone = 'UTC'")
        try:
            yield cursor
        finally:
            cursor.close()


def rows(
    cursor: Cursor, sql: str, params: list[Any] | tuple[Any, ...] = ()
) -> list[dict[str, Any]]:
    """Run a query and return its rows as dicts."""
    result = cursor.execute(sql, list(params))
    names = [d[0] for d in result.description or []]
    return [dict(zip(names, row, strict=True)) for row in result.fetchall()]


def one(
    cursor: Cursor, sql: str, params: list[Any] | tuple[Any, ...] = ()
) -> dict[str, Any] | None:
    found = rows(cursor, sql, params)
    return found[0] if found else None


def scalar(cursor: Cursor, sql: str, params: list[Any] | tuple[Any, ...] = ()) -> Any:
    row = cursor.execute(sql, list(params)).fetchone()
    return None if row is None else row[0]
