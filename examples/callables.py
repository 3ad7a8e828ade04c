"""The four kinds of callable fastcalc accepts, evaluated through the one C adapter.

Run: python examples/callables.py   (numba is optional: pip install "fastcalc[jit]")
"""
import time

import numpy as np
from scipy.optimize import rosen

import fastcalc as fc
from fastcalc import functions as F

x = np.random.default_rng(0).uniform(-2, 2, (10, 20_000))     # 20,000 points in R^10
exact = rosen(x)


def timed(label, f, **kw):
    t = time.perf_counter()
    y = fc.evaluate(f, x, **kw)
    dt = time.perf_counter() - t
    print(f"{label:<28} {dt * 1e3:8.2f} ms   max rel. error {np.max(np.abs(y - exact) / exact):.1e}")


timed("built-in (C batch)", F.rosenbrock)
timed("LowLevelCallable (C loop)", F.rosenbrock.lowlevel)
timed("vectorized Python", rosen, vectorized=True)
timed("scalar Python (per point)", rosen)
try:
    def rosen_point(z):
        s = 0.0
        for i in range(z.shape[0] - 1):
            s += 100.0 * (z[i + 1] - z[i] ** 2) ** 2 + (1.0 - z[i]) ** 2
        return s

    timed("fastcalc.jit (numba)", fc.jit(rosen_point, ndim=10))
except ImportError as exc:
    print(exc)
