"""Benchmark workloads of fastcalc.integrate, each paired with its SciPy counterpart."""
import math

import numpy as np
import scipy.integrate
import scipy.special

import fastcalc as fc
from fastcalc import functions as F
from fastcalc.bench import Case, workload


@workload("integrate", "fixed_quad n=5, vectorized Python f", reference="scipy.integrate.fixed_quad",
          target=0.25, quick=True)
def _fixed_quad():
    f = np.cos
    return Case(fastcalc=lambda: fc.fixed_quad(f, 0.0, 1.0, n=5)[0],
                reference=lambda: scipy.integrate.fixed_quad(f, 0.0, 1.0, n=5)[0],
                exact=math.sin(1.0))


_QUAD_EXACT = math.sqrt(math.pi) / 2 * math.erf(1.0)


@workload("integrate", "quad exp(-x^2) on [0,1], Python f", reference="scipy.integrate.quad",
          target=0.8, quick=True)
def _quad_python():
    f = lambda x: math.exp(-x * x)
    return Case(fastcalc=lambda: fc.quad(f, 0, 1)[0],
                reference=lambda: scipy.integrate.quad(f, 0, 1)[0], exact=_QUAD_EXACT)


@workload("integrate", "quad exp(-x^2) on [0,1], LowLevelCallable",
          reference="scipy.integrate.quad, same LowLevelCallable", target=0.5, quick=True)
def _quad_lowlevel():
    llc = F.gauss.lowlevel
    return Case(fastcalc=lambda: fc.quad(llc, 0, 1)[0],
                reference=lambda: scipy.integrate.quad(llc, 0, 1)[0], exact=_QUAD_EXACT)


def _batch_problem(n=10_000):
    rng = np.random.default_rng(42)
    a = rng.uniform(0.1, 10.0, n)
    b = rng.uniform(0.1, 3.0, n)
    exact = np.sqrt(np.pi / a) / 2 * scipy.special.erf(np.sqrt(a) * b)
    return a, b, exact


def _max_rel(exact):
    return lambda r: float(np.max(np.abs(np.asarray(r) / exact - 1.0)))


def _lowlevel_batch_case(workers):
    from numba import cfunc
    from numba.types import CPointer, float64, intc

    @cfunc(float64(intc, CPointer(float64)))
    def g(n, xx):
        return math.exp(-xx[1] * xx[0] * xx[0])

    llc = scipy.LowLevelCallable(g.ctypes)
    a, b, exact = _batch_problem()
    tol = dict(epsabs=0.0, epsrel=1e-12)

    def ref():
        return np.array([scipy.integrate.quad(llc, 0.0, bi, args=(ai,), **tol)[0]
                         for ai, bi in zip(a, b)])

    return Case(fastcalc=lambda: fc.quad(llc, 0.0, b, args=(a,), workers=workers, **tol)[0],
                reference=ref, error=_max_rel(exact))


@workload("integrate", "10,000 integrals of exp(-a x^2) on [0,b], LowLevelCallable batch, workers=2",
          reference="loop of scipy.integrate.quad, same LowLevelCallable", target=0.2, quick=False)
def _quad_batch_lowlevel_2():
    return _lowlevel_batch_case(2)


@workload("integrate", "10,000 integrals of exp(-a x^2) on [0,b], LowLevelCallable batch, 1 thread",
          reference="loop of scipy.integrate.quad, same LowLevelCallable", quick=False)
def _quad_batch_lowlevel_1():
    return _lowlevel_batch_case(1)


@workload("integrate", "10,000 integrals of exp(-a x^2) on [0,b], vectorized Python batch",
          reference="scipy.integrate.tanhsinh", target=0.25, quick=False)
def _quad_batch_vectorized():
    a, b, exact = _batch_problem()
    f = lambda x, aa: np.exp(-aa * x * x)
    return Case(fastcalc=lambda: fc.quad(f, 0.0, b, args=(a,), vectorized=True, epsabs=0.0,
                                         epsrel=1e-12)[0],
                reference=lambda: scipy.integrate.tanhsinh(f, 0.0, b, args=(a,), atol=0.0,
                                                           rtol=1e-12).integral,
                error=_max_rel(exact))


def _samples(n=10_000_000):
    x = np.linspace(0.0, 1.0, n)
    return x, np.sin(x)


