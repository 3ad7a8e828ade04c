"""Integration: Gauss rules, adaptive Gauss--Kronrod, nested integrals, sampled data, cubature.

The SciPy names (``quad``, ``fixed_quad``, ``dblquad``, ``tplquad``, ``nquad``, ``simpson``,
``trapezoid``, ``cumulative_trapezoid``, ``cumulative_simpson``, ``romb``, ``cubature``) take
SciPy's arguments and return SciPy's values; fastcalc's additions are keyword-only.  Every
integrand goes through the callable protocol of :mod:`fastcalc._core`: built-in
:mod:`fastcalc.functions`, :class:`scipy.LowLevelCallable` / numba ``cfunc`` (both run in C
without the GIL), vectorized Python callables (``vectorized=True``: one call per batch of
nodes) and plain Python callables (one call per node).

The family modules: :mod:`~fastcalc.integrate.gauss` (Gauss rules, ``fixed_quad``,
``expect_normal``), :mod:`~fastcalc.integrate.adaptive` (``quad``),
:mod:`~fastcalc.integrate.nested` (``nquad``, ``dblquad``, ``tplquad``),
:mod:`~fastcalc.integrate.sampled` (rules on samples) and :mod:`~fastcalc.integrate.boxes`
(``cubature``).
"""
from fastcalc.integrate.shared import IntegrationWarning
from fastcalc.integrate.gauss import (gauss_legendre, gauss_hermite, gauss_laguerre,
                                      expect_normal, fixed_quad)
from fastcalc.integrate.adaptive import quad
from fastcalc.integrate.nested import nquad, dblquad, tplquad
from fastcalc.integrate.sampled import (simpson, trapezoid, cumulative_trapezoid,
                                        cumulative_simpson, romb)
from fastcalc.integrate.boxes import cubature, CubatureResult, CubatureRegion

__all__ = ["gauss_legendre", "gauss_hermite", "gauss_laguerre", "expect_normal", "fixed_quad",
           "quad", "dblquad", "tplquad", "nquad", "cubature", "simpson", "trapezoid",
           "cumulative_trapezoid", "cumulative_simpson", "romb", "IntegrationWarning",
           "CubatureResult", "CubatureRegion"]
