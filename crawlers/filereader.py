"""Read JSONL and CSV files into Mention records: rows validated one by one, bad rows by line.

Files are streamed line by line in pages; a bad row is reported with its line number and the reason
and the rest is read. A row is bad when it does not validate, when one of its lines is not UTF-8, or
when a field is longer than the caps in ``pipeline.records`` (a row of megabytes is refused whole,
not stored cut: it is a broken export or an attack, and a cut text would be read as the full one).
``start_line``/``start_offset`` resume a read after the rows already consumed.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO, Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from pipeline.errors import ConfigError, InputError
from pipeline.records import (
    MAX_AUTHOR_CHARS,
    MAX_ID_CHARS,
    MAX_TEXT_CHARS,
    MAX_URL_CHARS,
    Mention,
    utc,
)

FileFormat = Literal["jsonl", "csv"]
FIELDS: tuple[str, ...] = (
    "id", "text", "author", "created_at", "url", "lang", "rating", "parent_id",
    "author_followers", "likes", "replies", "shares",
)  # fmt: skip
REQUIRED_COLUMNS: tuple[str, ...] = ("id", "text", "author", "created_at")
SUFFIXES: dict[str, FileFormat] = {
    ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".csv": "csv", ".tsv": "csv",
}  # fmt: skip
HEAD_BYTES = 4096  # how much of a file's start identifies it (a replaced file hashes differently)
PLATFORM_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]*")
PLATFORM_HINT = "use lower-case letters, digits and '_', like x, reddit, forum, google_reviews"
_UTF8_HINT = "save the file as UTF-8 (for example: iconv -f latin1 -t utf-8 IN > OUT)"


class BadRow(NamedTuple):
    """A row that was not imported: its 1-based line number and why."""

    line: int
    reason: str


@dataclass(frozen=True, slots=True)
class FileBatch:
    """One page of a file: the good mentions, the bad rows, and where to resume after it."""

    mentions: tuple[Mention, ...]
    bad_rows: tuple[BadRow, ...]
    next_line: int  # lines consumed so far; pass as ``start_line`` to resume
    next_offset: int  # bytes consumed so far; pass as ``start_offset`` to resume without rescanning


class ImportRow(BaseModel):
    """One documented row of an import file (a JSONL object or a CSV record); others stay raw."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True, allow_inf_nan=False)

    id: str = Field(min_length=1, max_length=MAX_ID_CHARS)
    text: str | None = Field(None, max_length=MAX_TEXT_CHARS)
    author: str = Field(min_length=1, max_length=MAX_AUTHOR_CHARS)
    created_at: datetime
    url: str | None = Field(None, max_length=MAX_URL_CHARS)
    lang: str | None = Field(None, max_length=35)  # the longest BCP 47 tags
    rating: float | None = Field(None, ge=0)
    parent_id: str | None = Field(None, max_length=MAX_ID_CHARS)
    author_followers: int | None = Field(None, ge=0)
    likes: int = Field(0, ge=0)
    replies: int = Field(0, ge=0)
    shares: int = Field(0, ge=0)

    @field_validator("*", mode="before")
    @classmethod
    def _blank_is_missing(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("id", "parent_id", mode="before")
    @classmethod
    def _id(cls, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        return value

    @field_validator("created_at", mode="before")
    @classmethod
    def _timestamp(cls, value: Any) -> Any:
        if isinstance(value, datetime):
            return value
        if not isinstance(value, str):
            raise ValueError("write it as an ISO 8601 string like 2024-05-01T10:30:00+02:00")
        return parse_timestamp(value)

    @field_validator("created_at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return utc(value)

    @field_validator("rating", mode="before")
    @classmethod
    def _decimal_comma(cls, value: Any) -> Any:
        if isinstance(value, str) and value.count(",") == 1 and "." not in value:
            return value.replace(",", ".")  # "4,5" from spreadsheets in Spanish locales
        return value

    @field_validator("likes", "replies", "shares", mode="before")
    @classmethod
    def _zero(cls, value: Any) -> Any:
        return 0 if value is None or (isinstance(value, str) and not value.strip()) else value

    @field_validator("lang")
    @classmethod
    def _lang(cls, value: str | None) -> str | None:
        return value.lower() if value else None

    @model_validator(mode="after")
    def _has_text(self) -> ImportRow:
        if not self.text and self.rating is None:
            raise ValueError("text is empty (only a review with a rating may have no text)")
        return self

    def to_mention(self, platform: str, raw: Mapping[str, Any]) -> Mention:
        kind = "review" if self.rating is not None else "comment" if self.parent_id else "post"
        return Mention(
            platform=platform,
            native_id=self.id,
            text=self.text or "",
            author=self.author,
            created_at=self.created_at,
            url=self.url,
            lang=self.lang,
            rating=self.rating,
            parent_id=self.parent_id,
            author_followers=self.author_followers,
            likes=self.likes,
            replies=self.replies,
            shares=self.shares,
            kind=kind,
            raw=dict(raw),
        )


def parse_timestamp(value: str) -> datetime:
    """Parse an ISO 8601 date or date-time; a naive value is UTC, an offset is converted to UTC."""
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"not an ISO 8601 date-time ({_clip(text)}); write it like 2024-05-01T10:30:00+02:00"
        ) from None
    return utc(parsed)


def parse_row(row: Mapping[str, Any], platform: str) -> Mention:
    """Validate one row and build its Mention; raises ValueError with a short reason."""
    try:
        parsed = ImportRow.model_validate(row)
    except ValidationError as exc:
        raise ValueError(_reason(exc)) from None
    return parsed.to_mention(platform, row)


def _reason(error: ValidationError) -> str:
    parts = []
    for item in error.errors(include_url=False):
        field = ".".join(str(p) for p in item["loc"])
        message = str(item["msg"]).removeprefix("Value error, ")
        if item["type"] == "missing" or item.get("input", "") is None:
            message = "missing"
        elif item["type"] == "string_too_long":
            got = len(item.get("input") or "")
            message = f"{got:,} characters; at most {item['ctx']['max_length']:,} are stored"
        elif field and field != "text" and item["type"] != "value_error":
            message = f"{message} (got {_clip(item.get('input'))})"
        parts.append(f"{field}: {message}" if field else message)
    return "; ".join(parts)


def _clip(value: Any, limit: int = 40) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


def check_platform(platform: str, *, key: str = "platform") -> str:
    """Return ``platform`` if it is a usable platform name, else raise ConfigError."""
    if not PLATFORM_NAME.fullmatch(platform):
        raise ConfigError(
            f"invalid platform name {platform!r}",
            key=key,
            hint=PLATFORM_HINT,
        )
    return platform


def detect_format(path: Path, head: bytes) -> FileFormat:
    """The format from the file name, or from the first byte when the suffix says nothing."""
    known = SUFFIXES.get(path.suffix.lower())
    if known:
        return known
    return "jsonl" if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{") else "csv"


# --- reading ---------------------------------------------------------------------------------


class _Lines:
    """Decoded lines of a binary file, counting line numbers and bytes consumed as they go.

    A line that is not UTF-8 is decoded with replacement characters and remembered in
    ``undecodable`` (line number -> reason), so the row it belongs to is reported, not stored.
    """

    def __init__(self, handle: BinaryIO, path: str, line: int, offset: int) -> None:
        self.handle = handle
        self.path = path
        self.line = line
        self.offset = offset
        self.undecodable: dict[int, str] = {}

    def __iter__(self) -> Iterator[str]:
        for raw in self.handle:
            self.line += 1
            self.offset += len(raw)
            yield self.decode(raw)

    def decode(self, raw: bytes) -> str:
        if self.line == 1:
            if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
                raise InputError("the file is UTF-16", path=self.path, line=1, hint=_UTF8_HINT)
            raw = raw.removeprefix(b"\xef\xbb\xbf")
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            self.undecodable[self.line] = (
                f"not valid UTF-8 (byte 0x{raw[exc.start]:02x} at column {exc.start + 1}); "
                "save the file as UTF-8"
            )
            return raw.decode("utf-8", "replace")

    def take_undecodable(self, first: int, last: int) -> str | None:
        """Why a line from ``first`` to ``last`` is not UTF-8 (the first such), or None."""
        reasons = [self.undecodable.pop(n) for n in sorted(self.undecodable) if first <= n <= last]
        return reasons[0] if reasons else None

    def refuse_undecodable(self) -> None:
        """Raise InputError when the current line (a header) is not UTF-8."""
        reason = self.take_undecodable(self.line, self.line)
        if reason is not None:
            message = reason.removesuffix("; save the file as UTF-8")
            raise InputError(message, path=self.path, line=self.line, hint=_UTF8_HINT)


def read_file(
    path: str | Path,
    platform: str,
    *,
    start_line: int = 0,
    start_offset: int | None = None,
    page_size: int = 500,
    file_format: FileFormat | None = None,
) -> Iterator[FileBatch]:
    """Stream a JSONL or CSV file as batches of at most ``page_size`` rows.

    Resume with ``start_line`` (lines already consumed) and, when known, ``start_offset`` (the
    bytes they took, which saves re-scanning them). Raises InputError for a file that cannot be
    read at all: missing, empty, not UTF-8, a CSV without the required columns.
    """
    check_platform(platform)
    if page_size < 1:
        raise ValueError("page_size must be at least 1")
    target = Path(path)
    where = str(target)
    try:
        handle = target.open("rb")
    except FileNotFoundError:
        raise InputError("no such file", path=where, hint="check the path") from None
    except IsADirectoryError:
        raise InputError("is a folder, not a file", path=where) from None
    except OSError as exc:
        raise InputError(f"cannot read the file ({exc.strerror})", path=where) from None
    with handle:
        head = handle.read(HEAD_BYTES)
        if not head:
            raise InputError("the file is empty", path=where, hint="nothing to import")
        handle.seek(0)
        fmt = file_format or detect_format(target, head)
        lines = _Lines(handle, where, 0, 0)
        records = _csv_records(lines, start_line, start_offset) if fmt == "csv" else None
        if records is None:
            _skip_to(lines, start_line, start_offset)
            records = _jsonl_records(lines)
        yield from _batches(records, lines, platform, page_size, fresh=start_line == 0)


def _skip_to(lines: _Lines, start_line: int, start_offset: int | None) -> None:
    if start_offset is not None and start_line > lines.line:
        lines.handle.seek(start_offset)
        lines.line, lines.offset = start_line, start_offset
        return
    while lines.line < start_line:
        raw = lines.handle.readline()
        if not raw:
            break
        lines.line += 1
        lines.offset += len(raw)


Record = tuple[int, "Mapping[str, Any] | str"]  # (first line, row or the reason it is bad)


def _jsonl_records(lines: _Lines) -> Iterator[Record]:
    for text in lines:
        if not text.strip():
            continue
        undecodable = lines.take_undecodable(lines.line, lines.line)
        if undecodable is not None:
            yield lines.line, undecodable
            continue
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            yield lines.line, f"not valid JSON ({exc.msg} at column {exc.colno})"
            continue
        if isinstance(value, list) and lines.line == 1:
            raise InputError(
                "the file holds a JSON array",
                path=lines.path,
                line=1,
                hint="write one JSON object per line (JSONL), e.g. with: jq -c '.[]' IN > OUT",
            )
        if not isinstance(value, dict):
            yield lines.line, f"not a JSON object (got {type(value).__name__})"
            continue
        yield lines.line, value


def _csv_records(lines: _Lines, start_line: int, start_offset: int | None) -> Iterator[Record]:
    header_line = next(iter(lines), None)
    if header_line is None:
        return
    lines.refuse_undecodable()  # without its header no row of the file can be read
    delimiter = max((",", ";", "\t"), key=header_line.count)
    header = next(csv.reader([header_line], delimiter=delimiter), [])
    columns = [name.strip().lower() for name in header]
    missing = [name for name in REQUIRED_COLUMNS if name not in columns]
    if missing:
        raise InputError(
            f"missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)} in the header"
            f" (found: {', '.join(columns) or 'none'})",
            path=lines.path,
            line=1,
            hint=f"the first line must name the columns; required: {', '.join(REQUIRED_COLUMNS)}",
        )
    repeated = sorted({name for name in columns if name and columns.count(name) > 1})
    if repeated:
        raise InputError(f"repeated column {', '.join(repeated)}", path=lines.path, line=1)
    _skip_to(lines, start_line, start_offset)
    reader = csv.reader(lines, delimiter=delimiter)
    first = lines.line + 1
    while True:
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise InputError(f"malformed CSV ({exc})", path=lines.path, line=first) from None
        undecodable = lines.take_undecodable(first, lines.line)
        if not values or (len(values) == 1 and not values[0].strip()):
            first = lines.line + 1
            continue
        if undecodable is not None:
            yield first, undecodable
        elif len(values) != len(columns):
            yield (
                first,
                (
                    f"has {len(values)} fields but the header has {len(columns)}"
                    " (an unquoted delimiter or line break in a value?)"
                ),
            )
        else:
            yield first, dict(zip(columns, values, strict=True))
        first = lines.line + 1


def _batches(
    records: Iterator[Record], lines: _Lines, platform: str, page_size: int, *, fresh: bool
) -> Iterator[FileBatch]:
    mentions: list[Mention] = []
    bad: list[BadRow] = []
    seen = 0
    reported = 0
    for line, record in records:
        seen += 1
        if isinstance(record, str):
            bad.append(BadRow(line, record))
        else:
            try:
                mentions.append(parse_row(record, platform))
            except ValueError as exc:
                bad.append(BadRow(line, str(exc)))
        if len(mentions) + len(bad) >= page_size:
            yield FileBatch(tuple(mentions), tuple(bad), lines.line, lines.offset)
            mentions, bad, reported = [], [], lines.offset
    if fresh and seen == 0:
        raise InputError("the file has no rows", path=lines.path, hint="nothing to import")
    if mentions or bad or (seen and lines.offset != reported):  # trailing blank lines count
        yield FileBatch(tuple(mentions), tuple(bad), lines.line, lines.offset)
