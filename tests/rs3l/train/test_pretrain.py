"""Contrastive pre-training: on hand-made pairs positives end up far closer than negatives;
pretrain() end to end on graphs' synthetic shards (files, reloadable weights, resume, group mode)."""

import json

import pytest
import torch
from torch.utils.data import DataLoader, Dataset
from torch_geometric.data import Data

from graphs.collate import collate_groups, collate_pairs
from graphs.synthetic import write_synthetic_dataset
from rs3l.config import load_config
from rs3l.diagnostics import collect_pair_embeddings, pair_diagnostics
from rs3l.losses.nt_xent import NTXentLoss
from rs3l.losses.vicreg import VICRegLoss
from rs3l.models.backbone import build_backbone
from rs3l.models.config import BackboneConfig
from rs3l.train.checkpoint import load_checkpoint
from rs3l.train.pretrain import ContrastiveModel, contrastive_step, pretrain
from rs3l.train.same_config import TrainingConfigMismatch
from rs3l.train.trainer import Trainer


class NoisyCopies(Dataset):
    """Group g is a random point cloud; each view is a noisy, reordered copy of it."""

    def __init__(self, n_groups, views=2, noise=0.1, features=4, seed=0):
        g = torch.Generator().manual_seed(seed)
        sizes = torch.randint(4, 9, (n_groups,), generator=g).tolist()
        self.protos = [torch.randn(n, features, generator=g) for n in sizes]
        self.views, self.noise, self.seed = views, noise, seed

    def __len__(self):
        return len(self.protos)

    def _view(self, i, v):
        g = torch.Generator().manual_seed(self.seed * 100003 + i * 31 + v)
        p = self.protos[i]
        x = (p + self.noise * torch.randn(p.shape, generator=g))[torch.randperm(len(p), generator=g)]
        return Data(x=x, pos=x[:, :2], group_id=torch.tensor([i]), label=torch.tensor([0]), view_name=f"v{v}")

    def __getitem__(self, i):
        return tuple(self._view(i, v) for v in range(self.views))


def _backbone():
    torch.manual_seed(0)
    config = BackboneConfig(feature_k=4, encoder_channels=[24, 24], edge_conv_channels=[[24], [24]], head_channels=[16],
                            embedding_dim=8)
    return build_backbone(config, {"particle": 4})


@pytest.mark.slow
def test_a_few_hundred_steps_separate_positive_from_negative_pairs(tmp_path):
    data = NoisyCopies(48)
    train = DataLoader(data, batch_size=12, shuffle=True, collate_fn=collate_pairs)
    backbone = _backbone()
    before = pair_diagnostics(*collect_pair_embeddings(backbone, train)[:2])
    trainer = Trainer(ContrastiveModel(backbone), contrastive_step(NTXentLoss(0.1)), out_dir=tmp_path, epochs=50,
                      lr=3e-3, scheduler="none", grad_clip=5.0, progress=False)
    result = trainer.fit(train)  # 200 steps
    after = pair_diagnostics(*collect_pair_embeddings(backbone, train)[:2])
    assert result.history[-1]["train_loss"] < 0.5 * result.history[0]["train_loss"]
    assert after["cosine_positive"] - after["cosine_negative"] > 0.6
    assert after["cosine_positive"] - after["cosine_negative"] > before["cosine_positive"] - before["cosine_negative"] + 0.3
    assert after["invariance"]["ratio"] < 0.5
    assert result.history[-1]["train_cos_pos"] > result.history[-1]["train_cos_neg"]


def test_group_mode_and_vicreg_steps_run_and_give_finite_gradients():
    backbone = _backbone()
    model = ContrastiveModel(backbone)
    groups = collate_groups([NoisyCopies(4, views=3)[i] for i in range(4)])
    loss, _ = contrastive_step(NTXentLoss(0.1), "groups")(model, groups)
    loss.backward()
    pairs = collate_pairs([NoisyCopies(4)[i] for i in range(4)])
    loss, metrics = contrastive_step(VICRegLoss(), "pairs")(model, pairs)
    loss.backward()
    assert torch.isfinite(loss) and set(metrics) == {"cos_pos", "cos_neg"}
    assert all(torch.isfinite(p.grad).all() for p in backbone.parameters() if p.grad is not None)
    with pytest.raises(ValueError, match="groups"):
        contrastive_step(VICRegLoss(), "groups")


def test_group_batches_give_one_pair_per_extra_view():
    backbone = _backbone()
    groups = collate_groups([NoisyCopies(3, views=3)[i] for i in range(3)])
    z_a, z_b, views = collect_pair_embeddings(backbone, [groups])
    assert z_a.shape == (6, 8) and views == ["v1", "v2"] * 3


