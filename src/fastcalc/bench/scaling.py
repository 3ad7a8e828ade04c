"""Scaling: fastcalc on 1 thread, 2 threads and a 2-process Dask cluster.

Two paired workloads of the registry (the issue's speed rows), and ``fastcalc bench --scaling``:
a table (and a PNG with ``--plot``) of time against batch size for integrals, gradients and
multistart under each option, with the speed-up over one thread and the parallel efficiency
(speed-up / 2: 1.0 is perfect use of 2 cores).
"""
import atexit
import functools
import inspect
import math
import statistics
import sys
import time
import warnings

import numpy as np

import fastcalc as fc
from fastcalc import functions as F
from fastcalc.bench import Case, measure, workload

__all__ = ["scaling_rows", "format_scaling", "plot_scaling", "run_scaling", "local_cluster",
           "close_cluster"]

_TOL = dict(epsabs=0.0, epsrel=1e-12)


@functools.lru_cache(maxsize=1)
def _cfunc():
    """exp(-a x^2) of the point (x, a), compiled by numba (``double (int, double *)``)."""
    from numba import cfunc
    from numba.types import CPointer, float64, intc

    @cfunc(float64(intc, CPointer(float64)))
    def g(n, xx):
        return math.exp(-xx[1] * xx[0] * xx[0])
    return g


def _problem(n, seed=42):
    rng = np.random.default_rng(seed)
    return rng.uniform(0.1, 10.0, n), rng.uniform(0.1, 3.0, n)


def _exact(a, b):
    import scipy.special
    return np.sqrt(np.pi / a) / 2 * scipy.special.erf(np.sqrt(a) * b)


_CLUSTER = {}


def local_cluster():
    """A ``dask.distributed`` Client of a LocalCluster with 2 single-threaded worker processes on
    loopback, started once per process (closed at exit)."""
    if "client" not in _CLUSTER:
        from dask.distributed import Client, LocalCluster
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                               host="127.0.0.1", dashboard_address=None)
        client = Client(cluster, set_as_default=False)
        _CLUSTER.update(client=client, cluster=cluster)

        atexit.register(close_cluster)
    return _CLUSTER["client"]


def close_cluster():
    """Close the cluster of :func:`local_cluster` (if one runs)."""
    if "client" in _CLUSTER:
        import logging
        log = logging.getLogger("distributed")
        level = log.level
        log.setLevel(logging.ERROR)      # "worker still alive, killing" on a busy machine
        try:
            _CLUSTER.pop("client").close()
            _CLUSTER.pop("cluster").close()
        finally:
            log.setLevel(level)


def _on_cluster(client, build):
    """Build the dask computation and run it on ``client``: NumPy in, NumPy out (every overhead
    -- graph, probe, transfer of the inputs and results -- is in the time)."""
    with warnings.catch_warnings():
        # the inputs travel inside the graph on purpose: their transfer is part of the cost
        warnings.filterwarnings("ignore", "Sending large graph")
        return client.compute(build(), sync=True)


# ---------------------------------------------------------------------------------------------
# The paired speed rows
# ---------------------------------------------------------------------------------------------

@workload("scaling", "10,000 integrals, LowLevelCallable batch: workers=2 vs workers=1",
          reference="the same call with workers=1", target=0.6, quick=False)
def _threads_vs_one():
    import scipy
    llc = scipy.LowLevelCallable(_cfunc().ctypes)
    a, b = _problem(10_000)
    exact = _exact(a, b)
    return Case(fastcalc=lambda: fc.quad(llc, 0.0, b, args=(a,), workers=2, **_TOL)[0],
                reference=lambda: fc.quad(llc, 0.0, b, args=(a,), workers=1, **_TOL)[0],
                error=lambda r: float(np.max(np.abs(np.asarray(r) / exact - 1.0))))


@workload("scaling", "1e6 integrals, numba cfunc: Dask LocalCluster (2 processes) vs 1 process",
          reference="the same call in one process, one thread", target=0.65, quick=False)
def _dask_vs_one():
    import dask.array as da
    g = _cfunc()
    a, b = _problem(1_000_000)
    exact = _exact(a, b)
    client = local_cluster()

    def build():
        ad = da.from_array(a, chunks=250_000)
        bd = da.from_array(b, chunks=250_000)
        return fc.quad(g, 0.0, bd, args=(ad,), **_TOL)[0]
    _on_cluster(client, lambda: fc.quad(g, 0.0, da.from_array(b[:100]),
                                        args=(da.from_array(a[:100]),))[0])   # compile on workers
    return Case(fastcalc=lambda: _on_cluster(client, build),
                reference=lambda: fc.quad(g, 0.0, b, args=(a,), **_TOL)[0],
                error=lambda r: float(np.max(np.abs(np.asarray(r) / exact - 1.0))))


