"""The sandbox's record of what was posted: an append-only, fsync'ed JSON-lines log.

The platform itself de-duplicates by idempotency key, so a sender that crashed after posting and
retries gets the first post back instead of a second one. A line cut short by a crash mid-write is
moved aside to ``posts.jsonl.damaged`` and reported; earlier posts are never lost.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

from pipeline.errors import InputError, SourceError

logger = logging.getLogger(__name__)

LOG_NAME = "posts.jsonl"
DAMAGED_SUFFIX = ".damaged"


@dataclass(frozen=True, slots=True)
class SandboxPost:
    """One public reply or private message the sandbox accepted."""

    id: str
    idempotency_key: str
    kind: str
    platform: str
    text: str
    url: str
    sent_at: datetime
    lang: str  # guessed from the text ("es" or "en"), for tests and demo checks
    in_reply_to: str | None = None
    recipient: str | None = None
    private_channel: str | None = None
    case_id: str | None = None
    recipient_id: str | None = None  # the page-scoped id a Facebook/Instagram private reply reached

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["sent_at"] = self.sent_at.isoformat()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SandboxPost:
        fields = dict(data)
        fields["sent_at"] = datetime.fromisoformat(fields["sent_at"])
        return cls(**fields)


class PostLog:
    """Posts kept in ``folder/posts.jsonl``; safe for several instances on the same folder."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / LOG_NAME
        self.damaged_path = folder / (LOG_NAME + DAMAGED_SUFFIX)
        self.repairs: list[str] = []  # what was moved aside, for the health report
        self._posts: list[SandboxPost] = []
        self._by_key: dict[str, SandboxPost] = {}
        self._consumed = 0  # bytes of the file already parsed
        self._lines = 0
        self._lock = threading.Lock()
        with self._locked() as handle:
            self._sync(handle, repair=True)

    def posts(self) -> list[SandboxPost]:
        """Every post so far, oldest first (re-reads what other instances appended)."""
        with self._locked() as handle:
            self._sync(handle, repair=False)
            return list(self._posts)

    def find(self, key: str) -> SandboxPost | None:
        with self._locked() as handle:
            self._sync(handle, repair=False)
            return self._by_key.get(key)

    def append_once(self, key: str, make: Callable[[int], SandboxPost]) -> tuple[SandboxPost, bool]:
        """Return the post stored under ``key``, or build one with ``make(seq)`` and append it.

        The second value says whether a new post was written. The line is fsync'ed before
        this returns, so a post the caller was told about survives a crash.
        """
        with self._locked() as handle:
            self._sync(handle, repair=True)
            existing = self._by_key.get(key)
            if existing is not None:
                return existing, False
            post = make(len(self._posts) + 1)
            line = json.dumps(post.to_json(), ensure_ascii=False).encode("utf-8") + b"\n"
            try:
                handle.seek(0, os.SEEK_END)
                handle.write(line)
                handle.flush()
                os.fsync(handle.fileno())
            except OSError as exc:
                raise SourceError(
                    f"cannot write the post log {self.path} ({exc})", platform="sandbox"
                ) from exc
            self._remember(post)
            self._consumed += len(line)
            self._lines += 1
            return post, True

    @contextmanager
    def _locked(self) -> Iterator[BinaryIO]:
        with self._lock:
            try:
                handle = self.path.open("a+b")
            except OSError as exc:
                raise SourceError(
                    f"cannot open the post log {self.path} ({exc})",
                    platform="sandbox",
                    hint="check that the sandbox state folder exists and is writable",
                ) from exc
            with handle:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
                try:
                    yield handle
                finally:
                    fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def _sync(self, handle: BinaryIO, *, repair: bool) -> None:
        """Parse what was appended since the last call; set aside a damaged tail if asked."""
        handle.seek(0, os.SEEK_END)
        size = handle.tell()
        if size < self._consumed:
            raise InputError(
                "the post log shrank while in use",
                path=str(self.path),
                hint="do not edit the sandbox state folder while escucha runs",
            )
        handle.seek(self._consumed)
        chunk = handle.read(size - self._consumed)
        start = 0
        while start < len(chunk):
            end = chunk.find(b"\n", start)
            if end == -1:
                if repair:
                    self._set_aside(handle, chunk[start:], "a line cut short")
                return
            raw_line = chunk[start : end + 1]
            post = self._parse(raw_line)
            if post is None:
                if end + 1 < len(chunk):
                    raise InputError(
                        "damaged line in the post log",
                        path=str(self.path),
                        line=self._lines + 1,
                        hint="restore the file from a backup or remove that line",
                    )
                if repair:
                    self._set_aside(handle, raw_line, "a damaged last line")
                return
            self._remember(post)
            self._consumed += len(raw_line)
            self._lines += 1
            start = end + 1

    def _parse(self, raw_line: bytes) -> SandboxPost | None:
        try:
            data = json.loads(raw_line.decode("utf-8"))
            return SandboxPost.from_json(data)
        except (ValueError, TypeError, KeyError):
            return None

    def _remember(self, post: SandboxPost) -> None:
        self._posts.append(post)
        self._by_key.setdefault(post.idempotency_key, post)

    def _set_aside(self, handle: BinaryIO, tail: bytes, what: str) -> None:
        """Move an unfinished write out of the log so appends start on a clean line."""
        with self.damaged_path.open("ab") as damaged:
            damaged.write(tail + (b"" if tail.endswith(b"\n") else b"\n"))
            damaged.flush()
            os.fsync(damaged.fileno())
        handle.truncate(self._consumed)
        handle.flush()
        os.fsync(handle.fileno())
        where = f"after line {self._lines}, moved to {self.damaged_path.name}"
        message = f"{what} ({len(tail)} bytes) {where}"
        self.repairs.append(message)
        logger.warning(
            "sandbox post log: %s", message, extra={"path": str(self.path), "line": self._lines}
        )
