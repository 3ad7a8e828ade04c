"""Multivariate Taylor polynomials of ``f: R^n -> R`` (value, gradient, Hessian and higher terms).

Degree 1 and 2 come from :func:`fastcalc.gradient` and :func:`fastcalc.hessian`.  The terms of
degree ``k >= 3`` come from k-th directional derivatives ``D_v^k f(x0)`` along the directions
``v = beta`` of the simplex lattice ``{beta in N^n : |beta| = k}`` (one
:func:`fastcalc.derivative` of ``s -> f(x0 + s v)`` per direction): since
``D_v^k f(x0) = k! sum_{|alpha| = k} c_alpha v^alpha`` and the lattice is unisolvent for
homogeneous polynomials of degree k, one linear solve gives every coefficient ``c_alpha``.

Every function evaluation goes through fastcalc's callable adapter (via the differentiation
routines and :func:`fastcalc._core.evaluate`).
"""
import itertools
import math

import numpy as np

from fastcalc._core import evaluate
from fastcalc._validation import as_args, as_function, as_int, as_points, as_real
from fastcalc.differentiate import derivative, gradient, hessian

__all__ = ["taylor_multivariate", "MultivariateTaylor"]

_EPS = np.finfo(float).eps
_MAX_DEGREE = 6          # the derivative engine's highest order
_MAX_TERMS = 20_000


def _multi_indices(n, k):
    """All alpha in N^n with |alpha| = k, in lexicographic order (largest first)."""
    out = []
    for cut in itertools.combinations(range(n + k - 1), n - 1):
        prev = -1
        a = []
        for c in cut + (n + k - 1,):
            a.append(c - prev - 1)
            prev = c
        out.append(tuple(a))
    return sorted(out, reverse=True)


class MultivariateTaylor:
    """Taylor polynomial ``P(x) = sum_alpha c_alpha (x - x0)^alpha`` of degree ``degree``.

    Attributes
    ----------
    x0 : ndarray, shape (n,)
    degree : int
    exponents : ndarray of int, shape (T, n)
        The multi-indices alpha, by increasing degree.
    coef : ndarray, shape (T,)
        ``c_alpha = d^alpha f(x0) / alpha!``.
    error : ndarray, shape (T,)
        Error estimates of the coefficients (from the differentiation engine).
    value, gradient, hessian
        ``f(x0)``, ``grad f(x0)`` (degree >= 1) and the Hessian (degree >= 2).
    """

    def __init__(self, x0, degree, exponents, coef, error, f, args, vectorized, nfev):
        self.x0 = x0
        self.degree = degree
        self.exponents = exponents
        self.coef = coef
        self.error = error
        self.nfev = nfev
        self._f, self._args, self._vectorized = f, args, vectorized

    @property
    def n(self):
        return self.x0.size

    def _index(self, alpha):
        hits = np.flatnonzero(np.all(self.exponents == np.asarray(alpha), axis=1))
        return int(hits[0]) if hits.size else None

    @property
    def value(self):
        return float(self.coef[0])

    @property
    def gradient(self):
        if self.degree < 1:
            raise AttributeError("a degree-0 polynomial has no gradient term")
        return self.coef[1:1 + self.n].copy()

    @property
    def hessian(self):
        if self.degree < 2:
            raise AttributeError("a polynomial of degree < 2 has no Hessian term")
        n = self.n
        H = np.empty((n, n))
        for i in range(n):
            for j in range(n):
                a = np.zeros(n, dtype=int)
                a[i] += 1
                a[j] += 1
                c = self.coef[self._index(a)]
                H[i, j] = 2 * c if i == j else c
        return H

    def terms(self, k):
        """The degree-k coefficients as a dict ``{alpha: c_alpha}``."""
        k = as_int(k, "k", low=0, high=self.degree)
        sel = self.exponents.sum(axis=1) == k
        return {tuple(int(v) for v in a): float(c)
                for a, c in zip(self.exponents[sel], self.coef[sel])}

    def __call__(self, x, degree=None):
        """Evaluate the polynomial (or its truncation to ``degree``) at ``x`` of shape ``(n,)`` or
        ``(n, k...)``: returns a float or an array of shape ``(k...)``."""
        xa = as_points(x, "x")
        if xa.shape[0] != self.n:
            raise ValueError(f"x must have {self.n} variables on axis 0, got shape {xa.shape}")
        d = self.degree if degree is None else as_int(degree, "degree", low=0, high=self.degree)
        dx = xa - self.x0.reshape((-1,) + (1,) * (xa.ndim - 1))
        pw = [np.ones_like(dx)]
        for _ in range(d):
            pw.append(pw[-1] * dx)
        out = np.zeros(xa.shape[1:])
        for a, c in zip(self.exponents, self.coef):
            if a.sum() > d:
                break
            t = np.full(xa.shape[1:], c)
            for i, p in enumerate(a):
                if p:
                    t = t * pw[p][i]
            out = out + t
        return float(out) if out.ndim == 0 else out

    def remainder(self, x, *, samples=5, accuracy=4, richardson=1):
        """Estimate of the remainder ``|f(x) - P(x)|`` from the Lagrange form along the segment.

        ``f(x) - P(x) = g^(d+1)(xi) / (d+1)!`` for ``g(s) = f(x0 + s (x - x0))`` and some
        ``xi in (0, 1)``; the estimate is ``max |g^(d+1)(s)| / (d+1)!`` over ``samples`` equally
        spaced ``s`` in ``[0, 1]``, and never less than the actual ``|f(x) - P(x)|`` (one more
        evaluation of f): a spike of the derivative between the samples -- a kink on the
        segment -- would otherwise be missed.  Needs ``degree <= 5``.  One derivative call per
        point.

        Returns
        -------
        float or ndarray, shape (k...)
        """
        xa = as_points(x, "x")
        if xa.shape[0] != self.n:
            raise ValueError(f"x must have {self.n} variables on axis 0, got shape {xa.shape}")
        order = self.degree + 1
        if order > _MAX_DEGREE:
            raise ValueError(f"remainder needs degree <= {_MAX_DEGREE - 1}, this polynomial has "
                             f"degree {self.degree}")
        samples = as_int(samples, "samples", low=2, high=1000)
        s = np.linspace(0.0, 1.0, samples)
        pts = xa.reshape(self.n, -1)
        out = np.empty(pts.shape[1])
        for j in range(pts.shape[1]):
            v = pts[:, j] - self.x0
            g = _along(self._f, self.x0, v, self._args, self._vectorized)
            d = derivative(g, s, n=order, accuracy=accuracy, richardson=richardson,
                           vectorized=True)
            out[j] = float(np.max(np.abs(d))) / math.factorial(order)
        actual = np.abs(evaluate(self._f, np.ascontiguousarray(pts), vectorized=self._vectorized,
                                 args=self._args)[0] - np.asarray(self(pts)).ravel())
        out = np.maximum(out, actual).reshape(xa.shape[1:])
        return float(out) if out.ndim == 0 else out

    def __repr__(self):
        return (f"MultivariateTaylor(n={self.n}, degree={self.degree}, x0={self.x0!r}, "
                f"terms={self.coef.size})")


