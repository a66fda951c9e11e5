"""graphs.knn against a brute-force loop, scipy's cKDTree and (when installed) torch-cluster."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from graphs.knn import available_backends, knn, knn_graph


def brute_knn(x, y, k, batch_x, batch_y, exclude_self=False, max_distance=None):
    """For each y point in index order, its k nearest x points of the same graph, ties by index."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    rows, cols = [], []
    for i in range(len(y)):
        candidates = [j for j in range(len(x)) if batch_x[j] == batch_y[i] and not (exclude_self and j == i)]
        dist = [float(((x[j] - y[i]) ** 2).sum()) for j in candidates]
        ranked = sorted(zip(dist, candidates))
        if max_distance is not None:
            ranked = [(d, j) for d, j in ranked if d <= max_distance**2]
        for _, j in ranked[:k]:
            rows.append(i)
            cols.append(j)
    return np.array([rows, cols], dtype=np.int64).reshape(2, -1)


def uneven_batch(sizes, dims=2, seed=0, integer=False):
    rng = np.random.default_rng(seed)
    n = sum(sizes)
    x = rng.integers(0, 4, size=(n, dims)) if integer else rng.normal(size=(n, dims))
    batch = np.repeat(np.arange(len(sizes)), sizes)
    return torch.tensor(x, dtype=torch.float32), torch.tensor(batch)


@pytest.mark.parametrize("loop", [False, True])
@pytest.mark.parametrize("integer", [False, True], ids=["random", "ties"])
def test_knn_graph_matches_brute_force_on_uneven_batches(loop, integer):
    # sizes include a graph smaller than k and a single node
    x, batch = uneven_batch([7, 1, 3, 12, 5], integer=integer, seed=1)
    k = 4
    got = knn_graph(x, k, batch, loop=loop, flow="target_to_source", backend="torch")
    ref = brute_knn(x, x, k, batch.numpy(), batch.numpy(), exclude_self=not loop)
    assert np.array_equal(got.numpy(), ref)


def test_duplicates_give_exactly_k_neighbours_without_self_loops():
    x = torch.zeros(6, 2)  # all points identical: every distance ties
    edge_index = knn_graph(x, 3, backend="torch")
    neighbour, centre = edge_index
    assert bool((neighbour != centre).all())
    assert torch.bincount(centre).tolist() == [3] * 6
    # ties by index: node 0 -> 1, 2, 3; node 4 -> 0, 1, 2
    assert neighbour[centre == 0].tolist() == [1, 2, 3]
    assert neighbour[centre == 4].tolist() == [0, 1, 2]


def test_loop_puts_the_node_itself_first():
    x, batch = uneven_batch([5, 6], dims=16, seed=2)  # 16 dims: the matrix-product path
    neighbour, centre = knn_graph(x, 3, batch, loop=True, backend="torch")
    first = torch.arange(0, neighbour.numel(), 3)
    assert torch.equal(neighbour[first], centre[first])


def test_flow_swaps_rows():
    x, batch = uneven_batch([6, 4], seed=3)
    a = knn_graph(x, 2, batch, flow="source_to_target", backend="torch")
    b = knn_graph(x, 2, batch, flow="target_to_source", backend="torch")
    assert torch.equal(a, b.flip(0))
    with pytest.raises(ValueError, match="flow"):
        knn_graph(x, 2, batch, flow="sideways")


def test_k_larger_than_every_graph_gives_all_other_nodes():
    x, batch = uneven_batch([3, 2, 4], seed=4)
    neighbour, centre = knn_graph(x, 10, batch, backend="torch")
    assert torch.bincount(centre).tolist() == [2] * 3 + [1] * 2 + [3] * 4
    assert bool((batch[neighbour] == batch[centre]).all())


def test_high_dimensional_features_match_brute_force():
    x, batch = uneven_batch([20, 9, 31], dims=64, seed=5)
    got = knn_graph(x, 6, batch, flow="target_to_source", backend="torch")
    ref = brute_knn(x, x, 6, batch.numpy(), batch.numpy(), exclude_self=True)
    assert np.array_equal(got.numpy(), ref)


def test_unsorted_batch_and_chunking_give_the_same_edges():
    x, batch = uneven_batch([9, 40, 3, 17, 25], seed=6)
    perm = torch.randperm(len(x), generator=torch.Generator().manual_seed(0))
    got = knn_graph(x[perm], 5, batch[perm], flow="target_to_source", backend="torch", chunk_elements=200)
    ref = brute_knn(x[perm], x[perm], 5, batch[perm].numpy(), batch[perm].numpy(), exclude_self=True)
    assert np.array_equal(got.numpy(), ref)


