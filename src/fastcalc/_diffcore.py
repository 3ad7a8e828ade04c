"""What every differentiation routine shares: argument set-up, the road to the kernels (adaptive
engine, fixed stencil or given steps), and the result (value, error, status) with its reporting.

Internal to the differentiation family (:mod:`fastcalc.differentiate`, :mod:`fastcalc._taylor`).
"""
import math
import warnings

import numpy as np
from scipy.optimize import OptimizeResult

from fastcalc import _diff, _plans, _steps
from fastcalc import _complexstep as _cs
from fastcalc._validation import (as_args, as_callable, as_choice, as_floor_tolerances, as_int,
                                  as_points, as_workers)

EPS = float(np.finfo(np.float64).eps)
SQRT_EPS = math.sqrt(EPS)
FAST_METHODS = _diff.FAST_METHODS      # (the kernels' table: central 0, forward 1, backward 2)
METHODS = dict(FAST_METHODS, complex=3)
MAX_RICHARDSON = 6
MAX_ORDER = 10
#: the status codes of ``full_output=True`` results and what they mean
STATUS = dict(_steps.STATUS)
STATUS[_cs.NOT_ANALYTIC] = ("method='complex' disagrees with a real stencil: f is not analytic or "
                            "ignores the imaginary part (the real-stencil value is returned)")


class DifferentiationWarning(RuntimeWarning):
    """Some elements of a derivative did not converge (``full_output=True`` tells which)."""


class DifferentiationResult(OptimizeResult):
    """Result of a differentiation routine called with ``full_output=True``.

    Attributes
    ----------
    df : ndarray
        The derivative (same as the routine's plain return value).
    error : ndarray
        Error estimate per element.  Default engine: the larger difference of the chosen
        Richardson entry with its neighbours (a bound that several step levels confirm) plus the
        rounding estimate ``16 eps sum|w f| / h**k``.  ``step="fixed"`` or a given step:
        ``|D(h) - D(2h)|`` plus rounding (with ``richardson >= 1`` the Richardson difference).
        Complex step: rounding in f plus the disagreement with a real stencil where found.
    status : ndarray of int
        Per element, see :data:`STATUS`: 0 converged, 1 converged one-sided (domain edge), -1 not
        converged, -2 domain edge not resolved, -3 not finite, -4 not analytic (complex step).
    success : ndarray of bool
        ``status == 0``: converged to the tolerance with a two-sided or the requested stencil.
        A one-sided result at a domain edge (status 1) has converged too, but is not called a
        success: check ``status >= 0`` to accept it.
    nfev : int
        Function evaluations (points) used.
    step : ndarray
        The (first-pass) step per direction and point.
    x : ndarray
        The points.
    """


# ---------------------------------------------------------------------------------------------
# Validation and set-up
# ---------------------------------------------------------------------------------------------

def check_method(method, *, complex_ok=True):
    meth = as_choice(method, "method", METHODS)
    if meth == 3 and not complex_ok:
        raise ValueError("method='complex' is available for first derivatives (derivative with "
                         "n=1, gradient, jacobian, directional_derivative, divergence, curl) and "
                         "for hessian, hessian_vector and laplacian; use 'central', 'forward' or "
                         "'backward' here")
    return meth


def check_common(method, accuracy, richardson, *, complex_ok=True):
    meth = check_method(method, complex_ok=complex_ok)
    acc = as_int(accuracy, "accuracy")
    if acc not in (2, 4, 6, 8) and not (acc == 1 and meth in (1, 2)):
        raise ValueError(f"accuracy must be 2, 4, 6 or 8 (or 1 for forward/backward first "
                         f"derivatives), got {accuracy!r}")
    richardson = as_int(richardson, "richardson", low=0, high=MAX_RICHARDSON)
    return meth, acc, richardson


def check_tols(atol, rtol):
    """atol None (the rounding floor) or >= 0; rtol default sqrt(eps), as scipy.differentiate."""
    return as_floor_tolerances(atol, rtol, SQRT_EPS)


def step_mode(step):
    """'adaptive' (None), 'fixed', or 'user' (a number or an array)."""
    if step is None:
        return "adaptive"
    if isinstance(step, str):
        return as_choice(step, "step", ("fixed",))
    return "user"


def out_dtype(x):
    """float32 results for float32 input (as scipy.differentiate), float64 otherwise."""
    return np.float32 if getattr(x, "dtype", None) == np.float32 else np.float64


def check_callable(f):
    if not isinstance(f, tuple):
        as_callable(f)


def user_steps(step, n, m, name="step"):
    return _cs.user_steps(step, n, m, name)


