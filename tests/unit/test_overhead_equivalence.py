"""The fast paths outside the encoder give exactly what the straightforward code gave.

Each check runs the earlier implementation (kept here as the reference) and the shipped one on the
same inputs: the sample files, and thousands of generated texts built from the urgency lexicons'
own phrases mixed with negations, prevention words, upper case, "ı"/"İ" and real words. Labels,
levels and reasons must be equal and floats within 1e-6.
"""

from __future__ import annotations

import json
import math
import random
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from classifiers import MODELS_DIR, charngram, intent, language, risk, urgency
from classifiers.calibration import scale_binary, scale_probs
from classifiers.complaint_cues import combine, cue_score
from classifiers.language import SUPPORTED, UNDETERMINED
from pipeline.fold import fold
from pipeline.records import SENTIMENTS, Prediction, TextItem, Urgency

DATA = Path(__file__).resolve().parents[1] / "data"
SAMPLES = ("classify_sample.jsonl", "brand_mentions.jsonl", "model_sample.jsonl")
MODEL = MODELS_DIR / "escucha-minilm"


def _rows() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for name in SAMPLES:
        for line in (DATA / name).read_text("utf-8").splitlines():
            if line.strip():
                rows.append(json.loads(line))
    return rows


def _items(*, with_lang: bool) -> list[TextItem]:
    return [
        TextItem(
            text=row["text"],
            lang=row.get("lang") if with_lang else None,
            author_followers=row.get("author_followers"),
            likes=row.get("likes", 0),
            shares=row.get("shares", 0),
            replies=row.get("replies", 0),
            prior_contacts=row.get("prior_contacts", 0),
        )
        for row in _rows()
    ]


# --- the reference: the code as it was before the fast paths --------------------------------


def reference_assess(item: TextItem, view: urgency.ModelView) -> Urgency:
    folded = fold(item.text)
    evidence: list[float] = []
    reasons: list[str] = []
    negative_context = view.complaint >= view.threshold * 0.6 or view.negative >= 0.4
    critical_context = negative_context or view.negative >= 0.25
    model_weight = view.complaint * (0.25 + 0.35 * view.severity) + 0.1 * view.negative
    if model_weight > 0:
        evidence.append(min(model_weight, 0.6))
    if view.complaint >= view.threshold:
        severity = "severe " if view.severity >= 0.5 else ""
        reasons.append(f"model: {severity}complaint ({view.complaint:.2f})")
    critical_hit = False
    for signal in urgency.SIGNALS:
        if urgency._found(signal, folded):  # each pattern's own finditer
            context = critical_context if signal.critical else negative_context
            evidence.append(signal.weight if context else signal.weight * 0.5)
            reasons.append(signal.reason)
            critical_hit = critical_hit or (signal.critical and context)
    repeated = item.prior_contacts
    if repeated > 0:
        evidence.append(min(0.15 * repeated, 0.45))
        reasons.append(f"repeated contact: {repeated} earlier unanswered")
    elif urgency._REPEAT.search(folded):
        evidence.append(0.25)
        reasons.append("repeated contact: says no answer")
    if item.author_followers and item.author_followers >= 5000:
        reach = min(0.12 * math.log10(item.author_followers / 1000), 0.45)
        evidence.append(reach * (1.0 if negative_context else 0.4))
        reasons.append(f"reach: {urgency._thousands(item.author_followers)} followers")
    engagement = item.likes + 2 * item.shares + item.replies
    if engagement >= 50:
        weight = min(0.1 * math.log10(engagement / 10), 0.35)
        evidence.append(weight * (1.0 if negative_context else 0.4))
        reasons.append(f"engagement: {urgency._thousands(engagement)} interactions")
    remaining = 1.0
    for weight in evidence:
        remaining *= 1.0 - max(0.0, min(weight, 0.99))
    score = 1.0 - remaining
    level = urgency.level_of(score)
    if critical_hit:
        level = max(level, 2)
    return Urgency(score=round(score, 6), level=level, reasons=tuple(reasons))


def reference_intent(text: str, sentiment: dict[str, float], complaint: float, t: float) -> str:
    folded = fold(text)
    if complaint >= t:
        return "complaint"
    if intent._SUGGESTION.search(folded):  # the IGNORECASE patterns
        return "suggestion"
    if intent._QUESTION.search(folded):
        return "question"
    if sentiment.get("positive", 0.0) >= 0.5:
        return "praise"
    return "other"


