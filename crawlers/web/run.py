"""Entry point of one crawl subprocess: ``python -m crawlers.web.run JOB.json``.

The job file holds the spider name, its options, the remembered pages and the output path.
The output gets one JSON line per record as the crawl goes, then a final ``{"type": "done"}``
line; a crawl without that line was killed or crashed.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

from crawlers.web.options import WebOptions

logger = logging.getLogger(__name__)


def crawl_settings(options: WebOptions, output: Path) -> dict[str, Any]:
    """Scrapy settings for one crawl: polite, bounded, and writing to ``output``."""
    delay = options.delay.total_seconds()
    return {
        "BOT_NAME": "escucha",
        "USER_AGENT": options.user_agent,
        "ROBOTSTXT_OBEY": True,
        "AUTOTHROTTLE_ENABLED": True,
        "AUTOTHROTTLE_START_DELAY": delay,
        "AUTOTHROTTLE_MAX_DELAY": max(60.0, delay),
        "AUTOTHROTTLE_TARGET_CONCURRENCY": float(options.concurrency),
        "DOWNLOAD_DELAY": delay,
        "CONCURRENT_REQUESTS_PER_DOMAIN": options.concurrency,
        "DOWNLOAD_MAXSIZE": options.max_page_bytes,
        "DOWNLOAD_WARNSIZE": 0,
        "DOWNLOAD_TIMEOUT": options.page_timeout.total_seconds(),
        "CLOSESPIDER_TIMEOUT": options.max_crawl_time.total_seconds(),
        "CLOSESPIDER_PAGECOUNT": options.max_pages,
        "REDIRECT_MAX_TIMES": 5,
        "RETRY_TIMES": 1,
        "COOKIES_ENABLED": False,
        # no control surfaces: the telnet console and 2.19's remote-control HTTP server run code
        "TELNETCONSOLE_ENABLED": False,
        "REMOTE_CONTROL_ENABLED": False,
        "LOG_LEVEL": "INFO",
        "DOWNLOADER_MIDDLEWARES": {"crawlers.web.middlewares.AddressGuard": 50},
        "ITEM_PIPELINES": {"crawlers.web.middlewares.JsonLinesWriter": 100},
        "ESCUCHA_OUTPUT": str(output),
        "ESCUCHA_ALLOW_PRIVATE_ADDRESSES": options.allow_private_addresses,
    }


def main(argv: list[str]) -> int:
    from scrapy.crawler import CrawlerProcess

    from crawlers.web.spiders import SPIDERS

    if len(argv) != 1:
        sys.stderr.write("usage: python -m crawlers.web.run JOB.json\n")
        return 2
    job = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    options = WebOptions.model_validate(job["options"])
    output = Path(job["output"])
    process = CrawlerProcess(crawl_settings(options, output), install_root_handler=True)
    crawler = process.create_crawler(SPIDERS[options.spider])
    process.crawl(crawler, job=job)
    process.start()
    stats = crawler.stats.get_stats() if crawler.stats else {}
    done = {
        "type": "done",
        "finish_reason": stats.get("finish_reason"),
        "pages": stats.get("response_received_count", 0),
        "requests": stats.get("downloader/request_count", 0),
        "elapsed": stats.get("elapsed_time_seconds"),
    }
    with output.open("a", encoding="utf-8") as file:
        file.write(json.dumps(done, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
