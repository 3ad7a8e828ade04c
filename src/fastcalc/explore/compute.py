"""What the explorer's page shows, computed by fastcalc (the page only draws).

:func:`compute_1d` answers a request about a function of x (f, f', f'', a tangent, a Taylor
polynomial, an area), :func:`compute_2d` one about f(x, y) (a contour map, the gradient arrow and
the Hessian's classification at a point).  Both take the request as a dict of plain JSON values,
validate every field with :mod:`fastcalc._validation` and return a dict of plain JSON values; bad
input raises :class:`RequestError` (a ValueError) whose message is shown on the page.
"""
import math
import warnings as _warnings

import numpy as np

import fastcalc as fc
from fastcalc._validation import as_int, as_real
from fastcalc.explore.parser import ParseError, parse

__all__ = ["RequestError", "compute_1d", "compute_2d", "MAX_POINTS", "MAX_GRID"]

MAX_POINTS = 2000
MAX_GRID = 120
MAX_SPAN = 1e6


class RequestError(ValueError):
    """A request the explorer cannot answer; the message is meant for the page."""


def _field(req, name, default=None):
    if not isinstance(req, dict):
        raise RequestError("the request must be a JSON object")
    v = req.get(name, default)
    if v is None:
        raise RequestError(f"{name} is missing")
    return v


def _real(req, name, default=None):
    v = _field(req, name, default)
    if isinstance(v, str):       # a number typed in a text field
        try:
            v = float(v.strip())
        except ValueError:
            raise RequestError(f"{name} must be a number, got {v[:40]!r}") from None
    try:
        return as_real(v, name, low=-MAX_SPAN, high=MAX_SPAN)
    except (TypeError, ValueError) as exc:
        raise RequestError(str(exc)) from None


def _int(req, name, default, low, high):
    try:
        return as_int(_field(req, name, default), name, low=low, high=high)
    except (TypeError, ValueError) as exc:
        raise RequestError(str(exc)) from None


def _interval(req, lo, hi, defaults):
    a, b = _real(req, lo, defaults[0]), _real(req, hi, defaults[1])
    if not a < b:
        raise RequestError(f"{lo} must be smaller than {hi}, got {a:g} and {b:g}")
    return a, b


def _expression(req, variables):
    text = _field(req, "expr")
    try:
        return parse(text, variables=variables)
    except ParseError as exc:
        raise RequestError(str(exc)) from None


def _json(a):
    """A float array as a list with None for NaN/inf (JSON has no NaN; the chart leaves a gap)."""
    a = np.asarray(a, dtype=float)
    out = np.where(np.isfinite(a), a, np.nan).tolist()
    if isinstance(out, float):
        return None if math.isnan(out) else out
    return _nan_to_none(out)


def _nan_to_none(lst):
    return [(_nan_to_none(v) if isinstance(v, list) else (None if v != v else v)) for v in lst]


def _num(v):
    v = float(v)
    return v if math.isfinite(v) else None


def _at(f, x0):
    return float(f(np.array([x0]))[0])


def _derivative_values(f, xs, order):
    """f^(order) at the points xs; NaN where the engine could not vouch for the value.

    The engine's default tolerance is relative (``rtol |df|``, atol the rounding floor), which a
    derivative that is exactly 0 where f is flat to high order (x^2 sin x at 0) cannot meet:
    such points are retried with an absolute tolerance on the scale of the plotted curve,
    ``sqrt(eps) * max |df|`` over the converged points.  NaN stays where f is not finite next to
    a point or the engine did not converge even so.
    """
    res = fc.derivative(f, xs, n=order, vectorized=True, full_output=True)
    df = np.where(res.success, res.df, np.nan)
    retry = res.status == -1
    if retry.any():
        scale = float(np.max(np.abs(df[res.success]), initial=0.0)) or 1.0
        again = fc.derivative(f, xs[retry], n=order, vectorized=True, full_output=True,
                              atol=math.sqrt(np.finfo(float).eps) * scale)
        df[retry] = np.where(again.success, again.df, np.nan)
    return df


