"""The callable adapter (fastcalc._core): every kind of callable, args, errors, Ctrl-C."""
import ctypes
import ctypes.util
import sys
import threading
import time
import traceback
import weakref

import numpy as np
import pytest
from scipy import LowLevelCallable
from scipy.optimize import rosen

import fastcalc as fc
from fastcalc import functions as F
from fastcalc._core import as_evaluator, evaluate

numba = pytest.importorskip("numba")
from numba import carray, types  # noqa: E402
from conftest import ctrl_c_until_done

rng = np.random.default_rng(42)


def libm_sin():
    libm = ctypes.CDLL(ctypes.util.find_library("m") or "libm.so.6")
    fn = libm.sin
    fn.restype = ctypes.c_double
    fn.argtypes = [ctypes.c_double]
    return fn


# ---- low-level callables of every accepted signature, made with numba ----

@numba.cfunc(types.double(types.double))
def cf_d(x):
    return x * x + 1.0


@numba.cfunc(types.double(types.double, types.CPointer(types.double)))
def cf_dv(x, ud):
    return ud[0] * x + ud[1]


@numba.cfunc(types.double(types.intc, types.CPointer(types.double)))
def cf_id(n, xp):
    s = 0.0
    for i in range(n):
        s += (i + 1) * xp[i]
    return s


@numba.cfunc(types.double(types.intc, types.CPointer(types.double), types.CPointer(types.double)))
def cf_idv(n, xp, ud):
    s = 0.0
    for i in range(n):
        s += xp[i] * xp[i]
    return s * ud[0]


@numba.cfunc(types.void(types.intc, types.CPointer(types.double), types.intc,
                        types.CPointer(types.double), types.voidptr))
def cf_vec(n, xp, m, out, ud):
    x = carray(xp, (n,))
    o = carray(out, (m,))
    o[0] = x[0] + x[1]
    o[1] = x[0] * x[1]
    o[2] = n


@numba.cfunc(types.int32(types.int32))
def cf_bad(x):
    return x


def _ud(values):
    arr = (ctypes.c_double * len(values))(*values)
    return arr, ctypes.cast(arr, ctypes.c_void_p)


def test_builtin_kind():
    x = rng.uniform(-2, 2, (4, 50))
    ev = as_evaluator(F.rosenbrock, n=4)
    assert ev.kind_name == "builtin" and ev.nogil
    np.testing.assert_allclose(evaluate(F.rosenbrock, x)[0], rosen(x), rtol=1e-15)


def test_lowlevel_double_double():
    x = rng.uniform(-2, 2, (1, 20))
    np.testing.assert_allclose(evaluate(LowLevelCallable(cf_d.ctypes), x)[0], x[0] ** 2 + 1)
    # the numba cfunc object and a ctypes pointer are accepted directly
    np.testing.assert_allclose(evaluate(cf_d, x)[0], x[0] ** 2 + 1)
    np.testing.assert_allclose(evaluate(libm_sin(), x)[0], np.sin(x[0]), rtol=1e-15)


def test_lowlevel_user_data_and_args():
    x = rng.uniform(-2, 2, (1, 10))
    arr, ptr = _ud([3.0, -1.0])
    llc = LowLevelCallable(cf_dv.ctypes, ptr, signature="double (double, void *)")
    np.testing.assert_allclose(evaluate(llc, x)[0], 3 * x[0] - 1)
    # args reach a 'double (double, void *)' callable without user_data as a double array
    bare = LowLevelCallable(cf_dv.ctypes, signature="double (double, void *)")
    np.testing.assert_allclose(evaluate(bare, x, args=(2.0, 5.0))[0], 2 * x[0] + 5)
    with pytest.raises(ValueError, match="user_data"):
        evaluate(llc, x, args=(1.0, 2.0))
    with pytest.raises(TypeError, match="args cannot reach"):
        evaluate(cf_d, x, args=(1.0,))
    del arr


