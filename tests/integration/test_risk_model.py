"""The shipped risk head on text it never saw: the held-out writer, phrasings without the
lexicons' words, hyperbole, and a brand's own categories."""

from __future__ import annotations

from pathlib import Path

import pytest

from classifiers import load_classifier
from classifiers.model import TransformerClassifier
from classifiers.riskeval import heldout_report
from classifiers.risktrain import HELDOUT_WRITERS, risk_files, split
from classifiers.taxonomy import read_risk_rows
from pipeline.errors import ClassifierError
from pipeline.records import TextItem
from pipeline.settings import ModelSettings, RiskCategorySettings

RISK_SET = Path(__file__).resolve().parents[2] / "classifiers" / "riskset"


@pytest.fixture(scope="module")
def model() -> TransformerClassifier:
    classifier = load_classifier(ModelSettings(precision="fp32", threads=2))
    assert isinstance(classifier, TransformerClassifier)
    assert classifier.risk_head is not None, "the default model ships a risk head"
    return classifier


def test_the_heldout_writer_is_flagged_as_the_card_says(model: TransformerClassifier) -> None:
    _, held = split(read_risk_rows(risk_files(RISK_SET)), HELDOUT_WRITERS)
    assert len(held) >= 400
    report = heldout_report(model, held)
    shipped, lexicons = report["model"]["all"], report["baseline"]["all"]
    # critical mentions from sectors and a writer the model never saw are flagged now (level ≥ 2)
    assert shipped["critical_at_2plus"] >= 0.85, shipped
    assert shipped["none_at_2plus"] <= 0.15, shipped
    assert shipped["auc_high"] >= 0.92, shipped
    for lang in ("es", "en"):
        assert report["model"][lang]["critical_at_2plus"] >= 0.8, (lang, report["model"][lang])
    assert shipped["critical_at_2plus"] > lexicons["critical_at_2plus"] + 0.1


def test_danger_without_the_lexicons_words_is_flagged(model: TransformerClassifier) -> None:
    texts = [
        "mi padre duerme con el concentrador de oxígeno y lleváis desde las 6 sin luz, la "
        "batería de reserva no aguanta hasta la noche",
        "Someone moved £900 out of my account at 3am and your app says it was me. It wasn't.",
        "the socket you fitted went bang and now the wall behind the telly is black",
        "me llegan códigos de verificación que no he pedido y ahora no puedo entrar en mi cuenta",
    ]
    predictions = model.predict([TextItem(text) for text in texts])
    for text, prediction in zip(texts, predictions, strict=True):
        assert prediction.urgency.level >= 2, (text, prediction.urgency)
        assert prediction.urgency.reasons[0].startswith("risk: "), prediction.urgency


def test_hyperbole_and_jokes_are_not_flagged(model: TransformerClassifier) -> None:
    texts = [
        "Este descuento es fuego 🔥🔥 corred que se acaba",
        "me muero de risa con el anuncio nuevo jajaja",
        "This deal is fire, grabbed two already",
        "I could kill for one of your iced lattes right now",
    ]
    for text, prediction in zip(texts, model.predict([TextItem(t) for t in texts]), strict=True):
        assert prediction.urgency.level <= 1, (text, prediction.urgency)


def test_a_brands_own_category_is_recognised_without_retraining() -> None:
    recall = RiskCategorySettings(
        key="battery_recall",
        level=3,
        examples=[
            "la batería del patinete Volt se hinchó y sale humo",
            "my Volt scooter battery swelled up and started smoking in the hallway",
            "the Volt e-scooter battery is bulging and hot to the touch",
        ],
        similarity=0.8,
    )
    classifier = load_classifier(
        ModelSettings(precision="fp32", threads=2, risk_categories=[recall])
    )
    similar, unrelated = classifier.predict(
        [
            TextItem("la bateria de mi patinete Volt esta hinchada y muy caliente"),
            TextItem("¿a qué hora abre la tienda del centro el sábado?"),
        ]
    )
    assert similar.urgency.level == 3
    assert any(reason.startswith("risk: battery_recall") for reason in similar.urgency.reasons)
    assert not any("battery_recall" in reason for reason in unrelated.urgency.reasons)


def test_an_own_category_cannot_take_a_builtin_key() -> None:
    clash = RiskCategorySettings(key="data_breach", examples=["se han filtrado mis datos"])
    with pytest.raises(ClassifierError, match="built-in"):
        load_classifier(ModelSettings(precision="fp32", threads=2, risk_categories=[clash]))
