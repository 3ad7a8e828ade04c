"""fastcalc.ml activations: values and derivatives against mpmath / scipy.special, extreme inputs,
float32, out=, built-in use, bad input."""
import pickle
import warnings

import mpmath as mp
import numpy as np
import pytest
import scipy.special as sc

import fastcalc as fc
from fastcalc import ml

with mp.workdps(40):
    SELU_A = mp.mpf("1.6732632423543772848170429916717")
    SELU_S = mp.mpf("1.0507009873554804934193349852946")
    _K = mp.sqrt(2 / mp.pi)


def _sig(x):
    return 1 / (1 + mp.exp(-x))


def _softplus(x, beta=1):
    return mp.log1p(mp.exp(beta * x)) / beta


def _Phi(x):
    return mp.ncdf(x)


# name -> (value(x) in mpmath, parameter keyword or None)
REF = {
    "sigmoid": lambda x, p: _sig(x),
    "tanh": lambda x, p: mp.tanh(x),
    "relu": lambda x, p: max(x, 0),
    "leaky_relu": lambda x, p: x if x > 0 else p * x,
    "elu": lambda x, p: x if x > 0 else p * mp.expm1(x),
    "selu": lambda x, p: SELU_S * (x if x > 0 else SELU_A * mp.expm1(x)),
    "softplus": lambda x, p: _softplus(x, p),
    "gelu": lambda x, p: x * _Phi(x),
    "gelu_tanh": lambda x, p: x * (1 + mp.tanh(_K * (x + mp.mpf("0.044715") * x ** 3))) / 2,
    "silu": lambda x, p: x * _sig(x),
    "mish": lambda x, p: x * mp.tanh(_softplus(x)),
    "hard_sigmoid": lambda x, p: min(max(x / 6 + mp.mpf(1) / 2, 0), 1),
}
PARAM = {"leaky_relu": 0.01, "elu": 1.0, "softplus": 1.0}
SMOOTH = {"sigmoid", "tanh", "softplus", "gelu", "gelu_tanh", "silu", "mish", "selu", "elu"}

PTS = np.array([-30.0, -7.5, -2.9, -1.0, -0.3, -1e-3, 1e-3, 0.2, 0.9, 2.5, 6.0, 19.0, 25.0, 40.0])


def _mp_deriv(f, x):
    return mp.diff(f, mp.mpf(x))


@pytest.mark.parametrize("name", sorted(REF))
def test_value_and_derivative_against_mpmath(name):
    f = getattr(ml, name)
    p = PARAM.get(name)
    ref = REF[name]
    with mp.workdps(40):                      # other test modules may change mp.dps
        want = np.array([float(ref(mp.mpf(x), p)) for x in PTS])
        dwant = np.array([float(_mp_deriv(lambda t: ref(t, p), x)) for x in PTS])
    got = f(PTS)
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-300)   # libmvec: a few ulp
    np.testing.assert_allclose(f.grad(PTS), dwant, rtol=1e-13, atol=1e-300)
    y, g = f.value_and_grad(PTS)
    np.testing.assert_array_equal(y, got)
    np.testing.assert_array_equal(g, f.grad(PTS))


def test_parameters():
    x = np.array([-2.0, -0.5, 0.0, 1.5])
    np.testing.assert_allclose(ml.leaky_relu(x, alpha=0.2), np.where(x > 0, x, 0.2 * x))
    np.testing.assert_allclose(ml.elu(x, alpha=2.0), np.where(x > 0, x, 2 * np.expm1(x)))
    np.testing.assert_allclose(ml.elu.grad(x, alpha=2.0), np.where(x > 0, 1, 2 * np.exp(x)))
    np.testing.assert_allclose(ml.softplus(x, beta=3.0), np.log1p(np.exp(3 * x)) / 3, rtol=1e-15)
    np.testing.assert_allclose(ml.softplus.grad(x, beta=3.0), sc.expit(3 * x), rtol=1e-15)


def test_subgradients_at_kinks_follow_pytorch():
    z = np.array([0.0])
    assert ml.relu.grad(z)[0] == 0.0          # torch: relu'(0) = 0
    assert ml.leaky_relu.grad(z)[0] == 0.01   # torch: negative slope at 0
    assert ml.hard_sigmoid.grad(np.array([-3.0, 3.0])).tolist() == [0.0, 0.0]
    assert ml.hard_sigmoid.grad(np.array([0.0]))[0] == pytest.approx(1 / 6)


