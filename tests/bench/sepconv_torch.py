# Checks our separable_conv2d against PyTorch's depthwise + pointwise convolutions on the same
# weights and images: the forward loss and the parameters after one SGD step (so every
# gradient: depthwise kernel, pointwise kernel, bias, and the input path through the dense
# layer). Not part of the test suite: issue 13's question whether convNN_6's gap to the study
# is the engine.
#   cmake --build build --target fg_sepconv_dump
#   /usr/bin/python3 tests/bench/sepconv_torch.py build/tests/bench/sepconv_dump
# Prints one line per case and the largest relative differences; exits 1 if any exceeds 1e-4.
import subprocess, sys, tempfile, os
import numpy as np, torch, torch.nn.functional as F

torch.set_num_threads(1)

def load(path):
    raw = open(path, "rb").read()
    hdr = np.frombuffer(raw, np.int32, 9)
    h, w, c, f, dm, same, st, n, np_ = (int(v) for v in hdr)
    a = np.frombuffer(raw, np.float32, offset=36)
    k = n * h * w * c
    img, a = a[:k].reshape(n, h, w, c), a[k:]
    lab, a = a[:n].astype(np.int64), a[n:]
    before, a = a[:np_], a[np_:]
    loss, after = float(a[0]), a[1:1 + np_]
    return dict(h=h, w=w, c=c, f=f, dm=dm, same=same, st=st, n=n), img, lab, before, loss, after

def split(p, g):
    c, dm, f = g["c"], g["dm"], g["f"]
    sizes = [9 * c * dm, c * dm * f, f]
    out, i = [], 0
    for s in sizes:
        out.append(p[i:i + s]); i += s
    flat = (p.size - i - 10) // 10
    out.append(p[i:i + flat * 10]); i += flat * 10
    out.append(p[i:i + 10])
    return out

def same_pads(n, k, s):
    # TensorFlow's "same": total padding max((ceil(n/s)-1)*s + k - n, 0), the extra on the end.
    out = -(-n // s)
    tot = max((out - 1) * s + k - n, 0)
    return tot // 2, tot - tot // 2

def forward(g, img, lab, ps):
    dw, pw, b, dk, db = ps
    c, dm, f = g["c"], g["dm"], g["f"]
    x = torch.tensor(img / 255.0, dtype=torch.float32).permute(0, 3, 1, 2)  # NCHW
    # Keras depthwise (3,3,C,DM): output channel c*DM + m reads input channel c.
    wdw = dw.reshape(3, 3, c, dm).permute(2, 3, 0, 1).reshape(c * dm, 1, 3, 3)
    if g["same"]:
        t, bt = same_pads(g["h"], 3, g["st"]); l, r = same_pads(g["w"], 3, g["st"])
        x = F.pad(x, (l, r, t, bt))
    m = F.conv2d(x, wdw, stride=g["st"], groups=c)
    y = F.relu(F.conv2d(m, pw.reshape(c * dm, f).t().reshape(f, c * dm, 1, 1), b))
    z = y.permute(0, 2, 3, 1).flatten(1) @ dk.reshape(-1, 10) + db  # channels_last flatten
    return F.cross_entropy(z, torch.tensor(lab))

def case(binary, args):
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "o.bin")
        subprocess.run([binary, out] + [str(a) for a in args], check=True, stdout=subprocess.DEVNULL)
        g, img, lab, before, loss, after = load(out)
    ps = [torch.tensor(p.astype(np.float64), dtype=torch.float64).float().requires_grad_() for p in split(before, g)]
    tl = forward(g, img, lab, ps)
    tl.backward()
    want = np.concatenate([(p - 0.1 * p.grad).detach().numpy() for p in ps])
    rel_loss = abs(tl.item() - loss) / abs(tl.item())
    names = ["depthwise", "pointwise", "bias", "dense kernel", "dense bias"]
    worst = {}
    i = 0
    for name, p in zip(names, ps):
        s = p.numel()
        ours, ref, step = after[i:i + s], want[i:i + s], 0.1 * p.grad.numpy().ravel()
        # Compare the step taken (after - before) relative to the largest step of the block.
        worst[name] = float(np.max(np.abs((ours - before[i:i + s]) - (-step))) / max(np.max(np.abs(step)), 1e-12))
        i += s
    print(f"{' '.join(map(str, args))}: loss ours {loss:.7f} torch {tl.item():.7f} (rel {rel_loss:.1e}); "
          + ", ".join(f"{k} {v:.1e}" for k, v in worst.items()))
    return max([rel_loss] + list(worst.values()))

binary = sys.argv[1] if len(sys.argv) > 1 else "build/tests/bench/sepconv_dump"
cases = [
    (28, 28, 1, 32, 1, "valid", 1, 64),   # convNN_6's layer
    (9, 11, 3, 5, 2, "same", 1, 16),
    (10, 9, 4, 6, 3, "same", 2, 8),
    (8, 8, 2, 4, 1, "valid", 2, 12),
]
worst = max(case(binary, c) for c in cases)
print(f"largest relative difference {worst:.2e}")
sys.exit(0 if worst < 1e-4 else 1)
