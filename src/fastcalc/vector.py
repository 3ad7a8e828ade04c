"""Vector calculus: curves, line and surface integrals, flux, the three integral theorems.

Conventions (those of the rest of fastcalc):

* a **curve** ``r(t, *args)`` is a function of one variable: a float ``t`` gives a point of shape
  ``(n,)``; with ``vectorized=True`` a 1-D array of ``m`` parameters gives ``(n, m)``;
* a **field** ``F(x, *args)`` takes a point ``x`` of shape ``(n,)`` (vectorized: ``(n, m)``, the
  variables on axis 0) and returns ``(n,)`` / ``(n, m)`` (vector field) or a number / ``(m,)``
  (scalar field);
* a **surface** or **region map** ``r(p, *args)`` takes a parameter point ``p = (u, v)`` (or
  ``(u, v, w)``) with the same batch-axis convention and returns the point it maps to;
* derivatives (``dr=``) are used when given (a curve's ``dr(t)`` returns ``(n,)`` / ``(n, m)``, a
  map's ``dr(p)`` its Jacobian ``(n, q)`` / ``(n, q, m)``), otherwise they come from
  :func:`fastcalc.jacobian`'s adaptive step engine (4th-order central stencils, each element's
  error estimate checked against ``rtol = sqrt(eps)``; for smooth functions the error is usually
  far below it).

Every user function is evaluated through fastcalc's callable adapter (built-in functions and
low-level callables with a vector signature are accepted where the dimension is given with
``dim=``).  One-dimensional integrals run on :func:`fastcalc.quad`'s batch engine (one adaptive
Gauss--Kronrod integral per element, all in one C loop), two- and three-dimensional ones on
:func:`fastcalc.cubature`.  Every routine returns the value; ``full_output=True`` gives a
:class:`VectorResult` with the error estimate, ``status``/``success`` and the evaluation count,
and an :class:`~scipy.integrate.IntegrationWarning` is issued whenever a tolerance was not met.
Integrals over regions that are not boxes (disk, ball, simplex, indicator) are in
:mod:`fastcalc.regions`.
"""
import warnings

import numpy as np

from fastcalc._validation import as_args, as_choice, as_function, as_int, as_points, as_tolerances
from fastcalc._vecbase import (JAC_OPTIONS, VectorResult, box_ranges, call, cubature_box,
                               cubature_tols, dim_of, field_values, finish_cubature, map_jacobian,
                               map_setup)
from fastcalc.differentiate import derivative, jacobian
from fastcalc.integrate import IntegrationWarning, quad

__all__ = ["curve_derivative", "velocity", "acceleration", "unit_tangent", "curvature",
           "line_integral", "work", "circulation", "curve_flux", "surface_area",
           "surface_integral", "flux", "green", "stokes", "divergence_theorem", "VectorResult"]

_BLOCK = 16384       # points per call of a vectorized user function in a large batch


def _curve_velocity(r, dr, t, dim, args, vectorized, rows):
    """r'(t) at the parameters t (m,): shape (dim, m).  ``rows`` are per-element args (arrays)."""
    if dr is not None:
        return call(dr, t[None, :], dim, vectorized, tuple(rows) if rows else args, "dr",
                    scalar_x=True)
    if rows:
        # per-element arguments: differentiate a function of (t, args...) and keep the t column
        def g(X):
            return call(r, X[:1], dim, True, tuple(X[1:]), "r", scalar_x=True)
        X = np.vstack([t[None, :]] + [np.asarray(a, dtype=float)[None, :] for a in rows])
        return np.asarray(jacobian(g, X, **JAC_OPTIONS, vectorized=True, nout=dim))[:, 0, :]

    def g(X):
        return call(r, X, dim, vectorized, args, "r", scalar_x=True)
    return np.asarray(jacobian(g, t[None, :], **JAC_OPTIONS, vectorized=True,
                               nout=dim))[:, 0, :]


# ---------------------------------------------------------------------------------------------
# curves: velocity, acceleration, tangent, curvature
# ---------------------------------------------------------------------------------------------

def curve_derivative(r, t, *, n=1, args=(), vectorized=False, dim=None, accuracy=4,
                     richardson=2, step=None):
    """n-th derivative ``r^(n)(t)`` of a vector-valued function of one variable (a curve).

    Each component is differentiated by :func:`fastcalc.derivative` with central stencils of
    the given ``accuracy``: by default (``step=None``) its adaptive step engine, which
    extrapolates and checks convergence by itself (``richardson`` is then not used); with
    ``step="fixed"`` or a given step, one stencil with ``richardson`` extrapolation levels.
    A component that does not reach the tolerance gives a
    :class:`~fastcalc.DifferentiationWarning`.

    Parameters
    ----------
    r : callable
        ``r(t, *args)``: a float gives ``(n,)``; vectorized, a 1-D array of ``m`` parameters gives
        ``(n, m)``.
    t : float or array_like
        Parameter value(s).
    n : int, 1..6
        Derivative order.
    accuracy, richardson, step
        As in :func:`fastcalc.derivative` (``richardson`` only with ``step="fixed"`` or a
        given step).

    Returns
    -------
    ndarray, shape (dim,) for a float t, (dim,) + t.shape for an array

    Examples
    --------
    >>> import numpy as np, fastcalc as fc
    >>> helix = lambda t: np.array([np.cos(t), np.sin(t), t])
    >>> fc.curve_derivative(helix, 0.0).round(10) + 0.0        # + 0.0: no "-0." in the output
    array([0., 1., 1.])
    """
    r = as_function(r, "r")
    args = as_args(args)
    n = as_int(n, "n", low=1, high=6)
    ta = as_points(t, "t", vector=False)
    ts = np.ascontiguousarray(ta.ravel())
    d = dim_of(r, [float(ts[0]) if ts.size else 0.0], args, vectorized, dim, "r", scalar_x=True)
    out = np.empty((d, ts.size))
    for i in range(d):
        def comp(s, i=i):
            s = np.ascontiguousarray(np.asarray(s, dtype=float).ravel())
            return call(r, s[None, :], d, vectorized, args, "r", scalar_x=True)[i]
        out[i] = derivative(comp, ts, n=n, accuracy=accuracy, richardson=richardson, step=step,
                            vectorized=True) if ts.size else 0.0
    return out.reshape((d,) + ta.shape)


