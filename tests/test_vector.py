"""fastcalc.vector against closed forms, scipy.integrate and scipy.special."""
import math
import warnings

import numpy as np
import pytest
import scipy.integrate
import scipy.special

import fastcalc as fc
from fastcalc.integrate import IntegrationWarning

TWO_PI = 2 * math.pi


def circle(t, R=1.0, cx=0.0, cy=0.0):
    return np.array([cx + R * np.cos(t), cy + R * np.sin(t)])


def sphere(p, R=1.0):
    u, v = p[0], p[1]
    return R * np.array([np.sin(u) * np.cos(v), np.sin(u) * np.sin(v), np.cos(u)])


def polar(p):
    return np.array([p[0] * np.cos(p[1]), p[0] * np.sin(p[1])])


def spherical(p):
    r, ph, th = p
    return np.array([r * np.sin(ph) * np.cos(th), r * np.sin(ph) * np.sin(th), r * np.cos(ph)])


def rot(x, *a):
    return np.array([-x[1], x[0]])


# ------------------------------------------------------------------ line integrals

@pytest.mark.parametrize("vectorized", [False, True])
def test_circulation_of_rotation_field(vectorized):
    for R in (0.5, 3.0):
        v = fc.circulation(rot, lambda t: circle(t, R), 0, TWO_PI, vectorized=vectorized)
        assert v == pytest.approx(TWO_PI * R * R, rel=1e-12)


def test_circulation_with_analytic_velocity_and_full_output():
    F = lambda x: np.array([-x[1] ** 3, x[0] ** 3])          # curl 3(x^2+y^2)
    res = fc.line_integral(F, circle, 0, TWO_PI, kind="vector",
                           dr=lambda t: np.array([-np.sin(t), np.cos(t)]), full_output=True)
    assert res.success and res.status == 0 and res.nfev > 0
    assert res.value == pytest.approx(1.5 * math.pi, rel=1e-13)
    assert abs(res.value - 1.5 * math.pi) <= res.error + 1e-15


def test_helix_length_and_scalar_line_integral():
    helix = lambda t: np.array([np.cos(t), np.sin(t), t])
    assert fc.line_integral(lambda x: 1.0, helix, 0, TWO_PI) == pytest.approx(
        TWO_PI * math.sqrt(2), rel=1e-12)
    # int_C x ds over the quarter circle = 1
    assert fc.line_integral(lambda x: x[0], circle, 0, math.pi / 2) == pytest.approx(1, rel=1e-12)


def test_ellipse_perimeter_against_scipy_special():
    ell = lambda t: np.array([2 * np.cos(t), np.sin(t)])
    exact = 8 * scipy.special.ellipe(0.75)
    assert fc.line_integral(lambda x: 1.0, ell, 0, TWO_PI) == pytest.approx(exact, rel=1e-12)


def test_work_of_gradient_field_is_potential_difference():
    phi = lambda x: x[0] * x[1] * x[2]
    F = lambda x: np.array([x[1] * x[2], x[0] * x[2], x[0] * x[1]])
    curve = lambda t: np.array([np.cos(t), np.sin(2 * t), t ** 2])
    w = fc.work(F, curve, 0.0, 1.3)
    assert w == pytest.approx(phi(curve(1.3)) - phi(curve(0.0)), rel=1e-12)


def test_curve_flux_equals_divergence_times_area():
    # F = (x, y): div 2; through the circle of radius 2: 2 * 4 pi
    v = fc.curve_flux(lambda x: x, lambda t: circle(t, 2.0), 0, TWO_PI)
    assert v == pytest.approx(8 * math.pi, rel=1e-12)


def test_batch_of_curves_against_scipy_quad_loop():
    rng = np.random.default_rng(1)
    R, cx, cy = rng.uniform(0.5, 2, 30), rng.uniform(-1, 1, 30), rng.uniform(-1, 1, 30)
    F = lambda x, *a: np.array([-x[1] ** 3, x[0] ** 3])
    r = lambda t, R, cx, cy: circle(t, R, cx, cy)
    got = fc.line_integral(F, r, 0, TWO_PI, kind="vector", vectorized=True, args=(R, cx, cy))

    def h(t, R, cx, cy):
        x, y = cx + R * math.cos(t), cy + R * math.sin(t)
        return -y ** 3 * (-R * math.sin(t)) + x ** 3 * (R * math.cos(t))
    ref = [scipy.integrate.quad(h, 0, TWO_PI, args=(a, b, c), epsabs=1e-13)[0]
           for a, b, c in zip(R, cx, cy)]
    exact = 3 * (math.pi * R ** 4 / 2 + math.pi * R ** 2 * (cx ** 2 + cy ** 2))
    np.testing.assert_allclose(got, ref, rtol=1e-11)
    np.testing.assert_allclose(got, exact, rtol=1e-11)
    assert got.shape == (30,)