# ---------------------------------------------------------------------------------------------
# fastcalc bench --scaling
# ---------------------------------------------------------------------------------------------

def _takes_workers(fn):
    return "workers" in inspect.signature(fn).parameters


def _integrals(n, mode, client):
    g = _cfunc()
    a, b = _problem(n)
    if mode == "dask":
        import dask.array as da
        c = max(1, -(-n // 4))
        return lambda: _on_cluster(client, lambda: fc.quad(
            g, 0.0, da.from_array(b, chunks=c), args=(da.from_array(a, chunks=c),), **_TOL)[0])
    w = 2 if mode == "2 threads" else 1
    return lambda: fc.quad(g, 0.0, b, args=(a,), workers=w, **_TOL)[0]


def _gradients(n, mode, client):
    x = np.random.default_rng(1).uniform(-2.0, 2.0, (2, n))
    if mode == "dask":
        import dask.array as da
        c = max(1, -(-n // 4))
        return lambda: _on_cluster(client, lambda: fc.gradient(
            F.rosenbrock, da.from_array(x, chunks=(2, c))))
    if mode == "2 threads":
        if not _takes_workers(fc.gradient):
            return None                         # gradient has no workers= (yet)
        return lambda: fc.gradient(F.rosenbrock, x, workers=2)
    return lambda: fc.gradient(F.rosenbrock, x)


def _multistart(n, mode, client):
    x0 = np.random.default_rng(2).uniform(-3.0, 3.0, (2, n))
    opts = {"lr": 1e-3, "maxiter": 100}
    if mode == "dask":
        import dask.array as da
        c = max(1, -(-n // 4))
        return lambda: _on_cluster(client, lambda: fc.multistart(
            F.rastrigin, da.from_array(x0, chunks=(2, c)), jac=F.rastrigin.grad,
            options=opts).funs)
    opts["workers"] = 2 if mode == "2 threads" else 1
    return lambda: fc.multistart(F.rastrigin, x0, jac=F.rastrigin.grad, options=opts).funs


WORKLOADS = {"integrals": ("10^k integrals of exp(-a x^2), numba cfunc", _integrals),
             "gradients": ("gradients of Rosenbrock (n=2) at 10^k points, built-in", _gradients),
             "multistart": ("10^k starts, 100 GD steps on Rastrigin (n=2), built-in", _multistart)}
MODES = ("1 thread", "2 threads", "dask")


def _once(fn):
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def _time_modes(fns, repeats):
    """Median time of each callable in ``fns`` (mode -> fn or None), the modes interleaved in
    every repeat so that a busy machine slows them alike."""
    live = {m: f for m, f in fns.items() if f is not None}
    for f in live.values():
        f()                                     # warm-up (compilation, worker imports)
    times = {m: [] for m in live}
    for _ in range(repeats):
        for m, f in live.items():
            times[m].append(_once(f))
    return {m: (statistics.median(times[m]) if m in live else None) for m in fns}


def scaling_rows(*, sizes=(1_000, 10_000, 100_000, 1_000_000), workloads=tuple(WORKLOADS),
                 dask=True, repeats=3, stream=None):
    """Median time of each workload, batch size and mode: a list of dicts."""
    stream = sys.stderr if stream is None else stream
    client = None
    if dask:
        try:
            client = local_cluster()
        except ImportError as exc:
            stream.write(f"dask column skipped ({exc.name} missing): pip install "
                         "'fastcalc[dask]'\n")
    rows = []
    for name in workloads:
        _, make = WORKLOADS[name]
        for n in sizes:
            if stream.isatty():
                stream.write(f"\r{name:<10} n={n:<8}")
                stream.flush()
            modes = [m for m in MODES if m != "dask" or client is not None]
            fns = {m: make(n, m, client) for m in modes}
            rows.append({"workload": name, "n": n,
                         **_time_modes(fns, repeats if n < 10 ** 6 else 1)})
    if stream.isatty():
        stream.write("\r" + " " * 40 + "\r")
    return rows


def _cell(t, t1):
    if t is None:
        return f"{'n/a':>9} {'':>6} {'':>5}"
    s = t1 / t
    return f"{_fmt(t):>9} {s:>5.2f}x {s / 2:>5.0%}"


def _fmt(t):
    return f"{t * 1e3:.3g} ms" if t < 1 else f"{t:.3g} s"


def format_scaling(rows):
    """The rows as a table: per workload and size, each mode's median time, speed-up over one
    thread and parallel efficiency (speed-up / 2)."""
    head = (f"{'workload':<11}{'batch':>9}  {'1 thread':>9}  {'2 threads':>9} {'speed':>6} "
            f"{'eff':>5}  {'dask 2 proc':>9} {'speed':>6} {'eff':>5}")
    out = [head, "-" * len(head)]
    for r in rows:
        t1 = r["1 thread"]
        line = f"{r['workload']:<11}{r['n']:>9,}  {_fmt(t1):>9}  {_cell(r.get('2 threads'), t1)}"
        if "dask" in r:
            line += f"  {_cell(r['dask'], t1)}"
        out.append(line)
    out.append("speed = 1-thread time / time; eff = speed / 2 (1.0: both cores fully used). "
               "Dask: 2 worker")
    out.append("processes of a LocalCluster, NumPy in and out (graph, transfer and start-up of "
               "each task included).")
    for name, (text, _) in WORKLOADS.items():
        out.append(f"  {name}: {text}")
    return "\n".join(out)


def plot_scaling(rows, path):
    """Time against batch size (log-log) per workload and mode, and the efficiency, as a PNG."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError("--plot needs matplotlib: pip install 'fastcalc[plot]'") from exc
    names = list(dict.fromkeys(r["workload"] for r in rows))
    fig, axes = plt.subplots(2, len(names), figsize=(4.2 * len(names), 6.4), squeeze=False)
    for j, name in enumerate(names):
        rs = [r for r in rows if r["workload"] == name]
        n = [r["n"] for r in rs]
        for mode, style, color in zip(MODES, ("o-", "s-", "^-"), ("C0", "C1", "C2")):
            t = [r.get(mode) for r in rs]
            if all(v is None for v in t):
                continue
            pts = [(ni, ti, r["1 thread"] / ti / 2) for ni, ti, r in zip(n, t, rs) if ti]
            axes[0, j].loglog([p[0] for p in pts], [p[1] for p in pts], style, color=color,
                              label=mode)
            if mode != "1 thread":
                axes[1, j].semilogx([p[0] for p in pts], [p[2] for p in pts], style, color=color,
                                    label=mode)
        axes[0, j].set_title(name)
        axes[0, j].set_ylabel("median time (s)")
        axes[0, j].grid(True, which="both", alpha=0.3)
        axes[0, j].legend(fontsize=8)
        axes[1, j].axhline(1.0, color="gray", lw=0.8, ls="--")
        top = max([1.2] + [r[m] and r["1 thread"] / r[m] / 2 * 1.1 for r in rs
                           for m in MODES[1:] if r.get(m)])
        axes[1, j].set_ylim(0, top)
        axes[1, j].set_xlabel("batch size")
        axes[1, j].set_ylabel("parallel efficiency (speed-up / 2)")
        axes[1, j].grid(True, which="both", alpha=0.3)
        if axes[1, j].get_legend_handles_labels()[0]:
            axes[1, j].legend(fontsize=8)
        else:
            axes[1, j].text(0.5, 0.5, "no parallel option measured", ha="center",
                            transform=axes[1, j].transAxes)
    fig.suptitle("fastcalc scaling: 1 thread, 2 threads, Dask (2 processes)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def run_scaling(*, quick=False, plot=None, json_path=None):
    """``fastcalc bench --scaling``: print the table (sizes up to 10^5 with ``quick``)."""
    sizes = (1_000, 10_000, 100_000) if quick else (1_000, 10_000, 100_000, 1_000_000)
    try:
        import numba  # noqa: F401
        names = tuple(WORKLOADS)
    except ImportError:
        print("integrals row skipped (needs numba): pip install 'fastcalc[bench]'",
              file=sys.stderr)
        names = ("gradients", "multistart")
    rows = scaling_rows(sizes=sizes, workloads=names, repeats=1 if quick else 3)
    print(format_scaling(rows))
    if json_path:
        import json
        with open(json_path, "w") as fh:
            json.dump({"fastcalc": fc.__version__, "scaling": rows}, fh, indent=1)
    if plot:
        print(f"plot: {plot_scaling(rows, plot)}")
    close_cluster()
    return 0
