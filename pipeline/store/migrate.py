"""Forward-only schema migrations from ``migrations/NNNN_name.sql``, recorded in ``_migrations``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

import duckdb

from pipeline.errors import StorageError

_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


@dataclass(frozen=True)
class Migration:
    number: int
    name: str
    sql: str


def available() -> list[Migration]:
    """The bundled migrations, in order."""
    folder = resources.files("pipeline.store") / "migrations"
    found = []
    for entry in folder.iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), entry.name, entry.read_text("utf-8")))
    found.sort(key=lambda m: m.number)
    numbers = [m.number for m in found]
    if len(set(numbers)) != len(numbers):
        raise StorageError("two migrations share a number; renumber the newer one")
    return found


def apply_migrations(connection: duckdb.DuckDBPyConnection) -> list[str]:
    """Apply the migrations not yet recorded, each in its own transaction; return their names."""
    connection.execute(
        "CREATE TABLE IF NOT EXISTS _migrations ("
        " number INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMPTZ NOT NULL)"
    )
    done = {row[0] for row in connection.execute("SELECT number FROM _migrations").fetchall()}
    applied = []
    for migration in available():
        if migration.number in done:
            continue
        connection.begin()
        try:
            connection.execute(migration.sql)
            connection.execute(
                "INSERT INTO _migrations VALUES (?, ?, now())", [migration.number, migration.name]
            )
            connection.commit()
        except duckdb.Error as exc:
            connection.rollback()
            raise StorageError(
                f"migration {migration.name} failed ({exc}); the database was left unchanged",
                hint="restore a backup or report this migration as a bug",
            ) from exc
        applied.append(migration.name)
    known = {m.number for m in available()}
    newer = sorted(done - known)
    if newer:
        raise StorageError(
            f"the database has migrations this version does not know ({newer})",
            hint="upgrade escucha; it was written by a newer version",
        )
    return applied
