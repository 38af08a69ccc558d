"""`escucha train`, `calibrate` and `evaluate` end to end on a few rows (two steps; make test-slow)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from classifiers import load_classifier
from classifiers.cli import calibrate, evaluate, train
from pipeline.records import TextItem
from pipeline.settings import ModelSettings

DATA = Path(__file__).resolve().parents[1] / "data"


def _app() -> typer.Typer:
    app = typer.Typer()
    app.command("train")(train)
    app.command("evaluate")(evaluate)
    app.command("calibrate")(calibrate)
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

    config = json.loads((out / "config.json").read_text("utf-8"))
    temperatures = config["calibration"]["sentiment_temperature"]
    assert {"english", "non_english"} <= set(temperatures)
    assert 0.05 <= config["calibration"]["complaint_temperature"] <= 20

    result = runner.invoke(_app(), ["calibrate", str(brand), "--model", str(out)])
    assert result.exit_code == 0, result.output
    record = json.loads((out / "training.json").read_text("utf-8"))
    assert record["data"]["validation"][0]["file"].endswith("brand.jsonl")
    recalibrated = json.loads((out / "config.json").read_text("utf-8"))["calibration"]
    assert recalibrated != config["calibration"]  # fitted on other rows, other temperatures

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


def test_model_commands_report_bad_input_in_one_line(tmp_path: Path) -> None:
    from pipeline.cli import app

    runner = CliRunner()
    missing = tmp_path / "no-model"
    result = runner.invoke(
        app, ["calibrate", str(DATA / "brand_mentions.jsonl"), "--model", str(missing)]
    )
    assert result.exit_code == 1
    assert f"no model folder at {missing}" in result.output
    assert "Traceback" not in result.output

    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"text": "hola", "label": "negative", "lang": "es"}\n{"text": \n', "utf-8")
    result = runner.invoke(app, ["evaluate", str(broken)])
    assert result.exit_code == 1
    assert f"{broken}:2" in result.output
    assert "Traceback" not in result.output


@pytest.mark.slow  # about a minute on two cores: a few fine-tuning steps, then the risk head
def test_train_risk_fine_tunes_fits_the_head_and_keeps_the_heldout_writer_out(
    tmp_path: Path,
) -> None:
    from classifiers.cli import train_risk
    from classifiers.risk import RiskHead

    risk_set = tmp_path / "riskset"
    risk_set.mkdir()
    source = Path(__file__).resolve().parents[2] / "classifiers" / "riskset"
    for writer in ("w1", "w2", "w3", "w4"):
        lines = (source / f"{writer}.jsonl").read_text("utf-8").splitlines()
        (risk_set / f"{writer}.jsonl").write_text("\n".join(lines[::8]) + "\n", "utf-8")
    out = tmp_path / "risky"
    app = typer.Typer()
    app.command("train-risk")(train_risk)
    app.command("noop")(lambda: None)
    result = CliRunner().invoke(
        app,
        [
            "train-risk",
            *("--risk-set", str(risk_set), "--out", str(out), "--epochs", "0.1"),
            *("--threads", "2", "--version", "r"),
        ],
    )
    assert result.exit_code == 0, result.output
    head = RiskHead.load(out)
    assert head is not None and 0 < head.flag < 1
    record = json.loads((out / "training.json").read_text("utf-8"))["risk"]
    assert record["heldout_writers"] == ["w4"]
    assert record["head"]["writers"] == ["w1", "w2", "w3"]
    classifier = load_classifier(ModelSettings(name_or_path=str(out)))
    assert classifier.version.endswith("@r")
    [prediction] = classifier.predict([TextItem("huele a gas en el portal desde anoche")])
    assert 0 <= prediction.urgency.level <= 3