@workload("integrate", "simpson on 1e7 samples with dx", reference="scipy.integrate.simpson",
          target=0.25, quick=False)
def _simpson_dx():
    x, y = _samples()
    dx = float(x[1] - x[0])
    return Case(fastcalc=lambda: fc.simpson(y, dx=dx),
                reference=lambda: scipy.integrate.simpson(y, dx=dx), exact=1.0 - math.cos(1.0))


@workload("integrate", "simpson on 1e7 samples with x", reference="scipy.integrate.simpson",
          target=0.1, quick=False)
def _simpson_x():
    x, y = _samples()
    return Case(fastcalc=lambda: fc.simpson(y, x=x),
                reference=lambda: scipy.integrate.simpson(y, x=x), exact=1.0 - math.cos(1.0))


@workload("integrate", "trapezoid on 1e7 samples with dx", reference="scipy.integrate.trapezoid",
          target=0.25, quick=False)
def _trapezoid_dx():
    x, y = _samples()
    dx = float(x[1] - x[0])
    return Case(fastcalc=lambda: fc.trapezoid(y, dx=dx),
                reference=lambda: scipy.integrate.trapezoid(y, dx=dx), exact=1.0 - math.cos(1.0))


@workload("integrate", "cubature, 2-D Genz Gaussian, rtol 1e-8", reference="scipy.integrate.cubature",
          target=0.1, quick=True)
def _cubature_genz():
    c = np.array([5.0, 7.0])
    u = np.array([0.3, 0.6])

    def f(x):
        return np.exp(-((c[0] * (x[:, 0] - u[0])) ** 2 + (c[1] * (x[:, 1] - u[1])) ** 2))

    exact = float(np.prod([math.sqrt(math.pi) / (2 * ci) * (math.erf(ci * (1 - ui)) + math.erf(ci * ui))
                           for ci, ui in zip(c, u)]))
    a = np.zeros(2)
    b = np.ones(2)
    return Case(fastcalc=lambda: fc.cubature(f, a, b, rtol=1e-8).estimate,
                reference=lambda: scipy.integrate.cubature(f, a, b, rtol=1e-8).estimate,
                exact=exact)


# ---- issue 16: one quad with args and a tight tolerance; dblquad; 10^6 vectorized integrals ----

_ARGS_EXACT = math.sqrt(math.pi / 2.0) / 2 * math.erf(math.sqrt(2.0))


@workload("integrate", "quad exp(-a x^2) on [0,1], args=(a,), epsrel=1e-12, Python f",
          reference="scipy.integrate.quad", target=0.8, quick=True)
def _quad_args_python():
    f = lambda x, a: math.exp(-a * x * x)
    tol = dict(args=(2.0,), epsabs=0.0, epsrel=1e-12)
    return Case(fastcalc=lambda: fc.quad(f, 0.0, 1.0, **tol)[0],
                reference=lambda: scipy.integrate.quad(f, 0.0, 1.0, **tol)[0], exact=_ARGS_EXACT)


def _gauss_args_cfunc():
    from numba import cfunc
    from numba.types import CPointer, float64, intc

    @cfunc(float64(intc, CPointer(float64)))
    def g(n, xx):
        return math.exp(-xx[1] * xx[0] * xx[0])

    return scipy.LowLevelCallable(g.ctypes)


@workload("integrate", "quad exp(-a x^2) on [0,1], args=(a,), epsrel=1e-12, LowLevelCallable",
          reference="scipy.integrate.quad, same LowLevelCallable", target=0.5, quick=False)
def _quad_args_lowlevel():
    llc = _gauss_args_cfunc()
    tol = dict(args=(2.0,), epsabs=0.0, epsrel=1e-12)
    return Case(fastcalc=lambda: fc.quad(llc, 0.0, 1.0, **tol)[0],
                reference=lambda: scipy.integrate.quad(llc, 0.0, 1.0, **tol)[0],
                exact=_ARGS_EXACT)


@workload("integrate", "dblquad x*y^2 on [0,2]x[0,1], Python f", reference="scipy.integrate.dblquad",
          target=0.9, quick=True)
