"""Helpers shared by the platform connectors: option parsing, secrets, bounded retries, URL rewrite.

Nothing here imports a platform library; each connector maps its own library's exceptions to the
error tree and hands this module only our errors.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

import requests
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator
from requests.adapters import HTTPAdapter

from pipeline.errors import (
    AuthError,
    ConfigError,
    MissingSecret,
    RateLimited,
    SourceError,
    SourceUnavailable,
)
from pipeline.settings import Settings, SourceSettings, parse_duration

logger = logging.getLogger(__name__)

T = TypeVar("T")
M = TypeVar("M", bound="ConnectorOptions")


class ConnectorOptions(BaseModel):
    """Keys every platform connector accepts, besides its own."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    timeout: timedelta = timedelta(seconds=30)  # per HTTP request
    retries: int = 2  # extra attempts after a 5xx, a timeout or a 429 that resets soon
    retry_backoff: timedelta = timedelta(seconds=1)  # first pause after a 5xx; doubles
    max_wait: timedelta = timedelta(seconds=60)  # most one call may sleep, 429 resets included
    max_pages: int = 20  # per stream and poll; the rest is read on the next poll

    _durations = field_validator("timeout", "retry_backoff", "max_wait", mode="before")(
        parse_duration
    )

    def policy(self) -> RetryPolicy:
        return RetryPolicy(
            retries=self.retries,
            backoff=self.retry_backoff.total_seconds(),
            max_wait=self.max_wait.total_seconds(),
        )


def parse_options(model: type[M], source: SourceSettings) -> M:
    """Validate a source's platform keys; errors name ``sources.<name>.<key>``."""
    try:
        return model.model_validate(source.options)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(part) for part in first["loc"]) or "options"
        message = (
            "unknown setting (misspelt?)" if first["type"] == "extra_forbidden" else first["msg"]
        )
        raise ConfigError(
            message,
            key=f"sources.{source.name}.{key}",
            hint=f"see docs/platforms.md for the keys of {source.platform!r} sources",
        ) from exc


def env_name(source: SourceSettings, name: str) -> str:
    """``ESCUCHA_<SOURCE>_<NAME>``: the per-source override of a platform secret."""
    slug = re.sub(r"[^A-Za-z0-9]+", "_", source.name).strip("_").upper()
    return f"ESCUCHA_{slug}_{name.upper()}"


def secret(settings: Settings, source: SourceSettings, name: str, *, needed_for: str) -> str:
    """The per-source secret if set, else the platform-wide ``ESCUCHA_<NAME>``."""
    try:
        return settings.secret(env_name(source, name), needed_for=needed_for)
    except MissingSecret:
        return settings.secret(name, needed_for=needed_for)


def optional_secret(settings: Settings, source: SourceSettings, name: str) -> str | None:
    try:
        return secret(settings, source, name, needed_for=source.name)
    except MissingSecret:
        return None


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


# -- Google APIs (YouTube, Business Profile) -----------------------------------------------------
GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"  # noqa: S105 (an endpoint, not a secret)


def google_credentials(
    settings: Settings, source: SourceSettings, prefix: str, *, token_uri: str
) -> Any | None:
    """OAuth user credentials from ``<PREFIX>_REFRESH_TOKEN`` (+ client id/secret) or a bare
    ``<PREFIX>_ACCESS_TOKEN``; None when neither is set."""
    from google.oauth2.credentials import Credentials

    refresh = optional_secret(settings, source, f"{prefix}_REFRESH_TOKEN")
    if refresh:
        needed = f"refreshing the OAuth token of source {source.name!r}"
        return Credentials(  # type: ignore[no-untyped-call]
            token=None,
            refresh_token=refresh,
            client_id=secret(settings, source, f"{prefix}_CLIENT_ID", needed_for=needed),
            client_secret=secret(settings, source, f"{prefix}_CLIENT_SECRET", needed_for=needed),
            token_uri=token_uri,
        )
    access = optional_secret(settings, source, f"{prefix}_ACCESS_TOKEN")
    return Credentials(token=access) if access else None  # type: ignore[no-untyped-call]


def google_http(credentials: Any | None, timeout: float) -> Any:
    """An httplib2 client with a timeout, authorised with ``credentials`` when given."""
    import google_auth_httplib2
    import httplib2

    http = httplib2.Http(timeout=timeout)
    if credentials is None:
        return http
    return google_auth_httplib2.AuthorizedHttp(credentials, http=http)


def google_error_reason(exc: Any) -> str:
    details = getattr(exc, "error_details", None) or []
    if isinstance(details, list):
        for item in details:
            if isinstance(item, dict) and item.get("reason"):
                return str(item["reason"])
    return ""


def classify_google(
    exc: Exception, *, source: str, service: str, variables: str, quota_reset: float
) -> SourceError | None:
    """Map googleapiclient/httplib2/google-auth exceptions to the error tree."""
    import google.auth.exceptions
    import httplib2
    from googleapiclient.errors import HttpError

    where = {"source": source}
    if isinstance(exc, HttpError):
        status = int(exc.resp.status)
        reason = google_error_reason(exc)
        if status == 401:
            return AuthError(
                f"{service} refused the credentials (401): the token or key is invalid or expired",
                **where,
                hint=f"create new credentials and set {variables}",
            )
        if status == 403 and reason in {"quotaExceeded", "dailyLimitExceeded"}:
            return RateLimited(
                f"{service} daily quota exceeded ({reason})", retry_after=quota_reset, **where
            )
        if status == 429 or reason in {"rateLimitExceeded", "userRateLimitExceeded"}:
            header = exc.resp.get("retry-after")
            retry = float(header) + 0.1 if header else None
            return RateLimited(f"{service} rate limit ({status} {reason})", retry_after=retry,
                               **where)  # fmt: skip
        if status == 403:
            return AuthError(
                f"{service} refused the request (403 {reason})",
                **where,
                hint="check the account's permissions and the OAuth scopes",
            )
        if status >= 500:
            return SourceUnavailable(f"{service} server error ({status})", **where)
        return SourceError(f"{service} rejected the request ({status} {reason})", **where)
    if isinstance(exc, google.auth.exceptions.RefreshError):
        return AuthError(
            f"{service}: the OAuth token is expired or invalid (401) and could not be "
            f"refreshed ({exc})",
            **where,
            hint=f"create a new refresh token and set {variables}",
        )
    if isinstance(exc, ValueError):
        return SourceUnavailable(f"{service} sent a response that is not valid JSON", **where)
    if isinstance(exc, OSError | httplib2.HttpLib2Error):
        return SourceUnavailable(f"cannot reach {service} ({type(exc).__name__}: {exc})", **where)
    return None