def test_batch_over_limits_keeps_shape():
    t1 = np.array([[math.pi / 2, math.pi], [1.5 * math.pi, TWO_PI]])
    got = fc.line_integral(lambda x: 1.0 + 0 * x[0], circle, 0.0, t1, vectorized=True)
    np.testing.assert_allclose(got, t1, rtol=1e-12)


def test_oscillating_field_is_reported_not_converged():
    F = lambda x: np.sin(400 * x[0]) * np.exp(x[1])
    seg = lambda t: np.array([t, t])
    with pytest.warns(IntegrationWarning):
        res = fc.line_integral(F, seg, 0, 10, limit=3, full_output=True)
    assert not res.success and res.status == 1
    exact_fn = lambda t: math.sin(400 * t) * math.exp(t) * math.sqrt(2)
    ref = scipy.integrate.quad(exact_fn, 0, 10, limit=2000, epsabs=1e-12)[0]
    assert abs(res.value - ref) > 1e-8            # genuinely wrong, and said so


def test_singular_scalar_field_error_estimate_bounds_true_error():
    # int_0^1 1/sqrt(|x|) ds along x = t^2 ... f(r(t)) |r'| = 1/t * 2t = 2: use x = t instead
    seg = lambda t: np.array([t, 0 * t])
    res = fc.line_integral(lambda x: 1 / np.sqrt(x[0]), seg, 0, 1, full_output=True)
    assert res.success
    assert abs(res.value - 2.0) <= max(res.error, 1e-14)


# ------------------------------------------------------------------ surfaces

def test_sphere_area_and_surface_integral():
    assert fc.surface_area(lambda p: sphere(p, 2.0), (0, math.pi), (0, TWO_PI)) == pytest.approx(
        16 * math.pi, rel=1e-11)
    # int_S z^2 dS on the unit sphere = 4 pi / 3
    v = fc.surface_integral(lambda x: x[2] ** 2, sphere, (0, math.pi), (0, TWO_PI),
                            vectorized=True)
    assert v == pytest.approx(4 * math.pi / 3, rel=1e-11)


def test_torus_and_paraboloid_areas():
    Rb, a = 2.0, 0.5
    torus = lambda p: np.array([(Rb + a * np.cos(p[1])) * np.cos(p[0]),
                                (Rb + a * np.cos(p[1])) * np.sin(p[0]), a * np.sin(p[1])])
    assert fc.surface_area(torus, (0, TWO_PI), (0, TWO_PI), vectorized=True) == pytest.approx(
        4 * math.pi ** 2 * Rb * a, rel=1e-11)
    parab = lambda p: np.array([p[0] * np.cos(p[1]), p[0] * np.sin(p[1]), p[0] ** 2])
    res = fc.surface_area(parab, (0, 1), (0, TWO_PI), full_output=True)
    exact = math.pi / 6 * (5 * math.sqrt(5) - 1)
    assert res.success and res.value == pytest.approx(exact, rel=1e-11)
    assert abs(res.value - exact) <= res.error + 1e-12 * exact


def test_surface_area_with_analytic_jacobian_against_scipy_dblquad():
    # graph z = sin(x) cos(y) over [0,1]^2
    g = lambda p: np.array([p[0], p[1], np.sin(p[0]) * np.cos(p[1])])
    dg = lambda p: np.array([[1.0, 0.0], [0.0, 1.0],
                             [np.cos(p[0]) * np.cos(p[1]), -np.sin(p[0]) * np.sin(p[1])]])
    ref = scipy.integrate.dblquad(lambda y, x: math.sqrt(1 + (math.cos(x) * math.cos(y)) ** 2
                                                         + (math.sin(x) * math.sin(y)) ** 2),
                                  0, 1, 0, 1, epsabs=1e-13, epsrel=1e-13)[0]
    assert fc.surface_area(g, (0, 1), (0, 1), dr=dg) == pytest.approx(ref, rel=1e-11)


