"""Tests of fastcalc's quasi-Newton / CG methods, bounds, maximize, stochastic gradients and critical
points, against SciPy, the Moré-Garbow-Hillstrom problems' published minima, and analytic answers."""
import warnings

import numpy as np
import pytest
import scipy.optimize as so

import fastcalc as fc
from fastcalc.functions import himmelblau, rosenbrock, sphere

from mgh import PROBLEMS, problem


# ---------------------------------------------------------------------------------------------
# Moré-Garbow-Hillstrom: what SciPy solves, fastcalc solves, with at most 1.5x the evaluations
# ---------------------------------------------------------------------------------------------

def _reference_minimum(name, f, g, x_scipy, fstar):
    """f* refined by a tight SciPy run from SciPy's answer; None when it is not the published
    minimum (a different local minimum)."""
    if fstar == 0.0:
        return 0.0
    r = so.minimize(f, x_scipy, jac=g, method="BFGS", options={"gtol": 1e-12})
    fr = min(r.fun, f(x_scipy))
    return fr if abs(fr - fstar) <= 1e-5 * abs(fstar) else None


def _solved(fval, fref):
    return fref is not None and abs(fval - fref) <= 1e-8 * max(1.0, abs(fref))


@pytest.mark.parametrize("scipy_method,method", [("BFGS", "bfgs"), ("L-BFGS-B", "l-bfgs")])
def test_more_garbow_hillstrom(scipy_method, method):
    ratios, solved = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for name in PROBLEMS:
            f, g, x0, fstar = problem(name)
            rs = so.minimize(f, x0, jac=g, method=scipy_method)
            fref = _reference_minimum(name, f, g, rs.x, fstar)
            if not _solved(rs.fun, fref):
                continue
            rf = fc.minimize(f, x0, jac=g, method=method)
            solved.append(name)
            assert _solved(rf.fun, fref), (name, rf.fun, fref, rf.message)
            assert rf.nfev == rf.njev
            ratios.append(rf.nfev / rs.nfev)
    assert len(solved) >= 12, solved
    assert np.median(ratios) <= 1.5, dict(zip(solved, np.round(ratios, 2)))


def test_mgh_residual_gradients_are_right():
    # the complex-step gradients of the test problems against SciPy's finite differences
    for name in ("rosenbrock", "helical_valley", "bard", "watson", "penalty2", "trigonometric"):
        f, g, x0, _ = problem(name)
        x = x0 + 0.1
        assert so.check_grad(f, g, x) <= 1e-5 * max(1.0, np.abs(g(x)).max()), name


# ---------------------------------------------------------------------------------------------
# a SciPy call switched to fastcalc behaves the same
# ---------------------------------------------------------------------------------------------

def test_default_is_bfgs_like_scipy():
    f = lambda x: np.sum(x ** 2)
    ref = so.minimize(f, np.ones(3))
    res = fc.minimize(f, np.ones(3))
    assert res.success and res.nit <= ref.nit + 1
    np.testing.assert_allclose(res.x, 0.0, atol=1e-6)
    assert res.hess_inv.shape == (3, 3)
    np.testing.assert_allclose(res.hess_inv, np.eye(3) / 2, atol=1e-6)   # the exact H^-1
    for key in ("x", "fun", "jac", "hess_inv", "nit", "nfev", "njev", "status", "success",
                "message"):
        assert key in res


def test_gaussian_maximum_likelihood_converges():
    # the example: the old default (gd, lr 0.01) diverged to mu = 212
    data = np.random.default_rng(0).normal(3.0, 2.0, 500)

    def nll(p):
        mu, log_s = p
        return np.sum(0.5 * ((data - mu) / np.exp(log_s)) ** 2 + log_s)
    res = fc.minimize(nll, [0.0, 0.0])
    ref = so.minimize(nll, [0.0, 0.0])
    assert res.success
    np.testing.assert_allclose(res.x, [data.mean(), np.log(data.std())], atol=1e-5)
    np.testing.assert_allclose(res.fun, ref.fun, rtol=1e-10)


