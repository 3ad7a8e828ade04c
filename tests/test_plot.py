"""fastcalc.plot with the Agg backend: each artist's data against analytic / SciPy numbers, bad
input, and a few baseline images compared with a tolerance (matplotlib.testing.compare)."""
import math
import os
from pathlib import Path

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.testing.compare import compare_images  # noqa: E402
from scipy import integrate, stats  # noqa: E402

import fastcalc as fc  # noqa: E402
from fastcalc import plot  # noqa: E402

BASELINE = Path(__file__).parent / "baseline_images"


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def bowl(v):
    return v[0] ** 2 + 3 * v[1] ** 2


def saddle(v):
    return v[0] ** 2 - v[1] ** 2


def test_tangent_line_is_the_analytic_tangent():
    art = plot.tangent(np.sin, 1.0, vectorized=True)
    xs, ys = art.tangent.get_data()
    np.testing.assert_allclose(ys, np.sin(1.0) + np.cos(1.0) * (xs - 1.0), atol=1e-9)
    cx, cy = art.curve.get_data()
    np.testing.assert_allclose(cy, np.sin(cx))
    assert abs(art.values["slope"] - math.cos(1.0)) < 1e-9
    assert "0.540302" in art.label.get_text()


def test_tangent_scalar_python_function_and_given_axes():
    fig, ax = plt.subplots()
    art = plot.tangent(lambda x: x ** 3, 2.0, a=0.0, b=3.0, ax=ax)
    assert art.ax is ax
    xs, ys = art.tangent.get_data()
    np.testing.assert_allclose(ys, 8.0 + 12.0 * (xs - 2.0), rtol=1e-7, atol=1e-7)
    assert xs[0] == 0.0 and xs[-1] == 3.0


def test_derivatives_match_analytic():
    art = plot.derivatives(np.tanh, -2.0, 2.0, orders=(0, 1, 2), vectorized=True, num=101)
    x = art.lines[0].get_xdata()
    t = np.tanh(x)
    np.testing.assert_allclose(art.lines[0].get_ydata(), t)
    np.testing.assert_allclose(art.lines[1].get_ydata(), 1 - t ** 2, atol=1e-8)
    np.testing.assert_allclose(art.lines[2].get_ydata(), -2 * t * (1 - t ** 2), atol=1e-5)


def test_taylor_polynomials_and_errors():
    art = plot.taylor(np.exp, 0.0, degrees=(1, 2, 4), vectorized=True, num=61)
    coef = art.values["coef"]
    np.testing.assert_allclose(coef, [1 / math.factorial(k) for k in range(5)], rtol=1e-6,
                               atol=1e-8)
    x = art.polys[2].get_xdata()
    np.testing.assert_allclose(art.polys[2].get_ydata(), 1 + x + x ** 2 / 2, rtol=1e-6, atol=1e-6)
    ex, ey = art.errors[4].get_data()
    exact = np.abs(np.exp(ex) - sum(ex ** k / math.factorial(k) for k in range(5)))
    ok = np.isfinite(ey) & (exact > 1e-6)
    np.testing.assert_allclose(ey[ok], exact[ok], rtol=1e-3)
    # higher degree is closer away from x0
    assert art.errors[4].get_ydata()[0] < art.errors[1].get_ydata()[0]


def test_taylor_on_given_axes_uses_a_twin_for_errors():
    fig, ax = plt.subplots()
    art = plot.taylor(np.sin, 0.5, degrees=3, ax=ax, vectorized=True)
    assert art.ax is ax and art.error_ax is not ax
    assert art.error_ax.get_yscale() == "log"


def test_area_against_scipy_and_normal_cdf():
    pdf = stats.norm.pdf
    art = plot.area(pdf, -1.0, 1.0)
    exact = stats.norm.cdf(1) - stats.norm.cdf(-1)
    assert abs(art.values["integral"] - exact) < 1e-12
    assert art.values["error"] < 1e-8
    ref, _ = integrate.quad(pdf, -1.0, 1.0)
    assert f"{ref:.10g}"[:8] in art.label.get_text()
    verts = art.fill.get_paths()[0].vertices
    assert verts[:, 0].min() == pytest.approx(-1.0) and verts[:, 0].max() == pytest.approx(1.0)


def test_gradient_field_quiver_is_the_gradient():
    art = plot.gradient_field(bowl, ((-2, 2), (-1, 1)), vectorized=True, arrows=7, num=30)
    q = art.quiver
    pts = art.values["points"]
    np.testing.assert_allclose(q.U, 2 * pts[0], atol=1e-8)
    np.testing.assert_allclose(q.V, 6 * pts[1], atol=1e-8)
    np.testing.assert_allclose(q.X, pts[0])


def test_gradient_field_scalar_python():
    art = plot.gradient_field(lambda v: math.sin(v[0]) * v[1], ((0, 1), (0, 1)), arrows=3, num=5)
    pts = art.values["points"]
    np.testing.assert_allclose(art.quiver.U, np.cos(pts[0]) * pts[1], atol=1e-8)
    np.testing.assert_allclose(art.quiver.V, np.sin(pts[0]), atol=1e-8)


