"""fastcalc.taylor_multivariate against sympy's exact derivatives, scipy.optimize.rosen_* and
closed forms."""
import math

import numpy as np
import pytest
import sympy
from scipy.optimize import rosen, rosen_der, rosen_hess

import fastcalc as fc

x_, y_, z_ = sympy.symbols("x y z")


def exact_coefficients(expr, syms, x0, exps):
    subs = dict(zip(syms, x0))
    out = []
    for a in exps:
        d = expr
        for s, k in zip(syms, a):
            if k:
                d = sympy.diff(d, s, int(k))
        out.append(float(d.subs(subs)) / math.prod(math.factorial(int(k)) for k in a))
    return np.array(out)


@pytest.mark.parametrize("vectorized", [False, True])
def test_coefficients_against_sympy(vectorized):
    expr = sympy.exp(x_) * sympy.sin(y_) + x_ * y_ ** 2
    f = sympy.lambdify([(x_, y_)], expr, "numpy")
    x0 = [0.3, -0.7]
    for degree, tol in ((2, 1e-8), (3, 1e-7), (4, 1e-6)):
        p = fc.taylor_multivariate(f, x0, degree, vectorized=vectorized)
        ex = exact_coefficients(expr, (x_, y_), x0, p.exponents)
        err = np.abs(p.coef - ex)
        assert np.all(err <= tol * np.maximum(1, np.abs(ex)))
        assert np.all(err <= p.error + 1e-12)          # the error estimates hold
    assert len(p.coef) == math.comb(2 + 4, 4)


def test_three_variables_degree_5_against_sympy():
    expr = sympy.cos(x_ + 2 * y_) * sympy.exp(z_ / 3)
    f = sympy.lambdify([(x_, y_, z_)], expr, "numpy")
    x0 = [0.1, 0.2, -0.3]
    p = fc.taylor_multivariate(f, x0, 5, vectorized=True)
    ex = exact_coefficients(expr, (x_, y_, z_), x0, p.exponents)
    assert np.max(np.abs(p.coef - ex)) < 1e-4
    assert np.all(np.abs(p.coef - ex) <= p.error + 1e-10)


