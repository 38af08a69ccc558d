"""File import: JSONL and CSV mentions for ``escucha import`` and the ``files`` source (a folder).

Files are streamed line by line. Each row is validated on its own: a bad row is reported with its
line number and the reason, and the rest is imported. Progress is a per-file cursor
``{path: {"line", "offset", "size", "mtime", "sha", "head"}}`` saved with every page, so a restart
resumes after the last stored page and a replaced file (its first bytes changed, or it shrank) is
read again from the top.
"""

from __future__ import annotations

import csv
import functools
import glob
import hashlib
import json
import logging
import re
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO, Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from crawlers.options import Options, parse_options
from pipeline.errors import ConfigError, InputError
from pipeline.records import Mention, Page, utc
from pipeline.settings import Settings, SourceSettings, parse_duration

logger = logging.getLogger(__name__)

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
_PLATFORM = re.compile(r"[a-z0-9][a-z0-9_.-]*")
_PLATFORM_HINT = "use lower-case letters, digits and '_', like x, reddit, forum, google_reviews"
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

    id: str = Field(min_length=1)
    text: str | None = None
    author: str = Field(min_length=1)
    created_at: datetime
    url: str | None = None
    lang: str | None = None
    rating: float | None = Field(None, ge=0)
    parent_id: str | None = None
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
        elif field and field != "text" and item["type"] != "value_error":
            message = f"{message} (got {_clip(item.get('input'))})"
        parts.append(f"{field}: {message}" if field else message)
    return "; ".join(parts)


def _clip(value: Any, limit: int = 40) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


def check_platform(platform: str, *, key: str = "platform") -> str:
    """Return ``platform`` if it is a usable platform name, else raise ConfigError."""
    if not _PLATFORM.fullmatch(platform):
        raise ConfigError(
            f"invalid platform name {platform!r}",
            key=key,
            hint=_PLATFORM_HINT,
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
    """Decoded lines of a binary file, counting line numbers and bytes consumed as they go."""

    def __init__(self, handle: BinaryIO, path: str, line: int, offset: int) -> None:
        self.handle = handle
        self.path = path
        self.line = line
        self.offset = offset

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
            raise InputError(
                f"not valid UTF-8 (byte 0x{raw[exc.start]:02x} at column {exc.start + 1})",
                path=self.path,
                line=self.line,
                hint=_UTF8_HINT,
            ) from None


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
        if not values or (len(values) == 1 and not values[0].strip()):
            first = lines.line + 1
            continue
        if len(values) != len(columns):
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


# --- per-file cursor -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FileState:
    """What the cursor remembers of one file."""

    line: int
    offset: int
    size: int
    mtime: float
    sha: str
    head: int  # how many leading bytes ``sha`` covers
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "line": self.line, "offset": self.offset, "size": self.size, "mtime": self.mtime,
            "sha": self.sha, "head": self.head,
        }  # fmt: skip
        if self.error:
            data["error"] = self.error
        return data

    @classmethod
    def from_json(cls, data: Any) -> FileState | None:
        if not isinstance(data, Mapping):
            return None
        try:
            return cls(
                line=int(data["line"]),
                offset=int(data.get("offset", 0)),
                size=int(data["size"]),
                mtime=float(data["mtime"]),
                sha=str(data["sha"]),
                head=int(data.get("head", HEAD_BYTES)),
                error=data.get("error"),
            )
        except (KeyError, TypeError, ValueError):
            return None


def _head_sha(path: Path, length: int) -> str:
    with path.open("rb") as handle:
        return hashlib.sha256(handle.read(length)).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class _Plan:
    """Where to read a file from, and the fingerprint to save with its progress."""

    start_line: int
    start_offset: int | None
    size: int
    mtime: float
    sha: str
    head: int

    def state(self, line: int, offset: int, error: str | None = None) -> FileState:
        return FileState(line, offset, self.size, self.mtime, self.sha, self.head, error)


