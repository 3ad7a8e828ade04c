"""One registry of fastcalc.ml's public array functions, fuzzed for bad and edge input: strings
and complex numbers (TypeError naming the argument), NaN (ValueError naming it, or NaN out for
activations), empty arrays and huge values (no crash, no warning)."""
import warnings

import numpy as np
import pytest

from fastcalc import ml
from fastcalc.ml import info

V = np.array([0.2, 0.3, 0.5])
Z2 = np.array([[1.0, -1.0, 0.5], [0.0, 2.0, -3.0]])
LAB = np.array([0, 2])

# name -> (function, valid positional args, index of the argument to corrupt, its name)
REGISTRY = {}
for _n in ("sigmoid", "tanh", "relu", "leaky_relu", "elu", "selu", "softplus", "gelu", "gelu_tanh",
           "silu", "mish", "hard_sigmoid"):
    REGISTRY[_n] = (getattr(ml, _n), (V,), 0, "x")
    REGISTRY[_n + ".grad"] = (getattr(ml, _n).grad, (V,), 0, "x")
REGISTRY["softmax"] = (ml.softmax, (Z2,), 0, "x")
REGISTRY["log_softmax"] = (ml.log_softmax, (Z2,), 0, "x")
for _n in ("mse", "mae", "huber", "log_cosh", "gaussian_nll"):
    REGISTRY[_n] = (getattr(ml, _n), (V, V[::-1].copy()), 0, "pred")
    REGISTRY[_n + ":target"] = (getattr(ml, _n), (V, V[::-1].copy()), 1, "target")
REGISTRY["hinge"] = (ml.hinge, (V, np.array([1.0, -1.0, 1.0])), 0, "pred")
REGISTRY["binary_cross_entropy"] = (ml.binary_cross_entropy, (V, V), 0, "pred")
REGISTRY["binary_cross_entropy_logits"] = (ml.binary_cross_entropy_logits, (V, V), 0, "pred")
REGISTRY["cross_entropy_logits"] = (ml.cross_entropy_logits, (Z2, LAB), 0, "pred")
REGISTRY["cross_entropy"] = (ml.cross_entropy, (ml.softmax(Z2), LAB), 0, "pred")
REGISTRY["nll_loss"] = (ml.nll_loss, (ml.log_softmax(Z2), LAB), 0, "pred")
REGISTRY["kl_div"] = (ml.kl_div, (np.log(V), V), 1, "target")
REGISTRY["entropy"] = (ml.entropy, (V,), 0, "p")
REGISTRY["kl_divergence"] = (ml.kl_divergence, (V, V[::-1].copy()), 1, "q")
REGISTRY["info.cross_entropy"] = (info.cross_entropy, (V, V), 0, "p")
REGISTRY["js_divergence"] = (ml.js_divergence, (V, V), 0, "p")
REGISTRY["mutual_information"] = (ml.mutual_information, (np.eye(2) / 2,), 0, "pxy")

ACTIVATION_LIKE = {k for k in REGISTRY if "." not in k or k.endswith(".grad")} - {
    "info.cross_entropy"}
ACTIVATION_LIKE = {k for k in ACTIVATION_LIKE if REGISTRY[k][3] == "x"}


def _with(args, i, value):
    a = list(args)
    a[i] = value
    return tuple(a)


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_valid_call_runs_without_warnings(name):
    f, args, _, _ = REGISTRY[name]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = f(*args)
    assert np.all(np.isfinite(r))


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_strings_and_complex_are_type_errors_naming_the_argument(name):
    f, args, i, arg = REGISTRY[name]
    with pytest.raises(TypeError, match=arg):
        f(*_with(args, i, "abc"))
    with pytest.raises(TypeError, match=arg):
        f(*_with(args, i, np.asarray(args[i]) + 1j))


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_nan(name):
    f, args, i, arg = REGISTRY[name]
    bad = np.array(args[i], dtype=float)
    bad.flat[0] = np.nan
    if name in ACTIVATION_LIKE:
        r = f(*_with(args, i, bad))           # elementwise: NaN in, NaN out (as NumPy)
        assert np.isnan(np.asarray(r)).any()
    else:
        with pytest.raises(ValueError, match=arg):
            f(*_with(args, i, bad))


@pytest.mark.parametrize("name", sorted(k for k in REGISTRY if k in ACTIVATION_LIKE))
def test_empty_and_huge(name):
    f, args, i, arg = REGISTRY[name]
    e = f(*_with(args, i, np.empty((0, 3))))
    assert np.asarray(e).size == 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = f(*_with(args, i, np.array([[1e308, -1e308, 0.0]])))
    assert not np.isnan(np.asarray(r)).any()
