"""The risk taxonomy, its labelled set, the risk head's storage and how it sets urgency."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from classifiers import charngram, risk
from classifiers.taxonomy import CATEGORIES, KEYS, parse_risk_row, read_risk_rows, summary
from classifiers.urgency import LEVEL_CUTS, SIGNALS, ModelView, RiskView, assess, level_of
from dashboard.i18n import STRINGS
from pipeline.analytics.risks import category
from pipeline.errors import ClassifierError, InputError
from pipeline.records import TextItem
from pipeline.settings import ModelSettings

RISK_SET = Path(__file__).resolve().parents[2] / "classifiers" / "riskset"
ROW = {
    "id": "t-1",
    "writer": "t",
    "text": "El enchufe hizo un chispazo y la pared está negra",
    "lang": "es",
    "platform": "x",
    "sector": "energy_electricity",
    "categories": ["physical_safety"],
    "hard_negative_of": [],
    "urgency_level": 3,
    "sentiment": "negative",
    "complaint": 1,
}


def test_a_row_below_its_categories_level_is_refused() -> None:
    with pytest.raises(ValueError, match="below its categories' default level 3"):
        parse_risk_row({**ROW, "urgency_level": 2})
    with pytest.raises(ValueError, match="unknown keys"):
        parse_risk_row({**ROW, "categories": ["fire"]})
    with pytest.raises(ValueError, match="both"):
        parse_risk_row({**ROW, "hard_negative_of": ["physical_safety"]})
    assert parse_risk_row(ROW).categories == ("physical_safety",)


def test_a_bad_line_is_named_with_its_file_and_number(tmp_path: Path) -> None:
    path = tmp_path / "w9.jsonl"
    path.write_text(json.dumps(ROW) + "\n" + json.dumps(ROW) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match="used twice") as caught:
        read_risk_rows([path])
    assert "w9.jsonl" in str(caught.value) and "2" in str(caught.value)
    path.write_text("{not json\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"w9\.jsonl"):
        read_risk_rows([path])


def test_the_risk_set_covers_every_category_both_languages_and_thirty_sectors() -> None:
    rows = read_risk_rows(sorted(RISK_SET.glob("w*.jsonl")))
    counts = summary(rows)
    assert counts["rows"] >= 3000
    assert counts["sectors"] >= 30
    assert min(counts["lang"]["es"], counts["lang"]["en"]) >= 1500
    assert counts["duplicate_texts"] == 0
    for key in KEYS:
        assert counts["categories"][key] >= 100, key
        assert counts["hard_negatives"][key] >= 50, key
        for lang in ("es", "en"):
            assert sum(key in r.categories and r.lang == lang for r in rows) >= 30, (key, lang)


def _probabilities(urgent: float, critical: float, **categories: float) -> np.ndarray:
    row = np.zeros(len(KEYS) + 2, dtype=np.float32)
    for key, p in categories.items():
        row[KEYS.index(key)] = p
    row[len(KEYS)], row[len(KEYS) + 1] = urgent, critical
    return row[None, :]


def test_the_level_outputs_set_the_level_and_the_categories_say_why() -> None:
    [critical] = risk.views(
        _probabilities(0.9, 0.7, health_dependency=0.8, vulnerable_customer=0.6), KEYS, 0.3, 0.5
    )
    assert critical.level == 3 and level_of(critical.score) == 3
    assert [key for key, _ in critical.found] == ["health_dependency", "vulnerable_customer"]

    [flagged] = risk.views(_probabilities(0.4, 0.2, mass_outage=0.3), KEYS, 0.3, 0.5)
    assert flagged.level == 2 and level_of(flagged.score) == 2
    assert [key for key, _ in flagged.found] == ["mass_outage"]  # the most likely, though < 0.5

    [calm] = risk.views(_probabilities(0.1, 0.05, data_breach=0.2), KEYS, 0.3, 0.5)
    assert calm.level == 0 and calm.found == () and calm.score < LEVEL_CUTS[1]


def test_the_urgency_score_rises_with_the_flag_probability() -> None:
    scores = [risk.level_score(p / 20, 0.0, 0.3, 0.5) for p in range(21)]
    assert scores == sorted(scores)
    assert level_of(risk.level_score(0.29, 0.9, 0.3, 0.5)) < 2
    assert level_of(risk.level_score(0.31, 0.4, 0.3, 0.5)) == 2
    assert level_of(risk.level_score(0.31, 0.6, 0.3, 0.5)) == 3


def _features(texts: list[str], seed: int = 0) -> risk.Features:
    rng = np.random.default_rng(seed)
    lexicon = np.zeros((len(texts), len(SIGNALS)), dtype=np.float32)
    lexicon[::3, 0] = 1.0
    return risk.Features(
        pooled=rng.normal(size=(len(texts), 384)).astype(np.float32),
        counts=charngram.counts(texts),
        lexicon=lexicon,
    )


def test_a_stored_head_gives_the_same_probabilities(tmp_path: Path) -> None:
    texts = [
        f"texto número {i} sobre {'fuga de gas' if i % 2 else 'una factura'}" for i in range(40)
    ]
    features = _features(texts)
    categories = np.zeros((40, len(KEYS)), dtype=np.int8)
    categories[1::2, KEYS.index("physical_safety")] = 1
    levels = [3 if i % 2 else 1 for i in range(40)]
    head = risk.fit(features, risk.targets_of(categories, levels), c=1.0)
    head.flag, head.critical = 0.3, 0.6
    head.save(tmp_path)
    loaded = risk.RiskHead.load(tmp_path)
    assert loaded is not None and loaded.keys == KEYS
    assert (loaded.flag, loaded.critical) == (0.3, 0.6)
    before, after = head.probabilities(features), loaded.probabilities(features)
    np.testing.assert_allclose(before, after, atol=0.02)
    # learned: the rows about a gas leak are the physical-safety ones
    k = KEYS.index("physical_safety")
    assert after[1::2, k].mean() > after[::2, k].mean() + 0.3


def test_a_damaged_head_file_says_how_to_recover(tmp_path: Path) -> None:
    (tmp_path / risk.FILE).write_bytes(b"not a safetensors file")
    with pytest.raises(ClassifierError, match="risk head") as caught:
        risk.RiskHead.load(tmp_path)
    assert "train-risk" in (caught.value.hint or "")
    assert risk.RiskHead.load(tmp_path / "empty") is None


def test_with_a_head_only_the_head_flags_and_context_still_raises() -> None:
    angry = ModelView(complaint=0.99, severity=0.95, negative=0.99, threshold=0.4)
    text = TextItem("ESTO ES UNA VERGÜENZA, tercera vez que escribo y nadie contesta")
    without_head = assess(text, angry)
    assert without_head.level >= 2  # the old path: an angry complaint alone reaches level 2
    calm_head = RiskView(score=0.1)
    assert assess(text, angry, risk=calm_head, lexicons=False).level <= 1
    flagged = RiskView(score=0.6, found=(("mass_outage", 0.7),), level=2)
    urgency = assess(text, angry, risk=flagged, lexicons=False)
    assert urgency.level == 2 and urgency.reasons[0] == "risk: mass_outage"
    loud = TextItem(text.text, author_followers=400_000, likes=900, shares=300, prior_contacts=3)
    assert assess(loud, angry, risk=calm_head, lexicons=False).level >= 2  # what the text can't say


def test_lexicon_words_back_a_flag_but_do_not_make_one() -> None:
    view = ModelView(complaint=0.2, severity=0.1, negative=0.2, threshold=0.4)
    item = TextItem("Este descuento es fuego, huele a gas de lo barato que está")
    calm = assess(item, view, risk=RiskView(score=0.05), lexicons=False)
    assert calm.level == 0 and calm.reasons == ()
    flagged = assess(item, view, risk=RiskView(0.9, (("physical_safety", 0.9),), 3), lexicons=False)
    assert flagged.reasons[0] == "risk: physical_safety"
    assert "safety: gas leak" in flagged.reasons


def test_risk_reasons_are_counted_under_their_category_in_both_languages() -> None:
    assert category("risk: data_breach") == ("data_breach", "data breach")
    assert category("risk: battery_recall") == ("battery_recall", "battery recall")
    for key in CATEGORIES:
        es, en = STRINGS[f"risk_{key}"]
        assert es.strip() and en.strip(), key


def test_own_risk_categories_are_checked() -> None:
    good = {"key": "battery_recall", "level": 3, "examples": ["la batería del patinete se hinchó"]}
    settings = ModelSettings(risk_categories=[good])
    assert settings.risk_categories[0].similarity == 0.8
    for bad, says in (
        ({**good, "key": "Battery Recall"}, "lower-case"),
        ({**good, "examples": []}, "at least 1"),
        ({**good, "level": 0}, "greater than or equal to 1"),
    ):
        with pytest.raises(ValueError, match=says):
            ModelSettings(risk_categories=[bad])
    with pytest.raises(ValueError, match="used twice"):
        ModelSettings(risk_categories=[good, good])
