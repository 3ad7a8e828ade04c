"""Critical points: find them all in a box (Newton on the gradient from many starts, in one C loop)
and classify them (minimum, maximum, saddle, degenerate) by the Hessian's eigenvalues.

The Hessians come from the user's ``hess`` (through the adapter) or from fastcalc's one
finite-difference Hessian, :func:`fastcalc.differentiate.hessian`, whose error estimate sets the
tolerance below which an eigenvalue counts as zero.
"""
import warnings

import numpy as np
from scipy.optimize import OptimizeResult

from fastcalc import _descent as _d
from fastcalc._core import Function, values_at
from fastcalc._validation import as_args, as_int, as_real, as_workers
from fastcalc._optsetup import (MAX_START_VALUES, as_bounds, as_x0, evaluators, is_python,
                                run_starts,
                                parse_descent_options,
                                scalar_valued)
from fastcalc.differentiate import gradient as _fd_gradient
from fastcalc.differentiate import hessian as _fd_hessian, jacobian as _fd_jacobian

__all__ = ["find_critical_points", "classify_critical_point"]

_EPS = np.finfo(float).eps
#: a point is critical when max|g| <= GRAD_RTOL * (the function's scale near x) / max(1, |x|)
GRAD_RTOL = 1e-6


def _derivatives_of(f, jac, hess):
    if isinstance(f, Function):
        if jac is None and f.grad is not None:
            jac = f.grad
        if hess is None and f.hess is not None:
            hess = f.hess
    return jac, hess


def _hessians(f, X, jac, hev, args, vectorized, scalar):
    """Hessians (k, n, n) at the points X (n, k) and an error bound per point (k,): the user's
    Hessian; else the Jacobian of the user's gradient (fastcalc.jacobian); else fastcalc.hessian
    of f at growing steps (a function whose values dwarf its variation, an offset, needs a larger
    step for its curvature to show above the rounding), keeping the step of smallest estimated
    error."""
    n, k = X.shape
    if hev is not None:
        H = values_at(hev, X).reshape(n, n, k).transpose(2, 0, 1)
        H = 0.5 * (H + H.transpose(0, 2, 1))
        return H, 64 * n * _EPS * np.abs(H).reshape(k, -1).max(axis=1)
    f = _as_vector_function(f, vectorized, scalar)
    x = X if k > 1 else X[:, 0]
    xs = np.maximum(1.0, np.abs(X).max(axis=0))
    best_H, best_e = None, np.full(k, np.inf)
    for s in ((1.0,) if jac is not None else (1.0, 8.0, 64.0, 512.0, 4096.0)):
        if jac is not None and jac is not True:
            out = _fd_jacobian(jac, x, vectorized=vectorized, args=args, full_output=True)
        else:
            h = s * _EPS ** 0.25 * (xs if k > 1 else xs[0])
            out = _fd_hessian(f, x, vectorized=vectorized, args=args, full_output=True,
                              step=None if s == 1.0 else h)
        H = np.asarray(out.df, dtype=float).reshape(n, n, k).transpose(2, 0, 1)
        err = np.asarray(out.error, dtype=float).reshape(n, n, k).transpose(2, 0, 1)
        scale = np.abs(H).reshape(k, -1).max(axis=1)
        e = err.reshape(k, -1).max(axis=1) + 64 * n * _EPS * scale
        e = np.where(np.isfinite(H).reshape(k, -1).all(axis=1), e, np.inf)
        take = e < best_e
        if best_H is None:
            best_H = H.copy()
        best_H[take], best_e[take] = H[take], e[take]
        if np.all(best_e <= 1e-6 * np.maximum(scale, 1e-300)):
            break
    return 0.5 * (best_H + best_H.transpose(0, 2, 1)), best_e


