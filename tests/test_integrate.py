"""Tests of fastcalc.integrate against closed forms, mpmath and SciPy."""
import math
import warnings

import mpmath as mp
import numpy as np
import pytest
import scipy.integrate as si
import scipy.special as ss

import fastcalc as fc
from fastcalc import functions as F
from fastcalc import integrate as fi
from fastcalc.integrate import IntegrationWarning

# ---------------------------------------------------------------------------------------------
# Gauss rules
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 2, 3, 7, 20, 64, 200, 1000])
def test_gauss_legendre_exact_for_degree_2n_minus_1(n):
    x, w = fi.gauss_legendre(n)
    assert x.shape == w.shape == (n,)
    assert np.all(np.diff(x) > 0)
    for k in sorted({0, 1, 2 * n - 2, 2 * n - 1, min(2 * n - 2, 40)}):
        exact = 2.0 / (k + 1) if k % 2 == 0 else 0.0
        assert abs(w @ x**k - exact) < 2e-15 * max(1, n / 50)


def test_gauss_legendre_against_mpmath():
    mp.mp.dps = 30
    for n in (50, 1000):
        x, w = fi.gauss_legendre(n)
        for i in (0, 3, n // 3):
            z = mp.findroot(lambda t: mp.legendre(n, t), x[i])
            wz = 2 / ((1 - z**2) * mp.diff(lambda t: mp.legendre(n, t), z) ** 2)
            assert abs(x[i] - float(z)) < 1e-15
            assert abs(w[i] / float(wz) - 1) < 2e-15


def test_gauss_legendre_cached_copy():
    x1, _ = fi.gauss_legendre(5)
    x1[:] = 0
    x2, _ = fi.gauss_legendre(5)
    assert np.all(x2 != 0) or n_zero_ok(x2)


def n_zero_ok(x):
    return np.count_nonzero(x == 0) == 1


@pytest.mark.parametrize("n", [1, 5, 30, 100])
def test_gauss_hermite_laguerre(n):
    x, w = fi.gauss_hermite(n)
    xr, wr = np.polynomial.hermite.hermgauss(n)
    assert np.allclose(x, xr, rtol=0, atol=1e-13)
    assert np.allclose(w, wr, rtol=1e-11, atol=0)
    x, w = fi.gauss_laguerre(n)
    xr, wr = np.polynomial.laguerre.laggauss(n)
    assert np.allclose(x, xr, rtol=1e-13)
    assert np.allclose(w, wr, rtol=1e-10, atol=1e-300)
    # Gamma moments
    k = min(2 * n - 1, 12)
    assert abs(w @ x**k / math.factorial(k) - 1) < 1e-12


def test_gauss_hermite_laguerre_large_n():
    for n in (500, 1000):
        x, w = fi.gauss_hermite(n)
        assert abs(w.sum() / math.sqrt(math.pi) - 1) < 1e-14
        assert abs(w @ x**2 / (math.sqrt(math.pi) / 2) - 1) < 1e-14
        x, w = fi.gauss_laguerre(n)
        assert abs(w.sum() - 1) < 1e-13 and abs(w @ x**3 / 6 - 1) < 1e-13
        assert np.all(np.diff(x) > 0)


@pytest.mark.parametrize("bad", [0, -3])
def test_gauss_bad_n(bad):
    for f in (fi.gauss_legendre, fi.gauss_hermite, fi.gauss_laguerre):
        with pytest.raises(ValueError, match=r"n must be an integer in \[1, "):
            f(bad)
    with pytest.raises(TypeError):
        fi.gauss_legendre(2.5)


def test_expect_normal_seed_examples():
    assert abs(fi.expect_normal(lambda x: x, 1.5, 2.0) - 1.5) < 1e-14
    assert abs(fi.expect_normal(lambda x: x**2, 1.5, 2.0) - (1.5**2 + 4.0)) < 1e-13
    assert abs(fi.expect_normal(F.square, 0.0, 3.0) - 9.0) < 1e-13
    # E[exp(X)] = exp(mu + s^2/2), batched over mean
    mu = np.array([0.0, 0.5, 1.0])
    got = fi.expect_normal(np.exp, mu, 0.5)
    assert np.allclose(got, np.exp(mu + 0.125), rtol=1e-13)
    with pytest.raises(ValueError, match="std"):
        fi.expect_normal(np.exp, 0.0, -1.0)


# ---------------------------------------------------------------------------------------------
# fixed_quad
# ---------------------------------------------------------------------------------------------


def test_fixed_quad_matches_scipy_and_exactness():
    for n in (1, 3, 5, 10):
        got, none = fi.fixed_quad(lambda x: x ** (2 * n - 1) + x ** (2 * n - 2), 0.0, 2.0, n=n)
        assert none is None
        exact = 2.0 ** (2 * n) / (2 * n) + 2.0 ** (2 * n - 1) / (2 * n - 1)
        assert abs(got / exact - 1) < 1e-14
    assert abs(fi.fixed_quad(np.sin, 0, np.pi, n=12)[0] - 2.0) < 1e-14
    ref = si.fixed_quad(np.cos, 0.3, 1.7, n=7)[0]
    assert abs(fi.fixed_quad(np.cos, 0.3, 1.7, n=7)[0] - ref) < 1e-15


def test_fixed_quad_batch_and_args():
    a = np.array([0.0, 1.0, 2.0])
    b = np.array([[1.0], [3.0]])
    got, _ = fi.fixed_quad(lambda x, k: k * x**2, a, b, args=(np.array([1.0, 2.0, 3.0]),), n=3)
    exact = np.array([1.0, 2.0, 3.0]) * (b**3 - a**3) / 3.0
    assert got.shape == (2, 3)
    assert np.allclose(got, exact, rtol=1e-14)
    got, _ = fi.fixed_quad(F.square, 0.0, 3.0, n=2)
    assert abs(got - 9.0) < 1e-13


def test_fixed_quad_bad_input():
    with pytest.raises(ValueError):
        fi.fixed_quad(np.sin, 0, np.inf)
    with pytest.raises(ValueError):
        fi.fixed_quad(np.sin, 0, 1, n=0)
    with pytest.raises(ZeroDivisionError):
        fi.fixed_quad(lambda x: 1 / 0, 0, 1)


# ---------------------------------------------------------------------------------------------
# quad
# ---------------------------------------------------------------------------------------------

SMOOTH = [
    (math.sin, 0.0, math.pi, 2.0),
    (lambda x: x * x, 0.0, 3.0, 9.0),
    (lambda x: math.exp(-x * x), 0.0, 1.0, math.sqrt(math.pi) / 2 * math.erf(1.0)),
    (lambda x: math.exp(-0.5 * x * x) / math.sqrt(2 * math.pi), -math.inf, math.inf, 1.0),
    (lambda x: math.exp(-x), 0.0, math.inf, 1.0),
    (lambda x: 1 / (1 + x * x), -math.inf, 0.0, math.pi / 2),
    (lambda x: math.cos(10 * x), 0.0, 1.0, math.sin(10.0) / 10),
    (lambda x: math.log(1 + x), 0.0, 1.0, 2 * math.log(2) - 1),
]


@pytest.mark.parametrize("case", range(len(SMOOTH)))
def test_quad_smooth_1e_14(case):
    f, a, b, exact = SMOOTH[case]
    y, err = fi.quad(f, a, b)
    assert abs(y - exact) <= 1e-14 * abs(exact) + 1e-15
    assert abs(y - exact) <= err + 1e-15
    # reversed limits
    y2, _ = fi.quad(f, b, a)
    assert y2 == -y


def test_quad_seed_examples():
    assert abs(fi.quad(np.sin, 0, np.pi)[0] - 2.0) < 1e-14
    assert abs(fi.quad(lambda x: x**2, 0, 1)[0] - 1 / 3) < 1e-15
    pdf = lambda x: math.exp(-0.5 * ((x - 1.0) / 2.0) ** 2) / (2.0 * math.sqrt(2 * math.pi))
    assert abs(fi.quad(pdf, -np.inf, np.inf)[0] - 1.0) < 1e-14
    assert abs(fi.quad(lambda x: x * pdf(x), -np.inf, np.inf)[0] - 1.0) < 1e-13
    assert abs(fi.quad(lambda x: x * x * pdf(x), -np.inf, np.inf)[0] - 5.0) < 1e-13


@pytest.mark.parametrize("kind", ["builtin", "lowlevel", "vectorized", "scalar"])
def test_quad_callable_kinds(kind):
    f = {"builtin": F.gauss, "lowlevel": F.gauss.lowlevel,
         "vectorized": lambda x: np.exp(-x * x), "scalar": lambda x: math.exp(-x * x)}[kind]
    y, err = fi.quad(f, 0.0, 1.0, vectorized=(kind == "vectorized"))
    ref = math.sqrt(math.pi) / 2 * math.erf(1.0)
    assert abs(y - ref) < 1e-15


def test_quad_lowlevel_args_appended():
    numba = pytest.importorskip("numba")
    from numba import cfunc, types
    from numba.types import CPointer, float64, intc

    @cfunc(float64(intc, CPointer(float64)))
    def g(n, xx):
        return math.exp(-xx[1] * xx[0] * xx[0])

    y, _ = fi.quad(g.ctypes, 0.0, 2.0, args=(3.0,))
    ref = si.quad(lambda x: math.exp(-3 * x * x), 0, 2)[0]
    assert abs(y - ref) < 1e-14
    a = np.array([1.0, 2.0, 5.0])
    y, err = fi.quad(g.ctypes, 0.0, 2.0, args=(a,))
    refs = [si.quad(lambda x: math.exp(-ai * x * x), 0, 2, epsabs=0, epsrel=1e-13)[0] for ai in a]
    assert np.allclose(y, refs, rtol=1e-13)


def test_quad_full_output_and_infodict():
    y, err, info = fi.quad(math.sin, 0, 10, full_output=1)
    assert info["neval"] > 0 and info["last"] >= 1
    assert len(info["alist"]) == info["last"]
    assert abs(sum(info["rlist"]) - y) < 1e-13
    r = fi.quad(lambda x: math.sin(1 / x), 1e-3, 1, limit=3, full_output=1)
    assert len(r) == 4 and isinstance(r[3], str)


def test_quad_not_converged_warns():
    with pytest.warns(IntegrationWarning):
        fi.quad(lambda x: math.sin(50 * x) ** 2 * math.sin(1 / x) if x else 0.0, 1e-4, 1, limit=3)


def test_quad_zero_everywhere_is_flagged():
    narrow = lambda x: math.exp(-((x - 1234.5) ** 2) / 1e-6)
    with pytest.warns(IntegrationWarning, match="narrow peak"):
        y, err = fi.quad(narrow, -1e4, 1e4)
    y, err, info, msg = fi.quad(narrow, -1e4, 1e4, full_output=1)
    assert info["ier"] != 0 and "all-zero" in info["flags"]
    # with the feature located, it converges
    y, err = fi.quad(narrow, -1e4, 1e4, points=[1234.49, 1234.51])
    assert abs(y - math.sqrt(math.pi * 1e-6)) < 1e-12


@pytest.mark.parametrize("f, a, b, exact", [
    (lambda x: 1 / math.sqrt(x), 0.0, 1.0, 2.0),
    (lambda x: math.log(x), 0.0, 1.0, -1.0),
    (lambda x: x**-0.8, 0.0, 1.0, 5.0),
    (lambda x: math.exp(-x) / math.sqrt(x), 0.0, math.inf, math.sqrt(math.pi)),
])
def test_quad_endpoint_singularities(f, a, b, exact):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y, err = fi.quad(f, a, b)
    assert abs(y - exact) <= max(err, 1.49e-8 * abs(exact))


def test_quad_points():
    f = lambda x: abs(x - 0.3)
    y, err = fi.quad(f, 0, 1, points=[0.3])
    assert abs(y - (0.3**2 + 0.7**2) / 2) < 1e-15
    with pytest.raises(ValueError):
        fi.quad(f, 0, np.inf, points=[1.0])


@pytest.mark.parametrize("method", ["gk21", "gk15", "adaptive-simpson", "gauss", "simpson"])
def test_quad_methods(method):
    y, err = fi.quad(np.cos, 0.0, 2.0, method=method, epsabs=1e-11, epsrel=1e-11)
    assert abs(y - math.sin(2.0)) < 1e-10
    assert abs(y - math.sin(2.0)) <= err + 1e-15


@pytest.mark.parametrize("method", ["gk15", "adaptive-simpson", "gauss", "simpson"])
def test_quad_methods_batch(method):
    b = np.linspace(0.5, 3.0, 7)
    y, err = fi.quad(np.cos, 0.0, b, method=method, vectorized=True, epsabs=1e-11, epsrel=1e-11)
    assert np.all(np.abs(y - np.sin(b)) <= err + 1e-15)
    assert np.max(np.abs(y - np.sin(b))) < 1e-10


def test_quad_honest_error_estimates():
    """The reported error bounds the true one on >= 95% of a varied set."""
    cases = [
        (lambda x: math.exp(x), 0, 1, math.e - 1),
        (lambda x: 1 / (1e-4 + (x - 0.3) ** 2), 0, 1,
         (math.atan(0.7 / 1e-2) + math.atan(0.3 / 1e-2)) / 1e-2),                      # peaked
        (lambda x: math.exp(-1e4 * (x - 0.5) ** 2), 0, 1, math.sqrt(math.pi / 1e4)),  # peaked
        (lambda x: math.cos(100 * x), 0, 1, math.sin(100) / 100),                     # oscillatory
        (lambda x: math.sin(30 * x) * math.exp(-x), 0, 5,
         float(mp.quad(lambda t: mp.sin(30 * t) * mp.exp(-t), [0, 5]))),
        (lambda x: abs(x - 1 / 3), 0, 1, (1 / 9 + 4 / 9) / 2),                        # kinked
        (lambda x: max(0.0, x - 0.7), 0, 1, 0.045),
        (lambda x: math.sqrt(x), 0, 1, 2 / 3),                                        # endpoint
        (lambda x: 1 / math.sqrt(x), 0, 1, 2.0),
        (lambda x: math.log(x), 0, 1, -1.0),
        (lambda x: x**-0.7, 0, 1, 1 / 0.3),
        (lambda x: math.sqrt(1 - x), 0, 1, 2 / 3),
        (lambda x: math.exp(-x * x), -math.inf, math.inf, math.sqrt(math.pi)),        # infinite
        (lambda x: 1 / (1 + x * x), 0, math.inf, math.pi / 2),
        (lambda x: math.exp(-x) * x**3, 0, math.inf, 6.0),
        (lambda x: 1 / (1 + x) ** 2, 0, math.inf, 1.0),
        (lambda x: x**5 - 3 * x, -2, 3, (3**6 - 2**6) / 6 - 1.5 * (9 - 4)),
        (lambda x: 1 / (1 + 25 * x * x), -1, 1, 2 * math.atan(5) / 5),
        (lambda x: math.sin(x) / x if x else 1.0, 0, 20, float(mp.si(20))),
        (lambda x: math.exp(math.sin(5 * x)), 0, 2 * math.pi, 2 * math.pi * float(mp.besseli(0, 1))),
    ]
    ok = 0
    for f, a, b, exact in cases:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for tol in (1.49e-8, 1e-11):
                y, err = fi.quad(f, a, b, epsabs=tol, epsrel=tol, limit=200)
                ok += abs(y - exact) <= err * (1 + 1e-9) + 1e-15
    assert ok >= 0.95 * 2 * len(cases)


@pytest.mark.parametrize("alpha", [0.93, 0.95, 0.963, 0.97])
@pytest.mark.parametrize("epsrel, limit", [(1.49e-8, 50), (1e-10, 50), (1.49e-8, 1000)])
def test_quad_strong_endpoint_singularity_error_is_honest(alpha, epsrel, limit):
    """x**-alpha with alpha near 1: the reported error must bound the true one, or the call
    must say that it did not converge (regression: both the Gauss-Kronrod intervals touching
    the end and the tanh-sinh tail bound under-estimated the missing mass)."""
    exact = 1 / (1 - alpha)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        y, err = fi.quad(lambda x: x**-alpha, 0.0, 1.0, epsabs=0, epsrel=epsrel, limit=limit)
    assert abs(y - exact) <= err * (1 + 1e-9) + 1e-15
    if err > epsrel * exact:
        assert any(issubclass(x.category, IntegrationWarning) for x in w)


@pytest.mark.parametrize("alpha", [0.7, 0.82, 0.9, 0.95])
def test_quad_right_endpoint_singularity_error_bounds(alpha):
    """(1 - x)**-alpha: nodes closer to 1 than the double spacing all see 1 - x = 1.1e-16, so
    the mass there cannot be resolved; the error estimate must cover it."""
    exact = 1 / (1 - alpha)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        y, err = fi.quad(lambda x: (1 - x) ** -alpha if x < 1 else math.inf, 0.0, 1.0)
    assert abs(y - exact) <= err


@pytest.mark.parametrize("method", ["adaptive-simpson", "simpson"])
@pytest.mark.parametrize("k", [64 * math.pi, 128 * math.pi + 0.6, 200.0, 24 * math.pi, 301.18])
def test_quad_equally_spaced_methods_do_not_alias(method, k):
    """cos(k x) with k near 2*pi*m*2**j looks constant on dyadic grids: the equally spaced
    methods used to report convergence to an O(1) wrong value with an error of 1e-8 or less."""
    exact = math.sin(k) / k
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        y, err = fi.quad(lambda x: math.cos(k * x), 0.0, 1.0, method=method)
    warned = any(issubclass(x.category, IntegrationWarning) for x in w)
    assert abs(y - exact) <= err + 1e-14 or warned
    assert abs(y - exact) < 1e-6 or warned


def test_quad_batch_matches_loop():
    rng = np.random.default_rng(1)
    a = rng.uniform(0.1, 5, 50)
    b = rng.uniform(0.5, 3, 50)
    ref = np.sqrt(np.pi / a) / 2 * ss.erf(np.sqrt(a) * b)
    y, err = fi.quad(lambda x, aa: np.exp(-aa * x * x), 0.0, b, args=(a,), vectorized=True,
                     epsabs=0, epsrel=1e-13)
    assert y.shape == (50,)
    assert np.max(np.abs(y / ref - 1)) < 1e-12
    y2, _ = fi.quad(lambda x, aa: math.exp(-aa * x * x), 0.0, b, args=(a,), epsabs=0,
                    epsrel=1e-13)
    assert np.max(np.abs(y2 / ref - 1)) < 1e-12
    # broadcasting limits, builtin
    b2 = np.linspace(0, 2, 6).reshape(2, 3)
    y3, e3 = fi.quad(F.square, 0.0, b2)
    assert y3.shape == (2, 3) and np.allclose(y3, b2**3 / 3, rtol=1e-14, atol=0)


def test_quad_batch_workers():
    b = np.linspace(0.1, 3.0, 3001)
    y1, e1 = fi.quad(F.gauss, 0.0, b)
    y2, e2 = fi.quad(F.gauss, 0.0, b, workers=2)
    assert np.array_equal(y1, y2) and np.array_equal(e1, e2)
    assert np.max(np.abs(y2 / (np.sqrt(np.pi) / 2 * ss.erf(b)) - 1)) < 1e-14
    with pytest.raises(ValueError, match="workers"):
        fi.quad(F.gauss, 0.0, b, workers=0)


def test_quad_batch_reports_failures():
    b = np.array([1.0, 1.0])
    with pytest.warns(IntegrationWarning, match="1 of 2"):
        y, e = fi.quad(lambda x, k: np.where(k > 0, np.sin(1 / x), 1.0), 1e-6, b,
                       args=(np.array([0.0, 1.0]),), vectorized=True, limit=5)


def test_quad_bad_input():
    with pytest.raises(ValueError, match="NaN"):
        fi.quad(math.sin, math.nan, 1)
    with pytest.raises(ValueError, match="NaN"):
        fi.quad(math.sin, 0, np.array([1.0, np.nan]))
    with pytest.raises(ValueError, match="limit"):
        fi.quad(math.sin, 0, 1, limit=0)
    with pytest.raises(ValueError, match="epsabs must be >= 0"):
        fi.quad(math.sin, 0, 1, epsabs=-1)
    with pytest.raises(ValueError):
        fi.quad(math.sin, 0, 1, epsabs=0, epsrel=0)
    with pytest.raises(ValueError, match="method"):
        fi.quad(math.sin, 0, 1, method="nope")
    with pytest.raises(ValueError):
        fi.quad(math.sin, 0, np.inf, method="simpson")


def test_quad_user_errors_propagate():
    class Boom(Exception):
        pass

    def f(x):
        raise Boom("boom")

    with pytest.raises(Boom):
        fi.quad(f, 0, 1)
    with pytest.raises(Boom):
        fi.quad(lambda x: f(x), 0, np.array([1.0, 2.0]))
    with pytest.raises(ValueError, match="shape"):
        fi.quad(lambda x: np.ones(3), 0, 1, vectorized=True)
    with pytest.raises(TypeError):
        fi.quad(lambda x: "a", 0, 1)


def test_quad_nan_reported():
    with pytest.warns(IntegrationWarning, match="NaN"):
        y, err = fi.quad(lambda x: math.nan if x > 0.5 else 1.0, 0, 1)
    assert math.isnan(y)


def test_quad_delegates_weight_and_complex():
    y, err = fi.quad(lambda x: 1.0, 0, 1, weight="cos", wvar=2.0)
    assert abs(y - math.sin(2.0) / 2.0) < 1e-14
    y, err = fi.quad(lambda x: np.exp(1j * x), 0, 1, complex_func=True)
    assert abs(y - (np.exp(1j) - 1) / 1j) < 1e-14


def test_quad_empty_batch():
    y, e = fi.quad(F.square, 0.0, np.array([]))
    assert y.shape == (0,) and e.shape == (0,)


# ---------------------------------------------------------------------------------------------
# several variables
# ---------------------------------------------------------------------------------------------


def test_dblquad_tplquad_nquad():
    y, e = fi.dblquad(lambda y, x: x * y**2, 0, 2, 0, 1)
    assert abs(y - 2 / 3) < 1e-14
    y, e = fi.dblquad(lambda y, x: x * y, 0, 0.5, lambda x: 0, lambda x: 1 - 2 * x)
    assert abs(y - si.dblquad(lambda y, x: x * y, 0, 0.5, lambda x: 0, lambda x: 1 - 2 * x)[0]) < 1e-15
    y, e = fi.tplquad(lambda z, y, x: x + y + z, 0, 1, lambda x: x, 1, lambda x, y: 0,
                      lambda x, y: x * y)
    ref = si.tplquad(lambda z, y, x: x + y + z, 0, 1, lambda x: x, 1, lambda x, y: 0,
                     lambda x, y: x * y)[0]
    assert abs(y - ref) < 1e-14
    y, e = fi.nquad(lambda x, y, c: c * np.exp(-x * x - y * y), [[-np.inf, np.inf]] * 2,
                    args=(2.0,))
    assert abs(y - 2 * math.pi) < 1e-8
    y, e = fi.nquad(lambda x, y: x * y, [lambda y: (0, y), (0, 1)])
    assert abs(y - 1 / 8) < 1e-15


def test_nested_error_includes_inner_errors():
    for ranges, exact in (([[-np.inf, np.inf]] * 2, math.pi),
                          ([[0, 1], [0, 2]], float(mp.quad(lambda x, y: mp.exp(-x * y) * mp.sin(3 * x + y),
                                                            [0, 1], [0, 2])))):
        y, err = fi.nquad(lambda x, yy: np.exp(-x * yy) * np.sin(3 * x + yy) if exact != math.pi
                          else np.exp(-x * x - yy * yy), ranges)
        assert abs(y - exact) <= err


def test_nquad_lowlevel():
    pytest.importorskip("numba")
    from numba import cfunc
    from numba.types import CPointer, float64, intc

    @cfunc(float64(intc, CPointer(float64)))
    def g(n, xx):
        return xx[0] * xx[1] * xx[2]

    y, e = fi.nquad(g.ctypes, [[0, 1], [0, 2]], args=(3.0,))
    assert abs(y - 3.0) < 1e-14


def test_nested_bad_input_and_errors():
    with pytest.raises(ValueError):
        fi.dblquad(lambda y, x: 1.0, 0, 1, math.nan, 1)
    with pytest.raises(ZeroDivisionError):
        fi.dblquad(lambda y, x: 1 / 0, 0, 1, 0, 1)
    with pytest.raises(ValueError):
        fi.nquad(lambda x: x, [])


# ---------------------------------------------------------------------------------------------
# sampled data
# ---------------------------------------------------------------------------------------------

SHAPES = [(7,), (8,), (2,), (3, 8), (4, 9, 5), (5, 6, 3)]


@pytest.mark.parametrize("shape", SHAPES)
def test_sampled_rules_match_scipy(shape):
    rng = np.random.default_rng(len(shape) * 10 + shape[-1])
    y = rng.standard_normal(shape)
    for ax in range(-len(shape), len(shape)):
        n = shape[ax]
        x1 = np.sort(rng.random(n)) * 3
        xf = np.sort(rng.random(shape), axis=ax)
        for kw in ({"dx": 0.37}, {"x": x1}, {"x": xf}):
            for name in ("simpson", "trapezoid"):
                got = getattr(fi, name)(y, axis=ax, **kw)
                ref = getattr(si, name)(y, axis=ax, **kw)
                assert np.shape(got) == np.shape(ref)
                assert np.allclose(got, ref, rtol=1e-13, atol=1e-13)
            for ini in (None, 0):
                got = fi.cumulative_trapezoid(y, axis=ax, initial=ini, **kw)
                ref = si.cumulative_trapezoid(y, axis=ax, initial=ini, **kw)
                assert got.shape == ref.shape and np.allclose(got, ref, rtol=1e-13, atol=1e-13)
            if n >= 3 and (kw.get("x") is None or True):
                xs = kw.get("x")
                kw2 = {"x": xs} if xs is not None else {"dx": kw["dx"]}
                for ini in (None, 0.5):
                    got = fi.cumulative_simpson(y, axis=ax, initial=ini, **kw2)
                    ref = si.cumulative_simpson(y, axis=ax, initial=ini, **kw2)
                    assert got.shape == ref.shape
                    assert np.allclose(got, ref, rtol=1e-12, atol=1e-12)


def test_simpson_exactness_and_scalars():
    x = np.arange(0, 10)
    assert fi.simpson(x**3, x=x) == pytest.approx(1640.5, rel=1e-15)
    assert fi.simpson(np.arange(0, 10), x=x) == pytest.approx(40.5)
    x = np.linspace(0, 2, 101)
    assert abs(fi.simpson(x**3, x=x) - 4.0) < 1e-13
    assert isinstance(fi.trapezoid([1, 2, 3]), float)


def test_romb_matches_scipy():
    rng = np.random.default_rng(3)
    for n in (1, 2, 3, 5, 9, 17, 33):
        y = rng.standard_normal((3, n))
        if n == 1:
            with pytest.raises(ValueError):
                fi.romb(y)
            continue
        assert np.allclose(fi.romb(y, dx=0.3), si.romb(y, dx=0.3), rtol=1e-13, atol=1e-14)
        assert np.allclose(fi.romb(y.T, dx=0.3, axis=0), si.romb(y.T, dx=0.3, axis=0), rtol=1e-13)
    with pytest.raises(ValueError):
        fi.romb(np.ones(6))


def test_sampled_bad_input():
    with pytest.raises(ValueError):
        fi.simpson(np.ones(5), x=np.ones(4))
    with pytest.raises(ValueError):
        fi.trapezoid(np.ones(5), axis=3)
    with pytest.raises(ValueError):
        fi.cumulative_trapezoid(np.ones(5), initial=1.0)
    with pytest.raises(ValueError):
        fi.cumulative_simpson(np.ones(5), x=np.array([0, 1, 1, 2, 3.0]))
    with pytest.raises(ValueError):
        fi.cumulative_simpson(np.ones((2, 5)), x=np.ones(3))
    # empty and NaN input: errors where SciPy errors, same values elsewhere
    for fn in (fi.simpson, fi.cumulative_trapezoid, fi.cumulative_simpson):
        with pytest.raises(ValueError):
            fn(np.ones((3, 0)))
    assert np.all(fi.trapezoid(np.ones((3, 0))) == 0)
    assert np.isnan(fi.simpson(np.array([1.0, np.nan, 2.0])))
    assert fi.trapezoid(np.ones((0, 3))).shape == si.trapezoid(np.ones((0, 3))).shape


def test_top_level_names():
    for name in ("quad", "fixed_quad", "simpson", "trapezoid", "cumulative_trapezoid",
                 "cumulative_simpson", "romb", "dblquad", "tplquad", "nquad", "gauss_legendre",
                 "gauss_hermite", "gauss_laguerre", "expect_normal", "cubature"):
        assert getattr(fc, name) is getattr(fi, name)


# ---------------------------------------------------------------------------------------------
# cubature
# ---------------------------------------------------------------------------------------------

GAUSS2 = (math.sqrt(math.pi) / 2 * math.erf(1.0)) ** 2


@pytest.mark.parametrize("rule", ["gk21", "gk15", "genz-malik", "gauss-kronrod"])
def test_cubature_rules(rule):
    f = lambda x: np.exp(-np.sum(x**2, axis=-1))
    res = fi.cubature(f, [0, 0], [1, 1], rule=rule, rtol=1e-10)
    assert res.status == "converged"
    assert abs(res.estimate - GAUSS2) <= max(res.error, 1e-10 * GAUSS2)
    assert abs(res.estimate - GAUSS2) < 1e-10


def test_cubature_genz_gaussian_peaked_and_3d():
    c = np.array([5.0, 7.0, 3.0])
    u = np.array([0.3, 0.6, 0.5])
    f = lambda x: np.exp(-np.sum(c**2 * (x - u) ** 2, axis=-1))
    exact = np.prod([math.sqrt(math.pi) / (2 * ci) * (math.erf(ci * (1 - ui)) + math.erf(ci * ui))
                     for ci, ui in zip(c, u)])
    for rule, tol in (("gk21", 1e-9), ("genz-malik", 1e-7)):
        res = fi.cubature(f, np.zeros(3), np.ones(3), rule=rule, rtol=tol)
        assert res.status == "converged"
        assert abs(res.estimate / exact - 1) < tol


def test_cubature_vector_output_infinite_and_flipped():
    f = lambda x, k: np.stack([np.exp(-np.sum(x**2, axis=-1)), k * np.exp(-np.sum(np.abs(x), axis=-1))],
                              axis=-1)
    res = fi.cubature(f, [-np.inf, 0], [np.inf, np.inf], args=(3.0,))
    assert res.estimate.shape == (2,)
    assert np.allclose(res.estimate, [math.pi / 2, 3.0 * 2.0], rtol=1e-8)
    ref = si.cubature(f, np.array([-np.inf, 0]), np.array([np.inf, np.inf]), args=(3.0,))
    assert np.allclose(res.estimate, ref.estimate, rtol=1e-8)
    g = lambda x: np.sum(x, axis=-1)
    assert abs(fi.cubature(g, [1, 0], [0, 1]).estimate + 1.0) < 1e-14
    assert len(fi.cubature(g, [0, 0], [1, 1]).regions) >= 1


def test_cubature_not_converged_and_builtin():
    f = lambda x: np.sin(1 / np.maximum(np.sum(x, axis=-1), 1e-300))
    res = fi.cubature(f, [0, 0], [1, 1], max_subdivisions=3)
    assert res.status == "not_converged" and res.subdivisions == 3
    res = fi.cubature(F.sphere, [0, 0, 0], [1, 1, 1])
    assert abs(res.estimate - 1.0) < 1e-14


def test_cubature_all_zero_flagged():
    peak = lambda x: np.exp(-np.sum((x - 0.123456) ** 2, axis=-1) / 1e-8)
    with pytest.warns(IntegrationWarning, match="narrow peak"):
        fi.cubature(peak, [-100, -100], [100, 100])


def test_cubature_bad_input():
    f = lambda x: np.sum(x, axis=-1)
    with pytest.raises(ValueError):
        fi.cubature(f, [], [])
    with pytest.raises(ValueError):
        fi.cubature(f, [[0, 0]], [[1, 1]])
    with pytest.raises(ValueError):
        fi.cubature(f, [0, np.nan], [1, 1])
    with pytest.raises(ValueError):
        fi.cubature(f, [0, 0], [1, 1], rule="nope")
    with pytest.raises(ValueError):
        fi.cubature(f, [0], [1], rule="genz-malik")
    with pytest.raises(ValueError):
        fi.cubature(f, [0, 0], [1, 1], rtol=-1)
    with pytest.raises(FloatingPointError):
        fi.cubature(lambda x: np.full(x.shape[0], np.nan), [0, 0], [1, 1])
    with pytest.raises(ZeroDivisionError):
        fi.cubature(lambda x: 1 / 0, [0, 0], [1, 1])
    with pytest.raises(ValueError):
        fi.cubature(lambda x: np.ones(3), [0, 0], [1, 1])


def test_errors_in_limits_and_inner_levels_propagate():
    class Boom(Exception):
        pass

    def bad_limit(x):
        raise Boom("limit")

    with pytest.raises(Boom):
        fi.dblquad(lambda y, x: x * y, 0, 1, bad_limit, 1)
    with pytest.raises(Boom):
        fi.tplquad(lambda z, y, x: 1.0, 0, 1, 0, 1, 0, lambda x, y: (_ for _ in ()).throw(Boom()))
    with pytest.raises(Boom):
        fi.quad(lambda x: (_ for _ in ()).throw(Boom()) if x > 0.9 else 1.0, 0, 1e-300 + 1)


def test_cubature_zero_width_region_is_not_flagged():
    """A region of zero volume integrates to 0 without an 'integrand was 0' warning (SciPy)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = fi.cubature(lambda x: np.exp(-np.sum(x**2, axis=-1)), [0.0, 0.0], [0.0, 1.0])
    assert res.estimate == 0.0 and res.status == "converged"


def test_quad_batch_full_output_has_messages():
    """The documented per-element messages of a batch with full_output."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y, err, info = fi.quad(lambda x, k: np.where(k == 1, np.nan, np.exp(-x)), 0.0,
                               np.ones(3), args=(np.arange(3.0),), vectorized=True, full_output=1)
    assert list(info["ier"]) == [0, 3, 0]
    assert info["message"][0] is None and info["message"][2] is None
    assert "NaN" in info["message"][1]
    assert np.isnan(y[1]) and abs(y[0] - (1 - math.exp(-1))) < 1e-14