def test_scipy_special_agreement():
    x = np.linspace(-50, 50, 2001)
    np.testing.assert_allclose(ml.sigmoid(x), sc.expit(x), rtol=1e-15)
    np.testing.assert_allclose(ml.gelu(x), x * sc.ndtr(x), rtol=1e-13, atol=1e-300)
    np.testing.assert_allclose(ml.tanh(x), np.tanh(x), rtol=1e-15)


EXTREME = np.array([-1e308, -1e10, -800.0, -745.0, 745.0, 800.0, 1e10, 1e308, -np.inf, np.inf])


@pytest.mark.parametrize("name", sorted(REF))
def test_extreme_inputs_are_finite_limits(name):
    f = getattr(ml, name)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y, g = f.value_and_grad(EXTREME)
    assert not np.isnan(y).any() and not np.isnan(g).any()
    assert np.isfinite(g).all()
    finite = np.isfinite(EXTREME)
    # limits: the derivative of every activation tends to a constant in the tails
    assert np.isfinite(y[finite & (EXTREME < 0)]).all()


def test_extreme_exact_values():
    assert ml.sigmoid(-800.0) == 0.0 and ml.sigmoid(800.0) == 1.0
    assert ml.sigmoid.grad(-800.0) == 0.0
    assert ml.softplus(1e308) == 1e308 and ml.softplus(-1e308) == 0.0
    assert ml.gelu(-1e308) == 0.0 and ml.gelu(1e308) == 1e308
    assert ml.silu(-1e308) == 0.0 and ml.mish(1e308) == 1e308
    assert ml.softplus(-800.0) == 0.0 and ml.softplus(800.0) == 800.0
    # tails keep their relative accuracy (no 1 + erf cancellation)
    with mp.workdps(40):
        assert ml.gelu(-10.0) == pytest.approx(float(-10 * mp.ncdf(-10)), rel=1e-13)
        assert ml.sigmoid(-700.0) == pytest.approx(float(_sig(mp.mpf(-700))), rel=1e-14)


@pytest.mark.parametrize("name", sorted(REF))
def test_nan_propagates(name):
    f = getattr(ml, name)
    y, g = f.value_and_grad(np.array([np.nan, 1.0]))
    assert np.isnan(y[0]) and np.isnan(g[0]) and np.isfinite(y[1])


@pytest.mark.parametrize("name", sorted(REF))
def test_float32_kept_and_accurate(name):
    f = getattr(ml, name)
    x = np.linspace(-8, 8, 1001)
    y32, g32 = f.value_and_grad(x.astype(np.float32))
    assert y32.dtype == np.float32 and g32.dtype == np.float32
    y64, g64 = f.value_and_grad(x.astype(np.float32).astype(np.float64))
    np.testing.assert_allclose(y32, y64, rtol=2e-6, atol=2e-7)
    np.testing.assert_allclose(g32, g64, rtol=2e-6, atol=2e-7)


def test_shapes_scalars_out_and_noncontiguous():
    x = np.arange(24.0).reshape(2, 3, 4) / 5 - 2
    y = ml.tanh(x)
    assert y.shape == x.shape
    np.testing.assert_allclose(y, np.tanh(x), rtol=1e-15)
    assert isinstance(ml.sigmoid(0.0), np.float64) and ml.sigmoid(0.0) == 0.5
    out = np.empty_like(x)
    assert ml.tanh(x, out=out) is out
    np.testing.assert_array_equal(out, y)
    xt = x.T                                  # non-contiguous input and out
    o2 = np.empty((4, 3, 2)).T.T
    o3 = np.empty((2, 3, 4)).transpose(2, 1, 0)
    assert ml.sigmoid(xt, out=o3) is o3
    np.testing.assert_allclose(o3, sc.expit(xt), rtol=1e-15)
    v, g = np.empty_like(x), np.empty_like(x)
    rv, rg = ml.gelu.value_and_grad(x, out=v, grad_out=g)
    assert rv is v and rg is g
    z = x.copy()
    ml.relu(z, out=z)                         # in place
    np.testing.assert_array_equal(z, np.maximum(x, 0))
    assert ml.relu(np.array([], dtype=np.float32)).dtype == np.float32
    assert o2.shape == (4, 3, 2)
    assert ml.relu([1, -2]).tolist() == [1.0, 0.0]     # integer lists become float64