def _check_speed(speed, t, what):
    small = ~(speed > 1e-12 * max(1.0, float(np.max(speed, initial=0.0))))
    if np.any(small):
        where = np.broadcast_to(np.asarray(t, dtype=float), speed.shape)[small][:3]
        raise ValueError(f"the curve's velocity vanishes at t = {where.tolist()}: {what} is "
                         "undefined there")


def velocity(r, t, **kwargs):
    """Velocity ``r'(t)`` of a curve: :func:`curve_derivative` with ``n=1`` (same keywords).

    Examples
    --------
    >>> import numpy as np, fastcalc as fc
    >>> fc.velocity(lambda t: np.array([t**2, t**3]), 2.0).round(8)
    array([ 4., 12.])
    """
    return curve_derivative(r, t, n=1, **kwargs)


def acceleration(r, t, **kwargs):
    """Acceleration ``r''(t)`` of a curve: :func:`curve_derivative` with ``n=2``.

    Examples
    --------
    >>> import numpy as np, fastcalc as fc
    >>> fc.acceleration(lambda t: np.array([t**2, t**3]), 2.0).round(6)
    array([ 2., 12.])
    """
    return curve_derivative(r, t, n=2, **kwargs)


def unit_tangent(r, t, **kwargs):
    """Unit tangent ``r'(t) / |r'(t)|``; raises ValueError where the velocity vanishes (the
    tangent is undefined there: a cusp or a stop).

    Examples
    --------
    >>> import numpy as np, fastcalc as fc
    >>> fc.unit_tangent(lambda t: np.array([3 * t, 4 * t]), 1.0).round(12)
    array([0.6, 0.8])
    """
    v = curve_derivative(r, t, n=1, **kwargs)
    speed = np.sqrt(np.sum(v ** 2, axis=0))
    _check_speed(speed, t, "the unit tangent")
    return v / speed


def curvature(r, t, **kwargs):
    """Curvature ``|r' x r''| / |r'|^3`` of a curve in R^2 or R^3 (``|x'y'' - y'x''| / |r'|^3``
    in the plane); ValueError where the velocity vanishes.

    Examples
    --------
    >>> import numpy as np, fastcalc as fc
    >>> helix = lambda t: np.array([np.cos(t), np.sin(t), t])      # curvature 1 / 2
    >>> round(float(fc.curvature(helix, 0.7)), 9)
    0.5
    """
    v = curve_derivative(r, t, n=1, **kwargs)
    if v.shape[0] not in (2, 3):
        raise ValueError(f"curvature needs a curve in R^2 or R^3; r returns points of dimension "
                         f"{v.shape[0]}")
    speed = np.sqrt(np.sum(v ** 2, axis=0))
    _check_speed(speed, t, "the curvature")     # before r'': no work (nor warning) wasted
    a = curve_derivative(r, t, n=2, **kwargs)
    if v.shape[0] == 2:
        cross = np.abs(v[0] * a[1] - v[1] * a[0])
    else:
        cross = np.sqrt(np.sum(np.cross(v, a, axis=0) ** 2, axis=0))
    k = cross / speed ** 3
    return float(k) if k.ndim == 0 else k


# ---------------------------------------------------------------------------------------------
# line integrals
# ---------------------------------------------------------------------------------------------

_LINE_KINDS = ("scalar", "vector", "flux")


def _batch_setup(t0, t1, args):
    """Broadcast the limits and the array entries of args; returns (a, b, rows, shape)."""
    a = np.asarray(as_points(t0, "t0", vector=False), dtype=float)
    b = np.asarray(as_points(t1, "t1", vector=False), dtype=float)
    arrays = [i for i, v in enumerate(args) if isinstance(v, (np.ndarray, list)) and np.ndim(v)]
    if not arrays:
        shape = np.broadcast_shapes(a.shape, b.shape)
        return a, b, None, shape
    try:
        num = [np.asarray(v, dtype=float) for v in args]
    except (TypeError, ValueError) as exc:
        raise TypeError("args must be numbers or arrays of numbers when some are arrays") from exc
    shape = np.broadcast_shapes(a.shape, b.shape, *[v.shape for v in num])
    rows = [np.ascontiguousarray(np.broadcast_to(v, shape)) for v in num]
    return a, b, rows, shape


def _check_space(F, r, dim, space, name):
    if space is not None and dim != space:
        raise ValueError(f"{name} needs a curve in R^{space}; r returns points of dimension {dim}")


