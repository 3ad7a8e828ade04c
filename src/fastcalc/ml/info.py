"""Information theory: entropy, cross-entropy, KL and JS divergence, mutual information.

Discrete distributions lie along ``axis`` (default -1, one distribution per row; note that
:func:`scipy.stats.entropy` defaults to ``axis=0``), with ``0 log 0 = 0`` and logarithms in ``base``
(default e).  Inputs must be non-negative and finite; a distribution whose sum is not 1 (within
1e-6 in float64, 1e-4 in float32) is a ``ValueError`` unless ``normalize=True``, which divides by
the sum as :func:`scipy.stats.entropy` always does.  Sums over rows run in C (float32 stays float32).

Continuous densities are integrated with :func:`fastcalc.quad` (infinite limits allowed):
:func:`differential_entropy` and :func:`kl_divergence_continuous`.

Examples
--------
>>> import numpy as np
>>> from fastcalc import ml
>>> float(ml.entropy([0.5, 0.5], base=2))
1.0
>>> float(ml.kl_divergence([0.5, 0.5], [0.9, 0.1])) > 0
True
"""
import math
import warnings

import numpy as np

from fastcalc._ml import info_rows
from fastcalc._validation import as_callable, as_floats, as_int, as_real
from fastcalc.integrate import quad

__all__ = ["entropy", "cross_entropy", "kl_divergence", "js_divergence", "mutual_information",
           "differential_entropy", "kl_divergence_continuous"]


def _log_base(base):
    if base is None:
        return 1.0
    b = as_real(base, "base", low=0.0, low_open=True)
    if b == 1.0:
        raise ValueError("base must be positive and not 1, got 1.0")
    return math.log(b)


def _rows(a, axis, name):
    arr = as_floats(a, name)
    if arr.ndim == 0:
        raise ValueError(f"{name} must have at least one dimension, got a scalar")
    ax = as_int(axis, "axis")
    if not -arr.ndim <= ax < arr.ndim:
        raise ValueError(f"axis must be in [{-arr.ndim}, {arr.ndim - 1}], got {ax}")
    moved = np.moveaxis(arr, ax, -1)
    return np.ascontiguousarray(moved).reshape(-1, arr.shape[ax]), moved.shape[:-1], arr.dtype


def _check_sums(s, name, normalize, dtype):
    if normalize:
        if s.size and not (s > 0).all():
            raise ValueError(f"{name} must have a positive sum along axis to be normalized")
        return
    tol = 1e-4 if dtype == np.float32 else 1e-6
    if s.size and not (np.abs(s - 1) <= tol).all():
        worst = float(s.flat[np.argmax(np.abs(s - 1))])
        raise ValueError(f"{name} must sum to 1 along axis (a sum is {worst:.6g}); pass "
                         "normalize=True to divide by the sum")


def _run(mode, p, q, axis, normalize, names=("p", "q")):
    P, shape, dtype = _rows(p, axis, names[0])
    if q is None:
        Q = np.empty((0, P.shape[1]), dtype=dtype)
        sq = np.empty(0, dtype=dtype)
    else:
        Q, qshape, qdtype = _rows(q, axis, names[1])
        if Q.shape != P.shape:
            raise ValueError(f"{names[1]} must have the shape of {names[0]} "
                             f"{np.shape(p)}, got {np.shape(q)}")
        if qdtype != dtype:
            dtype = np.result_type(dtype, qdtype)
            P, Q = P.astype(dtype), Q.astype(dtype)
        sq = np.empty(P.shape[0], dtype=dtype)
    res = np.empty(P.shape[0], dtype=dtype)
    sp = np.empty(P.shape[0], dtype=dtype)
    bad = info_rows(P, Q, mode, res, sp, sq)
    if bad or not (np.isfinite(sp).all() and np.isfinite(sq).all()):
        bad_p = P.size and ((P < 0).any() or not np.isfinite(P).all())
        raise ValueError(f"{names[0] if bad_p else names[1]} must be non-negative and finite "
                         "(no NaN or inf)")
    _check_sums(sp, names[0], normalize, dtype)
    if q is not None:
        _check_sums(sq, names[1], normalize, dtype)
    return res, sp, sq, shape


def _shape(r, shape):
    r = r.reshape(shape)
    return r[()] if r.ndim == 0 else r


