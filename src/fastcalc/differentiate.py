"""Numerical differentiation: derivatives, gradients, Jacobians, Hessians and friends.

Every routine builds a finite-difference *stencil plan* (cached Fornberg weights, steps per
coordinate and point), has fastcalc's compiled kernel evaluate all stencil points of all requested
points in as few batches as possible through the callable adapter (built-in functions and
low-level callables run without the GIL, vectorized Python functions get one call per batch), and
combines the values.  ``richardson=k`` repeats the stencil with halved steps and extrapolates,
which also gives an error estimate; ``method="complex"`` uses the complex step for first
derivatives of Python functions that accept complex input.

Batch convention (as :mod:`scipy.differentiate`): a function of ``n`` variables takes ``x`` of shape
``(n,)`` or ``(n, k1, k2, ...)``; results keep the trailing batch axes.
"""
import math
import operator

import numpy as np
from scipy.optimize import OptimizeResult

from fastcalc._core import Function, as_evaluator, is_compiled
from fastcalc import _diff

__all__ = ["derivative", "gradient", "jacobian", "hessian", "hessian_vector",
           "directional_derivative", "laplacian", "divergence", "curl", "taylor",
           "TaylorPolynomial", "check_grad", "approx_fprime", "DifferentiationResult"]

_EPS = np.finfo(np.float64).eps
_METHODS = {"central": 0, "forward": 1, "backward": 2, "complex": 3}
_MAX_RICHARDSON = 6
_STATUS_NONFINITE = -3
_FAST_METHODS = {"central": 0, "forward": 1, "backward": 2}


class DifferentiationResult(OptimizeResult):
    """Result of a differentiation routine called with ``full_output=True``.

    Attributes
    ----------
    df : ndarray
        The derivative (same as the routine's plain return value).
    error : ndarray
        Error estimate per element: the Richardson difference plus the rounding estimate.  With
        ``richardson=0`` the stencil is also evaluated with doubled steps (the value is unchanged)
        and the estimate is ``|D(h) - D(2h)|`` plus rounding (pessimistic, by about
        ``2**accuracy`` when truncation dominates; ``richardson >= 1`` gives tight estimates).
        Complex step: ``8*eps*(|df| + |f(x)|/max(1, |x|))`` for first derivatives (rounding in
        f, whose terms may cancel in df), ``1e-10*|df|`` plus 8x the rounding estimate of the
        real-direction stencil for second derivatives; with a given ``step`` also
        ``2|D(h) - D(h/2)|`` (its truncation; the evaluations are doubled).
    status : ndarray of int
        0 success, -3 a non-finite function value entered the element.
    success : ndarray of bool
        ``status == 0``.
    nfev : int
        Function evaluations (points) used.
    step : ndarray
        The (largest) step used per direction and point.
    x : ndarray
        The points.
    """


# ---------------------------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------------------------

def _check_method(method, *, complex_ok=True):
    if not isinstance(method, str) or method not in _METHODS:
        raise ValueError(f"method must be 'central', 'forward', 'backward' or 'complex', got "
                         f"{method!r}")
    if method == "complex" and not complex_ok:
        raise ValueError("method='complex' is available for first derivatives (derivative with "
                         "n=1, gradient, jacobian, directional_derivative, divergence, curl, "
                         "check_grad) and for hessian, hessian_vector and laplacian; use "
                         "'central', 'forward' or 'backward' here")
    return _METHODS[method]


def _check_int(value, name, lo, hi=None):
    try:
        v = operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}") from None
    if v < lo or (hi is not None and v > hi):
        rng = f">= {lo}" if hi is None else f"in {lo}..{hi}"
        raise ValueError(f"{name} must be {rng}, got {v}")
    return v


def _check_common(method, accuracy, richardson, *, complex_ok=True):
    meth = _check_method(method, complex_ok=complex_ok)
    if isinstance(accuracy, bool) or accuracy not in (2, 4, 6, 8):
        if not (accuracy == 1 and meth in (1, 2) and not isinstance(accuracy, bool)):
            raise ValueError(f"accuracy must be 2, 4, 6 or 8 (or 1 for forward/backward first "
                             f"derivatives), got {accuracy!r}")
    richardson = _check_int(richardson, "richardson", 0, _MAX_RICHARDSON)
    return meth, int(accuracy), richardson


def _as_points(x, name="x", *, vector=True):
    """x as a finite float64 array; for functions of a vector, at least 1-D."""
    try:
        if np.iscomplexobj(x):
            raise TypeError
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be an array of real numbers, got "
                        f"{type(x).__name__}") from None
    if vector and arr.ndim == 0:
        raise ValueError(f"{name} must have the variables on axis 0 (shape (n,) or (n, k...)), "
                         "got a scalar")
    if vector and arr.shape[0] == 0:
        raise ValueError(f"{name} must have at least one variable on axis 0, got shape {arr.shape}")
    if not _diff.all_finite(arr):
        raise ValueError(f"{name} must be finite (no NaN or inf)")
    return arr


def _check_callable(f):
    if not callable(f) and not isinstance(f, tuple):
        raise TypeError(f"f must be callable, got {type(f).__name__}")


def _check_args(args):
    if not isinstance(args, tuple):
        args = (args,)
    return args


