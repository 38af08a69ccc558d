"""The X connector against the loopback fake X: real tweepy code, rewritten host."""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest

from crawlers.x import XConnector, from_settings
from pipeline.errors import AuthError, ConfigError, MissingSecret, RateLimited, SourceUnavailable
from pipeline.records import OutboundMessage
from pipeline.settings import Settings
from tests.fakes.base import Fault
from tests.fakes.config import settings_for
from tests.fakes.x import BEARER, OUR_ID, FakeX

SECRETS = {
    "ESCUCHA_X_BEARER_TOKEN": BEARER,
    "ESCUCHA_X_CONSUMER_KEY": "ck",
    "ESCUCHA_X_CONSUMER_SECRET": "cs",
    "ESCUCHA_X_ACCESS_TOKEN": "at",
    "ESCUCHA_X_ACCESS_TOKEN_SECRET": "ats",
}


@pytest.fixture
def fake():
    with FakeX() as server:
        yield server


def connector(fake: FakeX, secrets: dict[str, str] | None = None, **options: Any) -> XConnector:
    opts = {"query": "acme", "user_id": OUR_ID, "max_results": 10, "retry_backoff": "0.01s"}
    opts.update(options)
    source, settings = settings_for("x-acme", "x", fake.url, secrets or SECRETS, **opts)
    return from_settings(source, settings)


def drain(conn: XConnector, cursor=None):
    pages = list(conn.fetch(cursor))
    return pages, (pages[-1].cursor if pages else cursor)


def test_search_paginates_and_commits_since_id_only_on_the_last_page(fake):
    for i in range(25):
        fake.add_tweet(f"acme {i}", author=f"user{i % 3}")
    pages, cursor = drain(connector(fake, mentions=False))
    assert [len(p.mentions) for p in pages] == [10, 10, 5]
    assert "since_id" not in pages[0].cursor["search"]
    assert pages[-1].cursor == {"search": {"since_id": "1025"}}
    keys = {m.native_id for p in pages for m in p.mentions}
    assert len(keys) == 25
    first = pages[0].mentions[0]
    assert first.author_followers is not None
    assert first.author_name
    assert first.url == f"https://x.com/{first.author}/status/{first.native_id}"
    # The next poll asks only for what is newer.
    fake.add_tweet("acme again")
    pages, cursor = drain(connector(fake, mentions=False), cursor)
    assert [m.text for p in pages for m in p.mentions] == ["acme again"]
    assert fake.requests[-1].query["since_id"] == "1025"


def test_an_interrupted_walk_resumes_below_what_was_stored(fake):
    for i in range(25):
        fake.add_tweet(f"acme {i}")
    conn = connector(fake, mentions=False, retries=0)
    walk = conn.fetch(None)
    first = next(walk)
    fake.faults.append(Fault(status=503))
    with pytest.raises(SourceUnavailable):
        next(walk)
    pages, cursor = drain(conn, first.cursor)
    assert fake.requests[-len(pages)].query["until_id"] == first.cursor["search"]["run"]["until"]
    seen = [m.native_id for p in [first, *pages] for m in p.mentions]
    assert len(seen) == len(set(seen)) == 25
    assert cursor == {"search": {"since_id": "1025"}}


def test_mentions_timeline_and_rate_limit_headers(fake):
    fake.add_tweet("@acme_care help", mention=True, searchable=False)
    pages, cursor = drain(connector(fake, search=False))
    assert [m.text for p in pages for m in p.mentions] == ["@acme_care help"]
    assert cursor == {"mentions": {"since_id": "1001"}}
    rate = pages[0].rate_limit["mentions"]
    assert rate["limit"] == 450
    assert rate["remaining"] < 450
    assert rate["reset"] > time.time()


def test_429_waits_until_the_reset_then_goes_on(fake):
    fake.add_tweet("acme")
    fake.faults.append(Fault(status=429, reset_in=1.0))
    started = time.monotonic()
    pages, _ = drain(connector(fake, mentions=False, max_wait="5s"))
    assert len(pages[0].mentions) == 1
    assert time.monotonic() - started >= 0.1
    assert fake.count("GET", "search") == 2


