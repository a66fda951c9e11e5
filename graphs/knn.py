"""k-nearest-neighbour graphs without pyg-lib: batched dense kNN in plain torch.

PyG 2.8's ``knn_graph`` and ``knn`` need ``pyg-lib`` (not on the public package
index) and ``torch-cluster`` is a long source build, so this module provides the same
two functions with the same ``edge_index`` layout. The dense ``torch`` path pads each
graph to the largest one in a chunk, takes all pairwise distances and a ``topk``
(any device; fastest for feature-space kNN); graphs with thousands of nodes are
processed in chunks of bounded size, so memory never exceeds ``chunk_elements``
distances at once. On CPU, points with few coordinates (jet constituents, cells) go
to a compiled numba kernel (:mod:`graphs.knn_numba`) with no n x n matrix at all.

Differences from ``torch_geometric.nn.knn_graph``, on purpose:

* ties are broken by node index (lower index first), so the edges do not depend on
  the backend, the device or the batch composition;
* with ``loop=False`` a node's own index is excluded before choosing, so every node
  gets exactly ``min(k, n - 1)`` neighbours even when points are duplicated (PyG asks
  for ``k + 1`` and removes self-loops afterwards, which gives ``k + 1`` edges when a
  duplicate outranks the node itself);
* an optional ``max_distance`` drops neighbours farther than a cut (used for the
  per-layer dR cuts of detector graphs);
* ``batch`` need not be sorted.

Edges come grouped by target node in increasing index order, and within a target by
increasing distance, like PyG's.
"""

from __future__ import annotations

import functools

import numpy as np
import torch
from torch import Tensor

__all__ = ["knn_graph", "knn", "knn_table", "available_backends", "BACKENDS"]

BACKENDS = ("auto", "torch", "numba", "pyg-lib", "torch-cluster")

#: Largest number of pairwise distances held at once (per chunk of graphs), by device:
#: on CPU chunks that stay in cache are several times faster (benchmarks/bench_graphs.py);
#: on GPU, 2**24 float32 distances plus their int64 sort keys are about 200 MB.
DEFAULT_CHUNK_ELEMENTS = {"cpu": 2**20, "cuda": 2**24}

#: Up to this many coordinates distances are summed from exact differences (exact
#: ties for duplicated points); above it the matrix-product form is used.
_EXACT_MAX_DIMS = 8


def knn_graph(
    x: Tensor,
    k: int,
    batch: Tensor | None = None,
    loop: bool = False,
    flow: str = "source_to_target",
    backend: str = "auto",
    *,
    cosine: bool = False,
    max_distance: float | None = None,
    chunk_elements: int | None = None,
) -> Tensor:
    """Edges from every node to its ``k`` nearest nodes of the same graph.

    Same semantics and layout as ``torch_geometric.nn.knn_graph`` (see the module
    docstring for the deliberate differences on ties and duplicates).

    Args:
        x: node coordinates (positions or features), shape ``[N, D]``.
        k: neighbours per node; a graph with ``n <= k`` nodes connects each node to
            all ``n - 1`` others (``n`` with ``loop=True``).
        batch: graph index of each node, shape ``[N]`` (one graph when None).
        loop: whether a node may be its own neighbour (it then comes first).
        flow: ``"source_to_target"`` gives ``edge_index = [neighbour, centre]``;
            ``"target_to_source"`` gives ``[centre, neighbour]``.
        backend: ``"auto"`` (on CPU: the numba kernel for low-dimensional positions,
            dense torch for feature space, both measured faster than the libraries; on
            GPU: pyg-lib if it works, else torch-cluster, else torch), ``"torch"``,
            ``"numba"``, ``"pyg-lib"`` or ``"torch-cluster"``.
        cosine: use the cosine distance instead of the Euclidean one.
        max_distance: keep only neighbours within this (Euclidean) distance.
        chunk_elements: bound on the number of distances held in memory at once by the
            dense path (default by device, ``DEFAULT_CHUNK_ELEMENTS``).

    Returns:
        ``edge_index``, shape ``[2, E]``, long, on ``x``'s device.
    """
    if flow not in ("source_to_target", "target_to_source"):
        raise ValueError(f"flow must be 'source_to_target' or 'target_to_source', got {flow!r}")
    x = _check_points(x, "x")
    batch = _check_batch(batch, x, "batch")
    centre, neighbour = _knn(x, None, k, batch, batch, not loop, backend, cosine, max_distance, chunk_elements)
    if flow == "source_to_target":
        return torch.stack([neighbour, centre])
    return torch.stack([centre, neighbour])


