"""Honest figures for the risk head: nested cross-validation by sector and by writer.

Every row of the risk set is scored by a head that never saw its sector (leave-sector-out) or its
writer (leave-writer-out). Inside each outer fold the thresholds are chosen on the training part
alone (an inner split by the same grouping), so neither the head nor its thresholds saw the rows
they are scored on. The figures compare the model with the head against the lexicons alone on the
same rows: critical recall at level ≥ 2, false alarms, urgency AUC per language, recall per
category, and how often "angry but not urgent" is taken for urgent.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from classifiers import risk
from classifiers.taxonomy import KEYS, RiskRow
from classifiers.urgency import RiskView, assess
from pipeline.records import TextItem

logger = logging.getLogger(__name__)

CRITICAL_RECALL = 0.95  # the flag threshold is the highest that keeps this on training folds
FLAG_GRID = tuple(round(0.02 * i, 2) for i in range(1, 46))  # 0.02 … 0.90
INNER_FOLDS = 3


@dataclass(frozen=True)
class Prepared:
    """The risk rows through the shipped model once: what every fold reuses."""

    rows: list[RiskRow]
    features: risk.Features
    analysis: Any  # classifiers.model.Analysis
    targets: Any  # (n, K + 2) 0/1: categories, level ≥ 2, level 3


def prepare(classifier: Any, rows: Sequence[RiskRow], *, batch: int = 256) -> Prepared:
    """Run ``rows`` through ``classifier`` (a TransformerClassifier) keeping the head's views."""
    import numpy as np
    import scipy.sparse as sp

    from classifiers.model import Analysis

    parts = []
    for start in range(0, len(rows), batch):
        items = [TextItem(text=r.text, lang=r.lang) for r in rows[start : start + batch]]
        parts.append(classifier.analyse(items, keep_counts=True))
    merged = Analysis(
        items=[i for p in parts for i in p.items],
        langs=[x for p in parts for x in p.langs],
        raw={
            "pooled": np.vstack([p.raw["pooled"] for p in parts]),
            "counts": sp.vstack([p.raw["counts"] for p in parts]).tocsr(),
        },
        folded=[x for p in parts for x in p.folded],
        signals=[x for p in parts for x in p.signals],
        sentiment=[x for p in parts for x in p.sentiment],
        views=[x for p in parts for x in p.views],
    )
    categories = [[int(k in r.categories) for k in KEYS] for r in rows]
    targets = risk.targets_of(categories, [r.urgency_level for r in rows])
    return Prepared(list(rows), merged.features(), merged, targets)


def groups_by(rows: Sequence[RiskRow], split: str, folds: int, seed: int = 13) -> list[int]:
    """Fold number per row: by writer (one fold each) or by sector (dealt into ``folds``)."""
    if split == "writer":
        writers = sorted({r.writer for r in rows})
        return [writers.index(r.writer) for r in rows]
    sectors = sorted({r.sector for r in rows})
    random.Random(seed).shuffle(sectors)
    fold_of = {sector: i % folds for i, sector in enumerate(sectors)}
    return [fold_of[r.sector] for r in rows]


def urgency_levels(
    prepared: Prepared,
    index: Sequence[int],
    probabilities: Any,
    flag: float,
    critical: float,
    *,
    lexicons: bool = True,
) -> tuple[list[int], list[float], list[RiskView]]:
    """Urgency levels and scores of rows ``index`` given the head's probabilities for them."""
    views = risk.views(probabilities, KEYS, flag, critical)
    out_levels, out_scores = [], []
    a = prepared.analysis
    for row, view in zip(index, views, strict=True):
        urgency = assess(
            a.items[row],
            a.views[row],
            folded=a.folded[row],
            signals=a.signals[row],
            risk=view,
            lexicons=lexicons,
        )
        out_levels.append(urgency.level)
        out_scores.append(urgency.score)
    return out_levels, out_scores, views


def baseline_levels(prepared: Prepared) -> tuple[list[int], list[float]]:
    """Urgency from the lexicons and the model view alone (no risk head): today's path."""
    a = prepared.analysis
    found = [
        assess(a.items[i], a.views[i], folded=a.folded[i], signals=a.signals[i])
        for i in range(len(prepared.rows))
    ]
    return [u.level for u in found], [u.score for u in found]


