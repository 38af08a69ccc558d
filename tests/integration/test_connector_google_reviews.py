"""The Google reviews connector: the shipped v4 discovery subset against the loopback fake."""

from __future__ import annotations

from typing import Any

import pytest

from crawlers.google_reviews import GoogleReviewsConnector, from_settings
from pipeline.errors import AuthError, ConfigError, MissingSecret, SourceError
from pipeline.records import OutboundMessage
from tests.fakes.base import Fault
from tests.fakes.config import settings_for
from tests.fakes.google_reviews import ACCESS_TOKEN, LOCATION, FakeGoogleReviews

SECRETS = {"ESCUCHA_GOOGLE_REVIEWS_ACCESS_TOKEN": ACCESS_TOKEN}


@pytest.fixture
def fake():
    with FakeGoogleReviews() as server:
        yield server


def connector(fake, secrets=None, **options: Any) -> GoogleReviewsConnector:
    opts: dict[str, Any] = {"location": LOCATION, "page_size": 3, "retry_backoff": "0.01s"}
    opts.update(options)
    source, settings = settings_for("gbp", "google_reviews", fake.url, secrets or SECRETS, **opts)
    return from_settings(source, settings)


def test_reviews_keep_stars_and_edits_are_seen(fake):
    names = [fake.add_review(f"bad service {i}", stars=1 + i % 5) for i in range(5)]
    pages = list(connector(fake).fetch(None))
    mentions = {m.native_id: m for p in pages for m in p.mentions}
    assert set(mentions) == set(names)
    assert mentions[names[1]].rating == 2.0
    assert mentions[names[0]].kind == "review"
    cursor = pages[-1].cursor
    assert LOCATION not in pages[0].cursor  # moved only after the last page
    # Nothing new: the overlap re-reads, but versions already seen are not yielded again.
    assert [m for p in connector(fake).fetch(cursor) for m in p.mentions] == []
    fake.edit(names[0], "they fixed it, thanks", stars=5)
    edited = [m for p in connector(fake).fetch(cursor) for m in p.mentions]
    assert [(m.native_id, m.rating, m.text) for m in edited] == [
        (names[0], 5.0, "they fixed it, thanks")
    ]
    assert fake.requests[-1].query["orderBy"] == "updateTime desc"


def test_errors(fake):
    fake.add_review("meh")
    fake.faults.extend([Fault(status=500), Fault(malformed=True), Fault(status=429, reset_in=0.2)])
    assert len(next(iter(connector(fake, retries=3).fetch(None))).mentions) == 1
    fake.expired = True
    with pytest.raises(AuthError, match="401"):
        list(connector(fake).fetch(None))
    with pytest.raises(MissingSecret, match="ESCUCHA_GOOGLE_REVIEWS_REFRESH_TOKEN"):
        connector(fake, secrets={"ESCUCHA_X": "y"})
    with pytest.raises(ConfigError, match=r"sources\.gbp\.location"):
        connector(fake, location="locations/2")


def test_reply_goes_out_once_and_private_messages_deflect(fake):
    name = fake.add_review("cold food", stars=1)
    conn = connector(fake)
    ack = OutboundMessage("public_reply", "google_reviews", "Sorry! Write to us at care@acme.test",
                          "c9:ack", in_reply_to=name)  # fmt: skip
    first = conn.send(ack)
    assert conn.send(ack).platform_id == first.platform_id
    assert fake.replies == [(name, ack.text)]
    close = OutboundMessage("public_close", "google_reviews", "Glad we sorted it out!", "c9:close",
                            in_reply_to=name)  # fmt: skip
    conn.send(close)
    assert fake.reviews[name]["reviewReply"]["comment"] == close.text
    with pytest.raises(SourceError, match="no private messages"):
        conn.send(
            OutboundMessage("private_message", "google_reviews", "hi", "c9:pm", recipient="Ann")
        )