def _gradient(f, p, fp, warnings):
    """grad f(p); at a critical point (grad exactly 0, where the engine's relative tolerance cannot
    be met) retried with the absolute tolerance ``sqrt(eps) * max(1, |f(p)|, |grad|)``."""
    res = fc.gradient(f, p, vectorized=True, full_output=True)
    if np.any(res.status == -1):
        scale = max(1.0, abs(fp), float(np.max(np.abs(res.df[res.success]), initial=0.0)))
        res = fc.gradient(f, p, vectorized=True, full_output=True,
                          atol=math.sqrt(np.finfo(float).eps) * scale)
    if not np.all(res.success):
        warnings.append(f"the gradient at ({p[0]:g}, {p[1]:g}) is uncertain (error estimate "
                        f"{float(np.max(res.error)):.2g})")
    return np.asarray(res.df, dtype=float)


def _tangent(f, x0, point, warnings):
    """Slope (with its error estimate) and second derivative at x0; warn at a kink, where the
    one-sided slopes disagree although the central difference looks confident."""
    res = fc.derivative(f, x0, vectorized=True, richardson=1, full_output=True)
    if not res.success:
        warnings.append(f"f is not finite next to x0 = {x0:g}: no tangent")
        return
    left = fc.derivative(f, x0, method="backward", vectorized=True, full_output=True)
    right = fc.derivative(f, x0, method="forward", vectorized=True, full_output=True)
    slope, error = float(res.df), float(res.error)
    if left.success and right.success:
        gap = abs(float(left.df) - float(right.df))
        if gap > 100 * (float(left.error) + float(right.error)) + 1e-6 * (1 + abs(slope)):
            warnings.append(f"f is not differentiable at x0 = {x0:g}: slope from the left "
                            f"{float(left.df):.6g}, from the right {float(right.df):.6g}")
            error = max(error, gap)
    if not error <= 1e-3 * max(1.0, abs(slope)):
        warnings.append(f"the slope at x0 = {x0:g} is uncertain: {slope:.6g} ± {error:.2g}")
    point.update(slope=_num(slope), slope_error=_num(error),
                 second=_num(fc.derivative(f, x0, n=2, vectorized=True, full_output=True).df))


def compute_1d(req):
    """Everything the page draws for a function of x.

    ``req`` fields: ``expr``; ``a``, ``b`` (range, default -5, 5); ``n`` (points, default 500);
    ``x0`` (tangent and expansion point, default 1); ``degree`` (Taylor, 0..6, default 3);
    ``lo``, ``hi`` (area limits, default -1, 1).

    Returns a dict: ``x``, ``f``, ``df``, ``d2f``, ``taylor``, ``taylor_error`` (lists over the
    points, None where undefined); ``point`` (``x0``, ``f0``, ``slope`` with ``slope_error``,
    ``second``); ``taylor_info`` (``degree``, ``coef`` with ``coef_error``, and the polynomial's
    ``value`` at ``at = x0 + 0.5`` against ``f_at``, with ``error``); ``area`` (``lo``, ``hi``,
    ``value``, ``error`` from ``fc.quad``); ``warnings`` (what could not be computed, a kink, an
    uncertain slope).
    """
    f = _expression(req, ("x",))
    a, b = _interval(req, "a", "b", (-5.0, 5.0))
    n = _int(req, "n", 500, 2, MAX_POINTS)
    x0 = _real(req, "x0", 1.0)
    degree = _int(req, "degree", 3, 0, 6)
    lo, hi = _interval(req, "lo", "hi", (-1.0, 1.0))
    xs = np.linspace(a, b, n)
    fx = f(xs)
    if not np.isfinite(fx).any():
        raise RequestError(f"f = {f.text} is not defined (or not finite) anywhere on "
                           f"[{a:g}, {b:g}]")
    warnings = []
    d1 = _derivative_values(f, xs, 1)
    d2 = _derivative_values(f, xs, 2)
    f0 = _at(f, x0)
    point = {"x0": x0, "f0": _num(f0), "slope": None, "slope_error": None, "second": None}
    taylor = {"degree": degree, "coef": None, "coef_error": None, "at": None, "value": None,
              "f_at": None, "error": None}
    poly = err = np.full_like(xs, np.nan)
    if math.isfinite(f0):
        _tangent(f, x0, point, warnings)
        p, res = fc.taylor(f, x0, degree, vectorized=True, full_output=True)
        if np.isfinite(np.asarray(p)).all():
            unsure = [k for k, s in enumerate(np.atleast_1d(res.status)) if s != 0]
            if unsure:
                # high orders from real stencils often stop short of the tolerance: the
                # polynomial is still drawn, its coefficients' error estimates go to the page
                warnings.append("Taylor coefficient(s) of order " + ", ".join(map(str, unsure)) +
                                " did not reach the tolerance (see their error estimates)")
            poly = p(xs)
            err = np.abs(fx - poly)
            t_at = x0 + 0.5                      # where the page quotes p(x) against f(x)
            f_at = _at(f, t_at)
            taylor.update(coef=_json(np.asarray(p)), coef_error=_json(res.error), at=t_at,
                          value=_num(p(t_at)), f_at=_num(f_at), error=_num(abs(f_at - p(t_at))))
        else:
            warnings.append(f"f is not finite near x0 = {x0:g}: no Taylor polynomial")
    else:
        warnings.append(f"f is not defined at x0 = {x0:g}: no tangent or Taylor polynomial")
    area = {"lo": lo, "hi": hi, "value": None, "error": None}
    inside = f(np.linspace(lo, hi, 201))
    if np.isfinite(inside).all():
        with _warnings.catch_warnings(record=True) as caught:
            _warnings.simplefilter("always")
            value, error = fc.quad(f, lo, hi, limit=100)
        area.update(value=_num(value), error=_num(error))
        warnings += [f"area: {w.message}" for w in caught if issubclass(w.category, UserWarning)]
    else:
        warnings.append(f"f is not finite everywhere on [{lo:g}, {hi:g}]: no area")
    return {"kind": "1d", "expr": f.text, "x": xs.tolist(), "f": _json(fx), "df": _json(d1),
            "d2f": _json(d2), "taylor": _json(poly), "taylor_error": _json(err), "point": point,
            "taylor_info": taylor, "area": area, "warnings": warnings}


