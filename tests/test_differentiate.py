"""Tests of fastcalc's differentiation (issue 3) against analytic, SciPy and mpmath references."""
import math

import numpy as np
import pytest
from scipy.optimize import rosen, rosen_der, rosen_hess

from fastcalc import functions as F
from fastcalc._diff import _fd_gradient, fd_weights

RNG = np.random.default_rng(12345)


# ---------------------------------------------------------------------------------------------
# Stencil weights (Fornberg, cached)
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("deriv", range(1, 7))
@pytest.mark.parametrize("method", ["central", "forward", "backward"])
@pytest.mark.parametrize("accuracy", [2, 4, 6, 8])
def test_weights_exact_on_polynomials(deriv, method, accuracy):
    s, w = fd_weights(deriv, method, accuracy)
    # the stencil differentiates x**k exactly for k < deriv + accuracy (moment conditions)
    for k in range(deriv + accuracy):
        moment = math.fsum(w * s ** k)
        expected = math.factorial(deriv) if k == deriv else 0.0
        scale = math.fsum(np.abs(w * s ** k)) + 1.0
        assert abs(moment - expected) <= 1e-12 * scale


def test_weights_known_values():
    s, w = fd_weights(1, "central", 4)
    np.testing.assert_allclose(w, [1 / 12, -2 / 3, 0, 2 / 3, -1 / 12], atol=1e-15)
    s, w = fd_weights(2, "central", 2)
    np.testing.assert_allclose(w, [1, -2, 1], atol=1e-15)
    s, w = fd_weights(1, "forward", 2)
    np.testing.assert_allclose(s, [0, 1, 2])
    np.testing.assert_allclose(w, [-1.5, 2, -0.5], atol=1e-15)
    s, w = fd_weights(1, "backward", 2)
    np.testing.assert_allclose(w, [1.5, -2, 0.5], atol=1e-15)


def test_weights_bad_input():
    with pytest.raises(ValueError, match="accuracy"):
        fd_weights(1, "central", 3)
    with pytest.raises(ValueError, match="method"):
        fd_weights(1, "sideways", 2)
    with pytest.raises(ValueError, match="deriv"):
        fd_weights(7, "central", 2)


# ---------------------------------------------------------------------------------------------
# fd_gradient, the C entry other kernels cimport
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("method", ["central", "forward", "backward"])
@pytest.mark.parametrize("accuracy", [2, 4, 6, 8])
@pytest.mark.parametrize("kind", ["python", "vectorized", "builtin", "lowlevel"])
def test_fd_gradient_rosen(method, accuracy, kind):
    x = RNG.uniform(-2, 2, (6, 7))
    exact = rosen_der(x)
    f = {"python": rosen, "vectorized": rosen, "builtin": F.rosenbrock,
         "lowlevel": F.rosenbrock.lowlevel}[kind]
    g = _fd_gradient(f, x, method, accuracy, vectorized=(kind == "vectorized"))
    err = np.abs(g - exact) / np.maximum(1.0, np.abs(exact))
    tol = 1e-6 if (method != "central" and accuracy == 2) else 1e-7
    assert np.median(err) < tol / 10
    assert err.max() < tol


@pytest.mark.parametrize("method", ["forward", "backward", "central"])
def test_fd_gradient_f0_is_reused(method):
    x = RNG.uniform(-1, 1, (4, 3))
    calls = []

    def f(v):
        calls.append(1)
        return rosen(v)

    g = _fd_gradient(f, x, method, 2, f0=rosen(x))
    nstencil = {"central": 2, "forward": 2, "backward": 2}[method]
    assert len(calls) == 3 * 4 * nstencil          # the centre is never re-evaluated
    np.testing.assert_allclose(g, rosen_der(x), rtol=1e-6, atol=1e-6)


def test_fd_gradient_absolute_step():
    x = np.array([[0.3], [0.7]])
    h = np.array([1e-3, 2e-3])
    g = _fd_gradient(F.sphere, x, "forward", 2, step=h)
    # forward accuracy-2 differences are exact on quadratics
    np.testing.assert_allclose(g, 2 * x, rtol=1e-10)
    g = _fd_gradient(lambda v: v[0] ** 3 + v[1], x, "central", 2, step=h)
    np.testing.assert_allclose(g[:, 0], [3 * 0.09 + 1e-6, 1.0], rtol=1e-9)


def test_fd_gradient_one_batch_for_vectorized():
    x = RNG.uniform(-1, 1, (5, 40))
    calls = []

    def f(v):
        calls.append(v.shape)
        return rosen(v)

    g = _fd_gradient(f, x, "central", 4, vectorized=True)
    assert len(calls) == 1 and calls[0] == (5, 40 * 5 * 4)
    np.testing.assert_allclose(g, rosen_der(x), rtol=1e-8, atol=1e-8)


def test_fd_gradient_exception_propagates():
    class Boom(Exception):
        pass

    def f(v):
        if v[0] > 0.5:
            raise Boom("inside")
        return 0.0

    with pytest.raises(Boom, match="inside"):
        _fd_gradient(f, np.array([[0.5], [0.0]]), "central", 2)
    with pytest.raises(ValueError):
        _fd_gradient(lambda v: np.zeros(3), np.zeros((2, 1)), "central", 2)
