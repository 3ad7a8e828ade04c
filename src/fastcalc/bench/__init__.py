"""Benchmark workloads: each runs fastcalc and its SciPy/NumPy counterpart on the same problem.

One registry serves both ``fastcalc bench`` (medians, speed-up, accuracy, side by side) and the
pytest-benchmark files in ``benchmarks/``.  A family module (``fastcalc/bench/<family>.py``) registers
workloads with :func:`workload`; modules in this package are discovered automatically.

Example
-------
>>> from fastcalc.bench import workload, Case
>>> @workload("demo", "sum of 1000 squares", reference="NumPy", target=2.0)  # doctest: +SKIP
... def _demo():
...     import numpy as np
...     x = np.arange(1000.0)
...     return Case(fastcalc=lambda: (x * x).sum(), reference=lambda: np.dot(x, x),
...                 exact=332833500.0)
"""
import dataclasses
import importlib
import json
import math
import os
import pkgutil
import statistics
import sys
import time
from typing import Callable, Optional

import numpy as np

__all__ = ["Case", "Workload", "workload", "workloads", "run_side", "measure", "run_cli"]


@dataclasses.dataclass
class Case:
    """One prepared workload: two zero-argument callables computing the same thing.

    ``exact`` (a number or array) or ``error`` (result -> relative error) gives each side's accuracy.
    """
    fastcalc: Callable[[], object]
    reference: Callable[[], object]
    exact: object = None
    error: Optional[Callable[[object], float]] = None

    def accuracy(self, result):
        """Max relative error of ``result`` (None when the workload states no reference value)."""
        if self.error is not None:
            return float(self.error(result))
        if self.exact is None:
            return None
        return relative_error(result, self.exact)


def relative_error(result, exact):
    """max |result - exact| / max(|exact|, tiny) over all elements."""
    r = np.asarray(result, dtype=float)
    e = np.asarray(exact, dtype=float)
    scale = np.maximum(np.abs(e), np.finfo(float).tiny)
    return float(np.max(np.abs(r - e) / scale)) if e.size else 0.0


@dataclasses.dataclass
class Workload:
    group: str
    name: str
    setup: Callable[[], Case]
    reference_name: str
    target: Optional[float] = None   # max allowed fastcalc_time / reference_time
    quick: bool = True               # part of ``fastcalc bench --quick``
    calls: Optional[int] = None      # function calls per run: report the overhead per call
    max_overhead_ns: Optional[float] = None   # target on (fastcalc - reference) / calls
    _case: Optional[Case] = dataclasses.field(default=None, repr=False)

    def case(self) -> Case:
        if self._case is None:
            self._case = self.setup()
        return self._case

    def __str__(self):
        return f"{self.group}: {self.name}"


_REGISTRY: list = []


def workload(group, name, *, reference, target=None, quick=True, calls=None, max_overhead_ns=None):
    """Decorator registering a set-up function that returns a :class:`Case`.

    ``target`` is the issue's maximum ratio fastcalc_time / reference_time.  For overhead workloads,
    ``calls`` is the number of function calls per run and ``max_overhead_ns`` the allowed extra time
    per call of fastcalc over the reference.
    """
    def deco(setup):
        _REGISTRY.append(Workload(group, name, setup, reference, target, quick, calls=calls,
                                  max_overhead_ns=max_overhead_ns))
        return setup
    return deco


def _discover():
    for mod in pkgutil.iter_modules(__path__):
        if not mod.name.startswith("_"):
            importlib.import_module(f"{__name__}.{mod.name}")


def workloads(group=None, *, quick=None, filters=()):
    """Registered workloads, optionally only of ``group``, only quick ones, or matching ``filters``."""
    _discover()
    out = []
    for w in _REGISTRY:
        if group is not None and w.group != group:
            continue
        if quick and not w.quick:
            continue
        text = f"{w.group} {w.name}".lower()
        if filters and not any(f.lower() in text for f in filters):
            continue
        out.append(w)
    return out


#: packages that only some workloads need, and the extra of fastcalc that installs them
OPTIONAL_PACKAGES = {"numba": "bench", "numdifftools": "bench", "jax": "bench", "torch": "bench",
                     "matplotlib": "plot", "dask": "dask", "distributed": "dask"}
_BASE_PACKAGES = ("fastcalc", "numpy", "scipy")


def missing_optional(exc):
    """The optional package whose absence raised ``exc`` (an ImportError), else None.

    A missing NumPy, SciPy or fastcalc module is a real failure, not an optional row.
    """
    if not isinstance(exc, ImportError):
        return None
    name = (getattr(exc, "name", None) or "").split(".")[0]
    if not name or name in _BASE_PACKAGES:
        return None
    return name


def install_hint(package):
    """The pip command that installs an optional ``package`` with fastcalc."""
    extra = OPTIONAL_PACKAGES.get(package)
    return f"pip install 'fastcalc[{extra}]'" if extra else f"pip install {package}"


