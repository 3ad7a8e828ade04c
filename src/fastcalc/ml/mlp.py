"""A small multilayer perceptron whose backpropagation you can read and check.

:class:`MLP` is dense layers + any activation of :mod:`fastcalc.ml.activations` + any loss of
:mod:`fastcalc.ml.losses`.  ``forward`` keeps what the chain rule needs, ``backward`` applies it
layer by layer, and ``gradient_check`` compares the result with :func:`fastcalc.gradient` (finite
differences).  All weights and biases live in ONE flat vector ``params`` (the layers are views into
it), so the network plugs into :func:`fastcalc.minimize` directly::

    res = fc.minimize(net.loss, net.params, args=(X, y), jac=net.gradient, method="adam")

and :meth:`MLP.minibatch_gradient` gives a gradient callable that draws a new mini-batch on each
call, for stochastic optimisation with any method.

It exists to show and check the chain rule, not to compete with PyTorch: float64, CPU, NumPy
matmuls, elementwise work in fastcalc's C kernels.

Examples
--------
>>> import numpy as np
>>> from fastcalc import ml
>>> X = np.array([[0., 0.], [0., 1.], [1., 0.], [1., 1.]]); y = np.array([0., 1., 1., 0.])[:, None]
>>> net = ml.MLP([2, 4, 1], activation="tanh", output="sigmoid", loss="mse", seed=0)
>>> bool(net.gradient_check(X, y).max_rel_error < 1e-6)
True
"""
import dataclasses

import numpy as np

from fastcalc._validation import as_floats, as_int, as_points
from fastcalc.differentiate import gradient as fd_gradient
from fastcalc.ml.activations import get_activation
from fastcalc.ml.losses import get_loss

__all__ = ["MLP", "GradientCheck"]


@dataclasses.dataclass
class GradientCheck:
    """Result of :meth:`MLP.gradient_check`.

    ``max_rel_error`` = ``max |backprop - fd| / max(|backprop|, |fd|, 1e-8)`` over the checked
    parameters; ``rel_error`` = ``||backprop - fd|| / (||backprop|| + ||fd||)``.
    """
    indices: np.ndarray
    backprop: np.ndarray
    numeric: np.ndarray
    max_rel_error: float
    rel_error: float