def reference_detect_many(texts: Sequence[str]) -> list[str]:
    cleaned = [language._clean(text) for text in texts]
    result = [UNDETERMINED] * len(texts)
    todo = [i for i, text in enumerate(cleaned) if len(language._LETTER.findall(text)) >= 4]
    if not todo:
        return result
    batch = language._detector().compute_language_confidence_values_in_parallel(
        [cleaned[i] for i in todo]
    )
    for i, values in zip(todo, batch, strict=True):
        if values and values[0].value >= language.MIN_CONFIDENCE:
            result[i] = language._code(values[0].language)
    return result


def reference_counts(texts: Sequence[str]) -> Any:
    chars, words = charngram._vectorizers()
    return (chars.transform(list(texts)) + words.transform(list(texts))).tocsr()


def reference_proba(model: charngram.CharNgramModel, texts: Sequence[str], langs: list[str]) -> Any:
    import scipy.sparse as sp

    counts = reference_counts(texts)
    codes = np.array([lang if lang in model.heads else charngram.POOLED for lang in langs])
    logits = np.zeros((len(texts), 3), dtype=np.float64)
    for key in set(codes.tolist()):
        head = model.heads[key]
        rows = np.flatnonzero(codes == key)
        dense = np.zeros(charngram.N_FEATURES, dtype=np.float32)
        dense[head.columns] = head.idf
        weights = sp.csr_matrix(
            (
                head.coef.T.ravel(),
                (np.repeat(head.columns, 3), np.tile(np.arange(3), len(head.columns))),
            ),
            shape=(charngram.N_FEATURES, 3),
        )
        product = charngram._features(counts[rows], dense) @ weights
        logits[rows] = np.asarray(product.todense(), dtype=np.float64) + head.intercept
    logits -= logits.max(axis=1, keepdims=True)
    exp = np.exp(logits)
    return (exp / exp.sum(axis=1, keepdims=True)).astype(np.float32)


def reference_predict(model: Any, items: Sequence[TextItem]) -> list[Prediction]:
    """``TransformerClassifier.predict`` as it was: tokenizer per batch, per-rule matching."""
    import torch

    from classifiers import network

    texts = [item.text for item in items]
    langs = [
        (item.lang or "").lower()[:2] if (item.lang or "").lower()[:2] in SUPPORTED else ""
        for item in items
    ]
    todo = [i for i, lang in enumerate(langs) if not lang]
    for i, lang in zip(todo, reference_detect_many([texts[i] for i in todo]), strict=True):
        langs[i] = lang
    n = len(texts)
    sentiment = np.zeros((n, 3), dtype=np.float32)
    complaint_p = np.zeros(n, dtype=np.float32)
    severity = np.zeros(n, dtype=np.float32)
    pooled = np.zeros((n, network.HIDDEN), dtype=np.float32)
    order = sorted(range(n), key=lambda i: len(texts[i]))
    with torch.inference_mode():
        for start in range(0, n, model.batch_size):
            index = order[start : start + model.batch_size]
            encoded = model.tokenizer(
                [texts[i] or " " for i in index],
                padding=True,
                truncation=True,
                max_length=model.max_length,
                return_tensors="pt",
            )
            out = network.forward(model.net, encoded["input_ids"], encoded["attention_mask"])
            sentiment[index] = torch.softmax(out["sentiment"].float(), -1).numpy()
            complaint_p[index] = torch.sigmoid(out["complaint"].float()).numpy()
            severity[index] = torch.sigmoid(out["severity"].float()).numpy()
            pooled[index] = out["pooled"].float().numpy()
    weights = np.array(
        [model.char_weight_en if lang == "en" else model.char_weight for lang in langs],
        dtype=np.float32,
    )
    chosen = np.flatnonzero(weights > 0)
    if len(chosen):
        char = reference_proba(
            model.char_model, [texts[int(i)] for i in chosen], [langs[int(i)] for i in chosen]
        )
        w = weights[chosen][:, None]
        sentiment[chosen] = (1 - w) * sentiment[chosen] + w * char
    codes = np.array(langs)
    for lang in set(langs):
        t = (
            model.temperature_en
            if lang == "en"
            else model.temperature_by_language.get(lang, model.temperature)
        )
        if t != 1.0:
            mask = codes == lang
            sentiment[mask] = scale_probs(sentiment[mask], t)
    complaint_p = scale_binary(complaint_p, model.complaint_temperature)
    # the risk head on the plain inputs: each signal's own finditer, the plain n-gram counts
    found = [[s for s in urgency.SIGNALS if urgency._found(s, fold(t))] for t in texts]
    risks: list[Any] = [None] * n
    if model.risk_head is not None:
        features = risk.Features(
            pooled=pooled,
            counts=reference_counts(texts),
            lexicon=risk.lexicon_matrix([[s.reason for s in hits] for hits in found]),
        )
        risks = model.risk_head.views(model.risk_head.probabilities(features))
    predictions = []
    for i, item in enumerate(items):
        probs = {label: float(sentiment[i][k]) for k, label in enumerate(SENTIMENTS)}
        complaint = float(complaint_p[i])
        if langs[i] != "en":
            complaint = combine(complaint, cue_score(item.text, langs[i]))
        view = urgency.ModelView(
            complaint=complaint,
            severity=float(severity[i]),
            negative=probs["negative"],
            threshold=model.complaint_threshold,
        )
        predictions.append(
            Prediction(
                lang=langs[i] or UNDETERMINED,
                sentiment=max(probs, key=probs.__getitem__),
                sentiment_scores=probs,
                complaint=complaint,
                intent=reference_intent(item.text, probs, complaint, model.complaint_threshold),
                urgency=reference_assess(item, view)
                if risks[i] is None
                else urgency.assess(
                    item,
                    view,
                    signals=(found[i], bool(urgency._REPEAT.search(fold(item.text)))),
                    risk=risks[i],
                    lexicons=model.risk_lexicons,
                ),
                model_version=model.version,
            )
        )
    return predictions