def _plan(path: Path, previous: FileState | None) -> _Plan | None:
    """Decide how to read ``path`` given its saved state; None when it has not changed."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise InputError("no such file", path=str(path), hint="check the path") from None
    except OSError as exc:
        raise InputError(f"cannot read the file ({exc.strerror})", path=str(path)) from None
    unchanged = (
        previous is not None and previous.size == info.st_size and previous.mtime == info.st_mtime
    )
    if previous and unchanged and (previous.error or previous.offset >= info.st_size):
        return None  # read to the end (or failed) and not touched since
    head = min(info.st_size, HEAD_BYTES)
    try:
        sha = _head_sha(path, head)
        same = previous is not None and (
            info.st_size >= previous.size and _head_sha(path, previous.head) == previous.sha
        )
    except OSError as exc:
        raise InputError(f"cannot read the file ({exc.strerror})", path=str(path)) from None
    if previous and same and (info.st_size > previous.size or unchanged):
        # The same file, grown or only partly read: carry on after the last stored page.
        return _Plan(previous.line, previous.offset or None, info.st_size, info.st_mtime, sha, head)
    if previous and not same:
        logger.info("file replaced, reading it again", extra={"path": str(path)})
    return _Plan(0, None, info.st_size, info.st_mtime, sha, head)


# --- the ``files`` source --------------------------------------------------------------------


def _pages(
    path: Path,
    plan: _Plan,
    state: dict[str, Any],
    *,
    platform: str,
    page_size: int,
    file_format: FileFormat | None,
    on_bad_row: Callable[[BadRow], None],
) -> Iterator[Page]:
    """Read ``path`` from where ``plan`` says: one page per batch, each with the whole cursor."""
    key = str(path)
    batches = read_file(
        path,
        platform,
        start_line=plan.start_line,
        start_offset=plan.start_offset,
        page_size=page_size,
        file_format=file_format,
    )
    for batch in batches:
        for bad in batch.bad_rows:
            on_bad_row(bad)
        state[key] = plan.state(batch.next_line, batch.next_offset).to_json()
        yield Page(batch.mentions, cursor=dict(state))


class FileSource:
    """Reads new rows from one file or a folder of files (``path`` = file, folder or glob)."""

    platform = "files"

    def __init__(
        self,
        name: str,
        path: str | Path,
        mention_platform: str,
        *,
        page_size: int = 500,
        settle: timedelta = timedelta(seconds=5),
        file_format: FileFormat | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.name = name
        self.path = str(path)
        self.mention_platform = check_platform(mention_platform)
        self.page_size = page_size
        self.settle = settle.total_seconds()
        self.file_format = file_format
        self._clock = clock

    def paths(self) -> list[Path]:
        """The files to read now, oldest first."""
        target = Path(self.path)
        if target.is_dir():
            found = [p for p in target.iterdir() if p.suffix.lower() in SUFFIXES]
        elif glob.has_magic(self.path):
            found = [Path(p) for p in glob.glob(self.path)]  # noqa: PTH207 - absolute patterns
        else:
            found = [target]
        files = [p.resolve() for p in found if p.is_file() or p == target]
        return sorted(files, key=lambda p: (_mtime(p), str(p)))

    def fetch(self, cursor: Mapping[str, Any] | None) -> Iterator[Page]:
        """Yield one page per batch of new rows, each with the whole updated cursor."""
        paths = self.paths()
        live = {str(p) for p in paths}
        # Forget files that are gone, so the cursor stays as small as the folder.
        state: dict[str, Any] = {k: v for k, v in (cursor or {}).items() if k in live}
        failures: list[InputError] = []
        now = self._clock()
        for path in paths:
            key = str(path)
            try:
                if path.stat().st_size == 0 or now - path.stat().st_mtime < self.settle:
                    continue  # still being written, most likely
                plan = _plan(path, FileState.from_json(state.get(key)))
                if plan is None:
                    continue
                yield from _pages(
                    path, plan, state, platform=self.mention_platform, page_size=self.page_size,
                    file_format=self.file_format, on_bad_row=functools.partial(self._bad_row, key),
                )  # fmt: skip
            except FileNotFoundError:
                continue  # removed while we were looking
            except InputError as exc:
                logger.error("cannot import %s: %s", key, exc, extra={"source": self.name})
                failures.append(exc)
                failed = _failed_state(path, FileState.from_json(state.get(key)), exc)
                if failed is not None:
                    state[key] = failed.to_json()
                    yield Page((), cursor=dict(state))
        if failures:
            more = f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""
            first = failures[0]
            raise InputError(
                f"{first.message}{more}",
                hint="fix or replace the file; it is read again when it changes",
            )

    def _bad_row(self, key: str, bad: BadRow) -> None:
        logger.warning("%s:%d: %s", key, bad.line, bad.reason, extra={"source": self.name})


def _failed_state(path: Path, progress: FileState | None, error: InputError) -> FileState | None:
    """Remember a file that failed, so it is tried again only once it changes."""
    try:
        info = path.stat()
        head = min(info.st_size, HEAD_BYTES)
        sha = _head_sha(path, head)
    except OSError:
        return None
    line, offset = (progress.line, progress.offset) if progress else (0, 0)
    return FileState(line, offset, info.st_size, info.st_mtime, sha, head, str(error))


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


# --- ``escucha import``: one file, read the way the files source reads it ---------------------


def import_source_name(path: str | Path) -> str:
    """The cursor key of a CLI import of ``path``: ``import:<absolute path>``."""
    return f"import:{Path(path).resolve()}"


class FileImport:
    """The Source behind ``escucha import``: one file, paged like the ``files`` source.

    Stored under :func:`import_source_name` like any source's pages (mentions and cursor in one
    transaction), so an interrupted import resumes after its last stored page and re-importing an
    unchanged file reads nothing. Unlike a watched folder, a problem is the user's to see now: an
    unreadable file raises at once and is not remembered, a file that failed before is read from
    the top, a freshly written file is read at once, and bad rows go to ``on_bad_row(line,
    reason)``.
    """

    platform = "files"

    def __init__(
        self,
        path: str | Path,
        mention_platform: str,
        *,
        on_bad_row: Callable[[int, str], None] | None = None,
        page_size: int = 500,
        file_format: FileFormat | None = None,
    ) -> None:
        self.path = Path(path).resolve()
        self.name = import_source_name(self.path)
        self.mention_platform = check_platform(mention_platform)
        self.on_bad_row = on_bad_row
        self.page_size = page_size
        self.file_format = file_format

    def fetch(self, cursor: Mapping[str, Any] | None) -> Iterator[Page]:
        """The file's unread rows, one page per batch; nothing when it has not changed."""
        key = str(self.path)
        previous = FileState.from_json((cursor or {}).get(key))
        if previous and previous.error:
            previous = None  # a failed import is retried from the top
        plan = _plan(self.path, previous)
        if plan is None:
            return
        yield from _pages(
            self.path, plan, {}, platform=self.mention_platform, page_size=self.page_size,
            file_format=self.file_format, on_bad_row=self._bad_row,
        )  # fmt: skip

    def _bad_row(self, bad: BadRow) -> None:
        if self.on_bad_row is not None:
            self.on_bad_row(bad.line, bad.reason)
        else:
            logger.warning("%s:%d: %s", self.path, bad.line, bad.reason)

    def progress(self, page: Page) -> tuple[int, int]:
        """Bytes read and the file's size once ``page`` is stored."""
        state = FileState.from_json((page.cursor or {}).get(str(self.path)))
        if state is None:
            return 0, 0
        return state.offset, max(state.size, state.offset)


