"""Plots of functions of two variables: gradient fields, surfaces, descent paths, curvature, and
vector fields with their divergence or curl."""
import numpy as np

import fastcalc as fc
from fastcalc._validation import as_choice, as_points, as_real
from fastcalc.plot.common import (Artists, check_bounds, check_num, grid, new_axes, values_1d,
                                  values_2d)

__all__ = ["gradient_field", "surface", "descent_path", "hessian_eigen", "vector_field"]


def gradient_field(f, bounds, *, ax=None, num=60, arrows=15, levels=20, vectorized=False):
    """Contours of ``f(x, y)`` with the arrows of its gradient ``fc.gradient(f, points)``.

    Parameters
    ----------
    f : callable
        ``f(v)`` with ``v`` of shape (2,) (vectorized: (2, m) -> (m,)).
    bounds : ((x_lo, x_hi), (y_lo, y_hi))
        Region drawn.
    ax : Axes, optional
    num : int
        Grid size of the contour map (num x num).
    arrows : int
        Grid size of the quiver (arrows x arrows).
    levels : int
        Number of contour levels.
    vectorized : bool
        ``f`` takes a batch (2, m).

    Returns
    -------
    Artists
        ``contour`` (QuadContourSet) and ``quiver`` (Quiver); ``values`` holds the arrow points
        ``points`` (2, arrows**2) and the gradients ``grad`` (2, arrows**2).

    Examples
    --------
    >>> from fastcalc import plot
    >>> art = plot.gradient_field(lambda v: v[0]**2 + 2*v[1]**2, ((-1, 1), (-1, 1)),
    ...                           vectorized=True, arrows=5)
    >>> art.values["grad"].shape
    (2, 25)
    """
    bounds = check_bounds(bounds)
    num = check_num(num)
    arrows = check_num(arrows, "arrows", high=200)
    levels = check_num(levels, "levels", low=1, high=500)
    ax = new_axes(ax)
    X, Y, pts = grid(bounds, num)
    Z = values_2d(f, pts, vectorized).reshape(X.shape)
    contour = ax.contour(X, Y, Z, levels=levels, cmap="viridis")
    _, _, apts = grid(bounds, arrows)
    g = np.asarray(fc.gradient(f, apts, vectorized=vectorized))
    quiver = ax.quiver(apts[0], apts[1], g[0], g[1], color="C3", angles="xy")
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_aspect("equal", adjustable="box")
    return Artists(ax, dict(points=apts, grad=g), contour=contour, quiver=quiver)


def surface(f, bounds, *, point=None, ax=None, num=40, vectorized=False):
    """3-D surface of ``f(x, y)``; with ``point``, also the tangent plane from ``fc.gradient``.

    Parameters
    ----------
    f : callable
        As in :func:`gradient_field`.
    bounds : ((x_lo, x_hi), (y_lo, y_hi))
    point : array_like, shape (2,), optional
        Where to draw the tangent plane and the gradient's direction of steepest ascent.
    ax : 3-D Axes, optional
    num : int
        Grid size.
    vectorized : bool

    Returns
    -------
    Artists
        ``surface`` (Poly3DCollection); with ``point``: ``plane`` and ``marker``; ``values``
        holds ``Z`` and, with ``point``, ``grad``.

    Examples
    --------
    >>> from fastcalc import plot
    >>> art = plot.surface(lambda v: v[0]**2 + v[1]**2, ((-1, 1), (-1, 1)), point=(0.5, 0.0),
    ...                    vectorized=True)
    >>> [round(float(g), 6) for g in art.values["grad"]]
    [1.0, 0.0]
    """
    bounds = check_bounds(bounds)
    num = check_num(num, high=400)
    ax = new_axes(ax, projection="3d")
    X, Y, pts = grid(bounds, num)
    Z = values_2d(f, pts, vectorized).reshape(X.shape)
    surf = ax.plot_surface(X, Y, Z, cmap="viridis", alpha=0.8, linewidth=0)
    out = Artists(ax, dict(Z=Z), surface=surf)
    if point is not None:
        p = as_points(point, "point")
        if p.shape != (2,):
            raise ValueError(f"point must have shape (2,), got {p.shape}")
        f0 = float(values_2d(f, p.reshape(2, 1), vectorized)[0])
        g = np.asarray(fc.gradient(f, p, vectorized=vectorized), dtype=float)
        r = 0.25 * np.ptp(bounds, axis=1)
        PX, PY = np.meshgrid(np.linspace(p[0] - r[0], p[0] + r[0], 5),
                             np.linspace(p[1] - r[1], p[1] + r[1], 5))
        out["plane"] = ax.plot_surface(PX, PY, f0 + g[0] * (PX - p[0]) + g[1] * (PY - p[1]),
                                       color="C3", alpha=0.5)
        (out["marker"],) = ax.plot([p[0]], [p[1]], [f0], "o", color="C3")
        out.values.update(grad=g, f0=f0)
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_zlabel("f")
    return out


