"""Two-process DDP on CPU (gloo): the gathered losses give the loss and gradients of the whole batch."""

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch.nn.parallel import DistributedDataParallel

from rs3l.losses.gather import gather_no_grad, gather_with_grad
from rs3l.losses.nt_xent import NTXentLoss
from rs3l.losses.vicreg import VICRegLoss

# rank 0 holds 5 pairs and rank 1 holds 3: unequal shards catch any rank-offset mistake
SPLIT = (5, 3)


def _inputs():
    g = torch.Generator().manual_seed(0)
    x_a, x_b = torch.randn(sum(SPLIT), 6, generator=g), torch.randn(sum(SPLIT), 6, generator=g)
    group = torch.tensor([0, 0, 0, 1, 1, 2, 2, 2, 3, 3, 4, 4, 4, 5, 5, 6, 6])  # views -> group (17 views)
    x_g = torch.randn(len(group), 6, generator=g)
    return x_a, x_b, x_g, group


def _model():
    torch.manual_seed(1)
    return torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.ELU(), torch.nn.Linear(8, 4))


def _losses(model, x_a, x_b, x_g, group, distributed):
    return {
        "ntxent": lambda: NTXentLoss(0.2, gather_distributed=distributed)(model(x_a), model(x_b)),
        "groups": lambda: NTXentLoss(0.2, gather_distributed=distributed).groups(model(x_g), group),
        "vicreg": lambda: VICRegLoss(gather_distributed=distributed)(model(x_a), model(x_b)),
    }


def _worker(rank, world, init_file, out_file):
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    x_a, x_b, x_g, group = _inputs()
    lo, hi = sum(SPLIT[:rank]), sum(SPLIT[: rank + 1])
    # groups split by whole groups, numbered from 0 on each rank: views 0..9 -> rank 0, 10..16 -> rank 1
    g_lo, g_hi = (0, 10) if rank == 0 else (10, 17)
    g_local = group[g_lo:g_hi] - group[g_lo:g_hi].min()
    results = {}
    for name in ("ntxent", "groups", "vicreg"):
        model = DistributedDataParallel(_model())
        loss = _losses(model, x_a[lo:hi], x_b[lo:hi], x_g[g_lo:g_hi], g_local, True)[name]()
        loss.backward()
        results[name] = (loss.detach(), [p.grad.clone() for p in model.parameters()])
    results["gathered"] = gather_no_grad(torch.arange(hi - lo) + 100 * rank)
    x = torch.full((hi - lo, 2), float(rank + 1), requires_grad=True)
    x_all, offset = gather_with_grad(x)
    (x_all * torch.arange(len(x_all)).unsqueeze(1)).sum().backward()
    results["offset"], results["x_grad"] = offset, x.grad
    torch.save(results, f"{out_file}.{rank}")
    dist.barrier()  # neither rank tears gloo down while the other still talks (an abort under load otherwise)
    dist.destroy_process_group()


@pytest.mark.slow
def test_two_gloo_processes_match_one_process_on_the_concatenated_batch(tmp_path):
    mp.spawn(_worker, args=(2, str(tmp_path / "init"), str(tmp_path / "out")), nprocs=2, join=True)
    ranks = [torch.load(tmp_path / f"out.{r}", weights_only=False) for r in range(2)]
    x_a, x_b, x_g, group = _inputs()
    for name in ("ntxent", "groups", "vicreg"):
        model = _model()
        loss = _losses(model, x_a, x_b, x_g, group, False)[name]()
        loss.backward()
        # the loss logged by the trainer is the mean over ranks
        mean = (ranks[0][name][0] + ranks[1][name][0]) / 2
        torch.testing.assert_close(mean, loss.detach(), rtol=1e-5, atol=1e-6, msg=name)
        for r in range(2):
            for p, g in zip(model.parameters(), ranks[r][name][1]):
                torch.testing.assert_close(g, p.grad, rtol=1e-4, atol=1e-6, msg=f"{name} rank {r}")
    assert ranks[0]["gathered"].tolist() == [0, 1, 2, 3, 4, 100, 101, 102]
    assert ranks[0]["offset"] == 0 and ranks[1]["offset"] == 5
    # d/dx of sum_j j * x_all[j], summed over the two ranks' identical losses: 2 * (own row index)
    torch.testing.assert_close(ranks[1]["x_grad"][:, 0], 2.0 * torch.tensor([5.0, 6.0, 7.0]))


def test_without_a_process_group_gathering_is_the_identity():
    x = torch.randn(3, 2)
    x_all, offset = gather_with_grad(x)
    assert x_all is x and offset == 0
    assert gather_no_grad(x) is x
