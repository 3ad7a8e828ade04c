"""fastcalc.expectation against closed forms and scipy.stats (.expect, moments, pdf)."""
import math
import warnings

import numpy as np
import pytest
import scipy.special as sp
import scipy.stats as st

import fastcalc as fc
from fastcalc.integrate import IntegrationWarning


def honest(res, exact, rtol=1e-10, atol=1e-12):
    """A result that claims success is within its error estimate (or the tolerance)."""
    if res.success:
        assert abs(res.value - exact) <= max(res.error, atol, rtol * abs(exact)) * 1.0001 + 1e-15


@pytest.mark.parametrize("vectorized", [False, True])
def test_normal_moments_by_hermite(vectorized):
    res = fc.expect(lambda x: x ** 2, st.norm(1.0, 2.0), vectorized=vectorized, full_output=True)
    assert res.method == "gauss-hermite" and res.success
    assert res.value == pytest.approx(5.0, rel=1e-13)
    d = st.norm(-0.5, 0.3)
    for k in (3, 4, 5):
        assert fc.expect(lambda x, k=k: x ** k, d) == pytest.approx(d.moment(k), rel=1e-12)


def test_abs_under_normal_is_accurate_kink_at_zero():
    res = fc.expect(abs, st.norm(), full_output=True)
    assert res.success
    assert res.value == pytest.approx(math.sqrt(2 / math.pi), rel=1e-11)
    honest(res, math.sqrt(2 / math.pi))


@pytest.mark.parametrize("c", [0.3, -1.7, 2.5])
def test_offcentre_kink_and_jump(c):
    exact = 2 * st.norm.pdf(c) + c * (2 * st.norm.cdf(c) - 1)
    res = fc.expect(lambda x: abs(x - c), st.norm(), full_output=True)
    assert res.value == pytest.approx(exact, rel=1e-10)
    honest(res, exact)
    jump = fc.expect(lambda x: float(x > c), st.norm(), full_output=True)
    assert jump.value == pytest.approx(st.norm.sf(c), rel=1e-9, abs=1e-12)
    honest(jump, st.norm.sf(c))


def test_oscillation_is_right_or_flagged():
    # E cos(w X) = exp(-w^2 / 2) for X ~ N(0, 1)
    for w in (5.0, 40.0):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", IntegrationWarning)
            res = fc.expect(lambda x, w=w: np.cos(w * x), st.norm(), vectorized=True,
                            full_output=True)
        honest(res, math.exp(-w * w / 2))


def test_gamma_family_against_closed_forms_and_scipy():
    for a in (0.5, 2.5, 17.0):
        d = st.gamma(a, scale=1.7)
        for k in (1, 2, 3):
            exact = 1.7 ** k * math.exp(sp.gammaln(a + k) - sp.gammaln(a))
            res = fc.expect(lambda x, k=k: x ** k, d, full_output=True)
            assert res.method == "gauss-laguerre" and res.success
            assert res.value == pytest.approx(exact, rel=1e-12)
    d = st.gamma(2.5)
    assert fc.expect(np.log1p, d) == pytest.approx(d.expect(np.log1p, epsabs=1e-13,
                                                            epsrel=1e-13), rel=1e-11)
    assert fc.expect(lambda x: x, st.chi2(3.0)) == pytest.approx(3.0, rel=1e-13)
    assert fc.expect(lambda x: x ** 2, st.expon(scale=2.0)) == pytest.approx(8.0, rel=1e-13)
    # a kink of sqrt at 0 (gamma(2.5) weight x^1.5 makes it mild): E sqrt(X) = G(3)/G(2.5)
    res = fc.expect(np.sqrt, st.expon(), full_output=True)
    assert res.value == pytest.approx(math.gamma(1.5), rel=1e-10)
    honest(res, math.gamma(1.5))


def test_beta_uniform_lognormal():
    d = st.beta(2.0, 3.5)
    for k in (1, 2, 4):
        assert fc.expect(lambda x, k=k: x ** k, d) == pytest.approx(d.moment(k), rel=1e-12)
    assert fc.expect(np.exp, st.uniform(1.0, 2.0)) == pytest.approx((math.exp(3) - math.e) / 2,
                                                                     rel=1e-13)
    d = st.lognorm(0.4, scale=2.0)
    assert fc.expect(lambda x: x, d) == pytest.approx(d.mean(), rel=1e-12)


def test_other_continuous_by_adaptive_quadrature():
    for d, f in ((st.t(5), lambda x: x ** 2), (st.cauchy(), lambda x: np.exp(-x ** 2)),
                 (st.weibull_min(1.5), np.sqrt), (st.laplace(0.3), np.abs)):
        res = fc.expect(f, d, full_output=True)
        ref = d.expect(f, epsabs=1e-13, epsrel=1e-12)
        assert res.method == "adaptive" and res.success
        assert res.value == pytest.approx(ref, rel=1e-9)


