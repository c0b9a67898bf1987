"""sklearn_search.py - the scikit-learn side of the search benchmarks (tests/bench/run).

Runs GridSearchCV over MLPClassifier on the grid of tests/bench/search.yaml, on the images
and folds that export_folds printed for fmnist-grid (PredefinedSplit), with the same
epochs, batch sizes, optimizers and learning rates: alpha=0 (no L2), SGD without momentum,
Adam's epsilon 1e-8, no early stopping (n_iter_no_change above the epoch count), pixels
scaled by 1/255, float32. refit=True, as fmnist-grid refits the best configuration on the
whole subset. Prints key=value lines: fit_s, best_score, best_params, fits; --cv-results
writes each configuration's parameters, fold scores and mean (as fmnist-grid's
cv_results.csv) for a side-by-side look.

--halving runs HalvingGridSearchCV instead (tests/bench/search-halving.yaml), with the grid's
search: section as its settings: factor (default 3), resource epochs -> max_iter (samples ->
n_samples), min_resources (default 'exhaust'), max_resources (default: the grid's epochs for
resource epochs, every image for samples), aggressive_elimination. scikit-learn sets max_iter
itself, so the grid must have one epochs value then. It also prints n_iterations,
n_candidates and n_resources (comma-separated, one per iteration: scikit-learn's
n_candidates_ and n_resources_), to be checked against fmnist-grid's schedule.

  python3 sklearn_search.py GRID FOLDS_FILE DATA_DIR [--epochs N] [--n-jobs 2] [--halving]
                            [--cv-results CSV]
"""
import argparse
import csv
import gzip
import os
import time
import warnings

import numpy as np
import yaml
from sklearn.exceptions import ConvergenceWarning
from sklearn.experimental import enable_halving_search_cv  # noqa: F401 (HalvingGridSearchCV)
from sklearn.model_selection import GridSearchCV, HalvingGridSearchCV, PredefinedSplit
from sklearn.neural_network import MLPClassifier

NAMES = {"units": "hidden_layer_sizes", "optimizer": "solver",
         "learning_rate": "learning_rate_init", "batch_size": "batch_size", "epochs": "max_iter"}


def idx(path, offset):
    with gzip.open(path) if path.endswith(".gz") else open(path, "rb") as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=offset)


def param_grid(grid, epochs):
    """search.yaml's grid (a mapping or a list of them) as GridSearchCV's param_grid."""
    subs = grid["grid"] if isinstance(grid["grid"], list) else [grid["grid"]]
    fixed = grid.get("train", {})
    out = []
    for sub in subs:
        p = {}
        for k, vals in sub.items():
            if k not in NAMES:
                raise SystemExit(f"sklearn_search: no MLPClassifier equivalent of '{k}'")
            p[NAMES[k]] = [(v,) for v in vals] if k == "units" else list(vals)
        p.setdefault("max_iter", [epochs or fixed.get("epochs", 1)])
        if epochs:
            p["max_iter"] = [epochs]
        out.append(p)
    return out


def halving_settings(grid, pg):
    """The grid's search: section as HalvingGridSearchCV's keyword arguments; for resource
    epochs, max_iter leaves the candidates (scikit-learn sets it to each iteration's resource)."""
    s = grid.get("search") or {}
    if s.get("strategy") != "halving" or "n_iter" in s:
        raise SystemExit("sklearn_search: --halving needs a grid with search: {strategy: halving} without n_iter")
    kw = {"factor": int(s.get("factor", 3)), "min_resources": s.get("min_resources", "exhaust"),
          "aggressive_elimination": bool(s.get("aggressive_elimination", False))}
    if s.get("resource", "epochs") == "samples":
        kw.update(resource="n_samples", max_resources=s.get("max_resources", "auto"))
        return kw
    epochs = {v for p in pg for v in p.pop("max_iter")}
    if len(epochs) != 1:
        raise SystemExit(f"sklearn_search: --halving over epochs needs one epochs value, not {sorted(epochs)}")
    kw.update(resource="max_iter", max_resources=int(s.get("max_resources", epochs.pop())))
    return kw


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("grid")
    ap.add_argument("folds")
    ap.add_argument("data")
    ap.add_argument("--epochs", type=int, default=0)
    ap.add_argument("--n-jobs", type=int, default=2)
    ap.add_argument("--halving", action="store_true")
    ap.add_argument("--cv-results")
    a = ap.parse_args()
    with open(a.grid) as f:
        grid = yaml.safe_load(f)
    rows = np.loadtxt(a.folds, dtype=np.int64, skiprows=1, ndmin=2)
    pick, fold = rows[:, 0], rows[:, 1]
    images = idx(os.path.join(a.data, "train-images-idx3-ubyte.gz"), 16).reshape(-1, 784)
    labels = idx(os.path.join(a.data, "train-labels-idx1-ubyte.gz"), 8)
    x = images[pick].astype(np.float32) / np.float32(255)
    y = labels[pick].astype(np.int64)
    pg = param_grid(grid, a.epochs)
    longest = max(v for p in pg for v in p["max_iter"])
    hv = halving_settings(grid, pg) if a.halving else None
    if hv and hv["resource"] == "max_iter":
        longest = max(longest, hv["max_resources"])
    est = MLPClassifier(activation="relu", alpha=0.0, momentum=0.0, nesterovs_momentum=False,
                        learning_rate="constant", epsilon=1e-8, shuffle=True, random_state=0,
                        early_stopping=False, tol=0.0, n_iter_no_change=longest + 1)
    if hv:
        search = HalvingGridSearchCV(est, pg, cv=PredefinedSplit(fold), n_jobs=a.n_jobs, refit=True,
                                     random_state=0, **hv)
    else:
        search = GridSearchCV(est, pg, cv=PredefinedSplit(fold), n_jobs=a.n_jobs, refit=True)
    warnings.simplefilter("ignore", ConvergenceWarning)
    os.environ["PYTHONWARNINGS"] = "ignore"  # the same in joblib's worker processes
    t0 = time.perf_counter()
    search.fit(x, y)
    print(f"fit_s={time.perf_counter() - t0:.3f}")
    print(f"best_score={search.best_score_:.6f}")
    print("best_params=" + ";".join(f"{k}={v}" for k, v in sorted(search.best_params_.items())))
    print(f"fits={len(search.cv_results_['params']) * len(set(fold.tolist()))}")
    if hv:
        print(f"n_iterations={search.n_iterations_}")
        print("n_candidates=" + ",".join(str(n) for n in search.n_candidates_))
        print("n_resources=" + ",".join(str(n) for n in search.n_resources_))
    print(f"dtype={search.best_estimator_.coefs_[0].dtype}")
    if a.cv_results:
        r = search.cv_results_
        splits = sorted(k for k in r if k.startswith("split") and k.endswith("_test_score"))
        with open(a.cv_results, "w", newline="") as f:
            w = csv.writer(f)
            it = ["iter", "n_resources"] if hv else []
            w.writerow(it + ["params", "mean_fit_time"] + splits + ["mean_test_score", "rank_test_score"])
            for i, p in enumerate(r["params"]):
                w.writerow([r[k][i] for k in it] + [";".join(f"{k}={v}" for k, v in sorted(p.items())),
                            r["mean_fit_time"][i]]
                           + [r[k][i] for k in splits] + [r["mean_test_score"][i], r["rank_test_score"][i]])


if __name__ == "__main__":
    main()
