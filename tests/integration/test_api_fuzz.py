"""The whole HTTP API under generated input (Schemathesis strategies over its own OpenAPI
schema): whatever an anonymous caller sends to any route, the answer is never a 5xx."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.generation import GenerationMode

from pipeline.api.app import create_app
from pipeline.service import Service
from pipeline.stages.triage import triage_pending
from tests.conftest import seed_scored


def test_no_generated_request_gets_a_server_error(store, example_settings) -> None:
    seed_scored(store, native_id="1", text="Órbita lleva 3 días sin fibra", author="ana")
    triage_pending(store, example_settings)
    app = create_app(Service(example_settings, store, sources={}))
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    failures: list[str] = []
    operations = 0
    for found in schema.get_all_operations():
        operation = found.ok()
        operations += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=10, deadline=None, database=None,
                suppress_health_check=list(HealthCheck),
            )  # fmt: skip
            def call(case: schemathesis.Case) -> None:
                response = case.call()
                if response.status_code >= 500:
                    failures.append(f"{case.method} {case.path} -> {response.status_code}")

            try:
                call()
            except Unsatisfiable:  # nothing invalid can be sent to an operation without input
                continue
    assert operations >= 20
    assert failures == []
