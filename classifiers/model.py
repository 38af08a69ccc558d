"""The default classifier: the fine-tuned multi-task MiniLM, run fast on CPU.

Inference sorts texts by length and pads each batch only to its longest text (length-bucketed
batches with dynamic padding), runs under ``torch.inference_mode`` with the configured thread count,
and by default uses dynamic int8 quantisation of the linear layers (chosen by measurement; see
docs/models.md). Sentiment for non-English text is blended with the character n-gram model.
"""

from __future__ import annotations

import copy
import json
import logging
import time
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from classifiers import charngram, dispatch, network
from classifiers.calibration import scale_binary, scale_probs
from classifiers.charngram import CharNgramModel
from classifiers.complaint_cues import combine, cue_score
from classifiers.intent import derive_intent
from classifiers.language import SUPPORTED, UNDETERMINED, detect_many
from classifiers.risk import Features, Prototypes, RiskHead, lexicon_matrix
from classifiers.urgency import ModelView, Signal, assess, signals_in
from pipeline.errors import ClassifierError
from pipeline.fold import fold
from pipeline.records import SENTIMENTS, Prediction, TextItem
from pipeline.settings import ModelSettings

logger = logging.getLogger(__name__)

PRECISIONS = dispatch.PRECISIONS
PROBE_OUTPUTS = ("sentiment", "complaint", "urgency")  # labels compared with fp32 by the probe


def quantize_int8(net: Any) -> Any:
    """Dynamic int8 quantisation of the linear layers (int8 weights, activations per batch)."""
    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        quantize: Any = torch.ao.quantization.quantize_dynamic
        return quantize(net, {torch.nn.Linear}, dtype=torch.qint8)


def to_bf16(net: Any) -> Any:
    """The encoder in bf16; its output is cast back so pooling and the heads stay in fp32."""
    import torch

    net["encoder"].to(torch.bfloat16)
    net["encoder"].register_forward_hook(_hidden_to_fp32)
    return net


def _hidden_to_fp32(module: Any, args: Any, output: Any) -> Any:
    output.last_hidden_state = output.last_hidden_state.float()
    return output


def convert(net: Any, precision: str) -> Any:
    """The fp32 network ``net`` run in ``precision`` (bf16 converts in place; int8 copies)."""
    if precision == "int8":
        return quantize_int8(net)
    if precision == "bf16":
        return to_bf16(net)
    return net


