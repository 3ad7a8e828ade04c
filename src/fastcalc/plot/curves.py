"""Plots of functions of one variable: tangent, derivatives, Taylor polynomials, areas."""
import numpy as np

import fastcalc as fc
from fastcalc._validation import as_int, as_real
from fastcalc.plot.common import (Artists, check_interval, check_num, new_axes, plt, values_1d)

__all__ = ["tangent", "derivatives", "taylor", "area"]

_ORDER_NAMES = {0: "f", 1: "f'", 2: "f''", 3: "f'''"}


def _window(x0, a, b, width):
    a = x0 - width if a is None else a
    b = x0 + width if b is None else b
    return check_interval(a, b)


def tangent(f, x0, *, a=None, b=None, ax=None, num=200, vectorized=False):
    """Draw ``f`` with its tangent line at ``x0``; the slope is ``fc.derivative(f, x0)``.

    Parameters
    ----------
    f : callable
        Function of one variable (a Python function of a float, or of an array of points with
        ``vectorized=True``).
    x0 : float
        Point of tangency.
    a, b : float, optional
        Range drawn (default ``x0 - 2`` to ``x0 + 2``).
    ax : matplotlib.axes.Axes, optional
        Axes to draw on (default: a new figure).
    num : int
        Number of sample points of the curve.
    vectorized : bool
        ``f`` takes an array of points.

    Returns
    -------
    Artists
        ``curve``, ``tangent``, ``point`` (Line2D) and ``label`` (Text); ``values`` holds ``x0``,
        ``f0`` and ``slope``.

    Examples
    --------
    >>> import numpy as np
    >>> from fastcalc import plot
    >>> art = plot.tangent(np.sin, 0.5, vectorized=True)
    >>> bool(abs(art.values["slope"] - np.cos(0.5)) < 1e-8)
    True
    """
    x0 = as_real(x0, "x0")
    a, b = _window(x0, a, b, 2.0)
    num = check_num(num)
    ax = new_axes(ax)
    xs = np.linspace(a, b, num)
    ys = values_1d(f, xs, vectorized)
    f0 = float(values_1d(f, np.array([x0]), vectorized)[0])
    slope = float(fc.derivative(f, x0, vectorized=vectorized))
    (curve,) = ax.plot(xs, ys, label="f")
    (line,) = ax.plot(xs, f0 + slope * (xs - x0), "--", label=f"tangent at x={x0:g}")
    (point,) = ax.plot([x0], [f0], "o", color=line.get_color())
    label = ax.annotate(f"slope {slope:.6g}", (x0, f0), textcoords="offset points",
                        xytext=(8, -14))
    finite = ys[np.isfinite(ys)]
    if finite.size:
        pad = 0.1 * (np.ptp(finite) or 1.0)
        ax.set_ylim(finite.min() - pad, finite.max() + pad)
    ax.set_xlabel("x")
    ax.legend(loc="best")
    return Artists(ax, dict(x0=x0, f0=f0, slope=slope), curve=curve, tangent=line, point=point,
                   label=label)


def derivatives(f, a, b, orders=(0, 1, 2), *, ax=None, num=200, vectorized=False):
    """Draw ``f`` and its derivatives (``fc.derivative(f, x, n=k)``) on ``[a, b]``.

    Parameters
    ----------
    f : callable
        Function of one variable.
    a, b : float
        Range drawn.
    orders : sequence of int in 0..6
        Derivative orders drawn (0 is ``f`` itself).
    ax, num, vectorized
        As in :func:`tangent`.

    Returns
    -------
    Artists
        ``lines``: a dict order -> Line2D.

    Examples
    --------
    >>> import numpy as np
    >>> from fastcalc import plot
    >>> art = plot.derivatives(np.sin, 0.0, 3.0, orders=(0, 1), vectorized=True)
    >>> sorted(art.lines)
    [0, 1]
    """
    a, b = check_interval(a, b)
    num = check_num(num)
    if isinstance(orders, (int, np.integer)):
        orders = (orders,)
    orders = tuple(as_int(k, "orders", low=0, high=6) for k in orders)
    if not orders:
        raise ValueError("orders must name at least one derivative order")
    ax = new_axes(ax)
    xs = np.linspace(a, b, num)
    lines = {}
    for k in orders:
        ys = values_1d(f, xs, vectorized) if k == 0 else np.asarray(
            fc.derivative(f, xs, n=k, vectorized=vectorized))
        (lines[k],) = ax.plot(xs, ys, label=_ORDER_NAMES.get(k, f"f^({k})"))
    ax.axhline(0.0, color="0.8", lw=0.8, zorder=0)
    ax.set_xlabel("x")
    ax.legend(loc="best")
    return Artists(ax, dict(orders=orders), lines=lines)


