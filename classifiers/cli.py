"""`escucha train`, `calibrate` and `evaluate`: typer-annotated functions the main CLI registers."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Annotated, Any

import typer

logger = logging.getLogger(__name__)


def train(
    sentiment: Annotated[
        list[Path],
        typer.Option(help="sentiment JSONL (text, label, lang); repeat for several files"),
    ],
    complaints: Annotated[
        list[Path],
        typer.Option(help="complaint JSONL (text, complaint 0/1, severity 0-4); repeatable"),
    ],
    val: Annotated[
        list[Path] | None,
        typer.Option(help="validation JSONL used to pick blend weight and threshold; repeatable"),
    ] = None,
    corrections: Annotated[
        list[Path] | None,
        typer.Option(
            help="human label corrections JSONL "
            '({"text","lang","sentiment"?,"complaint"?,"urgency_level"?}); repeatable'
        ),
    ] = None,
    out: Annotated[Path, typer.Option(help="model folder to write")] = Path(
        "models/escucha-minilm"
    ),
    epochs: Annotated[float, typer.Option(help="passes over the mixed data")] = 1.0,
    max_rows_per_file: Annotated[
        int, typer.Option(help="at most this many rows drawn from each sentiment file")
    ] = 8000,
    complaint_repeat: Annotated[int, typer.Option(help="passes over the complaint files")] = 2,
    max_steps: Annotated[int | None, typer.Option(help="stop after this many steps")] = None,
    time_budget: Annotated[
        float | None, typer.Option(help="stop fine-tuning after this many seconds")
    ] = None,
    seed: Annotated[int, typer.Option(help="random seed")] = 13,
    threads: Annotated[int | None, typer.Option(help="torch CPU threads")] = None,
    version: Annotated[str, typer.Option(help="version string recorded with every score")] = "1",
) -> None:
    """Fine-tune the multi-task model end to end and write weights, tokenizer and record."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from classifiers.train import TrainConfig
    from classifiers.train import train as run_training

    config = TrainConfig(
        seed=seed,
        epochs=epochs,
        max_rows_per_file=max_rows_per_file,
        complaint_repeat=complaint_repeat,
        max_steps=max_steps,
        time_budget_s=time_budget,
        threads=threads,
        version=version,
    )
    console = Console()
    with Progress(
        TextColumn("training"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} steps · loss {task.fields[loss]:.3f}"),
        TimeRemainingColumn(),
        console=console,
    ) as progress:
        task = progress.add_task("train", total=None, loss=0.0)

        def report(step: int, total: int, loss: float) -> None:
            progress.update(task, completed=step, total=total, loss=loss)

        record = run_training(
            sentiment_paths=sentiment,
            complaint_paths=complaints,
            correction_paths=corrections or [],
            val_paths=val or [],
            out=out,
            config=config,
            progress=report,
        )
    console.print(
        f"model written to {out} ({record['examples']} examples, {record['train_seconds']} s)"
    )


def evaluate(
    data: Annotated[list[Path], typer.Argument(help="labelled JSONL file(s) to score")],
    model: Annotated[
        str, typer.Option(help="model folder under models/, a path, or a hub id")
    ] = "escucha-minilm",
    output: Annotated[
        Path | None, typer.Option("--json", help="write the metrics as JSON here")
    ] = None,
    precision: Annotated[str, typer.Option(help="auto, fp32, bf16 or int8")] = "auto",
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="say which precision runs and why (stderr)")
    ] = False,
) -> None:
    """Per-language macro-F1/recall, complaint F1, urgency AUC, confusion and calibration."""
    from rich.console import Console

    from classifiers import load_classifier
    from classifiers.data import read_examples
    from classifiers.evaluate import evaluate as run_evaluation
    from pipeline.settings import ModelSettings

    settings = ModelSettings(name_or_path=model, precision=precision)  # type: ignore[arg-type]
    classifier = load_classifier(settings)
    if verbose:
        Console(stderr=True).print(
            precision_line(classifier), highlight=False, markup=False, soft_wrap=True
        )
    examples = [example for path in data for example in read_examples(path)]
    metrics = run_evaluation(classifier, examples)
    Console().print(metrics_table(metrics))
    if output is not None:
        output.write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")


def calibrate(
    data: Annotated[list[Path], typer.Argument(help="labelled JSONL file(s) to calibrate on")],
    model: Annotated[
        str, typer.Option(help="model folder under models/ or a path to one")
    ] = "escucha-minilm",
) -> None:
    """Refit blend weights, temperatures and the complaint threshold on your labelled sample."""
    from rich.console import Console

    from classifiers import MODELS_DIR
    from classifiers.train import retune
    from pipeline.errors import InputError

    folder = Path(model) if Path(model).is_dir() else MODELS_DIR / model
    if not (folder / "config.json").is_file():
        raise InputError(
            f"no model folder at {folder}",
            path=model,
            hint="give a folder written by `escucha train` (with config.json)",
        )
    if not os.access(folder, os.W_OK) or not os.access(folder / "config.json", os.W_OK):
        raise InputError(
            f"the model folder {folder} is read-only",
            path=str(folder),
            hint="copy the folder somewhere writable, calibrate the copy with --model, "
            "and point model.name_or_path at it",
        )
    tuned = retune(folder, data)
    Console().print_json(json.dumps(tuned))


def precision_line(classifier: object) -> str:
    """One line for people: the model, the precision it runs in and why, the CPU flags seen.

    ``escucha evaluate --verbose`` prints it on stderr; other commands that load a model may too.
    """
    version = getattr(classifier, "version", "?")
    reason = getattr(classifier, "precision_reason", None)
    if reason is None:  # a hub model: no dispatch
        return f"model {version}: precision {getattr(classifier, 'precision', 'fp32')}"
    flags = " ".join(getattr(classifier, "cpu_flags", ())) or "none of amx/avx512_bf16/vnni/avx2"
    return f"model {version}: {reason} (cpu flags: {flags})"


def metrics_table(metrics: dict[str, Any]) -> Any:
    """A rich table: one row per language plus "all"."""
    from rich.table import Table

    table = Table(
        title=f"escucha evaluate · {metrics['model']}",
        caption="sentiment macro-F1 / macro-recall / ECE; complaint F1 and macro-F1; urgency AUC "
        "(level ≥2 vs <2), share of level-3 items scored ≥2, share of level-0 items scored ≥2",
    )
    columns = ("lang", "n", "F1", "recall", "ECE", "cF1", "cMF1", "uAUC", "L3≥2", "L0≥2")
    for column in columns:
        table.add_column(column, justify="right" if column != "lang" else "left")

    def cell(group: dict[str, Any], task: str, key: str) -> str:
        value = group.get(task, {}).get(key)
        return "-" if value is None else f"{value:.3f}"

    rows = [*metrics["by_language"].items(), ("all", metrics["all"])]
    for lang, group in rows:
        table.add_row(
            lang,
            str(group["n"]),
            cell(group, "sentiment", "macro_f1"),
            cell(group, "sentiment", "macro_recall"),
            cell(group, "sentiment", "ece"),
            cell(group, "complaint", "f1"),
            cell(group, "complaint", "macro_f1"),
            cell(group, "urgency", "auc_high"),
            cell(group, "urgency", "level3_at_2plus"),
            cell(group, "urgency", "level0_at_2plus"),
        )
    return table
