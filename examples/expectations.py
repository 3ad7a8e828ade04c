"""Expectations, normalising constants and marginals with fastcalc.

Run:  python examples/expectations.py
"""
import math

import numpy as np
import scipy.stats as st

import fastcalc as fc

# --- E f(X) for scipy.stats distributions: a matched Gaussian rule, checked by doubling -------
for dist, f, label, exact in [
        (st.norm(1.0, 2.0), lambda x: x ** 2, "E X^2, X ~ N(1, 4)", 5.0),
        (st.gamma(2.5), np.cos, "E cos X, X ~ Gamma(2.5)",
         2 ** -1.25 * math.cos(2.5 * math.pi / 4)),
        (st.beta(2, 3), lambda x: x ** 3, "E X^3, X ~ Beta(2, 3)", st.beta(2, 3).moment(3)),
        (st.norm(), abs, "E |X|, X ~ N(0, 1) (a kink at 0)", math.sqrt(2 / math.pi)),
        (st.t(5), lambda x: x ** 2, "E X^2, X ~ t(5)", 5 / 3),
        (st.poisson(3.0), lambda k: k ** 2, "E K^2, K ~ Poisson(3)", 12.0)]:
    res = fc.expect(f, dist, full_output=True)
    print(f"{label:<36} = {res.value:.15f}  (exact {exact:.15f}, error estimate "
          f"{res.error:.1e}, {res.method}, {res.nfev} evaluations)")

# --- a multivariate normal ---------------------------------------------------------------------
mean = np.array([1.0, -1.0])
cov = np.array([[1.0, 0.3], [0.3, 0.5]])
a = np.array([0.5, 1.0])
print("E exp(a.X), X ~ N(mean, cov):", fc.expect_mvn(lambda x: np.exp(a @ x), mean, cov,
                                                     vectorized=True),
      "exact", math.exp(a @ mean + 0.5 * a @ cov @ a))

# --- normalising constants and marginals -------------------------------------------------------
Z, p = fc.normalize(lambda x: np.exp(-x ** 4), -np.inf, np.inf)
print("Z = int exp(-x^4) dx =", Z, "exact", 2 * math.gamma(1.25), "; p(0) =", p(0.0))
rho = 0.6
joint = st.multivariate_normal([0, 0], [[1, rho], [rho, 1]])
xs = np.linspace(-2, 2, 5)
m = fc.marginal(lambda x, y: joint.pdf(np.stack([x, y], axis=-1)), xs, (-np.inf, np.inf),
                vectorized=True)
print("marginal of a correlated normal at", xs, ":\n ", m, "\n  exact", st.norm.pdf(xs))
