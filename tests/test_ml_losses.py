"""fastcalc.ml losses: values against analytic formulas / scipy.special, gradients against
finite differences (fastcalc.gradient), reductions, weights, float32, extremes, bad input."""
import warnings

import numpy as np
import pytest
from scipy.special import expit, log_softmax, logsumexp, softmax, xlogy

import fastcalc as fc
from fastcalc import ml

rng = np.random.default_rng(0)
P = rng.normal(size=(6, 4))
T = rng.normal(size=(6, 4))
PROB = rng.uniform(0.05, 0.95, size=(6, 4))
TPROB = rng.uniform(0, 1, size=(6, 4))
SIGNS = np.where(rng.uniform(size=(6, 4)) > 0.5, 1.0, -1.0)
Z = rng.normal(size=(6, 5)) * 3
LAB = rng.integers(0, 5, size=6)
YDIST = softmax(rng.normal(size=(6, 5)), axis=1)

# name -> (pred, target, analytic per-element loss, kwargs)
CASES = {
    "mse": (P, T, (P - T) ** 2, {}),
    "mae": (P, T, np.abs(P - T), {}),
    "huber": (P, T, np.where(np.abs(P - T) <= 0.7, 0.5 * (P - T) ** 2,
                             0.7 * (np.abs(P - T) - 0.35)), {"delta": 0.7}),
    "log_cosh": (P, T, np.log(np.cosh(P - T)), {}),
    "hinge": (P, SIGNS, np.maximum(0, 1 - SIGNS * P), {}),
    "gaussian_nll": (P, T, 0.5 * (np.log(2.0) + (P - T) ** 2 / 2.0), {"var": 2.0}),
    "binary_cross_entropy": (PROB, TPROB, -(TPROB * np.log(PROB) + (1 - TPROB) * np.log(1 - PROB)),
                             {}),
    "binary_cross_entropy_logits": (P, TPROB, -(TPROB * np.log(expit(P))
                                                + (1 - TPROB) * np.log(1 - expit(P))), {}),
    "cross_entropy": (softmax(Z, axis=1), LAB, -np.log(softmax(Z, axis=1)[np.arange(6), LAB]), {}),
    "cross_entropy_logits": (Z, LAB, logsumexp(Z, axis=1) - Z[np.arange(6), LAB], {}),
    "nll_loss": (log_softmax(Z, axis=1), LAB, -log_softmax(Z, axis=1)[np.arange(6), LAB], {}),
    "kl_div": (np.log(softmax(Z, axis=1)), YDIST, xlogy(YDIST, YDIST) - YDIST * np.log(
        softmax(Z, axis=1)), {}),
}
CASES["cross_entropy_logits_probs"] = (Z, YDIST, -(YDIST * log_softmax(Z, axis=1)).sum(1), {})


def _loss(name):
    return getattr(ml, name.replace("_probs", ""))


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_values_against_analytic(name, reduction):
    pred, target, elem, kw = CASES[name]
    L = _loss(name)
    got = L(pred, target, reduction=reduction, **kw)
    want = {"mean": elem.mean(), "sum": elem.sum(), "none": elem}[reduction]
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradients_against_finite_differences(name):
    pred, target, _, kw = CASES[name]
    L = _loss(name)
    w = rng.uniform(0.5, 2.0, size=np.shape(L(pred, target, reduction="none", **kw)))
    for weights in (None, w):
        val, g = L.value_and_grad(pred, target, weights=weights, **kw)
        assert g.shape == pred.shape
        fd = fc.gradient(lambda v: L(v.reshape(pred.shape), target, weights=weights, **kw),
                         pred.ravel().copy(), accuracy=4,
                         step=np.maximum(np.abs(pred.ravel()) * 1e-3, 1e-9)).reshape(pred.shape)
        np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(L.grad(pred, target, weights=weights, **kw), g, rtol=1e-15)
        assert val == pytest.approx(L(pred, target, weights=weights, **kw), rel=1e-15)


def test_weighted_mean_and_batchmean():
    w = np.array([1.0, 0.0, 2.0, 1.0, 1.0, 3.0])
    elem = logsumexp(Z, axis=1) - Z[np.arange(6), LAB]
    got = ml.cross_entropy_logits(Z, LAB, weights=w)
    assert got == pytest.approx((w * elem).sum() / w.sum(), rel=1e-14)
    assert ml.cross_entropy_logits(Z, LAB, weights=w, reduction="sum") == pytest.approx(
        (w * elem).sum(), rel=1e-14)
    kl = ml.kl_div(np.log(softmax(Z, axis=1)), YDIST, reduction="batchmean")
    want = (xlogy(YDIST, YDIST) - YDIST * log_softmax(Z, axis=1)).sum() / 6
    assert kl == pytest.approx(want, rel=1e-13)
    # fused CE from logits: gradient softmax - onehot (mean over 6 samples)
    g = ml.cross_entropy_logits.grad(Z, LAB)
    onehot = np.eye(5)[LAB]
    np.testing.assert_allclose(g, (softmax(Z, axis=1) - onehot) / 6, rtol=1e-13, atol=1e-16)
    g2 = ml.cross_entropy_logits.grad(Z, YDIST, reduction="sum")
    np.testing.assert_allclose(g2, softmax(Z, axis=1) - YDIST, rtol=1e-13, atol=1e-16)


