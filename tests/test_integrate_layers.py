"""Regression tests of the integration family's structure (issue 9) and reliability (issue 10).

References are independent: call counts made by the test itself, SciPy's results and messages,
closed forms.
"""
import ast
import gc
import math
import pathlib
import re
import threading
import time
import warnings
import weakref

import numpy as np
import pytest
import scipy.integrate as si

import fastcalc as fc
from fastcalc.integrate import IntegrationWarning

SRC = pathlib.Path(fc.__file__).parent
KERNELS = ["_gauss.pyx", "_sampled.pyx", "_qengine.pyx", "_quad.pyx", "_cubature.pyx"]


# --------------------------------------------------------------------------------------------
# issue 9: one pass, validation, no shared state, layers
# --------------------------------------------------------------------------------------------

def test_quad_makes_one_pass():
    calls = [0]

    def f(x):
        calls[0] += 1
        return math.sin(1 / x) / x

    with pytest.warns(IntegrationWarning):
        fc.quad(f, 0, 1)
    one = calls[0]
    calls[0] = 0
    *_, info, _msg = fc.quad(f, 0, 1, full_output=1)
    assert calls[0] == info["neval"] == one       # one adaptive run, counted by the test itself
    assert one < 7000                             # (two passes made 13,552)


@pytest.mark.parametrize("limit", [51.0, np.int64(51), 51])
def test_quad_limit_integral_float_is_an_integer(limit):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IntegrationWarning)
        ref = si.quad(lambda x: math.sin(1 / x) / x, 0, 1, limit=51, full_output=1)
        got = fc.quad(lambda x: math.sin(1 / x) / x, 0, 1, limit=limit, full_output=1)
    assert got[2]["last"] == 51 == ref[2]["last"]


@pytest.mark.parametrize("bad, exc", [(50.5, TypeError), (True, TypeError), ("50", TypeError),
                                      (0, ValueError), (-1, ValueError)])
def test_quad_bad_limit_names_it(bad, exc):
    with pytest.raises(exc, match="limit"):
        fc.quad(math.cos, 0, 1, limit=bad)
    with pytest.raises(exc, match="limit"):       # same check in the batch path
        fc.quad(math.cos, 0, np.ones(2), limit=bad)


@pytest.mark.parametrize("kw, name", [({"epsabs": -1.0}, "epsabs"), ({"epsrel": float("nan")},
                                                                       "epsrel"),
                                      ({"epsabs": "x"}, "epsabs"), ({"workers": 0}, "workers"),
                                      ({"method": "nope"}, "method")])
def test_quad_bad_options_name_the_argument(kw, name):
    with pytest.raises((ValueError, TypeError), match=name):
        fc.quad(math.cos, 0, 1, **kw)


def test_quad_neval_per_thread_with_8_threads():
    """Every thread's infodict counts its own evaluations only (no shared evaluator)."""
    results = {}
    barrier = threading.Barrier(8)

    def work(k):
        calls = [0]

        def f(x):
            calls[0] += 1
            return math.cos(k * x) + x ** k

        barrier.wait()
        for _ in range(20):
            calls[0] = 0
            out = fc.quad(f, 0, 1 + k, full_output=1)
            if out[2]["neval"] != calls[0]:
                results[k] = (out[2]["neval"], calls[0])
                return
        results[k] = "ok"

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == {k: "ok" for k in range(8)}


def test_integrand_is_released_after_the_call():
    class Heavy:
        def __init__(self):
            self.payload = np.zeros(1000)

        def __call__(self, x):
            return x * x

    for call in (lambda h: fc.quad(h, 0, 1), lambda h: fc.quad(h, 0, np.ones(3)),
                 lambda h: fc.fixed_quad(np.vectorize(h), 0, 1),
                 lambda h: fc.dblquad(lambda y, x: h(x) * y, 0, 1, 0, 1)):
        h = Heavy()
        ref = weakref.ref(h)
        call(h)
        del h
        gc.collect()
        assert ref() is None


