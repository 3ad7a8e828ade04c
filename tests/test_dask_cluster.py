"""The batch APIs on a real ``dask.distributed`` cluster: 2 worker processes on loopback.

Every result is compared bit for bit with the in-process call on NumPy arrays (and, where cheap,
with an analytic reference).  A worker killed in the middle of a run is replaced, and Dask's
retry gives the same answer.  One cluster for the module (about 5 s to start).
"""
import math
import os
import threading

import numpy as np
import pytest
import scipy
import scipy.special as ss

import fastcalc as fc
from fastcalc import functions as F

pytest.importorskip("dask")
distributed = pytest.importorskip("distributed")
import dask.array as da                                       # noqa: E402
from test_dask import _exp_cfunc                              # noqa: E402

# the 10^6-element inputs are NumPy arrays embedded in the graph (on purpose: the same arrays
# feed the in-process reference)
pytestmark = pytest.mark.filterwarnings("ignore:Sending large graph")


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       host="127.0.0.1", dashboard_address=None)
    c = distributed.Client(cluster)
    try:
        yield c
    finally:
        c.close()
        cluster.close()


def test_a_million_integrals_on_the_cluster(client):
    g = _exp_cfunc()                # a numba cfunc: compiled again on each worker
    rng = np.random.default_rng(7)
    a = rng.uniform(0.1, 10.0, 1_000_000)
    b = rng.uniform(0.1, 3.0, 1_000_000)
    ad, bd = da.from_array(a, chunks=125_000), da.from_array(b, chunks=125_000)
    y, e = fc.quad(g, 0.0, bd, args=(ad,), epsabs=0.0, epsrel=1e-10)
    y, e = client.compute([y, e], sync=True)
    ref = fc.quad(g, 0.0, b, args=(a,), epsabs=0.0, epsrel=1e-10)
    assert np.array_equal(y, ref[0]) and np.array_equal(e, ref[1])
    assert np.max(np.abs(y / (np.sqrt(np.pi / a) / 2 * ss.erf(np.sqrt(a) * b)) - 1)) < 1e-10


def test_builtin_jit_and_python_integrands_reach_the_workers(client):
    b = np.linspace(0.1, 3.0, 4000)
    bd = da.from_array(b, chunks=1000)
    exact = np.sqrt(np.pi) / 2 * ss.erf(b)
    for func, kw in ((F.gauss, {}), (F.gauss.lowlevel, {}),
                     (fc.jit(lambda x: math.exp(-x * x)), {}),
                     (lambda x: np.exp(-x * x), {"vectorized": True})):
        y = fc.quad(func, 0.0, bd, **kw)[0].compute()
        assert np.array_equal(y, fc.quad(func, 0.0, b, **kw)[0])
        assert np.max(np.abs(y / exact - 1)) < 1e-12


def test_a_million_gradients_on_the_cluster(client):
    x = np.random.default_rng(8).uniform(-2, 2, (2, 1000, 1000))
    g = fc.gradient(F.rosenbrock, da.from_array(x, chunks=(2, 250, 1000))).compute()
    ref = fc.gradient(F.rosenbrock, x)
    assert np.array_equal(g, ref)
    assert np.allclose(g, scipy.optimize.rosen_der(x), rtol=1e-7, atol=1e-5)


def test_a_hundred_thousand_starts_on_the_cluster(client):
    x0 = np.random.default_rng(9).uniform(-3, 3, (2, 100_000))
    opts = {"lr": 1e-3, "maxiter": 60}
    res = fc.multistart(F.rastrigin, da.from_array(x0, chunks=(2, 25_000)),
                        jac=F.rastrigin.grad, options=opts).compute()
    ref = fc.multistart(F.rastrigin, x0, jac=F.rastrigin.grad, options=opts)
    assert set(res) == set(ref)
    for key in ref:
        assert np.array_equal(res[key], ref[key]), key


def test_bad_input_on_the_cluster(client):
    lock = threading.Lock()
    x = da.from_array(np.ones((2, 100)), chunks=(2, 50))
    with pytest.raises(TypeError, match="cannot be pickled"):
        fc.gradient(lambda v: lock.locked() + v[0], x)
    with pytest.raises(TypeError, match="numba cfunc"):
        fc.quad(scipy.LowLevelCallable(_exp_cfunc().ctypes), 0.0, x[0], args=(x[1],))
    with pytest.raises(ValueError, match="rechunk"):
        fc.gradient(F.sphere, x.rechunk((1, 50)))
    with pytest.raises(ValueError, match="workers"):
        fc.quad(F.gauss, 0.0, x[0], workers=-2)


def test_a_killed_worker_is_replaced_and_the_retry_agrees(client, tmp_path):
    flag = str(tmp_path / "killed-once")
    parent = os.getpid()

    def dies_once(t):
        # the first call in a worker process kills that process (the nanny starts a new one)
        if os.getpid() != parent and not os.path.exists(flag):
            open(flag, "w").close()
            os._exit(1)
        return np.exp(-t * t)

    b = np.linspace(0.1, 3.0, 400)
    y = fc.quad(dies_once, 0.0, da.from_array(b, chunks=100), vectorized=True)[0]
    y = client.compute(y, sync=True)
    assert os.path.exists(flag)                 # a worker did die
    assert np.array_equal(y, fc.quad(dies_once, 0.0, b, vectorized=True)[0])
    assert np.max(np.abs(y / (np.sqrt(np.pi) / 2 * ss.erf(b)) - 1)) < 1e-12