def test_surface_and_tangent_plane():
    art = plot.surface(bowl, ((-1, 1), (-1, 1)), point=(0.5, -0.5), vectorized=True, num=11)
    np.testing.assert_allclose(art.values["grad"], [1.0, -3.0], atol=1e-8)
    X = np.linspace(-1, 1, 11)
    assert art.values["Z"][0, 0] == pytest.approx(bowl(np.array([X[0], X[0]])))
    assert art.ax.name == "3d"


def test_descent_path_1d_seed_example():
    res = fc.gradient_descent(lambda x: x ** 2, 2.0, jac=lambda x: 2 * x, lr=0.1, maxiter=30)
    art = plot.descent_path(res, lambda x: x ** 2)
    xs, ys = art.paths[0].get_data()
    np.testing.assert_allclose(xs, 2.0 * 0.8 ** np.arange(len(xs)))
    np.testing.assert_allclose(ys, xs ** 2)


def test_descent_path_compares_runs_contour_and_surface():
    runs = [fc.minimize(bowl, [2.0, 1.0], method="gd",
                        options={"history": True, "lr": lr, "maxiter": 40}) for lr in (0.05, 0.1)]
    art = plot.descent_path(runs, bowl, labels=["lr 0.05", "lr 0.1"], vectorized=True)
    assert len(art.paths) == 2
    for line, lr in zip(art.paths, (0.05, 0.1)):
        x, y = line.get_data()
        k = np.arange(len(x))       # exact gd iterates on a quadratic
        np.testing.assert_allclose(x, 2.0 * (1 - 2 * lr) ** k, atol=1e-6)
        np.testing.assert_allclose(y, 1.0 * (1 - 6 * lr) ** k, atol=1e-6)
    assert [t.get_text() for t in art.ax.get_legend().get_texts()] == ["lr 0.05", "lr 0.1"]
    art3 = plot.descent_path(runs, bowl, kind="surface", vectorized=True)
    x, y, z = art3.paths[0].get_data_3d()
    np.testing.assert_allclose(z, x ** 2 + 3 * y ** 2)


def test_hessian_eigen_saddle_min_max():
    art = plot.hessian_eigen(saddle, [0.0, 0.0], vectorized=True)
    assert art.values["kind"] == "saddle"
    np.testing.assert_allclose(art.values["eigenvalues"], [-2.0, 2.0], atol=1e-6)
    assert "saddle" in art.ax.get_title()
    assert len(art.directions) == 2
    assert plot.hessian_eigen(bowl, [0.0, 0.0], vectorized=True).values["kind"] == "minimum"
    neg = plot.hessian_eigen(lambda v: -bowl(v), [0.0, 0.0], vectorized=True)
    assert neg.values["kind"] == "maximum"
    np.testing.assert_allclose(neg.values["hessian"], [[-2, 0], [0, -6]], atol=1e-6)


def test_hessian_eigen_model_matches_quadratic_exactly():
    # for a quadratic f the local model is f itself: the dashed contours are f's contours
    with pytest.warns(RuntimeWarning, match="not a critical point"):     # gradient (1.4, 0)
        art = plot.hessian_eigen(lambda v: v[0] ** 2 + v[0] * v[1] + 2 * v[1] ** 2 + v[0],
                                 [0.3, -0.2], vectorized=True, num=15)
    np.testing.assert_allclose(art.model.levels, art.contour.levels)
    np.testing.assert_allclose(np.sort(art.values["eigenvalues"]),
                               np.linalg.eigvalsh([[2, 1], [1, 4]]), atol=1e-6)


def test_vector_field_divergence_and_curl():
    F = lambda v: np.stack([v[0] * v[1], v[1] ** 2 - v[0]])   # div = 3y, curl = -1 - x
    art = plot.vector_field(F, ((-1, 1), (-1, 1)), vectorized=True, num=9, arrows=4)
    pts = art.values["points"]
    np.testing.assert_allclose(art.values["field"], 3 * pts[1], atol=1e-7)
    np.testing.assert_allclose(art.mesh.get_array().ravel(), 3 * pts[1], atol=1e-7)
    ap = art.values["apoints"]
    np.testing.assert_allclose(art.quiver.U, ap[0] * ap[1])
    art = plot.vector_field(F, ((-1, 1), (-1, 1)), show="curl", vectorized=True, num=9)
    np.testing.assert_allclose(art.values["field"], -1 - pts[0], atol=1e-7)


def test_vector_field_scalar_python():
    art = plot.vector_field(lambda v: np.array([-v[1], v[0]]), ((-1, 1), (-1, 1)), show="curl",
                            num=4, arrows=3)
    np.testing.assert_allclose(art.values["field"], 2.0, atol=1e-7)


