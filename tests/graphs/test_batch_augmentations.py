"""graphs.batch_augmentations: the batched JetCLR augmentations against the per-jet features and their invariants."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from graphs.batch_augmentations import BatchAugmentations, ViewAugmentation, particle_features_torch
from graphs.cache import open_cache
from graphs.contract import AugmentationConfig, DataContract
from graphs.features import PARTICLE_FEATURES
from graphs.synthetic import write_synthetic_dataset


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    data = write_synthetic_dataset(tmp_path_factory.mktemp("aug"), n_shards=1, groups_per_shard=8, detector=False,
                                   n_particles=(10, 40))
    contract = DataContract(graph="particles", max_particles=30, augment=AugmentationConfig(rotate=True))
    return open_cache(data, contract, progress=False)


def _jets(cache, rows):
    starts, ends = np.asarray(cache.node_offsets[rows]), np.asarray(cache.node_offsets[np.asarray(rows) + 1])
    nodes = np.concatenate([np.arange(s, e) for s, e in zip(starts, ends)])
    batch = torch.repeat_interleave(torch.arange(len(rows)), torch.from_numpy(ends - starts))
    return torch.from_numpy(cache.raw[nodes]), batch, torch.from_numpy(np.asarray(cache.axis[rows])), nodes


def _view(**switches):
    return ViewAugmentation(features=PARTICLE_FEATURES, normalise={}, max_nodes=30, **switches)


def test_features_equal_the_per_jet_builders(cache):
    raw, batch, axis, nodes = _jets(cache, np.arange(cache.n_jets))
    torch.testing.assert_close(particle_features_torch(raw, axis, batch), torch.from_numpy(cache.x[nodes]),
                               rtol=1e-5, atol=1e-5)
    x, pos, b = _view()(raw, batch, axis)  # every switch off: the cached graphs again
    torch.testing.assert_close(x, torch.from_numpy(cache.x[nodes]), rtol=1e-5, atol=1e-5)
    assert torch.equal(b, batch) and torch.equal(pos, torch.from_numpy(cache.pos[nodes]))


def test_rotation_turns_each_jet_by_one_angle(cache):
    raw, batch, axis, _ = _jets(cache, [0, 1, 2])
    x, pos, b = _view(rotate=True)(raw, batch, axis, torch.Generator().manual_seed(4))
    angle = torch.rand(3, generator=torch.Generator().manual_seed(4), dtype=torch.float64) * 2 * math.pi
    c, s = torch.cos(angle)[batch], torch.sin(angle)[batch]
    deta, dphi = raw[:, 1].double(), raw[:, 2].double()
    expected_phi = torch.remainder(s * deta + c * dphi + math.pi, 2 * math.pi) - math.pi
    torch.testing.assert_close(pos[:, 0].double(), c * deta - s * dphi, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(torch.sin(pos[:, 1].double()), torch.sin(expected_phi), rtol=1e-5, atol=1e-5)
    dr = x[:, PARTICLE_FEATURES.index("dr")]
    torch.testing.assert_close(dr, torch.hypot(raw[:, 1], raw[:, 2]), rtol=1e-4, atol=1e-4)  # small angles: no wrap


def test_collinear_split_conserves_pt_and_fills_to_the_limit(cache):
    raw, batch, axis, _ = _jets(cache, [0, 1, 2, 3])
    view = _view(split=True)
    out_raw, out_batch = view._split(raw.clone(), batch, 4, torch.Generator().manual_seed(1))
    n = torch.bincount(batch, minlength=4)
    assert torch.equal(torch.bincount(out_batch, minlength=4), torch.clamp(2 * n, max=torch.maximum(n, torch.tensor(30))))
    pt_in = torch.zeros(4, dtype=torch.float64).index_add_(0, batch, raw[:, 0].double())
    pt_out = torch.zeros(4, dtype=torch.float64).index_add_(0, out_batch, out_raw[:, 0].double())
    torch.testing.assert_close(pt_out, pt_in, rtol=1e-6, atol=1e-4)
    x, _, b = view(raw, batch, axis, torch.Generator().manual_seed(1))
    assert int(torch.bincount(b).max()) <= 30  # the node limit after splitting
    lead = x[:, 0].numpy()  # log pT, in decreasing order within each jet
    for j in range(4):
        assert np.all(np.diff(lead[(b == j).numpy()]) <= 1e-6)


def test_translation_moves_a_jet_rigidly_and_smearing_moves_soft_particles_more(cache):
    raw, batch, axis, _ = _jets(cache, [0, 1])
    _, pos, _ = _view(translate=True)(raw, batch, axis, torch.Generator().manual_seed(2))
    shift = pos[:, 0] - raw[:, 1]
    for j in range(2):
        assert float(shift[batch == j].std()) < 1e-5
    _, smeared, _ = _view(smear=True, smear_strength=1.0)(raw, batch, axis, torch.Generator().manual_seed(3))
    move = (smeared[:, 0] - raw[:, 1]).abs()
    low, high = torch.quantile(raw[:, 0], 0.25), torch.quantile(raw[:, 0], 0.75)
    soft, hard = raw[:, 0] <= low, raw[:, 0] >= high
    assert soft.any() and hard.any() and float(move[soft].mean()) > 3 * float(move[hard].mean())


def test_views_from_the_contract_and_same_generator_same_result(cache):
    contract = DataContract(graph="particles", max_particles=30, augment=AugmentationConfig(
        rotate=True, translate=True, smear=True, collinear_split=True))
    pair = BatchAugmentations.from_contract(contract)
    assert not pair.first.smear and pair.second.smear and pair.first.split and pair.second.rotate
    raw, batch, axis, _ = _jets(cache, [0, 1, 2])
    one = pair.second(raw, batch, axis, torch.Generator().manual_seed(9))
    two = pair.second(raw, batch, axis, torch.Generator().manual_seed(9))
    assert all(torch.equal(a, b) for a, b in zip(one, two))
