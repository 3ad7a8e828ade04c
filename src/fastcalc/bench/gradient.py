"""Workloads of gradients on their compiled roads, against the floor and across threads.

* A LowLevelCallable (numba ``cfunc``) rosenbrock gradient at d = 10, 100, 1000, against the
  *floor*: a numba loop making the same evaluations (same stencil points, one coordinate
  perturbed in place, no bookkeeping).  fastcalc's extra is its Python entry, the checks and the
  Richardson/error estimate; at d = 1000 the evaluations dominate (target 1.6x the floor).
* ``workers=2`` against ``workers=1`` on 10^5 gradient points (built-in and numba cfunc): the
  OpenMP split of the points (target 1.7x; results bit-identical, see tests/test_gradient_fast.py).

These rows need numba (``fastcalc[jit]``); without it they are not registered.
"""
import importlib.util

import numpy as np

import fastcalc as fc
from fastcalc import functions as F
from fastcalc.bench import Case, workload

_HAVE_NUMBA = importlib.util.find_spec("numba") is not None


def _rosen_pieces():
    import numba
    from fastcalc.bench.callables import numba_rosen
    rosen, crosen = numba_rosen()

    @numba.njit(cache=False)
    def floor(x, h, scales):
        """The evaluations of a central gradient with len(scales) step levels."""
        y = x.copy()
        s = 0.0
        for c in scales:
            for i in range(x.shape[0]):
                y[i] = x[i] + c * h[i]
                s += rosen(y)
                y[i] = x[i] - c * h[i]
                s += rosen(y)
                y[i] = x[i]
        return s
    return crosen, floor


def _normwise(exact):
    """max |r - exact| / max |exact|; NaN for the floor (a sum of values, not a gradient)."""
    def err(r):
        if np.ndim(r) == 0:
            return float("nan")
        return float(np.max(np.abs(np.asarray(r) - exact)) / np.max(np.abs(exact)))
    return err


def _llc_case(d, step, lo=0.5):
    crosen, floor = _rosen_pieces()
    x = np.random.default_rng(11).uniform(lo, 1.5, d)
    h = 1e-3 * np.maximum(np.abs(x), 1e-3)
    scales = np.array([1.0]) if step == "fixed" else np.array([1.0, 0.5, 0.5 ** 1.5])
    floor(x, h, scales)                                    # compile outside the timing
    fc.gradient(crosen, x, step=step)
    return Case(fastcalc=lambda: fc.gradient(crosen, x, step=step),
                reference=lambda: floor(x, h, scales),
                error=_normwise(F.rosenbrock.grad(x)))


def _workers_case(f, step=None):
    X = np.random.default_rng(12).uniform(0.5, 1.5, (10, 100_000))
    exact = F.rosenbrock.grad(X)
    return Case(fastcalc=lambda: fc.gradient(f, X, step=step, workers=2),
                reference=lambda: fc.gradient(f, X, step=step, workers=1),
                error=_normwise(exact))


if _HAVE_NUMBA:
    for _d, _target in ((10, None), (100, None), (1000, 1.6)):
        workload("gradient", f"gradient of a numba cfunc rosen (LowLevelCallable), d={_d}, "
                 "default (3 checked levels)", reference="floor: numba loop of the same "
                 "evaluations", target=_target)(lambda _d=_d: _llc_case(_d, None))
    workload("gradient", "gradient of a numba cfunc rosen (LowLevelCallable), d=1000, "
             "default, x in [-1.5, 1.5] (f ~ 1e5: a few coordinates need the step search)",
             reference="floor: numba loop of the 3 checked levels' evaluations",
             target=1.6)(lambda: _llc_case(1000, None, lo=-1.5))
    workload("gradient", "gradient of a numba cfunc rosen (LowLevelCallable), d=1000, "
             "step='fixed'", reference="floor: numba loop of the same evaluations",
             target=1.6)(lambda: _llc_case(1000, "fixed"))
    workload("gradient", "gradient of a numba cfunc rosen at 1e5 points, d=10, workers=2",
             reference="the same with workers=1", target=1 / 1.7,
             quick=False)(lambda: _workers_case(_rosen_pieces()[0]))

workload("gradient", "gradient of built-in rosenbrock at 1e5 points, d=10, workers=2",
         reference="the same with workers=1", target=1 / 1.7,
         quick=False)(lambda: _workers_case(F.rosenbrock))
workload("gradient", "gradient of built-in rosenbrock at 1e5 points, d=10, step='fixed', "
         "workers=2", reference="the same with workers=1", target=1 / 1.7,
         quick=False)(lambda: _workers_case(F.rosenbrock, "fixed"))