def test_tiny_and_huge_scales():
    assert fc.expect(lambda x: x ** 2, st.norm(1e6, 1e-3)) == pytest.approx(1e12 + 1e-6,
                                                                           rel=1e-14)
    assert fc.expect(lambda x: x, st.gamma(2.5, scale=1e-8)) == pytest.approx(2.5e-8, rel=1e-12)
    assert fc.expect(lambda x: x ** 2, st.norm(0, 1e5)) == pytest.approx(1e10, rel=1e-12)


def test_bounds_and_conditional_against_scipy():
    d = st.norm(0.5, 1.2)
    for cond in (False, True):
        got = fc.expect(lambda x: x ** 2, d, lb=-1.0, ub=2.0, conditional=cond)
        assert got == pytest.approx(d.expect(lambda x: x ** 2, lb=-1.0, ub=2.0,
                                             conditional=cond), rel=1e-9)
    p = st.poisson(4.0)
    got = fc.expect(lambda k: k, p, lb=2, ub=6, conditional=True)
    assert got == pytest.approx(p.expect(lambda k: k, lb=2, ub=6, conditional=True), rel=1e-12)


def test_discrete_sums():
    assert fc.expect(lambda k: k ** 2, st.poisson(3.0)) == pytest.approx(12.0, rel=1e-13)
    assert fc.expect(lambda k: k, st.binom(10, 0.3)) == pytest.approx(3.0, rel=1e-13)
    assert fc.expect(lambda k: k, st.geom(0.2)) == pytest.approx(5.0, rel=1e-12)
    d = st.nbinom(5, 0.4)
    assert fc.expect(lambda k: k ** 2, d, vectorized=True) == pytest.approx(
        d.var() + d.mean() ** 2, rel=1e-12)
    d = st.dlaplace(0.8)              # support on all integers
    assert fc.expect(lambda k: k ** 2, d) == pytest.approx(d.var(), rel=1e-12)


def test_discrete_divergent_sum_is_flagged():
    with pytest.warns(IntegrationWarning):
        res = fc.expect(lambda k: 2.0 ** k, st.geom(0.5), maxterms=500, full_output=True)
    assert not res.success


def test_multivariate_normal():
    cov = np.array([[2.0, 0.5, 0.1], [0.5, 1.0, -0.2], [0.1, -0.2, 0.7]])
    mean = np.array([1.0, -2.0, 0.5])
    a = np.array([0.3, -0.2, 0.5])
    exact = math.exp(a @ mean + 0.5 * a @ cov @ a)
    res = fc.expect_mvn(lambda x: np.exp(a @ x), mean, cov, vectorized=True, full_output=True)
    assert res.success and res.value == pytest.approx(exact, rel=1e-12)
    assert fc.expect(lambda x: x[0] * x[1], st.multivariate_normal(mean[:2], cov[:2, :2]),
                     vectorized=True) == pytest.approx(0.5 + mean[0] * mean[1], rel=1e-12)
    # singular covariance (x1 = x0)
    sing = np.array([[1.0, 1.0], [1.0, 1.0]])
    assert fc.expect_mvn(lambda x: (x[0] - x[1]) ** 2 + x[0] ** 2, [0, 0],
                         sing) == pytest.approx(1.0, rel=1e-12)


def test_multivariate_normal_sparse_grid_in_six_dimensions():
    rng = np.random.default_rng(6)
    B = rng.normal(size=(6, 6)) * 0.3
    cov = B @ B.T + 0.5 * np.eye(6)
    mean = rng.normal(size=6)
    a = rng.normal(size=6) * 0.3
    exact = math.exp(a @ mean + 0.5 * a @ cov @ a)
    res = fc.expect_mvn(lambda x: np.exp(a @ x), mean, cov, vectorized=True, rtol=1e-9,
                        full_output=True)
    assert res.method == "sparse-gauss-hermite" and res.success
    assert res.nfev < 6 ** 8                    # far fewer points than a tensor grid
    honest(res, exact, rtol=1e-9)
    second = fc.expect_mvn(lambda x: x[0] * x[3] + x[2] ** 2, mean, cov, vectorized=True)
    assert second == pytest.approx(cov[0, 3] + mean[0] * mean[3] + cov[2, 2] + mean[2] ** 2,
                                   rel=1e-12)
    with pytest.warns(IntegrationWarning):     # a budget too small for the tolerance
        res = fc.expect_mvn(lambda x: np.exp(a @ x), mean, cov, vectorized=True, rtol=1e-12,
                            max_points=2000, full_output=True)
    assert not res.success


