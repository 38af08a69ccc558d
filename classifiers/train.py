"""Fine-tune the multi-task model end to end and write a model folder (weights, tokenizer, record).

Reproducible: fixed seeds, a typed config saved beside the weights with the sha256 of every data
file. The encoder is fine-tuned (all layers; the word embeddings stay frozen so only the fine-tuned
parts need storing), the character n-gram model is fitted for non-English text, and the blend
weight and complaint threshold are chosen on the validation files.
"""

from __future__ import annotations

import json
import logging
import math
import random
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol, TypeVar

from classifiers import calibration, network
from classifiers.charngram import CharNgramModel
from classifiers.data import Example, describe_files, read_examples
from pipeline.records import SENTIMENTS

logger = logging.getLogger(__name__)

TOKENIZER_FILES = (
    "vocab.txt",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
)
CONFIG_FILE = "config.json"
RECORD_FILE = "training.json"
MIN_CALIBRATION_ROWS = 100  # a language needs this many val rows for its own temperature


@dataclass(frozen=True)
class TrainConfig:
    """Every knob of a training run; saved beside the weights."""

    seed: int = 13
    max_length: int = 64
    batch_size: int = 32
    encoder_lr: float = 6e-5
    head_lr: float = 1e-3
    weight_decay: float = 0.01
    warmup: float = 0.06
    epochs: float = 1.0
    max_rows_per_file: int = 8000  # rows drawn from each sentiment file (seeded)
    complaint_repeat: int = 2
    correction_repeat: int = 3
    severity_weight: float = 0.5
    char_c: float = 3.0
    char_max_rows_per_file: int = 50000
    max_steps: int | None = None
    time_budget_s: float | None = None
    threads: int | None = None
    version: str = "1"
    notes: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def _mix(
    sentiment: Sequence[list[Example]],
    complaints: Sequence[list[Example]],
    corrections: Sequence[list[Example]],
    config: TrainConfig,
    rng: random.Random,
) -> list[Example]:
    mixed: list[Example] = []
    for rows in sentiment:
        if len(rows) > config.max_rows_per_file:
            rows = rng.sample(rows, config.max_rows_per_file)
        mixed.extend(rows)
    for rows in complaints:
        mixed.extend(rows * config.complaint_repeat)
    for rows in corrections:
        mixed.extend(rows * config.correction_repeat)
    rng.shuffle(mixed)
    return mixed


class _Text(Protocol):
    @property
    def text(self) -> str: ...


T = TypeVar("T", bound=_Text)


def _batches(examples: list[T], size: int, rng: random.Random) -> list[list[T]]:
    """Length-bucketed batches: sort chunks of 50 batches by length, then shuffle the batches."""
    chunk = size * 50
    batches: list[list[T]] = []
    for start in range(0, len(examples), chunk):
        part = sorted(examples[start : start + chunk], key=lambda e: len(e.text))
        batches.extend(part[i : i + size] for i in range(0, len(part), size))
    rng.shuffle(batches)
    return batches