def choose_thresholds(
    prepared: Prepared, index: Sequence[int], probabilities: Any, *, lexicons: bool = True
) -> tuple[float, float]:
    """``flag``: the highest keeping critical recall ≥ CRITICAL_RECALL at level ≥ 2 (the lowest
    tried if none does); ``critical``: the one at or above it with the best level-3 F1."""
    gold = [prepared.rows[i].urgency_level for i in index]
    flag = FLAG_GRID[0]
    for candidate in FLAG_GRID:
        levels, _, _ = urgency_levels(
            prepared, index, probabilities, candidate, 1.0, lexicons=lexicons
        )
        critical = [lv for g, lv in zip(gold, levels, strict=True) if g == 3]
        if critical and sum(lv >= 2 for lv in critical) / len(critical) >= CRITICAL_RECALL:
            flag = candidate
    best, best_f1 = 1.0, -1.0
    for candidate in [c for c in FLAG_GRID if c >= flag] + [0.95]:
        levels, _, _ = urgency_levels(
            prepared, index, probabilities, flag, candidate, lexicons=lexicons
        )
        tp = sum(g == 3 and lv == 3 for g, lv in zip(gold, levels, strict=True))
        fp = sum(g != 3 and lv == 3 for g, lv in zip(gold, levels, strict=True))
        fn = sum(g == 3 and lv != 3 for g, lv in zip(gold, levels, strict=True))
        f1 = 2 * tp / max(2 * tp + fp + fn, 1)
        if f1 > best_f1:
            best, best_f1 = candidate, f1
    return flag, best


