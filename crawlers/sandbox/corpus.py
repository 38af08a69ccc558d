"""The sandbox corpus: loading and checking the bundled JSON lines, one ``CorpusItem`` each."""

from __future__ import annotations

import gzip
import json
import logging
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from pipeline.errors import InputError
from pipeline.records import Mention

logger = logging.getLogger(__name__)

DEFAULT_CORPUS = Path(__file__).resolve().parent / "sandbox_corpus.jsonl.gz"
BASE_URL = "https://sandbox.escucha.local"
_HIDDEN = frozenset({"expected"})  # labels for tests and sanity checks, never shown to the product


@dataclass(frozen=True, slots=True)
class CorpusItem:
    """One mention of the corpus, placed ``offset_s`` seconds after the corpus start."""

    id: str
    platform: str
    text: str
    author: str
    offset_s: float
    lang: str | None = None
    kind: str = "post"
    title: str | None = None
    author_id: str | None = None  # Facebook/Instagram: the page-scoped id of the author
    author_name: str | None = None
    author_followers: int | None = None
    rating: float | None = None
    parent_id: str | None = None
    thread_id: str | None = None
    url: str | None = None
    likes: int = 0
    replies: int = 0
    shares: int = 0
    expected: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def to_mention(self, created_at: datetime, source: str | None = None) -> Mention:
        """The mention as the product sees it: replayed time, no hidden labels."""
        return Mention(
            platform=self.platform,
            native_id=self.id,
            text=self.text,
            author=self.author,
            created_at=created_at,
            url=self.url or f"{BASE_URL}/{self.platform}/{self.id}",
            lang=self.lang,
            title=self.title,
            rating=self.rating,
            parent_id=self.parent_id,
            thread_id=self.thread_id,
            author_id=self.author_id,
            author_name=self.author_name,
            author_followers=self.author_followers,
            likes=self.likes,
            replies=self.replies,
            shares=self.shares,
            kind=self.kind,
            source=source,
            raw={k: v for k, v in self.raw.items() if k not in _HIDDEN},
        )


def load_corpus(path: Path | str | None = None) -> tuple[CorpusItem, ...]:
    """Read a corpus file (JSON lines, gzipped when it ends in .gz), sorted by time then id.

    Raises InputError naming the file and line of the first bad line, or a repeated id.
    """
    resolved = Path(path) if path is not None else DEFAULT_CORPUS
    return _load_cached(resolved.resolve())


@lru_cache(maxsize=4)
def _load_cached(path: Path) -> tuple[CorpusItem, ...]:
    items: list[CorpusItem] = []
    seen: dict[str, int] = {}
    for number, line in _lines(path):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"not valid JSON ({exc.msg})", path=str(path), line=number) from exc
        item = parse_item(data, path=str(path), line=number)
        if item.id in seen:
            raise InputError(
                f"id {item.id!r} repeats the one on line {seen[item.id]}",
                path=str(path),
                line=number,
            )
        seen[item.id] = number
        items.append(item)
    if not items:
        raise InputError("the corpus has no mentions", path=str(path))
    items.sort(key=lambda i: (i.offset_s, i.id))
    logger.debug("loaded %d sandbox mentions", len(items), extra={"corpus": str(path)})
    return tuple(items)


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rt", encoding="utf-8") as handle:
                yield from enumerate(handle, start=1)
        else:
            with path.open(encoding="utf-8") as handle:
                yield from enumerate(handle, start=1)
    except FileNotFoundError as exc:
        raise InputError("corpus file not found", path=str(path)) from exc
    except (OSError, EOFError, zlib.error, UnicodeDecodeError) as exc:
        raise InputError(
            f"cannot read the corpus ({exc})",
            path=str(path),
            hint="regenerate it with `python -m crawlers.sandbox.generator.make_corpus`",
        ) from exc


def parse_item(data: Any, *, path: str, line: int) -> CorpusItem:
    """Check one decoded line and build its item; InputError says which field is wrong."""
    if not isinstance(data, dict):
        raise InputError("expected a JSON object", path=path, line=line)

    def text_field(name: str, *, required: bool = False) -> str | None:
        value = data.get(name)
        if value is None and not required:
            return None
        if not isinstance(value, str) or (required and not value.strip()):
            raise InputError(f"field {name!r} must be a non-empty string", path=path, line=line)
        return value

    def number_field(name: str, default: float | None = None) -> float | None:
        value = data.get(name, default)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise InputError(f"field {name!r} must be a number >= 0", path=path, line=line)
        return float(value)

    offset = number_field("offset_s")
    if offset is None:
        raise InputError("field 'offset_s' is missing", path=path, line=line)
    expected = data.get("expected", {})
    if not isinstance(expected, dict):
        raise InputError("field 'expected' must be an object", path=path, line=line)
    followers = number_field("author_followers")
    return CorpusItem(
        id=str(text_field("id", required=True)),
        platform=str(text_field("platform", required=True)),
        text=str(text_field("text", required=True)),
        author=str(text_field("author", required=True)),
        offset_s=offset,
        lang=text_field("lang"),
        kind=text_field("kind") or "post",
        title=text_field("title"),
        author_id=text_field("author_id"),
        author_name=text_field("author_name"),
        author_followers=int(followers) if followers is not None else None,
        rating=number_field("rating"),
        parent_id=text_field("parent_id"),
        thread_id=text_field("thread_id"),
        url=text_field("url"),
        likes=int(number_field("likes", 0) or 0),
        replies=int(number_field("replies", 0) or 0),
        shares=int(number_field("shares", 0) or 0),
        expected=expected,
        raw=data,
    )
