#!/usr/bin/python3
"""Keras HDF5 weights files for the tests, written with h5py exactly as Keras lays them out,
and an independent PyTorch forward pass to compare fmnist-grid's with.

  keras_weights.py write --arch small|vgg16 --layout keras2|apps --seed N --out F.h5
                         [--rename OLD=NEW] [--filters LAYER=F]
  keras_weights.py images --n N --seed S --out IMAGES.raw
  keras_weights.py torch --arch small|vgg16 --h5 F.h5 --images IMAGES.raw --n N
                         --layer-out OURS_LAYER.txt --probs-out OURS_PROBS.txt

Layouts (as Keras 2 writes them; see include/h5w.h):
  keras2  root attrs layer_names, backend, keras_version; group per layer with attribute
          weight_names ["LAYER/kernel:0", "LAYER/bias:0"] and the arrays nested at
          LAYER/LAYER/kernel:0 (BN: gamma:0, beta:0, moving_mean:0, moving_variance:0);
          layers without weights get an empty weight_names (np.asarray([]), float64)
  apps    the applications' notop file: weight_names ["LAYER_W_1:0", "LAYER_b_1:0"], the
          arrays directly in the layer's group, an input layer first
Values are seeded normal: conv kernels N(0, sqrt(2 / fan_in)), dense kernels 500 times
smaller (the softmax does not saturate), the rest N(0, 0.05) (BN's variance |N| + 0.5), so
that activations stay in range through all of VGG16's 13 layers.
The comparison: per image and per output, max |ours - torch| <= 1e-4 * max |torch|.
"""
import argparse
import sys

import numpy as np

MEAN_BGR = [103.939, 116.779, 123.68]


def vgg16_layers():
    """(name, kind, filters) of Keras's VGG16 base, include_top=False."""
    out = []
    for b, (n, f) in enumerate([(2, 64), (2, 128), (3, 256), (3, 512), (3, 512)], 1):
        out += [(f"block{b}_conv{i}", "conv", f) for i in range(1, n + 1)]
        out.append((f"block{b}_pool", "pool", 0))
    return out


def arch(name):
    """Input size after resizing, and the layers after the preprocessing ones."""
    if name == "vgg16":
        return 48, vgg16_layers()
    return 20, [("b1c1", "conv", 8), ("b1c2", "conv", 8), ("b1p", "pool", 0),
                ("b2c1", "conv", 16), ("bn", "bn", 0), ("b2p", "pool", 0),
                ("b3c1", "conv", 16), ("b3p", "pool", 0), ("flatten", "flatten", 0),
                ("fc", "dense", 12), ("leaky", "leaky", 0), ("out", "dense", 10)]


def make_arrays(arch_name, seed, filters_override):
    """{layer: [(short name, array)]} in Keras's get_weights() order."""
    rng = np.random.default_rng(seed)
    size, layers = arch(arch_name)
    c, hw, flat, out = 3, size, None, {}
    for name, kind, f in layers:
        f = filters_override.get(name, f)
        if kind == "conv":
            k = rng.normal(0, np.sqrt(2.0 / (9 * c)), (3, 3, c, f))
            out[name] = [("kernel", k), ("bias", rng.normal(0, 0.05, f))]
            c = f
        elif kind == "bn":
            out[name] = [("gamma", 1 + rng.normal(0, 0.05, c)), ("beta", rng.normal(0, 0.05, c)),
                         ("moving_mean", rng.normal(0, 0.05, c)),
                         ("moving_variance", np.abs(rng.normal(0, 0.05, c)) + 0.5)]
        elif kind == "pool":
            hw //= 2
            out[name] = []
        elif kind == "flatten":
            flat = hw * hw * c
            out[name] = []
        elif kind == "dense":
            # the features of 0..255 inputs are in the hundreds: small dense kernels keep
            # the softmax away from saturation, so that the probabilities are compared
            k = rng.normal(0, 0.002 * np.sqrt(2.0 / flat), (flat, f))
            out[name] = [("kernel", k), ("bias", rng.normal(0, 0.05, f))]
            flat = f
        else:
            out[name] = []
    return {n: [(s, a.astype(np.float32)) for s, a in w] for n, w in out.items()}


def write(args):
    import h5py
    renames = dict(r.split("=", 1) for r in args.rename)
    filters = {k: int(v) for k, v in (r.split("=", 1) for r in args.filters)}
    arrays = make_arrays(args.arch, args.seed, filters)
    with h5py.File(args.out, "w") as f:
        names = list(arrays)
        if args.layout == "apps":
            names = ["input_1"] + names
            arrays = {"input_1": [], **arrays}
        names = [renames.get(n, n) for n in names]
        f.attrs["layer_names"] = np.array([n.encode() for n in names])
        f.attrs["backend"] = b"tensorflow"
        f.attrs["keras_version"] = b"2.11.0" if args.layout == "keras2" else b"2.0.6"
        for name, (_, ws) in zip(names, arrays.items()):
            g = f.create_group(name)
            if args.layout == "keras2":
                wn = [f"{name}/{s}:0" for s, _ in ws]
            else:
                wn = [f"{name}_{ {'kernel': 'W', 'bias': 'b'}.get(s, s)}_1:0" for s, _ in ws]
            g.attrs["weight_names"] = np.array([w.encode() for w in wn]) if wn else np.asarray([])
            for w, (_, a) in zip(wn, ws):
                g.create_dataset(w, data=a)


