"""Threads of the quad batch (``workers=``) and dask arrays in the batch APIs (in-process schedulers).

References: analytic integrals and derivatives (erf, rosen_der, rosen_hess), and the NumPy-input
call of the same routine for the bit-for-bit checks of the Dask path (the Dask path must not
change a single bit).  The real-cluster tests are in test_dask_cluster.py.
"""
import math
import pickle
import threading

import numpy as np
import pytest
import scipy
import scipy.special as ss
from scipy.optimize import rosen_der, rosen_hess

import fastcalc as fc
from fastcalc import functions as F


def _exp_cfunc():
    numba = pytest.importorskip("numba")

    @numba.cfunc("float64(intc, CPointer(float64))")
    def g(n, xx):
        return math.exp(-xx[1] * xx[0] * xx[0])
    return g


def _gauss_exact(a, b):
    return np.sqrt(np.pi / a) / 2 * ss.erf(np.sqrt(a) * b)


# ---------------------------------------------------------------------------------------------
# quad batch threads
# ---------------------------------------------------------------------------------------------

def test_quad_batch_threads_are_bit_identical_and_minus_one_is_all_cores():
    g = _exp_cfunc()
    llc = scipy.LowLevelCallable(g.ctypes)
    rng = np.random.default_rng(3)
    a = rng.uniform(0.1, 10.0, 5000)
    b = rng.uniform(0.1, 3.0, 5000)
    ref = fc.quad(llc, 0.0, b, args=(a,), epsabs=0.0, epsrel=1e-12)
    assert np.max(np.abs(ref[0] / _gauss_exact(a, b) - 1)) < 1e-12
    for w in (2, 3, -1):
        y, e = fc.quad(llc, 0.0, b, args=(a,), epsabs=0.0, epsrel=1e-12, workers=w)
        assert np.array_equal(y, ref[0]) and np.array_equal(e, ref[1])
    y, e, info = fc.quad(F.gauss, 0.0, b, workers=-1, full_output=1)
    y1, e1, info1 = fc.quad(F.gauss, 0.0, b, workers=1, full_output=1)
    assert np.array_equal(y, y1) and np.array_equal(e, e1) and info["neval"] == info1["neval"]


@pytest.mark.parametrize("workers, exc", [(0, ValueError), (-2, ValueError), (-5, ValueError),
                                          (2.5, TypeError), ("2", TypeError), (True, TypeError)])
def test_quad_batch_bad_workers(workers, exc):
    with pytest.raises(exc, match="workers"):
        fc.quad(F.gauss, 0.0, np.ones(10), workers=workers)


def test_as_workers_minus_one_is_the_core_count():
    import os
    from fastcalc._validation import as_workers
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    assert as_workers(-1) == cores and as_workers(3) == 3


# ---------------------------------------------------------------------------------------------
# dask arrays, in-process (threaded scheduler)
# ---------------------------------------------------------------------------------------------

@pytest.fixture
def da():
    dask = pytest.importorskip("dask")
    pytest.importorskip("distributed")
    import dask.array
    with dask.config.set(scheduler="threads"):
        yield dask.array


def test_quad_dask_limits_and_args(da):
    g = _exp_cfunc()
    rng = np.random.default_rng(0)
    a = rng.uniform(0.5, 4.0, (40, 25))
    b = rng.uniform(0.1, 2.0, (40, 25))
    ref = fc.quad(g, 0.0, b, args=(a,), epsabs=0.0, epsrel=1e-12)
    y, e = fc.quad(g, 0.0, da.from_array(b, chunks=(13, 10)), args=(da.from_array(a, chunks=7),),
                   epsabs=0.0, epsrel=1e-12)
    assert isinstance(y, da.Array) and y.shape == (40, 25)
    y, e = y.compute(), e.compute()
    assert np.array_equal(y, ref[0]) and np.array_equal(e, ref[1])
    assert np.max(np.abs(y / _gauss_exact(a, b) - 1)) < 1e-12
    # NumPy args with dask limits broadcast as in-process
    y2, _ = fc.quad(g, 0.0, da.from_array(b[0], chunks=5), args=(a,), epsabs=0.0, epsrel=1e-12)
    assert np.array_equal(y2.compute(), fc.quad(g, 0.0, b[0], args=(a,), epsabs=0.0,
                                                epsrel=1e-12)[0])