def _dblquad_box():
    f = lambda y, x: x * y * y
    return Case(fastcalc=lambda: fc.dblquad(f, 0, 2, 0, 1)[0],
                reference=lambda: scipy.integrate.dblquad(f, 0, 2, 0, 1)[0], exact=2.0 / 3.0)


_DISK_EXACT = math.pi * (1.0 - math.exp(-1.0))


def _disk_limits():
    return (lambda x: -math.sqrt(max(1.0 - x * x, 0.0)),
            lambda x: math.sqrt(max(1.0 - x * x, 0.0)))


@workload("integrate", "dblquad exp(-x^2-y^2) over the unit disk, epsabs=1e-10, Python f",
          reference="scipy.integrate.dblquad", target=1.0, quick=True)
def _dblquad_disk():
    f = lambda y, x: math.exp(-x * x - y * y)
    g, h = _disk_limits()
    return Case(fastcalc=lambda: fc.dblquad(f, -1, 1, g, h, epsabs=1e-10)[0],
                reference=lambda: scipy.integrate.dblquad(f, -1, 1, g, h, epsabs=1e-10)[0],
                exact=_DISK_EXACT)


@workload("integrate", "dblquad exp(-x^2-y^2) over the unit disk, epsabs=1e-10, LowLevelCallable",
          reference="scipy.integrate.dblquad, same LowLevelCallable", target=0.3, quick=False)
def _dblquad_disk_lowlevel():
    from numba import cfunc
    from numba.types import CPointer, float64, intc

    @cfunc(float64(intc, CPointer(float64)))
    def f(n, xx):
        return math.exp(-xx[0] * xx[0] - xx[1] * xx[1])

    llc = scipy.LowLevelCallable(f.ctypes)
    g, h = _disk_limits()
    return Case(fastcalc=lambda: fc.dblquad(llc, -1, 1, g, h, epsabs=1e-10)[0],
                reference=lambda: scipy.integrate.dblquad(llc, -1, 1, g, h, epsabs=1e-10)[0],
                exact=_DISK_EXACT)


@workload("integrate", "10^6 integrals of exp(-a x^2) on [0,b], vectorized Python f",
          reference="floor: the same integrand evaluations in one NumPy call", target=2.5,
          quick=False)
def _quad_million_vectorized():
    rng = np.random.default_rng(7)
    n = 1_000_000
    a = rng.uniform(0.1, 10.0, n)
    b = rng.uniform(0.1, 3.0, n)
    f = lambda x, aa: np.exp(-aa * x * x)
    exact = np.sqrt(np.pi / a) / 2 * scipy.special.erf(np.sqrt(a) * b)
    neval = fc.quad(f, 0.0, b, args=(a,), vectorized=True, full_output=1)[2]["neval"]
    xs = rng.uniform(0.0, 3.0, neval)
    aa = np.repeat(a, -(-neval // n))[:neval]
    return Case(fastcalc=lambda: fc.quad(f, 0.0, b, args=(a,), vectorized=True)[0],
                reference=lambda: f(xs, aa), error=lambda r: float(np.max(np.abs(r / exact - 1)))
                if np.shape(r) == exact.shape else float("nan"))


# ---- issue 15: cubature workers= on a compiled integrand (threads over each round's nodes) ----

def _cubature_threads_case():
    from numba import cfunc
    from numba.types import CPointer, float64, intc

    @cfunc(float64(intc, CPointer(float64)))
    def g(n, x):
        return math.cos(7.0 * x[0] + 14.0 * x[1] + 21.0 * x[2]) * math.exp(-x[0] * x[1])

    llc = scipy.LowLevelCallable(g.ctypes)
    a, b = np.zeros(3), np.ones(3)
    kw = dict(rule="gk21", rtol=1e-10)
    # (the same nodes, so the same value, with 1 and 2 workers: the 1-worker run is the reference)
    return Case(fastcalc=lambda: fc.cubature(llc, a, b, workers=2, **kw).estimate,
                reference=lambda: fc.cubature(llc, a, b, workers=1, **kw).estimate,
                exact=fc.cubature(llc, a, b, workers=1, **kw).estimate)


@workload("integrate", "cubature 3-D oscillatory LowLevelCallable (676k nodes), workers=2",
          reference="fastcalc.cubature, same integrand, workers=1", target=1 / 1.7, quick=False)
def _cubature_workers_2():
    return _cubature_threads_case()
