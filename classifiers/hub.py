"""Any Hugging Face sentiment model (hub id or local folder) behind the Classifier protocol.

For users who configure another model: its labels are mapped onto negative/neutral/positive by
name; complaint is approximated by p(negative). Downloads only when ``model.allow_hub`` is true.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from classifiers.intent import derive_intent
from classifiers.language import detect_many
from classifiers.urgency import ModelView, assess
from pipeline.errors import ClassifierError
from pipeline.records import SENTIMENTS, Prediction, TextItem
from pipeline.settings import ModelSettings

logger = logging.getLogger(__name__)

_ALIASES = {
    "neg": "negative",
    "neu": "neutral",
    "pos": "positive",
    "label_0": "negative",
    "label_1": "neutral",
    "label_2": "positive",
}


class HubClassifier:
    """A sequence-classification model whose labels name sentiments."""

    def __init__(self, name_or_path: str, settings: ModelSettings) -> None:
        try:
            from transformers import AutoModelForSequenceClassification, AutoTokenizer

            offline = not settings.allow_hub
            self.tokenizer = AutoTokenizer.from_pretrained(name_or_path, local_files_only=offline)
            self.model = AutoModelForSequenceClassification.from_pretrained(
                name_or_path, local_files_only=offline
            ).eval()
        except (OSError, ValueError) as exc:
            raise ClassifierError(
                f"cannot load the model {name_or_path!r} ({exc})",
                hint="check model.name_or_path; hub ids need model.allow_hub = true and a network",
            ) from exc
        labels: dict[int, str] = dict(self.model.config.id2label)
        self.columns: dict[str, int] = {}
        for index, label in labels.items():
            name = _ALIASES.get(label.lower(), label.lower())
            for sentiment in SENTIMENTS:
                if name.startswith(sentiment[:3]):
                    self.columns[sentiment] = int(index)
        if "negative" not in self.columns or "positive" not in self.columns:
            raise ClassifierError(
                f"the model {name_or_path!r} has labels {sorted(labels.values())}, not sentiments",
                hint="use a sentiment model with negative/neutral/positive labels",
            )
        self.settings = settings
        self._version = name_or_path

    @property
    def version(self) -> str:
        return self._version

    def _probs(self, texts: Sequence[str]) -> Any:
        import torch

        out = []
        with torch.inference_mode():
            for start in range(0, len(texts), self.settings.batch_size):
                encoded = self.tokenizer(
                    list(texts[start : start + self.settings.batch_size]),
                    padding=True,
                    truncation=True,
                    max_length=self.settings.max_length,
                    return_tensors="pt",
                )
                out.append(torch.softmax(self.model(**encoded).logits.float(), -1))
        return torch.cat(out).numpy()

    def predict(self, items: Sequence[TextItem]) -> list[Prediction]:
        if not items:
            return []
        probs = self._probs([item.text for item in items])
        langs = detect_many([item.text for item in items])
        predictions = []
        for i, item in enumerate(items):
            scores = {
                s: float(probs[i][self.columns[s]]) if s in self.columns else 0.0
                for s in SENTIMENTS
            }
            total = sum(scores.values()) or 1.0
            scores = {s: v / total for s, v in scores.items()}
            complaint = scores["negative"]
            view = ModelView(complaint=complaint, severity=0.5 * complaint, negative=complaint)
            predictions.append(
                Prediction(
                    lang=item.lang or langs[i],
                    sentiment=max(scores, key=scores.__getitem__),
                    sentiment_scores=scores,
                    complaint=complaint,
                    intent=derive_intent(item.text, scores, complaint),
                    urgency=assess(item, view),
                    model_version=self._version,
                )
            )
        return predictions
