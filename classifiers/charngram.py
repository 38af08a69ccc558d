"""Char and word n-gram sentiment models (hashed TF-IDF + logistic regression), one per language.

The English WordPiece vocabulary of the encoder splits Spanish and other languages into many pieces;
character n-grams see their morphology directly and word n-grams their idioms. One model is fitted
per language that has enough training rows (each sees only its own language, so English does not
drown Spanish), plus a pooled model for every other language. Their probabilities are blended with
the transformer's. Stored as sparse arrays in safetensors (no pickle): only the hashed columns seen
at least twice in training carry weights.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

FILE = "charngram.safetensors"
N_FEATURES = 2**20
CHAR_NGRAMS = (2, 5)
WORD_NGRAMS = (1, 2)
MIN_DF = 2
MIN_ROWS_PER_LANGUAGE = 500
POOLED = "*"
WORD = r"(?u)\b\w+\b"  # single letters count too: "y", "o", "a"


def _vectorizers() -> tuple[Any, Any]:
    from sklearn.feature_extraction.text import HashingVectorizer

    common: dict[str, Any] = {
        "n_features": N_FEATURES,
        "alternate_sign": False,
        "norm": None,
        "lowercase": True,
    }
    chars = HashingVectorizer(analyzer="char_wb", ngram_range=CHAR_NGRAMS, **common)
    words = HashingVectorizer(
        analyzer="word", ngram_range=WORD_NGRAMS, token_pattern=WORD, **common
    )
    return chars, words


def _char_counts(texts: Sequence[str], chars: Any) -> Any:
    """``chars.transform(texts)``, computed once per distinct word of the batch.

    ``char_wb`` n-grams never cross whitespace, so a text's counts are the sum of its words'
    (lower-cased, split on whitespace: what the analyzer itself does). Each distinct word goes
    through the same vectorizer once and the rows are summed with one sparse product; the
    counts are integers, so the result equals the direct call exactly.
    """
    import numpy as np
    import scipy.sparse as sp

    vocabulary: dict[str, int] = {}
    columns: list[int] = []
    indptr = [0]
    for text in texts:
        for word in text.lower().split():
            columns.append(vocabulary.setdefault(word, len(vocabulary)))
        indptr.append(len(columns))
    if not vocabulary:
        return sp.csr_matrix((len(texts), N_FEATURES), dtype=np.float64)
    per_word = chars.transform(list(vocabulary))
    occurrences = sp.csr_matrix(
        (np.ones(len(columns)), np.asarray(columns, dtype=np.int64), np.asarray(indptr)),
        shape=(len(texts), len(vocabulary)),
    )
    counts = (occurrences @ per_word).tocsr()
    counts.sort_indices()
    return counts


def counts(texts: Sequence[str]) -> Any:
    """Hashed char (2–5, within word boundaries) plus word (1–2) n-gram counts, one CSR row each."""
    chars, words = _vectorizers()
    texts = list(texts)
    return (_char_counts(texts, chars) + words.transform(texts)).tocsr()


def _features(counts: Any, idf: Any) -> Any:
    import numpy as np
    from sklearn.preprocessing import normalize

    counts = counts.copy()
    counts.data = np.log1p(counts.data)  # sublinear tf
    return normalize(counts.multiply(idf).tocsr())


@dataclass
class _Head:
    """One language's model: idf and weights over the columns it kept."""

    columns: Any  # (k,) int32, sorted hashed column ids
    idf: Any  # (k,) float32
    coef: Any  # (outputs, k) float32: 3 sentiments, or one row per risk category
    intercept: Any  # (outputs,) float32
    _slot: Any = field(default=None, repr=False)  # hashed column -> index in ``columns`` or -1

    def prepare(self) -> None:
        import numpy as np

        slot = np.full(N_FEATURES, -1, dtype=np.int32)
        slot[self.columns] = np.arange(len(self.columns), dtype=np.int32)
        self._slot = slot

    def logits(self, counts: Any) -> Any:
        """``normalize(log1p(counts) * idf) @ coef.T + intercept`` over the kept columns only.

        Columns the head did not keep have idf 0, so they add nothing to the row norm or the
        product: gathering the kept entries once is the same sum with far less work than
        multiplying the 2**20-wide rows.
        """
        import numpy as np

        if self._slot is None:
            self.prepare()
        n = counts.shape[0]
        slot = self._slot[counts.indices]
        kept = slot >= 0
        row = np.repeat(np.arange(n), np.diff(counts.indptr))[kept]
        slot = slot[kept]
        x = np.log1p(counts.data[kept]) * self.idf[slot]  # float64, as the sparse path
        norm = np.sqrt(np.bincount(row, weights=x * x, minlength=n))
        outputs = self.coef.shape[0]
        out = np.empty((n, outputs), dtype=np.float64)
        for k in range(outputs):
            out[:, k] = np.bincount(row, weights=x * self.coef[k, slot], minlength=n)
        scaled = norm > 0
        out[scaled] /= norm[scaled, None]
        return out + self.intercept