def test_bad_input():
    with pytest.raises(TypeError, match="x must be an array of real numbers"):
        ml.sigmoid("1.0")
    with pytest.raises(TypeError, match="x must be an array of real numbers"):
        ml.sigmoid(np.array([1j]))
    with pytest.raises(ValueError, match="out must be an ndarray of shape"):
        ml.sigmoid(np.zeros(3), out=np.zeros(4))
    with pytest.raises(ValueError, match="out must be an ndarray of shape .* dtype float32"):
        ml.sigmoid(np.zeros(3, np.float32), out=np.zeros(3))
    with pytest.raises(ValueError, match="grad_out"):
        ml.sigmoid.value_and_grad(np.zeros(3), grad_out=[0, 0, 0])
    with pytest.raises(TypeError, match="takes 'alpha'"):
        ml.leaky_relu(np.zeros(3), beta=1.0)
    with pytest.raises(TypeError, match="takes no parameters"):
        ml.tanh(np.zeros(3), alpha=1.0)
    with pytest.raises(ValueError, match="beta must be > 0"):
        ml.softplus(np.zeros(3), beta=0.0)
    with pytest.raises(ValueError, match="alpha must be a finite number"):
        ml.elu(np.zeros(3), alpha=np.nan)
    with pytest.raises(TypeError, match="derivative"):
        ml.tanh.grad.value_and_grad(np.zeros(2))
    with pytest.raises(ValueError, match="activation must be one of"):
        ml.get_activation("relu6")


