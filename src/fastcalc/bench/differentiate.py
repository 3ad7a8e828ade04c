"""Workloads of differentiation, each paired with its SciPy (or numdifftools) counterpart.

The numdifftools rows are registered only when numdifftools is installed (``fastcalc[bench]``).

Errors are relative: for gradients and Hessians ``max |fastcalc - exact| / max |exact|`` per point
(elementwise relative errors of entries that are nearly 0 say nothing about a gradient's quality),
for the derivative of sin the maximum absolute error (|cos| <= 1).
"""

import importlib.util

import numpy as np
import scipy.differentiate as sd
from scipy.optimize import approx_fprime, rosen, rosen_der, rosen_hess
from scipy.optimize._numdiff import approx_derivative

import fastcalc as fc
from fastcalc import functions as F
from fastcalc.bench import Case, workload

D = 10


def _point():
    return np.random.default_rng(3).uniform(-1.5, 1.5, D)


def _normwise(exact):
    """Max over points of ||r - e||_inf / ||e||_inf (points on the trailing axes)."""
    e = np.asarray(exact, dtype=float)

    def err(r):
        r = np.asarray(r, dtype=float)
        a = np.abs(r - e).reshape(-1, *e.shape[-1:]) if e.ndim > 1 else np.abs(r - e)
        b = np.abs(e).reshape(-1, *e.shape[-1:]) if e.ndim > 1 else np.abs(e)
        if e.ndim > 1:
            return float(np.max(a.max(axis=0) / b.max(axis=0)))
        return float(a.max() / b.max())
    return err


@workload("differentiate", "gradient of rosen, d=10, scalar Python f, forward, step='fixed' "
          "(SciPy's stencil and cost)", reference="scipy.optimize.approx_fprime", target=0.8)
def _grad_forward():
    x = _point()
    return Case(fastcalc=lambda: fc.gradient(rosen, x, method="forward", accuracy=1, step="fixed"),
                reference=lambda: approx_fprime(x, rosen),
                error=_normwise(rosen_der(x)))


@workload("differentiate", "approx_fprime of rosen, d=10 (drop-in for SciPy's, same stencil)",
          reference="scipy.optimize.approx_fprime", target=0.8)
def _approx_fprime_dropin():
    x = _point()
    return Case(fastcalc=lambda: fc.approx_fprime(x, rosen),
                reference=lambda: approx_fprime(x, rosen),
                error=_normwise(rosen_der(x)))


@workload("differentiate", "gradient of rosen, d=10, scalar Python f, forward accuracy 2",
          reference="scipy.optimize.approx_fprime", quick=False)
def _grad_forward2():
    x = _point()
    return Case(fastcalc=lambda: fc.gradient(rosen, x, method="forward", step="fixed"),
                reference=lambda: approx_fprime(x, rosen),
                error=_normwise(rosen_der(x)))


@workload("differentiate", "gradient of rosen, d=10, scalar Python f, central, step='fixed'",
          reference="scipy approx_derivative(method='3-point')", target=0.6)
def _grad_central():
    x = _point()
    return Case(fastcalc=lambda: fc.gradient(rosen, x, step="fixed"),
                reference=lambda: approx_derivative(rosen, x, method="3-point"),
                error=_normwise(rosen_der(x)))


@workload("differentiate", "gradient of rosen, d=10, scalar Python f, default (checked, 3 levels)",
          reference="scipy approx_derivative(method='3-point')")
def _grad_default():
    x = _point()
    return Case(fastcalc=lambda: fc.gradient(rosen, x),
                reference=lambda: approx_derivative(rosen, x, method="3-point"),
                error=_normwise(rosen_der(x)))


@workload("differentiate", "Jacobian of vectorized rosen, d=10, 1000 points, default",
          reference="scipy.differentiate.jacobian", target=0.25)
def _jac_vectorized():
    X = np.random.default_rng(4).uniform(-1.5, 1.5, (D, 1000))
    return Case(fastcalc=lambda: fc.jacobian(rosen, X, vectorized=True),
                reference=lambda: sd.jacobian(rosen, X).df,
                error=_normwise(rosen_der(X)))


def _chirp(t):
    return np.sin(16 * t * t)


def _nfev_text(f, x):
    """Evaluations per element of the default derivative (fastcalc, SciPy, numdifftools)."""
    r = fc.derivative(f, x, vectorized=True, full_output=True)
    parts = [f"fastcalc {r.nfev / x.size:.0f}",
             f"SciPy {float(np.mean(sd.derivative(f, x).nfev)):.0f}"]
    if _HAVE_NDT:
        import numdifftools as nd
        calls = [0]

        def g(t):
            calls[0] += np.size(t)
            return f(t)
        nd.Derivative(g)(x)
        parts.append(f"ndt {calls[0] / x.size:.0f}")
    return "nfev/pt: " + ", ".join(parts)


_HAVE_NDT = importlib.util.find_spec("numdifftools") is not None


@workload("differentiate", "derivative of np.sin, 1e5 points, defaults "
          f"({_nfev_text(np.sin, np.linspace(-10, 10, 200))})",
          reference="scipy.differentiate.derivative", target=0.25)
