"""quad: one-variable adaptive quadrature (one integral or a batch) on the C engine."""
import warnings

import numpy as np

from fastcalc import _quad
from fastcalc._core import is_compiled
from fastcalc._daskmap import dask_input, dispatch
from fastcalc._qengine import RULES, IER
from fastcalc._validation import (as_args, as_choice, as_int, as_points, as_real, as_tolerances,
                                  as_workers)
from fastcalc.integrate.shared import IntegrationWarning, flag_names, message

__all__ = ["quad", "check_options"]

#: most subintervals quad may use (each holds five doubles)
MAX_LIMIT = _quad.MAX_LIMIT
#: every ``method=``: the adaptive rules and the composite ones (code >= 0 marks a composite)
METHODS = {**{name: (code, -1) for name, code in RULES.items()},
           **{name: (RULES["gk21"], code) for name, code in _quad.COMPOSITE.items()}}
_EPSREL_MIN = _quad.EPSREL_MIN
_TOL_MESSAGE = ("If 'epsabs'<=0, 'epsrel' must be greater than both 5e-29 and 50*(machine "
                "epsilon).")

# validated (epsabs, epsrel, limit), by the arguments and their types: repeated calls with the
# same options skip the checks (a dict lookup); unhashable or new values are checked in full
_OPTIONS_SEEN = {}


def check_options(epsabs, epsrel, limit):
    """(epsabs, epsrel, limit) validated as quad's; cached by value and type."""
    key = (epsabs, epsrel, limit, type(epsabs), type(epsrel), type(limit))
    try:
        return _OPTIONS_SEEN[key]
    except (KeyError, TypeError):
        pass
    ea = as_real(epsabs, "epsabs", low=0.0)
    er = as_real(epsrel, "epsrel", low=0.0)
    if ea <= 0 and er < _EPSREL_MIN:
        raise ValueError(_TOL_MESSAGE)
    checked = (ea, er, as_int(limit, "limit", low=1, high=MAX_LIMIT))
    try:
        if len(_OPTIONS_SEEN) < 256:
            _OPTIONS_SEEN[key] = checked
    except TypeError:
        pass
    return checked


