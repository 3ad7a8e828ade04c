"""Numerical differentiation: derivatives, gradients, Jacobians, Hessians and friends.

By default (``step=None``) every routine runs fastcalc's adaptive, self-checking step engine
(:mod:`fastcalc._steps`): a checked first pass of three step levels with Richardson extrapolation,
then, only for the elements whose error estimate is above the tolerance, a search over a geometric
sequence of steps down to the rounding limit, and a one-sided retry where a stencil point met
NaN/inf.  All stencil points of all elements go through the callable adapter in as few batches as
possible (in C, without the GIL, for built-in and low-level callables).

Costs (evaluations per element, central first derivative): 6 when the first pass converges (the
common case for smooth, well-scaled f); up to about 70 more for an element that needs the search.
``step="fixed"`` is the old single stencil, ``eps**(1/(accuracy + 2 richardson + k)) * |x|``
(floored at 1e-3 near 0): 2 evaluations per coordinate, no check.  A number or an array is an
absolute step, rounded so that ``x + h`` is exact.

Status per element (``full_output=True``): 0 converged; 1 converged with a one-sided stencil
because the central one met NaN/inf (domain edge); -1 not converged (error estimate above
``atol + rtol |df|``); -2 NaN/inf met and the one-sided retry did not converge; -3 no finite
estimate; -4 (``method="complex"``) the complex step disagrees with a real stencil: f is not
analytic or ignores the imaginary part (the real-stencil value is returned).  ``success`` is
``status == 0`` (status 1 has converged too; accept it with ``status >= 0``).  Without ``full_output`` a :class:`DifferentiationWarning` says how many elements
did not converge, and a non-finite result raises ``ValueError``.

Batch convention (as :mod:`scipy.differentiate`): a function of ``n`` variables takes ``x`` of shape
``(n,)`` or ``(n, k1, k2, ...)``; results keep the trailing batch axes.

Dask (``pip install 'fastcalc[dask]'``): ``derivative``, ``gradient``, ``jacobian`` and ``hessian``
accept a ``dask.array`` ``x`` chunked along the point axes only (axis 0, the variables, whole:
``x.rechunk({0: -1})``) and return a dask array, bit-for-bit the NumPy result; with
``full_output=True`` a ``LazyResult`` whose fields are dask arrays (``.compute()`` gives the
:class:`DifferentiationResult`).  How ``f`` reaches the workers: ``docs/dask.md``.
"""
import numpy as np

from fastcalc._core import Function, as_evaluator, is_compiled
from fastcalc import _diff, _hessplan, _steps
from fastcalc import _complexstep as _cs
from fastcalc._validation import as_int, as_points, as_workers
from fastcalc._daskmap import dask_input, dispatch
from fastcalc._diffcore import (DifferentiationResult, DifferentiationWarning, STATUS, SQRT_EPS,
                                Setup, compute, finish, scalar_out, reduce_status, complex_check,
                                with_note, user_steps, scalar_step, check_callable, MAX_ORDER,
                                FAST_METHODS, check_tols)

__all__ = ["derivative", "gradient", "jacobian", "hessian", "hessian_vector",
           "directional_derivative", "laplacian", "divergence", "curl", "taylor",
           "TaylorPolynomial", "check_grad", "approx_fprime", "DifferentiationResult",
           "DifferentiationWarning", "STATUS", "fixed_gradient", "probe_nout"]

# ---------------------------------------------------------------------------------------------
# Public routines
# ---------------------------------------------------------------------------------------------

