"""Web crawlers (Scrapy): review sites, forums and news articles linked from feeds.

The service imports only :mod:`crawlers.web.source` (no Scrapy); each crawl runs Scrapy in a
subprocess, ``python -m crawlers.web.run JOB.json``, which writes a JSONL file the source reads.
"""
