"""Calculus for machine learning: activations, losses, information theory and backpropagation.

* :mod:`fastcalc.ml.activations` -- sigmoid, tanh, relu, ... with ``.grad`` and
  ``.value_and_grad`` in C (float32 kept), usable as fastcalc built-ins; softmax / log_softmax
  with ``jvp``, ``vjp`` and ``jacobian``.
* :mod:`fastcalc.ml.losses` -- mse, huber, cross-entropies, ... with gradients w.r.t. the
  predictions, ``reduction=`` and sample ``weights``.
* :mod:`fastcalc.ml.info` -- entropy, cross-entropy, KL / JS divergence, mutual information
  (discrete, in C) and differential entropy / continuous KL (by :func:`fastcalc.quad`).
* :class:`MLP` -- a small network whose backpropagation is explicit and checked against finite
  differences; its flat parameter vector plugs into :func:`fastcalc.minimize`.

Examples
--------
>>> import numpy as np
>>> from fastcalc import ml
>>> float(ml.sigmoid.grad(0.0))
0.25
>>> import fastcalc as fc
>>> bool(abs(fc.derivative(ml.tanh, 0.3) - ml.tanh.grad(0.3)) < 1e-9)
True
"""
from fastcalc.ml.activations import (Activation, sigmoid, tanh, relu, leaky_relu, elu, selu,
                                     softplus, gelu, gelu_tanh, silu, swish, mish, hard_sigmoid,
                                     softmax, log_softmax, ACTIVATIONS, get_activation,
                                     release_memory)
from fastcalc.ml.losses import (Loss, mse, mae, huber, log_cosh, hinge, binary_cross_entropy,
                                binary_cross_entropy_logits, cross_entropy, cross_entropy_logits,
                                nll_loss, kl_div, gaussian_nll, LOSSES, get_loss, BCE_EPS)
from fastcalc.ml import info
from fastcalc.ml.info import (entropy, kl_divergence, js_divergence, mutual_information,
                              differential_entropy, kl_divergence_continuous)
from fastcalc.ml.mlp import MLP, GradientCheck

__all__ = ["Activation", "sigmoid", "tanh", "relu", "leaky_relu", "elu", "selu", "softplus",
           "gelu", "gelu_tanh", "silu", "swish", "mish", "hard_sigmoid", "softmax", "log_softmax",
           "ACTIVATIONS", "get_activation", "release_memory",
           "Loss", "mse", "mae", "huber", "log_cosh", "hinge", "binary_cross_entropy",
           "binary_cross_entropy_logits", "cross_entropy", "cross_entropy_logits", "nll_loss",
           "kl_div", "gaussian_nll", "LOSSES", "get_loss", "BCE_EPS",
           "info", "entropy", "kl_divergence", "js_divergence", "mutual_information",
           "differential_entropy", "kl_divergence_continuous", "MLP", "GradientCheck"]