def derivative(f, x, *, n=1, method="central", accuracy=2, step=None, richardson=0,
               vectorized=False, args=(), full_output=False, atol=None, rtol=None, workers=1):
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
    n : int, 1..10
        Derivative order.
    method : {"central", "forward", "backward", "complex"}
        Stencil; "complex" (complex step, ``n=1`` only) needs a Python function that accepts
        complex input; it is checked against a real stencil (status -4 where f is not analytic).
    accuracy : {2, 4, 6, 8}
        Order of the stencil's truncation error (before extrapolation).
    step : None, "fixed", float or array_like
        None (default): the adaptive engine (see the module docs).  "fixed": one stencil with the
        relative step ``eps**(1/(accuracy + 2*richardson + n)) * |x|`` (floored at 1e-3).  A
        number or array: absolute step(s), rounded so that ``x + h`` is exact.
    richardson : int, 0..6
        Richardson levels for ``step="fixed"`` or a given step (the default engine extrapolates by
        itself).
    vectorized : bool
        ``f`` takes an array of points (one call per stencil batch).
    args : tuple
        Extra arguments for ``f``.
    full_output : bool
        Return a :class:`DifferentiationResult` (``df``, ``error``, ``status``, ``nfev``, ``step``).
    atol, rtol : float, optional
        Convergence: ``error <= atol + rtol * |df|``.  Default ``rtol = sqrt(eps)``; ``atol=None``
        stands for the stencil's own rounding floor (so a derivative that is 0 up to rounding
        converges).
    workers : int, default 1
        Threads (OpenMP) sharing the points; -1 = all cores.  Only built-in and low-level
        callables (which release the GIL) run on several threads; Python callables stay on one.
        The result is the same to the bit for any number of workers.

    Returns
    -------
    float or ndarray
        The derivative, same shape as ``x`` (float32 for float32 input).  For a curve ``r(t)``
        returning ``p`` values per point (vectorized: ``(p, m)``), shape ``(p,) + x.shape``:
        velocity (``n=1``), acceleration (``n=2``); the unit tangent is ``v / norm(v, axis=0)``.

    Raises
    ------
    ValueError
        Non-finite ``x``, ``n`` outside 1..10, bad ``accuracy``, ``method``, ``richardson`` or
        ``step``, or a NaN/inf result (reported in ``status`` instead with ``full_output=True``).

    Examples
    --------
    >>> import numpy as np
    >>> import fastcalc as fc
    >>> round(float(fc.derivative(lambda x: x**2, 3.0)), 8)
    6.0
    >>> f = lambda x: np.sin(16 * x**2)
    >>> r = fc.derivative(f, 12.5, full_output=True)
    >>> bool(r.success), bool(abs(r.df - 32 * 12.5 * np.cos(16 * 12.5**2)) < 1e-8)
    (True, True)
    >>> helix = lambda t: np.array([np.cos(t), np.sin(t), t])
    >>> fc.derivative(helix, 0.0).round(10)                  # velocity r'(0)
    array([0., 1., 1.])
    >>> fc.derivative(helix, 0.0, n=2).round(8)              # acceleration r''(0)
    array([-1.,  0.,  0.])
    """
    if type(x) is not np.ndarray and dask_input(x):     # (an ndarray is never one)
        return dispatch(derivative, locals())
    check_callable(f)
    n = as_int(n, "n", low=1, high=MAX_ORDER)
    S = Setup(f, x, method, accuracy, richardson, args, step, atol, rtol,
               complex_ok=(n == 1), vector=False, workers=workers)
    S.vectorized = bool(vectorized)
    scalar_in = np.ndim(x) == 0
    shape = S.batch
    note = ("fastcalc: derivative passes one float (or, vectorized, a 1-D array of points) to f; "
            "for a function of several variables use gradient, jacobian or "
            "directional_derivative")
    if S.meth == 3:
        val, err, status, h, nfev = with_note(lambda: _complex_derivative(S, f), note)
        res = finish(val.reshape(shape), err.reshape(shape), status.reshape(shape), nfev,
                      h.reshape(shape), S.xa, full_output, dtype=S.dtype)
        return res if full_output else scalar_out(res, scalar_in)
    if S.mode == "user":
        S.step = _derivative_step(S.step, shape).reshape(-1)
    dcoord = np.zeros(1, dtype=np.intc)
    hh = None
    if S.mode == "user":
        hh = _steps.exact_steps(S.x2, S.step.reshape(1, -1), dcoord, S.meth)

    def run(p):
        ev = as_evaluator(f, 1, p, True, p == 1, S.vectorized, S.args)
        return ev, with_note(lambda: compute(S, ev, (("d", 0, n),), [n], dcoord,
                                             want_err=full_output, h=hh, workers=S.workers), note)
    try:
        p = 1
        ev, (out, err, status, h) = run(1)
    except ValueError:
        p = _curve_outputs(f, S)          # a curve r(t): p values per point
        if p is None:
            raise
        ev, (out, err, status, h) = run(p)
    vshape = shape if p == 1 else (p,) + shape
    res = finish(out[:, 0].reshape(vshape), None if err is None else err[:, 0].reshape(vshape),
                 status[:, 0].reshape(vshape), ev.nfev, h.reshape(shape), S.xa, full_output,
                 dtype=S.dtype)
    return res if full_output or p > 1 else scalar_out(res, scalar_in)


def _curve_outputs(f, S):
    """p when the one-variable Python function f returns p > 1 values per point (a curve), else
    None (one probe evaluation at the first point)."""
    if is_compiled(f) or S.x2.shape[1] == 0:
        return None
    t = S.x2[0, :1].copy()
    r = np.asarray(f(t, *S.args) if S.vectorized else f(float(t[0]), *S.args))
    if S.vectorized and r.ndim == 2 and r.shape[1] == 1 and r.shape[0] > 1:
        return r.shape[0]
    if not S.vectorized and r.ndim == 1 and r.size > 1:
        return r.size
    return None


def _complex_derivative(S, f):
    if S.richardson:
        raise ValueError("method='complex' is exact to rounding along the complex direction; "
                         "richardson must be 0")
    step = None if S.mode == "adaptive" else (None if S.mode == "fixed" else
                                              _derivative_step(S.step, S.batch).reshape(1, -1))
    jac, h, nfev, cerr = _cs.jacobian(f, S.x2, S.args, S.vectorized, True, step)
    cval, cerr = jac[0, 0], cerr[0, 0]

    def real():
        return derivative(f, S.xa.reshape(-1), vectorized=S.vectorized, args=S.args,
                          full_output=True, atol=S.atol, rtol=S.rtol)
    val, err, status, nf2 = complex_check(S, cval, cerr, real)
    return val, err, status, h[0], nfev + nf2


def _derivative_step(step, shape):
    try:
        s = np.asarray(step, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError("step must be None, 'fixed', a positive number or an array of them") \
            from None
    try:
        s = np.broadcast_to(s, shape).astype(np.float64)
    except ValueError:
        raise ValueError(f"step must be a scalar or broadcast to x's shape {shape}, got shape "
                         f"{s.shape}") from None
    if not (np.isfinite(s).all() and (s > 0).all()):
        raise ValueError("step must be finite and > 0")
    return s


def fixed_gradient(f, x, *, method="central", step=None, vectorized=False, args=(), workers=1):
    """Cheap fixed-step gradient (one central stencil, ``eps**(1/3) * max(|x|, 1e-3)``), the rule
    the optimizers use inside their loops: ``2 n`` evaluations per point, no error check.
    ``workers`` as in :func:`gradient`.

    Examples
    --------
    >>> import numpy as np
    >>> import fastcalc as fc
    >>> from fastcalc.differentiate import fixed_gradient
    >>> fixed_gradient(lambda x: x @ x, np.array([1.0, 2.0])).round(6)
    array([2., 4.])
    """
    return gradient(f, x, method=method, step="fixed" if step is None else step,
                    vectorized=vectorized, args=args, workers=workers)


def gradient(f, x, *, method="central", accuracy=2, step=None, richardson=0, vectorized=False,
             args=(), full_output=False, atol=None, rtol=None, workers=1):
    """Gradient of a scalar function of ``n`` variables.

    Parameters
    ----------
    f : callable
        ``f(x, *args)`` with ``x`` of shape ``(n,)`` returning a number (with ``vectorized=True``:
        ``x`` of shape ``(n, m)`` returning ``(m,)``); or a built-in / low-level callable.
    x : array_like, shape (n,) or (n, k...)
        Point(s), variables on axis 0.
    method, accuracy, step, richardson, vectorized, args, full_output, atol, rtol, workers
        As in :func:`derivative`; ``step`` is None, "fixed", a scalar or one absolute step per
        coordinate.  The default engine first tries the checked fast path in C (three step
        levels, 6 evaluations per coordinate, central) and returns when every element converged.

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
    if type(x) is not np.ndarray and dask_input(x):     # (an ndarray is never one)
        return dispatch(gradient, locals())
    g = _diff.gradient_call(f, x, method, accuracy, step, richardson, vectorized, args,
                            full_output, atol, rtol, workers)     # (_gradient_fast, inline)
    if g is not None:
        return g if type(g) is not tuple else _gradient_rest(f, x, g, method, accuracy,
                                                             vectorized, atol, rtol, workers)
    return _gradient_engine(f, x, method, accuracy, step, richardson, vectorized, args,
                            full_output, atol, rtol, workers)


