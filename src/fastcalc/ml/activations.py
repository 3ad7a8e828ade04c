"""Activations with their derivatives, computed in C.

Each elementwise activation ``f`` gives ``f(x)``, ``f.grad(x)`` (the derivative) and
``f.value_and_grad(x)`` (both in one pass over memory).  Any shape; float32 input gives float32
results, other real input float64; ``out=`` (and ``grad_out=``) take preallocated arrays of the same
shape and dtype.  Values are exact limits for ``|x|`` up to 1e308 and for +-inf (no overflow
warnings, ``sigmoid(-800) == 0``); NaN gives NaN.  Each object is also a fastcalc built-in
(:class:`fastcalc.Function` with ``.lowlevel``), so :func:`fastcalc.derivative`,
:func:`fastcalc.quad` and :func:`fastcalc.minimize` evaluate it in C.  Parameterised ones take the
parameter as a keyword (``leaky_relu(x, alpha=0.2)``); as a built-in they use the default.

=================  ==========================================================================
``sigmoid``        1 / (1 + exp(-x))
``tanh``           tanh(x)
``relu``           max(x, 0); derivative at 0 is 0 (PyTorch's subgradient)
``leaky_relu``     x or alpha x (alpha=0.01); derivative at 0 is alpha (as PyTorch)
``elu``            x or alpha (exp(x) - 1) (alpha=1)
``selu``           PyTorch's selu constants
``softplus``       log(1 + exp(beta x)) / beta (beta=1); exact, no linear threshold (PyTorch
                   returns x for beta x > 20: a difference below 2.1e-9 / beta)
``gelu``           x Phi(x), exact erf form (PyTorch's ``approximate='none'``)
``gelu_tanh``      tanh approximation (PyTorch's ``approximate='tanh'``)
``silu``/``swish``  x sigmoid(x)
``mish``           x tanh(softplus(x))
``hard_sigmoid``   clip(x / 6 + 1/2, 0, 1) (PyTorch's ``hardsigmoid``)
=================  ==========================================================================

``softmax`` and ``log_softmax`` work along an axis and give ``jvp``, ``vjp`` and ``jacobian``.

Outputs of 1 MiB or more are allocated from a small pool: when such an array (and every view of
it) is gone, its block is kept -- at most 8 blocks, 384 MiB in all -- for the next output of about
the same size, so an activation repeated on large arrays does not pay the kernel's page faults
and page zeroing each time (they cost as much as the pass itself).  :func:`release_memory` frees
the kept blocks.

Examples
--------
>>> import numpy as np
>>> from fastcalc import ml
>>> ml.sigmoid(np.array([-800.0, 0.0, 800.0]))
array([0. , 0.5, 1. ])
>>> y, dy = ml.tanh.value_and_grad(np.float32([0.0, 1.0]))
>>> dy.dtype, float(dy[0])
(dtype('float32'), 1.0)
"""
import numpy as np

from fastcalc._ml import Activation, BUILTINS, softmax_rows, release_pool
from fastcalc._validation import as_floats, as_int

__all__ = ["Activation", "sigmoid", "tanh", "relu", "leaky_relu", "elu", "selu", "softplus", "gelu",
           "gelu_tanh", "silu", "swish", "mish", "hard_sigmoid", "softmax", "log_softmax",
           "ACTIVATIONS", "get_activation", "release_memory"]

sigmoid = BUILTINS["sigmoid"]
tanh = BUILTINS["tanh"]
relu = BUILTINS["relu"]
leaky_relu = BUILTINS["leaky_relu"]
elu = BUILTINS["elu"]
selu = BUILTINS["selu"]
softplus = BUILTINS["softplus"]
gelu = BUILTINS["gelu"]
gelu_tanh = BUILTINS["gelu_tanh"]
silu = BUILTINS["silu"]
swish = silu
mish = BUILTINS["mish"]
hard_sigmoid = BUILTINS["hard_sigmoid"]


def release_memory():
    """Free the output blocks kept for reuse (see the module notes); returns the bytes freed.

    Examples
    --------
    >>> import numpy as np
    >>> from fastcalc import ml
    >>> y = ml.tanh(np.zeros(1 << 18)); del y    # a 2 MiB output, kept for reuse when freed
    >>> ml.release_memory() >= 0
    True
    """
    return int(release_pool())