def entropy(p, *, axis=-1, base=None, normalize=False):
    """Shannon entropy ``-sum(p log p)`` of the distributions along ``axis``.

    Parameters
    ----------
    p : array_like
        Probabilities (non-negative, summing to 1 along ``axis`` unless ``normalize``).
    axis : int
        Axis of the distribution (default -1).
    base : float or None
        Logarithm base (None: e, nats).
    normalize : bool
        Divide ``p`` by its sum first (as :func:`scipy.stats.entropy`).

    Returns
    -------
    float or ndarray
        One entropy per distribution (the shape of ``p`` without ``axis``).

    Examples
    --------
    >>> from fastcalc import ml
    >>> round(float(ml.entropy([1, 1, 2], normalize=True, base=2)), 6)
    1.5
    """
    lb = _log_base(base)
    res, sp, _, shape = _run(0, p, None, axis, normalize)
    with np.errstate(all="ignore"):
        h = (np.log(sp) - res / sp) if normalize else -res
    return _shape(h / h.dtype.type(lb), shape)


def cross_entropy(p, q, *, axis=-1, base=None, normalize=False):
    """Cross-entropy ``-sum(p log q)`` of two distributions (inf where q = 0 < p).

    ``fastcalc.ml.cross_entropy`` is the *loss* (predictions, targets); this one is
    ``fastcalc.ml.info.cross_entropy``.

    Examples
    --------
    >>> from fastcalc.ml import info
    >>> round(float(info.cross_entropy([0.5, 0.5], [0.5, 0.5], base=2)), 6)
    1.0
    """
    lb = _log_base(base)
    res, sp, sq, shape = _run(2, p, q, axis, normalize)
    with np.errstate(all="ignore"):
        h = (np.log(sq) - res / sp) if normalize else -res
    return _shape(h / h.dtype.type(lb), shape)


def kl_divergence(p, q, *, axis=-1, base=None, normalize=False):
    """Kullback-Leibler divergence ``sum(p log(p / q))`` (inf where q = 0 < p); the same as
    ``scipy.stats.entropy(p, q)`` on normalised input.

    Examples
    --------
    >>> from fastcalc import ml
    >>> float(ml.kl_divergence([0.25, 0.75], [0.25, 0.75]))
    0.0
    """
    lb = _log_base(base)
    res, sp, sq, shape = _run(1, p, q, axis, normalize)
    with np.errstate(all="ignore"):
        d = (res / sp + np.log(sq / sp)) if normalize else res
    d = np.maximum(d, 0)                 # rounding may give -1e-17 for p == q
    return _shape(d / d.dtype.type(lb), shape)


def js_divergence(p, q, *, axis=-1, base=None, normalize=False):
    """Jensen-Shannon divergence ``(KL(p||m) + KL(q||m)) / 2`` with ``m = (p + q) / 2``; bounded
    by log 2 (1 in base 2).  Its square root is ``scipy.spatial.distance.jensenshannon``.

    Examples
    --------
    >>> from fastcalc import ml
    >>> float(ml.js_divergence([1, 0], [0, 1], base=2))
    1.0
    """
    P = as_floats(p, "p")
    Q = as_floats(q, "q")
    if P.shape != Q.shape:
        raise ValueError(f"q must have the shape of p {P.shape}, got {Q.shape}")
    if normalize:
        ax = as_int(axis, "axis")
        # the checks of kl_divergence first, so bad input is named correctly
        entropy(P, axis=ax, normalize=True)
        entropy(Q, axis=ax, normalize=True)
        P = P / P.sum(axis=ax, keepdims=True)
        Q = Q / Q.sum(axis=ax, keepdims=True)
    m = 0.5 * (P + Q)
    kw = dict(axis=axis, base=base)
    return 0.5 * (kl_divergence(P, m, **kw) + kl_divergence(Q, m, **kw))


def mutual_information(pxy, *, base=None, normalize=False):
    """Mutual information ``sum p(x,y) log(p(x,y) / (p(x) p(y)))`` of a 2-D joint distribution
    (rows x, columns y) = H(X) + H(Y) - H(X, Y).

    Examples
    --------
    >>> import numpy as np
    >>> from fastcalc import ml
    >>> float(ml.mutual_information(np.eye(2) / 2, base=2))
    1.0
    """
    J = as_floats(pxy, "pxy")
    if J.ndim != 2:
        raise ValueError(f"pxy must be a 2-D joint distribution, got shape {J.shape}")
    if J.size and (not np.isfinite(J).all() or (J < 0).any()):
        raise ValueError("pxy must be non-negative and finite (no NaN or inf)")
    if not normalize and abs(float(J.sum()) - 1) > 1e-6:
        raise ValueError(f"pxy must sum to 1 (it sums to {float(J.sum()):.6g}); pass "
                         "normalize=True to divide by the sum")
    hxy = entropy(J.reshape(-1), base=base, normalize=normalize)
    if normalize:
        J = J / J.sum()
    hx = entropy(J.sum(axis=1), base=base, normalize=True)
    hy = entropy(J.sum(axis=0), base=base, normalize=True)
    return max(hx + hy - hxy, 0.0) * 1.0