def step_const(order0, ostep, richardson, deriv):
    """eps**(1/(effective order + deriv)): balances truncation and rounding errors."""
    return EPS ** (1.0 / (order0 + richardson * ostep + deriv))


class Setup:
    """Validated arguments shared by the routines of vector arguments."""

    def __init__(self, f, x, method, accuracy, richardson, args, step, atol, rtol, *,
                 complex_ok=True, vector=True, name="x", workers=1):
        check_callable(f)
        #: OpenMP threads for the kernels (validated, -1 resolved to the core count)
        self.workers = as_workers(workers)
        self.meth, self.accuracy, self.richardson = check_common(method, accuracy, richardson,
                                                                  complex_ok=complex_ok)
        self.args = as_args(args)
        self.mode = step_mode(step)
        self.step = step
        self.atol, self.rtol = check_tols(atol, rtol)
        self.dtype = out_dtype(x)
        self.xa = as_points(x, name, vector=vector)
        if vector:
            self.nvar = self.xa.shape[0]
            self.batch = self.xa.shape[1:]
            self.x2 = np.ascontiguousarray(self.xa.reshape(self.nvar, -1))
        else:
            self.nvar = 1
            self.batch = self.xa.shape
            self.x2 = np.ascontiguousarray(self.xa.reshape(1, -1))


# ---------------------------------------------------------------------------------------------
# One road to the kernels: adaptive engine, fixed stencil or given steps
# ---------------------------------------------------------------------------------------------

def scales(x2, dcoord, dvec):
    """First-pass (floored), search (``|x|``, 1 at 0) and natural length scales per direction:
    (ndir, m) each.  The natural scale (``|x|``, but 1 below the floor, where the step scale is
    artificial) judges whether the rounding floor may count as converged."""
    ndir, m = len(dcoord), x2.shape[1]
    dc = np.asarray(dcoord)
    if ndir and (dc >= 0).all():                # coordinate directions: one vectorized pass
        a = np.abs(x2[dc])
        return (np.maximum(a, _plans.SCALE_FLOOR), np.where(a > 0, a, 1.0),
                np.where(a >= _plans.SCALE_FLOOR, a, 1.0))
    s1 = np.empty((ndir, m))
    s2 = np.empty((ndir, m))
    s3 = np.empty((ndir, m))
    for d, c in enumerate(dcoord):
        if c >= 0:
            a = np.abs(x2[c])
            v = 1.0
        else:
            a = np.abs(x2).max(axis=0) if x2.shape[0] else np.zeros(m)
            vm = np.abs(dvec[-1 - c]).max(axis=0) if m else np.zeros(m)
            v = np.where(vm > 0, vm, 1.0)
        s1[d] = np.maximum(a, _plans.SCALE_FLOOR) / v
        s2[d] = np.where(a > 0, a, 1.0) / v
        s3[d] = np.where(a >= _plans.SCALE_FLOOR, a, 1.0) / v
    return s1, s2, s3


def compute(S, ev, specs, kdir, dcoord, dvec=None, want_err=False, h=None, *, workers=1):
    """Values, error estimates (or None), status and steps, each (nout, nres, m).

    ``workers`` (>= 1, validated and -1 resolved by the caller): OpenMP threads for compiled
    callables; results are bit-identical to ``workers=1``.  The full Hessian's specs run in closed
    form (``_steps.HessianSpecs``; pass one instead of the tuple to skip building it)."""
    x2 = S.x2
    specs = _steps.as_family(specs)
    if isinstance(specs, _steps.HessianSpecs) and len(specs) > _plans.MAX_HESSIAN_ROWS:
        raise ValueError(f"a Hessian of {specs.n} variables has {len(specs)} distinct entries, "
                         f"about {len(specs) * 256 / 2**30:.0f} GiB of working memory: more than "
                         f"this machine has ({_plans.MAX_HESSIAN_ROWS} entries); use "
                         "hessian_vector for large n")
    if S.mode == "adaptive":
        s1, s2, s3 = scales(x2, dcoord, dvec)
        return _steps.adaptive(ev, specs, x2, S.meth, S.accuracy, np.asarray(kdir), dcoord, dvec,
                               scale1=s1, scale2=s2, natural=s3, atol=S.atol, rtol=S.rtol,
                               workers=workers)
    if h is None:
        if S.mode == "fixed" and len(set(kdir)) == 1 and all(c >= 0 for c in dcoord):
            c = step_const(S.accuracy, 2 if S.meth == 0 else 1, S.richardson, kdir[0])
            h = _plans.relative_steps(x2, np.asarray(dcoord, dtype=np.intc), c, S.meth)  # exact
            out, err = engine(ev, specs, x2, S.meth, S.accuracy, S.richardson, h, dcoord, dvec,
                              want_err, workers=workers)
            return out, err, _fixed_status(out, err, S), h
        if S.mode == "fixed":
            h = np.empty((len(dcoord), x2.shape[1]))
            s1, _, _ = scales(x2, dcoord, dvec)
            for d, k in enumerate(kdir):
                c = step_const(S.accuracy, 2 if S.meth == 0 else 1, S.richardson, k)
                h[d] = c * s1[d]
        else:
            h = user_steps(S.step, len(dcoord), x2.shape[1]) if all(c >= 0 for c in dcoord) \
                else np.broadcast_to(float(scalar_step(S.step)), (len(dcoord), x2.shape[1]))
        h = _steps.exact_steps(x2, h, dcoord, S.meth)
    out, err = engine(ev, specs, x2, S.meth, S.accuracy, S.richardson, h, dcoord, dvec, want_err,
                      workers=workers)
    return out, err, _fixed_status(out, err, S), h


