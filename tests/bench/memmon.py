"""memmon.py - runs a command and samples the memory of every fmnist-grid process it starts
(descendants only, so other users' searches are not counted), every 0.1 s, from
/proc/PID/smaps_rollup. RSS counts a shared page in every process that maps it; PSS
divides it among them, so the sum of PSS over the ranks is the job's real footprint.
Prints key=value lines (KiB): processes, peak_rss_rank_kb (the largest peak RSS of one
process), peak_rss_sum_kb and peak_pss_sum_kb (the largest sums over a single sample).
Exits with the command's status.

  python3 memmon.py COMMAND [ARGS...]
"""
import os
import subprocess
import sys
import time


def children_map():
    kids = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                s = f.read()
        except OSError:
            continue
        rest = s[s.rindex(")") + 2:].split()
        comm = s[s.index("(") + 1:s.rindex(")")]
        kids.setdefault(int(rest[1]), []).append((int(d), comm))
    return kids


def descendants(root):
    kids, out, todo = children_map(), [], [root]
    while todo:
        for pid, comm in kids.get(todo.pop(), []):
            out.append((pid, comm))
            todo.append(pid)
    return out


def rollup(pid):
    v = {}
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                k, _, rest = line.partition(":")
                if k in ("Rss", "Pss"):
                    v[k] = int(rest.split()[0])
    except (OSError, ValueError):
        return None
    return v if len(v) == 2 else None


def main():
    p = subprocess.Popen(sys.argv[1:])
    peak_rank, seen, peak_rss_sum, peak_pss_sum = {}, set(), 0, 0
    while p.poll() is None:
        rss_sum = pss_sum = 0
        for pid, comm in descendants(p.pid):
            if comm != "fmnist-grid":
                continue
            v = rollup(pid)
            if v is None:
                continue
            seen.add(pid)
            peak_rank[pid] = max(peak_rank.get(pid, 0), v["Rss"])
            rss_sum += v["Rss"]
            pss_sum += v["Pss"]
        peak_rss_sum = max(peak_rss_sum, rss_sum)
        peak_pss_sum = max(peak_pss_sum, pss_sum)
        time.sleep(0.1)
    print(f"processes={len(seen)}")
    print(f"peak_rss_rank_kb={max(peak_rank.values(), default=0)}")
    print(f"peak_rss_sum_kb={peak_rss_sum}")
    print(f"peak_pss_sum_kb={peak_pss_sum}")
    sys.exit(p.returncode)


if __name__ == "__main__":
    main()
