"""Loss functions with their gradients with respect to the predictions (or logits).

Every loss ``L`` gives ``L(pred, target, ...)``, ``L.grad(pred, target, ...)`` (same shape as
``pred``) and ``L.value_and_grad(...)``, with

* ``reduction="mean"`` (default), ``"sum"``, ``"none"`` (per-sample losses; the gradient is then the
  derivative of their sum) or ``"batchmean"`` (sum divided by ``pred.shape[0]``, PyTorch's
  ``kl_div`` convention);
* optional non-negative sample ``weights`` broadcastable to the per-sample loss shape: ``"mean"``
  is then the weighted mean ``sum(w l) / sum(w)`` (scikit-learn's ``sample_weight``; PyTorch's
  ``weight`` of ``binary_cross_entropy`` divides by the count instead).

Classification losses take the classes on the LAST axis (PyTorch uses axis 1 for inputs of more
than two dimensions; for ``(N, C)`` they agree).  Inputs are checked before any work: shapes
that differ, NaN or inf, probabilities outside [0, 1], labels out of range and negative weights
raise ``ValueError`` naming the argument.

Examples
--------
>>> import numpy as np
>>> from fastcalc import ml
>>> z = np.array([[2.0, 0.0, -1.0]]); y = np.array([0])
>>> loss, g = ml.cross_entropy_logits.value_and_grad(z, y)
>>> bool(np.isclose(loss, np.log(np.exp(z).sum()) - 2.0))
True
>>> bool(np.allclose(g, ml.softmax(z) - [1, 0, 0]))
True
"""
import math

import numpy as np

from fastcalc._ml import ce_logits
from fastcalc._validation import as_choice, as_floats, as_real
from fastcalc.ml.activations import sigmoid, softplus, tanh

__all__ = ["Loss", "mse", "mae", "huber", "log_cosh", "hinge", "binary_cross_entropy",
           "binary_cross_entropy_logits", "cross_entropy", "cross_entropy_logits", "nll_loss",
           "kl_div", "gaussian_nll", "LOSSES", "get_loss", "BCE_EPS"]

#: probabilities are clipped to [BCE_EPS, 1 - BCE_EPS] inside the logarithms of
#: binary_cross_entropy and cross_entropy (PyTorch clamps the logarithm at -100 instead)
BCE_EPS = 1e-12

_REDUCTIONS = ("mean", "sum", "none", "batchmean")


def _finite(a, name):
    if a.size and not np.isfinite(a).all():
        raise ValueError(f"{name} must be finite (no NaN or inf)")
    return a


def _same_shape(pred, target, pname="pred", tname="target"):
    if target.shape != pred.shape:
        raise ValueError(f"{tname} must have the shape of {pname} {pred.shape}, got {target.shape}")


def _in_unit(a, name):
    if a.size and (a.min() < 0 or a.max() > 1):
        raise ValueError(f"{name} must be probabilities in [0, 1]; got values in "
                         f"[{float(a.min()):g}, {float(a.max()):g}]")


def _scale(weights, sample_shape, reduction, dtype):
    """Per-sample factor w / denominator (None for 1) of the reduction."""
    n = math.prod(sample_shape)
    w = None
    if weights is not None:
        w = _finite(as_floats(weights, "weights"), "weights").astype(dtype, copy=False)
        try:
            w = np.broadcast_to(w, sample_shape)
        except ValueError:
            raise ValueError(f"weights must broadcast to the per-sample loss shape {sample_shape}, "
                             f"got {w.shape}") from None
        if w.size and w.min() < 0:
            raise ValueError("weights must be non-negative")
    if reduction == "mean":
        denom = float(w.sum(dtype=np.float64)) if w is not None else float(n)
        if denom <= 0:
            raise ValueError("weights must not all be zero with reduction='mean'"
                             if w is not None else "pred must not be empty with reduction='mean'")
    elif reduction == "batchmean":
        denom = float(sample_shape[0]) if sample_shape else 1.0
        if denom <= 0:
            raise ValueError("pred must not be empty with reduction='batchmean'")
    else:
        denom = 1.0
    if w is None:
        return None if denom == 1.0 else np.full(sample_shape, 1.0 / denom, dtype=dtype)
    return (w / denom).astype(dtype, copy=False)