def test_429_without_reset_header_is_not_retried_at_once(fake):
    fake.add_tweet("acme")
    fake.faults.append(Fault(status=429, headers={}))
    with pytest.raises(RateLimited) as info:
        drain(connector(fake, mentions=False))
    assert info.value.retry_after is None
    assert "without an x-rate-limit-reset" in str(info.value)
    assert fake.count("GET", "search") == 1


def test_429_with_a_far_reset_is_handed_to_the_scheduler(fake):
    fake.faults.append(Fault(status=429, reset_in=120))
    with pytest.raises(RateLimited) as info:
        drain(connector(fake, mentions=False, max_wait="2s"))
    assert 100 < info.value.retry_after <= 121
    assert fake.count("GET", "search") == 1


def test_5xx_malformed_json_and_slow_answers_are_retried(fake):
    fake.add_tweet("acme")
    fake.faults.extend([Fault(status=500), Fault(malformed=True), Fault(slow=True, delay=1.0)])
    pages, _ = drain(connector(fake, mentions=False, retries=3, timeout="0.3s"))
    assert len(pages[0].mentions) == 1
    assert fake.count("GET", "search") == 4


def test_malformed_json_without_retries_is_source_unavailable(fake):
    fake.faults.append(Fault(malformed=True))
    with pytest.raises(SourceUnavailable, match="not valid JSON"):
        drain(connector(fake, mentions=False, retries=0))


def test_expired_token_is_an_auth_error_naming_the_variable(fake):
    fake.expired = True
    with pytest.raises(AuthError) as info:
        drain(connector(fake))
    assert "401" in str(info.value)
    assert "ESCUCHA_X_BEARER_TOKEN" in str(info.value)


def test_missing_secret_and_bad_option_are_named(fake):
    with pytest.raises(MissingSecret, match="ESCUCHA_X_BEARER_TOKEN"):
        connector(fake, secrets={"ESCUCHA_OTHER": "x"})
    with pytest.raises(ConfigError, match=r"sources\.x-acme\.max_results"):
        connector(fake, max_results=1000)
    per_source = {"ESCUCHA_X_ACME_X_BEARER_TOKEN": BEARER}
    conn = connector(fake, secrets=per_source, mentions=False)
    assert list(conn.fetch(None))
    with pytest.raises(MissingSecret, match="ESCUCHA_X_CONSUMER_KEY"):
        conn.send(OutboundMessage("public_reply", "x", "hi", "k1", in_reply_to="1001"))


def test_reply_and_dm_go_out_once_and_private_replies_are_read(fake):
    tweet = fake.add_tweet("@acme_care my order never came", author="ann", mention=True)
    conn = connector(fake)
    ack = OutboundMessage("public_reply", "x", "Sorry Ann, we sent you a DM", "c1:ack",
                          in_reply_to=tweet)  # fmt: skip
    assert conn.find_sent(ack) is None
    sent = conn.send(ack)
    # A retry after a crash finds the earlier post instead of posting again.
    again = conn.send(ack)
    assert again.platform_id == sent.platform_id
    assert conn.find_sent(ack).platform_id == sent.platform_id
    assert len(fake.posted) == 1
    assert fake.posted[0]["referenced_tweets"] == [{"type": "replied_to", "id": tweet}]

    dm = OutboundMessage("private_message", "x", "Hi Ann, your order number?", "c1:dm",
                         recipient="ann", private_channel="dm")  # fmt: skip
    sent_dm = conn.send(dm)
    assert conn.find_sent(dm).platform_id == sent_dm.platform_id
    assert len(fake.dms_sent) == 1

    messages, cursor = conn.poll_private(None)
    assert messages == []  # our own DM is not an inbound message
    fake.add_dm("ann", "It is 12345")
    messages, cursor = conn.poll_private(cursor)
    assert [(m.sender, m.text) for m in messages] == [("ann", "It is 12345")]
    assert conn.poll_private(cursor)[0] == []

    close = OutboundMessage("public_close", "x", "Solved in private, thanks Ann!", "c1:close",
                            in_reply_to=tweet)  # fmt: skip
    conn.send(close)
    assert [t["text"] for t in fake.posted] == [ack.text, close.text]


