"""Heads on graphs (shared Trainer) and on cached embeddings: freezing freezes, fine-tuning changes,
the linear probe reaches scikit-learn's optimum, small label fractions still learn, targets are right."""

import numpy as np
import pytest
import torch
from torch_geometric.data import Batch, Data

from rs3l.evaluation.heads import FrozenBackbone, LinearHead, MLPHead, Tagger, build_head
from rs3l.evaluation.targets import TaskTarget, label_fraction_mask
from rs3l.evaluation.tasks import TASKS
from rs3l.evaluation.embedding_heads import fit_linear_probe, train_on_embeddings
from rs3l.evaluation.train_heads import (embed, predict_embeddings, predict_graphs, task_selector, train_on_graphs,
                                         TaskBatches)
from rs3l.models.backbone import build_backbone
from rs3l.models.config import BackboneConfig

CLASSES = ["quark", "gluon", "Hbb"]


def _jets(n_jets, seed, views=("nominal",)):
    """Graphs whose class shows in the features: class c shifts feature c by +1."""
    g = torch.Generator().manual_seed(seed)
    out = []
    for j in range(n_jets):
        label = j % 3
        for view in views:
            n = 4 + j % 5
            x = torch.randn(n, 4, generator=g) * 0.5
            x[:, label] += 1.0
            out.append(Data(x=x, pos=torch.randn(n, 2, generator=g) * 0.3, label=torch.tensor([label]),
                            group_id=torch.tensor([1000 + j]), jet_energy=torch.tensor([500.0 + 40 * label + j]),
                            view=view))
    return out


def _batches(graphs, size=16):
    return [Batch.from_data_list(graphs[i:i + size]) for i in range(0, len(graphs), size)]


def _backbone(norm="batch"):
    torch.manual_seed(0)
    cfg = BackboneConfig(encoder_channels=[16], edge_conv_channels=[[16]], feature_k=3, head_channels=[16],
                         embedding_dim=8, norm=norm)
    return build_backbone(cfg, {"particle": 4})


def _state(module):
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def test_heads_shapes_and_repr():
    z = torch.randn(5, 8)
    assert LinearHead(8, 1)(z).shape == (5, 1)
    assert MLPHead(8, 3)(z).shape == (5, 3)
    assert repr(MLPHead(8, 1)) == "MLPHead(8 -> 128 -> 64 -> 32 -> 8 -> 1, input_norm=l2)"
    # the heads see the L2-normalised embedding: scaling z changes nothing
    head = build_head("mlp", 8, 1)
    torch.testing.assert_close(head(z), head(7.0 * z))
    with pytest.raises(ValueError, match="unknown head"):
        build_head("transformer", 8)
    with pytest.raises(ValueError, match=r"input_norm must be one of \['l2', 'standardise', 'none'\], got 'batch'"):
        build_head("linear", 8, input_norm="batch")