def _sin_default():
    x = np.linspace(-10, 10, 100_000)
    exact = np.cos(x)
    return Case(fastcalc=lambda: fc.derivative(np.sin, x, vectorized=True),
                reference=lambda: sd.derivative(np.sin, x).df,
                error=lambda r: float(np.max(np.abs(np.asarray(r) - exact))))


@workload("differentiate", "derivative of np.sin at 1e5 points, vectorized, richardson=2 fixed",
          reference="scipy.differentiate.derivative", target=0.25, quick=False)
def _sin_richardson():
    x = np.linspace(-10, 10, 100_000)
    exact = np.cos(x)
    return Case(fastcalc=lambda: fc.derivative(np.sin, x, vectorized=True, richardson=2,
                                               step="fixed"),
                reference=lambda: sd.derivative(np.sin, x).df,
                error=lambda r: float(np.max(np.abs(np.asarray(r) - exact))))


@workload("differentiate", "derivative of sin(16 x^2), 1e4 points "
          f"({_nfev_text(_chirp, np.linspace(0.0, 12.5, 200))})",
          reference="scipy.differentiate.derivative")
def _chirp_default():
    x = np.linspace(0.0, 12.5, 10_000)
    f = _chirp
    exact = 32 * x * np.cos(16 * x * x)
    return Case(fastcalc=lambda: fc.derivative(f, x, vectorized=True),
                reference=lambda: sd.derivative(f, x).df,
                error=lambda r: float(np.max(np.abs(np.asarray(r) - exact) / np.max(np.abs(exact)))))


if _HAVE_NDT:          # an optional peer (fastcalc[bench]): the rows exist only where it is installed
    @workload("differentiate", "derivative of np.sin at 1000 points, vectorized, defaults",
              reference="numdifftools.Derivative", target=0.05)
    def _sin_numdifftools():
        import numdifftools as nd
        x = np.linspace(-10, 10, 1000)
        exact = np.cos(x)
        d = nd.Derivative(np.sin)
        return Case(fastcalc=lambda: fc.derivative(np.sin, x, vectorized=True),
                    reference=lambda: d(x),
                    error=lambda r: float(np.max(np.abs(np.asarray(r) - exact))))

    @workload("differentiate", "Hessian of rosen, d=10, scalar Python f",
              reference="numdifftools.Hessian", target=0.5)
    def _hess_numdifftools():
        import numdifftools as nd
        x = _point()
        h = nd.Hessian(rosen)
        return Case(fastcalc=lambda: fc.hessian(rosen, x), reference=lambda: h(x),
                    error=_normwise(rosen_hess(x)))


@workload("differentiate", "Hessian of vectorized rosen, d=10",
          reference="scipy.differentiate.hessian", target=0.05)
def _hess_vectorized():
    x = _point()
    return Case(fastcalc=lambda: fc.hessian(rosen, x, vectorized=True),
                reference=lambda: sd.hessian(rosen, x).ddf,
                error=_normwise(rosen_hess(x)))


@workload("differentiate", "gradient of built-in rosenbrock, d=10",
          reference="scipy.optimize.approx_fprime on Python rosen", target=0.02)
def _grad_builtin():
    x = _point()
    return Case(fastcalc=lambda: fc.gradient(F.rosenbrock, x),
                reference=lambda: approx_fprime(x, rosen),
                error=_normwise(rosen_der(x)))


def _numba_rosen():
    import numba
    from numba import carray, types

    @numba.cfunc(types.double(types.intc, types.CPointer(types.double)))
    def nrosen(n, xp):
        x = carray(xp, (n,))
        s = 0.0
        for i in range(n - 1):
            s += 100.0 * (x[i + 1] - x[i] * x[i]) ** 2 + (1.0 - x[i]) ** 2
        return s
    return nrosen


@workload("differentiate", "gradient of a numba cfunc rosen (user LowLevelCallable), d=10",
          reference="scipy.optimize.approx_fprime on Python rosen", target=0.02)
def _grad_numba():
    x = _point()
    try:
        nrosen = _numba_rosen()
    except ImportError:                      # numba is an optional extra: fall back to ctypes
        nrosen = F.rosenbrock.lowlevel
    return Case(fastcalc=lambda: fc.gradient(nrosen, x),
                reference=lambda: approx_fprime(x, rosen),
                error=_normwise(rosen_der(x)))


@workload("differentiate", "Hessian of built-in rosenbrock at 20 points, d=10, richardson=1",
          reference="scipy.differentiate.hessian (vectorized rosen)", quick=False)
def _hess_builtin_batch():
    X = np.random.default_rng(5).uniform(-1.5, 1.5, (D, 20))
    return Case(fastcalc=lambda: fc.hessian(F.rosenbrock, X, richardson=1, accuracy=4),
                reference=lambda: sd.hessian(rosen, X).ddf,
                error=_normwise(F.rosenbrock.hess(X)))


@workload("differentiate", "complex-step gradient of vectorized rosen, d=10, 1000 points",
          reference="scipy.differentiate.jacobian", quick=False)
def _grad_complex():
    X = np.random.default_rng(6).uniform(-1.5, 1.5, (D, 1000))
    return Case(fastcalc=lambda: fc.gradient(rosen, X, vectorized=True, method="complex"),
                reference=lambda: sd.jacobian(rosen, X).df,
                error=_normwise(rosen_der(X)))
