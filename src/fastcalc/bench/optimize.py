"""Workloads of the optimizers (issue: optimization).  Each pairs a fastcalc run with a reference
doing the same steps, in the same process."""
import numpy as np
from scipy.optimize import minimize as sp_minimize, rosen, rosen_der, rosen_hess

import fastcalc as fc
from fastcalc import functions as F
from fastcalc.bench import Case, workload

_X0 = np.array([-1.2, 1.0])
_STEPS = 10_000
_LR = 1e-3


def _gd_fastcalc(jac, steps=_STEPS, fun=F.rosenbrock):
    opts = {"lr": _LR, "maxiter": steps, "gtol": 0.0}
    return lambda: fc.minimize(fun, _X0, jac=jac, method="gd", options=opts).x


def _gd_numpy(steps=_STEPS):
    """The same steps as a NumPy Python loop (gradient of the n-D Rosenbrock in NumPy)."""
    def run():
        x = _X0.copy()
        for _ in range(steps):
            g = rosen_der(x)
            x = x - _LR * g
        return x
    return run


_NUMBA = {}


def _numba_loop():
    """A hand-written numba loop: the gradient of the n-D Rosenbrock (any n) into a preallocated
    buffer, the max-norm test and the update, all compiled, no allocation per step."""
    if "gd" in _NUMBA:
        return _NUMBA["gd"]
    import numba

    @numba.njit(cache=False)
    def rosen_grad(x, g):
        n = x.shape[0]
        for i in range(n):
            gi = 0.0
            if i + 1 < n:
                gi += -400.0 * x[i] * (x[i + 1] - x[i] * x[i]) - 2.0 * (1.0 - x[i])
            if i > 0:
                gi += 200.0 * (x[i] - x[i - 1] * x[i - 1])
            g[i] = gi

    @numba.njit(cache=False)
    def gd(x0, lr, maxiter, gtol):
        x = x0.copy()
        n = x.shape[0]
        g = np.empty_like(x)
        rosen_grad(x, g)
        for _ in range(maxiter):
            gn = 0.0
            for i in range(n):
                gn = max(gn, abs(g[i]))
            if gn <= gtol:
                break
            for i in range(n):
                x[i] -= lr * g[i]
            rosen_grad(x, g)
        return x

    gd(_X0, _LR, 10, 0.0)          # compile outside the timing
    _NUMBA["gd"] = gd
    return gd


@workload("optimize", "10^4 GD steps, 2-D built-in rosenbrock, analytic gradient",
          reference="NumPy Python loop (rosen_der)", target=0.01)
def _gd_vs_numpy():
    ref = _gd_numpy()
    exact = ref()
    return Case(fastcalc=_gd_fastcalc(F.rosenbrock.grad), reference=ref, exact=exact)


@workload("optimize", "10^4 GD steps, 2-D built-in rosenbrock, analytic gradient (vs numba)",
          reference="numba @njit loop", target=2.0)
def _gd_vs_numba():
    gd = _numba_loop()
    exact = _gd_numpy()()
    return Case(fastcalc=_gd_fastcalc(F.rosenbrock.grad),
                reference=lambda: gd(_X0, _LR, _STEPS, 0.0), exact=exact)


@workload("optimize", "10^4 GD steps, 2-D rosenbrock, analytic gradient (vs numba, 2-D unrolled)",
          reference="numba @njit loop hard-coded for 2-D (scalars in registers)", quick=False)
def _gd_vs_numba_2d():
    """Informational: the fastest possible hand-written loop, specialised to n = 2."""
    import numba

    @numba.njit(cache=False)
    def gd2(x0, lr, steps, gtol):
        a, b = x0[0], x0[1]
        for _ in range(steps):
            g0 = -400.0 * a * (b - a * a) - 2.0 * (1.0 - a)
            g1 = 200.0 * (b - a * a)
            if max(abs(g0), abs(g1)) <= gtol:
                break
            a -= lr * g0
            b -= lr * g1
        return np.array([a, b])

    gd2(_X0, _LR, 10, 0.0)
    exact = _gd_numpy()()
    return Case(fastcalc=_gd_fastcalc(F.rosenbrock.grad),
                reference=lambda: gd2(_X0, _LR, _STEPS, 0.0), exact=exact)


@workload("optimize", "10^4 GD steps, 2-D built-in rosenbrock, jac=None (central differences in C)",
          reference="fastcalc with the analytic gradient", target=4.0)
def _gd_fd():
    exact = _gd_numpy()()
    return Case(fastcalc=_gd_fastcalc(None), reference=_gd_fastcalc(F.rosenbrock.grad),
                exact=exact)


@workload("optimize", "2000 GD steps, Python rosen/rosen_der callables",
          reference="bare Python loop with the same gradient calls", target=1.3)