def images(args):
    rng = np.random.default_rng(args.seed)
    rng.integers(0, 256, (args.n, 28, 28), dtype=np.uint8).tofile(args.out)


def torch_forward(arch_name, h5, imgs):
    """The network in PyTorch (float64), weights read from the file with h5py."""
    import h5py
    import torch
    import torch.nn.functional as F
    with h5py.File(h5, "r") as f:
        w = {}
        for n in f.attrs["layer_names"]:
            n = n.decode() if isinstance(n, bytes) else n
            g = f[n]
            w[n] = [torch.tensor(np.array(g[x.decode() if isinstance(x, bytes) else x]),
                                 dtype=torch.float64) for x in g.attrs["weight_names"]]
    size, layers = arch(arch_name)
    x = torch.tensor(imgs, dtype=torch.float64)[:, None] / 255.0 * 255.0  # rescaling
    x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
    x = x.repeat(1, 3, 1, 1).flip(1) - torch.tensor(MEAN_BGR, dtype=torch.float64)[None, :, None, None]
    feats = {}
    for name, kind, _ in layers:
        if kind == "conv":
            k, b = w[name]
            x = F.relu(F.conv2d(x, k.permute(3, 2, 0, 1), b, padding=1))  # HWIO -> OIHW
        elif kind == "bn":
            g, be, mm, mv = w[name]
            x = F.batch_norm(x, mm, mv, g, be, training=False, eps=1e-3)
        elif kind == "pool":
            x = F.max_pool2d(x, 2)
        elif kind == "flatten":
            x = x.permute(0, 2, 3, 1).reshape(x.shape[0], -1)  # channels_last order
        elif kind == "dense":
            k, b = w[name]
            x = x @ k + b
            x = torch.softmax(x, 1) if name == "out" else F.relu(x)
        elif kind == "leaky":
            x = F.leaky_relu(x, 0.1)
        feats[name] = x.permute(0, 2, 3, 1).reshape(x.shape[0], -1) if x.dim() == 4 else x
    return feats, x


def compare(what, ours, ref):
    bad = 0
    for i, (a, b) in enumerate(zip(ours, ref)):
        scale = np.max(np.abs(b))
        err = np.max(np.abs(a - b))
        if not scale > 0 or err > 1e-4 * scale:
            print(f"{what}: image {i}: max error {err:.3g} against max {scale:.3g}")
            bad += 1
        else:
            print(f"{what}: image {i}: relative error {err / scale:.2e}")
    return bad


def torch_cmd(args):
    imgs = np.fromfile(args.images, dtype=np.uint8)[: args.n * 784].reshape(args.n, 28, 28)
    feats, probs = torch_forward(args.arch, args.h5, imgs)
    layer = "block5_pool" if args.arch == "vgg16" else "flatten"
    ours_l = np.loadtxt(args.layer_out, ndmin=2)
    ours_p = np.loadtxt(args.probs_out, ndmin=2)
    ref_l, ref_p = feats[layer].numpy(), probs.numpy()
    if ours_l.shape != ref_l.shape or ours_p.shape[0] != ref_p.shape[0]:
        print(f"shapes differ: {ours_l.shape} {ref_l.shape} {ours_p.shape} {ref_p.shape}")
        return 1
    bad = compare(layer, ours_l, ref_l)
    if args.arch == "small":  # vgg16's file is the base alone: the head is not in it
        bad += compare("probabilities", ours_p, ref_p)
    return 1 if bad else 0


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    w = sub.add_parser("write")
    w.add_argument("--arch", choices=["small", "vgg16"], required=True)
    w.add_argument("--layout", choices=["keras2", "apps"], required=True)
    w.add_argument("--seed", type=int, default=0)
    w.add_argument("--out", required=True)
    w.add_argument("--rename", action="append", default=[])
    w.add_argument("--filters", action="append", default=[])
    i = sub.add_parser("images")
    i.add_argument("--n", type=int, required=True)
    i.add_argument("--seed", type=int, default=0)
    i.add_argument("--out", required=True)
    t = sub.add_parser("torch")
    t.add_argument("--arch", choices=["small", "vgg16"], required=True)
    t.add_argument("--h5", required=True)
    t.add_argument("--images", required=True)
    t.add_argument("--n", type=int, required=True)
    t.add_argument("--layer-out", required=True)
    t.add_argument("--probs-out", required=True)
    a = p.parse_args()
    return {"write": write, "images": images, "torch": torch_cmd}[a.cmd](a) or 0


if __name__ == "__main__":
    sys.exit(main())
