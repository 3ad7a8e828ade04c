"""fastcalc: fast, trustworthy numerical calculus with a Cython core.

See README.md for the tour.  This module only collects the public names.
"""
import os as _os

# OpenMP threads that finished their share sleep instead of spinning (libgomp spins ~ms by
# default): on a busy or shared machine a spinning thread takes the core its sibling needs, and
# workers=2 ran 1.8x SLOWER than workers=1 (docs/dask.md).  Set before the first compiled module
# loads libgomp; a value the user set wins.
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
del _os

from fastcalc._version import __version__
from fastcalc import functions
from fastcalc._core import Function, openmp_enabled
from fastcalc._protocol import jit, evaluate
from fastcalc.differentiate import (derivative, gradient, jacobian, hessian, hessian_vector,
                                    directional_derivative, laplacian, divergence, curl, taylor,
                                    TaylorPolynomial, check_grad, approx_fprime,
                                    DifferentiationResult)
from fastcalc.differentiate import DifferentiationWarning
from fastcalc.integrate import (gauss_legendre, gauss_hermite, gauss_laguerre, expect_normal,
                                fixed_quad, quad, dblquad, tplquad, nquad, simpson, trapezoid,
                                cumulative_trapezoid, cumulative_simpson, romb, cubature)
from fastcalc.optimize import minimize, gradient_descent, multistart, classify_critical_point
from fastcalc.vector import (curve_derivative, velocity, acceleration, unit_tangent, curvature,
                             line_integral, work, circulation, curve_flux, surface_area,
                             surface_integral, flux, green, stokes, divergence_theorem,
                             VectorResult)
from fastcalc.regions import (region_integral, integrate_disk, integrate_ball, integrate_simplex,
                              integrate_indicator)
from fastcalc.expectation import (expect, expect_mvn, normalize, marginal, ExpectResult,
                                  NormalizedPDF)
from fastcalc.taylor_nd import taylor_multivariate, MultivariateTaylor
from fastcalc import ml
from fastcalc.optimize import maximize, find_critical_points, MiniBatchGradient

__all__ = ["__version__", "functions", "Function", "jit", "openmp_enabled",
           "derivative", "gradient", "jacobian", "hessian", "hessian_vector",
           "directional_derivative", "laplacian", "divergence", "curl", "taylor", "TaylorPolynomial",
           "check_grad", "approx_fprime", "DifferentiationResult",
           "gauss_legendre", "gauss_hermite", "gauss_laguerre", "expect_normal", "fixed_quad", "quad",
           "dblquad", "tplquad", "nquad", "simpson", "trapezoid", "cumulative_trapezoid",
           "cumulative_simpson", "romb", "cubature",
           "minimize", "gradient_descent", "multistart", "classify_critical_point",
           "curve_derivative", "velocity", "acceleration", "unit_tangent", "curvature",
           "line_integral", "work", "circulation", "curve_flux", "surface_area", "surface_integral",
           "flux", "green", "stokes", "divergence_theorem", "region_integral", "integrate_disk",
           "integrate_ball", "integrate_simplex", "integrate_indicator", "VectorResult",
           "expect", "expect_mvn", "normalize", "marginal", "ExpectResult", "NormalizedPDF",
           "taylor_multivariate", "MultivariateTaylor", "ml",
           "DifferentiationWarning", "evaluate",
           "maximize", "find_critical_points", "MiniBatchGradient"]
