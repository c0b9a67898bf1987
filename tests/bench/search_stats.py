"""search_stats.py - numbers that tests/bench/run reads from a finished fmnist-grid search
directory (its journal.jsonl, report.yaml and cv_results.csv), printed as key=value lines.

  python3 search_stats.py journal DIR
      cpu_s    the fold tasks' CPU seconds: fit_time + score_time of every task record
               (every status, every iteration; a halving search's speculative work on
               candidates that were not promoted included: it was spent), the refit excluded
      refit_s  the same for the refit records
      busy_s   cpu_s + refit_s: the time ranks spent training
      wall_s   the ended sessions' wall_time summed (each from the program's start to its end)
      ranks    the largest rank count of those sessions
      records  task records read
  python3 search_stats.py schedule DIR
      a halving search's schedule from report.yaml's halving block: n_iterations,
      n_candidates and n_resources (comma-separated, one per iteration, as scikit-learn's
      n_candidates_ / n_resources_), tasks (sum of n_candidates x folds)
  python3 search_stats.py same-best DIR EXHAUSTIVE_DIR
      same_best  1 when DIR's best configuration (report.yaml) is EXHAUSTIVE_DIR's best, or one
                 whose corrected t-test p-value against that best in EXHAUSTIVE_DIR's
                 cv_results.csv is above 0.05; 0 otherwise. Configurations are matched by
                 their parameters (a random search numbers its draws differently).
      p_value, best, exhaustive_best, rank (DIR's best in EXHAUSTIVE_DIR's ranking)

Exit status 1 with one line on stderr when a file is missing or lacks what is needed.
"""
import csv
import json
import os
import sys

import yaml


def fail(msg):
    sys.exit(f"search_stats: {msg}")


def report(d):
    path = os.path.join(d, "report.yaml")
    try:
        with open(path) as f:
            return yaml.safe_load(f)
    except (OSError, yaml.YAMLError) as e:
        fail(f"{path}: {e}")


def journal(d):
    path = os.path.join(d, "journal.jsonl")
    cpu = refit = wall = 0.0
    ranks = records = 0
    try:
        lines = open(path).read().splitlines()
    except OSError as e:
        fail(f"{path}: {e}")
    for line in lines:
        try:
            r = json.loads(line)
        except ValueError:
            continue  # a torn last line: fmnist-grid ignores it too
        if "task" in r:
            t = (r.get("fit_time") or 0.0) + (r.get("score_time") or 0.0)
            records += 1
            if r.get("fold") == -1:
                refit += t
            else:
                cpu += t
        elif r.get("status") == "session" and r.get("ended") and r.get("wall_time") is not None:
            wall += r["wall_time"]
            ranks = max(ranks, r.get("ranks") or 0)
    print(f"cpu_s={cpu:.3f}\nrefit_s={refit:.3f}\nbusy_s={cpu + refit:.3f}\nwall_s={wall:.3f}")
    print(f"ranks={ranks}\nrecords={records}")


def schedule(d):
    r = report(d)
    h = r.get("halving")
    if not h or not h.get("iterations"):
        fail(f"{d}/report.yaml: no halving block (not a halving search, or a report without one)")
    its = h["iterations"]
    folds = r["cv"]["folds"]
    print(f"n_iterations={len(its)}")
    print("n_candidates=" + ",".join(str(i["n_candidates"]) for i in its))
    print("n_resources=" + ",".join(str(i["n_resources"]) for i in its))
    print(f"tasks={sum(i['n_candidates'] for i in its) * folds}")


def params_key(text):
    """'a=1, b=x' (cv_results.csv's params column) as a set of 'k=v' items"""
    return frozenset(p.strip() for p in text.split(",") if p.strip())


def same_best(d, ex):
    best = report(d).get("best")
    if not best:
        fail(f"{d}/report.yaml: no best configuration")
    want = frozenset(f"{k}={v}" for k, v in best["params"].items())
    path = os.path.join(ex, "cv_results.csv")
    try:
        rows = list(csv.DictReader(open(path, newline="")))
    except OSError as e:
        fail(f"{path}: {e}")
    top = [r for r in rows if r["rank_test_score"] == "1"]
    hit = [r for r in rows if params_key(r["params"]) == want]
    if not top or len(hit) != 1:
        fail(f"{path}: no best row, or {len(hit)} rows with the parameters {sorted(want)}")
    h = hit[0]
    p = float(h["p_value_vs_best"]) if h["p_value_vs_best"] else float("nan")
    same = h["rank_test_score"] == "1" or p > 0.05
    print(f"same_best={int(same)}\np_value={h['p_value_vs_best']}\nrank={h['rank_test_score']}")
    print(f"best={h['params']}\nexhaustive_best={top[0]['params']}")


def main():
    a = sys.argv[1:]
    if len(a) == 2 and a[0] == "journal":
        journal(a[1])
    elif len(a) == 2 and a[0] == "schedule":
        schedule(a[1])
    elif len(a) == 3 and a[0] == "same-best":
        same_best(a[1], a[2])
    else:
        sys.exit("usage: search_stats.py journal DIR | schedule DIR | same-best DIR EXHAUSTIVE_DIR")


if __name__ == "__main__":
    main()
