"""Temperature scaling: one scalar per output that makes scores mean what they say.

A temperature ``T`` rescales log-probabilities (sentiment) or a logit (complaint) before the
softmax/sigmoid: ``T > 1`` softens over-confident scores, ``T < 1`` sharpens timid ones. Labels
never change (the argmax and the order of complaint scores are kept); only the probabilities do.
``T`` is fitted by minimising the negative log-likelihood on labelled validation rows
(Guo et al., 2017, "On Calibration of Modern Neural Networks").
"""

from __future__ import annotations

from typing import Any

EPS = 1e-7
BOUNDS = (0.05, 20.0)


def scale_probs(probs: Any, temperature: float) -> Any:
    """Apply a temperature to rows of class probabilities (n, k); returns new rows."""
    import numpy as np

    if temperature == 1.0:
        return probs
    logits = np.log(np.clip(probs, EPS, 1.0)) / temperature
    logits -= logits.max(axis=1, keepdims=True)
    scaled = np.exp(logits)
    return (scaled / scaled.sum(axis=1, keepdims=True)).astype(probs.dtype)


def scale_binary(probs: Any, temperature: float) -> Any:
    """Apply a temperature to binary probabilities (n,) through their logit."""
    import numpy as np

    if temperature == 1.0:
        return probs
    p = np.clip(probs, EPS, 1 - EPS)
    logit = np.log(p) - np.log1p(-p)
    return (1.0 / (1.0 + np.exp(-logit / temperature))).astype(probs.dtype)


def _fit(nll: Any) -> float:
    from scipy.optimize import minimize_scalar

    result = minimize_scalar(nll, bounds=BOUNDS, method="bounded", options={"xatol": 1e-4})
    return float(result.x)


def fit_multiclass(probs: Any, gold: Any) -> float:
    """The temperature minimising the NLL of ``gold`` class indices under ``probs`` (n, k)."""
    import numpy as np

    rows = np.arange(len(gold))

    def nll(t: float) -> float:
        return float(-np.log(np.clip(scale_probs(probs, t)[rows, gold], EPS, 1.0)).mean())

    return _fit(nll)


def fit_binary(probs: Any, gold: Any) -> float:
    """The temperature minimising the NLL of 0/1 ``gold`` under binary ``probs`` (n,)."""
    import numpy as np

    y = np.asarray(gold, dtype=np.float64)

    def nll(t: float) -> float:
        p = np.clip(scale_binary(np.asarray(probs, dtype=np.float64), t), EPS, 1 - EPS)
        return float(-(y * np.log(p) + (1 - y) * np.log(1 - p)).mean())

    return _fit(nll)
