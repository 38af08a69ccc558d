"""A fake Meta Graph API: a Facebook page (feed, tagged posts, comments and replies, hide, private
replies and Messenger) and an Instagram account (media, comments, replies, tags, hide, private
replies, DMs), with Graph's wire format: ``{"data", "paging": {"cursors", "next"}}``, ``since``,
``after`` cursors, and ``{"error": {"code", "error_subcode"}}`` with Meta's codes.

Rules enforced as Meta does: one private reply per comment, within 7 days of it (code 10,
subcode 2018278 outside the window; code 10900 when already used); direct messages within 24 h of
the person's last message (7 days with the ``HUMAN_AGENT`` tag). ``expired`` answers code 190;
a 429 fault carries ``X-Business-Use-Case-Usage``. ``webhook`` builds signed deliveries.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from crawlers.meta_graph import GRAPH_VERSION
from tests.fakes.base import FakeServer, Request, Response

PAGE_ID = "1001"
PAGE_TOKEN = "fake-page-token"
IG_USER_ID = "17841400000000001"
IG_TOKEN = "fake-ig-token"
APP_SECRET = "fake-app-secret"
VERIFY_TOKEN = "fake-verify-token"
V = f"/{GRAPH_VERSION}"


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def graph_error(status: int, message: str, code: int, sub: int | None = None) -> Response:
    error: dict[str, Any] = {"message": message, "type": "OAuthException", "code": code,
                             "fbtrace_id": "AbCdEf"}  # fmt: skip
    if sub is not None:
        error["error_subcode"] = sub
    return Response(status, {"error": error})


@dataclass
class Item:
    """A post, medium or comment; ``parent`` is the comment a reply answers."""

    id: str
    platform: str  # facebook, instagram
    kind: str  # post, media, comment
    text: str
    author_id: str
    author: str
    at: datetime
    target: str | None = None  # post/medium of a comment
    parent: str | None = None
    hidden: bool = False
    tags_us: bool = False

    def render(self) -> dict[str, Any]:
        if self.platform == "facebook":
            body: dict[str, Any] = {
                "id": self.id, "message": self.text, "created_time": stamp(self.at),
                "from": {"id": self.author_id, "name": self.author},
                "permalink_url": f"https://www.facebook.com/{self.id}",
            }  # fmt: skip
            if self.kind == "comment":
                body |= {"like_count": 1, "comment_count": 0, "is_hidden": self.hidden}
                if self.parent:
                    body["parent"] = {"id": self.parent}
            return body
        if self.kind == "media":
            return {"id": self.id, "caption": self.text, "timestamp": stamp(self.at),
                    "permalink": f"https://www.instagram.com/p/{self.id}/",
                    "username": self.author}  # fmt: skip
        body = {"id": self.id, "text": self.text, "timestamp": stamp(self.at),
                "username": self.author, "from": {"id": self.author_id, "username": self.author},
                "like_count": 0, "hidden": self.hidden}  # fmt: skip
        if self.parent:
            body["parent_id"] = self.parent
        return body


class FakeGraph(FakeServer):
    def __init__(self, *, seed: int = 0) -> None:
        super().__init__(seed=seed)
        self.now = datetime.now(UTC).replace(microsecond=0)
        self.clock = self.now - timedelta(hours=3)
        self.counter = 0
        self.items: dict[str, Item] = {}
        self.sent: list[dict[str, Any]] = []  # every message accepted on /messages
        self.private_replied: set[str] = set()
        self.inbound: list[dict[str, Any]] = []  # customers' DMs: {id, from, to, text, at}
        r = self.route
        r("GET", rf"{V}/(?P<id>[^/]+)/feed", self.feed)
        r("GET", rf"{V}/(?P<id>[^/]+)/tagged", self.tagged)
        r("GET", rf"{V}/(?P<id>[^/]+)/tags", self.tagged)
        r("GET", rf"{V}/(?P<id>[^/]+)/media", self.media)
        r("GET", rf"{V}/(?P<id>[^/]+)/(?P<edge>comments|replies)", self.comments)
        r("POST", rf"{V}/(?P<id>[^/]+)/(?P<edge>comments|replies)", self.reply)
        r("POST", rf"{V}/(?P<id>[^/]+)/messages", self.messages)
        r("GET", rf"{V}/(?P<id>[^/]+)/conversations", self.conversations)
        r("POST", rf"{V}/(?P<id>[^/]+)", self.update)

    # -- seeding -------------------------------------------------------------------------------
    def _add(self, item: Item) -> str:
        with self.lock:
            self.items[item.id] = item
            return item.id

    def _next(self, prefix: str, age: timedelta | None) -> tuple[str, datetime]:
        self.counter += 1
        if age is not None:
            return f"{prefix}{self.counter}", self.now - age
        self.clock += timedelta(minutes=1)
        return f"{prefix}{self.counter}", self.clock

    def add_post(self, text: str, *, by_page: bool = True, author: str = "Ana",
                 age: timedelta | None = None, tags_page: bool = False) -> str:  # fmt: skip
        pid, at = self._next(f"{PAGE_ID}_", age)
        author_id = PAGE_ID if by_page else f"u-{author.lower()}"
        return self._add(Item(pid, "facebook", "post", text, author_id,
                              "Acme" if by_page else author, at, tags_us=tags_page))  # fmt: skip

    def add_comment(self, target: str, text: str, *, author: str = "Ana",
                    age: timedelta | None = None) -> str:  # fmt: skip
        """A comment on a post or medium, or a reply when ``target`` is a comment."""
        parent_item = self.items[target]
        platform = parent_item.platform
        on = parent_item.target if parent_item.kind == "comment" else target
        parent = (parent_item.parent or target) if parent_item.kind == "comment" else None
        cid, at = self._next("c", age)
        cid = f"{on}_{cid}" if platform == "facebook" else f"1790{self.counter:06d}"
        author_id = f"u-{author.lower()}" if platform == "facebook" else f"ig-{author.lower()}"
        return self._add(Item(cid, platform, "comment", text, author_id, author, at,
                              target=on, parent=parent))  # fmt: skip

    def add_media(self, caption: str, *, by_us: bool = True, author: str = "acme",
                  age: timedelta | None = None) -> str:  # fmt: skip
        mid, at = self._next("1800", age)
        author_id = IG_USER_ID if by_us else f"ig-{author}"
        return self._add(Item(mid, "instagram", "media", caption, author_id, author, at,
                              tags_us=not by_us))  # fmt: skip

    def add_dm(self, account: str, sender: str, text: str, *, age: timedelta | None = None) -> str:
        self.counter += 1
        at = self.now - age if age is not None else self.now
        mid = f"m_{self.counter}"
        self.inbound.append({"id": mid, "from": sender, "to": account, "text": text, "at": at})
        return mid

    def comments_on(self, target: str) -> list[Item]:
        return [i for i in self.items.values() if i.kind == "comment" and i.target == target]

    # -- protocol ----------------------------------------------------------------------------
    def authorized(self, request: Request) -> bool:
        return request.headers.get("authorization") in (
            f"Bearer {PAGE_TOKEN}",
            f"Bearer {IG_TOKEN}",
        )

    def unauthorized(self, request: Request) -> Response:
        return graph_error(400, "Error validating access token: Session has expired", 190, 463)

    def error_body(self, status: int) -> Any:
        if status == 429:
            return {"error": {"message": "(#32) Page request limit reached", "code": 32}}
        if status >= 500:
            return {"error": {"message": "An unexpected error has occurred.", "code": 2}}
        return {"error": {"message": f"fake error {status}", "code": 100}}

    def rate_headers(self, reset: float) -> dict[str, str]:
        minutes = max(1, math.ceil((reset - time.time()) / 60))
        usage = {PAGE_ID: [{"type": "pages", "call_count": 100, "total_cputime": 20,
                            "total_time": 30, "estimated_time_to_regain_access": minutes}]}  # fmt: skip
        return {"X-Business-Use-Case-Usage": json.dumps(usage),
                "X-App-Usage": json.dumps({"call_count": 100, "total_time": 10, "total_cputime": 5})}  # fmt: skip

    def _listing(self, request: Request, items: list[dict[str, Any]]) -> Response:
        start = (
            int(base64.b64decode(request.query["after"]).decode())
            if "after" in request.query
            else 0
        )
        size = int(request.query.get("limit", 25))
        page = items[start : start + size]
        body: dict[str, Any] = {"data": page}
        if page:
            body["paging"] = {"cursors": {"before": base64.b64encode(str(start).encode()).decode(),
                                          "after": base64.b64encode(str(start + len(page)).encode()).decode()}}  # fmt: skip
            if start + size < len(items):
                body["paging"]["next"] = f"{self.url}{request.path}?after=..."
        return Response(200, body)

    @staticmethod
    def _since(request: Request) -> float:
        return float(request.query.get("since", 0))

    # -- reading -------------------------------------------------------------------------------
    def feed(self, request: Request) -> Response:
        # Posts that tag the page live on their authors' timelines, not in the page's feed.
        posts = [i for i in self.items.values() if i.kind == "post" and not i.tags_us
                 and i.at.timestamp() >= self._since(request)]  # fmt: skip
        posts.sort(key=lambda i: i.at, reverse=True)
        return self._listing(request, [p.render() for p in posts])

    def tagged(self, request: Request) -> Response:
        kind = "post" if request.path.endswith("/tagged") else "media"
        found = [i for i in self.items.values() if i.kind == kind and i.tags_us
                 and i.at.timestamp() >= self._since(request)]  # fmt: skip
        found.sort(key=lambda i: i.at, reverse=True)
        return self._listing(request, [i.render() for i in found])

    def media(self, request: Request) -> Response:
        found = [i for i in self.items.values() if i.kind == "media" and not i.tags_us
                 and i.at.timestamp() >= self._since(request)]  # fmt: skip
        found.sort(key=lambda i: i.at, reverse=True)
        rendered = [i.render() | {"comments_count": len(self.comments_on(i.id))} for i in found]
        return self._listing(request, rendered)

    def comments(self, request: Request) -> Response:
        assert request.match is not None
        target = self.items.get(request.match["id"])
        if target is None:
            return graph_error(400, "Unsupported get request. Object does not exist", 100, 33)
        if target.kind == "comment":
            found = [i for i in self.comments_on(target.target or "") if i.parent == target.id]
        elif target.platform == "facebook" and request.query.get("filter") == "stream":
            found = self.comments_on(target.id)
        else:
            found = [i for i in self.comments_on(target.id) if i.parent is None]
        found = [i for i in found if i.at.timestamp() >= self._since(request)]
        newest_first = (
            target.platform == "instagram" or request.query.get("order") == "reverse_chronological"
        )
        found.sort(key=lambda i: (i.at, i.id), reverse=newest_first)
        rendered = []
        for item in found:
            body = item.render()
            if target.platform == "instagram" and item.parent is None:
                replies = [r.render() for r in self.comments_on(target.id) if r.parent == item.id]
                if replies:
                    body["replies"] = {"data": replies}
            rendered.append(body)
        return self._listing(request, rendered)

    def conversations(self, request: Request) -> Response:
        assert request.match is not None
        account = request.match["id"]
        by_sender: dict[str, list[dict[str, Any]]] = {}
        for dm in self.inbound:
            if dm["to"] == account:
                by_sender.setdefault(dm["from"], []).append({
                    "id": dm["id"], "message": dm["text"], "created_time": stamp(dm["at"]),
                    "from": {"id": dm["from"]}})  # fmt: skip
        data = [{"id": f"t_{s}", "messages": {"data": list(reversed(m))}}
                for s, m in by_sender.items()]  # fmt: skip
        return self._listing(request, data)

    # -- writing -------------------------------------------------------------------------------
    def reply(self, request: Request) -> Response:
        assert request.match is not None
        target = self.items.get(request.match["id"])
        if target is None:
            return graph_error(400, "Unsupported post request. Object does not exist", 100, 33)
        text = request.form().get("message", "")
        self.counter += 1
        self.clock += timedelta(minutes=1)
        if target.platform == "facebook":
            on = target.target if target.kind == "comment" else target.id
            parent = (target.parent or target.id) if target.kind == "comment" else None
            cid = f"{on}_r{self.counter}"
            item = Item(cid, "facebook", "comment", text, PAGE_ID, "Acme", self.clock,
                        target=on, parent=parent)  # fmt: skip
        else:
            if request.match["edge"] != "replies" or target.kind != "comment":
                return graph_error(400, "Invalid parameter", 100)
            item = Item(f"1791{self.counter:06d}", "instagram", "comment", text, IG_USER_ID,
                        "acme", self.clock, target=target.target,
                        parent=target.parent or target.id)  # fmt: skip
        self.items[item.id] = item
        return Response(200, {"id": item.id})

    def update(self, request: Request) -> Response:
        assert request.match is not None
        item = self.items.get(request.match["id"])
        if item is None or item.kind != "comment":
            return graph_error(400, "Unsupported post request. Object does not exist", 100, 33)
        form = request.form()
        flag = form.get("is_hidden" if item.platform == "facebook" else "hide")
        if flag is None:
            return graph_error(400, "(#100) No fields to update", 100)
        item.hidden = flag == "true"
        return Response(200, {"success": True})

    def messages(self, request: Request) -> Response:
        assert request.match is not None
        account = request.match["id"]
        body = request.json()
        recipient = body.get("recipient") or {}
        now = datetime.now(UTC)
        if "comment_id" in recipient:
            comment = self.items.get(recipient["comment_id"])
            if comment is None or comment.kind != "comment":
                return graph_error(400, "(#100) Invalid comment id", 100)
            if comment.id in self.private_replied:
                return graph_error(400, "(#10900) Activity already replied to", 10900)
            if now - comment.at > timedelta(days=7):
                return graph_error(400, "(#10) This message is sent outside of allowed window.",
                                   10, 2018278)  # fmt: skip
            self.private_replied.add(comment.id)
            psid = comment.author_id
        else:
            psid = str(recipient.get("id"))
            last = max((d["at"] for d in self.inbound
                        if d["from"] == psid and d["to"] == account), default=None)  # fmt: skip
            window = timedelta(days=7) if body.get("tag") == "HUMAN_AGENT" else timedelta(hours=24)
            if last is None or now - last > window:
                return graph_error(400, "(#10) This message is sent outside of allowed window.",
                                   10, 2018278)  # fmt: skip
        self.counter += 1
        mid = f"m_out{self.counter}"
        self.sent.append({"account": account, "recipient": recipient, "message": body["message"],
                          "messaging_type": body.get("messaging_type"), "tag": body.get("tag"),
                          "recipient_id": psid, "message_id": mid})  # fmt: skip
        return Response(200, {"recipient_id": psid, "message_id": mid})

    # -- webhooks ------------------------------------------------------------------------------
    @staticmethod
    def sign(body: bytes, secret: str = APP_SECRET) -> str:
        return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()

    def webhook(self, obj: str, account: str, *, messaging: list[dict[str, Any]] | None = None,
                changes: list[dict[str, Any]] | None = None) -> tuple[bytes, dict[str, str]]:  # fmt: skip
        """A signed delivery: the raw body and its ``X-Hub-Signature-256`` header."""
        entry: dict[str, Any] = {"id": account, "time": int(time.time())}
        if messaging:
            entry["messaging"] = messaging
        if changes:
            entry["changes"] = changes
        body = json.dumps({"object": obj, "entry": [entry]}).encode()
        return body, {"X-Hub-Signature-256": self.sign(body)}

    @staticmethod
    def dm_event(sender: str, account: str, text: str, mid: str = "m_in1") -> dict[str, Any]:
        return {"sender": {"id": sender}, "recipient": {"id": account},
                "timestamp": int(time.time() * 1000), "message": {"mid": mid, "text": text}}  # fmt: skip

    def feed_change(self, comment_id: str, verb: str = "add") -> dict[str, Any]:
        item = self.items[comment_id]
        value: dict[str, Any] = {"item": "comment", "verb": verb, "comment_id": item.id,
                                 "post_id": item.target, "parent_id": item.parent or item.target,
                                 "created_time": int(item.at.timestamp())}  # fmt: skip
        if verb != "remove":
            value |= {"message": item.text, "from": {"id": item.author_id, "name": item.author}}
        return {"field": "feed", "value": value}

    def ig_comment_change(self, comment_id: str) -> dict[str, Any]:
        item = self.items[comment_id]
        value: dict[str, Any] = {"id": item.id, "text": item.text,
                                 "from": {"id": item.author_id, "username": item.author},
                                 "media": {"id": item.target, "media_product_type": "FEED"}}  # fmt: skip
        if item.parent:
            value["parent_id"] = item.parent
        return {"field": "comments", "value": value}
