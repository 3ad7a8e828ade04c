"""Integrals over several variables by nested adaptive quadrature: nquad, dblquad, tplquad."""
import math
import warnings

from fastcalc import _quad
from fastcalc._core import is_compiled
from fastcalc._qengine import RULES
from fastcalc._validation import as_args, as_int, as_options
from fastcalc.integrate.adaptive import check_options
from fastcalc.integrate.shared import IntegrationWarning, MSG_INNER, message

__all__ = ["nquad", "dblquad", "tplquad"]

_LEVEL_OPTIONS = ("epsabs", "epsrel", "limit", "points", "weight", "wvar", "wopts")


def _level_opts(opt, name):
    opt = as_options(opt, _LEVEL_OPTIONS, name)
    return check_options(opt.get("epsabs", 1.49e-8), opt.get("epsrel", 1.49e-8),
                         opt.get("limit", 50))


#: default evaluation budget of nquad/dblquad/tplquad (a few seconds of a compiled integrand; an
#: integral that cannot converge, e.g. over an infinite box, stops there and says so)
MAXEVAL = 20_000_000
MSG_BUDGET = ("The evaluation budget (maxeval={maxeval}) was exhausted before the nested "
              "integrals converged; the result is NaN.\n  Raise maxeval=, loosen the tolerances, "
              "or check that the integral converges.")


def nquad(func, ranges, args=None, opts=None, full_output=False, *, vectorized=False,
          maxeval=MAXEVAL):
    """Integrate over several variables, as :func:`scipy.integrate.nquad`.

    Evaluated by nested adaptive Gauss--Kronrod in C: at every level, the integrand at a batch
    of outer nodes is the batch of inner integrals, one per node, run by the same engine (no
    nested Python ``quad`` calls).  ``func(x0, x1, ..., *args)`` integrates x0 innermost.
    ``ranges[i]`` is a pair or a callable of ``(x_{i+1}, ..., x_{n-1}, *args)`` returning one.
    ``opts`` (dict or list of dicts, innermost first) honours ``epsabs``, ``epsrel`` and
    ``limit``; ``points``/``weight`` options are delegated to SciPy.  A LowLevelCallable of
    signature ``double (int, double *)`` receives ``(x0, ..., x_{n-1}, *args)``.
    Curved domains: where an inner range closes like a square root at an end of an outer range
    (a disk, a ball), the outer integrand has a square-root kink there; a polynomial change of
    variables smooths it (x = a + L(3t^2 - 2t^3) for both ends), so the outer level needs far
    fewer subdivisions.  ``maxeval`` (keyword-only, default 20,000,000) bounds the evaluations of ``func``, checked
    before every batch of them (so at most one batch more is spent): when it is spent, the run
    stops at every level, warns, and returns NaN (with ``full_output``, ``ier`` 4 and
    ``"budget": True``).

    Returns
    -------
    result : float
    abserr : float
        The outer error estimate plus the integral of the inner integrals' error estimates
        over the outer level (SciPy reports only the former).
    out_dict : dict
        With ``full_output``: ``neval``, ``ier``, ``inner_failures``.

    Examples
    --------
    >>> import fastcalc as fc
    >>> round(fc.nquad(lambda x, y: x * y, [[0, 1], [0, 2]])[0], 12)
    1.0
    """
    args = as_args(args)
    maxeval = as_int(maxeval, "maxeval", low=1)
    n = len(ranges)
    if n < 1:
        raise ValueError("ranges must hold at least one range")
    if opts is None:
        opts = [{}] * n
    elif isinstance(opts, dict) or callable(opts):
        opts = [opts] * n
    if len(opts) != n:
        raise ValueError(f"opts must be a dict or a list of {n} dicts")
    if any(callable(o) for o in opts) or any(("points" in o or "weight" in o) for o in opts):
        import scipy.integrate
        return scipy.integrate.nquad(func, ranges, args=args, opts=opts, full_output=full_output)
    levels = []
    for i, (r, o) in enumerate(zip(ranges, opts)):
        ea, er, lim = _level_opts(o, f"opts[{i}]")
        if callable(r):
            if i == n - 1:
                lo_hi = r(*args)
                lo, hi = _pair(lo_hi, f"ranges[{i}]")
            else:
                lo, hi = r, None        # called with the outer coordinates as floats
        else:
            lo, hi = _pair(r, f"ranges[{i}]")
        levels.append([lo, hi, ea, er, lim, 0])
    for i, mask in enumerate(_pinched_ends(ranges, args)):
        levels[i][5] = mask
    levels = [tuple(v) for v in levels]
    f, fargs = func, args               # a scalar Python func gets the coordinates as floats
    if vectorized and not is_compiled(func):
        f, fargs = (lambda X: func(*X, *args)), ()
    res, err, ier, neval, nfail, worst, inner_err, spent = _quad.nested(
        f, levels, args, vectorized, RULES["gk21"], maxeval, fargs)
    if spent:
        res, err, ier = float("nan"), float("nan"), 4
        warnings.warn(MSG_BUDGET.format(maxeval=maxeval), IntegrationWarning, stacklevel=2)
    elif ier != 0 or nfail:
        msg = message(ier, 0, levels[-1][4], neval) if ier else \
            MSG_INNER.format(nfail=nfail, worst=worst)
        warnings.warn(msg, IntegrationWarning, stacklevel=2)
    if full_output:
        return res, err, {"neval": int(neval), "ier": int(ier), "inner_failures": int(nfail),
                          "budget": bool(spent)}
    return res, err


