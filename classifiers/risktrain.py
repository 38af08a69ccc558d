"""Teach the shipped model the risk taxonomy: continue fine-tuning, then fit the risk head.

``continue_fine_tune`` starts from a trained model folder (its fine-tuned encoder and heads) and
trains the encoder jointly on the risk set (a temporary neural head for "flag now", "critical"
and each category, plus the risk rows' own sentiment and complaint labels, which are the only
Spanish complaint labels there are) and on a replay of the original sentiment and complaint data,
so the sentiment and complaint heads keep what they knew.
"""

from __future__ import annotations

import logging
import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from classifiers import network
from classifiers.data import Example
from classifiers.taxonomy import KEYS, RiskRow
from classifiers.train import _batches, log_step, optimiser_step, warmup_then_linear

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RiskTuneConfig:
    seed: int = 13
    max_length: int = 96
    batch_size: int = 32
    encoder_lr: float = 3e-5
    head_lr: float = 1e-3
    weight_decay: float = 0.01
    warmup: float = 0.06
    epochs: float = 2.0  # passes over the risk rows
    replay_per_epoch: int = 3000  # sentiment/complaint rows mixed into each pass
    risk_weight: float = 1.0
    severity_weight: float = 0.5
    time_budget_s: float | None = None
    threads: int | None = None


@dataclass(frozen=True)
class _Row:
    text: str
    sentiment: int | None
    complaint: int | None
    severity: float | None
    risk: tuple[int, ...] | None  # K categories, then level ≥ 2, level 3


def _rows(risk_rows: Sequence[RiskRow], replay: Sequence[Example]) -> tuple[list[_Row], list[_Row]]:
    risky = [
        _Row(
            text=r.text,
            sentiment=r.sentiment,
            complaint=r.complaint,
            severity=r.urgency_level / 3.0,
            risk=(
                *(int(k in r.categories) for k in KEYS),
                int(r.urgency_level >= 2),
                int(r.urgency_level == 3),
            ),
        )
        for r in risk_rows
    ]
    other = [_Row(e.text, e.sentiment, e.complaint, e.severity, None) for e in replay]
    return risky, other


def _loss(
    outputs: dict[str, Any], risk_logits: Any, batch: list[_Row], config: RiskTuneConfig
) -> Any:
    import torch
    import torch.nn.functional as F

    total = outputs["sentiment"].new_zeros(())
    s_idx = [i for i, r in enumerate(batch) if r.sentiment is not None]
    if s_idx:
        target = torch.tensor([batch[i].sentiment for i in s_idx])
        total = total + F.cross_entropy(outputs["sentiment"][s_idx], target)
    c_idx = [i for i, r in enumerate(batch) if r.complaint is not None]
    if c_idx:
        target_c = torch.tensor([float(batch[i].complaint or 0) for i in c_idx])
        total = total + F.binary_cross_entropy_with_logits(outputs["complaint"][c_idx], target_c)
    v_idx = [i for i, r in enumerate(batch) if r.severity is not None]
    if v_idx:
        target_v = torch.tensor([float(batch[i].severity or 0.0) for i in v_idx])
        predicted = torch.sigmoid(outputs["severity"][v_idx])
        total = total + config.severity_weight * F.mse_loss(predicted, target_v)
    r_idx = [i for i, r in enumerate(batch) if r.risk is not None]
    if r_idx:
        target_r = torch.tensor([batch[i].risk for i in r_idx], dtype=torch.float32)
        total = total + config.risk_weight * F.binary_cross_entropy_with_logits(
            risk_logits[r_idx], target_r
        )
    return total