def _gradient_engine(f, x, method, accuracy, step, richardson, vectorized, args, full_output,
                     atol, rtol, workers, coords=None):
    """:func:`gradient` on the general road (every option, the adaptive engine).  ``coords``
    (the fast path's unconfirmed coordinates): only those partial derivatives, shape
    (len(coords),) + x.shape[1:], each the value the whole gradient would have there."""
    S = Setup(f, x, method, accuracy, richardson, args, step, atol, rtol, workers=workers)
    S.vectorized = bool(vectorized)
    if S.meth == 3:
        return _complex_first(S, f, full_output, "gradient", scalar=True)
    ev = as_evaluator(f, S.nvar, 1, False, True, S.vectorized, S.args)
    dcoord = np.arange(S.nvar, dtype=np.intc)
    specs = _grad_specs(S.nvar) if coords is None else tuple(("d", int(i), 1) for i in coords)
    out, err, status, h = compute(S, ev, specs, [1] * S.nvar, dcoord, want_err=full_output,
                                  workers=S.workers)
    if coords is not None:
        shp = (len(coords),) + S.xa.shape[1:]
        return finish(out[0].reshape(shp), None if err is None else err[0].reshape(shp),
                      status[0].reshape(shp), ev.nfev, None, S.xa, full_output, "gradient",
                      S.dtype)
    shp = S.xa.shape
    return finish(out[0].reshape(shp), None if err is None else err[0].reshape(shp),
                   status[0].reshape(shp), ev.nfev, h.reshape(shp), S.xa, full_output,
                   "gradient", S.dtype)


def _gradient_fast(f, x, method, accuracy, step, richardson, vectorized, args, full_output, atol,
                   rtol, workers):
    """The ONE compiled fast path of :func:`gradient` (``_diff.gradient_call``: plain calls on a
    float64 array, no args; the checked three-level pass, or ``step="fixed"``, the optimizers'
    ``fd_gradient``).  None: take the general road.  Points of a batch whose first pass did not
    meet the tolerance go to the engine by themselves (every point's result depends on that point
    only, so the values are those of ``full_output=True``)."""
    g = _diff.gradient_call(f, x, method, accuracy, step, richardson, vectorized, args,
                            full_output, atol, rtol, workers)
    if type(g) is not tuple:
        return g
    return _gradient_rest(f, x, g, method, accuracy, vectorized, atol, rtol, workers)


def _gradient_rest(f, x, partial, method, accuracy, vectorized, atol, rtol, workers):
    """The fast path's ``(g, bad)``: the elements marked in ``bad`` done on the general road."""
    g, bad = partial
    atol, rtol = check_tols(atol, rtol)
    w = as_workers(workers)
    n = x.shape[0]
    g2, b2 = g.reshape(n, -1), bad.reshape(n, -1)      # views: g is C-contiguous
    cols = np.flatnonzero(b2.any(axis=0))
    rows = np.flatnonzero(b2[:, cols].any(axis=1))
    # only the unconfirmed coordinates of those points go on the general road: each element's
    # result depends on its own coordinate and point alone, so the values are those of
    # full_output=True (one coordinate of 1000 no longer redoes the other 999)
    res = _gradient_engine(f, x.reshape(n, -1)[:, cols], method, accuracy, None, 0, vectorized,
                           (), True, atol, rtol, w, coords=rows)
    sel = np.ix_(rows, cols)
    g2[sel] = res.df.reshape(len(rows), len(cols))
    status = np.zeros(g2.shape, np.int32)
    status[sel] = res.status.reshape(len(rows), len(cols))
    return finish(g, None, status.reshape(g.shape), res.nfev, None, x, False, "gradient")