def test_multivariate_kink_warns_within_budget():
    with pytest.warns(IntegrationWarning):
        res = fc.expect_mvn(lambda x: np.abs(x[0]) + np.abs(x[1]), [0, 0], np.eye(2),
                            vectorized=True, max_points=5000, full_output=True)
    assert not res.success
    assert res.value == pytest.approx(2 * math.sqrt(2 / math.pi), rel=1e-2)


def test_normalize():
    Z, p = fc.normalize(lambda x: np.exp(-x ** 2 / 2), -np.inf, np.inf)
    assert Z == pytest.approx(math.sqrt(2 * math.pi), rel=1e-12)
    assert p(0.7) == pytest.approx(st.norm.pdf(0.7), rel=1e-12)
    Z, p = fc.normalize(lambda x, a: x ** (a - 1) * np.exp(-x), 0, np.inf, args=(3.5,))
    assert Z == pytest.approx(math.gamma(3.5), rel=1e-11)
    assert p(2.0) == pytest.approx(st.gamma(3.5).pdf(2.0), rel=1e-11)
    assert p.Z == Z and p.error >= 0


def test_marginal():
    rho = 0.6
    pdf2 = lambda x, y: st.multivariate_normal([0, 0], [[1, rho], [rho, 1]]).pdf(
        np.stack([x, y], axis=-1))
    x = np.array([[-1.0, 0.0], [0.5, 2.0]])
    m = fc.marginal(pdf2, x, (-np.inf, np.inf), vectorized=True)
    np.testing.assert_allclose(m, st.norm.pdf(x), rtol=1e-9)
    assert m.shape == (2, 2)
    # uniform on the triangle 0 < y < x < 1: p = 2, marginal 2x; non-vectorized pdf
    tri, err = fc.marginal(lambda x, y: 2.0, np.array([0.25, 0.5, 1.0]),
                           lambda x: (np.zeros_like(x), x), full_output=True)
    np.testing.assert_allclose(tri, [0.5, 1.0, 2.0], rtol=1e-13)
    assert np.all(err >= 0)
    assert isinstance(fc.marginal(lambda x, y: 2.0, 0.5, (0, 0.5)), float)


def test_bad_input():
    with pytest.raises(TypeError, match="frozen"):
        fc.expect(abs, st.norm)
    with pytest.raises(TypeError, match="accepted"):
        fc.expect(abs, "norm")
    with pytest.raises(TypeError, match="accepted"):
        fc.expect(abs, st.dirichlet([1.0, 2.0]))
    with pytest.raises(TypeError, match="f"):
        fc.expect(3, st.norm())
    with pytest.raises(ValueError, match="rtol"):
        fc.expect(abs, st.norm(), rtol=-1)
    with pytest.raises(ValueError, match="lb"):
        fc.expect(abs, st.norm(), lb=np.nan)
    with pytest.raises(ValueError, match="probability 0"):
        fc.expect(abs, st.uniform(), lb=0.5, ub=0.5, conditional=True)
    with pytest.raises(ValueError, match="cov"):
        fc.expect_mvn(abs, [0, 0], np.eye(3))
    with pytest.raises(ValueError, match="semi-definite"):
        fc.expect_mvn(abs, [0, 0], -np.eye(2))
    with pytest.raises(ValueError, match="max_points"):
        fc.expect_mvn(abs, np.zeros(6), np.eye(6), max_points=100, method="tensor")
    with pytest.raises(ValueError, match="max_points"):
        fc.expect_mvn(abs, np.zeros(6), np.eye(6), max_points=5, method="sparse")
    with pytest.raises(ValueError, match="method"):
        fc.expect_mvn(abs, np.zeros(2), np.eye(2), method="qmc")
    with pytest.raises(ValueError, match="mean"):
        fc.expect_mvn(abs, [[0, 0]], np.eye(2))
    with pytest.raises(ValueError, match="positive"):
        fc.normalize(lambda x: -1.0, 0, 1)
    with pytest.raises(ValueError, match="a must be < b"):
        fc.normalize(lambda x: 1.0, 1, 0)
    with pytest.raises(ValueError, match="a "):
        fc.normalize(lambda x: 1.0, np.nan, 0)
    with pytest.raises(TypeError, match="y_range"):
        fc.marginal(lambda x, y: 1.0, [0.0], 3.0)
    with pytest.raises(ValueError, match="x"):
        fc.marginal(lambda x, y: 1.0, [np.nan], (0, 1))