def continue_fine_tune(
    folder: Path,
    risk_rows: Sequence[RiskRow],
    replay: Sequence[Example],
    config: RiskTuneConfig,
    progress: Callable[[int, int, float], None] | None = None,
) -> tuple[Any, Any]:
    """The network of ``folder`` fine-tuned further; returns (network, neural risk head)."""
    import torch
    from transformers import AutoTokenizer

    rng = random.Random(config.seed)
    torch.manual_seed(config.seed)
    if config.threads:
        torch.set_num_threads(config.threads)
    tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    net = network.load(folder)
    net["dropout"].p = 0.1
    risk_head = torch.nn.Linear(network.HIDDEN, len(KEYS) + 2)
    for name, param in net["encoder"].named_parameters():
        if name.startswith(network.FROZEN_PREFIXES):
            param.requires_grad_(False)
    encoder_params = [p for p in net["encoder"].parameters() if p.requires_grad]
    head_params = [p for h in ("sentiment", "complaint", "severity") for p in net[h].parameters()]
    head_params += list(risk_head.parameters())
    optimizer = torch.optim.AdamW(
        [
            {"params": encoder_params, "lr": config.encoder_lr},
            {"params": head_params, "lr": config.head_lr},
        ],
        weight_decay=config.weight_decay,
    )
    risky, other = _rows(risk_rows, replay)
    epochs = max(1, math.ceil(config.epochs))
    per_epoch = math.ceil(
        (len(risky) + min(config.replay_per_epoch, len(other))) / config.batch_size
    )
    total = int(per_epoch * config.epochs)
    started = time.monotonic()
    schedule = warmup_then_linear(total, config.warmup, config.time_budget_s, started)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
    net.train()
    risk_head.train()
    step, running = 0, 0.0
    for _ in range(epochs):
        mixed = risky + rng.sample(other, min(config.replay_per_epoch, len(other)))
        rng.shuffle(mixed)
        for batch in _batches(mixed, config.batch_size, rng):
            if step >= total:
                break
            if config.time_budget_s and time.monotonic() - started > config.time_budget_s:
                logger.warning("time budget reached after %d of %d steps", step, total)
                total = step
                break
            encoded = tokenizer(
                [r.text for r in batch],
                padding=True,
                truncation=True,
                max_length=config.max_length,
                return_tensors="pt",
            )
            outputs = network.forward(net, encoded["input_ids"], encoded["attention_mask"])
            risk_logits = risk_head(net["dropout"](outputs["pooled"]))
            loss = _loss(outputs, risk_logits, batch, config)
            value = optimiser_step(loss, encoder_params + head_params, optimizer, scheduler)
            running = 0.98 * running + 0.02 * value if step else value
            step += 1
            if progress:
                progress(step, total, running)
            log_step(step, total, running, config.batch_size, started)
    net.eval()
    risk_head.eval()
    net["dropout"].p = 0.0
    return net, risk_head


HELDOUT_WRITERS = ("w4",)  # never fitted on nor tuned on: the split the card and tests report


def risk_files(folder: Path) -> list[Path]:
    """The writer files of a risk-set folder (``w*.jsonl``), sorted."""
    return sorted(folder.glob("w*.jsonl"))


def split(
    rows: Sequence[RiskRow], heldout: Sequence[str] = HELDOUT_WRITERS
) -> tuple[list[RiskRow], list[RiskRow]]:
    """(rows to fit and tune on, held-out rows)."""
    return [r for r in rows if r.writer not in heldout], [r for r in rows if r.writer in heldout]