class MLP:
    """Dense feed-forward network ``x -> act(x W1 + b1) -> ... -> out_act(h W_L + b_L)``.

    Parameters
    ----------
    sizes : sequence of int
        Layer widths, input first: ``[784, 128, 10]``.
    activation : str or Activation
        Hidden-layer activation (``"tanh"``, ``"relu"``, ...).
    output : str, Activation or None
        Output activation; None (identity) for logits and regression.
    loss : str or Loss
        Loss of (network output, target), e.g. ``"mse"`` or ``"cross_entropy_logits"``.
    seed : int
        Seed of the initial weights (Glorot/Xavier uniform; zero biases).

    Attributes
    ----------
    params : ndarray
        The flat parameter vector (weights then bias, layer by layer).
    weights, biases : list of ndarray
        Views into ``params``.

    Notes
    -----
    Methods taking ``params`` (``loss``, ``gradient``, ``forward``, ...) copy them into
    ``self.params`` first: the network is stateful, like a model being trained.
    """

    def __init__(self, sizes, activation="tanh", output=None, loss="mse", seed=0):
        if isinstance(sizes, (str, bytes)) or not hasattr(sizes, "__len__") or len(sizes) < 2:
            raise ValueError(f"sizes must list at least two layer widths, got {sizes!r}")
        self.sizes = [as_int(s, "sizes", low=1) for s in sizes]
        self.activation = get_activation(activation)
        self.output = get_activation(output)
        self.loss_fn = get_loss(loss)
        shapes = []
        for a, b in zip(self.sizes[:-1], self.sizes[1:]):
            shapes += [(a, b), (b,)]
        self._shapes = shapes
        self.n_params = sum(int(np.prod(s)) for s in shapes)
        self.params = np.zeros(self.n_params)
        self.weights, self.biases = self._views(self.params)
        rng = np.random.default_rng(as_int(seed, "seed"))
        for W in self.weights:
            lim = np.sqrt(6.0 / (W.shape[0] + W.shape[1]))
            W[...] = rng.uniform(-lim, lim, W.shape)

    def __repr__(self):
        act = getattr(self.activation, "name", "identity")
        out = getattr(self.output, "name", "identity")
        return (f"MLP({self.sizes}, activation={act}, output={out}, loss={self.loss_fn.__name__}, "
                f"{self.n_params} parameters)")

    def _views(self, flat):
        Ws, bs, k = [], [], 0
        for i, s in enumerate(self._shapes):
            n = int(np.prod(s))
            (Ws if i % 2 == 0 else bs).append(flat[k:k + n].reshape(s))
            k += n
        return Ws, bs

    def _use(self, params):
        if params is not None and params is not self.params:
            p = np.asarray(params, dtype=np.float64)
            if p.shape != (self.n_params,):
                raise ValueError(f"params must have shape ({self.n_params},), got {p.shape}")
            self.params[...] = p

    def _data(self, X, y=None):
        X = as_points(X, "X", vector=False)
        if X.ndim != 2 or X.shape[1] != self.sizes[0]:
            raise ValueError(f"X must have shape (n_samples, {self.sizes[0]}), got {X.shape}")
        if y is None:
            return X, None
        if np.asarray(y).dtype.kind in "iu":
            return X, np.asarray(y)
        y = as_floats(y, "y")
        if y.shape[0] != X.shape[0]:
            raise ValueError(f"y must have {X.shape[0]} rows like X, got shape {y.shape}")
        return X, y

    # ---- the chain rule ------------------------------------------------------------------------

    def forward(self, X, params=None, *, keep=False):
        """Network output for the rows of ``X``; with ``keep=True`` also the layer inputs and the
        activation derivatives that :meth:`backward` needs."""
        self._use(params)
        X, _ = self._data(X)
        a, inputs, derivs = X, [], []
        last = len(self.weights) - 1
        for i, (W, b) in enumerate(zip(self.weights, self.biases)):
            inputs.append(a)
            z = a @ W
            z += b
            act = self.activation if i < last else self.output
            if act is None:
                a, d = z, None
            elif keep:
                a, d = act.value_and_grad(z)
            else:
                a, d = act(z, out=z), None
            derivs.append(d)
        return (a, inputs, derivs) if keep else a

    def backward(self, X, y, params=None):
        """``(loss, gradient)``: the loss on ``(X, y)`` and its gradient for every weight and bias
        (a flat vector like ``params``), by the chain rule from the output back."""
        self._use(params)
        X, y = self._data(X, y)
        out, inputs, derivs = self.forward(X, keep=True)
        loss, delta = self.loss_fn.value_and_grad(out, y)     # dL/d(output)
        grad = np.empty(self.n_params)
        gW, gb = self._views(grad)
        for i in range(len(self.weights) - 1, -1, -1):
            if derivs[i] is not None:
                delta = delta * derivs[i]                       # dL/dz_i = dL/da_i * act'(z_i)
            np.matmul(inputs[i].T, delta, out=gW[i])            # dL/dW_i = a_(i-1)^T dL/dz_i
            np.sum(delta, axis=0, out=gb[i])                    # dL/db_i = sum over samples
            if i:
                delta = delta @ self.weights[i].T               # dL/da_(i-1) = dL/dz_i W_i^T
        return float(loss), grad

    # ---- for optimizers ------------------------------------------------------------------------

    def loss(self, params, X, y):
        """Loss at ``params`` (signature ``fun(x, *args)`` for :func:`fastcalc.minimize`)."""
        self._use(params)
        X, y = self._data(X, y)
        return float(self.loss_fn(self.forward(X), y))

    def gradient(self, params, X, y):
        """Backpropagated gradient at ``params`` (``jac=`` for :func:`fastcalc.minimize`)."""
        return self.backward(X, y, params)[1]

    def value_and_grad(self, params, X, y):
        """``(loss, gradient)`` (for ``jac=True``)."""
        return self.backward(X, y, params)

    def minibatch_gradient(self, X, y, batch_size, *, seed=0):
        """A callable ``g(params) -> gradient`` on a new mini-batch of ``batch_size`` rows per call.

        Batches are drawn without replacement, reshuffling (seeded) after each epoch, so a run is
        reproducible.  It is a plain callable: pass it as ``jac=`` to any :func:`fastcalc.minimize`
        method (with ``fun=net.loss`` on the full data, used for monitoring), e.g. ``"adam"``.
        Stochastic gradients never vanish, so set ``gtol=0`` and stop on ``maxiter``.
        """
        X, y = self._data(X, y)
        n = X.shape[0]
        bs = as_int(batch_size, "batch_size", low=1, high=n)
        rng = np.random.default_rng(as_int(seed, "seed"))
        state = {"order": rng.permutation(n), "pos": 0}

        def jac(params, *args):
            if state["pos"] + bs > n:
                state["order"] = rng.permutation(n)
                state["pos"] = 0
            idx = state["order"][state["pos"]:state["pos"] + bs]
            state["pos"] += bs
            return self.backward(X[idx], y[idx], params)[1]
        return jac

    def predict(self, X, params=None):
        """Network output for ``X`` (after the output activation)."""
        return self.forward(X, params)

    # ---- checking ------------------------------------------------------------------------------

    def gradient_check(self, X, y, *, n=20, seed=0, params=None, accuracy=4):
        """Compare backpropagation with fastcalc's central finite differences on ``n`` random
        parameters (all if ``n`` >= ``n_params``).

        Returns
        -------
        GradientCheck
            ``max_rel_error`` below ~1e-6 means the backward pass is right (smooth activations;
            a ReLU kink within a step of a pre-activation can raise it).
        """
        self._use(params)
        X, y = self._data(X, y)
        k = as_int(n, "n", low=1)
        rng = np.random.default_rng(as_int(seed, "seed"))
        idx = (np.arange(self.n_params) if k >= self.n_params
               else np.sort(rng.choice(self.n_params, size=k, replace=False)))
        theta = self.params.copy()
        bp = self.backward(X, y, theta)[1][idx]

        def f(z):
            p = theta.copy()
            p[idx] = z
            return self.loss(p, X, y)
        num = fd_gradient(f, theta[idx], accuracy=accuracy)
        self.params[...] = theta
        diff = np.abs(bp - num)
        scale = np.maximum(np.maximum(np.abs(bp), np.abs(num)), 1e-8)
        norm = np.linalg.norm(bp) + np.linalg.norm(num)
        return GradientCheck(indices=idx, backprop=bp, numeric=num,
                             max_rel_error=float(np.max(diff / scale)),
                             rel_error=float(np.linalg.norm(bp - num) / norm) if norm else 0.0)