class TransformerClassifier:
    """Scores texts for language, sentiment, complaint, intent and urgency."""

    def __init__(self, folder: Path, settings: ModelSettings | None = None) -> None:
        settings = settings or ModelSettings()
        self.folder = folder
        try:
            self.config: dict[str, Any] = json.loads((folder / "config.json").read_text("utf-8"))
        except (OSError, ValueError) as exc:
            raise ClassifierError(
                f"cannot read the model config {folder / 'config.json'} ({exc})",
                hint="train a model with `escucha train` or fix model.name_or_path",
            ) from exc
        import torch
        from transformers import AutoTokenizer

        if settings.threads:
            torch.set_num_threads(settings.threads)
        self.batch_size = settings.batch_size
        self.max_length = min(settings.max_length, int(self.config.get("max_length", 128)) * 2)
        self.tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
        self.char_model = CharNgramModel.load(folder)
        self.risk_head = RiskHead.load(folder)
        self.risk_lexicons = bool(self.config.get("risk", {}).get("lexicon_evidence", True))
        blend = self.config.get("char_blend", {})
        self.char_weight = float(blend.get("weight_non_english", 0.0))
        self.char_weight_en = float(blend.get("weight_english", 0.0))
        self.complaint_threshold = float(self.config.get("complaint_threshold", 0.5))
        calibration = self.config.get("calibration", {})
        temperatures = calibration.get("sentiment_temperature", {})
        self.temperature_en = float(temperatures.get("english", 1.0))
        self.temperature = float(temperatures.get("non_english", 1.0))
        self.temperature_by_language = {
            str(lang): float(t) for lang, t in temperatures.get("by_language", {}).items()
        }
        self.complaint_temperature = float(calibration.get("complaint_temperature", 1.0))
        self._version = f"{self.config.get('name', folder.name)}@{self.config.get('version', '0')}"
        self.net = network.load(folder)
        self._probe_nets: dict[str, Any] = {}
        decision = dispatch.decide(
            settings.precision,
            self._probe_labels,
            self._probe_seconds,
            PROBE_OUTPUTS,
            key=(str(folder), torch.get_num_threads(), self.batch_size, self.max_length),
        )
        chosen = self._probe_nets.get(decision.precision)
        self.net = chosen if chosen is not None else convert(self.net, decision.precision)
        self._probe_nets.clear()
        self.prototypes = Prototypes.build(
            settings.risk_categories, lambda texts: self.raw_scores(texts)["pooled"]
        )
        self.precision = decision.precision
        self.precision_reason = decision.reason
        self.cpu_flags = decision.cpu_flags
        self.precision_decision = decision
        logger.info(
            "loaded model %s: %s",
            self._version,
            decision.reason,
            extra={"precision": decision.precision, "cpu_flags": list(decision.cpu_flags)},
        )

    @contextmanager
    def _running(self, precision: str) -> Iterator[None]:
        """Run on ``precision`` for a while (a converted copy of the fp32 network, kept)."""
        net = self.net if precision == "fp32" else self._probe_nets.get(precision)
        if net is None:
            net = self._probe_nets[precision] = convert(copy.deepcopy(self.net), precision)
        fp32, self.net = self.net, net
        try:
            yield
        finally:
            self.net = fp32

    def _probe_labels(self, precision: str) -> list[tuple[object, ...]]:
        """Each probe text's sentiment, complaint flag and urgency level in ``precision``."""
        with self._running(precision):
            predictions = self.predict([TextItem(text) for text in dispatch.PROBE_TEXTS])
        return [
            (p.sentiment, p.complaint >= self.complaint_threshold, p.urgency.level)
            for p in predictions
        ]

    def _probe_seconds(self, precision: str) -> float:
        """Seconds of one batch of probe texts through the network in ``precision``."""
        texts = dispatch.PROBE_TEXTS[: self.batch_size]
        with self._running(precision):
            started = time.perf_counter()
            self.raw_scores(texts)
            return time.perf_counter() - started

    @property
    def version(self) -> str:
        return self._version

    def tokenize(self, texts: Sequence[str]) -> list[tuple[list[int], Any, Any]]:
        """Length-sorted batches: (indices into ``texts``, input_ids, attention_mask).

        One call of the fast tokenizer for every text (not one per batch), then each batch is
        padded to its own longest text, as ``tokenizer(batch, padding=True)`` would.
        """
        import numpy as np
        import torch

        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        ids = self.tokenizer(
            [texts[i] or " " for i in order],
            truncation=True,
            max_length=self.max_length,
            return_attention_mask=False,
            return_token_type_ids=False,
        )["input_ids"]
        pad = self.tokenizer.pad_token_id or 0
        batches = []
        for start in range(0, len(order), self.batch_size):
            rows = ids[start : start + self.batch_size]
            lengths = np.fromiter((len(row) for row in rows), dtype=np.int64, count=len(rows))
            width = int(lengths.max())
            input_ids = np.full((len(rows), width), pad, dtype=np.int64)
            for r, row in enumerate(rows):
                input_ids[r, : len(row)] = row
            mask = (np.arange(width)[None, :] < lengths[:, None]).astype(np.int64)
            batches.append(
                (
                    order[start : start + self.batch_size],
                    torch.from_numpy(input_ids),
                    torch.from_numpy(mask),
                )
            )
        return batches

    def encode(self, batches: Sequence[tuple[list[int], Any, Any]], n: int) -> dict[str, Any]:
        """The network over tokenized ``batches`` of ``n`` texts (see :meth:`raw_scores`)."""
        import numpy as np
        import torch

        sentiment = np.zeros((n, 3), dtype=np.float32)
        complaint = np.zeros(n, dtype=np.float32)
        severity = np.zeros(n, dtype=np.float32)
        pooled = np.zeros((n, network.HIDDEN), dtype=np.float32)
        with torch.inference_mode():
            for index, input_ids, attention_mask in batches:
                out = network.forward(self.net, input_ids, attention_mask)
                sentiment[index] = torch.softmax(out["sentiment"].float(), -1).numpy()
                complaint[index] = torch.sigmoid(out["complaint"].float()).numpy()
                severity[index] = torch.sigmoid(out["severity"].float()).numpy()
                pooled[index] = out["pooled"].float().numpy()
        return {
            "sentiment": sentiment,
            "complaint": complaint,
            "severity": severity,
            "pooled": pooled,
        }

    def raw_scores(self, texts: Sequence[str]) -> dict[str, Any]:
        """Transformer outputs: ``sentiment`` probs (n, 3), ``complaint`` and ``severity`` (n,),
        and the ``pooled`` text vectors (n, hidden)."""
        return self.encode(self.tokenize(texts), len(texts))

    def blend(
        self, raw: dict[str, Any], texts: Sequence[str], langs: Sequence[str]
    ) -> dict[str, Any]:
        """``raw`` with sentiment blended with the char n-gram model (weights per language).

        The texts' n-gram ``counts`` are kept in ``raw`` where the risk head will read them too.
        """
        import numpy as np

        if self.risk_head is not None:
            raw["counts"] = charngram.counts(texts)
        if self.char_model is None:
            return raw
        weights = np.array(
            [self.char_weight_en if lang == "en" else self.char_weight for lang in langs],
            dtype=np.float32,
        )
        chosen = np.flatnonzero(weights > 0)
        if len(chosen):
            matrix = raw["counts"][chosen] if "counts" in raw else None
            char = self.char_model.predict_proba(
                [texts[int(i)] for i in chosen], [langs[int(i)] for i in chosen], matrix=matrix
            )
            w = weights[chosen][:, None]
            raw["sentiment"][chosen] = (1 - w) * raw["sentiment"][chosen] + w * char
        return raw

    def blended(self, texts: Sequence[str], langs: Sequence[str]) -> dict[str, Any]:
        """Raw scores with sentiment blended with the char n-gram model (weights per language)."""
        return self.blend(self.raw_scores(texts), texts, langs)

    def calibrate(self, out: dict[str, Any], langs: Sequence[str]) -> dict[str, Any]:
        """``out`` scaled by the temperatures fitted on the validation files."""
        import numpy as np

        codes = np.array(langs)
        for lang in set(langs):
            if lang == "en":
                temperature = self.temperature_en
            else:
                temperature = self.temperature_by_language.get(lang, self.temperature)
            if temperature != 1.0:
                mask = codes == lang
                out["sentiment"][mask] = scale_probs(out["sentiment"][mask], temperature)
        out["complaint"] = scale_binary(out["complaint"], self.complaint_temperature)
        return out

    def scores(self, texts: Sequence[str], langs: Sequence[str]) -> dict[str, Any]:
        """Blended scores, calibrated by the temperatures fitted on the validation files."""
        return self.calibrate(self.blended(texts, langs), langs)

    def languages(self, items: Sequence[TextItem]) -> list[str]:
        """The item's own language where known and supported, else the detected one."""
        langs = [
            (item.lang or "").lower()[:2] if (item.lang or "").lower()[:2] in SUPPORTED else ""
            for item in items
        ]
        todo = [i for i, lang in enumerate(langs) if not lang]
        for i, lang in zip(todo, detect_many([items[i].text for i in todo]), strict=True):
            langs[i] = lang
        return langs

    def analyse(self, items: Sequence[TextItem], *, keep_counts: bool = False) -> Analysis:
        """Everything but the risk head and urgency: languages, calibrated scores, lexicon hits.

        ``keep_counts``: keep the n-gram counts even without a risk head (to fit or test one).
        """
        try:
            langs = self.languages(items)
            texts = [item.text for item in items]
            raw = self.raw_scores(texts)
            if keep_counts:
                raw["counts"] = charngram.counts(texts)
            raw = self.calibrate(self.blend(raw, texts, langs), langs)
        except (RuntimeError, ValueError) as exc:
            raise ClassifierError(
                f"the model {self._version} failed on a batch of {len(items)} texts ({exc})",
                hint="check model.max_length and model.batch_size, or set model.precision = 'fp32'",
            ) from exc
        folded = [fold(item.text) for item in items]  # once for cues, intent, urgency
        signals = [signals_in(text) for text in folded]
        sentiment, views = [], []
        for i, item in enumerate(items):
            probs = {label: float(raw["sentiment"][i][k]) for k, label in enumerate(SENTIMENTS)}
            complaint = float(raw["complaint"][i])
            if langs[i] != "en":  # the head saw English only; explicit cues fill the gap
                complaint = combine(complaint, cue_score(item.text, langs[i], folded=folded[i]))
            sentiment.append(probs)
            views.append(
                ModelView(
                    complaint=complaint,
                    severity=float(raw["severity"][i]),
                    negative=probs["negative"],
                    threshold=self.complaint_threshold,
                )
            )
        return Analysis(list(items), langs, raw, folded, signals, sentiment, views)

    def predict(self, items: Sequence[TextItem]) -> list[Prediction]:
        if not items:
            return []
        analysis = self.analyse(items)
        risks: list[Any] = [None] * len(items)
        if self.risk_head is not None:
            risks = self.risk_head.views(self.risk_head.probabilities(analysis.features()))
        if self.prototypes is not None:
            risks = self.prototypes.merge(risks, analysis.raw["pooled"])
        predictions = []
        for i, item in enumerate(items):
            probs, view = analysis.sentiment[i], analysis.views[i]
            predictions.append(
                Prediction(
                    lang=analysis.langs[i] or UNDETERMINED,
                    sentiment=max(probs, key=probs.__getitem__),
                    sentiment_scores=probs,
                    complaint=view.complaint,
                    intent=derive_intent(
                        item.text,
                        probs,
                        view.complaint,
                        self.complaint_threshold,
                        folded=analysis.folded[i],
                    ),
                    urgency=assess(
                        item,
                        view,
                        folded=analysis.folded[i],
                        signals=analysis.signals[i],
                        risk=risks[i],
                        lexicons=self.risk_lexicons or risks[i] is None,
                    ),
                    model_version=self._version,
                )
            )
        return predictions


@dataclass
class Analysis:
    """One batch through the model, up to the risk head: what urgency and the risk head read."""

    items: list[TextItem]
    langs: list[str]
    raw: dict[str, Any]  # calibrated scores, ``pooled`` vectors, ``counts`` where kept
    folded: list[str]
    signals: list[tuple[list[Signal], bool]]
    sentiment: list[dict[str, float]]
    views: list[ModelView]

    def features(self) -> Features:
        """The risk head's three views: pooled vectors, n-gram counts, lexicon hits."""
        if "counts" not in self.raw:
            raise ClassifierError("the batch's n-gram counts were not kept")
        found = [[signal.reason for signal in hits] for hits, _ in self.signals]
        return Features(
            pooled=self.raw["pooled"], counts=self.raw["counts"], lexicon=lexicon_matrix(found)
        )
