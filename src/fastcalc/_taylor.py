"""Taylor polynomials: the coefficients ``f^(k)(x0)/k!`` by the complex contour (Lyness-Moler) or by
real stencils through the adaptive engine."""
import math

import numpy as np

from fastcalc._core import as_evaluator
from fastcalc import _steps
from fastcalc import _complexstep as _cs
from fastcalc._validation import as_choice, as_int, as_points, as_real
from fastcalc._diffcore import Setup, compute, finish, check_callable, MAX_ORDER

__all__ = ["TaylorPolynomial", "taylor_engine", "MAX_CONTOUR_DEGREE"]

#: highest degree of the complex-contour method
MAX_CONTOUR_DEGREE = 50
_TAYLOR_METHODS = ("auto", "contour", "central", "forward", "backward")


class TaylorPolynomial:
    """Taylor polynomial ``sum_k coef[k] * (x - x0)**k`` returned by :func:`fastcalc.taylor`.

    ``np.asarray(p)`` and ``p.coef`` give the coefficients ``f^(k)(x0)/k!`` (axis 0 = k), ``p(x)``
    evaluates the polynomial (Horner), ``p.error`` holds the coefficients' error estimates.

    Parameters
    ----------
    coef : array_like, shape (degree + 1,) or (degree + 1, k...)
        Real, finite coefficients, at least one.
    x0 : float or array_like, shape (k...)
        The expansion point(s).
    error : array_like, optional
        Error estimates, shape of ``coef``.

    Examples
    --------
    >>> from fastcalc import TaylorPolynomial
    >>> p = TaylorPolynomial([1.0, 2.0, 3.0], 1.0)
    >>> float(p(2.0))
    6.0
    """

    def __init__(self, coef, x0, error=None):
        c = as_points(coef, "coef", vector=True, finite=False)
        if not np.isfinite(c).all() and error is None:
            raise ValueError("coef must be finite (no NaN or inf)")
        x0a = as_points(x0, "x0", vector=False)
        if x0a.shape != c.shape[1:] and x0a.ndim != 0:
            raise ValueError(f"x0 must be a number or have shape {c.shape[1:]} (the coefficients' "
                             f"trailing axes), got {x0a.shape}")
        if error is not None:
            e = as_points(error, "error", vector=True, finite=False)
            if e.shape != c.shape:
                raise ValueError(f"error must have the shape of coef {c.shape}, got {e.shape}")
            error = e
        self.coef = c
        self.x0 = x0a[()] if x0a.ndim == 0 else x0a
        self.error = error

    @property
    def degree(self):
        return self.coef.shape[0] - 1

    def __call__(self, x):
        x = as_points(x, "x", vector=False, finite=False)
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


def taylor_engine(f, x0, degree, method, accuracy, step, richardson, vectorized, args,
                  full_output, atol, rtol):
    """:func:`fastcalc.taylor` (documented there)."""
    check_callable(f)
    meth = as_choice(method, "method", _TAYLOR_METHODS)
    degree = as_int(degree, "degree", low=0, high=MAX_CONTOUR_DEGREE)
    real_method = meth if meth in ("central", "forward", "backward") else "central"
    S = Setup(f, x0, real_method, accuracy, richardson, args, step, atol, rtol, complex_ok=False,
              vector=False, name="x0")
    S.vectorized = bool(vectorized)
    use_contour = meth == "contour" or (
        meth == "auto" and S.mode == "adaptive" and S.x2.size
        and _cs.accepts_complex(f, S.x2[0], S.args, S.vectorized))
    res = None
    if use_contour:
        res = _contour(S, f, degree)
        if meth == "auto" and degree <= MAX_ORDER and (res.status < 0).any():
            res = None             # not analytic there (or not converged): real stencils
    if res is None:
        if degree > MAX_ORDER:
            raise ValueError(f"degree must be <= {MAX_ORDER} with real stencils (the complex "
                             f"contour reaches {MAX_CONTOUR_DEGREE} for analytic f that accepts "
                             f"complex input), got {degree}")
        res = _real(S, f, degree)
    x0v = S.xa[()] if S.xa.ndim == 0 else S.xa
    if not full_output:
        coef = finish(res.df, res.error, res.status, res.nfev, res.step, S.xa, False,
                      "Taylor coefficient", S.dtype)
        return TaylorPolynomial(coef, x0v, None)
    return TaylorPolynomial(res.df, x0v, np.nan_to_num(res.error, nan=np.inf)), res


def _contour(S, f, degree):
    shape = S.batch
    coef, err, rnd, nfev = _cs.taylor_contour(f, S.x2[0], degree, S.args, S.vectorized, S.atol,
                                              S.rtol)
    status = _steps.status_of(err, coef, rnd, S.atol, S.rtol)
    shp = (degree + 1,) + shape
    return finish(coef.reshape(shp), err.reshape(shp), status.reshape(shp), nfev,
                  np.zeros(shape), S.xa, True, "Taylor coefficient", S.dtype)


def _real(S, f, degree):
    shape = S.batch
    m = S.x2.shape[1]
    ev = as_evaluator(f, 1, 1, True, True, S.vectorized, S.args)
    nd = max(degree, 1)
    dcoord = np.zeros(nd, dtype=np.intc)
    h = None
    if S.mode == "user":
        try:
            s = np.broadcast_to(np.asarray(S.step, dtype=np.float64), shape).reshape(-1)
        except (TypeError, ValueError):
            raise ValueError(f"step must be a positive number or broadcast to x0's shape {shape}") \
                from None
        for v in s:
            as_real(v, "step", low=0.0, low_open=True)
        h = _steps.exact_steps(S.x2[:1].repeat(1, 0), np.broadcast_to(s, (nd, m)),
                               dcoord, S.meth)
    specs = (("d", 0, 0),) + tuple(("d", k - 1, k) for k in range(1, degree + 1))
    out, err, status, hh = compute(S, ev, specs, list(range(1, nd + 1)), dcoord,
                                   want_err=True, h=h)
    fact = np.array([math.factorial(k) for k in range(degree + 1)], dtype=np.float64)
    shp = (degree + 1,) + shape
    coef = (out[0] / fact[:, None]).reshape(shp)
    e = (err[0] / fact[:, None]).reshape(shp)
    return finish(coef, e, status[0].reshape(shp), ev.nfev, hh.reshape((nd,) + shape), S.xa,
                  True, "Taylor coefficient", S.dtype)
