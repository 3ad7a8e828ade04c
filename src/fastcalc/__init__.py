"""fastcalc: fast, trustworthy numerical calculus with a Cython core.

See README.md for the tour.  This module only collects the public names.
"""
from fastcalc._version import __version__
from fastcalc import functions
from fastcalc._core import Function, openmp_enabled
from fastcalc._protocol import jit
from fastcalc.differentiate import (derivative, gradient, jacobian, hessian, hessian_vector,
                                    directional_derivative, laplacian, divergence, curl, taylor,
                                    TaylorPolynomial, check_grad, approx_fprime,
                                    DifferentiationResult)
from fastcalc.integrate import (gauss_legendre, gauss_hermite, gauss_laguerre, expect_normal,
                                fixed_quad, quad, dblquad, tplquad, nquad, simpson, trapezoid,
                                cumulative_trapezoid, cumulative_simpson, romb, cubature)
from fastcalc.optimize import minimize, gradient_descent, multistart, classify_critical_point
from fastcalc.optimize import maximize, find_critical_points, MiniBatchGradient

__all__ = ["__version__", "functions", "Function", "jit", "openmp_enabled",
           "derivative", "gradient", "jacobian", "hessian", "hessian_vector",
           "directional_derivative", "laplacian", "divergence", "curl", "taylor", "TaylorPolynomial",
           "check_grad", "approx_fprime", "DifferentiationResult",
           "gauss_legendre", "gauss_hermite", "gauss_laguerre", "expect_normal", "fixed_quad", "quad",
           "dblquad", "tplquad", "nquad", "simpson", "trapezoid", "cumulative_trapezoid",
           "cumulative_simpson", "romb", "cubature",
           "minimize", "gradient_descent", "multistart", "classify_critical_point",
           "maximize", "find_critical_points", "MiniBatchGradient"]