def test_knn_between_two_point_sets_matches_brute_force():
    x, batch_x = uneven_batch([5, 0, 8, 2], seed=7)
    y, batch_y = uneven_batch([3, 2, 4, 1], seed=8)
    got = knn(x, y, 3, torch.tensor([0] * 5 + [2] * 8 + [3] * 2), batch_y, backend="torch")
    ref = brute_knn(x, y, 3, [0] * 5 + [2] * 8 + [3] * 2, batch_y.numpy())
    assert np.array_equal(got.numpy(), ref)
    # graph 1 has queries but no candidates: no edges from it
    assert not bool(((got[0] >= 3) & (got[0] < 5)).any())


def test_max_distance_and_cosine():
    x, batch = uneven_batch([15, 10], seed=9)
    got = knn_graph(x, 5, batch, flow="target_to_source", backend="torch", max_distance=0.7)
    ref = brute_knn(x, x, 5, batch.numpy(), batch.numpy(), exclude_self=True, max_distance=0.7)
    assert np.array_equal(got.numpy(), ref)
    unit = torch.nn.functional.normalize(x, dim=1)
    got = knn_graph(x * torch.rand(len(x), 1) * 5 + 0.0, 4, batch, flow="target_to_source", cosine=True)
    ref = brute_knn(unit, unit, 4, batch.numpy(), batch.numpy(), exclude_self=True)
    assert np.array_equal(got.numpy(), ref)


def test_matches_scipy_ckdtree_and_float64():
    spatial = pytest.importorskip("scipy.spatial")
    rng = np.random.default_rng(10)
    points = rng.uniform(-0.8, 0.8, size=(300, 2))
    tree = spatial.cKDTree(points)
    dist, idx = tree.query(points, k=9)  # the point itself plus 8 neighbours
    for dtype in (torch.float32, torch.float64):
        neighbour, centre = knn_graph(torch.tensor(points, dtype=dtype), 8, backend="torch")
        got = neighbour.view(300, 8).numpy()
        assert np.array_equal(got, idx[:, 1:])
        assert np.allclose(np.linalg.norm(points[got] - points[:, None], axis=-1), dist[:, 1:], atol=1e-6)


def test_empty_inputs_and_bad_arguments():
    assert knn_graph(torch.zeros(0, 2), 3).shape == (2, 0)
    assert knn_graph(torch.zeros(4, 2), 0).shape == (2, 0)
    with pytest.raises(ValueError, match="k must be"):
        knn_graph(torch.zeros(4, 2), -1)
    with pytest.raises(ValueError, match="batch"):
        knn_graph(torch.zeros(4, 2), 2, torch.zeros(3, dtype=torch.long))
    with pytest.raises(ValueError, match="backend"):
        knn_graph(torch.zeros(4, 2), 2, backend="faiss")


def test_no_autograd_graph_is_kept():
    x = torch.randn(20, 8, requires_grad=True)
    edge_index = knn_graph(x, 3)
    assert not edge_index.requires_grad and edge_index.dtype == torch.long


@pytest.mark.parametrize("backend", ["torch-cluster", "pyg-lib"])
def test_external_backends_agree(backend):
    if backend not in available_backends():
        pytest.skip(f"{backend} not installed")
    for integer in (False, True):  # integer coordinates: many ties across the k-th place
        x, batch = uneven_batch([30, 4, 50], seed=11, integer=integer)
        for loop in (False, True):
            ours = knn_graph(x, 6, batch, loop=loop, backend="torch")
            theirs = knn_graph(x, 6, batch, loop=loop, backend=backend)
            assert torch.equal(ours, theirs)
    y, batch_y = uneven_batch([5, 2, 7], seed=12)
    assert torch.equal(knn(x, y, 3, batch, batch_y, backend="torch"), knn(x, y, 3, batch, batch_y, backend=backend))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_matches_cpu():
    x, batch = uneven_batch([50, 120, 7], dims=32, seed=13)
    cpu = knn_graph(x, 8, batch)
    gpu = knn_graph(x.cuda(), 8, batch.cuda())
    assert torch.equal(cpu, gpu.cpu())


@pytest.mark.parametrize("dims", [2, 5])
@pytest.mark.parametrize("integer", [False, True], ids=["random", "ties"])
def test_numba_kernel_equals_dense_torch(dims, integer):
    if "numba" not in available_backends():
        pytest.skip("numba not installed")
    x, batch = uneven_batch([40, 3, 1, 70, 17], dims=dims, integer=integer, seed=14)
    for loop in (False, True):
        for cut in (None, 1.5):
            dense = knn_graph(x, 7, batch, loop=loop, backend="torch", max_distance=cut)
            assert torch.equal(knn_graph(x, 7, batch, loop=loop, backend="numba", max_distance=cut), dense)
    y, batch_y = uneven_batch([5, 2, 0, 9, 4], dims=dims, integer=integer, seed=15)
    assert torch.equal(knn(x, y, 4, batch, batch_y, backend="numba"), knn(x, y, 4, batch, batch_y, backend="torch"))
    assert torch.equal(knn_graph(x.double(), 5, batch, backend="numba"), knn_graph(x.double(), 5, batch, backend="torch"))