def run_side(benchmark, wl, side):
    """Body of a pytest-benchmark test: time one side of ``wl`` and record its accuracy.

    A workload that needs a missing optional package is skipped, naming the package.
    """
    try:
        case = wl.case()
    except ImportError as exc:
        pkg = missing_optional(exc)
        if pkg is None:
            raise
        import pytest
        pytest.skip(f"needs {pkg}: {install_hint(pkg)}")
    fn = getattr(case, side)
    benchmark.group = str(wl)
    benchmark.extra_info["side"] = side
    benchmark.extra_info["reference"] = wl.reference_name
    if wl.target is not None:
        benchmark.extra_info["target_ratio"] = wl.target
    if wl.calls:
        benchmark.extra_info["calls"] = wl.calls
    result = benchmark(fn)
    acc = case.accuracy(result)
    if acc is not None:
        benchmark.extra_info["relative_error"] = acc
    return result


def measure(fn, *, min_time=0.2, max_repeats=200, min_repeats=5):
    """Median and all timings (s) of ``fn()``; repeats until ``min_time`` is spent.

    Each timing covers a loop of calls sized so one timing lasts at least ~1 ms.
    """
    t0 = time.perf_counter()
    result = fn()
    once = max(time.perf_counter() - t0, 1e-7)
    inner = max(1, int(1e-3 / once))
    times = []
    start = time.perf_counter()
    while len(times) < max_repeats:
        t = time.perf_counter()
        for _ in range(inner):
            fn()
        times.append((time.perf_counter() - t) / inner)
        if len(times) >= min_repeats and time.perf_counter() - start > min_time:
            break
    return statistics.median(times), times, result


def measure_pair(fast, ref, *, min_time=0.2, max_pairs=200, min_pairs=5):
    """Medians (s) of ``fast()`` and ``ref()`` timed in alternating blocks, and the median of the
    per-pair ratios: both sides see the same moments of a shared, noisy machine (a burst of load
    slows one block of each side, not one side's whole run).  The order within a pair
    alternates, so a drift favours neither side.  Each block is a loop of calls lasting at least
    ~1 ms, after one untimed call when a call is short (< 20 ms: the other side's block has just
    filled the caches with its own code and data).
    Returns ``(t_fast, t_ref, ratio, result_fast, result_ref)``."""
    inner = []
    results = []
    warm = []
    for fn in (fast, ref):
        t0 = time.perf_counter()
        results.append(fn())
        once = max(time.perf_counter() - t0, 1e-7)
        inner.append(max(1, int(1e-3 / once)))
        warm.append(once < 0.02)
    sides = ((fast, inner[0], warm[0]), (ref, inner[1], warm[1]))
    tf, tr = [], []
    start = time.perf_counter()
    while len(tf) < max_pairs:
        pair = [0.0, 0.0]
        for k in ((0, 1) if len(tf) % 2 == 0 else (1, 0)):
            fn, n, w = sides[k]
            if w:           # one untimed call first: the other side just ran (cold caches)
                fn()
            t = time.perf_counter()
            for _ in range(n):
                fn()
            pair[k] = (time.perf_counter() - t) / n
        tf.append(pair[0])
        tr.append(pair[1])
        if len(tf) >= min_pairs and time.perf_counter() - start > 2 * min_time:
            break
    ratio = statistics.median(a / b if b > 0 else math.inf for a, b in zip(tf, tr))
    return statistics.median(tf), statistics.median(tr), ratio, results[0], results[1]


def _fmt_time(t):
    if t is None or not math.isfinite(t):
        return "-"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6), ("ns", 1e-9)):
        if t >= scale:
            return f"{t / scale:.3g} {unit}"
    return f"{t / 1e-9:.3g} ns"


def _fmt_err(e):
    return "-" if e is None else f"{e:.1e}"


def _progress(i, total, label, stream):
    width = 28
    done = int(width * i / max(total, 1))
    stream.write(f"\r[{'#' * done}{'.' * (width - done)}] {i}/{total} {label[:60]:<60}")
    stream.flush()


def run(selected, *, quick=True, stream=sys.stderr):
    """Time every workload in ``selected``; returns a list of result dicts."""
    min_time = 0.15 if quick else 1.0
    rows = []
    for i, wl in enumerate(selected):
        _progress(i, len(selected), str(wl), stream)
        row = {"group": wl.group, "workload": wl.name, "reference": wl.reference_name,
               "target": wl.target}
        try:
            case = wl.case()
            tf, tr, ratio, rf, rr = measure_pair(case.fastcalc, case.reference,
                                                 min_time=min_time)
            row.update(fastcalc_s=tf, reference_s=tr, ratio=ratio,
                       fastcalc_error=case.accuracy(rf), reference_error=case.accuracy(rr))
            row["meets_target"] = None if wl.target is None else bool(ratio <= wl.target)
            if wl.calls:
                row["overhead_ns"] = (tf - tr) / wl.calls * 1e9
                row["max_overhead_ns"] = wl.max_overhead_ns
                if wl.max_overhead_ns is not None:
                    row["meets_target"] = bool(row["overhead_ns"] <= wl.max_overhead_ns)
        except Exception as exc:  # report and go on: one broken workload must not hide the others
            pkg = missing_optional(exc)
            if pkg is not None:
                row["skipped"] = pkg
            else:
                row["error"] = f"{type(exc).__name__}: {exc}"
        rows.append(row)
    _progress(len(selected), len(selected), "done", stream)
    stream.write("\n")
    stream.flush()
    return rows