def out_of_fold(
    prepared: Prepared,
    groups: Sequence[int],
    fit: Callable[[risk.Features, Any], risk.RiskHead],
    *,
    lexicons: bool = True,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Every row scored by a head (and thresholds) fitted without its group."""
    import numpy as np

    n = len(prepared.rows)
    probabilities = np.zeros((n, len(KEYS) + 2), dtype=np.float32)
    flags = np.zeros(n, dtype=np.float32)
    criticals = np.zeros(n, dtype=np.float32)
    group_array = np.asarray(groups)
    for fold in sorted(set(groups)):
        test = np.flatnonzero(group_array == fold)
        train = np.flatnonzero(group_array != fold)
        # thresholds from an inner split of the training part, by the same grouping
        inner_groups = sorted(set(group_array[train].tolist()))
        if len(inner_groups) < 2:
            raise ValueError("cross-validation needs rows from at least three groups")
        inner_folds = min(INNER_FOLDS, len(inner_groups))
        inner_of = {g: i % inner_folds for i, g in enumerate(inner_groups)}
        inner = np.array([inner_of[int(g)] for g in group_array[train]])
        inner_p = np.zeros((len(train), len(KEYS) + 2), dtype=np.float32)
        for k in range(inner_folds):
            fit_rows, held = train[inner != k], np.flatnonzero(inner == k)
            head = fit(prepared.features.rows(fit_rows), prepared.targets[fit_rows])
            inner_p[held] = head.probabilities(prepared.features.rows(train[held]))
        flag, critical = choose_thresholds(prepared, train.tolist(), inner_p, lexicons=lexicons)
        head = fit(prepared.features.rows(train), prepared.targets[train])
        probabilities[test] = head.probabilities(prepared.features.rows(test))
        flags[test], criticals[test] = flag, critical
        if progress:
            progress(f"fold {fold}: {len(test)} rows, flag {flag:.2f}, critical {critical:.2f}")
    levels: list[int] = [0] * n
    scores: list[float] = [0.0] * n
    found: list[RiskView] = [RiskView(0.0)] * n
    for fold in sorted(set(groups)):
        test = np.flatnonzero(group_array == fold)
        lv, sc, views = urgency_levels(
            prepared,
            test.tolist(),
            probabilities[test],
            float(flags[test[0]]),
            float(criticals[test[0]]),
            lexicons=lexicons,
        )
        for i, row in enumerate(test):
            levels[row], scores[row], found[row] = lv[i], sc[i], views[i]
    return {
        "levels": levels,
        "scores": scores,
        "views": found,
        "probabilities": probabilities,
        "flags": sorted(set(flags.round(2).tolist())),
        "criticals": sorted(set(criticals.round(2).tolist())),
    }


def _auc(gold: Sequence[int], scores: Sequence[float]) -> float | None:
    from sklearn.metrics import roc_auc_score

    if len(set(gold)) < 2:
        return None
    return round(float(roc_auc_score(gold, scores)), 4)


def urgency_metrics(
    rows: Sequence[RiskRow], levels: Sequence[int], scores: Sequence[float]
) -> dict[str, Any]:
    """The issue's measures on ``rows``: critical recall, false alarms, AUC, exact level."""

    def share(selected: list[int]) -> float | None:
        return round(sum(selected) / len(selected), 4) if selected else None

    out: dict[str, Any] = {"n": len(rows)}
    for lang in ("all", "es", "en"):
        index = [i for i, r in enumerate(rows) if lang == "all" or r.lang == lang]
        gold = [rows[i].urgency_level for i in index]
        lv = [levels[i] for i in index]
        out[lang] = {
            "n": len(index),
            "critical_at_2plus": share(
                [int(x >= 2) for g, x in zip(gold, lv, strict=True) if g == 3]
            ),
            "none_at_2plus": share([int(x >= 2) for g, x in zip(gold, lv, strict=True) if g == 0]),
            "calm_at_2plus": share([int(x >= 2) for g, x in zip(gold, lv, strict=True) if g <= 1]),
            "auc_high": _auc([int(g >= 2) for g in gold], [scores[i] for i in index]),
            "exact": share([int(g == x) for g, x in zip(gold, lv, strict=True)]),
        }
    # angry but not urgent: negative complaints at level ≤ 1 taken for urgent (≥ 2), and the reverse
    angry = [i for i, r in enumerate(rows) if r.complaint and r.sentiment == 0]
    out["angry"] = {
        "n": len(angry),
        "not_urgent_flagged": share(
            [int(levels[i] >= 2) for i in angry if rows[i].urgency_level <= 1]
        ),
        "urgent_missed": share([int(levels[i] < 2) for i in angry if rows[i].urgency_level >= 2]),
    }
    return out


def category_metrics(
    rows: Sequence[RiskRow], views: Sequence[RiskView], probabilities: Any
) -> dict[str, Any]:
    """Per category: recall and precision of "found", AUC of its probability, hard-negative hits."""
    out: dict[str, Any] = {}
    for k, key in enumerate(KEYS):
        gold = [int(key in r.categories) for r in rows]
        found = [int(any(name == key for name, _ in v.found)) for v in views]
        tp = sum(g and f for g, f in zip(gold, found, strict=True))
        negatives = [i for i, r in enumerate(rows) if key in r.hard_negative_of]
        out[key] = {
            "n": sum(gold),
            "recall": round(tp / max(sum(gold), 1), 4),
            "precision": round(tp / max(sum(found), 1), 4),
            "auc": _auc(gold, [float(p[k]) for p in probabilities]),
            "hard_negatives": len(negatives),
            "hard_negatives_found": round(
                sum(found[i] for i in negatives) / max(len(negatives), 1), 4
            ),
        }
    return out


def calibration(rows: Sequence[RiskRow], probabilities: Any) -> dict[str, float]:
    """ECE of the category probabilities (every row × category), per language."""
    from classifiers.evaluate import ece

    out = {}
    for lang in ("es", "en"):
        conf, correct = [], []
        for r, p in zip(rows, probabilities, strict=True):
            if r.lang != lang:
                continue
            for k, key in enumerate(KEYS):
                q = float(p[k])
                conf.append(max(q, 1 - q))
                correct.append((q >= 0.5) == (key in r.categories))
        out[lang] = ece(conf, correct)
    return out


def heldout_report(classifier: Any, rows: Sequence[RiskRow]) -> dict[str, Any]:
    """The shipped model (its risk head, thresholds and urgency) on rows it never saw, against
    the lexicons alone on the same rows."""
    import numpy as np

    prepared = prepare(classifier, rows)
    base_levels, base_scores = baseline_levels(prepared)
    head = classifier.risk_head
    if head is None:
        return {"baseline": urgency_metrics(rows, base_levels, base_scores)}
    probabilities = head.probabilities(prepared.features)
    index = list(range(len(rows)))
    levels, scores, views = urgency_levels(
        prepared, index, probabilities, head.flag, head.critical, lexicons=classifier.risk_lexicons
    )
    return {
        "model": urgency_metrics(rows, levels, scores),
        "baseline": urgency_metrics(rows, base_levels, base_scores),
        "categories": category_metrics(rows, views, np.asarray(probabilities)),
        "ece": calibration(rows, probabilities),
        "thresholds": {"flag": head.flag, "critical": head.critical},
    }


def cross_validated(
    classifier: Any,
    rows: Sequence[RiskRow],
    *,
    c: float = 16.0,
    sector_folds: int = 6,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Nested leave-sector-out and leave-writer-out figures of the risk-head recipe on ``rows``
    (with the classifier's encoder as it is)."""
    import functools

    prepared = prepare(classifier, rows)
    fit = functools.partial(risk.fit, c=c)
    out: dict[str, Any] = {}
    for split in ("sector", "writer"):
        groups = groups_by(rows, split, sector_folds)
        oof = out_of_fold(prepared, groups, fit, lexicons=False, progress=progress)
        out[split] = {
            "urgency": urgency_metrics(rows, oof["levels"], oof["scores"]),
            "categories": category_metrics(rows, oof["views"], oof["probabilities"]),
            "flags": oof["flags"],
        }
    return out