def quad(func, a, b, args=(), full_output=0, epsabs=1.49e-8, epsrel=1.49e-8, limit=50,
         points=None, weight=None, wvar=None, wopts=None, maxp1=50, limlst=50,
         complex_func=False, *, method="gk21", vectorized=False, workers=1):
    """Compute a definite integral, as :func:`scipy.integrate.quad` -- or a batch of them.

    Global adaptive Gauss--Kronrod quadrature in C: a max-heap of subintervals ordered by error
    estimate, bisection of the worst one until the total error estimate is below
    ``max(epsabs, epsrel*|result|)`` or ``limit`` subintervals exist.  Infinite limits are mapped
    to finite ones (``x = a + t/(1-t)``, ``x = t/(1-t**2)``).  An integral that reaches the
    subdivision limit (typically an endpoint singularity) gets a tanh-sinh second opinion, which
    is adopted when it meets the tolerance.

    Parameters
    ----------
    func : callable, built-in function, LowLevelCallable or numba cfunc
        ``func(x, *args)``.  A Python ``func`` gets a float; with ``vectorized=True`` a 1-D
        array of nodes and must return an array of the same length.  Low-level signatures as
        SciPy's (``double (double)``, ``double (int, double *)`` with args appended to x, ...).
    a, b : float or array_like
        Limits (may be infinite).  Arrays (broadcast with each other and with array entries of
        ``args``) make a **batch**: one independent adaptive integration per element, all run in
        one C loop (GIL released for built-in and low-level integrands; a vectorized Python
        integrand is called once per round with the nodes of all still-active integrals).
    args : tuple
        Extra arguments.  Array entries (arrays, lists or tuples of numbers) broadcast with ``a``
        and ``b`` -- also when the limits are scalars -- and make a batch: one integral per
        element of the broadcast shape, the integrand getting that element's numbers (SciPy
        passes arrays through to the integrand unchanged; this is a deliberate difference).
    full_output : int
        Non-zero: also return an infodict (and a message when ``ier != 0``), as SciPy.
    epsabs, epsrel : float
        Absolute and relative tolerance.
    limit : int
        Maximum number of subintervals.
    points : sequence of float, optional
        Break points (finite limits only): they start the subdivision.
    weight, wvar, wopts, maxp1, limlst, complex_func
        Weighted integrals (``weight=``) and complex integrands (``complex_func=True``) are
        delegated to :func:`scipy.integrate.quad` unchanged (scalar limits only).
    method : {"gk21", "gk15", "adaptive-simpson", "gauss", "simpson"}, keyword-only
        Interval rule of the adaptive scheme (Gauss--Kronrod 21 or 15 points, or Simpson with
        Richardson error estimate), or a non-adaptive composite rule refined by doubling the
        panels ("gauss": 10-point Gauss--Legendre panels, "simpson": composite Simpson); the
        composite rules need finite limits.
    vectorized : bool, keyword-only
        ``func`` takes an array of nodes.
    workers : int, keyword-only
        OpenMP threads for a batch with a built-in or low-level integrand (blocks of 256
        integrals run in parallel; the integrand must be thread-safe, as C functions without
        global state are).  Default 1; -1: all cores.  Results are bit-identical for every
        ``workers``.  Python integrands always run on the calling thread.

    Dask: ``a``, ``b`` or array entries of ``args`` may be :mod:`dask.array` arrays; then ``y``
    and ``abserr`` are dask arrays (one integral per element, blocks computed by ``quad`` on the
    workers; see ``docs/dask.md`` for how ``func`` reaches them).  With ``full_output`` the
    infodict holds lazy ``neval`` (0-d), ``ier``, ``flags`` and ``message`` (object arrays of the
    batch shape).  Non-convergence warnings are raised on the workers: ask for ``full_output``.

    Returns
    -------
    y : float or ndarray
    abserr : float or ndarray
        Error estimate(s).
    infodict : dict
        With ``full_output``: ``neval``, ``last``, ``alist``, ``blist``, ``rlist``, ``elist``,
        ``iord`` (as SciPy; intervals in the transformed variable for infinite limits) plus
        ``ier`` and ``flags`` (fastcalc: "tanh-sinh", "nonfinite", "all-zero").  In a batch,
        ``ier`` and ``flags`` are arrays, ``neval`` the total and ``message`` a flat list (None
        where converged); no warning is issued then, as SciPy with ``full_output``.
    message : str
        With ``full_output`` and ``ier != 0``.

    Warns
    -----
    IntegrationWarning
        When an integral did not converge (``ier != 0``), when the integrand returned NaN/inf,
        and when it was 0 at every node (a narrow peak may have been missed; not reported as
        converged).

    Examples
    --------
    >>> import numpy as np, fastcalc as fc
    >>> y, err = fc.quad(np.sin, 0, np.pi)
    >>> round(y, 13)
    2.0
    >>> fc.quad(lambda x: np.exp(-x**2), -np.inf, np.inf)[0]  # doctest: +ELLIPSIS
    1.7724538509055...
    >>> y, err = fc.quad(lambda x, k: x**k, 0.0, np.ones(4), args=(np.arange(4.0),), vectorized=True)
    >>> y
    array([1.        , 0.5       , 0.33333333, 0.25      ])
    """
    # the one compiled fast path: a single integral of plain numbers, checked in C
    r = _quad.quad_single(func, a, b, args, full_output, epsabs, epsrel, limit, points, weight,
                          complex_func, method, vectorized, workers)
    if type(r) is tuple:
        return r
    if r is not None:
        return _single_result(*r, full_output)
    return _quad_general(func, a, b, as_args(args), full_output, epsabs, epsrel, limit, points,
                         weight, wvar, wopts, maxp1, limlst, complex_func, method, vectorized,
                         workers)


def _single_result(res, err, ier, flags, neval, info, limit, empty, full_output,
                   stacklevel=3):
    msg = message(ier, flags, limit, neval) if ier else None
    if not full_output:
        if ier:
            warnings.warn(msg, IntegrationWarning, stacklevel=stacklevel)
        return res, err
    if empty:
        # SciPy's infodict for a == b, key for key
        infodict = {"neval": 0, "last": 0, "alist": np.full(limit, np.nan),
                    "blist": np.full(limit, np.nan), "rlist": np.zeros(limit),
                    "elist": np.zeros(limit), "iord": np.zeros(limit, dtype=np.int32)}
        return res, err, infodict
    infodict = {"neval": int(neval), "ier": int(ier), "flags": flag_names(flags)}
    if info is not None and len(info[0]):
        alist, blist, rlist, elist = info
        order = np.argsort(-elist, kind="stable")
        infodict.update(last=len(alist), alist=alist[order], blist=blist[order],
                        rlist=rlist[order], elist=elist[order],
                        iord=np.arange(1, len(alist) + 1, dtype=np.int32))
    else:
        infodict["last"] = 0
    if ier:
        return res, err, infodict, msg
    return res, err, infodict


def _delegate_to_scipy(func, a, b, args, full_output, epsabs, epsrel, limit, points, weight,
                       wvar, wopts, maxp1, limlst, complex_func):
    import scipy.integrate
    return scipy.integrate.quad(func, a, b, args=args, full_output=full_output, epsabs=epsabs,
                                epsrel=epsrel, limit=limit, points=points, weight=weight,
                                wvar=wvar, wopts=wopts, maxp1=maxp1, limlst=limlst,
                                complex_func=complex_func)


def _rows_as_args(func, vectorized):
    """A Python integrand f(x, *args) seen through the adapter as a function of the point
    (x, arg_1, ..., arg_k): the per-element arguments travel as extra point rows."""
    if vectorized:
        def g(X):
            return func(X[0], *X[1:])
    else:
        def g(p):
            return func(*p.tolist())
    return g