def kept_idf(counts: Any) -> tuple[Any, Any]:
    """The columns seen in ``MIN_DF`` rows or more, and an idf over all columns (0 elsewhere)."""
    import numpy as np

    rows = counts.shape[0]
    df = np.bincount(counts.indices, minlength=N_FEATURES)
    columns = np.flatnonzero(df >= MIN_DF).astype(np.int32)
    idf = np.zeros(N_FEATURES, dtype=np.float32)
    idf[columns] = np.log((1 + rows) / (1 + df[columns])) + 1.0
    return columns, idf


def tfidf(counts: Any, idf: Any) -> Any:
    """Sublinear tf × idf, each row L2-normalised (the features every n-gram head reads)."""
    return _features(counts, idf)


def _fit_head(counts: Any, labels: Any, c: float) -> _Head:
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    columns, idf = kept_idf(counts)
    clf = LogisticRegression(C=c, max_iter=2000)
    clf.fit(_features(counts, idf)[:, columns], labels)  # other columns are all zero
    return _Head(
        columns=columns,
        idf=idf[columns],
        coef=np.ascontiguousarray(clf.coef_, dtype=np.float32),
        intercept=clf.intercept_.astype(np.float32),
    )


@dataclass
class CharNgramModel:
    """Per-language hashed n-gram TF-IDF and logistic regression, with a pooled fallback."""

    heads: dict[str, _Head]

    @property
    def languages(self) -> list[str]:
        return sorted(k for k in self.heads if k != POOLED)

    @classmethod
    def fit(
        cls,
        texts: Sequence[str],
        labels: Sequence[int],
        langs: Sequence[str] | None = None,
        *,
        c: float = 3.0,
    ) -> CharNgramModel:
        """A model per language with ``MIN_ROWS_PER_LANGUAGE`` rows or more, and a pooled one."""
        import numpy as np

        matrix = counts(texts)
        y = np.asarray(labels)
        heads = {POOLED: _fit_head(matrix, y, c)}
        codes = np.array([(lang or "") for lang in (langs or [""] * len(texts))])
        for lang in sorted(set(codes.tolist()) - {""}):
            mask = codes == lang
            if mask.sum() >= MIN_ROWS_PER_LANGUAGE and len(set(y[mask].tolist())) == 3:
                heads[lang] = _fit_head(matrix[mask], y[mask], c)
                logger.info("char n-gram model for %s on %d rows", lang, int(mask.sum()))
        return cls(heads=heads)

    def predict_proba(
        self, texts: Sequence[str], langs: Sequence[str] | None = None, *, matrix: Any = None
    ) -> Any:
        """Probabilities (n, 3) in ``SENTIMENTS`` order, each text by its language's model.

        ``matrix``: the texts' :func:`counts` where the caller already has them.
        """
        import numpy as np

        if not texts:
            return np.zeros((0, 3), dtype=np.float32)
        matrix = counts(texts) if matrix is None else matrix
        langs = list(langs) if langs is not None else [POOLED] * len(texts)
        codes = np.array([lang if lang in self.heads else POOLED for lang in langs])
        logits = np.zeros((len(texts), 3), dtype=np.float64)
        for key in set(codes.tolist()):
            rows = np.flatnonzero(codes == key)
            logits[rows] = self.heads[key].logits(matrix[rows])
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        return (exp / exp.sum(axis=1, keepdims=True)).astype(np.float32)

    def save(self, folder: Path) -> None:
        import numpy as np
        from safetensors.numpy import save_file

        arrays: dict[str, Any] = {}
        for key, head in self.heads.items():
            arrays[f"{key}.columns"] = np.ascontiguousarray(head.columns, dtype=np.int32)
            arrays[f"{key}.idf"] = np.ascontiguousarray(head.idf, dtype=np.float16)
            arrays[f"{key}.coef"] = np.ascontiguousarray(head.coef, dtype=np.float16)
            arrays[f"{key}.intercept"] = np.ascontiguousarray(head.intercept, dtype=np.float32)
        partial = folder / (FILE + ".partial")
        save_file(arrays, str(partial), metadata={"format": "escucha-charngram-2"})
        partial.replace(folder / FILE)

    @classmethod
    def load(cls, folder: Path) -> CharNgramModel | None:
        """The stored model, or ``None`` where the folder has none."""
        import numpy as np
        from safetensors.numpy import load_file

        from pipeline.errors import ClassifierError

        path = folder / FILE
        if not path.exists():
            return None
        arrays = load_file(str(path))
        keys = sorted({name.rsplit(".", 1)[0] for name in arrays})
        if POOLED not in keys:
            raise ClassifierError(
                f"{path} is an older char n-gram format this version cannot read",
                hint="retrain the model with `escucha train`",
            )
        return cls(
            heads={
                key: _Head(
                    columns=arrays[f"{key}.columns"].astype(np.int64),
                    idf=arrays[f"{key}.idf"].astype(np.float32),
                    coef=arrays[f"{key}.coef"].astype(np.float32),
                    intercept=arrays[f"{key}.intercept"].astype(np.float32),
                )
                for key in keys
            }
        )