class Loss:
    """A loss: ``L(pred, target, ...)``, ``L.grad(...)``, ``L.value_and_grad(...)``.

    ``kernel(pred, target, scale, want_grad, **params) -> (per-sample loss, scaled gradient)`` does
    the work after ``check(pred, target, **params) -> (pred, target, sample_shape)`` validated.
    """

    def __init__(self, name, check, kernel, params=(), doc=""):
        self.__name__ = name
        self._check = check
        self._kernel = kernel
        self._params = dict(params)
        self.__doc__ = doc

    def __repr__(self):
        return f"<fastcalc.ml loss {self.__name__}>"

    def _run(self, pred, target, weights, reduction, want_grad, params):
        unknown = set(params) - set(self._params)
        if unknown:
            raise TypeError(f"{self.__name__} got unexpected keyword(s) "
                            f"{', '.join(map(repr, sorted(unknown)))}")
        red = as_choice(reduction, "reduction", _REDUCTIONS)
        p = {**self._params, **params}
        pred, target, sample_shape, p = self._check(pred, target, **p)
        scale = _scale(weights, sample_shape, red, pred.dtype)
        with np.errstate(all="ignore"):
            l, g = self._kernel(pred, target, scale, want_grad, **p)
            if red == "none":
                value = l if scale is None else l * scale
            else:
                value = (l.sum(dtype=np.float64) if scale is None
                         else np.dot(l.ravel().astype(np.float64), scale.ravel()))
                value = np.float64(value).astype(pred.dtype)[()]
        return value, g

    def __call__(self, pred, target, *, weights=None, reduction="mean", **params):
        return self._run(pred, target, weights, reduction, False, params)[0]

    def grad(self, pred, target, *, weights=None, reduction="mean", **params):
        """Gradient of the reduced loss with respect to ``pred`` (shape of ``pred``)."""
        return self._run(pred, target, weights, reduction, True, params)[1]

    def value_and_grad(self, pred, target, *, weights=None, reduction="mean", **params):
        """``(loss, gradient)`` in one pass."""
        return self._run(pred, target, weights, reduction, True, params)


def _scaled(g, scale):
    return g if scale is None else g * scale


# ---- regression ------------------------------------------------------------------------------

def _check_pair(pred, target, **p):
    pred = _finite(as_floats(pred, "pred"), "pred")
    target = _finite(as_floats(target, "target"), "target").astype(pred.dtype, copy=False)
    _same_shape(pred, target)
    return pred, target, pred.shape, p


def _mse(pred, target, scale, want_grad):
    r = pred - target
    return r * r, _scaled(2 * r, scale) if want_grad else None


def _mae(pred, target, scale, want_grad):
    r = pred - target
    return np.abs(r), _scaled(np.sign(r), scale) if want_grad else None


def _check_huber(pred, target, delta=1.0):
    pred, target, shape, _ = _check_pair(pred, target)
    return pred, target, shape, {"delta": as_real(delta, "delta", low=0.0, low_open=True)}


def _huber(pred, target, scale, want_grad, delta):
    r = pred - target
    a = np.abs(r)
    l = np.where(a <= delta, 0.5 * r * r, delta * (a - 0.5 * delta))
    return l, _scaled(np.clip(r, -delta, delta), scale) if want_grad else None


def _log_cosh(pred, target, scale, want_grad):
    r = pred - target
    a = np.abs(r)
    l = a + np.log1p(np.exp(-2 * a)) - pred.dtype.type(math.log(2.0))   # no cosh overflow
    return l, _scaled(tanh(r), scale) if want_grad else None


def _check_hinge(pred, target):
    pred, target, shape, _ = _check_pair(pred, target)
    if target.size and not np.isin(target, (-1, 1)).all():
        raise ValueError("target of hinge must contain only -1 and +1")
    return pred, target, shape, {}


def _hinge(pred, target, scale, want_grad):
    m = 1 - target * pred
    return np.maximum(m, 0), _scaled(np.where(m > 0, -target, 0).astype(pred.dtype), scale) \
        if want_grad else None


def _check_gnll(pred, target, var=1.0, full=False, eps=1e-6):
    pred, target, shape, _ = _check_pair(pred, target)
    v = _finite(as_floats(var, "var"), "var").astype(pred.dtype, copy=False)
    try:
        v = np.broadcast_to(v, pred.shape)
    except ValueError:
        raise ValueError(f"var must broadcast to the shape of pred {pred.shape}, got {v.shape}") \
            from None
    if v.size and v.min() < 0:
        raise ValueError("var must be non-negative")
    return pred, target, shape, {"var": v, "full": bool(full),
                                 "eps": as_real(eps, "eps", low=0.0, low_open=True)}


def _gnll(pred, target, scale, want_grad, var, full, eps):
    v = np.maximum(var, eps)
    r = pred - target
    l = 0.5 * (np.log(v) + r * r / v)
    if full:
        l = l + pred.dtype.type(0.5 * math.log(2 * math.pi))
    return l, _scaled(r / v, scale) if want_grad else None


# ---- binary classification ---------------------------------------------------------------------