def test_quad_underflowing_integral_is_not_flagged_all_zero():
    """x on [1e-300, 2e-300] is not 0 at the nodes; its integral (1.5e-600) underflows to 0.
    That is not 'the integrand was 0 at every node'."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y, err = fi.quad(lambda x: x, 1e-300, 2e-300)
    assert y == 0.0


def test_quad_vectorized_complex_integrand_raises():
    """A vectorized integrand returning complex values raised nothing: the imaginary part was
    dropped with only NumPy's ComplexWarning (the scalar path raises TypeError, as SciPy)."""
    f = lambda x: np.exp(1j * x)
    with pytest.raises(TypeError, match="complex"):
        fi.quad(f, 0.0, 1.0, vectorized=True)
    with pytest.raises(TypeError, match="complex"):
        fi.quad(f, 0.0, np.ones(3), vectorized=True)


def test_cubature_complex_integrand():
    """Complex integrands (SciPy's cubature supports them) lost their imaginary part."""
    res = fi.cubature(lambda x: np.exp(1j * x.sum(axis=-1)), [0.0, 0.0], [1.0, 1.0])
    exact = ((np.exp(1j) - 1) / 1j) ** 2
    assert abs(res.estimate - exact) < 1e-12


@pytest.mark.parametrize("name", ["simpson", "trapezoid", "cumulative_trapezoid"])
@pytest.mark.parametrize("N", [3, 6, 7])
def test_sampled_float32_keeps_scipy_dtype(name, N):
    """float32/float16 samples: the result dtype is SciPy's (computed in float64, rounded)."""
    y = (np.arange(N) * 0.1).astype(np.float32)
    x = np.linspace(0, 1, N)
    for kw in ({}, {"dx": 0.5}, {"dx": np.float64(0.5)}, {"dx": np.float32(0.5)}, {"x": x},
               {"x": x.astype(np.float32)}):
        ref = getattr(si, name)(y, **kw)
        got = getattr(fi, name)(y, **kw)
        assert np.asarray(got).dtype == np.asarray(ref).dtype, kw
        assert np.allclose(got, ref, rtol=1e-6)
    assert np.asarray(getattr(fi, name)(y.astype(np.float16))).dtype == \
        np.asarray(getattr(si, name)(y.astype(np.float16))).dtype