class FilesOptions(Options):
    """Keys of a ``files`` source."""

    model_config = ConfigDict(extra="ignore")  # keys it does not know were always ignored

    path: str = Field("", validate_default=True)  # a file, a folder or a glob
    mention_platform: str = Field("", validate_default=True)  # what the rows are
    format: FileFormat | None = None
    settle: timedelta = timedelta(seconds=5)
    page_size: int = 500

    _settle = field_validator("settle", mode="before")(parse_duration)

    @field_validator("path")
    @classmethod
    def _path(cls, value: str) -> str:
        if not value:
            raise ValueError("a files source needs `path` (a file, a folder or a glob)")
        return value

    @field_validator("mention_platform")
    @classmethod
    def _platform(cls, value: str) -> str:
        if not value:
            raise ValueError(
                "a files source needs `mention_platform` (what the rows are: x, reddit, forum...)"
            )
        if not _PLATFORM.fullmatch(value):
            raise ValueError(f"invalid platform name {value!r}; {_PLATFORM_HINT}")
        return value

    @field_validator("format", mode="before")
    @classmethod
    def _format(cls, value: Any) -> Any:
        if value not in (None, "jsonl", "csv"):
            raise ValueError('use `format = "jsonl"` or `"csv"`')
        return value

    @field_validator("page_size")
    @classmethod
    def _page_size(cls, value: int) -> int:
        if value < 1:
            raise ValueError("page_size must be at least 1")
        return value


def from_settings(source: SourceSettings, settings: Settings) -> FileSource:
    """Build a FileSource from a ``[[sources]]`` table with ``platform = "files"``."""
    options = parse_options(FilesOptions, source, docs="docs/import.md")
    resolved = Path(options.path).expanduser()
    if not resolved.is_absolute() and settings.config_path is not None:
        resolved = settings.config_path.resolve().parent / resolved
    return FileSource(
        source.name,
        resolved,
        options.mention_platform,
        page_size=options.page_size,
        settle=options.settle,
        file_format=options.format,
    )