def test_user_exception_propagates_and_nan_is_reported():
    class Boom(Exception):
        pass

    def bad(x):
        raise Boom("in f")
    with pytest.raises(Boom, match="in f"):
        fc.expect(bad, st.gamma(2.0))
    with pytest.raises(Boom):
        fc.expect(bad, st.poisson(2.0))
    with pytest.warns(IntegrationWarning):
        res = fc.expect(lambda x: math.nan, st.norm(), full_output=True)
    assert not res.success


def test_narrow_peak_missed_everywhere_is_not_reported_as_converged():
    # a bump of width 0.01 at x = 3: f is exactly 0 at every Gaussian node of the ladder and at
    # the first Kronrod nodes; either the adaptive stage finds it (and is then right) or the
    # result says it is not converged
    f = lambda x: 1e3 * np.exp(-(x - 3.0) ** 2 / 1e-4 * 1e2)
    exact = 1e3 * math.sqrt(math.pi / (1e6 + 0.5)) * math.exp(-1e6 * 0.5 * 9 / (1e6 + 0.5)) \
        / math.sqrt(2 * math.pi)          # a product of Gaussians (mpmath: 0.0078552624948699496)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", IntegrationWarning)
        res = fc.expect(f, st.norm(), vectorized=True, full_output=True)
    if res.success:
        # (+ 1e-12 relative: the map of [0, inf) rounds x to an ulp, and f's condition number
        # |x f'/f| reaches 4e3 on the peak, so its values carry ~1e-12 relative noise there)
        assert not caught and abs(res.value - exact) <= res.error + 1e-12 * exact
    else:
        assert caught


def test_heavy_tailed_discrete_sum_is_honest():
    d = st.zipf(3.5)                 # E K = zeta(2.5) / zeta(3.5), terms ~ k^-2.5
    exact = float(sp.zeta(2.5) / sp.zeta(3.5))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IntegrationWarning)
        res = fc.expect(lambda k: k, d, vectorized=True, full_output=True, rtol=1e-6)
    honest(res, exact, rtol=1e-6)
    assert res.value == pytest.approx(exact, rel=1e-5)


def test_keyword_parameters_and_compiled_f():
    assert fc.expect(lambda x: x, st.gamma(a=2.5, scale=2.0, loc=1.0)) == pytest.approx(
        1 + 5.0, rel=1e-13)
    assert fc.expect(lambda x: x ** 2, st.norm(loc=1.0, scale=2.0)) == pytest.approx(5.0,
                                                                                    rel=1e-13)
    assert fc.expect(lambda x: x, st.beta(a=2.0, b=3.0, scale=4.0)) == pytest.approx(1.6,
                                                                                    rel=1e-13)
    # built-in exp(-x^2) in C: E exp(-X^2) = 1 / sqrt(3) for X ~ N(0, 1)
    res = fc.expect(fc.functions.gauss.lowlevel, st.norm(), full_output=True)
    assert res.success and res.value == pytest.approx(1 / math.sqrt(3), rel=1e-12)


def test_example_script_runs(capsys):
    import pathlib
    import runpy
    path = pathlib.Path(__file__).resolve().parents[1] / "examples" / "expectations.py"
    if not path.exists():
        pytest.skip("examples/ is not beside the tests")
    runpy.run_path(str(path), run_name="__main__")
    assert "gauss-laguerre" in capsys.readouterr().out


@pytest.mark.parametrize("a,c", [(0.3, 1.0), (0.6, 1.0), (4.0, 0.2), (1.5, 3.0)])
def test_kinks_under_gamma_against_incomplete_gamma(a, c):
    # E|X - c| = a - c + 2 (c P(a, c) - a P(a + 1, c)); singular pdf for a < 1, thin-tail kink
    # for a = 4, c = 0.2 (two Gauss-Laguerre rules without a node below 0.2 agree exactly)
    exact = a - c + 2 * (c * sp.gammainc(a, c) - a * sp.gammainc(a + 1, c))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IntegrationWarning)
        res = fc.expect(lambda x: abs(x - c), st.gamma(a), full_output=True)
    honest(res, exact)
    assert res.value == pytest.approx(exact, rel=1e-9)


@pytest.mark.parametrize("a,b,c", [(0.5, 0.5, 0.3), (0.3, 2.0, 0.8), (3.0, 4.0, 0.1)])
def test_kinks_under_beta_against_incomplete_beta(a, b, c):
    m = a / (a + b)
    exact = m - c + 2 * (c * sp.betainc(a, b, c) - m * sp.betainc(a + 1, b, c))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IntegrationWarning)
        res = fc.expect(lambda x: abs(x - c), st.beta(a, b), full_output=True)
    honest(res, exact)
    assert res.value == pytest.approx(exact, rel=1e-9)
