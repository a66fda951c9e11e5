"""Tests of rs3l.losses.nt_xent against a slow loop, pytorch-metric-learning and analytic values."""

import math

import pytest
import torch
import torch.nn.functional as F

from rs3l.losses.nt_xent import NTXentLoss, nt_xent


def _loop_reference(z, group, tau):
    """Obviously-correct double loop over (anchor, positive) pairs, in float64."""
    z = F.normalize(z.double(), dim=1)
    total, count = 0.0, 0
    for i in range(len(z)):
        for p in range(len(z)):
            if p == i or group[p] != group[i]:
                continue
            pos = math.exp(float(z[i] @ z[p]) / tau)
            neg = sum(math.exp(float(z[i] @ z[n]) / tau) for n in range(len(z)) if group[n] != group[i])
            total += -math.log(pos / (pos + neg))
            count += 1
    return total / count


@pytest.mark.parametrize("n, tau", [(1, 0.1), (2, 0.5), (7, 0.1), (16, 0.05)])
def test_pair_loss_equals_the_loop_reference(n, tau):
    g = torch.Generator().manual_seed(n)
    z_a, z_b = torch.randn(n, 8, generator=g), torch.randn(n, 8, generator=g)
    index = torch.arange(n)
    expected = _loop_reference(torch.cat([z_a, z_b]), torch.cat([index, index]).tolist(), tau)
    assert NTXentLoss(tau)(z_a, z_b).item() == pytest.approx(expected, rel=1e-5, abs=1e-6)


def test_many_views_equal_the_loop_reference_and_pytorch_metric_learning():
    pml = pytest.importorskip("pytorch_metric_learning.losses")
    g = torch.Generator().manual_seed(3)
    group = torch.tensor([0, 0, 0, 1, 1, 2, 2, 2, 2, 3, 4, 4])  # 3, 2, 4, 1 and 2 views
    z = torch.randn(len(group), 5, generator=g)
    ours = nt_xent(z, group, temperature=0.2).item()
    assert ours == pytest.approx(_loop_reference(z, group.tolist(), 0.2), rel=1e-5)
    assert ours == pytest.approx(pml.NTXentLoss(temperature=0.2)(z, group).item(), rel=1e-5)


def test_pairs_equal_pytorch_metric_learning():
    pml = pytest.importorskip("pytorch_metric_learning.losses")
    g = torch.Generator().manual_seed(0)
    z_a, z_b = torch.randn(10, 8, generator=g), torch.randn(10, 8, generator=g)
    labels = torch.cat([torch.arange(10), torch.arange(10)])
    expected = pml.NTXentLoss(temperature=0.1)(torch.cat([z_a, z_b]), labels).item()
    assert NTXentLoss(0.1)(z_a, z_b).item() == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("n", [1, 2, 5, 50])
def test_equal_embeddings_give_log_2n_minus_1(n):
    z = torch.ones(n, 4)
    assert NTXentLoss(0.1)(z, z.clone()).item() == pytest.approx(math.log(2 * n - 1), abs=1e-5)


def test_symmetric_in_the_views_and_many_view_form_reduces_to_pairs():
    g = torch.Generator().manual_seed(1)
    z_a, z_b = torch.randn(6, 3, generator=g), torch.randn(6, 3, generator=g)
    loss = NTXentLoss(0.1)
    assert loss(z_a, z_b).item() == pytest.approx(loss(z_b, z_a).item(), rel=1e-6)
    # views interleaved in any order, with any group numbering
    perm = torch.randperm(12, generator=g)
    z = torch.cat([z_a, z_b])[perm]
    group = (torch.cat([torch.arange(6), torch.arange(6)]) * 7 + 3)[perm]
    assert loss.groups(z, group).item() == pytest.approx(loss(z_a, z_b).item(), rel=1e-6)


def test_gradients_flow_and_are_finite_for_one_pair():
    z_a = torch.randn(1, 4, requires_grad=True)
    z_b = torch.randn(1, 4, requires_grad=True)
    NTXentLoss()(z_a, z_b).backward()
    assert torch.isfinite(z_a.grad).all()


def test_bad_input_is_rejected():
    with pytest.raises(ValueError, match="temperature"):
        NTXentLoss(0.0)
    with pytest.raises(ValueError, match="temperature"):
        NTXentLoss(-1)
    with pytest.raises(ValueError, match="shape"):
        NTXentLoss()(torch.zeros(3, 2), torch.zeros(4, 2))
    with pytest.raises(ValueError, match="two views"):
        nt_xent(torch.randn(3, 2), torch.tensor([0, 1, 2]))