def _along(f, x0, v, args, vectorized):
    """s -> f(x0 + s v) as a vectorized one-variable function (through the adapter)."""
    def g(s):
        s = np.asarray(s, dtype=float).ravel()
        X = np.ascontiguousarray(x0[:, None] + v[:, None] * s[None, :])
        return evaluate(f, X, vectorized=vectorized, args=args)[0]
    return g


def _lattice_terms(f, x0, k, args, vectorized, accuracy, richardson, step):
    """Coefficients (and errors) of degree k from directional derivatives on the lattice."""
    n = x0.size
    alphas = _multi_indices(n, k)
    B = np.array(alphas, dtype=float)                                    # directions beta
    V = np.prod(B[:, None, :] ** np.array(alphas, dtype=float)[None, :, :], axis=2)
    scale = max(1.0, float(np.max(np.abs(x0))))
    D = np.empty(len(alphas))
    E = np.empty(len(alphas))
    nfev = 0
    for i, beta in enumerate(B):
        vmax = float(np.max(beta))
        h = (step if step is not None else
             _EPS ** (1.0 / (accuracy + 2 * richardson + k)) * scale) / vmax
        res = derivative(_along(f, x0, beta, args, vectorized), 0.0, n=k, accuracy=accuracy,
                         richardson=richardson, step=h, vectorized=True, full_output=True)
        D[i] = float(res.df)
        E[i] = float(res.error)
        nfev += int(res.nfev)
    Vinv = np.linalg.inv(V)
    fact = math.factorial(k)
    coef = Vinv @ D / fact
    err = np.abs(Vinv) @ E / fact + 8 * _EPS * (np.abs(Vinv) @ np.abs(D)) / fact
    return alphas, coef, err, nfev


