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

    from classifiers.train import retune
    from pipeline.errors import InputError

    folder = model_folder(model)
    if not os.access(folder, os.W_OK) or not os.access(folder / "config.json", os.W_OK):
        raise InputError(
            f"the model folder {folder} is read-only",
            path=str(folder),
            hint="copy the folder somewhere writable, calibrate the copy with --model, "
            "and point model.name_or_path at it",
        )
    tuned = retune(folder, data)
    Console().print_json(json.dumps(tuned))


def model_folder(model: str) -> Path:
    """The folder of a trained model: a path, or a name under models/ (InputError otherwise)."""
    from classifiers import MODELS_DIR
    from pipeline.errors import InputError

    folder = Path(model) if Path(model).is_dir() else MODELS_DIR / model
    if not (folder / "config.json").is_file():
        raise InputError(
            f"no model folder at {folder}",
            path=model,
            hint="give a folder written by `escucha train` (with config.json)",
        )
    return folder


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


RISK_SET = Path(__file__).resolve().parent / "riskset"


def train_risk(
    model: Annotated[
        str, typer.Option(help="model folder under models/ or a path to one, to start from")
    ] = "escucha-minilm",
    out: Annotated[
        Path | None, typer.Option(help="model folder to write (default: --model)")
    ] = None,
    risk_set: Annotated[Path, typer.Option(help="folder of risk-set files (w*.jsonl)")] = RISK_SET,
    replay: Annotated[
        list[Path] | None,
        typer.Option(help="sentiment/complaint JSONL replayed while fine-tuning; repeatable"),
    ] = None,
    val: Annotated[
        list[Path] | None,
        typer.Option(help="validation JSONL to choose blend, temperatures, threshold; repeatable"),
    ] = None,
    fine_tune: Annotated[
        bool, typer.Option(help="fine-tune the encoder on the risk set first")
    ] = True,
    epochs: Annotated[float, typer.Option(help="passes over the risk rows")] = 2.0,
    heldout: Annotated[
        list[str] | None, typer.Option(help="writers never trained or tuned on; repeatable")
    ] = None,
    time_budget: Annotated[
        float | None, typer.Option(help="stop fine-tuning after this many seconds")
    ] = None,
    threads: Annotated[int | None, typer.Option(help="torch CPU threads")] = None,
    version: Annotated[str | None, typer.Option(help="new model version string")] = None,
) -> None:
    """Fine-tune on the risk set (optional), recalibrate, fit the risk head and its thresholds."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from classifiers.risktrain import HELDOUT_WRITERS, RiskTuneConfig, risk_files, train_risk
    from pipeline.errors import InputError

    folder = model_folder(model)
    files = risk_files(risk_set)
    if not files:
        raise InputError(
            "no risk-set files (w*.jsonl) in the folder",
            path=str(risk_set),
            hint="point --risk-set at a folder like classifiers/riskset",
        )
    console = Console()
    config = RiskTuneConfig(epochs=epochs, time_budget_s=time_budget, threads=threads)
    with Progress(
        TextColumn("fine-tuning"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} steps · loss {task.fields[loss]:.3f}"),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task("tune", total=None, loss=0.0)

        def report(step: int, total: int, loss: float) -> None:
            progress.update(task, completed=step, total=total, loss=loss)

        record = train_risk(
            folder,
            files,
            out=out or folder,
            replay_paths=replay or [],
            val_paths=val or [],
            fine_tune=fine_tune,
            config=config,
            heldout=tuple(heldout) if heldout else HELDOUT_WRITERS,
            version=version,
            progress=report,
            say=lambda line: console.print(line, highlight=False, markup=False),
        )
    head = record["head"]
    console.print(
        f"risk head written to {out or folder}: {head['rows']} rows, flag {head['flag']:.2f}, "
        f"critical {head['critical']:.2f}",
        highlight=False,
    )


def evaluate_risk(
    model: Annotated[
        str, typer.Option(help="model folder under models/, or a path")
    ] = "escucha-minilm",
    risk_set: Annotated[Path, typer.Option(help="folder of risk-set files (w*.jsonl)")] = RISK_SET,
    heldout: Annotated[
        list[str] | None, typer.Option(help="writers the model never saw; repeatable")
    ] = None,
    cross_validate: Annotated[
        bool,
        typer.Option(help="also refit the head by sector and by writer on the other rows"),
    ] = True,
    precision: Annotated[str, typer.Option(help="auto, fp32, bf16 or int8")] = "fp32",
    output: Annotated[
        Path | None, typer.Option("--json", help="write the figures as JSON here")
    ] = None,
) -> None:
    """The risk head on the held-out writers (sectors it never saw) against the lexicons alone,
    and the head's nested leave-sector-out / leave-writer-out figures on the other writers."""
    from rich.console import Console

    from classifiers import load_classifier
    from classifiers.riskeval import cross_validated, heldout_report
    from classifiers.risktrain import HELDOUT_WRITERS, risk_files, split
    from classifiers.taxonomy import read_risk_rows
    from pipeline.settings import ModelSettings

    settings = ModelSettings(name_or_path=model, precision=precision)  # type: ignore[arg-type]
    classifier = load_classifier(settings)
    rows = read_risk_rows(risk_files(risk_set))
    dev, held = split(rows, tuple(heldout) if heldout else HELDOUT_WRITERS)
    console = Console()
    figures: dict[str, Any] = {"model": classifier.version}
    if held:
        figures["heldout"] = heldout_report(classifier, held)
        console.print(
            risk_table("held-out writers (never trained or tuned on)", figures["heldout"])
        )
        if "categories" in figures["heldout"]:
            console.print(category_table(figures["heldout"]["categories"]))
    if cross_validate and dev:
        figures["cross_validated"] = cross_validated(
            classifier, dev, progress=lambda line: console.print(line, style="dim")
        )
        for name, result in figures["cross_validated"].items():
            console.print(
                risk_table(
                    f"leave-{name}-out, risk head refitted per fold", {"model": result["urgency"]}
                )
            )
    if output is not None:
        output.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")


