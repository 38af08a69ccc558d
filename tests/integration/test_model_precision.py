"""Every precision this CPU runs keeps the shipped model's labels: >= 99 % equal to fp32's.

Sentiment labels, complaint flags (at 0.5 and at the model's threshold) and urgency levels are
compared on the brand set, the model sample and the classify sample (547 texts), for the path
``auto`` picks and for bf16 where the CPU has native bf16 (AMX or AVX-512 BF16).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from classifiers import load_classifier
from classifiers.dispatch import AUTO_CANDIDATES, MIN_AGREEMENT, detect_cpu
from pipeline.records import Prediction, TextItem
from pipeline.settings import ModelSettings, load_settings

DATA = Path(__file__).resolve().parents[1] / "data"
FILES = ("brand_mentions.jsonl", "model_sample.jsonl", "classify_sample.jsonl")
CPU = detect_cpu()
needs_bf16 = pytest.mark.skipif(
    not CPU.native_bf16, reason=f"this CPU has no AMX or AVX-512 BF16 ({CPU.describe()})"
)


def _items() -> list[TextItem]:
    rows = [
        json.loads(line)
        for name in FILES
        for line in (DATA / name).read_text("utf-8").splitlines()
        if line
    ]
    return [
        TextItem(
            text=row["text"],
            lang=row.get("lang"),
            platform=row.get("platform"),
            rating=row.get("rating"),
            author_followers=row.get("author_followers"),
            likes=row.get("likes", 0),
            shares=row.get("shares", 0),
            prior_contacts=row.get("prior_contacts", 0),
        )
        for row in rows
    ]


ITEMS = _items()


def _load(precision: str) -> Any:
    return load_classifier(ModelSettings(precision=precision, threads=2))  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def fp32() -> tuple[Any, list[Prediction]]:
    classifier = _load("fp32")
    return classifier, classifier.predict(ITEMS)


def _agreement(got: list[Prediction], want: list[Prediction], cut: float) -> dict[str, float]:
    pairs = list(zip(got, want, strict=True))
    same = {
        "sentiment": sum(g.sentiment == w.sentiment for g, w in pairs),
        "complaint>=0.5": sum((g.complaint >= 0.5) == (w.complaint >= 0.5) for g, w in pairs),
        f"complaint>={cut}": sum((g.complaint >= cut) == (w.complaint >= cut) for g, w in pairs),
        "urgency": sum(g.urgency.level == w.urgency.level for g, w in pairs),
    }
    return {name: count / len(pairs) for name, count in same.items()}


def _assert_agrees(precision: str, fp32: tuple[Any, list[Prediction]]) -> Any:
    reference, want = fp32
    classifier = _load(precision)
    got = classifier.predict(ITEMS)
    shares = _agreement(got, want, reference.complaint_threshold)
    print(f"\n{classifier.precision} ({classifier.precision_reason}): {shares}")
    low = {name: share for name, share in shares.items() if share < MIN_AGREEMENT}
    assert not low, f"{classifier.precision} labels equal to fp32 below 99 %: {low}"
    return classifier


def test_auto_path_agrees_with_fp32(fp32: tuple[Any, list[Prediction]]) -> None:
    classifier = _assert_agrees("auto", fp32)
    assert classifier.precision in ("fp32", *AUTO_CANDIDATES)
    assert classifier.precision_reason.startswith(f"precision {classifier.precision}: ")
    assert set(classifier.cpu_flags) == CPU.flags
    if not CPU.native_bf16:
        assert classifier.precision == "fp32"
        assert "no AMX or AVX-512 BF16" in classifier.precision_reason


@needs_bf16
def test_bf16_agrees_with_fp32(fp32: tuple[Any, list[Prediction]]) -> None:
    classifier = _assert_agrees("bf16", fp32)
    assert classifier.precision == "bf16"


def test_auto_never_picks_int8() -> None:
    assert "int8" not in AUTO_CANDIDATES


def test_int8_runs_when_asked_for_in_the_environment(
    fp32: tuple[Any, list[Prediction]], tmp_path: Path
) -> None:
    """ESCUCHA_MODEL__PRECISION overrides the probe; int8 is opt-in, below the 99 % gate."""
    config = tmp_path / "escucha.toml"
    config.write_text("[model]\nthreads = 2\n", encoding="utf-8")
    settings = load_settings(config, {"ESCUCHA_MODEL__PRECISION": "int8"})
    classifier = load_classifier(settings.model)
    assert classifier.precision == "int8"  # type: ignore[attr-defined]
    assert classifier.precision_reason == "precision int8: set by model.precision"  # type: ignore[attr-defined]
    got = classifier.predict(ITEMS)
    shares = _agreement(got, fp32[1], fp32[0].complaint_threshold)
    print(f"\nint8 (opt-in): {shares}")
    assert len(got) == len(ITEMS)
    assert min(shares.values()) > 0.8  # the same model, coarser numbers: mostly the same labels
