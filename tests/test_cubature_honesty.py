"""cubature's error estimates against Genz's test families (issue 13 item 8): a run reported
"converged" must be within its reported error of the true value.  References: closed forms."""
import math
import warnings

import numpy as np
import pytest
from scipy.special import erf

import fastcalc as fc
from fastcalc.integrate.shared import IntegrationWarning

SEEDS = range(20)


def genz(family, d, seed):
    """Genz's families on [0, 1]^d with random parameters; returns (f, exact)."""
    rng = np.random.default_rng(1000 * d + seed)
    u = rng.uniform(0, 1, d)
    c = rng.uniform(0.5, 5.0, d)
    if family == "continuous":          # C0: kinks |x_i - u_i|
        c *= 3.0 * d / c.sum()
        exact = np.prod((2 - np.exp(-c * u) - np.exp(-c * (1 - u))) / c)
        return (lambda x: np.exp(-np.sum(c * np.abs(x - u), axis=-1))), float(exact)
    if family == "oscillatory":
        c *= 3.0 * d / c.sum()
        z = np.exp(2j * np.pi * u[0]) * np.prod((np.exp(1j * c) - 1) / (1j * c))
        return (lambda x: np.cos(2 * np.pi * u[0] + np.sum(c * x, axis=-1))), float(z.real)
    if family == "product-peak":        # sharp peaks: widths 1/c ~ 0.03 .. 0.3
        c *= 25.0 * d / 3 / c.sum()
        exact = np.prod(c * (np.arctan(c * (1 - u)) + np.arctan(c * u)))
        return (lambda x: np.prod(1.0 / (c ** -2.0 + (x - u) ** 2), axis=-1)), float(exact)
    if family == "gaussian":
        c *= 5.0 * d / c.sum()
        exact = np.prod(np.sqrt(np.pi) / (2 * c) * (erf(c * (1 - u)) + erf(c * u)))
        return (lambda x: np.exp(-np.sum(c * c * (x - u) ** 2, axis=-1))), float(exact)
    if family == "corner-peak":
        c *= 2.0 * d / 3 / c.sum()
        total = 0.0                     # inclusion-exclusion over the corners of the box
        for v in range(1 << d):
            bits = [(v >> i) & 1 for i in range(d)]
            total += (-1) ** sum(bits) / (1.0 + float(np.dot(c, bits)))
        exact = total / (math.factorial(d) * np.prod(c))
        return (lambda x: (1.0 + x @ c) ** -(d + 1.0)), float(exact)
    assert family == "discontinuous"    # C5: exp(c . x) on x_1 < u_1, x_2 < u_2, else 0
    c *= 4.0 * d / 3 / c.sum()
    lim = np.ones(d)
    lim[:2] = u[:2]
    exact = np.prod((np.exp(c * lim) - 1) / c)

    def f(x):
        inside = (x[:, 0] < u[0]) & (x[:, 1] < u[1])
        return np.where(inside, np.exp(x @ c), 0.0)
    return f, float(exact)


FAMILIES = ["continuous", "oscillatory", "product-peak", "gaussian", "corner-peak",
            "discontinuous"]


