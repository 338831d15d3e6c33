#!/usr/bin/python3
"""The PyTorch side of the side-by-side benchmark: the same models, data,
batch and thread count as saelab, timed the same way.

  /usr/bin/python3 bench/torch_sae.py --model fc --batch 1200 --threads 2 --steps 20

Prints one line of key=value figures (see bench/side-by-side). Uses Debian's
python3-torch (1.13).
"""
import argparse
import resource
import struct
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def load_images(path):
    with open(path, "rb") as f:
        magic, n, rows, cols = struct.unpack(">IIII", f.read(16))
        assert magic == 0x803, path
        return np.frombuffer(f.read(), dtype=np.uint8).reshape(n, 1, rows, cols)


class fc_sae(nn.Module):
    def __init__(self, hidden):
        super().__init__()
        self.enc = nn.Linear(784, hidden)
        self.dec = nn.Linear(hidden, 784)

    def forward(self, x):
        h = torch.sigmoid(self.enc(x.view(x.shape[0], -1)))
        return self.dec(h), [h]


class seed_conv(nn.Module):
    """The reference model (FACTS.md): ReLU hidden layers, six penalised sites."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 8, 3)
        self.c2 = nn.Conv2d(8, 16, 5)
        self.c3 = nn.Conv2d(16, 32, 5, stride=2)
        self.pool = nn.MaxPool2d(2, 2)
        self.d1 = nn.ConvTranspose2d(32, 16, 3, stride=2)
        self.d2 = nn.ConvTranspose2d(16, 8, 5, stride=2)
        self.d3 = nn.ConvTranspose2d(8, 1, 8)

    def forward(self, x):
        a1 = F.relu(self.c1(x))
        a2 = F.relu(self.c2(a1))
        a3 = F.relu(self.c3(a2))
        a4 = self.pool(a3)
        a5 = F.relu(self.d1(a4))
        a6 = F.relu(self.d2(a5))
        return self.d3(a6), [a1, a2, a3, a4, a5, a6]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", choices=["fc", "seed_conv"], default="fc")
    p.add_argument("--hidden", type=int, default=1024)
    p.add_argument("--batch", type=int, default=1200)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--data", default="data/mnist")
    a = p.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(42)
    images = torch.from_numpy(load_images(f"{a.data}/train-images-idx3-ubyte").astype(np.float32) / 255.0)
    model = fc_sae(a.hidden) if a.model == "fc" else seed_conv()
    opt = torch.optim.Adam(model.parameters(), lr=9e-3 if a.model == "seed_conv" else 1e-3)
    gen = torch.Generator().manual_seed(42)

    def step():
        idx = torch.randint(0, images.shape[0], (a.batch,), generator=gen)
        x = images[idx]
        logits, acts = model(x)
        loss = F.binary_cross_entropy(torch.sigmoid(logits), x.view_as(logits))
        # An L1-style activity term on every site, as both penalties cost alike.
        loss = loss + 1e-4 * sum(h.abs().mean() for h in acts)
        opt.zero_grad()
        loss.backward()
        opt.step()

    for _ in range(a.warmup):
        step()
    t0 = time.perf_counter()
    for _ in range(a.steps):
        step()
    dt = time.perf_counter() - t0
    per_image = dt / (a.steps * a.batch)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"impl=pytorch model={a.model} batch={a.batch} threads={a.threads} "
          f"images_per_s={1 / per_image:.0f} s_per_epoch={60000 * per_image:.2f} peak_rss_mib={peak_mib:.0f}")


if __name__ == "__main__":
    main()