def warmup_then_linear(
    total: int, warmup_share: float, budget_s: float | None, started: float
) -> Callable[[int], float]:
    """The learning-rate factor per step: linear warm-up, then linear decay to 0 by step and,
    under a time budget, by the clock too (so a budget-cut run still anneals)."""
    warmup = max(1, int(total * warmup_share))

    def schedule(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        done = (step - warmup) / max(1, total - warmup)
        if budget_s:
            done = max(done, (time.monotonic() - started) / budget_s)
        return max(0.0, 1.0 - done)

    return schedule


def optimiser_step(loss: Any, params: list[Any], optimizer: Any, scheduler: Any) -> float:
    """Back-propagate ``loss``, clip the gradients to norm 1, step; the loss as a float."""
    import torch

    loss.backward()
    torch.nn.utils.clip_grad_norm_(params, 1.0)
    optimizer.step()
    scheduler.step()
    optimizer.zero_grad(set_to_none=True)
    return float(loss.detach())


def log_step(step: int, total: int, loss: float, batch_size: int, started: float) -> None:
    if step % 50 == 0:
        logger.info(
            "step %d/%d loss %.4f (%.1f ex/s)",
            step,
            total,
            loss,
            step * batch_size / (time.monotonic() - started),
        )


def _loss(outputs: dict[str, Any], batch: list[Example], config: TrainConfig) -> Any:
    import torch
    import torch.nn.functional as F

    total = outputs["sentiment"].new_zeros(())
    s_idx = [i for i, e in enumerate(batch) if e.sentiment is not None]
    if s_idx:
        target = torch.tensor([batch[i].sentiment for i in s_idx])
        total = total + F.cross_entropy(outputs["sentiment"][s_idx], target)
    c_idx = [i for i, e in enumerate(batch) if e.complaint is not None]
    if c_idx:
        target_c = torch.tensor([float(batch[i].complaint or 0) for i in c_idx])
        total = total + F.binary_cross_entropy_with_logits(outputs["complaint"][c_idx], target_c)
    v_idx = [i for i, e in enumerate(batch) if e.severity is not None]
    if v_idx:
        target_v = torch.tensor([float(batch[i].severity or 0.0) for i in v_idx])
        predicted = torch.sigmoid(outputs["severity"][v_idx])
        total = total + config.severity_weight * F.mse_loss(predicted, target_v)
    return total


def fine_tune(
    examples: list[Example],
    config: TrainConfig,
    progress: Callable[[int, int, float], None] | None = None,
) -> Any:
    """Fine-tune encoder and heads on the mixed examples; returns the network (eval mode)."""
    import torch
    from transformers import AutoTokenizer

    rng = random.Random(config.seed)
    torch.manual_seed(config.seed)
    if config.threads:
        torch.set_num_threads(config.threads)
    base = network.base_model_dir()
    tokenizer = AutoTokenizer.from_pretrained(str(base), local_files_only=True)
    net = network.build(base)
    for name, param in net["encoder"].named_parameters():
        if name.startswith(network.FROZEN_PREFIXES):
            param.requires_grad_(False)
    encoder_params = [p for p in net["encoder"].parameters() if p.requires_grad]
    head_params = [p for h in ("sentiment", "complaint", "severity") for p in net[h].parameters()]
    optimizer = torch.optim.AdamW(
        [
            {"params": encoder_params, "lr": config.encoder_lr},
            {"params": head_params, "lr": config.head_lr},
        ],
        weight_decay=config.weight_decay,
    )
    epochs = max(1, math.ceil(config.epochs))
    per_epoch = math.ceil(len(examples) / config.batch_size)
    total = int(per_epoch * config.epochs)
    if config.max_steps:
        total = min(total, config.max_steps)
    started = time.monotonic()
    schedule = warmup_then_linear(total, config.warmup, config.time_budget_s, started)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
    net.train()
    step = 0
    running = 0.0
    for _ in range(epochs):
        for batch in _batches(examples, config.batch_size, rng):
            if step >= total:
                break
            if config.time_budget_s and time.monotonic() - started > config.time_budget_s:
                logger.warning("time budget reached after %d of %d steps", step, total)
                total = step
                break
            encoded = tokenizer(
                [e.text for e in batch],
                padding=True,
                truncation=True,
                max_length=config.max_length,
                return_tensors="pt",
            )
            outputs = network.forward(net, encoded["input_ids"], encoded["attention_mask"])
            loss = _loss(outputs, batch, config)
            value = optimiser_step(loss, encoder_params + head_params, optimizer, scheduler)
            running = 0.98 * running + 0.02 * value if step else value
            step += 1
            if progress:
                progress(step, total, running)
            log_step(step, total, running, config.batch_size, started)
    net.eval()
    return net


def _write_tokenizer(folder: Path) -> None:
    base = network.base_model_dir()
    for name in TOKENIZER_FILES:
        if (base / name).exists():
            shutil.copyfile(base / name, folder / name)


def train(
    *,
    sentiment_paths: Sequence[Path],
    complaint_paths: Sequence[Path],
    correction_paths: Sequence[Path] = (),
    val_paths: Sequence[Path] = (),
    out: Path,
    config: TrainConfig,
    progress: Callable[[int, int, float], None] | None = None,
) -> dict[str, Any]:
    """Train, choose blend weight and threshold on the val files, and write the model folder."""
    rng = random.Random(config.seed)
    sentiment = [read_examples(p) for p in sentiment_paths]
    complaints = [read_examples(p) for p in complaint_paths]
    corrections = [read_examples(p) for p in correction_paths]
    examples = _mix(sentiment, complaints, corrections, config, rng)
    logger.info("training on %d examples", len(examples))
    started = time.monotonic()
    net = fine_tune(examples, config, progress)
    train_seconds = time.monotonic() - started

    out.mkdir(parents=True, exist_ok=True)
    network.save(net, out)
    _write_tokenizer(out)
    model_config: dict[str, Any] = {
        "format": "escucha-multitask",
        "name": out.name,
        "version": config.version,
        "base": network.BASE_PACKAGE,
        "pooling": "mean",
        "max_length": config.max_length,
        "labels": {"sentiment": list(SENTIMENTS)},
        "heads": {"sentiment": 3, "complaint": 1, "severity": 1},
        "char_blend": {"weight_non_english": 0.0, "weight_english": 0.0},
        "complaint_threshold": 0.5,
        "precision": "fp32",  # int8 measured faster but < 99 % label agreement; see the card
    }
    _write_json(out / CONFIG_FILE, model_config)
    tuned = fit_blend(
        out,
        sentiment_paths=sentiment_paths,
        correction_paths=correction_paths,
        val_paths=val_paths,
        config=config,
    )

    record = {
        "config": asdict(replace(config)),
        "data": {
            "sentiment": describe_files(sentiment_paths),
            "complaints": describe_files(complaint_paths),
            "corrections": describe_files(correction_paths),
            "validation": describe_files(val_paths),
        },
        "examples": len(examples),
        "train_seconds": round(train_seconds, 1),
        "tuned": tuned,
    }
    _write_json(out / RECORD_FILE, record)
    logger.info("model written to %s", out)
    return record


def fit_blend(
    out: Path,
    *,
    sentiment_paths: Sequence[Path],
    correction_paths: Sequence[Path],
    val_paths: Sequence[Path],
    config: TrainConfig,
) -> dict[str, Any]:
    """Fit the char n-gram model, choose blend weights and threshold on val, update config.json."""

    rng = random.Random(config.seed + 1)
    char_rows = [
        e
        for path in [*sentiment_paths, *correction_paths]
        for rows in [read_examples(path)]
        for e in (
            rng.sample(rows, config.char_max_rows_per_file)
            if len(rows) > config.char_max_rows_per_file
            else rows
        )
        if e.sentiment is not None
    ]
    path = out / "charngram.safetensors"
    if char_rows:
        labels = [int(e.sentiment or 0) for e in char_rows]
        CharNgramModel.fit(
            [e.text for e in char_rows], labels, [e.lang or "" for e in char_rows], c=config.char_c
        ).save(out)
    elif path.exists():
        path.unlink()
    return _tune_config(out, val_paths)


def _tune(
    classifier: Any, val_paths: Sequence[Path], model_config: dict[str, Any], has_char: bool
) -> dict[str, Any]:
    """Pick blend weights, temperatures and the complaint threshold on the validation files."""
    import numpy as np
    from sklearn.metrics import f1_score

    tuned: dict[str, Any] = {}
    rows = [e for p in val_paths for e in read_examples(p)]
    blend: dict[str, float] = {}
    temperatures: dict[str, Any] = {}
    by_language: dict[str, float] = {}
    for key, english in (("weight_non_english", False), ("weight_english", True)):
        sent = [
            e for e in rows if e.sentiment is not None and ((e.lang or "en") == "en") == english
        ]
        if not sent:
            continue
        texts = [e.text for e in sent]
        langs = [e.lang or "und" for e in sent]
        transformer = classifier.raw_scores(texts)["sentiment"]
        gold = np.array([e.sentiment for e in sent])
        group = "english" if english else "non_english"
        if not has_char:
            _fit_temperatures(transformer, gold, langs, group, temperatures, by_language)
            continue
        char = classifier.char_model.predict_proba(texts, langs)
        best = (-1.0, 0.0)
        for weight in np.linspace(0.0, 1.0, 11):
            predicted = ((1 - weight) * transformer + weight * char).argmax(1)
            per_lang = [
                f1_score(gold[mask], predicted[mask], average="macro")
                for lang in sorted(set(langs))
                if (mask := np.array([x == lang for x in langs])).any()
            ]
            score = float(np.mean(per_lang))
            if score > best[0] + 1e-9:
                best = (score, float(weight))
        blend[key] = round(best[1], 2)
        logger.info("char blend %s %.2f (mean macro-F1 %.3f)", key, best[1], best[0])
        mixed = (1 - blend[key]) * transformer + blend[key] * char
        _fit_temperatures(mixed, gold, langs, group, temperatures, by_language)
    if blend:
        tuned["char_blend"] = {**model_config["char_blend"], **blend}
    comp = [e for e in rows if e.complaint is not None]
    calibrated: dict[str, Any] = {}
    if by_language:
        temperatures["by_language"] = by_language
    if temperatures:
        calibrated["sentiment_temperature"] = temperatures
    if comp:
        raw = classifier.raw_scores([e.text for e in comp])["complaint"]
        gold_c = np.array([e.complaint for e in comp])
        calibrated["complaint_temperature"] = round(calibration.fit_binary(raw, gold_c), 4)
        scores = calibration.scale_binary(raw, calibrated["complaint_temperature"])
        candidates = [
            (float(f1_score(gold_c, scores >= t, average="macro")), float(t))
            for t in np.linspace(0.2, 0.8, 25)
        ]
        best_f1, threshold = max(candidates)
        tuned["complaint_threshold"] = round(threshold, 3)
        logger.info("complaint threshold %.3f (macro-F1 %.3f)", threshold, best_f1)
    if calibrated:
        tuned["calibration"] = {**model_config.get("calibration", {}), **calibrated}
    return tuned


def _fit_temperatures(
    probs: Any,
    gold: Any,
    langs: Sequence[str],
    group: str,
    temperatures: dict[str, Any],
    by_language: dict[str, float],
) -> None:
    """One temperature for the group, and one per non-English language with enough rows."""
    import numpy as np

    temperatures[group] = round(calibration.fit_multiclass(probs, gold), 4)
    logger.info("sentiment temperature %s %.3f", group, temperatures[group])
    if group == "english":
        return
    codes = np.array(langs)
    for lang in sorted(set(langs) - {"und"}):
        mask = codes == lang
        if mask.sum() >= MIN_CALIBRATION_ROWS:
            by_language[lang] = round(calibration.fit_multiclass(probs[mask], gold[mask]), 4)


def retune(folder: Path, val_paths: Sequence[Path]) -> dict[str, Any]:
    """Choose blend weights, temperatures and threshold of a trained model on new labelled files.

    Updates ``config.json`` (written whole, then renamed into place) and the training record.
    """
    tuned = _tune_config(folder, val_paths)
    record_path = folder / RECORD_FILE
    if record_path.exists():
        record = json.loads(record_path.read_text("utf-8"))
        record["tuned"] = {**record.get("tuned", {}), **tuned}
        record.setdefault("data", {})["validation"] = describe_files(val_paths)
        _write_json(record_path, record)
    return tuned


def _tune_config(folder: Path, val_paths: Sequence[Path]) -> dict[str, Any]:
    """Run ``_tune`` on the model in ``folder`` and write the chosen values into its config."""
    from classifiers.model import TransformerClassifier

    model_config = json.loads((folder / CONFIG_FILE).read_text("utf-8"))
    classifier = TransformerClassifier(folder)
    tuned = _tune(classifier, val_paths, model_config, classifier.char_model is not None)
    model_config.update(tuned)
    _write_json(folder / CONFIG_FILE, model_config)
    return tuned


def _write_json(path: Path, value: Any) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(value, indent=2) + "\n", encoding="utf-8")
    partial.replace(path)