def test_value_gradient_hessian_of_rosen():
    x0 = np.array([0.5, 1.2, -0.3, 0.8])
    p = fc.taylor_multivariate(rosen, x0, 2)
    assert p.value == pytest.approx(rosen(x0), rel=1e-15)
    np.testing.assert_allclose(p.gradient, rosen_der(x0), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(p.hessian, rosen_hess(x0), rtol=1e-8, atol=1e-8)
    pb = fc.taylor_multivariate(fc.functions.rosenbrock, x0, 2)      # built-in, in C
    np.testing.assert_allclose(pb.hessian, rosen_hess(x0), rtol=1e-8, atol=1e-8)
    # rosen is a quartic: its degree-4 Taylor polynomial is rosen itself
    p4 = fc.taylor_multivariate(rosen, x0, 4, vectorized=True)
    X = np.random.default_rng(3).uniform(-1, 1, size=(4, 7))
    np.testing.assert_allclose(p4(X), rosen(X), rtol=1e-6, atol=1e-6)


def test_polynomial_is_reproduced_and_batches_keep_shape():
    g = lambda x: x[0] ** 3 * x[1] - x[0] * x[1] * x[2] + 2 * x[2] ** 2
    p = fc.taylor_multivariate(g, [1.0, 2.0, -1.0], 4, vectorized=True)
    assert p.terms(4)[(3, 1, 0)] == pytest.approx(1.0, rel=1e-6)
    assert p.terms(3)[(1, 1, 1)] == pytest.approx(-1.0, rel=1e-7)
    X = np.random.default_rng(0).normal(size=(3, 4, 5))
    out = p(X)
    assert out.shape == (4, 5)
    np.testing.assert_allclose(out, g(X), rtol=1e-5, atol=1e-5)
    assert isinstance(p([0.5, 0.5, 0.5]), float)


def test_higher_degree_improves_and_remainder_estimates_the_error():
    f = lambda x: np.exp(x[0] + 2 * x[1])
    x0 = np.array([0.1, -0.1])
    x = np.array([0.3, 0.05])
    prev = math.inf
    for d in range(0, 6):
        p = fc.taylor_multivariate(f, x0, d, vectorized=True)
        true = abs(p(x) - f(x))
        assert true < prev                       # each degree is better
        prev = true
        if d >= 3:     # derivatives of order >= 4 by differences miss rtol=sqrt(eps): said
            with pytest.warns(fc.DifferentiationWarning, match="did not reach"):
                rem = p.remainder(x)
        else:
            rem = p.remainder(x)
        # exact Lagrange bound: max over the segment of |g^(d+1)| / (d+1)!, g^(d+1) = 0.5^(d+1) e^..
        exact_bound = 0.5 ** (d + 1) * f(x) / math.factorial(d + 1)
        assert rem == pytest.approx(exact_bound, rel=1e-3)
        assert true <= rem * 1.001
    pts = np.stack([x, x0 + 0.01])
    with pytest.warns(fc.DifferentiationWarning, match="did not reach"):
        r = p.remainder(pts.T)
    assert r.shape == (2,) and r[1] < r[0]


def test_degree_zero_and_one():
    f = lambda x: math.sin(x[0]) + x[1] ** 2
    p0 = fc.taylor_multivariate(f, [1.0, 2.0], 0)
    assert p0([5.0, 5.0]) == pytest.approx(math.sin(1) + 4)
    p1 = fc.taylor_multivariate(f, [1.0, 2.0], 1)
    np.testing.assert_allclose(p1.gradient, [math.cos(1), 4.0], rtol=1e-9)
    with pytest.raises(AttributeError, match="Hessian"):
        p1.hessian


def test_bad_input():
    f = lambda x: x[0] * x[1]
    with pytest.raises(TypeError, match="f"):
        fc.taylor_multivariate(1.0, [0, 0], 2)
    with pytest.raises(ValueError, match="x0"):
        fc.taylor_multivariate(f, [0, np.nan], 2)
    with pytest.raises(ValueError, match="x0"):
        fc.taylor_multivariate(f, [[0, 0]], 2)
    with pytest.raises(ValueError, match="degree"):
        fc.taylor_multivariate(f, [0, 0], 7)
    with pytest.raises(TypeError, match="degree"):
        fc.taylor_multivariate(f, [0, 0], 2.5)
    with pytest.raises(ValueError, match="accuracy"):
        fc.taylor_multivariate(f, [0, 0], 3, accuracy=3)
    with pytest.raises(ValueError, match="step"):
        fc.taylor_multivariate(f, [0, 0], 3, step=-1.0)
    with pytest.raises(ValueError, match="terms"):
        fc.taylor_multivariate(f, np.zeros(40), 6)
    p = fc.taylor_multivariate(f, [0, 0], 2)
    with pytest.raises(ValueError, match="x"):
        p([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="degree"):
        fc.taylor_multivariate(f, [0, 0], 6).remainder([1.0, 1.0])


def test_user_exception_propagates():
    class Boom(Exception):
        pass

    def f(x):
        raise Boom("taylor")
    with pytest.raises(Boom):
        fc.taylor_multivariate(f, [0.0, 0.0], 3)


def test_remainder_is_not_fooled_by_a_kink_on_the_segment():
    f = lambda x: abs(x[0] - 0.4) + x[1]           # kink at x0 = 0.4, between the samples
    p = fc.taylor_multivariate(f, [0.0, 0.0], 1)
    x = np.array([1.0, 0.0])
    true = abs(f(x) - p(x))                         # 0.6 - (0.4 - 1) = 1.2
    assert true == pytest.approx(1.2, rel=1e-6)
    assert p.remainder(x) >= true


def test_taylor_dispatches_to_the_multivariate_polynomial():
    """fc.taylor of f: R^n -> R at a vector x0 is the multivariate polynomial (analytic terms)."""
    from fastcalc import functions as F
    from scipy.optimize import rosen_der, rosen_hess
    p = fc.taylor(lambda x: np.exp(x[0]) * np.sin(x[1]), [0.0, 0.0], 2)
    assert isinstance(p, fc.MultivariateTaylor)
    np.testing.assert_allclose(p.gradient, [0.0, 1.0], atol=1e-9)
    np.testing.assert_allclose(p.hessian, [[0.0, 1.0], [1.0, 0.0]], atol=1e-6)
    x0 = np.array([0.3, -0.7, 1.1])
    q = fc.taylor(F.rosenbrock, x0, 2)                    # a built-in of several variables
    np.testing.assert_allclose(q.gradient, rosen_der(x0), rtol=1e-8)
    np.testing.assert_allclose(q.hessian, rosen_hess(x0), rtol=1e-6, atol=1e-6)
    # a one-variable f at several expansion points keeps the one-variable meaning
    r = fc.taylor(np.exp, [0.0, 1.0], 3)
    assert isinstance(r, fc.TaylorPolynomial)
    np.testing.assert_allclose(np.asarray(r)[:, 1], np.e / np.array([1, 1, 2, 6]), rtol=1e-7)
    import math
    assert isinstance(fc.taylor(math.sin, [0.0, 1.0], 2), fc.TaylorPolynomial)
    # forced either way
    s = fc.taylor(lambda x: np.sum(x ** 2), [1.0, 2.0], 2, multivariate=True)
    np.testing.assert_allclose(s.hessian, 2 * np.eye(2), atol=1e-6)
