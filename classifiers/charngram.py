"""A character n-gram sentiment model (hashed TF-IDF + logistic regression) for non-English text.

The English WordPiece vocabulary of the encoder splits Spanish and other languages into many pieces;
character n-grams see their morphology directly. Its probabilities are blended with the
transformer's for non-English text. Stored as plain arrays in safetensors (no pickle).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

FILE = "charngram.safetensors"
N_FEATURES = 2**19
NGRAMS = (2, 5)


def _vectorizer() -> Any:
    from sklearn.feature_extraction.text import HashingVectorizer

    return HashingVectorizer(
        analyzer="char_wb",
        ngram_range=NGRAMS,
        n_features=N_FEATURES,
        alternate_sign=False,
        norm=None,
        lowercase=True,
        strip_accents=None,
    )


def _features(texts: Sequence[str], idf: Any) -> Any:
    import numpy as np
    from sklearn.preprocessing import normalize

    counts = _vectorizer().transform(list(texts))
    counts.data = np.log1p(counts.data)  # sublinear tf
    return normalize(counts.multiply(idf).tocsr())


@dataclass
class CharNgramModel:
    """Hashed char n-grams → idf weighting → multinomial logistic regression."""

    idf: Any  # (N_FEATURES,) float32
    coef: Any  # (3, N_FEATURES) float32
    intercept: Any  # (3,) float32

    @classmethod
    def fit(cls, texts: Sequence[str], labels: Sequence[int], *, c: float = 2.0) -> CharNgramModel:
        import numpy as np
        from sklearn.linear_model import LogisticRegression

        counts = _vectorizer().transform(list(texts))
        df = np.bincount(counts.indices, minlength=N_FEATURES)
        idf = (np.log((1 + len(texts)) / (1 + df)) + 1.0).astype(np.float32)
        features = _features(texts, idf)
        clf = LogisticRegression(C=c, max_iter=300)
        clf.fit(features, np.asarray(labels))
        return cls(
            idf=idf,
            coef=clf.coef_.astype(np.float32),
            intercept=clf.intercept_.astype(np.float32),
        )

    def predict_proba(self, texts: Sequence[str]) -> Any:
        """Probabilities (n, 3) in the order of ``SENTIMENTS``."""
        import numpy as np

        if not texts:
            return np.zeros((0, 3), dtype=np.float32)
        logits = _features(texts, self.idf) @ self.coef.T + self.intercept
        logits = np.asarray(logits, dtype=np.float64)
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        return (exp / exp.sum(axis=1, keepdims=True)).astype(np.float32)

    def save(self, folder: Path) -> None:
        import numpy as np
        from safetensors.numpy import save_file

        save_file(
            {
                # C order: scikit-learn's coef_ is Fortran-ordered, safetensors writes raw buffers
                "idf": np.ascontiguousarray(self.idf, dtype=np.float16),
                "coef": np.ascontiguousarray(self.coef, dtype=np.float16),
                "intercept": np.ascontiguousarray(self.intercept, dtype=np.float32),
            },
            str(folder / FILE),
        )

    @classmethod
    def load(cls, folder: Path) -> CharNgramModel | None:
        """The stored model, or ``None`` where the folder has none."""
        import numpy as np
        from safetensors.numpy import load_file

        path = folder / FILE
        if not path.exists():
            return None
        arrays = load_file(str(path))
        return cls(
            idf=arrays["idf"].astype(np.float32),
            coef=arrays["coef"].astype(np.float32),
            intercept=arrays["intercept"].astype(np.float32),
        )