# -- long posts, empty pages, rate-limit resets, the brand's query, capabilities ---------------


def test_a_post_over_280_characters_is_stored_whole(fake):
    long = "acme " + "la fibra se corta cada noche y nadie contesta, " * 9
    assert len(long) > 400
    fake.add_tweet(long)
    fake.add_tweet("acme short")
    pages, _ = drain(connector(fake, mentions=False))
    texts = {m.text for p in pages for m in p.mentions}
    assert texts == {long, "acme short"}
    assert "note_tweet" in fake.requests[0].query["tweet.fields"].split(",")


def test_a_long_reply_is_found_again_by_its_full_text(fake):
    tweet = fake.add_tweet("@acme_care help", mention=True)
    conn = connector(fake)
    reply = OutboundMessage("public_reply", "x", "Sorry! " + "We are on it. " * 30, "c9:ack",
                            in_reply_to=tweet)  # fmt: skip
    sent = conn.send(reply)
    assert conn.send(reply).platform_id == sent.platform_id
    assert len(fake.posted) == 1


def test_a_page_with_a_token_but_no_tweets_does_not_end_the_walk(fake):
    for i in range(25):
        fake.add_tweet(f"acme {i}")
    fake.withheld = {str(i) for i in range(1006, 1016)}  # the whole second page
    pages, cursor = drain(connector(fake, mentions=False))
    ids = sorted(int(m.native_id) for p in pages for m in p.mentions)
    assert ids == [*range(1001, 1006), *range(1016, 1026)]
    assert cursor == {"search": {"since_id": "1025"}}


def test_a_walk_stopped_on_an_empty_page_resumes_below_what_was_stored(fake):
    for i in range(25):
        fake.add_tweet(f"acme {i}")
    fake.withheld = {str(i) for i in range(1006, 1016)}
    pages, cursor = drain(connector(fake, mentions=False, max_pages=2))
    assert [len(p.mentions) for p in pages] == [10]
    assert cursor == {"search": {"run": {"newest": "1025", "until": "1016"}}}
    pages, cursor = drain(connector(fake, mentions=False), cursor)
    assert sorted(int(m.native_id) for p in pages for m in p.mentions) == list(range(1001, 1006))
    assert cursor == {"search": {"since_id": "1025"}}


def test_429_reset_is_read_from_the_header_on_tweepy_releases_without_reset_time(fake):
    import tweepy

    conn = connector(fake, mentions=False)
    fake.faults.append(Fault(status=429, reset_in=30))
    response = conn.client.session.get("https://api.twitter.com/2/tweets/search/recent")
    assert response.status_code == 429
    # tweepy 4.14 (the floor in pyproject.toml) raises TooManyRequests(response) and has no
    # ``reset_time``; the header is on the response in every release.
    exc = tweepy.TooManyRequests(response)
    if hasattr(exc, "reset_time"):
        del exc.reset_time
    error = conn._classify(exc)
    assert isinstance(error, RateLimited)
    assert error.retry_after is not None
    assert 25 < error.retry_after <= 31


BRAND = {
    "name": "Orbita",
    "handles": ["@orbita", "orbita_ayuda", "u/orbita_oficial"],
    "keywords": ["orbita", "orbita fibra"],
}


def x_source(fake: FakeX, brand: dict[str, Any], secrets: dict[str, str] | None = None,
             **options: Any) -> XConnector:  # fmt: skip
    settings = Settings.model_validate({
        "brands": [brand],
        "sources": [{"name": "x-orbita", "platform": "x", "api_base_url": fake.url,
                     "brand": brand["name"], "mentions": False, **options}],
        "secrets": secrets or SECRETS,
    })  # fmt: skip
    return from_settings(settings.sources[0], settings)


