"""What the service counts for Prometheus, and the request id that ties a log line to a request.

Counters and histograms live in one registry for the process (``REGISTRY``); the service adds to
them as it polls, scores and sends, the API as it answers. Depths of the work waiting (scoring,
triage, outbox, webhooks) are read from the store when ``/metrics`` is scraped, so they are true
even after a restart. Labels never carry message text, handles or ids: sources, outcomes, route
templates and statuses only.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

REGISTRY = CollectorRegistry(auto_describe=True)

POLLS = Counter(
    "escucha_polls", "Source polls, by source and outcome (ok, error, rate_limited).",
    ["source", "outcome"], registry=REGISTRY,
)  # fmt: skip
INGESTED = Counter(
    "escucha_mentions_ingested", "Mentions stored by polls, by source and kind (new, edited).",
    ["source", "kind"], registry=REGISTRY,
)  # fmt: skip
SCORED = Counter("escucha_mentions_scored", "Mentions scored by the model.", registry=REGISTRY)
SCORING = Histogram(
    "escucha_scoring_batch_seconds", "Wall time of one scoring batch (model and store write).",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32), registry=REGISTRY,
)  # fmt: skip
SCORING_PER_MENTION = Histogram(
    "escucha_scoring_seconds_per_mention", "Scoring batch time divided by its mentions.",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1), registry=REGISTRY,
)  # fmt: skip
CYCLES = Histogram(
    "escucha_cycle_seconds", "Wall time of one service cycle (polls started, score, send, read).",
    buckets=(0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300), registry=REGISTRY,
)  # fmt: skip
CYCLE_ERRORS = Counter(
    "escucha_cycle_errors", "Errors a service cycle reported (the log says which).",
    registry=REGISTRY,
)  # fmt: skip
OUTBOX = Counter(
    "escucha_outbox_messages", "Outbox messages handled, by outcome (sent, retried, failed).",
    ["outcome"], registry=REGISTRY,
)  # fmt: skip
HTTP = Histogram(
    "escucha_http_request_seconds", "API latency by method, route template and status code.",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10), registry=REGISTRY,
)  # fmt: skip


class Backlog(Collector):
    """Gauges read when scraped: ``read()`` answers ``{name: (help, value)}``."""

    def __init__(self, read: Callable[[], Mapping[str, tuple[str, float]]]) -> None:
        self.read = read

    def collect(self) -> Iterator[Metric]:
        for name, (help_text, value) in self.read().items():
            yield GaugeMetricFamily(f"escucha_{name}", help_text, value=value)


# -- request ids ---------------------------------------------------------------------------------

REQUEST_ID: ContextVar[str] = ContextVar("request_id", default="-")
_GIVEN_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def request_id(given: str | None) -> str:
    """The caller's ``X-Request-ID`` when it is a plain token (a load balancer's), else new."""
    if given and _GIVEN_ID.match(given):
        return given
    return uuid.uuid4().hex


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` to every log record (``-`` outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        return True
