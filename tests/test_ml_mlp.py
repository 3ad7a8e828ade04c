"""fastcalc.ml.MLP: backprop against hand-derived formulas and plain NumPy central differences,
gradient_check, training with fastcalc.minimize (full and mini-batch), bad input."""
import numpy as np
import pytest
from scipy.special import expit, log_softmax, softmax

import fastcalc as fc
from fastcalc import ml

XOR_X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
XOR_Y = np.array([[0.0], [1.0], [1.0], [0.0]])


def _numpy_central(f, theta, h=1e-3):
    """Plain fourth-order central differences (an independent reference)."""
    g = np.empty_like(theta)
    for i in range(theta.size):
        e = np.zeros_like(theta)
        e[i] = h
        g[i] = (-f(theta + 2 * e) + 8 * f(theta + e) - 8 * f(theta - e) + f(theta - 2 * e)) / (12 * h)
    return g


def test_backward_matches_hand_derived_two_layer_formulas():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(9, 3))
    y = rng.normal(size=(9, 2))
    net = ml.MLP([3, 5, 2], activation="tanh", output=None, loss="mse", seed=1)
    W1, b1, W2, b2 = (a.copy() for a in (net.weights[0], net.biases[0], net.weights[1],
                                        net.biases[1]))
    # independent reference: the chain rule written out for this network
    h = np.tanh(X @ W1 + b1)
    out = h @ W2 + b2
    loss = np.mean((out - y) ** 2)
    d_out = 2 * (out - y) / out.size
    gW2 = h.T @ d_out
    gb2 = d_out.sum(0)
    d_h = d_out @ W2.T * (1 - h ** 2)
    gW1 = X.T @ d_h
    gb1 = d_h.sum(0)
    L, g = net.backward(X, y)
    assert L == pytest.approx(loss, rel=1e-14)
    np.testing.assert_allclose(g, np.concatenate([gW1.ravel(), gb1, gW2.ravel(), gb2]),
                               rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("act,out,loss", [
    ("sigmoid", "sigmoid", "binary_cross_entropy"),
    ("gelu", None, "cross_entropy_logits"),
    ("softplus", None, "huber"),
    ("mish", "tanh", "mse"),
    ("elu", None, "binary_cross_entropy_logits"),
])
def test_backward_against_numpy_finite_differences(act, out, loss):
    rng = np.random.default_rng(2)
    X = rng.normal(size=(8, 4))
    if loss == "cross_entropy_logits":
        y, k = rng.integers(0, 3, size=8), 3
    elif loss.startswith("binary"):
        y, k = rng.integers(0, 2, size=(8, 1)).astype(float), 1
    else:
        y, k = rng.uniform(-0.5, 0.5, size=(8, 2)), 2
    net = ml.MLP([4, 6, 5, k], activation=act, output=out, loss=loss, seed=3)
    theta = net.params.copy()
    _, g = net.backward(X, y, theta)
    ref = _numpy_central(lambda t: net.loss(t, X, y), theta)
    np.testing.assert_allclose(g, ref, rtol=1e-6, atol=1e-9)
    chk = net.gradient_check(X, y, n=15, seed=1, params=theta)
    assert chk.max_rel_error < 1e-6 and chk.indices.size == 15
    np.testing.assert_allclose(chk.numeric, ref[chk.indices], rtol=1e-6, atol=1e-9)
    np.testing.assert_array_equal(net.params, theta)       # the check leaves params unchanged


def test_gradient_check_detects_a_wrong_backward():
    net = ml.MLP([2, 3, 1], activation="tanh", output="sigmoid", loss="mse", seed=0)

    class Broken(ml.MLP):
        def backward(self, X, y, params=None):
            L, g = super().backward(X, y, params)
            g[0] *= 1.01                    # a 1% error in one weight gradient
            return L, g
    bad = Broken([2, 3, 1], activation="tanh", output="sigmoid", loss="mse", seed=0)
    assert net.gradient_check(XOR_X, XOR_Y, n=100).max_rel_error < 1e-6
    assert bad.gradient_check(XOR_X, XOR_Y, n=100).max_rel_error > 1e-3


def test_xor_trained_with_minimize():
    net = ml.MLP([2, 8, 1], activation="tanh", output="sigmoid", loss="binary_cross_entropy",
                 seed=0)
    res = fc.minimize(net.loss, net.params, args=(XOR_X, XOR_Y), jac=net.gradient, method="adam",
                      options={"lr": 0.05, "maxiter": 2000, "gtol": 1e-6})
    pred = net.predict(XOR_X, res.x)
    assert res.fun < 0.05
    np.testing.assert_array_equal(pred.ravel() > 0.5, XOR_Y.ravel() > 0.5)


def test_minibatch_gradient_is_seeded_and_unbiased():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(64, 3))
    y = rng.integers(0, 2, size=64)
    net = ml.MLP([3, 4, 2], activation="relu", loss="cross_entropy_logits", seed=2)
    g1 = net.minibatch_gradient(X, y, 16, seed=7)
    g2 = net.minibatch_gradient(X, y, 16, seed=7)
    theta = net.params.copy()
    a = [g1(theta) for _ in range(4)]
    b = [g2(theta) for _ in range(4)]
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)
    # one epoch of 4 disjoint batches of 16 averages to the full-batch gradient
    np.testing.assert_allclose(np.mean(a, axis=0), net.gradient(theta, X, y), rtol=1e-12,
                               atol=1e-15)
    res = fc.minimize(net.loss, theta, args=(X, y), jac=g1, method="adam",
                      options={"lr": 0.02, "maxiter": 300, "gtol": 0.0})
    assert res.fun < net.loss(theta, X, y)