def test_extreme_logits_stable_no_warnings():
    z = np.array([[1e308, 0.0, -1e308], [-800.0, 800.0, 0.0], [0.0, 0.0, 0.0]])
    y = np.array([1, 0, 2])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        l, g = ml.cross_entropy_logits.value_and_grad(z, y, reduction="none")
        bl, bg = ml.binary_cross_entropy_logits.value_and_grad(
            np.array([-1e308, 1e308, -800.0, 800.0]), np.array([1.0, 0.0, 0.0, 1.0]),
            reduction="none")
        pb = ml.binary_cross_entropy(np.array([0.0, 1.0]), np.array([1.0, 0.0]), reduction="none")
        lc = ml.log_cosh(np.array([1e308, -1e4]), np.array([0.0, 0.0]), reduction="none")
    assert l.tolist() == [1e308, 1600.0, pytest.approx(np.log(3))]
    assert np.isfinite(g).all()
    assert bl.tolist() == [1e308, 1e308, 0.0, 0.0]
    assert bg.tolist() == [-1.0, 1.0, 0.0, 0.0]
    assert pb == pytest.approx(-np.log(1e-12), rel=1e-5)      # documented clip eps = 1e-12
    assert lc[1] == pytest.approx(1e4 - np.log(2), rel=1e-15) and np.isfinite(lc[0])


def test_float32_preserved():
    z = Z.astype(np.float32)
    l, g = ml.cross_entropy_logits.value_and_grad(z, LAB)
    assert g.dtype == np.float32 and np.asarray(l).dtype == np.float32
    assert float(l) == pytest.approx((logsumexp(Z, axis=1) - Z[np.arange(6), LAB]).mean(),
                                     rel=1e-5)
    l2, g2 = ml.mse.value_and_grad(P.astype(np.float32), T.astype(np.float32))
    assert g2.dtype == np.float32


def test_bad_input():
    with pytest.raises(ValueError, match="target must have the shape of pred"):
        ml.mse(P, T[:, :2])
    with pytest.raises(ValueError, match="pred must be finite"):
        ml.mse(np.array([np.nan]), np.array([0.0]))
    with pytest.raises(ValueError, match="target must be finite"):
        ml.mae(np.array([0.0]), np.array([np.inf]))
    with pytest.raises(ValueError, match=r"pred must be probabilities in \[0, 1\]"):
        ml.binary_cross_entropy(np.array([1.2]), np.array([1.0]))
    with pytest.raises(ValueError, match=r"target must be probabilities in \[0, 1\]"):
        ml.binary_cross_entropy_logits(np.array([1.2]), np.array([-1.0]))
    with pytest.raises(ValueError, match=r"target labels must be in \[0, 4\]"):
        ml.cross_entropy_logits(Z, np.array([0, 1, 2, 3, 4, 5]))
    with pytest.raises(ValueError, match=r"target labels must be in \[0, 4\]"):
        ml.nll_loss(Z, np.array([0, 1, 2, 3, 4, -1]))
    with pytest.raises(ValueError, match="integer labels of shape"):
        ml.cross_entropy_logits(Z, np.zeros((6, 3)))
    with pytest.raises(ValueError, match="target of nll_loss must be integer labels"):
        ml.nll_loss(Z, YDIST)
    with pytest.raises(ValueError, match="target of hinge must contain only -1 and"):
        ml.hinge(P, np.zeros_like(P))
    with pytest.raises(ValueError, match="weights must be non-negative"):
        ml.mse(P, T, weights=-np.ones(4))
    with pytest.raises(ValueError, match="weights must broadcast"):
        ml.mse(P, T, weights=np.ones(3))
    with pytest.raises(ValueError, match="weights must not all be zero"):
        ml.mse(P, T, weights=0.0)
    with pytest.raises(ValueError, match="reduction must be one of"):
        ml.mse(P, T, reduction="avg")
    with pytest.raises(ValueError, match="delta must be > 0"):
        ml.huber(P, T, delta=0)
    with pytest.raises(ValueError, match="var must be non-negative"):
        ml.gaussian_nll(P, T, var=-1.0)
    with pytest.raises(TypeError, match="unexpected keyword"):
        ml.mse(P, T, delta=1.0)
    with pytest.raises(ValueError, match="pred must have the classes on its last axis"):
        ml.cross_entropy_logits(np.float64(1.0), LAB)
    with pytest.raises(TypeError, match="pred must be an array of real numbers"):
        ml.mse("a", T)
    with pytest.raises(ValueError, match="loss must be one of"):
        ml.get_loss("l2")
