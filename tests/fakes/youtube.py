"""A fake YouTube Data API v3: commentThreads.list, comments.list and comments.insert.

googleapiclient is pointed at it with ``client_options={"api_endpoint": url}``. Threads are
newest first; page tokens are offsets, valid within one walk only (as YouTube's are).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.fakes.base import FakeServer, Request, Response

API_KEY = "fake-yt-key"
ACCESS_TOKEN = "fake-yt-token"
CHANNEL = "UCacme"
OUR_CHANNEL = "UCacme"


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class FakeYouTube(FakeServer):
    def __init__(self, *, seed: int = 0) -> None:
        super().__init__(seed=seed)
        self.clock = datetime.now(UTC) - timedelta(hours=2)
        self.counter = 0
        self.threads: list[dict[str, Any]] = []
        self.inserted: list[dict[str, Any]] = []
        self.route("GET", r"/youtube/v3/commentThreads", self.list_threads)
        self.route("GET", r"/youtube/v3/comments", self.list_comments)
        self.route("POST", r"/youtube/v3/comments", self.insert)

    def add_comment(self, text: str, *, video: str = "vid1", author: str = "Ann") -> str:
        with self.lock:
            self.counter += 1
            self.clock += timedelta(minutes=1)
            cid = f"Ug{self.counter:04d}"
            top = {"id": cid, "snippet": self._snippet(text, author, video)}
            self.threads.append({
                "id": cid,
                "snippet": {"videoId": video, "channelId": CHANNEL, "totalReplyCount": 0,
                            "canReply": True, "isPublic": True, "topLevelComment": top},
            })  # fmt: skip
            return cid

    def _snippet(self, text: str, author: str, video: str, parent: str | None = None) -> dict:
        snippet = {
            "videoId": video, "textOriginal": text, "textDisplay": text,
            "authorDisplayName": author, "authorChannelId": {"value": f"UC{author.lower()}"},
            "likeCount": 2, "publishedAt": stamp(self.clock), "updatedAt": stamp(self.clock),
        }  # fmt: skip
        if parent:
            snippet["parentId"] = parent
        return snippet

    def add_reply(self, parent: str, text: str, *, author: str = "Ann") -> str:
        with self.lock:
            thread = next(t for t in self.threads if t["id"] == parent)
            self.counter += 1
            self.clock += timedelta(minutes=1)
            reply = {"id": f"{parent}.r{self.counter}", "snippet": self._snippet(
                text, author, thread["snippet"]["videoId"], parent)}  # fmt: skip
            thread.setdefault("replies", {"comments": []})["comments"].append(reply)
            thread["snippet"]["totalReplyCount"] += 1
            return str(reply["id"])

    # -- protocol ----------------------------------------------------------------------------
    def error_body(self, status: int) -> Any:
        reason = {401: "authError", 403: "forbidden", 429: "rateLimitExceeded"}.get(
            status, "backendError"
        )
        return {"error": {"code": status, "message": f"fake {reason}",
                          "errors": [{"reason": reason, "domain": "youtube"}]}}  # fmt: skip

    def rate_headers(self, reset: float) -> dict[str, str]:
        return {"retry-after": str(max(0, round(reset - time.time())))}

    @staticmethod
    def quota_exceeded() -> dict[str, Any]:
        reasons = [{"reason": "quotaExceeded", "domain": "youtube.quota"}]
        return {"error": {"code": 403, "message": "quota", "errors": reasons}}

    def authorized(self, request: Request) -> bool:
        auth = request.headers.get("authorization", "")
        return request.query.get("key") == API_KEY or auth == f"Bearer {ACCESS_TOKEN}"

    def list_threads(self, request: Request) -> Response:
        q = request.query
        found = [
            t for t in self.threads
            if (q.get("videoId") in (None, t["snippet"]["videoId"]))
            and (q.get("allThreadsRelatedToChannelId") in (None, t["snippet"]["channelId"]))
            and q.get("searchTerms", "").lower()
            in t["snippet"]["topLevelComment"]["snippet"]["textOriginal"].lower()
        ]  # fmt: skip
        found.sort(key=lambda t: t["snippet"]["topLevelComment"]["snippet"]["publishedAt"],
                   reverse=True)  # fmt: skip
        start = int(q.get("pageToken", "0") or 0)
        size = int(q.get("maxResults", 20))
        body: dict[str, Any] = {
            "kind": "youtube#commentThreadListResponse",
            "items": found[start : start + size],
            "pageInfo": {"totalResults": len(found), "resultsPerPage": size},
        }
        if start + size < len(found):
            body["nextPageToken"] = str(start + size)
        return Response(200, body)

    def list_comments(self, request: Request) -> Response:
        parent = request.query.get("parentId")
        thread = next((t for t in self.threads if t["id"] == parent), None)
        items = (thread or {}).get("replies", {}).get("comments", [])
        return Response(200, {"kind": "youtube#commentListResponse", "items": items})

    def insert(self, request: Request) -> Response:
        if request.headers.get("authorization") != f"Bearer {ACCESS_TOKEN}":
            return Response(403, self.error_body(403))
        snippet = request.json()["snippet"]
        rid = self.add_reply(snippet["parentId"], snippet["textOriginal"], author="Acme")
        thread = next(t for t in self.threads if t["id"] == snippet["parentId"])
        reply = thread["replies"]["comments"][-1]
        self.inserted.append(reply)
        assert reply["id"] == rid
        return Response(200, {"kind": "youtube#comment", **reply})
