"""A fake X API v2: recent search, mentions timeline, user tweets, posting, DMs, rate-limit headers.

tweepy calls https://api.twitter.com; the connector's ``api_base_url`` rewrites that to this fake.
Pagination tokens point at a tweet id, so pages stay stable while new tweets arrive. As on X, a
post over 280 characters has only its start in ``text`` and its whole text in ``note_tweet``
(sent only when ``tweet.fields`` asks for it), and ``withheld`` tweets take their place on a page
but are left out of it, so a page can carry a ``next_token`` and no tweets.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.fakes.base import FakeServer, Request, Response

BEARER = "fake-bearer"
OUR_ID = "900"
OUR_USERNAME = "acme_care"
EPOCH = datetime(2025, 1, 2, 10, 0, tzinfo=UTC)
TEXT_LIMIT = 280


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


class FakeX(FakeServer):
    def __init__(self, *, seed: int = 0) -> None:
        super().__init__(seed=seed)
        self.next_id = 1000
        self.tweets: list[dict[str, Any]] = []
        self.users: dict[str, dict[str, Any]] = {}
        self.dm_events: list[dict[str, Any]] = []
        self.remaining = 450
        self.withheld: set[str] = set()  # ids filtered out after a page was cut
        self.add_user(OUR_ID, OUR_USERNAME, followers=5000)
        self.route("GET", r"/2/tweets/search/recent", self.search)
        self.route("GET", r"/2/users/me", self.me)
        self.route("GET", r"/2/users/by/username/(?P<username>[^/]+)", self.by_username)
        self.route("GET", r"/2/users/(?P<uid>\d+)/mentions", self.mentions)
        self.route("GET", r"/2/users/(?P<uid>\d+)/tweets", self.user_tweets)
        self.route("POST", r"/2/tweets", self.create_tweet)
        self.route("POST", r"/2/dm_conversations/with/(?P<pid>\d+)/messages", self.create_dm)
        self.route("GET", r"/2/dm_events", self.list_dms)
        self.route("GET", r"/2/dm_conversations/with/(?P<pid>\d+)/dm_events", self.list_dms)

    # -- seeding -----------------------------------------------------------------------------
    def add_user(self, uid: str, username: str, *, followers: int = 10) -> None:
        self.users[uid] = {
            "id": uid,
            "name": username.title(),
            "username": username,
            "public_metrics": {"followers_count": followers, "following_count": 1},
        }

    def _new_id(self) -> str:
        self.next_id += 1
        return str(self.next_id)

    def add_tweet(
        self,
        text: str,
        *,
        author: str = "ann",
        mention: bool = False,
        reply_to: str | None = None,
        searchable: bool = True,
    ) -> str:
        with self.lock:
            uid = next((u["id"] for u in self.users.values() if u["username"] == author), None)
            if uid is None:
                uid = str(100 + len(self.users))
                self.add_user(uid, author, followers=10 * len(self.users))
            tid = self._new_id()
            tweet: dict[str, Any] = {
                "id": tid,
                "text": text if len(text) <= TEXT_LIMIT else text[: TEXT_LIMIT - 1] + "…",
                "author_id": uid,
                "created_at": stamp(EPOCH + timedelta(seconds=int(tid) - 1000)),
                "conversation_id": tid,
                "lang": "es",
                "public_metrics": {"like_count": 1, "reply_count": 0, "retweet_count": 2,
                                   "quote_count": 0},
                "edit_history_tweet_ids": [tid],
            }  # fmt: skip
            if reply_to:
                tweet["referenced_tweets"] = [{"type": "replied_to", "id": reply_to}]
                parent = next((t for t in self.tweets if t["id"] == reply_to), None)
                tweet["conversation_id"] = parent["conversation_id"] if parent else reply_to
            long = {"_note": text} if len(text) > TEXT_LIMIT else {}
            self.tweets.append({**tweet, **long, "_mention": mention, "_search": searchable})
            return tid

    def add_dm(self, sender: str, text: str) -> str:
        with self.lock:
            eid = self._new_id()
            uid = next(u["id"] for u in self.users.values() if u["username"] == sender)
            self.dm_events.append({
                "id": eid, "event_type": "MessageCreate", "text": text, "sender_id": uid,
                "dm_conversation_id": f"{min(uid, OUR_ID)}-{max(uid, OUR_ID)}",
                "created_at": stamp(EPOCH + timedelta(seconds=int(eid) - 1000)),
                "participant_ids": [uid, OUR_ID],
            })  # fmt: skip
            return eid

    @property
    def posted(self) -> list[dict[str, Any]]:
        return [t for t in self.tweets if t["author_id"] == OUR_ID]

    @property
    def dms_sent(self) -> list[dict[str, Any]]:
        return [e for e in self.dm_events if e["sender_id"] == OUR_ID]

    # -- protocol ----------------------------------------------------------------------------
    def rate_headers(self, reset: float) -> dict[str, str]:
        return {
            "x-rate-limit-limit": "450",
            "x-rate-limit-remaining": str(max(self.remaining, 0)),
            "x-rate-limit-reset": str(int(reset)),
        }

    def error_body(self, status: int) -> Any:
        titles = {401: "Unauthorized", 429: "Too Many Requests", 403: "Forbidden"}
        return {"title": titles.get(status, "Service Unavailable"), "type": "about:blank",
                "status": status, "detail": titles.get(status, "Service Unavailable")}  # fmt: skip

    def authorized(self, request: Request) -> bool:
        auth = request.headers.get("authorization", "")
        return auth == f"Bearer {BEARER}" or auth.startswith("OAuth ")

    def ok(self, body: Any, status: int = 200) -> Response:
        self.remaining -= 1
        return Response(status, body, self.rate_headers(time.time() + 900))

    @staticmethod
    def public(tweet: dict[str, Any], fields: str = "") -> dict[str, Any]:
        shown = {k: v for k, v in tweet.items() if not k.startswith("_")}
        if "_note" in tweet and "note_tweet" in fields.split(","):
            shown["note_tweet"] = {"text": tweet["_note"]}
        return shown

    def _page(self, request: Request, items: list[dict[str, Any]], token_name: str) -> Response:
        since = int(request.query.get("since_id", 0))
        until = int(request.query.get("until_id", 10**18))
        token = request.query.get(token_name)
        if token:
            until = min(until, int(token.removeprefix("below-")))
        size = int(request.query.get("max_results", 10))
        chosen = sorted(
            (t for t in items if since < int(t["id"]) < until), key=lambda t: -int(t["id"])
        )
        cut = chosen[:size]
        more = {"next_token": f"below-{cut[-1]['id']}"} if len(chosen) > size else {}
        page = [t for t in cut if t["id"] not in self.withheld]
        if not page:
            return self.ok({"meta": {"result_count": 0, **more}})
        meta: dict[str, Any] = {
            "newest_id": page[0]["id"], "oldest_id": page[-1]["id"], "result_count": len(page),
            **more,
        }  # fmt: skip
        authors = {t.get("author_id") or t.get("sender_id") for t in page}
        users = [self.users[a] for a in authors if a in self.users]
        fields = request.query.get("tweet.fields", "")
        return self.ok({"data": [self.public(t, fields) for t in page],
                        "includes": {"users": users}, "meta": meta})  # fmt: skip

    def search(self, request: Request) -> Response:
        return self._page(request, [t for t in self.tweets if t["_search"]], "next_token")

    def mentions(self, request: Request) -> Response:
        return self._page(request, [t for t in self.tweets if t["_mention"]], "pagination_token")

    def user_tweets(self, request: Request) -> Response:
        uid = request.match.group("uid") if request.match else ""
        mine = [t for t in self.tweets if t["author_id"] == uid]
        return self._page(request, mine, "pagination_token")

    def me(self, request: Request) -> Response:
        user = self.users[OUR_ID]
        return self.ok({"data": {k: user[k] for k in ("id", "name", "username")}})

    def by_username(self, request: Request) -> Response:
        name = request.match.group("username") if request.match else ""
        for user in self.users.values():
            if user["username"] == name:
                return self.ok({"data": {k: user[k] for k in ("id", "name", "username")}})
        return self.ok({"errors": [{"title": "Not Found Error", "detail": name}]})

    def create_tweet(self, request: Request) -> Response:
        if not request.headers.get("authorization", "").startswith("OAuth "):
            return Response(403, self.error_body(403))
        body = request.json()
        reply_to = (body.get("reply") or {}).get("in_reply_to_tweet_id")
        for tweet in self.posted:
            if tweet.get("_note", tweet["text"]) == body["text"]:
                return Response(403, {"detail": "You are not allowed to create a Tweet with "
                                      "duplicate content.", "status": 403, "title": "Forbidden",
                                      "type": "about:blank"})  # fmt: skip
        tid = self.add_tweet(body["text"], author=OUR_USERNAME, reply_to=reply_to, searchable=False)
        return self.ok({"data": {"id": tid, "text": body["text"], "edit_history_tweet_ids": [tid]}},
                       201)  # fmt: skip

    def create_dm(self, request: Request) -> Response:
        if not request.headers.get("authorization", "").startswith("OAuth "):
            return Response(403, self.error_body(403))
        pid = request.match.group("pid") if request.match else ""
        if pid not in self.users:
            return Response(400, {"title": "Invalid Request", "detail": "unknown participant"})
        eid = self._new_id()
        conversation = f"{min(pid, OUR_ID)}-{max(pid, OUR_ID)}"
        self.dm_events.append({
            "id": eid, "event_type": "MessageCreate", "text": request.json()["text"],
            "sender_id": OUR_ID, "dm_conversation_id": conversation,
            "created_at": stamp(EPOCH + timedelta(seconds=int(eid) - 1000)),
            "participant_ids": [pid, OUR_ID],
        })  # fmt: skip
        return self.ok({"data": {"dm_conversation_id": conversation, "dm_event_id": eid}}, 201)

    def list_dms(self, request: Request) -> Response:
        events = self.dm_events
        pid = (
            request.match.group("pid")
            if request.match and "pid" in request.match.re.groupindex
            else None
        )
        if pid:
            events = [e for e in events if pid in e["participant_ids"]]
        fields = [{k: v for k, v in e.items() if k != "participant_ids"} for e in events]
        return self._page(request, fields, "pagination_token")
