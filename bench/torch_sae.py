#!/usr/bin/python3
"""The PyTorch side of the side-by-side benchmark: the model, objective,
optimiser, batch, data and thread count of a saelab config, timed the way
sae-bench times it.

  /usr/bin/python3 bench/torch_sae.py configs/fc_kl.ini --batch 1200 --threads 2 --steps 20
  /usr/bin/python3 bench/torch_sae.py configs/seed_l1.ini --threads 1 --steps 10

The config file is read for model.arch, model.hidden, model.hidden_activation,
sparsity.* (kind, rho, beta, lambda, reduction, sites), optim.lr and the Adam
betas/eps, train.batch_size and run.threads; --batch, --threads and --hidden
override them. The objective is the one saelab computes: mean BCE on the
logits (sigmoid fused, as saelab's bce_with_logits) plus the penalty on each
penalised site:
  kl      beta * sum_j KL(rho || rho_hat_j), rho_hat_j the batch mean of unit j
          clamped to [1e-6, 1 - 1e-6]
  l1      lambda * sum|a| / N (reduction sum) or / numel (reduction mean)
  seed_kl beta * |rho * (log rho - mean(a))|
Training batches are consecutive slices of a fresh random permutation of the
60,000 training images, as saelab's minibatcher.

Threads: torch.set_num_threads(T) sets OpenMP's count, but Debian's PyTorch
does its GEMMs in OpenBLAS, which starts one thread per core whatever that
says. So OPENBLAS_NUM_THREADS and OMP_NUM_THREADS are set to T before torch
loads: T threads means T cores, as for saelab. --omp-passive sets
OMP_WAIT_POLICY=PASSIVE: idle OpenMP threads then sleep instead of spinning,
which makes the fully connected model much faster on 2 threads (its spinning
threads otherwise compete with OpenBLAS's) and the conv model much slower. The last line is
`result key=value ...` (see bench/side-by-side). Peak resident memory is
getrusage's ru_maxrss, as sae-bench reports it. Uses Debian's python3-torch.
"""
import argparse
import configparser
import math
import os
import resource
import struct
import sys
import time

np = None  # imported in main(), after the thread settings: numpy loads OpenBLAS too


def load_images(path):
    """[N, 1, 28, 28] float32 pixels / 255, converted in place (no second copy)."""
    with open(path, "rb") as f:
        magic, n, rows, cols = struct.unpack(">IIII", f.read(16))
        if magic != 0x803:
            sys.exit(f"torch_sae.py: {path}: not an IDX image file")
        raw = np.frombuffer(f.read(), dtype=np.uint8)
    images = raw.astype(np.float32)
    del raw
    images /= 255.0
    return torch.from_numpy(images.reshape(n, 1, rows, cols))


torch = nn = F = None  # imported in main(), after the thread settings
fc_sae = seed_conv = None


def build_classes():
    """The two models; defined once torch is imported."""
    global fc_sae, seed_conv

    class fc_sae(nn.Module):
        """784-H-784; the hidden activation is the one penalised site."""

        def __init__(self, hidden, activation):
            super().__init__()
            self.enc = nn.Linear(784, hidden)
            self.dec = nn.Linear(hidden, 784)
            self.act = activation

        def forward(self, x):
            h = self.act(self.enc(x.view(x.shape[0], -1)))
            return self.dec(h), {"hidden": h}

    class seed_conv(nn.Module):
        """The reference conv autoencoder saelab reproduces (1x28x28 -> conv 8@3 -> conv 16@5 -> conv 32@5 stride 2
        -> maxpool 2 -> convT 16@3 stride 2 -> convT 8@5 stride 2 -> convT 1@8 -> 1x28x28), with saelab's six site names."""

        def __init__(self, activation):
            super().__init__()
            self.c1 = nn.Conv2d(1, 8, 3)
            self.c2 = nn.Conv2d(8, 16, 5)
            self.c3 = nn.Conv2d(16, 32, 5, stride=2)
            self.pool = nn.MaxPool2d(2, 2)
            self.d1 = nn.ConvTranspose2d(32, 16, 3, stride=2)
            self.d2 = nn.ConvTranspose2d(16, 8, 5, stride=2)
            self.d3 = nn.ConvTranspose2d(8, 1, 8)
            self.act = activation

        def forward(self, x):
            a1 = self.act(self.c1(x))
            a2 = self.act(self.c2(a1))
            a3 = self.act(self.c3(a2))
            a4 = self.pool(a3)
            a5 = self.act(self.d1(a4))
            a6 = self.act(self.d2(a5))
            sites = {"conv1": a1, "conv2": a2, "conv3": a3, "pool": a4, "deconv1": a5, "deconv2": a6}
            return self.d3(a6), sites


