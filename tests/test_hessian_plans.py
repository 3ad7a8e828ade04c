"""The Hessian kernel (``_hessplan``: the stencil in closed form, streamed) and the plan engine's
threads (``workers=`` of ``_plans.run``/``run_levels``, ``_steps.adaptive``, ``_diffcore``).

References: analytic Hessians (rosenbrock's ``.hess``, sympy for non-polynomial functions),
``scipy.optimize.rosen_hess``; fooling cases check that the reported error bounds the true one
or that the status says it does not.
"""
import os

import numpy as np
import pytest
import sympy as sp
from scipy.optimize import rosen, rosen_hess

import fastcalc as fc
from fastcalc import _diff, _diffcore, _hessplan, _plans, _steps
from fastcalc import functions as F
from fastcalc._core import as_evaluator

RNG = np.random.default_rng(1616)


def _sympy_hessian(expr, syms):
    H = sp.hessian(expr, syms)
    return sp.lambdify(syms, expr, "numpy"), sp.lambdify(syms, H, "numpy")


# ---------------------------------------------------------------------------------------------
# values against independent references
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("d", [2, 5, 40])
def test_rosenbrock_one_point_against_analytic(d):
    x = RNG.uniform(-1.2, 1.2, d)
    ex = F.rosenbrock.hess(x)
    r = fc.hessian(F.rosenbrock, x, full_output=True)
    assert r.success.all()
    assert (r.df == r.df.T).all()
    err = np.abs(r.df - ex)
    # coordinates near 0 get steps scaled by |x| (>= 1e-3): rounding-limited, and said so
    assert err.max() <= 1e-5 * np.abs(ex).max()
    assert (err <= r.error + 1e-12).all()             # the estimate bounds the true error
    assert r.nfev == 1 + 6 * d * d                    # the first pass: 3 levels, no point twice


def test_rosenbrock_against_scipy_rosen_hess():
    x = RNG.uniform(-1.5, 1.5, 12)
    r = fc.hessian(rosen, x, vectorized=True, full_output=True)
    ex = rosen_hess(x)
    assert np.abs(r.df - ex).max() <= 1e-6 * np.abs(ex).max()
    assert (np.abs(r.df - ex) <= r.error + 1e-12).all()


def test_sympy_non_polynomial():
    s = sp.symbols("a b c")
    expr = sp.exp(s[0] * s[1]) * sp.sin(s[2]) + sp.log(1 + s[0] ** 2) * sp.cos(s[1] * s[2])
    fn, hn = _sympy_hessian(expr, s)
    f = lambda v: fn(*v)
    for x in (np.array([0.3, -0.7, 1.1]), np.array([1.2, 0.4, -2.0])):
        ex = np.array(hn(*x), dtype=float)
        r = fc.hessian(f, x, full_output=True)
        assert r.success.all()
        assert np.abs(r.df - ex).max() <= 1e-8 * max(1.0, np.abs(ex).max())
        assert (np.abs(r.df - ex) <= r.error + 1e-14).all()
        Hf = fc.hessian(f, x, step="fixed")
        assert np.abs(Hf - ex).max() <= 1e-5 * max(1.0, np.abs(ex).max())


def test_sympy_many_points_and_methods():
    s = sp.symbols("a b")
    expr = sp.atan(s[0] * s[1]) + sp.exp(-s[0] ** 2) * s[1] ** 3
    fn, hn = _sympy_hessian(expr, s)
    X = RNG.uniform(-1, 1, (2, 7))
    ex = np.moveaxis(np.array([np.array(hn(*X[:, j]), dtype=float) for j in range(7)]), 0, -1)
    f = lambda v: fn(v[0], v[1])
    for kw in ({}, {"method": "forward"}, {"method": "backward", "accuracy": 4},
               {"accuracy": 4}, {"step": "fixed", "richardson": 2}):
        H = fc.hessian(f, X, vectorized=True, **kw)
        assert np.abs(H - ex).max() <= 1e-6, kw