def test_flux_through_sphere_matches_divergence_theorem():
    F = lambda x: np.array([x[0] ** 3, x[1] ** 3, x[2] ** 3])        # div 3 r^2 -> 12 pi / 5
    assert fc.flux(F, sphere, (0, math.pi), (0, TWO_PI), vectorized=True) == pytest.approx(
        12 * math.pi / 5, rel=1e-11)


# ------------------------------------------------------------------ theorems

def test_green_on_disk_and_annulus():
    F = lambda x: np.array([-x[1] ** 3, x[0] ** 3])
    res = fc.green(F, polar, (0, 1), (0, TWO_PI), vectorized=True)
    assert res.success and res.agree
    assert res.circulation == pytest.approx(1.5 * math.pi, rel=1e-12)
    assert abs(res.difference) < 1e-10
    ann = fc.green(F, polar, (1, 2), (0, TWO_PI), curl=lambda x: 3 * (x[0] ** 2 + x[1] ** 2))
    assert ann.double_integral == pytest.approx(1.5 * math.pi * (16 - 1), rel=1e-12)
    assert abs(ann.difference) < 1e-10


def test_green_on_a_rectangle_without_map():
    F = lambda x: np.array([x[0] * x[1] ** 2, np.exp(x[0]) * x[1]])
    res = fc.green(F, None, (0, 1), (0, 2))
    exact = (math.e - 1) * 2 - 2.0              # int (e^x y - 2xy) over [0,1]x[0,2]
    assert res.success
    assert res.circulation == pytest.approx(exact, rel=1e-12)
    assert abs(res.difference) < 1e-10


def test_stokes_on_hemisphere():
    F = lambda x: np.array([x[2] - x[1], x[0] + x[2] ** 2, x[0] * x[1]])
    res = fc.stokes(F, sphere, (0, math.pi / 2), (0, TWO_PI), vectorized=True)
    assert res.success and res.agree
    # boundary: unit circle in z = 0, F = (-y, x, xy): circulation 2 pi
    assert res.circulation == pytest.approx(TWO_PI, rel=1e-12)
    assert abs(res.difference) < 1e-10


def test_divergence_theorem_on_ball_and_box():
    F = lambda x: np.array([x[0] ** 3, x[1] ** 3, x[2] ** 3])
    res = fc.divergence_theorem(F, spherical, (0, 1), (0, math.pi), (0, TWO_PI), vectorized=True)
    assert res.success and res.agree and abs(res.difference) < 1e-10
    assert res.surface_flux == pytest.approx(12 * math.pi / 5, rel=1e-12)
    G = lambda x: np.array([x[0] * x[1], x[1] * x[2], x[2] * x[0]])
    box = fc.divergence_theorem(G, None, (0, 1), (0, 2), (0, 3),
                                div=lambda x: x[1] + x[2] + x[0])
    assert box.volume_integral == pytest.approx(6 * (0.5 + 1 + 1.5), rel=1e-12)
    assert abs(box.difference) < 1e-10


# ------------------------------------------------------------------ regions

def test_disk_ball_simplex_and_mapped_regions():
    v = fc.integrate_disk(lambda x: np.exp(-x[0] ** 2 - x[1] ** 2), vectorized=True)
    assert v == pytest.approx(math.pi * (1 - math.exp(-1)), rel=1e-12)
    v = fc.integrate_disk(lambda x: x[0], center=(1.0, 2.0), radius=0.5)
    assert v == pytest.approx(math.pi * 0.25, rel=1e-12)
    assert fc.integrate_ball(lambda x: x[0] ** 2, radius=2.0) == pytest.approx(
        4 * math.pi * 32 / 15, rel=1e-12)
    tet = [[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]]
    assert fc.integrate_simplex(lambda x: x[0] * x[1] * x[2], tet,
                                vectorized=True) == pytest.approx(1 / 720, rel=1e-11)
    tri = [[1, 1], [3, 1], [1, 4]]      # area 3; int x over it = 3 * centroid_x = 3 * 5/3
    assert fc.integrate_simplex(lambda x: x[0], tri) == pytest.approx(5.0, rel=1e-12)
    ell = lambda p: np.array([2 * p[0] * np.cos(p[1]), p[0] * np.sin(p[1])])
    assert fc.region_integral(lambda x: x[0] ** 2, ell, [(0, 1), (0, TWO_PI)]) == pytest.approx(
        math.pi * 8 / 4, rel=1e-11)              # pi a^3 b / 4


