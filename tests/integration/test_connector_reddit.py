"""The Reddit connector against the loopback fake Reddit: real praw/prawcore code."""

from __future__ import annotations

from typing import Any

import pytest

from crawlers.reddit import RedditConnector, from_settings
from pipeline.errors import AuthError, ConfigError, MissingSecret, RateLimited
from pipeline.records import OutboundMessage
from tests.fakes.base import Fault
from tests.fakes.config import settings_for
from tests.fakes.reddit import CLIENT_ID, CLIENT_SECRET, PASSWORD, USERNAME, FakeReddit

SECRETS = {
    "ESCUCHA_REDDIT_CLIENT_ID": CLIENT_ID,
    "ESCUCHA_REDDIT_CLIENT_SECRET": CLIENT_SECRET,
    "ESCUCHA_REDDIT_USERNAME": USERNAME,
    "ESCUCHA_REDDIT_PASSWORD": PASSWORD,
}


@pytest.fixture
def fake():
    with FakeReddit() as server:
        yield server


def connector(fake: FakeReddit, secrets: dict[str, str] | None = None, **options: Any):
    opts: dict[str, Any] = {"query": "acme", "subreddits": ["acme"], "page_size": 3,
                            "retry_backoff": "0.01s"}  # fmt: skip
    opts.update(options)
    source, settings = settings_for("reddit-acme", "reddit", fake.url, secrets or SECRETS, **opts)
    conn = from_settings(source, settings)
    assert isinstance(conn, RedditConnector)
    return conn


def test_search_and_streams_resume_from_a_persisted_cursor(fake):
    posts = [fake.add_post(f"acme is broken {i}") for i in range(7)]
    fake.add_post("unrelated", sub="other")
    fake.add_comment("acme support never answers", parent=posts[0])
    conn = connector(fake, streams=["comments", "submissions"])
    pages = list(conn.fetch(None))
    keys = [m.native_id for p in pages for m in p.mentions]
    assert len([k for k in keys if k.startswith("t3_")]) == 14  # search + submissions stream
    assert len(set(keys)) == 8
    cursor = pages[-1].cursor
    assert set(cursor) == {"search", "comments:acme", "submissions:acme"}
    assert all("run" not in v for v in cursor.values())
    # A new process (new praw instance, empty in-memory seen-set) only gets what is new.
    fake.add_post("acme again")
    fresh = {m.native_id for p in connector(fake, streams=["submissions"]).fetch(cursor)
             for m in p.mentions}  # fmt: skip
    assert {k for k in fresh if k not in keys} == {fake.of_kind("t3")[-1]["name"]}
    search = [r for r in fake.requests if "/search" in r.path][-1]
    assert search.query["sort"] == "new"
    assert search.query["restrict_sr"] == "on"


def test_search_all_without_subreddits(fake):
    fake.add_post("acme anywhere", sub="random")
    pages = list(connector(fake, subreddits=[]).fetch(None))
    assert [m.title for p in pages for m in p.mentions] == ["acme anywhere"]
    assert any(r.path.startswith("/r/all/search") for r in fake.requests)


def test_interrupted_walk_resumes_after_the_last_stored_item(fake):
    for i in range(7):
        fake.add_post(f"acme {i}")
    conn = connector(fake, retries=0)
    walk = conn.fetch(None)
    first = next(walk)
    fake.faults.append(Fault(status=429, reset_in=60))
    with pytest.raises(RateLimited) as info:
        next(walk)
    assert info.value.retry_after > 30
    rest = list(conn.fetch(first.cursor))
    assert fake.requests[-len(rest)].query["after"] == first.cursor["search"]["run"]["after"]
    keys = [m.native_id for p in [first, *rest] for m in p.mentions]
    assert len(keys) == len(set(keys)) == 7


def test_5xx_is_retried_and_429_without_reset_is_not(fake):
    fake.add_post("acme")
    fake.faults.append(Fault(status=503))
    assert len(next(iter(connector(fake).fetch(None))).mentions) == 1
    fake.faults.append(Fault(status=429, headers={}))
    before = len(fake.requests)
    with pytest.raises(RateLimited) as info:
        list(connector(fake).fetch(None))
    assert info.value.retry_after is None
    assert sum(1 for r in fake.requests[before:] if "/search" in r.path) == 1


def test_expired_or_revoked_credentials_are_auth_errors(fake):
    fake.expired = True
    with pytest.raises(AuthError, match="401"):
        list(connector(fake).fetch(None))
    fake.expired = False
    fake.revoked = True
    with pytest.raises(AuthError, match="ESCUCHA_REDDIT_CLIENT_ID"):
        list(connector(fake).fetch(None))


def test_config_errors_name_the_key_and_the_variable(fake):
    with pytest.raises(MissingSecret, match="ESCUCHA_REDDIT_CLIENT_SECRET"):
        connector(fake, secrets={"ESCUCHA_REDDIT_CLIENT_ID": CLIENT_ID})
    with pytest.raises(ConfigError, match=r"sources\.reddit-acme\.streams"):
        connector(fake, streams=["everything"])
    read_only = {k: v for k, v in SECRETS.items() if "USERNAME" not in k and "PASSWORD" not in k}
    conn = connector(fake, secrets=read_only)
    with pytest.raises(MissingSecret, match="ESCUCHA_REDDIT_USERNAME"):
        conn.send(OutboundMessage("public_reply", "reddit", "hi", "k", in_reply_to="t3_x"))


def test_replies_and_private_messages_go_out_once(fake):
    post = fake.add_post("acme charged me twice")
    conn = connector(fake)
    ack = OutboundMessage("public_reply", "reddit", "Sorry! We sent you a PM.", "c7:ack",
                          in_reply_to=post)  # fmt: skip
    sent = conn.send(ack)
    assert conn.send(ack).platform_id == sent.platform_id  # a retry finds the invisible marker
    assert len(fake.replies_by_us) == 1
    assert fake.replies_by_us[0]["parent_id"] == post
    assert "[](#escucha:c7%3Aack)" in fake.replies_by_us[0]["body"]

    pm = OutboundMessage("private_message", "reddit", "Hi ann, order number?", "c7:pm",
                         recipient="ann")  # fmt: skip
    first = conn.send(pm)
    assert conn.send(pm).platform_id == first.platform_id
    assert len(fake.messages_by_us) == 1
    assert fake.messages_by_us[0]["dest"] == "ann"

    messages, cursor = conn.poll_private(None)
    assert messages == []
    fake.add_message("It is 4242")
    messages, cursor = conn.poll_private(cursor)
    assert [(m.sender, m.text) for m in messages] == [("ann", "It is 4242")]
    assert conn.poll_private(cursor)[0] == []

    close = OutboundMessage("public_close", "reddit", "Solved by PM. Thanks!", "c7:close",
                            in_reply_to=post)  # fmt: skip
    conn.send(close)
    assert len(fake.replies_by_us) == 2