def _check_bce(pred, target, eps=BCE_EPS):
    pred, target, shape, _ = _check_pair(pred, target)
    _in_unit(pred, "pred")
    _in_unit(target, "target")
    return pred, target, shape, {"eps": as_real(eps, "eps", low=0.0, high=0.5)}


def _bce(pred, target, scale, want_grad, eps):
    p = np.clip(pred, eps, 1 - eps)
    l = -(target * np.log(p) + (1 - target) * np.log1p(-p))
    return l, _scaled((p - target) / (p * (1 - p)), scale) if want_grad else None


def _check_bce_logits(pred, target):
    pred, target, shape, _ = _check_pair(pred, target)
    _in_unit(target, "target")
    return pred, target, shape, {}


def _bce_logits(pred, target, scale, want_grad):
    # softplus(z) - t z, stable for every z; gradient sigmoid(z) - t
    l = softplus(pred) - target * pred
    return l, _scaled(sigmoid(pred) - target, scale) if want_grad else None


# ---- categorical ------------------------------------------------------------------------------

def _check_classes(pred, target, name="pred", probabilities=False):
    pred = _finite(as_floats(pred, name), name)
    if pred.ndim < 1 or pred.shape[-1] == 0:
        raise ValueError(f"{name} must have the classes on its last axis (shape (..., C), C >= 1), "
                         f"got shape {pred.shape}")
    if probabilities:
        _in_unit(pred, name)
    t = np.asarray(target)
    k = pred.shape[-1]
    if t.dtype.kind in "iub" and t.shape == pred.shape[:-1]:
        if t.size and (t.min() < 0 or t.max() >= k):
            raise ValueError(f"target labels must be in [0, {k - 1}], got values in "
                             f"[{int(t.min())}, {int(t.max())}]")
        return pred, t.astype(np.int64), pred.shape[:-1], {}
    target = _finite(as_floats(target, "target"), "target").astype(pred.dtype, copy=False)
    if target.shape != pred.shape:
        raise ValueError(f"target must be integer labels of shape {pred.shape[:-1]} or "
                         f"probabilities of shape {pred.shape}, got {target.dtype} "
                         f"{target.shape}")
    if target.size and target.min() < 0:
        raise ValueError("target probabilities must be non-negative")
    return pred, target, pred.shape[:-1], {}


def _check_ce_probs(pred, target, eps=BCE_EPS):
    pred, target, shape, _ = _check_classes(pred, target, probabilities=True)
    return pred, target, shape, {"eps": as_real(eps, "eps", low=0.0, high=0.5)}


def _ce_probs(pred, target, scale, want_grad, eps):
    p = np.clip(pred, eps, 1.0)
    if target.dtype.kind == "i":
        idx = target[..., None]
        l = -np.log(np.take_along_axis(p, idx, axis=-1))[..., 0]
        if not want_grad:
            return l, None
        g = np.zeros_like(pred)
        np.put_along_axis(g, idx, -1 / np.take_along_axis(p, idx, axis=-1), axis=-1)
    else:
        l = -np.sum(np.where(target > 0, target * np.log(p), 0), axis=-1)
        if not want_grad:
            return l, None
        g = -target / p
    return l, g if scale is None else g * scale[..., None]


def _ce_logits(pred, target, scale, want_grad):
    k = pred.shape[-1]
    rows = np.ascontiguousarray(pred).reshape(-1, k)
    empty2 = np.empty((0, k), dtype=pred.dtype)
    loss = np.empty(rows.shape[0], dtype=pred.dtype)
    grad = np.empty_like(rows) if want_grad else empty2
    sc = (np.ascontiguousarray(scale, dtype=pred.dtype).reshape(-1) if scale is not None
          else np.empty(0, dtype=pred.dtype))
    if target.dtype.kind == "i":
        ce_logits(rows, empty2, np.ascontiguousarray(target).reshape(-1), sc, loss, grad)
    else:
        ce_logits(rows, np.ascontiguousarray(target).reshape(-1, k), np.empty(0, np.int64), sc,
                  loss, grad)
    return loss.reshape(pred.shape[:-1]), grad.reshape(pred.shape) if want_grad else None


def _check_nll(pred, target):
    pred, target, shape, _ = _check_classes(pred, target, name="pred")
    if target.dtype.kind != "i":
        raise ValueError(f"target of nll_loss must be integer labels of shape {pred.shape[:-1]}")
    return pred, target, shape, {}


def _nll(pred, target, scale, want_grad):
    idx = target[..., None]
    l = -np.take_along_axis(pred, idx, axis=-1)[..., 0]
    if not want_grad:
        return l, None
    g = np.zeros_like(pred)
    np.put_along_axis(g, idx, -1.0 if scale is None else -scale[..., None], axis=-1)
    return l, g