def _imports(path):
    tree = ast.parse(re.sub(r"^\s*(cdef|cimport|ctypedef|cpdef).*$", "", path.read_text(),
                            flags=re.M)) if path.suffix == ".py" else None
    return tree


def test_kernels_do_not_import_wrappers_nor_call_python():
    for name in KERNELS:
        text = (SRC / name).read_text()
        assert not re.search(r"^\s*(from|import) fastcalc\.(integrate|differentiate|optimize)",
                             text, re.M), name
        assert not re.search(r"\.batch\(|\bev\.kind\b|\bKIND_[A-Z]+", text), name
        assert not re.search(r"^(cdef|cpdef)?\s*\w+\s*_cached", text, re.M), name
        # no direct calls of the user's function (integrand or limits): only ev.eval
        assert not re.search(r"^\s*(\w+\s*=\s*)?(func|f|self\.\w+_f)\(", text, re.M), name


def test_wrappers_import_no_private_names_of_other_modules():
    pkg = SRC / "integrate"
    for path in pkg.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module not in (
                    None, "fastcalc", "fastcalc._validation"):   # (kernel modules are fine)
                for alias in node.names:
                    assert not alias.name.startswith("_"), (path.name, node.module, alias.name)


def test_files_and_functions_stay_small():
    for path in [SRC / k for k in KERNELS] + list((SRC / "integrate").glob("*.py")):
        lines = path.read_text().splitlines()
        assert len(lines) <= 1000, path.name
        starts = [i for i, l in enumerate(lines) if re.match(r"^(cdef|cpdef|def) .*\(", l)]
        for a, b in zip(starts, starts[1:] + [len(lines)]):
            assert b - a <= 125, (path.name, lines[a][:60], b - a)


def test_code_tables_match_behaviour():
    from fastcalc._qengine import FLAGS, RULES
    from fastcalc._cubature import RULES as CUB
    assert set(RULES) == {"gk21", "gk15", "adaptive-simpson"}
    assert {"gk21", "gk15", "genz-malik"} <= set(CUB)
    # the flag names the infodict reports are the table's
    *_, info = fc.quad(lambda x: 0.0, 0, 1, full_output=1)[:3]
    assert info["flags"] == "all-zero" and FLAGS["all-zero"]


# --------------------------------------------------------------------------------------------
# issue 10: SciPy parity of the sampled-data rules and quad's infodict
# --------------------------------------------------------------------------------------------

def test_cumulative_trapezoid_ignores_dx_when_x_is_given():
    x = np.linspace(0, 2, 7)
    y = x ** 2
    np.testing.assert_allclose(fc.cumulative_trapezoid(y, x=x, dx=None),
                               si.cumulative_trapezoid(y, x=x, dx=None), rtol=1e-15)
    np.testing.assert_allclose(fc.cumulative_trapezoid(y, x, None, -1, 0),
                               si.cumulative_trapezoid(y, x, None, -1, 0), rtol=1e-15)


@pytest.mark.parametrize("rule", ["trapezoid", "simpson"])
def test_masked_samples_as_scipy(rule):
    y = np.ma.array(np.arange(5.0) + 1, mask=[0, 0, 1, 0, 0])
    x = np.ma.array(np.arange(5.0), mask=[0, 0, 0, 1, 0])
    for kw in ({}, {"x": x}):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = getattr(si, rule)(y, **kw)
            got = getattr(fc, rule)(y, **kw)
        np.testing.assert_equal(np.ma.filled(got, np.nan), np.ma.filled(ref, np.nan))
    assert float(fc.trapezoid(np.ma.array([1, 2, 3, 4, 5, 6.0], mask=[0, 0, 0, 0, 1, 0]))) == \
        float(si.trapezoid(np.ma.array([1, 2, 3, 4, 5, 6.0], mask=[0, 0, 0, 0, 1, 0])))


def test_quad_infodict_for_a_equal_b_is_scipys():
    ref = si.quad(lambda x: 1 / x, 0.0, 0.0, full_output=1)
    got = fc.quad(lambda x: 1 / x, 0.0, 0.0, full_output=1)
    assert got[:2] == ref[:2] == (0.0, 0.0)
    assert got[2].keys() == ref[2].keys()
    for k in ref[2]:
        np.testing.assert_equal(got[2][k], ref[2][k])
        assert np.asarray(got[2][k]).dtype == np.asarray(ref[2][k]).dtype