def _density(f, name):
    as_callable(f, name)

    def call(x):
        v = float(f(x))
        if not (v >= 0) or math.isinf(v):
            raise ValueError(f"{name}({x!r}) = {v!r}: a density must be finite and non-negative")
        return v
    return call


def _quad_checked(g, a, b, what, allow_zero=False, **kw):
    """quad of g over [a, b]; a quadrature warning or a non-finite result is a ValueError (a
    missed narrow density would otherwise give a wrong number with a small error estimate)."""
    a = as_real(a, "a", finite=False)
    b = as_real(b, "b", finite=False)
    if not a < b:
        raise ValueError(f"need a < b, got a={a}, b={b}")
    opts = dict(epsabs=1e-12, epsrel=1e-10, limit=200)
    opts.update(kw)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        val, err = quad(g, a, b, **opts)
    if not math.isfinite(val):
        raise ValueError(f"{what} is not finite (the integral diverges)")
    if caught and not (allow_zero and val == 0.0):
        raise ValueError(f"{what} could not be computed reliably: {caught[0].message} "
                         "(a narrow density over an infinite range: give finite limits around "
                         "its mass; a singularity: split the range there)")
    return val, err


def _check_mass(pdf, a, b, name, quad_kw):
    mass, _ = _quad_checked(pdf, a, b, f"the integral of {name}", **quad_kw)
    if abs(mass - 1.0) > 1e-6:
        raise ValueError(f"{name} integrates to {mass:.8g} over [{a}, {b}], not 1: not a density "
                         "there, or quadrature missed its mass (narrow peak: give finite limits "
                         "around it)")


def differential_entropy(pdf, a=-np.inf, b=np.inf, *, base=None, full_output=False, **quad_kw):
    """Differential entropy ``-int p log p`` over ``[a, b]`` by :func:`fastcalc.quad`.

    Parameters
    ----------
    pdf : callable
        Density ``pdf(x) -> float`` (non-negative; raises ValueError otherwise).
    a, b : float
        Limits (infinite allowed).
    base : float or None
        Logarithm base.
    full_output : bool
        Also return quad's error estimate.
    **quad_kw
        Passed to :func:`fastcalc.quad` (``epsabs``, ``epsrel``, ``limit``, ``points``).

    Raises
    ------
    ValueError
        When ``pdf`` does not integrate to 1 over ``[a, b]`` (within 1e-6) or quadrature warns
        (say a narrow density that the nodes over an infinite range miss): a wrong number is
        never returned as a result.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.stats import norm
    >>> from fastcalc import ml
    >>> h = ml.differential_entropy(norm(scale=2).pdf)
    >>> bool(abs(h - 0.5 * np.log(2 * np.pi * np.e * 4)) < 1e-9)
    True
    """
    lb = _log_base(base)
    p = _density(pdf, "pdf")
    _check_mass(p, a, b, "pdf", quad_kw)

    def integrand(x):
        v = p(x)
        return -v * math.log(v) if v > 0 else 0.0
    val, err = _quad_checked(integrand, a, b, "the differential entropy", **quad_kw)
    return (val / lb, err / lb) if full_output else val / lb


def kl_divergence_continuous(p, q, a=-np.inf, b=np.inf, *, base=None, full_output=False,
                             **quad_kw):
    """``int p log(p / q)`` over ``[a, b]`` by :func:`fastcalc.quad` (inf when q = 0 < p somewhere
    it matters is reported as a ValueError: the divergence is infinite).

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.stats import norm
    >>> from fastcalc import ml
    >>> d = ml.kl_divergence_continuous(norm(0, 1).pdf, norm(1, 2).pdf)
    >>> bool(abs(d - (np.log(2) + (1 + 1) / 8 - 0.5)) < 1e-9)
    True
    """
    lb = _log_base(base)
    pp = _density(p, "p")
    qq = _density(q, "q")
    _check_mass(pp, a, b, "p", quad_kw)
    _check_mass(qq, a, b, "q", quad_kw)

    def integrand(x):
        v = pp(x)
        if v == 0:
            return 0.0
        w = qq(x)
        if w == 0:
            return math.inf
        return v * (math.log(v) - math.log(w))
    # an integrand that is 0 at every node (p == q) is accepted: the mass checks above saw p
    val, err = _quad_checked(integrand, a, b, "the KL divergence", allow_zero=True, **quad_kw)
    return (val / lb, err / lb) if full_output else val / lb
