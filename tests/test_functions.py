"""Built-in C functions against NumPy formulas, SciPy's rosen family and mpmath derivatives."""
import pickle

import mpmath as mp
import numpy as np
import pytest
from scipy.integrate import quad
from scipy.optimize import rosen, rosen_der, rosen_hess

from fastcalc import functions as F

rng = np.random.default_rng(7)


# independent reference formulas, written generically so they work for NumPy arrays and mpmath
def _ref(name):
    def cos(v):
        return mp.cos(v) if isinstance(v, mp.mpf) else np.cos(v)

    def sin(v):
        return mp.sin(v) if isinstance(v, mp.mpf) else np.sin(v)

    def exp(v):
        return mp.exp(v) if isinstance(v, mp.mpf) else np.exp(v)

    def sqrt(v):
        return mp.sqrt(v) if isinstance(v, mp.mpf) else np.sqrt(v)

    pi = mp.pi if False else np.pi
    table = {
        "sphere": lambda x: sum(xi * xi for xi in x),
        "rosenbrock": lambda x: sum(100 * (x[i + 1] - x[i] ** 2) ** 2 + (1 - x[i]) ** 2
                                    for i in range(len(x) - 1)),
        "rastrigin": lambda x: 10 * len(x) + sum(xi ** 2 - 10 * cos(2 * _pi(xi) * xi) for xi in x),
        "ackley": lambda x: (-20 * exp(-0.2 * sqrt(sum(xi * xi for xi in x) / len(x)))
                             - exp(sum(cos(2 * _pi(x[0]) * xi) for xi in x) / len(x)) + 20
                             + exp(1 + 0 * x[0])),
        "styblinski_tang": lambda x: sum(xi ** 4 - 16 * xi ** 2 + 5 * xi for xi in x) / 2,
        "himmelblau": lambda x: (x[0] ** 2 + x[1] - 11) ** 2 + (x[0] + x[1] ** 2 - 7) ** 2,
        "beale": lambda x: ((1.5 - x[0] + x[0] * x[1]) ** 2 + (2.25 - x[0] + x[0] * x[1] ** 2) ** 2
                            + (2.625 - x[0] + x[0] * x[1] ** 3) ** 2),
        "booth": lambda x: (x[0] + 2 * x[1] - 7) ** 2 + (2 * x[0] + x[1] - 5) ** 2,
        "goldstein_price": lambda x: (
            (1 + (x[0] + x[1] + 1) ** 2 * (19 - 14 * x[0] + 3 * x[0] ** 2 - 14 * x[1]
                                           + 6 * x[0] * x[1] + 3 * x[1] ** 2))
            * (30 + (2 * x[0] - 3 * x[1]) ** 2 * (18 - 32 * x[0] + 12 * x[0] ** 2 + 48 * x[1]
                                                  - 36 * x[0] * x[1] + 27 * x[1] ** 2))),
        "square": lambda x: x * x,
        "sin": lambda x: sin(x),
        "gauss": lambda x: exp(-x * x),
        "sigmoid": lambda x: 1 / (1 + exp(-x)),
    }
    del pi
    return table[name]


def _pi(v):
    return mp.pi if isinstance(v, mp.mpf) else np.pi


ND = ["sphere", "rosenbrock", "rastrigin", "ackley", "styblinski_tang"]
TWO = ["himmelblau", "beale", "booth", "goldstein_price"]
ONE = ["square", "sin", "gauss", "sigmoid"]


def _dim(f):
    return f.ndim or 3


@pytest.mark.parametrize("name", ND + TWO)
def test_values_match_numpy_formula(name):
    f = F.ALL[name]
    n = _dim(f)
    x = rng.uniform(-2, 2, (n, 5, 4))
    np.testing.assert_allclose(f(x), _ref(name)(x), rtol=1e-13, atol=1e-13)
    assert f(x).shape == (5, 4)
    assert np.ndim(f(x[:, 0, 0])) == 0


@pytest.mark.parametrize("name", ONE)
def test_one_variable_values(name):
    f = F.ALL[name]
    x = rng.uniform(-3, 3, (3, 5))
    np.testing.assert_allclose(f(x), _ref(name)(x), rtol=1e-14)
    out = f(0.5)
    assert isinstance(out, np.float64)
    assert f(np.array([0.5])).shape == (1,)