def taylor(f, x0, degrees=(1, 2, 3, 5), *, a=None, b=None, ax=None, error_ax=None, num=200,
           vectorized=False):
    """Taylor polynomials of rising degree (``fc.taylor``) against ``f``, with their error curves.

    Parameters
    ----------
    f : callable
        Function of one variable.
    x0 : float
        Expansion point.
    degrees : sequence of int in 0..6
        Degrees drawn.
    a, b : float, optional
        Range drawn (default ``x0 - 3`` to ``x0 + 3``).
    ax : Axes, optional
        Axes for f and the polynomials.
    error_ax : Axes, optional
        Axes for ``|f - p_d|`` (log scale).  Default: a second panel when the figure is new, a
        twin axis of ``ax`` otherwise.
    num, vectorized
        As in :func:`tangent`.

    Returns
    -------
    Artists
        ``curve`` (f), ``polys`` and ``errors`` (dicts degree -> Line2D); ``values`` holds the
        coefficients ``coef`` (``f^(k)(x0)/k!``).

    Examples
    --------
    >>> import numpy as np
    >>> from fastcalc import plot
    >>> art = plot.taylor(np.exp, 0.0, degrees=(1, 3), vectorized=True)
    >>> np.round(art.values["coef"][:3], 6).tolist()
    [1.0, 1.0, 0.5]
    """
    x0 = as_real(x0, "x0")
    a, b = _window(x0, a, b, 3.0)
    num = check_num(num)
    if isinstance(degrees, (int, np.integer)):
        degrees = (degrees,)
    degrees = tuple(as_int(d, "degrees", low=0, high=6) for d in degrees)
    if not degrees:
        raise ValueError("degrees must name at least one degree")
    if ax is None and error_ax is None:
        fig, (ax, error_ax) = plt.subplots(2, 1, sharex=True, height_ratios=(2, 1))
    elif ax is None:
        ax = new_axes(None)
    elif error_ax is None:
        error_ax = ax.twinx()
    p = fc.taylor(f, x0, max(degrees), vectorized=vectorized)
    coef = np.asarray(p, dtype=float)
    xs = np.linspace(a, b, num)
    ys = values_1d(f, xs, vectorized)
    (curve,) = ax.plot(xs, ys, "k", lw=2, label="f")
    polys, errors = {}, {}
    t = xs - x0
    for d in degrees:
        pd = np.polyval(coef[d::-1], t)
        (polys[d],) = ax.plot(xs, pd, "--", label=f"degree {d}")
        with np.errstate(all="ignore"):
            err = np.abs(ys - pd)
        (errors[d],) = error_ax.semilogy(xs, np.where(err > 0, err, np.nan),
                                         color=polys[d].get_color())
    ax.plot([x0], [coef[0]], "ko")
    finite = ys[np.isfinite(ys)]
    if finite.size:
        pad = 0.25 * (np.ptp(finite) or 1.0)
        ax.set_ylim(finite.min() - pad, finite.max() + pad)
    ax.legend(loc="best", fontsize="small")
    ax.set_title(f"Taylor polynomials at x0 = {x0:g}")
    error_ax.set_ylabel("|f - p|")
    error_ax.set_xlabel("x")
    return Artists(ax, dict(coef=coef, x0=x0), curve=curve, polys=polys, errors=errors,
                   error_ax=error_ax)


def area(f, a, b, *, ax=None, margin=0.25, num=200, vectorized=False):
    """Shade the integral of ``f`` over ``[a, b]``, labelled with ``fc.quad``'s value and error.

    Parameters
    ----------
    f : callable
        Function of one variable (``fc.quad`` calls it point by point).
    a, b : float
        Limits (finite).
    ax : Axes, optional
    margin : float
        Fraction of ``b - a`` drawn on each side of the interval.
    num, vectorized
        As in :func:`tangent`; ``vectorized`` only changes how the curve is sampled.

    Returns
    -------
    Artists
        ``curve`` (Line2D), ``fill`` (PolyCollection), ``label`` (Text); ``values`` holds
        ``integral`` and ``error`` from ``fc.quad``.

    Examples
    --------
    >>> import numpy as np
    >>> from fastcalc import plot
    >>> art = plot.area(np.sin, 0.0, np.pi, vectorized=True)
    >>> round(art.values["integral"], 10)
    2.0
    """
    a, b = check_interval(a, b)
    margin = as_real(margin, "margin", low=0.0)
    num = check_num(num)
    ax = new_axes(ax)
    value, error = fc.quad(f, a, b)
    w = (b - a) * margin
    xs = np.linspace(a - w, b + w, num)
    inside = np.linspace(a, b, num)
    (curve,) = ax.plot(xs, values_1d(f, xs, vectorized), "k")
    fill = ax.fill_between(inside, values_1d(f, inside, vectorized), alpha=0.35)
    label = ax.set_title(f"∫ f dx over [{a:g}, {b:g}] = {value:.10g} ± {error:.1e}")
    ax.axhline(0.0, color="0.6", lw=0.8)
    ax.set_xlabel("x")
    return Artists(ax, dict(integral=float(value), error=float(error), a=a, b=b), curve=curve,
                   fill=fill, label=label)