def _axis(axis, ndim):
    a = as_int(axis, "axis")
    if not -ndim <= a < ndim:
        raise ValueError(f"axis must be in [{-ndim}, {ndim - 1}] for an array of {ndim} "
                         f"dimension(s), got {a}")
    return a % ndim


def _rows(x, axis, name="x"):
    """x as contiguous rows along ``axis`` (moved last); returns (rows, undo)."""
    arr = as_floats(x, name)
    if arr.ndim == 0:
        raise ValueError(f"{name} must have at least one dimension, got a scalar")
    a = _axis(axis, arr.ndim)
    moved = np.moveaxis(arr, a, -1)
    rows = np.ascontiguousarray(moved).reshape(-1, arr.shape[a])

    def undo(r):
        return np.moveaxis(r.reshape(moved.shape), -1, a)
    return rows, undo


class _Softmax:
    """softmax or log_softmax along an axis, by log-sum-exp in C (no overflow for any finite x)."""

    def __init__(self, log):
        self.log = log
        self.__name__ = "log_softmax" if log else "softmax"

    def __repr__(self):
        return f"<fastcalc.ml.{self.__name__}>"

    def __call__(self, x, axis=-1, out=None):
        """The function along ``axis``; float32 stays float32; ``out`` of the same shape/dtype."""
        rows, undo = _rows(x, axis)
        res = np.empty_like(rows)
        softmax_rows(rows, res, self.log)
        r = undo(res)
        if out is None:
            return r
        if not isinstance(out, np.ndarray) or out.shape != r.shape or out.dtype != r.dtype:
            raise ValueError(f"out must be an ndarray of shape {r.shape} and dtype {r.dtype}")
        out[...] = r
        return out

    def _sv(self, x, v, axis, vname):
        s = softmax(x, axis=axis)
        vv = as_floats(v, vname).astype(s.dtype, copy=False)
        if vv.shape != s.shape:
            raise ValueError(f"{vname} must have the shape of x {s.shape}, got {vv.shape}")
        return s, vv

    def jvp(self, x, v, axis=-1):
        """Jacobian-vector product J v along ``axis`` (``v`` has the shape of ``x``)."""
        s, v = self._sv(x, v, axis, "v")
        if self.log:                        # J = I - 1 s^T
            return v - np.sum(s * v, axis=axis, keepdims=True)
        return s * (v - np.sum(s * v, axis=axis, keepdims=True))   # J = diag(s) - s s^T

    def vjp(self, x, u, axis=-1):
        """Vector-Jacobian product u^T J along ``axis`` (backpropagation through the function)."""
        s, u = self._sv(x, u, axis, "u")
        if self.log:                        # u^T (I - 1 s^T) = u - s sum(u)
            return u - s * np.sum(u, axis=axis, keepdims=True)
        return s * (u - np.sum(s * u, axis=axis, keepdims=True))   # symmetric Jacobian

    def jacobian(self, x, axis=-1):
        """Full Jacobian: shape ``x.shape + (k,)`` with ``k = x.shape[axis]``; ``J[..., i, j]`` is
        d out_i / d x_j for the vector along ``axis`` (moved to the last two axes)."""
        rows, undo = _rows(x, axis)
        s = np.empty_like(rows)
        softmax_rows(rows, s, False)
        k = rows.shape[1]
        eye = np.eye(k, dtype=s.dtype)
        if self.log:
            J = eye[None, :, :] - s[:, None, :]
        else:
            J = s[:, :, None] * eye[None, :, :] - s[:, :, None] * s[:, None, :]
        shape = list(np.shape(x))
        shape.pop(_axis(axis, len(shape)))
        return J.reshape(tuple(shape) + (k, k))


softmax = _Softmax(False)
log_softmax = _Softmax(True)

#: every elementwise activation, by name
ACTIVATIONS = {name: f for name, f in BUILTINS.items()}
ACTIVATIONS["swish"] = silu
ACTIVATIONS["identity"] = None


def get_activation(f):
    """An activation by name (``"relu"``) or the object itself; ``"identity"``/None give None."""
    if f is None or isinstance(f, Activation):
        return f
    if isinstance(f, str) and f.lower() in ACTIVATIONS:
        return ACTIVATIONS[f.lower()]
    raise ValueError(f"activation must be one of {', '.join(map(repr, ACTIVATIONS))} or an "
                     f"Activation, got {f!r}")
