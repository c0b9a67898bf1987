#!/usr/bin/env python3
"""halving_check.py JOURNAL FACTOR ITERATIONS [epochs|samples]: checks a halving search's journal and prints
its canonical results (the results that count, the promotions, the best and the refit) for
comparing runs.

Checked: every fold record carries iter and n_resources, every iteration's resource is one
value; the promotions replayed here (scikit-learn's: the best ceil(n / factor) by mean
cross-validation score, ties to the lower cost n_params x max_epochs, then the lower index)
from the recorded scores equal the candidates that ran every fold of the next iteration; the
refit is the best of the last iteration, with its iteration and resource; with a resource
kind given, what each task trained with: at most n_resources epochs (the refit too), or
n_resources images of its fold (training + validation, within rounding; the refit: all).
Exit 1 with a message on any failure."""
import json
import math
import struct
import sys


def f32(x):
    """The float32 the journal's 9 significant digits stand for, as a double (as C reads it)."""
    return struct.unpack('f', struct.pack('f', x))[0]


def fail(msg):
    print('halving_check: ' + msg, file=sys.stderr)
    sys.exit(1)


def main():
    path, factor, n_iter = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    kind = sys.argv[4] if len(sys.argv) > 4 else None
    first = {}      # (iter, config, fold) -> score (the first record counts)
    res = {}        # iter -> n_resources
    cost = {}
    refit = []
    folds = 0
    n_configs = 0
    for line in open(path):
        j = json.loads(line)
        if 'fmnist_grid_journal' in j:
            n_configs, folds = j['configs'], j['folds']
            continue
        if j.get('status') == 'session' or 'config' not in j:
            continue
        if 'iter' not in j or 'n_resources' not in j:
            fail('a record without iter or n_resources: ' + line[:80])
        it, c, k = j['iter'], j['config'], j['fold']
        if j.get('n_params') is not None and j.get('max_epochs') is not None:
            cost[c] = float(j['n_params']) * j['max_epochs']
        if kind == 'epochs' and j['epochs'] > j['n_resources']:
            fail('configuration %d fold %d trained %d epochs, more than its resource %d' %
                 (c, k, j['epochs'], j['n_resources']))
        if kind == 'samples' and k >= 0 and not 0 <= j['n_resources'] - j['n_train'] - j['n_val'] < 3:
            fail('configuration %d fold %d trained on %d + %d images, not its resource %d' %
                 (c, k, j['n_train'], j['n_val'], j['n_resources']))
        if k == -1:
            refit.append(j)
            continue
        if res.setdefault(it, j['n_resources']) != j['n_resources']:
            fail('iteration %d has resources %d and %d' % (it, res[it], j['n_resources']))
        if j['task'] != c * folds + k:
            fail('record task %d is not config x folds + fold' % j['task'])
        score = f32(j['val_acc']) if j.get('val_acc') is not None and j['status'] == 'ok' else math.nan
        first.setdefault((it, c, k), score)
    if sorted(res) != list(range(n_iter)):
        fail('iterations %s, expected 0..%d' % (sorted(res), n_iter - 1))
    cands = list(range(n_configs))
    out = []
    best = None
    for it in range(n_iter):
        means = {}
        for c in cands:
            s = [first.get((it, c, k)) for k in range(folds)]
            if any(x is None for x in s):
                fail('iteration %d: configuration %d lacks a fold' % (it, c))
            total = 0.0
            for x in s:
                total += x
            means[c] = total / folds
            out.append('iter %d config %d resource %d scores %s mean %r' % (it, c, res[it], ' '.join(repr(x) for x in s), means[c]))
        order = sorted(cands, key=lambda c: (math.isnan(means[c]), -means[c] if not math.isnan(means[c]) else 0,
                                             cost.get(c, math.inf), c))
        if it + 1 < n_iter:
            cands = sorted(order[:-(-len(cands) // factor)])
            out.append('promoted to %d: %s' % (it + 1, cands))
        else:
            best = order[0]
    out.append('best %d' % best)
    # speculative results of configurations not promoted may be there: they must not be
    # candidates of the iteration they ran at
    if refit:
        r = refit[-1]
        if r['config'] != best:
            fail('the refit trained configuration %d, the best is %d' % (r['config'], best))
        if r['iter'] != n_iter - 1 or r['n_resources'] != res[n_iter - 1]:
            fail('the refit carries iteration %d resource %d, not the last iteration\'s %d, %d' %
                 (r['iter'], r['n_resources'], n_iter - 1, res[n_iter - 1]))
        out.append('refit config %d test %r epochs %d' % (r['config'], r['test_acc'], r["epochs"]))
    print('\n'.join(out))


main()