def test_lowlevel_int_pointer_appends_args():
    x = rng.uniform(-2, 2, (3, 7))
    w = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(evaluate(cf_id, x)[0], w @ x)
    # args are appended to x, as scipy.integrate.nquad does: n counts them
    np.testing.assert_allclose(evaluate(cf_id, x, args=(10.0,))[0], w @ x + 4 * 10.0)
    arr, ptr = _ud([0.5])
    llc = LowLevelCallable(cf_idv.ctypes, ptr, signature="double (int, double *, void *)")
    np.testing.assert_allclose(evaluate(llc, x)[0], 0.5 * (x ** 2).sum(0))
    del arr


def test_lowlevel_vector_output():
    x = rng.uniform(-2, 2, (2, 9))
    out = evaluate(cf_vec, x, nout=3)
    np.testing.assert_allclose(out, [x[0] + x[1], x[0] * x[1], np.full(9, 2.0)])


def test_many_variables_go_to_the_heap():
    x = rng.uniform(-1, 1, (200, 5))
    np.testing.assert_allclose(evaluate(cf_id, x)[0], np.arange(1, 201) @ x, rtol=1e-13)
    np.testing.assert_allclose(evaluate(F.rosenbrock.lowlevel, x)[0], rosen(x), rtol=1e-14)
    g = evaluate(F.rosenbrock.grad.lowlevel, x, nout=200)
    np.testing.assert_allclose(g, F.rosenbrock.grad(x), rtol=1e-14)


def test_unsupported_signature_and_objects():
    with pytest.raises(TypeError, match="double \\(int, double \\*\\)"):
        evaluate(cf_bad, np.zeros((1, 3)))
    with pytest.raises(TypeError, match="Python callable"):
        evaluate(42, np.zeros((1, 3)))
    with pytest.raises(TypeError, match="takes one variable"):
        evaluate(cf_d, np.zeros((2, 3)))
    with pytest.raises(TypeError, match="outputs needs"):
        evaluate(cf_id, np.zeros((2, 3)), nout=2)
    with pytest.raises(ValueError, match="takes 2 variable"):
        evaluate(F.himmelblau, np.zeros((3, 3)))
    with pytest.raises(TypeError, match="takes no args"):
        evaluate(F.sphere, np.zeros((3, 3)), args=(1.0,))
    with pytest.raises(ValueError, match="outputs per point"):
        evaluate(F.sphere, np.zeros((3, 3)), nout=2)
    with pytest.raises(ValueError):
        as_evaluator(F.sphere, n=0)


def test_python_scalar_and_vectorized():
    x = rng.uniform(-2, 2, (5, 11))
    np.testing.assert_allclose(evaluate(rosen, x)[0], rosen(x))
    calls = []

    def vec(z, a):
        calls.append(z.shape)
        return rosen(z) + a

    np.testing.assert_allclose(evaluate(vec, x, vectorized=True, args=(2.0,))[0], rosen(x) + 2)
    assert calls == [(5, 11)]                      # one call per batch, variables on axis 0
    # scalar_x: a float per point / a 1-D array of points
    y = rng.uniform(-2, 2, (1, 6))
    seen = []
    ev_out = evaluate(lambda t: (seen.append(type(t)), t * 3.0)[1], y, scalar_x=True)
    np.testing.assert_allclose(ev_out[0], 3 * y[0])
    assert set(seen) == {float}
    np.testing.assert_allclose(evaluate(lambda t: np.cos(t), y, scalar_x=True, vectorized=True)[0],
                               np.cos(y[0]))
    # vector output from Python
    np.testing.assert_allclose(evaluate(lambda z: [z[0], -z[1]], x[:2], nout=2), [x[0], -x[1]])
    np.testing.assert_allclose(evaluate(lambda z: np.stack([z[0], -z[1]]), x[:2], nout=2,
                                        vectorized=True), [x[0], -x[1]])
    # numpy scalars, 0-d arrays and ints are accepted
    for ret in (np.float32(1.5), np.array(1.5), 1):
        assert evaluate(lambda z, r=ret: r, x)[0][0] == float(ret)