def test_disk_against_scipy_dblquad():
    f = lambda x: np.cos(x[0] * x[1]) + x[1] ** 2
    ref = scipy.integrate.dblquad(lambda y, x: math.cos(x * y) + y * y, -1, 1,
                                  lambda x: -math.sqrt(1 - x * x), lambda x: math.sqrt(1 - x * x),
                                  epsabs=1e-12, epsrel=1e-12)[0]
    assert fc.integrate_disk(f, vectorized=True) == pytest.approx(ref, rel=1e-9)


def test_indicator_warns_and_is_close():
    with pytest.warns(IntegrationWarning, match="indicator"):
        v = fc.integrate_indicator(lambda x: 1.0 + 0 * x[0], lambda x: x[0] ** 2 + x[1] ** 2 <= 1,
                                   [-1, -1], [1, 1], vectorized=True, rtol=1e-3)
    assert abs(v - math.pi) < 5e-3
    with pytest.warns(IntegrationWarning):
        res = fc.integrate_indicator(lambda x: 1.0 + 0 * x[0], lambda x: x[0] ** 2 + x[1] ** 2 <= 1,
                                     [-1, -1], [1, 1], vectorized=True, rtol=1e-3,
                                     full_output=True)
    assert res.status == 2 and not res.success and "unverified" in res.message


# ------------------------------------------------------------------ bad input

def test_bad_input():
    with pytest.raises(TypeError, match="F"):
        fc.line_integral(3.0, circle, 0, 1)
    with pytest.raises(TypeError, match="r"):
        fc.line_integral(rot, "circle", 0, 1)
    with pytest.raises(ValueError, match="kind"):
        fc.line_integral(rot, circle, 0, 1, kind="tangent")
    with pytest.raises(ValueError, match="t1"):
        fc.line_integral(rot, circle, 0, np.nan)
    with pytest.raises(ValueError, match="finite"):
        fc.line_integral(rot, circle, 0, np.inf)
    with pytest.raises(ValueError, match="vectorized"):
        fc.line_integral(rot, lambda t, R: circle(t, R), 0, 1, args=(np.ones(3),))
    with pytest.raises(ValueError, match="epsabs|epsrel"):
        fc.line_integral(rot, circle, 0, 1, epsabs=-1)
    with pytest.raises(TypeError, match="limit"):
        fc.line_integral(rot, circle, 0, 1, limit=2.5)
    with pytest.raises(TypeError, match="dim"):
        fc.line_integral(rot, fc.functions.rosenbrock, 0, 1)


def test_wrong_dimensions_are_named():
    helix = lambda t: np.array([np.cos(t), np.sin(t), t])
    with pytest.raises(ValueError, match="R\\^2"):
        fc.curve_flux(rot, helix, 0, 1)
    with pytest.raises(ValueError, match="F"):      # F gives 2 components on a curve in R^3
        fc.line_integral(rot, helix, 0, 1, kind="vector", vectorized=True)
    with pytest.raises(ValueError, match="R\\^3"):
        fc.surface_area(polar, (0, 1), (0, 1))
    with pytest.raises(ValueError, match="shape"):
        fc.line_integral(rot, lambda t: np.array([[t, t]]), 0, 1)
    with pytest.raises(ValueError, match="R\\^3"):
        fc.stokes(rot, polar, (0, 1), (0, 1))


def test_vanishing_normal_says_where():
    flat = lambda p: np.array([p[0] + p[1], p[0] + p[1], 0 * p[0]])
    with pytest.raises(ValueError, match=r"vanishes.*\(u, v\) = "):
        fc.surface_area(flat, (0, 1), (0, 1))
    # a normal that vanishes only on an edge (the sphere's poles) is fine
    assert fc.surface_area(sphere, (0, math.pi), (0, 1)) == pytest.approx(2.0, rel=1e-11)


def test_bad_ranges_and_regions():
    with pytest.raises(ValueError, match="u_range"):
        fc.surface_area(sphere, (0, np.inf), (0, 1))
    with pytest.raises(TypeError, match="v_range"):
        fc.surface_area(sphere, (0, 1), 3.0)
    with pytest.raises(ValueError, match="vertices"):
        fc.integrate_simplex(lambda x: 1.0, [[0, 0], [1, 0]])
    with pytest.raises(ValueError, match="degenerate"):
        fc.integrate_simplex(lambda x: 1.0, [[0, 0], [1, 1], [2, 2]])
    with pytest.raises(ValueError, match="radius"):
        fc.integrate_disk(lambda x: 1.0, radius=-1)
    with pytest.raises(ValueError, match="center"):
        fc.integrate_ball(lambda x: 1.0, center=(0, 0))
    with pytest.raises(ValueError, match="rtol"):
        fc.integrate_disk(lambda x: 1.0, rtol=-1)
    with pytest.raises(ValueError, match="a and b"):
        fc.integrate_indicator(lambda x: 1.0, lambda x: True, [0, 0], [1, 1, 1])


