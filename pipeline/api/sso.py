"""Single sign-on routes: off to the provider, back from it, and the dashboard's code exchange.

    GET  /auth/oidc/login?return_to=/cases   302 to the provider's sign-in page
    GET  /auth/oidc/callback?code&state       302 to the dashboard with ?signin=<one-time code>,
                                              or ?signin_error=<what went wrong>
    POST /auth/oidc/exchange {"code": ...}    a session, as POST /auth/login answers

The callback is reached by a browser, never by a program, so its failures send the person back to
the dashboard with a sentence to show rather than leaving them on a page of JSON; the login and
exchange routes answer errors as every other route does.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, ConfigDict, Field

from pipeline.access import audit, oidc, tokens
from pipeline.api.auth import me
from pipeline.api.deps import ServiceDep
from pipeline.errors import EscuchaError, NotSignedIn
from pipeline.records import utcnow

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/auth/oidc")

VIA = "oidc"


class ExchangeBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=200)


def _redirect_uri(request: Request) -> str:
    return str(request.url_for("oidc_callback"))


@router.get("/login")
def oidc_login(
    request: Request,
    service: ServiceDep,
    return_to: Annotated[str | None, Query(max_length=2000)] = None,
) -> RedirectResponse:
    """Send the browser to the identity provider; it comes back to ``/auth/oidc/callback``."""
    url = oidc.begin(
        service.store, service.settings, redirect_uri=_redirect_uri(request),
        return_to=return_to, now=utcnow(),
    )  # fmt: skip
    return RedirectResponse(url, status_code=302)


@router.get("/callback", name="oidc_callback")
def oidc_callback(
    request: Request,
    service: ServiceDep,
    code: Annotated[str | None, Query(max_length=2000)] = None,
    state: Annotated[str | None, Query(max_length=200)] = None,
    error: Annotated[str | None, Query(max_length=200)] = None,
) -> RedirectResponse:
    """Where the provider sends the browser back: to the dashboard, signed in or told why not."""
    settings = service.settings
    oidc.configured(settings)  # not set up: a 404 like any other route, nothing to go back to
    now = utcnow()
    try:
        if error is not None:
            oidc.abandon(service.store, state or "", now)
            # The provider's error code (access_denied, login_required, …) is a fixed word.
            word = "".join(c for c in error if c.isalnum() or c in "_-")[:60]
            raise NotSignedIn(f"the identity provider did not sign you in ({word})")
        user = oidc.finish(
            service.store, settings, code=code or "", state=state or "",
            redirect_uri=_redirect_uri(request), now=now,
        )  # fmt: skip
    except EscuchaError as exc:
        # Messages name what failed, never a token, code or address: safe to log and to show.
        logger.warning("single sign-on failed: %s", exc)
        audit.record(
            service.store, "anonymous", "auth.login", now=now, via=VIA, outcome="failed",
            detail={"reason": type(exc).__name__},
        )  # fmt: skip
        return RedirectResponse(oidc.error_url(settings, str(exc)), status_code=302)
    name = str(user["name"])
    signin_code = oidc.issue_code(service.store, state or "", user, now)
    audit.record(service.store, name, "auth.login", now=now, via=VIA, target=name)
    target = oidc.landing_url(service.store, settings, state=state or "", code=signin_code)
    return RedirectResponse(target, status_code=302)


@router.post("/exchange")
def oidc_exchange(body: ExchangeBody, service: ServiceDep) -> dict[str, Any]:
    """Trade the one-time code from the callback for a dashboard session (once, briefly)."""
    oidc.configured(service.settings)
    now = utcnow()
    try:
        user = oidc.redeem(service.store, body.code, now)
    except EscuchaError as exc:
        audit.record(
            service.store, "anonymous", "auth.exchange", now=now, via=VIA, outcome="failed",
            detail={"reason": type(exc).__name__},
        )  # fmt: skip
        raise
    token, info = tokens.start_session(service.store, service.settings.auth, user, now=now)
    principal = tokens.resolve(service.store, token, now=now)
    return {"token": token, "expires_at": info["expires_at"], "user": me(principal)}