def knn_table(x: Tensor, k: int, batch: Tensor | None = None, loop: bool = True, backend: str = "auto",
              chunk_elements: int | None = None) -> tuple[Tensor, Tensor]:
    """The ``k`` nearest nodes of the same graph as a padded table, for dense message passing.

    The same neighbours, in the same order, as :func:`knn_graph` (ties by index), laid out
    per node: what a dynamic EdgeConv gathers from.

    Args:
        x, k, batch, loop, backend, chunk_elements: as in :func:`knn_graph`.

    Returns:
        ``idx`` ``[N, k']`` (long, nearest first, ``k'`` the most neighbours any node has)
        and ``valid`` ``[N, k']`` (bool). A node with fewer neighbours repeats its nearest one
        in the empty slots (itself when it has none), which leaves a max unchanged; ``valid``
        says which slots are real.
    """
    x = _check_points(x, "x")
    batch = _check_batch(batch, x, "batch")
    centre, neighbour = _knn(x, None, k, batch, batch, not loop, backend, False, None, chunk_elements)
    n = x.size(0)
    counts = torch.bincount(centre, minlength=n)
    width = int(counts.max()) if n else 0
    own = torch.arange(n, device=x.device)
    if width == 0:
        return own.new_zeros((n, 0)), torch.zeros((n, 0), dtype=torch.bool, device=x.device)
    slot = torch.arange(centre.numel(), device=x.device) - (torch.cumsum(counts, 0) - counts)[centre]
    idx = own.unsqueeze(1).repeat(1, width)
    idx[centre, slot] = neighbour
    valid = torch.arange(width, device=x.device).unsqueeze(0) < counts.unsqueeze(1)
    nearest = torch.where(counts > 0, idx[:, 0], own)
    return torch.where(valid, idx, nearest.unsqueeze(1)), valid


def knn(
    x: Tensor,
    y: Tensor,
    k: int,
    batch_x: Tensor | None = None,
    batch_y: Tensor | None = None,
    backend: str = "auto",
    *,
    cosine: bool = False,
    max_distance: float | None = None,
    chunk_elements: int | None = None,
) -> Tensor:
    """For every point of ``y``, its ``k`` nearest points of ``x`` in the same graph.

    Same semantics as ``torch_geometric.nn.knn`` (used for cross-layer cell links and
    track-to-cell links in detector graphs).

    Args:
        x: candidate points, shape ``[N, D]``.
        y: query points, shape ``[M, D]``.
        k: neighbours per query point (fewer when its graph has fewer ``x`` points).
        batch_x: graph index of each ``x`` point, shape ``[N]``.
        batch_y: graph index of each ``y`` point, shape ``[M]``.
        backend, cosine, max_distance, chunk_elements: as in :func:`knn_graph`.

    Returns:
        ``assign_index``, shape ``[2, E]``: row 0 indexes ``y``, row 1 indexes ``x``.
    """
    x = _check_points(x, "x")
    y = _check_points(y, "y")
    if x.size(1) != y.size(1):
        raise ValueError(f"x and y must have the same number of coordinates, got {x.size(1)} and {y.size(1)}")
    if x.device != y.device:
        raise ValueError(f"x is on {x.device} but y is on {y.device}")
    batch_x = _check_batch(batch_x, x, "batch_x")
    batch_y = _check_batch(batch_y, y, "batch_y")
    row, col = _knn(x, y, k, batch_x, batch_y, False, backend, cosine, max_distance, chunk_elements)
    return torch.stack([row, col])


@functools.lru_cache(maxsize=None)
def available_backends() -> tuple[str, ...]:
    """The kNN backends that import and give a correct answer on a tiny example."""
    found = ["torch"]
    try:
        import numba  # noqa: F401

        found.append("numba")
    except ImportError:
        pass
    probe = torch.tensor([[0.0, 0.0], [1.0, 0.0], [3.0, 0.0]])
    expected = torch.tensor([[0, 1, 2], [1, 0, 1]])
    for name in ("torch-cluster", "pyg-lib"):
        try:
            row, col = _EXTERNAL[name](probe, probe, 2, None, None, False)
        except Exception:  # a missing or broken compiled extension raises many types
            continue
        keep = row != col
        if torch.equal(torch.stack([row[keep], col[keep]]), expected):
            found.append(name)
    return tuple(found)


