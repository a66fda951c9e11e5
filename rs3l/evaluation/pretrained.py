"""Loading the pre-trained backbone that evaluation starts from.

``MODEL_DIR/model.pt`` is written by :func:`rs3l.train.pretrain.pretrain`: a
``torch.save`` mapping whose ``model`` (or ``backbone``) entry is the backbone's
``state_dict`` and whose ``config`` entry, when present, is the run config as a
plain mapping. The backbone is rebuilt from that stored ``model`` section when there
is one (so evaluation always matches the trained architecture), else from the run
config given here. A bare ``state_dict`` file is accepted too.

The file is read with ``torch.load(weights_only=True)``
(:func:`rs3l.train.checkpoint.load_weights_file`): model files are shared between
people, and one carrying a pickled object other than tensors and plain types is
refused with an error naming the file, without running it.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch

from rs3l.models.backbone import Backbone, build_backbone
from rs3l.models.config import BackboneConfig
from rs3l.train.checkpoint import CheckpointError, load_weights_file
from sim_pairs.typed_config import from_mapping

__all__ = ["load_pretrained_backbone", "PretrainedModelError"]

log = logging.getLogger(__name__)


class PretrainedModelError(ValueError):
    """A model directory without a usable pre-trained backbone."""


def _strip(state: dict) -> dict:
    for prefix in ("module.", "backbone."):
        if state and all(k.startswith(prefix) for k in state):
            state = {k[len(prefix):]: v for k, v in state.items()}
    return state


def load_pretrained_backbone(model_dir: str | Path, model_config: BackboneConfig, input_dims: dict[str, int],
                             device: torch.device | str = "cpu") -> tuple[Backbone, BackboneConfig]:
    """Rebuild the backbone and load its pre-trained weights.

    Args:
        model_dir: directory holding ``model.pt``.
        model_config: the run config's ``model`` section (used when the file stores none).
        input_dims: node type -> input features (``DataContract.input_dims()``).

    Returns:
        (backbone on ``device`` in eval mode, the BackboneConfig it was built from).

    Raises:
        PretrainedModelError: no ``model.pt``, a damaged one, one holding objects other than
            tensors and plain types (refused, never run), no weights in it, or weights that do
            not fit the architecture (the message lists the mismatched keys).
    """
    path = Path(model_dir) / "model.pt"
    if not path.is_file():
        raise PretrainedModelError(f"{path}: pre-trained model not found (run `rs3l pretrain` into {model_dir} first)")
    try:
        blob = load_weights_file(path, "cpu", what="pre-trained model")
    except CheckpointError as error:
        raise PretrainedModelError(str(error)) from None
    if not isinstance(blob, dict):
        raise PretrainedModelError(f"{path}: expected a mapping saved with torch.save, got {type(blob).__name__}")
    state = next((blob[k] for k in ("model", "backbone", "state_dict") if isinstance(blob.get(k), dict)), None)
    if state is None and blob and all(isinstance(v, torch.Tensor) for v in blob.values()):
        state = blob
    if state is None:
        raise PretrainedModelError(f"{path}: no 'model' state_dict inside (keys: {sorted(blob)})")
    stored_dims = blob.get("input_dims")
    if isinstance(stored_dims, dict) and dict(stored_dims) != dict(input_dims):
        raise PretrainedModelError(
            f"{path}: the backbone was pre-trained on inputs {dict(stored_dims)} but the data contract now gives "
            f"{dict(input_dims)}; evaluate with the data section used for pre-training")
    stored = blob.get("config")
    if isinstance(stored, dict) and isinstance(stored.get("model"), dict):
        model_config = from_mapping(BackboneConfig, stored["model"], source=str(path), where="config.model")
        log.info("backbone architecture read from %s", path)
    backbone = build_backbone(model_config, input_dims)
    try:
        missing, unexpected = backbone.load_state_dict(_strip(state), strict=False)
    except (RuntimeError, TypeError, AttributeError) as error:  # shapes differ, or values that are not tensors
        first = str(error).strip().splitlines()
        raise PretrainedModelError(f"{path}: the weights do not fit the backbone built from the config "
                                   f"({' '.join(first[:2])[:300]})") from None
    if missing or unexpected:
        raise PretrainedModelError(
            f"{path}: the weights do not fit the backbone built from the config; missing keys {missing[:8]}, "
            f"unexpected keys {unexpected[:8]} (is the data contract or model section different from pre-training?)")
    return backbone.to(device).eval(), model_config
