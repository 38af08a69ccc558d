"""The learned risk head: how urgent a mention is, and which taxonomy categories it is.

Logistic regressions over three views of the text, fitted on the labelled risk set
(``classifiers/riskset/``): one for "flag now" (labelled level ≥ 2), one for "critical" (level 3)
and one per category of docs/risk-taxonomy.md. The views:

- the fine-tuned encoder's mean-pooled vector (what the sentiment and complaint heads read),
  L2-normalised and scaled;
- hashed char 2–5 and word 1–2-gram TF-IDF (the n-gram view that sees Spanish morphology the
  English WordPiece vocabulary splits apart);
- the urgency lexicons' hits, one column per signal (lexicons are features here, not the detector).

The level comes from the two level outputs: "flag now" at or above the ``flag`` threshold sets
level 2, and "critical" at or above ``critical`` on top of it level 3; both are chosen on held-out
folds for critical recall (``classifiers/riskeval.py``). Their probabilities map onto the urgency
score so that a flagged text lands in its level's band of ``LEVEL_CUTS``. The categories name why:
each at or above ``found`` is a reason (when a text is flagged and none reaches it, its most likely
category is named).

A brand's own categories (``[[model.risk_categories]]``: key, level, examples) are recognised by
cosine similarity of the same pooled vector to their examples: no retraining.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from classifiers.charngram import N_FEATURES, _Head, kept_idf, tfidf
from classifiers.taxonomy import CATEGORIES
from classifiers.urgency import LEVEL_CUTS, SIGNALS, RiskView
from pipeline.errors import ClassifierError

logger = logging.getLogger(__name__)

FILE = "risk.safetensors"
FORMAT = "escucha-risk-1"
SIGNAL_REASONS: tuple[str, ...] = tuple(signal.reason for signal in SIGNALS)
URGENT, CRITICAL = "@urgent", "@critical"  # the two level outputs, after the categories


@dataclass(frozen=True)
class Features:
    """The three views of a batch of texts."""

    pooled: Any  # (n, hidden) float32
    counts: Any  # (n, 2**20) CSR n-gram counts
    lexicon: Any  # (n, len(SIGNALS)) float32, 1 where a signal counted

    def __len__(self) -> int:
        return int(self.pooled.shape[0])

    def rows(self, index: Any) -> Features:
        return Features(self.pooled[index], self.counts[index], self.lexicon[index])


def lexicon_matrix(found: Sequence[Sequence[str]]) -> Any:
    """One row per text: 1.0 in the column of each lexicon reason found in it."""
    import numpy as np

    column = {reason: i for i, reason in enumerate(SIGNAL_REASONS)}
    matrix = np.zeros((len(found), len(SIGNAL_REASONS)), dtype=np.float32)
    for row, reasons in enumerate(found):
        for reason in reasons:
            if reason in column:
                matrix[row, column[reason]] = 1.0
    return matrix


def _unit(pooled: Any) -> Any:
    import numpy as np

    pooled = np.asarray(pooled, dtype=np.float32)
    norm = np.linalg.norm(pooled, axis=1, keepdims=True)
    return pooled / np.maximum(norm, 1e-6)


def level_score(urgent: float, critical: float, flag: float, cut: float) -> float:
    """The level outputs on the urgency scale: under ``flag`` below the level-2 cut, then the
    level-2 band, and the level-3 band once ``critical`` reaches ``cut``."""
    _, high, top = LEVEL_CUTS
    if urgent < flag:
        return high * urgent / flag
    if critical < cut:
        return high + (top - high) * 0.999 * (urgent - flag) / max(1.0 - flag, 1e-9)
    return top + (1.0 - top) * (critical - cut) / max(1.0 - cut, 1e-9)


@dataclass
class RiskHead:
    """Logistic regressions over the pooled vector, n-gram TF-IDF and lexicon hits.

    Output rows: one per category of ``keys``, then URGENT and CRITICAL.
    """

    keys: tuple[str, ...]
    levels: tuple[int, ...]
    pooled_coef: Any  # (K + 2, hidden)
    lexicon_coef: Any  # (K + 2, len(SIGNALS))
    ngram: _Head  # idf and (K + 2, k) weights over the kept n-gram columns; intercept (K + 2,)
    pooled_scale: float = 1.0
    flag: float = 0.5
    critical: float = 0.5
    found: float = 0.5
    record: dict[str, Any] = field(default_factory=dict)

    def logits(self, features: Features) -> Any:
        import numpy as np

        x = _unit(features.pooled) * self.pooled_scale
        out = self.ngram.logits(features.counts)  # includes the intercept
        out = out + x.astype(np.float64) @ self.pooled_coef.T.astype(np.float64)
        return out + features.lexicon.astype(np.float64) @ self.lexicon_coef.T.astype(np.float64)

    def probabilities(self, features: Features) -> Any:
        """(n, K + 2) probability of each category, then of "flag now" and "critical"."""
        import numpy as np

        if len(features) == 0:
            return np.zeros((0, len(self.keys) + 2), dtype=np.float32)
        return (1.0 / (1.0 + np.exp(-self.logits(features)))).astype(np.float32)

    def views(self, probabilities: Any) -> list[RiskView]:
        """One RiskView per row of ``probabilities``."""
        return views(probabilities, self.keys, self.flag, self.critical, self.found)

    # ---- storage -------------------------------------------------------------------------
    def save(self, folder: Path) -> None:
        import numpy as np
        from safetensors.numpy import save_file

        arrays: dict[str, Any] = {
            "pooled_coef": np.ascontiguousarray(self.pooled_coef, dtype=np.float32),
            "lexicon_coef": np.ascontiguousarray(self.lexicon_coef, dtype=np.float32),
            "ngram.columns": np.ascontiguousarray(self.ngram.columns, dtype=np.int32),
            "ngram.idf": np.ascontiguousarray(self.ngram.idf, dtype=np.float16),
            "ngram.coef": np.ascontiguousarray(self.ngram.coef, dtype=np.float16),
            "intercept": np.ascontiguousarray(self.ngram.intercept, dtype=np.float32),
        }
        meta = {
            "format": FORMAT,
            "keys": json.dumps(list(self.keys)),
            "levels": json.dumps(list(self.levels)),
            "signals": json.dumps(list(SIGNAL_REASONS)),
            "pooled_scale": str(self.pooled_scale),
            "flag": str(self.flag),
            "critical": str(self.critical),
            "found": str(self.found),
            "record": json.dumps(self.record, ensure_ascii=False),
        }
        partial = folder / (FILE + ".partial")
        save_file(arrays, str(partial), metadata=meta)
        partial.replace(folder / FILE)

    @classmethod
    def load(cls, folder: Path) -> RiskHead | None:
        """The stored head, or ``None`` where the folder has none."""
        import numpy as np
        from safetensors import SafetensorError, safe_open
        from safetensors.numpy import load_file

        path = folder / FILE
        if not path.exists():
            return None
        try:
            with safe_open(str(path), framework="np") as handle:
                meta = handle.metadata() or {}
            if meta.get("format") != FORMAT:
                raise ValueError(f"format {meta.get('format')!r}, expected {FORMAT!r}")
            arrays = load_file(str(path))
            keys = tuple(json.loads(meta["keys"]))
            signals = tuple(json.loads(meta["signals"]))
            lexicon_coef = arrays["lexicon_coef"]
            if signals != SIGNAL_REASONS:  # the lexicons changed since training: match by reason
                index = {reason: i for i, reason in enumerate(signals)}
                aligned = np.zeros((lexicon_coef.shape[0], len(SIGNAL_REASONS)), dtype=np.float32)
                for j, reason in enumerate(SIGNAL_REASONS):
                    if reason in index:
                        aligned[:, j] = lexicon_coef[:, index[reason]]
                lexicon_coef = aligned
            ngram = _Head(
                columns=arrays["ngram.columns"].astype(np.int64),
                idf=arrays["ngram.idf"].astype(np.float32),
                coef=arrays["ngram.coef"].astype(np.float32),
                intercept=arrays["intercept"].astype(np.float32),
            )
            if arrays["pooled_coef"].shape[0] != len(keys) + 2:
                raise ValueError("the stored outputs do not match its categories")
            return cls(
                keys=keys,
                levels=tuple(int(v) for v in json.loads(meta["levels"])),
                pooled_coef=arrays["pooled_coef"].astype(np.float32),
                lexicon_coef=lexicon_coef.astype(np.float32),
                ngram=ngram,
                pooled_scale=float(meta["pooled_scale"]),
                flag=float(meta["flag"]),
                critical=float(meta["critical"]),
                found=float(meta["found"]),
                record=json.loads(meta.get("record", "{}")),
            )
        except (KeyError, ValueError, OSError, SafetensorError) as exc:
            raise ClassifierError(
                f"cannot read the risk head {path} ({exc})",
                hint="retrain it with `escucha train-risk`, or remove the file to run without it",
            ) from exc


def views(
    probabilities: Any, keys: Sequence[str], flag: float, critical: float, found: float = 0.5
) -> list[RiskView]:
    """RiskViews for rows of (categories…, urgent, critical) probabilities, given thresholds."""
    out: list[RiskView] = []
    n = len(keys)
    for row in probabilities:
        urgent, crit = float(row[n]), float(row[n + 1])
        level = 0 if urgent < flag else 3 if crit >= critical else 2
        named = sorted(
            ((keys[k], round(float(row[k]), 3)) for k in range(n) if row[k] >= found),
            key=lambda pair: -pair[1],
        )
        if level and not named:
            best = max(range(n), key=lambda k: float(row[k]))
            named = [(keys[best], round(float(row[best]), 3))]
        out.append(
            RiskView(
                score=level_score(urgent, crit, flag, critical), found=tuple(named), level=level
            )
        )
    return out


def targets_of(categories: Any, levels: Sequence[int]) -> Any:
    """(n, K + 2) 0/1 targets: the categories (n, K), then level ≥ 2 and level 3."""
    import numpy as np

    levels_array = np.asarray(levels)
    return np.hstack(
        [
            np.asarray(categories, dtype=np.int8),
            (levels_array >= 2).astype(np.int8)[:, None],
            (levels_array == 3).astype(np.int8)[:, None],
        ]
    )


def fit(
    features: Features,
    targets: Any,
    *,
    keys: Sequence[str] = tuple(CATEGORIES),
    c: float = 16.0,
    pooled_scale: float = 1.0,
    lexicon_scale: float = 1.0,
) -> RiskHead:
    """One logistic regression per output on ``targets`` (n, K + 2) of 0/1 (``targets_of``)."""
    import numpy as np
    import scipy.sparse as sp
    from sklearn.linear_model import LogisticRegression

    targets = np.asarray(targets)
    if targets.shape[1] != len(keys) + 2:
        raise ValueError(f"targets need {len(keys) + 2} columns (categories, urgent, critical)")
    columns, idf = kept_idf(features.counts)
    ngrams = tfidf(features.counts, idf)[:, columns]
    pooled = _unit(features.pooled) * pooled_scale
    lexicon = np.asarray(features.lexicon, dtype=np.float32) * lexicon_scale
    x = sp.hstack([sp.csr_matrix(pooled), ngrams, sp.csr_matrix(lexicon)]).tocsr()
    hidden, n_signals = pooled.shape[1], lexicon.shape[1]
    n_keys = len(keys) + 2
    pooled_coef = np.zeros((n_keys, hidden), dtype=np.float32)
    ngram_coef = np.zeros((n_keys, len(columns)), dtype=np.float32)
    lexicon_coef = np.zeros((n_keys, n_signals), dtype=np.float32)
    intercept = np.full(n_keys, -8.0, dtype=np.float32)  # a category never seen: never found
    for k in range(n_keys):
        y = targets[:, k]
        if y.min() == y.max():
            continue
        clf = LogisticRegression(C=c, max_iter=3000, solver="liblinear")
        clf.fit(x, y)
        coef = clf.coef_[0]
        pooled_coef[k] = coef[:hidden]
        ngram_coef[k] = coef[hidden : hidden + len(columns)]
        lexicon_coef[k] = coef[hidden + len(columns) :] * lexicon_scale
        intercept[k] = clf.intercept_[0]
    head = _Head(
        columns=columns.astype(np.int64), idf=idf[columns], coef=ngram_coef, intercept=intercept
    )
    assert head.columns.max(initial=0) < N_FEATURES
    return RiskHead(
        keys=tuple(keys),
        levels=tuple(CATEGORIES.get(k, 2) for k in keys),
        pooled_coef=pooled_coef * pooled_scale,
        lexicon_coef=lexicon_coef,
        ngram=head,
        pooled_scale=1.0,
    )


@dataclass(frozen=True)
class Prototypes:
    """A brand's own categories, recognised by cosine similarity to their examples' vectors."""

    keys: tuple[str, ...]
    levels: tuple[int, ...]
    similarity: tuple[float, ...]
    vectors: Any  # (examples, hidden), unit length
    owner: Any  # (examples,) index into ``keys``

    @classmethod
    def build(cls, categories: Sequence[Any], embed: Any) -> Prototypes | None:
        """From ``[[model.risk_categories]]`` settings; ``embed(texts)`` gives pooled vectors."""
        import numpy as np

        if not categories:
            return None
        clash = [c.key for c in categories if c.key in CATEGORIES]
        if clash:
            raise ClassifierError(
                f"model.risk_categories: {', '.join(clash)} is a built-in category",
                hint="give your own category another key; the built-in ones are always on",
            )
        texts = [example for c in categories for example in c.examples]
        owner = np.array([i for i, c in enumerate(categories) for _ in c.examples])
        return cls(
            keys=tuple(c.key for c in categories),
            levels=tuple(int(c.level) for c in categories),
            similarity=tuple(float(c.similarity) for c in categories),
            vectors=_unit(embed(texts)),
            owner=owner,
        )

    def scores(self, pooled: Any) -> Any:
        """(n, categories): each text's highest cosine similarity to each category's examples."""
        import numpy as np

        sims = _unit(pooled) @ self.vectors.T
        out = np.full((sims.shape[0], len(self.keys)), -1.0, dtype=np.float32)
        for k in range(len(self.keys)):
            out[:, k] = sims[:, self.owner == k].max(axis=1)
        return out

    def merge(self, views_in: Sequence[RiskView | None], pooled: Any) -> list[RiskView]:
        """``views_in`` with the own categories each text reaches added (level and reason)."""
        scores = self.scores(pooled)
        out = []
        for view, row in zip(views_in, scores, strict=True):
            view = view or RiskView(0.0)
            found, level, score = list(view.found), view.level, view.score
            for k, key in enumerate(self.keys):
                if row[k] >= self.similarity[k]:
                    found.append((key, round(float(row[k]), 3)))
                    level = max(level, self.levels[k])
                    score = max(score, LEVEL_CUTS[self.levels[k] - 1])
            out.append(RiskView(score=score, found=tuple(found), level=level))
        return out