def _check_kl(pred, target):
    pred = as_floats(pred, "pred")
    if pred.size and (np.isnan(pred).any() or (pred == np.inf).any()):
        raise ValueError("pred (log-probabilities) must not be NaN or +inf")
    target = _finite(as_floats(target, "target"), "target").astype(pred.dtype, copy=False)
    _same_shape(pred, target)
    if target.size and target.min() < 0:
        raise ValueError("target probabilities must be non-negative")
    return pred, target, pred.shape, {}


def _kl(pred, target, scale, want_grad):
    t = target
    l = np.where(t > 0, t * (np.log(np.where(t > 0, t, 1)) - pred), 0)
    return l, _scaled(-t, scale) if want_grad else None


mse = Loss("mse", _check_pair, _mse, doc="Mean squared error (p - t)**2; gradient 2 (p - t).")
mae = Loss("mae", _check_pair, _mae, doc="Absolute error |p - t|; gradient sign(p - t) (0 at 0).")
huber = Loss("huber", _check_huber, _huber, {"delta": 1.0},
             doc="Huber loss (PyTorch's huber_loss): r**2/2 for |r| <= delta, else "
                 "delta (|r| - delta/2); gradient clip(r, -delta, delta).")
log_cosh = Loss("log_cosh", _check_pair, _log_cosh,
                doc="log(cosh(p - t)) without overflow; gradient tanh(p - t).")
hinge = Loss("hinge", _check_hinge, _hinge,
             doc="max(0, 1 - t p) with targets in {-1, +1}; gradient -t where t p < 1 (0 at the "
                 "kink t p = 1).")
gaussian_nll = Loss("gaussian_nll", _check_gnll, _gnll, {"var": 1.0, "full": False, "eps": 1e-6},
                    doc="Gaussian negative log-likelihood (PyTorch's gaussian_nll_loss): "
                        "(log(max(var, eps)) + (p - t)**2 / max(var, eps)) / 2 (+ log(2 pi)/2 "
                        "with full=True); gradient (p - t) / max(var, eps) w.r.t. the mean p.")
binary_cross_entropy = Loss(
    "binary_cross_entropy", _check_bce, _bce, {"eps": BCE_EPS},
    doc="-(t log p + (1 - t) log(1 - p)) from probabilities p, clipped to [eps, 1 - eps] "
        "(eps=1e-12; PyTorch clamps the logs at -100 instead, the same for p > 4e-44); gradient "
        "(p - t) / (p (1 - p)).")
binary_cross_entropy_logits = Loss(
    "binary_cross_entropy_logits", _check_bce_logits, _bce_logits,
    doc="Binary cross-entropy from logits z: softplus(z) - t z, stable for every z (PyTorch's "
        "binary_cross_entropy_with_logits); gradient sigmoid(z) - t.")
cross_entropy = Loss(
    "cross_entropy", _check_ce_probs, _ce_probs, {"eps": BCE_EPS},
    doc="Categorical cross-entropy -sum(t log p) from probabilities p (classes on the last axis, "
        "clipped to >= eps), targets as probabilities or integer labels; gradient -t / p.")
cross_entropy_logits = Loss(
    "cross_entropy_logits", _check_classes, _ce_logits,
    doc="Categorical cross-entropy from logits, fused log-softmax + CE in C (PyTorch's "
        "cross_entropy for (N, C)): targets as integer labels (N,) or probabilities (N, C); "
        "gradient softmax(z) sum(t) - t (softmax - onehot for labels).")
nll_loss = Loss("nll_loss", _check_nll, _nll,
                doc="Negative log-likelihood -logp[label] from log-probabilities (PyTorch's "
                    "nll_loss); gradient -onehot.")
kl_div = Loss("kl_div", _check_kl, _kl,
              doc="KL-divergence loss with PyTorch's argument order: pred = log q, target = p, "
                  "loss t (log t - pred) with 0 log 0 = 0; use reduction='batchmean' for the "
                  "mathematical KL per sample; gradient -t.")

#: every loss, by name
LOSSES = {L.__name__: L for L in (mse, mae, huber, log_cosh, hinge, gaussian_nll,
                                  binary_cross_entropy, binary_cross_entropy_logits,
                                  cross_entropy, cross_entropy_logits, nll_loss, kl_div)}


def get_loss(loss):
    """A loss by name (``"mse"``) or the Loss itself."""
    if isinstance(loss, Loss):
        return loss
    if isinstance(loss, str) and loss.lower() in LOSSES:
        return LOSSES[loss.lower()]
    raise ValueError(f"loss must be one of {', '.join(map(repr, LOSSES))} or a Loss, got {loss!r}")