def taylor_multivariate(f, x0, degree, *, method="central", accuracy=4, step=None, richardson=1,
                        vectorized=False, args=(), full_output=False):
    """Taylor polynomial of degree ``degree`` of ``f: R^n -> R`` about the point ``x0``.

    Parameters
    ----------
    f : callable
        ``f(x, *args)`` with ``x`` of shape ``(n,)`` returning a number (vectorized: ``x`` of
        shape ``(n, m)`` returning ``(m,)``); also a built-in or low-level callable.
    x0 : array_like, shape (n,)
        Expansion point.
    degree : int, 0..6
        Degree 1 and 2 use :func:`fastcalc.gradient` / :func:`fastcalc.hessian`; degree 3..6
        the lattice of directional derivatives (``C(n + k - 1, k)`` derivative calls of order k;
        high orders lose digits: expect relative errors near 1e-6 at degree 4 and 1e-3 at 6).
    method, accuracy, step, richardson
        As in :func:`fastcalc.taylor` (the gradient and Hessian take them as they are; the
        higher terms use central stencils of the given accuracy and Richardson levels, and
        ``step`` as an absolute step in x).
    vectorized, args
        As in :func:`fastcalc.gradient`.
    full_output : bool
        Accepted for symmetry with :func:`fastcalc.taylor`; the polynomial always carries its
        coefficients' ``error`` and ``nfev``.

    Returns
    -------
    MultivariateTaylor
        Callable on ``(n,)`` or ``(n, k...)`` points; ``value``, ``gradient``, ``hessian``,
        ``terms(k)``, ``coef``, ``exponents``, ``error``, ``remainder(x)``.

    Raises
    ------
    ValueError
        Non-finite ``x0``, ``x0`` not a vector, ``degree`` outside 0..6, or too many terms.

    Examples
    --------
    >>> import numpy as np, fastcalc as fc
    >>> f = lambda x: np.exp(x[0]) * np.sin(x[1])
    >>> p = fc.taylor_multivariate(f, [0.0, 0.0], 2)
    >>> p.gradient.round(8), p.hessian.round(6)
    (array([0., 1.]), array([[0., 1.],
           [1., 0.]]))
    >>> round(p([0.1, 0.2]), 6)                      # 0.2 + 0.1 * 0.2
    0.22
    """
    f = as_function(f, "f")
    args = as_args(args)
    xa = as_points(x0, "x0")
    if xa.ndim != 1:
        raise ValueError(f"x0 must be one point of shape (n,), got shape {xa.shape}")
    degree = as_int(degree, "degree", low=0, high=_MAX_DEGREE)
    accuracy = as_int(accuracy, "accuracy", low=2, high=8)
    richardson = as_int(richardson, "richardson", low=0, high=6)
    if step is not None:
        step = as_real(step, "step", low=0.0, low_open=True)
    n = xa.size
    nterms = math.comb(n + degree, degree)
    if nterms > _MAX_TERMS:
        raise ValueError(f"a degree-{degree} polynomial in {n} variables has {nterms} terms; the "
                         f"limit is {_MAX_TERMS}")
    exps = [tuple([0] * n)]
    coef = [float(evaluate(f, xa.reshape(n, 1), vectorized=vectorized, args=args)[0, 0])]
    err = [4 * _EPS * abs(coef[0])]
    nfev = 1
    kw = dict(method=method, accuracy=accuracy, richardson=richardson, vectorized=vectorized,
              args=args, full_output=True)
    if degree >= 1:
        g = gradient(f, xa, step=step, **kw)
        for i in range(n):
            a = [0] * n
            a[i] = 1
            exps.append(tuple(a))
        coef.extend(np.asarray(g.df, dtype=float).tolist())
        err.extend(np.asarray(g.error, dtype=float).tolist())
        nfev += int(g.nfev)
    if degree >= 2:
        H = hessian(f, xa, step=step, **kw)
        Hd, He = np.asarray(H.df), np.asarray(H.error)
        for a in _multi_indices(n, 2):
            idx = [i for i in range(n) for _ in range(a[i])]
            i, j = idx
            w = 0.5 if i == j else 1.0
            exps.append(a)
            coef.append(w * float(Hd[i, j]))
            err.append(w * float(He[i, j]))
        nfev += int(H.nfev)
    for k in range(3, degree + 1):
        alphas, c, e, nf = _lattice_terms(f, xa, k, args, vectorized, accuracy, richardson, step)
        exps.extend(alphas)
        coef.extend(c.tolist())
        err.extend(e.tolist())
        nfev += nf
    return MultivariateTaylor(xa, degree, np.array(exps, dtype=int), np.array(coef),
                              np.array(err), f, args, vectorized, nfev)
