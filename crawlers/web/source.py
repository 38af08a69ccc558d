"""The ``web`` Source: runs one Scrapy crawl in a subprocess and turns its output into Pages.

The cursor remembers, bounded, what the next crawl needs to stay incremental::

    {"v": 1, "config": "<hash of the extraction options>",
     "pages": {url: {"etag", "modified", "hash", "links"}},   # conditional GETs, change detection
     "items": {native_id: content_hash},                        # already emitted, unchanged
     "threads": [thread native ids that matched the brand query]}

It is returned only with the last Page of a finished crawl; a crawl that was killed or crashed
yields what it found with ``cursor=None`` and raises, so the next run starts from the old cursor
and re-emits (under the same native ids) whatever was not stored.
"""

from __future__ import annotations

import hashlib
import json
import logging
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crawlers.options import parse_options
from crawlers.web.items import PLATFORM, to_mention
from crawlers.web.options import WebOptions, dump_options
from pipeline.errors import ConfigError, SourceError, SourceUnavailable
from pipeline.query import Query
from pipeline.records import Mention, Page, utcnow
from pipeline.settings import Settings, SourceSettings

logger = logging.getLogger(__name__)

CURSOR_VERSION = 1
PAGE_SIZE = 100
_GRACE_SECONDS = 30.0  # beyond max_crawl_time, before the subprocess is killed


@dataclass
class CrawlResult:
    """What one crawl subprocess wrote."""

    mentions: list[Mention] = field(default_factory=list)
    pages: dict[str, dict[str, Any]] = field(default_factory=dict)
    errors: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)
    done: dict[str, Any] | None = None


def read_output(path: Path, source: str) -> CrawlResult:
    """Parse the JSONL output; a torn last line (killed mid-write) is ignored."""
    result = CrawlResult()
    seen_at = utcnow()
    if not path.exists():
        return result
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        try:
            record = json.loads(line)
        except ValueError:
            logger.warning("unreadable line %d of the crawl output skipped", number)
            continue
        kind = record.get("type")
        if kind == "mention":
            try:
                result.mentions.append(to_mention(record, source, seen_at))
            except (KeyError, TypeError, ValueError) as exc:
                logger.warning("bad item from %s: %s", record.get("url"), exc)
        elif kind == "page":
            result.pages[record["url"]] = {
                key: record.get(key) for key in ("etag", "modified", "hash", "links")
            }
        elif kind == "error":
            result.errors.append(record)
        elif kind == "skipped":
            result.skipped.append(record)
        elif kind == "done":
            result.done = record
    return result


def _bounded(entries: dict[str, Any], limit: int) -> dict[str, Any]:
    """Keep the ``limit`` most recently written entries (dicts keep insertion order)."""
    if len(entries) <= limit:
        return entries
    return dict(list(entries.items())[-limit:])


def _config_hash(options: WebOptions) -> str:
    """Changes when extraction would give different results, so pages must be parsed again."""
    relevant = dump_options(options)
    keys = ("spider", "start_urls", "follow", "deny", "max_depth", "site_rules", "allowed_domains")
    data = json.dumps({key: relevant[key] for key in keys}, sort_keys=True)
    return hashlib.sha256(data.encode()).hexdigest()[:16]