def test_quad_dask_full_output_is_lazy(da):
    b = np.linspace(0.0, 30.0, 64)
    b[5] = 1e4                      # one integral that does not converge (oscillation, limit 3)
    ref = fc.quad(F.sin, 0.0, b, limit=3, full_output=1)
    y, e, info = fc.quad(F.sin, 0.0, da.from_array(b, chunks=20), limit=3, full_output=1)
    assert isinstance(info["ier"], da.Array) and isinstance(info["neval"], da.Array)
    assert np.array_equal(y.compute(), ref[0]) and np.array_equal(e.compute(), ref[1])
    assert np.array_equal(info["ier"].compute(), ref[2]["ier"])
    assert int(info["neval"].compute()) == ref[2]["neval"]
    assert list(info["message"].compute()) == ref[2]["message"]
    assert info["ier"].compute()[5] != 0            # the failure is reported, not hidden


def test_gradient_hessian_jacobian_dask(da):
    x = np.random.default_rng(1).uniform(-2, 2, (3, 30, 20))
    xd = da.from_array(x, chunks=(3, 11, 7))
    g = fc.gradient(F.rosenbrock, xd)
    assert isinstance(g, da.Array) and g.shape == x.shape
    g = g.compute()
    assert np.array_equal(g, fc.gradient(F.rosenbrock, x))
    assert np.allclose(g, rosen_der(x), rtol=1e-7, atol=1e-6)
    h = fc.hessian(F.rosenbrock, xd).compute()
    assert h.shape == (3, 3, 30, 20) and np.array_equal(h, fc.hessian(F.rosenbrock, x))
    assert np.allclose(h[:, :, 4, 5], rosen_hess(x[:, 4, 5]), rtol=1e-5, atol=1e-4)

    def field(v):
        return np.array([v[0] * v[1], np.sin(v[2])])
    jac = fc.jacobian(field, xd).compute()
    assert jac.shape == (2, 3, 30, 20) and np.array_equal(jac, fc.jacobian(field, x))
    assert np.allclose(jac[1, 2], np.cos(x[2]), rtol=1e-8, atol=1e-10)


def test_derivative_dask_and_curves(da):
    t = np.linspace(0.0, 3.0, 101)
    td = da.from_array(t, chunks=30)
    d = fc.derivative(np.sin, td, vectorized=True)
    assert np.array_equal(d.compute(), fc.derivative(np.sin, t, vectorized=True))
    assert np.allclose(d.compute(), np.cos(t), rtol=1e-8, atol=1e-10)

    def helix(s):
        return np.array([np.cos(s), np.sin(s), s])
    v = fc.derivative(helix, td, vectorized=True)
    assert v.shape == (3, 101) and np.allclose(v.compute()[0], -np.sin(t), atol=1e-8)
    d32 = fc.derivative(F.sin, da.from_array(t.astype(np.float32), chunks=50))
    assert d32.dtype == np.float32 and d32.compute().dtype == np.float32


def test_full_output_gives_a_lazy_result(da):
    x = np.random.default_rng(2).uniform(-1, 1, (2, 50))
    res = fc.gradient(F.rastrigin, da.from_array(x, chunks=(2, 16)), full_output=True)
    ref = fc.gradient(F.rastrigin, x, full_output=True)
    assert isinstance(res.df, da.Array) and isinstance(res.status, da.Array)
    out = res.compute()
    assert type(out) is type(ref)
    for key in ref:
        assert np.array_equal(out[key], ref[key]), key
    assert int(res.nfev.compute()) == ref.nfev


def test_multistart_dask_matches_in_process(da):
    x0 = np.random.default_rng(4).uniform(-3, 3, (2, 1500))
    opts = {"lr": 1e-3, "maxiter": 300}
    ref = fc.multistart(F.rastrigin, x0, jac=F.rastrigin.grad, options=opts)
    res = fc.multistart(F.rastrigin, da.from_array(x0, chunks=(2, 200)), jac=F.rastrigin.grad,
                        options=opts)
    assert isinstance(res.funs, da.Array) and res.xs.shape == (2, 1500)
    out = res.compute()
    assert set(out) == set(ref)
    for key in ref:
        assert np.array_equal(out[key], ref[key]), key
    assert out.fun < 1e-10                      # rastrigin's global minimum is 0 at the origin


@pytest.mark.parametrize("api", ["gradient", "hessian", "multistart"])
def test_dask_chunked_along_variables_says_rechunk(da, api):
    x = da.from_array(np.ones((2, 10)), chunks=(1, 5))
    call = {"gradient": lambda: fc.gradient(F.sphere, x),
            "hessian": lambda: fc.hessian(F.sphere, x),
            "multistart": lambda: fc.multistart(F.sphere, x)}[api]
    with pytest.raises(ValueError, match=r"rechunk\(\{0: -1\}\)"):
        call()


