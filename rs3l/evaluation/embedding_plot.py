"""A 2-d t-SNE map of the embedding, coloured by true class and by view.

A picture of what the contrastive objective did: views of one jet should sit
together (colour by view: mixed), classes apart (colour by class: separated).
t-SNE (van der Maaten & Hinton 2008) from scikit-learn on the L2-normalised
embedding, i.e. the heads' input.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .plots import plt_hep, save_figure

__all__ = ["tsne_2d", "plot_embedding"]


def tsne_2d(embedding, *, perplexity: float = 30.0, seed: int = 0) -> np.ndarray:
    """t-SNE of ``[N, D]`` L2-normalised embeddings to ``[N, 2]`` (same seed, same map).

    The perplexity is lowered to (N - 1) / 3 for small samples, as t-SNE requires
    perplexity < N; up to 300 points the exact gradient is used, above that Barnes-Hut.
    """
    from sklearn.manifold import TSNE

    z = np.asarray(embedding, dtype=np.float64)
    if z.ndim != 2 or len(z) < 4:
        raise ValueError(f"t-SNE needs an [N >= 4, D] embedding, got shape {z.shape}")
    z = z / np.maximum(np.linalg.norm(z, axis=1, keepdims=True), 1e-12)
    perplexity = min(perplexity, (len(z) - 1) / 3.0)
    # Barnes-Hut pays off only for large samples; the exact gradient is faster below a few hundred points.
    method = "exact" if len(z) <= 300 else "barnes_hut"
    return TSNE(n_components=2, perplexity=perplexity, init="pca", method=method, random_state=seed).fit_transform(z)


def plot_embedding(embedding, labels, views, class_names, stem, *, max_points: int = 2000,
                   perplexity: float = 30.0, seed: int = 0, formats=("png", "pdf")) -> list[Path]:
    """Two panels of the t-SNE map: coloured by true class (left) and by view (right).

    Args:
        embedding: [N, D] backbone outputs; labels: [N] class indices; views: [N] view names.
        max_points: a random subset of at most this many jets is mapped.
    """
    z, labels, views = np.asarray(embedding), np.asarray(labels), np.asarray(views)
    rng = np.random.default_rng(seed)
    if len(z) > max_points:
        keep = np.sort(rng.choice(len(z), max_points, replace=False))
        z, labels, views = z[keep], labels[keep], views[keep]
    xy = tsne_2d(z, perplexity=perplexity, seed=seed)
    plt = plt_hep()
    fig, axes = plt.subplots(1, 2, figsize=(16, 7))
    for ax, values, names, title in (
        (axes[0], labels, [class_names[i] for i in sorted(set(labels.tolist()))], "true class"),
        (axes[1], views, sorted(set(views.tolist())), "view"),
    ):
        keys = sorted(set(values.tolist()))
        for key, name in zip(keys, names):
            sel = values == key
            ax.scatter(xy[sel, 0], xy[sel, 1], s=6, alpha=0.6, label=name)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_xlabel("t-SNE 1")
        ax.set_ylabel("t-SNE 2")
        ax.legend(title=title, fontsize="x-small", markerscale=3)
    return save_figure(fig, stem, formats)
