"""Integrals over regions that are not boxes: a disk, a ball, a simplex, the image of a box
under any map (change of variables) and, as a last resort, a domain given by an indicator.

Each region is mapped from a box (polar, spherical and collapsed/Duffy coordinates, with exact
Jacobians) and integrated by :func:`fastcalc.cubature`; ``f(x, *args)`` takes a point ``x`` of
shape ``(n,)`` (vectorized: ``(n, m)``).  Every routine returns the value; ``full_output=True``
gives a :class:`fastcalc.VectorResult` (error estimate, status, evaluation count), and an
``IntegrationWarning`` is issued whenever the tolerance was not met.
"""
import math
import warnings

import numpy as np

from fastcalc._validation import as_args, as_function, as_points, as_real
from fastcalc._vecbase import (call, cubature_box, cubature_tols, field_values, finish_cubature,
                               map_jacobian, map_setup)
from fastcalc.integrate import IntegrationWarning

__all__ = ["region_integral", "integrate_disk", "integrate_ball", "integrate_simplex",
           "integrate_indicator"]


def _region_run(f, args, vectorized, n, pullback, box, rtol, atol, ms, full_output, what):
    """iint over box of f(x(P)) w(P), where pullback(P) -> (x (n, m), w (m,))."""
    nfev = [0]

    def integrand(P):
        x, w = pullback(P)
        nfev[0] += P.shape[1]
        return field_values(f, np.ascontiguousarray(x), 1, args, vectorized, "f") * w

    res = cubature_box(integrand, box, 1, rtol, atol, ms)
    return finish_cubature(res, nfev[0], full_output, what)


def _centre(center, n, name="center"):
    c = as_points(center, name)
    if c.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},), got {c.shape}")
    return c


def region_integral(f, r, ranges, *, dr=None, args=(), vectorized=False, rtol=1e-10, atol=1e-12,
                    max_subdivisions=2000, full_output=False):
    """``int_{r(B)} f dV = int_B f(r(p)) |det Dr(p)| dp`` over the image of the box
    ``B = ranges[0] x ranges[1] x ...`` under a map ``r: R^q -> R^q`` (change of variables).

    Examples
    --------
    >>> import numpy as np, fastcalc as fc
    >>> ellipse = lambda p: np.array([2 * p[0] * np.cos(p[1]), p[0] * np.sin(p[1])])
    >>> round(fc.region_integral(lambda x: 1.0, ellipse, [(0, 1), (0, 2 * np.pi)]), 10)  # 2 pi
    6.2831853072
    """
    f = as_function(f, "f")
    ranges = list(ranges)
    q = len(ranges)
    if q < 1:
        raise ValueError("ranges must hold at least one (low, high) pair")
    rr, dd, box, args, rvec = map_setup(r, dr, ranges, [f"ranges[{i}]" for i in range(q)], args,
                                        vectorized, q, q)
    rtol, atol, ms = cubature_tols(rtol, atol, max_subdivisions)

    def pullback(P):
        x = call(rr, P, q, rvec, args, "r")
        J = map_jacobian(rr, dd, P, q, args, rvec, "r")
        return x, np.abs(np.linalg.det(np.moveaxis(J, -1, 0)))

    return _region_run(f, args, vectorized, q, pullback, box, rtol, atol, ms, full_output,
                       "region_integral")


def integrate_disk(f, center=(0.0, 0.0), radius=1.0, *, args=(), vectorized=False, rtol=1e-10,
                   atol=1e-12, max_subdivisions=2000, full_output=False):
    """Integral of ``f(x, *args)`` (``x`` of shape ``(2,)`` / ``(2, m)``) over a disk, in polar
    coordinates (the Jacobian ``rho`` is exact; the integrand stays smooth at the centre).

    Examples
    --------
    >>> import numpy as np, fastcalc as fc
    >>> round(fc.integrate_disk(lambda x: np.exp(-x[0]**2 - x[1]**2), vectorized=True), 10)
    1.9858653038
    """
    f = as_function(f, "f")
    c = _centre(center, 2)
    R = as_real(radius, "radius", low=0.0)
    rtol, atol, ms = cubature_tols(rtol, atol, max_subdivisions)

    def pullback(P):
        rho, th = P
        return np.stack([c[0] + rho * np.cos(th), c[1] + rho * np.sin(th)]), rho

    return _region_run(f, as_args(args), vectorized, 2, pullback, [(0.0, R), (0.0, 2 * math.pi)],
                       rtol, atol, ms, full_output, "integrate_disk")


def integrate_ball(f, center=(0.0, 0.0, 0.0), radius=1.0, *, args=(), vectorized=False,
                   rtol=1e-10, atol=1e-12, max_subdivisions=2000, full_output=False):
    """Integral of ``f(x, *args)`` (``x`` of shape ``(3,)`` / ``(3, m)``) over a ball, in
    spherical coordinates (Jacobian ``rho**2 sin(phi)``).

    Examples
    --------
    >>> import numpy as np, fastcalc as fc
    >>> round(fc.integrate_ball(lambda x: x[0]**2, radius=2.0), 8)    # 4 pi R^5 / 15
    26.80825731
    """
    f = as_function(f, "f")
    c = _centre(center, 3)
    R = as_real(radius, "radius", low=0.0)
    rtol, atol, ms = cubature_tols(rtol, atol, max_subdivisions)

    def pullback(P):
        rho, ph, th = P
        s = np.sin(ph)
        x = np.stack([c[0] + rho * s * np.cos(th), c[1] + rho * s * np.sin(th),
                      c[2] + rho * np.cos(ph)])
        return x, rho * rho * s

    return _region_run(f, as_args(args), vectorized, 3, pullback,
                       [(0.0, R), (0.0, math.pi), (0.0, 2 * math.pi)], rtol, atol, ms,
                       full_output, "integrate_ball")