def test_buffer_reuse_is_safe_when_the_user_keeps_x():
    x = rng.uniform(-2, 2, (3, 8))
    kept = []
    evaluate(lambda z: (kept.append(z), 0.0)[1], x)
    np.testing.assert_array_equal(np.array(kept).T, x)
    prev, same = [], []

    def f(z):
        same.append(bool(prev) and prev[-1]() is z)
        prev.append(weakref.ref(z))
        return 0.0

    evaluate(f, x)
    assert same == [False] + [True] * 7             # one array, reused when nobody keeps it


@pytest.mark.parametrize("ret, exc, match", [
    (np.zeros(2), ValueError, "scalar"),
    ("abc", TypeError, "real number"),
    (None, TypeError, "NoneType"),
    (1 + 2j, TypeError, "complex"),
    (np.array(1 + 1j), TypeError, "complex"),
])
def test_python_wrong_return(ret, exc, match):
    with pytest.raises(exc, match=match):
        evaluate(lambda z: ret, np.zeros((2, 3)))


@pytest.mark.parametrize("vectorized", [False, True])
def test_complex_vector_results_are_rejected_not_truncated(vectorized):
    with pytest.raises(TypeError, match="complex"):
        evaluate(lambda z: z.astype(complex) + 1j, np.zeros((2, 3)), nout=2, vectorized=vectorized)
    with pytest.raises(TypeError, match="complex"):
        evaluate(lambda z: z[0] + 0j, np.zeros((2, 3)), vectorized=True)


def test_vectorized_wrong_return():
    with pytest.raises(ValueError, match="shape"):
        evaluate(lambda z: z, np.zeros((2, 3)), vectorized=True)
    with pytest.raises(ValueError, match="shape"):
        evaluate(lambda z: 1.0, np.zeros((2, 3)), vectorized=True)
    with pytest.raises(TypeError, match="real numbers"):
        evaluate(lambda z: ["a"] * 3, np.zeros((2, 3)), vectorized=True)
    with pytest.raises(ValueError, match="shape"):
        evaluate(lambda z: [1.0], np.zeros((2, 3)), nout=2)


class MyError(Exception):
    pass


@pytest.mark.parametrize("vectorized", [False, True])
def test_user_exception_propagates_unchanged(vectorized):
    err = MyError("boom")
    calls = []

    def f(z):
        calls.append(1)
        if len(calls) == 3 or vectorized:
            raise err
        return 0.0

    with pytest.raises(MyError) as info:
        evaluate(f, np.zeros((2, 10)), vectorized=vectorized)
    assert info.value is err
    assert "raise err" in "".join(traceback.format_tb(info.tb))
    assert len(calls) == (1 if vectorized else 3)   # the loop stopped at the raise


def test_nan_and_inf_pass_through():
    x = np.array([[np.nan, np.inf, 1.0]])
    out = evaluate(lambda t: t * 2, x, scalar_x=True)[0]
    assert np.isnan(out[0]) and out[1] == np.inf and out[2] == 2.0
    assert np.isnan(evaluate(F.square, x)[0][0])


def test_empty_batch():
    assert evaluate(F.rosenbrock, np.zeros((3, 0))).shape == (1, 0)
    assert evaluate(rosen, np.zeros((3, 0))).shape == (1, 0)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_interrupts_lowlevel_loop():
    @numba.cfunc(types.double(types.double))
    def slow(x):
        s = 0.0
        for i in range(2000):
            s += np.sin(x + i)
        return s

    x = np.zeros((1, 20_000_000))                  # minutes of work if not interrupted
    t0 = time.perf_counter()
    with pytest.raises(KeyboardInterrupt), ctrl_c_until_done():
        evaluate(slow, x)
    assert time.perf_counter() - t0 < 30            # interrupted, not run to completion