def _fixed_status(out, err, S):
    """Status of a fixed stencil: from its error estimate when there is one."""
    if err is None:
        return np.where(np.isfinite(out), 0, _steps.NONFINITE).astype(np.int32)
    return _steps.status_of(err, out, np.zeros_like(err), S.atol or 0.0, S.rtol)


def scalar_step(step):
    s = np.asarray(step, dtype=np.float64) if not isinstance(step, str) else None
    if s is None or s.ndim != 0 or not np.isfinite(s) or s <= 0:
        raise ValueError("step must be a positive finite scalar for a directional derivative")
    return float(s)


def engine(ev, specs, x2, meth, accuracy, richardson, h, dcoord, dvec=None, want_err=False, *,
           workers=1):
    """One fixed stencil (with ``richardson`` levels); with ``want_err`` and no Richardson also
    the doubled steps, for the error estimate ``|D(h) - D(2h)|``."""
    specs = _steps.as_family(specs)
    if want_err and richardson == 0:
        return _steps.fixed_levels(ev, specs, x2, meth, accuracy, 2, 2.0 * h, dcoord, dvec, True,
                                   False, workers=workers)
    return _steps.fixed_levels(ev, specs, x2, meth, accuracy, richardson + 1, h, dcoord, dvec,
                               want_err, workers=workers)


def finish(value, err, status, nfev, step, x, full_output, what="derivative",
            dtype=np.float64):
    """Plain value (raise on NaN/inf, warn when not converged) or the full result."""
    if not full_output:
        if not _diff.all_finite(np.asarray(value, dtype=np.float64)):
            raise ValueError(f"the function returned NaN or inf at a stencil point, so the {what} "
                             "is not finite; pass full_output=True to get NaN with status -3")
        bad = int(np.count_nonzero(np.asarray(status) < 0))
        if bad:
            warnings.warn(f"{bad} of {np.size(status)} elements of the {what} did not reach the "
                          "tolerance (or met a domain edge); pass full_output=True for their "
                          "error estimates and status", DifferentiationWarning, stacklevel=3)
        return value.astype(dtype, copy=False) if dtype != np.float64 else value
    if err is None:
        err = np.zeros_like(value)
    status = np.asarray(status, dtype=np.int32)
    err = np.where(status == _steps.NONFINITE, np.nan, err)
    return DifferentiationResult(df=np.asarray(value).astype(dtype, copy=False),
                                 error=np.asarray(err).astype(dtype, copy=False), status=status,
                                 success=status == 0, nfev=int(nfev), step=step, x=x)


def scalar_out(value, scalar_in):
    return value[()] if scalar_in else value


def reduce_status(st, axis):
    """Status of a sum of elements: the worst failure, else 1 if any was one-sided, else 0."""
    lo = st.min(axis=axis)
    return np.where(lo < 0, lo, st.max(axis=axis)).astype(np.int32)


def complex_check(S, cval, cerr, real):
    """Compare a complex-step result with the real engine's; elements that disagree get the real
    value, status -4 and the disagreement added to the error."""
    rres = real()
    bad = _cs.disagrees(cval, cerr, rres.df, rres.error)
    status = np.where(bad, _cs.NOT_ANALYTIC, 0).astype(np.int32)
    val = np.where(bad, rres.df, cval)
    err = np.where(bad, np.abs(cval - rres.df) + rres.error, cerr)
    return val, err, status, rres.nfev


def with_note(fn, note):
    """Call fn(); an exception from the user's function gets ``note`` (type and traceback kept)."""
    try:
        return fn()
    except (TypeError, IndexError) as exc:
        if hasattr(exc, "add_note"):
            exc.add_note(note)
        raise
