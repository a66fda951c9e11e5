"""Tests of rs3l.models.backbone: presets build, shapes, permutation invariance, mixed node types."""

from pathlib import Path

import pytest
import torch
from torch_geometric.data import Batch, Data

from rs3l.models.backbone import build_backbone
from rs3l.models.config import BackboneConfig
from sim_pairs.typed_config import ConfigError, from_mapping, load_yaml

PRESETS = Path(__file__).resolve().parents[3] / "configs" / "model"


def _jets(sizes, features=15, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [Data(x=torch.randn(n, features, generator=g), pos=torch.randn(n, 2, generator=g)) for n in sizes]


@pytest.mark.parametrize("name, n_params", [("rs3l", (100_000, 200_000)), ("particlenet_lite", (20_000, 60_000)),
                                            ("particlenet", (300_000, 600_000))])
def test_presets_build_and_give_one_embedding_per_jet(name, n_params):
    config = from_mapping(BackboneConfig, load_yaml(PRESETS / f"{name}.yaml"), source=name)
    model = build_backbone(config, {"particle": 15}).eval()
    z = model(Batch.from_data_list(_jets([5, 30, 1, 12])))
    assert z.shape == (4, config.embedding_dim) and torch.isfinite(z).all()
    assert n_params[0] < sum(p.numel() for p in model.parameters()) < n_params[1]


def test_rs3l_preset_has_the_published_sizes():
    config = from_mapping(BackboneConfig, load_yaml(PRESETS / "rs3l.yaml"), source="rs3l.yaml")
    model = build_backbone(config, {"particle": 15})
    linears = [m for m in model.head if isinstance(m, torch.nn.Linear)]
    assert [(l.in_features, l.out_features) for l in linears] == [(128, 64), (64, 32), (32, 32), (32, 8)]
    assert len(model.blocks) == 3 and all(b.k == 24 and b.dynamic for b in model.blocks)
    assert model.pooling.mode == "sum" and model.embedding_dim == 8


@pytest.mark.parametrize("pooling", ["sum", "mean", "attention"])
def test_embedding_is_invariant_under_node_reordering(pooling):
    torch.manual_seed(0)
    config = BackboneConfig(feature_k=4, pooling=pooling, encoder_channels=[16], edge_conv_channels=[[16], [16]],
                            head_channels=[8], embedding_dim=4)
    model = build_backbone(config, {"particle": 6}).eval()
    jets = _jets([9, 7], features=6)
    perm = [Data(x=d.x[torch.randperm(d.num_nodes)]) for d in jets]
    torch.testing.assert_close(model(Batch.from_data_list(jets)), model(Batch.from_data_list(perm)), rtol=1e-5, atol=1e-5)


def test_first_block_on_the_graph_edges_falls_back_to_pos_knn():
    torch.manual_seed(0)
    config = BackboneConfig(feature_k=2, position_k=3, first_block_edges="graph", encoder_channels=[8],
                            edge_conv_channels=[[8], [8]],
                            head_channels=[], embedding_dim=3)
    model = build_backbone(config, {"particle": 4}).eval()
    jets = _jets([6, 4], features=4)
    assert not model.blocks[0].dynamic and model.blocks[1].dynamic
    z_pos = model(Batch.from_data_list(jets))
    from graphs.knn import knn_graph
    with_edges = [Data(x=d.x, edge_index=knn_graph(d.pos, 3, loop=True)) for d in jets]
    torch.testing.assert_close(model(Batch.from_data_list(with_edges)), z_pos)


def test_mixed_node_types_use_their_own_encoders():
    torch.manual_seed(0)
    config = BackboneConfig(feature_k=3, encoder_channels=[8], edge_conv_channels=[[8]], head_channels=[], embedding_dim=2)
    model = build_backbone(config, {"cell": 4, "track": 6})
    x = torch.randn(7, 6)
    node_type = torch.tensor([1, 1, 2, 1, 2, 1, 1])
    z = model(Batch.from_data_list([Data(x=x, node_type=node_type)]))
    assert z.shape == (1, 2)
    with pytest.raises(ValueError, match="node_type codes"):
        model(Batch.from_data_list([Data(x=x, node_type=torch.zeros(7, dtype=torch.long))]))


def test_config_errors_name_the_field():
    with pytest.raises(ConfigError, match="k must be"):
        from_mapping(BackboneConfig, {"feature_k": 0}, source="m.yaml")
    with pytest.raises(ConfigError, match="pooling"):
        from_mapping(BackboneConfig, {"pooling": "max"}, source="m.yaml")


def test_projection_head_feeds_the_loss_and_leaves_the_embedding_alone():
    from rs3l.models.backbone import Projected
    from rs3l.train.pretrain import ContrastiveModel

    torch.manual_seed(0)
    plain = BackboneConfig(feature_k=3, encoder_channels=[8], edge_conv_channels=[[8]], head_channels=[8], embedding_dim=4)
    config = BackboneConfig(**{**plain.__dict__, "projection": [16, 6]})
    model = build_backbone(config, {"particle": 15}).eval()
    assert model.projection is not None and build_backbone(plain, {"particle": 15}).projection is None
    linears = [m for m in model.projection if isinstance(m, torch.nn.Linear)]
    assert [(l.in_features, l.out_features) for l in linears] == [(4, 16), (16, 6)]
    assert (model.embedding_dim, model.projection_dim) == (4, 6)
    batch = Batch.from_data_list(_jets([5, 9, 3]))
    z = model(batch)
    assert z.shape == (3, 4)
    torch.testing.assert_close(model.project(z), model.projection(z))
    # the contrastive loss sees the projection, the heads (Projected aside) the embedding
    a, b = ContrastiveModel(model)(type("Pair", (), {"a": batch, "b": batch})())
    assert a.shape == b.shape == (3, 6)
    torch.testing.assert_close(a, model.project(z))
    projected = Projected(model)
    assert projected.embedding_dim == 6
    torch.testing.assert_close(projected(batch), a)
    with pytest.raises(ValueError, match="projection must be positive widths"):
        BackboneConfig(projection=[8, 0])