def _resolve_backend(backend: str, x: Tensor) -> str:
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if backend == "auto":
        if x.device.type == "cpu":
            # Measured on one core (benchmarks/bench_graphs.py): the compiled kernel is
            # fastest for positions, the dense torch path for feature-space kNN.
            if x.size(1) <= _EXACT_MAX_DIMS and "numba" in available_backends():
                return "numba"
            return "torch"
        usable = available_backends()
        return next(name for name in ("pyg-lib", "torch-cluster", "torch") if name in usable)
    if backend == "numba" and x.device.type != "cpu":
        raise ValueError("backend 'numba' runs on CPU tensors only; use 'torch' or 'auto' on CUDA")
    if backend != "torch" and backend not in available_backends():
        package = {
            "numba": "numba (pip install numba)",
            "pyg-lib": "pyg-lib (https://data.pyg.org/whl)",
            "torch-cluster": "torch-cluster (pip install torch-cluster)",
        }
        raise ImportError(f"kNN backend '{backend}' is not usable here: install {package[backend]} or use backend='torch'")
    return backend


def _check_points(x: Tensor, name: str) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if x.dim() == 1:
        x = x.unsqueeze(-1)
    if x.dim() != 2:
        raise ValueError(f"{name} must have shape [N, D], got {tuple(x.shape)}")
    if not x.is_floating_point():
        x = x.float()
    return x


def _check_batch(batch: Tensor | None, x: Tensor, name: str) -> Tensor:
    if batch is None:
        return torch.zeros(x.size(0), dtype=torch.long, device=x.device)
    if batch.dim() != 1 or batch.numel() != x.size(0):
        raise ValueError(f"{name} must have shape [{x.size(0)}], got {tuple(batch.shape)}")
    return batch.to(device=x.device, dtype=torch.long)


def _knn(x, y, k, batch_x, batch_y, exclude_self, backend, cosine, max_distance, chunk_elements):
    """(query index into y, neighbour index into x), grouped by query, nearest first.

    ``y is None`` means the queries are the points ``x`` themselves (``knn_graph``);
    ``exclude_self`` then removes each point from its own neighbours.
    """
    if not isinstance(k, int) or k < 0:
        raise ValueError(f"k must be an integer >= 0, got {k!r}")
    empty = torch.empty(0, dtype=torch.long, device=x.device)
    if k == 0 or x.size(0) == 0 or (y is not None and y.size(0) == 0):
        return empty, empty.clone()
    with torch.no_grad():
        if cosine:
            x = torch.nn.functional.normalize(x, dim=1)
            y = None if y is None else torch.nn.functional.normalize(y, dim=1)
        name = _resolve_backend(backend, x)
        if name in ("torch", "numba"):
            return _dense_knn(x, y, k, batch_x, batch_y, exclude_self, max_distance, chunk_elements, name == "numba")
        yy = x if y is None else y
        # One candidate more than needed shows whether a tie crosses the k-th place,
        # where an external backend chooses arbitrarily; then the dense path decides.
        row, col = _EXTERNAL[name](x, yy, k + int(exclude_self) + 1, batch_x, batch_y, False)
        edges = _canonical(x, yy, row, col, k, exclude_self, max_distance)
        if edges is None:
            return _dense_knn(x, y, k, batch_x, batch_y, exclude_self, max_distance, chunk_elements)
        return edges


def _dense_knn(x, y, k, batch_x, batch_y, exclude_self, max_distance, chunk_elements, use_numba=False):
    same = y is None
    if chunk_elements is None:
        chunk_elements = DEFAULT_CHUNK_ELEMENTS.get(x.device.type, DEFAULT_CHUNK_ELEMENTS["cuda"])
    if x.dtype in (torch.float16, torch.bfloat16):
        x = x.float()
        y = None if same else y.float()
    # Work on points sorted by graph; map back to the caller's indices at the end.
    x_order = _sort_order(batch_x)
    y_order = x_order if same else _sort_order(batch_y)
    xs = x if x_order is None else x[x_order]
    ys = xs if same else (y if y_order is None else y[y_order])
    n_graphs = int(max(batch_x.max(), batch_y.max())) + 1
    count_x = torch.bincount(batch_x, minlength=n_graphs)
    count_y = count_x if same else torch.bincount(batch_y, minlength=n_graphs)
    ptr_x = torch.cumsum(count_x, 0) - count_x
    ptr_y = ptr_x if same else torch.cumsum(count_y, 0) - count_y
    cx, cy = count_x.tolist(), count_y.tolist()
    limit = None if max_distance is None else float(max_distance) ** 2

    rows, cols = [], []
    if use_numba:
        from .knn_numba import knn_sorted_graphs

        ptr = lambda p, c: torch.cat([p, p[-1:] + c[-1:]]).numpy()  # noqa: E731
        row, col = knn_sorted_graphs(
            xs.detach().numpy(), ys.detach().numpy(), ptr(ptr_x, count_x), ptr(ptr_y, count_y),
            k, same, exclude_self, np.inf if limit is None else limit,
        )  # fmt: skip
        rows.append(torch.from_numpy(row))
        cols.append(torch.from_numpy(col))
    for graphs, start, stop in ([] if use_numba else _chunks(cx, cy, chunk_elements)):
        g = torch.as_tensor(graphs, device=x.device)
        row, col = _dense_chunk(
            xs, ys, k, g, ptr_x[g], ptr_y[g], count_x[g], count_y[g], start, stop, same, exclude_self, limit
        )
        rows.append(row)
        cols.append(col)
    row, col = torch.cat(rows), torch.cat(cols)
    if len(rows) > 1:
        order = torch.sort(row, stable=True).indices
        row, col = row[order], col[order]
    if x_order is not None:
        col = x_order[col]
    if y_order is not None:
        row = y_order[row]
        order = torch.sort(row, stable=True).indices
        row, col = row[order], col[order]
    return row, col


