"""Rows as spreadsheet-safe CSV or Parquet downloads."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from fastapi.responses import Response, StreamingResponse

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    """Spreadsheet-safe cell: text starting with a formula character gets a leading quote."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def plain(value: Any) -> Any:
    """A cell value a CSV or Parquet column can hold: times as ISO text, lists joined."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return "; ".join(str(v) for v in value)
    return value


def parquet(items: list[dict[str, Any]], filename: str) -> Response:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pylist(
        [{k: neutralise(plain(v)) for k, v in item.items()} for item in items]
    )
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return Response(
        sink.getvalue(),
        media_type="application/vnd.apache.parquet",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def csv_stream(items: list[dict[str, Any]], columns: list[str], filename: str) -> Response:
    def generate() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(columns)
        for item in items:
            writer.writerow([neutralise(plain(item.get(c))) for c in columns])
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate(0)
        yield buffer.getvalue()

    return StreamingResponse(
        generate(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
