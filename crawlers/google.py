"""Google APIs (YouTube, Business Profile): OAuth credentials, the HTTP client, error mapping and
the one ``execute`` every googleapiclient request goes through.

googleapiclient, google-auth and httplib2 are imported inside the functions, so importing this
module stays cheap.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from crawlers.http import RetryPolicy, call_with_retries
from pipeline.errors import AuthError, RateLimited, SourceError, SourceUnavailable
from pipeline.settings import Settings, SourceSettings

GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"  # noqa: S105 (an endpoint, not a secret)


def google_credentials(
    settings: Settings, source: SourceSettings, prefix: str, *, token_uri: str
) -> Any | None:
    """OAuth user credentials from ``<PREFIX>_REFRESH_TOKEN`` (+ client id/secret) or a bare
    ``<PREFIX>_ACCESS_TOKEN``; None when neither is set."""
    from google.oauth2.credentials import Credentials

    refresh = settings.optional_source_secret(source.name, f"{prefix}_REFRESH_TOKEN")
    if refresh:
        needed = f"refreshing the OAuth token of source {source.name!r}"
        return Credentials(  # type: ignore[no-untyped-call]
            token=None,
            refresh_token=refresh,
            client_id=settings.source_secret(source.name, f"{prefix}_CLIENT_ID", needed_for=needed),
            client_secret=settings.source_secret(
                source.name, f"{prefix}_CLIENT_SECRET", needed_for=needed
            ),
            token_uri=token_uri,
        )
    access = settings.optional_source_secret(source.name, f"{prefix}_ACCESS_TOKEN")
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


def execute(
    build: Callable[[], Any],
    what: str,
    *,
    classify: Callable[[Exception], SourceError | None],
    policy: RetryPolicy,
    sleep: Callable[[float], None],
    write: bool = False,
    before_each: Callable[[], None] | None = None,
) -> Any:
    """Build and execute a googleapiclient request with bounded retries; return its JSON object.

    ``build`` makes a fresh request for each attempt; ``before_each`` runs before every attempt
    (YouTube charges quota per attempt). Writes are not retried after a 5xx (``write=True``): the
    caller looks for the post first.
    """

    def attempt() -> Any:
        if before_each is not None:
            before_each()
        result = build().execute()
        if not isinstance(result, dict):  # googleapiclient hands back unparsable bodies as str
            raise ValueError(f"{what}: the answer is not a JSON object")
        return result

    return call_with_retries(
        attempt, classify=classify, policy=policy, sleep=sleep, what=what,
        retry_unavailable=not write,
    )  # fmt: skip