def penalty_fn(s):
    kind = s.get("kind", "none")
    if kind == "kl":
        rho, beta = float(s["rho"]), float(s["beta"])

        def kl(a):
            q = a.reshape(a.shape[0], -1).mean(0).clamp(1e-6, 1 - 1e-6)
            return beta * (rho * torch.log(rho / q) + (1 - rho) * torch.log((1 - rho) / (1 - q))).sum()
        return kl
    if kind == "l1":
        lam, reduction = float(s["lambda"]), s.get("reduction", "sum")
        if reduction == "mean":
            return lambda a: lam * a.abs().mean()
        return lambda a: lam * a.abs().sum() / a.shape[0]
    if kind == "seed_kl":
        rho, beta = float(s["rho"]), float(s["beta"])
        return lambda a: beta * torch.abs(rho * (math.log(rho) - a.mean()))
    return None


def objective(model, x, penalty, sites):
    """Mean BCE on the logits plus the penalty on each penalised site."""
    logits, acts = model(x)
    loss = F.binary_cross_entropy_with_logits(logits, x.view_as(logits))
    if penalty is not None:
        for name, h in acts.items():
            if sites == ["all"] or name in sites:
                loss = loss + penalty(h)
    return loss


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("config")
    p.add_argument("--batch", type=int)
    p.add_argument("--threads", type=int)
    p.add_argument("--hidden", type=int)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--data", default="data/mnist")
    p.add_argument("--omp-passive", action="store_true", help="OMP_WAIT_POLICY=PASSIVE")
    p.add_argument("--export-init", metavar="FILE.h5",
                   help="write the initial weights (docs/weights.md) and print first_loss=, the objective on the "
                        "first batch of the training file in file order, then exit")
    a = p.parse_args()

    ini = configparser.ConfigParser(inline_comment_prefixes=("#",))
    if not ini.read(a.config):
        sys.exit(f"torch_sae.py: cannot read {a.config}")
    model_s, sparsity_s = ini["model"] if "model" in ini else {}, ini["sparsity"] if "sparsity" in ini else {}
    optim_s = ini["optim"] if "optim" in ini else {}
    arch = model_s.get("arch", "fc")
    hidden = a.hidden or int(model_s.get("hidden", 1024))
    batch = a.batch or int(ini.get("train", "batch_size", fallback="1200"))
    threads = a.threads or int(ini.get("run", "threads", fallback="2"))
    if optim_s.get("kind", "adam") != "adam":
        sys.exit("torch_sae.py: only optim.kind = adam is mirrored")
    os.environ["OPENBLAS_NUM_THREADS"] = str(threads)
    os.environ["OMP_NUM_THREADS"] = str(threads)
    if a.omp_passive:
        os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    global np, torch, nn, F
    import numpy as np
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    build_classes()
    act = torch.sigmoid if model_s.get("hidden_activation", "sigmoid") == "sigmoid" else F.relu

    torch.set_num_threads(threads)
    torch.manual_seed(42)
    images = load_images(f"{a.data}/train-images-idx3-ubyte")
    model = fc_sae(hidden, act) if arch == "fc" else seed_conv(act)
    opt = torch.optim.Adam(model.parameters(), lr=float(optim_s.get("lr", 9e-3)),
                           betas=(float(optim_s.get("beta1", 0.9)), float(optim_s.get("beta2", 0.999))),
                           eps=float(optim_s.get("eps", 1e-8)))
    penalty = penalty_fn(sparsity_s)
    sites = [x.strip() for x in sparsity_s.get("sites", "all").split(",")]

    if a.export_init:
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        from saelab_weights import export_weights
        export_weights(model, a.export_init)
        x = images[:batch]
        print(f"first_loss={objective(model, x, penalty, sites).item()!r} torch={torch.__version__}")
        return

    gen = torch.Generator().manual_seed(42)
    order = torch.randperm(images.shape[0], generator=gen)
    batches = images.shape[0] // batch
    if a.warmup + a.steps > batches:
        sys.exit(f"torch_sae.py: warm-up plus steps must fit in the {batches} batches of an epoch")

    def step(b):
        loss = objective(model, images[order[b * batch:(b + 1) * batch]], penalty, sites)
        opt.zero_grad()
        loss.backward()
        opt.step()

    for b in range(a.warmup):
        step(b)
    t0 = time.perf_counter()
    for b in range(a.warmup, a.warmup + a.steps):
        step(b)
    dt = time.perf_counter() - t0
    images_per_s = a.steps * batch / dt
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"result impl=pytorch model={arch} hidden={hidden if arch == 'fc' else 0} batch={batch} threads={threads} "
          f"images_per_s={images_per_s:.0f} s_per_epoch={60000 / images_per_s:.3f} peak_rss_mib={peak_mib:.0f} "
          f"torch={torch.__version__} omp_wait_policy={'passive' if a.omp_passive else 'default'}")


if __name__ == "__main__":
    main()