def _paths(results):
    if isinstance(results, dict) and "x" in results:
        results = [results]
    results = list(results)
    if not results:
        raise ValueError("result must be an OptimizeResult or a non-empty list of them")
    paths = []
    for r in results:
        path = getattr(r, "path", None) if not isinstance(r, dict) else r.get("path")
        if path is None:
            raise ValueError("result has no path: run the optimizer with history=True "
                             "(options={'history': True} for minimize)")
        paths.append(np.asarray(path, dtype=float))
    dims = {1 if p.ndim == 1 else p.shape[1] for p in paths}
    if len(dims) != 1 or dims - {1, 2}:
        raise ValueError("descent_path draws paths of one or two variables, all of the same size")
    return paths, dims.pop()


def _path_bounds(paths, pad=0.2):
    allp = np.concatenate([p.reshape(len(p), -1) for p in paths])
    lo, hi = allp.min(axis=0), allp.max(axis=0)
    w = np.maximum(hi - lo, 1e-3)
    return np.stack([lo - pad * w, hi + pad * w], axis=1)


def descent_path(result, f=None, *, kind="contour", labels=None, bounds=None, ax=None, num=60,
                 vectorized=False):
    """Draw the path of a descent run (``result.path``), or of several, over ``f``.

    Parameters
    ----------
    result : OptimizeResult or list of them
        Results of :func:`fastcalc.gradient_descent` (history on by default) or
        :func:`fastcalc.minimize` with ``options={"history": True}``; several results are drawn in
        one figure (to compare methods or learning rates).
    f : callable, optional
        The objective, drawn under the paths (a curve for one variable, contours or a surface for
        two).  Without it only the paths are drawn.
    kind : {"contour", "surface"}
        For two variables: 2-D contour map or 3-D surface.
    labels : sequence of str, optional
        Legend entries, one per result.
    bounds : optional
        Region drawn (default: the paths' extent plus a margin); ``(lo, hi)`` for one variable.
    ax : Axes, optional
    num : int
        Grid size for ``f``.
    vectorized : bool
        ``f`` takes a batch.

    Returns
    -------
    Artists
        ``paths`` (list of Line2D), ``background`` (the curve, contour set or surface, or None).

    Examples
    --------
    >>> import fastcalc as fc
    >>> from fastcalc import plot
    >>> res = fc.gradient_descent(lambda x: x**2, 2.0, jac=lambda x: 2*x, lr=0.1, maxiter=30)
    >>> art = plot.descent_path(res, lambda x: x**2)
    >>> art.paths[0].get_xdata()[:3].tolist()
    [2.0, 1.6, 1.28]
    """
    kind = as_choice(kind, "kind", ("contour", "surface"))
    paths, n = _paths(result)
    num = check_num(num)
    if labels is None:
        labels = [None] * len(paths) if len(paths) == 1 else [f"run {i}" for i in range(len(paths))]
    labels = list(labels)
    if len(labels) != len(paths):
        raise ValueError(f"labels must have one entry per result ({len(paths)}), got {len(labels)}")
    if n == 1:
        return _descent_1d(paths, f, labels, bounds, ax, num, vectorized)
    b = _path_bounds(paths) if bounds is None else check_bounds(bounds)
    ax = new_axes(ax, projection="3d" if kind == "surface" else None)
    background, lines = None, []
    if f is not None:
        X, Y, pts = grid(b, num)
        Z = values_2d(f, pts, vectorized).reshape(X.shape)
        if kind == "surface":
            background = ax.plot_surface(X, Y, Z, cmap="viridis", alpha=0.6, linewidth=0)
        else:
            background = ax.contour(X, Y, Z, levels=25, cmap="viridis")
    for p, lab in zip(paths, labels):
        if kind == "surface":
            z = (values_2d(f, p.T.copy(), vectorized) if f is not None else np.zeros(len(p)))
            (line,) = ax.plot(p[:, 0], p[:, 1], z, "o-", ms=3, label=lab)
        else:
            (line,) = ax.plot(p[:, 0], p[:, 1], "o-", ms=3, label=lab)
        lines.append(line)
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    if any(lab is not None for lab in labels):
        ax.legend(loc="best")
    return Artists(ax, {}, paths=lines, background=background)


