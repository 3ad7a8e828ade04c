"""pytest plugin: run SciPy's own differentiation tests with fastcalc's functions bound in.

Load it with ``-p`` (the directory on ``PYTHONPATH``) and point pytest at SciPy's installed test
modules, e.g.::

    PYTHONPATH=tools/scipy_parity python -m pytest -p differentiate \\
        --pyargs scipy.optimize.tests.test_optimize -k "check_grad or approx_fprime" \\
        scipy.differentiate.tests.test_differentiate

What it binds (only inside the test modules named in :data:`TARGETS`, for the duration of each test):

* ``scipy.optimize.check_grad`` / ``approx_fprime`` -> :func:`fastcalc.check_grad` /
  :func:`fastcalc.approx_fprime` (same signature and return value);
* ``derivative`` / ``jacobian`` / ``hessian`` of ``scipy.differentiate`` -> thin wrappers
  (:func:`derivative`, :func:`jacobian`, :func:`hessian` below) that call fastcalc's adaptive
  engine and return SciPy's result object (``df``/``ddf``, ``error``, ``success``, ``status``
  in SciPy's codes, ``nfev``, ``nit``).  fastcalc returns plain arrays (or its own result object),
  so the layer only renames; the numbers are fastcalc's.

Tests that check SciPy's iteration machinery rather than the derivative are deselected, each with
its reason in :data:`DESELECTED` (printed with ``-rA``; the README lists them).
"""
import numpy as np
import pytest

import fastcalc as fc

# SciPy's status codes (scipy._lib._elementwise_iterative_method)
_SP_CONVERGED, _SP_MAXITER, _SP_NONFINITE = 0, -2, -3

#: test-name substrings deselected, and why
DESELECTED = {
    # scipy.differentiate: iteration machinery, not derivatives
    "TestDerivative::test_maxiter_callback":
        "callback= and maxiter= drive SciPy's iteration; fastcalc has no iterations to call back",
    "TestDerivative::test_flags":
        "checks SciPy's per-element status codes for a crafted iteration history",
    "TestDerivative::test_preserve_shape":
        "preserve_shape=True (f of a whole array) is not a fastcalc option",
    "TestDerivative::test_convergence":
        "compares SciPy's iteration counts for two tolerance settings",
    "TestDerivative::test_step_parameters":
        "initial_step/step_factor set SciPy's step sequence; fastcalc chooses its own steps",
    "TestDerivative::test_initial_step":
        "initial_step sets SciPy's first step; fastcalc chooses its own steps",
    "TestDerivative::test_input_validation":
        "matches SciPy's message texts for SciPy-only arguments (maxiter, order, step_factor)",
    "TestDerivative::test_special_cases":
        "checks SciPy's nit/nfev for maxiter=1..2 and the order=1 special case",
    "TestDerivative::test_vectorization":
        "compares nit/nfev element by element with SciPy's iteration",
    "TestDerivative::test_dtype":
        "requires f to be called with the input dtype (float16/float32); fastcalc evaluates "
        "in float64 and casts the result",
    "TestHessian::test_nfev":
        "counts SciPy's evaluations",
    "TestHessian::test_small_rtol_warning":
        "SciPy warns when rtol is below its iteration floor",
    "TestJacobian::test_attrs":
        "checks nit/nfev of SciPy's iteration",
    "TestDerivative::test_flags_preserve_shape":
        "preserve_shape=True is not a fastcalc option",
}

TARGETS = ("scipy.optimize.tests.test_optimize", "scipy.differentiate.tests.test_differentiate")


class _Result(dict):
    """SciPy's ``_RichResult``: a dict with attribute access; 0-d arrays become scalars."""
    def __getattr__(self, k):
        try:
            return self[k]
        except KeyError:
            raise AttributeError(k) from None

    def __init__(self, **kw):
        super().__init__({k: (v[()] if isinstance(v, np.ndarray) and v.ndim == 0 else v)
                          for k, v in kw.items()})

    def __setattr__(self, k, v):
        self[k] = v


def _tols(tolerances):
    tolerances = {} if tolerances is None else dict(tolerances)
    return tolerances.get("atol"), tolerances.get("rtol")


def _status(st):
    st = np.asarray(st)
    return np.where(st >= 0, _SP_CONVERGED,
                    np.where(st == -3, _SP_NONFINITE, _SP_MAXITER)).astype(np.int32)


def _method(step_direction):
    sd = np.asarray(step_direction)
    if sd.ndim and np.unique(np.sign(sd)).size > 1:
        return None
    s = float(np.sign(sd.reshape(-1)[0])) if sd.size else 0.0
    return "central" if s == 0 else ("forward" if s > 0 else "backward")


def _order(order):
    o = int(order)
    return min(8, max(2, o + (o % 2)))


