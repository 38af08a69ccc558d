"""What an operator's tools read: liveness and readiness for the load balancer, Prometheus metrics
for the dashboards and alerts, and a request id that ties a response to its log lines."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from pipeline.api.app import create_app
from pipeline.records import Mention, Page
from pipeline.service import Service
from pipeline.stages.ingest import store_page
from pipeline.stages.triage import triage_pending
from pipeline.telemetry import REQUEST_ID, RequestIdFilter
from tests.conftest import seed_scored, sign_in


class NoModel:
    version = "none"

    def __call__(self) -> object:
        raise AssertionError("these tests do not score")


class OnePage:
    """A source that delivers one page of two mentions, then nothing new."""

    name = "listen"
    platform = "x"

    def fetch(self, cursor: object) -> Iterator[Page]:
        if cursor is None:
            now = datetime.now(UTC) - timedelta(minutes=1)
            yield Page(
                tuple(
                    Mention(
                        platform="x",
                        native_id=f"p{i}",
                        text=f"Orbita {i}",
                        author="eva",
                        created_at=now,
                        source="listen",
                    )
                    for i in range(2)
                ),
                cursor={"done": True},
            )


@pytest.fixture
def service(store, example_settings):
    seed_scored(store, native_id="1", text="Órbita lleva 3 días sin fibra", author="ana")
    triage_pending(store, example_settings)
    return Service(example_settings, store, sources={}, classifier_factory=NoModel)


@pytest.fixture
def client(service):
    with TestClient(create_app(service), raise_server_exceptions=False) as test_client:
        yield test_client


def samples(client: TestClient, headers: dict[str, str]) -> dict[tuple[str, tuple], float]:
    """The scraped metrics as ``{(sample name, sorted labels): value}``."""
    answer = client.get("/metrics", headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def test_liveness_and_readiness_answer_anyone_and_tell_no_data(client, service):
    assert client.get("/healthz").json() == {"status": "alive"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json() == {"status": "ready", "failed": []}
    service.classifier_error = "the model folder is missing"
    not_ready = client.get("/readyz")
    assert not_ready.status_code == 503
    assert not_ready.json() == {"status": "not ready", "failed": ["model"]}
    assert "folder" not in not_ready.text  # the reason stays in the service log


def test_metrics_need_a_credential_and_any_role_may_scrape(client, store):
    assert client.get("/metrics").status_code == 401
    for role in ("viewer", "agent", "admin"):
        assert client.get("/metrics", headers=sign_in(store, role)).status_code == 200


def test_api_latency_is_counted_by_route_template_never_by_path(client, store):
    admin = sign_in(store)
    case_id = client.get("/cases", headers=admin).json()["items"][0]["id"]
    key = ("escucha_http_request_seconds_count",
           (("method", "GET"), ("route", "/cases/{case_id}"), ("status", "200")))  # fmt: skip
    before = samples(client, admin).get(key, 0.0)
    for _ in range(3):
        assert client.get(f"/cases/{case_id}", headers=admin).status_code == 200
    after = samples(client, admin)
    assert after[key] == before + 3
    body = client.get("/metrics", headers=admin).text
    assert case_id not in body and "ana" not in body  # no ids, no handles


def test_backlogs_are_read_from_the_store_when_scraped(client, store):
    admin = sign_in(store)
    assert samples(client, admin)[("escucha_scoring_backlog", ())] == 0
    assert samples(client, admin)[("escucha_open_cases", ())] == 1
    mention = Mention(platform="x", native_id="w1", text="Orbita sin red", author="bea",
                      created_at=datetime.now(UTC), source="seed")  # fmt: skip
    store_page(store, "seed", "x", Page((mention,)))
    assert samples(client, admin)[("escucha_scoring_backlog", ())] == 1
    assert samples(client, admin)[("escucha_outbox_oldest_pending_seconds", ())] == 0


def test_polls_and_stored_mentions_are_counted_per_source(store, example_settings):
    service = Service(example_settings, store, sources={"listen": OnePage()},
                      classifier_factory=NoModel)  # fmt: skip
    with TestClient(create_app(service)) as client:
        admin = sign_in(store)
        ok = ("escucha_polls_total", (("outcome", "ok"), ("source", "listen")))
        new = ("escucha_mentions_ingested_total", (("kind", "new"), ("source", "listen")))
        before = samples(client, admin)
        service.run_cycle(force=True)
        after = samples(client, admin)
    assert after[ok] == before.get(ok, 0) + 1
    assert after[new] == before.get(new, 0) + 2


def test_a_request_carries_an_id_into_its_log_lines_and_its_response(client, store):
    given = client.get("/healthz", headers={"X-Request-ID": "lb-7f3a"})
    assert given.headers["x-request-id"] == "lb-7f3a"
    made = client.get("/healthz", headers={"X-Request-ID": "not ok; <script>"})
    assert made.headers["x-request-id"] != "not ok; <script>"
    assert len(made.headers["x-request-id"]) == 32
    record = logging.LogRecord("escucha", logging.INFO, __file__, 1, "message", None, None)
    token = REQUEST_ID.set("lb-7f3a")
    try:
        RequestIdFilter().filter(record)
    finally:
        REQUEST_ID.reset(token)
    assert record.request_id == "lb-7f3a"  # type: ignore[attr-defined]