def test_closed_form_matches_analytic_for_every_stencil():
    """The closed-form kernel itself (also the stencils whose levels share points, which small
    problems send to the general plan): every level of rosenbrock's stencil rows."""
    d = 6
    x = RNG.uniform(-1, 1, (d, 1))
    ex = F.rosenbrock.hess(x[:, 0])
    rows = np.array([ex[i, j] for i in range(d) for j in range(i, d)])
    for meth, acc in ((0, 2), (0, 4), (0, 8), (1, 1 + 1), (2, 4)):
        ev = as_evaluator(F.rosenbrock, d, 1, False, True, False, ())
        h = np.full((d, 1), 2e-3 if meth == 0 else 2e-4)
        vals, absv = _hessplan.levels(ev, meth, acc, (1.0, 0.5), x, h)
        assert vals.shape == (1, 2, len(rows), 1)
        tol = 1e-4 if meth == 0 else 2e-2
        assert np.abs(vals[0, 1, :, 0] - rows).max() <= tol * np.abs(rows).max(), (meth, acc)
        assert (absv >= 0).all()
        assert ev.nfev == _hessplan.points_per_point(d, meth, acc, 2)


def test_fixed_step_full_output_estimate():
    x = RNG.uniform(-1, 1, 8)
    ex = F.rosenbrock.hess(x)
    r = fc.hessian(F.rosenbrock, x, step="fixed", full_output=True)
    assert np.abs(r.df - ex).max() <= 1e-5 * np.abs(ex).max()
    assert (np.abs(r.df - ex) <= r.error + 1e-9).all()


# ---------------------------------------------------------------------------------------------
# honest status on cases built to fool the estimate
# ---------------------------------------------------------------------------------------------

def _honest(r, ex):
    """Every element that claims success is within its error estimate of the truth."""
    ok = r.status >= 0
    assert (np.abs(r.df - ex)[ok] <= r.error[ok] + 1e-12 * np.abs(ex)[ok].max(initial=1)).all()


def test_fool_oscillation():
    w = 300.0
    f = lambda v: np.sin(w * v[0] * v[1]) + v[2] ** 2
    x = np.array([1.3, 0.7, 0.2])
    a, b = x[0], x[1]
    s, c = np.sin(w * a * b), np.cos(w * a * b)
    ex = np.array([[-(w * b) ** 2 * s, w * c - w * w * a * b * s, 0],
                   [w * c - w * w * a * b * s, -(w * a) ** 2 * s, 0], [0, 0, 2]])
    r = fc.hessian(f, x, full_output=True)
    _honest(r, ex)


def test_fool_domain_edge_and_singularity():
    f = lambda v: np.sqrt(v[0]) * v[1] + np.log(v[1])
    x = np.array([1e-9, 2.0])
    ex = np.array([[-0.25 * x[0] ** -1.5 * x[1], 0.5 / np.sqrt(x[0])],
                   [0.5 / np.sqrt(x[0]), -1 / x[1] ** 2]])
    with np.errstate(invalid="ignore"):
        r = fc.hessian(f, x, full_output=True)
    _honest(r, ex)
    assert r.status[1, 1] == 0


@pytest.mark.parametrize("scale", [1e-8, 1e8])
def test_fool_tiny_and_huge_scales(scale):
    f = lambda v: np.cos(v[0] / scale) * np.exp(v[1] / scale)
    x = np.array([0.4, -0.3]) * scale
    u, v = x / scale
    ex = np.array([[-np.cos(u) * np.exp(v), -np.sin(u) * -1 * np.exp(v) * 1.0 * -1],
                   [0, 0]]) / scale ** 2
    ex = np.array([[-np.cos(u), -np.sin(u)], [-np.sin(u) * 1.0, np.cos(u)]]) * np.exp(v)
    ex[0, 1] = ex[1, 0] = -np.sin(u) * np.exp(v)
    ex = ex / scale ** 2
    r = fc.hessian(f, x, full_output=True)
    _honest(r, ex)
    assert r.success.all()


def test_nonfinite_reported():
    f = lambda v: 1.0 / (v[0] - 0.5) + v[1] ** 2 if abs(v[0] - 0.5) > 1e-6 else np.nan
    r = fc.hessian(f, np.array([0.5, 1.0]), full_output=True)
    assert r.status[0, 0] < 0 and np.isnan(r.error[0, 0])      # the stencil met f(x) = NaN
    assert r.status[0, 1] == 0 and r.df[0, 1] == 0.0              # its stencil does not use x
    with pytest.raises(ValueError, match="NaN"):
        fc.hessian(f, np.array([0.5, 1.0]))