def _mp_grad_hess(name, point):
    mp.mp.dps = 30
    fn = _ref(name)
    n = len(point)

    def g(*args):
        return fn(list(args))

    pt = [mp.mpf(float(v)) for v in point]
    grad = []
    hess = np.zeros((n, n))
    for i in range(n):
        order = [0] * n
        order[i] = 1
        grad.append(float(mp.diff(g, pt, tuple(order))))
        for k in range(n):
            o2 = [0] * n
            o2[i] += 1
            o2[k] += 1
            hess[i, k] = float(mp.diff(g, pt, tuple(o2)))
    return np.array(grad), hess


@pytest.mark.parametrize("name", ND + TWO)
def test_gradients_and_hessians_against_mpmath(name):
    f = F.ALL[name]
    n = _dim(f)
    pts = rng.uniform(-1.5, 1.5, (n, 2)) + 0.1
    for j in range(pts.shape[1]):
        g_ref, h_ref = _mp_grad_hess(name, pts[:, j])
        np.testing.assert_allclose(f.grad(pts[:, j]), g_ref, rtol=1e-12, atol=1e-11)
        if f.hess is not None:
            np.testing.assert_allclose(f.hess(pts[:, j]), h_ref, rtol=1e-12, atol=1e-10)
    # batch shapes follow the batch-axis convention
    assert f.grad(pts).shape == (n, 2)
    if f.hess is not None:
        assert f.hess(pts).shape == (n, n, 2)
        np.testing.assert_array_equal(f.hess(pts), np.swapaxes(f.hess(pts), 0, 1))


@pytest.mark.parametrize("name", ONE)
def test_one_variable_derivatives_against_mpmath(name):
    f = F.ALL[name]
    mp.mp.dps = 30
    fn = _ref(name)
    for x0 in (-2.3, -0.4, 0.0, 1.7, 25.0, -40.0):
        d1 = float(mp.diff(fn, mp.mpf(x0), 1))
        d2 = float(mp.diff(fn, mp.mpf(x0), 2))
        np.testing.assert_allclose(f.grad(x0), d1, rtol=1e-13, atol=1e-30)
        np.testing.assert_allclose(f.hess(x0), d2, rtol=1e-12, atol=1e-30)


def test_rosenbrock_matches_scipy():
    for n in (2, 3, 10):
        x = rng.uniform(-2, 2, (n, 6))
        np.testing.assert_allclose(F.rosenbrock(x), rosen(x), rtol=1e-14)
        for j in range(6):
            np.testing.assert_allclose(F.rosenbrock.grad(x[:, j]), rosen_der(x[:, j]), rtol=1e-13,
                                       atol=1e-12)
            np.testing.assert_allclose(F.rosenbrock.hess(x[:, j]), rosen_hess(x[:, j]), rtol=1e-13,
                                       atol=1e-12)


def test_sigmoid_is_overflow_free():
    with np.errstate(over="raise"):
        vals = F.sigmoid(np.array([-1000.0, -40.0, 0.0, 40.0, 1000.0]))
    np.testing.assert_allclose(vals, [0.0, 1 / (1 + np.exp(40.0)), 0.5, 1 / (1 + np.exp(-40.0)), 1.0],
                               rtol=1e-15, atol=0)
    s = F.sigmoid(np.linspace(-5, 5, 11))
    np.testing.assert_allclose(F.sigmoid.grad(np.linspace(-5, 5, 11)), s * (1 - s), rtol=1e-13)


