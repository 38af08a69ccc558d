"""A fake Reddit: token endpoint, search, subreddit listings, replies, compose, inbox, sent box.

praw is pointed at it with ``oauth_url``/``reddit_url``. Listings are newest first and paginate
with ``after=<fullname>``, as Reddit's do.
"""

from __future__ import annotations

import base64
import time
from typing import Any

from tests.fakes.base import FakeServer, Request, Response

CLIENT_ID = "fake-client"
CLIENT_SECRET = "fake-secret"
USERNAME = "acme_care"
PASSWORD = "fake-password"
EPOCH = 1_735_812_000.0  # 2025-01-02 10:00 UTC


def b36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
        if not number:
            return out


class FakeReddit(FakeServer):
    exempt = ("/api/v1/access_token",)

    def __init__(self, *, seed: int = 0, now: float | None = None) -> None:
        super().__init__(seed=seed)
        self.counter = 1000
        self.clock = now or time.time() - 3600  # items are recent, inside the backfill window
        self.things: list[dict[str, Any]] = []  # t1 comments, t3 posts, t4 messages
        self.tokens: set[str] = set()
        self.revoked = False
        self.route("POST", r"/api/v1/access_token", self.token)
        self.route("GET", r"/r/(?P<subs>[^/]+)/search/?", self.search)
        self.route("GET", r"/r/(?P<subs>[^/]+)/comments/?", self.sub_comments)
        self.route("GET", r"/r/(?P<subs>[^/]+)/new/?", self.sub_new)
        self.route("POST", r"/api/comment/?", self.comment)
        self.route("POST", r"/api/compose/?", self.compose)
        self.route("GET", r"/message/inbox/?", self.inbox)
        self.route("GET", r"/message/sent/?", self.sent)
        self.route("GET", r"/user/(?P<user>[^/]+)/comments/?", self.user_comments)
        self.route("GET", r"/api/v1/me/?", self.me)

    # -- seeding -----------------------------------------------------------------------------
    def _thing(self, kind: str, **data: Any) -> dict[str, Any]:
        with self.lock:
            self.counter += 1
            self.clock += 60
            tid = b36(self.counter)
            data.setdefault("author", "ann")
            thing = {"id": tid, "name": f"{kind}_{tid}", "created_utc": self.clock,
                     "author_fullname": f"t2_{data['author']}", "score": 1, **data}  # fmt: skip
            self.things.append({"kind": kind, "data": thing})
            return thing

    def add_post(
        self, title: str, text: str = "", *, sub: str = "acme", author: str = "ann"
    ) -> str:
        tid = b36(self.counter + 1)
        thing = self._thing(
            "t3", title=title, selftext=text, subreddit=sub, author=author, num_comments=0,
            permalink=f"/r/{sub}/comments/{tid}/post/",
        )  # fmt: skip
        return str(thing["name"])

    def add_comment(self, body: str, *, parent: str, sub: str = "acme", author: str = "ann") -> str:
        tid = b36(self.counter + 1)
        link = parent
        for item in self.things:
            if item["data"]["name"] == parent and item["kind"] == "t1":
                link = item["data"]["link_id"]
        thing = self._thing(
            "t1", body=body, parent_id=parent, link_id=link, subreddit=sub, author=author,
            permalink=f"/r/{sub}/comments/{link[3:]}/post/{tid}/",
        )  # fmt: skip
        return str(thing["name"])

    def add_message(self, body: str, *, author: str = "ann", to: str = USERNAME) -> str:
        thing = self._thing(
            "t4",
            body=body,
            author=author,
            dest=to,
            subject="re: your message",
            replies="",
            was_comment=False,
            first_message_name=None,
            subreddit=None,
        )
        return str(thing["name"])

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [t["data"] for t in self.things if t["kind"] == kind]

    @property
    def replies_by_us(self) -> list[dict[str, Any]]:
        return [c for c in self.of_kind("t1") if c["author"] == USERNAME]

    @property
    def messages_by_us(self) -> list[dict[str, Any]]:
        return [m for m in self.of_kind("t4") if m["author"] == USERNAME]

    # -- protocol ----------------------------------------------------------------------------
    def rate_headers(self, reset: float) -> dict[str, str]:
        # Only retry-after: x-ratelimit-remaining=0 would make prawcore sleep before asking again.
        return {"retry-after": str(max(0, round(reset - time.time())))}

    def unauthorized(self, request: Request) -> Response:
        challenge = 'Bearer realm="reddit", error="invalid_token"'
        return Response(401, {"message": "Unauthorized", "error": 401},
                        {"www-authenticate": challenge})  # fmt: skip

    def error_body(self, status: int) -> Any:
        return {"message": "fake error", "error": status}

    def authorized(self, request: Request) -> bool:
        if request.path.startswith("/api/v1/access_token"):
            return True
        auth = request.headers.get("authorization", "")
        return auth.removeprefix("bearer ") in self.tokens

    def ok(self, body: Any) -> Response:
        headers = {"x-ratelimit-remaining": "590", "x-ratelimit-used": "10",
                   "x-ratelimit-reset": "300"}  # fmt: skip
        return Response(200, body, headers)

    def token(self, request: Request) -> Response:
        basic = base64.b64decode(request.headers.get("authorization", "Basic ")[6:]).decode()
        form = request.form()
        password_ok = form.get("grant_type") != "password" or (
            form.get("username") == USERNAME and form.get("password") == PASSWORD
        )
        if self.revoked or basic != f"{CLIENT_ID}:{CLIENT_SECRET}" or not password_ok:
            return Response(200, {"error": "invalid_grant"})
        token = f"tok-{len(self.tokens)}"
        self.tokens.add(token)
        return Response(200, {"access_token": token, "token_type": "bearer",
                              "expires_in": 86400, "scope": "*"})  # fmt: skip

    def listing(self, request: Request, items: list[dict[str, Any]]) -> Response:
        ordered = sorted(items, key=lambda t: -t["data"]["created_utc"])
        after = request.query.get("after")
        if after:
            names = [t["data"]["name"] for t in ordered]
            ordered = ordered[names.index(after) + 1 :] if after in names else []
        limit = int(request.query.get("limit", 25))
        page = ordered[:limit]
        next_after = page[-1]["data"]["name"] if len(ordered) > limit else None
        return self.ok({"kind": "Listing", "data": {"after": next_after, "before": None,
                        "dist": len(page), "children": page}})  # fmt: skip

    def _subs(self, request: Request) -> set[str] | None:
        subs = request.match.group("subs") if request.match else "all"
        return None if subs == "all" else set(subs.split("+"))

    def search(self, request: Request) -> Response:
        subs = self._subs(request)
        words = [w.strip('"').lower() for w in request.query.get("q", "").split(" OR ")]
        found = [
            t for t in self.things
            if t["kind"] == "t3" and (subs is None or t["data"]["subreddit"] in subs)
            and any(w in (t["data"]["title"] + " " + t["data"]["selftext"]).lower() for w in words)
        ]  # fmt: skip
        return self.listing(request, found)

    def _in_subs(self, request: Request, kind: str) -> Response:
        subs = self._subs(request)
        found = [
            t for t in self.things
            if t["kind"] == kind and (subs is None or t["data"]["subreddit"] in subs)
        ]  # fmt: skip
        return self.listing(request, found)

    def sub_comments(self, request: Request) -> Response:
        return self._in_subs(request, "t1")

    def sub_new(self, request: Request) -> Response:
        return self._in_subs(request, "t3")

    def comment(self, request: Request) -> Response:
        form = request.form()
        parent = form["thing_id"]
        sub = next((t["data"]["subreddit"] for t in self.things if t["data"]["name"] == parent),
                   "acme")  # fmt: skip
        name = self.add_comment(form["text"], parent=parent, sub=sub, author=USERNAME)
        data = next(t["data"] for t in self.things if t["data"]["name"] == name)
        return self.ok({"json": {"errors": [], "data": {"things": [{"kind": "t1", "data": data}]}}})

    def compose(self, request: Request) -> Response:
        form = request.form()
        self.add_message(form["text"], author=USERNAME, to=form["to"])
        return self.ok({"json": {"errors": []}})

    def inbox(self, request: Request) -> Response:
        mine = [t for t in self.things if t["kind"] == "t4" and t["data"].get("dest") == USERNAME]
        return self.listing(request, mine)

    def _by(self, request: Request, kind: str, author: str) -> Response:
        found = [t for t in self.things if t["kind"] == kind and t["data"]["author"] == author]
        return self.listing(request, found)

    def sent(self, request: Request) -> Response:
        return self._by(request, "t4", USERNAME)

    def user_comments(self, request: Request) -> Response:
        return self._by(request, "t1", request.match.group("user") if request.match else "")

    def me(self, request: Request) -> Response:
        return self.ok({"name": USERNAME, "id": "us1"})