def risk_table(title: str, figures: dict[str, Any]) -> Any:
    """Urgency figures per language: the model (and the lexicons alone where given)."""
    from rich.table import Table

    table = Table(
        title=title,
        caption="critical = level-3 rows flagged (level ≥ 2); none/calm = level-0 / level ≤ 1 rows "
        "flagged; AUC of the urgency score for level ≥ 2; angry = negative complaints at level ≤ 1 "
        "flagged",
    )
    for column in ("path", "lang", "n", "critical", "none", "calm", "AUC", "exact", "angry"):
        table.add_column(column, justify="left" if column in ("path", "lang") else "right")

    def cell(value: Any) -> str:
        return "-" if value is None else f"{value:.3f}"

    for path in ("model", "baseline"):
        if path not in figures:
            continue
        metrics = figures[path]
        for lang in ("es", "en", "all"):
            group = metrics[lang]
            table.add_row(
                "risk head" if path == "model" else "lexicons only",
                lang,
                str(group["n"]),
                cell(group["critical_at_2plus"]),
                cell(group["none_at_2plus"]),
                cell(group["calm_at_2plus"]),
                cell(group["auc_high"]),
                cell(group["exact"]),
                cell(metrics["angry"]["not_urgent_flagged"]) if lang == "all" else "",
            )
    return table


def category_table(categories: dict[str, Any]) -> Any:
    """Recall, precision and AUC per risk category, and how often its hard negatives are found."""
    from rich.table import Table

    table = Table(title="risk categories on the held-out writers")
    for column in ("category", "n", "recall", "precision", "AUC", "hard neg.", "found"):
        table.add_column(column, justify="left" if column == "category" else "right")
    for key, m in categories.items():
        table.add_row(
            key,
            str(m["n"]),
            f"{m['recall']:.3f}",
            f"{m['precision']:.3f}",
            "-" if m["auc"] is None else f"{m['auc']:.3f}",
            str(m["hard_negatives"]),
            f"{m['hard_negatives_found']:.3f}",
        )
    return table