def _as_vector_function(f, vectorized, scalar):
    """f as fastcalc.differentiate expects it: one number per point, x of shape (n,)."""
    if is_python(f) and not vectorized:
        f = scalar_valued(f)
    if scalar:
        g = f
        f = (lambda v, *a: g(float(v[0]), *a)) if not vectorized else (lambda v, *a: g(v[0], *a))
    return f


def _kinds(lam, tol):
    """'minimum', 'maximum', 'saddle' or 'degenerate' for eigenvalues lam (k, n), tolerances (k,)."""
    pos, neg = lam > tol[:, None], lam < -tol[:, None]
    kinds = []
    for p, q in zip(pos, neg):
        kinds.append("saddle" if p.any() and q.any() else "minimum" if p.all()
                     else "maximum" if q.all() else "degenerate")
    return kinds


def _grad_tolerance(fx, H, x):
    """The gradient size below which x counts as critical: relative to the function's scale near x
    (|f| and the curvature times max(1, |x|)^2), per unit of x."""
    xs = max(1.0, float(np.abs(x).max()))
    scale = max(abs(fx), float(np.abs(H).max()) * xs * xs, 1e-300)
    return GRAD_RTOL * scale / xs


def classify_critical_point(f, x, *, jac=None, hess=None, args=(), vectorized=False):
    """Classify a critical point by the eigenvalues of the Hessian.

    Eigenvalues within a tolerance scaled to the Hessian's estimated error are treated as zero, so
    flat directions make the point ``"degenerate"`` rather than guessed.  When the gradient at
    ``x`` is not small relative to the function's scale, ``x`` is not a critical point: the result
    says so (``is_critical=False``) with a ``RuntimeWarning``, and ``kind`` then only describes the
    curvature at ``x``.

    Parameters
    ----------
    f : callable
        Function of n variables (any kind of callable); a built-in supplies its own ``.grad`` and
        ``.hess``.
    x : float or array_like, shape (n,)
        The point (normally where the gradient vanishes).
    jac, hess : callable, optional
        Gradient and Hessian (Hessian returns (n, n)).  Without ``hess``: the finite-difference
        Hessian of :func:`fastcalc.hessian` and its error estimate.
    args : tuple
    vectorized : bool
        Python callables take batches (n, m).

    Returns
    -------
    OptimizeResult
        ``kind`` ("minimum", "maximum", "saddle", "degenerate"), ``eigenvalues`` (ascending),
        ``hessian`` (n, n), ``hessian_error`` (estimated, max abs), ``tol`` (eigenvalues with
        ``|lambda| <= tol`` count as zero), ``grad`` and ``grad_norm`` at ``x``, ``is_critical``
        and ``grad_tol`` (the gradient size below which x counts as critical).

    Examples
    --------
    >>> import fastcalc as fc
    >>> fc.classify_critical_point(lambda v: v[0]**2 - v[1]**2, [0.0, 0.0]).kind
    'saddle'
    >>> fc.classify_critical_point(lambda v: v[0]**2 + v[1]**4, [0.0, 0.0]).kind
    'degenerate'
    """
    X = as_x0(x, "x")
    scalar = X.ndim == 0
    if X.ndim > 1:
        raise ValueError(f"x must be a scalar or one-dimensional, got shape {X.shape}")
    X = X.reshape(-1, 1)
    n = X.shape[0]
    if n == 0:
        raise ValueError("x must have at least one variable")
    jac, hess = _derivatives_of(f, jac, hess)
    fev, gev, hev, gmode, hmode = evaluators(f, n, jac, hess, args, vectorized, True, scalar)
    # f and the gradient at x, the way the optimizers get them (no step: maxiter = 0)
    o, _ = parse_descent_options("gd", {"maxiter": 0, "gtol": 0.0}, None)
    run = _d.Descent(fev, gev, None, gmode, 0, X, o).execute()
    g = np.array(run.go[:, 0])
    fx = float(run.fo[0])
    H, err = _hessians(f, X, jac, hev, args, vectorized, scalar)
    H, err = H[0], float(err[0])
    if not np.all(np.isfinite(H)):
        raise ValueError("the Hessian at x is not finite")
    lam = np.linalg.eigvalsh(H)
    tol = 10.0 * err
    kind = _kinds(lam[None, :], np.array([tol]))[0]
    gtol = _grad_tolerance(fx, H, X[:, 0])
    if jac is None:
        # a differenced gradient is only known to its own error (x**3 at 0: about h**2): take the
        # adaptive engine's value WITH its error estimate (the optimizers' fixed-step difference
        # has an error of its own, which the adaptive estimate does not describe)
        gout = _fd_gradient(_as_vector_function(f, vectorized, scalar), X[:, 0],
                            vectorized=vectorized, args=as_args(args), full_output=True)
        g = np.asarray(gout.df, dtype=float).reshape(g.shape)
        gtol += 10.0 * float(np.max(gout.error))
    gn = float(np.abs(g).max())
    critical = bool(gn <= gtol)
    if not critical:
        warnings.warn(f"x is not a critical point: the gradient norm {gn:.3g} is not small "
                      f"relative to the function's scale (tolerance {gtol:.3g}); 'kind' only "
                      "describes the curvature at x", RuntimeWarning, stacklevel=2)
    return OptimizeResult(kind=kind, eigenvalues=lam, hessian=H, hessian_error=err, tol=tol,
                          grad=g[0] if scalar else g, grad_norm=gn, is_critical=critical,
                          grad_tol=gtol, x=float(X[0, 0]) if scalar else X[:, 0].copy())


