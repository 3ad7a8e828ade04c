"""Vector calculus with fastcalc: line and surface integrals, and the three integral theorems
checked numerically on classic fields (both sides computed independently, to 1e-10).

Run:  python examples/vector_calculus.py
"""
import math

import numpy as np

import fastcalc as fc

TWO_PI = 2 * math.pi


def circle(t, R=1.0):
    return np.array([R * np.cos(t), R * np.sin(t)])


def sphere(p):
    """Unit sphere: p = (polar angle, azimuth)."""
    return np.array([np.sin(p[0]) * np.cos(p[1]), np.sin(p[0]) * np.sin(p[1]), np.cos(p[0])])


def polar(p):
    return np.array([p[0] * np.cos(p[1]), p[0] * np.sin(p[1])])


def spherical(p):
    r, ph, th = p
    return np.array([r * np.sin(ph) * np.cos(th), r * np.sin(ph) * np.sin(th), r * np.cos(ph)])


def check(name, res, lhs, rhs, exact):
    a, b = res[lhs], res[rhs]
    ok = abs(a - b) < 1e-10 and abs(a - exact) < 1e-10 * max(1, abs(exact)) and res.success
    print(f"{name:<44} {lhs} = {a:.15f}  {rhs} = {b:.15f}  |diff| = {abs(a - b):.1e}  "
          f"exact {exact:.15f}  {'ok' if ok else 'FAILED'}")
    assert ok, name


# --- curves ----------------------------------------------------------------------------------
print("length of the helix (cos t, sin t, t), t in [0, 2 pi]:",
      fc.line_integral(lambda x: 1.0, lambda t: np.array([np.cos(t), np.sin(t), t]), 0, TWO_PI),
      "exact", TWO_PI * math.sqrt(2))
print("work of F = grad(xyz) along a twisted curve:",
      fc.work(lambda x: np.array([x[1] * x[2], x[0] * x[2], x[0] * x[1]]),
              lambda t: np.array([np.cos(t), np.sin(2 * t), t ** 2]), 0, 1.3))
print("circulation of (-y, x) around the circle of radius 2:",
      fc.circulation(lambda x: np.array([-x[1], x[0]]), lambda t: circle(t, 2.0), 0, TWO_PI),
      "exact", 8 * math.pi)
print("flux of (x, y) out of the unit circle:",
      fc.curve_flux(lambda x: x, circle, 0, TWO_PI), "exact", TWO_PI)
R = np.linspace(0.5, 2.0, 4)
print("one batch, four circles:",
      fc.circulation(lambda x, R: np.array([-x[1], x[0]]), lambda t, R: circle(t, R), 0, TWO_PI,
                     args=(R,), vectorized=True), "exact", TWO_PI * R ** 2)

# --- surfaces --------------------------------------------------------------------------------
torus = lambda p: np.array([(2 + 0.5 * np.cos(p[1])) * np.cos(p[0]),
                            (2 + 0.5 * np.cos(p[1])) * np.sin(p[0]), 0.5 * np.sin(p[1])])
print("area of the unit sphere:", fc.surface_area(sphere, (0, math.pi), (0, TWO_PI)),
      "exact", 4 * math.pi)
print("area of the torus R = 2, a = 0.5:", fc.surface_area(torus, (0, TWO_PI), (0, TWO_PI)),
      "exact", 4 * math.pi ** 2)
print("int_S z^2 dS on the unit sphere:",
      fc.surface_integral(lambda x: x[2] ** 2, sphere, (0, math.pi), (0, TWO_PI)),
      "exact", 4 * math.pi / 3)

# --- the three theorems ----------------------------------------------------------------------
# Green: F = (-y^3, x^3) on the unit disk, curl_z = 3 (x^2 + y^2): both sides 3 pi / 2
res = fc.green(lambda x: np.array([-x[1] ** 3, x[0] ** 3]), polar, (0, 1), (0, TWO_PI),
               vectorized=True)
check("Green, (-y^3, x^3) on the unit disk", res, "circulation", "double_integral",
      1.5 * math.pi)
# Green on an annulus (two boundary circles, found from the map by itself)
res = fc.green(lambda x: np.array([x[0] * x[1] ** 2, x[0] ** 2 + x[1]]), polar, (1, 2),
               (0, TWO_PI), vectorized=True)
check("Green, (x y^2, x^2 + y) on 1 <= r <= 2", res, "circulation", "double_integral", 0.0)
# Stokes: F = (z - y, x + z^2, x y) on the upper unit hemisphere: both sides 2 pi
res = fc.stokes(lambda x: np.array([x[2] - x[1], x[0] + x[2] ** 2, x[0] * x[1]]), sphere,
                (0, math.pi / 2), (0, TWO_PI), vectorized=True)
check("Stokes, (z - y, x + z^2, xy) on a hemisphere", res, "circulation", "curl_flux", TWO_PI)
# divergence theorem: F = (x^3, y^3, z^3) on the unit ball, div = 3 r^2: both sides 12 pi / 5
res = fc.divergence_theorem(lambda x: x ** 3, spherical, (0, 1), (0, math.pi), (0, TWO_PI),
                            vectorized=True)
check("Gauss, (x^3, y^3, z^3) on the unit ball", res, "surface_flux", "volume_integral",
      12 * math.pi / 5)
res = fc.divergence_theorem(lambda x: np.array([x[0] * x[1], x[1] * x[2], x[2] * x[0]]), None,
                            (0, 1), (0, 2), (0, 3), vectorized=True)
check("Gauss, (xy, yz, zx) on [0,1]x[0,2]x[0,3]", res, "surface_flux", "volume_integral", 18.0)

# --- regions that are not boxes --------------------------------------------------------------
print("int over the unit disk of exp(-x^2 - y^2):",
      fc.integrate_disk(lambda x: np.exp(-x[0] ** 2 - x[1] ** 2), vectorized=True),
      "exact", math.pi * (1 - math.exp(-1)))
print("int over the ball of radius 2 of x^2:", fc.integrate_ball(lambda x: x[0] ** 2, radius=2.0),
      "exact", 4 * math.pi * 32 / 15)
print("int over the unit tetrahedron of xyz:",
      fc.integrate_simplex(lambda x: x[0] * x[1] * x[2], np.vstack([np.zeros(3), np.eye(3)])),
      "exact", 1 / 720)