# ---- nested integrals call a Python integrand with the coordinates as floats (no lists) ----

def test_nested_python_integrand_gets_floats_then_args():
    seen = []

    def f(z, y, x, a, b):
        seen.append((type(z), type(y), type(x), a, b))
        return a * x * y * z + b

    # int_0^1 int_0^2 int_0^3 (a xyz + b) dz dy dx = a * 1/2 * 2 * 9/2 + 6 b (analytic)
    y, err = fc.tplquad(f, 0, 1, 0, 2, 0, 3, args=(2.0, -1.0))
    assert y == pytest.approx(2.0 * 4.5 - 6.0, rel=1e-13)
    assert set(seen) == {(float, float, float, 2.0, -1.0)}
    ranges_seen = []

    def r0(x, k):
        ranges_seen.append((type(x), k))
        return (0.0, k * x)

    # int_0^1 int_0^{kx} y dy dx = k^2 / 6, as scipy.integrate.nquad
    got = fc.nquad(lambda y, x, k: y, [r0, [0, 1]], args=(3.0,))[0]
    ref = si.nquad(lambda y, x, k: y, [r0, [0, 1]], args=(3.0,))[0]
    assert got == pytest.approx(1.5, rel=1e-13) and got == pytest.approx(ref, rel=1e-12)
    assert {t for t, _ in ranges_seen} == {float} and {k for _, k in ranges_seen} == {3.0}


