"""One mention a stage cannot process is set aside with its reason; the ones behind it go on,
and a person retries or discards it from the API (the dashboard's Sources page)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from pipeline.api.app import create_app
from pipeline.errors import ClassifierError
from pipeline.records import Mention, Page
from pipeline.service import Service
from pipeline.stages import triage
from pipeline.stages.enrich import BrandMatcher
from pipeline.stages.ingest import store_page
from pipeline.stages.score import score_pending
from pipeline.stages.triage import triage_pending
from pipeline.store import rows
from tests.conftest import seed_scored, sign_in
from tests.integration.test_score_stage import KeywordClassifier


class Fragile(KeywordClassifier):
    """Fails on any batch holding a text with a NUL character, as a tokenizer bug might."""

    def __init__(self, broken: bool = False) -> None:
        self.broken = broken

    def predict(self, items):
        if self.broken or any("\x00" in item.text for item in items):
            raise ValueError("tokenizer choked")
        return super().predict(items)


def _store_three(store) -> None:
    now = datetime.now(UTC)
    texts = ("Orbita va fatal", "Orbita \x00 sin fibra", "Gracias Orbita")
    page = Page(tuple(
        Mention(platform="forum", native_id=str(i), text=text, author=f"a{i}",
                created_at=now - timedelta(minutes=i))
        for i, text in enumerate(texts)
    ))  # fmt: skip
    store_page(store, "s", "forum", page)


def _stages(store) -> dict[str, str]:
    with store.read() as cur:
        return {r["key"]: r["stage"] for r in rows(cur, "SELECT key, stage FROM mentions")}


def test_the_model_failing_on_one_text_sets_it_aside_and_scores_the_rest(store, example_settings):
    _store_three(store)
    matcher = BrandMatcher.from_settings(example_settings)
    assert score_pending(store, Fragile(), matcher, batch=10) == 3
    assert _stages(store) == {"forum:0": "scored", "forum:1": "set_aside", "forum:2": "scored"}
    assert score_pending(store, Fragile(), matcher, batch=10) == 0  # not picked up again

    service = Service(example_settings, store, sources={})
    with TestClient(create_app(service)) as api:
        manager = sign_in(store, "manager")
        listed = api.get("/set-aside", headers=manager).json()
        assert listed["total"] == 1
        (item,) = listed["items"]
        assert item["mention_key"] == "forum:1" and item["stage"] == "score"
        assert "tokenizer choked" in item["reason"]
        assert api.get("/set-aside", headers=sign_in(store, "agent")).status_code == 403
        retried = api.post("/set-aside/forum:1/retry", headers=manager)
        assert retried.json() == {"mention_key": "forum:1", "back_to": "score"}
        assert api.post("/set-aside/forum:1/retry", headers=manager).status_code == 409
    assert _stages(store)["forum:1"] == "new"
    assert score_pending(store, KeywordClassifier(), matcher, batch=10) == 1  # fixed model
    assert _stages(store)["forum:1"] == "scored"


def test_a_discarded_mention_is_kept_but_never_processed_again(store, example_settings):
    _store_three(store)
    matcher = BrandMatcher.from_settings(example_settings)
    score_pending(store, Fragile(), matcher, batch=10)
    service = Service(example_settings, store, sources={})
    with TestClient(create_app(service)) as api:
        admin = sign_in(store, "admin")
        assert api.post("/set-aside/forum:1/discard", headers=admin).status_code == 200
        assert api.get("/set-aside", headers=admin).json()["total"] == 0
        assert api.post("/set-aside/forum:9/discard", headers=admin).status_code == 404
        log = api.get("/audit", params={"action": "set_aside"}, headers=admin).json()["items"]
        assert [(e["action"], e["actor"]) for e in log] == [("set_aside.discard", "test-admin")]
    assert _stages(store)["forum:1"] == "discarded"
    assert score_pending(store, KeywordClassifier(), matcher, batch=10) == 0


def test_a_broken_model_is_the_stages_error_and_sets_nothing_aside(store, example_settings):
    _store_three(store)
    matcher = BrandMatcher.from_settings(example_settings)
    with pytest.raises(ClassifierError, match="tokenizer choked"):
        score_pending(store, Fragile(broken=True), matcher, batch=10)
    assert set(_stages(store).values()) == {"new"}  # all retried next cycle


def test_triage_sets_aside_the_mention_it_breaks_on_and_opens_the_others(
    store, example_settings, monkeypatch
):
    for i in range(3):
        seed_scored(store, native_id=str(i), text=f"Orbita sin fibra {i}", author=f"c{i}",
                    urgency_level=2)  # fmt: skip
    real = triage.choose_team

    def choose(settings, rule, mention):
        if mention.key == "x:1":
            raise KeyError("a routing bug")
        return real(settings, rule, mention)

    monkeypatch.setattr(triage, "choose_team", choose)
    result = triage_pending(store, example_settings)
    assert len(result.opened) == 2 and result.set_aside == 1
    assert _stages(store)["x:1"] == "set_aside"


def test_a_mention_that_breaks_opening_its_case_is_set_aside_and_the_batch_still_opens(
    store, example_settings, monkeypatch
):
    """Triage opens a batch in one transaction; a bug on one mention undoes it, and each is
    tried again alone: the others' cases open once, the culprit is set aside."""
    from pipeline.care.cases import CaseService

    for i in range(4):
        seed_scored(store, native_id=str(i), text=f"Orbita sin fibra {i}", author=f"c{i}",
                    urgency_level=2)  # fmt: skip
    real = CaseService.open_or_join

    def open_or_join(self, cur, mention, **kw):
        if mention.key == "x:2":
            raise ValueError("a bug in opening")
        return real(self, cur, mention, **kw)

    monkeypatch.setattr(CaseService, "open_or_join", open_or_join)
    result = triage_pending(store, example_settings)
    assert len(result.opened) == 3 and result.set_aside == 1
    stages = _stages(store)
    assert stages["x:2"] == "set_aside" and stages["x:0"] == stages["x:3"] == "triaged"
    with store.read() as cur:
        opened = [r["mention_key"] for r in rows(cur, "SELECT mention_key FROM cases")]
    assert sorted(opened) == ["x:0", "x:1", "x:3"]  # once each: the undone batch left nothing