def _config(**pretrain_overrides):
    data = {"graph": "particles", "pairing": "any", "positive_views": [], "val_fraction": 0.3,
            "test_fraction": 0.1, "num_workers": 0}
    run = {"epochs": 2, "batch_size": 6, "num_workers": 0, "max_steps_per_epoch": 2, "max_val_steps": 2,
           "deterministic": True, **pretrain_overrides}
    model = {"encoder_channels": [16], "edge_conv_channels": [[16], [16]], "feature_k": 4, "head_channels": [16]}
    return load_config(None, overrides={"data": data, "pretrain": run, "model": model})


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return write_synthetic_dataset(tmp_path_factory.mktemp("data"), n_shards=1, groups_per_shard=24,
                                   detector=False, n_particles=(6, 14))


@pytest.mark.slow
def test_pretrain_writes_weights_logs_and_diagnostics_and_resumes(dataset, tmp_path):
    config = _config()
    path = pretrain(config, dataset, tmp_path, device="cpu", progress=False)
    assert path == tmp_path / "model.pt"
    assert {"checkpoint.pt", "epochs.csv", "steps.csv", "diagnostics.json"} <= {p.name for p in tmp_path.iterdir()}
    blob = load_checkpoint(path)
    backbone = build_backbone(config.model, config.data.input_dims())
    backbone.load_state_dict(blob["model"])  # strict: the saved weights are the backbone's own
    assert blob["config"]["model"]["feature_k"] == 4 and blob["input_dims"] == {"particle": 15}
    diagnostics = json.loads((tmp_path / "diagnostics.json").read_text())
    assert {"alignment", "uniformity", "cosine_positive", "cosine_negative", "invariance"} <= set(diagnostics)
    # resuming a finished run trains no further and gives the same weights
    pretrain(config, dataset, tmp_path, device="cpu", resume=True, progress=False)
    for name, value in load_checkpoint(path)["model"].items():
        assert torch.equal(value, blob["model"][name])
    assert load_checkpoint(tmp_path / "checkpoint.pt")["step"] == 4
    # more epochs extend the run; another temperature is another experiment: refused
    pretrain(_config(epochs=3), dataset, tmp_path, device="cpu", resume=True, progress=False)
    assert load_checkpoint(tmp_path / "checkpoint.pt")["step"] == 6
    with pytest.raises(TrainingConfigMismatch, match=r"checkpoint.pt.*pretrain.temperature: 0.1 -> 0.5"):
        pretrain(_config(epochs=3, temperature=0.5), dataset, tmp_path, device="cpu", resume=True, progress=False)


@pytest.mark.slow
def test_pretrain_in_group_mode(dataset, tmp_path):
    pretrain(_config(mode="groups", epochs=1), dataset, tmp_path, device="cpu", progress=False)
    assert json.loads((tmp_path / "diagnostics.json").read_text())["n_pairs"] > 0


class _Kill(Exception):
    pass


def _contrastive_run(out_dir, kill_at_step=None, resume=False):
    torch.manual_seed(7)
    config = BackboneConfig(feature_k=3, encoder_channels=[8], edge_conv_channels=[[8, 8], [8]], norm="batch",
                            head_channels=[8], embedding_dim=4, dropout=0.2)
    backbone = build_backbone(config, {"particle": 4})
    loader = DataLoader(NoisyCopies(12), batch_size=4, shuffle=True, collate_fn=collate_pairs)
    inner = contrastive_step(NTXentLoss(0.1))
    calls = {"n": 0}

    def step(model, batch):
        calls["n"] += 1
        if calls["n"] == kill_at_step:
            raise _Kill
        return inner(model, batch)

    trainer = Trainer(ContrastiveModel(backbone), step, out_dir=out_dir, epochs=3, lr=1e-2, step_size=1, gamma=0.5,
                      grad_clip=1.0, deterministic=True, seed=3, progress=False, restore_best=False)
    trainer.fit(loader, resume=resume)
    return backbone


def test_killed_and_resumed_pretraining_is_bit_identical_to_an_uninterrupted_run(tmp_path):
    straight = _contrastive_run(tmp_path / "a")
    with pytest.raises(_Kill):
        _contrastive_run(tmp_path / "b", kill_at_step=8)  # 3 steps per epoch: dies in epoch 3
    resumed = _contrastive_run(tmp_path / "b", resume=True)
    for (name, p), q in zip(straight.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(p, q), name
