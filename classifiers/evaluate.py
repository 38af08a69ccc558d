"""Metrics of a classifier on any labelled JSONL: per language, per task, with calibration.

Sentiment: accuracy, macro-F1, macro-recall, confusion matrix, expected calibration error (ECE).
Complaint: F1 of the complaint class, macro-F1, AUC, ECE. Urgency (rows with ``urgency_level``):
AUC of the score for level ≥ 2 against < 2, recall of level 3 at predicted level ≥ 2, the share of
level-0 items predicted ≥ 2, exact-level accuracy and the level confusion matrix.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from classifiers.data import Example
from pipeline.ports import Classifier
from pipeline.records import SENTIMENTS, Prediction, TextItem

logger = logging.getLogger(__name__)

BINS = 10


def ece(confidence: Sequence[float], correct: Sequence[bool], bins: int = BINS) -> float:
    """Expected calibration error: mean |accuracy - confidence| over equal-width bins."""
    total = len(confidence)
    if not total:
        return 0.0
    error = 0.0
    for b in range(bins):
        low, high = b / bins, (b + 1) / bins
        members = [
            i for i, c in enumerate(confidence) if low <= c < high or (b == bins - 1 and c == 1.0)
        ]
        if members:
            accuracy = sum(correct[i] for i in members) / len(members)
            mean_conf = sum(confidence[i] for i in members) / len(members)
            error += len(members) / total * abs(accuracy - mean_conf)
    return round(error, 4)


def _sentiment_metrics(gold: list[int], predictions: list[Prediction]) -> dict[str, Any]:
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, recall_score

    predicted = [SENTIMENTS.index(p.sentiment) for p in predictions]
    confidence = [max(p.sentiment_scores.values()) for p in predictions]
    labels = list(range(len(SENTIMENTS)))
    return {
        "n": len(gold),
        "accuracy": round(float(accuracy_score(gold, predicted)), 4),
        "macro_f1": round(float(f1_score(gold, predicted, average="macro", labels=labels)), 4),
        "macro_recall": round(
            float(recall_score(gold, predicted, average="macro", labels=labels, zero_division=0)), 4
        ),
        "confusion": confusion_matrix(gold, predicted, labels=labels).tolist(),
        "ece": ece(confidence, [g == p for g, p in zip(gold, predicted, strict=True)]),
    }


def _auc(gold: list[int], scores: list[float]) -> float | None:
    from sklearn.metrics import roc_auc_score

    if len(set(gold)) < 2:
        return None
    return round(float(roc_auc_score(gold, scores)), 4)


def _complaint_metrics(
    gold: list[int], predictions: list[Prediction], threshold: float
) -> dict[str, Any]:
    from sklearn.metrics import f1_score

    scores = [p.complaint for p in predictions]
    predicted = [int(s >= threshold) for s in scores]
    confidence = [max(s, 1 - s) for s in scores]
    return {
        "n": len(gold),
        "f1": round(float(f1_score(gold, predicted, zero_division=0)), 4),
        "macro_f1": round(float(f1_score(gold, predicted, average="macro", zero_division=0)), 4),
        "auc": _auc(gold, scores),
        "ece": ece(confidence, [g == p for g, p in zip(gold, predicted, strict=True)]),
    }


def _urgency_metrics(gold: list[int], predictions: list[Prediction]) -> dict[str, Any]:
    from sklearn.metrics import confusion_matrix

    levels = [p.urgency.level for p in predictions]
    high = [int(g >= 2) for g in gold]
    critical = [lv for g, lv in zip(gold, levels, strict=True) if g == 3]
    calm = [lv for g, lv in zip(gold, levels, strict=True) if g == 0]
    return {
        "n": len(gold),
        "auc_high": _auc(high, [p.urgency.score for p in predictions]),
        "level3_at_2plus": round(sum(lv >= 2 for lv in critical) / len(critical), 4)
        if critical
        else None,
        "level0_at_2plus": round(sum(lv >= 2 for lv in calm) / len(calm), 4) if calm else None,
        "exact": round(sum(g == lv for g, lv in zip(gold, levels, strict=True)) / len(gold), 4),
        "confusion": confusion_matrix(gold, levels, labels=[0, 1, 2, 3]).tolist(),
    }


def _items(examples: Sequence[Example]) -> list[TextItem]:
    return [
        TextItem(
            text=e.text,
            lang=e.lang,
            platform=e.platform,
            author_followers=e.author_followers,
            likes=e.likes,
            replies=e.replies,
            shares=e.shares,
            prior_contacts=e.prior_contacts,
        )
        for e in examples
    ]


def _group(examples: Sequence[Example], predictions: list[Prediction], threshold: float) -> Any:
    metrics: dict[str, Any] = {"n": len(examples)}
    s = [i for i, e in enumerate(examples) if e.sentiment is not None]
    if s:
        metrics["sentiment"] = _sentiment_metrics(
            [int(examples[i].sentiment or 0) for i in s], [predictions[i] for i in s]
        )
    c = [i for i, e in enumerate(examples) if e.complaint is not None]
    if c:
        metrics["complaint"] = _complaint_metrics(
            [int(examples[i].complaint or 0) for i in c], [predictions[i] for i in c], threshold
        )
    u = [i for i, e in enumerate(examples) if e.urgency_level is not None]
    if u:
        metrics["urgency"] = _urgency_metrics(
            [int(examples[i].urgency_level or 0) for i in u], [predictions[i] for i in u]
        )
    return metrics


def evaluate(
    classifier: Classifier, examples: Sequence[Example], *, batch_size: int = 256
) -> dict[str, Any]:
    """Metrics over all examples and per language (the row's ``lang``, else the detected one)."""
    predictions: list[Prediction] = []
    items = _items(examples)
    for start in range(0, len(items), batch_size):
        predictions.extend(classifier.predict(items[start : start + batch_size]))
    threshold = float(getattr(classifier, "complaint_threshold", 0.5))
    result: dict[str, Any] = {
        "model": classifier.version,
        "all": _group(examples, predictions, threshold),
    }
    langs = [e.lang or p.lang for e, p in zip(examples, predictions, strict=True)]
    per_lang: dict[str, Any] = {}
    for lang in sorted(set(langs)):
        index = [i for i, x in enumerate(langs) if x == lang]
        per_lang[lang] = _group(
            [examples[i] for i in index], [predictions[i] for i in index], threshold
        )
    result["by_language"] = per_lang
    macro = [
        m["sentiment"]["macro_f1"] for m in per_lang.values() if "sentiment" in m and m["n"] >= 50
    ]
    if len(macro) > 1:
        result["mean_language_macro_f1"] = round(sum(macro) / len(macro), 4)
    return result
