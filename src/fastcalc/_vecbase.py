"""Shared helpers of fastcalc.vector and fastcalc.regions (an internal module made for them).

Every user function (curve, surface or region map, field, Jacobian) is evaluated here through
fastcalc's callable adapter, :func:`fastcalc._core.evaluate`; derivatives of maps come from
:func:`fastcalc.jacobian`; integrals over boxes from :func:`fastcalc.cubature`.
"""
import warnings

import numpy as np
from scipy.optimize import OptimizeResult

from fastcalc._core import evaluate, is_compiled
from fastcalc._validation import as_args, as_function, as_int, as_real, as_tolerances
from fastcalc.differentiate import jacobian
from fastcalc.integrate import IntegrationWarning, cubature

# derivatives of maps when no dr= is given: fastcalc.jacobian's adaptive step engine with 4th-order
# central stencils (it extrapolates by itself: a ``richardson=`` here would be ignored)
JAC_ACCURACY = 4
JAC_OPTIONS = {"accuracy": JAC_ACCURACY}
MAX_DIM = 64


class VectorResult(OptimizeResult):
    """Result of a vector-calculus routine called with ``full_output=True`` (or of a theorem check).

    Attributes
    ----------
    value : float or ndarray
        The integral (for theorem checks: not set; see ``boundary`` and ``interior``).
    error : float or ndarray
        Error estimate of the quadrature (the derivative's own error, near 1e-13 relative when
        ``dr`` is not given, is not included).
    status : int or ndarray
        0 when the tolerance was met, 1 when not (subdivision limit, non-finite values, ...).
    success : bool or ndarray
        ``status == 0``.
    nfev : int
        Integrand evaluations (points at which the field and the curve/surface were evaluated).
    message : str
    """


def probe(f, x, args, name, expect_scalar_x=False):
    """Call a Python ``f`` once to learn its output size (compiled ones need ``dim=``)."""
    if is_compiled(f):
        raise TypeError(f"{name} is a compiled callable: give the dimension of its output with "
                        "dim=")
    # (an exception raised by the user's function propagates unchanged)
    return np.asarray(f(float(x[0]) if expect_scalar_x else x, *args), dtype=float)


def dim_of(r, p0, args, vectorized, dim, name, scalar_x):
    """Dimension of the points a curve/map ``r`` returns."""
    if dim is not None:
        return as_int(dim, "dim", low=1, high=MAX_DIM)
    if vectorized:
        x = np.asarray(p0, dtype=float).reshape(-1, 1)
        out = probe(r, x[0] if scalar_x else x, args, name)
        if out.ndim != 2 or out.shape[1] != 1:
            raise ValueError(f"{name} (vectorized) must return an array of shape (n, m) for m "
                             f"parameters; for 1 parameter it returned shape {out.shape}")
        return out.shape[0]
    out = probe(r, np.asarray(p0, dtype=float), args, name, expect_scalar_x=scalar_x)
    if out.ndim != 1:
        raise ValueError(f"{name} must return a point of shape (n,); it returned shape {out.shape}")
    return out.shape[0]


def call(f, X, nout, vectorized, args, name, scalar_x=False):
    """``f`` at the points ``X`` (shape (q, m)) through the adapter, as an (nout, m) array."""
    try:
        return evaluate(f, X, nout=nout, vectorized=vectorized, args=args, scalar_x=scalar_x)
    except ValueError as exc:
        if "returned shape" in str(exc) or "expected" in str(exc):
            raise ValueError(f"{name}: {exc}") from exc
        raise


def flat_jac(dr, p, q, vectorized):
    """A user's Jacobian ``dr`` (returning (p, q) / (p, q, m)) as a function of p*q outputs."""
    if is_compiled(dr):
        return dr
    if vectorized:
        def g(x, *a):
            return np.reshape(np.asarray(dr(x, *a), dtype=float), (p * q, -1))
    else:
        def g(x, *a):
            return np.reshape(np.asarray(dr(x, *a), dtype=float), (p * q,))
    return g


def map_jacobian(phi, dphi, X, p, args, vectorized, name):
    """Jacobian of a map R^q -> R^p at the points X (q, m): shape (p, q, m)."""
    q, m = X.shape
    if dphi is not None:
        J = call(flat_jac(dphi, p, q, vectorized), X, p * q, vectorized, args, f"d{name}")
        return J.reshape(p, q, m)
    if is_compiled(phi):
        return jacobian(phi, X, **JAC_OPTIONS, args=args, nout=p).reshape(p, q, m)
    return np.asarray(jacobian(phi, X, **JAC_OPTIONS, vectorized=vectorized, args=args,
                               nout=p)).reshape(p, q, m)


def field_values(F, x, nout, args, vectorized, name="F"):
    return call(F, x, nout, vectorized, args, name)


def box_ranges(ranges, names):
    out = []
    for rg, nm in zip(ranges, names):
        try:
            lo, hi = rg
        except (TypeError, ValueError):
            raise TypeError(f"{nm} must be a pair (low, high), got {rg!r}") from None
        lo = as_real(lo, f"{nm}[0]")
        hi = as_real(hi, f"{nm}[1]")
        out.append((lo, hi))
    return out


def cubature_box(integrand, box, nout, rtol, atol, max_subdivisions):
    """Adaptive cubature of integrand(P) (P of shape (q, m) -> (nout, m)) over box."""
    lo = [b[0] for b in box]
    hi = [b[1] for b in box]

    def f(x):
        v = integrand(np.ascontiguousarray(np.asarray(x, dtype=float).T))
        return v.T if nout > 1 else v[0]

    return cubature(f, lo, hi, rtol=rtol, atol=atol, max_subdivisions=max_subdivisions)


def cubature_tols(rtol, atol, max_subdivisions):
    atol, rtol = as_tolerances(atol, rtol)
    return rtol, atol, as_int(max_subdivisions, "max_subdivisions", low=1, high=10_000_000)


def finish_cubature(res, nfev, full_output, what):
    est = res.estimate
    if not res.success:
        warnings.warn(f"{what}: the cubature did not reach the tolerance within its subdivision "
                      f"budget (estimate {est!r}, error estimate {res.error!r})",
                      IntegrationWarning, stacklevel=3)
    if not full_output:
        return float(est) if np.ndim(est) == 0 else est
    return VectorResult(value=float(est) if np.ndim(est) == 0 else est, error=res.error,
                        status=0 if res.success else 1, success=res.success, nfev=int(nfev),
                        message=res.status)


def identity_map(x, *a):
    return np.asarray(x, dtype=float)


def map_setup(r, dr, ranges, names, args, vectorized, q, p):
    box = box_ranges(ranges, names)
    args = as_args(args)
    if r is None:
        if dr is not None:
            raise ValueError("dr given without r")
        eye = np.eye(q)

        def ident_jac(x, *a):
            x = np.asarray(x, dtype=float)
            return (np.broadcast_to(eye[:, :, None], (q, q, x.shape[1])).copy() if x.ndim == 2
                    else eye.copy())
        return identity_map, ident_jac, box, args, True
    r = as_function(r, "r")
    if dr is not None:
        dr = as_function(dr, "dr")
    centre = np.array([0.5 * (lo + hi) for lo, hi in box])
    d = dim_of(r, centre, args, vectorized, None, "r", scalar_x=False)
    if d != p:
        raise ValueError(f"r must map the parameter box to points of R^{p}; it returns points of "
                         f"dimension {d}")
    return r, dr, box, args, vectorized
