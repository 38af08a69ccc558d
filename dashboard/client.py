"""The dashboard's one way to the service: a small typed client of the HTTP API (docs/api.md).

ApiError           the API answered with an error (``status``, ``detail``)
└── ApiUnavailable the API could not be reached at all (``base_url``)
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
        timeout: float = 15.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout, transport=transport)

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
            raise ApiError(response.status_code, detail or response.reason_phrase)
        return response

    def _get(self, path: str, **params: Any) -> Any:
        return self._request("GET", path, params=_params(params)).json()

    def _post(self, path: str, body: Mapping[str, Any]) -> Any:
        payload = {k: v for k, v in body.items() if v is not None}
        return self._request("POST", path, json=payload).json()

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

    def correct(self, key: str, field: str, value: Any, actor: str) -> Json:
        body = {"field": field, "value": value, "actor": actor}
        result: Json = self._post(f"/mentions/{_seg(key)}/corrections", body)
        return result

    # -- cases -------------------------------------------------------------------------------------

    def cases(self, **filters: Any) -> Json:
        result: Json = self._get("/cases", **filters)
        return result

    def case(self, case_id: str) -> Json:
        result: Json = self._get(f"/cases/{_seg(case_id)}")
        return result

    def preview(self, case_id: str, action: str) -> Json:
        result: Json = self._get(f"/cases/{_seg(case_id)}/preview/{_seg(action)}")
        return result

    def act(self, case_id: str, action: str, actor: str, **body: Any) -> Json:
        """Run a case action; answers the updated case detail."""
        result: Json = self._post(
            f"/cases/{_seg(case_id)}/actions/{_seg(action)}", {"actor": actor, **body}
        )
        return result

    def bulk_assign(self, case_ids: Sequence[str], assignee: str, actor: str) -> Json:
        body = {"case_ids": list(case_ids), "assignee": assignee, "actor": actor}
        result: Json = self._post("/cases/bulk-assign", body)
        return result

    # -- aggregates --------------------------------------------------------------------------------

    def overview(self, **filters: Any) -> Json:
        result: Json = self._get("/aggregates/overview", **filters)
        return result

    def agents(self) -> list[Json]:
        result: list[Json] = self._get("/agents")
        return result

    def set_shift(self, name: str, on_shift: bool, actor: str) -> Json:
        body = {"on_shift": on_shift, "actor": actor}
        result: Json = self._request("PUT", f"/agents/{_seg(name)}/shift", json=body).json()
        return result

    def alerts(self, limit: int = 20) -> Json:
        result: Json = self._get("/alerts", limit=limit)
        return result

    def care(self, **filters: Any) -> Json:
        result: Json = self._get("/aggregates/care", **filters)
        return result


def _seg(value: str) -> str:
    """One URL path segment (keys contain ':'; nothing may escape the segment)."""
    return quote(value, safe=":@")
