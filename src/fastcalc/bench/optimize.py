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
    _NUMBA["rosen_grad"] = rosen_grad
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


@workload("optimize", "BFGS, 10-D rosenbrock, Python rosen, jac=None (finite differences)",
          reference="scipy.optimize.minimize(method='BFGS', rosen, jac=None)", target=1.0)
def _bfgs_python_fd():
    """Not the same calls: fastcalc's default central differences cost 2n evaluations per gradient
    (SciPy's forward ones n) and reach the global minimum (f ~ 1e-14, 2100 calls) where SciPy stops
    at the local one (f = 3.99, 913 calls) from this start; the row times the whole solve."""
    def ref():
        return sp_minimize(rosen, _X10, method="BFGS").x

    def fast():
        return fc.minimize(rosen, _X10, method="bfgs").x
    return Case(fastcalc=fast, reference=ref, error=lambda x: float(rosen(x)) + 1e-300)


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


# ---------------------------------------------------------------------------------------------
# scaling of the descent loops (issue 16): Adam on one large start, multistart on many starts
# ---------------------------------------------------------------------------------------------

def _numba_adam():
    if "adam" in _NUMBA:
        return _NUMBA["adam"]
    import numba
    _numba_loop()
    rosen_grad = _NUMBA["rosen_grad"]

    @numba.njit(cache=False)
    def adam(x0, lr, steps, b1, b2, eps):
        x = x0.copy()
        g = np.empty_like(x)
        m = np.zeros_like(x)
        v = np.zeros_like(x)
        p1 = p2 = 1.0
        for _ in range(steps):
            rosen_grad(x, g)
            p1 *= b1
            p2 *= b2
            for i in range(x.shape[0]):
                m[i] = b1 * m[i] + (1 - b1) * g[i]
                v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i]
                x[i] -= lr * (m[i] / (1 - p1)) / (np.sqrt(v[i] / (1 - p2)) + eps)
        return x

    adam(np.zeros(4), 1e-3, 2, 0.9, 0.999, 1e-8)
    _NUMBA["adam"] = adam
    return adam


def _adam_numpy(x0, steps):
    x, m, v = x0.copy(), np.zeros_like(x0), np.zeros_like(x0)
    for t in range(1, steps + 1):
        g = rosen_der(x)
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        x = x - 1e-3 * (m / (1 - 0.9 ** t)) / (np.sqrt(v / (1 - 0.999 ** t)) + 1e-8)
    return x


def _adam_case(d, steps, peer):
    x0 = np.tile([-1.2, 1.0], d // 2)
    opts = {"lr": 1e-3, "maxiter": steps, "gtol": 0.0}
    fast = lambda: fc.minimize(F.rosenbrock, x0, jac=F.rosenbrock.grad, method="adam",
                               options=opts).x
    if peer == "numba":
        adam = _numba_adam()
        ref = lambda: adam(x0, 1e-3, steps, 0.9, 0.999, 1e-8)
    else:
        ref = lambda: _adam_numpy(x0, steps)
    return Case(fastcalc=fast, reference=ref, exact=_numba_adam()(x0, 1e-3, steps, 0.9, 0.999,
                                                                  1e-8))


@workload("optimize", "Adam, 10^4 steps, d = 10^4 built-in rosenbrock (vs NumPy)",
          reference="NumPy loop of the same steps (rosen_der)", target=0.5, quick=False)
def _adam_big_numpy():
    return _adam_case(10_000, 10_000, "numpy")


@workload("optimize", "Adam, 10^4 steps, d = 10^4 built-in rosenbrock (vs numba)",
          reference="numba @njit loop of the same steps", target=1.2, quick=False)
def _adam_big_numba():
    return _adam_case(10_000, 10_000, "numba")


@workload("optimize", "Adam, 10^4 steps, d = 2 built-in rosenbrock (vs numba)",
          reference="numba @njit loop of the same steps", target=1.2)
def _adam_small_numba():
    return _adam_case(2, 10_000, "numba")


def _numba_multistart():
    if "ms" in _NUMBA:
        return _NUMBA["ms"]
    import numba
    _numba_loop()
    rosen_grad = _NUMBA["rosen_grad"]

    @numba.njit(cache=False)
    def ms(X0, lr, steps):
        n, k = X0.shape
        out = np.empty_like(X0)
        x = np.empty(n)
        g = np.empty(n)
        for j in range(k):
            for i in range(n):
                x[i] = X0[i, j]
            for _ in range(steps):
                rosen_grad(x, g)
                for i in range(n):
                    x[i] -= lr * g[i]
            for i in range(n):
                out[i, j] = x[i]
        return out

    ms(np.zeros((4, 2)), 1e-4, 2)
    _NUMBA["ms"] = ms
    return ms


def _multistart_case(k):
    X0 = np.random.default_rng(0).uniform(-0.5, 1.5, (100, k))
    opts = {"lr": 1e-4, "maxiter": 100, "gtol": 0.0}
    ms = _numba_multistart()
    return Case(fastcalc=lambda: fc.multistart(F.rosenbrock, X0, jac=F.rosenbrock.grad,
                                               options=opts).xs,
                reference=lambda: ms(X0, 1e-4, 100), exact=ms(X0, 1e-4, 100))


@workload("optimize", "multistart GD, 100-D rosenbrock, 10^4 starts x 100 steps (vs numba)",
          reference="numba @njit loop over the starts", target=1.5, quick=False)
def _multistart_1e4():
    return _multistart_case(10_000)


@workload("optimize", "multistart GD, 100-D rosenbrock, 10^5 starts x 100 steps (vs numba)",
          reference="numba @njit loop over the starts", target=1.5, quick=False)
def _multistart_1e5():
    return _multistart_case(100_000)


# ---------------------------------------------------------------------------------------------
# threads (issue 15): the blocks of a multistart run on 2 OpenMP threads against 1 thread
# ---------------------------------------------------------------------------------------------

def _multistart_workers_case(k, n=10, steps=100):
    X0 = np.random.default_rng(0).uniform(-0.5, 1.5, (n, k))
    opts = {"lr": 1e-4, "maxiter": steps, "gtol": 0.0}

    def run(w):
        return lambda: fc.multistart(F.rosenbrock, X0, jac=F.rosenbrock.grad,
                                     options=dict(opts, workers=w)).xs
    return Case(fastcalc=run(2), reference=run(1), exact=run(1)())


@workload("optimize", "multistart GD workers=2, 10-D rosenbrock, 10^5 starts x 100 steps",
          reference="the same run with workers=1 (target: >= 1.7x faster)", target=0.59,
          quick=False)
def _multistart_workers():
    return _multistart_workers_case(100_000)
