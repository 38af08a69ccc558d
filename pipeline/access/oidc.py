"""Single sign-on with an OpenID Connect provider: the authorisation code flow with PKCE, through
Authlib, ending in a one-time code the dashboard exchanges for an ordinary escucha session.

    begin   -> the provider's authorisation URL (state, nonce and PKCE kept in ``sign_in_flows``)
    finish  -> the escucha user the provider vouched for (code exchanged, ID token validated)
    issue_code / redeem -> a one-time code, valid once for two minutes, for that user

The provider proves who someone is; escucha decides whether they may come in: only a person who
already has an escucha user (matched on e-mail, or on user name) gets one, and only if enabled.
Nothing here logs tokens, codes, claims or e-mail addresses.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import secrets
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import requests
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import (
    BadSignatureError,
    ClaimError,
    ExpiredTokenError,
    JoseError,
)
from joserfc.jwk import KeySet

from pipeline.errors import (
    BadRequest,
    ConfigError,
    Forbidden,
    NotFound,
    NotSignedIn,
    SourceUnavailable,
)
from pipeline.settings import OidcSettings, Settings
from pipeline.store import Store
from pipeline.store import access as users_queries
from pipeline.store import sso as queries

logger = logging.getLogger(__name__)

STATE_TTL = timedelta(minutes=10)  # from the login redirect to the provider's callback
CODE_TTL = timedelta(minutes=2)  # from the callback to the dashboard's exchange
KEEP_FLOWS = timedelta(hours=1)  # finished and abandoned flows are purged after this
TIMEOUT = 10.0  # seconds for each call to the provider
LEEWAY = 60  # seconds of clock difference tolerated on the ID token's times
PROVIDER = "single sign-on"
_AUTH_METHODS = ("client_secret_basic", "client_secret_post")


# -- configuration -----------------------------------------------------------------------------


def configured(settings: Settings) -> OidcSettings:
    """The ``[auth.oidc]`` settings, or ``NotFound`` when single sign-on is not set up."""
    if settings.auth.oidc is None:
        raise NotFound(
            "single sign-on is not configured on this service",
            hint="add an [auth.oidc] block to the configuration (see docs/sso.md)",
        )
    return settings.auth.oidc


def _client_secret(settings: Settings, oidc: OidcSettings) -> str:
    return settings.secret(oidc.client_secret, needed_for=PROVIDER)


def _derived(secret: str, purpose: str) -> str:
    """A value for ``purpose`` derived from a flow's secret, URL-safe, 43 characters.

    Each flow keeps one random secret (the ``nonce`` column); the nonce sent to the provider and
    the PKCE verifier are derived from it, so the verifier is never sent nor stored apart.
    """
    digest = hashlib.sha256(f"{purpose}:{secret}".encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _digest(code: str) -> str:
    return hashlib.sha256(code.encode("utf-8")).hexdigest()


# -- talking to the provider -------------------------------------------------------------------


def _get_json(session: requests.Session, url: str, what: str, **kwargs: Any) -> dict[str, Any]:
    """GET a JSON object from the provider; every failure is a ``SourceUnavailable`` naming it."""
    try:
        response = session.get(url, timeout=TIMEOUT, **kwargs)
        response.raise_for_status()
        document = response.json()
    except requests.HTTPError as exc:
        status = exc.response.status_code if exc.response is not None else "?"
        raise SourceUnavailable(
            f"the identity provider answered HTTP {status} to the {what} request",
            platform=PROVIDER, hint="try again; if it persists, check the provider's status",
        ) from exc  # fmt: skip
    except requests.RequestException as exc:
        raise SourceUnavailable(
            f"cannot reach the identity provider for its {what} ({type(exc).__name__})",
            platform=PROVIDER, hint="check [auth.oidc] issuer and the network; try again",
        ) from exc  # fmt: skip
    except ValueError as exc:
        raise SourceUnavailable(
            f"the identity provider's {what} is not JSON", platform=PROVIDER
        ) from exc
    if not isinstance(document, dict):
        raise SourceUnavailable(f"the identity provider's {what} is not a JSON object",
                                platform=PROVIDER)  # fmt: skip
    return document


def discover(oidc: OidcSettings) -> dict[str, Any]:
    """The provider's metadata from ``<issuer>/.well-known/openid-configuration``, checked."""
    url = oidc.issuer.rstrip("/") + "/.well-known/openid-configuration"
    with requests.Session() as session:
        metadata = _get_json(session, url, "discovery document")
    missing = [
        key
        for key in ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri")
        if not isinstance(metadata.get(key), str) or not metadata[key]
    ]
    if missing:
        raise SourceUnavailable(
            f"the identity provider's discovery document lacks {', '.join(missing)}",
            platform=PROVIDER,
        )
    if str(metadata["issuer"]).rstrip("/") != oidc.issuer.rstrip("/"):
        raise ConfigError(
            "the identity provider calls itself by another issuer than the configured one",
            key="auth.oidc.issuer",
            hint=f"set issuer to {metadata['issuer']!r}, exactly as the provider names itself",
        )
    return metadata


