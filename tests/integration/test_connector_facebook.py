"""The Facebook Pages connector against the loopback fake Graph API (real httpx on the wire)."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta
from typing import Any

import pytest

from crawlers.facebook import FacebookConnector, from_settings
from pipeline.errors import AuthError, ConfigError, Conflict, MissingSecret, RateLimited
from pipeline.ports import Channel, Source, WebhookReceiver
from pipeline.records import OutboundMessage
from tests.fakes.base import Fault
from tests.fakes.config import settings_for
from tests.fakes.graph import APP_SECRET, PAGE_ID, PAGE_TOKEN, VERIFY_TOKEN, FakeGraph

SECRETS = {"ESCUCHA_FACEBOOK_PAGE_TOKEN": PAGE_TOKEN, "ESCUCHA_META_APP_SECRET": APP_SECRET,
           "ESCUCHA_META_VERIFY_TOKEN": VERIFY_TOKEN}  # fmt: skip


@pytest.fixture
def fake():
    with FakeGraph() as server:
        yield server


def connector(fake, secrets: dict[str, str] | None = None, **options: Any) -> FacebookConnector:
    opts: dict[str, Any] = {"page_id": PAGE_ID, "page_size": 2, "retry_backoff": "0.01s"}
    opts.update(options)
    source, settings = settings_for("fb-acme", "facebook", fake.url, secrets or SECRETS, **opts)
    return from_settings(source, settings)


def keys(pages) -> list[str]:
    return [m.native_id for p in pages for m in p.mentions]


def test_implements_the_ports(fake):
    conn = connector(fake)
    assert isinstance(conn, Source)
    assert isinstance(conn, Channel)
    assert isinstance(conn, WebhookReceiver)
    assert conn.verify_token() == VERIFY_TOKEN
    assert conn.webhook_secret() == APP_SECRET


def test_comments_and_visitor_posts_are_read_incrementally(fake):
    ours = fake.add_post("Our new phone is out")
    visitor = fake.add_post("acme, my order never came", by_page=False, author="Luis")
    c1 = fake.add_comment(ours, "mine broke after a day")
    c2 = fake.add_comment(ours, "same here", author="Bea")
    r1 = fake.add_comment(c1, "and the support never answers")
    own = fake.add_comment(ours, "ignored")  # replaced by a page reply below
    fake.items[own].author_id = PAGE_ID
    tagged = fake.add_post("@Acme the store was closed", by_page=False, author="Eva",
                           tags_page=True)  # fmt: skip
    pages = list(connector(fake).fetch(None))
    got = keys(pages)
    assert sorted(got) == sorted([visitor, tagged, c1, c2, r1])
    assert ours not in got and own not in got  # the page's own posts and replies
    mentions = {m.native_id: m for p in pages for m in p.mentions}
    assert mentions[r1].parent_id == c1 and mentions[r1].thread_id == ours
    assert mentions[c1].parent_id == ours and mentions[c1].kind == "comment"
    assert mentions[c1].author == "Ana" and mentions[c1].author_id == "u-ana"
    assert mentions[visitor].kind == "post"
    cursor = pages[-1].cursor
    assert cursor is not None and ours in cursor["posts"]
    # A second fetch returns nothing new; a new reply is the only thing the third returns.
    assert keys(connector(fake).fetch(cursor)) == []
    r2 = fake.add_comment(c2, "any news?", author="Bea")
    third = list(connector(fake).fetch(cursor))
    assert keys(third) == [r2]
    comment_calls = [r for r in fake.requests if r.path.endswith(f"{ours}/comments")]
    assert comment_calls[-1].query["since"] == str(cursor["posts"][ours]["since"])
    assert comment_calls[-1].query["filter"] == "stream"


def test_cursor_moves_with_each_comment_page(fake):
    post = fake.add_post("launch")
    ids = [fake.add_comment(post, f"comment {i}") for i in range(5)]
    pages = list(connector(fake).fetch(None))
    comment_pages = [p for p in pages if p.mentions and p.mentions[0].kind == "comment"]
    assert len(comment_pages) == 3  # page_size 2
    first = comment_pages[0].cursor["posts"][post]
    assert first["ids"] == [ids[1]]  # oldest first: the page's newest is the mark
    assert keys(connector(fake).fetch(comment_pages[0].cursor)) == ids[2:]


def test_public_reply_lands_in_the_thread_once(fake):
    post = fake.add_post("launch")
    cid = fake.add_comment(post, "acme broke my phone")
    conn = connector(fake)
    ack = OutboundMessage("public_reply", "facebook", "Sorry Ana, we'll write to you",
                          "c1:ack", in_reply_to=cid)  # fmt: skip
    sent = conn.send(ack)
    assert conn.send(ack).platform_id == sent.platform_id  # find_sent: not posted twice
    replies = [i for i in fake.comments_on(post) if i.author_id == PAGE_ID]
    assert [(r.parent, r.text) for r in replies] == [(cid, ack.text)]
    assert sent.url == f"https://www.facebook.com/{sent.platform_id}"


def test_hide_and_unhide(fake):
    cid = fake.add_comment(fake.add_post("launch"), "buy cheap followers at spam.example")
    conn = connector(fake)
    conn.hide(cid)
    assert fake.items[cid].hidden
    conn.hide(cid, hidden=False)
    assert not fake.items[cid].hidden
    assert fake.requests[-1].form() == {"is_hidden": "false"}


def test_private_reply_once_then_refused(fake):
    cid = fake.add_comment(fake.add_post("launch"), "my order 123 is lost")
    conn = connector(fake)
    private = OutboundMessage("private_message", "facebook", "Hi Ana, which address?",
                              "c1:pm:1", in_reply_to=cid, private_channel="private_reply")  # fmt: skip
    sent = conn.send(private)
    assert sent.platform_id.startswith("m_out")
    assert fake.sent[0]["recipient"] == {"comment_id": cid}
    assert fake.sent[0]["message"] == {"text": "Hi Ana, which address?"}
    with pytest.raises(Conflict, match="already had its one private reply") as info:
        conn.send(private)
    assert "10900" in str(info.value)
    assert len(fake.sent) == 1


def test_private_reply_refused_after_seven_days(fake):
    old = fake.add_comment(fake.add_post("launch"), "still broken", age=timedelta(days=8))
    with pytest.raises(Conflict, match="window to write to this person is closed") as info:
        connector(fake).send(OutboundMessage("private_message", "facebook", "hi", "k",
                                             in_reply_to=old))  # fmt: skip
    assert "2018278" in str(info.value) and "7 days" in str(info.value)


def test_messenger_within_24h_and_human_agent_tag(fake):
    psid = "psid-ana"
    fake.add_dm(PAGE_ID, psid, "hello?", age=timedelta(hours=30))
    dm = OutboundMessage("private_message", "facebook", "We're on it", "c1:pm:2",
                         recipient=psid, private_channel="dm")  # fmt: skip
    with pytest.raises(Conflict, match="window"):
        connector(fake).send(dm)
    sent = connector(fake, human_agent=True).send(dm)
    assert fake.sent[-1]["tag"] == "HUMAN_AGENT" and sent.platform_id
    fake.add_dm(PAGE_ID, psid, "thanks")
    connector(fake).send(dm)
    assert fake.sent[-1]["messaging_type"] == "RESPONSE"
    assert fake.sent[-1]["recipient"] == {"id": psid}


def test_rate_limit_is_rate_limited_with_retry_after(fake):
    fake.add_post("launch")
    fake.faults.append(Fault(status=429, reset_in=120))
    with pytest.raises(RateLimited, match="code 32") as info:
        list(connector(fake, retries=0).fetch(None))
    assert info.value.retry_after == 120.0  # from X-Business-Use-Case-Usage (minutes)


def test_rate_limit_codes_without_429_status(fake):
    fake.faults.append(Fault(status=400, body={"error": {"message": "(#4) Application request "
                                                         "limit reached", "code": 4}},
                             headers={"X-App-Usage": '{"call_count": 100}'}))  # fmt: skip
    with pytest.raises(RateLimited) as info:
        list(connector(fake, retries=0).fetch(None))
    assert info.value.retry_after == 300.0


def test_5xx_is_retried_then_unavailable_and_expired_token_names_the_variable(fake):
    fake.add_post("launch", by_page=False)
    fake.faults.extend([Fault(status=500), Fault(malformed=True)])
    assert len(keys(connector(fake).fetch(None))) == 1
    fake.expired = True
    with pytest.raises(AuthError, match="expired") as info:
        list(connector(fake).fetch(None))
    assert "ESCUCHA_FACEBOOK_PAGE_TOKEN" in str(info.value)
    per_source = {**SECRETS, "ESCUCHA_FB_ACME_FACEBOOK_PAGE_TOKEN": PAGE_TOKEN}
    with pytest.raises(AuthError, match="ESCUCHA_FB_ACME_FACEBOOK_PAGE_TOKEN"):
        list(connector(fake, secrets=per_source).fetch(None))


def test_permission_error_is_an_auth_error(fake):
    fake.faults.append(Fault(status=403, body={"error": {
        "message": "(#200) Requires pages_read_engagement permission", "code": 200}}))  # fmt: skip
    with pytest.raises(AuthError, match="permission"):
        list(connector(fake).fetch(None))


def test_config_and_secrets(fake):
    with pytest.raises(MissingSecret, match="ESCUCHA_FACEBOOK_PAGE_TOKEN"):
        connector(fake, secrets={"ESCUCHA_META_APP_SECRET": APP_SECRET})
    with pytest.raises(ConfigError, match=r"sources\.fb-acme.*page_id"):
        connector(fake, page_id=None)
    no_webhooks = connector(fake, secrets={"ESCUCHA_FACEBOOK_PAGE_TOKEN": PAGE_TOKEN})
    with pytest.raises(MissingSecret, match="ESCUCHA_META_APP_SECRET"):
        no_webhooks.webhook_secret()


def test_webhook_messenger_feed_and_deletion(fake):
    cid = fake.add_comment(fake.add_post("launch"), "where is my refund?")
    body, headers = fake.webhook("page", PAGE_ID, messaging=[
        fake.dm_event("psid-ana", PAGE_ID, "hi, it's Ana"),
        {"sender": {"id": PAGE_ID}, "recipient": {"id": "psid-ana"}, "timestamp": 1,
         "message": {"mid": "m_echo", "text": "ours", "is_echo": True}},
        {"sender": {"id": "psid-ana"}, "recipient": {"id": PAGE_ID}, "timestamp": 2,
         "delivery": {"mids": ["m_out1"], "watermark": 2}},
    ], changes=[fake.feed_change(cid)])  # fmt: skip
    expected = hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert headers["X-Hub-Signature-256"] == f"sha256={expected}"
    events = connector(fake).parse_webhook(body)
    [message] = events.messages
    assert (message.sender, message.text, message.platform) == ("psid-ana", "hi, it's Ana",
                                                                "facebook")  # fmt: skip
    [mention] = events.mentions
    assert mention.native_id == cid and mention.text == "where is my refund?"
    assert mention.kind == "comment" and mention.author == "Ana"
    assert [(s.platform_id, s.status) for s in events.statuses] == [("m_out1", "delivered")]
    removed, _ = fake.webhook("page", PAGE_ID, changes=[fake.feed_change(cid, "remove")])
    gone = connector(fake).parse_webhook(removed)
    assert gone.deleted == (cid,) and gone.mentions == ()


def test_webhook_for_another_object_is_refused(fake):
    body, _ = fake.webhook("instagram", "1")
    with pytest.raises(Exception, match="'instagram' reached a 'page' source"):
        connector(fake).parse_webhook(body)


def test_poll_private_reads_new_messenger_messages_once(fake):
    fake.add_dm(PAGE_ID, "psid-ana", "hello", age=timedelta(minutes=5))
    conn = connector(fake)
    messages, cursor = conn.poll_private(None)
    assert [(m.sender, m.text) for m in messages] == [("psid-ana", "hello")]
    assert conn.poll_private(cursor)[0] == []
    fake.add_dm(PAGE_ID, "psid-ana", "anyone?")
    assert [m.text for m in conn.poll_private(cursor)[0]] == ["anyone?"]


class NoModel:
    version = "none"

    def predict(self, items):
        raise RuntimeError("scoring is not under test here")


def test_the_service_ingests_page_comments_once(fake, store, example_settings):
    from pipeline.service import Service

    post = fake.add_post("launch")
    ids = [fake.add_comment(post, f"Orbita broke {i}", author=f"user{i}") for i in range(3)]
    service = Service(example_settings, store, sources={"fb": connector(fake)},
                      classifier_factory=NoModel)  # fmt: skip
    try:
        first = service.run_cycle(force=True)
        assert sum(p.ingest.new for p in first.polls) == 3
        fake.add_comment(ids[0], "any news?")
        second = service.run_cycle(force=True)
        assert sum(p.ingest.new for p in second.polls) == 1
    finally:
        service.stop()
    with store.read() as cur:
        stored = cur.execute(
            "SELECT native_id, parent_key FROM mentions WHERE platform = 'facebook' ORDER BY 1"
        ).fetchall()
    assert len(stored) == 4 and (ids[0], f"facebook:{post}") in stored


def case_row(platform: str, *, opened_ago: timedelta, deflected: bool = False, **extra: Any):
    from datetime import UTC, datetime

    from pipeline.store.cases import CaseRow

    now = datetime.now(UTC)
    fields: dict[str, Any] = dict.fromkeys(CaseRow.__dataclass_fields__)
    fields |= {
        "id": "c-1",
        "status": "acknowledged",
        "platform": platform,
        "lang": "en",
        "author_key": f"{platform}:u-ana",
        "author": "Ana",
        "mention_key": f"{platform}:p_1",
        "priority": 1,
        "urgency_level": 1,
        "urgency_score": 0.5,
        "urgency_reasons": [],
        "opened_at": now - opened_ago,
        "updated_at": now,
        "sla_breached": False,
        "mention_native_id": "p_1",
        "text": "broken",
        "deflected_at": now if deflected else None,
        "source": "fb",
    }
    return CaseRow(**(fields | extra))  # fmt: skip


@pytest.mark.parametrize("platform", ["facebook", "instagram"])
def test_the_composer_picks_the_open_private_route_or_says_why_none_is(example_settings, platform):
    from datetime import UTC, datetime

    from pipeline.care.replies import Replies
    from pipeline.errors import CaseError

    replies = Replies(example_settings)
    now = datetime.now(UTC)
    fresh = replies.compose(case_row(platform, opened_ago=timedelta(days=1)), "private_message")
    assert fresh.route == "private_reply" and "private reply" in fresh.where
    ack = replies.compose(case_row(platform, opened_ago=timedelta(days=1)), "acknowledge")
    assert "write to us at" not in ack.text  # no e-mail detour: the private reply follows
    used = case_row(platform, opened_ago=timedelta(days=1), deflected=True)
    with pytest.raises(CaseError, match="already used for this comment"):
        replies.compose(used, "private_message", private_reply_used=True)
    answered = replies.compose(used, "private_message", last_inbound_at=now - timedelta(hours=2),
                               private_reply_used=True)  # fmt: skip
    assert answered.route == ("messenger" if platform == "facebook" else "instagram_dm")
    old = case_row(platform, opened_ago=timedelta(days=8))
    with pytest.raises(CaseError, match="more than 7 days after the comment") as info:
        replies.compose(old, "private_message", last_inbound_at=now - timedelta(hours=30))
    assert "more than 24 h" in str(info.value)


def test_a_comment_goes_private_by_its_private_reply_and_messenger_carries_it_on(
    fake, store, example_settings
):
    """The whole conversation: a complaint in a comment opens a case; the agent's first private
    message is the comment's private reply; the customer's answer in Messenger joins the case;
    the next private message goes by Messenger within its window."""
    from pipeline.care.cases import ActionRequest
    from pipeline.service import Service
    from tests.integration.test_score_stage import KeywordClassifier

    post = fake.add_post("launch")
    comment = fake.add_comment(post, "Orbita va fatal, me cobraron dos veces", author="Ana")
    psid = fake.items[comment].author_id
    service = Service(example_settings, store, sources={"fb-acme": connector(fake)},
                      classifier_factory=KeywordClassifier)  # fmt: skip
    try:
        service.run_cycle(force=True)
        with store.read() as cur:
            (case_id,) = cur.execute("SELECT id FROM cases WHERE platform = 'facebook'").fetchone()
        service.cases.act(case_id, "private_message", ActionRequest(actor="lucia"))
        service.run_cycle()
        first = fake.sent[-1]
        assert first["recipient"] == {"comment_id": comment}  # the comment's private reply
        body, _ = fake.webhook("page", PAGE_ID, messaging=[
            fake.dm_event(psid, PAGE_ID, "Sí, dos cargos de 30 euros", mid="m_ana1")
        ])  # fmt: skip
        fake.inbound.append({"from": psid, "to": PAGE_ID, "at": fake_now()})
        assert service.receive_webhook("fb-acme", body)
        service.run_cycle()
        detail = service.cases.detail(case_id)
        inbound = [m for m in detail["messages"] if m["direction"] == "inbound"]
        assert [m["text"] for m in inbound] == ["Sí, dos cargos de 30 euros"]
        preview = service.cases.preview(case_id, "private_message")
        assert preview.route == "messenger"  # the private reply is used: Messenger now
        service.cases.act(
            case_id, "private_message", ActionRequest(actor="lucia", text="Te lo devolvemos hoy")
        )
        service.run_cycle()
        assert fake.sent[-1]["recipient"] == {"id": psid}
        assert fake.sent[-1]["message"] == {"text": "Te lo devolvemos hoy"}
    finally:
        service.stop()


def fake_now():
    from datetime import UTC, datetime

    return datetime.now(UTC)


def test_an_agent_hides_a_comment_from_escucha_and_shows_it_again(fake, store, example_settings):
    from fastapi.testclient import TestClient

    from pipeline.api.app import create_app
    from pipeline.service import Service
    from tests.conftest import sign_in
    from tests.integration.test_score_stage import KeywordClassifier

    post = fake.add_post("launch")
    comment = fake.add_comment(post, "Orbita: mi DNI es 12345678Z, llamadme", author="Ana")
    service = Service(example_settings, store, sources={"fb-acme": connector(fake)},
                      classifier_factory=KeywordClassifier)  # fmt: skip
    try:
        service.run_cycle(force=True)
        with TestClient(create_app(service)) as api:
            agent = sign_in(store, "agent", teams=("atencion-es",))
            hidden = api.post(f"/mentions/facebook:{comment}/hide", json={"reason": "DNI"},
                              headers=agent)  # fmt: skip
            assert hidden.status_code == 200 and fake.items[comment].hidden
            shown = api.post(f"/mentions/facebook:{comment}/hide", json={"hidden": False},
                             headers=agent)  # fmt: skip
            assert shown.status_code == 200 and not fake.items[comment].hidden
            viewer = sign_in(store, "viewer")
            assert api.post(f"/mentions/facebook:{comment}/hide", json={},
                            headers=viewer).status_code == 403  # fmt: skip
            admin = sign_in(store, "admin")
            log = api.get("/audit", params={"action": "mention."}, headers=admin).json()
            assert [e["action"] for e in log["items"]] == ["mention.show", "mention.hide"]
    finally:
        service.stop()
