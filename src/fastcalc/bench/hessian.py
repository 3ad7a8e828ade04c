"""Hessian workloads (issue 16): one point of the built-in rosenbrock at growing sizes, paired with
a numba loop of the SAME evaluations (the checked first pass: three step levels of the direct
central stencil, ``1 + 6 n**2`` points, the count ``fastcalc.hessian(..., full_output=True).nfev``
reports), and a Hessian batch on 1 vs 2 threads.

The numba rows are registered only when numba is installed (``fastcalc[jit]``); the d = 2000 row
takes tens of seconds per call and is not part of ``--quick``.
"""
import inspect

import numpy as np

import fastcalc as fc
from fastcalc import functions as F
from fastcalc.bench import Case, workload

SIZES = (10, 50, 300, 500, 2000)
#: steps of the first pass, relative to its first step (as fastcalc's engine)
LEVELS = (1.0, 0.5, 0.35355339059327373)


def numba_hessian():
    """A numba function ``hess(x, h)``: the three-level stencil of fastcalc's first pass (same
    points, same count), the plainest fast loop a user would write; None without numba."""
    try:
        import numba
    except ImportError:
        return None

    @numba.njit(fastmath=True, cache=False)
    def rosen(y):
        s = 0.0
        for i in range(y.shape[0] - 1):
            a = y[i + 1] - y[i] * y[i]
            b = 1.0 - y[i]
            s += 100.0 * a * a + b * b
        return s

    @numba.njit(cache=False)
    def hess(x, h, sc):
        n = x.shape[0]
        out = np.empty((sc.shape[0], n, n))
        y = x.copy()
        f0 = rosen(y)
        for lv in range(sc.shape[0]):
            for i in range(n):
                hi = sc[lv] * h[i]
                y[i] = x[i] + hi
                fp = rosen(y)
                y[i] = x[i] - hi
                fm = rosen(y)
                y[i] = x[i]
                out[lv, i, i] = (fp - 2.0 * f0 + fm) / (hi * hi)
                for j in range(i + 1, n):
                    hj = sc[lv] * h[j]
                    s = 0.0
                    for a in (-1.0, 1.0):
                        for b in (-1.0, 1.0):
                            y[i] = x[i] + a * hi
                            y[j] = x[j] + b * hj
                            s += 0.25 * a * b * rosen(y)
                    y[i] = x[i]
                    y[j] = x[j]
                    out[lv, i, j] = out[lv, j, i] = s / (hi * hj)
        return out
    sc = np.array(LEVELS)
    hess(np.full(3, 0.5), np.full(3, 1e-3), sc)           # compile outside the timings
    return lambda x, h: hess(x, h, sc)


def numba_evaluations(n):
    """Points the numba loop evaluates: the same as fastcalc's first pass."""
    return 1 + len(LEVELS) * 2 * n * n


def _point(n):
    return np.random.default_rng(16).uniform(0.2, 1.2, n)


def _register_sizes():
    nb = None
    try:
        import numba  # noqa: F401
    except ImportError:
        return
    for n in SIZES:
        def setup(n=n):
            nonlocal nb
            if nb is None:
                nb = numba_hessian()
            x = _point(n)
            h = 4.0 * np.finfo(float).eps ** (1 / 6) * np.maximum(np.abs(x), 1e-3)
            exact = F.rosenbrock.hess(x)

            def err(r):
                r = np.asarray(r)
                r = r[-1] if r.ndim == 3 else r          # numba: the finest level
                return float(np.abs(r - exact).max() / np.abs(exact).max())
            return Case(fastcalc=lambda: fc.hessian(F.rosenbrock, x),
                        reference=lambda: nb(x, h), error=err)
        workload("hessian", f"Hessian of built-in rosenbrock, one point, d={n}",
                 reference=f"numba loop of the same {numba_evaluations(n)} evaluations",
                 target=2.0 if n >= 300 else None, quick=n <= 500)(setup)


_register_sizes()


def _has_workers():
    try:
        return "workers" in inspect.signature(fc.hessian).parameters
    except (TypeError, ValueError):
        return False


if _has_workers():
    @workload("hessian", "Hessian of built-in rosenbrock at 2000 points, d=20, workers=2",
              reference="the same, workers=1", target=1 / 1.7)
    def _hess_threads():
        # coordinates away from 0: at |x| just above the step floor (1e-3) the engine's relative
        # steps accept a rounding-limited 1e-4 relative accuracy (honest error bound, status 0);
        # that is an open engine limitation, not what this thread-scaling row measures
        X = np.random.default_rng(17).uniform(0.5, 1.5, (20, 2000))
        exact = F.rosenbrock.hess(X)

        def err(r):
            return float(np.abs(np.asarray(r) - exact).max() / np.abs(exact).max())
        return Case(fastcalc=lambda: fc.hessian(F.rosenbrock, X, workers=2),
                    reference=lambda: fc.hessian(F.rosenbrock, X, workers=1), error=err)