@pytest.mark.parametrize("method,opts", [("cg", {}), ("cg", {"beta": "fr"}), ("newton-cg", {}),
                                         ("bfgs", {}), ("l-bfgs", {"maxcor": 3, "ftol": 0.0})])
@pytest.mark.parametrize("kind", ["builtin", "python"])
def test_methods_solve_rosenbrock(method, opts, kind):
    x0 = np.array([-1.2, 1.0, -1.2, 1.0])
    if kind == "builtin":
        res = fc.minimize(rosenbrock, x0, jac=rosenbrock.grad, method=method,
                          options=dict(opts, maxiter=20000))
    else:
        res = fc.minimize(so.rosen, x0, jac=so.rosen_der, method=method,
                          options=dict(opts, maxiter=20000))
    assert res.success, res.message
    np.testing.assert_allclose(res.x, 1.0, atol=1e-4)
    assert res.fun < 1e-8


def test_newton_cg_with_hessian_counts_nhev():
    res = fc.minimize(so.rosen, [-1.2, 1.0], jac=so.rosen_der, hess=so.rosen_hess,
                      method="Newton-CG")
    ref = so.minimize(so.rosen, [-1.2, 1.0], jac=so.rosen_der, hess=so.rosen_hess,
                      method="Newton-CG")
    assert res.success and res.nhev > 0
    np.testing.assert_allclose(res.x, 1.0, atol=1e-6)
    np.testing.assert_allclose(ref.x, 1.0, atol=1e-4)
    assert res.nfev <= 2 * ref.nfev


def test_jac_none_and_jac_true():
    res = fc.minimize(so.rosen, [-1.2, 1.0])                      # central differences in C
    np.testing.assert_allclose(res.x, 1.0, atol=1e-5)
    res = fc.minimize(lambda x: (so.rosen(x), so.rosen_der(x)), [-1.2, 1.0], jac=True)
    np.testing.assert_allclose(res.x, 1.0, atol=1e-5)


@pytest.mark.parametrize("method", ["gd", "newton"])
def test_wolfe_line_search_for_first_order_and_newton(method):
    res = fc.minimize(rosenbrock, [-1.2, 1.0], jac=rosenbrock.grad, method=method,
                      options={"line_search": "wolfe", "maxiter": 50000, "lr": 1.0})
    assert res.success, res.message
    np.testing.assert_allclose(res.x, 1.0, atol=1e-4)


def test_callback_return_all_and_stop():
    seen = []
    res = fc.minimize(so.rosen, [-1.2, 1.0], jac=so.rosen_der,
                      callback=lambda intermediate_result: seen.append(intermediate_result.fun),
                      options={"return_all": True})
    assert len(seen) == res.nit and len(res.allvecs) == res.nit + 1
    np.testing.assert_allclose(seen, [so.rosen(x) for x in res.allvecs[1:]], rtol=1e-12)

    def stop(xk):
        raise StopIteration
    res = fc.minimize(so.rosen, [-1.2, 1.0], jac=so.rosen_der, callback=stop)
    assert res.status == 99 and res.nit == 1 and not res.success


def test_exceptions_and_nonfinite_are_reported():
    class Boom(Exception):
        pass

    def f(x):
        raise Boom("inside")
    with pytest.raises(Boom, match="inside"):
        fc.minimize(f, [1.0, 2.0])
    res = fc.minimize(lambda x: np.nan, [1.0, 2.0], jac=lambda x: np.ones(2))
    assert not res.success and res.status == 6


# ---------------------------------------------------------------------------------------------
# bounds
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("bounds", [[(-2, 0.5), (-2, 2)], so.Bounds([-2, -2], [0.5, 2]),
                                    [(None, 0.5), (-2, None)]])
