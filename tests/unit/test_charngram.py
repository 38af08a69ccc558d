"""The per-language n-gram sentiment model: each language its own weights, a pooled fallback."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from classifiers import charngram
from classifiers.charngram import CharNgramModel
from pipeline.errors import ClassifierError

# "fatal" is praise in one made-up sample and a complaint in the other: only a model per
# language can learn both.
ES = [("el servicio es fatal", 0), ("todo normal hoy", 1), ("me encanta, genial", 2)]
EN = [("the service is fatal, I love it", 2), ("nothing new today", 1), ("awful, I hate it", 0)]


def _rows(seed: int) -> tuple[list[str], list[int], list[str]]:
    rng = np.random.default_rng(seed)
    texts, labels, langs = [], [], []
    for lang, rows in (("es", ES), ("en", EN)):
        for i in range(30):
            text, label = rows[int(rng.integers(len(rows)))]
            texts.append(f"{text} {i}")
            labels.append(label)
            langs.append(lang)
    return texts, labels, langs


@pytest.fixture
def model(monkeypatch: pytest.MonkeyPatch) -> CharNgramModel:
    monkeypatch.setattr(charngram, "MIN_ROWS_PER_LANGUAGE", 20)
    texts, labels, langs = _rows(0)
    return CharNgramModel.fit(texts, labels, langs, c=10.0)


def test_each_language_is_read_by_its_own_model(model: CharNgramModel) -> None:
    assert model.languages == ["en", "es"]
    probs = model.predict_proba(["fatal", "fatal"], ["es", "en"])
    assert probs.argmax(1).tolist() == [0, 2]  # negative in Spanish, positive in English
    assert np.allclose(probs.sum(1), 1.0, atol=1e-5)


def test_unknown_languages_fall_back_to_the_pooled_model(model: CharNgramModel) -> None:
    pooled = model.predict_proba(["me encanta, genial"], ["und"])
    assert pooled.shape == (1, 3)
    assert pooled.argmax() == 2
    assert model.predict_proba([], []).shape == (0, 3)


def test_save_and_load_give_the_same_scores(model: CharNgramModel, tmp_path: Path) -> None:
    model.save(tmp_path)
    loaded = CharNgramModel.load(tmp_path)
    assert loaded is not None
    texts = ["el servicio es fatal", "awful, I hate it", "hola"]
    langs = ["es", "en", "pt"]
    assert np.allclose(
        loaded.predict_proba(texts, langs), model.predict_proba(texts, langs), atol=2e-3
    )
    assert not list(tmp_path.glob("*.partial"))


def test_an_older_file_names_the_fix(tmp_path: Path) -> None:
    from safetensors.numpy import save_file

    save_file({"idf": np.ones(4, dtype=np.float16)}, str(tmp_path / charngram.FILE))
    with pytest.raises(ClassifierError, match="escucha train"):
        CharNgramModel.load(tmp_path)
