"""The ``files`` source (a watched folder) and ``FileImport`` (``escucha import``), with cursors.

Progress is a per-file cursor ``{path: {"line", "offset", "size", "mtime", "sha", "head"}}`` saved
with every page, so a restart resumes after the last stored page and a replaced file (its first
bytes changed, or it shrank) is read again from the top. Reading the rows is crawlers.filereader's.
"""

from __future__ import annotations

import functools
import glob
import hashlib
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from pydantic import ConfigDict, Field, field_validator

from crawlers.filereader import (
    HEAD_BYTES,
    PLATFORM_HINT,
    PLATFORM_NAME,
    SUFFIXES,
    BadRow,
    FileFormat,
    check_platform,
    read_file,
)
from crawlers.options import Options, parse_options
from pipeline.errors import InputError
from pipeline.records import Page
from pipeline.settings import Settings, SourceSettings, parse_duration

logger = logging.getLogger(__name__)


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
        _log_bad_row(key, bad, source=self.name)


def _log_bad_row(where: str, bad: BadRow, *, source: str) -> None:
    """A skipped row, by line and field; the reason (which may quote the row) only at DEBUG."""
    field = bad.reason.split(":", 1)[0] if ":" in bad.reason else "row"
    logger.warning("%s:%d: row skipped (%s)", where, bad.line, field, extra={"source": source})
    logger.debug("%s:%d: %s", where, bad.line, bad.reason, extra={"source": source})


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
            _log_bad_row(str(self.path), bad, source=self.name)

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
        if not PLATFORM_NAME.fullmatch(value):
            raise ValueError(f"invalid platform name {value!r}; {PLATFORM_HINT}")
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