def test_jit_scalar_array_and_vector():
    f = fc.jit(lambda t: t * t - 1.0)
    assert f.signature == "double (double)"
    x = rng.uniform(-2, 2, (1, 5))
    np.testing.assert_allclose(evaluate(f, x)[0], x[0] ** 2 - 1)

    def g(z):
        return z[0] * z[1] + z[2]

    gl = fc.jit(g, ndim=3)
    y = rng.uniform(-2, 2, (3, 4))
    np.testing.assert_allclose(evaluate(gl, y)[0], y[0] * y[1] + y[2])
    gv = fc.jit(lambda z: np.array([z[0] + z[1], z[0] - z[1]]), nout=2)
    np.testing.assert_allclose(evaluate(gv, y[:2], nout=2), [y[0] + y[1], y[0] - y[1]])
    with pytest.raises(TypeError):
        fc.jit(3)
    with pytest.raises(ValueError):
        fc.jit(g, nout=0)


def test_jit_without_numba(monkeypatch):
    monkeypatch.setitem(sys.modules, "numba", None)
    with pytest.raises(ImportError, match=r"pip install 'fastcalc\[jit\]'"):
        fc.jit(lambda t: t)


def test_builtin_lowlevel_works_in_scipy():
    from scipy.integrate import nquad, quad
    val, _ = quad(F.gauss.lowlevel, -np.inf, np.inf)
    assert abs(val - np.sqrt(np.pi)) < 1e-12
    val2, _ = nquad(F.sphere.lowlevel, [[0, 1], [0, 1]])
    assert abs(val2 - 2 / 3) < 1e-12


def test_is_compiled_names_every_kind():
    from fastcalc._core import is_compiled
    assert is_compiled(F.rosenbrock) and is_compiled(F.rosenbrock.grad)
    assert is_compiled(F.sin.lowlevel) and is_compiled(cf_d) and is_compiled(libm_sin())
    assert not is_compiled(rosen) and not is_compiled(np.sin) and not is_compiled(lambda t: t)
    assert not is_compiled(42) and not is_compiled(None)


# ---- the adapter's one cache (resolved compiled callables): liveness, identity, per-call nfev ----

def _collect():
    import gc
    for _ in range(3):
        gc.collect()


def test_cache_keeps_no_python_function_alive():
    def f(x):
        return x * x
    ref = weakref.ref(f)
    assert fc.quad(f, 0.0, 1.0)[0] == pytest.approx(1 / 3, rel=1e-14)
    assert fc.quad(f, 0.0, 1.0, args=(), epsrel=1e-12)[0] == pytest.approx(1 / 3, rel=1e-14)
    assert fc.fixed_quad(lambda x: f(x), 0.0, 1.0)[0] == pytest.approx(1 / 3, rel=1e-14)
    del f
    _collect()
    assert ref() is None


def test_cache_keeps_no_lowlevel_user_data_alive():
    arr = (ctypes.c_double * 2)(3.0, 1.0)
    ref = weakref.ref(arr)
    llc = LowLevelCallable(cf_dv.ctypes, ctypes.cast(arr, ctypes.c_void_p),
                           signature="double (double, void *)")
    # cf_dv(x, p) = p[0] * x + p[1]: the integral over [0, 1] is p[0] / 2 + p[1] (analytic)
    assert fc.quad(llc, 0.0, 1.0)[0] == pytest.approx(2.5, rel=1e-14)
    del llc, arr
    _collect()
    assert ref() is None


def test_cache_keeps_no_numba_cfunc_alive_and_forgets_it():
    from fastcalc import _core

    @numba.cfunc(types.double(types.double))
    def g(x):
        return 3.0 * x * x

    ref = weakref.ref(g)
    n0 = _core._resolved_size()
    assert fc.quad(g, 0.0, 2.0)[0] == pytest.approx(8.0, rel=1e-14)
    assert fc.gradient(g, np.array([1.5])) == pytest.approx([9.0], rel=1e-6)
    assert _core._resolved_size() == n0 + 1          # resolved once, for both calls
    del g
    _collect()
    assert ref() is None
    assert _core._resolved_size() == n0              # its entry died with it