def compute_2d(req):
    """Everything the page draws for f(x, y).

    ``req`` fields: ``expr``; ``a``, ``b`` (x range), ``c``, ``d`` (y range), default -3..3;
    ``n`` (grid size, default 60); ``px``, ``py`` (the clicked point, default 1, 1).

    Returns a dict: ``x``, ``y`` (grid axes), ``z`` (n x n, rows along y), ``point`` (``px``,
    ``py``, ``f``, ``grad``, ``hessian``, ``eigenvalues``, ``kind``, ``critical``) and
    ``warnings``.
    """
    f = _expression(req, ("x", "y"))
    a, b = _interval(req, "a", "b", (-3.0, 3.0))
    c, d = _interval(req, "c", "d", (-3.0, 3.0))
    n = _int(req, "n", 60, 2, MAX_GRID)
    px, py = _real(req, "px", 1.0), _real(req, "py", 1.0)
    xs, ys = np.linspace(a, b, n), np.linspace(c, d, n)
    X, Y = np.meshgrid(xs, ys)
    Z = f(np.stack([X.ravel(), Y.ravel()])).reshape(X.shape)
    if not np.isfinite(Z).any():
        raise RequestError(f"f = {f.text} is not defined (or not finite) anywhere on the region")
    p = np.array([px, py])
    fp = float(f(p.reshape(2, 1))[0])
    point = {"px": px, "py": py, "f": _num(fp), "grad": None, "hessian": None,
             "eigenvalues": None, "kind": None, "critical": None}
    warnings = []
    if math.isfinite(fp):
        g = _gradient(f, p, fp, warnings)
        try:
            cls = fc.classify_critical_point(f, p, vectorized=True)
        except ValueError as exc:
            warnings.append(f"no Hessian at ({px:g}, {py:g}): {exc}")
        else:
            tol = 1e-6 * max(1.0, float(np.abs(cls.hessian).max()))
            point.update(hessian=_json(cls.hessian), eigenvalues=_json(cls.eigenvalues),
                         kind=cls.kind, critical=bool(np.abs(g).max() <= tol))
        point["grad"] = _json(g)
    else:
        warnings.append(f"f is not defined at ({px:g}, {py:g})")
    return {"kind": "2d", "expr": f.text, "x": xs.tolist(), "y": ys.tolist(), "z": _json(Z),
            "point": point, "warnings": warnings}
