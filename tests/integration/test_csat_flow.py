"""CSAT: closing a deflected case sends the survey privately in the customer's language, and the
customer's answer is parsed into a 1–5 score on the case."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from crawlers.sandbox import SandboxPlatform, load_corpus
from pipeline.care.cases import ActionRequest
from pipeline.service import Service
from pipeline.stages.triage import triage_pending
from tests.conftest import seed_scored


@pytest.mark.parametrize(("lang", "survey_start"), [("es", "¿Cómo valoras"), ("en", "How would")])
def test_the_survey_goes_out_once_and_the_answer_becomes_a_score(
    tmp_path, store, example_settings, lang, survey_start
):
    item = next(i for i in load_corpus() if i.platform == "x" and i.lang == lang)
    now = [datetime.now(UTC)]
    sandbox = SandboxPlatform(
        [item], tmp_path / "sandbox", clock=lambda: now[0], history=1.0, reply_delay=5,
        csat_templates=[t.csat for t in example_settings.templates.values() if t.csat],
    )  # fmt: skip
    seed_scored(store, native_id=item.id, text=item.text, author=item.author, lang=lang,
                source="sandbox")  # fmt: skip
    (case_id,) = triage_pending(store, example_settings).opened
    service = Service(example_settings, store, sources={"sandbox": sandbox}, clock=lambda: now[0])
    agent = ActionRequest(actor="mateo")

    def step(seconds: float = 1) -> None:
        now[0] += timedelta(seconds=seconds)
        service.outbox.run_once()
        service.poll_private_messages()

    for action in ("acknowledge", "private_message"):
        service.cases.act(case_id, action, agent)
        step()
    step(10)  # the customer gives details
    for action in ("resolve", "close_public", "close"):
        service.cases.act(case_id, action, agent)
        step()
    surveys = [p for p in sandbox.posts() if p.text.startswith(survey_start)]
    assert len(surveys) == 1 and surveys[0].kind == "private_message"
    step(10)  # the customer answers the survey
    step(10)
    detail = service.cases.detail(case_id)
    assert detail["case"]["status"] == "closed"
    assert detail["case"]["csat_score"] in {1, 2, 3, 4, 5}
    (event,) = [e for e in detail["events"] if e["action"] == "csat"]
    assert event["detail"]["score"] == detail["case"]["csat_score"]
    assert len([p for p in sandbox.posts() if p.text.startswith(survey_start)]) == 1
