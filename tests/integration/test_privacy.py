"""Privacy of the people we listen to: export what is held about a person, erase it while the
figures stay the same, keep mentions only as long as configured, and forget what a platform
deleted."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from crawlers.reddit import RedditConnector, from_settings
from pipeline.care.cases import ActionRequest, CaseService
from pipeline.care.customers import decide_link
from pipeline.care.privacy import apply_retention, erase_person, export_person, forget_deleted
from pipeline.errors import BadRequest, NotFound
from pipeline.records import Mention, Page
from pipeline.service import Service
from pipeline.settings import PrivacySettings
from pipeline.stages.ingest import store_page
from pipeline.stages.triage import triage_pending
from pipeline.store import aggregates, fulltext, rows
from pipeline.store.aggregates import Filters
from pipeline.store.search import MentionFilter, page
from tests.conftest import seed_scored
from tests.fakes.config import settings_for
from tests.fakes.reddit import CLIENT_ID, CLIENT_SECRET, PASSWORD, USERNAME, FakeReddit

HANDLE = "ana_garcia"
WORD = "tostadora"  # only in Ana's words
EMAIL = "ana.garcia@example.com"
PERSONAL_TABLES = ("mentions", "authors", "cases", "case_events", "messages", "outbox",
                   "identity_links")  # fmt: skip


@pytest.fixture
def people(store, example_settings):
    """Ana complains on X twice and once on Reddit (an account an agent linked to her), answers
    in private with her email; Bob complains on X. Both have cases."""
    seed_scored(store, native_id="a1", text=f"Orbita, mi {WORD} nueva no enciende", author=HANDLE)
    seed_scored(store, native_id="b1", text="Orbita me cobra de más, vaya estafa", author="bob")
    seed_scored(store, native_id="t3_r1", text=f"Orbita {WORD} rota otra vez", author="ana_r",
                platform="reddit")  # fmt: skip
    opened = triage_pending(store, example_settings).opened
    assert len(opened) == 3
    seed_scored(store, native_id="a2", text=f"Orbita sigo sin {WORD}", author=HANDLE)
    triage_pending(store, example_settings)
    with store.read() as cur:
        case_of = {r["author"]: r["id"] for r in rows(cur, "SELECT id, author FROM cases")}
    cases = CaseService(store, example_settings)
    agent = ActionRequest(actor="lucia")
    ana_case = case_of[HANDLE]
    cases.act(ana_case, "acknowledge", agent)
    cases.act(ana_case, "private_message", agent)
    cases.act(ana_case, "customer_reply", ActionRequest(actor="lucia", text=f"Soy {EMAIL}"))
    cases.act(case_of["bob"], "acknowledge", agent)
    decide_link(store, f"x:{HANDLE}", "reddit:ana_r", decision="linked", actor="lucia")
    return {"ana_case": ana_case, "bob_case": case_of["bob"]}


def _dump(store, table: str) -> str:
    with store.read() as cur:
        return json.dumps(rows(cur, f"SELECT * FROM {table}"), default=str)


def _figures(store) -> dict[str, Any]:
    every = Filters()
    with store.read() as cur:
        return {
            "volume": aggregates.volume(cur, every, "hour"),
            "sentiment": aggregates.sentiment(cur, every, "hour"),
            "platforms": aggregates.split(cur, every, "platform"),
            "languages": aggregates.split(cur, every, "lang"),
            "share_of_voice": aggregates.share_of_voice(cur, every),
            "cases": rows(cur, "SELECT status, count(*) AS n FROM cases GROUP BY ALL ORDER BY 1"),
        }


def _search(store, q: str) -> list[str]:
    with store.read() as cur:
        found = page(cur, MentionFilter(q=q), index=fulltext.index_for(store))
    return [m["key"] for m in found.items]


def test_export_holds_the_persons_mentions_cases_messages_and_linked_accounts_only(store, people):
    document = export_person(store, f"x:{HANDLE}")
    text = json.dumps(document)  # JSON as it is, datetimes included
    assert document["author_keys"] == ["reddit:ana_r", f"x:{HANDLE}"]
    assert {a["key"] for a in document["accounts"]} == {"reddit:ana_r", f"x:{HANDLE}"}
    assert {m["key"] for m in document["mentions"]} == {"x:a1", "x:a2", "reddit:t3_r1"}
    assert all(m["sentiment"] == "negative" for m in document["mentions"])
    (case,) = [c for c in document["cases"] if c["id"] == people["ana_case"]]
    assert [m["text"] for m in case["messages"] if m["direction"] == "inbound"] == [f"Soy {EMAIL}"]
    assert [o["kind"] for o in case["outbox"]] == ["public_reply", "private_message"]
    replies = [e["detail"]["text"] for e in case["events"] if e["action"] == "customer_reply"]
    assert replies == [f"Soy {EMAIL}"]
    assert document["identity_links"][0]["decision"] == "linked"
    assert document["summary"]["mentions"] == 3
    assert document["summary"]["cases"] == 2  # X and Reddit
    assert document["summary"]["messages"] == len(case["messages"])
    assert isinstance(case["opened_at"], str)
    datetime.fromisoformat(case["opened_at"])
    assert "bob" not in text and "estafa" not in text and people["bob_case"] not in text


def test_export_by_handle_on_every_platform_and_unknown_people(store, people):
    by_handle = export_person(store, f"@{HANDLE.upper()}")
    assert {m["key"] for m in by_handle["mentions"]} == {"x:a1", "x:a2", "reddit:t3_r1"}
    with pytest.raises(NotFound, match="nothing is held about 'x:nadie'"):
        export_person(store, "x:nadie")
    with pytest.raises(BadRequest, match="@ana"):
        export_person(store, "ana")


def test_erase_removes_words_and_handles_everywhere_but_keeps_the_figures(store, people):
    fulltext.index_pending(store)
    assert set(_search(store, WORD)) == {"x:a1", "x:a2", "reddit:t3_r1"}
    assert _search(store, HANDLE) != []
    before = _figures(store)
    report = erase_person(store, f"x:{HANDLE}", now=datetime.now(UTC))

    for table in PERSONAL_TABLES:
        dumped = _dump(store, table).lower()
        for secret in (HANDLE, "ana_r", WORD, EMAIL):
            assert secret not in dumped, (table, secret)
    assert _search(store, WORD) == [] and _search(store, HANDLE) == []
    assert _search(store, "estafa") == ["x:b1"]  # Bob is untouched
    assert _figures(store) == before
    with store.read() as cur:
        erased = rows(cur, "SELECT author, author_key, text, erased_reason FROM mentions "
                           "WHERE erased_at IS NOT NULL ORDER BY key")  # fmt: skip
        (pending,) = rows(cur, "SELECT status, last_error FROM outbox WHERE kind = "
                               "'private_message'")  # fmt: skip
        bob = rows(cur, "SELECT author, text FROM mentions WHERE key = 'x:b1'")
    assert len(erased) == 3
    assert len({(m["author"], m["author_key"]) for m in erased}) == 1  # one pseudonym
    assert erased[0]["author"].startswith("erased-") and erased[0]["text"] == ""
    assert {m["erased_reason"] for m in erased} == {"request"}
    assert pending["status"] == "failed" and "erased" in pending["last_error"]  # never sent
    assert bob == [{"author": "bob", "text": "Orbita me cobra de más, vaya estafa"}]

    audit = json.dumps(report.as_dict())
    assert "ana" not in audit and WORD not in audit
    assert report.rows["mentions"] == 3 and report.rows["authors"] == 2
    assert report.rows["cases"] == 2 and report.rows["identity_links"] == 1
    with pytest.raises(NotFound):
        erase_person(store, f"x:{HANDLE}", now=datetime.now(UTC))


def test_a_re_polled_erased_mention_stays_erased(store, people):
    erase_person(store, f"@{HANDLE}", now=datetime.now(UTC))
    created = datetime.now(UTC) - timedelta(minutes=5)
    again = Mention(platform="x", native_id="a1", text=f"Orbita, mi {WORD} nueva no enciende",
                    author=HANDLE, created_at=created, likes=9)  # fmt: skip
    edited = Mention(platform="x", native_id="a2", text="editado", author=HANDLE,
                     created_at=created)  # fmt: skip
    result = store_page(store, "seed", "x", Page((again, edited)))
    assert (result.new, result.edited, result.unchanged) == (0, 0, 2)
    with store.read() as cur:
        found = rows(cur, "SELECT text, author, likes FROM mentions WHERE key IN ('x:a1', 'x:a2')")
        authors = rows(cur, "SELECT key FROM authors")
    assert all(m["text"] == "" and m["author"].startswith("erased-") for m in found)
    assert all(m["likes"] == 0 for m in found)
    assert f"x:{HANDLE}" not in {a["key"] for a in authors}
    assert _search(store, WORD) == []


def test_retention_anonymises_only_old_mentions_of_the_configured_platform(store, example_settings):
    now = datetime.now(UTC)
    old, recent = now - timedelta(days=40), now - timedelta(days=5)
    seed_scored(store, native_id="old", text="Orbita vieja queja", author="eva", created_at=old)
    seed_scored(store, native_id="new", text="Orbita queja nueva", author="eva", created_at=recent)
    seed_scored(store, native_id="t3_old", text="Orbita en reddit", author="leo",
                platform="reddit", created_at=old)  # fmt: skip
    before = _figures(store)
    settings = example_settings.model_copy(
        update={"privacy": PrivacySettings(retention_days={"x": 30})}
    )
    assert apply_retention(store, settings, now)["mentions"] == 1
    with store.read() as cur:
        kept = {r["key"]: r for r in rows(cur, "SELECT key, text, author, erased_reason "
                                                "FROM mentions")}  # fmt: skip
    assert kept["x:old"]["text"] == "" and kept["x:old"]["author"].startswith("erased-")
    assert kept["x:old"]["erased_reason"] == "retention"
    assert kept["x:new"]["text"] == "Orbita queja nueva"
    assert kept["reddit:t3_old"]["text"] == "Orbita en reddit"
    assert _figures(store) == before
    assert apply_retention(store, settings, now)["mentions"] == 0  # nothing twice

    every = example_settings.model_copy(
        update={"privacy": PrivacySettings(retention_days={"x": 365, "*": 30})}
    )
    assert apply_retention(store, every, now) == {"mentions": 1, "authors": 1,
                                                  "identity_links": 0}  # fmt: skip
    with store.read() as cur:
        assert rows(cur, "SELECT key FROM authors ORDER BY key") == [{"key": "x:eva"}]


def test_the_service_runs_retention_at_most_every_retention_every(store, example_settings):
    seed_scored(store, native_id="old", text="Orbita vieja queja", author="eva",
                created_at=datetime.now(UTC) - timedelta(days=40))  # fmt: skip
    settings = example_settings.model_copy(
        update={"privacy": PrivacySettings(retention_days={"*": 30})}
    )

    class NoModel:
        version = "none"

        def predict(self, items):
            raise AssertionError("nothing to score")

    service = Service(settings, store, sources={}, classifier_factory=NoModel)
    try:
        assert service.run_cycle().retention["mentions"] == 1
        assert service.run_cycle().retention == {}  # not due again for an hour
    finally:
        service.stop()


def test_a_mention_deleted_on_the_platform_is_erased(store):
    created = datetime.now(UTC) - timedelta(hours=1)
    mention = Mention(platform="forum", native_id="9", text=f"mi {WORD}", author="eva",
                      created_at=created)  # fmt: skip
    store_page(store, "forum", "forum", Page((mention,)))
    gone = Mention(platform="forum", native_id="9", text="", author="eva", created_at=created,
                   deleted=True)  # fmt: skip
    never = Mention(platform="forum", native_id="10", text="", author="eva", created_at=created,
                    deleted=True)  # fmt: skip
    result = store_page(store, "forum", "forum", Page((gone, never)))
    assert (result.erased, result.new) == (1, 0)
    with store.read() as cur:
        found = rows(cur, "SELECT key, text, erased_reason FROM mentions")
    assert found == [{"key": "forum:9", "text": "", "erased_reason": "deleted"}]
    assert forget_deleted(store, ["forum:9"]) == 0  # already erased


def test_a_reddit_comment_deleted_by_its_author_is_erased_on_the_next_poll(store):
    secrets = {"ESCUCHA_REDDIT_CLIENT_ID": CLIENT_ID, "ESCUCHA_REDDIT_CLIENT_SECRET": CLIENT_SECRET,
               "ESCUCHA_REDDIT_USERNAME": USERNAME, "ESCUCHA_REDDIT_PASSWORD": PASSWORD}  # fmt: skip
    with FakeReddit() as fake:
        post = fake.add_post("acme is broken")
        comment = fake.add_comment(f"acme broke my {WORD}", parent=post, author="ann")
        source, settings = settings_for("reddit-acme", "reddit", fake.url, secrets,
                                        query="acme", subreddits=["acme"], streams=["comments"],
                                        retry_backoff="0.01s")  # fmt: skip
        conn = from_settings(source, settings)
        assert isinstance(conn, RedditConnector)
        for fetched in conn.fetch(None):
            store_page(store, "reddit-acme", "reddit", fetched)
        (data,) = [t for t in fake.of_kind("t1") if t["name"] == comment]
        data.update(body="[deleted]", author="[deleted]")
        data.pop("author_fullname")
        erased = sum(store_page(store, "reddit-acme", "reddit", p).erased for p in conn.fetch(None))
    assert erased == 1
    with store.read() as cur:
        (found,) = rows(cur, "SELECT text, author, erased_reason FROM mentions WHERE key = ?",
                        [f"reddit:{comment}"])  # fmt: skip
    assert found["text"] == "" and found["author"].startswith("erased-")
    assert found["erased_reason"] == "deleted"
    assert _search(store, WORD) == []
