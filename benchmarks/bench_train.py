"""Training speed of the rs3l backbone presets against weaver-core's ParticleNet.

For each preset (configs/model/*.yaml) and for weaver-core's ``ParticleNet`` of the
same size (k, EdgeConv channels, FC widths, embedding width), on the same batch of
random jets (15 features, (d_eta, d_phi) points, variable numbers of particles):
jets per second of forward + backward + Adam step, and peak memory (resident set
growth on CPU, ``max_memory_allocated`` on CUDA). Each measurement runs in a fresh
subprocess so peak memory is its own.

Weaver-core is a benchmark-only dependency (``pip install weaver-core``, the
``bench`` extra). The weaver models pad to the longest jet of the batch and use
their default fusion / feature batch-norm; the parameter counts are printed so
"same size" can be checked.

Usage::

    python benchmarks/bench_train.py                 # 64 jets of up to 64 particles, median of 5 steps
    python benchmarks/bench_train.py --quick         # a smaller, faster run
    python benchmarks/bench_train.py --batch 256 --particles 100 --steps 5 --presets rs3l
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

# weaver-core's ParticleNet arguments matching each preset: conv_params, fc_params, use_fusion
WEAVER_EQUIVALENT = {
    "rs3l": dict(conv_params=[(24, (128,)), (24, (128,)), (24, (128,))],
                 fc_params=[(64, 0.0), (32, 0.0), (32, 0.0)], use_fusion=False),
    "particlenet_lite": dict(conv_params=[(7, (32, 32, 32)), (7, (64, 64, 64))], fc_params=[(128, 0.1)],
                             use_fusion=True),
    "particlenet": dict(conv_params=[(16, (64, 64, 64)), (16, (128, 128, 128)), (16, (256, 256, 256))],
                        fc_params=[(256, 0.1)], use_fusion=True),
}


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _batch(n_jets: int, max_particles: int, seed: int):
    import torch
    from torch_geometric.data import Batch, Data

    g = torch.Generator().manual_seed(seed)
    sizes = torch.randint(max_particles // 2, max_particles + 1, (n_jets,), generator=g).tolist()
    jets = [Data(x=torch.randn(n, 15, generator=g), pos=0.3 * torch.randn(n, 2, generator=g)) for n in sizes]
    return Batch.from_data_list(jets)


def _worker(args: argparse.Namespace) -> dict:
    """One measurement: args.impl in {'rs3l', 'weaver'} for args.preset."""
    import torch

    torch.manual_seed(0)
    device = torch.device(args.device)
    batch = _batch(args.batch, args.particles, seed=1)
    target = torch.randn(args.batch, 8)
    if args.impl == "rs3l":
        from rs3l.models.backbone import build_backbone
        from rs3l.models.config import BackboneConfig
        from sim_pairs.shipped_configs import CONFIG_DIR
        from sim_pairs.typed_config import from_mapping, load_yaml

        path = CONFIG_DIR / "model" / f"{args.preset}.yaml"
        model = build_backbone(from_mapping(BackboneConfig, load_yaml(path), source=str(path)), {"particle": 15})
        inputs = (batch.to(device),)
    else:
        from torch_geometric.utils import to_dense_batch
        from weaver.nn.model.ParticleNet import ParticleNet

        model = ParticleNet(15, 8, **WEAVER_EQUIVALENT[args.preset])
        x, mask = to_dense_batch(batch.x, batch.batch)
        pos, _ = to_dense_batch(batch.pos, batch.batch)
        inputs = (pos.transpose(1, 2).contiguous().to(device), x.transpose(1, 2).contiguous().to(device),
                  mask.unsqueeze(1).float().to(device))
    model = model.to(device).train()
    target = target.to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    n_params = sum(p.numel() for p in model.parameters())

    def step():
        opt.zero_grad(set_to_none=True)
        loss = torch.nn.functional.mse_loss(model(*inputs), target)
        loss.backward()
        opt.step()

    base = _rss_mb()
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    for _ in range(args.warmup):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    times = []
    for _ in range(args.steps):
        t0 = time.perf_counter()
        step()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        times.append(time.perf_counter() - t0)
    if device.type == "cuda":
        peak = torch.cuda.max_memory_allocated(device) / 2**20
    else:
        peak = _rss_mb() - base
    # the median step: robust to other processes competing for the cores
    seconds = sorted(times)[len(times) // 2]
    return {"jets_per_s": args.batch / seconds, "peak_mb": peak, "params": n_params}


def _run(args: argparse.Namespace, preset: str, impl: str) -> dict | str:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--_worker", impl, "--presets", preset, "--batch", str(args.batch),
           "--particles", str(args.particles), "--steps", str(args.steps), "--warmup", str(args.warmup),
           "--device", args.device, "--threads", str(args.threads)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["failed"])[-1]
        return last[:80]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--presets", default="rs3l,particlenet_lite,particlenet")
    p.add_argument("--batch", type=int, default=64, help="jets per batch")
    p.add_argument("--particles", type=int, default=64, help="largest jet; sizes are uniform in [n/2, n]")
    p.add_argument("--steps", type=int, default=5, help="timed training steps (the median is reported)")
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=1, help="torch threads per process (0: torch's default)")
    p.add_argument("--quick", action="store_true", help="32 jets of up to 48 particles, 3 timed steps")
    p.add_argument("--_worker", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    if args._worker:
        args.impl, args.preset = args._worker, args.presets
        print(json.dumps(_worker(args)))
        return
    if args.quick:
        args.batch, args.particles, args.steps = 32, 48, 3
    try:
        import weaver  # noqa: F401
    except ImportError:
        sys.exit("weaver-core is not installed: pip install weaver-core (the 'bench' extra)")
    print(f"training step (forward + backward + Adam) on {args.device}, batch {args.batch} jets of "
          f"{args.particles // 2}-{args.particles} particles, 15 features, {args.steps} timed steps "
          f"(median; +{args.warmup} warm-up), {args.threads or 'default'} torch thread(s), {os.cpu_count()} CPU cores\n")
    print("| preset | rs3l params | rs3l jets/s | rs3l peak MB | weaver params | weaver jets/s | weaver peak MB "
          "| speed ratio rs3l/weaver |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for preset in args.presets.split(","):
        ours, ref = _run(args, preset, "rs3l"), _run(args, preset, "weaver")
        cells = []
        for r in (ours, ref):
            cells += [f"{r['params']:,}", f"{r['jets_per_s']:.1f}", f"{r['peak_mb']:.0f}"] if isinstance(r, dict) \
                else ["-", f"failed: {r}", "-"]
        ratio = f"{ours['jets_per_s'] / ref['jets_per_s']:.2f}" if isinstance(ours, dict) and isinstance(ref, dict) else "-"
        print(f"| {preset} | " + " | ".join(cells) + f" | {ratio} |", flush=True)


if __name__ == "__main__":
    main()
