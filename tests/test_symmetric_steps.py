"""Stencil points straddling a power of 2 stay exactly symmetric (fc_displace).

Above x = 1 the floating-point grid is twice as coarse as below it: rounding x + o and x - o each
on its own leaves a central difference an O(f'' ulp(x) / h) bias the rounding estimate does not
cover.  A derivative that is exactly 0 at x = 1 then came out near 1e-16 and "not converged"
after a 140-evaluation search.  References: the analytic derivatives, scipy.differentiate."""
import numpy as np
import pytest
import scipy.differentiate as sd

import fastcalc as fc


@pytest.mark.parametrize("x0", [1.0, 2.0, 0.5, -1.0, 4.0])
def test_zero_derivative_at_a_power_of_two_converges_in_the_first_pass(x0):
    f = lambda x: (x - x0) ** 2
    r = fc.derivative(f, x0, full_output=True)
    ref = sd.derivative(f, x0)
    assert r.status == 0 and ref.status == 0
    assert r.df == 0.0 and ref.df == 0.0
    assert r.nfev == 6                       # the checked first pass, no search


@pytest.mark.parametrize("step", [None, "fixed"])
def test_stencil_points_are_symmetric_about_the_base_point(step):
    pts = []

    def f(x):
        pts.append(float(x))
        return (x - 1.0) ** 2
    fc.derivative(f, 1.0, step=step, full_output=True)
    off = sorted(p - 1.0 for p in pts if p != 1.0)
    assert off, pts
    np.testing.assert_array_equal(np.array(off), -np.array(off[::-1]))


def test_gradient_and_hessian_points_are_symmetric_per_coordinate():
    pts = []

    def f(x):
        pts.append(np.array(x, copy=True))
        return float(np.sum((x - 1.0) ** 2) + x[0] * x[1])
    x0 = np.array([1.0, 2.0])
    for fn in (fc.gradient, fc.hessian):
        pts.clear()
        fn(f, x0, full_output=True)
        d = np.array(pts) - x0
        for i in range(2):
            off = np.unique(d[:, i])
            np.testing.assert_array_equal(np.sort(off), np.sort(-off))


def test_separable_hessian_at_powers_of_two_has_converged_zeros():
    # the off-diagonal entries are exactly 0; at x = (1, 2, 0.5, 4) every step straddles 2**k
    f = lambda x: np.sum(np.cos(x), axis=0)
    x0 = np.array([1.0, 2.0, 0.5, 4.0])
    r = fc.hessian(f, x0, vectorized=True, full_output=True)
    assert (r.status == 0).all(), r.status
    np.testing.assert_allclose(r.df, np.diag(-np.cos(x0)), rtol=1e-7, atol=1e-9)
    off = ~np.eye(4, dtype=bool)
    assert np.all(np.abs(r.df[off]) <= r.error[off])


def test_exact_steps_are_unchanged():
    # a step with x + h exact keeps its bits: step="fixed" results are those of x +- h
    h = 2.0 ** -10
    r = fc.derivative(lambda x: x ** 3, 1.0, step=h, accuracy=2, full_output=True)
    assert r.df == ((1 + h) ** 3 - (1 - h) ** 3) / (2 * h)