def test_lbfgs_bounds_match_scipy(bounds):
    ref = so.minimize(so.rosen, [-1.2, 1.0], jac=so.rosen_der, bounds=bounds, method="L-BFGS-B")
    res = fc.minimize(rosenbrock, [-1.2, 1.0], jac=rosenbrock.grad, bounds=bounds)
    assert res.success
    np.testing.assert_allclose(res.x, ref.x, atol=1e-5)
    np.testing.assert_allclose(res.x, [0.5, 0.25], atol=1e-5)


def test_lbfgs_bounds_quadratic_active_set():
    # min |x - c|^2 on the box [0, 1]^5: the projection of c
    c = np.array([-1.0, 0.3, 2.0, 0.7, 1.5])
    res = fc.minimize(lambda x: np.sum((x - c) ** 2), np.full(5, 0.5),
                      jac=lambda x: 2 * (x - c), bounds=[(0, 1)] * 5)
    np.testing.assert_allclose(res.x, np.clip(c, 0, 1), atol=1e-8)
    assert res.success


@pytest.mark.parametrize("method", ["gd", "adam", "momentum"])
def test_first_order_bounds_project(method):
    res = fc.minimize(sphere, [1.5, -3.0], jac=sphere.grad, method=method,
                      bounds=[(1, 2), (-5, 5)], options={"lr": 0.05, "maxiter": 5000})
    np.testing.assert_allclose(res.x, [1.0, 0.0], atol=1e-3)
    assert 1.0 <= res.x[0] <= 2.0


def test_x0_outside_bounds_is_clipped_with_warning():
    with pytest.warns(RuntimeWarning, match="not within the specified bounds"):
        res = fc.minimize(so.rosen, [5.0, 5.0], jac=so.rosen_der, bounds=[(-2, 2), (-2, 2)])
    np.testing.assert_allclose(res.x, 1.0, atol=1e-5)


# ---------------------------------------------------------------------------------------------
# maximize
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("method", ["bfgs", "l-bfgs", "gd", "newton"])
def test_maximize(method):
    f = lambda x: 3.0 - (x[0] - 1) ** 2 - 2 * (x[1] + 0.5) ** 2
    g = lambda x: np.array([-2 * (x[0] - 1), -4 * (x[1] + 0.5)])
    res = fc.maximize(f, [0.0, 0.0], jac=g, method=method, options={"maxiter": 10000})
    assert res.success
    np.testing.assert_allclose(res.x, [1.0, -0.5], atol=1e-5)
    assert res.fun == pytest.approx(3.0, abs=1e-9)
    np.testing.assert_allclose(res.jac, g(res.x), atol=1e-9)


# ---------------------------------------------------------------------------------------------
# stochastic gradients
# ---------------------------------------------------------------------------------------------

def test_minibatch_gradient_epochs_and_seed():
    rng = np.random.default_rng(3)
    A, b = rng.normal(size=(100, 2)), rng.normal(size=100)
    grad = lambda w, i: A[i].T @ (A[i] @ w - b[i]) / len(i)
    loss = lambda w: 0.5 * np.mean((A @ w - b) ** 2)
    runs = []
    for _ in range(2):
        jac = fc.MiniBatchGradient(grad, 100, 10, seed=7)
        epochs = []
        res = fc.minimize(loss, np.zeros(2), jac=jac, method="gd",
                          callback=lambda intermediate_result: epochs.append(
                              intermediate_result.epoch),
                          options={"lr": 0.05, "maxiter": 300, "gtol": 0.0,
                                   "schedule": "step", "step_size": 10, "decay": 0.5,
                                   "schedule_per_epoch": True})
        runs.append(res.x)
        assert epochs[:10] == [0] * 9 + [1] and epochs[-1] == 30
    np.testing.assert_array_equal(runs[0], runs[1])                 # same seed, same path
    np.testing.assert_allclose(runs[0], np.linalg.lstsq(A, b, rcond=None)[0], atol=2e-3)
    with pytest.raises(ValueError, match="first-order"):
        fc.minimize(loss, np.zeros(2), jac=fc.MiniBatchGradient(grad, 100, 10), method="bfgs")
    with pytest.raises(ValueError, match="batch_size"):
        fc.MiniBatchGradient(grad, 100, 0)


