"""Tests of rs3l.models.edge_conv against brute-force loops and graphs.knn."""

import pytest
import torch

from graphs.knn import knn_table
from rs3l.models.edge_conv import EdgeConvBlock
from graphs.knn import knn_graph


def _graphs(sizes, dim=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(sum(sizes), dim, generator=g)
    batch = torch.repeat_interleave(torch.arange(len(sizes)), torch.tensor(sizes))
    return x, batch


def _brute_neighbours(x, batch, k, loop):
    out = []
    for i in range(x.size(0)):
        same = (batch == batch[i]).nonzero().flatten().tolist()
        cands = [j for j in same if loop or j != i]
        cands.sort(key=lambda j: float(((x[i] - x[j]) ** 2).sum()))
        out.append(cands[:k])
    return out


def _brute_edge_conv(block, x, neighbours):
    """Loop reference: h_i = aggr_j MLP([x_i, x_j - x_i]) with the block's own weights."""
    w = torch.cat([block.lin_centre.weight + block.lin_neighbour.weight, block.lin_neighbour.weight], dim=1)
    rows = []
    for i, nbrs in enumerate(neighbours):
        if not nbrs:
            rows.append(torch.zeros(block.channels[-1]))
            continue
        feats = torch.stack([torch.cat([x[i], x[j] - x[i]]) for j in nbrs])
        h = block.rest(block.first_post(feats @ w.T + block.lin_centre.bias))
        rows.append(h.max(0).values if block.aggr == "max" else h.mean(0))
    return torch.stack(rows)


@pytest.mark.parametrize("loop", [True, False])
def test_knn_table_matches_brute_force_and_graphs_knn(loop):
    x, batch = _graphs([7, 2, 5, 1], dim=4)
    k = 3
    idx, valid = knn_table(x, k, batch, loop=loop)
    expected = _brute_neighbours(x, batch, k, loop)
    for i, nbrs in enumerate(expected):
        assert idx[i][valid[i]].tolist() == nbrs
    centre = torch.arange(x.size(0)).unsqueeze(1).expand_as(idx)
    ours = set(zip(idx[valid].tolist(), centre[valid].tolist()))
    ref = set(map(tuple, knn_graph(x, k, batch, loop=loop).T.tolist()))
    assert ours == ref


@pytest.mark.parametrize("aggr", ["max", "mean"])
@pytest.mark.parametrize("loop", [True, False])
@pytest.mark.parametrize("backend", ["dense", "torch"])
@pytest.mark.parametrize("channels", [[8, 5], [6]])  # [6] with max: the act-commutes-with-max path
def test_dynamic_edge_conv_matches_a_brute_force_loop(aggr, loop, backend, channels):
    torch.manual_seed(0)
    x, batch = _graphs([6, 3, 1, 5], dim=3)
    block = EdgeConvBlock(3, channels, k=4, dynamic=True, aggr=aggr, loop=loop, knn_backend=backend)
    assert block._max_commutes == (aggr == "max" and channels == [6])
    expected = _brute_edge_conv(block, x, _brute_neighbours(x, batch, 4, loop))
    torch.testing.assert_close(block(x, batch), expected, rtol=1e-5, atol=1e-6)


def test_static_edge_conv_uses_the_given_edges():
    torch.manual_seed(0)
    x, batch = _graphs([4], dim=2)
    edge_index = torch.tensor([[1, 2, 0, 3], [0, 0, 1, 2]])  # source -> target; node 3 has no incoming edge
    block = EdgeConvBlock(2, [6], dynamic=False)
    nbrs = [[1, 2], [0], [3], []]
    torch.testing.assert_close(block(x, batch, edge_index), _brute_edge_conv(block, x, nbrs), rtol=1e-5, atol=1e-6)


def test_residual_block_with_batch_norm_runs_and_has_the_right_shape():
    x, batch = _graphs([10, 12], dim=5)
    block = EdgeConvBlock(5, [16, 16, 16], k=3, loop=False, aggr="mean", norm="batch", residual=True, activation="relu")
    out = block(x, batch)
    assert out.shape == (22, 16)
    out.sum().backward()
    assert block.shortcut.weight.grad is not None


def test_repr_and_bad_arguments():
    assert repr(EdgeConvBlock(4, [8], k=5)) == (
        "EdgeConvBlock(4, [8], k=5, dynamic=True, aggr=max, loop=True, norm=none, residual=False)")
    with pytest.raises(ValueError, match="aggr"):
        EdgeConvBlock(4, [8], aggr="sum")
    with pytest.raises(ValueError, match="edge_index"):
        EdgeConvBlock(4, [8], dynamic=False)(torch.zeros(3, 4))


def test_neighbour_max_gradient_matches_autograd_of_gather_and_max():
    from rs3l.models.edge_conv import _NeighbourMax

    g = torch.Generator().manual_seed(0)
    b = torch.randn(9, 4, generator=g, dtype=torch.float64, requires_grad=True)
    idx = torch.randint(0, 9, (7, 3), generator=g)
    assert torch.autograd.gradcheck(_NeighbourMax.apply, (b, idx))
    torch.testing.assert_close(_NeighbourMax.apply(b, idx), b[idx].max(dim=1).values)
