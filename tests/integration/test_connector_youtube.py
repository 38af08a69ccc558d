"""The YouTube connector against the loopback fake: real googleapiclient with static discovery."""

from __future__ import annotations

from typing import Any

import pytest

from crawlers.youtube import YouTubeConnector, from_settings
from pipeline.errors import AuthError, ConfigError, MissingSecret, RateLimited, SourceError
from pipeline.records import OutboundMessage
from tests.fakes.base import Fault
from tests.fakes.config import settings_for
from tests.fakes.youtube import ACCESS_TOKEN, API_KEY, CHANNEL, FakeYouTube

SECRETS = {"ESCUCHA_YOUTUBE_API_KEY": API_KEY, "ESCUCHA_YOUTUBE_ACCESS_TOKEN": ACCESS_TOKEN}


@pytest.fixture
def fake():
    with FakeYouTube() as server:
        yield server


def connector(fake, secrets: dict[str, str] | None = None, **options: Any) -> YouTubeConnector:
    opts: dict[str, Any] = {"channel_id": CHANNEL, "page_size": 3, "retry_backoff": "0.01s"}
    opts.update(options)
    source, settings = settings_for("yt-acme", "youtube", fake.url, secrets or SECRETS, **opts)
    return from_settings(source, settings)


def test_comment_threads_high_water_with_overlap_and_quota(fake):
    ids = [fake.add_comment(f"acme broke my phone {i}") for i in range(7)]
    fake.add_reply(ids[0], "same here")
    conn = connector(fake)
    pages = list(conn.fetch(None))
    assert [len(p.mentions) for p in pages] == [3, 3, 2]
    assert "yt-acme" not in str(pages[0].cursor.get(f"channel:{CHANNEL}"))
    assert f"channel:{CHANNEL}" not in pages[0].cursor  # moved only after the last page
    cursor = pages[-1].cursor
    assert cursor["quota"]["used"] == 3
    assert pages[-1].rate_limit["quota_budget"] == 10_000
    reply = next(m for p in pages for m in p.mentions if m.parent_id)
    assert reply.parent_id == ids[0]
    assert reply.thread_id == ids[0]
    # Next poll: the overlap re-reads recent threads; the new one is there, and paging stops.
    fake.add_comment("acme again")
    again = list(connector(fake).fetch(cursor))
    keys = {m.native_id for p in again for m in p.mentions}
    assert fake.threads[-1]["id"] in keys
    assert again[-1].cursor["quota"]["used"] == 3 + len(again)


def test_quota_budget_is_enforced_before_spending(fake):
    for i in range(7):
        fake.add_comment(f"acme {i}")
    conn = connector(fake, daily_quota=2)
    walk = conn.fetch(None)
    assert len(next(walk).mentions) == 3
    next(walk)
    with pytest.raises(RateLimited, match="quota budget spent") as info:
        next(walk)
    assert 0 < info.value.retry_after <= 86400 + 3600
    assert fake.count("GET", "commentThreads") == 2


def test_quota_exceeded_from_youtube_is_rate_limited_until_pacific_midnight(fake):
    fake.faults.append(Fault(status=403, body=FakeYouTube.quota_exceeded()))
    with pytest.raises(RateLimited, match="quotaExceeded") as info:
        list(connector(fake).fetch(None))
    assert info.value.retry_after > 0


def test_5xx_malformed_and_expired(fake):
    fake.add_comment("acme")
    fake.faults.extend([Fault(status=503), Fault(malformed=True)])
    assert len(next(iter(connector(fake).fetch(None))).mentions) == 1
    fake.expired = True
    with pytest.raises(AuthError, match="401"):
        list(connector(fake).fetch(None))


def test_config_and_secrets(fake):
    with pytest.raises(MissingSecret, match="ESCUCHA_YOUTUBE_API_KEY"):
        connector(fake, secrets={"ESCUCHA_NOTHING": "x"})
    with pytest.raises(ConfigError, match=r"sources\.yt-acme\.channel_id"):
        connector(fake, channel_id=None)
    with pytest.raises(ConfigError, match=r"sources\.yt-acme\.daily_quota"):
        connector(fake, daily_quota=0)
    key_only = connector(fake, secrets={"ESCUCHA_YOUTUBE_API_KEY": API_KEY})
    with pytest.raises(MissingSecret, match="ESCUCHA_YOUTUBE_REFRESH_TOKEN"):
        key_only.send(OutboundMessage("public_reply", "youtube", "hi", "k", in_reply_to="Ug0001"))


def test_reply_goes_out_once_and_private_messages_deflect(fake):
    cid = fake.add_comment("acme support is useless")
    conn = connector(fake)
    ack = OutboundMessage("public_reply", "youtube", "Sorry! Write to care@acme.test", "c3:ack",
                          in_reply_to=cid)  # fmt: skip
    sent = conn.send(ack)
    assert conn.send(ack).platform_id == sent.platform_id
    assert len(fake.inserted) == 1
    assert fake.inserted[0]["snippet"]["parentId"] == cid
    # A reply to a reply hangs off the top-level comment.
    reply_id = fake.add_reply(cid, "still broken")
    conn.send(OutboundMessage("public_close", "youtube", "Fixed by email, thanks!", "c3:close",
                              in_reply_to=reply_id))  # fmt: skip
    assert [r["snippet"]["parentId"] for r in fake.inserted] == [cid, cid]
    assert conn.quota["used"] >= 2 * 50
    with pytest.raises(SourceError, match="no private messages") as info:
        conn.send(OutboundMessage("private_message", "youtube", "hi", "c3:pm", recipient="Ann"))
    assert "private channel (email: care@example.com)" in str(info.value)
    assert conn.poll_private({"x": 1}) == ([], {"x": 1})