@pytest.mark.parametrize("name", list(F.ALL))
def test_minima(name):
    f = F.ALL[name]
    for x, fx in f.minima:
        np.testing.assert_allclose(f(x), fx, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(f.grad(x), 0, atol=1e-8)
    if not f.ndim:
        for x, fx in f.minima_in(5):
            assert np.shape(x) == (5,)
            np.testing.assert_allclose(f(x), fx, rtol=1e-12, atol=1e-12)


def test_lowlevel_signatures_and_scipy():
    assert F.rosenbrock.lowlevel.signature == "double (int, double *)"
    assert F.rosenbrock.grad.lowlevel.signature == "void (int, const double *, int, double *, void *)"
    assert F.sin.lowlevel.signature == "double (double)"
    val, _ = quad(F.sin.lowlevel, 0, np.pi)
    assert abs(val - 2) < 1e-13


def test_bad_input():
    with pytest.raises(ValueError, match="takes 2 variable"):
        F.himmelblau(np.zeros(3))
    with pytest.raises(ValueError, match="at least 2"):
        F.rosenbrock(np.zeros(1))
    with pytest.raises(ValueError, match="scalar"):
        F.rosenbrock(1.0)
    with pytest.raises(TypeError):
        F.Function()
    with pytest.raises((TypeError, ValueError)):
        F.sphere(np.array(["a", "b"]))


def test_nan_inf_and_empty():
    out = F.rosenbrock(np.array([[np.nan, 1.0], [1.0, np.inf]]))
    assert np.isnan(out[0]) and out[1] == np.inf
    assert F.sphere(np.zeros((3, 0))).shape == (0,)
    assert F.rosenbrock.hess(np.zeros((3, 0))).shape == (3, 3, 0)


def test_pickle_and_repr():
    f = pickle.loads(pickle.dumps(F.rosenbrock))
    assert f is F.rosenbrock
    assert pickle.loads(pickle.dumps(F.beale.grad)) is F.beale.grad
    assert "rosenbrock" in repr(F.rosenbrock)
    assert F.ackley.hess is None and F.goldstein_price.hess is None


# ---- property-based: any dimension, any batch shape ----
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra.numpy import arrays  # noqa: E402


@settings(max_examples=60, deadline=None)
@given(n=st.integers(2, 7), batch=st.lists(st.integers(0, 4), max_size=2),
       data=st.data())
def test_rosenbrock_any_shape_matches_scipy(n, batch, data):
    shape = (n, *batch)
    x = data.draw(arrays(np.float64, shape, elements=st.floats(-1e3, 1e3)))
    val = F.rosenbrock(x)
    assert val.shape == tuple(batch)
    np.testing.assert_allclose(val, rosen(x), rtol=1e-13, atol=1e-300)
    grad = F.rosenbrock.grad(x)
    assert grad.shape == shape
    flat = x.reshape(n, -1)
    for j in range(flat.shape[1]):
        np.testing.assert_allclose(grad.reshape(n, -1)[:, j], rosen_der(flat[:, j]), rtol=1e-12,
                                   atol=1e-9 * (1 + np.abs(flat[:, j]).max() ** 3))


@settings(max_examples=40, deadline=None)
@given(x=arrays(np.float64, st.integers(0, 20), elements=st.floats(-700, 700)))
def test_one_variable_functions_any_input(x):
    np.testing.assert_allclose(F.sin(x), np.sin(x), rtol=1e-15, atol=1e-300)
    np.testing.assert_allclose(F.gauss(x), np.exp(-x * x), rtol=1e-15, atol=1e-300)
    s = F.sigmoid(x)
    assert np.all((s >= 0) & (s <= 1))
    from scipy.special import expit
    np.testing.assert_allclose(s, expit(x), rtol=1e-14, atol=1e-300)


@pytest.mark.parametrize("name", sorted(F.ALL))
def test_a_point_gives_the_same_bits_wherever_it_sits_in_a_batch(name):
    """Threads, Dask blocks and multistart blocks cut a batch anywhere; the bits of f at a point
    must not depend on whether it fell in a loop's vector body or its scalar tail (FMA
    contraction in one and not the other broke this for rastrigin)."""
    rng = np.random.default_rng(3)
    base = F.ALL[name]
    for f in (base, base.grad, base.hess):
        if f is None:
            continue
        n = f.ndim or max(f.min_ndim, 3)
        X = rng.uniform(-2.0, 2.0, (n, 37))
        full = np.asarray(f(X))
        for k in (1, 5, 13, 36):
            assert np.array_equal(np.asarray(f(X[:, k:].copy())), full[..., k:]), (f, k)
        for j in (0, 17, 36):
            assert np.array_equal(np.asarray(f(X[:, j].copy())), full[..., j]), (f, j)
