"""Workloads of the callable protocol (issue: foundation)."""
import ctypes
import ctypes.util

import numpy as np
from scipy import LowLevelCallable
from scipy.optimize import rosen

import fastcalc as fc
from fastcalc import functions as F
from fastcalc import evaluate
from fastcalc.bench import Case, workload


@workload("callables", "built-in rosenbrock on a (10, 100000) batch",
          reference="NumPy expression", target=1.5)
def _rosen_batch():
    x = np.random.default_rng(0).uniform(-2, 2, (10, 100_000))

    def numpy_rosen():
        return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2, axis=0)

    return Case(fastcalc=lambda: F.rosenbrock(x), reference=numpy_rosen, exact=rosen(x))


def libm_sin():
    """libm's sin as a user LowLevelCallable made with ctypes, signature 'double (double)'."""
    libm = ctypes.CDLL(ctypes.util.find_library("m") or "libm.so.6")
    fn = libm.sin
    fn.restype = ctypes.c_double
    fn.argtypes = [ctypes.c_double]
    return LowLevelCallable(fn)


@workload("callables", "10^6 calls of a user LowLevelCallable (ctypes libm sin) from C",
          reference="the same sin as a C batch (its own cost)", calls=1_000_000, max_overhead_ns=20)
def _lowlevel_overhead():
    x = np.random.default_rng(1).uniform(-3, 3, (1, 1_000_000))
    llc = libm_sin()
    return Case(fastcalc=lambda: evaluate(llc, x), reference=lambda: F.sin(x[0]),
                exact=np.sin(x[0]))


@workload("callables", "sin at 10^6 points via a user LowLevelCallable",
          reference="NumPy np.sin")
def _lowlevel_vs_numpy():
    x = np.random.default_rng(1).uniform(-3, 3, (1, 1_000_000))
    llc = libm_sin()
    return Case(fastcalc=lambda: evaluate(llc, x), reference=lambda: np.sin(x[0]),
                exact=np.sin(x[0]))


@workload("callables", "10^4 scalar Python calls of rosen (n=10) from C",
          reference="Python loop over the points", calls=10_000)
def _python_scalar():
    x = np.random.default_rng(2).uniform(-2, 2, (10, 10_000))
    cols = list(x.T)
    return Case(fastcalc=lambda: evaluate(rosen, x),
                reference=lambda: np.array([rosen(c) for c in cols]), exact=rosen(x))


def numba_rosen():
    """rosen as a numba ``@njit`` function of a 1-D array and as a ``cfunc`` of signature
    ``double (int, double *)`` calling it (the user's compiled callable in the bench rows)."""
    import numba
    from numba import carray, types

    @numba.njit(cache=False)
    def core(x):
        s = 0.0
        for i in range(x.shape[0] - 1):
            s += 100.0 * (x[i + 1] - x[i] * x[i]) ** 2 + (1.0 - x[i]) ** 2
        return s

    @numba.cfunc(types.double(types.intc, types.CPointer(types.double)))
    def nrosen(n, xp):
        return core(carray(xp, (n,)))
    return core, nrosen