def test_romb_does_not_overflow_at_2_16_plus_1_samples():
    n = 2 ** 16 + 1
    assert fc.romb(np.ones(n)) == si.romb(np.ones(n)) == 65536.0
    x = np.linspace(0, np.pi, n)
    y = np.sin(x)
    got = fc.romb(y, dx=x[1])
    assert abs(got - 2.0) < 1e-12 and abs(got - si.romb(y, dx=x[1])) < 1e-12


@pytest.mark.parametrize("d", [27, 31, 32, 40])
@pytest.mark.parametrize("rule", ["genz-malik", "gk21"])
def test_cubature_many_dimensions_is_a_value_error(d, rule):
    with pytest.raises(ValueError, match="dimensions"):
        fc.cubature(lambda x: x[:, 0], np.zeros(d), np.ones(d), rule=rule)


def test_cubature_26_dimensions_genz_malik_names_its_node_count():
    with pytest.raises(ValueError, match="nodes"):
        fc.cubature(lambda x: x[:, 0], np.zeros(26), np.ones(26), rule="genz-malik")


def test_gauss_rules_have_a_size_limit():
    from fastcalc.integrate.gauss import MAX_NODES
    for f in (fc.gauss_legendre, fc.gauss_hermite, fc.gauss_laguerre):
        with pytest.raises(ValueError, match=r"n must be an integer in \[1, 10000\]"):
            f(MAX_NODES + 1)
    with pytest.raises(ValueError, match="n must be"):
        fc.fixed_quad(np.cos, 0, 1, n=10 ** 5)


def test_gauss_legendre_checks_ctrl_c():
    import _thread
    timer = threading.Timer(0.2, _thread.interrupt_main)
    t0 = time.perf_counter()
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            for n in range(9990, 10001):       # ~10 s of work without the interruption
                fc.integrate.gauss._CACHES["legendre"].pop(n, None)
                fc.gauss_legendre(n)
    finally:
        timer.cancel()
    assert time.perf_counter() - t0 < 2.0


def test_infinite_tplquad_stops_with_its_budget():
    with pytest.warns(IntegrationWarning, match="budget"):
        res, err, info = fc.nquad(lambda z, y, x: 1.0, [(0, np.inf)] * 3, full_output=True,
                                  maxeval=200_000)
    # the innermost integrals see the budget too: the overshoot is one batch (21**3 nodes at
    # most here), not the 2.9 million evaluations of a whole inner level
    assert math.isnan(res) and info["budget"] and info["neval"] <= 200_000 + 2 * 21**3
    with pytest.warns(IntegrationWarning, match="budget"):
        res, _ = fc.tplquad(lambda z, y, x: 1.0, 0, np.inf, 0, np.inf, 0, np.inf, maxeval=100_000)
    assert math.isnan(res)
    with pytest.raises(ValueError, match="maxeval"):
        fc.dblquad(lambda y, x: 1.0, 0, 1, 0, 1, maxeval=0)


@pytest.mark.parametrize("maxeval", [1, 5_000, 50_000])
def test_nquad_budget_bounds_every_level(maxeval):
    """A convergent integral (exact value 1) given too small a budget says so and returns NaN,
    never a partial sum; the evaluations stay within one batch of the budget."""
    calls = []

    def f(z, y, x):
        calls.append(1)
        return math.exp(-x - y - z)

    with pytest.warns(IntegrationWarning, match="budget"):
        res, err, info = fc.nquad(f, [(0, np.inf), (0, 1), (0, np.inf)], full_output=True,
                                  maxeval=maxeval)
    assert math.isnan(res) and math.isnan(err) and info["budget"] and info["ier"] == 4
    assert info["neval"] == len(calls) <= maxeval + 2 * 21**3
    exact = 1.0 - math.exp(-1.0)
    res, err, info = fc.nquad(f, [(0, np.inf), (0, 1), (0, np.inf)], full_output=True,
                              maxeval=10**7)
    assert not info["budget"] and abs(res - exact) <= max(err, 1e-10)


