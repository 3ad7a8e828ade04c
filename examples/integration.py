"""Integration with fastcalc: the seed examples, batches, sampled data and cubature.

Run:  python examples/integration.py
"""
import math

import numpy as np

import fastcalc as fc
from fastcalc import functions as F

# --- the seed examples ------------------------------------------------------------------------
print("int_0^pi sin x dx          =", fc.quad(math.sin, 0, math.pi)[0])
print("area under x^2 on [0, 1]    =", fc.quad(lambda x: x * x, 0, 1)[0])
pdf = lambda x: math.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
print("normal density integrates to", fc.quad(pdf, -math.inf, math.inf)[0])
print("E[X], E[X^2] for N(1, 2^2)  =", fc.expect_normal(lambda x: x, 1.0, 2.0),
      fc.expect_normal(lambda x: x**2, 1.0, 2.0))

# --- Gauss rules --------------------------------------------------------------------------------
x, w = fc.gauss_legendre(5)
print("Gauss-Legendre n=5 integrates x^8 on [-1,1] exactly:", w @ x**8, "= 2/9 =", 2 / 9)
print("fixed_quad batch over upper limits:", fc.fixed_quad(np.cos, 0.0, np.array([1.0, 2.0]), n=8)[0])

# --- a batch of 10,000 integrals in one C loop -------------------------------------------------
rng = np.random.default_rng(0)
a = rng.uniform(0.1, 10, 10_000)
b = rng.uniform(0.1, 3, 10_000)
y, err = fc.quad(lambda t, aa: np.exp(-aa * t * t), 0.0, b, args=(a,), vectorized=True)
print("10,000 Gaussian integrals, first three:", y[:3])

# --- an endpoint singularity and a missed narrow peak ------------------------------------------
print("int_0^1 x^-0.8 dx = 5:", fc.quad(lambda t: t**-0.8, 0, 1)[0])
y, err, info, msg = fc.quad(lambda t: math.exp(-(t - 1234.5) ** 2 / 1e-6), -1e4, 1e4,
                            full_output=1)
print("narrow peak on a wide interval ->", info["flags"], "|", msg.splitlines()[0])

# --- sampled data -------------------------------------------------------------------------------
xs = np.linspace(0, np.pi, 1001)
print("simpson(sin) on 1001 samples:", fc.simpson(np.sin(xs), x=xs))
print("cumulative_trapezoid, last value:", fc.cumulative_trapezoid(np.sin(xs), x=xs)[-1])

# --- several variables --------------------------------------------------------------------------
print("dblquad x*y^2 over [0,2]x[0,1] =", fc.dblquad(lambda yy, xx: xx * yy**2, 0, 2, 0, 1)[0])
res = fc.cubature(lambda p: np.exp(-np.sum(p**2, axis=-1)), [0, 0], [1, 1], rule="genz-malik")
print("cubature exp(-|x|^2) on the unit square:", res.estimate, res.status)
print("built-in integrand, no Python in the loop:", fc.quad(F.gauss, -np.inf, np.inf)[0],
      "= sqrt(pi) =", math.sqrt(math.pi))

# --- curved domains, budgets ----------------------------------------------------------------------
half = lambda x: math.sqrt(max(1 - x * x, 0.0))
val, err, info = fc.nquad(lambda y, x: math.exp(-x * x - y * y), [lambda x: (-half(x), half(x)),
                                                                   (-1, 1)], full_output=True)
print(f"exp(-r^2) over the unit disk: {val:.15f} (exact {math.pi * (1 - math.exp(-1)):.15f}), "
      f"{info['neval']} evaluations")
res = fc.cubature(lambda p: np.exp(-np.abs(p - 0.3).sum(axis=-1)), np.zeros(3), np.ones(3),
                  rtol=1e-6, maxeval=500_000)
print("a kinked 3-D integrand within a budget:", res.status, "-", res.message)
