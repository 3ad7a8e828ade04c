"""Numerical differentiation with fastcalc: the calculus-for-ML seed examples and more.

Run: python examples/differentiation.py
"""
import numpy as np
from scipy.optimize import rosen, rosen_der, rosen_hess

import fastcalc as fc

# d/dx x^2 = 2x, the chain rule on (x^2)^3 and sin((4x)^2)
x = np.linspace(-1.0, 1.0, 5)
print("d/dx x^2          ", fc.derivative(lambda t: t ** 2, x, vectorized=True), "  exact", 2 * x)
print("d/dx (x^2)^3      ", fc.derivative(lambda t: (t ** 2) ** 3, x, vectorized=True),
      "  exact", 6 * x ** 5)
print("d/dx sin((4x)^2)  ", fc.derivative(lambda t: np.sin((4 * t) ** 2), x, vectorized=True,
                                          richardson=2))
print("   exact          ", 32 * x * np.cos(16 * x ** 2))

# activation functions: sigma' = sigma (1 - sigma), tanh' = 1 - tanh^2, ReLU' away from 0
sig = lambda t: 1 / (1 + np.exp(-t))
print("sigmoid'          ", fc.derivative(sig, x, vectorized=True, method="complex"),
      "  exact", sig(x) * (1 - sig(x)))
print("tanh'             ", fc.derivative(np.tanh, x, vectorized=True),
      "  exact", 1 - np.tanh(x) ** 2)
print("relu'             ", fc.derivative(lambda t: np.maximum(t, 0), np.array([-2.0, 3.0]),
                                          vectorized=True))

# gradient of a mean-squared-error loss of a linear model
rng = np.random.default_rng(0)
A, y = rng.normal(size=(50, 3)), rng.normal(size=50)
loss = lambda w: np.mean((A @ w - y) ** 2)
w = np.array([0.1, -0.2, 0.3])
print("MSE gradient      ", fc.gradient(loss, w), "  exact", 2 * A.T @ (A @ w - y) / len(y))

# gradients and Hessians of Rosenbrock: built-in C function, many points at once
X = rng.uniform(-1.5, 1.5, (10, 1000))
G = fc.gradient(fc.functions.rosenbrock, X)                 # C loop, GIL released
print("rosen gradient, 1000 points, max rel. error",
      np.abs(G - rosen_der(X)).max() / np.abs(rosen_der(X)).max())
x0 = X[:, 0]
H = fc.hessian(rosen, x0, vectorized=True)                  # direct 2-D stencil, symmetric
print("rosen Hessian: symmetric", np.array_equal(H, H.T), " max rel. error",
      np.abs(H - rosen_hess(x0)).max() / np.abs(rosen_hess(x0)).max())
res = fc.gradient(rosen, x0, richardson=2, full_output=True)
print("Richardson gradient: error estimate", res.error.max(), " actual",
      np.abs(res.df - rosen_der(x0)).max(), " nfev", res.nfev)

# Taylor polynomial of exp at 0
p = fc.taylor(np.exp, 0.0, 4, vectorized=True)
print("Taylor coefficients of exp", np.asarray(p), " p(0.1) =", p(0.1), " exp(0.1) =", np.exp(0.1))

# the step engine checks itself: the chain-rule example at x = 12.5, where one fixed step spans
# several periods of f, and what full_output reports
f = lambda t: np.sin(16 * t**2)
r = fc.derivative(f, 12.5, full_output=True)
print("sin(16 x^2)' at 12.5:", r.df, " exact", 32 * 12.5 * np.cos(16 * 12.5**2),
      " error estimate", r.error, " status", r.status, " nfev", r.nfev)
r = fc.derivative(f, 12.5, step="fixed", full_output=True)     # the old single stencil
print("  step='fixed':      ", r.df, " error estimate", r.error, " success", r.success)
r = fc.derivative(np.log, np.array([1e-3, 1e-300]), vectorized=True, full_output=True)
print("log' near its domain edge:", r.df, " status", r.status)
r = fc.derivative(lambda x: x * abs(x), 2.0, method="complex", full_output=True)
print("complex step on x|x| (not analytic): status", r.status, "->", fc.differentiate.STATUS[-4])
p = fc.taylor(np.exp, 0.0, 30, vectorized=True)                # complex contour, degree 30
print("exp Taylor coefficient 30 * 30!:", p.coef[30] * 265252859812191058636308480000000.0)