def _session(
    oidc: OidcSettings, client_secret: str, metadata: dict[str, Any], redirect_uri: str
) -> Any:
    """An Authlib OAuth 2 session for this client, with the provider's token auth method."""
    offered = metadata.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
    method = next((m for m in _AUTH_METHODS if m in offered), None)
    if method is None:
        raise ConfigError(
            f"the identity provider offers none of {', '.join(_AUTH_METHODS)} at its token"
            " endpoint",
            key="auth.oidc",
            hint="enable client secret authentication for this client at the provider",
        )
    return OAuth2Session(
        client_id=oidc.client_id,
        client_secret=client_secret,
        scope=" ".join(oidc.scopes),
        redirect_uri=redirect_uri,
        code_challenge_method="S256",
        token_endpoint_auth_method=method,
        default_timeout=TIMEOUT,
    )


# -- the flow ----------------------------------------------------------------------------------


def safe_return_to(settings: Settings, return_to: str | None) -> str | None:
    """``return_to`` as an absolute URL on the dashboard, or ``BadRequest``: a sign-in never
    sends anyone to another site."""
    if not return_to:
        return None
    dashboard = urlsplit(settings.service.dashboard_url)
    if len(return_to) > 2000 or "\\" in return_to or any(ord(c) < 32 for c in return_to):
        raise BadRequest("return_to is not a page of the dashboard")
    target = urlsplit(urljoin(settings.service.dashboard_url, return_to))
    if (target.scheme, target.netloc) != (dashboard.scheme, dashboard.netloc):
        raise BadRequest(
            "return_to is not a page of the dashboard",
            hint=f"use a path such as /cases, or a URL under {settings.service.dashboard_url}",
        )
    return urlunsplit(target._replace(fragment=""))


def begin(
    store: Store, settings: Settings, *, redirect_uri: str, return_to: str | None, now: datetime
) -> str:
    """Start a sign-in: the provider's authorisation URL to send the browser to."""
    oidc = configured(settings)
    landing = safe_return_to(settings, return_to)
    client_secret = _client_secret(settings, oidc)  # fail here, not after the provider
    metadata = discover(oidc)
    state = secrets.token_urlsafe(32)
    flow_secret = secrets.token_urlsafe(32)
    with _session(oidc, client_secret, metadata, redirect_uri) as session:
        url, _ = session.create_authorization_url(
            metadata["authorization_endpoint"],
            state=state,
            nonce=_derived(flow_secret, "nonce"),
            code_verifier=_derived(flow_secret, "pkce"),
        )
    with store.transaction() as cur:
        queries.purge_flows(cur, now - KEEP_FLOWS)
        queries.insert_flow(cur, state=state, nonce=flow_secret, return_to=landing, at=now)
    logger.info("single sign-on started")
    return str(url)


