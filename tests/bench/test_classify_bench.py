"""Throughput of the product's classifier path against the naive transformers pipeline.

Times, in one run on one machine, 5,000 tweet-length texts through ``load_classifier(...).predict``
in chunks of 256 (what ``escucha classify`` reads at a time by default) and through
``transformers.pipeline("text-classification")`` one text at a time on the same fine-tuned encoder
and sentiment head. Prints texts/s for each, the ratio, and peak memory (RSS).
"""

from __future__ import annotations

import inspect
import json
import os
import resource
import time
from pathlib import Path

import pytest

from classifiers import MODELS_DIR, load_classifier
from pipeline.cli import classify
from pipeline.records import TextItem
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


@pytest.mark.bench
def test_classify_throughput_against_naive_pipeline() -> None:
    threads = max(1, min(4, os.cpu_count() or 1))
    texts = _texts(N)
    classifier = load_classifier(ModelSettings(threads=threads))
    items = [TextItem(text=t) for t in texts]
    classifier.predict(items[:BATCH])  # warm-up
    started = time.perf_counter()
    for start in range(0, len(items), BATCH):
        classifier.predict(items[start : start + BATCH])
    product_s = time.perf_counter() - started
    product_rss = _peak_rss_mb()

    naive = _naive_pipeline(threads)
    naive(texts[0])  # type: ignore[operator]
    started = time.perf_counter()
    for text in texts:
        naive(text)  # type: ignore[operator]
    naive_s = time.perf_counter() - started

    product_rate = len(texts) / product_s
    naive_rate = len(texts) / naive_s
    print(
        f"\nclassify bench on {len(texts)} texts, {threads} threads, "
        f"precision {getattr(classifier, 'precision', '?')}\n"
        f"  product path (batches of {BATCH}, incl. language id + urgency): "
        f"{product_rate:8.1f} texts/s\n"
        f"  naive transformers.pipeline, one text at a time:             "
        f"{naive_rate:8.1f} texts/s\n"
        f"  ratio: {product_rate / naive_rate:.2f}x\n"
        f"  peak RSS after the product path: {product_rss:.0f} MB; "
        f"after both: {_peak_rss_mb():.0f} MB"
    )
    assert product_rate > naive_rate
