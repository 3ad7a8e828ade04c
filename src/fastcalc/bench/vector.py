"""Benchmark workloads of fastcalc.vector and fastcalc.expectation, each paired with SciPy."""
import math

import numpy as np
import scipy.integrate
import scipy.stats

import fastcalc as fc
from fastcalc.bench import Case, workload


def _circles(n):
    rng = np.random.default_rng(7)
    R = rng.uniform(0.5, 2.0, n)
    cx = rng.uniform(-1.0, 1.0, n)
    cy = rng.uniform(-1.0, 1.0, n)
    # circulation of F = (-y^3, x^3) (curl 3 (x^2 + y^2)) around each circle
    exact = 3 * (math.pi * R ** 4 / 2 + math.pi * R ** 2 * (cx ** 2 + cy ** 2))
    return R, cx, cy, exact


def _field(x, *a):
    x0, x1 = x[0], x[1]
    return np.array([-(x1 * x1 * x1), x0 * x0 * x0])


def _circle(t, R, cx, cy):
    return np.array([cx + R * np.cos(t), cy + R * np.sin(t)])


def _velocity(t, R, cx, cy):
    return np.array([-R * np.sin(t), R * np.cos(t)])


def _scalar_integrand(t, R, cx, cy):
    """The same integrand F(r(t)) . r'(t), one parameter at a time (SciPy's quad)."""
    c, s = math.cos(t), math.sin(t)
    x, y = cx + R * c, cy + R * s
    return y * y * y * R * s + x * x * x * R * c


def _line_case(n):
    R, cx, cy, exact = _circles(n)

    def fastcalc_side():
        return fc.line_integral(_field, _circle, 0.0, 2 * math.pi, kind="vector", dr=_velocity,
                                args=(R, cx, cy), vectorized=True)

    def scipy_side():
        return np.array([scipy.integrate.quad(_scalar_integrand, 0.0, 2 * math.pi,
                                              args=(a, b, c))[0] for a, b, c in zip(R, cx, cy)])
    return Case(fastcalc=fastcalc_side, reference=scipy_side, exact=exact)


@workload("vector", "circulation around 1e4 circles, one batch, vectorized F and r",
          reference="loop of scipy.integrate.quad", target=0.2, quick=False)
def _line_1e4():
    return _line_case(10_000)


@workload("vector", "circulation around 1e3 circles, one batch, vectorized F and r",
          reference="loop of scipy.integrate.quad", target=0.2, quick=True)
def _line_1e3():
    return _line_case(1_000)


_A = 2.5
_EXPECT_COS = 2 ** (-_A / 2) * math.cos(_A * math.pi / 4)      # E cos X, X ~ Gamma(a)


@workload("vector", "expect(cos, gamma(2.5)), vectorized f",
          reference="scipy.stats.gamma(2.5).expect", target=0.2, quick=True)
def _expect_gamma():
    d = scipy.stats.gamma(_A)
    return Case(fastcalc=lambda: fc.expect(np.cos, d, vectorized=True),
                reference=lambda: d.expect(np.cos), exact=_EXPECT_COS)


@workload("vector", "expect(cos, gamma(2.5)), scalar Python f",
          reference="scipy.stats.gamma(2.5).expect", target=0.2, quick=True)
def _expect_gamma_scalar():
    d = scipy.stats.gamma(_A)
    f = math.cos
    return Case(fastcalc=lambda: fc.expect(f, d), reference=lambda: d.expect(f),
                exact=_EXPECT_COS)


_DISK_EXACT = math.pi * (1 - math.exp(-1.0))


@workload("vector", "integrate_disk exp(-x^2-y^2), vectorized f, rtol 1e-10",
          reference="scipy.integrate.dblquad with sqrt limits, epsabs 1e-10", target=None,
          quick=True)
def _disk():
    f = lambda x: np.exp(-x[0] * x[0] - x[1] * x[1])
    g = lambda y, x: math.exp(-x * x - y * y)
    lo = lambda x: -math.sqrt(max(0.0, 1 - x * x))
    hi = lambda x: math.sqrt(max(0.0, 1 - x * x))
    return Case(fastcalc=lambda: fc.integrate_disk(f, vectorized=True),
                reference=lambda: scipy.integrate.dblquad(g, -1, 1, lo, hi, epsabs=1e-10)[0],
                exact=_DISK_EXACT)