def test_quad_batch_workers_2_stops_on_ctrl_c():
    numba = pytest.importorskip("numba")
    from numba.types import CPointer, float64, intc
    import _thread

    @numba.cfunc(float64(intc, CPointer(float64)))
    def slow(n, xx):
        s = 0.0
        for k in range(2000):
            s += math.cos(xx[0] * k * xx[1])
        return s

    import scipy
    llc = scipy.LowLevelCallable(slow.ctypes)
    a = np.linspace(1.0, 2.0, 20_000)    # ~0.1 s per integral: tens of minutes of work
    sent = []

    def interrupt():
        sent.append(time.perf_counter())
        _thread.interrupt_main()

    timer = threading.Timer(0.3, interrupt)
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            fc.quad(llc, 0.0, 1.0 + 0 * a, args=(a,), workers=2, epsabs=0, epsrel=1e-13)
    finally:
        timer.cancel()
    # every thread stops (the engine polls the adapter's shared Ctrl-C flag): measured from the
    # signal, with a bound about behaviour rather than machine speed
    assert sent and time.perf_counter() - sent[0] < 10


def test_constant_over_an_infinite_box_says_the_map_overflowed():
    with pytest.raises(FloatingPointError, match="map of an infinite range overflowed"):
        fc.cubature(lambda x: np.ones(x.shape[0]), [0, 0], [np.inf, np.inf])
    with pytest.raises(FloatingPointError, match="returned NaN or inf"):
        fc.cubature(lambda x: np.full(x.shape[0], np.nan), [0, 0], [1, 1])


@pytest.mark.parametrize("rule", ["simpson", "trapezoid", "cumulative_trapezoid",
                                  "cumulative_simpson", "romb"])
def test_sampled_rules_name_a_string_argument(rule):
    with pytest.raises(TypeError, match="y must be an array of numbers"):
        getattr(fc, rule)("abc")
    with pytest.raises(TypeError, match="axis"):
        getattr(fc, rule)(np.ones(5), axis=1.5)