def test_cache_entry_with_a_recycled_id_is_not_used():
    """An entry whose weak reference points to another object (what a recycled id looks like)
    must be ignored: the new callable is resolved afresh."""
    from fastcalc import _core

    @numba.cfunc(types.double(types.double))
    def old(x):
        return 1.0

    @numba.cfunc(types.double(types.double))
    def new(x):
        return x

    fc.quad(old, 0.0, 1.0)
    stale = _core._RESOLVED[id(old)]
    _core._RESOLVED[id(new)] = stale                 # id(new) "recycled" from old's entry
    try:
        assert fc.quad(new, 0.0, 1.0)[0] == pytest.approx(0.5, rel=1e-14)   # x, not 1
        assert _core._RESOLVED[id(new)][0]() is new
    finally:
        _core._RESOLVED.pop(id(new), None)


def test_mutated_python_function_is_not_confused():
    def f(x):
        return x
    assert fc.quad(f, 0.0, 1.0)[0] == pytest.approx(0.5, rel=1e-14)
    f.__code__ = (lambda x: 3 * x * x).__code__
    assert fc.quad(f, 0.0, 1.0)[0] == pytest.approx(1.0, rel=1e-14)


@pytest.mark.parametrize("kind", ["python", "cfunc", "llc", "builtin"])
def test_nfev_is_per_call_with_8_threads(kind):
    """8 threads integrate at once; each call reports its own evaluation count, the one SciPy's
    QUADPACK reports for the same integrand (21 per interval of GK21)."""
    from scipy import integrate as si
    k = 7.0

    def py(x):
        return np.cos(k * x)
    f = {"python": py, "cfunc": cf_d, "llc": LowLevelCallable(cf_d.ctypes),
         "builtin": F.rosenbrock}[kind]
    if kind == "builtin":
        def call():
            g = fc.gradient(f, np.array([0.3, 0.7]), full_output=True)
            return int(np.sum(g.nfev)), g
        expected, _ = call()
    else:
        def call():
            return fc.quad(f, 0.0, 3.0, full_output=1)[2]["neval"], None
        ref_f = py if kind == "python" else (lambda x: x * x + 1.0)
        expected = si.quad(ref_f, 0.0, 3.0, full_output=1)[2]["neval"]
    results, errors = [], []
    barrier = threading.Barrier(8)

    def worker():
        try:
            barrier.wait()
            for _ in range(50):
                results.append(call()[0])
        except Exception as exc:        # pragma: no cover - reported below
            errors.append(exc)
    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(results) == 400 and set(results) == {expected}


def test_vectorized_strided_and_other_dtype_results():
    # a float64 view with strides, a float32 array, a list: all read correctly (analytic x^2 -> 1/3)
    for ret in (lambda x: np.stack([x * x, x])[0], lambda x: (x * x)[::-1][::-1],
                lambda x: (x * x).astype(np.float32), lambda x: list(x * x)):
        got = fc.fixed_quad(ret, 0.0, 1.0, n=5)[0]
        assert got == pytest.approx(1 / 3, rel=1e-6)
    with pytest.raises(ValueError, match="shape"):
        fc.fixed_quad(lambda x: np.zeros(len(x) + 1), 0.0, 1.0)
    with pytest.raises(TypeError, match="complex"):
        fc.fixed_quad(lambda x: x + 0j, 0.0, 1.0)


# ---- the evaluator cache of call_evaluator (single quad calls of a LowLevelCallable) ----

def _dv_llc(p0, p1):
    """cf_dv with user_data (p0, p1): integral over [0, 1] is p0 / 2 + p1 (analytic)."""
    arr = (ctypes.c_double * 2)(p0, p1)
    return LowLevelCallable(cf_dv.ctypes, ctypes.cast(arr, ctypes.c_void_p),
                            signature="double (double, void *)"), arr


