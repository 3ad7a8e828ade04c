"""Tests of fastcalc.optimize against independent references (analytic, NumPy loops, SciPy)."""
import math

import numpy as np
import pytest
import scipy.optimize as so

import fastcalc as fc
from fastcalc.functions import beale, himmelblau, rastrigin, rosenbrock, sphere


# ---------------------------------------------------------------------------------------------
# independent references
# ---------------------------------------------------------------------------------------------

def wood(x):
    return (100 * (x[1] - x[0] ** 2) ** 2 + (1 - x[0]) ** 2 + 90 * (x[3] - x[2] ** 2) ** 2
            + (1 - x[2]) ** 2 + 10.1 * ((x[1] - 1) ** 2 + (x[3] - 1) ** 2)
            + 19.8 * (x[1] - 1) * (x[3] - 1))


def wood_grad(x):
    return np.array([
        -400 * x[0] * (x[1] - x[0] ** 2) - 2 * (1 - x[0]),
        200 * (x[1] - x[0] ** 2) + 20.2 * (x[1] - 1) + 19.8 * (x[3] - 1),
        -360 * x[2] * (x[3] - x[2] ** 2) - 2 * (1 - x[2]),
        180 * (x[3] - x[2] ** 2) + 20.2 * (x[3] - 1) + 19.8 * (x[1] - 1)])


def numpy_descent(grad, x0, method, lr, steps, mu=0.9, b1=0.9, b2=0.999, eps=1e-8, rho=0.9):
    """Plain NumPy reference of the update rules (Nesterov in its look-ahead form)."""
    x = np.array(x0, dtype=float)
    v = np.zeros_like(x)
    s = np.zeros_like(x)
    path = [x.copy()]
    for t in range(steps):
        if method == "nesterov":
            # classic form: v = mu v - lr grad(y + mu v) with y the "plain" iterate; we track the
            # look-ahead point x = y + mu v, which is what the optimizer returns
            y = x - mu * v
            vn = mu * v - lr * grad(y + mu * v)
            y = y + vn
            v = vn
            x = y + mu * v
        else:
            g = grad(x)
            if method == "gd":
                x = x - lr * g
            elif method == "momentum":
                v = mu * v - lr * g
                x = x + v
            elif method == "adagrad":
                s = s + g * g
                x = x - lr * g / (np.sqrt(s) + eps)
            elif method == "rmsprop":
                s = rho * s + (1 - rho) * g * g
                x = x - lr * g / (np.sqrt(s) + eps)
            elif method == "adam":
                v = b1 * v + (1 - b1) * g
                s = b2 * s + (1 - b2) * g * g
                mh = v / (1 - b1 ** (t + 1))
                sh = s / (1 - b2 ** (t + 1))
                x = x - lr * mh / (np.sqrt(sh) + eps)
        path.append(x.copy())
    return np.array(path)


def rosen_py(x):
    return float(so.rosen(x))


# ---------------------------------------------------------------------------------------------
# the seed example and the update rules
# ---------------------------------------------------------------------------------------------

def test_seed_x_squared_path():
    res = fc.gradient_descent(lambda x: x ** 2, 2.0, jac=lambda x: 2 * x, lr=0.1, maxiter=50,
                              gtol=0.0)
    k = np.arange(51)
    np.testing.assert_allclose(res.path, 2.0 * 0.8 ** k, rtol=1e-13)
    np.testing.assert_allclose(res.fun_path, (2.0 * 0.8 ** k) ** 2, rtol=1e-12)
    assert isinstance(res.x, float) and res.nit == 50 and res.status == 1 and not res.success
    assert res.njev == 51


def test_seed_x_squared_fd_gradient():
    res = fc.gradient_descent(lambda x: x ** 2, 2.0, lr=0.1, maxiter=200)
    assert res.success and abs(res.x) < 1e-8
    np.testing.assert_allclose(res.path[:5], 2.0 * 0.8 ** np.arange(5), rtol=1e-9)


@pytest.mark.parametrize("method,lr", [("gd", 1e-3), ("momentum", 1e-3), ("nesterov", 1e-3),
                                       ("adagrad", 0.1), ("rmsprop", 1e-3), ("adam", 1e-2)])
