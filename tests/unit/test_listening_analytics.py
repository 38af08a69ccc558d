"""Pure listening analytics: phrases (accents, stopwords), themes ordered by growth, risk
categories per bucket, share of voice per bucket and the crisis timeline against its baseline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pipeline.analytics.crisis import baseline, summary, timeline
from pipeline.analytics.overview import sentiment_shares, shares_per_bucket
from pipeline.analytics.risks import category, risk_categories
from pipeline.analytics.terms import grams, stopwords, terms
from pipeline.analytics.themes import themes
from pipeline.store.listening import Sample, SampledMention

T0 = datetime(2026, 3, 2, 10, tzinfo=UTC)


def _sample(*texts: str, sentiment: str = "negative", total: int | None = None) -> Sample:
    items = [SampledMention(f"x:{i}", text, sentiment, i) for i, text in enumerate(texts)]
    return Sample(items, total if total is not None else len(items))


def test_grams_fold_accents_drop_stopwords_and_keep_phrases_inside_a_clause() -> None:
    found = grams(
        "¡Fuga de GAS en la cocina de Órbita! Llevo 3 días sin luz", stopwords(["Órbita"])
    )
    assert {"fuga", "gas", "cocina", "fuga de gas", "llevo", "dias", "luz"} <= found
    assert "orbita" not in found and "de" not in found and "la" not in found
    assert "gas en la" not in found  # a phrase ends on a content word
    assert "cocina de orbita" not in found  # nor on a brand
    assert "cocina de orbita llevo" not in found  # punctuation breaks a phrase
    assert "llevo dias" not in found  # and so does a number
    assert all(len(g.split()) <= 3 for g in found)


def test_terms_still_counts_single_words_once_per_text() -> None:
    found = terms(["Factura factura FACTURA", "la factura"], exclude=["Orbita"])
    assert found == [{"term": "factura", "mentions": 2}]


def test_themes_put_the_terms_that_grew_most_first_and_show_the_growth() -> None:
    before = _sample(*(["factura duplicada otra vez"] * 10), *(["buen servicio"] * 10))
    now = _sample(
        *(["factura duplicada otra vez"] * 10),
        *(["fuga de gas en la tienda"] * 5),
        *(["buen servicio"] * 5),
    )
    found = themes(now, before, limit=10)["items"]
    order = [row["term"] for row in found]
    assert order.index("fuga de gas") < order.index("factura duplicada")
    assert order.index("factura duplicada") < order.index("buen servicio")
    gas = next(row for row in found if row["term"] == "fuga de gas")
    assert gas["new"] and gas["growth"] is None and gas["mentions"] == 5
    billing = next(row for row in found if row["term"] == "factura duplicada")
    # 10 of 20 before, 10 of 20 now: no growth.
    assert billing["growth"] == 0.0
    service = next(row for row in found if row["term"] == "buen servicio")
    assert service["growth"] == -0.5


def test_themes_carry_sentiment_split_examples_and_scale_a_sample() -> None:
    now = Sample(
        [
            SampledMention("x:1", "Sin fibra otra vez", "negative", 1),
            SampledMention("x:2", "sin fibra desde ayer", "negative", 50),
            SampledMention("x:3", "¿Sin fibra? A mí me va bien", "neutral", 3),
            SampledMention("x:4", "sin fibra, again", "negative", 2),
        ],
        total=40,
    )
    row = next(r for r in themes(now)["items"] if r["term"] == "fibra")
    assert (row["negative"], row["neutral"], row["positive"]) == (3, 1, 0)
    assert row["sampled"] == 4 and row["mentions"] == 40
    assert [e["key"] for e in row["examples"]] == ["x:2", "x:3", "x:4"]  # most engaged first
    assert row["growth"] is None and not row["new"]  # no previous period


def test_a_phrase_a_longer_phrase_explains_is_left_out() -> None:
    now = _sample(*(["caida general red movil"] * 3), "caida general, luego nada", "caida general")
    found = {row["term"]: row["sampled"] for row in themes(now)["items"]}
    assert found["caida general red"] == 3
    assert "general red" not in found  # "caida general red" says it in as many mentions
    assert found["caida general"] == 5  # seen in more mentions than the longer phrase: kept


def test_urgency_reasons_become_categories_with_stable_keys() -> None:
    assert category("safety: gas leak") == ("safety_gas_leak", "safety: gas leak")
    assert category("reach: # followers")[0] == "reach"
    assert category("model: severe complaint (#.#)")[0] == "complaint"
    assert category("repeated contact: says no answer")[0] == "repeated_contact"
    assert category("Legal: lawyer or regulator")[0] == "legal_lawyer_or_regulator"
    assert category("press or viral attention")[0] == "press_or_viral_attention"


def test_risk_categories_are_counted_per_bucket() -> None:
    day1, day2 = T0, T0 + timedelta(days=1)
    found = risk_categories(
        [
            {"bucket": day1, "reason": "safety: gas leak", "mentions": 4},
            {"bucket": day1, "reason": "reach: #k followers", "mentions": 2},
            {"bucket": day1, "reason": "reach: #M followers", "mentions": 1},
            {"bucket": day2, "reason": "safety: gas leak", "mentions": 1},
        ]
    )
    assert found["categories"] == [
        {"key": "safety_gas_leak", "label": "safety: gas leak", "mentions": 5},
        {"key": "reach", "label": "author reach", "mentions": 3},
    ]
    assert found["series"] == [
        {"bucket": day1, "category": "reach", "mentions": 3},
        {"bucket": day1, "category": "safety_gas_leak", "mentions": 4},
        {"bucket": day2, "category": "safety_gas_leak", "mentions": 1},
    ]


def test_sentiment_and_share_of_voice_per_brand_and_bucket() -> None:
    rows = [
        {"bucket": T0, "brand": "A", "mentions": 3, "negative": 2, "neutral": 0, "positive": 1},
        {"bucket": T0, "brand": "B", "mentions": 1, "negative": 0, "neutral": 0, "positive": 1},
    ]
    assert [r["share"] for r in shares_per_bucket(rows)] == [0.75, 0.25]
    nets = [r["net"] for r in sentiment_shares(rows)]
    assert nets[0] == -1 / 3 and nets[1] == 1.0


def test_the_crisis_timeline_fills_empty_hours_and_compares_with_the_baseline() -> None:
    usual = baseline({"mentions": 168, "scored": 100, "negative": 20}, hours=168)
    assert usual["hourly_mean"] == 1.0 and usual["negative_share"] == 0.2
    hourly = [{"hour": T0 + timedelta(hours=1), "mentions": 6, "scored": 6, "negative": 5}]
    points = timeline(hourly, start=T0, end=T0 + timedelta(hours=3), usual=usual)
    assert [p["mentions"] for p in points] == [0, 6, 0]
    assert points[1]["ratio"] == 6.0 and points[1]["negative_share"] == 5 / 6
    assert points[0]["negative_share"] is None
    assert all(p["baseline_negative_share"] == 0.2 for p in points)
    window = summary({"mentions": 6, "scored": 6, "negative": 5}, usual, hours=3)
    assert window["ratio"] == 2.0 and window["negative_share"] == 5 / 6
