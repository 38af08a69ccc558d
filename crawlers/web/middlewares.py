"""Scrapy components of the crawl subprocess: the address guard and the JSON lines writer."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import IO, Any

from scrapy.crawler import Crawler  # noqa: TID253 - runs only in the crawl subprocess
from scrapy.exceptions import IgnoreRequest  # noqa: TID253
from scrapy.http import Request  # noqa: TID253

from crawlers.web.safety import refusal

logger = logging.getLogger(__name__)


class AddressGuard:
    """Downloader middleware: refuse non-http(s) URLs and private addresses, redirects included."""

    def __init__(self, allow_private: bool) -> None:
        self.allow_private = allow_private

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> AddressGuard:
        return cls(crawler.settings.getbool("ESCUCHA_ALLOW_PRIVATE_ADDRESSES"))

    def process_request(self, request: Request) -> None:
        reason = refusal(request.url, allow_private=self.allow_private)
        if reason is not None:
            logger.warning("refused %s: %s", request.url, reason, extra={"url": request.url})
            raise IgnoreRequest(f"refused: {reason}")


class JsonLinesWriter:
    """Item pipeline: one JSON object a line, flushed at once so a killed crawl keeps its lines."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.file: IO[str] | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> JsonLinesWriter:
        return cls(Path(crawler.settings["ESCUCHA_OUTPUT"]))

    def open_spider(self) -> None:
        self.file = self.path.open("a", encoding="utf-8")

    def close_spider(self) -> None:
        if self.file is not None:
            self.file.close()

    def process_item(self, item: dict[str, Any]) -> dict[str, Any]:
        if self.file is not None:
            self.file.write(json.dumps(item, ensure_ascii=False) + "\n")
            self.file.flush()
        return item
