"""Compiled CPU kernel for kNN among few-dimensional points (jet constituents in (d_eta, d_phi)).

For each query, the candidates of its graph are swept outwards along the first
coordinate, keeping the k best in a small sorted list, until that coordinate alone is
farther than the k-th best: no n x n matrix in memory and, at jet sizes, fewer
distance evaluations than the dense torch path (bound by ``topk``) and torch-cluster's
KD-tree. Distances are summed over coordinates in float32 in the same
order as the dense torch path, and ties go to the lower index, so both give the same
edges.
"""

from __future__ import annotations

import numpy as np

__all__ = ["knn_sorted_graphs"]

_kernel = None


def _compile():
    global _kernel
    if _kernel is not None:
        return _kernel
    import numba

    @numba.njit(cache=True, nogil=True)
    def kernel(xs, ys, ptr_x, ptr_y, k, same, exclude_self, limit, zero, out_col, out_count):
        dims = xs.shape[1]
        best_d = np.empty(k, dtype=xs.dtype)
        best_i = np.empty(k, dtype=np.int64)
        for g in range(ptr_x.shape[0] - 1):
            x0, x1 = ptr_x[g], ptr_x[g + 1]
            nx = x1 - x0
            if nx == 0:
                for i in range(ptr_y[g], ptr_y[g + 1]):
                    out_count[i] = 0
                continue
            # Sweep along coordinate 0 outwards from each query: candidates come nearest
            # in that coordinate first, and once that alone exceeds the k-th distance
            # no farther candidate can enter.
            first = xs[x0:x1, 0]
            order = np.argsort(first)
            sorted0 = first[order]
            for i in range(ptr_y[g], ptr_y[g + 1]):
                local_i = i - ptr_y[g]
                q0 = ys[i, 0]
                hi = np.searchsorted(sorted0, q0)
                lo = hi - 1
                count = 0
                while lo >= 0 or hi < nx:
                    if hi < nx and (lo < 0 or sorted0[hi] - q0 <= q0 - sorted0[lo]):
                        jl = order[hi]
                        hi += 1
                    else:
                        jl = order[lo]
                        lo -= 1
                    d0 = ys[i, 0] - xs[x0 + jl, 0]
                    if d0 * d0 > limit or (count == k and d0 * d0 > best_d[k - 1]):
                        break
                    if same and exclude_self and jl == local_i:
                        continue
                    if dims == 2:  # (0 + a) + b == a + b: the same rounding as the general loop
                        d1 = ys[i, 1] - xs[x0 + jl, 1]
                        d = d0 * d0 + d1 * d1
                    else:
                        d = zero
                        for c in range(dims):
                            diff = ys[i, c] - xs[x0 + jl, c]
                            d += diff * diff
                    if not d <= limit:
                        continue
                    j = x0 + jl
                    if count == k and not (d < best_d[k - 1] or (d == best_d[k - 1] and j < best_i[k - 1])):
                        continue
                    p = count if count < k else k - 1
                    while p > 0 and (best_d[p - 1] > d or (best_d[p - 1] == d and best_i[p - 1] > j)):
                        if p < k:
                            best_d[p] = best_d[p - 1]
                            best_i[p] = best_i[p - 1]
                        p -= 1
                    best_d[p] = d
                    best_i[p] = j
                    if count < k:
                        count += 1
                for q in range(count):
                    out_col[i * k + q] = best_i[q]
                out_count[i] = count

    _kernel = kernel
    return kernel


def knn_sorted_graphs(xs, ys, ptr_x, ptr_y, k, same, exclude_self, limit):
    """kNN with points already grouped by graph.

    Args:
        xs: candidates [N, D] (float32 or float64 numpy), graph by graph.
        ys: queries [M, D], graph by graph (``xs`` itself when ``same``).
        ptr_x, ptr_y: where each graph starts in xs / ys, plus the end, int64 [G + 1].
        k: neighbours per query.
        same: queries are the candidates (``knn_graph``); exclude_self drops i -> i.
        limit: squared distance cut (inf for none).

    Returns:
        (row, col) int64 numpy arrays: query index, neighbour index; grouped by query,
        nearest first, ties by index.
    """
    kernel = _compile()
    m = ys.shape[0]
    out_col = np.empty(m * k, dtype=np.int64)
    out_count = np.empty(m, dtype=np.int64)
    kernel(xs, ys, ptr_x, ptr_y, k, same, exclude_self, xs.dtype.type(limit), xs.dtype.type(0), out_col, out_count)
    keep = np.arange(k)[None, :] < out_count[:, None]
    row = np.repeat(np.arange(m, dtype=np.int64), k).reshape(m, k)[keep]
    return row, out_col.reshape(m, k)[keep]