def _take(store: Store, state: str, now: datetime) -> dict[str, Any]:
    """The flow of ``state``, taken once: unknown, replayed and stale states are refused."""
    if not state or len(state) > 200:
        raise BadRequest("the sign-in callback has no valid state; start again from the dashboard")
    with store.transaction() as cur:
        flow = queries.take_flow(cur, state, now)
    if flow is None:
        raise NotSignedIn("this sign-in is unknown or over; start again from the dashboard")
    if flow["used_at"] is not None:
        raise NotSignedIn("this sign-in was already used; start again from the dashboard")
    if now - flow["created_at"] > STATE_TTL:
        minutes = int(STATE_TTL.total_seconds() // 60)
        raise NotSignedIn(f"the sign-in took more than {minutes} minutes; start again")
    return flow


def abandon(store: Store, state: str, now: datetime) -> None:
    """Use up ``state`` without finishing (the provider answered with an error)."""
    if state and len(state) <= 200:
        with store.transaction() as cur:
            queries.take_flow(cur, state, now)


def _exchange(session: Any, metadata: dict[str, Any], code: str, verifier: str) -> dict[str, Any]:
    try:
        token = session.fetch_token(
            metadata["token_endpoint"], grant_type="authorization_code", code=code,
            code_verifier=verifier,
        )  # fmt: skip
    except OAuthError as exc:
        # The provider refused the code itself: expired, already used, or not for this client.
        raise NotSignedIn(
            f"the identity provider refused the sign-in ({exc.error}); start again",
            hint="if it keeps happening, check client_id and the client secret",
        ) from exc
    except requests.HTTPError as exc:
        status = exc.response.status_code if exc.response is not None else "?"
        raise SourceUnavailable(
            f"the identity provider answered HTTP {status} at its token endpoint",
            platform=PROVIDER, hint="try again; if it persists, check the provider's status",
        ) from exc  # fmt: skip
    except requests.RequestException as exc:
        raise SourceUnavailable(
            f"cannot reach the identity provider's token endpoint ({type(exc).__name__})",
            platform=PROVIDER,
        ) from exc
    except ValueError as exc:  # a body that is not a JSON object
        raise SourceUnavailable(
            "the identity provider's token endpoint answered something that is not JSON",
            platform=PROVIDER,
        ) from exc
    if not isinstance(token.get("id_token"), str):
        raise NotSignedIn(
            "the identity provider sent no ID token",
            hint="the scopes in [auth.oidc] must include openid",
        )
    return dict(token)


def _refused(reason: str) -> NotSignedIn:
    return NotSignedIn(f"the identity provider's ID token was refused: {reason}")


def _validated_claims(
    session: Any,
    metadata: dict[str, Any],
    oidc: OidcSettings,
    token: dict[str, Any],
    nonce: str,
    now: datetime,
) -> dict[str, Any]:
    """The ID token's claims once its signature (the provider's JWKS), issuer, audience,
    expiry and nonce are checked."""
    jwks = _get_json(session, metadata["jwks_uri"], "signing keys (JWKS)", withhold_token=True)
    try:
        key_set = KeySet.import_key_set(jwks)  # type: ignore[arg-type]
    except (JoseError, ValueError, KeyError, TypeError) as exc:
        raise SourceUnavailable("the identity provider's signing keys cannot be read",
                                platform=PROVIDER) from exc  # fmt: skip
    algorithms = metadata.get("id_token_signing_alg_values_supported") or ["RS256"]
    try:
        decoded = jwt.decode(
            token["id_token"], key_set, algorithms=[a for a in algorithms if a != "none"]
        )
        claims = CodeIDToken(
            decoded.claims,
            decoded.header,
            {
                "iss": {"essential": True, "value": metadata["issuer"]},
                "aud": {"essential": True, "value": oidc.client_id},
            },
            {"nonce": nonce, "client_id": oidc.client_id,
             "access_token": token.get("access_token")},
        )  # fmt: skip
        claims.validate(now=int(now.timestamp()), leeway=LEEWAY)
    except BadSignatureError as exc:
        raise _refused("its signature does not match the provider's keys") from exc
    except ExpiredTokenError as exc:
        raise _refused("it has expired (is the service's clock right?)") from exc
    except ClaimError as exc:
        reasons = {
            "nonce": "it was issued for another sign-in (nonce)",
            "aud": "it was issued for another client (aud); check client_id",
            "azp": "it was issued for another client (azp); check client_id",
            "iss": "it was issued by another issuer (iss)",
        }
        raise _refused(reasons.get(exc.claim, f"bad or missing claim {exc.claim!r}")) from exc
    except JoseError as exc:
        raise _refused(f"it cannot be verified ({exc.error})") from exc
    except (ValueError, TypeError) as exc:
        raise _refused("it is malformed") from exc
    return dict(claims)


def _username(
    session: Any, metadata: dict[str, Any], oidc: OidcSettings, claims: dict[str, Any]
) -> str:
    """The value of ``username_claim``: from the ID token, else from the userinfo endpoint."""
    found = claims.get(oidc.username_claim)
    if found is None and isinstance(metadata.get("userinfo_endpoint"), str):
        info = _get_json(session, metadata["userinfo_endpoint"], "user info")
        if info.get("sub") == claims.get("sub"):  # OIDC Core 5.3.2: else it is not about them
            claims = {**info, **claims}
            found = info.get(oidc.username_claim)
    if not isinstance(found, str) or not found.strip():
        raise ConfigError(
            f"the identity provider sent no {oidc.username_claim!r} claim for this person",
            key="auth.oidc.username_claim",
            hint="request a scope that includes it, or set username_claim to one it sends",
        )
    if oidc.username_claim == "email" and claims.get("email_verified") is False:
        raise Forbidden(
            "the identity provider has not verified this person's e-mail address",
            hint="verify it at the provider, then sign in again",
        )
    return found.strip()


def _escucha_user(store: Store, value: str, claim: str) -> dict[str, Any]:
    """The enabled escucha user whose e-mail (any case), or else user name, is ``value``."""
    with store.read() as cur:
        user = users_queries.user_by_email(cur, value) or users_queries.user(cur, value.lower())
    if user is None:
        raise Forbidden(
            "you signed in at the identity provider, but you have no escucha account",
            hint="an admin must add you first (`escucha users add NAME --email ADDRESS"
            f" --sso-only`), with the e-mail address or user name your provider sends as {claim!r}",
        )
    if user["disabled"]:
        raise Forbidden("this escucha account is disabled; ask an admin")
    return user


def finish(
    store: Store, settings: Settings, *, code: str, state: str, redirect_uri: str, now: datetime
) -> dict[str, Any]:
    """Finish a sign-in at the provider's callback: the escucha user it was for.

    The state is used up whatever happens next, so a callback URL cannot be replayed.
    """
    oidc = configured(settings)
    flow = _take(store, state, now)
    if not code or len(code) > 2000:
        raise BadRequest("the sign-in callback has no code; start again from the dashboard")
    client_secret = _client_secret(settings, oidc)
    metadata = discover(oidc)
    flow_secret = str(flow["nonce"])
    with _session(oidc, client_secret, metadata, redirect_uri) as session:
        token = _exchange(session, metadata, code, _derived(flow_secret, "pkce"))
        claims = _validated_claims(
            session, metadata, oidc, token, _derived(flow_secret, "nonce"), now
        )
        value = _username(session, metadata, oidc, claims)
    user = _escucha_user(store, value, oidc.username_claim)
    with store.transaction() as cur:
        # They proved who they are at the provider: a password lock-out no longer applies.
        users_queries.record_good_login(cur, str(user["name"]), now)
    logger.info("single sign-on finished")
    return user


def issue_code(store: Store, state: str, user: dict[str, Any], now: datetime) -> str:
    """A one-time code for ``user``, tied to the finished flow of ``state``."""
    code = secrets.token_urlsafe(32)
    with store.transaction() as cur:
        queries.set_code(cur, state, code_hash=_digest(code), user_name=str(user["name"]), at=now)
    return code


def redeem(store: Store, code: str, now: datetime) -> dict[str, Any]:
    """The user a one-time code was issued for; the code works once, within ``CODE_TTL``."""
    if not code or len(code) > 200:
        raise NotSignedIn("the sign-in code is malformed; sign in again")
    with store.transaction() as cur:
        flow = queries.redeem_code(cur, _digest(code))
    if flow is None:
        raise NotSignedIn("this sign-in code is unknown or was already used; sign in again")
    if now - flow["used_at"] > CODE_TTL:
        raise NotSignedIn(
            f"this sign-in code expired (they last {int(CODE_TTL.total_seconds())} seconds);"
            " sign in again"
        )
    with store.read() as cur:
        user = users_queries.user(cur, str(flow["user_name"]))
    if user is None or user["disabled"]:
        raise NotSignedIn("this account is disabled or gone; ask an admin")
    return user


# -- where the browser lands -------------------------------------------------------------------


def _with_param(url: str, name: str, value: str) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k not in ("signin", "signin_error")]
    return urlunsplit(parts._replace(query=urlencode([*query, (name, value)]), fragment=""))


def landing_url(store: Store, settings: Settings, *, state: str, code: str) -> str:
    """The dashboard page the sign-in started from (or its home) carrying ``?signin=<code>``."""
    with store.read() as cur:
        flow = queries.flow(cur, state)
    target = (flow or {}).get("return_to") or settings.service.dashboard_url
    return _with_param(str(target), "signin", code)


def error_url(settings: Settings, reason: str) -> str:
    """The dashboard's home carrying ``?signin_error=<reason>`` (a sentence, no secrets)."""
    return _with_param(settings.service.dashboard_url, "signin_error", reason[:300])