# --- generated texts --------------------------------------------------------------------------


def _instance(alternative: str, rng: random.Random) -> str:
    """A string the alternative (roughly) matches, from its own regex syntax."""
    text = alternative.replace("\\b", "")
    text = text.replace("\\w+", rng.choice(["muy", "the", "x"]))
    text = text.replace("\\d+", str(rng.randint(1, 12))).replace("\\d", "3")
    text = re.sub(r"\.\{0,\d+\}", lambda _: " " * rng.randint(0, 3), text)
    text = re.sub(r"\[(\w+)\]", lambda m: rng.choice(m.group(1)), text)
    while "(" in text:
        text = re.sub(
            r"\(([^()]*)\)(\?)?",
            lambda m: "" if m.group(2) and rng.random() < 0.5 else rng.choice(m[1].split("|")),
            text,
        )
    text = re.sub(r"(.)\?", lambda m: m.group(1) if rng.random() < 0.5 else "", text)
    return text.replace(".", rng.choice(["'", "", " "]))


def generated_texts(count: int, seed: int = 7) -> Iterator[str]:
    rng = random.Random(seed)
    patterns = [signal.pattern for signal in urgency.SIGNALS] + [urgency._REPEAT]
    phrases = [a for p in patterns for a in urgency._alternatives(p.pattern)]
    phrases += [intent._SUGGESTION.pattern[4:-3], "como puedo", "anyone know", "why"]
    words = " ".join(row["text"] for row in _rows()).split()
    extra = ["no", "not", "sin", "nunca", "zero", "wasn't", "simulacro de", "campaign to",
             "tips", "ı", "İ", "ſ", "  ", "\n", "?", "¿", "3", "x", "HUELE", "Sé"]  # fmt: skip
    for _ in range(count):
        parts = []
        for _ in range(rng.randint(1, 9)):
            r = rng.random()
            if r < 0.45:
                parts.append(_instance(rng.choice(phrases), rng))
            elif r < 0.65:
                parts.append(rng.choice(extra))
            else:
                parts.append(rng.choice(words))
        text = rng.choice([" ", "", "  ", ", "]).join(parts)
        yield text.upper() if rng.random() < 0.25 else text


# --- the checks -------------------------------------------------------------------------------