class WebSource:
    """A review site, forum or news feed crawled with Scrapy in a subprocess."""

    platform = PLATFORM

    def __init__(
        self,
        name: str,
        options: WebOptions,
        queries: Sequence[Query] = (),
        *,
        python: str = sys.executable,
        kill_after: float | None = None,
    ) -> None:
        self.name = name
        self.kill_after = kill_after
        self.options = options
        self.queries = tuple(queries)
        self.python = python
        self.last_stats: dict[str, Any] = {}
        self.last_errors: list[dict[str, Any]] = []  # {"url", "reason"} of the last crawl
        self._process: subprocess.Popen[bytes] | None = None

    # -- the Source protocol --------------------------------------------------------------

    def fetch(self, cursor: Mapping[str, Any] | None) -> Iterator[Page]:
        state = self._state(cursor)
        result = self.crawl(state["pages"])
        self.last_stats = dict(result.done or {})
        self.last_errors = list(result.errors)
        for error in result.errors:
            logger.warning(
                "source %s: %s failed: %s",
                self.name,
                error.get("url"),
                error.get("reason"),
                extra={"source": self.name, "url": error.get("url")},
            )
        self._raise_if_nothing_fetched(result)
        fresh = self._select(result.mentions, state)
        chunks = [fresh[i : i + PAGE_SIZE] for i in range(0, len(fresh), PAGE_SIZE)] or [[]]
        if result.done is None:
            for chunk in chunks:
                if chunk:
                    yield Page(tuple(chunk), cursor=None)
            raise SourceUnavailable(
                f"the crawl of {', '.join(self.options.start_urls)} stopped before the end "
                f"({len(result.pages)} pages read)",
                source=self.name,
                platform=PLATFORM,
                hint="it resumes from the last saved cursor on the next run; see the log for why",
            )
        new_cursor = self._next_cursor(state, result, fresh)
        for index, chunk in enumerate(chunks):
            last = index == len(chunks) - 1
            yield Page(tuple(chunk), cursor=new_cursor if last else None)

    # -- the crawl ------------------------------------------------------------------------

    def crawl(self, pages: Mapping[str, Any]) -> CrawlResult:
        """Run the subprocess to the end (or kill it past the time limit) and read its output."""
        with tempfile.TemporaryDirectory(prefix="escucha-crawl-") as tmp:
            folder = Path(tmp)
            output = folder / "items.jsonl"
            job = folder / "job.json"
            job.write_text(
                json.dumps(
                    {
                        "source": self.name,
                        "options": dump_options(self.options),
                        "pages": dict(pages),
                        "output": str(output),
                    }
                ),
                encoding="utf-8",
            )
            log_path = folder / "crawl.log"
            limit = self.kill_after or self.options.max_crawl_time.total_seconds() + _GRACE_SECONDS
            command = [self.python, "-m", "crawlers.web.run", str(job)]
            logger.info("source %s: crawling %s", self.name, self.options.start_urls[0])
            with log_path.open("wb") as log:
                process = subprocess.Popen(  # noqa: S603 - our own module, fixed arguments
                    command, stdout=subprocess.DEVNULL, stderr=log
                )
                self._process = process
                try:
                    code = process.wait(timeout=limit)
                except subprocess.TimeoutExpired:
                    logger.error("source %s: crawl past %.0fs, killed", self.name, limit)
                    process.kill()
                    code = process.wait()
                finally:
                    self._process = None
            result = read_output(output, self.name)
            if result.done is None or code != 0:
                tail = log_path.read_text(encoding="utf-8", errors="replace")[-2000:]
                logger.error(
                    "source %s: crawl exited with %s; log tail:\n%s",
                    self.name,
                    code,
                    tail,
                    extra={"source": self.name},
                )
                result.done = None
            return result

    def cancel(self) -> None:
        """Kill the crawl in progress (from another thread); its fetch() then raises."""
        process = self._process
        if process is not None and process.poll() is None:
            logger.warning("source %s: crawl cancelled", self.name, extra={"source": self.name})
            process.kill()

    # -- helpers --------------------------------------------------------------------------

    def _state(self, cursor: Mapping[str, Any] | None) -> dict[str, Any]:
        cursor = cursor or {}
        config = _config_hash(self.options)
        same = cursor.get("v") == CURSOR_VERSION and cursor.get("config") == config
        return {
            "config": config,
            # new extraction options: every page must be parsed again (items stay remembered)
            "pages": dict(cursor.get("pages") or {}) if same else {},
            "items": dict(cursor.get("items") or {}),
            "threads": list(cursor.get("threads") or []),
        }

    def _raise_if_nothing_fetched(self, result: CrawlResult) -> None:
        if result.pages or result.done is None:
            return
        failed = {error.get("url"): error.get("reason") for error in result.errors}
        starts = [url for url in self.options.start_urls if url in failed]
        if starts:
            url = starts[0]
            raise SourceUnavailable(
                f"{url}: {failed[url]}",
                source=self.name,
                platform=PLATFORM,
                hint="check the URL, the site's availability and allow_private_addresses",
            )
        if result.skipped:
            raise SourceError(
                f"{result.skipped[0].get('url')}: {result.skipped[0].get('reason')}",
                source=self.name,
                platform=PLATFORM,
                hint="the site's robots.txt forbids crawling the start URLs",
            )

    def _select(self, mentions: list[Mention], state: dict[str, Any]) -> list[Mention]:
        """Drop what was already emitted unchanged, and (if asked) what misses the query."""
        remembered: dict[str, str] = state["items"]
        threads: set[str] = set(state["threads"])
        unique: dict[str, Mention] = {}
        for mention in mentions:
            unique[mention.native_id] = mention  # the last copy wins (a page read twice)
        if self.options.keep_matching_only:
            threads |= {
                m.native_id
                for m in unique.values()
                if m.thread_id in (None, m.native_id) and self._matches(m)
            }
            state["threads"] = sorted(threads)
        fresh = []
        for mention in unique.values():
            if remembered.get(mention.native_id) == mention.content_hash:
                continue
            if self.options.keep_matching_only and not (
                self._matches(mention) or (mention.thread_id and mention.thread_id in threads)
            ):
                continue
            fresh.append(mention)
        return fresh

    def _matches(self, mention: Mention) -> bool:
        text = f"{mention.title or ''}\n{mention.text}"
        return any(query.matches(text) for query in self.queries)

    def _next_cursor(
        self, state: dict[str, Any], result: CrawlResult, fresh: list[Mention]
    ) -> dict[str, Any]:
        pages = state["pages"]
        for url, entry in result.pages.items():
            pages.pop(url, None)
            pages[url] = entry
        items = state["items"]
        for mention in fresh:
            items.pop(mention.native_id, None)
            items[mention.native_id] = mention.content_hash
        return {
            "v": CURSOR_VERSION,
            "config": state["config"],
            "pages": _bounded(pages, self.options.max_remembered_pages),
            "items": _bounded(items, self.options.max_remembered_items),
            "threads": state["threads"][-self.options.max_remembered_items :],
        }