def test_user_exception_propagates_unchanged():
    class Boom(Exception):
        pass

    def F(x):
        raise Boom("field")
    with pytest.raises(Boom, match="field"):
        fc.circulation(F, circle, 0, 1)
    with pytest.raises(Boom):
        fc.flux(lambda x: F(x), sphere, (0.1, 1), (0, 1))


def test_nonfinite_field_is_reported():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = fc.line_integral(lambda x: np.nan, circle, 0, 1, full_output=True)
    assert not res.success


# ------------------------------------------------------------------ curves

def test_velocity_acceleration_tangent_curvature_of_a_helix():
    a, b = 2.0, 0.5
    helix = lambda t: np.array([a * np.cos(t), a * np.sin(t), b * t])
    t = np.array([[0.0, 0.7], [2.0, -3.0]])
    v = fc.velocity(helix, t, vectorized=True)
    exact = np.array([-a * np.sin(t), a * np.cos(t), b + 0 * t])
    # the adaptive engine promises err <= rtol |df| + rounding floor (rtol = sqrt(eps)), not the
    # old fixed stencil's 1e-11 on an exact zero (r_x'(0) = 0 now comes back as ~1e-11)
    np.testing.assert_allclose(v, exact, rtol=1e-10, atol=1e-9)
    res = fc.derivative(helix, t, vectorized=True, full_output=True)
    assert np.all(res.success) and np.all(np.abs(res.df - exact) <= res.error)
    acc = fc.acceleration(helix, t)
    np.testing.assert_allclose(acc, [-a * np.cos(t), -a * np.sin(t), 0 * t], atol=1e-8)
    T = fc.unit_tangent(helix, 0.3)
    np.testing.assert_allclose(T, np.array([-a * math.sin(0.3), a * math.cos(0.3), b])
                               / math.hypot(a, b), atol=1e-11)
    np.testing.assert_allclose(fc.curvature(helix, t), a / (a * a + b * b), rtol=1e-8)
    assert fc.curvature(lambda s: circle(s, 4.0), 1.0) == pytest.approx(0.25, rel=1e-8)
    third = fc.curve_derivative(lambda s: np.array([s ** 3, np.exp(s)]), 0.5, n=3)
    np.testing.assert_allclose(third, [6.0, math.exp(0.5)], rtol=1e-6)


def test_curve_derivative_richardson_applies_with_a_fixed_or_given_step():
    r = lambda s: np.array([np.sin(s), s ** 4])
    t = np.array([0.3, 1.2])
    exact = np.array([-np.cos(t), 24 * t])               # third derivatives
    for kw in ({}, {"step": "fixed", "richardson": 2}, {"step": 0.2, "richardson": 2}):
        got = fc.curve_derivative(r, t, n=3, **kw)
        np.testing.assert_allclose(got, exact, rtol=1e-6, err_msg=str(kw))
    # a coarse given step: the truncation error (1e-4) is what the extrapolation removes
    coarse = np.abs(fc.curve_derivative(r, t, n=3, step=0.2, richardson=0) - exact).max()
    fine = np.abs(fc.curve_derivative(r, t, n=3, step=0.2, richardson=2) - exact).max()
    assert coarse > 1e-5 and fine < 1e-4 * coarse
    with pytest.raises(ValueError, match="step"):
        fc.curve_derivative(r, t, step=-1.0)


def test_curve_helpers_bad_input():
    with pytest.raises(ValueError, match="vanishes at t = \\[0.0\\]"):
        fc.unit_tangent(lambda t: np.array([t ** 2, t ** 3]), 0.0)
    with pytest.raises(ValueError, match="vanishes"):
        fc.curvature(lambda t: np.array([t ** 2, t ** 3]), [1.0, 0.0])
    with pytest.raises(ValueError, match="R\\^2 or R\\^3"):
        fc.curvature(lambda t: np.array([t, t, t, t]), 1.0)
    with pytest.raises(ValueError, match="n"):
        fc.curve_derivative(circle, 1.0, n=7)
    with pytest.raises(ValueError, match="t"):
        fc.velocity(circle, np.nan)
    with pytest.raises(ValueError, match="shape"):
        fc.velocity(lambda t: np.array([[t]]), 1.0)