def _run_family(rule, family, d, seeds, maxeval, rtol=1e-6):
    dishonest, converged = [], 0
    for seed in seeds:
        f, exact = genz(family, d, seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", IntegrationWarning)      # (0 at every node)
            res = fc.cubature(f, np.zeros(d), np.ones(d), rule=rule, rtol=rtol, atol=0,
                              maxeval=maxeval)
        true = abs(res.estimate - exact)
        if res.status == "converged":
            converged += 1
            if not true <= res.error:
                dishonest.append((seed, res.estimate, exact, res.error, true))
        else:
            # not converged: says why, and its error still bounds the true one
            assert res.message
            if not true <= res.error:
                dishonest.append(("not converged", seed, res.estimate, exact, res.error, true))
    return dishonest, converged


@pytest.mark.parametrize("d", [2, 3, 4, 5])
@pytest.mark.parametrize("family", FAMILIES)
def test_genz_malik_converged_means_within_the_reported_error(family, d):
    dishonest, converged = _run_family("genz-malik", family, d, SEEDS, 100_000)
    assert not dishonest, dishonest
    if d == 2 and family != "discontinuous":
        assert converged >= 15          # honest, not merely pessimistic


@pytest.mark.parametrize("d, seeds", [(2, SEEDS), (3, SEEDS), (4, range(2))])  # 4-D: 3M nodes
@pytest.mark.parametrize("family", FAMILIES)
def test_gk21_converged_means_within_the_reported_error(family, d, seeds):
    dishonest, converged = _run_family("gk21", family, d, seeds, 200_000)
    assert not dishonest, dishonest
    if d == 2 and family in ("oscillatory", "gaussian", "corner-peak"):
        assert converged == len(seeds)


@pytest.mark.parametrize("rtol", [1e-2, 1e-3, 1e-4, 1e-6])
@pytest.mark.parametrize("d", [2, 3])
@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("rule, maxeval", [("gk21", 200_000), ("genz-malik", 100_000)])
def test_converged_means_within_the_reported_error_at_every_tolerance(rule, maxeval, family, d,
                                                                      rtol):
    # loose tolerances stop after one or a few regions, where the embedded estimate is least
    # reliable (gk21 on a 3-D kink trusted its first region at 7x below its true error; the
    # rules of a region can all be blind to a kink between their shared nodes)
    dishonest, converged = _run_family(rule, family, d, SEEDS, maxeval, rtol)
    assert not dishonest, dishonest
    if family in ("oscillatory", "gaussian", "corner-peak") and (d == 2 or rtol >= 1e-4):
        assert converged >= len(SEEDS) - 1      # honest, not merely pessimistic


def test_gk21_trusts_one_region_alone_only_when_it_is_resolved():
    # a 3-D kink where the 21-, 10- and 11-node rules all err alike (4.6e-4; their differences
    # are 6e-5 and 2e-5): its first region is not trusted alone, two levels must agree
    f, exact = genz("continuous", 3, 9)
    res = fc.cubature(f, np.zeros(3), np.ones(3), rtol=1e-2)
    assert res.subdivisions >= 1 and abs(res.estimate - exact) <= res.error
    # an analytic integrand that the first region resolves still costs one region (441 nodes)
    f, exact = genz("oscillatory", 2, 0)
    res = fc.cubature(f, np.zeros(2), np.ones(2), rtol=1e-6)
    assert res.status == "converged" and res.subdivisions == 0 and res.nfev == 21 ** 2
    assert abs(res.estimate - exact) <= res.error


@pytest.mark.parametrize("scale", [1e-200, 1e200])
@pytest.mark.parametrize("rule", ["gk21", "genz-malik"])
def test_the_ratio_test_does_not_depend_on_the_integrand_s_scale(rule, scale):
    # tiny and huge integrands: the same decisions (the rounding floor is relative), so the same
    # honesty (at scale 1 gk21 had trusted these kinks' first regions at 1.2x-1.5x too low)
    for family in ("continuous", "gaussian", "discontinuous"):
        for seed in range(5):
            f, exact = genz(family, 2, seed)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", IntegrationWarning)
                res = fc.cubature(lambda x: scale * f(x), [0, 0], [1, 1], rule=rule, rtol=1e-2,
                                  maxeval=200_000)
            assert abs(res.estimate - scale * exact) <= res.error, (family, seed, res)


def test_genz_malik_sees_a_jump_beyond_its_outermost_nodes():
    # a region's outermost nodes sit at 0.949 of its half-width: a jump at x_0 = 0.99 is seen only
    # by the boundary check (the face centres); the first region is then not trusted
    f = lambda x: np.where(x[:, 0] < 0.99, 1.0, 0.0)
    res = fc.cubature(f, [0, 0], [1, 1], rule="genz-malik", rtol=1e-6, max_subdivisions=0)
    assert res.status == "not_converged" and res.error >= abs(res.estimate - 0.99)
    res = fc.cubature(f, [0, 0], [1, 1], rule="genz-malik", rtol=1e-6)
    assert abs(res.estimate - 0.99) <= res.error


def test_rounding_floor_on_a_cancelling_integral():
    # the integral (~0.002) is small against int |f| (~0.6): the error includes the rounding
    f = lambda x: np.cos(20.0 * (x[:, 0] + x[:, 1])) + 1e-9
    exact = (np.sin(20.0) / 20.0) ** 2 - ((1 - np.cos(20.0)) / 20.0) ** 2 + 1e-9
    for rule in ("gk21", "genz-malik"):
        res = fc.cubature(f, [0, 0], [1, 1], rule=rule, rtol=1e-15, atol=0)
        assert abs(res.estimate - exact) <= res.error
        assert res.error >= 50 * np.finfo(float).eps * 0.3


def test_zero_at_every_node_needs_two_levels():
    # a peak between the nodes of the first region: 0 there is no evidence, subdivision finds it
    f = lambda x: np.where(np.abs(x[:, 0] - 0.123) < 1e-2, 1.0, 0.0)
    res = fc.cubature(f, [0, 0], [1, 1], rule="genz-malik", rtol=1e-3)
    assert res.subdivisions >= 16 and res.estimate > 0
    assert res.status == "not_converged" or abs(res.estimate - 0.02) <= res.error
    # a function that is 0: two levels agree (with a warning that a peak may have been missed)
    with pytest.warns(IntegrationWarning, match="0 at every"):
        res = fc.cubature(lambda x: 0.0 * x[:, 0], [0, 0], [1, 1], rule="genz-malik")
    assert res.status == "converged" and res.estimate == 0 and res.subdivisions >= 16


@pytest.mark.parametrize("rule", ["gk21", "genz-malik"])
def test_infinite_limits_keep_the_estimates_honest(rule):
    # mapped axes: Genz-Malik's face nodes stay inside (a face may sit at infinity)
    f = lambda x: np.exp(-np.sum(x * x, axis=-1)) * (1 + x[:, 0] ** 2)
    res = fc.cubature(f, [-np.inf, 0], [np.inf, np.inf], rule=rule, rtol=1e-8)
    exact = math.pi / 2 * 1.5                     # int (1 + x^2) e^{-x^2} dx = 1.5 sqrt(pi)
    assert res.status == "converged" and abs(res.estimate - exact) <= res.error


def test_vector_and_complex_outputs_are_honest_per_component():
    for seed in range(10):
        f0, e0 = genz("continuous", 3, seed)
        f1, e1 = genz("discontinuous", 3, seed)
        f = lambda x: np.stack([f0(x), f1(x)], axis=-1)
        res = fc.cubature(f, np.zeros(3), np.ones(3), rule="genz-malik", rtol=1e-6,
                          maxeval=100_000)
        true = np.abs(res.estimate - [e0, e1])
        assert np.all(true <= res.error), (seed, true, res.error)
    g = lambda x: np.exp(1j * np.sum(x, axis=-1))           # int = ((e^i - 1) / i)^2
    res = fc.cubature(g, [0, 0], [1, 1], rule="genz-malik", rtol=1e-10, workers=map)
    assert abs(res.estimate - ((np.exp(1j) - 1) / 1j) ** 2) <= abs(res.error)


def _nquad_dishonest(family, d, seeds):
    dishonest = []
    for seed in seeds:
        f, exact = genz(family, d, seed)
        g = lambda *xs: f(np.stack(np.broadcast_arrays(*xs), -1))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            est, err, info = fc.nquad(g, [[0, 1]] * d, opts={"epsrel": 1e-3, "epsabs": 0},
                                      full_output=True, vectorized=True)
        confident = not caught and info["ier"] == 0
        if confident and not abs(est - exact) <= err:
            dishonest.append((seed, est, exact, err))
    return dishonest


@pytest.mark.parametrize("d", [2, 3])
@pytest.mark.parametrize("family", FAMILIES)
def test_nquad_without_a_warning_means_within_its_error(family, d):
    # (issue 13 item 8, part 4) nquad at epsrel 1e-3 on the same families; 3-D C0 is slow
    # (1.4 s a run: nested adaptive levels around the kinks), so two seeds there
    seeds = range(2) if (d == 3 and family == "continuous") else SEEDS
    dishonest = _nquad_dishonest(family, d, seeds)
    assert not dishonest, dishonest


def test_quad_kink_estimate_calibrated_by_bisection():
    """The case that found it (Genz C0 2-D seed 19 under nquad): one factor, a kink at 0.442 in
    [0, 1].  QUADPACK's smooth-integrand scaling (SciPy's quad too) reports 6.8e-6 where the true
    error is 3.07e-5; the engine's bisection check (_qengine._calibrate) must bound it."""
    c, u = 4.23123954, 0.4422136
    exact = (2 - np.exp(-c * u) - np.exp(-c * (1 - u))) / c
    y, err = fc.quad(lambda t: np.exp(-c * abs(t - u)), 0, 1, epsrel=1e-3, epsabs=0)
    assert abs(y - exact) <= err
    from scipy.integrate import quad as sp_quad
    ys, errs = sp_quad(lambda t: np.exp(-c * abs(t - u)), 0, 1, epsrel=1e-3, epsabs=0)
    assert abs(ys - exact) > errs            # the reference's estimate is the fooled one


def test_quad_kinks_and_jumps_random_positions():
    """Kinks, jumps and |x - u|^1.5 at random places and tolerances: a converged result within its
    error, except where the feature sits between a bisection point and the first node (no rule
    sees it there; SciPy's misses those too): at most 3 of 150."""
    rng = np.random.default_rng(7)
    bad = []
    for trial in range(150):
        c, u, eps = rng.uniform(0.5, 10), rng.uniform(0, 1), 10 ** rng.uniform(-10, -2)
        if trial % 3 == 0:
            f = lambda t: np.exp(-c * np.abs(t - u))
            exact = (2 - np.exp(-c * u) - np.exp(-c * (1 - u))) / c
        elif trial % 3 == 1:
            f, exact = (lambda t: np.where(t < u, np.exp(c * t), 0.0)), np.expm1(c * u) / c
        else:
            f, exact = (lambda t: np.abs(t - u) ** 1.5), (u ** 2.5 + (1 - u) ** 2.5) / 2.5
        with warnings.catch_warnings():
            warnings.simplefilter("error", IntegrationWarning)
            try:
                y, err = fc.quad(f, 0, 1, epsrel=eps, epsabs=0)
            except IntegrationWarning:
                continue
        if not abs(y - exact) <= err:
            bad.append((trial, u, eps, y - exact, err))
    assert len(bad) <= 3, bad     # (2 here; 7 before the calibration)


def test_genz_malik_narrow_isotropic_peak_is_honest():
    """Genz-Malik halves one axis at a time: next to a narrow peak at (0.3, 0.3) it left a strip
    [0.47, 0.72] x [0, 1] whose every node (face centres too) sits on the peak's far tail, and
    reported 2.7e-13 for a true 5.6e-9 (11 of these 45 cases fooled it).  Thin faint regions are
    now halved across once before convergence (_cubature._thin_audit)."""
    bad = []
    for c in (15.0, 18.0, 20.0, 22.0, 25.0):
        for v in (0.28, 0.3, 0.32):
            u = np.array([v, v])
            f = lambda x: np.exp(-np.sum(c * c * (x - u) ** 2, axis=-1))
            exact = float(np.prod(np.sqrt(np.pi) / (2 * c) * (erf(c * (1 - u)) + erf(c * u))))
            for rtol in (1e-6, 1e-7, 1e-8):
                res = fc.cubature(f, [0, 0], [1, 1], rule="genz-malik", rtol=rtol, atol=0)
                if not abs(res.estimate - exact) <= res.error:
                    bad.append((c, v, rtol, res.status, res.estimate - exact, res.error))
    assert not bad, bad


def test_gk21_narrow_isotropic_peak_is_honest():
    c, u = 20.0, np.array([0.3, 0.3])
    f = lambda x: np.exp(-np.sum(c * c * (x - u) ** 2, axis=-1))
    exact = float(np.prod(np.sqrt(np.pi) / (2 * c) * (erf(c * (1 - u)) + erf(c * u))))
    for rtol in (1e-4, 1e-6, 1e-7, 1e-8):
        res = fc.cubature(f, [0, 0], [1, 1], rtol=rtol, atol=0)
        assert res.success and abs(res.estimate - exact) <= res.error, rtol
