"""Compare ``fastcalc bench`` of two revisions in one invocation: before/after, interleaved.

    python tools/bench_compare.py --base e1bb3cb [--head WORKTREE] [--rounds 3] [--filter WORD ...]
    python tools/bench_compare.py --base-tree /path/to/built/old/tree ...

The base revision is checked out into a temporary git worktree and built in place; the head is the
working tree this script lives in (built in place already, or ``--build-head``).  Each round runs
``fastcalc bench --quick --json`` once for the base and once for the head, alternating, so both
sides see the same machine load; a workload's time is the median over rounds of the per-round
medians.  The table shows fastcalc's time before and after, their ratio (after / before), and each
side's ratio to its peer (measured in the same process, so load largely cancels).  A workload is
flagged ``slower`` when after/before exceeds ``--noise`` (default 1.15) AND its peer ratio got worse
by the same factor (a time that grew only because the machine got busier moves both sides).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _build(tree):
    subprocess.run([sys.executable, "setup.py", "build_ext", "--inplace"], cwd=tree, check=True,
                   stdout=subprocess.DEVNULL)


def _bench(tree, filters, out):
    cmd = [sys.executable, "-m", "fastcalc", "bench", "--quick", "--json", out]
    for f in filters:
        cmd += ["--filter", f]
    # single-threaded BLAS on both sides (the head's command line sets it itself, an old base's
    # may not: OpenBLAS's spinning idle threads slow whatever runs after a NumPy call)
    env = dict(os.environ, PYTHONPATH=os.path.join(tree, "src"), OPENBLAS_NUM_THREADS="1",
               MKL_NUM_THREADS="1")
    subprocess.run(cmd, cwd=tree, env=env, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    with open(out) as fh:
        return {(r["group"], r["workload"]): r for r in json.load(fh)["results"]}


def _median(rows, key, field):
    vals = [r[key][field] for r in rows if key in r and r[key].get(field) is not None]
    return statistics.median(vals) if vals else None


def compare(base_rows, head_rows, noise):
    keys = [k for k in head_rows[0] if k in base_rows[0]]
    table = []
    for k in keys:
        tb, th = _median(base_rows, k, "fastcalc_s"), _median(head_rows, k, "fastcalc_s")
        pb, ph = _median(base_rows, k, "ratio"), _median(head_rows, k, "ratio")
        if None in (tb, th, pb, ph):
            continue
        change = th / tb
        slower = change > noise and ph / pb > noise
        table.append((k, tb, th, change, pb, ph, slower))
    return table


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", help="git revision before the change (checked out and built)")
    ap.add_argument("--base-tree", help="an already built tree of the base instead of --base")
    ap.add_argument("--head", default=HERE, help="tree after the change (default: this one)")
    ap.add_argument("--build-head", action="store_true", help="build the head tree first")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--noise", type=float, default=1.15)
    ap.add_argument("--filter", action="append", default=[])
    ap.add_argument("--markdown", metavar="PATH", help="also write the table as markdown")
    args = ap.parse_args(argv)
    if args.rounds < 1:
        ap.error("--rounds must be >= 1")
    if (args.base is None) == (args.base_tree is None):
        ap.error("give one of --base and --base-tree")
    with tempfile.TemporaryDirectory(prefix="fc-base-") as tmp:
        base = args.base_tree or os.path.join(tmp, "tree")
        if args.base_tree is None:
            subprocess.run(["git", "-C", args.head, "worktree", "add", "--detach", base, args.base],
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            if args.base_tree is None:
                _build(base)
            if args.build_head:
                _build(args.head)
            base_rows, head_rows = [], []
            for r in range(args.rounds):
                print(f"round {r + 1}/{args.rounds}", file=sys.stderr)
                base_rows.append(_bench(base, args.filter, os.path.join(tmp, f"b{r}.json")))
                head_rows.append(_bench(args.head, args.filter, os.path.join(tmp, f"h{r}.json")))
        finally:
            if args.base_tree is None:
                subprocess.run(["git", "-C", args.head, "worktree", "remove", "--force", base],
                               check=False)
    table = compare(base_rows, head_rows, args.noise)
    lines = ["| workload | before | after | after/before | peer ratio before | after | |",
             "|---|---|---|---|---|---|---|"]
    for (g, w), tb, th, ch, pb, ph, slower in table:
        lines.append(f"| {g}: {w} | {tb:.3g} s | {th:.3g} s | {ch:.2f} | {pb:.3g} | {ph:.3g} | "
                     f"{'slower' if slower else ''} |")
    nslow = sum(t[-1] for t in table)
    lines.append(f"\n{len(table)} workloads, {args.rounds} interleaved rounds; "
                 f"{nslow} slower than noise ({args.noise:g}x in time and in peer ratio).")
    text = "\n".join(lines)
    print(text)
    if args.markdown:
        with open(args.markdown, "w") as fh:
            fh.write(text + "\n")
    return 1 if nslow else 0


if __name__ == "__main__":
    sys.exit(main())