def _complex_first(S, f, full_output, what, scalar, nout=None):
    """Complex-step gradient / Jacobian, checked against the real engine."""
    if S.richardson:
        raise ValueError("method='complex' is exact to rounding along the complex direction; "
                         "richardson must be 0")
    step = None if S.mode in ("adaptive", "fixed") else S.step
    jac, h, nfev, cerr = _cs.jacobian(f, S.x2, S.args, S.vectorized, False, step)
    p = jac.shape[0]
    if scalar and p != 1:
        raise ValueError(f"{what} needs a scalar function; it returned {p} values per point "
                         "(use jacobian)")
    if not scalar:
        scalar = p == 1 and nout is None and _complex_scalar(f, S.x2, S.args, S.vectorized)
    shp = (S.nvar,) + S.batch if scalar else (p, S.nvar) + S.batch

    def real():
        fn = gradient if scalar else jacobian
        kw = {} if scalar else {"nout": p}
        return fn(f, S.xa, vectorized=S.vectorized, args=S.args, full_output=True, atol=S.atol,
                  rtol=S.rtol, **kw)
    val, err, status, nf2 = complex_check(S, jac.reshape(shp), cerr.reshape(shp), real)
    return finish(val, err, status, nfev + nf2, h.reshape(S.xa.shape), S.xa, full_output, what,
                   S.dtype)


_grad_specs = _diff.grad_specs      # (one specs object per n <= 64, kept in the kernel)


@_steps.small_cache(32, 64, size=int)
def _hess_specs(n):
    return tuple(("d", i, 2) if i == j else ("m", i, j) for i in range(n) for j in range(i, n))


def probe_nout(f, x2, args, vectorized, nout):
    """Number of outputs of f, whether it returns a scalar per point, and f at the first point
    (an array of shape (nout,), or None when f was not called)."""
    if nout is not None:
        return as_int(nout, "nout", low=1), False, None
    n = x2.shape[0]
    if isinstance(f, Function):
        k = f.output_kind
        if k == "value":
            return 1, True, None
        return (n if k == "grad" else n * n), False, None
    if is_compiled(f):
        try:                       # only the vector signature accepts 2 outputs
            as_evaluator(f, n, 2, False, False, False, args)
        except TypeError:
            return 1, True, None
        raise TypeError("a low-level callable with the vector signature needs nout= (its "
                        "number of outputs)")
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
             args=(), full_output=False, nout=None, atol=None, rtol=None, workers=1):
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
    method, accuracy, step, richardson, vectorized, args, full_output, atol, rtol, workers
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
    if type(x) is not np.ndarray and dask_input(x):     # (an ndarray is never one)
        return dispatch(jacobian, locals())
    S = Setup(f, x, method, accuracy, richardson, args, step, atol, rtol, workers=workers)
    S.vectorized = bool(vectorized)
    if S.meth == 3:
        return _complex_first(S, f, full_output, "Jacobian", scalar=False, nout=nout)
    p, scalar, _ = probe_nout(f, S.x2, S.args, S.vectorized, nout)
    if scalar and S.dtype == np.float64 and S.meth != 3 and is_compiled(f):
        # a gradient of a compiled callable: its fast path in C (a Python f goes straight to the
        # engine, which does the first pass once and searches only what did not converge)
        g = _gradient_fast(f, S.xa, method, accuracy, step, richardson, vectorized, args,
                           full_output, atol, rtol, S.workers)
        if g is not None:
            return g
    ev = as_evaluator(f, S.nvar, p, False, scalar, S.vectorized, S.args)
    dcoord = np.arange(S.nvar, dtype=np.intc)
    out, err, status, h = compute(S, ev, _grad_specs(S.nvar), [1] * S.nvar, dcoord,
                                   want_err=full_output, workers=S.workers)
    shp = (S.nvar,) + S.batch if scalar else (p, S.nvar) + S.batch
    return finish(out.reshape(shp), None if err is None else err.reshape(shp),
                   status.reshape(shp), ev.nfev, h.reshape(S.xa.shape), S.xa, full_output,
                   "Jacobian", S.dtype)


def _complex_scalar(f, x2, args, vectorized):
    if vectorized:
        return np.ndim(f(x2[:, :1].astype(complex), *args)) == 1
    return np.ndim(f(x2[:, 0].astype(complex), *args)) == 0


def _complex_second(S, f, us, ks, full_output, shp, what, real, reduce=None):
    """Complex-step second derivatives along (us, ks), checked against the real engine."""
    if S.richardson:
        raise ValueError("method='complex' is exact to rounding along the complex direction; "
                         "richardson must be 0")
    step = None if S.mode in ("adaptive", "fixed") else S.step
    vals, d, nfev, cerr = _cs.mixed(f, S.x2, us, ks, S.args, S.vectorized, S.accuracy, step)
    if reduce is not None:
        vals, cerr = reduce(vals), reduce(cerr)
    val, err, status, nf2 = complex_check(S, vals.reshape(shp), cerr.reshape(shp), real)
    return finish(val, err, status, nfev + nf2, d.reshape(S.xa.shape), S.xa, full_output, what,
                   S.dtype)


def _scalar_values(f, vectorized):
    """f for the Hessian routines: vectorized scalar functions may return (1, M) (as SciPy)."""
    if not vectorized or is_compiled(f):
        return f

    def g(x, *a):
        r = np.asarray(f(x, *a))
        return r.reshape(r.shape[-1:]) if r.ndim == 2 and r.shape[0] == 1 else r
    return g