def test_nested_python_integrand_many_args_and_errors():
    # 2 coordinates + 15 args: more than the vectorcall buffer holds (the generic call)
    args = tuple(float(k) for k in range(15))
    y, _ = fc.nquad(lambda y, x, *a: x + y + sum(a), [[0, 1], [0, 1]], args=args)
    assert y == pytest.approx(1.0 + sum(args), rel=1e-13)

    class Boom(Exception):
        pass

    def bad(y, x):
        raise Boom("from f")

    with pytest.raises(Boom, match="from f"):
        fc.dblquad(bad, 0, 1, 0, 1)
    with pytest.raises(TypeError, match="expected a real number"):
        fc.dblquad(lambda y, x: "no", 0, 1, 0, 1)
    with pytest.raises(ValueError, match="scalar"):
        fc.dblquad(lambda y, x: np.ones(2), 0, 1, 0, 1)
    with pytest.raises(TypeError):
        fc.dblquad(lambda y: y, 0, 1, 0, 1)            # takes one coordinate, gets two
    with pytest.raises(ValueError):
        fc.dblquad(lambda y, x: 1.0, 0, 1, lambda x: (0, 1, 2), 1)   # not a pair of limits
    # a NumPy scalar result is accepted, as a float is (np.float64 is a float subclass)
    assert fc.dblquad(lambda y, x: np.float32(x * y), 0, 1, 0, 1)[0] == pytest.approx(0.25)


def test_adapter_unpacked_coordinates_need_a_scalar_callable():
    from fastcalc._core import as_evaluator
    with pytest.raises(ValueError, match="scalar_x"):
        as_evaluator(lambda X: X[0], 2, 1, True, True, True, ())


def test_single_quad_reentrant_and_after_an_error():
    """quad's single-integral entry reuses one integrand object when free: a Python integrand
    that itself calls quad, and a call after an integrand raised, each get their own."""
    inner_counts = []

    def outer(x):
        y, _, info = fc.quad(lambda t: x * t * t, 0.0, 1.0, full_output=1)
        inner_counts.append(info["neval"])
        return y

    y, _, info = fc.quad(outer, 0.0, 1.0, full_output=1)     # int_0^1 x/3 dx = 1/6 (analytic)
    assert y == pytest.approx(1 / 6, rel=1e-14)
    assert info["neval"] == 21 and set(inner_counts) == {21}

    def bad(x):
        raise ZeroDivisionError("inside")

    with pytest.raises(ZeroDivisionError, match="inside"):
        fc.quad(bad, 0.0, 1.0)
    assert fc.quad(math.cos, 0.0, 1.0)[0] == pytest.approx(math.sin(1.0), rel=1e-14)