def brand_queries(source: SourceSettings, settings: Settings) -> list[Query]:
    """The brand queries a source's items are matched against (its brand, else every brand)."""
    brands = settings.brands
    if source.brand is not None:
        brands = [brand for brand in settings.brands if brand.name == source.brand]
        if not brands:
            known = ", ".join(brand.name for brand in settings.brands) or "none"
            raise ConfigError(
                f"unknown brand {source.brand!r} (configured: {known})",
                key=f"sources.{source.name}.brand",
            )
    queries = []
    for brand in brands:
        if brand.query:
            queries.append(Query.parse(brand.query, key=f"brands.{brand.name}.query"))
        else:
            terms = [brand.name, *brand.keywords, *brand.handles]
            queries.append(Query.any_of(terms, key=f"brands.{brand.name}.keywords"))
    return queries


def from_settings(source: SourceSettings, settings: Settings) -> WebSource:
    """Build the web source for one ``[[sources]]`` table (the registry's factory)."""
    options = parse_options(WebOptions, source, docs="docs/crawling.md")
    queries = brand_queries(source, settings)
    if options.keep_matching_only and not queries:
        raise ConfigError(
            "this source keeps only items matching a brand query, but no brand is configured",
            key=f"sources.{source.name}.brand",
            hint="add a [[brands]] table with a query, or set match_query = false",
        )
    return WebSource(source.name, options, queries)