def fit_risk_head(
    folder: Path,
    rows: Sequence[RiskRow],
    *,
    c: float = 16.0,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Fit the risk head on ``rows`` with the encoder in ``folder`` and store it there.

    The thresholds are chosen on out-of-fold probabilities (grouped by writer, so by sector):
    ``flag`` keeps critical recall at level ≥ 2 at ``riskeval.CRITICAL_RECALL``.
    """
    import functools
    import json

    from classifiers import risk, riskeval
    from classifiers.model import TransformerClassifier
    from pipeline.settings import ModelSettings

    classifier = TransformerClassifier(folder, ModelSettings(precision="fp32", batch_size=64))
    prepared = riskeval.prepare(classifier, rows)
    fit = functools.partial(risk.fit, c=c)
    groups = riskeval.groups_by(rows, "writer", 0)
    oof = riskeval.out_of_fold(prepared, groups, fit, lexicons=False, progress=progress)
    everything = list(range(len(rows)))
    flag, critical = riskeval.choose_thresholds(
        prepared, everything, oof["probabilities"], lexicons=False
    )
    head = fit(prepared.features, prepared.targets)
    head.flag, head.critical = flag, critical
    metrics = riskeval.urgency_metrics(rows, oof["levels"], oof["scores"])
    head.record = {
        "rows": len(rows),
        "writers": sorted({r.writer for r in rows}),
        "c": c,
        "flag": flag,
        "critical": critical,
        "out_of_fold_by_writer": metrics["all"],
    }
    head.save(folder)
    config_path = folder / "config.json"
    config = json.loads(config_path.read_text("utf-8"))
    config["risk"] = {"lexicon_evidence": False, "file": risk.FILE}
    partial = config_path.with_name(config_path.name + ".partial")
    partial.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    partial.replace(config_path)
    return head.record


def train_risk(
    folder: Path,
    risk_paths: Sequence[Path],
    *,
    out: Path,
    replay_paths: Sequence[Path] = (),
    val_paths: Sequence[Path] = (),
    fine_tune: bool = True,
    config: RiskTuneConfig | None = None,
    replay_rows_per_file: int = 1500,
    heldout: Sequence[str] = HELDOUT_WRITERS,
    version: str | None = None,
    c: float = 16.0,
    progress: Callable[[int, int, float], None] | None = None,
    say: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Teach the model in ``folder`` the risk taxonomy and write it to ``out``.

    With ``fine_tune`` the encoder is trained further on the risk set (minus the ``heldout``
    writers) and a replay of ``replay_paths``; the blend weights, temperatures and complaint
    threshold are then chosen again on ``val_paths``. The risk head is fitted last. ``out`` is
    written beside and renamed into place, so a run that stops half-way leaves ``out`` as it was.
    """
    import json
    import shutil

    from classifiers import data
    from classifiers.taxonomy import read_risk_rows
    from classifiers.train import RECORD_FILE, retune

    config = config or RiskTuneConfig()
    rows = read_risk_rows(risk_paths)
    train_rows, held_rows = split(rows, heldout)
    if not train_rows:
        raise ValueError("every risk row is in a held-out writer: nothing to train on")
    work = out.with_name(out.name + ".partial")
    if work.exists():
        shutil.rmtree(work)
    shutil.copytree(folder, work)
    started = time.monotonic()
    record: dict[str, Any] = {
        "risk_set": data.describe_files(risk_paths),
        "heldout_writers": list(heldout),
        "train_rows": len(train_rows),
        "heldout_rows": len(held_rows),
    }
    if fine_tune:
        rng = random.Random(config.seed)
        replay: list[Example] = []
        for path in replay_paths:
            examples = data.read_examples(path)
            if len(examples) > replay_rows_per_file:
                examples = rng.sample(examples, replay_rows_per_file)
            replay.extend(examples)
        if say:
            say(f"fine-tuning on {len(train_rows)} risk rows and {len(replay)} replay rows")
        net, _ = continue_fine_tune(folder, train_rows, replay, config, progress)
        network.save(net, work)
        record["fine_tune"] = {
            "config": {k: getattr(config, k) for k in config.__dataclass_fields__},
            "replay": data.describe_files(replay_paths),
            "replay_rows_per_file": replay_rows_per_file,
            "seconds": round(time.monotonic() - started, 1),
        }
        if val_paths:
            if say:
                say("choosing blend weights, temperatures and threshold on the validation files")
            record["tuned"] = retune(work, val_paths)
    if say:
        say("fitting the risk head and choosing its thresholds out of fold")
    record["head"] = fit_risk_head(work, train_rows, c=c)
    config_path = work / "config.json"
    model_config = json.loads(config_path.read_text("utf-8"))
    if version:
        model_config["version"] = version
    config_path.write_text(json.dumps(model_config, indent=2) + "\n", encoding="utf-8")
    record_path = work / RECORD_FILE
    training = json.loads(record_path.read_text("utf-8")) if record_path.exists() else {}
    training["risk"] = record
    record_path.write_text(json.dumps(training, indent=2) + "\n", encoding="utf-8")
    if out.exists():
        retired = out.with_name(out.name + ".previous")
        if retired.exists():
            shutil.rmtree(retired)
        out.replace(retired)
        work.replace(out)
        shutil.rmtree(retired)
    else:
        work.replace(out)
    return record