def _user_steps(step, n, m, name="step"):
    """Absolute steps from a scalar or per-coordinate array: (n, m)."""
    try:
        s = np.asarray(step, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a positive number or an array of them") from None
    if s.ndim == 0:
        s = np.full(n, float(s))
    elif s.shape == (n,):
        pass
    else:
        raise ValueError(f"{name} must be a scalar or have shape ({n},) (one step per coordinate), "
                         f"got shape {s.shape}")
    if not (np.isfinite(s).all() and (s > 0).all()):
        raise ValueError(f"{name} must be finite and > 0")
    return np.ascontiguousarray(np.broadcast_to(s[:, None], (n, m)))


def _step_const(order0, ostep, richardson, deriv):
    """eps**(1/(effective order + deriv)): balances truncation and rounding errors."""
    return _EPS ** (1.0 / (order0 + richardson * ostep + deriv))


# ---------------------------------------------------------------------------------------------
# The engine: plan -> kernel -> shaped result
# ---------------------------------------------------------------------------------------------

def _engine(ev, specs, x2, meth, accuracy, richardson, h, dcoord, dvec=None, want_err=False):
    if want_err and richardson == 0:
        # the error estimate of a plain stencil: evaluate it also with steps 2h (same points at
        # h, so the same value as without full_output) and compare, as Richardson would
        plan = _diff.make_plan(specs, meth, accuracy, 2)
        return _diff.run(ev, plan, x2, np.ascontiguousarray(2.0 * h), dcoord, dvec, None, True,
                         False)
    plan = _diff.make_plan(specs, meth, accuracy, richardson + 1)
    out, err = _diff.run(ev, plan, x2, h, dcoord, dvec, None, want_err)
    return out, err


def _finish(value, err, ev_nfev, step, x, full_output, what="derivative"):
    """Report non-finite values; build the full result."""
    if not full_output:
        if not _diff.all_finite(value):
            raise ValueError(f"the function returned NaN or inf at a stencil point, so the {what} "
                             "is not finite; pass full_output=True to get NaN with status -3")
        return value
    bad = ~np.isfinite(value)
    status = np.where(bad, _STATUS_NONFINITE, 0).astype(np.int32)
    if err is None:
        err = np.zeros_like(value)
    err = np.where(bad, np.nan, err)
    return DifferentiationResult(df=value, error=err, status=status, success=status == 0,
                                 nfev=int(ev_nfev), step=step, x=x)


def _scalar_out(value, scalar_in):
    if scalar_in:
        return value[()]
    return value


# ---------------------------------------------------------------------------------------------
# Complex step (Python layer: the adapter evaluates real points only)
# ---------------------------------------------------------------------------------------------

def _complex_call(f, xc, args, vectorized, point_shape):
    """Evaluate f at the complex points xc (n, M) (or (M,) for one-variable f)."""
    def call(pt):
        try:
            return f(pt, *args)
        except TypeError as exc:
            if hasattr(exc, "add_note"):      # Python >= 3.11
                exc.add_note("fastcalc: method='complex' needs a function that accepts complex "
                             "input")
            raise

    if xc.shape[-1] == 0:                  # no points: nothing to call
        return np.zeros((1, 0), dtype=np.complex128)
    if vectorized:
        r = np.asarray(call(xc))
        M = xc.shape[-1]
        res = r.reshape(-1, M) if r.ndim >= 1 and r.shape[-1] == M else None
        if res is None:
            raise ValueError(f"the vectorized function returned shape {r.shape} for {M} points")
    else:
        M = xc.shape[-1]
        vals = []
        for q in range(M):
            pt = xc[..., q].copy() if xc.ndim > 1 else complex(xc[q])
            vals.append(np.asarray(call(pt)))
        r0 = vals[0] if vals else np.zeros(point_shape)
        if any(v.shape != r0.shape for v in vals):
            raise ValueError("the function returned values of different shapes")
        res = np.stack([v.reshape(-1) for v in vals], axis=-1) if vals else np.zeros((1, 0))
        r = res
    if not np.iscomplexobj(r):
        raise ValueError("method='complex' needs a function that carries complex input through to "
                         "a complex result; it returned real values (does it use math.*, abs() or "
                         ".real?)")
    return res


def _complex_err(d, fx, scale):
    """Error estimate of complex-step first derivatives ``d``: rounding in evaluating f, which is
    relative to the size of f's terms rather than to ``|d|`` (``d`` may be small by cancellation):
    ``8 eps (|d| + |f(x)| / scale)`` with ``scale = max(1, |x|_inf) / |v|_inf``."""
    return 8.0 * _EPS * (np.abs(d) + np.abs(fx) / scale)


def _complex_jac(f, x2, args, vectorized, scalar_x, step):
    """Complex-step Jacobian: (nout, n, m), the steps (n, m), the evaluations and the error
    estimate (nout, n, m)."""
    if is_compiled(f):
        raise TypeError("method='complex' needs a Python function that accepts complex input; "
                        "built-in and low-level callables evaluate real points only")
    n, m = x2.shape
    if step is None:
        h = 1e-20 * np.maximum(1.0, np.abs(x2))
    elif isinstance(step, np.ndarray) and step.shape == (n, m):
        h = step                                    # per point, already validated
    else:
        h = _user_steps(step, n, m)
    outs = []
    truncs = []
    nout = None
    fx = None                                       # Re f(x + i h e_0) = f(x) to O(h**2)
    for i in range(n):
        xc = x2.astype(np.complex128)
        xc[i] += 1j * h[i]
        res = _complex_call(f, xc[0] if scalar_x else xc, args, vectorized, ())
        if nout is None:
            nout = res.shape[0]
        elif res.shape[0] != nout:
            raise ValueError("the function returned a different number of outputs")
        outs.append(res.imag / h[i])
        if fx is None:
            fx = res.real
        if step is not None:
            # a user's step may be large enough for the O(h**2) truncation to show: compare
            # with h/2 (error(h) = 4/3 |D(h) - D(h/2)| asymptotically; 2x for safety)
            xc[i] = x2[i] + 0.5j * h[i]
            res2 = _complex_call(f, xc[0] if scalar_x else xc, args, vectorized, ())
            truncs.append(2.0 * np.abs(outs[-1] - res2.imag / (0.5 * h[i])))
    jac = np.stack(outs, axis=1) if outs else np.zeros((1, n, m))
    scale = np.maximum(1.0, np.abs(x2).max(axis=0)) if n else np.ones(m)
    err = _complex_err(jac, fx[:, None, :] if fx is not None and fx.shape[-1] == m else 0.0, scale)
    if truncs:
        err = err + np.stack(truncs, axis=1)
    return jac, h, n * m * (2 if step is not None else 1), err


def _complex_mixed(f, x2, us, ks, args, vectorized, accuracy, step, _check_step=True):
    """Second derivatives by complex step along ``u`` and central differences along ``e_k``.

    ``Im f(x + i*h*u + s*d*e_k) / h`` is the exact derivative along ``u`` at the shifted point (no
    cancellation), so a central stencil in ``s`` over it gives ``d^2 f / (du dx_k)`` with the error
    of a first derivative.  ``us``: list of (n, m) directions, ``ks``: their coordinates.
    Returns (len(us), m) values, the steps d (n, m), the number of evaluations and the error
    estimate (len(us), m).
    """
    if is_compiled(f):
        raise TypeError("method='complex' needs a Python function that accepts complex input; "
                        "built-in and low-level callables evaluate real points only")
    n, m = x2.shape
    nodes, weights = _diff.fd_weights(1, "central", accuracy)
    keep = weights != 0
    nodes, weights = nodes[keep], weights[keep]
    if step is None:
        d = _diff.relative_steps(x2, np.arange(n, dtype=np.intc), _EPS ** (1.0 / (accuracy + 1)), 0)
    else:
        d = _user_steps(step, n, m)
    scale = np.maximum(1.0, np.abs(x2).max(axis=0)) if n else np.ones(m)
    P = len(us)
    S = len(nodes)
    out = np.zeros((P, m))
    rnd = np.zeros((P, m))          # rounding estimate: eps * sum |w * g| / d
    per_batch = max(1, (1 << 16) // max(1, n * m * S))
    for b0 in range(0, P, per_batch):
        b1 = min(P, b0 + per_batch)
        pts = np.empty((b1 - b0, S, n, m), dtype=np.complex128)
        hs = np.empty((b1 - b0, m))
        for q in range(b0, b1):
            u = us[q]
            umax = np.abs(u).max(axis=0)
            hq = 1e-20 * scale / np.where(umax > 0, umax, 1.0)
            hs[q - b0] = hq
            base = x2 + 1j * hq * u
            for t, sn in enumerate(nodes):
                pts[q - b0, t] = base
                pts[q - b0, t, ks[q]] += sn * d[ks[q]]
        M = (b1 - b0) * S * m
        xc = np.moveaxis(pts, 2, 0).reshape(n, M)
        res = _complex_call(f, xc, args, vectorized, ())
        if res.shape[0] != 1:
            raise ValueError("this routine needs a scalar function")
        vals = res[0].imag.reshape(b1 - b0, S, m)
        for q in range(b0, b1):
            out[q] = (weights[:, None] * vals[q - b0]).sum(axis=0) / (hs[q - b0] * d[ks[q]])
            rnd[q] = (_EPS * np.abs(weights[:, None] * vals[q - b0]).sum(axis=0)
                      / (hs[q - b0] * d[ks[q]]))
        if P == 0:
            break
    for q in range(P):           # u = 0: the derivative along u is 0
        out[q] = np.where((np.abs(us[q]) > 0).any(axis=0), out[q], 0.0)
    # error estimate: 1e-10 relative (truncation of the real-direction stencil) plus 8x the
    # rounding of g = Im f / h, which is relative to |g| ~ |df/du|, not to the result
    err = 1e-10 * np.abs(out) + 8.0 * rnd
    nfev = P * S * m
    if step is not None and _check_step:
        # a user's step: its truncation shows, compare with half the step (2x the difference)
        half, _, nf2, _ = _complex_mixed(f, x2, us, ks, args, vectorized, accuracy,
                                         0.5 * np.asarray(step, dtype=np.float64), False)
        err = err + 2.0 * np.abs(out - half)
        nfev += nf2
    return out, d, nfev, err


def _check_complex_richardson(richardson):
    if richardson:
        raise ValueError("method='complex' is exact to rounding along the complex direction; "
                         "richardson must be 0")


# ---------------------------------------------------------------------------------------------
# Public routines
# ---------------------------------------------------------------------------------------------

def derivative(f, x, *, n=1, method="central", accuracy=2, step=None, richardson=0,
               vectorized=False, args=(), full_output=False):
    """n-th derivative of a function of one variable at one point or at an array of points.

    Parameters
    ----------
    f : callable
        ``f(x, *args)`` of one real variable: a Python function of a float (or, with
        ``vectorized=True``, of a 1-D array of points, returning an array of the same length), a
        built-in :mod:`fastcalc.functions` function, or a low-level callable
        (``scipy.LowLevelCallable``, numba ``cfunc``, ``double (double)``).
    x : float or array_like
        Point(s); every element is one point.
    n : int, 1..6
        Derivative order.
    method : {"central", "forward", "backward", "complex"}
        Stencil; "complex" (complex step, ``n=1`` only) needs a Python function that accepts
        complex input and is then exact to rounding.
    accuracy : {2, 4, 6, 8}
        Order of the stencil's truncation error.
    step : float or array_like, optional
        Absolute step (scalar or one per point).  Default: relative,
        ``eps**(1/(accuracy + 2*richardson + n)) * max(1, |x|)`` for "central".
    richardson : int, 0..6
        Richardson extrapolation levels over the steps ``h, h/2, h/4, ...``.
    vectorized : bool
        ``f`` takes an array of points (one call per stencil batch).
    args : tuple
        Extra arguments for ``f``.
    full_output : bool
        Return a :class:`DifferentiationResult` (``df``, ``error``, ``status``, ``nfev``, ``step``).

    Returns
    -------
    float or ndarray
        The derivative, same shape as ``x``.

    Raises
    ------
    ValueError
        Non-finite ``x``, ``n`` outside 1..6, bad ``accuracy``, ``method``, ``richardson`` or
        ``step``, or a NaN/inf function value (reported in ``status`` instead with ``full_output=True``).

    Examples
    --------
    >>> import numpy as np
    >>> import fastcalc as fc
    >>> round(float(fc.derivative(lambda x: x**2, 3.0)), 8)
    6.0
    >>> fc.derivative(np.sin, np.array([0.0, np.pi]), vectorized=True, richardson=2).round(12)
    array([ 1., -1.])
    """
    _check_callable(f)
    n = _check_int(n, "n", 1, 6)
    meth, accuracy, richardson = _check_common(method, accuracy, richardson,
                                               complex_ok=(operator.index(n) == 1))
    args = _check_args(args)
    scalar_in = np.ndim(x) == 0
    xa = _as_points(x, vector=False)
    shape = xa.shape
    x2 = np.ascontiguousarray(xa.reshape(1, -1))
    if meth == 3:
        _check_complex_richardson(richardson)
        if step is not None:
            step = _derivative_step(step, shape)
        jac, h, nfev, cerr = _complex_jac(f, x2, args, vectorized, True,
                                          None if step is None else step.reshape(1, -1))
        value = jac[0, 0].reshape(shape)
        err = cerr[0, 0].reshape(shape)
        res = _finish(value, err, nfev, h.reshape(shape), xa, full_output)
        return res if full_output else _scalar_out(res, scalar_in)
    ev = as_evaluator(f, 1, 1, True, True, bool(vectorized), args)
    dcoord = np.zeros(1, dtype=np.intc)
    if step is None:
        c = _step_const(accuracy, 2 if meth == 0 else 1, richardson, n)
        h = _diff.relative_steps(x2, dcoord, c, meth)
    else:
        h = np.ascontiguousarray(_derivative_step(step, shape).reshape(1, -1))
    out, err = _engine(ev, (("d", 0, n),), x2, meth, accuracy, richardson, h, dcoord,
                       want_err=full_output)
    value = out[0, 0].reshape(shape)
    res = _finish(value, None if err is None else err[0, 0].reshape(shape), ev.nfev,
                  h.reshape(shape), xa, full_output)
    return res if full_output else _scalar_out(res, scalar_in)


def _derivative_step(step, shape):
    try:
        s = np.asarray(step, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError("step must be a positive number or an array of them") from None
    try:
        s = np.broadcast_to(s, shape).astype(np.float64)
    except ValueError:
        raise ValueError(f"step must be a scalar or broadcast to x's shape {shape}, got shape "
                         f"{s.shape}") from None
    if not (np.isfinite(s).all() and (s > 0).all()):
        raise ValueError("step must be finite and > 0")
    return s


def _vector_setup(f, x, method, accuracy, richardson, args, *, complex_ok=True):
    _check_callable(f)
    meth, accuracy, richardson = _check_common(method, accuracy, richardson, complex_ok=complex_ok)
    args = _check_args(args)
    xa = _as_points(x)
    nvar = xa.shape[0]
    batch = xa.shape[1:]
    x2 = np.ascontiguousarray(xa.reshape(nvar, -1))
    return meth, accuracy, richardson, args, xa, nvar, batch, x2


def _coord_steps(x2, step, meth, accuracy, richardson, deriv):
    n, m = x2.shape
    dcoord = np.arange(n, dtype=np.intc)
    if step is None:
        c = _step_const(accuracy, 2 if meth == 0 else 1, richardson, deriv)
        h = _diff.relative_steps(x2, dcoord, c, meth)
    else:
        h = _user_steps(step, n, m)
    return dcoord, h


def gradient(f, x, *, method="central", accuracy=2, step=None, richardson=0, vectorized=False,
             args=(), full_output=False):
    """Gradient of a scalar function of ``n`` variables.

    Parameters
    ----------
    f : callable
        ``f(x, *args)`` with ``x`` of shape ``(n,)`` returning a number (with ``vectorized=True``:
        ``x`` of shape ``(n, m)`` returning ``(m,)``); or a built-in / low-level callable.
    x : array_like, shape (n,) or (n, k...)
        Point(s), variables on axis 0.
    method, accuracy, step, richardson, vectorized, args, full_output
        As in :func:`derivative`; ``step`` is a scalar or one absolute step per coordinate.

    Returns
    -------
    ndarray, shape (n,) or (n, k...)

    Examples
    --------
    >>> import numpy as np
    >>> import fastcalc as fc
    >>> from scipy.optimize import rosen, rosen_der
    >>> x = np.array([0.5, 1.0, 1.5])
    >>> fc.gradient(rosen, x).round(4)
    array([-151.,  -50.,  100.])
    >>> bool(np.allclose(fc.gradient(rosen, x), rosen_der(x), rtol=1e-9))
    True
    """
    if (richardson == 0 and step is None and not full_output and type(args) is tuple and not args
            and type(x) is np.ndarray and type(accuracy) is int and type(method) is str
            and method in _FAST_METHODS):
        # the common call: straight to the compiled fd_gradient (same stencil machinery)
        g = _diff.gradient_fast(f, x, _FAST_METHODS[method], accuracy, bool(vectorized))
        if g is not None:
            return g
    meth, accuracy, richardson, args, xa, nvar, batch, x2 = _vector_setup(
        f, x, method, accuracy, richardson, args)
    if meth == 3:
        _check_complex_richardson(richardson)
        jac, h, nfev, cerr = _complex_jac(f, x2, args, vectorized, False, step)
        if jac.shape[0] != 1:
            raise ValueError(f"gradient needs a scalar function; it returned {jac.shape[0]} values "
                             "per point (use jacobian)")
        value = jac[0].reshape(xa.shape)
        return _finish(value, cerr[0].reshape(xa.shape), nfev, h.reshape(xa.shape), xa, full_output,
                       "gradient")
    ev = as_evaluator(f, nvar, 1, False, True, bool(vectorized), args)
    dcoord, h = _coord_steps(x2, step, meth, accuracy, richardson, 1)
    specs = _grad_specs(nvar)
    out, err = _engine(ev, specs, x2, meth, accuracy, richardson, h, dcoord, want_err=full_output)
    value = out[0].reshape(xa.shape)
    return _finish(value, None if err is None else err[0].reshape(xa.shape), ev.nfev,
                   h.reshape(xa.shape), xa, full_output, "gradient")


_SPEC_CACHE = {}


def _grad_specs(n):
    key = ("g", n)
    s = _SPEC_CACHE.get(key)
    if s is None:
        s = _SPEC_CACHE[key] = tuple(("d", i, 1) for i in range(n))
    return s


def _hess_specs(n):
    key = ("h", n)
    s = _SPEC_CACHE.get(key)
    if s is None:
        lst = []
        for i in range(n):
            for j in range(i, n):
                lst.append(("d", i, 2) if i == j else ("m", i, j))
        s = _SPEC_CACHE[key] = tuple(lst)
    return s


def _probe_nout(f, x2, args, vectorized, nout):
    """Number of outputs of f, whether it returns a scalar per point, and f at the first point
    (an array of shape (nout,), or None when f was not called)."""
    if nout is not None:
        nout = _check_int(nout, "nout", 1)
        return nout, False, None
    if isinstance(f, Function):
        k = f.output_kind
        n = x2.shape[0]
        if k == "value":
            return 1, True, None
        return (n if k == "grad" else n * n), False, None
    from fastcalc._core import _lowlevel_from
    llc = _lowlevel_from(f)
    if llc is not None:
        if "int, double *, int" in llc.signature.replace("const ", ""):
            raise TypeError("a low-level callable with the vector signature needs nout= (its "
                            "number of outputs)")
        return 1, True, None
    if x2.shape[1] == 0:
        raise ValueError("cannot find the number of outputs of f without a point; pass nout=")
    if vectorized:
        r = np.asarray(f(x2[:, :1].copy(), *args))
        if r.shape == (1,):
            return 1, True, r
        if r.ndim == 2 and r.shape[1] == 1:
            return r.shape[0], False, r[:, 0]
        raise ValueError(f"the vectorized function returned shape {r.shape} for 1 point; expected "
                         "(1,) or (p, 1)")
    r = np.asarray(f(x2[:, 0].copy(), *args))
    if r.ndim == 0:
        return 1, True, r.reshape(1)
    if r.ndim == 1:
        return r.shape[0], False, r
    raise ValueError(f"the function returned shape {r.shape} for one point; expected a number or a "
                     "1-D array")


def jacobian(f, x, *, method="central", accuracy=2, step=None, richardson=0, vectorized=False,
             args=(), full_output=False, nout=None):
    """Jacobian of ``f: R^n -> R^p``.

    Parameters
    ----------
    f : callable
        ``f(x, *args)`` with ``x`` of shape ``(n,)`` returning ``(p,)`` (or a number); with
        ``vectorized=True``, ``x`` of shape ``(n, m)`` returning ``(p, m)`` (or ``(m,)``).  Also a
        built-in function or a low-level callable (vector signature
        ``void (int, const double *, int, double *, void *)`` needs ``nout``).
    x : array_like, shape (n,) or (n, k...)
    nout : int, optional
        Number of outputs; found by evaluating f once at the first point when not given.
    method, accuracy, step, richardson, vectorized, args, full_output
        As in :func:`gradient`.

    Returns
    -------
    ndarray
        Shape ``(p, n)`` (batch: ``(p, n, k...)``); for a scalar function ``(n,)`` / ``(n, k...)``,
        like :func:`scipy.differentiate.jacobian`.

    Examples
    --------
    >>> import numpy as np
    >>> import fastcalc as fc
    >>> f = lambda x: np.array([x[0] * x[1], np.sin(x[0])])
    >>> fc.jacobian(f, np.array([1.0, 2.0])).round(8)
    array([[2.        , 1.        ],
           [0.54030231, 0.        ]])
    """
    meth, accuracy, richardson, args, xa, nvar, batch, x2 = _vector_setup(
        f, x, method, accuracy, richardson, args)
    if meth == 3:
        _check_complex_richardson(richardson)
        jac, h, nfev, cerr = _complex_jac(f, x2, args, vectorized, False, step)
        p = jac.shape[0]
        scalar = p == 1 and nout is None and _complex_scalar(f, x2, args, vectorized)
        value = jac.reshape((nvar,) + batch) if scalar else jac.reshape((p, nvar) + batch)
        return _finish(value, cerr.reshape(value.shape), nfev, h.reshape(xa.shape), xa, full_output,
                       "Jacobian")
    p, scalar, _ = _probe_nout(f, x2, args, vectorized, nout)
    ev = as_evaluator(f, nvar, p, False, scalar, bool(vectorized), args)
    dcoord, h = _coord_steps(x2, step, meth, accuracy, richardson, 1)
    out, err = _engine(ev, _grad_specs(nvar), x2, meth, accuracy, richardson, h, dcoord,
                       want_err=full_output)
    shp = (nvar,) + batch if scalar else (p, nvar) + batch
    value = out.reshape(shp)
    return _finish(value, None if err is None else err.reshape(shp), ev.nfev, h.reshape(xa.shape),
                   xa, full_output, "Jacobian")


def _complex_scalar(f, x2, args, vectorized):
    if vectorized:
        return np.ndim(f(x2[:, :1].astype(complex), *args)) == 1
    return np.ndim(f(x2[:, 0].astype(complex), *args)) == 0


def hessian(f, x, *, method="central", accuracy=2, step=None, richardson=0, vectorized=False,
            args=(), full_output=False):
    """Hessian of a scalar function from a direct two-dimensional stencil.

    Diagonal entries use the second-derivative stencil, off-diagonal ones the tensor product of two
    first-derivative stencils (about ``2 n**2`` evaluations for "central", accuracy 2).  Each pair
    is computed once, so the result is exactly symmetric, and entries whose true value is 0 come out at
    rounding-noise level.

    Parameters
    ----------
    f, x, method, accuracy, step, richardson, vectorized, args, full_output
        As in :func:`gradient`.  ``method="complex"`` (Python functions accepting complex input)
        takes the complex step along ``e_j`` and central differences of step ``eps**(1/3)`` along
        ``e_k`` for each pair ``j <= k``: about 10x more accurate than "central", same symmetry.

    Returns
    -------
    ndarray, shape (n, n) or (n, n, k...)

    Examples
    --------
    >>> import numpy as np
    >>> import fastcalc as fc
    >>> fc.hessian(lambda x: x[0]**2 * x[1], np.array([1.0, 3.0])).round(6)
    array([[6., 2.],
           [2., 0.]])
    """
    meth, accuracy, richardson, args, xa, nvar, batch, x2 = _vector_setup(
        f, x, method, accuracy, richardson, args)
    if meth == 3:
        _check_complex_richardson(richardson)
        m = x2.shape[1]
        eye = np.eye(nvar)
        pairs = [(j, k) for j in range(nvar) for k in range(j, nvar)]
        us = [np.broadcast_to(eye[:, j:j + 1], (nvar, m)) for j, _ in pairs]
        vals, d, nfev, cerr = _complex_mixed(f, x2, us, [k for _, k in pairs], args, vectorized,
                                             accuracy, step)
        idx = _sym_index(nvar)
        value = vals[idx].reshape((nvar, nvar) + batch)
        return _finish(value, cerr[idx].reshape(value.shape), nfev, d.reshape(xa.shape), xa,
                       full_output, "Hessian")
    if nvar * (nvar + 1) // 2 * 4 * (richardson + 1) > _diff.MAX_PLAN_POINTS:
        raise ValueError(f"a Hessian of {nvar} variables needs more than {_diff.MAX_PLAN_POINTS} "
                         "stencil points per point; use hessian_vector for large n")
    ev = as_evaluator(f, nvar, 1, False, True, bool(vectorized), args)
    dcoord, h = _coord_steps(x2, step, meth, accuracy, richardson, 2)
    out, err = _engine(ev, _hess_specs(nvar), x2, meth, accuracy, richardson, h, dcoord,
                       want_err=full_output)
    idx = _sym_index(nvar)
    shp = (nvar, nvar) + batch
    value = out[0][idx].reshape(shp)
    e = None if err is None else err[0][idx].reshape(shp)
    return _finish(value, e, ev.nfev, h.reshape(xa.shape), xa, full_output, "Hessian")


def _sym_index(n):
    key = ("s", n)
    s = _SPEC_CACHE.get(key)
    if s is None:
        idx = np.empty((n, n), dtype=np.intp)
        c = 0
        for i in range(n):
            for j in range(i, n):
                idx[i, j] = idx[j, i] = c
                c += 1
        s = _SPEC_CACHE[key] = idx.reshape(-1)
    return s


def _direction(v, xa, name="v"):
    try:
        if np.iscomplexobj(v):
            raise TypeError
        va = np.asarray(v, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be an array of real numbers") from None
    n = xa.shape[0]
    if va.shape != (n,) and va.shape != xa.shape:
        raise ValueError(f"{name} must have shape ({n},) or x's shape {xa.shape}, got {va.shape}")
    if not np.isfinite(va).all():
        raise ValueError(f"{name} must be finite")
    m = int(np.prod(xa.shape[1:], dtype=np.intp))
    v2 = np.broadcast_to(va[:, None], (n, m)) if va.ndim == 1 else va.reshape(n, m)
    return np.ascontiguousarray(v2)


def _vector_step(x2, v2, step, meth, accuracy, richardson, deriv):
    """Step along the direction v per point: c * max(1, |x|_inf) / |v|_inf (absolute if given)."""
    vmax = np.abs(v2).max(axis=0) if v2.size else np.zeros(x2.shape[1])
    safe = np.where(vmax > 0, vmax, 1.0)
    if step is None:
        c = _step_const(accuracy, 2 if meth == 0 else 1, richardson, deriv)
        xmax = np.abs(x2).max(axis=0) if x2.size else np.zeros(x2.shape[1])
        return c * np.maximum(1.0, xmax) / safe
    s = np.asarray(step, dtype=np.float64)
    if s.ndim != 0 or not np.isfinite(s) or s <= 0:
        raise ValueError("step must be a positive finite scalar for a directional derivative")
    return np.full(x2.shape[1], float(s))


def directional_derivative(f, x, v, *, method="central", accuracy=2, step=None, richardson=0,
                           vectorized=False, args=(), full_output=False):
    """Derivative of a scalar function along ``v``: ``d/dt f(x + t v)`` at ``t = 0`` (= grad f . v).

    Two evaluations per point for "central", whatever ``n``.

    Parameters
    ----------
    v : array_like, shape (n,) or like x
        The direction (not normalised).
    f, x, method, accuracy, step, richardson, vectorized, args, full_output
        As in :func:`gradient`; ``step`` is a scalar step in ``t``.

    Returns
    -------
    float or ndarray, shape x.shape[1:]

    Examples
    --------
    >>> import numpy as np
    >>> import fastcalc as fc
    >>> d = fc.directional_derivative(lambda x: x @ x, np.array([1.0, 2.0]), [1.0, 1.0])
    >>> round(float(d), 8)
    6.0
    """
    meth, accuracy, richardson, args, xa, nvar, batch, x2 = _vector_setup(
        f, x, method, accuracy, richardson, args)
    v2 = _direction(v, xa)
    ht = _vector_step(x2, v2, step, meth, accuracy, richardson, 1)
    if meth == 3:
        _check_complex_richardson(richardson)
        if is_compiled(f):
            raise TypeError("method='complex' needs a Python function that accepts complex input")
        hc = 1e-20 * ht if step is None else ht
        xc = x2 + 1j * hc * v2
        res = _complex_call(f, xc, args, vectorized, ())
        if res.shape[0] != 1:
            raise ValueError("directional_derivative needs a scalar function")
        value = (res[0].imag / hc).reshape(batch)
        vmax = np.abs(v2).max(axis=0) if nvar else np.ones(x2.shape[1])
        scale = np.maximum(1.0, np.abs(x2).max(axis=0)) / np.where(vmax > 0, vmax, 1.0)
        cerr = _complex_err(res[0].imag / hc, res[0].real, scale)
        nfev = x2.shape[1]
        if step is not None:           # a user's step: its truncation, as in _complex_jac
            res2 = _complex_call(f, x2 + 0.5j * hc * v2, args, vectorized, ())
            cerr = cerr + 2.0 * np.abs(res[0].imag / hc - res2[0].imag / (0.5 * hc))
            nfev *= 2
        r = _finish(value, cerr.reshape(batch), nfev, hc.reshape(batch), xa, full_output,
                    "directional derivative")
        return r if full_output or batch else r[()]
    ev = as_evaluator(f, nvar, 1, False, True, bool(vectorized), args)
    dcoord = np.array([-1], dtype=np.intc)
    h = np.ascontiguousarray(ht.reshape(1, -1))
    out, err = _engine(ev, (("d", 0, 1),), x2, meth, accuracy, richardson, h, dcoord,
                       dvec=v2.reshape(1, nvar, -1), want_err=full_output)
    value = out[0, 0].reshape(batch)
    e = None if err is None else err[0, 0].reshape(batch)
    r = _finish(value, e, ev.nfev, ht.reshape(batch), xa, full_output, "directional derivative")
    return r if full_output or batch else r[()]


def hessian_vector(f, x, v, *, method="central", accuracy=2, step=None, richardson=0,
                   vectorized=False, args=(), full_output=False):
    """Hessian-vector product ``H(x) @ v`` without forming ``H``.

    Entry ``i`` is the mixed second derivative along ``e_i`` and ``v``, from a 2-D stencil
    (``4 n`` evaluations per point for "central", accuracy 2, instead of about ``2 n**2``).

    Parameters
    ----------
    v : array_like, shape (n,) or like x
    f, x, method, accuracy, step, richardson, vectorized, args, full_output
        As in :func:`hessian`.

    Returns
    -------
    ndarray, shape (n,) or (n, k...)

    Examples
    --------
    >>> import numpy as np
    >>> import fastcalc as fc
    >>> from scipy.optimize import rosen, rosen_hess
    >>> x = np.array([0.5, 1.5, 2.0]); v = np.array([1.0, -1.0, 2.0])
    >>> bool(np.allclose(fc.hessian_vector(rosen, x, v), rosen_hess(x) @ v, rtol=1e-6))
    True
    """
    meth, accuracy, richardson, args, xa, nvar, batch, x2 = _vector_setup(
        f, x, method, accuracy, richardson, args)
    v2 = _direction(v, xa)
    if meth == 3:
        _check_complex_richardson(richardson)
        vals, d, nfev, cerr = _complex_mixed(f, x2, [v2] * nvar, list(range(nvar)), args,
                                             vectorized, accuracy, step)
        value = vals.reshape(xa.shape)
        return _finish(value, cerr.reshape(xa.shape), nfev, d.reshape(xa.shape), xa, full_output,
                       "Hessian-vector product")
    ev = as_evaluator(f, nvar, 1, False, True, bool(vectorized), args)
    dcoord = np.arange(nvar + 1, dtype=np.intc)
    dcoord[nvar] = -1
    if step is None:
        hc = _diff.relative_steps(x2, dcoord, _step_const(accuracy, 2 if meth == 0 else 1,
                                                          richardson, 2), meth)
    else:
        hc = np.empty((nvar + 1, x2.shape[1]))
        hc[:nvar] = _user_steps(step, nvar, x2.shape[1])
    s_scalar = None if step is None else (float(np.max(np.asarray(step, dtype=float))))
    hc[nvar] = _vector_step(x2, v2, s_scalar, meth, accuracy, richardson, 2)
    specs = tuple(("m", i, nvar) for i in range(nvar))
    out, err = _engine(ev, specs, x2, meth, accuracy, richardson, hc, dcoord,
                       dvec=v2.reshape(1, nvar, -1), want_err=full_output)
    value = out[0].reshape(xa.shape)
    # v = 0 (per point): the product is 0
    zero = ~(np.abs(v2) > 0).any(axis=0)
    if zero.any():
        value = value.reshape(nvar, -1)
        value[:, zero] = 0.0
        value = value.reshape(xa.shape)
    return _finish(value, None if err is None else err[0].reshape(xa.shape), ev.nfev,
                   hc[:nvar].reshape(xa.shape), xa, full_output, "Hessian-vector product")


def laplacian(f, x, *, method="central", accuracy=2, step=None, richardson=0, vectorized=False,
              args=(), full_output=False):
    """Laplacian ``sum_i d^2 f / dx_i^2`` of a scalar function (``2 n + 1`` evaluations, central).

    Parameters
    ----------
    f, x, method, accuracy, step, richardson, vectorized, args, full_output
        As in :func:`hessian`.

    Returns
    -------
    float or ndarray, shape x.shape[1:]

    Examples
    --------
    >>> import numpy as np
    >>> import fastcalc as fc
    >>> round(float(fc.laplacian(lambda x: x @ x, np.array([1.0, 2.0, 3.0]))), 6)
    6.0
    """
    meth, accuracy, richardson, args, xa, nvar, batch, x2 = _vector_setup(
        f, x, method, accuracy, richardson, args)
    if meth == 3:
        _check_complex_richardson(richardson)
        m = x2.shape[1]
        eye = np.eye(nvar)
        us = [np.broadcast_to(eye[:, k:k + 1], (nvar, m)) for k in range(nvar)]
        vals, d, nfev, cerr = _complex_mixed(f, x2, us, list(range(nvar)), args, vectorized,
                                             accuracy, step)
        value = vals.sum(axis=0).reshape(batch)
        r = _finish(value, cerr.sum(axis=0).reshape(batch), nfev, d.reshape(xa.shape), xa,
                    full_output, "Laplacian")
        return r if full_output or batch else r[()]
    ev = as_evaluator(f, nvar, 1, False, True, bool(vectorized), args)
    dcoord, h = _coord_steps(x2, step, meth, accuracy, richardson, 2)
    specs = tuple(("d", i, 2) for i in range(nvar))
    out, err = _engine(ev, specs, x2, meth, accuracy, richardson, h, dcoord, want_err=full_output)
    value = out[0].sum(axis=0).reshape(batch)
    e = None if err is None else err[0].sum(axis=0).reshape(batch)
    r = _finish(value, e, ev.nfev, h.reshape(xa.shape), xa, full_output, "Laplacian")
    return r if full_output or batch else r[()]


def _field_jacobian(F, x, method, accuracy, step, richardson, vectorized, args, what):
    xa0 = _as_points(x)
    # a vector field has n outputs: no point is needed to find that out (empty batches)
    nout = xa0.shape[0] if xa0.size == 0 else None
    res = jacobian(F, xa0, method=method, accuracy=accuracy, step=step, richardson=richardson,
                   vectorized=vectorized, args=args, full_output=True, nout=nout)
    xa = res.x
    n = xa.shape[0]
    J = res.df
    if J.shape[:2] != (n, n):
        raise ValueError(f"{what} needs a vector field F: R^n -> R^n; F returned "
                         f"{J.shape[0] if J.ndim > xa.ndim else 1} values for {n} variables")
    return res, J, xa


def divergence(F, x, *, method="central", accuracy=2, step=None, richardson=0, vectorized=False,
               args=(), full_output=False):
    """Divergence ``sum_i dF_i/dx_i`` of a vector field ``F: R^n -> R^n``.

    Parameters
    ----------
    F : callable
        ``F(x, *args)`` returning ``(n,)`` (vectorized: ``(n, m)``).
    x, method, accuracy, step, richardson, vectorized, args, full_output
        As in :func:`jacobian`.

    Returns
    -------
    float or ndarray, shape x.shape[1:]

    Examples
    --------
    >>> import numpy as np
    >>> import fastcalc as fc
    >>> round(float(fc.divergence(lambda x: x**2, np.array([1.0, 2.0, 3.0]))), 6)
    12.0
    """
    res, J, xa = _field_jacobian(F, x, method, accuracy, step, richardson, vectorized, args,
                                 "divergence")
    batch = xa.shape[1:]
    n = xa.shape[0]
    value = np.einsum("ii...->...", J)
    if not full_output:
        return _finish(value if batch else value[()], None, res.nfev, res.step, xa, False,
                       "divergence")
    err = np.einsum("ii...->...", res.error)
    st = np.min(res.status.reshape(n * n, -1), axis=0).reshape(batch)
    return DifferentiationResult(df=value, error=err, status=st, success=st == 0, nfev=res.nfev,
                                 step=res.step, x=xa)


def curl(F, x, *, method="central", accuracy=2, step=None, richardson=0, vectorized=False,
         args=(), full_output=False):
    """Curl of a 3-D vector field (a vector), or the scalar curl ``dF_y/dx - dF_x/dy`` in 2-D.

    Parameters
    ----------
    F : callable
        ``F(x, *args)`` returning ``(n,)`` for ``n`` = 2 or 3 (vectorized: ``(n, m)``).
    x, method, accuracy, step, richardson, vectorized, args, full_output
        As in :func:`jacobian`.

    Returns
    -------
    ndarray, shape (3,) / (3, k...) in 3-D; float / shape (k...) in 2-D

    Examples
    --------
    >>> import numpy as np
    >>> import fastcalc as fc
    >>> F = lambda p: np.array([-p[1], p[0], 0.0 * p[2]])
    >>> fc.curl(F, np.array([0.3, 0.2, 0.1])).round(8)
    array([0., 0., 2.])
    """
    xa0 = _as_points(x)
    if xa0.shape[0] not in (2, 3):
        raise ValueError(f"curl needs x with 2 or 3 variables on axis 0, got {xa0.shape[0]}")
    res, J, xa = _field_jacobian(F, xa0, method, accuracy, step, richardson, vectorized, args,
                                 "curl")
    E = res.error
    if xa.shape[0] == 3:
        value = np.stack([J[2, 1] - J[1, 2], J[0, 2] - J[2, 0], J[1, 0] - J[0, 1]])
        err = np.stack([E[2, 1] + E[1, 2], E[0, 2] + E[2, 0], E[1, 0] + E[0, 1]])
    else:
        value = J[1, 0] - J[0, 1]
        err = E[1, 0] + E[0, 1]
    if not full_output:
        v = _finish(value, None, res.nfev, res.step, xa, False, "curl")
        return v[()] if v.ndim == 0 else v
    bad = ~np.isfinite(value)
    st = np.where(bad, _STATUS_NONFINITE, 0).astype(np.int32)
    return DifferentiationResult(df=value, error=err, status=st, success=st == 0, nfev=res.nfev,
                                 step=res.step, x=xa)


class TaylorPolynomial:
    """Taylor polynomial ``sum_k coef[k] * (x - x0)**k`` returned by :func:`taylor`.

    ``np.asarray(p)`` and ``p.coef`` give the coefficients ``f^(k)(x0)/k!`` (axis 0 = k), ``p(x)``
    evaluates the polynomial (Horner), ``p.error`` holds the coefficients' error estimates.
    """

    def __init__(self, coef, x0, error=None):
        self.coef = coef
        self.x0 = x0
        self.error = error

    @property
    def degree(self):
        return self.coef.shape[0] - 1

    def __call__(self, x):
        x = np.asarray(x, dtype=np.float64)
        t = x - self.x0
        r = np.zeros(np.broadcast(t, self.coef[0]).shape)
        for c in self.coef[::-1]:
            r = r * t + c
        return r[()] if r.ndim == 0 else r

    def __array__(self, dtype=None, copy=None):
        return self.coef if dtype is None else self.coef.astype(dtype)

    def __len__(self):
        return self.coef.shape[0]

    def __getitem__(self, k):
        return self.coef[k]

    def __repr__(self):
        return f"TaylorPolynomial(coef={self.coef!r}, x0={self.x0!r})"


def taylor(f, x0, degree, *, method="central", accuracy=4, step=None, richardson=1,
           vectorized=False, args=(), full_output=False):
    """Taylor coefficients ``f^(k)(x0) / k!`` for ``k = 0..degree`` of a one-variable function.

    All derivative orders are evaluated in one batch, each with its own step.

    Parameters
    ----------
    f : callable
        As in :func:`derivative`.
    x0 : float or array_like
        Expansion point(s).
    degree : int, 0..6
    method, accuracy, step, richardson, vectorized, args
        As in :func:`derivative` (defaults: accuracy 4 and one Richardson level, because high
        derivative orders lose digits).
    full_output : bool
        Also return the :class:`DifferentiationResult` of the coefficients.

    Returns
    -------
    TaylorPolynomial
        ``np.asarray(p)`` gives the coefficients (shape ``(degree+1,) + x0.shape``); ``p(x)``
        evaluates the polynomial.

    Examples
    --------
    >>> import numpy as np
    >>> import fastcalc as fc
    >>> p = fc.taylor(np.exp, 0.0, 3, vectorized=True)
    >>> np.asarray(p).round(8)
    array([1.        , 1.        , 0.5       , 0.16666667])
    >>> round(float(p(0.1)), 6)
    1.105167
    """
    _check_callable(f)
    degree = _check_int(degree, "degree", 0, 6)
    meth, accuracy, richardson = _check_common(method, accuracy, richardson, complex_ok=False)
    args = _check_args(args)
    xa = _as_points(x0, "x0", vector=False)
    shape = xa.shape
    x2 = np.ascontiguousarray(xa.reshape(1, -1))
    m = x2.shape[1]
    ev = as_evaluator(f, 1, 1, True, True, bool(vectorized), args)
    nd = max(degree, 1)
    dcoord = np.zeros(nd, dtype=np.intc)
    h = np.empty((nd, m))
    for k in range(1, nd + 1):
        if step is None:
            c = _step_const(accuracy, 2 if meth == 0 else 1, richardson, k)
            h[k - 1] = _diff.relative_steps(x2, dcoord[:1], c, meth)[0]
        else:
            h[k - 1] = _derivative_step(step, shape).reshape(-1)
    specs = (("d", 0, 0),) + tuple(("d", k - 1, k) for k in range(1, degree + 1))
    out, err = _engine(ev, specs, x2, meth, accuracy, richardson, h, dcoord, want_err=full_output)
    fact = np.array([math.factorial(k) for k in range(degree + 1)], dtype=np.float64)
    coef = (out[0] / fact[:, None]).reshape((degree + 1,) + shape)
    e = None if err is None else (err[0] / fact[:, None]).reshape((degree + 1,) + shape)
    res = _finish(coef, e, ev.nfev, h.reshape((nd,) + shape), xa, full_output, "Taylor coefficient")
    x0v = xa[()] if xa.ndim == 0 else xa
    if full_output:
        return TaylorPolynomial(res.df, x0v, res.error), res
    return TaylorPolynomial(res, x0v, None)


def check_grad(func, grad, x0, *args, epsilon=None, direction="all", rng=None, seed=None,
               method="central", accuracy=2, vectorized=False, relative=True):
    """Check an analytic gradient against central finite differences.

    Parameters
    ----------
    func : callable
        ``func(x, *args)`` -> float.
    grad : callable
        ``grad(x, *args)`` -> array of shape (n,), the gradient to check.
    x0 : array_like, shape (n,)
    *args
        Extra arguments of ``func`` and ``grad`` (as in :func:`scipy.optimize.check_grad`).
    epsilon : float or array_like, optional
        Absolute step(s); default relative steps.
    direction : {"all", "random"}
        "all" compares the whole gradient; "random" compares ``grad . v`` with the directional
        derivative along a random normal ``v`` (2 evaluations), as SciPy.
    rng, seed : int or numpy.random.Generator, optional
        Random generator for ``direction="random"`` (``rng``, SciPy's current name, or the older
        ``seed``; not both).
    method, accuracy, vectorized
        As in :func:`gradient`.
    relative : bool
        True (default): return ``||grad - fd|| / max(||fd||, tiny)``; False: the absolute 2-norm
        ``||grad - fd||`` that :func:`scipy.optimize.check_grad` returns.

    Returns
    -------
    float

    Examples
    --------
    >>> import numpy as np
    >>> import fastcalc as fc
    >>> from scipy.optimize import rosen, rosen_der
    >>> fc.check_grad(rosen, rosen_der, np.array([0.5, 1.2, -0.3])) < 1e-8
    True
    """
    if not callable(grad):
        raise TypeError(f"grad must be callable, got {type(grad).__name__}")
    xa = _as_points(x0, "x0")
    if xa.ndim != 1:
        raise ValueError(f"x0 must be one point of shape (n,), got shape {xa.shape}")
    if direction not in ("all", "random"):
        raise ValueError(f"direction must be 'all' or 'random', got {direction!r}")
    if rng is not None:
        if seed is not None:
            raise ValueError("pass rng or seed, not both")
        seed = rng
    g = np.asarray(grad(xa.copy(), *args), dtype=np.float64)
    if g.shape != xa.shape:
        raise ValueError(f"grad returned shape {g.shape}, expected {xa.shape}")
    if direction == "random":
        v = np.random.default_rng(seed).normal(0.0, 1.0, size=xa.shape)
        st = None if epsilon is None else float(np.max(np.asarray(epsilon, dtype=float)))
        fd = np.atleast_1d(directional_derivative(func, xa, v, method=method, accuracy=accuracy,
                                                  step=st, vectorized=vectorized, args=args))
        g = np.atleast_1d(g @ v)
    else:
        fd = gradient(func, xa, method=method, accuracy=accuracy, step=epsilon,
                      vectorized=vectorized, args=args)
    diff = float(np.sqrt(np.sum((g - fd) ** 2)))
    if not relative:
        return diff
    return diff / max(float(np.sqrt(np.sum(fd ** 2))), np.finfo(float).tiny)


_SQRT_EPS = math.sqrt(_EPS)


def approx_fprime(xk, f, epsilon=_SQRT_EPS, *args):
    """Forward-difference gradient (or Jacobian), with :func:`scipy.optimize.approx_fprime`'s API.

    Parameters
    ----------
    xk : array_like, shape (n,)
        The point.
    f : callable
        ``f(xk, *args)`` returning a number or a 1-D array; also a built-in or low-level callable.
    epsilon : float or array_like, optional
        Absolute step (scalar or one per coordinate); default ``sqrt(eps)``.
    *args
        Extra arguments of ``f``.

    Returns
    -------
    ndarray
        Shape ``(n,)`` for a scalar ``f``, ``(p, n)`` for ``p`` outputs, as SciPy.

    Examples
    --------
    >>> import numpy as np
    >>> import fastcalc as fc
    >>> fc.approx_fprime(np.array([1.0, 2.0]), lambda x: x @ x).round(5)
    array([2., 4.])
    """
    xa = np.atleast_1d(_as_points(xk, "xk", vector=False))
    if xa.ndim != 1:
        raise ValueError(f"xk must be one point of shape (n,), got shape {xa.shape}")
    return _forward1(f, xa, epsilon, args)


def _forward1(f, xa, epsilon, args):
    """First-order forward differences (SciPy's '2-point'), through the same kernel."""
    n = xa.shape[0]
    x2 = np.ascontiguousarray(xa.reshape(n, 1))
    p, scalar, r0 = _probe_nout(f, x2, args, False, None)
    ev = as_evaluator(f, n, p, False, scalar, False, args)
    f0 = None
    if r0 is not None:
        f0 = np.array(r0, dtype=np.float64).reshape(p, 1)
    h = _user_steps(epsilon, n, 1, "epsilon")
    h = ((x2 + h) - x2)
    h = np.ascontiguousarray(np.where(h == 0, _SQRT_EPS * np.maximum(1.0, np.abs(x2)), h))
    plan = _diff.make_plan(_grad_specs(n), 1, 1, 1)
    out, _ = _diff.run(ev, plan, x2, h, np.arange(n, dtype=np.intc), None, f0, False)
    value = out[:, :, 0]
    # SciPy ravels the Jacobian of a function with one output (a number or an array of one)
    return value[0] if scalar or p == 1 else value
