"""fastcalc.ml information theory against scipy.stats / scipy.spatial and closed forms."""
import warnings

import numpy as np
import pytest
from scipy import stats
from scipy.spatial.distance import jensenshannon

from fastcalc import ml
from fastcalc.ml import info

rng = np.random.default_rng(3)
A = rng.uniform(0, 1, size=(50, 7))
A[:, 0] = 0.0                                 # 0 log 0 = 0
A[3] = 0.0
A[3, 2] = 1.0                                 # a point mass
B = rng.uniform(0.01, 1, size=(50, 7))
PA = A / A.sum(axis=1, keepdims=True)
PB = B / B.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("base", [None, 2, 10, 3.5])
def test_entropy_kl_cross_entropy_against_scipy(base):
    np.testing.assert_allclose(ml.entropy(PA, base=base), stats.entropy(PA, base=base, axis=1),
                               rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(ml.entropy(A, base=base, normalize=True),
                               stats.entropy(A, base=base, axis=1), rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(ml.kl_divergence(PA, PB, base=base),
                               stats.entropy(PA, PB, base=base, axis=1), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(ml.kl_divergence(A, B, base=base, normalize=True),
                               stats.entropy(A, B, base=base, axis=1), rtol=1e-12, atol=1e-15)
    ce = stats.entropy(PA, base=base, axis=1) + stats.entropy(PA, PB, base=base, axis=1)
    np.testing.assert_allclose(info.cross_entropy(PA, PB, base=base), ce, rtol=1e-12)
    np.testing.assert_allclose(info.cross_entropy(A, B, base=base, normalize=True), ce, rtol=1e-12)
    js = jensenshannon(PA, PB, base=base, axis=1) ** 2
    np.testing.assert_allclose(ml.js_divergence(PA, PB, base=base), js, rtol=1e-10, atol=1e-15)


def test_axes_float32_and_special_values():
    np.testing.assert_allclose(ml.entropy(PA.T, axis=0), stats.entropy(PA.T), rtol=1e-13)
    e32 = ml.entropy(PA.astype(np.float32))
    assert e32.dtype == np.float32
    np.testing.assert_allclose(e32, stats.entropy(PA, axis=1), rtol=1e-5)
    assert ml.entropy([0.0, 1.0]) == 0.0
    assert ml.entropy(np.full(4, 0.25), base=2) == pytest.approx(2.0, rel=1e-15)
    assert ml.kl_divergence([0.5, 0.5], [1.0, 0.0]) == np.inf           # q = 0 < p
    assert ml.kl_divergence([1.0, 0.0], [0.5, 0.5]) == pytest.approx(np.log(2), rel=1e-15)
    assert info.cross_entropy([0.5, 0.5], [1.0, 0.0]) == np.inf
    assert ml.kl_divergence(PA, PA).max() == 0.0
    assert ml.js_divergence([1, 0], [0, 1]) == pytest.approx(np.log(2), rel=1e-15)
    tiny = np.array([1e-300, 1.0 - 1e-300])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        h = ml.entropy(tiny)
    assert h == pytest.approx(-1e-300 * np.log(1e-300), rel=1e-12)
    batch = ml.entropy(PA.reshape(5, 10, 7))
    assert batch.shape == (5, 10)


def test_mutual_information():
    pxy = rng.uniform(size=(4, 3))
    pxy /= pxy.sum()
    px, py = pxy.sum(1), pxy.sum(0)
    want = np.sum(pxy * np.log(pxy / np.outer(px, py)))
    assert ml.mutual_information(pxy) == pytest.approx(want, rel=1e-12)
    assert ml.mutual_information(np.outer(px, py)) == pytest.approx(0.0, abs=1e-15)
    assert ml.mutual_information(np.eye(3) / 3, base=3) == pytest.approx(1.0, rel=1e-14)
    assert ml.mutual_information(pxy * 7, normalize=True) == pytest.approx(want, rel=1e-12)


@pytest.mark.parametrize("sigma", [1e-3, 1.0, 250.0])
def test_differential_entropy_gaussian_closed_form(sigma):
    pdf = stats.norm(loc=3.0, scale=sigma).pdf
    if sigma < 0.01:
        # built to fool quadrature: over (-inf, inf) the nodes miss the narrow peak; reported
        with pytest.raises(ValueError, match="pdf integrates to 0 over|could not be computed"):
            ml.differential_entropy(pdf)
        h = ml.differential_entropy(pdf, 3 - 40 * sigma, 3 + 40 * sigma)
        assert h == pytest.approx(0.5 * np.log(2 * np.pi * np.e * sigma ** 2), abs=1e-8)
        return
    h = ml.differential_entropy(pdf)
    assert h == pytest.approx(0.5 * np.log(2 * np.pi * np.e * sigma ** 2), abs=1e-8)
    assert ml.differential_entropy(pdf, base=2) == pytest.approx(
        0.5 * np.log2(2 * np.pi * np.e * sigma ** 2), abs=1e-8)


def test_differential_entropy_other_distributions_against_scipy():
    for dist, a, b in ((stats.expon(scale=2.0), 0, np.inf), (stats.uniform(0, 3), 0, 3),
                       (stats.laplace(scale=0.5), -np.inf, np.inf),
                       (stats.beta(2, 5), 0, 1), (stats.cauchy(), -np.inf, np.inf),
                       (stats.t(3), -np.inf, np.inf)):
        h, err = ml.differential_entropy(dist.pdf, a, b, full_output=True)
        assert h == pytest.approx(dist.entropy(), abs=1e-9)
        assert err < 1e-6


@pytest.mark.parametrize("m1,s1,m2,s2", [(0, 1, 1, 2), (2.0, 0.5, -1.0, 3.0), (0, 1, 0, 1)])
def test_kl_continuous_two_gaussians(m1, s1, m2, s2):
    want = np.log(s2 / s1) + (s1 ** 2 + (m1 - m2) ** 2) / (2 * s2 ** 2) - 0.5
    got = ml.kl_divergence_continuous(stats.norm(m1, s1).pdf, stats.norm(m2, s2).pdf)
    assert got == pytest.approx(want, abs=1e-9)


def test_singular_density_is_reported_not_guessed():
    # arcsine density: infinite at both ends; quadrature cannot confirm the mass -> ValueError
    with pytest.raises(ValueError, match="could not be computed reliably|integrates to"):
        ml.differential_entropy(stats.beta(0.5, 0.5).pdf, 0, 1)


def test_kl_continuous_infinite_is_an_error():
    # q has a smaller support than p: KL is infinite -> reported, not a finite number
    with pytest.raises(ValueError, match="KL divergence is not finite|q integrates to 0.5"):
        ml.kl_divergence_continuous(stats.uniform(0, 2).pdf, stats.uniform(0, 1).pdf, 0, 2)


def test_bad_input():
    with pytest.raises(ValueError, match="p must sum to 1 along axis .* normalize=True"):
        ml.entropy([0.2, 0.2])
    with pytest.raises(ValueError, match="q must sum to 1"):
        ml.kl_divergence([0.5, 0.5], [0.2, 0.2])
    with pytest.raises(ValueError, match="p must be non-negative and finite"):
        ml.entropy([-0.5, 1.5])
    with pytest.raises(ValueError, match="p must be non-negative and finite"):
        ml.entropy([np.nan, 1.0])
    with pytest.raises(ValueError, match="q must be non-negative and finite"):
        ml.kl_divergence([0.5, 0.5], [np.nan, 1.0])
    with pytest.raises(ValueError, match="q must have the shape of p"):
        ml.kl_divergence([0.5, 0.5], [0.2, 0.3, 0.5])
    with pytest.raises(ValueError, match="positive sum"):
        ml.entropy([0.0, 0.0], normalize=True)
    with pytest.raises(ValueError, match="base must be positive and not 1"):
        ml.entropy([0.5, 0.5], base=1)
    with pytest.raises(ValueError, match="base must be > 0"):
        ml.entropy([0.5, 0.5], base=-2)
    with pytest.raises(ValueError, match="axis must be in"):
        ml.entropy(PA, axis=2)
    with pytest.raises(ValueError, match="at least one dimension"):
        ml.entropy(0.5)
    with pytest.raises(ValueError, match="pxy must be a 2-D joint distribution"):
        ml.mutual_information([0.5, 0.5])
    with pytest.raises(ValueError, match="pdf.* a density must be finite and non-negative"):
        ml.differential_entropy(lambda x: -1.0, 0, 1)
    with pytest.raises(TypeError, match="pdf must be callable"):
        ml.differential_entropy(3.0, 0, 1)
    with pytest.raises(ValueError, match="need a < b"):
        ml.differential_entropy(stats.norm.pdf, 1, 0)
    with pytest.raises(ValueError, match="a must be a finite number"):
        ml.differential_entropy(stats.norm.pdf, np.nan, 0)