def test_evaluator_cache_alternating_user_data_gives_each_its_own_result():
    from fastcalc import _core
    _core._lowlevel_cache_clear()
    (l1, a1), (l2, a2) = _dv_llc(3.0, 1.0), _dv_llc(-4.0, 0.5)
    for _ in range(5):
        assert fc.quad(l1, 0.0, 1.0)[0] == pytest.approx(2.5, rel=1e-14)
        assert fc.quad(l2, 0.0, 1.0)[0] == pytest.approx(-1.5, rel=1e-14)
    a1[0] = 5.0                    # user_data read at call time, as SciPy: 5/2 + 1
    assert fc.quad(l1, 0.0, 1.0)[0] == pytest.approx(3.5, rel=1e-14)
    assert _core._lowlevel_cache_size() == 2


def test_evaluator_cache_args_counts_and_errors_are_per_call():
    llc = LowLevelCallable(cf_id.ctypes)       # f(x, a) = x + 2 a: integral 0.5 + 2 a
    for a in (1.0, -3.0, 2, 0.25, np.float64(7.0)):
        y, err, info = fc.quad(llc, 0.0, 1.0, args=(a,), full_output=1)
        assert y == pytest.approx(0.5 + 2 * float(a), rel=1e-14)
        assert info["neval"] == 21                         # a fresh count every call
    assert fc.quad(llc, 0.0, 1.0, args=(1.0, 2.0))[0] == pytest.approx(0.5 + 2 + 6, rel=1e-14)
    assert fc.quad(llc, 0.0, 1.0)[0] == pytest.approx(0.5, rel=1e-14)   # no args: none appended
    dv = LowLevelCallable(cf_dv.ctypes, signature="double (double, void *)")
    assert fc.quad(dv, 0.0, 1.0, args=(3.0, 1.0))[0] == pytest.approx(2.5, rel=1e-14)
    with pytest.raises(TypeError):
        fc.quad(LowLevelCallable(cf_d.ctypes), 0.0, 1.0, args=(1.0,))   # as a fresh evaluator
    with pytest.raises(ValueError, match="could not convert"):
        fc.quad(llc, 0.0, 1.0, args=("x",))
    lu, arr = _dv_llc(3.0, 1.0)
    with pytest.raises(ValueError, match="user_data"):
        fc.quad(lu, 0.0, 1.0, args=(1.0,))
    assert fc.quad(lu, 0.0, 1.0)[0] == pytest.approx(2.5, rel=1e-14)  # the slot is intact


def test_evaluator_cache_recycled_address_is_not_confused():
    """Objects freed and new ones made (CPython reuses their addresses): each call integrates
    its own function and user_data."""
    from fastcalc import _core
    _core._lowlevel_cache_clear()
    seen = {}
    recycled = 0
    for k in range(40):
        if k % 2:
            llc, keep = _dv_llc(float(k), 1.0)
            exact = k / 2 + 1.0
        else:
            llc, keep = LowLevelCallable(cf_d.ctypes), None           # x^2 + 1: 4/3
            exact = 4.0 / 3.0
        recycled += id(llc) in seen
        seen[id(llc)] = k
        assert fc.quad(llc, 0.0, 1.0)[0] == pytest.approx(exact, rel=1e-14)
        del llc
    assert _core._lowlevel_cache_size() <= 8
    if not recycled:
        pytest.skip("no address was reused in this run")


def test_evaluator_cache_is_bounded_and_holds_no_lowlevel_object():
    from fastcalc import _core
    _core._lowlevel_cache_clear()
    objs = [_dv_llc(float(k), 1.0) for k in range(12)]
    refs = [weakref.ref(a) for _, a in objs]
    for k, (llc, arr) in enumerate(objs):
        assert fc.quad(llc, 0.0, 1.0)[0] == pytest.approx(k / 2 + 1.0, rel=1e-14)
    assert _core._lowlevel_cache_size() == 8
    del objs, llc, arr
    _collect()
    assert all(r() is None for r in refs)