def test_usable_as_builtin_in_c():
    assert isinstance(ml.tanh, fc.Function) and ml.tanh.grad.output_kind == "grad"
    assert ml.tanh.lowlevel.signature == "double (double)"
    # derivative runs the C batch entry; compare with the analytic derivative
    x = np.array([-1.0, 0.3, 2.0])
    np.testing.assert_allclose(fc.derivative(ml.tanh, x), 1 - np.tanh(x) ** 2, rtol=1e-9)
    # quad: integral of sigmoid over [-a, a] is a (odd part vanishes); of gelu over [0, 1]
    y, err = fc.quad(ml.sigmoid, -3.0, 3.0)
    assert abs(y - 3.0) < 1e-12 and err < 1e-10
    from scipy.integrate import quad as squad
    assert fc.quad(ml.gelu, 0.0, 1.0)[0] == pytest.approx(squad(lambda t: t * sc.ndtr(t), 0, 1)[0],
                                                          rel=1e-12)
    # descent: softplus has its minimum at -inf; minimise (softplus(x) - x/2) has none either, so
    # use the lowlevel pointer with scipy instead and a built-in minimisation of mish
    res = fc.minimize(ml.mish, np.array([0.0]), method="newton", jac=ml.mish.grad)
    xs = float(res.x[0])
    assert abs(float(ml.mish.grad(xs))) < 1e-6
    assert pickle.loads(pickle.dumps(ml.gelu)) is ml.gelu


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_softmax_and_log_softmax(dtype):
    rng = np.random.default_rng(0)
    x = (rng.normal(size=(5, 7)) * 30).astype(dtype)
    tol = 1e-13 if dtype == np.float64 else 2e-5
    for axis in (-1, 0):
        s = ml.softmax(x, axis=axis)
        assert s.dtype == dtype
        np.testing.assert_allclose(s, sc.softmax(x.astype(float), axis=axis), rtol=tol, atol=1e-30)
        np.testing.assert_allclose(ml.log_softmax(x, axis=axis),
                                   sc.log_softmax(x.astype(float), axis=axis), rtol=tol, atol=tol)
    big = np.array([[1e308, 0.0, -1e308], [-800.0, -800.0, -801.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ls = ml.log_softmax(big)
    assert ls[0].tolist() == [0.0, -1e308, -np.inf] or ls[0, 0] == 0.0
    np.testing.assert_allclose(ml.softmax(big)[1], sc.softmax(big[1]), rtol=1e-15)
    out = np.empty((5, 7), dtype)
    assert ml.softmax(x, out=out) is out


def test_softmax_jvp_vjp_jacobian_against_finite_differences():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(3, 4))
    v = rng.normal(size=(3, 4))
    for f in (ml.softmax, ml.log_softmax):
        J = f.jacobian(x)                      # (3, 4, 4)
        for i in range(3):
            Jfd = fc.jacobian(lambda z: f(z), x[i])
            np.testing.assert_allclose(J[i], Jfd, rtol=1e-7, atol=1e-9)
        np.testing.assert_allclose(f.jvp(x, v), np.einsum("nij,nj->ni", J, v), rtol=1e-12,
                                   atol=1e-15)
        np.testing.assert_allclose(f.vjp(x, v), np.einsum("ni,nij->nj", v, J), rtol=1e-12,
                                   atol=1e-15)
        np.testing.assert_allclose(f.jacobian(x.T, axis=0), J, rtol=1e-15)
    with pytest.raises(ValueError, match="v must have the shape of x"):
        ml.softmax.jvp(x, v[:, :2])
    with pytest.raises(ValueError, match="axis must be in"):
        ml.softmax(x, axis=2)
    with pytest.raises(ValueError, match="x must have at least one dimension"):
        ml.softmax(1.0)
    with pytest.raises(TypeError, match="axis must be an integer"):
        ml.softmax(x, axis=0.5)


@pytest.mark.parametrize("name", sorted(REF))
def test_builtin_batch_and_lowlevel_use_the_default_parameter(name):
    """The C batch entry (what derivative/quad/minimize call) and the .lowlevel pointer compute
    the same function as the Python call with its default parameter."""
    from scipy.integrate import quad as squad
    from fastcalc._core import evaluate
    f = getattr(ml, name)
    x = np.array([[-2.5, -0.4, 0.0, 0.7, 3.1]])
    np.testing.assert_array_equal(evaluate(f, x)[0], f(x[0]))
    np.testing.assert_array_equal(evaluate(f.grad, x)[0], f.grad(x[0]))
    want = squad(lambda t: float(f(t)), -1.0, 2.0)[0]
    assert squad(f.lowlevel, -1.0, 2.0)[0] == pytest.approx(want, rel=1e-12, abs=1e-14)


# ---- large outputs come from a pool of blocks (kept when freed, reused by the next output) ----

BIG = 1 << 18          # 2 MiB of float64: above the pool's 1 MiB threshold


def test_pooled_outputs_are_correct_and_never_shared_while_alive():
    rng = np.random.default_rng(0)
    x = rng.normal(0.0, 4.0, BIG)
    ref_t, ref_g = np.tanh(x), 1.0 / np.cosh(x) ** 2
    ml.release_memory()
    for _ in range(3):                    # the second and third rounds reuse freed blocks
        y, g = ml.tanh.value_and_grad(x)
        assert not np.shares_memory(y, g) and not np.shares_memory(y, x)
        np.testing.assert_allclose(y, ref_t, rtol=1e-14, atol=1e-300)
        np.testing.assert_allclose(g, ref_g, rtol=1e-12, atol=1e-300)
        s = ml.sigmoid(x)                 # made while y and g live: a block of its own
        assert not np.shares_memory(s, y) and not np.shares_memory(s, g)
        np.testing.assert_allclose(s, sc.expit(x), rtol=1e-14, atol=1e-300)
        assert y.flags.writeable and y.flags.c_contiguous and y.dtype == np.float64
        del y, g, s


def test_a_view_keeps_its_pooled_block_alive():
    x = np.linspace(-5.0, 5.0, BIG)
    y = ml.sigmoid(x)
    view = y[::2]
    np.testing.assert_allclose(view, sc.expit(x[::2]), rtol=1e-14)
    want = view.copy()                    # what must stay there
    del y                                 # the view still holds the block
    for _ in range(3):
        z = ml.sigmoid(-x)                # would reuse the block if it had been given back
        del z
    np.testing.assert_array_equal(view, want)
    assert ml.release_memory() >= 0
    np.testing.assert_array_equal(view, want)


def test_pooled_float32_outputs_and_shapes():
    x = np.linspace(-8.0, 8.0, 4 * BIG, dtype=np.float32).reshape(4, -1)
    for _ in range(2):
        y, g = ml.softplus.value_and_grad(x)
        assert y.dtype == np.float32 and y.shape == x.shape and g.shape == x.shape
        np.testing.assert_allclose(y, np.logaddexp(0.0, x.astype(np.float64)), rtol=2e-6)
        np.testing.assert_allclose(g, sc.expit(x.astype(np.float64)), rtol=2e-6, atol=1e-30)
        del y, g
    freed = ml.release_memory()
    assert freed >= 2 * x.nbytes
    assert ml.release_memory() == 0