def derivative(f, x, *, args=(), tolerances=None, maxiter=10, order=8, initial_step=0.5,
               step_factor=2.0, step_direction=0, preserve_shape=False, callback=None):
    """``scipy.differentiate.derivative`` computed by :func:`fastcalc.derivative`."""
    args = args if isinstance(args, tuple) else (args,)
    xa = np.asarray(x)
    dtype = xa.dtype if xa.dtype.kind == "f" else np.float64
    bshape = np.broadcast_shapes(xa.shape, np.shape(step_direction), *[np.shape(a) for a in args])
    xb = np.broadcast_to(xa, bshape).astype(np.float64).reshape(-1)
    ab = [np.broadcast_to(np.asarray(a, dtype=float), bshape).reshape(-1) for a in args]
    sdir = np.broadcast_to(np.asarray(step_direction), bshape).reshape(-1)
    atol, rtol = _tols(tolerances)
    df = np.empty(xb.size)
    err = np.empty(xb.size)
    st = np.empty(xb.size, dtype=np.int32)
    nfev = np.zeros(xb.size, dtype=np.int32)
    for meth, sel in (("central", sdir == 0), ("forward", sdir > 0), ("backward", sdir < 0)):
        idx = np.flatnonzero(sel)
        if idx.size == 0:
            continue

        def g(t, *a):
            return np.asarray(f(t, *a), dtype=np.float64)
        # one point per call when f has per-element args (SciPy broadcasts them with x)
        if ab:
            for i in idx:
                r = fc.derivative(g, xb[i:i + 1], args=tuple(a[i:i + 1] for a in ab),
                                  vectorized=True, full_output=True, method=meth,
                                  accuracy=_order(order), atol=atol, rtol=rtol)
                df[i], err[i], st[i], nfev[i] = r.df[0], r.error[0], r.status[0], r.nfev
        else:
            r = fc.derivative(g, xb[idx], vectorized=True, full_output=True, method=meth,
                              accuracy=_order(order), atol=atol, rtol=rtol)
            df[idx], err[idx], st[idx] = r.df, r.error, r.status
            nfev[idx] = max(1, r.nfev // max(1, idx.size))
    sp = _status(st).reshape(bshape)
    return _Result(df=df.reshape(bshape).astype(dtype), error=err.reshape(bshape).astype(dtype),
                   status=sp, success=sp == 0, nfev=nfev.reshape(bshape),
                   nit=np.ones(bshape, dtype=np.int32), x=np.broadcast_to(xa, bshape))


def jacobian(f, x, *, tolerances=None, maxiter=10, order=8, initial_step=0.5, step_factor=2.0,
             step_direction=0):
    """``scipy.differentiate.jacobian`` computed by :func:`fastcalc.jacobian`."""
    xa = np.asarray(x)
    dtype = xa.dtype if xa.dtype.kind == "f" else np.float64
    meth = _method(step_direction) or "central"
    atol, rtol = _tols(tolerances)
    r = fc.jacobian(f, xa.astype(np.float64), vectorized=True, full_output=True, method=meth,
                    accuracy=_order(order), atol=atol, rtol=rtol)
    sp = _status(r.status)
    return _Result(df=np.asarray(r.df).astype(dtype), error=np.asarray(r.error).astype(dtype),
                   status=sp, success=sp == 0, nfev=np.full(sp.shape, r.nfev),
                   nit=np.ones(sp.shape, dtype=np.int32))


def hessian(f, x, *, tolerances=None, maxiter=10, order=8, initial_step=0.5, step_factor=2.0):
    """``scipy.differentiate.hessian`` computed by :func:`fastcalc.hessian`."""
    xa = np.asarray(x)
    dtype = xa.dtype if xa.dtype.kind == "f" else np.float64
    atol, rtol = _tols(tolerances)
    r = fc.hessian(f, xa.astype(np.float64), vectorized=True, full_output=True,
                   accuracy=_order(order), atol=atol, rtol=rtol)
    sp = _status(r.status)
    return _Result(ddf=np.asarray(r.df).astype(dtype), error=np.asarray(r.error).astype(dtype),
                   status=sp, success=sp == 0, nfev=np.full(sp.shape, r.nfev),
                   nit=np.ones(sp.shape, dtype=np.int32))


_BINDINGS = {
    "scipy.optimize.tests.test_optimize": {"check_grad": fc.check_grad,
                                            "approx_fprime": fc.approx_fprime},
    "scipy.differentiate.tests.test_differentiate": {"derivative": derivative,
                                                     "jacobian": jacobian, "hessian": hessian},
}


def pytest_collection_modifyitems(session, config, items):
    keep, drop = [], []
    for item in items:
        nodeid = item.nodeid
        if any(key in nodeid for key in DESELECTED):
            drop.append(item)
        else:
            keep.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture(autouse=True)
def _fastcalc_bound(request, monkeypatch):
    """Bind fastcalc's functions into the running SciPy test module (and scipy.optimize's
    namespace, which test_optimize reads as ``optimize.check_grad``)."""
    mod = getattr(request, "module", None)
    name = getattr(mod, "__name__", "")
    binding = _BINDINGS.get(name)
    if binding:
        import scipy.optimize
        for attr, fn in binding.items():
            if hasattr(mod, attr):
                monkeypatch.setattr(mod, attr, fn)
            if name.startswith("scipy.optimize"):
                monkeypatch.setattr(scipy.optimize, attr, fn)
    yield


def pytest_report_header(config):
    return ["fastcalc scipy-parity plugin (differentiation): "
            f"{len(DESELECTED)} deselected test groups, see tools/scipy_parity/differentiate.py"]