# ---------------------------------------------------------------------------------------------
# critical points
# ---------------------------------------------------------------------------------------------

HIMMELBLAU = {  # published critical points of (x^2 + y - 11)^2 + (x + y^2 - 7)^2
    "minimum": [(3.0, 2.0), (-2.805118, 3.131312), (-3.779310, -3.283186), (3.584428, -1.848126)],
    "maximum": [(-0.270845, -0.923039)],
    "saddle": [(0.086677, 2.884254), (-3.073026, -0.081353), (3.385154, 0.073852),
               (-0.127961, -1.953715)],
}


@pytest.mark.parametrize("kind", ["builtin", "python_fd"])
def test_find_critical_points_himmelblau(kind):
    if kind == "builtin":
        res = fc.find_critical_points(himmelblau, [(-5, 5), (-5, 5)], n_starts=1000, seed=0)
    else:
        f = lambda v: (v[0] ** 2 + v[1] - 11) ** 2 + (v[0] + v[1] ** 2 - 7) ** 2
        res = fc.find_critical_points(f, [(-5, 5), (-5, 5)], n_starts=300, seed=1, gtol=1e-6)
    assert res.success and res.n_found == 9, res.x
    for k, pts in HIMMELBLAU.items():
        got = res.x[[i for i, kk in enumerate(res.kind) if kk == k]]
        assert len(got) == len(pts), (k, got)
        for p in pts:
            assert np.abs(got - p).max(axis=1).min() < 1e-5, (k, p)
    np.testing.assert_allclose(res.fun, [himmelblau(x) for x in res.x], rtol=1e-10, atol=1e-12)
    assert np.all(np.diff(res.fun) >= 0) and res.counts.sum() <= 1000
    H = np.array([so.approx_fprime(x, lambda v: himmelblau.grad(v), 1e-7) for x in res.x])
    for h, lam in zip(H, res.eigenvalues):
        np.testing.assert_allclose(lam, np.linalg.eigvalsh(0.5 * (h + h.T)), rtol=1e-4, atol=1e-3)


def test_find_critical_points_bad_input_and_none_found():
    with pytest.raises(ValueError, match="low <= high"):
        fc.find_critical_points(himmelblau, [(1, 0), (0, 1)])
    with pytest.raises(ValueError, match="finite"):
        fc.find_critical_points(himmelblau, [(0, np.inf), (0, 1)])
    with pytest.raises(ValueError, match="n_starts"):
        fc.find_critical_points(himmelblau, [(0, 1), (0, 1)], n_starts=0)
    res = fc.find_critical_points(lambda v: v[0] + v[1], [(0, 1), (0, 1)], n_starts=10, seed=0)
    assert not res.success and res.n_found == 0 and res.x.shape == (0, 2)


