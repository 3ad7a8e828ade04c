"""Maximum likelihood with fastcalc: minimise a negative log-likelihood with Newton and Adam.

1. A Gaussian N(mu, sigma^2): parameters (mu, log sigma), NLL from ``fastcalc.ml.gaussian_nll``;
   checked against the closed form (sample mean, standard deviation with ddof=0).
2. A logistic regression: NLL = binary cross-entropy from logits (``fastcalc.ml``), its gradient
   X^T (sigmoid(X w) - y) and Hessian X^T diag(s (1 - s)) X; checked against
   ``scipy.optimize.minimize`` (BFGS) on the same objective.

Run: python examples/maximum_likelihood.py
"""
import numpy as np
from scipy import optimize

import fastcalc as fc
from fastcalc import ml


def gaussian():
    rng = np.random.default_rng(0)
    data = rng.normal(3.0, 2.0, 1000)

    def nll(theta):
        mu, log_sigma = theta
        var = np.exp(2 * log_sigma)
        return ml.gaussian_nll(np.full_like(data, mu), data, var=var, full=True,
                               reduction="sum")

    def grad(theta):
        mu, log_sigma = theta
        var = np.exp(2 * log_sigma)
        r = data - mu
        # d/dmu = -sum r / var; d/dlog_sigma = n - sum r^2 / var
        return np.array([-r.sum() / var, data.size - (r * r).sum() / var])

    mu_hat, sigma_hat = data.mean(), data.std()
    print("Gaussian N(mu, sigma^2) from 1000 samples")
    print(f"  closed form        mu = {mu_hat:.10f}  sigma = {sigma_hat:.10f}")
    x0 = np.array([0.0, 0.0])
    newton = fc.minimize(nll, x0, jac=grad, method="newton", options={"gtol": 1e-8})
    adam = fc.minimize(nll, x0, jac=grad, method="adam",
                       options={"lr": 0.05, "maxiter": 5000, "gtol": 1e-6})
    for name, res in (("Newton", newton), ("Adam", adam)):
        mu, sigma = res.x[0], np.exp(res.x[1])
        print(f"  {name:<8} nit={res.nit:<5d} mu = {mu:.10f}  sigma = {sigma:.10f}  "
              f"(|error| {max(abs(mu - mu_hat), abs(sigma - sigma_hat)):.1e}, {res.message})")
    assert abs(newton.x[0] - mu_hat) < 1e-8 and abs(np.exp(newton.x[1]) - sigma_hat) < 1e-8
    assert abs(adam.x[0] - mu_hat) < 1e-5 and abs(np.exp(adam.x[1]) - sigma_hat) < 1e-5


def logistic():
    rng = np.random.default_rng(1)
    n, d = 500, 3
    X = np.column_stack([np.ones(n), rng.normal(size=(n, d))])
    w_true = np.array([-0.5, 2.0, -1.0, 0.5])
    y = (rng.uniform(size=n) < ml.sigmoid(X @ w_true)).astype(float)

    def nll(w):
        return ml.binary_cross_entropy_logits(X @ w, y, reduction="sum")

    def grad(w):
        return X.T @ ml.binary_cross_entropy_logits.grad(X @ w, y, reduction="sum")

    def hess(w):
        s = ml.sigmoid.grad(X @ w)            # s (1 - s)
        return X.T @ (X * s[:, None])

    ref = optimize.minimize(nll, np.zeros(d + 1), jac=grad, method="BFGS", options={"gtol": 1e-10})
    newton = fc.minimize(nll, np.zeros(d + 1), jac=grad, hess=hess, method="newton",
                         options={"gtol": 1e-9})
    adam = fc.minimize(nll, np.zeros(d + 1), jac=grad, method="adam",
                       options={"lr": 0.05, "maxiter": 5000, "gtol": 1e-6})
    print("\nLogistic regression (500 samples, 3 features + intercept)")
    print(f"  true weights     {w_true}")
    print(f"  scipy BFGS       {np.round(ref.x, 8)}  NLL {ref.fun:.10f}")
    for name, res in (("fastcalc Newton", newton), ("fastcalc Adam", adam)):
        print(f"  {name:<16} {np.round(res.x, 8)}  NLL {res.fun:.10f}  nit={res.nit} "
              f"(|w - scipy| {np.abs(res.x - ref.x).max():.1e})")
    assert np.abs(newton.x - ref.x).max() < 1e-6
    assert np.abs(adam.x - ref.x).max() < 1e-4


if __name__ == "__main__":
    gaussian()
    logistic()
