"""Throughput of the product's classifier path against the naive transformers pipeline.

Times, in one run on one machine, 5,000 tweet-length texts through ``load_classifier(...).predict``
in chunks of 256 (what ``escucha classify`` reads at a time by default) and through
``transformers.pipeline("text-classification")`` one text at a time on the same fine-tuned encoder
and sentiment head. Prints the CPU flags seen, the precision ``auto`` picks and why, texts/s of
every precision this CPU runs (fp32, bf16 where it has AMX or AVX-512 BF16, int8) with its label
agreement with fp32, the product path against the naive one, and peak memory (RSS).
"""

from __future__ import annotations

import gc
import inspect
import json
import os
import resource
import time
from pathlib import Path

import pytest

from classifiers import MODELS_DIR, load_classifier
from classifiers.dispatch import detect_cpu
from pipeline.cli import classify
from pipeline.records import Prediction, TextItem
from pipeline.settings import ModelSettings

DATA = Path(__file__).resolve().parents[1] / "data"
N = int(os.environ.get("ESCUCHA_BENCH_TEXTS", "5000"))
BATCH = int(inspect.signature(classify).parameters["batch_size"].default)  # as escucha classify


def _texts(n: int) -> list[str]:
    base: list[str] = []
    for name in ("brand_mentions.jsonl", "model_sample.jsonl"):
        for line in (DATA / name).read_text("utf-8").splitlines():
            base.append(json.loads(line)["text"][:280])
    return [f"{base[i % len(base)]} #{i}" for i in range(n)]


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _naive_pipeline(threads: int) -> object:
    import torch
    from safetensors.torch import load_file
    from transformers import AutoTokenizer, BertForSequenceClassification, pipeline

    from classifiers.network import base_model_dir

    torch.set_num_threads(threads)
    folder = MODELS_DIR / "escucha-minilm"
    model = BertForSequenceClassification.from_pretrained(
        str(base_model_dir()), num_labels=3, local_files_only=True
    )
    encoder = {k: v.float() for k, v in load_file(str(folder / "encoder.safetensors")).items()}
    model.bert.load_state_dict(encoder, strict=False)
    heads = load_file(str(folder / "heads.safetensors"))
    model.classifier.weight.data = heads["sentiment.weight"].float()
    model.classifier.bias.data = heads["sentiment.bias"].float()
    model.eval()
    tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    return pipeline("text-classification", model=model, tokenizer=tokenizer, device="cpu")


def _rate(classifier: object, items: list[TextItem]) -> tuple[float, list[Prediction]]:
    predict = classifier.predict  # type: ignore[attr-defined]
    predict(items[:BATCH])  # warm-up
    predictions: list[Prediction] = []
    started = time.perf_counter()
    for start in range(0, len(items), BATCH):
        predictions += predict(items[start : start + BATCH])
    return len(items) / (time.perf_counter() - started), predictions


def _agreement(got: list[Prediction], want: list[Prediction]) -> str:
    pairs = list(zip(got, want, strict=True))
    same = {
        "sentiment": sum(g.sentiment == w.sentiment for g, w in pairs),
        "complaint>=0.5": sum((g.complaint >= 0.5) == (w.complaint >= 0.5) for g, w in pairs),
        "urgency": sum(g.urgency.level == w.urgency.level for g, w in pairs),
    }
    return ", ".join(f"{name} {count / len(pairs):.1%}" for name, count in same.items())


@pytest.mark.bench
def test_classify_throughput_against_naive_pipeline() -> None:
    threads = max(1, min(4, os.cpu_count() or 1))
    texts = _texts(N)
    cpu = detect_cpu()
    started = time.perf_counter()
    classifier = load_classifier(ModelSettings(threads=threads))
    load_s = time.perf_counter() - started
    chosen = getattr(classifier, "precision", "?")
    items = [TextItem(text=t) for t in texts]
    product_rate, product_predictions = _rate(classifier, items)
    product_rss = _peak_rss_mb()

    paths = ["fp32", "bf16", "int8"] if cpu.native_bf16 else ["fp32", "int8"]
    rates = {chosen: (product_rate, product_predictions)}
    for precision in paths:
        if precision not in rates:
            other = load_classifier(ModelSettings(threads=threads, precision=precision))  # type: ignore[arg-type]
            rates[precision] = _rate(other, items)
            del other
            gc.collect()
    fp32_rate, fp32_predictions = rates["fp32"]
    lines = [
        f"  {precision:5} {rate:8.1f} texts/s ({rate / fp32_rate:.2f}x fp32); labels = fp32: "
        + _agreement(predictions, fp32_predictions)
        for precision, (rate, predictions) in sorted(rates.items(), key=lambda r: paths.index(r[0]))
    ]

    naive = _naive_pipeline(threads)
    naive(texts[0])  # type: ignore[operator]
    started = time.perf_counter()
    for text in texts:
        naive(text)  # type: ignore[operator]
    naive_s = time.perf_counter() - started

    naive_rate = len(texts) / naive_s
    print(
        f"\nclassify bench on {len(texts)} texts, {threads} threads, "
        f"precision {chosen}\n"
        f"  cpu flags: {cpu.describe()} (from {cpu.source})\n"
        f"  auto: {getattr(classifier, 'precision_reason', '?')} "
        f"(load incl. probe {load_s:.1f} s)\n"
        f"  every precision, product path:\n" + "\n".join(lines) + "\n"
        f"  product path (batches of {BATCH}, incl. language id + urgency): "
        f"{product_rate:8.1f} texts/s\n"
        f"  naive transformers.pipeline, one text at a time:             "
        f"{naive_rate:8.1f} texts/s\n"
        f"  ratio: {product_rate / naive_rate:.2f}x\n"
        f"  peak RSS after the product path: {product_rss:.0f} MB; "
        f"after all: {_peak_rss_mb():.0f} MB"
    )
    assert product_rate > naive_rate
