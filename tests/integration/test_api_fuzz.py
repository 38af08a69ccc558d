"""The whole HTTP API under generated input (Schemathesis strategies over its own OpenAPI
schema), as an anonymous caller and as each role: the answer is never a 5xx, every error is a
JSON body saying what was wrong, and an anonymous caller never gets past sign-in."""

from __future__ import annotations

from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.generation import GenerationMode

from pipeline.access.roles import ROLES
from pipeline.api.app import create_app
from pipeline.api.policy import POLICY, PUBLIC
from pipeline.service import Service
from pipeline.stages.triage import triage_pending
from tests.conftest import seed_scored, sign_in

CALLERS = ("anonymous", *ROLES)
TEAMS = ("atencion-es",)


def is_public(case: schemathesis.Case) -> bool:
    return POLICY.get((case.method.upper(), case.operation.path)) == PUBLIC


@pytest.mark.parametrize("caller", CALLERS)
def test_no_generated_request_gets_a_server_error(store, example_settings, caller) -> None:
    seed_scored(store, native_id="1", text="Órbita lleva 3 días sin fibra", author="ana")
    triage_pending(store, example_settings)
    app = create_app(Service(example_settings, store, sources={}))
    admin = sign_in(store, "admin", name="fuzz-admin")
    schema = schemathesis.openapi.from_asgi("/openapi.json", app, headers=admin)
    failures: list[str] = []
    statuses: Counter[int] = Counter()
    operations = 0
    for found in schema.get_all_operations():
        operation = found.ok()
        operations += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=6, deadline=None, database=None,
                suppress_health_check=list(HealthCheck),
            )  # fmt: skip
            def call(case: schemathesis.Case) -> None:
                # A fresh session per request: a generated logout must not end the run's.
                headers = {} if caller == "anonymous" else sign_in(store, caller, teams=TEAMS)
                response = case.call(headers=headers)
                statuses[response.status_code] += 1
                where = f"{case.method} {case.path}"
                if response.status_code >= 500:
                    failures.append(f"{where} -> {response.status_code}")
                elif response.status_code >= 400 and "detail" not in response.json():
                    failures.append(f"{where} -> {response.status_code} without a detail")
                if caller == "anonymous" and not is_public(case) and response.status_code < 400:
                    failures.append(f"{where} answered an anonymous caller")

            try:
                call()
            except Unsatisfiable:  # nothing invalid can be sent to an operation without input
                continue
    print(f"\nfuzzing as {caller}: {operations} operations, {sum(statuses.values())} requests,"
          f" statuses {dict(sorted(statuses.items()))}")  # fmt: skip
    assert operations >= 30
    assert failures == []
