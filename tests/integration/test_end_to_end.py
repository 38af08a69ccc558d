"""End to end on the sandbox with the real model: a Spanish and an English complaint go from the
public thread to a private conversation and back to a public closing reply, each reply posted
exactly once, in the customer's language, with a complete audit trail."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from crawlers.sandbox import SandboxPlatform, load_corpus
from pipeline.care.cases import ActionRequest
from pipeline.service import Service
from pipeline.store import Store, rows


def pick(corpus, *, lang, platform):
    for item in corpus:
        expected = item.expected
        if (
            item.lang == lang
            and item.platform == platform
            and expected.get("brand") == "Orbita"
            and expected.get("complaint")
            and expected.get("urgency_level", 0) >= 2
            and item.parent_id is None
        ):
            return item
    raise LookupError(f"no {lang} complaint on {platform} in the corpus")


@pytest.fixture(scope="module")
def corpus():
    items = load_corpus()
    spanish = pick(items, lang="es", platform="x")
    english = pick(items, lang="en", platform="reddit")
    praise = next(
        i for i in items
        if i.expected.get("sentiment") == "positive" and i.expected.get("brand") == "Orbita"
    )  # fmt: skip
    return [spanish, english, praise]


def test_two_complaints_go_through_every_state_to_closed_public(tmp_path, example_settings, corpus):
    # The replay places the three mentions anywhere in the corpus's two weeks: answer them all.
    service_settings = example_settings.service.model_copy(
        update={"case_max_age": timedelta(days=30)}
    )
    example_settings = example_settings.model_copy(update={"service": service_settings})
    now = [datetime.now(UTC)]
    clock = lambda: now[0]  # noqa: E731
    sandbox = SandboxPlatform(
        corpus, tmp_path / "sandbox", clock=clock, history=1.0, reply_delay=timedelta(seconds=20),
        csat_templates=[t.csat for t in example_settings.templates.values() if t.csat],
    )  # fmt: skip
    store = Store.open(example_settings.database)
    service = Service(example_settings, store, sources={"sandbox": sandbox}, clock=clock)

    def cycle():
        now[0] += timedelta(seconds=1)
        return service.run_cycle(force=True)

    report = cycle()
    assert report.scored == 3
    by_mention = {
        r["mention_key"]: r["id"] for r in rows(store._conn.cursor(), "SELECT * FROM cases")
    }
    spanish, english, praise = corpus
    assert f"reddit:{english.id}" in by_mention, "the English complaint opened no case"
    assert f"x:{spanish.id}" in by_mention, "the Spanish complaint opened no case"
    assert f"{praise.platform}:{praise.id}" not in by_mention, "praise opened a case"

    agent = ActionRequest(actor="mateo")
    for key, case_id in by_mention.items():
        service.cases.act(case_id, "acknowledge", agent)
        cycle()
        service.cases.act(case_id, "private_message", agent)
        cycle()
        assert service.cases.detail(case_id)["case"]["sla_paused_at"] is not None
        now[0] += timedelta(seconds=30)  # the simulated customer answers after 20 s
        assert cycle().private_messages >= 1
        detail = service.cases.detail(case_id)
        assert any(m["direction"] == "inbound" for m in detail["messages"]), key
        assert detail["case"]["sla_paused_at"] is None  # the clock runs again
        service.cases.act(case_id, "resolve", agent)
        service.cases.act(case_id, "close_public", agent)
        cycle()

    for lang, key in (("es", f"x:{spanish.id}"), ("en", f"reddit:{english.id}")):
        case_id = by_mention[key]
        detail = service.cases.detail(case_id)
        assert detail["case"]["status"] == "closed_public"
        posts = [p for p in sandbox.posts() if p.case_id == case_id]
        kinds = sorted(p.kind for p in posts)
        assert kinds == ["private_message", "public_close", "public_reply"], kinds
        assert {p.lang for p in posts} == {lang}, [(p.kind, p.text) for p in posts]
        public = [p for p in posts if p.kind != "private_message"]
        assert all(p.in_reply_to == key.split(":", 1)[1] for p in public)
        assert all(o["status"] == "sent" and o["platform_id"] for o in detail["outbox"])
        trail = [e["action"] for e in detail["events"]]
        assert trail == [
            "open", "acknowledge", "posted", "private_message", "posted", "customer_reply",
            "resolve", "close_public", "posted",
        ], trail  # fmt: skip
        for event in detail["events"]:
            assert event["actor"] and event["created_at"]
    # A further cycle posts nothing again.
    before = len(sandbox.posts())
    cycle()
    assert len(sandbox.posts()) == before
    stats = service.stats()
    assert stats["outbox"] == {"pending": 0, "sent": 6, "failed": 0}
    store.close()
