"""Temperature scaling: fitted temperatures undo known over- and under-confidence, labels stay."""

from __future__ import annotations

import numpy as np

from classifiers.calibration import fit_binary, fit_multiclass, scale_binary, scale_probs
from classifiers.evaluate import ece


def _softmax(logits: np.ndarray) -> np.ndarray:
    exp = np.exp(logits - logits.max(axis=1, keepdims=True))
    return exp / exp.sum(axis=1, keepdims=True)


def _sample(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Well-calibrated 3-class probabilities and labels drawn from them."""
    rng = np.random.default_rng(seed)
    probs = _softmax(rng.normal(0.0, 1.5, size=(n, 3)))
    gold = np.array([rng.choice(3, p=p) for p in probs])
    return probs, gold


def test_overconfident_scores_get_a_temperature_above_one_and_lower_ece() -> None:
    probs, gold = _sample(4000, seed=1)
    overconfident = scale_probs(probs, 0.5)  # what a model trained too long looks like
    temperature = fit_multiclass(overconfident, gold)
    assert 1.6 < temperature < 2.5  # recovers about 2, the inverse of the distortion
    fixed = scale_probs(overconfident, temperature)
    before = ece(overconfident.max(1).tolist(), (overconfident.argmax(1) == gold).tolist())
    after = ece(fixed.max(1).tolist(), (fixed.argmax(1) == gold).tolist())
    assert after < before / 2
    assert (fixed.argmax(1) == overconfident.argmax(1)).all()  # labels never change


def test_timid_binary_scores_are_sharpened_and_their_order_kept() -> None:
    rng = np.random.default_rng(2)
    logits = rng.normal(0.0, 2.0, size=3000)
    gold = rng.random(3000) < 1 / (1 + np.exp(-logits))
    timid = 1 / (1 + np.exp(-logits / 3))  # three times too unsure
    temperature = fit_binary(timid, gold)
    assert 0.25 < temperature < 0.45
    sharpened = scale_binary(timid, temperature)
    assert (np.argsort(sharpened) == np.argsort(timid)).all()


def test_temperature_one_is_the_identity() -> None:
    probs, _ = _sample(10, seed=3)
    assert scale_probs(probs, 1.0) is probs
    assert np.allclose(scale_probs(probs, 1.0 + 1e-12), probs, atol=1e-6)


def test_each_language_with_enough_rows_gets_its_own_temperature() -> None:
    from classifiers.train import MIN_CALIBRATION_ROWS, _fit_temperatures

    calibrated, gold_a = _sample(1500, seed=4)
    overconfident, gold_b = _sample(1500, seed=5)
    probs = np.vstack([calibrated, scale_probs(overconfident, 0.4)])
    gold = np.concatenate([gold_a, gold_b])
    few, _ = _sample(MIN_CALIBRATION_ROWS - 1, seed=6)
    probs = np.vstack([probs, few])
    gold = np.concatenate([gold, np.zeros(len(few), dtype=int)])
    langs = ["es"] * 1500 + ["pt"] * 1500 + ["it"] * len(few)
    temperatures: dict[str, object] = {}
    by_language: dict[str, float] = {}
    _fit_temperatures(probs, gold, langs, "non_english", temperatures, by_language)
    assert set(by_language) == {"es", "pt"}  # Italian has too few rows: the shared one serves it
    assert 0.85 < by_language["es"] < 1.2
    assert 2.0 < by_language["pt"] < 3.0
    assert "non_english" in temperatures
