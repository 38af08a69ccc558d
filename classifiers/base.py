"""The Classifier protocol: a batch of texts in, one typed prediction per text out."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from pipeline.records import Prediction, TextItem


@runtime_checkable
class Classifier(Protocol):
    """Scores texts for language, sentiment, complaint, intent and urgency."""

    @property
    def version(self) -> str:
        """Model name and version recorded with every score."""
        ...

    def predict(self, items: Sequence[TextItem]) -> list[Prediction]:
        """One prediction per item, in order. Raises ClassifierError on failure."""
        ...
