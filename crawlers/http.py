"""HTTP plumbing shared by the platform connectors: bounded retries, rate-limit waits, an adapter.

Nothing here imports a platform library; each connector maps its own library's exceptions to the
error tree and hands this module only our errors.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import requests
from requests.adapters import HTTPAdapter

from pipeline.errors import RateLimited, SourceError, SourceUnavailable

logger = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    retries: int = 2
    backoff: float = 1.0
    max_wait: float = 60.0


def call_with_retries(
    fn: Callable[[], T],
    *,
    classify: Callable[[Exception], SourceError | None],
    policy: RetryPolicy,
    sleep: Callable[[float], None] = time.sleep,
    what: str = "request",
    retry_unavailable: bool = True,
) -> T:
    """Call ``fn``; retry 5xx/timeouts with backoff and 429s until their reset, within bounds.

    ``classify`` maps a library exception to our error (None: not ours, re-raise as is). A
    RateLimited error is retried only if its ``retry_after`` is known and fits in what is left
    of ``policy.max_wait``; otherwise it is raised at once, so a 429 without a reset header never
    turns into a hot retry loop. Writes pass ``retry_unavailable=False``: a 5xx after a post may
    hide a success, so the caller looks for the post before trying again.
    """
    waited = 0.0
    attempt = 0
    while True:
        try:
            return fn()
        except Exception as exc:
            error = classify(exc)
            if error is None:
                raise
            delay: float | None = None
            if attempt < policy.retries:
                if isinstance(error, RateLimited):
                    delay = error.retry_after
                elif isinstance(error, SourceUnavailable) and retry_unavailable:
                    delay = policy.backoff * (2**attempt)
            if delay is None or waited + delay > policy.max_wait:
                raise error from exc
            logger.info(
                "%s failed (%s); retrying in %.1fs", what, type(error).__name__, delay,
                extra={"attempt": attempt + 1},
            )  # fmt: skip
            sleep(delay)
            waited += delay
            attempt += 1


def seconds_until(epoch: float | None, *, now: float | None = None) -> float | None:
    """Seconds from now to an epoch timestamp (a rate-limit reset), never negative."""
    if epoch is None:
        return None
    current = time.time() if now is None else now
    return max(0.0, float(epoch) - current) + 0.1


class TimeoutAdapter(HTTPAdapter):
    """A requests adapter that applies a default timeout and may rewrite the URL prefix.

    tweepy builds every URL from a hard-coded host; mounting this adapter on its session points
    it at a gateway, a proxy or a test fake without touching tweepy.
    """

    def __init__(
        self, *, timeout: float, real: str | None = None, target: str | None = None
    ) -> None:
        super().__init__()
        self.timeout = timeout
        self.real = real
        self.target = target.rstrip("/") if target else None

    def send(  # type: ignore[override]
        self, request: requests.PreparedRequest, **kwargs: Any
    ) -> requests.Response:
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        if self.real and self.target and request.url and request.url.startswith(self.real):
            request.url = self.target + request.url[len(self.real) :]
        return super().send(request, **kwargs)