def _sort_order(batch: Tensor) -> Tensor | None:
    if batch.numel() < 2 or bool((batch[1:] >= batch[:-1]).all()):
        return None
    return torch.sort(batch, stable=True).indices


def _chunks(count_x: list[int], count_y: list[int], budget: int):
    """Yield (graph ids, first query row, last query row) with padded size <= budget."""
    nx, ny = max(count_x), max(count_y)
    graphs = [g for g in range(len(count_x)) if count_x[g] and count_y[g]]
    if len(graphs) * nx * ny <= budget:
        yield graphs, 0, ny
        return
    # Group graphs of similar size so that padding stays small.
    graphs.sort(key=lambda g: (count_x[g], count_y[g]))
    chunk, cx, cy = [], 0, 0
    for g in graphs:
        if count_x[g] * count_y[g] > budget:
            rows = max(1, budget // count_x[g])
            for start in range(0, count_y[g], rows):
                yield [g], start, min(count_y[g], start + rows)
            continue
        nx_, ny_ = max(cx, count_x[g]), max(cy, count_y[g])
        if chunk and (len(chunk) + 1) * nx_ * ny_ > budget:
            yield chunk, 0, cy
            chunk, nx_, ny_ = [], count_x[g], count_y[g]
        chunk.append(g)
        cx, cy = nx_, ny_
    if chunk:
        yield chunk, 0, cy


def _dense_chunk(xs, ys, k, graphs, ptr_x, ptr_y, count_x, count_y, start, stop, same, exclude_self, limit):
    device = xs.device
    nx = int(count_x.max())
    cols = torch.arange(nx, device=device)
    rows = torch.arange(start, stop, device=device)
    valid_x = cols[None, :] < count_x[:, None]  # [b, nx]
    valid_y = rows[None, :] < count_y[:, None]  # [b, ny]
    xi = (ptr_x[:, None] + cols[None, :]).clamp(max=xs.size(0) - 1)
    yi = (ptr_y[:, None] + rows[None, :]).clamp(max=ys.size(0) - 1)
    xp, yp = xs[xi], ys[yi]  # [b, nx, D], [b, ny, D]

    if xs.size(1) <= _EXACT_MAX_DIMS:
        dist = torch.zeros(yp.shape[:2] + (nx,), dtype=xs.dtype, device=device)
        for d in range(xs.size(1)):
            dist += (yp[:, :, None, d] - xp[:, None, :, d]).square()
    else:
        sq_x, sq_y = xp.square().sum(-1), yp.square().sum(-1)
        dist = torch.baddbmm(sq_y[:, :, None] + sq_x[:, None, :], yp, xp.transpose(1, 2), alpha=-2.0)
        dist = dist.clamp_(min=0.0)
    dist = dist + 0.0  # turns -0.0 into +0.0 so that the bit pattern orders correctly
    if same:
        itself = rows[:, None] == cols[None, :]  # [ny, nx]
        dist = dist.masked_fill(itself[None], float("inf") if exclude_self else 0.0)
    dist = dist.masked_fill(~valid_x[:, None, :], float("inf"))

    best, nbr = _smallest(dist, min(k, nx), cols)
    keep = torch.isfinite(best) & valid_y[:, :, None]
    if limit is not None:
        keep &= best <= limit
    row = (ptr_y[:, None, None] + rows[None, :, None]).expand_as(nbr)[keep]
    col = (ptr_x[:, None, None] + nbr)[keep]
    return row, col


def _smallest(dist: Tensor, k: int, cols: Tensor) -> tuple[Tensor, Tensor]:
    """The k smallest entries of each row of ``dist`` [..., n], ties by column index.

    A plain ``topk`` for k + 1 values is exact unless the k-th and (k + 1)-th values
    tie (then which tied column is kept is unspecified) or values tie inside the k
    (then their order is). Ties are rare in continuous coordinates, so they are
    checked for and only then the slower exact path runs.
    """
    n = dist.size(-1)
    want = min(k + 1, n)
    best, nbr = torch.topk(dist, want, dim=-1, largest=False, sorted=True)
    if want > k:
        if bool(((best[..., k - 1] == best[..., k]) & torch.isfinite(best[..., k])).any()):
            return _smallest_exact(dist, k, cols)
        best, nbr = best[..., :k], nbr[..., :k]
    if k > 1 and bool(((best[..., 1:] == best[..., :-1]) & torch.isfinite(best[..., 1:])).any()):
        order = torch.sort(nbr, dim=-1).indices
        best, nbr = best.gather(-1, order), nbr.gather(-1, order)
        order = torch.sort(best, dim=-1, stable=True).indices
        best, nbr = best.gather(-1, order), nbr.gather(-1, order)
    return best, nbr


def _smallest_exact(dist: Tensor, k: int, cols: Tensor) -> tuple[Tensor, Tensor]:
    if dist.dtype == torch.float32:
        # Non-negative floats order like their bit patterns: one int64 key holds
        # (distance, index), so topk breaks ties by index exactly.
        key = (dist.view(torch.int32).to(torch.int64) << 32) | cols
        key = torch.topk(key, k, dim=-1, largest=False, sorted=True).values
        return (key >> 32).to(torch.int32).view(torch.float32), key & 0xFFFFFFFF
    best, nbr = torch.sort(dist, dim=-1, stable=True)
    return best[..., :k], nbr[..., :k]


def _canonical(x, y, row, col, k, exclude_self, max_distance):
    """Order an external backend's edges by (query, distance, index) and keep k per query.

    The backend was asked for k + 1 candidates; returns None when, for some query, the
    (k + 1)-th candidate ties with the k-th (the choice among ties is then unknown).
    """
    if exclude_self:
        keep = row != col
        row, col = row[keep], col[keep]
    dist = (y[row] - x[col]).square().sum(-1)
    for name in ("col", "dist", "row"):  # least significant key first, each sort stable
        key = {"col": col, "dist": dist, "row": row}[name]
        order = torch.sort(key, stable=True).indices
        row, col, dist = row[order], col[order], dist[order]
    counts = torch.bincount(row, minlength=y.size(0))
    first = torch.cumsum(counts, 0) - counts
    rank = torch.arange(row.numel(), device=row.device) - first[row]
    full = counts > k
    if bool(full.any()):
        kth = dist[(first + k - 1)[full]]
        nxt = dist[(first + k)[full]]
        tied = kth == nxt
        if max_distance is not None:
            tied &= kth <= float(max_distance) ** 2
        if bool(tied.any()):
            return None
    keep = rank < k
    if max_distance is not None:
        keep &= dist <= float(max_distance) ** 2
    return row[keep], col[keep]


def _pyg_lib_knn(x, y, k, batch_x, batch_y, cosine):
    import torch_geometric.typing

    if not torch_geometric.typing.WITH_KNN:
        raise ImportError("pyg-lib with knn support is not installed")
    bx = batch_x if batch_x is not None else torch.zeros(x.size(0), dtype=torch.long, device=x.device)
    by = batch_y if batch_y is not None else torch.zeros(y.size(0), dtype=torch.long, device=y.device)
    # pyg-lib reads graphs as contiguous ranges, so sort by graph and map back.
    order_x, order_y = _sort_order(bx), _sort_order(by)
    if order_x is not None:
        x, bx = x[order_x], bx[order_x]
    if order_y is not None:
        y, by = y[order_y], by[order_y]
    n = int(max(bx.max(), by.max())) + 1
    ptr_x = torch.cat([bx.new_zeros(1), torch.cumsum(torch.bincount(bx, minlength=n), 0)])
    ptr_y = torch.cat([by.new_zeros(1), torch.cumsum(torch.bincount(by, minlength=n), 0)])
    row, col = torch.ops.pyg.knn(x, y, ptr_x, ptr_y, k, cosine, 1)
    if order_x is not None:
        col = order_x[col]
    if order_y is not None:
        row = order_y[row]
    return row, col


def _torch_cluster_knn(x, y, k, batch_x, batch_y, cosine):
    import torch_cluster

    row, col = torch_cluster.knn(x, y, k, batch_x, batch_y, cosine=cosine)
    return row, col


_EXTERNAL = {"pyg-lib": _pyg_lib_knn, "torch-cluster": _torch_cluster_knn}
