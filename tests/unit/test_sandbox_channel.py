"""Sandbox channel: posts once per idempotency key, survives re-opening, tolerates a torn write."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from crawlers.sandbox import CorpusItem, SandboxPlatform
from pipeline.errors import InputError, SourceError
from pipeline.ports import Channel, Source
from pipeline.records import OutboundMessage

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
CORPUS = [
    CorpusItem(id="es1", platform="x", text="Orbita sin fibra", author="lucia_mtz", offset_s=0,
               lang="es"),
    CorpusItem(id="en1", platform="reddit", text="Orbita is down", author="tom_h", offset_s=60,
               lang="en"),
    CorpusItem(id="g1", platform="google_reviews", text="Mala tienda", author="ana_r",
               offset_s=120, lang="es", rating=1),
]  # fmt: skip


def sandbox_at(folder) -> SandboxPlatform:
    return SandboxPlatform(CORPUS, folder, clock=lambda: NOW)


def reply(key: str, text: str = "Hola lucia_mtz, te escribimos por privado.") -> OutboundMessage:
    return OutboundMessage("public_reply", "x", text, key, in_reply_to="es1")


def test_it_is_a_source_and_a_channel_for_every_platform(tmp_path):
    sandbox = sandbox_at(tmp_path)
    assert isinstance(sandbox, Source)
    assert isinstance(sandbox, Channel)
    assert sandbox.platform == "sandbox"
    assert sandbox.platforms == {"x", "reddit", "google_reviews"}
    channel = sandbox.channel_for("reddit")
    assert isinstance(channel, Channel)
    assert channel.platform == "reddit"


def test_the_same_key_twice_posts_once(tmp_path):
    sandbox = sandbox_at(tmp_path)
    first = sandbox.send(reply("case-1:ack"))
    second = sandbox.send(reply("case-1:ack"))
    assert first == second
    assert first.url
    assert first.url.startswith("https://sandbox.escucha.local/x/es1/")
    posts = sandbox.posts()
    assert len(posts) == 1
    assert posts[0].lang == "es"
    assert posts[0].in_reply_to == "es1"
    assert sandbox.find_sent(reply("case-1:ack")) == first
    assert sandbox.find_sent(reply("case-1:other")) is None


def test_posts_survive_reopening_the_state_folder(tmp_path):
    first = sandbox_at(tmp_path).send(reply("k1"))
    reopened = sandbox_at(tmp_path)
    assert reopened.find_sent(reply("k1")) == first
    assert reopened.send(reply("k1")) == first
    english = OutboundMessage("public_close", "reddit", "Thanks tom_h! We sorted this out.", "k2",
                              in_reply_to="en1")  # fmt: skip
    reopened.send(english)
    assert [(p.idempotency_key, p.lang) for p in sandbox_at(tmp_path).posts()] == [
        ("k1", "es"),
        ("k2", "en"),
    ]


def test_two_instances_on_one_folder_still_post_once(tmp_path):
    a, b = sandbox_at(tmp_path), sandbox_at(tmp_path)
    assert a.send(reply("same")) == b.send(reply("same"))
    assert len(a.posts()) == len(b.posts()) == 1


def test_a_torn_last_line_is_set_aside_and_earlier_posts_kept(tmp_path, caplog):
    sandbox = sandbox_at(tmp_path)
    kept = sandbox.send(reply("k1"))
    with (tmp_path / "posts.jsonl").open("ab") as log:
        log.write(b'{"id": "sbx-x-000002", "idempotency_key": "k2", "te')  # crash mid-write
    reopened = sandbox_at(tmp_path)
    assert reopened.log.repairs
    assert "cut short" in reopened.log.repairs[0]
    assert "cut short" in caplog.text
    assert reopened.find_sent(reply("k1")) == kept
    assert reopened.find_sent(reply("k2")) is None  # never acknowledged, so it may be sent again
    again = reopened.send(reply("k2"))
    assert [p.idempotency_key for p in sandbox_at(tmp_path).posts()] == ["k1", "k2"]
    assert again.platform_id == "sbx-x-000002"
    assert (tmp_path / "posts.jsonl.damaged").read_bytes().startswith(b'{"id": "sbx-x-000002"')


def test_a_damaged_line_in_the_middle_is_reported_with_its_line(tmp_path):
    sandbox = sandbox_at(tmp_path)
    sandbox.send(reply("k1"))
    sandbox.send(reply("k2"))
    log = tmp_path / "posts.jsonl"
    lines = log.read_bytes().splitlines(keepends=True)
    log.write_bytes(b"garbage\n" + b"".join(lines[1:]))
    with pytest.raises(InputError, match=r"posts\.jsonl:1"):
        sandbox_at(tmp_path)


def test_an_unusable_state_folder_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(SourceError, match="state folder"):
        SandboxPlatform(CORPUS, blocker / "state", clock=lambda: NOW)


@pytest.mark.parametrize(
    ("message", "error"),
    [
        (OutboundMessage("public_reply", "x", "hola", "k"), "in_reply_to"),
        (OutboundMessage("public_reply", "tiktok", "hola", "k", in_reply_to="es1"), "no platform"),
        (OutboundMessage("public_reply", "x", "  ", "k", in_reply_to="es1"), "empty"),
        (OutboundMessage("private_message", "x", "hola", "k"), "recipient"),
    ],
)
def test_malformed_messages_are_refused(tmp_path, message, error):
    with pytest.raises(SourceError, match=error):
        sandbox_at(tmp_path).send(message)
    assert sandbox_at(tmp_path).posts() == []


def test_a_platform_channel_only_posts_on_its_platform(tmp_path):
    channel = sandbox_at(tmp_path).channel_for("reddit")
    with pytest.raises(SourceError, match="reddit"):
        channel.send(reply("k1"))
    with pytest.raises(SourceError, match="tiktok"):
        sandbox_at(tmp_path).channel_for("tiktok")


def test_a_private_message_may_name_the_post_instead_of_the_recipient(tmp_path):
    sandbox = sandbox_at(tmp_path)
    sent = sandbox.send(OutboundMessage("private_message", "google_reviews", "Hola ana_r", "k",
                                        in_reply_to="g1", private_channel="email"))  # fmt: skip
    post = sandbox.posts()[0]
    assert post.recipient == "ana_r"
    assert post.private_channel == "email"
    assert sent.url
    assert "/messages/ana_r/" in sent.url
