"""The Instagram connector against the loopback fake Graph API (real httpx on the wire)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from crawlers.instagram import InstagramConnector, from_settings
from pipeline.errors import AuthError, Conflict, MissingSecret, RateLimited
from pipeline.records import OutboundMessage
from tests.fakes.base import Fault
from tests.fakes.config import settings_for
from tests.fakes.graph import APP_SECRET, IG_TOKEN, IG_USER_ID, VERIFY_TOKEN, FakeGraph

SECRETS = {"ESCUCHA_INSTAGRAM_TOKEN": IG_TOKEN, "ESCUCHA_META_APP_SECRET": APP_SECRET,
           "ESCUCHA_META_VERIFY_TOKEN": VERIFY_TOKEN}  # fmt: skip


@pytest.fixture
def fake():
    with FakeGraph() as server:
        yield server


def connector(fake, secrets: dict[str, str] | None = None, **options: Any) -> InstagramConnector:
    opts: dict[str, Any] = {"ig_user_id": IG_USER_ID, "page_size": 2, "retry_backoff": "0.01s"}
    opts.update(options)
    source, settings = settings_for("ig-acme", "instagram", fake.url, secrets or SECRETS, **opts)
    return from_settings(source, settings)


def keys(pages) -> list[str]:
    return [m.native_id for p in pages for m in p.mentions]


def test_comments_replies_and_tags_are_read_incrementally(fake):
    media = fake.add_media("New colours!")
    c1 = fake.add_comment(media, "the blue one peels", author="ana.g")
    r1 = fake.add_comment(c1, "mine too", author="bea")
    c2 = fake.add_comment(media, "love it", author="luis")
    c3 = fake.add_comment(media, "when in Spain?", author="eva")
    tag = fake.add_media("thanks @acme for nothing", by_us=False, author="carla")
    pages = list(connector(fake).fetch(None))
    assert sorted(keys(pages)) == sorted([c1, r1, c2, c3, tag])
    mentions = {m.native_id: m for p in pages for m in p.mentions}
    assert mentions[r1].parent_id == c1 and mentions[r1].thread_id == media
    assert mentions[c1].parent_id == media and mentions[c1].author == "ana.g"
    assert mentions[tag].kind == "post" and mentions[tag].author == "carla"
    cursor = pages[-1].cursor
    assert cursor["media"][media]["count"] == 4
    # Nothing new: the media list is read, its comments are not.
    before = fake.count("GET", f"{media}/comments")
    assert keys(connector(fake).fetch(cursor)) == []
    assert fake.count("GET", f"{media}/comments") == before
    r2 = fake.add_comment(c3, "in May", author="acme_fan")
    assert keys(connector(fake).fetch(cursor)) == [r2]


def test_reply_hide_and_private_reply_rules(fake):
    media = fake.add_media("New colours!")
    cid = fake.add_comment(media, "order 77 never arrived", author="ana.g")
    conn = connector(fake)
    ack = OutboundMessage("public_reply", "instagram", "Sorry! Check your DMs", "c9:ack",
                          in_reply_to=cid)  # fmt: skip
    sent = conn.send(ack)
    assert conn.send(ack).platform_id == sent.platform_id
    [reply] = [i for i in fake.comments_on(media) if i.author_id == IG_USER_ID]
    assert (reply.parent, reply.text) == (cid, ack.text)
    conn.hide(cid)
    assert fake.items[cid].hidden and fake.requests[-1].form() == {"hide": "true"}
    private = OutboundMessage("private_message", "instagram", "Hi! Your order number?",
                              "c9:pm:1", in_reply_to=cid, private_channel="private_reply")  # fmt: skip
    conn.send(private)
    assert fake.sent[-1]["account"] == IG_USER_ID
    with pytest.raises(Conflict, match="already had its one private reply"):
        conn.send(private)
    old = fake.add_comment(media, "ignored for a week", author="bea", age=timedelta(days=8))
    with pytest.raises(Conflict, match="window"):
        conn.send(OutboundMessage("private_message", "instagram", "hi", "k", in_reply_to=old))


def test_instagram_dm_window(fake):
    dm = OutboundMessage("private_message", "instagram", "Sent!", "c9:pm:2",
                         recipient="igsid-ana", private_channel="dm")  # fmt: skip
    with pytest.raises(Conflict, match="window"):
        connector(fake).send(dm)  # the customer never wrote
    fake.add_dm(IG_USER_ID, "igsid-ana", "here is my number", age=timedelta(hours=2))
    assert connector(fake).send(dm).platform_id
    messages, cursor = connector(fake).poll_private(None)
    assert [m.text for m in messages] == ["here is my number"]
    assert connector(fake).poll_private(cursor)[0] == []


def test_errors(fake):
    fake.add_media("x")
    fake.faults.append(Fault(status=429, reset_in=60))
    with pytest.raises(RateLimited) as info:
        list(connector(fake, retries=0).fetch(None))
    assert info.value.retry_after == 60.0
    fake.expired = True
    with pytest.raises(AuthError, match="ESCUCHA_INSTAGRAM_TOKEN"):
        list(connector(fake).fetch(None))
    with pytest.raises(MissingSecret, match="ESCUCHA_INSTAGRAM_TOKEN"):
        connector(fake, secrets={"ESCUCHA_META_APP_SECRET": APP_SECRET})


def test_webhook_dm_comment_and_unsent_message(fake):
    media = fake.add_media("New colours!")
    cid = fake.add_comment(media, "does it come in red?", author="ana.g")
    deleted = fake.dm_event("igsid-ana", IG_USER_ID, "", mid="m_gone")
    deleted["message"] = {"mid": "m_gone", "is_deleted": True}
    body, headers = fake.webhook("instagram", IG_USER_ID, messaging=[
        fake.dm_event("igsid-ana", IG_USER_ID, "hola"), deleted,
    ], changes=[fake.ig_comment_change(cid)])  # fmt: skip
    assert headers["X-Hub-Signature-256"] == FakeGraph.sign(body)
    events = connector(fake).parse_webhook(body)
    assert [(m.sender, m.text, m.platform) for m in events.messages] == [
        ("igsid-ana", "hola", "instagram")]  # fmt: skip
    [mention] = events.mentions
    assert (mention.native_id, mention.author, mention.thread_id) == (cid, "ana.g", media)
    assert events.deleted == ("m_gone",)
    assert connector(fake).verify_token() == VERIFY_TOKEN
