"""SciPy parity of the differentiation family (issue 10): check_grad, approx_fprime, hessian of
vectorized functions returning (1, M), float32 results, messages.  References: SciPy itself."""
import numpy as np
import pytest
import scipy.differentiate as sd
import scipy.optimize as so
from scipy.optimize import rosen, rosen_der, rosen_hess

import fastcalc as fc


def test_check_grad_absolute_by_default_like_scipy():
    x = np.ones(10)
    ours = fc.check_grad(rosen, rosen_der, x)
    ref = so.check_grad(rosen, rosen_der, x)
    assert ours < 1e-6 and ref < 1e-3                  # absolute norms (SciPy: 2.2e-5-ish)
    bad = lambda z: rosen_der(z) + 1e-3
    assert abs(fc.check_grad(rosen, bad, x) - np.sqrt(10) * 1e-3) < 1e-6
    assert abs(fc.check_grad(rosen, bad, x, epsilon=1.4901161193847656e-08)
               - so.check_grad(rosen, bad, x)) < 1e-8    # SciPy's own stencil when epsilon given
    # relative to ||fd|| = 0 at the minimum: a relative tolerance cannot be met, and it says so
    with pytest.warns(fc.DifferentiationWarning, match="did not reach"):
        rel = fc.check_grad(rosen, bad, x, relative=True)
    assert rel > 1e3                                    # ||fd|| = 0 at the minimum: it blows up


def test_check_grad_shape_one_and_jacobian():
    expit = lambda x: 1 / (1 + np.exp(-x))
    der = lambda x: np.exp(-x) / (1 + np.exp(-x)) ** 2
    assert fc.check_grad(expit, der, np.array([1.5])) < 1e-7
    assert fc.check_grad(expit, der, np.array([1.5]), epsilon=1e-1) > 1e-7
    F = lambda x: np.array([x[0] ** 2 * x[1], np.sin(x[1])])
    J = lambda x: np.array([[2 * x[0] * x[1], x[0] ** 2], [0.0, np.cos(x[1])]])
    x0 = np.array([0.7, 1.3])
    assert fc.check_grad(F, J, x0) < 1e-8
    assert fc.check_grad(F, J, x0, jacobian=True) < 1e-8
    assert fc.check_grad(F, lambda x: J(x) * 1.1, x0) > 1e-2
    with pytest.raises(ValueError, match="random"):
        fc.check_grad(F, J, x0, direction="random")
    with pytest.raises(ValueError, match="direction"):
        fc.check_grad(rosen, rosen_der, x0, direction="random_projection")
    with pytest.raises(TypeError, match="grad"):
        fc.check_grad(rosen, None, x0)
    with pytest.raises(ValueError, match="grad returned shape"):
        fc.check_grad(rosen, lambda x: np.ones(3), x0)


def test_approx_fprime_vector_float32_and_signature():
    x0 = np.array([0.5, -1.2, 2.0])
    F = lambda x: np.array([x @ x, np.prod(x)])
    np.testing.assert_allclose(fc.approx_fprime(x0, F), so.approx_fprime(x0, F), rtol=1e-6)
    np.testing.assert_allclose(fc.approx_fprime(x0, rosen, 1e-6), so.approx_fprime(x0, rosen, 1e-6),
                               rtol=1e-8)
    np.testing.assert_allclose(fc.approx_fprime(x0, lambda x, a: a * x @ x, 1e-7, 3.0),
                               so.approx_fprime(x0, lambda x, a: a * x @ x, 1e-7, 3.0), rtol=1e-7)
    x32 = x0.astype(np.float32)
    g = fc.approx_fprime(x32, rosen)
    ref = so.approx_fprime(x32, rosen)
    assert g.shape == ref.shape
    np.testing.assert_allclose(g, rosen_der(x0), rtol=2e-2)
    with pytest.raises(ValueError, match="xk"):
        fc.approx_fprime(np.ones((2, 2)), rosen)
    with pytest.raises(TypeError, match="xk"):
        fc.approx_fprime("abc", rosen)


def test_hessian_of_vectorized_scalar_returning_1_by_m():
    f = lambda x: rosen(x)[None, ...]              # (1, M), accepted by scipy.differentiate
    x = np.array([0.3, 0.8, -0.4])
    ref = sd.hessian(lambda z: rosen(z), x).ddf
    np.testing.assert_allclose(fc.hessian(f, x, vectorized=True), ref, rtol=1e-7, atol=1e-6)
    np.testing.assert_allclose(fc.laplacian(f, x, vectorized=True), np.trace(rosen_hess(x)),
                               rtol=1e-8)


def test_float32_like_scipy_differentiate():
    x = np.array([0.3, 0.9], dtype=np.float32)
    ref = sd.derivative(np.sin, x)
    ours = fc.derivative(np.sin, x, vectorized=True, full_output=True)
    assert ours.df.dtype == ref.df.dtype == np.float32
    np.testing.assert_allclose(ours.df, ref.df, rtol=1e-6)
    assert fc.jacobian(lambda z: z ** 2, x, vectorized=True).dtype == np.float32
    assert fc.hessian(lambda z: (z ** 2).sum(axis=0), x, vectorized=True).dtype == np.float32


def test_derivative_of_several_variables_says_so():
    with pytest.raises((TypeError, IndexError)) as ei:
        fc.derivative(lambda v: v[0] + v[1], 1.0)
    notes = " ".join(getattr(ei.value, "__notes__", []))
    assert "gradient" in notes and "subscriptable" in str(ei.value)
