"""A fake Google Business Profile (My Business v4) reviews API: list, get, updateReply.

googleapiclient is pointed at it through the shipped discovery subset and ``api_endpoint``.
Reviews are listed by ``updateTime desc``; ``edit`` changes a review and its update time.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.fakes.base import FakeServer, Request, Response

ACCESS_TOKEN = "fake-gbp-token"
LOCATION = "accounts/1/locations/2"
STARS = ["ONE", "TWO", "THREE", "FOUR", "FIVE"]


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class FakeGoogleReviews(FakeServer):
    def __init__(self, *, seed: int = 0) -> None:
        super().__init__(seed=seed)
        self.clock = datetime.now(UTC) - timedelta(days=1)
        self.counter = 0
        self.reviews: dict[str, dict[str, Any]] = {}
        self.replies: list[tuple[str, str]] = []  # (review name, comment) per updateReply call
        base = r"/v4/accounts/(?P<a>[^/]+)/locations/(?P<l>[^/]+)/reviews"
        self.route("GET", base, self.list)
        self.route("GET", base + r"/(?P<r>[^/]+)", self.get)
        self.route("PUT", base + r"/(?P<r>[^/]+)/reply", self.update_reply)

    def _tick(self) -> str:
        self.clock += timedelta(minutes=1)
        return stamp(self.clock)

    def add_review(self, comment: str, stars: int = 1, *, location: str = LOCATION,
                   author: str = "Ann") -> str:  # fmt: skip
        with self.lock:
            self.counter += 1
            rid = f"R{self.counter:04d}"
            name = f"{location}/reviews/{rid}"
            now = self._tick()
            self.reviews[name] = {
                "name": name, "reviewId": rid, "comment": comment, "starRating": STARS[stars - 1],
                "reviewer": {"displayName": author, "isAnonymous": False},
                "createTime": now, "updateTime": now,
            }  # fmt: skip
            return name

    def edit(self, name: str, comment: str, stars: int) -> None:
        with self.lock:
            review = self.reviews[name]
            review.update(comment=comment, starRating=STARS[stars - 1], updateTime=self._tick())

    # -- protocol ----------------------------------------------------------------------------
    def rate_headers(self, reset: float) -> dict[str, str]:
        return {"retry-after": str(max(0, round(reset - time.time())))}

    def error_body(self, status: int) -> Any:
        reason = {401: "authError", 429: "rateLimitExceeded"}.get(status, "backendError")
        return {"error": {"code": status, "message": reason, "errors": [{"reason": reason}]}}

    def authorized(self, request: Request) -> bool:
        return request.headers.get("authorization") == f"Bearer {ACCESS_TOKEN}"

    def _location(self, request: Request) -> str:
        assert request.match is not None
        return f"accounts/{request.match.group('a')}/locations/{request.match.group('l')}"

    def list(self, request: Request) -> Response:
        location = self._location(request)
        found = sorted((r for n, r in self.reviews.items() if n.startswith(location + "/")),
                       key=lambda r: r["updateTime"], reverse=True)  # fmt: skip
        start = int(request.query.get("pageToken") or 0)
        size = min(int(request.query.get("pageSize", 50)), 50)
        body: dict[str, Any] = {"reviews": found[start : start + size],
                                "totalReviewCount": len(found), "averageRating": 2.5}  # fmt: skip
        if start + size < len(found):
            body["nextPageToken"] = str(start + size)
        return Response(200, body)

    def get(self, request: Request) -> Response:
        name = f"{self._location(request)}/reviews/{request.match.group('r')}"  # type: ignore[union-attr]
        if name not in self.reviews:
            return Response(404, self.error_body(404))
        return Response(200, self.reviews[name])

    def update_reply(self, request: Request) -> Response:
        name = f"{self._location(request)}/reviews/{request.match.group('r')}"  # type: ignore[union-attr]
        reply = {"comment": request.json()["comment"], "updateTime": stamp(datetime.now(UTC))}
        self.reviews[name]["reviewReply"] = reply
        self.replies.append((name, reply["comment"]))
        return Response(200, reply)