def _pair(r, name):
    try:
        lo, hi = r
        lo, hi = float(lo), float(hi)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a pair of numbers (lower, upper)") from exc
    if lo != lo or hi != hi:
        raise ValueError(f"{name} must not contain NaN")
    return lo, hi


def _width(pair):
    lo, hi = pair
    return float(hi) - float(lo)


def _pinch_mask(inner, lo, hi, point, args):
    """Ends of [lo, hi] where the inner range ``inner(x, *point, *args)`` closes like a square
    root (a disk or ball seen from its outer variable): there the outer integrand has a
    square-root kink, which the end-smoothing map removes.  A linear closing (a triangle) is
    smooth and left alone."""
    mask = 0
    for end, bit, sign in ((lo, 1, 1.0), (hi, 2, -1.0)):
        d = 1e-6 * (hi - lo)
        try:
            w0, w1, w4 = (_width(inner(end + sign * k * d, *point, *args)) for k in (0, 1, 4))
        except Exception:      # the probe is a heuristic; the integration reports real errors
            continue
        if w1 > 0 and abs(w0) <= 1e-3 * w1 and 1.5 < w4 / w1 < 2.5:
            mask |= bit
    return mask


def _pinched_ends(ranges, args):
    """Per level (innermost first), the end mask of the smoothing map: probed at the centre of
    the outer levels' ranges, for finite levels whose inner range is a function."""
    n = len(ranges)
    masks = [0] * n
    point = []
    for i in range(n - 1, 0, -1):
        try:
            lo, hi = (float(v) for v in (ranges[i](*point, *args) if callable(ranges[i])
                                         else ranges[i]))
        except Exception:
            break
        if not (math.isfinite(lo) and math.isfinite(hi)) or lo == hi:
            break
        if callable(ranges[i - 1]):
            masks[i] = _pinch_mask(ranges[i - 1], min(lo, hi), max(lo, hi), point, args)
            if lo > hi:
                masks[i] = ((masks[i] & 1) << 1) | ((masks[i] & 2) >> 1)
        point = [0.5 * (lo + hi)] + point
    return masks


def _const_or_callable(v, name):
    if callable(v):
        return v
    v = float(v)
    if v != v:
        raise ValueError(f"{name} must not be NaN")
    return v


def dblquad(func, a, b, gfun, hfun, args=(), epsabs=1.49e-8, epsrel=1.49e-8, *,
            maxeval=MAXEVAL):
    """Double integral ``int_a^b int_{gfun(x)}^{hfun(x)} func(y, x) dy dx``, as SciPy's.

    Nested Gauss--Kronrod in C (see :func:`nquad`, also for ``maxeval``).  ``gfun``/``hfun`` are
    floats or callables of x.

    Examples
    --------
    >>> import fastcalc as fc
    >>> round(fc.dblquad(lambda y, x: x * y**2, 0, 2, 0, 1)[0], 12)
    0.666666666667
    """
    args = as_args(args)
    g = _const_or_callable(gfun, "gfun")
    h = _const_or_callable(hfun, "hfun")
    if callable(g) or callable(h):
        gg = g if callable(g) else (lambda x, *a, _v=g: _v)
        hh = h if callable(h) else (lambda x, *a, _v=h: _v)

        def r0(x, *a):
            return gg(x), hh(x)
    else:
        r0 = (g, h)
    opt = {"epsabs": epsabs, "epsrel": epsrel}
    return nquad(func, [r0, (a, b)], args=args, opts=[opt, opt], maxeval=maxeval)


def tplquad(func, a, b, gfun, hfun, qfun, rfun, args=(), epsabs=1.49e-8, epsrel=1.49e-8, *,
            maxeval=MAXEVAL):
    """Triple integral of ``func(z, y, x)``, as :func:`scipy.integrate.tplquad`.

    ``y`` runs from ``gfun(x)`` to ``hfun(x)``, ``z`` from ``qfun(x, y)`` to ``rfun(x, y)``
    (floats or callables).  Nested Gauss--Kronrod in C (see :func:`nquad`, also for ``maxeval``).

    Examples
    --------
    >>> import fastcalc as fc
    >>> round(fc.tplquad(lambda z, y, x: 1.0, 0, 1, 0, 1, 0, 1)[0], 12)
    1.0
    """
    args = as_args(args)
    g = _const_or_callable(gfun, "gfun")
    h = _const_or_callable(hfun, "hfun")
    q = _const_or_callable(qfun, "qfun")
    r = _const_or_callable(rfun, "rfun")
    if callable(q) or callable(r):
        qq = q if callable(q) else (lambda x, y, _v=q: _v)
        rr = r if callable(r) else (lambda x, y, _v=r: _v)

        def r0(y, x, *a):
            return qq(x, y), rr(x, y)
    else:
        r0 = (q, r)
    if callable(g) or callable(h):
        gg = g if callable(g) else (lambda x, _v=g: _v)
        hh = h if callable(h) else (lambda x, _v=h: _v)

        def r1(x, *a):
            return gg(x), hh(x)
    else:
        r1 = (g, h)
    opt = {"epsabs": epsabs, "epsrel": epsrel}
    return nquad(func, [r0, r1, (a, b)], args=args, opts=[opt, opt, opt], maxeval=maxeval)