def _gd_python():
    steps = 2000

    def bare():
        x = _X0.copy()
        for _ in range(steps):
            g = rosen_der(x)
            x = x - _LR * g
        return x
    exact = bare()
    return Case(fastcalc=_gd_fastcalc(rosen_der, steps, rosen), reference=bare, exact=exact)


@workload("optimize", "multistart: 1000 starts x 1000 GD steps, 2-D built-in rastrigin",
          reference="vectorized NumPy loop", target=0.2)
def _multistart_rastrigin():
    x0 = np.random.default_rng(0).uniform(-5.12, 5.12, (2, 1000))
    opts = {"lr": _LR, "maxiter": 1000, "gtol": 0.0}
    tp = 2.0 * np.pi

    def numpy_loop():
        x = x0.copy()
        for _ in range(1000):
            g = 2.0 * x + 10.0 * tp * np.sin(tp * x)
            x -= _LR * g
        return x
    exact = numpy_loop()
    return Case(fastcalc=lambda: fc.multistart(F.rastrigin, x0, jac=F.rastrigin.grad,
                                               options=opts).xs,
                reference=numpy_loop, exact=exact)


@workload("optimize", "Newton, 10-D built-in rosenbrock to f <= 1e-10 (analytic Hessian)",
          reference="scipy.optimize.minimize(method='Newton-CG', analytic Hessian)", target=0.2)
def _newton_rosen10():
    x0 = np.array([1.3, 0.7, 0.8, 1.9, 1.2] * 2)

    def ref():
        r = sp_minimize(rosen, x0, method="Newton-CG", jac=rosen_der, hess=rosen_hess,
                        options={"xtol": 1e-8})
        return r.x

    def fast():
        return fc.minimize(F.rosenbrock, x0, method="newton", jac=F.rosenbrock.grad,
                           hess=F.rosenbrock.hess).x
    # accuracy: the objective value reached (the minimum is 0 at x = 1)
    return Case(fastcalc=fast, reference=ref, error=lambda x: float(rosen(x)))


# ---------------------------------------------------------------------------------------------
# quasi-Newton (issue 11): fastcalc's BFGS / L-BFGS against SciPy's, the same problem and start
# ---------------------------------------------------------------------------------------------

_X10 = np.array([-1.2, 1.0] * 5)


@workload("optimize", "BFGS, 10-D built-in rosenbrock, analytic gradient",
          reference="scipy.optimize.minimize(method='BFGS', rosen, rosen_der)", target=0.1)
def _bfgs_rosen10():
    def ref():
        return sp_minimize(rosen, _X10, jac=rosen_der, method="BFGS").x

    def fast():
        return fc.minimize(F.rosenbrock, _X10, jac=F.rosenbrock.grad, method="bfgs").x
    return Case(fastcalc=fast, reference=ref, error=lambda x: float(rosen(x)) + 1e-300)


_X1000 = np.tile([-1.2, 1.0], 500)


@workload("optimize", "L-BFGS, d = 1000 built-in rosenbrock, analytic gradient",
          reference="scipy.optimize.minimize(method='L-BFGS-B', rosen, rosen_der)", target=0.2)
def _lbfgs_rosen1000():
    def ref():
        return sp_minimize(rosen, _X1000, jac=rosen_der, method="L-BFGS-B").x

    def fast():
        return fc.minimize(F.rosenbrock, _X1000, jac=F.rosenbrock.grad, method="l-bfgs").x
    return Case(fastcalc=fast, reference=ref, error=lambda x: float(rosen(x)) + 1e-300)


@workload("optimize", "BFGS, 10-D rosenbrock, Python rosen/rosen_der callables",
          reference="bare Python loop making the same fun/jac calls", target=1.1)
def _bfgs_python():
    res = fc.minimize(rosen, _X10, jac=rosen_der, method="bfgs")
    nf, ng = res.nfev, res.njev

    def bare():
        x = _X10.copy()
        s = 0.0
        for _ in range(nf):
            s += rosen(x)
        for _ in range(ng):
            g = rosen_der(x)
        return x + 0.0 * (s + g[0])

    def fast():
        return fc.minimize(rosen, _X10, jac=rosen_der, method="bfgs").x
    return Case(fastcalc=fast, reference=bare, error=lambda x: 0.0)


_HB = [(-5.0, 5.0), (-5.0, 5.0)]


@workload("optimize", "find_critical_points, himmelblau, 1000 starts (all 9; target <= 5 ms)",
          reference="scipy.optimize.root(grad, jac=hess) from the same 1000 starts")
def _critical_himmelblau():
    from scipy.optimize import root
    x0 = np.random.default_rng(0).uniform(-5, 5, (1000, 2))
    g, h = F.himmelblau.grad, F.himmelblau.hess

    def ref():
        sols = [root(g, p, jac=h).x for p in x0]
        return len(np.unique(np.round(np.array(sols), 5), axis=0))

    def fast():
        return fc.find_critical_points(F.himmelblau, _HB, n_starts=1000, seed=0).n_found
    return Case(fastcalc=fast, reference=ref, exact=9)
