"""Threads and blocks of starts in multistart and find_critical_points (issues 15, 16).

The block loop in C (fastcalc._descent.run_blocks) must give, for any ``workers``, exactly the
results of one thread, and those must match independent references: a NumPy loop of the same
steps, SciPy's rosen_der, the known critical points of Himmelblau's function.
"""
import numpy as np
import pytest
from scipy.optimize import rosen, rosen_der

import fastcalc as fc
from fastcalc.functions import himmelblau, rosenbrock


def _numpy_gd(X0, lr, steps):
    """GD on every start (columns of X0) with SciPy's rosen_der: the independent reference."""
    X = X0.copy()
    for j in range(X.shape[1]):
        x = X[:, j].copy()
        for _ in range(steps):
            x = x - lr * rosen_der(x)
        X[:, j] = x
    return X


def test_blocks_match_a_numpy_loop_of_the_same_steps():
    # 100 variables: blocks of 16 starts; 37 starts leave a partial last block
    X0 = np.random.default_rng(0).uniform(-0.5, 1.5, (100, 37))
    res = fc.multistart(rosenbrock, X0, jac=rosenbrock.grad,
                        options={"lr": 1e-4, "maxiter": 60, "gtol": 0.0})
    np.testing.assert_allclose(res.xs, _numpy_gd(X0, 1e-4, 60), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(res.funs, [rosen(x) for x in res.xs.T], rtol=1e-12)
    assert np.all(res.statuses == 1) and np.all(res.nits == 60)     # maxiter, not success
    assert not res.successes.any()


def _mixed_starts(k=300, n=10, seed=1):
    """Starts near the minimum (converge at different iterations), ordinary ones, and far ones
    whose gradient overflows (non-finite: the best point seen is returned)."""
    rng = np.random.default_rng(seed)
    X0 = rng.uniform(-0.5, 1.5, (n, k))
    X0[:, ::7] = 1.0 + rng.uniform(-1e-4, 1e-4, (n, X0[:, ::7].shape[1]))
    X0[:, 3::11] *= 1e3
    return X0


@pytest.mark.parametrize("workers", [2, -1])
def test_workers_give_bit_identical_results(workers):
    X0 = _mixed_starts()
    opts = {"lr": 1e-3, "maxiter": 400, "gtol": 1e-3}
    one = fc.multistart(rosenbrock, X0, jac=rosenbrock.grad, options=opts)
    many = fc.multistart(rosenbrock, X0, jac=rosenbrock.grad, options=dict(opts, workers=workers))
    for a in ("xs", "funs", "statuses", "nits"):
        np.testing.assert_array_equal(getattr(one, a), getattr(many, a))
    # the counters are shared by the threads (atomic): the same totals
    assert (one.nfev, one.njev) == (many.nfev, many.njev)
    # the mixture really is mixed: converged, stopped at maxiter, and non-finite starts
    assert {0, 1} <= set(one.statuses.tolist()) and 6 in one.statuses
    far = one.statuses == 6
    assert not one.successes[far].any()
    assert np.all(np.isfinite(one.xs[:, far])) and np.all(np.isfinite(one.funs[far]))
    conv = one.statuses == 0
    assert np.all(np.abs(np.array([rosen_der(x) for x in one.xs[:, conv].T])).max(axis=1) <= 1e-3)


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning")
def test_python_callables_run_on_one_thread_with_the_same_results():
    X0 = _mixed_starts(k=40, n=3)
    opts = {"lr": 1e-3, "maxiter": 100, "gtol": 1e-3}
    one = fc.multistart(rosen, X0, jac=rosen_der, options=opts)
    two = fc.multistart(rosen, X0, jac=rosen_der, options=dict(opts, workers=2))
    ref = fc.multistart(rosenbrock, X0, jac=rosenbrock.grad, options=opts)
    np.testing.assert_array_equal(one.xs, two.xs)
    np.testing.assert_array_equal(one.statuses, ref.statuses)
    np.testing.assert_allclose(one.xs[:, one.statuses != 6], ref.xs[:, ref.statuses != 6],
                               rtol=1e-12)


def test_find_critical_points_workers():
    kw = dict(n_starts=3000, seed=0)
    one = fc.find_critical_points(himmelblau, [(-5, 5), (-5, 5)], **kw)
    two = fc.find_critical_points(himmelblau, [(-5, 5), (-5, 5)], workers=2, **kw)
    np.testing.assert_array_equal(one.x, two.x)
    np.testing.assert_array_equal(one.counts, two.counts)
    assert one.kind == two.kind and (one.nfev, one.njev, one.nhev) == (two.nfev, two.njev,
                                                                        two.nhev)
    # Himmelblau's four minima (f = 0) and its maximum, from the literature
    minima = np.array([[3.0, 2.0], [-2.805118, 3.131312], [-3.779310, -3.283186],
                       [3.584428, -1.848126]])
    got = one.x[[k == "minimum" for k in one.kind]]
    assert got.shape == (4, 2)
    for p in minima:
        assert np.abs(got - p).max(axis=1).min() < 1e-5
    mx = one.x[[k == "maximum" for k in one.kind]]
    np.testing.assert_allclose(mx, [[-0.270845, -0.923039]], atol=1e-5)
    assert one.kind.count("saddle") == 4


@pytest.mark.parametrize("bad, exc", [(0, ValueError), (-2, ValueError), (1.5, TypeError),
                                      ("2", TypeError)])
def test_bad_workers(bad, exc):
    with pytest.raises(exc, match="workers"):
        fc.multistart(rosenbrock, np.zeros((2, 3)), options={"workers": bad})
    with pytest.raises(exc, match="workers"):
        fc.find_critical_points(himmelblau, [(-5, 5), (-5, 5)], n_starts=10, workers=bad)


def test_one_start_adam_matches_a_numpy_loop():
    # one start of 50 variables: the single-start path (contiguous variables, one-point gradient
    # of the built-in vectorized along the variables) against the Adam update written in NumPy
    x0 = np.tile([-1.2, 1.0], 25)
    res = fc.minimize(rosenbrock, x0, jac=rosenbrock.grad, method="adam",
                      options={"lr": 1e-3, "maxiter": 300, "gtol": 0.0})
    x, m, v = x0.copy(), np.zeros(50), np.zeros(50)
    for t in range(1, 301):
        g = rosen_der(x)
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        x = x - 1e-3 * (m / (1 - 0.9 ** t)) / (np.sqrt(v / (1 - 0.999 ** t)) + 1e-8)
    np.testing.assert_allclose(res.x, x, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(rosenbrock.grad(res.x), rosen_der(res.x), rtol=1e-13)


@pytest.mark.parametrize("jac_kind", ["python", "lowlevel"])
def test_fused_tiles_stop_each_start_on_its_own_evidence(jac_kind):
    """The fused check+step over tiles of 8 starts (n >= 16 variables), where f is not evaluated
    between checkpoints: starts whose gradient turns NaN between two f checks (status 6, the last
    iterate with a finite gradient returned), starts that reach gtol at different iterations
    (status 0, the iterate of that iteration) and starts that run out of iterations (status 1)
    sit in the same tiles; each matches a plain NumPy loop of the same rule."""
    n, lr, gtol, maxiter = 20, 0.1, 1e-3, 100
    c = np.array([2.0, 3.0, 5.0, 1e6, 4.0, 2.5, 1e5, 3.5] * 3)       # 24 starts: 3 tiles
    tag = np.where(np.arange(24) % 3 == 1, -1.0, 1.0)                # these go NaN below 1.0
    X0 = np.tile(c, (n, 1))
    X0[1] *= tag

    def grad_np(x):
        return np.full(n, np.nan) if x[1] < 0 and abs(x[0]) < 1.0 else x.copy()
    xs, st, nit = np.empty_like(X0), np.empty(24, int), np.empty(24, int)
    for j in range(24):
        x, prev = X0[:, j].copy(), None
        for t in range(maxiter + 1):
            g = grad_np(x)
            if not np.isfinite(g).all():
                xs[:, j], st[j], nit[j] = prev, 6, t
                break
            if np.abs(g).max() <= gtol:
                xs[:, j], st[j], nit[j] = x, 0, t
                break
            if t == maxiter:
                xs[:, j], st[j], nit[j] = x, 1, t
                break
            prev, x = x.copy(), x - lr * g
    assert set(st) == {0, 1, 6}
    opts = {"lr": lr, "maxiter": maxiter, "gtol": gtol}
    if jac_kind == "python":
        ms = fc.multistart(lambda x: 0.5 * float(x @ x), X0, jac=grad_np, options=opts)
    else:
        numba = pytest.importorskip("numba")
        from numba import types

        @numba.cfunc(types.double(types.intc, types.CPointer(types.double)))
        def f_ll(m, x):
            s = 0.0
            for i in range(m):
                s += x[i] * x[i]
            return 0.5 * s

        @numba.cfunc(types.void(types.intc, types.CPointer(types.double), types.intc,
                                types.CPointer(types.double), types.voidptr))
        def g_ll(m, x, nout, out, data):
            bad = x[1] < 0 and abs(x[0]) < 1.0
            for i in range(m):
                out[i] = np.nan if bad else x[i]
        ms = fc.multistart(f_ll, X0, jac=g_ll, options=opts)
    np.testing.assert_array_equal(ms.statuses, st)
    np.testing.assert_allclose(ms.xs, xs, rtol=1e-15, atol=0)
    np.testing.assert_allclose(ms.funs, 0.5 * (xs * xs).sum(axis=0), rtol=1e-14)
    np.testing.assert_array_equal(ms.nits[st != 6], nit[st != 6])