def _limits(a, b):
    a_arr = as_points(a, "a", vector=False, finite=False)
    b_arr = as_points(b, "b", vector=False, finite=False)
    for name, v in (("a", a_arr), ("b", b_arr)):
        if np.any(np.isnan(v)):
            raise ValueError(f"{name} must not be NaN")
    return a_arr, b_arr


def _break_points(points, lo, hi, limit):
    """Interior break points of [lo, hi] (sorted, unique) or None; and whether to flip."""
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise ValueError("Infinity inputs cannot be used with break points.")
    p = np.unique(as_points(points, "points", vector=False).ravel())
    low, high = min(lo, hi), max(lo, hi)
    p = p[(p > low) & (p < high)]
    if len(p) + 1 > limit:
        raise ValueError(f"Number of break points ({len(p)}) must be less than subinterval "
                         f"limit ({limit})")
    return (np.ascontiguousarray(p) if len(p) else None), bool(len(p) and lo > hi)


def _quad_general(func, a, b, args, full_output, epsabs, epsrel, limit, points, weight, wvar,
                  wopts, maxp1, limlst, complex_func, method, vectorized, workers=1):
    if dask_input(a, b, args):
        return dispatch(quad, locals())
    workers = min(as_workers(workers), 64)
    rule, comp = as_choice(method, "method", METHODS)
    a_arr, b_arr = _limits(a, b)
    if weight is not None or complex_func:
        if a_arr.ndim or b_arr.ndim:
            raise ValueError("weight= and complex_func= (delegated to scipy.integrate.quad) need "
                             "scalar limits")
        return _delegate_to_scipy(func, float(a_arr), float(b_arr), args, full_output, epsabs,
                                  epsrel, limit, points, weight, wvar, wopts, maxp1, limlst,
                                  complex_func)
    epsabs, epsrel, limit = check_options(epsabs, epsrel, limit)
    compiled = is_compiled(func)
    array_args = [i for i, t in enumerate(args) if isinstance(t, (np.ndarray, list, tuple))
                  and np.ndim(t) > 0]
    batch = a_arr.ndim > 0 or b_arr.ndim > 0 or bool(array_args)
    outer = None
    call_args = args
    f = func
    if batch and array_args:
        num = [as_points(t, f"args[{i}]", vector=False) for i, t in enumerate(args)]
        shape = np.broadcast_shapes(a_arr.shape, b_arr.shape, *[t.shape for t in num])
        outer = np.ascontiguousarray(np.stack([np.broadcast_to(t, shape).ravel() for t in num]))
        call_args = ()
        if not compiled:
            f = _rows_as_args(func, vectorized)
    else:
        shape = np.broadcast_shapes(a_arr.shape, b_arr.shape)
    lo = np.ascontiguousarray(np.broadcast_to(a_arr, shape).ravel())
    hi = np.ascontiguousarray(np.broadcast_to(b_arr, shape).ravel())
    brk, flip = None, False
    if points is not None:
        if batch:
            raise ValueError("points= needs scalar limits a and b")
        brk, flip = _break_points(points, lo[0], hi[0], limit)
        if flip:   # integrate from low to high, then flip the sign
            lo, hi = hi.copy(), lo.copy()
    if comp >= 0 or rule == RULES["adaptive-simpson"]:
        if not (np.all(np.isfinite(lo)) and np.all(np.isfinite(hi))):
            raise ValueError(f"method={method!r} needs finite limits")
    if comp >= 0 and brk is not None:
        raise ValueError(f"points= is not supported with method={method!r}")
    keep = bool(full_output) and not batch
    res, err, ier, flags, neval, info = _quad.quad_batch(
        f, lo, hi, outer, call_args, vectorized, epsabs, epsrel, limit, rule, brk, keep, comp,
        workers)
    if flip:
        res = -res
    if not batch:
        return _single_result(float(res[0]), float(err[0]), int(ier[0]), int(flags[0]), neval,
                              info, limit, bool(lo[0] == hi[0]), full_output, 4)
    return _batch_result(res.reshape(shape), err.reshape(shape), ier, flags, neval, shape, limit,
                         full_output)


def _batch_result(res, err, ier, flags, neval, shape, limit, full_output):
    bad = ier != IER["ok"]
    if np.any(bad) and not full_output:
        kinds = sorted({message(int(i), int(fl), limit, 0).split("\n")[0].split(";")[0]
                        for i, fl in zip(ier[bad], flags[bad])})
        warnings.warn(f"{int(bad.sum())} of {ier.size} integrals did not converge: "
                      + " | ".join(kinds), IntegrationWarning, stacklevel=4)
    if full_output:
        infodict = {"neval": int(neval), "ier": ier.reshape(shape),
                    "flags": np.array([flag_names(int(x)) for x in flags],
                                      dtype=object).reshape(shape),
                    "message": [message(int(i), int(fl), limit, 0) if i else None
                                for i, fl in zip(ier, flags)]}
        return res, err, infodict
    return res, err
