"""The ``evaluate`` section of a run config: heads, metrics, robustness and report.

Settings follow RS3L (Harris et al., arXiv 2403.07066, see REFERENCE.md section 2):
heads on the L2-normalised 8-d embedding, a linear layer or an MLP
8->128->64->32->8->1; the backbone frozen ("fixed"), fine-tuned ("floating") at
lr 1e-4 with batch 1000, or trained from scratch (the supervised baseline);
background rejection 1/eps_B at eps_S 0.3, 0.5, 0.7 and the Wasserstein-1 distance
between tagger outputs on the nominal view and on each other view.

This module imports nothing heavy so that ``rs3l.config`` stays cheap to import.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

__all__ = ["EvaluateConfig", "HEADS", "MODES"]

HEADS = ("linear", "mlp")
MODES = ("frozen", "finetune", "supervised")


@dataclass
class EvaluateConfig:
    """How the pre-trained backbone is evaluated downstream.

    Tasks are names from :data:`rs3l.evaluation.tasks.TASKS` (``q_vs_g``,
    ``hbb_vs_qcd``, ``wqq_vs_qcd``, ``zqq_vs_qcd``, ``top_vs_qcd``, ``multiclass``,
    ``energy``) or ``auto``: every built-in task whose labels the dataset holds.
    A task named explicitly whose labels are missing is an error.

    The comparison table of the report has one row per *tagger* = (mode, head):
    ``frozen`` trains every head in ``heads`` on the frozen backbone; ``finetune``
    and ``supervised`` train the backbone too, with ``finetune_head`` on top.
    """

    tasks: list[str] = field(default_factory=lambda: ["auto"])
    heads: list[Literal["linear", "mlp"]] = field(default_factory=lambda: ["linear", "mlp"])
    modes: list[Literal["frozen", "finetune", "supervised"]] = field(
        default_factory=lambda: ["frozen", "finetune", "supervised"])
    finetune_head: Literal["linear", "mlp"] = "mlp"  # head on the fine-tuned / supervised backbone
    mlp_hidden: list[int] = field(default_factory=lambda: [128, 64, 32, 8])  # RS3L: 8->128->64->32->8->1
    label_fractions: list[float] = field(default_factory=lambda: [0.01, 0.1, 1.0])  # of the train split
    epochs: int = 100  # frozen MLP heads: on cached embeddings, an epoch costs milliseconds (the linear probe is fitted to its optimum)
    finetune_epochs: int = 10  # fine-tuned and supervised taggers (at least min_steps steps)
    min_steps: int = 200  # fine-tuned and supervised taggers: more epochs when a small label fraction gives fewer steps
    patience: int = 10  # epochs without a lower validation loss before a tagger or MLP head stops early
    lr: float = 1e-2  # frozen MLP heads, Adam
    finetune_lr: float = 1e-4  # RS3L "floating" backbone
    supervised_lr: float = 1e-3  # from scratch, as the pre-training
    batch_size: int = 1000  # graph batches: fine-tuning, supervised, embedding (RS3L fine-tuning batch)
    head_batch_size: int = 64  # embedding batches of the frozen heads
    signal_efficiencies: list[float] = field(default_factory=lambda: [0.3, 0.5, 0.7])
    bootstrap: int = 100  # resamples of the test set for uncertainties (0: none)
    confidence: float = 0.68  # central interval of the bootstrap distribution
    nominal_view: str = "nominal"
    views: list[str] = field(default_factory=list)  # views to compare; empty: every view in the test split
    energy_bins: list[float] = field(default_factory=list)  # GeV edges; empty: n_energy_bins quantile bins
    n_energy_bins: int = 5
    tsne_samples: int = 2000  # test jets in the t-SNE plot (0: no t-SNE)
    tsne_perplexity: float = 30.0
    plot_formats: list[Literal["png", "pdf"]] = field(default_factory=lambda: ["png", "pdf"])
    seed: int = 0
    num_workers: int = 0  # data-loader workers
    # what the frozen heads see and fine-tuning starts from: 'embedding' (RS3L), the backbone's output,
    # before a projection head (model.projection) when it has one (SimCLR practice); 'projection', the
    # projection head's output, the space the contrastive loss saw (the embedding without one); 'pooled',
    # the pooled node features before the MLP to the embedding (that MLP is itself a projection head)
    representation: Literal["embedding", "projection", "pooled"] = "embedding"
    # what every head does to its input first: 'l2' divides it by its L2 norm (RS3L); 'standardise' subtracts
    # each feature's mean and divides by its standard deviation (MAE's linear probe), which keeps the norm that
    # sum pooling fills with the multiplicity; 'none' leaves it as it is
    head_input: Literal["l2", "standardise", "none"] = "l2"

    def __post_init__(self):
        for name in ("heads", "modes"):
            if not getattr(self, name):
                raise ValueError(f"{name}: at least one entry is needed")
        if not self.tasks:
            raise ValueError("tasks: at least one task (or 'auto') is needed")
        for f in self.label_fractions:
            if not 0.0 < f <= 1.0:
                raise ValueError(f"label_fractions: {f} is not in (0, 1]")
        for e in self.signal_efficiencies:
            if not 0.0 < e < 1.0:
                raise ValueError(f"signal_efficiencies: {e} is not in (0, 1)")
        if not 0.0 < self.confidence < 1.0:
            raise ValueError(f"confidence: {self.confidence} is not in (0, 1)")
        if any(h <= 0 for h in self.mlp_hidden):
            raise ValueError(f"mlp_hidden: widths must be positive, got {self.mlp_hidden}")
        if list(self.energy_bins) != sorted(self.energy_bins) or len(set(self.energy_bins)) != len(self.energy_bins):
            raise ValueError(f"energy_bins: edges must increase strictly, got {self.energy_bins}")
        if self.energy_bins and len(self.energy_bins) < 2:
            raise ValueError("energy_bins: at least two edges are needed")
        for name in ("epochs", "finetune_epochs", "batch_size", "head_batch_size", "n_energy_bins"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}: must be at least 1, got {getattr(self, name)}")
        for name in ("bootstrap", "tsne_samples", "num_workers", "min_steps", "patience"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name}: must not be negative, got {getattr(self, name)}")
        for name in ("lr", "finetune_lr", "supervised_lr"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name}: must be positive, got {getattr(self, name)}")

    @property
    def taggers(self) -> list[tuple[str, str]]:
        """The (mode, head) pairs trained, in report order."""
        out = []
        for mode in MODES:
            if mode not in self.modes:
                continue
            if mode == "frozen":
                out += [(mode, h) for h in HEADS if h in self.heads]
            else:
                out.append((mode, self.finetune_head))
        return out