def _descent_1d(paths, f, labels, bounds, ax, num, vectorized):
    ax = new_axes(ax)
    if bounds is None:
        b = _path_bounds(paths)[0]
    else:
        b = np.asarray(bounds, dtype=float).ravel()
        if b.shape != (2,) or not np.all(np.isfinite(b)) or not b[0] < b[1]:
            raise ValueError("bounds must be (lo, hi) with lo < hi for a one-variable path")
    background, lines = None, []
    if f is not None:
        xs = np.linspace(b[0], b[1], num)
        (background,) = ax.plot(xs, values_1d(f, xs, vectorized), "k")
    for p, lab in zip(paths, labels):
        y = values_1d(f, p, vectorized) if f is not None else np.arange(len(p), dtype=float)
        (line,) = ax.plot(p, y, "o-", ms=4, label=lab)
        lines.append(line)
    ax.set_xlabel("x")
    if any(lab is not None for lab in labels):
        ax.legend(loc="best")
    return Artists(ax, {}, paths=lines, background=background)


def hessian_eigen(f, x0, *, radius=1.0, ax=None, num=60, vectorized=False):
    """Contours of ``f`` near ``x0`` with its local quadratic model and the Hessian's
    eigen-directions, labelled by ``fc.classify_critical_point`` (minimum / maximum / saddle).

    The model is ``f(x0) + g·d + d·H·d / 2`` with ``g = fc.gradient(f, x0)`` and
    ``H = fc.hessian(f, x0)``; each eigenvector is drawn with length ``radius / 2`` and labelled with
    its eigenvalue.

    Parameters
    ----------
    f : callable
        As in :func:`gradient_field`.
    x0 : array_like, shape (2,)
        The point (normally a critical point).
    radius : float
        Half-width of the region drawn.
    ax : Axes, optional
    num : int
    vectorized : bool

    Returns
    -------
    Artists
        ``contour`` (f), ``model`` (quadratic model, dashed), ``directions`` (list of
        annotations); ``values`` holds ``hessian``, ``eigenvalues``, ``eigenvectors``, ``kind``
        and ``grad``.

    Examples
    --------
    >>> from fastcalc import plot
    >>> art = plot.hessian_eigen(lambda v: v[0]**2 - v[1]**2, [0.0, 0.0], vectorized=True)
    >>> art.values["kind"], art.values["eigenvalues"].round(6).tolist()
    ('saddle', [-2.0, 2.0])
    """
    p = as_points(x0, "x0")
    if p.shape != (2,):
        raise ValueError(f"x0 must have shape (2,), got {p.shape}")
    radius = as_real(radius, "radius", low=0.0, low_open=True)
    num = check_num(num)
    ax = new_axes(ax)
    H = np.asarray(fc.hessian(f, p, vectorized=vectorized), dtype=float)
    g = np.asarray(fc.gradient(f, p, vectorized=vectorized), dtype=float)
    kind = fc.classify_critical_point(f, p, vectorized=vectorized).kind
    lam, vec = np.linalg.eigh(H)
    b = np.stack([p - radius, p + radius], axis=1)
    X, Y, pts = grid(b, num)
    Z = values_2d(f, pts, vectorized).reshape(X.shape)
    f0 = float(values_2d(f, p.reshape(2, 1), vectorized)[0])
    D = pts - p[:, None]
    M = (f0 + g @ D + 0.5 * np.einsum("im,ij,jm->m", D, H, D)).reshape(X.shape)
    contour = ax.contour(X, Y, Z, levels=15, cmap="viridis")
    model = ax.contour(X, Y, M, levels=contour.levels, colors="0.3", linestyles="dashed",
                       linewidths=0.8)
    directions = []
    for k in range(2):
        tip = p + 0.5 * radius * vec[:, k]
        directions.append(ax.annotate("", xy=tip, xytext=p,
                                      arrowprops=dict(arrowstyle="->", color="C3", lw=2)))
        ax.text(*(p + 0.62 * radius * vec[:, k]), f"λ{k + 1} = {lam[k]:.4g}", color="C3",
                ha="center", va="center", backgroundcolor="white")
    ax.plot([p[0]], [p[1]], "ko")
    ax.set_title(f"{kind} at ({p[0]:g}, {p[1]:g}): eigenvalues {lam[0]:.4g}, {lam[1]:.4g}")
    ax.set_aspect("equal", adjustable="box")
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    return Artists(ax, dict(hessian=H, eigenvalues=lam, eigenvectors=vec, kind=kind, grad=g),
                   contour=contour, model=model, directions=directions)