def test_forward_matches_numpy_network():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(5, 3))
    net = ml.MLP([3, 4, 3], activation="sigmoid", output=None, loss="cross_entropy_logits")
    W1, b1, W2, b2 = net.weights[0], net.biases[0], net.weights[1], net.biases[1]
    want = expit(X @ W1 + b1) @ W2 + b2
    np.testing.assert_allclose(net.forward(X), want, rtol=1e-14)
    y = np.array([0, 2, 1, 1, 0])
    want_loss = -np.mean(log_softmax(want, axis=1)[np.arange(5), y])
    assert net.loss(net.params, X, y) == pytest.approx(want_loss, rel=1e-14)
    assert softmax(want, axis=1).shape == (5, 3)


def test_bad_input():
    net = ml.MLP([2, 3, 1])
    with pytest.raises(ValueError, match=r"X must have shape \(n_samples, 2\)"):
        net.forward(np.zeros((4, 3)))
    with pytest.raises(ValueError, match="y must have 4 rows"):
        net.backward(XOR_X, np.zeros((3, 1)))
    with pytest.raises(ValueError, match=r"params must have shape \(13,\)"):
        net.loss(np.zeros(12), XOR_X, XOR_Y)
    with pytest.raises(ValueError, match="X must be finite"):
        net.forward(np.full((1, 2), np.nan))
    with pytest.raises(ValueError, match="sizes must list at least two"):
        ml.MLP([3])
    with pytest.raises(ValueError, match="sizes must be an integer >= 1"):
        ml.MLP([3, 0, 1])
    with pytest.raises(ValueError, match="activation must be one of"):
        ml.MLP([2, 2], activation="swishy")
    with pytest.raises(ValueError, match="loss must be one of"):
        ml.MLP([2, 2], loss="l2")
    with pytest.raises(ValueError, match=r"batch_size must be an integer in \[1, 4\]"):
        net.minibatch_gradient(XOR_X, XOR_Y, 5)
    with pytest.raises(ValueError, match="target must have the shape of pred"):
        net.backward(XOR_X, np.zeros((4, 2)))
    with pytest.raises(ValueError, match="n must be an integer >= 1"):
        net.gradient_check(XOR_X, XOR_Y, n=0)


@pytest.mark.parametrize("method", ["gd", "momentum", "nesterov", "adagrad", "rmsprop", "adam",
                                    "newton"])
def test_flat_params_plug_into_every_minimize_method(method):
    net = ml.MLP([2, 4, 1], activation="tanh", output="sigmoid", loss="mse", seed=0)
    f0 = net.loss(net.params, XOR_X, XOR_Y)
    res = fc.minimize(net.value_and_grad, net.params.copy(), args=(XOR_X, XOR_Y), jac=True,
                      method=method, options={"maxiter": 60})
    assert res.x.shape == (net.n_params,)
    assert res.fun < f0
    assert res.fun == pytest.approx(net.loss(res.x, XOR_X, XOR_Y), rel=1e-12)
