"""Gauss rules: Legendre, Hermite and Laguerre nodes, fixed-order quadrature, normal expectations."""
import math
import threading
import warnings

import numpy as np

from fastcalc import _gauss
from fastcalc._core import is_compiled
from fastcalc._validation import as_args, as_callable, as_int, as_points
from fastcalc.integrate.shared import IntegrationWarning

__all__ = ["gauss_legendre", "gauss_hermite", "gauss_laguerre", "expect_normal", "fixed_quad"]

#: most nodes a Gauss rule may have: the Newton work is O(n^2) (about a second at this
#: size, in slices that check Ctrl-C)
MAX_NODES = _gauss.MAX_NODES

_CACHES = {"legendre": {}, "hermite": {}, "laguerre": {}}
_LEGENDRE = _CACHES["legendre"]
_CACHE_LOCK = threading.Lock()
_CACHE_SIZE = 64          # rules kept per family (the largest take 1.6 MB each)


def _nodes(n, name="n"):
    return as_int(n, name, low=1, high=MAX_NODES)


def _cached(family, n, build):
    cache = _CACHES[family]
    r = cache.get(n)
    if r is None:
        x, w = build(n)
        x.flags.writeable = False
        w.flags.writeable = False
        r = (x, w)
        with _CACHE_LOCK:
            if len(cache) >= _CACHE_SIZE:
                cache.pop(next(iter(cache)))
            cache[n] = r
    return r


def _golub_welsch_guess(d, e):
    from scipy.linalg import eigvalsh_tridiagonal
    return np.ascontiguousarray(eigvalsh_tridiagonal(d, e), dtype=np.float64)


def _build_hermite(n):
    k = np.arange(1, n, dtype=float)
    x = _golub_welsch_guess(np.zeros(n), np.sqrt(k / 2.0))
    return x, _gauss.polish("hermite", x)


def _build_laguerre(n):
    k = np.arange(n, dtype=float)
    x = _golub_welsch_guess(2 * k + 1, np.arange(1, n, dtype=float))
    return x, _gauss.polish("laguerre", x)


def legendre_rule(n):
    """The cached, read-only n-point Gauss--Legendre rule (nodes, weights); n is validated."""
    if type(n) is int:                  # a cached (hence validated) size: one dict lookup
        r = _LEGENDRE.get(n)
        if r is not None:
            return r
    return _cached("legendre", _nodes(n), _gauss.legendre)


def gauss_legendre(n):
    """Nodes and weights of the n-point Gauss--Legendre rule on [-1, 1].

    Computed in C by Newton's method on the three-term recurrence in extended precision
    (Tricomi's initial guesses), cached; nodes and weights accurate to about 1e-16 relative for
    n up to several thousand (n = 1000 takes about 10 ms once).  The work grows as n**2: n is
    limited to ``MAX_NODES`` (10,000, about a second), and Ctrl-C interrupts it.

    Parameters
    ----------
    n : int
        Number of nodes, 1 <= n <= 10000.

    Returns
    -------
    x, w : ndarray
        Nodes (ascending) and weights; the rule integrates polynomials of degree <= 2n-1 exactly.

    Examples
    --------
    >>> import fastcalc as fc
    >>> x, w = fc.gauss_legendre(3)
    >>> round(float(w @ x**4), 15)      # exact: 2/5
    0.4
    """
    x, w = legendre_rule(n)
    return x.copy(), w.copy()


def gauss_hermite(n):
    """Nodes and weights of the n-point Gauss--Hermite rule (weight ``exp(-x**2)`` on the line).

    Initial guesses from the eigenvalues of the Jacobi matrix, then Newton polishing in C on the
    orthonormal recurrence (scaled against overflow); cached.  Weights below the double range
    underflow to 0.  n is limited to 10,000 (the work grows as n**2; Ctrl-C interrupts it).

    Examples
    --------
    >>> import numpy as np, fastcalc as fc
    >>> x, w = fc.gauss_hermite(10)
    >>> bool(np.isclose(w.sum(), np.sqrt(np.pi)))
    True
    """
    x, w = _cached("hermite", _nodes(n), _build_hermite)
    return x.copy(), w.copy()


def gauss_laguerre(n):
    """Nodes and weights of the n-point Gauss--Laguerre rule (weight ``exp(-x)`` on [0, inf)).

    n is limited to 10,000 (the work grows as n**2; Ctrl-C interrupts it).

    Examples
    --------
    >>> import fastcalc as fc
    >>> x, w = fc.gauss_laguerre(5)
    >>> round(float(w @ x**3), 12)        # Gamma(4) = 6
    6.0
    """
    x, w = _cached("laguerre", _nodes(n), _build_laguerre)
    return x.copy(), w.copy()


