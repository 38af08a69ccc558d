"""The shipped default model: loads offline, predicts what a user would expect, fast path agrees."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from classifiers import load_classifier
from pipeline.errors import ClassifierError
from pipeline.ports import Classifier
from pipeline.records import INTENTS, SENTIMENTS, TextItem
from pipeline.settings import ModelSettings

DATA = Path(__file__).resolve().parents[1] / "data"


def _items(name: str) -> list[TextItem]:
    rows = [json.loads(line) for line in (DATA / name).read_text("utf-8").splitlines() if line]
    return [
        TextItem(
            text=row["text"],
            lang=row.get("lang"),
            author_followers=row.get("author_followers"),
            likes=row.get("likes", 0),
            shares=row.get("shares", 0),
            prior_contacts=row.get("prior_contacts", 0),
        )
        for row in rows
    ]


@pytest.fixture(scope="module")
def fast() -> Classifier:
    return load_classifier(ModelSettings(precision="auto", threads=2))


@pytest.fixture(scope="module")
def reference() -> Classifier:
    return load_classifier(ModelSettings(precision="fp32", threads=2))


def test_default_model_loads_offline_and_is_a_classifier(fast: Classifier) -> None:
    assert isinstance(fast, Classifier)
    assert fast.version.startswith("escucha-minilm@")


def test_angry_spanish_gas_leak_complaint_is_critical(fast: Classifier) -> None:
    [prediction] = fast.predict(
        [
            TextItem(
                "@LuminaEnergia huele muchísimo a gas en la escalera desde que vino vuestro "
                "técnico, es una vergüenza, hemos tenido que salir todos a la calle"
            )
        ]
    )
    assert prediction.lang == "es"
    assert prediction.sentiment == "negative"
    assert prediction.urgency.level == 3
    assert "safety: gas leak" in prediction.urgency.reasons


def test_english_praise_is_positive_and_not_urgent(fast: Classifier) -> None:
    [prediction] = fast.predict(
        [
            TextItem(
                "Shoutout to the @Orbita tech who came today, super friendly, fixed it. Love it!"
            )
        ]
    )
    assert prediction.lang == "en"
    assert prediction.sentiment == "positive"
    assert prediction.intent == "praise"
    assert prediction.urgency.level <= 1


def test_complaint_scores_higher_than_a_question(fast: Classifier) -> None:
    complaint, question = fast.predict(
        [
            TextItem(
                "@Orbita you charged me twice this month and nobody answers. Terrible service"
            ),
            TextItem("@Orbita hi, what time does the Oxford Street store open on Sunday?"),
        ]
    )
    assert complaint.complaint > 0.5 > question.complaint
    assert complaint.intent == "complaint"
    assert question.intent == "question"


def test_predictions_follow_the_contract(fast: Classifier) -> None:
    items = _items("brand_mentions.jsonl")[:64]
    predictions = fast.predict(items)
    assert len(predictions) == len(items)
    for prediction in predictions:
        line = prediction.as_contract("x:1")
        assert set(line["sentiment"]["scores"]) == set(SENTIMENTS)
        assert abs(sum(line["sentiment"]["scores"].values()) - 1.0) < 1e-3
        assert 0.0 <= line["complaint"]["score"] <= 1.0
        assert line["intent"]["label"] in INTENTS
        assert 0.0 <= line["urgency"]["score"] <= 1.0
        assert line["urgency"]["level"] in (0, 1, 2, 3)
    assert fast.predict([]) == []


def test_batched_fast_path_agrees_with_fp32_one_text_at_a_time(
    fast: Classifier, reference: Classifier
) -> None:
    """Length-bucketed, padded batches (and the configured precision) keep >= 99 % of labels."""
    items = _items("brand_mentions.jsonl") + _items("model_sample.jsonl")
    got = fast.predict(items)
    want = [reference.predict([item])[0] for item in items]  # no padding, no batch neighbours
    cut = float(getattr(reference, "complaint_threshold", 0.5))
    agree = [
        (g.sentiment == w.sentiment) + ((g.complaint >= cut) == (w.complaint >= cut))
        for g, w in zip(got, want, strict=True)
    ]
    assert sum(agree) / (2 * len(items)) >= 0.99


def test_missing_model_names_the_path_and_the_fix(tmp_path: Path) -> None:
    with pytest.raises(ClassifierError) as error:
        load_classifier(ModelSettings(name_or_path="no-such-model"), models_dir=tmp_path)
    message = str(error.value)
    assert str(tmp_path / "no-such-model") in message
    assert "escucha train" in message


def test_a_language_temperature_changes_confidence_not_labels() -> None:
    classifier = load_classifier(ModelSettings(threads=2))
    text = "El servicio de Orbita es un desastre, tres días sin internet"
    before = classifier.scores([text, text], ["es", "pt"])["sentiment"].copy()
    classifier.temperature_by_language["es"] = 50.0  # as if Spanish were barely learnt
    after = classifier.scores([text, text], ["es", "pt"])["sentiment"]
    assert after[0].max() < 0.36  # flattened towards a third each
    assert after[0].argmax() == before[0].argmax()
    assert after[1] == pytest.approx(before[1], abs=1e-6)  # Portuguese keeps its own