def test_dask_bad_callables_are_clear_type_errors(da):
    lock = threading.Lock()

    def locked(v):
        with lock:
            return float(v[0])
    x = da.from_array(np.ones((2, 10)), chunks=(2, 5))
    with pytest.raises(TypeError, match="f=<function .*locked.*cannot be pickled"):
        fc.gradient(locked, x)
    g = _exp_cfunc()
    b = da.from_array(np.ones(10), chunks=5)
    with pytest.raises(TypeError, match="func=LowLevelCallable.*numba cfunc.*fastcalc.jit"):
        fc.quad(scipy.LowLevelCallable(g.ctypes), 0.0, b, args=(np.ones(10),))
    with pytest.raises(TypeError, match="args cannot be pickled"):
        fc.gradient(lambda v, L: v[0], x, args=(lock,))
    # the routine's own checks run before the graph is built
    with pytest.raises(ValueError, match="workers"):
        fc.quad(F.gauss, 0.0, b, workers=0)
    with pytest.raises(ValueError, match="accuracy"):
        fc.gradient(F.sphere, x, accuracy=3)


def test_compiled_callables_pickle_by_recipe(da):
    from fastcalc._daskmap import shippable
    import cloudpickle
    b = np.linspace(0.5, 2.0, 30)
    # built-in's .lowlevel: by name
    llc = pickle.loads(cloudpickle.dumps(shippable(F.gauss.lowlevel, "func"))).obj
    assert np.array_equal(fc.quad(llc, 0.0, b)[0], fc.quad(F.gauss.lowlevel, 0.0, b)[0])
    # numba cfunc: recompiled from its Python function and signature
    g = _exp_cfunc()
    g2 = pickle.loads(cloudpickle.dumps(shippable(g, "func"))).obj
    assert g2 is not g and g2.address != g.address
    assert np.array_equal(fc.quad(g2, 0.0, b, args=(b,))[0], fc.quad(g, 0.0, b, args=(b,))[0])
    # fastcalc.jit: its LowLevelCallable pickles as the Python function
    j = fc.jit(lambda s: math.exp(-s * s))
    j2 = pickle.loads(cloudpickle.dumps(j))
    assert j2.signature == "double (double)"
    y, _ = fc.quad(j, 0.0, da.from_array(b, chunks=7))
    assert np.array_equal(y.compute(), fc.quad(j2, 0.0, b)[0])
    assert np.allclose(y.compute(), np.sqrt(np.pi) / 2 * ss.erf(b), rtol=1e-12)


# ---------------------------------------------------------------------------------------------
# fastcalc bench --scaling
# ---------------------------------------------------------------------------------------------

def test_scaling_table_and_plot(tmp_path, capsys):
    pytest.importorskip("numba")
    pytest.importorskip("matplotlib")
    from fastcalc.bench.scaling import format_scaling, plot_scaling, scaling_rows
    from fastcalc.cli import main
    rows = scaling_rows(sizes=(200, 400), dask=False, repeats=1)
    assert [(r["workload"], r["n"]) for r in rows] == [
        (w, n) for w in ("integrals", "gradients", "multistart") for n in (200, 400)]
    assert all(r["1 thread"] > 0 for r in rows)
    text = format_scaling(rows)
    assert "eff" in text and "integrals" in text and max(map(len, text.splitlines())) <= 100
    png = plot_scaling(rows, tmp_path / "scaling.png")
    assert png.stat().st_size > 10_000
    with pytest.raises(SystemExit):
        main(["bench", "--plot", str(tmp_path / "x.png")])      # --plot needs --scaling
    assert "--scaling" in capsys.readouterr().err


def test_dask_user_exception_comes_back_unchanged(da):
    class Boom(Exception):
        pass

    def f(t):
        if np.any(t > 2.0):
            raise Boom("past 2")
        return np.sin(t)
    y = fc.quad(f, 0.0, da.from_array(np.linspace(0.5, 3.0, 40), chunks=10), vectorized=True)[0]
    with pytest.raises(Boom, match="past 2"):
        y.compute()


def test_jit_results_of_every_signature_pickle_as_their_recipe():
    pytest.importorskip("numba")
    import cloudpickle
    vec = fc.jit(lambda v: np.array([v[0] * v[1], v[0] + v[1]]), nout=2)
    nd = fc.jit(lambda v: v[0] * v[1], ndim=2)
    for f in (vec, nd):
        g = pickle.loads(cloudpickle.dumps(f))
        assert g.signature == f.signature and g is not f
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    assert np.array_equal(fc.evaluate(pickle.loads(cloudpickle.dumps(nd)), x), [3.0, 8.0])
    assert np.array_equal(fc.evaluate(pickle.loads(cloudpickle.dumps(vec)), x, nout=2),
                          [[3.0, 8.0], [4.0, 6.0]])