def expect_normal(f, mean=0.0, std=1.0, n=40, *, vectorized=True, args=()):
    """Expectation ``E[f(X)]`` for ``X ~ Normal(mean, std**2)`` by Gauss--Hermite quadrature.

    Parameters
    ----------
    f : callable, built-in function or LowLevelCallable
        With ``vectorized=True`` (default) a Python ``f`` gets a 1-D array of nodes.
    mean, std : float or array_like
        Broadcast together; one expectation per element.
    n : int
        Number of Hermite nodes (exact for polynomials of degree <= 2n-1).

    Examples
    --------
    >>> import fastcalc as fc
    >>> round(float(fc.expect_normal(lambda x: x**2, mean=1.0, std=2.0)), 12)   # 1 + 4
    5.0
    """
    n = _nodes(n)
    as_callable(f)
    mean_a = as_points(mean, "mean", vector=False)
    std_a = as_points(std, "std", vector=False)
    if np.any(std_a < 0):
        raise ValueError("std must be >= 0")
    args = as_args(args)
    x, w = gauss_hermite(n)
    shape = np.broadcast_shapes(mean_a.shape, std_a.shape)
    pts = (np.broadcast_to(mean_a, shape)[..., None]
           + math.sqrt(2.0) * np.broadcast_to(std_a, shape)[..., None] * x)
    vals = _gauss.evaluate_points(f, np.ascontiguousarray(pts.reshape(-1)), vectorized, args)
    vals = vals.reshape(pts.shape)
    if not np.all(np.isfinite(vals)):
        warnings.warn("f returned NaN or inf at a Hermite node", IntegrationWarning, stacklevel=2)
    res = vals @ w / math.sqrt(math.pi)
    return res[()] if res.ndim == 0 else res


def _is_array_arg(t):
    return isinstance(t, (np.ndarray, list)) and np.ndim(t) > 0


def fixed_quad(func, a, b, args=(), n=5):
    """Fixed-order Gauss--Legendre quadrature, as :func:`scipy.integrate.fixed_quad`.

    ``func`` is called once with the array of nodes (a 1-D array of every node of every integral
    in a batch).  Unlike SciPy, the nodes are cached in C and ``a``, ``b`` and the entries of
    ``args`` may be arrays that broadcast: one integral per element.  Built-in functions and
    LowLevelCallables are evaluated in C.  ``n`` is limited to 10,000 nodes.

    Returns
    -------
    val : float or ndarray
    none : None

    Examples
    --------
    >>> import numpy as np, fastcalc as fc
    >>> val, _ = fc.fixed_quad(np.sin, 0.0, np.pi, n=10)
    >>> round(float(val), 12)
    2.0
    >>> fc.fixed_quad(lambda x, k: x**k, 0.0, 1.0, args=(np.array([1, 2, 3]),))[0]
    array([0.5       , 0.33333333, 0.25      ])
    """
    if type(args) is not tuple:
        args = as_args(args)
    r = _LEGENDRE.get(n) if type(n) is int else None      # a cached, hence validated, size
    x, w = r if r is not None else legendre_rule(n)
    # the one compiled fast path: a single integral of plain limits (checked in C)
    val = _gauss.fixed_single(func, a, b, args, x, w)
    if val is not None:
        return val, None
    a_ = as_points(a, "a", vector=False, finite=False)
    b_ = as_points(b, "b", vector=False, finite=False)
    if not (np.all(np.isfinite(a_)) and np.all(np.isfinite(b_))):
        raise ValueError("Gaussian quadrature is only available for finite limits (a and b)")
    array_args = any(_is_array_arg(t) for t in args)
    num = [as_points(t, f"args[{i}]", vector=False) for i, t in enumerate(args)] \
        if array_args else []
    shape = np.broadcast_shapes(a_.shape, b_.shape, *[t.shape for t in num])
    lo = np.ascontiguousarray(np.broadcast_to(a_, shape).ravel())
    hi = np.ascontiguousarray(np.broadcast_to(b_, shape).ravel())
    if array_args:
        outer = np.ascontiguousarray(np.stack([np.broadcast_to(t, shape).ravel() for t in num]))
        g = func if is_compiled(func) else _rows_as_args(func)
        res = _gauss.fixed_batch(g, x, w, lo, hi, outer, True, ())
    else:
        res = _gauss.fixed_batch(func, x, w, lo, hi, None, True, args)
    res = res.reshape(shape)
    return (res[()] if res.ndim == 0 else res), None


def _rows_as_args(func):
    """A Python f(x, *args) seen as a vectorized function of the points (x, arg_1, ...)."""
    def g(X):
        return func(X[0], *X[1:])
    return g