def sent_query(fake: FakeX, conn: XConnector) -> str:
    list(conn.fetch(None))
    return fake.requests[-1].query["query"]


def test_default_query_has_only_x_handles(fake):
    query = sent_query(fake, x_source(fake, BRAND))
    assert query == '(orbita OR "orbita fibra" OR @orbita OR @orbita_ayuda) -is:retweet'
    assert "u/" not in query


def test_default_query_follows_the_brand_query_and_its_exclusions(fake):
    brand = BRAND | {
        "query": '(orbita OR órbita OR "@orbita" OR "@orbita_ayuda" OR u/orbita_oficial) '
        'AND NOT ("orbita celeste" OR "orbita lunar" OR satélite)'
    }
    query = sent_query(fake, x_source(fake, brand))
    assert query == (
        "(orbita OR órbita OR @orbita OR @orbita_ayuda) "
        '-"orbita celeste" -"orbita lunar" -satélite -is:retweet'
    )
    # A negated AND becomes an OR of negations: X cannot negate a group.
    brand = BRAND | {"query": 'orbita NOT (lunar AND "fase llena") NOT u/orbita_oficial'}
    assert sent_query(fake, x_source(fake, brand)) == (
        'orbita (-lunar OR -"fase llena") -is:retweet'
    )


def test_a_brand_query_x_cannot_search_is_named(fake):
    with pytest.raises(ConfigError, match=r"brands\.0\.query") as info:
        x_source(fake, BRAND | {"query": "NOT satélite"})
    assert "no word, phrase or X handle" in str(info.value)
    long = " OR ".join(f"palabra{i}" for i in range(60))
    with pytest.raises(ConfigError, match="over X's limit of 512") as info:
        x_source(fake, BRAND | {"query": long})
    assert "brands.0.query" in str(info.value)


def test_a_keyword_list_over_512_characters_is_cut_and_says_so(fake, caplog):
    brand = BRAND | {"keywords": [f"palabra numero {i}" for i in range(40)]}
    with caplog.at_level(logging.WARNING, logger="crawlers"):
        query = sent_query(fake, x_source(fake, brand))
    assert len(query) <= 512
    assert query.startswith('("palabra numero 0" OR ') and query.endswith(") -is:retweet")
    warning = next(r for r in caplog.records if "cut to X's limit of 512" in r.getMessage())
    assert '"palabra numero 39"' in warning.getMessage()
    assert '"palabra numero 39"' not in query


def test_bearer_only_says_once_what_is_off_and_never_warns_per_cycle(fake, caplog):
    fake.add_tweet("acme")
    with caplog.at_level(logging.INFO):
        conn = connector(fake, secrets={"ESCUCHA_X_BEARER_TOKEN": BEARER})
    lines = [r.getMessage() for r in caplog.records if r.name == "crawlers.x"]
    assert len(lines) == 1
    assert caplog.records[-1].levelno == logging.INFO
    assert "on: search, mentions timeline" in lines[0]
    assert "public replies and direct messages" in lines[0].split("off:")[1]
    for name in SECRETS:
        assert (name in lines[0]) == (name != "ESCUCHA_X_BEARER_TOKEN")
    assert BEARER not in caplog.text
    caplog.clear()
    with caplog.at_level(logging.INFO):
        for _ in range(3):  # three cycles
            drain(conn)
            assert conn.poll_private(None) == ([], None)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert fake.count("GET", "dm_events|users/me") == 0


def test_with_every_secret_everything_is_on(fake, caplog):
    with caplog.at_level(logging.INFO, logger="crawlers.x"):
        connector(fake, search=False)
    (line,) = [r.getMessage() for r in caplog.records if r.name == "crawlers.x"]
    assert "on: mentions timeline, public replies and direct messages" in line
    assert "off: search (`search = false`)" in line