def line_integral(F, r, t0, t1, *, kind="scalar", dr=None, args=(), vectorized=False, dim=None,
                  field_args=None, epsabs=1.49e-8, epsrel=1.49e-8, limit=50, full_output=False):
    """Line integral of a scalar field (``kind="scalar"``: ``int f(r(t)) |r'(t)| dt``) or of a
    vector field (``kind="vector"``: ``int F(r(t)) . r'(t) dt``, the work/circulation) along a
    parametrised curve; ``kind="flux"`` is the flux through a plane curve (see :func:`curve_flux`).

    Parameters
    ----------
    F : callable
        The field ``F(x, *args)``: ``x`` of shape ``(n,)`` (vectorized: ``(n, m)``); returns a
        number / ``(m,)`` (scalar field) or ``(n,)`` / ``(n, m)`` (vector field).
    r : callable
        The curve ``r(t, *args)``: a float gives ``(n,)``; vectorized, a 1-D array of ``m``
        parameters gives ``(n, m)``.
    t0, t1 : float or array_like
        Parameter range.  Arrays (broadcast with each other and with array entries of ``args``)
        make a batch: one integral per element, all run in one adaptive loop.
    kind : {"scalar", "vector", "flux"}
    dr : callable, optional
        ``r'(t, *args)``, same shapes as ``r``; by default from :func:`fastcalc.jacobian`.
    args : tuple
        Extra arguments of ``F``, ``r`` and ``dr``.  Array entries are per-element parameters of
        a batch (one curve per element) and need ``vectorized=True``.
    field_args : tuple, optional
        When given, ``F`` gets these instead of ``args`` (so a compiled field, whose arguments
        must be numbers, can be used with a batch of curves).
    vectorized : bool
        ``F``, ``r`` and ``dr`` take batches (one call per round of nodes).
    dim : int, optional
        Dimension of the curve's points; found by calling ``r`` once when not given (needed for
        compiled ``r``).
    epsabs, epsrel, limit
        As in :func:`fastcalc.quad` (per integral).
    full_output : bool
        Return a :class:`VectorResult`.

    Returns
    -------
    float or ndarray
        The integral(s), shape of the broadcast batch.

    Raises
    ------
    ValueError
        When ``r`` returns points of the wrong dimension for ``F`` (or for the kind), when a limit
        is not finite, or when array args are given without ``vectorized=True``.

    Warns
    -----
    IntegrationWarning
        When an integral did not meet its tolerance.

    Examples
    --------
    >>> import numpy as np, fastcalc as fc
    >>> circle = lambda t: np.array([np.cos(t), np.sin(t)])
    >>> F = lambda x: np.array([-x[1], x[0]])
    >>> round(fc.line_integral(F, circle, 0, 2 * np.pi, kind="vector"), 10)   # 2 pi
    6.2831853072
    >>> round(fc.line_integral(lambda x: 1.0, circle, 0, np.pi), 10)           # half the length
    3.1415926536
    """
    F = as_function(F, "F")
    r = as_function(r, "r")
    if dr is not None:
        dr = as_function(dr, "dr")
    kind = _line_kind(kind)
    args = as_args(args)
    fargs = None if field_args is None else as_args(field_args, "field_args")
    epsabs, epsrel = as_tolerances(epsabs, epsrel, names=("epsabs", "epsrel"))
    limit = as_int(limit, "limit", low=1, high=10_000_000)
    a, b, rows, shape = _batch_setup(t0, t1, args)
    if rows is not None and not vectorized:
        raise ValueError("array entries in args (a batch of curves) need vectorized=True")
    first = [float(np.ravel(a)[0] if a.size else 0.0)]
    probe_args = tuple(v.ravel()[:1] for v in rows) if rows else args
    dim = dim_of(r, first, probe_args, vectorized, dim, "r", scalar_x=True)
    if kind == "flux":
        _check_space(F, r, dim, 2, "curve_flux")
    nout_F = 1 if kind == "scalar" else dim
    nfev = [0]

    def block(t, elem):
        a_ = tuple(elem) if rows is not None else args
        pts = call(r, t[None, :], dim, vectorized, a_, "r", scalar_x=True)
        vel = _curve_velocity(r, dr, t, dim, args, vectorized, list(elem) if rows else None)
        val = field_values(F, pts, nout_F, a_ if fargs is None else fargs, vectorized)
        if kind == "scalar":
            return val[0] * np.sqrt(np.einsum("im,im->m", vel, vel))
        if kind == "vector":
            return np.einsum("im,im->m", val, vel)
        return val[0] * vel[1] - val[1] * vel[0]

    def integrand(t, *elem):
        t = np.ascontiguousarray(t, dtype=float)
        nfev[0] += t.size
        if t.size <= _BLOCK:
            return block(t, elem)
        # blocks that stay in cache: the user's functions make many temporaries per call
        out = np.empty(t.size)
        for i in range(0, t.size, _BLOCK):
            sl = slice(i, i + _BLOCK)
            out[sl] = block(t[sl], [e[sl] for e in elem])
        return out

    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        raise ValueError("t0 and t1 must be finite (a curve is integrated over a finite range)")
    lo = np.broadcast_to(a, shape).ravel().copy()
    hi = np.broadcast_to(b, shape).ravel().copy()
    qargs = tuple(v.ravel() for v in rows) if rows is not None else ()
    if lo.size == 0:
        value = np.zeros(shape)
        return _finish_line(value, np.zeros(shape), np.zeros(shape, dtype=int), 0, shape,
                            full_output)
    if not full_output:
        # (quad's per-element infodict costs more than the integrals of cheap batches)
        with warnings.catch_warnings(record=True) as rec:
            warnings.simplefilter("always")
            res, err = quad(integrand, lo, hi, args=qargs, vectorized=True, epsabs=epsabs,
                            epsrel=epsrel, limit=limit)
        for w in rec:
            if issubclass(w.category, IntegrationWarning):
                warnings.warn(f"line_integral: {w.message}", IntegrationWarning, stacklevel=2)
            else:
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        res = np.asarray(res).reshape(shape)
        return float(res) if len(shape) == 0 else res
    res, err, info = quad(integrand, lo, hi, args=qargs, vectorized=True, epsabs=epsabs,
                          epsrel=epsrel, limit=limit, full_output=1)
    ier = np.asarray(info["ier"]).reshape(shape)
    return _finish_line(np.asarray(res).reshape(shape), np.asarray(err).reshape(shape),
                        ier, nfev[0], shape, full_output)