def test_vectorized_batch_memory_is_o_batch_with_small_constant():
    """Issue 16: extra memory <= 400 bytes per integral (peak RSS growth, results included)."""
    import subprocess
    import sys
    code = """
import resource, numpy as np, fastcalc as fc
n = 300_000
rng = np.random.default_rng(7)
a = rng.uniform(0.1, 10.0, n); b = rng.uniform(0.1, 3.0, n)
f = lambda x, aa: np.exp(-aa * x * x)
fc.quad(f, 0.0, b[:1000], args=(a[:1000],), vectorized=True)
r0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
y, e = fc.quad(f, 0.0, b, args=(a,), vectorized=True)
r1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
exact = np.sqrt(np.pi / a) / 2 * __import__("scipy.special").special.erf(np.sqrt(a) * b)
assert np.max(np.abs(y / exact - 1)) < 1.5e-8
print((r1 - r0) * 1024 / n)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env={**__import__("os").environ, "OPENBLAS_NUM_THREADS": "1"})
    assert out.returncode == 0, out.stderr
    assert float(out.stdout.split()[-1]) <= 400


# --------------------------------------------------------------------------------------------
# issue 16: ONE compiled entry for single integrals (_quad.quad_single) -- it must validate and
# answer exactly as the general path (reached with method="GK21": the same rule, another spelling)
# --------------------------------------------------------------------------------------------

def _gauss_a(x, a):
    return math.exp(-a * x * x)


_GAUSS2 = math.sqrt(math.pi / 2.0) / 2 * math.erf(math.sqrt(2.0))


@pytest.mark.parametrize("kw", [
    {}, {"limit": 51.0}, {"limit": np.int64(7)}, {"limit": 10_000_000},
    {"epsabs": 0, "epsrel": 1e-12}, {"epsabs": np.float64(1e-10)}, {"epsrel": 1},
    {"args": [2.0]}, {"args": 2.0}, {"args": (np.float64(2.0),)}, {"args": (2,)},
    {"args": (2.0,), "epsabs": 0.0, "epsrel": 1e-12, "limit": 200},
])
def test_quad_single_entry_answers_as_the_general_path_and_scipy(kw):
    args = kw.get("args", 1.0)
    a = float(np.ravel(args)[0]) if not isinstance(args, float) else args
    f = _gauss_a if "args" in kw else (lambda x: math.exp(-x * x))
    fast = fc.quad(f, 0, 1, full_output=1, **kw)
    general = fc.quad(f, 0, 1, full_output=1, method="GK21", **kw)
    assert fast[:2] == general[:2]
    assert fast[2]["neval"] == general[2]["neval"] and fast[2]["last"] == general[2]["last"]
    opts = {k: (int(v) if k == "limit" else v) for k, v in kw.items() if k != "args"}
    ref = si.quad(f, 0, 1, args=(a,) if "args" in kw else (), **opts)   # SciPy: int limit only
    exact = math.sqrt(math.pi / a) / 2 * math.erf(math.sqrt(a))
    assert abs(fast[0] - exact) <= max(fast[1], 1e-15)
    assert abs(fast[0] - ref[0]) <= 1e-13
    assert fc.quad(f, 0, 1, **kw) == fast[:2]


@pytest.mark.parametrize("kw, exc, name", [
    ({"limit": 0}, ValueError, "limit"), ({"limit": -1}, ValueError, "limit"),
    ({"limit": 10**30}, ValueError, "limit"), ({"limit": 10_000_001}, ValueError, "limit"),
    ({"limit": 50.5}, TypeError, "limit"), ({"limit": True}, TypeError, "limit"),
    ({"limit": float("inf")}, TypeError, "limit"), ({"limit": float("nan")}, TypeError, "limit"),
    ({"limit": None}, TypeError, "limit"), ({"limit": 0.0}, ValueError, "limit"),
    ({"epsabs": -1}, ValueError, "epsabs"), ({"epsabs": float("nan")}, ValueError, "epsabs"),
    ({"epsabs": float("inf")}, ValueError, "epsabs"), ({"epsabs": True}, TypeError, "epsabs"),
    ({"epsabs": None}, TypeError, "epsabs"), ({"epsrel": -1e-3}, ValueError, "epsrel"),
    ({"epsrel": float("inf")}, ValueError, "epsrel"), ({"epsrel": "1"}, TypeError, "epsrel"),
    ({"epsabs": 0, "epsrel": 1e-20}, ValueError, "epsrel"),
    ({"epsabs": 0.0, "epsrel": 0}, ValueError, "epsrel"),
    ({"a": float("nan")}, ValueError, "a must not be NaN"),
    ({"b": float("nan")}, ValueError, "b must not be NaN"),
    ({"a": "0"}, TypeError, "a"),
])
def test_quad_single_entry_refuses_as_the_general_path(kw, exc, name):
    kw = dict(kw)
    a, b = kw.pop("a", 0.0), kw.pop("b", 1.0)
    with pytest.raises(exc, match=name) as fast:
        fc.quad(math.cos, a, b, **kw)
    with pytest.raises(exc) as general:
        fc.quad(math.cos, a, b, method="GK21", **kw)
    assert str(fast.value) == str(general.value)


def test_quad_single_entry_limits_and_long_runs_against_closed_forms():
    # reversed, empty, infinite ranges; int and float limits; a heap that outgrows the
    # preallocated intervals (hundreds of subintervals at an endpoint singularity)
    assert fc.quad(math.cos, 1, 0)[0] == pytest.approx(-math.sin(1.0), rel=1e-15)
    assert fc.quad(math.cos, 2.5, 2.5) == (0.0, 0.0)
    empty = fc.quad(math.cos, 2.5, 2.5, full_output=1)[2]
    assert set(empty) == set(si.quad(math.cos, 2.5, 2.5, full_output=1)[2])
    y, e = fc.quad(lambda x: math.exp(-x * x), -math.inf, math.inf)
    assert abs(y - math.sqrt(math.pi)) <= e and e < 1e-8
    y, e = fc.quad(lambda x: math.exp(-x), 0, math.inf, epsabs=0, epsrel=1e-13)
    assert abs(y - 1.0) <= max(e, 1e-15)
    f = lambda x: x ** -0.9
    y, e, info = fc.quad(f, 0, 1, epsabs=0, epsrel=1e-12, limit=500, full_output=1)[:3]
    assert abs(y - 10.0) <= e
    y2, e2 = fc.quad(f, 0, 1, epsabs=0, epsrel=1e-12, limit=500)
    assert (y2, e2) == (y, e)


def test_quad_single_entry_errors_and_warnings_propagate():
    class Boom(Exception):
        pass

    def f(x):
        if x > 0.7:
            raise Boom("at x > 0.7")
        return x

    with pytest.raises(Boom, match="0.7"):
        fc.quad(f, 0, 1)
    with pytest.raises(TypeError):
        fc.quad(lambda x, a: x * a, 0, 1, args=("x",))
    with pytest.warns(IntegrationWarning):          # not converged: reported, not a success
        y, e = fc.quad(lambda x: math.sin(1 / x) / x, 0, 1)
    ref = si.quad(lambda x: math.sin(1 / x) / x, 0, 1, limit=1000, full_output=1)[0]
    assert abs(y - ref) <= e


def test_quad_single_entry_lowlevel_args_against_scipy():
    numba = pytest.importorskip("numba")
    from numba.types import CPointer, float64, intc

    @numba.cfunc(float64(intc, CPointer(float64)))
    def g(n, xx):
        return math.exp(-xx[1] * xx[0] * xx[0])

    import scipy
    llc = scipy.LowLevelCallable(g.ctypes)
    tol = dict(epsabs=0.0, epsrel=1e-12)
    for args in [(2.0,), (2,), [2.0], 2.0]:
        y, e = fc.quad(llc, 0.0, 1.0, args=args, **tol)
        assert abs(y - _GAUSS2) <= max(e, 1e-15)
        assert y == pytest.approx(si.quad(llc, 0.0, 1.0, args=(2.0,), **tol)[0], rel=1e-14)
    with pytest.raises(ValueError):                 # not a number: refused, as SciPy does
        fc.quad(llc, 0.0, 1.0, args=("x",))


def test_fixed_quad_single_entry_against_scipy_every_callable_kind():
    from fastcalc import functions as F
    f = lambda x, k: np.cos(k * x)
    for args in [(2.0,), (2,), (np.float64(2.0),), [2.0], 2.0, (np.array(2.0),)]:
        got = fc.fixed_quad(f, 0.3, 1.7, args=args, n=7)
        assert got[1] is None
        assert abs(got[0] - si.fixed_quad(f, 0.3, 1.7, args=(2.0,), n=7)[0]) < 1e-15
    ref = si.fixed_quad(lambda x: np.exp(-x * x), 0, 1, n=9)[0]
    for g in (F.gauss, F.gauss.lowlevel):            # built-in and low-level: C all the way
        assert abs(fc.fixed_quad(g, 0, 1, n=9)[0] - ref) < 1e-15
    assert fc.fixed_quad(np.cos, 1, 0)[0] == pytest.approx(-si.fixed_quad(np.cos, 0, 1)[0], 1e-15)
    big = fc.fixed_quad(np.cos, 0.0, 1.0, n=200)[0]  # more nodes than the stack buffer
    assert abs(big - math.sin(1.0)) < 1e-15
    for a, b in [(0, math.inf), (-math.inf, 0.0), (math.nan, 1.0), (0.0, 10**400)]:
        with pytest.raises((ValueError, OverflowError)):
            fc.fixed_quad(np.cos, a, b)
    with pytest.raises(TypeError):
        fc.fixed_quad(np.cos, "0", 1.0)
    with pytest.raises(ValueError, match="n"):
        fc.fixed_quad(np.cos, 0.0, 1.0, n=0)