def test_a_standardised_linear_probe_is_logistic_regression_on_standardised_features(tmp_path):
    """input_norm 'standardise' = scikit-learn's StandardScaler then LogisticRegression(C=1), with the training
    embeddings' statistics fixed; and it reads the class from the norm, which an L2-normalised probe cannot."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.preprocessing import StandardScaler

    from rs3l.evaluation.train_heads import EmbeddedSet

    g = torch.Generator().manual_seed(3)
    label = torch.arange(800) % 3
    # sum-pooled features are non-negative, and the multiplicity scales them all: the class is in the norm only
    direction = torch.rand(800, 8, generator=g)
    z = direction * (1.0 + 0.6 * (label == 2).float()).unsqueeze(1) * (5.0 + torch.rand(800, 1, generator=g))
    target = TaskTarget(TASKS["hbb_vs_qcd"], CLASSES)
    y = target.target(label)
    data = EmbeddedSet(z=z, label=label, group_id=torch.arange(800), jet_energy=torch.full((800,), 500.0),
                       view=np.array(["nominal"] * 800))
    aucs = {}
    for norm in ("l2", "standardise"):
        head = LinearHead(8, 1, input_norm=norm)
        train_on_embeddings(head, data, None, target, out_dir=tmp_path / norm, epochs=1, lr=1.0, batch_size=64)
        aucs[norm] = roc_auc_score(y.numpy(), predict_embeddings(head, data, target)["score"])
    assert aucs["l2"] < 0.65 < 0.9 < aucs["standardise"], aucs
    zs = StandardScaler().fit_transform(z.numpy())
    ref = LogisticRegression(C=1.0, tol=1e-10, max_iter=10_000).fit(zs, y.numpy())
    np.testing.assert_allclose(head.linear.weight.detach().numpy()[0], ref.coef_[0], rtol=1e-3, atol=1e-3)
    standardise = head.norm.standardise
    assert bool(standardise.fixed) and standardise.running_mean.dtype == torch.float32
    torch.testing.assert_close(standardise.running_mean, z.mean(0))
    # the statistics stay those of the training embeddings, in train mode and after a reload
    head.train()
    before = head(z[:5]).detach()
    head(z[:5] * 10)
    reloaded = LinearHead(8, 1, input_norm="standardise")
    reloaded.load_state_dict(head.state_dict())
    torch.testing.assert_close(reloaded(z[:5]), before)


def test_frozen_backbone_is_bit_identical_after_head_training(tmp_path):
    backbone = _backbone(norm="batch")  # batch norm: running statistics must not move either
    before = _state(backbone)
    target = TaskTarget(TASKS["q_vs_g"], CLASSES)
    model = Tagger(FrozenBackbone(backbone), LinearHead(8, 1))
    head_before = _state(model.head)
    result = train_on_graphs(model, _batches(_jets(48, 1)), _batches(_jets(24, 2)), target, out_dir=tmp_path,
                             epochs=2, lr=1e-2, progress=False)
    after = _state(backbone)
    assert before.keys() == after.keys()
    for k in before:
        assert torch.equal(before[k], after[k]), k
    assert any(not torch.equal(head_before[k], v) for k, v in _state(model.head).items())
    assert len(result.history) == 2 and (tmp_path / "best.pt").is_file()


def test_finetuning_changes_the_backbone(tmp_path):
    backbone = _backbone(norm="none")
    before = _state(backbone)
    model = Tagger(backbone, MLPHead(8, 1))
    train_on_graphs(model, _batches(_jets(48, 1)), None, TaskTarget(TASKS["q_vs_g"], CLASSES), out_dir=tmp_path,
                    epochs=1, lr=1e-3, progress=False)
    changed = [k for k, v in _state(backbone).items() if not torch.equal(before[k], v)]
    assert len(changed) > 0.8 * len(before)


def test_task_batches_filter_classes_and_the_selector_takes_a_stratified_fraction():
    graphs = _jets(90, 3)
    target = TaskTarget(TASKS["q_vs_g"], CLASSES)
    kept = [b for b in TaskBatches(_batches(graphs), target)]
    labels = torch.cat([b.label for b in kept])
    assert set(labels.tolist()) == {0, 1} and len(labels) == 60
    # the labelled fraction is chosen over the whole set, stratified: half of each class
    keep = task_selector(target, 0.5)(np.array([g.group_id.item() for g in graphs]), np.array([g.label.item() for g in graphs]))
    assert np.bincount([g.label.item() for g, k in zip(graphs, keep) if k], minlength=3).tolist() == [15, 15, 0]
    mask = label_fraction_mask(np.array([g.group_id.item() for g in graphs]), 0.5, label=[g.label.item() for g in graphs])
    assert np.array_equal(keep, mask & np.array([g.label.item() < 2 for g in graphs]))


def test_label_fraction_mask_nested_and_sized():
    gid = np.arange(100_000, dtype=np.int64) * 7 + 3
    small, big = label_fraction_mask(gid, 0.01), label_fraction_mask(gid, 0.1)
    assert np.all(big[small])
    assert small.mean() == pytest.approx(0.01, abs=0.002) and big.mean() == pytest.approx(0.1, abs=0.005)
    assert label_fraction_mask(gid, 1.0).all()
    assert not np.array_equal(label_fraction_mask(gid, 0.1, seed=1), big)
    # stratified by class: ceil(fraction * n_class) groups of each class, nested, a rare class kept
    label = np.where(np.arange(len(gid)) % 100 == 0, 1, 0)
    small, big = label_fraction_mask(gid, 0.001, label=label), label_fraction_mask(gid, 0.01, label=label)
    assert np.all(big[small])
    assert [int(small[label == c].sum()) for c in (0, 1)] == [99, 1]
    assert [int(big[label == c].sum()) for c in (0, 1)] == [990, 10]


def test_targets():
    label = torch.tensor([0, 1, 2, 1])
    b = TaskTarget(TASKS["hbb_vs_qcd"], CLASSES)
    assert b.select(label).all() and b.target(label).tolist() == [0.0, 0.0, 1.0, 0.0]
    m = TaskTarget(TASKS["multiclass"], CLASSES, present=["quark", "Hbb"])
    assert m.out_dim == 2 and m.select(label).tolist() == [True, False, True, False]
    r = TaskTarget(TASKS["energy"], CLASSES)
    r.fit_energy([100.0, 1000.0])
    e = torch.tensor([100.0, 1000.0])
    torch.testing.assert_close(r.target(label[:2], e), torch.tensor([-1.0, 1.0]))
    np.testing.assert_allclose(r.read_out(r.target(label[:2], e)[:, None])["prediction"], [100.0, 1000.0], rtol=1e-5)


def test_frozen_paths_agree_and_learn(tmp_path):
    """Head on cached embeddings == head on FrozenBackbone graphs, and it learns the task."""
    backbone = _backbone(norm="none")
    train, val, test = _batches(_jets(150, 1)), _batches(_jets(45, 2)), _batches(_jets(60, 3, views=("nominal", "fsr")))
    target = TaskTarget(TASKS["hbb_vs_qcd"], CLASSES)
    emb = {name: embed(backbone, b, progress=False) for name, b in (("train", train), ("val", val), ("test", test))}
    torch.manual_seed(1)
    head = MLPHead(8, 1)
    result = train_on_embeddings(head, emb["train"], emb["val"], target, out_dir=tmp_path / "h", epochs=12, lr=2e-2,
                                 batch_size=64)
    assert result.steps == 12 * 3 and (tmp_path / "h" / "checkpoint.pt").is_file()  # 150 training jets, batches of 64
    cols = predict_embeddings(head, emb["test"], target)
    assert set(cols) == {"group_id", "view", "label", "score"} and len(cols["score"]) == 120
    from sklearn.metrics import roc_auc_score
    assert roc_auc_score(cols["label"], cols["score"]) > 0.8
    graph_cols, graph_emb = predict_graphs(Tagger(FrozenBackbone(backbone), head), test, target, progress=False)
    np.testing.assert_allclose(graph_cols["score"], cols["score"], rtol=1e-5, atol=1e-6)
    assert graph_cols["view"].tolist() == cols["view"].tolist()
    torch.testing.assert_close(graph_emb.z, emb["test"].z)


@pytest.mark.parametrize("task", ["hbb_vs_qcd", "multiclass"])
def test_linear_probe_reaches_the_optimum_scikit_learn_finds(task):
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    g = torch.Generator().manual_seed(5)
    label = torch.arange(600) % 3
    z = torch.randn(600, 8, generator=g) + 0.8 * torch.nn.functional.one_hot(label, 8).float()
    target = TaskTarget(TASKS[task], CLASSES)
    y = target.target(label)
    head = LinearHead(8, target.out_dim)
    fit = fit_linear_probe(head, z, y, target)
    assert 0 < fit["steps"] < 500
    zn = torch.nn.functional.normalize(z, dim=-1).numpy()  # the probe sees the L2-normalised embedding
    ref = LogisticRegression(C=1.0, tol=1e-10, max_iter=10_000).fit(zn, y.numpy())
    with torch.no_grad():
        out = head(z)
    if task == "hbb_vs_qcd":
        ours, theirs = out.squeeze(-1).numpy(), ref.decision_function(zn)
        assert abs(roc_auc_score(y.numpy(), ours) - roc_auc_score(y.numpy(), theirs)) < 1e-3
        np.testing.assert_allclose(head.linear.weight.detach().numpy()[0], ref.coef_[0], rtol=1e-3, atol=1e-3)
    else:
        probs = torch.softmax(out, -1).numpy()
        np.testing.assert_allclose(probs, ref.predict_proba(zn), atol=1e-3)
    # a probe trained to its optimum does not care where it started
    other = LinearHead(8, target.out_dim)
    torch.nn.init.normal_(other.linear.weight, std=3.0)
    fit_linear_probe(other, z, y, target)
    with torch.no_grad():  # softmax logits are defined up to a constant: compare probabilities
        read = (lambda o: torch.sigmoid(o)) if task == "hbb_vs_qcd" else (lambda o: torch.softmax(o, -1))
        torch.testing.assert_close(read(other(z)), read(out), rtol=1e-4, atol=1e-4)


def test_a_supervised_tagger_learns_an_easy_task_from_ten_percent_of_labels(tmp_path):
    """The baseline at 10% labels: stratified jets, at least min_steps steps, well above chance."""

    class Reshuffled(list):  # the graph loaders' interface: set_epoch reshuffles
        def set_epoch(self, epoch):
            self[:] = [self[i] for i in np.random.default_rng(epoch).permutation(len(self))]

    from sklearn.metrics import roc_auc_score

    target = TaskTarget(TASKS["hbb_vs_qcd"], CLASSES)
    train_graphs = _jets(600, 1)
    select = task_selector(target, 0.1)
    keep = select(np.array([g.group_id.item() for g in train_graphs]), np.array([g.label.item() for g in train_graphs]))
    train = Reshuffled(_batches([g for g, k in zip(train_graphs, keep) if k]))  # 60 jets: 4 batches a pass
    model = Tagger(_backbone(norm="batch"), MLPHead(8, 1))
    result = train_on_graphs(model, train, _batches(_jets(90, 2)), target, out_dir=tmp_path, epochs=2, lr=1e-3,
                             fraction=0.1, min_steps=120, patience=None, progress=False)
    assert result.steps == 120 and len(result.history) == 2  # 2 epochs of 60 batches: 15 passes over the 4
    cols, _ = predict_graphs(model, _batches(_jets(150, 3)), target, progress=False)
    assert roc_auc_score(cols["label"], cols["score"]) > 0.85