def _dedupe(P, xtol):
    """Representatives of the columns of P (n, k) closer than xtol * max(1, |p|) (max norm) and
    their counts: greedy, one vectorized pass per representative."""
    reps, counts = [], []
    left = P
    while left.shape[1]:
        p = left[:, 0]
        near = np.abs(left - p[:, None]).max(axis=0) <= xtol * max(1.0, float(np.abs(p).max()))
        reps.append(p)
        counts.append(int(near.sum()))
        left = left[:, ~near]
    return np.array(reps).reshape(-1, P.shape[0]), np.array(counts, dtype=int)


def find_critical_points(f, bounds, *, n_starts=1000, seed=None, jac=None, hess=None, args=(),
                         gtol=1e-8, maxiter=50, xtol=1e-6, vectorized=False, workers=1):
    """All the critical points of ``f`` in a box: Newton's method on the gradient (not
    minimization, so maxima and saddles are found too) from ``n_starts`` random starts in one C
    loop, de-duplicated and classified by the Hessian's eigenvalues.

    Parameters
    ----------
    f : callable
        Function of n variables (any kind of callable; a built-in supplies ``.grad`` and ``.hess``).
    bounds : scipy.optimize.Bounds or sequence of (low, high)
        The (finite) box; starts are uniform in it and solutions outside it are dropped.
    n_starts : int
        Number of starts (default 1000).
    seed : int or numpy.random.Generator, optional
    jac, hess : callable, optional
        Gradient and Hessian; without them: central differences in C (gradient) and of the
        gradient (Hessian) for the iteration, :func:`fastcalc.hessian` for the classification.
    args : tuple
    gtol : float
        A start has converged when ``max |grad f| <= gtol`` (absolute).
    maxiter : int
        Newton steps per start (default 50).
    xtol : float
        Solutions closer than ``xtol * max(1, |x|)`` (max norm) are the same point.
    vectorized : bool
    workers : int
        OpenMP threads over blocks of starts (-1: all cores) when ``f`` and its derivatives are
        built-in or low-level callables (Python callables run on one thread); the results are
        the same for every ``workers``.

    Returns
    -------
    OptimizeResult
        ``x`` (k, n) the critical points found, sorted by value; ``fun`` (k,); ``kind`` (list of
        "minimum", "maximum", "saddle", "degenerate"); ``eigenvalues`` (k, n); ``tol`` (k,) the
        eigenvalue tolerances; ``grad_norm`` (k,); ``counts`` (k,) how many starts reached each;
        ``n_found``; ``nfev``, ``njev``, ``nhev``; ``success`` (at least one point found) and
        ``message``.

    Examples
    --------
    >>> import fastcalc as fc
    >>> from fastcalc.functions import himmelblau
    >>> res = fc.find_critical_points(himmelblau, [(-5, 5), (-5, 5)], n_starts=1000, seed=0)
    >>> res.n_found, sorted(set(res.kind))
    (9, ['maximum', 'minimum', 'saddle'])
    """
    nb = len(np.atleast_1d(bounds.lb)) if hasattr(bounds, "lb") else len(bounds)
    lo, hi = as_bounds(bounds, nb, finite=True)
    n = lo.size
    n_starts = as_int(n_starts, "n_starts", low=1, high=max(1, MAX_START_VALUES // n))
    maxiter = as_int(maxiter, "maxiter", low=1, high=10 ** 6)
    gtol = as_real(gtol, "gtol", low=0, low_open=True)
    xtol = as_real(xtol, "xtol", low=0, low_open=True)
    workers = as_workers(workers)
    rng = np.random.default_rng(seed)
    X0 = np.ascontiguousarray(lo[:, None] + (hi - lo)[:, None] * rng.random((n, n_starts)))
    jac, hess = _derivatives_of(f, jac, hess)
    fev, gev, hev, gmode, hmode = evaluators(f, n, jac, hess, args, vectorized, True, False)
    o, _ = parse_descent_options("newton", {"maxiter": maxiter, "gtol": gtol, "lr": 1.0,
                                            "line_search": None}, None)
    o["method"] = _d.NEWTON_ROOT
    run = run_starts(fev, gev, hev, gmode, hmode, X0, o, workers, 3 * n + n * n)
    xs, status = np.asarray(run.xo), np.asarray(run.status)
    pad = xtol * np.maximum(1.0, np.abs(np.concatenate([lo, hi]))).reshape(2, n)
    ok = ((status == 0) & np.all(xs >= (lo - pad[0])[:, None], axis=0)
          & np.all(xs <= (hi + pad[1])[:, None], axis=0))
    P, counts = _dedupe(xs[:, ok], xtol)
    k = P.shape[0]
    if k:
        Xp = np.ascontiguousarray(P.T)
        fx, gn = _nearest_values(run, ok, P)
        H, err = _hessians(f, Xp, jac, hev, args, vectorized, False)
        lam = np.linalg.eigvalsh(H)
        tol = 10.0 * err
        kinds = _kinds(lam, tol)
        order = np.argsort(fx, kind="stable")
        P, fx, gn, lam, tol = P[order], fx[order], gn[order], lam[order], tol[order]
        counts = counts[order]
        kinds = [kinds[i] for i in order]
    else:
        fx = lam = tol = gn = np.empty((0,))
        kinds = []
    return OptimizeResult(
        x=P, fun=fx, kind=kinds, eigenvalues=lam.reshape(k, n), tol=tol, grad_norm=gn,
        counts=counts, n_found=k, nfev=int(fev.nfev),
        njev=int(run.njev if gev is None else gev.nfev), nhev=int(run.nhev if hev is None
                                                                   else hev.nfev),
        success=k > 0,
        message=(f"{k} critical point(s) found from {n_starts} starts" if k else
                 f"no start converged to a critical point inside the bounds ({n_starts} starts)"))


def _nearest_values(run, ok, P):
    """f and max |g| of each representative: those of the converged start it stands for."""
    xs = np.asarray(run.xo)[:, ok]
    fs = np.asarray(run.fo)[ok]
    gs = np.abs(np.asarray(run.go)[:, ok]).max(axis=0)
    idx = np.array([np.argmin(np.abs(xs - p[:, None]).max(axis=0)) for p in P], dtype=int)
    return fs[idx], gs[idx]
