# Not part of the test suite: an independent check of one study model's accuracy.
# Run: OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 /usr/bin/python3 tests/bench/crosscheck_separable.py sep 0 1 2
# ("conv 0 1" trains convNN_1 the same way, as a control). Needs python3-torch.
# Cross-check of convNN_6 (SeparableConv2D 32 3x3 relu -> maxpool 2 -> flatten -> dense 100
# relu -> dense 10 softmax) in PyTorch with Keras's initializers (glorot_uniform kernels with
# Keras's fans, zero biases), SGD lr 0.05, batch 500, 10 epochs, all 60,000 images.
import gzip, math, sys, numpy as np, torch, torch.nn as nn, torch.nn.functional as F
torch.set_num_threads(1)
D = "/usr/share/datasets/fashion-mnist/"
def idx(name, off):
    with gzip.open(D + name) as f: return np.frombuffer(f.read(), np.uint8, offset=off)
xtr = torch.tensor(idx("train-images-idx3-ubyte.gz", 16).reshape(-1, 1, 28, 28) / 255.0, dtype=torch.float32)
ytr = torch.tensor(idx("train-labels-idx1-ubyte.gz", 8).astype(np.int64))
xte = torch.tensor(idx("t10k-images-idx3-ubyte.gz", 16).reshape(-1, 1, 28, 28) / 255.0, dtype=torch.float32)
yte = torch.tensor(idx("t10k-labels-idx1-ubyte.gz", 8).astype(np.int64))
def glorot(t, fan_in, fan_out):
    l = math.sqrt(6.0 / (fan_in + fan_out)); nn.init.uniform_(t, -l, l)
class Net(nn.Module):
    def __init__(s, sep):
        super().__init__()
        s.sep = sep
        if sep:
            s.dw = nn.Conv2d(1, 1, 3, bias=False)        # Keras depthwise (3,3,1,1): fans 9, 9
            s.pw = nn.Conv2d(1, 32, 1, bias=True)        # Keras pointwise (1,1,1,32): fans 1, 32
            glorot(s.dw.weight, 9, 9); glorot(s.pw.weight, 1, 32); nn.init.zeros_(s.pw.bias)
        else:
            s.c = nn.Conv2d(1, 32, 3); glorot(s.c.weight, 9, 288); nn.init.zeros_(s.c.bias)
        s.d1 = nn.Linear(13 * 13 * 32, 100); s.d2 = nn.Linear(100, 10)
        glorot(s.d1.weight, 5408, 100); glorot(s.d2.weight, 100, 10)
        nn.init.zeros_(s.d1.bias); nn.init.zeros_(s.d2.bias)
    def forward(s, x):
        x = F.relu(s.pw(s.dw(x))) if s.sep else F.relu(s.c(x))
        x = F.max_pool2d(x, 2).permute(0, 2, 3, 1).flatten(1)   # channels_last flatten
        return s.d2(F.relu(s.d1(x)))
sep = sys.argv[1] == "sep"
for seed in map(int, sys.argv[2:]):
    torch.manual_seed(seed); g = torch.Generator().manual_seed(seed)
    net = Net(sep); opt = torch.optim.SGD(net.parameters(), lr=0.05)
    for ep in range(10):
        perm = torch.randperm(60000, generator=g)
        for i in range(0, 60000, 500):
            b = perm[i:i + 500]; opt.zero_grad()
            F.cross_entropy(net(xtr[b]), ytr[b]).backward(); opt.step()
    with torch.no_grad(): acc = (net(xte).argmax(1) == yte).float().mean().item()
    print(f"{'convNN_6' if sep else 'convNN_1'} seed {seed}: test accuracy {acc:.4f}", flush=True)