def integrate_simplex(f, vertices, *, args=(), vectorized=False, rtol=1e-10, atol=1e-12,
                      max_subdivisions=2000, full_output=False):
    """Integral of ``f(x, *args)`` over the simplex with the ``n + 1`` given vertices in R^n
    (a triangle, a tetrahedron, ...), by the collapsed-coordinate (Duffy) map of the unit cube.

    Parameters
    ----------
    vertices : array_like, shape (n + 1, n)

    Raises
    ------
    ValueError
        When the vertices do not have shape (n + 1, n) or span a degenerate (zero-volume) simplex.

    Examples
    --------
    >>> import fastcalc as fc
    >>> round(fc.integrate_simplex(lambda x: x[0] * x[1], [[0, 0], [1, 0], [0, 1]]), 12)  # 1/24
    0.041666666667
    """
    f = as_function(f, "f")
    V = as_points(vertices, "vertices")
    if V.ndim != 2 or V.shape[0] != V.shape[1] + 1:
        raise ValueError(f"vertices must have shape (n + 1, n), got {V.shape}")
    n = V.shape[1]
    E = (V[1:] - V[0]).T                       # (n, n): edge vectors as columns
    vol = abs(np.linalg.det(E))
    if not vol > 1e-14 * max(1.0, np.abs(E).max()) ** n:
        raise ValueError("vertices span a degenerate simplex (zero volume)")
    rtol, atol, ms = cubature_tols(rtol, atol, max_subdivisions)

    def pullback(P):
        m = P.shape[1]
        lam = np.empty((n, m))
        rest = np.ones(m)
        w = np.full(m, vol)
        for i in range(n):
            lam[i] = rest * P[i]
            rest = rest * (1.0 - P[i])
        # Jacobian of the collapsed map: prod_i (1 - u_i)^(n - 1 - i)
        for i in range(n - 1):
            w *= (1.0 - P[i]) ** (n - 1 - i)
        return V[0][:, None] + E @ lam, w

    return _region_run(f, as_args(args), vectorized, n, pullback, [(0.0, 1.0)] * n, rtol, atol,
                       ms, full_output, "integrate_simplex")


def integrate_indicator(f, indicator, a, b, *, args=(), vectorized=False, rtol=1e-6, atol=1e-10,
                        max_subdivisions=500, full_output=False):
    """Integral of ``f`` over the part of the box ``[a, b]`` where ``indicator(x)`` is true.

    A last resort for domains with no parametrisation: the integrand ``f * indicator`` is
    discontinuous on the domain's boundary, so adaptive cubature converges slowly (roughly like
    the boundary's measure times the finest cell size) and its error estimate is unreliable.  A
    warning says so on every call; prefer :func:`integrate_disk`, :func:`integrate_ball`,
    :func:`integrate_simplex` or :func:`region_integral` when the domain has a map.

    Parameters
    ----------
    indicator : callable
        ``indicator(x, *args)``: nonzero (true) inside; ``x`` as for ``f``.
    a, b : array_like, shape (n,)
        A box containing the domain (finite).

    Returns
    -------
    float, or with ``full_output`` a :class:`fastcalc.VectorResult` whose ``status`` is 2
    ("unverified", ``success`` False) whatever the cubature said.

    Warns
    -----
    IntegrationWarning
        Always (slow convergence, unreliable estimate); and when the budget ran out.

    Examples
    --------
    >>> import warnings, numpy as np, fastcalc as fc
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     v = fc.integrate_indicator(lambda x: 1.0 + 0 * x[0], lambda x: x[0]**2 + x[1]**2 <= 1,
    ...                                [-1, -1], [1, 1], vectorized=True)
    >>> abs(v - np.pi) < 1e-3
    True
    """
    f = as_function(f, "f")
    indicator = as_function(indicator, "indicator")
    lo = as_points(a, "a")
    hi = as_points(b, "b")
    if lo.ndim != 1 or lo.shape != hi.shape:
        raise ValueError(f"a and b must be 1-D of the same length, got shapes {lo.shape} and "
                         f"{hi.shape}")
    n = lo.size
    args = as_args(args)
    rtol, atol, ms = cubature_tols(rtol, atol, max_subdivisions)
    warnings.warn("integrate_indicator: an indicator domain makes the integrand discontinuous; "
                  "cubature converges slowly there and the error estimate is unreliable",
                  IntegrationWarning, stacklevel=2)

    def pullback(P):
        ind = call(indicator, np.ascontiguousarray(P), 1, vectorized, args, "indicator")[0]
        return P, (ind != 0).astype(float)

    res = _region_run(f, args, vectorized, n, pullback, list(zip(lo, hi)), rtol, atol, ms,
                      full_output, "integrate_indicator")
    if full_output:
        # cubature's estimate assumes a smooth integrand: never report it as a met tolerance
        res.status, res.success = 2, False
        res.message = ("unverified: the error estimate of a discontinuous (indicator) integrand "
                       "is not reliable")
    return res
