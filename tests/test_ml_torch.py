"""fastcalc.ml against torch.nn.functional semantics (values and autograd gradients), where the two
agree; skipped without PyTorch (``pip install fastcalc[torch]``).

Documented differences (not tested as equal): softplus for beta x > 20 (PyTorch returns x, fastcalc
the exact value, a difference below 2.1e-9 / beta); binary_cross_entropy at probabilities below
~4e-44 (PyTorch clamps log at -100, fastcalc clips p to 1e-12); classes on the last axis (PyTorch:
axis 1); sample ``weights`` (PyTorch's ``weight`` is per class for cross_entropy); hinge and
log_cosh have no PyTorch counterpart of the same name.  Where PyTorch is less accurate, tolerances
say so: gelu_tanh's derivative for x < -9 (PyTorch's tanh form cancels to 0; fastcalc keeps the
tiny exact value), hardsigmoid's derivative (PyTorch uses the float32 constant 1/6 also in
float64), float32 gelu near x = -3 (PyTorch's 1 + erf cancels; fastcalc uses erfc).
"""
import numpy as np
import pytest

from fastcalc import ml

torch = pytest.importorskip("torch")
F = torch.nn.functional

X = np.concatenate([np.linspace(-12, 12, 97), [0.0, -3.0, 3.0, 1e-8, -1e-8]])

ACT = {
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "relu": F.relu,
    "leaky_relu": lambda t: F.leaky_relu(t, 0.01),
    "elu": F.elu,
    "selu": F.selu,
    "softplus": F.softplus,
    "gelu": F.gelu,
    "gelu_tanh": lambda t: F.gelu(t, approximate="tanh"),
    "silu": F.silu,
    "mish": F.mish,
    "hard_sigmoid": F.hardsigmoid,
}


def _torch_value_grad(f, x):
    t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    y = f(t)
    (g,) = torch.autograd.grad(y.sum(), t)
    return y.detach().numpy(), g.numpy()


@pytest.mark.parametrize("name", sorted(ACT))
def test_activations_match_torch(name):
    y, g = _torch_value_grad(ACT[name], X)
    fy, fg = getattr(ml, name).value_and_grad(X)
    np.testing.assert_allclose(fy, y, rtol=1e-13, atol=1e-15)
    gtol = {"gelu_tanh": (1e-12, 1e-12), "hard_sigmoid": (1e-7, 0)}.get(name, (1e-12, 1e-15))
    np.testing.assert_allclose(fg, g, rtol=gtol[0], atol=gtol[1])   # incl. subgradients at kinks


def test_float32_activations_match_torch():
    x = X.astype(np.float32)
    for name, f in ACT.items():
        y32 = f(torch.tensor(x)).numpy()
        y64 = f(torch.tensor(x.astype(np.float64))).numpy()
        got = getattr(ml, name)(x)
        assert got.dtype == np.float32
        np.testing.assert_allclose(got, y64, rtol=3e-6, atol=3e-7, err_msg=name)
        if name != "gelu":
            np.testing.assert_allclose(got, y32, rtol=3e-6, atol=3e-7, err_msg=name)


@pytest.mark.parametrize("log", [False, True])
def test_softmax_and_vjp_match_torch(log):
    rng = np.random.default_rng(0)
    z = rng.normal(size=(4, 6)) * 5
    u = rng.normal(size=(4, 6))
    t = torch.tensor(z, requires_grad=True)
    y = (F.log_softmax if log else F.softmax)(t, dim=-1)
    (g,) = torch.autograd.grad(y, t, torch.tensor(u))
    f = ml.log_softmax if log else ml.softmax
    np.testing.assert_allclose(f(z), y.detach().numpy(), rtol=1e-14, atol=1e-16)
    np.testing.assert_allclose(f.vjp(z, u), g.numpy(), rtol=1e-12, atol=1e-15)


def _loss_pair(fn_torch, pred, *rest):
    t = torch.tensor(pred, requires_grad=True)
    v = fn_torch(t, *[torch.tensor(r) for r in rest])
    (g,) = torch.autograd.grad(v.sum(), t)
    return v.detach().numpy(), g.numpy()


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.filterwarnings("ignore:reduction. .mean. divides")
def test_losses_match_torch(reduction):
    rng = np.random.default_rng(1)
    p, t = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    prob, tprob = rng.uniform(0.01, 0.99, (5, 3)), rng.uniform(0, 1, (5, 3))
    z, lab = rng.normal(size=(5, 4)) * 3, rng.integers(0, 4, 5)
    ydist = rng.dirichlet(np.ones(4), 5)
    var = rng.uniform(0.5, 2, (5, 3))
    cases = [
        (ml.mse, (p, t), {}, lambda a, b: F.mse_loss(a, b, reduction=reduction)),
        (ml.mae, (p, t), {}, lambda a, b: F.l1_loss(a, b, reduction=reduction)),
        (ml.huber, (p, t), {"delta": 0.5},
         lambda a, b: F.huber_loss(a, b, delta=0.5, reduction=reduction)),
        (ml.binary_cross_entropy, (prob, tprob), {},
         lambda a, b: F.binary_cross_entropy(a, b, reduction=reduction)),
        (ml.binary_cross_entropy_logits, (p, tprob), {},
         lambda a, b: F.binary_cross_entropy_with_logits(a, b, reduction=reduction)),
        (ml.cross_entropy_logits, (z, lab), {}, lambda a, b: F.cross_entropy(a, b,
                                                                             reduction=reduction)),
        (ml.cross_entropy_logits, (z, ydist), {},
         lambda a, b: F.cross_entropy(a, b, reduction=reduction)),
        (ml.nll_loss, (np.log(ydist), lab), {}, lambda a, b: F.nll_loss(a, b,
                                                                         reduction=reduction)),
        (ml.kl_div, (np.log(ydist[::-1].copy()), ydist), {},
         lambda a, b: F.kl_div(a, b, reduction=reduction)),
        (ml.gaussian_nll, (p, t), {"var": var, "full": True},
         lambda a, b: F.gaussian_nll_loss(a, b, torch.tensor(var), full=True,
                                          reduction=reduction)),
    ]
    for L, (pred, target), kw, tf in cases:
        v, g = _loss_pair(tf, pred, target)
        fv, fg = L.value_and_grad(pred, target, reduction=reduction, **kw)
        np.testing.assert_allclose(fv, v, rtol=1e-12, atol=1e-15, err_msg=L.__name__)
        np.testing.assert_allclose(fg, g, rtol=1e-11, atol=1e-15, err_msg=L.__name__)


def test_kl_div_batchmean_matches_torch():
    rng = np.random.default_rng(2)
    y = rng.dirichlet(np.ones(4), 6)
    logq = np.log(rng.dirichlet(np.ones(4), 6))
    v = F.kl_div(torch.tensor(logq), torch.tensor(y), reduction="batchmean").item()
    assert ml.kl_div(logq, y, reduction="batchmean") == pytest.approx(v, rel=1e-13)