def test_update_rules_match_numpy(method, lr):
    x0 = [-1.2, 1.0]
    ref = numpy_descent(so.rosen_der, x0, method, lr, 40)
    res = fc.minimize(rosenbrock, x0, method=method, jac=rosenbrock.grad,
                      options={"lr": lr, "maxiter": 40, "gtol": 0.0, "history": True})
    np.testing.assert_allclose(res.path, ref, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(res.fun_path, [so.rosen(p) for p in ref], rtol=1e-9)
    assert res.nit == 40


@pytest.mark.parametrize("method,lr,maxiter", [("gd", 1e-3, 60000), ("momentum", 1e-3, 20000),
                                               ("nesterov", 1e-3, 20000), ("adagrad", 0.5, 30000),
                                               ("adam", 1e-2, 20000)])
def test_methods_converge_rosenbrock(method, lr, maxiter):
    res = fc.minimize(rosenbrock, [-1.2, 1.0], method=method, jac=rosenbrock.grad,
                      options={"lr": lr, "maxiter": maxiter, "gtol": 1e-6})
    assert res.success, res.message
    np.testing.assert_allclose(res.x, [1.0, 1.0], atol=1e-4)
    np.testing.assert_allclose(res.jac, so.rosen_der(res.x), rtol=1e-12, atol=1e-12)
    assert res.fun == pytest.approx(so.rosen(res.x), rel=1e-12, abs=1e-300)


def test_rmsprop_converges_sphere():
    res = fc.minimize(sphere, [1.0, -2.0, 0.5], method="rmsprop", jac=sphere.grad,
                      options={"lr": 1e-2, "maxiter": 5000, "gtol": 1e-3,
                               "schedule": "exponential", "decay": 0.999})
    assert np.abs(res.x).max() < 1e-2


# ---------------------------------------------------------------------------------------------
# schedules, line search, stopping rules
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("schedule,opts,expected", [
    ("constant", {}, lambda t: 0.1 + 0 * t),
    ("step", {"decay": 0.5, "step_size": 3}, lambda t: 0.1 * 0.5 ** (t // 3)),
    ("exponential", {"decay": 0.9}, lambda t: 0.1 * 0.9 ** t),
    ("inverse_time", {"decay": 0.2}, lambda t: 0.1 / (1 + 0.2 * t)),
    ("cosine", {"lr_min": 0.01, "period": 8},
     lambda t: 0.01 + 0.5 * 0.09 * (1 + np.cos(np.pi * np.minimum(t, 8) / 8))),
])
def test_schedules(schedule, opts, expected):
    # f(x) = 3 x has gradient 3: every step moves x by exactly -3 lr_t
    o = dict(opts, lr=0.1, maxiter=12, gtol=0.0, schedule=schedule, history=True)
    res = fc.minimize(lambda x: 3.0 * x[0], [0.0], jac=lambda x: np.array([3.0]), options=o, method="gd")
    steps = -np.diff(res.path[:, 0]) / 3.0
    np.testing.assert_allclose(steps, expected(np.arange(12)), rtol=1e-12)


@pytest.mark.parametrize("method", ["gd", "momentum"])
def test_armijo_line_search(method):
    # a steep quadratic where lr=1 would diverge without the line search
    A = np.diag([1.0, 100.0])
    f = lambda x: 0.5 * x @ A @ x
    g = lambda x: A @ x
    res = fc.minimize(f, [1.0, 1.0], method=method, jac=g,
                      options={"lr": 1.0, "line_search": "armijo", "maxiter": 5000,
                               "history": True, "momentum": 0.5})
    assert res.success, res.message
    assert np.abs(res.x).max() < 1e-5
    assert np.all(np.diff(res.fun_path) <= 0)           # sufficient decrease every step


def test_stopping_rules():
    g = lambda x: 2 * x
    f = lambda x: float(x @ x)
    r = fc.minimize(f, [1.0], jac=g, options={"lr": 0.1, "gtol": 1e-3, "maxiter": 10000}, method="gd")
    assert r.status == 0 and abs(2 * r.x[0]) <= 1e-3 and abs(2 * 1.0 * 0.8 ** (r.nit - 1)) > 1e-3
    r = fc.minimize(f, [1.0], jac=g, options={"lr": 0.1, "gtol": 0, "xtol": 1e-6,
                                              "maxiter": 10000}, method="gd")
    assert r.status == 4 and r.success
    r = fc.minimize(f, [1.0], jac=g, options={"lr": 0.1, "gtol": 0, "ftol": 1e-6,
                                              "maxiter": 10000}, method="gd")
    assert r.status == 5 and r.success
    r = fc.minimize(f, [1.0], jac=g, options={"lr": 0.1, "gtol": 0, "maxiter": 7}, method="gd")
    assert r.status == 1 and not r.success and r.nit == 7
    assert "Maximum number of iterations" in r.message
    r = fc.minimize(f, [0.0], jac=g, method="gd")
    assert r.status == 0 and r.nit == 0


def test_divergence_returns_best_point():
    res = fc.minimize(lambda x: float(x @ x), [2.0], jac=lambda x: 2 * x,
                      options={"lr": 1.5, "maxiter": 100000, "history": True}, method="gd")
    assert not res.success and res.status in (2, 6)
    assert "Divergence" in res.message
    assert res.x[0] == 2.0 and res.fun == 4.0            # the best point seen is the start
    # also without per-iteration f (fast path, built-in)
    res = fc.minimize(sphere, [2.0, 1.0], jac=sphere.grad, options={"lr": 1.5, "maxiter": 10 ** 6}, method="gd")
    assert not res.success and "Divergence" in res.message and np.isfinite(res.fun)


def test_nan_from_function_is_reported():
    def f(x):
        return float(x[0] ** 2) if x[0] > 0.5 else float("nan")
    res = fc.minimize(f, [2.0], jac=lambda x: 2 * x, options={"lr": 0.1, "history": True}, method="gd")
    assert res.status == 6 and not res.success and "NaN" in res.message
    assert res.x[0] > 0.5 and np.isfinite(res.fun)


# ---------------------------------------------------------------------------------------------
# Newton's method
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("hessian", ["analytic", "fd", "fd-of-fd"])
def test_newton_rosenbrock(hessian):
    kw = {"jac": rosenbrock.grad, "hess": rosenbrock.hess}
    if hessian == "fd":
        kw["hess"] = None
    elif hessian == "fd-of-fd":
        kw = {}
    res = fc.minimize(rosenbrock, [-1.2, 1.0], method="newton", **kw)
    assert res.success, res.message
    np.testing.assert_allclose(res.x, [1, 1], atol=1e-7)
    assert res.nit < 60


def test_newton_beale_wood_rosen10():
    res = fc.minimize(beale, [1.0, 1.0], method="newton", jac=beale.grad, hess=beale.hess)
    assert res.success
    np.testing.assert_allclose(res.x, [3.0, 0.5], atol=1e-7)
    res = fc.minimize(wood, [-3.0, -1.0, -3.0, -1.0], method="newton", jac=wood_grad)
    assert res.success, res.message
    np.testing.assert_allclose(res.x, np.ones(4), atol=1e-6)
    for x0 in (np.zeros(10), np.array([1.3, 0.7, 0.8, 1.9, 1.2] * 2)):
        res = fc.minimize(rosenbrock, x0, method="newton", jac=rosenbrock.grad,
                          hess=rosenbrock.hess)
        assert res.success and res.fun <= 1e-10
        np.testing.assert_allclose(res.x, np.ones(10), atol=1e-7)
    # from (-1.2, 1, -1.2, 1, ...) the chained 10-D Rosenbrock has a local minimum near
    # (-1, 1, ..., 1); Newton must end at a point where the gradient vanishes
    res = fc.minimize(rosenbrock, np.array([-1.2, 1.0] * 5), method="newton",
                      jac=rosenbrock.grad, hess=rosenbrock.hess)
    assert res.success and np.abs(so.rosen_der(res.x)).max() < 1e-8


def test_newton_indefinite_hessian_safeguard():
    # Himmelblau at the origin has an indefinite Hessian; the plain Newton step goes uphill
    H = himmelblau.hess(np.array([0.0, 2.0]))
    assert np.linalg.eigvalsh(H).min() < 0 < np.linalg.eigvalsh(H).max()
    for x0 in ([0.0, 2.0], [0.0, 0.0], [-0.27, -0.92]):     # indefinite, negative definite
        res = fc.minimize(himmelblau, x0, method="newton", jac=himmelblau.grad,
                          hess=himmelblau.hess, options={"history": True})
        assert res.success and res.fun < 1e-12
        assert np.all(np.diff(res.fun_path) <= 1e-15)
        assert any(np.allclose(res.x, m, atol=1e-6) for m, _ in himmelblau.minima)


def test_newton_python_hessian_and_combined_jac():
    def fg(x):
        return so.rosen(x), so.rosen_der(x)
    res = fc.minimize(fg, [-1.2, 1.0], method="newton", jac=True, hess=so.rosen_hess)
    assert res.success
    np.testing.assert_allclose(res.x, [1, 1], atol=1e-8)


# ---------------------------------------------------------------------------------------------
# kinds of callables
# ---------------------------------------------------------------------------------------------

def test_fd_gradient_matches_analytic_run():
    a = fc.minimize(rosenbrock, [-1.2, 1.0], jac=rosenbrock.grad,
                    options={"lr": 1e-3, "maxiter": 500, "gtol": 0}, method="gd")
    b = fc.minimize(rosenbrock, [-1.2, 1.0], options={"lr": 1e-3, "maxiter": 500, "gtol": 0}, method="gd")
    c = fc.minimize(rosen_py, [-1.2, 1.0], options={"lr": 1e-3, "maxiter": 500, "gtol": 0}, method="gd")
    np.testing.assert_allclose(b.x, a.x, rtol=1e-6)
    np.testing.assert_allclose(c.x, a.x, rtol=1e-6)
    assert b.nfev > 500 * 4


@pytest.mark.parametrize("kind", ["python", "vectorized", "combined", "lowlevel"])
def test_callable_kinds_same_trajectory(kind):
    ref = numpy_descent(so.rosen_der, [-1.2, 1.0], "gd", 1e-3, 200)[-1]
    opts = {"lr": 1e-3, "maxiter": 200, "gtol": 0}
    if kind == "python":
        res = fc.minimize(rosen_py, [-1.2, 1.0], jac=so.rosen_der, options=opts, method="gd")
    elif kind == "vectorized":
        res = fc.minimize(so.rosen, [-1.2, 1.0], jac=lambda x: np.stack(
            [so.rosen_der(x[:, j]) for j in range(x.shape[1])], axis=1),
            options=dict(opts, vectorized=True), method="gd")
    elif kind == "combined":
        res = fc.minimize(lambda x: (so.rosen(x), so.rosen_der(x)), [-1.2, 1.0], jac=True,
                          options=opts, method="gd")
    else:
        pytest.importorskip("numba")
        res = fc.minimize(rosenbrock.lowlevel, [-1.2, 1.0], jac=rosenbrock.grad.lowlevel,
                          options=opts, method="gd")
    np.testing.assert_allclose(res.x, ref, rtol=1e-11)


def test_args_are_passed():
    f = lambda x, a: float((x[0] - a) ** 2)
    g = lambda x, a: np.array([2 * (x[0] - a)])
    res = fc.minimize(f, [0.0], args=(3.0,), jac=g, options={"lr": 0.25, "gtol": 1e-10}, method="gd")
    assert res.x[0] == pytest.approx(3.0, abs=1e-6)


# ---------------------------------------------------------------------------------------------
# callback and history
# ---------------------------------------------------------------------------------------------

def test_callback_new_and_old_style():
    seen = []

    def cb(intermediate_result):
        seen.append((intermediate_result.x.copy(), intermediate_result.fun))
    res = fc.minimize(lambda x: float(x @ x), [1.0], jac=lambda x: 2 * x, callback=cb,
                      options={"lr": 0.1, "maxiter": 5, "gtol": 0}, method="gd")
    assert len(seen) == 5 and seen[0][0][0] == pytest.approx(0.8)     # after every iteration
    assert seen[0][1] == pytest.approx(0.64) and seen[4][0][0] == pytest.approx(0.8 ** 5)
    xs = []
    fc.minimize(lambda x: float(x @ x), [1.0], jac=lambda x: 2 * x, callback=lambda xk: xs.append(
        xk[0]), options={"lr": 0.1, "maxiter": 3, "gtol": 0}, method="gd")
    np.testing.assert_allclose(xs, [0.8, 0.64, 0.512])


def test_callback_stop_iteration():
    def cb(intermediate_result):
        if intermediate_result.nit == 4:
            raise StopIteration
    res = fc.minimize(lambda x: float(x @ x), [1.0], jac=lambda x: 2 * x, callback=cb,
                      options={"lr": 0.1, "maxiter": 100, "gtol": 0}, method="gd")
    assert res.status == 99 and not res.success and res.nit == 4
    assert res.x[0] == pytest.approx(0.8 ** 4)


def test_history_shapes():
    res = fc.minimize(rosenbrock, [-1.2, 1.0], jac=rosenbrock.grad,
                      options={"lr": 1e-3, "maxiter": 100, "history": True}, method="gd")
    assert res.path.shape == (101, 2) and res.fun_path.shape == (101,)
    np.testing.assert_allclose(res.fun_path, so.rosen(res.path.T), rtol=1e-12)
    res = fc.minimize(rosenbrock, [-1.2, 1.0], jac=rosenbrock.grad, options={"maxiter": 10}, method="gd")
    assert "path" not in res


# ---------------------------------------------------------------------------------------------
# multistart
# ---------------------------------------------------------------------------------------------

def test_multistart_himmelblau_finds_all_minima():
    x0 = np.array([[4.0, -4.0, -4.0, 4.0], [4.0, 4.0, -4.0, -4.0]])
    res = fc.multistart(himmelblau, x0, method="newton", jac=himmelblau.grad, hess=himmelblau.hess)
    assert res.xs.shape == (2, 4) and res.funs.shape == (4,) and res.successes.all()
    found = {tuple(np.round(res.xs[:, j], 6)) for j in range(4)}
    expected = {tuple(np.round(m, 6)) for m, _ in himmelblau.minima}
    assert found == expected


def test_multistart_matches_single_runs():
    rng = np.random.default_rng(1)
    x0 = rng.uniform(-2, 2, (2, 7))
    res = fc.multistart(rastrigin, x0, jac=rastrigin.grad,
                        options={"lr": 1e-3, "maxiter": 300, "gtol": 1e-6})
    for j in range(7):
        r = fc.minimize(rastrigin, x0[:, j], jac=rastrigin.grad,
                        options={"lr": 1e-3, "maxiter": 300, "gtol": 1e-6}, method="gd")
        np.testing.assert_allclose(res.xs[:, j], r.x, rtol=1e-13, atol=1e-15)
        assert res.nits[j] == r.nit and res.statuses[j] == r.status
        assert res.funs[j] == pytest.approx(r.fun, rel=1e-13, abs=1e-300)
    assert res.best == int(np.argmin(res.funs)) and res.fun == res.funs.min()


def test_multistart_bounds_seed_and_vectorized_batches():
    calls = []

    def f(x):
        calls.append(x.shape)
        return x[0] ** 2 + 2 * x[1] ** 2

    def g(x):
        return np.stack([2 * x[0], 4 * x[1]])
    res = fc.multistart(f, jac=g, bounds=[(-1, 1), (-2, 2)], n_starts=50, seed=3,
                        options={"vectorized": True, "lr": 0.1, "maxiter": 1000})
    assert res.successes.all() and res.fun < 1e-10
    assert all(len(s) == 2 and s[0] == 2 for s in calls)        # whole batches
    assert max(s[1] for s in calls) == 50
    again = fc.multistart(f, jac=g, bounds=[(-1, 1), (-2, 2)], n_starts=50, seed=3,
                          options={"vectorized": True, "lr": 0.1, "maxiter": 1000})
    np.testing.assert_array_equal(res.xs, again.xs)


def test_multistart_local_vs_global():
    # from different starts GD ends in different local minima of rastrigin
    x0 = np.array([[0.1, 1.1, 2.05], [0.1, -0.9, 0.0]])
    res = fc.multistart(rastrigin, x0, jac=rastrigin.grad, options={"lr": 1e-3, "maxiter": 5000,
                                                                     "history": True})
    np.testing.assert_allclose(res.xs, np.round(res.xs), atol=0.05)
    assert res.best == 0 and res.fun < 1e-10 and res.funs[1] > 1 and res.funs[2] > 1
    assert res.paths.shape[1:] == (2, 3) and res.fun_paths.shape[1] == 3


# ---------------------------------------------------------------------------------------------
# critical points
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("f,x,kind", [
    (lambda v: v[0] ** 2 + 3 * v[1] ** 2, [0.0, 0.0], "minimum"),
    (lambda v: -v[0] ** 2 - v[1] ** 2 + v[0] * v[1], [0.0, 0.0], "maximum"),
    (lambda v: v[0] ** 2 - v[1] ** 2, [0.0, 0.0], "saddle"),
    (lambda v: v[0] ** 2 + v[1] ** 4, [0.0, 0.0], "degenerate"),
    (lambda v: v[0] ** 3 - 3 * v[0] * v[1] ** 2, [0.0, 0.0], "degenerate"),   # monkey saddle
    (lambda v: v[0] ** 2 * v[1] ** 2 - v[2] ** 2, [0.0, 0.0, 0.0], "degenerate"),
    (lambda x: math.cos(x), math.pi, "minimum"),
    # a large offset: the difference steps grow until the curvature shows above the rounding
    (lambda v: v[0] ** 2 + v[1] ** 2 + 1e8, [0.0, 0.0], "minimum"),
    (lambda v: v[0] ** 2 - v[1] ** 2 + 1e8, [0.0, 0.0], "saddle"),
    (lambda v: v[0] ** 2 + v[1] ** 4 + 1e8, [0.0, 0.0], "degenerate"),
    (lambda v: v[0] ** 2 + 1e-6 * v[1] ** 2, [0.0, 0.0], "minimum"),    # weak but real curvature
    (lambda x: x ** 3, 0.0, "degenerate"),
])
def test_classify(f, x, kind):
    res = fc.classify_critical_point(f, x)
    assert res.kind == kind, (res.eigenvalues, res.tol)
    # every one is a critical point: no "not a critical point" false alarm (the monkey saddle
    # and x**3 at 0 raised one: a fixed-step gradient was held to the adaptive one's error)
    assert res.is_critical, (res.grad_norm, res.grad_tol)


def test_classify_builtin_and_eigenvalues():
    res = fc.classify_critical_point(rosenbrock, [1.0, 1.0])
    ref = np.linalg.eigvalsh(so.rosen_hess([1.0, 1.0]))
    assert res.kind == "minimum"
    np.testing.assert_allclose(res.eigenvalues, ref, rtol=1e-12)
    res = fc.classify_critical_point(himmelblau, [-0.270845, -0.923039])   # local maximum
    assert res.kind == "maximum"
    res = fc.classify_critical_point(lambda v: so.rosen(v), [1.0, 1.0], jac=so.rosen_der)
    assert res.kind == "minimum"
    np.testing.assert_allclose(res.eigenvalues, ref, rtol=1e-6)
    assert res.hessian_error < 1e-4 and res.grad_norm < 1e-6


# ---------------------------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------------------------

class MyError(Exception):
    pass


def test_bad_input_errors():
    f = lambda x: float(x @ x)
    g = lambda x: 2 * x
    with pytest.raises(ValueError, match="x0 must be finite"):
        fc.minimize(f, [np.nan, 1.0], method="gd")
    with pytest.raises(ValueError, match="one-dimensional"):
        fc.minimize(f, np.zeros((2, 2)), method="gd")
    with pytest.raises(ValueError, match="at least one variable"):
        fc.minimize(f, [], method="gd")
    with pytest.raises(ValueError, match="lr must be > 0"):
        fc.minimize(f, [1.0], options={"lr": -0.1}, method="gd")
    with pytest.raises(ValueError, match=r"maxiter must be an integer in \[0, 100000000\]"):
        fc.minimize(f, [1.0], options={"maxiter": -1}, method="gd")
    with pytest.raises(ValueError, match=r"maxiter must be an integer in \[0, 100000000\]"):
        fc.minimize(f, [1.0], options={"maxiter": 10 ** 30}, method="gd")
    with pytest.raises(TypeError, match="options must be a dict"):
        fc.minimize(f, [1.0], options="lr=0.1", method="gd")
    with pytest.raises(TypeError, match="x0 must be an array of real numbers"):
        fc.minimize(f, [1 + 2j], method="gd")
    with pytest.raises(TypeError, match="maxiter must be an integer"):
        fc.minimize(f, [1.0], options={"maxiter": 1.5}, method="gd")
    with pytest.raises(ValueError, match="method must be one of 'bfgs'.*'gd', 'momentum'.*got 'simplex'"):
        fc.minimize(f, [1.0], method="simplex")
    with pytest.raises(ValueError, match="unknown options 'learning_rate'.*'lr'"):
        fc.minimize(f, [1.0], options={"learning_rate": 0.1}, method="gd")
    with pytest.raises(ValueError, match="schedule must be one of .*'cosine', got 'linear'"):
        fc.minimize(f, [1.0], options={"schedule": "linear"}, method="gd")
    with pytest.raises(ValueError, match="line_search='armijo' is available"):
        fc.minimize(f, [1.0], method="adam", options={"line_search": "armijo"})
    with pytest.raises(ValueError, match=r"momentum must be in \[0, 1\)"):
        fc.minimize(f, [1.0], method="momentum", options={"momentum": 1.0})
    with pytest.raises(ValueError, match="gtol must be a finite number"):
        fc.minimize(f, [1.0], options={"gtol": np.nan}, method="gd")
    with pytest.raises(TypeError, match="fun must be callable"):
        fc.minimize(3.0, [1.0], method="gd")
    with pytest.raises(TypeError, match="jac must be None, True, or a callable"):
        fc.minimize(f, [1.0], jac=3, method="gd")
    with pytest.raises(ValueError, match="returned shape \\(3,\\).*expected \\(2,\\)"):
        fc.minimize(f, [1.0, 2.0], jac=lambda x: np.ones(3), method="gd")
    with pytest.raises(ValueError, match="hess returned shape \\(2,\\); expected \\(2, 2\\)"):
        fc.minimize(f, [1.0, 2.0], method="newton", jac=g, hess=lambda x: np.ones(2))
    with pytest.raises(TypeError, match="must return a tuple"):
        fc.minimize(f, [1.0], jac=True, method="gd")
    with pytest.raises(ValueError, match="takes 2 variable"):
        fc.minimize(himmelblau, [1.0, 2.0, 3.0], method="gd")


def test_user_exception_propagates_unchanged():
    err = MyError("boom")

    def f(x):
        raise err
    with pytest.raises(MyError) as info:
        fc.minimize(f, [1.0], method="gd")
    assert info.value is err

    def g(x):
        if x[0] < 0.5:
            raise err
        return 2 * x
    with pytest.raises(MyError) as info:
        fc.minimize(lambda x: float(x @ x), [1.0], jac=g, options={"lr": 0.1}, method="gd")
    assert info.value is err

    def cb(intermediate_result):
        raise err
    with pytest.raises(MyError):
        fc.minimize(lambda x: float(x @ x), [1.0], jac=lambda x: 2 * x, callback=cb, method="gd")
    with pytest.raises(MyError):
        fc.minimize(lambda x: float(x @ x), [1.0], method="newton", hess=lambda x: (_ for _ in ()
                                                                                   ).throw(err))
    with pytest.raises(MyError):
        fc.multistart(f, np.zeros((1, 3)))


def test_multistart_and_classify_bad_input():
    f = lambda x: float(x @ x)
    with pytest.raises(ValueError, match="shape \\(n, k\\)"):
        fc.multistart(f, np.zeros(3))
    with pytest.raises(ValueError, match="bounds and n_starts"):
        fc.multistart(f)
    with pytest.raises(ValueError, match="shape \\(n, 2\\)"):
        fc.multistart(f, bounds=[1, 2], n_starts=3)
    with pytest.raises(ValueError, match="low <= high"):
        fc.multistart(f, bounds=[(1, 0)], n_starts=3)
    with pytest.raises(ValueError, match=r"n_starts must be an integer in \[1, "):
        fc.multistart(f, bounds=[(0, 1)], n_starts=0)
    with pytest.raises(ValueError, match="x0 must be finite"):
        fc.multistart(f, np.array([[0.0, np.inf]]))
    with pytest.raises(ValueError, match="x must be finite"):
        fc.classify_critical_point(f, [np.nan])
    with pytest.raises(ValueError, match="not finite"):
        fc.classify_critical_point(lambda x: float("nan"), [0.0])


def test_gradient_descent_variants_match_numpy():
    ref = numpy_descent(so.rosen_der, [-1.2, 1.0], "momentum", 1e-3, 30, mu=0.5)
    res = fc.gradient_descent(rosen_py, [-1.2, 1.0], jac=so.rosen_der, lr=1e-3, momentum=0.5,
                              maxiter=30, gtol=0.0)
    np.testing.assert_allclose(res.path, ref, rtol=1e-12)
    ref = numpy_descent(so.rosen_der, [-1.2, 1.0], "nesterov", 1e-3, 30, mu=0.5)
    res = fc.gradient_descent(rosen_py, [-1.2, 1.0], jac=so.rosen_der, lr=1e-3, momentum=0.5,
                              nesterov=True, maxiter=30, gtol=0.0)
    np.testing.assert_allclose(res.path, ref, rtol=1e-12)
    with pytest.raises(ValueError, match="lr must be > 0"):
        fc.gradient_descent(rosen_py, [0.0, 0.0], lr=0.0)
    with pytest.raises(ValueError, match=r"maxiter must be an integer in \[0, 100000000\]"):
        fc.gradient_descent(rosen_py, [0.0, 0.0], maxiter=-5)


def test_numba_jit_callables_run_in_c():
    pytest.importorskip("numba")

    def f(x):
        return (x[0] - 1.0) ** 2 + 10.0 * (x[1] + 2.0) ** 2

    def g(x):
        return np.array([2.0 * (x[0] - 1.0), 20.0 * (x[1] + 2.0)])
    res = fc.minimize(fc.jit(f, ndim=2), [0.0, 0.0], jac=fc.jit(g, ndim=2, nout=2),
                      options={"lr": 0.04, "maxiter": 5000, "gtol": 1e-10}, method="gd")
    assert res.success
    np.testing.assert_allclose(res.x, [1.0, -2.0], atol=1e-10)
    res = fc.minimize(fc.jit(f, ndim=2), [0.0, 0.0], method="newton")
    np.testing.assert_allclose(res.x, [1.0, -2.0], atol=1e-8)


def test_classify_bad_hessian_shape():
    with pytest.raises(ValueError, match="hess returned shape"):
        fc.classify_critical_point(lambda v: float(v @ v), [0.0, 0.0], hess=lambda v: np.eye(3))


@pytest.mark.parametrize("jac", ["analytic", "fd"])
def test_ctrl_c_interrupts_a_long_c_loop(jac):
    import _thread
    import threading
    import time
    timer = threading.Timer(0.2, _thread.interrupt_main)
    timer.start()
    t0 = time.perf_counter()
    try:
        with pytest.raises(KeyboardInterrupt):
            fc.minimize(sphere, [1.0, 2.0], jac=sphere.grad if jac == "analytic" else None,
                        options={"lr": 1e-12, "maxiter": 10 ** 8, "gtol": 0.0}, method="gd")
    finally:
        timer.cancel()
    assert time.perf_counter() - t0 < 5.0


def test_multistart_line_search_failures_match_single_runs():
    # a kink at the minimum: each start ends when the line search cannot decrease f (status 3),
    # at different iterations, so finished starts are retired in the middle of the batch
    def f(x):
        return abs(x[0] - 1 / 3) + 2 * abs(x[1] + 1 / 7)

    def g(x):
        return np.array([np.sign(x[0] - 1 / 3), 2 * np.sign(x[1] + 1 / 7)])

    def gv(x):
        return np.stack([np.sign(x[0] - 1 / 3), 2 * np.sign(x[1] + 1 / 7)])
    x0 = np.random.default_rng(5).uniform(-3, 3, (2, 9))
    opts = {"lr": 1.0, "line_search": "armijo", "gtol": 0.0, "maxiter": 500}
    for method in ("gd", "momentum"):
        o = dict(opts, momentum=0.3) if method == "momentum" else opts
        res = fc.multistart(f, x0, jac=gv, method=method, options=dict(o, vectorized=True))
        assert (res.statuses == 3).sum() >= 5 and len(set(res.nits)) > 3
        for j in range(9):
            r = fc.minimize(f, x0[:, j], jac=g, method=method, options=o)
            np.testing.assert_allclose(res.xs[:, j], r.x, rtol=1e-14, atol=1e-15)
            assert res.statuses[j] == r.status and res.nits[j] == r.nit
            if r.status == 3:
                assert abs(r.x[0] - 1 / 3) < 1e-12 and abs(r.x[1] + 1 / 7) < 1e-12


@pytest.mark.parametrize("fd_method", ["forward", "backward"])
def test_one_sided_differences(fd_method):
    ref = fc.minimize(rosenbrock, [-1.2, 1.0], jac=rosenbrock.grad,
                      options={"lr": 1e-3, "maxiter": 300, "gtol": 0}, method="gd")
    res = fc.minimize(rosen_py, [-1.2, 1.0],
                      options={"lr": 1e-3, "maxiter": 300, "gtol": 0, "fd_method": fd_method}, method="gd")
    np.testing.assert_allclose(res.x, ref.x, rtol=1e-5)
    with pytest.raises(ValueError, match="fd_method must be one of 'central', 'forward', 'backward'"):
        fc.minimize(rosen_py, [0.0, 0.0], options={"fd_method": "5-point"}, method="gd")


def test_newton_negative_curvature_takes_a_moderate_step():
    # sin has negative curvature at x = 1: the safeguarded Newton step goes to the nearest
    # minimum -pi/2 instead of jumping far away along a nearly singular shifted Hessian
    from fastcalc.functions import sin
    res = fc.minimize(sin, [1.0], method="newton", jac=sin.grad, hess=sin.hess)
    assert res.success
    np.testing.assert_allclose(res.x, [-np.pi / 2], atol=1e-9)


def test_multistart_workers_give_identical_results():
    x0 = np.random.default_rng(7).uniform(-5, 5, (2, 3000))
    opts = {"lr": 1e-3, "maxiter": 300, "gtol": 1e-4}
    one = fc.multistart(rastrigin, x0, jac=rastrigin.grad, options=opts)
    two = fc.multistart(rastrigin, x0, jac=rastrigin.grad, options=dict(opts, workers=2))
    np.testing.assert_array_equal(one.xs, two.xs)
    np.testing.assert_array_equal(one.nits, two.nits)
    assert one.njev == two.njev
    with pytest.raises(ValueError, match="workers must be a positive integer"):
        fc.multistart(rastrigin, x0, options={"workers": 0})


def test_newton_more_standard_problems_fd_only():
    # Moré, Garbow & Hillstrom test problems from their standard starts, Python f only
    def powell(x):       # singular Hessian at the minimum 0
        return ((x[0] + 10 * x[1]) ** 2 + 5 * (x[2] - x[3]) ** 2 + (x[1] - 2 * x[2]) ** 4
                + 10 * (x[0] - x[3]) ** 4)

    def helical(x):      # minimum 0 at (1, 0, 0)
        th = np.arctan2(x[1], x[0]) / (2 * np.pi)
        return 100 * ((x[2] - 10 * th) ** 2 + (np.hypot(x[0], x[1]) - 1) ** 2) + x[2] ** 2
    res = fc.minimize(powell, [3.0, -1.0, 0.0, 1.0], method="newton")
    assert res.success and res.fun < 1e-9
    res = fc.minimize(helical, [-1.0, 0.0, 0.0], method="newton")
    assert res.success and res.fun < 1e-14
    np.testing.assert_allclose(res.x, [1.0, 0.0, 0.0], atol=1e-7)


def test_hess_ignored_warning():
    with pytest.warns(RuntimeWarning, match="does not use Hessian"):
        fc.minimize(sphere, [1.0, 1.0], jac=sphere.grad, hess=sphere.hess, method="gd")


# ---------------------------------------------------------------------------------------------
# review regressions
# ---------------------------------------------------------------------------------------------

def test_fun_returning_size_one_array_like_scipy():
    # SciPy accepts an objective that returns a size-1 array (the classic lambda x: x**2 with
    # x of shape (1,)); so must the drop-in replacement
    ref = so.minimize(lambda x: (x - 3.0) ** 2, [0.0], jac=lambda x: 2 * (x - 3.0))
    res = fc.minimize(lambda x: (x - 3.0) ** 2, [0.0], jac=lambda x: 2 * (x - 3.0),
                      options={"lr": 0.25, "history": True, "gtol": 1e-10}, method="gd")
    assert res.success and isinstance(res.fun, float)
    np.testing.assert_allclose(res.x, ref.x, atol=1e-6)
    res = fc.minimize(lambda x: (x - 3.0) ** 2, [0.0], method="newton")
    assert res.success and res.x[0] == pytest.approx(3.0, abs=1e-7)
    res = fc.gradient_descent(lambda x: np.array([(x - 3.0) ** 2]), 0.0,
                              jac=lambda x: np.array([2 * (x - 3.0)]), lr=0.25)
    assert res.success and res.x == pytest.approx(3.0, abs=1e-7)
    assert fc.classify_critical_point(lambda x: x ** 2, [0.0]).kind == "minimum"
    with pytest.raises(ValueError, match="scalar"):
        fc.minimize(lambda x: x ** 2, [1.0, 2.0], method="gd")


def test_jac_true_accepts_a_list_like_scipy():
    fg = lambda x: [float(x @ x), 2 * x]
    ref = so.minimize(fg, [1.0, 2.0], jac=True)
    res = fc.minimize(fg, [1.0, 2.0], jac=True, options={"lr": 0.25, "gtol": 1e-8}, method="gd")
    assert res.success
    np.testing.assert_allclose(res.x, ref.x, atol=1e-7)
    with pytest.raises(ValueError, match="jac=True.*scalar"):
        fc.minimize(lambda x: (np.ones(2), 2 * x), [1.0, 2.0], jac=True, method="gd")


@pytest.mark.parametrize("c", [1e-20, 1e-13, 1.0, 1e20])
def test_classify_is_scale_invariant(c):
    # f and c f have the same critical points of the same kind; an exact Hessian of 2c I is
    # positive definite however small c is
    for kw in ({}, {"hess": lambda v: 2 * c * np.eye(2)},
               {"jac": lambda v: 2 * c * np.array([v[0], -v[1]])}):
        sign = -1.0 if "jac" in kw else 1.0
        res = fc.classify_critical_point(lambda v: c * (v[0] ** 2 + sign * v[1] ** 2), [0.0, 0.0],
                                         **kw)
        assert res.kind == ("saddle" if "jac" in kw else "minimum"), (kw, res.eigenvalues, res.tol)
    res = fc.classify_critical_point(lambda v: c * (v[0] ** 2 + v[1] ** 4), [0.0, 0.0])
    assert res.kind == "degenerate"


def test_gradient_descent_options_are_not_silently_overridden():
    # options={"maxiter": 5} used to be replaced by the keyword default maxiter=1000
    with pytest.raises(ValueError, match="maxiter as the keyword"):
        fc.gradient_descent(lambda x: x * x, 2.0, jac=lambda x: 2 * x, options={"maxiter": 5})
    with pytest.raises(ValueError, match="lr as the keyword"):
        fc.gradient_descent(lambda x: x * x, 2.0, options={"lr": 0.01})
    res = fc.gradient_descent(lambda x: x * x, 2.0, jac=lambda x: 2 * x, lr=0.1, maxiter=5,
                              gtol=0.0, options={"xtol": 0.0, "ftol": 0.0})
    np.testing.assert_allclose(res.path, 2.0 * 0.8 ** np.arange(6), rtol=1e-15)


@pytest.mark.parametrize("kind", ["python", "multistart", "lowlevel"])
def test_nonfinite_gradient_returns_the_last_good_iterate(kind):
    # f is only evaluated every 32 iterations on the fast path; when the gradient turns NaN after
    # a few good steps, "the best point seen" must not be the start (x_k = 2 * 0.8**k here, and
    # the gradient is NaN below 0.9: the last iterate with a finite gradient is 1.024)
    def g(x):
        return np.where(x < 0.9, np.nan, 2 * x)
    opts = {"lr": 0.1, "maxiter": 1000}
    if kind == "python":
        res = fc.minimize(lambda x: float(x @ x), [2.0], jac=g, options=opts, method="gd")
    elif kind == "lowlevel":
        numba = pytest.importorskip("numba")
        from numba import types

        @numba.cfunc(types.double(types.intc, types.CPointer(types.double)))
        def f_ll(n, x):
            return x[0] * x[0]

        @numba.cfunc(types.double(types.intc, types.CPointer(types.double)))
        def g_ll(n, x):
            return np.nan if x[0] < 0.9 else 2.0 * x[0]
        res = fc.minimize(f_ll, [2.0], jac=g_ll, options=opts, method="gd")
    else:
        ms = fc.multistart(lambda x: float(x @ x), np.array([[2.0, 2.0, 3.0]]), jac=g,
                           options=opts)
        assert (ms.statuses == 6).all() and not ms.successes.any()
        np.testing.assert_allclose(ms.xs[0, :2], [1.024, 1.024], rtol=1e-14)
        assert 0.9 <= ms.xs[0, 2] < 0.9 / 0.8
        np.testing.assert_allclose(ms.funs, ms.xs[0] ** 2, rtol=1e-14)
        return
    assert res.status == 6 and not res.success and "Divergence" in res.message
    np.testing.assert_allclose(res.x, [1.024], rtol=1e-14)
    assert res.fun == pytest.approx(1.024 ** 2, rel=1e-14)
    assert res.jac[0] == pytest.approx(2.048, rel=1e-14)


def test_bad_betas_name_the_option():
    for betas in (0.9, (0.9,), (0.9, 0.99, 0.5), "ab"):
        with pytest.raises(ValueError, match="betas must be a pair"):
            fc.minimize(lambda x: float(x @ x), [1.0], method="adam", options={"betas": betas})
    res = fc.minimize(lambda x: float(x @ x), [1.0], jac=lambda x: 2 * x, method="adam",
                      options={"betas": [0.8, 0.99], "maxiter": 3, "gtol": 0, "history": True})
    assert res.nit == 3


def test_line_search_zero_step_is_a_failure_not_maxiter():
    # Jennrich-Sampson from its standard start, Python f only: near the minimum the differenced
    # gradient and Hessian give a step so small that x + a d == x; Armijo accepted that "step"
    # (f unchanged) and Newton sat at the same point until maxiter
    i = np.arange(1, 11)

    def f(x):
        return float(np.sum((2 + 2 * i - (np.exp(i * x[0]) + np.exp(i * x[1]))) ** 2))
    res = fc.minimize(f, [0.3, 0.4], method="newton", options={"maxiter": 500, "history": True})
    assert res.status in (0, 3) and res.nit < 100, (res.status, res.nit)
    assert res.fun == pytest.approx(124.362182355615, rel=1e-12)
    np.testing.assert_allclose(res.x, [0.257825, 0.257825], atol=1e-6)
    assert np.all(np.any(np.diff(res.path, axis=0) != 0, axis=1))     # every step moved
    # a step that rounds f to the same value but moves x is still taken: 1e8 + x^2
    res = fc.minimize(lambda x: 1e8 + x[0] ** 2, [1e-5], method="newton",
                      jac=lambda x: 2 * x, hess=lambda x: np.array([[2.0]]))
    assert res.success and abs(res.x[0]) < 1e-15


def test_newton_nan_from_the_users_hessian_is_reported():
    # a Hessian of NaN used to be replaced silently by gradient steps ("success" on x @ x)
    nan_h = lambda x: np.full((2, 2), np.nan)
    res = fc.minimize(lambda x: float(x @ x), [1.0, 1.0], method="newton", hess=nan_h)
    assert res.status == 6 and not res.success and "Hessian" in res.message
    np.testing.assert_array_equal(res.x, [1.0, 1.0])
    assert res.fun == 2.0
    ms = fc.multistart(lambda x: float(x @ x), np.array([[1.0, 2.0], [1.0, 2.0]]),
                       method="newton", jac=lambda x: 2 * x,
                       hess=lambda x: np.eye(2) * (np.nan if x[0] > 1.5 else 2.0))
    np.testing.assert_array_equal(ms.statuses, [0, 6])
    assert ms.best == 0 and np.abs(ms.xs[:, 0]).max() < 1e-12


def wood_hess(x):
    H = np.zeros((4, 4))
    H[0, 0] = -400 * (x[1] - 3 * x[0] ** 2) + 2
    H[0, 1] = H[1, 0] = -400 * x[0]
    H[1, 1] = 220.2
    H[1, 3] = H[3, 1] = 19.8
    H[2, 2] = -360 * (x[3] - 3 * x[2] ** 2) + 2
    H[2, 3] = H[3, 2] = -360 * x[2]
    H[3, 3] = 200.2
    return H


@pytest.mark.parametrize("derivs", ["fgh", "fg", "f", "combined"])
@pytest.mark.parametrize("problem", ["beale", "wood"])
def test_newton_standard_problems_every_derivative_kind(problem, derivs):
    def beale_py(x):
        return ((1.5 - x[0] + x[0] * x[1]) ** 2 + (2.25 - x[0] + x[0] * x[1] ** 2) ** 2
                + (2.625 - x[0] + x[0] * x[1] ** 3) ** 2)
    if problem == "beale":
        f, g, h, x0, xs = beale_py, beale.grad, beale.hess, [1.0, 1.0], [3.0, 0.5]
    else:
        f, g, h, x0, xs = wood, wood_grad, wood_hess, [-3.0, -1.0, -3.0, -1.0], np.ones(4)
    kw = {"fgh": dict(jac=g, hess=h), "fg": dict(jac=g), "f": {},
          "combined": dict(jac=True, hess=h)}[derivs]
    fun = (lambda x: (f(x), np.asarray(g(x)))) if derivs == "combined" else f
    res = fc.minimize(fun, x0, method="newton", **kw)
    assert res.success, res.message
    np.testing.assert_allclose(res.x, xs, atol=1e-6 if derivs == "f" else 1e-8)
    assert res.fun < 1e-12


def test_absurd_multistart_sizes_are_refused_before_any_work():
    """Issue 10: multistart(n_starts=10**9) ran for hours; now a ValueError names the limit."""
    f = lambda x: np.sum(x ** 2)
    with pytest.raises(ValueError, match="n_starts"):
        fc.multistart(f, bounds=[(-1, 1)], n_starts=10 ** 9)
    with pytest.raises(ValueError, match="n_starts"):
        fc.multistart(f, bounds=[(-1, 1)] * 100, n_starts=10 ** 6)
    with pytest.raises(ValueError, match="n_starts"):
        fc.find_critical_points(f, [(-1, 1)] * 10, n_starts=10 ** 7)


def test_adam_bias_corrections_bit_for_bit_past_subnormal_powers():
    """10^4 Adam steps: beta1^t turns subnormal from t ~ 6700 (the kernel flushes it to 0 once
    1 - beta^t is exactly 1.0); the iterate is bit-for-bit a plain Python loop of the same rule
    with incremental powers, and agrees with exact powers (NumPy reference) to rounding."""
    def grad(x):
        return np.array([4.0 * x[0] ** 3 - 2.0 * x[0], 2.0 * (x[1] - 1.0)])
    steps, lr, b1, b2, eps = 10_000, 1e-3, 0.9, 0.999, 1e-8
    x, m, v = np.array([-1.2, 1.0]), np.zeros(2), np.zeros(2)
    p1 = p2 = 1.0
    for _ in range(steps):
        g = grad(x)
        p1 *= b1
        p2 *= b2
        for i in range(2):
            m[i] = b1 * m[i] + (1.0 - b1) * g[i]
            v[i] = b2 * v[i] + (1.0 - b2) * g[i] * g[i]
            x[i] -= lr * (m[i] / (1.0 - p1)) / (np.sqrt(v[i] / (1.0 - p2)) + eps)
    assert p1 < 2.0 ** -1022         # the reference went through subnormal powers
    res = fc.minimize(lambda x: x[0] ** 4 - x[0] ** 2 + (x[1] - 1.0) ** 2, [-1.2, 1.0], jac=grad,
                      method="adam", options={"lr": lr, "maxiter": steps, "gtol": 0.0})
    np.testing.assert_array_equal(res.x, x)
    assert res.nit == steps and res.status == 1
    ref = numpy_descent(grad, [-1.2, 1.0], "adam", lr, steps)[-1]
    np.testing.assert_allclose(res.x, ref, rtol=1e-12)
    np.testing.assert_allclose(res.x, [-np.sqrt(0.5), 1.0], atol=1e-6)