def _line_kind(kind):
    return as_choice(kind, "kind", _LINE_KINDS)


def _finish_line(value, err, ier, nfev, shape, full_output, stacklevel=3):
    status = (ier != 0).astype(int)
    nbad = int(status.sum())
    msg = ("converged" if not nbad else
           f"{nbad} of {status.size} integral(s) did not reach the tolerance (subdivision limit or "
           "non-finite values); their error estimates are reported")
    if nbad:
        warnings.warn(msg, IntegrationWarning, stacklevel=stacklevel)
    scalar = len(shape) == 0
    v = value[()] if scalar else value
    if not full_output:
        return float(v) if scalar else v
    return VectorResult(value=float(v) if scalar else v, error=err[()] if scalar else err,
                        status=int(status[()]) if scalar else status,
                        success=bool(status[()] == 0) if scalar else status == 0, nfev=int(nfev),
                        message=msg)


def work(F, r, t0, t1, **kwargs):
    """Work ``int F(r(t)) . r'(t) dt`` of a force field along a curve:
    :func:`line_integral` with ``kind="vector"`` (same keywords).

    Examples
    --------
    >>> import numpy as np, fastcalc as fc
    >>> seg = lambda t: np.array([t, t])                 # from (0, 0) to (1, 1)
    >>> round(fc.work(lambda x: np.array([x[1], x[0]]), seg, 0, 1), 12)   # grad(xy): 1
    1.0
    """
    return line_integral(F, r, t0, t1, kind="vector", **kwargs)


def circulation(F, r, t0, t1, **kwargs):
    """Circulation ``oint F . dr`` around a closed curve: :func:`line_integral` with
    ``kind="vector"`` (same keywords).

    Examples
    --------
    >>> import numpy as np, fastcalc as fc
    >>> circle = lambda t: np.array([2 * np.cos(t), 2 * np.sin(t)])
    >>> round(fc.circulation(lambda x: np.array([-x[1], x[0]]), circle, 0, 2 * np.pi), 10)
    25.1327412287
    """
    return line_integral(F, r, t0, t1, kind="vector", **kwargs)


def curve_flux(F, r, t0, t1, **kwargs):
    """Flux ``int F . n ds = int (F_1 y' - F_2 x') dt`` of a plane field through a plane curve
    (``n`` the right-hand normal: outward for a counter-clockwise closed curve).
    :func:`line_integral` with ``kind="flux"`` (same keywords).

    Examples
    --------
    >>> import numpy as np, fastcalc as fc
    >>> circle = lambda t: np.array([np.cos(t), np.sin(t)])
    >>> round(fc.curve_flux(lambda x: x, circle, 0, 2 * np.pi), 10)   # div = 2, area pi
    6.2831853072
    """
    return line_integral(F, r, t0, t1, kind="flux", **kwargs)


# ---------------------------------------------------------------------------------------------
# maps of boxes: surfaces and regions
# ---------------------------------------------------------------------------------------------


def _probe_grid(box, k=8):
    axes = [lo + (hi - lo) * (np.arange(k) + 0.5) / k for lo, hi in box]
    return np.stack([g.ravel() for g in np.meshgrid(*axes, indexing="ij")])


def _normal(J):
    """r_u x r_v from the Jacobian J (3, 2, m); in 2-D (2, 2, m): the determinant as (1, m)."""
    ru, rv = J[:, 0, :], J[:, 1, :]
    return np.cross(ru, rv, axis=0)


