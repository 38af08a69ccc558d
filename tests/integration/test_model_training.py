"""`escucha train` and `escucha evaluate` end to end on a few rows (two steps; make test-slow)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from classifiers import load_classifier
from classifiers.cli import evaluate, train
from pipeline.records import TextItem
from pipeline.settings import ModelSettings

DATA = Path(__file__).resolve().parents[1] / "data"


def _app() -> typer.Typer:
    app = typer.Typer()
    app.command("train")(train)
    app.command("evaluate")(evaluate)
    return app


@pytest.mark.slow  # about 40 s on two cores: trains, re-loads and evaluates a model
def test_train_with_corrections_then_evaluate(tmp_path: Path) -> None:
    out = tmp_path / "tiny"
    lines = (DATA / "model_sample.jsonl").read_text("utf-8").splitlines()
    sample = tmp_path / "sample.jsonl"
    sample.write_text("\n".join(lines[::4]) + "\n", encoding="utf-8")  # every language, complaints
    brand = tmp_path / "brand.jsonl"
    rows = (DATA / "brand_mentions.jsonl").read_text("utf-8").splitlines()
    brand.write_text("\n".join(rows[::6]) + "\n", encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(
        _app(),
        [
            "train",
            *("--sentiment", str(sample), "--complaints", str(sample)),
            *("--corrections", str(brand), "--val", str(sample)),
            *("--out", str(out), "--max-steps", "2", "--threads", "2", "--version", "t"),
        ],
    )
    assert result.exit_code == 0, result.output
    record = json.loads((out / "training.json").read_text("utf-8"))
    assert record["data"]["corrections"][0]["file"].endswith("brand.jsonl")
    assert record["config"]["max_steps"] == 2

    classifier = load_classifier(ModelSettings(name_or_path=str(out)))
    assert classifier.version == "tiny@t"
    assert len(classifier.predict([TextItem("hola"), TextItem("hello there")])) == 2

    metrics_path = tmp_path / "metrics.json"
    result = runner.invoke(
        _app(), ["evaluate", str(brand), "--model", str(out), "--json", str(metrics_path)]
    )
    assert result.exit_code == 0, result.output
    metrics = json.loads(metrics_path.read_text("utf-8"))
    assert {"es", "en"} <= set(metrics["by_language"])
    assert metrics["all"]["urgency"]["n"] == len(rows[::6])
    assert len(metrics["all"]["sentiment"]["confusion"]) == 3