# ---------------------------------------------------------------------------------------------
# size: d = 2000 runs, memory-sized refusals
# ---------------------------------------------------------------------------------------------

def test_d2000_runs():
    """d = 2000 (8M stencil points of 2000 variables: the cheapest built-in, one level)."""
    n = 2000
    x = np.linspace(0.5, 1.5, n)         # steps ~ |x| eps**(1/4): rounding ~ f eps / h**2 < 1e-4
    S = _diffcore.Setup(F.sphere, x, "central", 2, 0, (), "fixed", None, None)
    ev = as_evaluator(F.sphere, n, 1, False, True, False, ())
    val, err, st, h = _diffcore.compute(S, ev, _steps.HessianSpecs(n), [2] * n,
                                        np.arange(n, dtype=np.intc), workers=2)
    assert val.shape == (1, n * (n + 1) // 2, 1)
    i, j = np.triu_indices(n)
    assert np.abs(val[0, :, 0] - np.where(i == j, 2.0, 0.0)).max() <= 1e-3
    assert (st == 0).all()
    assert ev.nfev == 1 + 2 * n * n


def test_too_big_for_memory_names_the_size():
    n = int(np.sqrt(2 * _plans.MAX_HESSIAN_ROWS)) + 10
    S = _diffcore.Setup(F.rosenbrock, np.ones(n), "central", 2, 0, (), None, None, None)
    ev = as_evaluator(F.rosenbrock, n, 1, False, True, False, ())
    with pytest.raises(ValueError, match=f"Hessian of {n} variables.*GiB"):
        _diffcore.compute(S, ev, _steps.HessianSpecs(n), [2] * n, np.arange(n, dtype=np.intc))
    with pytest.raises(ValueError, match="GiB"):
        _hessplan._alloc((1 << 40, 1 << 20), "the Hessian")


def test_bad_input_of_the_kernel_entries():
    ev = as_evaluator(F.rosenbrock, 3, 1, False, True, False, ())
    x = np.ones((3, 1))
    with pytest.raises(ValueError, match="h must have shape"):
        _hessplan.levels(ev, 0, 2, (1.0,), x, np.ones((2, 1)))
    with pytest.raises(ValueError, match="variables"):
        _hessplan.levels(ev, 0, 2, (1.0,), np.ones((4, 1)), np.ones((4, 1)))
    with pytest.raises(ValueError, match="no Hessian stencil"):
        _hessplan.levels(ev, 0, 3, (1.0,), x, np.ones((3, 1)))
    with pytest.raises(ValueError, match="levels"):
        _hessplan.levels(ev, 0, 2, tuple([1.0] * 49), x, np.ones((3, 1)))
    with pytest.raises(ValueError, match="rdir"):
        _hessplan.first_pass(ev, 0, 2, x, np.ones((3, 1)), np.ones((2, 1)), 0.0, 0.0)
    ev2 = as_evaluator(lambda v: v[:2], 3, 2, False, False, False, ())
    with pytest.raises(ValueError, match="scalar"):
        _hessplan.levels(ev2, 0, 2, (1.0,), x, np.ones((3, 1)))
    assert _hessplan.hessian_size((("d", 0, 2), ("m", 0, 1), ("d", 1, 2))) == 2
    assert _hessplan.hessian_size((("d", 0, 2), ("m", 0, 1), ("d", 1, 1))) == 0
    assert _hessplan.hessian_size((("d", 0, 1),)) == 0


@pytest.mark.parametrize("kw", [{}, {"method": "forward"}, {"method": "backward"},
                                {"accuracy": 4}, {"accuracy": 6}, {"rtol": 1e-6},
                                {"atol": 1e-3}, {"atol": 0.0, "rtol": 1e-4}])
def test_one_point_fast_path_is_the_engine_bit_for_bit(kw):
    """The compiled one-point road of fc.hessian (checked first pass, test and matrix in C) gives
    the bits of full_output=True (the engine), or hands over to the engine: every kind of f,
    scales from 1e-4 to 1e3, n from 1 to 30."""
    g = lambda z: float(np.sum(np.sin(z)) * np.exp(z[0]))
    rng = np.random.default_rng(77)
    done = 0
    for n in (1, 2, 3, 10, 30):
        for _ in range(3):
            x = rng.uniform(-2, 2, n) * 10.0 ** rng.integers(-4, 4)
            for f, vec in ((rosen, False), (rosen, True), (F.rosenbrock, False), (g, False)):
                if (n == 1 and f is not g) or (n > 10 and not (vec or f is F.rosenbrock)):
                    continue                      # (scalar Python f searching at n = 30: slow)
                r = fc.hessian(f, x, vectorized=vec, full_output=True, **kw)
                if not (r.status == 0).all():
                    continue                      # the plain call warns, tested elsewhere
                assert np.array_equal(fc.hessian(f, x, vectorized=vec, **kw), r.df)
                assert np.array_equal(r.df, r.df.T)
                done += 1
    assert done >= 10, done


def test_vectorized_small_hessian_is_one_call_per_point():
    """A small Hessian's evaluations at one point go in ONE batch (f(x), the singles and the
    double displacements): a vectorized Python f is called once, with all 1 + 6 n + 12 n(n-1)/2
    points, and the result is the analytic one."""
    shapes = []

    def f(X):
        shapes.append(X.shape)
        return rosen(X)
    x = RNG.uniform(-1.5, 1.5, 10)
    H = fc.hessian(f, x, vectorized=True)
    assert shapes == [(10, 1 + 6 * 10 + 12 * 45)]
    assert np.max(np.abs(H - rosen_hess(x))) <= 1e-8 * np.max(np.abs(rosen_hess(x)))
    shapes.clear()
    r = fc.hessian(f, x, vectorized=True, full_output=True)
    assert shapes == [(10, 601)] and r.nfev == 601 and np.array_equal(r.df, H)


def test_fast_paths_validate_tolerances_as_the_engine():
    """A negative atol is refused (the compiled paths use -1 internally for 'the rounding
    floor': a user's negative value must not mean that), as are atol = rtol = 0."""
    x = np.array([0.5, -1.0, 2.0])
    for fn in (fc.gradient, fc.hessian, fc.jacobian):
        with pytest.raises(ValueError, match="atol must be >= 0"):
            fn(rosen, x, atol=-5.0)
        with pytest.raises(ValueError, match="both be zero"):
            fn(rosen, x, atol=0.0, rtol=0.0)
        with pytest.raises(ValueError, match="rtol must be >= 0"):
            fn(rosen, x, rtol=-1.0)


def test_user_exception_propagates_unchanged():
    calls = []

    def f(v):
        calls.append(1)
        if len(calls) == 40:
            raise KeyError("boom")
        return float(v @ v)
    with pytest.raises(KeyError, match="boom"):
        fc.hessian(f, np.ones(6))


# ---------------------------------------------------------------------------------------------
# threads: bit-identical to one thread
# ---------------------------------------------------------------------------------------------

def _compute(f, x, specs, kdir, dcoord, workers, nout=1, step=None, vectorized=False):
    S = _diffcore.Setup(f, x, "central", 2, 0, (), step, None, None)
    ev = as_evaluator(f, S.nvar, nout, False, nout == 1, vectorized, ())
    val, err, st, h = _diffcore.compute(S, ev, specs, kdir, dcoord, workers=workers)
    return val, err, st, ev.nfev


@pytest.mark.parametrize("step", [None, "fixed"])
def test_threads_bit_identical_hessian_many_points_and_one_big(step):
    n = 6
    X = RNG.uniform(-1.5, 1.5, (n, 300))
    specs = tuple(("d", i, 2) if i == j else ("m", i, j) for i in range(n) for j in range(i, n))
    dc = np.arange(n, dtype=np.intc)
    a = _compute(F.rosenbrock, X, specs, [2] * n, dc, 1, step=step)
    b = _compute(F.rosenbrock, X, specs, [2] * n, dc, 2, step=step)
    for u, v in zip(a, b):
        assert u is None and v is None or np.array_equal(u, v)
    n = 120
    x = RNG.uniform(-1, 1, n)
    dc = np.arange(n, dtype=np.intc)
    a = _compute(F.rosenbrock, x, _steps.HessianSpecs(n), [2] * n, dc, 1, step=step)
    b = _compute(F.rosenbrock, x, _steps.HessianSpecs(n), [2] * n, dc, 2, step=step)
    assert np.array_equal(a[0], b[0]) and a[3] == b[3]


def test_threads_bit_identical_gradient_and_jacobian():
    n = 5
    X = RNG.uniform(-1.5, 1.5, (n, 4000))
    dc = np.arange(n, dtype=np.intc)
    specs = tuple(("d", i, 1) for i in range(n))
    a = _compute(F.rosenbrock, X, specs, [1] * n, dc, 1)
    b = _compute(F.rosenbrock, X, specs, [1] * n, dc, 2)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[2], b[2]) and a[3] == b[3]
    np.testing.assert_allclose(a[0][0], F.rosenbrock.grad(X), rtol=1e-6, atol=1e-6)
    a = _compute(F.rosenbrock, X, specs, [1] * n, dc, 1, step="fixed")
    b = _compute(F.rosenbrock, X, specs, [1] * n, dc, 2, step="fixed")
    assert np.array_equal(a[0], b[0])
    # a Jacobian: a vector-valued numba cfunc (the protocol's vector-output signature)
    numba = pytest.importorskip("numba")
    from numba import carray, types

    @numba.cfunc(types.void(types.intc, types.CPointer(types.double), types.intc,
                            types.CPointer(types.double), types.voidptr))
    def vf(nn, xp, mm, op, ud):
        xv = carray(xp, (nn,))
        ov = carray(op, (mm,))
        for k in range(mm):
            ov[k] = xv[k] ** 2 * xv[(k + 1) % nn]
    a = _compute(vf, X, specs, [1] * n, dc, 1, nout=n)
    b = _compute(vf, X, specs, [1] * n, dc, 2, nout=n)
    assert np.array_equal(a[0], b[0]) and a[3] == b[3]
    J = a[0]                        # (nout, n, m): J[k, i] = d out_k / d x_i
    k = np.arange(n)
    ex = np.zeros((n, n, X.shape[1]))
    ex[k, k] = 2 * X[k] * X[(k + 1) % n]
    ex[k, (k + 1) % n] += X[k] ** 2
    np.testing.assert_allclose(J, ex, rtol=1e-7, atol=1e-7)


