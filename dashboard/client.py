"""The dashboard's one way to the service: a small typed client of the HTTP API (docs/api.md).

ApiError           the API answered with an error (``status``, ``detail``)
├── NotSignedIn    401: no session, or it expired or was revoked (sign in again)
└── ApiUnavailable the API could not be reached at all (``base_url``)

A client carries at most one bearer token (a session from ``login`` or an API token); the token
never goes into a URL.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

import httpx

Json = dict[str, Any]

_UNSET_VALUES: tuple[Any, ...] = (None, "", [])


class ApiError(Exception):
    """The API refused a request; ``detail`` is its explanation, meant for the user."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"{status}: {detail}")
        self.status = status
        self.detail = detail


class NotSignedIn(ApiError):
    """401: the request came without a session, or with one that expired or was revoked."""


class ApiUnavailable(ApiError):
    """Nothing answered at ``base_url``: the service is not running or not reachable."""

    def __init__(self, base_url: str, reason: str) -> None:
        super().__init__(0, reason)
        self.base_url = base_url


def _params(values: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """Query parameters without the empty ones; lists become repeated parameters."""
    out: list[tuple[str, Any]] = []
    for name, value in values.items():
        if value in _UNSET_VALUES:
            continue
        if isinstance(value, list | tuple):
            out.extend((name, item) for item in value)
        elif isinstance(value, bool):
            out.append((name, "true" if value else "false"))
        else:
            out.append((name, value.isoformat() if hasattr(value, "isoformat") else value))
    return out


class Client:
    """The escucha API. Pass ``transport`` to talk to an in-process app in tests."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        timeout: float = 15.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout, transport=transport)
        self._token: str | None = None
        self.token = token

    def __repr__(self) -> str:  # never the token
        signed = "signed in" if self._token else "anonymous"
        return f"<Client {self.base_url} {signed}>"

    @property
    def token(self) -> str | None:
        return self._token

    @token.setter
    def token(self, value: str | None) -> None:
        self._token = value or None
        if self._token:
            self._http.headers["Authorization"] = f"Bearer {self._token}"
        else:
            self._http.headers.pop("Authorization", None)

    def close(self) -> None:
        self._http.close()

    # -- plumbing ----------------------------------------------------------------------------------

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise ApiUnavailable(self.base_url, f"{type(exc).__name__}: {exc}") from exc
        if response.status_code >= 400:
            try:
                detail = response.json().get("detail", response.text)
            except ValueError:
                detail = response.text
            if not isinstance(detail, str):
                detail = "; ".join(
                    f"{'.'.join(str(p) for p in d.get('loc', []))}: {d.get('msg')}"
                    if isinstance(d, dict)
                    else str(d)
                    for d in (detail if isinstance(detail, list) else [detail])
                )
            error = NotSignedIn if response.status_code == 401 else ApiError
            raise error(response.status_code, detail or response.reason_phrase)
        return response

    def _get(self, path: str, **params: Any) -> Any:
        return self._request("GET", path, params=_params(params)).json()

    def _post(self, path: str, body: Mapping[str, Any]) -> Any:
        payload = {k: v for k, v in body.items() if v is not None}
        return self._request("POST", path, json=payload).json()

    # -- signing in --------------------------------------------------------------------------------

    def login(self, name: str, password: str) -> Json:
        """Sign in; on success this client carries the new session. Answers ``{token, user...}``."""
        result: Json = self._post("/auth/login", {"name": name, "password": password})
        self.token = result["token"]
        return result

    def oidc_exchange(self, code: str) -> Json:
        """Trade single sign-on's one-time ``?signin=`` code for a session, as ``login`` does."""
        result: Json = self._post("/auth/oidc/exchange", {"code": code})
        self.token = result["token"]
        return result

    def logout(self) -> None:
        """End this client's session; it is anonymous afterwards even if the API refused."""
        try:
            self._request("POST", "/auth/logout")
        finally:
            self.token = None

    def me(self) -> Json:
        """Who is signed in: name, display_name, role, teams, brands, via, permissions."""
        result: Json = self._get("/auth/me")
        return result

    def preference(self, name: str) -> Json:
        """One's own saved preference ``{name, value, updated_at}`` (``value`` ``{}`` if none)."""
        result: Json = self._get(f"/me/preferences/{_seg(name)}")
        return result

    def save_preference(self, name: str, value: Mapping[str, Any]) -> Json:
        """Keep ``value`` (a JSON object of at most 16 KB) as one's own preference ``name``."""
        path = f"/me/preferences/{_seg(name)}"
        result: Json = self._request("PUT", path, json=dict(value)).json()
        return result

    def change_password(self, current: str, new: str) -> Json:
        """Change one's own password; every session of the account ends (this one too)."""
        result: Json = self._post("/auth/password", {"current": current, "new": new})
        return result

    def tokens(self) -> list[Json]:
        result: list[Json] = self._get("/auth/tokens")
        return result

    def create_token(self, label: str, days: int, role: str | None = None) -> Json:
        """A new API token; its secret (``token``) is in this answer and never again."""
        result: Json = self._post("/auth/tokens", {"label": label, "role": role, "days": days})
        return result

    def revoke_token(self, token_id: str) -> Json:
        result: Json = self._request("DELETE", f"/auth/tokens/{_seg(token_id)}").json()
        return result

    # -- administration ----------------------------------------------------------------------------

    def users(self) -> list[Json]:
        result: list[Json] = self._get("/users")
        return result

    def add_user(
        self,
        name: str,
        role: str,
        *,
        password: str | None = None,
        display_name: str | None = None,
        email: str | None = None,
        teams: Sequence[str] = (),
        brands: Sequence[str] = (),
    ) -> Json:
        """Add a person; without ``password`` they can only use single sign-on."""
        body = {
            "name": name, "role": role, "password": password, "display_name": display_name,
            "email": email, "teams": list(teams), "brands": list(brands),
        }  # fmt: skip
        result: Json = self._post("/users", body)
        return result

    def update_user(self, name: str, **changes: Any) -> Json:
        """Change ``role``, ``teams``, ``brands``, ``disabled``, ``display_name`` or ``email``."""
        result: Json = self._request("PATCH", f"/users/{_seg(name)}", json=changes).json()
        return result

    def reset_password(self, name: str, password: str) -> Json:
        result: Json = self._post(f"/users/{_seg(name)}/password", {"password": password})
        return result

    def audit(
        self,
        *,
        actor: str | None = None,
        action: str | None = None,
        since: Any = None,
        limit: int = 200,
        offset: int = 0,
    ) -> Json:
        """``{"items": [...], "total": N, "tampered_at": id or None}``, newest first."""
        result: Json = self._get(
            "/audit", actor=actor, action=action, since=since, limit=limit, offset=offset
        )
        return result

    def audit_export(self, since: Any = None) -> bytes:
        """The whole audit log (from ``since``) as CSV."""
        return self._request("GET", "/audit/export", params=_params({"since": since})).content

    def privacy_export(self, author: str) -> Json:
        """Everything held about one person (an author key such as ``x:handle``, or @handle)."""
        result: Json = self._post("/privacy/export", {"author": author})
        return result

    def privacy_erase(self, author: str) -> Json:
        """Erase what is held about one person. Cannot be undone."""
        result: Json = self._post("/privacy/erase", {"author": author, "confirm": True})
        return result

    # -- service -----------------------------------------------------------------------------------

    def health(self) -> Json:
        result: Json = self._get("/health")
        return result

    def stats(self) -> Json:
        result: Json = self._get("/stats")
        return result

    def ui_config(self) -> Json:
        result: Json = self._get("/config/ui")
        return result

    def sources(self) -> list[Json]:
        result: list[Json] = self._get("/sources")
        return result

    # -- mentions ----------------------------------------------------------------------------------

    def mentions(self, **filters: Any) -> Json:
        """``{"items": [...], "total": N}``; filters as in docs/api.md, plus limit and offset."""
        result: Json = self._get("/mentions", **filters)
        return result

    def mention(self, key: str) -> Json:
        result: Json = self._get(f"/mentions/{_seg(key)}")
        return result

    def export_mentions(self, fmt: str, **filters: Any) -> bytes:
        response = self._request(
            "GET", "/mentions/export", params=_params({"format": fmt, **filters})
        )
        return response.content

    def correct(self, key: str, field: str, value: Any) -> Json:
        body = {"field": field, "value": value}
        result: Json = self._post(f"/mentions/{_seg(key)}/corrections", body)
        return result

    # -- cases -------------------------------------------------------------------------------------

    def cases(self, **filters: Any) -> Json:
        result: Json = self._get("/cases", **filters)
        return result

    def case(self, case_id: str) -> Json:
        result: Json = self._get(f"/cases/{_seg(case_id)}")
        return result

    def preview(self, case_id: str, action: str, channel: str | None = None) -> Json:
        """What ``action`` would post (on ``channel`` when one is chosen)."""
        path = f"/cases/{_seg(case_id)}/preview/{_seg(action)}"
        result: Json = self._get(path, channel=channel)
        return result

    def act(self, case_id: str, action: str, **body: Any) -> Json:
        """Run a case action as the signed-in person; answers the updated case detail."""
        result: Json = self._post(f"/cases/{_seg(case_id)}/actions/{_seg(action)}", body)
        return result

    def bulk_assign(self, case_ids: Sequence[str], assignee: str) -> Json:
        body = {"case_ids": list(case_ids), "assignee": assignee}
        result: Json = self._post("/cases/bulk-assign", body)
        return result

    # -- customers ---------------------------------------------------------------------------------

    def customer(self, author_key: str) -> Json:
        """One customer from one account: ``accounts``, standing ``links``, ``cases``, history."""
        result: Json = self._get(f"/customers/{_seg(author_key)}")
        return result

    def customer_suggestions(self, author_key: str, min_confidence: float = 0.5) -> list[Json]:
        """Suggested links for this customer's accounts, with confidence and evidence."""
        path = f"/customers/{_seg(author_key)}/suggestions"
        result: list[Json] = self._get(path, min_confidence=min_confidence)
        return result

    def decide_link(
        self, a: str, b: str, decision: str, *, confidence: float | None = None
    ) -> Json:
        """Confirm (``linked``) or reject (``rejected``) that two accounts are one person."""
        body = {"a": a, "b": b, "decision": decision, "confidence": confidence}
        result: Json = self._post("/customers/links", body)
        return result

    def undo_link(self, a: str, b: str) -> Json:
        """Undo a confirmed link: the account ``b`` leaves the customer it shares with ``a``."""
        params = _params({"a": a, "b": b})
        result: Json = self._request("DELETE", "/customers/links", params=params).json()
        return result

    # -- aggregates --------------------------------------------------------------------------------

    def overview(self, **filters: Any) -> Json:
        result: Json = self._get("/aggregates/overview", **filters)
        return result

    def agents(self) -> list[Json]:
        result: list[Json] = self._get("/agents")
        return result

    def set_shift(self, name: str, on_shift: bool) -> Json:
        body = {"on_shift": on_shift}
        result: Json = self._request("PUT", f"/agents/{_seg(name)}/shift", json=body).json()
        return result

    def alerts(self, limit: int = 20) -> Json:
        result: Json = self._get("/alerts", limit=limit)
        return result

    def care(self, **filters: Any) -> Json:
        result: Json = self._get("/aggregates/care", **filters)
        return result

    # -- listening ---------------------------------------------------------------------------------

    def themes(self, **filters: Any) -> Json:
        """Top words and phrases of the period with their growth (``/listening/themes``)."""
        result: Json = self._get("/listening/themes", **filters)
        return result

    def authors(self, **filters: Any) -> Json:
        """``{"reach": [...], "volume": [...]}``: the top authors of the period."""
        result: Json = self._get("/listening/authors", **filters)
        return result

    def risks(self, **filters: Any) -> Json:
        """Risk categories and their mentions per bucket (``/listening/risks``)."""
        result: Json = self._get("/listening/risks", **filters)
        return result

    def spike_alerts(self, limit: int = 20) -> Json:
        """Volume-spike and sentiment-drop alerts with their brand and window."""
        result: Json = self._get("/listening/alerts", limit=limit)
        return result

    def crisis(self, **window: Any) -> Json:
        """A crisis window: ``brand``, ``start`` and ``end``, or ``alert`` (an alert id)."""
        result: Json = self._get("/listening/crisis", **window)
        return result

    def set_aside(self, limit: int = 100, offset: int = 0) -> Json:
        """Mentions a stage could not process, with the reason (managers and admins)."""
        result: Json = self._get("/set-aside", limit=limit, offset=offset)
        return result

    def retry_set_aside(self, key: str) -> Json:
        result: Json = self._post(f"/set-aside/{_seg(key)}/retry", {})
        return result

    def discard_set_aside(self, key: str) -> Json:
        result: Json = self._post(f"/set-aside/{_seg(key)}/discard", {})
        return result


def _seg(value: str) -> str:
    """One URL path segment (keys contain ':'; nothing may escape the segment)."""
    return quote(value, safe=":@")
