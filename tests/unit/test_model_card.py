"""The default model folder: a complete card, its training record, and the size budget."""

from __future__ import annotations

import json
import re
from pathlib import Path

MODEL = Path(__file__).resolve().parents[2] / "models" / "escucha-minilm"
SECTIONS = (
    "Model details",
    "Intended use",
    "Training data",
    "Training procedure",
    "Evaluation",
    "Calibration",
    "Brand-mention set",
    "Speed and memory",
    "Limitations",
    "Reproduce",
)


def test_card_has_every_section() -> None:
    card = (MODEL / "README.md").read_text("utf-8")
    headings = {m.group(1).strip() for m in re.finditer(r"^##\s+(.+)$", card, re.MULTILINE)}
    missing = [s for s in SECTIONS if s not in headings]
    assert not missing, f"model card lacks sections: {missing}"


def test_card_reports_metrics_per_language() -> None:
    card = (MODEL / "README.md").read_text("utf-8")
    for lang in ("es", "en", "pt", "fr", "de", "it", "ar", "hi"):
        assert re.search(rf"^\|\s*{lang}\s*\|\s*0\.\d+", card, re.MULTILINE), lang
    for term in ("macro-F1", "AUC", "ECE"):
        assert term in card


def test_training_record_names_data_files_with_hashes() -> None:
    record = json.loads((MODEL / "training.json").read_text("utf-8"))
    files = [f for group in record["data"].values() for f in group]
    assert files
    assert all(re.fullmatch(r"[0-9a-f]{64}", f["sha256"]) for f in files)
    assert record["config"]["seed"] is not None
    assert not any(f["file"].startswith("/") for f in files)


def test_label_maps_and_size_budget() -> None:
    config = json.loads((MODEL / "config.json").read_text("utf-8"))
    assert config["labels"]["sentiment"] == ["negative", "neutral", "positive"]
    total = sum(p.stat().st_size for p in MODEL.rglob("*") if p.is_file())
    assert total <= 60 * 1024 * 1024