WIDTH = 100          # the table fits a 100-column terminal
_NAME_W = 46


def _target_text(r):
    """The target as a user reads it: the speed-up fastcalc must reach, and whether it did."""
    if r.get("overhead_ns") is not None:
        text = f"{r['overhead_ns']:+.0f} ns/call"
        if r.get("max_overhead_ns") is not None:
            text += f" (<={r['max_overhead_ns']:g})"
    elif r["target"] is not None:
        text = f">={1 / r['target']:.3g}x"
    else:
        return ""
    if r.get("meets_target") is not None:
        text += " ok" if r["meets_target"] else " MISSED"
    return text


def _wrap(text, width):
    """``text`` cut into lines of at most ``width`` characters, at spaces where possible."""
    import textwrap
    return textwrap.wrap(text, width, break_long_words=True) or [""]


def format_table(rows):
    """The results as a plain-text table of at most :data:`WIDTH` columns.

    Each workload takes one line (its name wrapped when long) with fastcalc's median, the peer's
    median (SciPy, NumPy or numba, named on the line below), the speed-up (peer time / fastcalc
    time over alternating pairs, :func:`measure_pair`: higher is better) and the target speed-up; rows that need a missing optional package are
    summarised at the end with the command that installs it.
    """
    head = f"{'workload':<{_NAME_W}} {'fastcalc':>9} {'peer':>9} {'speed-up':>9}  target"
    out = [head, "-" * len(head)]
    skipped = {}
    group = None
    for r in rows:
        if "skipped" in r:
            skipped.setdefault(r["skipped"], []).append(r)
            continue
        if r["group"] != group:
            group = r["group"]
            out.append(f"[{group}]")
        name = _wrap(r["workload"], _NAME_W - 2)
        if "error" in r:
            out.append(f"  {name[0]:<{_NAME_W - 2}} FAILED")
            out += [f"    {ln}" for ln in _wrap(r["error"], WIDTH - 4)[:3]]
            continue
        for ln in name[:-1]:
            out.append(f"  {ln}")
        out.append(f"  {name[-1]:<{_NAME_W - 2}} {_fmt_time(r['fastcalc_s']):>9} "
                   f"{_fmt_time(r['reference_s']):>9} {1 / r['ratio']:>8.1f}x  {_target_text(r)}")
        peer = f"peer: {r['reference']}"
        errs = f"  max rel. error {_fmt_err(r['fastcalc_error'])} / {_fmt_err(r['reference_error'])}"
        for ln in _wrap(peer + errs, WIDTH - 4):
            out.append(f"    {ln}")
    for pkg, rs in skipped.items():
        out.append(f"skipped: {len(rs)} row{'s' if len(rs) != 1 else ''} need{'s' if len(rs) == 1 else ''} "
                   f"{pkg}: {install_hint(pkg)}")
    out.append("speed-up = peer time / fastcalc time, the median over pairs of alternating timings "
               "(higher is")
    out.append("better); target = the speed-up fastcalc promises over its peer (SciPy, NumPy or "
               "numba); times:")
    out.append("medians; max rel. error of fastcalc / peer.")
    return "\n".join(out)


def run_cli(*, quick=False, json_path=None, filters=(), list_only=False):
    # (``fastcalc bench`` from the command line runs with single-threaded BLAS: fastcalc.cli)
    selected = workloads(quick=quick or None, filters=filters)
    if list_only:
        for w in selected:
            print(f"{w}  (vs {w.reference_name}{'' if w.target is None else f', target ≤{w.target:g}x'})")
        return 0
    if not selected:
        print("no workload matches", file=sys.stderr)
        return 1
    rows = run(selected, quick=quick)
    print(format_table(rows))
    print(f"BLAS threads: {os.environ.get('OPENBLAS_NUM_THREADS', 'library default')} "
          "(OPENBLAS_NUM_THREADS; the command line sets 1 unless you did)")
    if json_path:
        import fastcalc
        with open(json_path, "w") as fh:
            json.dump({"fastcalc": fastcalc.__version__, "quick": quick, "results": rows}, fh, indent=1)
    # only a failing fastcalc workload fails the command; rows needing an optional package are skipped
    return 1 if any("error" in r for r in rows) else 0
