"""fastcalc batches on a Dask cluster: dask arrays in, dask arrays out.

Run:  python examples/dask_cluster.py                     # a LocalCluster of 2 worker processes
      python examples/dask_cluster.py tcp://host:8786     # an existing scheduler
      FASTCALC_DASK_SCHEDULER=tcp://host:8786 python examples/dask_cluster.py

Needs ``pip install 'fastcalc[dask]'`` (and numba, ``fastcalc[jit]``, for the compiled integrand).
The workers need fastcalc installed too.  See docs/dask.md for how each kind of callable reaches
the workers.
"""
import math
import os
import sys
import time

import numpy as np

try:
    import dask.array as da
    from dask.distributed import Client, LocalCluster
except ImportError:
    print("this example needs dask: pip install 'fastcalc[dask]'")
    sys.exit(0)

import fastcalc as fc
from fastcalc import functions as F


def connect(address=None):
    """A Client of the scheduler at ``address`` (argument or FASTCALC_DASK_SCHEDULER), else of a
    new LocalCluster with 2 single-threaded worker processes on loopback."""
    address = address or os.environ.get("FASTCALC_DASK_SCHEDULER")
    if address:
        return Client(address), None
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                           dashboard_address=None)
    return Client(cluster), cluster


def integrand():
    """A compiled integrand exp(-a x^2) of (x, a): a numba cfunc (re-compiled on each worker);
    without numba, a vectorized Python function (sent by cloudpickle)."""
    try:
        import numba
    except ImportError:
        return (lambda x, a: np.exp(-a * x * x)), True

    @numba.cfunc("float64(intc, CPointer(float64))")
    def g(n, xx):
        return math.exp(-xx[1] * xx[0] * xx[0])
    return g, False


def main(address=None):
    client, cluster = connect(address)
    print("scheduler:", client.scheduler.address)
    try:
        # 1. 50,000 integrals of exp(-a x^2) on [0, b], one per element, in blocks of 12,500
        rng = da.random.default_rng(0)
        a = rng.uniform(0.1, 10.0, 50_000, chunks=12_500)
        b = rng.uniform(0.1, 3.0, 50_000, chunks=12_500)
        f, vec = integrand()
        y, err = fc.quad(f, 0.0, b, args=(a,), vectorized=vec, epsabs=0.0, epsrel=1e-10)
        t = time.perf_counter()
        y, err, a_, b_ = da.compute(y, err, a, b)
        exact = np.sqrt(np.pi / a_) / 2 * np.vectorize(math.erf)(np.sqrt(a_) * b_)
        print(f"50,000 integrals in {time.perf_counter() - t:.2f} s, max rel. error "
              f"{np.max(np.abs(y / exact - 1)):.1e}, max estimate {err.max():.1e}")

        # 2. gradients at 200,000 points of the 2-D Rosenbrock function (variables on axis 0,
        #    kept whole in every block: chunk only the point axes)
        x = rng.uniform(-2.0, 2.0, (2, 200_000), chunks=(2, 50_000))
        g = fc.gradient(F.rosenbrock, x)
        print("gradient: dask array", g.shape, "; first point:", g[:, 0].compute())

        # 3. 10,000 starts of gradient descent on Rastrigin; the result's per-start fields are
        #    dask arrays, .compute() gives the OptimizeResult of the in-process call
        x0 = rng.uniform(-3.0, 3.0, (2, 10_000), chunks=(2, 5_000))
        res = fc.multistart(F.rastrigin, x0, jac=F.rastrigin.grad,
                            options={"lr": 1e-3, "maxiter": 300}).compute()
        print(f"multistart: best f = {res.fun:.3g} at {res.x.round(6)} "
              f"({int(res.successes.sum())} of {res.funs.size} starts converged)")
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
