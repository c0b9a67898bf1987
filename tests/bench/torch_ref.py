#!/usr/bin/env python3
"""torch_ref.py - PyTorch reference for the engine's training throughput (issue 7).

Trains one of the benchmark architectures on random Fashion-MNIST-sized data (uint8 images
gathered and scaled by 1/255 every step, random labels) with plain SGD and cross-entropy, on
ONE thread, and prints one line:

    images_per_second=<float>

Usage: python3 tests/bench/torch_ref.py --model mlp|convNN_1|convNN_4|bn_cnn --batch N --steps S
           [--warmup W (20)] [--lr LR (0.01)] [--repeats R (3)] [--seed SEED (1)]

The architectures are those of tests/bench/nn_bench.c and cnn_bench.c (grids/cnn.yaml):
  mlp       784-500-500-500-10, relu, softmax
  convNN_1  conv 32 3x3 relu, maxpool 2, flatten, dense 100 relu, dense 10 softmax
  convNN_4  conv 32 3x3 relu, maxpool 2, dropout .1, conv 32 3x3 relu, dropout .1,
            conv 32 3x3 relu, dropout .1, flatten, dense 1000/500/100 relu, dense 10
  bn_cnn    2 x (conv 3x3 'same' 32 then 64, batch norm momentum .9, relu, maxpool 2),
            dropout .25, flatten, dense 256 relu, dropout .5, dense 10; trained with Adam
            (lr 1e-3) and augmentation as cnn_bench's: horizontal flip of half the batch and
            translation by up to 2 pixels (pad with 0 and crop), every step
Timing: S steps after W warm-up steps, best of R repetitions. Threads: set
OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 before the import (done here
unless already set) and torch.set_num_threads(1).
"""
import argparse
import os
import sys
import time

for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(var, "1")

try:
    import torch  # noqa: E402
    from torch import nn  # noqa: E402
except ImportError:
    sys.exit("torch_ref.py: no torch module in this Python (Debian's python3-torch is in "
             "/usr/bin/python3, not in a pyenv/venv interpreter)")


def build(model):
    if model == "mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 500), nn.ReLU(), nn.Linear(500, 500),
                             nn.ReLU(), nn.Linear(500, 500), nn.ReLU(), nn.Linear(500, 10))
    if model == "convNN_1":
        return nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                             nn.Linear(13 * 13 * 32, 100), nn.ReLU(), nn.Linear(100, 10))
    if model == "convNN_4":
        return nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Dropout(0.1),
                             nn.Conv2d(32, 32, 3), nn.ReLU(), nn.Dropout(0.1),
                             nn.Conv2d(32, 32, 3), nn.ReLU(), nn.Dropout(0.1), nn.Flatten(),
                             nn.Linear(9 * 9 * 32, 1000), nn.ReLU(), nn.Linear(1000, 500),
                             nn.ReLU(), nn.Linear(500, 100), nn.ReLU(), nn.Linear(100, 10))
    if model == "bn_cnn":
        layers = []
        for cin, cout in ((1, 32), (32, 64)):
            layers += [nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout, momentum=0.1),
                       nn.ReLU(), nn.MaxPool2d(2)]
        return nn.Sequential(*layers, nn.Dropout(0.25), nn.Flatten(), nn.Linear(7 * 7 * 64, 256),
                             nn.ReLU(), nn.Dropout(0.5), nn.Linear(256, 10))
    raise ValueError(model)


def augment(x, pad=2):
    """flip half the images horizontally, shift each by -pad..pad pixels (zero fill)"""
    b = x.shape[0]
    flip = torch.rand(b) < 0.5
    x = torch.where(flip[:, None, None, None], x.flip(3), x)
    p = nn.functional.pad(x, (pad, pad, pad, pad))
    d = torch.randint(0, 2 * pad + 1, (b, 2))
    out = torch.empty_like(x)
    h, w = x.shape[2], x.shape[3]
    for i in range(b):
        dy, dx = int(d[i, 0]), int(d[i, 1])
        out[i] = p[i, :, dy:dy + h, dx:dx + w]
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True, choices=["mlp", "convNN_1", "convNN_4", "bn_cnn"])
    ap.add_argument("--batch", type=int, required=True)
    ap.add_argument("--steps", type=int, required=True)
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--lr", type=float, default=0.01)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    if a.batch < 1 or a.steps < 1 or a.warmup < 0 or a.repeats < 1:
        ap.error("batch, steps and repeats must be >= 1, warmup >= 0")
    torch.set_num_threads(1)
    torch.manual_seed(a.seed)
    net = build(a.model)
    net.train()
    recipe = a.model == "bn_cnn"
    if recipe:
        opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    else:
        opt = torch.optim.SGD(net.parameters(), lr=a.lr)
    loss_fn = nn.CrossEntropyLoss()  # log-softmax + NLL: the softmax output layer
    n = max(4096, a.batch)
    images = torch.randint(0, 256, (n, 1, 28, 28), dtype=torch.uint8)
    labels = torch.randint(0, 10, (n,))

    def step(i):
        start = (i * a.batch) % (n - a.batch + 1)
        x = images[start:start + a.batch].float().mul_(1.0 / 255.0)
        if recipe:
            x = augment(x)
        y = labels[start:start + a.batch]
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(net(x), y)
        loss.backward()
        opt.step()

    for i in range(a.warmup):
        step(i)
    best = 0.0
    for _ in range(a.repeats):
        t0 = time.perf_counter()
        for i in range(a.steps):
            step(i)
        best = max(best, a.steps * a.batch / (time.perf_counter() - t0))
    print(f"images_per_second={best:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
