"""Workloads of fastcalc.ml (issue 12): activations, cross-entropy, entropy, MLP backprop.

Each fastcalc workload runs against the best NumPy/SciPy expression computing the same values
and gradients; the float32 rows compare fastcalc float32 with fastcalc float64.  The workloads on
10^7 numbers are not part of ``fastcalc bench --quick`` (their set-up alone takes seconds).
"""
import math

import numpy as np
from scipy import special, stats

from fastcalc import ml
from fastcalc.bench import Case, workload

N_ACT = 10_000_000
_R2PI = 1.0 / math.sqrt(2.0 * math.pi)


def _x(dtype=np.float64):
    return np.random.default_rng(12).normal(0.0, 4.0, N_ACT).astype(dtype)


def _np_sigmoid(x):
    s = special.expit(x)
    return s, s * (1.0 - s)


def _np_tanh(x):
    t = np.tanh(x)
    return t, 1.0 - t * t


def _np_gelu(x):
    P = special.ndtr(x)
    return x * P, P + x * np.exp(-0.5 * x * x) * _R2PI


def _np_softplus(x):
    return np.logaddexp(0.0, x), special.expit(x)


_NUMPY = {"sigmoid": (_np_sigmoid, "scipy.special.expit, s (1 - s)"),
          "tanh": (_np_tanh, "np.tanh, 1 - t**2"),
          "gelu": (_np_gelu, "x ndtr(x), ndtr + x phi"),
          "softplus": (_np_softplus, "np.logaddexp(0, x), expit")}


def _act_workload(name):
    ref, expr = _NUMPY[name]

    @workload("ml", f"{name} value+grad, 1e7 float64", reference=f"NumPy/SciPy ({expr})",
              target=0.5, quick=False)
    def _setup():
        x = _x()
        f = getattr(ml, name)
        exact = np.asarray(ref(x))
        return Case(fastcalc=lambda: f.value_and_grad(x), reference=lambda: ref(x),
                    error=lambda r: _abs_rel(r, exact, 1e-8))

    @workload("ml", f"{name} value+grad, 1e7 float32", reference="fastcalc float64",
              target=0.5, quick=False)
    def _setup32():
        x = _x()
        x32 = x.astype(np.float32)
        f = getattr(ml, name)
        exact = np.asarray(ref(x32.astype(np.float64)))
        return Case(fastcalc=lambda: f.value_and_grad(x32), reference=lambda: f.value_and_grad(x),
                    error=lambda r: _abs_rel(r, exact, 1e-3))


def _abs_rel(result, exact, floor):
    """max |r - e| / max(|e|, floor): relative, absolute below ``floor`` (where the NumPy
    reference itself has lost its relative accuracy, e.g. 1 - tanh**2 in the tails)."""
    r = np.asarray(result, dtype=np.float64)
    scale = np.maximum(np.abs(exact), floor)
    return float(np.max(np.abs(r - exact) / scale))


for _name in _NUMPY:
    _act_workload(_name)


@workload("ml", "log_softmax + categorical CE from logits (1e5 x 100), value and gradient",
          reference="scipy.special.logsumexp + NumPy", target=0.5, quick=False)
def _ce():
    rng = np.random.default_rng(3)
    z = rng.normal(0.0, 3.0, (100_000, 100))
    y = rng.integers(0, 100, 100_000)
    rows = np.arange(z.shape[0])

    def ref():
        lse = special.logsumexp(z, axis=1)
        loss = np.mean(lse - z[rows, y])
        g = np.exp(z - lse[:, None])
        g[rows, y] -= 1.0
        g /= z.shape[0]
        return loss, g

    L, G = ref()
    return Case(fastcalc=lambda: ml.cross_entropy_logits.value_and_grad(z, y), reference=ref,
                error=lambda r: max(abs(r[0] - L) / abs(L), float(np.max(np.abs(r[1] - G)))
                                    * z.shape[0]))


def _dists():
    rng = np.random.default_rng(4)
    p = rng.uniform(0.0, 1.0, (100_000, 100))
    q = rng.uniform(0.0, 1.0, (100_000, 100))
    return p / p.sum(axis=1, keepdims=True), q / q.sum(axis=1, keepdims=True)


@workload("ml", "entropy of 1e5 distributions of 100", reference="scipy.stats.entropy",
          target=0.5, quick=False)
def _entropy():
    p, _ = _dists()
    exact = stats.entropy(p, axis=1)
    return Case(fastcalc=lambda: ml.entropy(p), reference=lambda: stats.entropy(p, axis=1),
                exact=exact)


@workload("ml", "KL divergence of 1e5 pairs of distributions of 100",
          reference="scipy.stats.entropy(p, q)", target=0.5, quick=False)
def _kl():
    p, q = _dists()
    exact = stats.entropy(p, q, axis=1)
    return Case(fastcalc=lambda: ml.kl_divergence(p, q),
                reference=lambda: stats.entropy(p, q, axis=1), exact=exact)


@workload("ml", "MLP 784-128-10 backprop gradient, batch 256 (relu, CE from logits)",
          reference="the same network in plain NumPy matmuls", target=2.0)
def _mlp():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(256, 784))
    y = rng.integers(0, 10, 256)
    net = ml.MLP([784, 128, 10], activation="relu", loss="cross_entropy_logits", seed=0)
    theta = net.params.copy()
    W1, b1, W2, b2 = (a.copy() for a in (net.weights[0], net.biases[0], net.weights[1],
                                        net.biases[1]))
    rows = np.arange(256)

    def numpy_backprop():
        z1 = X @ W1 + b1
        h = np.maximum(z1, 0.0)
        z2 = h @ W2 + b2
        m = z2.max(axis=1, keepdims=True)
        e = np.exp(z2 - m)
        s = e.sum(axis=1, keepdims=True)
        loss = np.mean(np.log(s[:, 0]) + m[:, 0] - z2[rows, y])
        d2 = e / s
        d2[rows, y] -= 1.0
        d2 /= 256
        gW2 = h.T @ d2
        gb2 = d2.sum(0)
        d1 = (d2 @ W2.T) * (z1 > 0)
        gW1 = X.T @ d1
        gb1 = d1.sum(0)
        return loss, np.concatenate([gW1.ravel(), gb1, gW2.ravel(), gb2])

    L, G = numpy_backprop()
    return Case(fastcalc=lambda: net.backward(X, y, theta), reference=numpy_backprop,
                error=lambda r: float(np.max(np.abs(r[1] - G)) / np.max(np.abs(G))))