def _check_normal(r, dr, box, args, vectorized, name="r"):
    """Raise when r_u x r_v vanishes on a set of parameters (not just on edges or points)."""
    P = _probe_grid(box)
    J = map_jacobian(r, dr, P, 3, args, vectorized, name)
    nrm = np.sqrt(np.sum(_normal(J) ** 2, axis=0))
    scale = np.sqrt(np.sum(J[:, 0] ** 2, axis=0) * np.sum(J[:, 1] ** 2, axis=0))
    bad = ~(nrm > 1e-10 * scale) | ~np.isfinite(nrm)
    if bad.sum() >= max(2, bad.size // 8):
        where = ", ".join(f"(u, v) = ({P[0, i]:.4g}, {P[1, i]:.4g})"
                          for i in np.flatnonzero(bad)[:3])
        raise ValueError(f"the surface's normal r_u x r_v vanishes on a set of parameters: at "
                         f"{int(bad.sum())} of {bad.size} probe points, e.g. {where}; the "
                         f"parametrisation {name} is degenerate there (not a surface)")


def _surface_setup(r, u_range, v_range, args, vectorized, dim):
    r = as_function(r, "r")
    box = box_ranges((u_range, v_range), ("u_range", "v_range"))
    args = as_args(args)
    centre = np.array([0.5 * (lo + hi) for lo, hi in box])
    d = dim_of(r, centre, args, vectorized, dim, "r", scalar_x=False)
    if d != 3:
        raise ValueError(f"r must map (u, v) to points of R^3; it returns points of dimension {d}")
    return r, box, args


def _surface_run(kind, field, r, u_range, v_range, dr, args, vectorized, rtol, atol,
                 max_subdivisions, full_output, what):
    """Cubature over the parameter rectangle of |n| ("area"), f |n| ("scalar") or F . n ("flux"),
    n = r_u x r_v."""
    r, box, args = _surface_setup(r, u_range, v_range, args, vectorized, None)
    if dr is not None:
        dr = as_function(dr, "dr")
    rtol, atol, ms = cubature_tols(rtol, atol, max_subdivisions)
    _check_normal(r, dr, box, args, vectorized)
    nfev = [0]

    def integrand(P):
        J = map_jacobian(r, dr, P, 3, args, vectorized, "r")
        nrm = _normal(J)
        nfev[0] += P.shape[1]
        if kind == "area":
            return np.sqrt(np.sum(nrm ** 2, axis=0))[None, :]
        x = call(r, P, 3, vectorized, args, "r")
        if kind == "scalar":
            return (field_values(field, x, 1, args, vectorized, "f")
                    * np.sqrt(np.sum(nrm ** 2, axis=0)))
        return np.sum(field_values(field, x, 3, args, vectorized) * nrm, axis=0)[None, :]

    res = cubature_box(integrand, box, 1, rtol, atol, ms)
    return finish_cubature(res, nfev[0], full_output, what)


def surface_integral(f, r, u_range, v_range, *, dr=None, args=(), vectorized=False, rtol=1e-10,
                     atol=1e-12, max_subdivisions=2000, full_output=False):
    """Surface integral ``iint f(r(u, v)) |r_u x r_v| du dv`` of a scalar field over a
    parametrised surface in R^3 (adaptive cubature over the parameter rectangle).

    Parameters
    ----------
    f : callable
        Scalar field ``f(x, *args)``, ``x`` of shape ``(3,)`` (vectorized ``(3, m)``).
    r : callable
        ``r(p, *args)`` with ``p = (u, v)`` (vectorized ``(2, m)``) returning ``(3,)`` / ``(3, m)``.
    u_range, v_range : pair of float
    dr : callable, optional
        Jacobian of r: ``(3, 2)`` / ``(3, 2, m)`` (columns r_u, r_v).
    rtol, atol, max_subdivisions
        Tolerances and budget of :func:`fastcalc.cubature`.
    args, vectorized, full_output
        As in :func:`line_integral`.

    Raises
    ------
    ValueError
        When r does not map to R^3, or when ``r_u x r_v`` vanishes on a set of parameters (the
        message says where).

    Examples
    --------
    >>> import numpy as np, fastcalc as fc
    >>> sphere = lambda p: np.array([np.sin(p[0]) * np.cos(p[1]), np.sin(p[0]) * np.sin(p[1]),
    ...                              np.cos(p[0])])
    >>> round(fc.surface_integral(lambda x: x[2]**2, sphere, (0, np.pi), (0, 2 * np.pi)), 9)
    4.188790205
    """
    return _surface_run("scalar", as_function(f, "f"), r, u_range, v_range, dr, args, vectorized,
                        rtol, atol, max_subdivisions, full_output, "surface_integral")


def surface_area(r, u_range, v_range, *, dr=None, args=(), vectorized=False, rtol=1e-10,
                 atol=1e-12, max_subdivisions=2000, full_output=False):
    """Area ``iint |r_u x r_v| du dv`` of a parametrised surface in R^3.

    Same parameters as :func:`surface_integral` (without the field).

    Examples
    --------
    >>> import numpy as np, fastcalc as fc
    >>> sphere = lambda p: np.array([np.sin(p[0]) * np.cos(p[1]), np.sin(p[0]) * np.sin(p[1]),
    ...                              np.cos(p[0])])
    >>> round(fc.surface_area(sphere, (0, np.pi), (0, 2 * np.pi)), 9)    # 4 pi
    12.566370614
    """
    return _surface_run("area", None, r, u_range, v_range, dr, args, vectorized, rtol, atol,
                        max_subdivisions, full_output, "surface_area")


def flux(F, r, u_range, v_range, *, dr=None, args=(), vectorized=False, rtol=1e-10, atol=1e-12,
         max_subdivisions=2000, full_output=False):
    """Flux ``iint F(r(u, v)) . (r_u x r_v) du dv`` of a vector field through a parametrised
    surface (oriented by ``r_u x r_v``).

    Same parameters as :func:`surface_integral`; ``F(x, *args)`` returns ``(3,)`` / ``(3, m)``.

    Examples
    --------
    >>> import numpy as np, fastcalc as fc
    >>> sphere = lambda p: np.array([np.sin(p[0]) * np.cos(p[1]), np.sin(p[0]) * np.sin(p[1]),
    ...                              np.cos(p[0])])
    >>> round(fc.flux(lambda x: x, sphere, (0, np.pi), (0, 2 * np.pi)), 9)   # div 3 * volume
    12.566370614
    """
    return _surface_run("flux", as_function(F, "F"), r, u_range, v_range, dr, args, vectorized,
                        rtol, atol, max_subdivisions, full_output, "flux")


# ---------------------------------------------------------------------------------------------
# the three theorems, both sides computed independently
# ---------------------------------------------------------------------------------------------


def _edge_points(tau, k, box):
    """Points (2, m) and parameter velocities (2, m) on the 4 edges of a rectangle, traversed
    counter-clockwise; edge k (0..3) for tau in [0, 1]."""
    (u0, u1), (v0, v1) = box
    du, dv = u1 - u0, v1 - v0
    k = np.rint(k).astype(int)
    u = np.select([k == 0, k == 1, k == 2], [u0 + tau * du, np.full_like(tau, u1), u1 - tau * du],
                  np.full_like(tau, u0))
    v = np.select([k == 0, k == 1, k == 2], [np.full_like(tau, v0), v0 + tau * dv,
                                             np.full_like(tau, v1)], v1 - tau * dv)
    su = np.select([k == 0, k == 2], [du, -du], 0.0) * np.ones_like(tau)
    sv = np.select([k == 1, k == 3], [dv, -dv], 0.0) * np.ones_like(tau)
    return np.stack([u, v]), np.stack([su, sv])


def _live_edges(r, dr, box, p, args, vectorized):
    """Which of the 4 edges of the rectangle contribute to the boundary integral: an edge that r
    collapses to a point (velocity 0 along it) contributes nothing, and so does a seam, a pair of
    opposite edges mapped onto the same curve (traversed in opposite directions, they cancel)."""
    tau = np.tile(np.linspace(0.0, 1.0, 9), 4)
    k = np.repeat(np.arange(4.0), 9)
    P, dP = _edge_points(tau, k, box)
    P = np.ascontiguousarray(P)
    x = call(r, P, p, vectorized, args, "r").reshape(p, 4, 9)
    J = map_jacobian(r, dr, P, p, args, vectorized, "r")
    vel = np.einsum("pqm,qm->pm", J, dP).reshape(p, 4, 9)
    vscale = max(float(np.max(np.abs(vel))), 1e-300)
    xscale = max(float(np.max(np.abs(x))), 1e-300)
    live = ~np.all(np.sqrt(np.sum(vel ** 2, axis=0)) <= 1e-10 * vscale, axis=1)
    for a, b in ((0, 2), (1, 3)):
        if np.all(np.abs(x[:, a, :] - x[:, b, ::-1]) <= 1e-12 * xscale):
            live[a] = live[b] = False
    return live


def _boundary_circulation(F, r, dr, box, p, args, vectorized, fvec, epsabs, epsrel, limit):
    """oint over the image of the rectangle's boundary of F . dr (the edges in one quad batch)."""
    nfev = [0]
    live = _live_edges(r, dr, box, p, args, vectorized)
    if not live.any():
        return 0.0, 0.0, True, 0

    def integrand(tau, k):
        P, dP = _edge_points(np.asarray(tau, dtype=float), np.asarray(k), box)
        P = np.ascontiguousarray(P)
        x = call(r, P, p, vectorized, args, "r")
        J = map_jacobian(r, dr, P, p, args, vectorized, "r")
        vel = np.einsum("pqm,qm->pm", J, dP)
        nfev[0] += P.shape[1]
        return np.einsum("pm,pm->m", field_values(F, x, p, args, fvec), vel)

    edges = np.flatnonzero(live).astype(float)
    res, err, info = quad(integrand, np.zeros(edges.size), np.ones(edges.size), args=(edges,),
                          vectorized=True, epsabs=epsabs / edges.size, epsrel=epsrel,
                          limit=limit, full_output=1)
    ier = np.asarray(info["ier"])
    zero = (np.asarray(info["flags"]) == "all-zero") & (ier != 0)
    if zero.any():
        # quad could not confirm a 0 (the integrand vanished at every node): confirm it on a
        # denser, irregular sample of those edges (F . dr is often exactly 0 on an axis)
        tau = np.random.default_rng(0).random(257)
        for e in edges[zero]:
            if np.any(integrand(tau, np.full_like(tau, e)) != 0):
                break
        else:
            ier = np.where(zero, 0, ier)
    ok = bool(np.all(ier == 0))
    return float(np.sum(res)), float(np.sum(err)), ok, nfev[0]


def _field_jacobian(F, x, p, args, fvec):
    """dF_i/dx_j at the points x (p, m): shape (p, p, m) (compiled fields too)."""
    J = jacobian(F, x, **JAC_OPTIONS, vectorized=fvec, args=args, nout=p)
    return np.asarray(J).reshape(p, p, -1)


def _curl_values(F, curl_fn, x, p, args, fvec):
    if curl_fn is not None:
        return call(curl_fn, x, 1 if p == 2 else 3, fvec, args, "curl")
    J = _field_jacobian(F, x, p, args, fvec)
    if p == 2:
        return (J[1, 0] - J[0, 1])[None, :]
    return np.stack([J[2, 1] - J[1, 2], J[0, 2] - J[2, 0], J[1, 0] - J[0, 1]])


def _theorem_result(bnd, bnd_err, bnd_ok, inter, inter_err, inter_ok, nfev, names, rtol, atol):
    success = bnd_ok and inter_ok
    error = bnd_err + inter_err
    agree = bool(abs(bnd - inter) <= error + max(atol, rtol * max(abs(bnd), abs(inter))))
    if not success:
        msg = "a side did not reach its tolerance; the difference is not conclusive"
    elif agree:
        msg = "both sides converged and agree within their error estimates"
    else:
        msg = ("both sides converged but differ by more than their error estimates: the "
               "theorem's hypotheses fail (a singularity of the field in the region, a boundary "
               "that is not closed, or a wrong curl/divergence)")
    if not success:
        warnings.warn(msg, IntegrationWarning, stacklevel=3)
    return VectorResult(**{names[0]: bnd, names[1]: inter}, difference=bnd - inter,
                        error=error, boundary_error=bnd_err, interior_error=inter_err,
                        agree=agree and success, success=success, status=0 if success else 1,
                        nfev=int(nfev), message=msg)


def _circulation_theorem(F, r, u_range, v_range, dr, curl_fn, args, vectorized, epsabs, epsrel,
                         rtol, atol, limit, max_subdivisions, p, names):
    """Both sides of Green's (p = 2) or Stokes' (p = 3) theorem over the image of a rectangle."""
    F = as_function(F, "F")
    curl_fn = None if curl_fn is None else as_function(curl_fn, "curl")
    rr, dd, box, args, rvec = map_setup(r, dr, (u_range, v_range), ("u_range", "v_range"), args,
                                        vectorized, 2, p)
    epsabs, epsrel = as_tolerances(epsabs, epsrel, names=("epsabs", "epsrel"))
    limit = as_int(limit, "limit", low=1, high=10_000_000)
    rtol, atol, ms = cubature_tols(rtol, atol, max_subdivisions)
    if p == 3:
        _check_normal(rr, dd, box, args, rvec)
    bnd, bnd_err, bnd_ok, nf1 = _boundary_circulation(F, rr, dd, box, p, args, rvec, vectorized,
                                                      epsabs, epsrel, limit)
    nfev = [0]

    def integrand(P):
        x = call(rr, P, p, rvec, args, "r")
        J = map_jacobian(rr, dd, P, p, args, rvec, "r")
        nfev[0] += P.shape[1]
        c = _curl_values(F, curl_fn, x, p, args, vectorized)
        if p == 2:
            return c * (J[0, 0] * J[1, 1] - J[0, 1] * J[1, 0])
        return np.sum(c * _normal(J), axis=0)[None, :]

    res = cubature_box(integrand, box, 1, rtol, atol, ms)
    return _theorem_result(bnd, bnd_err, bnd_ok, float(res.estimate), float(res.error),
                           res.success, nf1 + nfev[0], names, max(rtol, epsrel),
                           max(atol, epsabs))


def green(F, r, u_range, v_range, *, dr=None, curl=None, args=(), vectorized=False,
          epsabs=1e-12, epsrel=1e-11, rtol=1e-11, atol=1e-12, limit=200, max_subdivisions=2000):
    """Check Green's theorem ``oint_C F . dr = iint_D (dF_2/dx - dF_1/dy) dA`` numerically.

    The region D is the image of the rectangle ``u_range x v_range`` under the map ``r`` (for
    example polar coordinates for a disk or an annulus; ``r=None`` is the rectangle itself).  The
    circulation is computed along the image of the rectangle's four edges (counter-clockwise in
    (u, v): edges that collapse to a point or are traversed twice in opposite directions, as the
    seams of polar coordinates, contribute nothing) with :func:`fastcalc.quad`; the double
    integral of the scalar curl times the Jacobian determinant of ``r`` with
    :func:`fastcalc.cubature`.  An orientation-reversing map flips both sides alike.

    Parameters
    ----------
    F : callable
        Plane field ``F(x, *args)``, ``x`` of shape ``(2,)`` / ``(2, m)``.
    r : callable or None
        ``r(p, *args)`` mapping ``p = (u, v)`` to the plane.
    u_range, v_range : pair of float
    dr : callable, optional
        Jacobian of r, ``(2, 2)`` / ``(2, 2, m)``.
    curl : callable, optional
        The scalar curl of F (one number per point); by default from :func:`fastcalc.curl`.
    epsabs, epsrel, limit
        Tolerances of the boundary integrals; ``rtol``, ``atol``, ``max_subdivisions`` those of
        the area integral.

    Returns
    -------
    VectorResult
        ``circulation``, ``double_integral``, ``difference``, ``boundary_error``,
        ``interior_error``, ``error`` (their sum: the difference should be below it),
        ``success`` (both sides converged) and ``agree`` (they also agree within ``error`` plus
        the tolerance; False for a field singular inside the region, for example).

    Examples
    --------
    >>> import numpy as np, fastcalc as fc
    >>> polar = lambda p: np.array([p[0] * np.cos(p[1]), p[0] * np.sin(p[1])])
    >>> F = lambda x: np.array([-x[1] ** 3, x[0] ** 3])
    >>> res = fc.green(F, polar, (0, 1), (0, 2 * np.pi))
    >>> round(res.circulation, 10), abs(res.difference) < 1e-10    # 3 pi / 2
    (4.7123889804, True)
    """
    return _circulation_theorem(F, r, u_range, v_range, dr, curl, args, vectorized, epsabs,
                                epsrel, rtol, atol, limit, max_subdivisions, 2,
                                ("circulation", "double_integral"))

def stokes(F, r, u_range, v_range, *, dr=None, curl=None, args=(), vectorized=False,
           epsabs=1e-12, epsrel=1e-11, rtol=1e-11, atol=1e-12, limit=200, max_subdivisions=2000):
    """Check Stokes' theorem ``oint_{dS} F . dr = iint_S (curl F) . dS`` numerically.

    ``r`` maps the rectangle ``u_range x v_range`` onto the surface S in R^3 (oriented by
    ``r_u x r_v``); the boundary is the image of the rectangle's edges, counter-clockwise in
    (u, v) (seams and collapsed edges cancel or vanish by themselves).  ``curl`` (optional)
    returns the curl vector ``(3,)`` / ``(3, m)``; other parameters as in :func:`green`.

    Returns
    -------
    VectorResult
        ``circulation``, ``curl_flux``, ``difference``, errors, ``success``.

    Examples
    --------
    >>> import numpy as np, fastcalc as fc
    >>> cap = lambda p: np.array([np.sin(p[0]) * np.cos(p[1]), np.sin(p[0]) * np.sin(p[1]),
    ...                           np.cos(p[0])])                   # upper hemisphere
    >>> F = lambda x: np.array([-x[1], x[0], 0 * x[2]])
    >>> res = fc.stokes(F, cap, (0, np.pi / 2), (0, 2 * np.pi))
    >>> round(res.curl_flux, 10), abs(res.difference) < 1e-10       # 2 pi
    (6.2831853072, True)
    """
    if r is None:
        raise TypeError("stokes needs the surface r(u, v) -> R^3")
    return _circulation_theorem(F, r, u_range, v_range, dr, curl, args, vectorized, epsabs,
                                epsrel, rtol, atol, limit, max_subdivisions, 3,
                                ("circulation", "curl_flux"))

def _face_points(s, t, box):
    """Points (3, 6, m) on the 6 faces of a box for (s, t) in [0, 1]^2, and the parameter
    tangents: face 2*i + side has coordinate i at its low (side 0) or high (side 1) end."""
    m = s.size
    P = np.empty((3, 6, m))
    for i in range(3):
        j, k = (i + 1) % 3, (i + 2) % 3
        for side in range(2):
            f = 2 * i + side
            P[i, f] = box[i][side]
            P[j, f] = box[j][0] + s * (box[j][1] - box[j][0])
            P[k, f] = box[k][0] + t * (box[k][1] - box[k][0])
    return P


def divergence_theorem(F, r, u_range, v_range, w_range, *, dr=None, div=None, args=(),
                       vectorized=False, rtol=1e-11, atol=1e-12, max_subdivisions=2000):
    """Check the divergence theorem ``oiint_{dV} F . dS = iiint_V div F dV`` numerically.

    ``r`` maps the box ``u_range x v_range x w_range`` onto the solid V (spherical coordinates
    for a ball, ``r=None`` for the box itself).  The outward flux is summed over the images of
    the box's six faces (faces that collapse or meet themselves, as at the poles and seams of
    spherical coordinates, cancel or vanish), the volume integral of ``div F`` times the
    Jacobian determinant is taken by 3-D cubature.  ``div`` (optional) returns the divergence
    (one number per point).  An orientation-reversing map flips both sides alike.

    Returns
    -------
    VectorResult
        ``surface_flux``, ``volume_integral``, ``difference``, errors, ``success``.

    Examples
    --------
    >>> import numpy as np, fastcalc as fc
    >>> F = lambda x: np.array([x[0] * x[1], x[1] * x[2], x[2] * x[0]])
    >>> res = fc.divergence_theorem(F, None, (0, 1), (0, 1), (0, 1))
    >>> round(res.surface_flux, 12), abs(res.difference) < 1e-12      # 3/2
    (1.5, True)
    """
    F = as_function(F, "F")
    div_fn = None if div is None else as_function(div, "div")
    rr, dd, box, args, rvec = map_setup(r, dr, (u_range, v_range, w_range),
                                        ("u_range", "v_range", "w_range"), args, vectorized, 3, 3)
    rtol, atol, ms = cubature_tols(rtol, atol, max_subdivisions)
    widths = [hi - lo for lo, hi in box]
    signs = np.array([-1.0, 1.0] * 3)
    nfev = [0]

    def faces(S):
        s, t = S[0], S[1]
        m = s.size
        P = np.ascontiguousarray(_face_points(s, t, box).reshape(3, 6 * m))
        x = call(rr, P, 3, rvec, args, "r")
        J = map_jacobian(rr, dd, P, 3, args, rvec, "r").reshape(3, 3, 6, m)
        Fx = field_values(F, x, 3, args, vectorized).reshape(3, 6, m)
        out = np.empty((6, m))
        for i in range(3):
            j, k = (i + 1) % 3, (i + 2) % 3
            nrm = np.cross(J[:, j, 2 * i:2 * i + 2], J[:, k, 2 * i:2 * i + 2], axis=0)
            out[2 * i:2 * i + 2] = (np.sum(Fx[:, 2 * i:2 * i + 2] * nrm, axis=0)
                                    * widths[j] * widths[k])
        nfev[0] += 6 * m
        return out * signs[:, None]

    rb = cubature_box(faces, [(0.0, 1.0), (0.0, 1.0)], 6, rtol, atol / 6, ms)

    def volume(P):
        x = call(rr, P, 3, rvec, args, "r")
        J = map_jacobian(rr, dd, P, 3, args, rvec, "r")
        det = np.einsum("im,im->m", J[:, 0], np.cross(J[:, 1], J[:, 2], axis=0))
        if div_fn is not None:
            dv = call(div_fn, x, 1, vectorized, args, "div")[0]
        else:
            dv = np.einsum("iim->m", _field_jacobian(F, x, 3, args, vectorized))
        nfev[0] += P.shape[1]
        return (dv * det)[None, :]

    rv = cubature_box(volume, box, 1, rtol, atol, ms)
    return _theorem_result(float(np.sum(rb.estimate)), float(np.sum(rb.error)), rb.success,
                           float(rv.estimate), float(rv.error), rv.success, nfev[0],
                           ("surface_flux", "volume_integral"), rtol, atol)
