"""Where the time goes outside the encoder: each step of ``predict`` per text, in ms.

2,000 texts (the three sample files repeated; text only, so every text goes through language
detection, as ``escucha classify`` on raw text) through the shipped model in fp32 on the threads
the tests use. Each step is timed alone, ``ESCUCHA_BENCH_REPEATS`` times (default 5), and the
median is printed, with the CPU flags; the language cache is emptied before each run, so only
repeats within the batch are spared. Figures only: no timed asserts (the machine is shared).
"""

from __future__ import annotations

import json
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from classifiers import language, load_classifier
from classifiers.complaint_cues import cue_score
from classifiers.dispatch import detect_cpu
from classifiers.intent import derive_intent
from classifiers.urgency import ModelView, assess
from pipeline.fold import fold
from pipeline.records import SENTIMENTS, TextItem
from pipeline.settings import ModelSettings

pytestmark = pytest.mark.bench

DATA = Path(__file__).resolve().parents[1] / "data"
N = int(os.environ.get("ESCUCHA_BENCH_TEXTS", "2000"))
REPEATS = int(os.environ.get("ESCUCHA_BENCH_REPEATS", "5"))


def _texts(n: int) -> list[str]:
    base: list[str] = []
    for name in ("classify_sample.jsonl", "brand_mentions.jsonl", "model_sample.jsonl"):
        for line in (DATA / name).read_text("utf-8").splitlines():
            if line.strip():
                base.append(json.loads(line)["text"])
    return [base[i % len(base)] for i in range(n)]


def _ms_per_text(
    step: Callable[[], object], n: int, *, before: Callable[[], object] = list
) -> float:
    times = []
    for _ in range(REPEATS):
        before()
        started = time.perf_counter()
        step()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000 / n


def test_time_outside_the_encoder() -> None:
    model: Any = load_classifier(ModelSettings(precision="fp32", threads=2))
    texts = _texts(N)
    items = [TextItem(text) for text in texts]
    clear = language._CACHE.clear
    langs = model.languages(items)
    batches = model.tokenize(texts)
    raw = model.encode(batches, len(texts))
    folded = [fold(text) for text in texts]
    probs = [dict(zip(SENTIMENTS, map(float, row), strict=True)) for row in raw["sentiment"]]
    views = [
        ModelView(float(c), float(s), p["negative"], model.complaint_threshold)
        for c, s, p in zip(raw["complaint"], raw["severity"], probs, strict=True)
    ]

    def cues_and_intent() -> None:
        for text, f, lang, p, c in zip(texts, folded, langs, probs, raw["complaint"], strict=True):
            cue_score(text, lang, folded=f)
            derive_intent(text, p, float(c), model.complaint_threshold, folded=f)

    before_encoder = {
        "language detection": _ms_per_text(lambda: model.languages(items), N, before=clear),
        "tokenising (all batches)": _ms_per_text(lambda: model.tokenize(texts), N),
    }
    after_encoder = {
        "char n-gram blend": _ms_per_text(lambda: model.blend(raw, texts, langs), N),
        "calibration": _ms_per_text(lambda: model.calibrate(raw, langs), N),
        "fold (once per text)": _ms_per_text(lambda: [fold(t) for t in texts], N),
        "complaint cues + intent": _ms_per_text(cues_and_intent, N),
        "urgency": _ms_per_text(
            lambda: [assess(i, v, folded=f) for i, v, f in zip(items, views, folded, strict=True)],
            N,
        ),
    }
    started = time.perf_counter()
    model.encode(batches, len(texts))
    encoder = (time.perf_counter() - started) * 1000 / N  # once: for scale only
    lines = [f"  {'step':28} {'stage':15} ms/text"]
    lines += [f"  {k:28} {'before encoder':15} {v:7.3f}" for k, v in before_encoder.items()]
    lines += [f"  {k:28} {'after encoder':15} {v:7.3f}" for k, v in after_encoder.items()]
    steps = sum(before_encoder.values()) + sum(after_encoder.values())
    print(
        f"\noverhead bench: {N} texts ({len(set(texts))} distinct), fp32, 2 threads, "
        f"median of {REPEATS}\n"
        f"  cpu flags: {detect_cpu().describe()}\n" + "\n".join(lines) + "\n"
        f"  {'outside the encoder (sum)':44} {steps:7.3f}\n"
        f"  {'encoder, one run (for scale)':44} {encoder:7.3f}"
    )