@pytest.mark.parametrize("call, exc, word", [
    (lambda: plot.tangent("sin", 0.0), TypeError, "f"),
    (lambda: plot.tangent(np.sin, "a"), TypeError, "x0"),
    (lambda: plot.tangent(np.sin, 0.0, a=1.0, b=0.0), ValueError, "a"),
    (lambda: plot.tangent(np.sin, np.nan), ValueError, "x0"),
    (lambda: plot.tangent(np.sin, 0.0, num=1), ValueError, "num"),
    (lambda: plot.derivatives(np.sin, 0, 1, orders=(0, 9)), ValueError, "orders"),
    (lambda: plot.derivatives(np.sin, 0, 1, orders=()), ValueError, "orders"),
    (lambda: plot.taylor(np.sin, 0, degrees=(1, 2.5)), TypeError, "degrees"),
    (lambda: plot.taylor(np.sin, 0, degrees=(7,)), ValueError, "degrees"),
    (lambda: plot.area(np.sin, 0, np.inf), ValueError, "b"),
    (lambda: plot.area(np.sin, 1, 0), ValueError, "a"),
    (lambda: plot.gradient_field(bowl, ((0, 1),)), ValueError, "bounds"),
    (lambda: plot.gradient_field(bowl, ((1, 0), (0, 1))), ValueError, "bounds"),
    (lambda: plot.gradient_field(bowl, "abc"), TypeError, "bounds"),
    (lambda: plot.surface(bowl, ((0, 1), (0, 1)), point=(1, 2, 3)), ValueError, "point"),
    (lambda: plot.surface(bowl, ((0, 1), (0, 1)), ax=plt.subplots()[1]), ValueError, "ax"),
    (lambda: plot.descent_path(fc.minimize(bowl, [1.0, 1.0], method="gd"), bowl),
     ValueError, "history"),
    (lambda: plot.descent_path([], bowl), ValueError, "result"),
    (lambda: plot.descent_path(fc.gradient_descent(bowl, [1.0, 1.0]), bowl, kind="bar"),
     ValueError, "kind"),
    (lambda: plot.descent_path(fc.gradient_descent(bowl, [1.0, 1.0]), bowl, labels=["a", "b"]),
     ValueError, "labels"),
    (lambda: plot.hessian_eigen(bowl, [0.0]), ValueError, "x0"),
    (lambda: plot.hessian_eigen(bowl, [0.0, 0.0], radius=0), ValueError, "radius"),
    (lambda: plot.vector_field(bowl, ((0, 1), (0, 1)), show="grad"), ValueError, "show"),
])
def test_bad_input(call, exc, word):
    with pytest.raises(exc, match=word):
        call()


def test_user_exception_propagates():
    class Boom(Exception):
        pass

    def f(x):
        raise Boom("mine")
    with pytest.raises(Boom, match="mine"):
        plot.tangent(f, 0.0)


# ---- baseline images -------------------------------------------------------------------------

def _fig_tangent():
    return plot.tangent(np.sin, 1.0, vectorized=True).ax.figure


def _fig_taylor():
    # the 4th and 5th coefficients of log by finite differences miss sqrt(eps): said, and drawn
    with pytest.warns(fc.DifferentiationWarning, match="Taylor coefficient"):
        return plot.taylor(np.log, 1.0, degrees=(1, 2, 5), a=0.3, b=2.5,
                           vectorized=True).ax.figure


def _fig_gradient_field():
    return plot.gradient_field(bowl, ((-2, 2), (-2, 2)), vectorized=True, arrows=9).ax.figure


def _fig_hessian():
    return plot.hessian_eigen(saddle, [0.0, 0.0], vectorized=True).ax.figure


FIGURES = {"tangent": _fig_tangent, "taylor": _fig_taylor, "gradient_field": _fig_gradient_field,
           "hessian_eigen": _fig_hessian}


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_baseline_image(name, tmp_path):
    with matplotlib.rc_context({"figure.figsize": (5, 4), "figure.dpi": 60, "font.size": 9,
                                "svg.hashsalt": "fc", "path.simplify": False}):
        fig = FIGURES[name]()
        out = tmp_path / f"{name}.png"
        fig.savefig(out, dpi=60)
    baseline = BASELINE / f"{name}.png"
    if os.environ.get("FASTCALC_UPDATE_BASELINES"):
        baseline.write_bytes(out.read_bytes())
    assert baseline.exists(), f"no baseline {baseline}; make it with FASTCALC_UPDATE_BASELINES=1"
    diff = compare_images(str(baseline), str(out), tol=8)
    assert diff is None, diff


def test_without_matplotlib_the_error_names_the_extra(monkeypatch):
    import builtins
    import importlib
    import sys
    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "matplotlib" or name.startswith("matplotlib."):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)
    for mod in [m for m in sys.modules if m.startswith("fastcalc.plot")]:
        monkeypatch.delitem(sys.modules, mod)
    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(ImportError, match=r"pip install 'fastcalc\[plot\]'"):
        importlib.import_module("fastcalc.plot")
