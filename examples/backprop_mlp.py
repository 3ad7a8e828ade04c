"""Backpropagation you can see: train small networks from scratch with fastcalc.

* XOR with a 2-8-1 tanh/sigmoid network and binary cross-entropy (full-batch Adam);
* two moons with a 2-16-16-2 network, cross-entropy from logits and mini-batch gradients
  (a gradient callable that draws a new batch per step).

For both it prints the loss curve and the gradient check (backprop against fastcalc's finite
differences, relative error <= 1e-6), and saves a decision-boundary plot when matplotlib is
installed (``pip install fastcalc[plot]``), in the temporary directory.

Run: python examples/backprop_mlp.py [--no-plot]
"""
import os
import sys
import tempfile

import numpy as np

import fastcalc as fc
from fastcalc import ml


def two_moons(n=400, noise=0.15, seed=0):
    """Two interleaved half circles (like sklearn.datasets.make_moons), labels 0/1."""
    rng = np.random.default_rng(seed)
    t = rng.uniform(0, np.pi, n)
    upper = rng.uniform(size=n) < 0.5
    x = np.where(upper, np.cos(t), 1 - np.cos(t))
    y = np.where(upper, np.sin(t), 0.5 - np.sin(t))
    X = np.column_stack([x, y]) + rng.normal(0, noise, (n, 2))
    return X, (~upper).astype(np.int64)


def print_curve(title, fun_path, every):
    print(title)
    for i in range(0, len(fun_path), every):
        print(f"  step {i:5d}  loss {fun_path[i]:.6f}")
    if (len(fun_path) - 1) % every:
        print(f"  step {len(fun_path) - 1:5d}  loss {fun_path[-1]:.6f}")


def xor():
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = np.array([[0.0], [1.0], [1.0], [0.0]])
    net = ml.MLP([2, 8, 1], activation="tanh", output="sigmoid", loss="binary_cross_entropy",
                 seed=0)
    chk = net.gradient_check(X, y, n=net.n_params)
    print(f"XOR: {net}")
    print(f"  gradient check at the start: max relative error {chk.max_rel_error:.2e}")
    res = fc.minimize(net.loss, net.params, args=(X, y), jac=net.gradient, method="adam",
                      options={"lr": 0.05, "maxiter": 1500, "gtol": 1e-6, "history": True})
    print_curve("  loss curve (Adam, full batch):", res.fun_path, 300)
    pred = net.predict(X, res.x).ravel()
    print(f"  predictions {np.round(pred, 3)} -> {'all correct' if ((pred > 0.5) == (y.ravel() > 0.5)).all() else 'WRONG'}")
    chk = net.gradient_check(X, y, n=net.n_params, params=res.x)
    print(f"  gradient check at the end: max relative error {chk.max_rel_error:.2e}")
    assert chk.max_rel_error <= 1e-6
    return net, res


def moons(plot):
    X, y = two_moons()
    net = ml.MLP([2, 16, 16, 2], activation="tanh", output=None, loss="cross_entropy_logits",
                 seed=1)
    chk = net.gradient_check(X, y, n=40)
    print(f"\nTwo moons: {net}")
    print(f"  gradient check (40 random parameters): max relative error {chk.max_rel_error:.2e}")
    jac = net.minibatch_gradient(X, y, batch_size=32, seed=0)      # a new batch per call
    res = fc.minimize(net.loss, net.params, args=(X, y), jac=jac, method="adam",
                      options={"lr": 0.01, "maxiter": 2000, "gtol": 0.0, "history": True})
    print_curve("  loss curve (Adam, mini-batches of 32; full-data loss shown):", res.fun_path, 400)
    acc = np.mean(np.argmax(net.predict(X, res.x), axis=1) == y)
    print(f"  training accuracy {acc:.3f}")
    chk = net.gradient_check(X, y, n=40, params=res.x)
    print(f"  gradient check at the end: max relative error {chk.max_rel_error:.2e}")
    assert chk.max_rel_error <= 1e-6
    if plot:
        save_boundary(net, res.x, X, y, os.path.join(tempfile.gettempdir(),
                                                     "backprop_mlp_moons.png"))


def save_boundary(net, params, X, y, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("  (matplotlib not installed: pip install fastcalc[plot] for the plot)")
        return
    gx, gy = np.meshgrid(np.linspace(-1.5, 2.5, 200), np.linspace(-1.0, 1.5, 150))
    logits = net.predict(np.column_stack([gx.ravel(), gy.ravel()]), params)
    p1 = ml.softmax(logits)[:, 1].reshape(gx.shape)
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.contourf(gx, gy, p1, levels=20, cmap="RdBu_r", alpha=0.6)
    ax.contour(gx, gy, p1, levels=[0.5], colors="k")
    ax.scatter(X[:, 0], X[:, 1], c=y, cmap="RdBu_r", s=8, edgecolors="k", linewidths=0.2)
    ax.set_title("two moons: 2-16-16-2 MLP trained with fastcalc", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    print(f"  decision boundary saved to {path}")


if __name__ == "__main__":
    xor()
    moons(plot="--no-plot" not in sys.argv)