def test_threads_plan_run_keyword_and_python_callables():
    n = 4
    X = RNG.uniform(-1, 1, (n, 500))
    plan = _plans.make_plan(tuple(("d", i, 1) for i in range(n)), 0, 2, 2)
    h = np.full((n, 500), 1e-4)
    dc = np.arange(n, dtype=np.intc)
    outs = []
    for f, vec in ((F.rosenbrock, False), (rosen, True)):
        for w in (1, 2):
            ev = as_evaluator(f, n, 1, False, True, vec, ())
            outs.append(_plans.run(ev, plan, X, h, dc, None, None, True, workers=w)[0])
            ev = as_evaluator(f, n, 1, False, True, vec, ())
            vals, _ = _plans.run_levels(ev, plan, X, h, dc, workers=w)
            assert vals.shape == (1, 2, n, 500)
    assert np.array_equal(outs[0], outs[1]) and np.array_equal(outs[2], outs[3])
    np.testing.assert_allclose(outs[0][0], F.rosenbrock.grad(X), rtol=1e-6, atol=1e-6)


def test_fd_hessian_is_the_same_kernel():
    x = RNG.uniform(-1, 1, (7, 3))
    H = _diff._fd_hessian(F.rosenbrock, x)
    assert np.array_equal(H, fc.hessian(F.rosenbrock, x, step="fixed"))
    ex = F.rosenbrock.hess(x)
    assert np.abs(H - ex).max() <= 1e-5 * np.abs(ex).max()


def test_public_hessian_peak_memory_is_about_three_results():
    """Issue 16: a single Hessian's extra memory is O(n**2 + block), at most ~3x the result
    (NumPy allocations traced; the C block buffers are a few hundred KB)."""
    import tracemalloc
    x = np.full(500, 0.7)       # a 2 MB result: the fixed overhead (~0.3 MB) stays small
    fc.hessian(F.rosenbrock, np.full(5, 0.7))
    tracemalloc.start()
    try:
        H = fc.hessian(F.rosenbrock, x)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    np.testing.assert_allclose(H, F.rosenbrock.hess(x), rtol=1e-7, atol=1e-6)
    # 2.65x normally; the ASan build (PYTHONMALLOC=malloc) traces ~0.3 MB more
    assert peak <= (3.0 if os.environ.get("PYTHONMALLOC") != "malloc" else 3.3) * H.nbytes, peak / H.nbytes