def test_compiled_field_through_the_adapter():
    # built-in rosenbrock (in C) as a scalar field along a segment, against scipy.integrate.quad
    seg = lambda t: np.array([t, 1 - t])
    got = fc.line_integral(fc.functions.rosenbrock, seg, 0, 1)
    from scipy.optimize import rosen
    ref = scipy.integrate.quad(lambda t: rosen(np.array([t, 1 - t])) * math.sqrt(2), 0, 1,
                               epsabs=1e-13)[0]
    assert got == pytest.approx(ref, rel=1e-12)


def test_not_converged_warns_without_full_output():
    F = lambda x: np.sin(400 * x[0]) * np.exp(x[1])
    with pytest.warns(IntegrationWarning, match="line_integral"):
        fc.line_integral(F, lambda t: np.array([t, t]), 0, 10, limit=3)


def test_numba_vector_field_with_the_vector_signature():
    numba = pytest.importorskip("numba")
    from numba import types

    sig = types.void(types.intc, types.CPointer(types.float64), types.intc,
                     types.CPointer(types.float64), types.voidptr)

    @numba.cfunc(sig)
    def rot_c(n, x, m, out, ud):
        out[0] = -x[1]
        out[1] = x[0]

    v = fc.circulation(rot_c, lambda t: circle(t, 2.0), 0, TWO_PI, vectorized=True)
    assert v == pytest.approx(8 * math.pi, rel=1e-12)
    res = fc.green(rot_c, polar, (0, 1), (0, TWO_PI), vectorized=True)
    assert res.circulation == pytest.approx(TWO_PI, rel=1e-12) and abs(res.difference) < 1e-10


def test_example_script_checks_the_three_theorems(capsys):
    import pathlib
    import runpy
    path = pathlib.Path(__file__).resolve().parents[1] / "examples" / "vector_calculus.py"
    if not path.exists():
        pytest.skip("examples/ is not beside the tests")
    runpy.run_path(str(path), run_name="__main__")       # asserts each theorem to 1e-10
    assert capsys.readouterr().out.count(" ok") == 5


def test_singular_field_is_not_reported_as_agreeing():
    # F = (-y, x) / r^2 has curl 0 away from the origin but circulation 2 pi around it
    F = lambda x: np.array([-x[1], x[0]]) / (x[0] ** 2 + x[1] ** 2)
    with pytest.warns(IntegrationWarning, match="0 at every"):     # the curl is 0 everywhere
        res = fc.green(F, polar, (0, 1), (0, TWO_PI), vectorized=True, curl=lambda x: 0 * x[0])
    assert res.circulation == pytest.approx(TWO_PI, rel=1e-12)
    assert not res.agree and "hypotheses" in res.message
    # numerical curl: the adaptive derivative engine resolves curl F = 0 (to rounding) right up
    # to the origin, so the area side converges to 0, as with the exact curl above (the old
    # fixed stencil's noise there used to stop the cubature with an IntegrationWarning instead)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = fc.green(F, polar, (0, 1), (0, TWO_PI), vectorized=True, max_subdivisions=50)
    assert res.circulation == pytest.approx(TWO_PI, rel=1e-12)
    assert abs(res.double_integral) <= max(res.interior_error, 1e-12)
    assert res.success and not res.agree and "hypotheses" in res.message
    # a side that cannot converge within its budget says so (a smooth but sharply peaked curl,
    # 2c / (r^2 + c)^2, on a square with 3 subdivisions): the estimate still bounds the error
    c = 1e-4
    G = lambda x: np.array([-x[1], x[0]]) / (x[0] ** 2 + x[1] ** 2 + c)
    with pytest.warns(IntegrationWarning, match="did not reach"):
        res = fc.green(G, None, (-1, 1), (-1, 1), vectorized=True, max_subdivisions=3)
    ref = scipy.integrate.dblquad(lambda y, x: 2 * c / (x * x + y * y + c) ** 2, -1, 1, -1, 1,
                                  epsabs=1e-11, epsrel=1e-11)[0]
    assert not res.success and not res.agree
    assert abs(res.double_integral - ref) <= res.interior_error
    ok = fc.green(lambda x: np.array([-x[1], x[0]]), polar, (0, 1), (0, TWO_PI))
    assert ok.success and ok.agree


