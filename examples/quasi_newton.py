"""Quasi-Newton methods, bounds and critical points with fastcalc (compare with SciPy).

Run: PYTHONPATH=src python examples/quasi_newton.py
"""
import numpy as np
import scipy.optimize as so

import fastcalc as fc
from fastcalc.functions import himmelblau, rosenbrock


def main():
    x0 = np.array([-1.2, 1.0] * 5)
    print("10-D Rosenbrock from (-1.2, 1, ...):")
    for method, scipy_name in (("bfgs", "BFGS"), ("l-bfgs", "L-BFGS-B"), ("cg", "CG"),
                               ("newton-cg", "Newton-CG")):
        res = fc.minimize(rosenbrock, x0, jac=rosenbrock.grad, method=method)
        ref = so.minimize(so.rosen, x0, jac=so.rosen_der, method=scipy_name)
        print(f"  {method:10s} f = {res.fun:9.2e}  nfev = {res.nfev:4d}   "
              f"(SciPy {scipy_name}: f = {ref.fun:9.2e}, nfev = {ref.nfev})")

    res = fc.minimize(rosenbrock, [-1.2, 1.0], jac=rosenbrock.grad, bounds=[(-2, 0.5), (-2, 2)])
    print("with x0 <= 0.5 (L-BFGS, the default with bounds):", np.round(res.x, 6))

    cp = fc.find_critical_points(himmelblau, [(-5, 5), (-5, 5)], n_starts=1000, seed=0)
    print(f"Himmelblau: {cp.n_found} critical points from 1000 starts")
    for x, f, kind, lam in zip(cp.x, cp.fun, cp.kind, cp.eigenvalues):
        print(f"  ({x[0]:9.5f}, {x[1]:9.5f})  f = {f:8.4f}  {kind:8s} eigenvalues {np.round(lam, 3)}")


if __name__ == "__main__":
    main()