def test_classify_warns_when_not_critical():
    # issue 10: (x-5)^2 + y^2 at (0, 0) is not a critical point (gradient (-10, 0))
    f = lambda v: (v[0] - 5) ** 2 + v[1] ** 2
    with pytest.warns(RuntimeWarning, match="not a critical point"):
        res = fc.classify_critical_point(f, [0.0, 0.0])
    assert res.is_critical is False
    assert res.grad_norm == pytest.approx(10.0, rel=1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = fc.classify_critical_point(f, [5.0, 0.0])
    assert res.is_critical and res.kind == "minimum"


# ---------------------------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------------------------

def test_bad_input():
    f, g = so.rosen, so.rosen_der
    with pytest.raises(ValueError, match="infeasible.*low <= high"):
        fc.minimize(f, [0.0, 0.0], jac=g, bounds=[(1, 0), (0, 1)])
    with pytest.raises(ValueError, match="unknown options 'foo'.*'gtol'.*'maxcor'"):
        fc.minimize(f, [0.0, 0.0], jac=g, options={"foo": 1})
    with pytest.raises(ValueError, match="jac returned shape|shape"):
        fc.minimize(f, [0.0, 0.0], jac=lambda x: np.ones(3))
    with pytest.raises(ValueError, match="does not take bounds"):
        fc.minimize(f, [0.0, 0.0], jac=g, method="cg", bounds=[(0, 1), (0, 1)])
    with pytest.raises(ValueError, match=r"bounds must have 2 \(low, high\) pairs"):
        fc.minimize(f, [0.0, 0.0], jac=g, bounds=[(0, 1)])
    with pytest.raises(ValueError, match="constraints"):
        fc.minimize(f, [0.0, 0.0], constraints=[{"type": "eq", "fun": f}])
    with pytest.raises(ValueError, match=r"maxiter must be an integer in \[0, 100000000\]"):
        fc.minimize(f, [0.0, 0.0], jac=g, options={"maxiter": 10 ** 9})
    with pytest.raises(ValueError, match=r"maxiter must be an integer in \[0, 100000000\]"):
        fc.minimize(f, [0.0, 0.0], jac=g, method="gd", options={"maxiter": 10 ** 9})
    with pytest.raises(TypeError, match="maxiter must be an integer"):
        fc.minimize(f, [0.0, 0.0], jac=g, options={"maxiter": 5.5})
    a = fc.minimize(f, [0.0, 0.0], jac=g, options={"maxiter": 5.0})
    b = fc.minimize(f, [0.0, 0.0], jac=g, options={"maxiter": 5})
    assert a.nit == b.nit == 5 and a.status == 1
    np.testing.assert_array_equal(a.x, b.x)
    with pytest.raises(ValueError, match="beta must be one of"):
        fc.minimize(f, [0.0, 0.0], jac=g, method="cg", options={"beta": "hs"})
    with pytest.raises(ValueError, match="norm"):
        fc.minimize(f, [0.0, 0.0], jac=g, options={"norm": 2})
    with pytest.raises(ValueError, match="hessp"):
        fc.minimize(f, [0.0, 0.0], jac=g, method="newton-cg", hessp=lambda x, p: p)
    with pytest.raises(TypeError, match="method must be a string"):
        fc.minimize(f, [0.0, 0.0], method=3)
    with pytest.raises(ValueError, match="x0 must be finite"):
        fc.maximize(f, [np.nan, 0.0])


def test_multistart_blocks_match_single_runs():
    # 6000 starts of a 2-D problem run in more than one cache-sized block; each start's answer is
    # the one a single run gives (plain NumPy loop of the same GD steps as reference)
    X0 = np.random.default_rng(5).uniform(-1, 1.2, (2, 6000))
    res = fc.multistart(rosenbrock, X0, jac=rosenbrock.grad,
                        options={"lr": 2e-4, "maxiter": 50, "gtol": 0.0, "history": True})
    x = X0.copy()
    for _ in range(50):
        g = np.stack([-400 * x[0] * (x[1] - x[0] ** 2) - 2 * (1 - x[0]), 200 * (x[1] - x[0] ** 2)])
        x = x - 2e-4 * g
    np.testing.assert_allclose(res.xs, x, rtol=1e-12, atol=1e-12)
    assert res.paths.shape == (51, 2, 6000) and res.nfev >= 6000
    np.testing.assert_allclose(res.paths[-1], x, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("method", ["bfgs", "l-bfgs", "cg", "newton-cg"])
def test_size_one_results_are_converted_by_the_adapter(method):
    # the adapter (size1) converts a size-1 array or list only for minimize's Python objective;
    # the answer is SciPy's (and analytic: x = 3)
    ref = so.minimize(lambda x: (x - 3.0) ** 2, [0.0], method="BFGS")
    for fun in (lambda x: (x - 3.0) ** 2, lambda x: [float(x[0] - 3.0) ** 2],
                lambda x: np.array([[(x[0] - 3.0) ** 2]]), lambda x: (True, (x[0] - 3.0) ** 2)[1:]):
        res = fc.minimize(fun, [0.0], method=method)
        assert res.success and isinstance(res.fun, float), res.message
        assert res.x[0] == pytest.approx(3.0, abs=1e-4) and ref.x[0] == pytest.approx(3.0, abs=1e-4)
    with pytest.raises(ValueError, match="must return a scalar for one point.*shape \\(2,\\)"):
        fc.minimize(lambda x: x ** 2, [1.0, 2.0], method=method)
    with pytest.raises(TypeError, match="complex"):
        fc.minimize(lambda x: np.array([1j * x[0]]), [1.0], method=method)
    with pytest.raises(TypeError, match="expected a real number"):
        fc.minimize(lambda x: "a", [1.0], method=method)
    # elsewhere the adapter stays strict: one value per point means a scalar
    with pytest.raises(ValueError, match="must return a scalar"):
        fc.evaluate(lambda x: np.array([x[0]]), np.ones((1, 3)))


def _py_rosen(x):
    x = x.tolist()          # Python floats: the same rounding on every CPU
    return sum(100.0 * (x[i + 1] - x[i] * x[i]) ** 2 + (1.0 - x[i]) ** 2 for i in range(len(x) - 1))


def _py_rosen_der(x):
    x = x.tolist()
    out = [0.0] * len(x)
    for i in range(len(x) - 1):
        t = x[i + 1] - x[i] * x[i]
        out[i] += -400.0 * x[i] * t - 2.0 * (1.0 - x[i])
        out[i + 1] += 200.0 * t
    return np.array(out)


# (nit, nfev, sum(x).hex(), fun.hex()) of the runs before the speed work on the BFGS kernels (H kept
# transposed, vectorised matvec and rank-2 update): the iterates must stay bit for bit the same.  These
# methods' reductions are built for the portable target only, so the values hold on every x86-64.
_BIT_FOR_BIT = {
    ("bfgs", 3): (50, 57, "0x1.7fffffe196a34p+1", "0x1.69effda76b0a8p-47"),
    ("bfgs", 10): (74, 83, "0x1.fe86699de7e3fp+2", "0x1.fe48396f394d7p+1"),
    ("bfgs", 19): (128, 134, "0x1.0ffff80fbd4bap+4", "0x1.fe49b0c17e922p+1"),
    ("cg", 10): (372, 672, "0x1.3fffd1fe09d98p+3", "0x1.6156ee8a1f1e2p-35"),
    ("newton-cg", 19): (134, 160, "0x1.0ffff808f13acp+4", "0x1.fe49b0c17e92ap+1"),
}


@pytest.mark.skipif("ASAN_OPTIONS" in __import__("os").environ,
                    reason="golden bits of the release build (-O3); the sanitizer build (.ci/"
                           "sanitize.sh: -O1, no clones) orders its reductions differently")
@pytest.mark.parametrize("method,n", list(_BIT_FOR_BIT))
def test_iterates_bit_for_bit_as_before_the_speed_work(method, n):
    x0 = np.array([(-1.2, 1.0, 0.5)[i % 3] for i in range(n)])
    r = fc.minimize(_py_rosen, x0, jac=_py_rosen_der, method=method)
    assert (r.nit, r.nfev, r.x.sum().hex(), float(r.fun).hex()) == _BIT_FOR_BIT[method, n]
    # and the answer is right: SciPy's local minimum (n >= 4 from this start) or the global one
    ref = so.minimize(_py_rosen, x0, jac=_py_rosen_der, method="BFGS")
    assert r.success
    assert (r.fun == pytest.approx(ref.fun, rel=1e-6, abs=1e-9)
            or (r.fun < 1e-8 and np.allclose(r.x, 1.0, atol=1e-4)))