def test_urgency_equals_per_rule_matching_on_samples_and_generated_texts() -> None:
    rng = random.Random(3)
    items = _items(with_lang=True) + [
        TextItem(text, prior_contacts=rng.choice([0, 0, 2]), author_followers=rng.choice(
            [None, 12_000]), likes=rng.choice([0, 300]))
        for text in generated_texts(10_000)
    ]  # fmt: skip
    checked = 0
    for item in items:
        view = urgency.ModelView(rng.random(), rng.random(), rng.random(), rng.random())
        assert urgency.assess(item, view) == reference_assess(item, view), item.text
        assert urgency.assess(item, view, folded=fold(item.text)) == reference_assess(item, view)
        checked += 1
    assert checked > 10_000


def test_every_signal_is_found_by_the_fast_path_somewhere() -> None:
    """The generated texts reach every signal, so the check above covers each lexicon."""
    seen = {signal.reason for text in generated_texts(5_000) for signal in
            urgency.signals_in(fold(text))[0]}  # fmt: skip
    assert seen == {signal.reason for signal in urgency.SIGNALS}


def test_intent_equals_ignorecase_matching() -> None:
    texts = [item.text for item in _items(with_lang=True)] + list(generated_texts(5_000, seed=11))
    for text in texts:
        for positive in (0.2, 0.7):
            probs = {"negative": 0.1, "neutral": 0.2, "positive": positive}
            want = reference_intent(text, probs, 0.1, 0.5)
            assert intent.derive_intent(text, probs, 0.1, 0.5) == want
            assert intent.derive_intent(text, probs, 0.1, 0.5, folded=fold(text)) == want


def test_language_detection_equals_lingua_per_text_with_and_without_the_cache() -> None:
    texts = [item.text for item in _items(with_lang=False)]
    texts += [f"{text} @someone https://x.co/{i}" for i, text in enumerate(texts[:50])]
    want = reference_detect_many(texts)
    language._CACHE.clear()
    assert language.detect_many(texts) == want  # cold: distinct texts once
    assert language.detect_many(texts) == want  # warm: every answer from the cache
    assert language.detect_many(texts[::-1]) == want[::-1]


def test_char_ngram_counts_are_identical_and_probabilities_within_1e6() -> None:
    texts = [item.text for item in _items(with_lang=True)] + list(generated_texts(500, seed=5))
    texts += ["", "   ", "ÉL  Tab\tx\u00a0y\u3000z", "İstanbul ΣΑΣ", "ß straße"]
    assert (charngram.counts(texts) != reference_counts(texts)).nnz == 0
    model = charngram.CharNgramModel.load(MODEL)
    assert model is not None
    langs = [row.get("lang") or "" for row in _rows()] + ["es", "xx"] * 300
    langs = langs[: len(texts)]
    got = model.predict_proba(texts, langs)
    np.testing.assert_allclose(got, reference_proba(model, texts, langs), rtol=0, atol=1e-6)


@pytest.fixture(scope="module")
def classifier() -> Any:
    from classifiers import load_classifier
    from pipeline.settings import ModelSettings

    return load_classifier(ModelSettings(precision="fp32", threads=2))


def test_tokenizing_once_pads_each_batch_as_the_per_batch_call(classifier: Any) -> None:
    texts = [item.text for item in _items(with_lang=True)] + ["", "x" * 3000]
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    for index, input_ids, mask in classifier.tokenize(texts):
        assert index == order[: len(index)]
        order = order[len(index) :]
        want = classifier.tokenizer(
            [texts[i] or " " for i in index],
            padding=True,
            truncation=True,
            max_length=classifier.max_length,
            return_tensors="pt",
        )
        assert input_ids.equal(want["input_ids"])
        assert mask.equal(want["attention_mask"])
    assert not order


@pytest.mark.parametrize("with_lang", [True, False], ids=["platform-lang", "detected-lang"])
def test_predict_equals_the_reference_path_on_the_samples(classifier: Any, with_lang: bool) -> None:
    items = _items(with_lang=with_lang)
    language._CACHE.clear()
    got = classifier.predict(items)
    want = reference_predict(classifier, items)
    for g, w in zip(got, want, strict=True):
        assert (g.lang, g.sentiment, g.intent) == (w.lang, w.sentiment, w.intent)
        assert (g.urgency.level, g.urgency.reasons) == (w.urgency.level, w.urgency.reasons)
        assert g.urgency.score == pytest.approx(w.urgency.score, abs=1e-6)
        assert g.complaint == pytest.approx(w.complaint, abs=1e-6)
        for label in SENTIMENTS:
            assert g.sentiment_scores[label] == pytest.approx(w.sentiment_scores[label], abs=1e-6)