def hessian(f, x, *, method="central", accuracy=2, step=None, richardson=0, vectorized=False,
            args=(), full_output=False, atol=None, rtol=None, workers=1):
    """Hessian of a scalar function from a direct two-dimensional stencil.

    Diagonal entries use the second-derivative stencil, off-diagonal ones the tensor product of two
    first-derivative stencils; each pair is computed once (exactly symmetric) and, with the
    default engine, gets its own step (the entries of the first pass that do not converge are
    searched per pair).

    Parameters
    ----------
    f, x, method, accuracy, step, richardson, vectorized, args, full_output, atol, rtol, workers
        As in :func:`gradient`.  A vectorized ``f`` may return ``(M,)`` or ``(1, M)``.
        ``method="complex"`` (Python functions accepting complex input) takes the complex step
        along ``e_j`` and central differences along ``e_k``, checked against the real stencil.

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
    if type(x) is not np.ndarray and dask_input(x):     # (an ndarray is never one)
        return dispatch(hessian, locals())
    H = _hessian_fast(f, x, method, accuracy, step, richardson, vectorized, args, full_output,
                      atol, rtol, workers)
    if H is not None:
        return H
    S = Setup(f, x, method, accuracy, richardson, args, step, atol, rtol, workers=workers)
    S.vectorized = bool(vectorized)
    f = _scalar_values(f, S.vectorized)
    nvar = S.nvar
    shp = (nvar, nvar) + S.batch
    if nvar * (nvar + 1) // 2 * 4 * (S.richardson + 3) > _diff.MAX_PLAN_POINTS:
        raise ValueError(f"a Hessian of {nvar} variables needs more than {_diff.MAX_PLAN_POINTS} "
                         "stencil points per point; use hessian_vector for large n")
    if S.meth == 3:
        idx = _sym_index(nvar)
        m = S.x2.shape[1]
        eye = np.eye(nvar)
        pairs = [(j, k) for j in range(nvar) for k in range(j, nvar)]
        us = [np.broadcast_to(eye[:, j:j + 1], (nvar, m)) for j, _ in pairs]
        return _complex_second(
            S, f, us, [k for _, k in pairs], full_output, shp, "Hessian",
            lambda: hessian(f, S.xa, vectorized=S.vectorized, args=S.args, full_output=True,
                            atol=S.atol, rtol=S.rtol), reduce=lambda v: v[idx])
    ev = as_evaluator(f, nvar, 1, False, True, S.vectorized, S.args)
    dcoord = np.arange(nvar, dtype=np.intc)
    out, err, status, h = compute(S, ev, _steps.HessianSpecs(nvar), [2] * nvar, dcoord,
                                   want_err=full_output, workers=S.workers)
    # one n x n array at a time, each compact (nres, m) part freed once expanded: the peak stays
    # about 3x the result (the plain call counts unconverged distinct entries on the compact status)
    value = _sym_full(out[0], nvar).reshape(shp)
    del out
    if full_output:
        err = None if err is None else _sym_full(err[0], nvar).reshape(shp)
        status = _sym_full(status[0], nvar).reshape(shp)
    else:
        err, status = None, status[0]
    return finish(value, err, status, ev.nfev, h.reshape(S.xa.shape), S.xa, full_output,
                  "Hessian", S.dtype)


def _hessian_fast(f, x, method, accuracy, step, richardson, vectorized, args, full_output, atol,
                  rtol, workers):
    """The ONE compiled fast path of :func:`hessian`: one float64 point, the default engine, no
    args.  The checked first pass, its test and the symmetric matrix in C
    (``_hessplan.hessian_fast``); None (the general road, which starts with the same first pass,
    so the values are the same) when an entry did not converge or the call is not of that kind."""
    if (full_output or step is not None or type(args) is not tuple or args
            or type(x) is not np.ndarray or x.ndim != 1 or x.dtype != np.float64
            or not 0 < x.shape[0] <= _FAST_HESSIAN_N or type(accuracy) is not int
            or type(method) is not str or method not in FAST_METHODS
            or type(richardson) is not int or richardson != 0
            or not (type(workers) is int and workers == 1) or not _diff.all_finite(x)):
        return None
    check_callable(f)
    if atol is not None or rtol is not None:
        atol, rtol = check_tols(atol, rtol)
    else:
        rtol = SQRT_EPS
    meth = FAST_METHODS[method]
    k = _steps.hessian_constants(meth, accuracy, rtol)
    if k is None:
        return None
    g = _scalar_values(f, bool(vectorized))
    xa = x if x.flags.c_contiguous else np.ascontiguousarray(x)
    a = -1.0 if atol is None else atol
    if is_compiled(f):
        return _hessplan.hessian_fast(g, xa, meth, accuracy, bool(vectorized), a, rtol, *k)
    with np.errstate(all="ignore"):          # as the engine: NaN/inf are its verdict, not noise
        return _hessplan.hessian_fast(g, xa, meth, accuracy, bool(vectorized), a, rtol, *k)


#: the fast path's largest n (beyond it the general road streams the rows and says when it refuses)
_FAST_HESSIAN_N = 2048


def _sym_full(v, n):
    """The symmetric (n, n, m) array from its rows ``v`` (nres, m), i <= j in row-major order,
    filled row by row (no n x n index array: peak memory stays the result's)."""
    out = np.empty((n, n) + v.shape[1:], dtype=v.dtype)
    off = 0
    for i in range(n):
        seg = v[off:off + n - i]
        out[i, i:] = seg
        out[i + 1:, i] = seg[1:]
        off += n - i
    return out


@_steps.small_cache(32, 64, size=int)
def _sym_index(n):
    """Flat index of each (i, j) of an n x n symmetric matrix into its rows i <= j (row-major)."""
    i, j = np.triu_indices(n)
    idx = np.empty((n, n), dtype=np.intp)
    k = np.arange(i.size, dtype=np.intp)
    idx[i, j] = k
    idx[j, i] = k
    idx = idx.reshape(-1)
    idx.flags.writeable = False
    return idx


def _direction(v, xa, name="v"):
    va = as_points(v, name, vector=False)
    n = xa.shape[0]
    if va.shape != (n,) and va.shape != xa.shape:
        raise ValueError(f"{name} must have shape ({n},) or x's shape {xa.shape}, got {va.shape}")
    m = int(np.prod(xa.shape[1:], dtype=np.intp))
    v2 = np.broadcast_to(va[:, None], (n, m)) if va.ndim == 1 else va.reshape(n, m)
    return np.ascontiguousarray(v2)


def directional_derivative(f, x, v, *, method="central", accuracy=2, step=None, richardson=0,
                           vectorized=False, args=(), full_output=False, atol=None, rtol=None,
                           workers=1):
    """Derivative of a scalar function along ``v``: ``d/dt f(x + t v)`` at ``t = 0`` (= grad f . v).

    Parameters
    ----------
    v : array_like, shape (n,) or like x
        The direction (not normalised).
    f, x, method, accuracy, step, richardson, vectorized, args, full_output, atol, rtol, workers
        As in :func:`gradient`; ``step`` is None, "fixed" or a scalar step in ``t``.

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
    S = Setup(f, x, method, accuracy, richardson, args, step, atol, rtol, workers=workers)
    S.vectorized = bool(vectorized)
    v2 = _direction(v, S.xa)
    batch = S.batch
    if S.meth == 3:
        r = _complex_directional(S, f, v2, full_output)
    else:
        ev = as_evaluator(f, S.nvar, 1, False, True, S.vectorized, S.args)
        dcoord = np.array([-1], dtype=np.intc)
        dvec = v2.reshape(1, S.nvar, -1)
        out, err, status, h = compute(S, ev, (("d", 0, 1),), [1], dcoord, dvec,
                                       want_err=full_output, workers=S.workers)
        zero = ~(np.abs(v2) > 0).any(axis=0)
        val = np.where(zero, 0.0, out[0, 0]).reshape(batch)
        e = None if err is None else np.where(zero, 0.0, err[0, 0]).reshape(batch)
        st = np.where(zero, 0, status[0, 0]).reshape(batch)
        r = finish(val, e, st, ev.nfev, h.reshape(batch), S.xa, full_output,
                    "directional derivative", S.dtype)
    return r if full_output or batch else r[()]


def _complex_directional(S, f, v2, full_output):
    if S.richardson:
        raise ValueError("method='complex' is exact to rounding along the complex direction; "
                         "richardson must be 0")
    if is_compiled(f):
        raise TypeError("method='complex' needs a Python function that accepts complex input")
    x2, batch = S.x2, S.batch
    vmax = np.abs(v2).max(axis=0) if S.nvar else np.ones(x2.shape[1])
    scale = np.maximum(1.0, np.abs(x2).max(axis=0)) / np.where(vmax > 0, vmax, 1.0)
    user = S.mode == "user"
    hc = np.full(x2.shape[1], scalar_step(S.step)) if user else 1e-20 * scale
    res = _cs.call(f, x2 + 1j * hc * v2, S.args, S.vectorized, ())
    if res.shape[0] != 1:
        raise ValueError("directional_derivative needs a scalar function")
    d = res[0].imag / hc
    cerr = _cs.first_error(d, res[0].real, scale)
    nfev = x2.shape[1]
    if user:                       # a user's step: its truncation
        res2 = _cs.call(f, x2 + 0.5j * hc * v2, S.args, S.vectorized, ())
        cerr = cerr + 2.0 * np.abs(d - res2[0].imag / (0.5 * hc))
        nfev *= 2

    def real():
        return directional_derivative(f, S.xa, v2.reshape(S.xa.shape), vectorized=S.vectorized,
                                      args=S.args, full_output=True, atol=S.atol, rtol=S.rtol)
    val, err, status, nf2 = complex_check(S, d.reshape(batch), cerr.reshape(batch), real)
    return finish(val, err, status, nfev + nf2, hc.reshape(batch), S.xa, full_output,
                   "directional derivative", S.dtype)


def hessian_vector(f, x, v, *, method="central", accuracy=2, step=None, richardson=0,
                   vectorized=False, args=(), full_output=False, atol=None, rtol=None,
                   workers=1):
    """Hessian-vector product ``H(x) @ v`` without forming ``H``.

    Entry ``i`` is the mixed second derivative along ``e_i`` and ``v``, from a 2-D stencil
    (``4 n`` evaluations per point and step level for "central", instead of about ``2 n**2``).

    Parameters
    ----------
    v : array_like, shape (n,) or like x
    f, x, method, accuracy, step, richardson, vectorized, args, full_output, atol, rtol, workers
        As in :func:`hessian`.

    Returns
    -------
    ndarray, shape like ``x``: ``H(x) @ v`` at each point

    Examples
    --------
    >>> from scipy.optimize import rosen, rosen_hess
    >>> import numpy as np
    >>> import fastcalc as fc
    >>> x = np.array([0.5, 1.5, 2.0]); v = np.array([1.0, -1.0, 2.0])
    >>> bool(np.allclose(fc.hessian_vector(rosen, x, v), rosen_hess(x) @ v, rtol=1e-6))
    True
    """
    S = Setup(f, x, method, accuracy, richardson, args, step, atol, rtol, workers=workers)
    S.vectorized = bool(vectorized)
    f = _scalar_values(f, S.vectorized)
    v2 = _direction(v, S.xa)
    nvar, xa = S.nvar, S.xa
    if S.meth == 3:
        return _complex_second(
            S, f, [v2] * nvar, list(range(nvar)), full_output, xa.shape,
            "Hessian-vector product",
            lambda: hessian_vector(f, xa, v2.reshape(xa.shape), vectorized=S.vectorized,
                                   args=S.args, full_output=True, atol=S.atol, rtol=S.rtol))
    ev = as_evaluator(f, nvar, 1, False, True, S.vectorized, S.args)
    dcoord = np.arange(nvar + 1, dtype=np.intc)
    dcoord[nvar] = -1
    dvec = v2.reshape(1, nvar, -1)
    hh = None
    if S.mode == "user":
        hh = np.empty((nvar + 1, S.x2.shape[1]))
        hh[:nvar] = user_steps(S.step, nvar, S.x2.shape[1])
        hh[nvar] = float(np.max(np.asarray(S.step, dtype=float)))
        hh = _steps.exact_steps(S.x2, hh, dcoord, S.meth)
    specs = tuple(("m", i, nvar) for i in range(nvar))
    out, err, status, h = compute(S, ev, specs, [2] * (nvar + 1), dcoord, dvec,
                                   want_err=full_output, h=hh, workers=S.workers)
    zero = ~(np.abs(v2) > 0).any(axis=0)
    val = np.where(zero, 0.0, out[0]).reshape(xa.shape)
    e = None if err is None else np.where(zero, 0.0, err[0]).reshape(xa.shape)
    st = np.where(zero, 0, status[0]).reshape(xa.shape)
    return finish(val, e, st, ev.nfev, h[:nvar].reshape(xa.shape), xa, full_output,
                   "Hessian-vector product", S.dtype)


def laplacian(f, x, *, method="central", accuracy=2, step=None, richardson=0, vectorized=False,
              args=(), full_output=False, atol=None, rtol=None, workers=1):
    """Laplacian ``sum_i d^2 f / dx_i^2`` of a scalar function.

    Parameters
    ----------
    f, x, method, accuracy, step, richardson, vectorized, args, full_output, atol, rtol, workers
        As in :func:`hessian`; the status of the sum is the worst of its terms'.

    Returns
    -------
    float or ndarray, shape x.shape[1:]: the trace of the Hessian at each point

    Examples
    --------
    >>> import numpy as np
    >>> import fastcalc as fc
    >>> round(float(fc.laplacian(lambda x: x @ x, np.array([1.0, 2.0, 3.0]))), 6)
    6.0
    """
    S = Setup(f, x, method, accuracy, richardson, args, step, atol, rtol, workers=workers)
    S.vectorized = bool(vectorized)
    f = _scalar_values(f, S.vectorized)
    nvar, batch = S.nvar, S.batch
    if S.meth == 3:
        m = S.x2.shape[1]
        eye = np.eye(nvar)
        us = [np.broadcast_to(eye[:, k:k + 1], (nvar, m)) for k in range(nvar)]
        r = _complex_second(
            S, f, us, list(range(nvar)), full_output, batch, "Laplacian",
            lambda: laplacian(f, S.xa, vectorized=S.vectorized, args=S.args, full_output=True,
                              atol=S.atol, rtol=S.rtol), reduce=lambda v: v.sum(axis=0))
        return r if full_output or batch else r[()]
    ev = as_evaluator(f, nvar, 1, False, True, S.vectorized, S.args)
    dcoord = np.arange(nvar, dtype=np.intc)
    specs = tuple(("d", i, 2) for i in range(nvar))
    out, err, status, h = compute(S, ev, specs, [2] * nvar, dcoord, want_err=full_output,
                                   workers=S.workers)
    value = out[0].sum(axis=0).reshape(batch)
    e = None if err is None else err[0].sum(axis=0).reshape(batch)
    r = finish(value, e, reduce_status(status[0], 0).reshape(batch), ev.nfev,
                h.reshape(S.xa.shape), S.xa, full_output, "Laplacian", S.dtype)
    return r if full_output or batch else r[()]


def _field_jacobian(F, x, method, accuracy, step, richardson, vectorized, args, what, atol, rtol,
                    workers):
    xa0 = as_points(x)
    # a vector field has n outputs: no point is needed to find that out (empty batches)
    nout = xa0.shape[0] if xa0.size == 0 else None
    res = jacobian(F, x, method=method, accuracy=accuracy, step=step, richardson=richardson,
                   vectorized=vectorized, args=args, full_output=True, nout=nout, atol=atol,
                   rtol=rtol, workers=workers)
    xa = res.x
    n = xa.shape[0]
    J = res.df
    if J.shape[:2] != (n, n):
        raise ValueError(f"{what} needs a vector field F: R^n -> R^n; F returned "
                         f"{J.shape[0] if J.ndim > xa.ndim else 1} values for {n} variables")
    return res, J, xa


def divergence(F, x, *, method="central", accuracy=2, step=None, richardson=0, vectorized=False,
               args=(), full_output=False, atol=None, rtol=None, workers=1):
    """Divergence ``sum_i dF_i/dx_i`` of a vector field ``F: R^n -> R^n``.

    Parameters
    ----------
    F : callable
        ``F(x, *args)`` returning ``(n,)`` (vectorized: ``(n, m)``).
    x, method, accuracy, step, richardson, vectorized, args, full_output, atol, rtol, workers
        As in :func:`jacobian`.

    Returns
    -------
    float or ndarray, shape x.shape[1:]: the trace of the Jacobian at each point

    Examples
    --------
    >>> import fastcalc as fc
    >>> import numpy as np
    >>> round(float(fc.divergence(lambda x: x**2, np.array([1.0, 2.0, 3.0]))), 6)
    12.0
    """
    res, J, xa = _field_jacobian(F, x, method, accuracy, step, richardson, vectorized, args,
                                 "divergence", atol, rtol, workers)
    batch = xa.shape[1:]
    n = xa.shape[0]
    value = np.einsum("ii...->...", J)
    err = np.einsum("ii...->...", res.error)
    st = reduce_status(np.stack([res.status[i, i] for i in range(n)]), 0) if n else \
        np.zeros(batch, np.int32)
    r = finish(value, err, st, res.nfev, res.step, xa, full_output, "divergence", value.dtype)
    return r if full_output or batch else r[()]


def curl(F, x, *, method="central", accuracy=2, step=None, richardson=0, vectorized=False,
         args=(), full_output=False, atol=None, rtol=None, workers=1):
    """Curl of a 3-D vector field (a vector), or the scalar curl ``dF_y/dx - dF_x/dy`` in 2-D.

    Parameters
    ----------
    F : callable
        ``F(x, *args)`` returning ``(n,)`` for ``n`` = 2 or 3 (vectorized: ``(n, m)``).
    x, method, accuracy, step, richardson, vectorized, args, full_output, atol, rtol, workers
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
    xa0 = as_points(x)
    if xa0.shape[0] not in (2, 3):
        raise ValueError(f"curl needs x with 2 or 3 variables on axis 0, got {xa0.shape[0]}")
    res, J, xa = _field_jacobian(F, x, method, accuracy, step, richardson, vectorized, args,
                                 "curl", atol, rtol, workers)
    E, T = res.error, res.status
    pairs = [(2, 1, 1, 2), (0, 2, 2, 0), (1, 0, 0, 1)] if xa.shape[0] == 3 else [(1, 0, 0, 1)]
    value = np.stack([J[a, b] - J[c, d] for a, b, c, d in pairs])
    err = np.stack([E[a, b] + E[c, d] for a, b, c, d in pairs])
    st = np.stack([reduce_status(np.stack([T[a, b], T[c, d]]), 0) for a, b, c, d in pairs])
    if xa.shape[0] == 2:
        value, err, st = value[0], err[0], st[0]
    v = finish(value, err, st, res.nfev, res.step, xa, full_output, "curl", value.dtype)
    return v if full_output or np.ndim(v) else v[()]


from fastcalc._taylor import TaylorPolynomial, taylor_engine  # noqa: E402
from fastcalc._scipy_compat import check_grad, approx_fprime  # noqa: E402  (uses the above)


def taylor(f, x0, degree, *, method="auto", accuracy=4, step=None, richardson=1,
           vectorized=False, args=(), full_output=False, atol=None, rtol=None, multivariate=None):
    """Taylor coefficients ``f^(k)(x0) / k!`` for ``k = 0..degree`` of a one-variable function,
    or the Taylor polynomial of ``f: R^n -> R`` about one point (``multivariate``).

    Parameters
    ----------
    f : callable
        As in :func:`derivative`.
    x0 : float or array_like
        Expansion point(s).
    degree : int
        0..50 with the complex contour, 0..10 with real stencils.
    method : {"auto", "contour", "central", "forward", "backward"}
        "contour": FFT of f on circles in the complex plane (Lyness-Moler), for analytic f that
        accepts complex input; "auto" (default) uses it when f returns complex values for complex
        input and its result shows f analytic, real stencils (the adaptive engine) otherwise.
    accuracy, step, richardson, vectorized, args, atol, rtol
        As in :func:`derivative` (real stencils).
    full_output : bool
        Also return the :class:`DifferentiationResult` of the coefficients.
    multivariate : bool or None
        True: ``f`` is a function of the vector ``x0`` (shape ``(n,)``) and the result is
        :func:`fastcalc.taylor_multivariate`'s polynomial (degree 0..6, gradient and Hessian
        terms). False: ``x0`` holds expansion points of a one-variable ``f``. None (default):
        multivariate when ``f`` is a built-in function of several variables, or when ``x0`` is a
        vector of two or more numbers, ``vectorized`` is False and ``f(x0)`` returns one number
        (one extra call); a one-variable ``f`` returns one value per point, or raises.

    Returns
    -------
    TaylorPolynomial or MultivariateTaylor
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
    if multivariate is None:
        multivariate = _is_multivariate(f, x0, vectorized, args)
    if multivariate:
        from fastcalc.taylor_nd import taylor_multivariate   # it builds on this module
        return taylor_multivariate(f, x0, degree, method="central" if method == "auto" else method,
                                   accuracy=accuracy, step=step, richardson=richardson,
                                   vectorized=vectorized, args=args, full_output=full_output)
    return taylor_engine(f, x0, degree, method, accuracy, step, richardson, vectorized, args,
                         full_output, atol, rtol)


def _is_multivariate(f, x0, vectorized, args):
    """taylor's guess: is ``f`` a function of the vector ``x0`` rather than of each of its numbers?"""
    if isinstance(f, Function):
        return f.ndim != 1
    if vectorized or is_compiled(f) or not callable(f):
        return False
    try:
        xa = np.asarray(x0, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    if xa.ndim != 1 or xa.size < 2:
        return False
    try:
        with np.errstate(all="ignore"):
            out = np.asarray(f(xa.copy(), *(args if isinstance(args, tuple) else (args,))))
    except Exception:            # a one-variable f that takes only floats
        return False
    return out.size == 1
