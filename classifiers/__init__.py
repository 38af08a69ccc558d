"""Classifiers: the Classifier protocol, the transformer model, urgency signals, language id."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from pipeline.errors import ClassifierError
from pipeline.ports import Classifier
from pipeline.settings import ModelSettings

logger = logging.getLogger(__name__)

MODELS_DIR = Path(__file__).resolve().parents[1] / "models"
DEFAULT_MODEL = "escucha-minilm"

__all__ = ["DEFAULT_MODEL", "MODELS_DIR", "Classifier", "load_classifier", "resolve_model"]


def _is_escucha_model(folder: Path) -> bool:
    try:
        config = json.loads((folder / "config.json").read_text("utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(config, dict) and config.get("format") == "escucha-multitask"


def resolve_model(name_or_path: str, *, models_dir: Path | None = None) -> Path | None:
    """The local folder for ``name_or_path`` (a folder under models/ or a path), else ``None``."""
    models_dir = models_dir or MODELS_DIR
    for candidate in (models_dir / name_or_path, Path(name_or_path).expanduser()):
        if candidate.is_dir():
            return candidate.resolve()
    return None


def load_classifier(settings: ModelSettings, *, models_dir: Path | None = None) -> Classifier:
    """Load the configured model: a folder under ``models/``, a local path, or a hub id.

    The hub is only contacted when ``settings.allow_hub`` is true; otherwise loading is offline.
    Raises ClassifierError naming the path tried and how to fix it.
    """
    if not settings.allow_hub:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    models_dir = models_dir or MODELS_DIR
    folder = resolve_model(settings.name_or_path, models_dir=models_dir)
    if folder is not None and _is_escucha_model(folder):
        from classifiers.model import TransformerClassifier

        return TransformerClassifier(folder, settings)
    if folder is not None or settings.allow_hub:
        from classifiers.hub import HubClassifier

        return HubClassifier(str(folder or settings.name_or_path), settings)
    raise ClassifierError(
        f"no model {settings.name_or_path!r}: neither {models_dir / settings.name_or_path} "
        "nor that path exists",
        hint="set model.name_or_path to a model folder (e.g. 'escucha-minilm' under models/), "
        "train one with `escucha train`, or set model.allow_hub = true to download a hub model",
    )