def vector_field(F, bounds, *, show="divergence", ax=None, num=40, arrows=15, vectorized=False):
    """Arrows of a planar vector field ``F(x, y)`` over a colour map of its divergence
    (``fc.divergence``) or scalar curl (``fc.curl``).

    Parameters
    ----------
    F : callable
        ``F(v)`` with ``v`` of shape (2,) returning shape (2,) (vectorized: (2, m) -> (2, m)).
    bounds : ((x_lo, x_hi), (y_lo, y_hi))
    show : {"divergence", "curl"}
    ax : Axes, optional
    num : int
        Grid size of the colour map.
    arrows : int
        Grid size of the quiver.
    vectorized : bool

    Returns
    -------
    Artists
        ``mesh`` (QuadMesh of the divergence or curl), ``quiver``, ``colorbar``; ``values`` holds
        ``points`` (2, num**2), ``field`` (its values there), ``vectors`` (F at the arrow points).

    Examples
    --------
    >>> import numpy as np
    >>> from fastcalc import plot
    >>> art = plot.vector_field(lambda v: np.stack([-v[1], v[0]]), ((-1, 1), (-1, 1)),
    ...                         show="curl", vectorized=True, num=5)
    >>> np.allclose(art.values["field"], 2.0)
    True
    """
    show = as_choice(show, "show", ("divergence", "curl"))
    bounds = check_bounds(bounds)
    num = check_num(num)
    arrows = check_num(arrows, "arrows", high=200)
    ax = new_axes(ax)
    X, Y, pts = grid(bounds, num)
    op = fc.divergence if show == "divergence" else fc.curl
    field = np.asarray(op(F, pts, vectorized=vectorized), dtype=float)
    lo, hi = float(np.nanmin(field)), float(np.nanmax(field))
    if hi - lo <= 1e-6 * max(1.0, abs(lo), abs(hi)):    # constant field: do not colour rounding
        lo, hi = lo - 1.0, hi + 1.0
    mesh = ax.pcolormesh(X, Y, field.reshape(X.shape), cmap="coolwarm", shading="auto", vmin=lo,
                         vmax=hi)
    colorbar = ax.figure.colorbar(mesh, ax=ax, label=show)
    _, _, apts = grid(bounds, arrows)
    if vectorized:
        V = np.asarray(F(apts), dtype=float)
    else:
        V = np.stack([np.asarray(F(apts[:, j].copy()), dtype=float) for j in range(apts.shape[1])],
                     axis=1)
    if V.shape != apts.shape:
        raise ValueError(f"F must return 2 components per point, got shape {V.shape}")
    quiver = ax.quiver(apts[0], apts[1], V[0], V[1], angles="xy")
    ax.set_aspect("equal", adjustable="box")
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    return Artists(ax, dict(points=pts, field=field, vectors=V, apoints=apts), mesh=mesh,
                   quiver=quiver, colorbar=colorbar)