@pytest.mark.parametrize("R", [1e-6, 1e6])
def test_tiny_and_huge_scales(R):
    sph = lambda p: R * sphere(p)
    res = fc.surface_area(sph, (0, math.pi), (0, TWO_PI), full_output=True)
    assert res.success and res.value == pytest.approx(4 * math.pi * R * R, rel=1e-12)
    c = fc.circulation(rot, lambda t: circle(t, R), 0, TWO_PI, full_output=True)
    assert c.success and c.value == pytest.approx(TWO_PI * R * R, rel=1e-12)
    g = fc.green(lambda x: np.array([-x[1] ** 3, x[0] ** 3]), lambda p: R * polar(p), (0, 1),
                 (0, TWO_PI))
    assert g.agree and g.circulation == pytest.approx(1.5 * math.pi * R ** 4, rel=1e-11)
    d = fc.integrate_disk(lambda x: np.exp(-(x[0] ** 2 + x[1] ** 2) / R ** 2), radius=R,
                          vectorized=True)
    assert d == pytest.approx(math.pi * R * R * (1 - math.exp(-1)), rel=1e-12)


def test_field_args_let_a_compiled_field_run_on_a_batch_of_curves():
    numba = pytest.importorskip("numba")
    from numba import types

    sig = types.void(types.intc, types.CPointer(types.float64), types.intc,
                     types.CPointer(types.float64), types.voidptr)

    @numba.cfunc(sig)
    def cubic(n, x, m, out, ud):
        out[0] = -x[1] * x[1] * x[1]
        out[1] = x[0] * x[0] * x[0]

    R = np.array([0.5, 1.0, 2.0])
    got = fc.circulation(cubic, lambda t, R: circle(t, R), 0, TWO_PI, args=(R,), field_args=(),
                         vectorized=True)
    np.testing.assert_allclose(got, 1.5 * math.pi * R ** 4, rtol=1e-12)


@pytest.mark.parametrize("call,exc,word", [
    (lambda: fc.work("F", circle, 0, 1), TypeError, "F"),
    (lambda: fc.circulation(rot, circle, 0, 1, epsrel=-1.0), ValueError, "epsrel"),
    (lambda: fc.acceleration(circle, [0.0, np.inf]), ValueError, "t"),
    (lambda: fc.surface_integral(None, sphere, (0, 1), (0, 1)), TypeError, "f"),
    (lambda: fc.flux(rot, sphere, (0, 1), (0, 1, 2)), TypeError, "v_range"),
    (lambda: fc.flux(lambda x: x, sphere, (0, 1), (0, 1), max_subdivisions=0), ValueError,
     "max_subdivisions"),
    (lambda: fc.green(rot, polar, (0, np.nan), (0, 1)), ValueError, "u_range"),
    (lambda: fc.green(rot, polar, (0, 1), (0, 1), limit=0), ValueError, "limit"),
    (lambda: fc.green(rot, lambda p: np.array([p[0], p[1], p[0]]), (0, 1), (0, 1)), ValueError,
     "R\\^2"),
    (lambda: fc.green(rot, None, (0, 1), (0, 1), dr=lambda p: np.eye(2)), ValueError, "dr"),
    (lambda: fc.divergence_theorem(rot, None, (0, 1), (0, 1), "w"), TypeError, "w_range"),
    (lambda: fc.divergence_theorem(lambda x: x, polar, (0, 1), (0, 1), (0, 1)), ValueError,
     "R\\^3"),
    (lambda: fc.divergence_theorem(lambda x: x, None, (0, 1), (0, 1), (0, 1), rtol=-1),
     ValueError, "rtol"),
    (lambda: fc.region_integral(lambda x: 1.0, polar, []), ValueError, "ranges"),
    (lambda: fc.region_integral(lambda x: 1.0, polar, [(0, 1)]), IndexError, "index"),
    (lambda: fc.integrate_disk(lambda x: 1.0, center=(0, np.nan)), ValueError, "center"),
    (lambda: fc.integrate_indicator(lambda x: 1.0, 5, [0], [1]), TypeError, "indicator"),
])
def test_bad_input_registry(call, exc, word):
    with pytest.raises(exc, match=word):
        call()
