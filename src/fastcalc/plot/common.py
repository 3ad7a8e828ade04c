"""Shared pieces of :mod:`fastcalc.plot`: the matplotlib import, argument checks, sampling.

Every number a plot draws comes from fastcalc's public API or from calling the user's function
itself; this module only samples grids and evaluates ``f`` on them.
"""
import numpy as np

from fastcalc._validation import as_callable, as_int, as_points, as_real

try:
    import matplotlib
    import matplotlib.pyplot as plt
except ImportError as exc:  # pragma: no cover - exercised in a venv without the extra
    raise ImportError("fastcalc.plot needs matplotlib, which is not installed; install it with "
                      "pip install 'fastcalc[plot]'") from exc

__all__ = ["Artists", "plt", "matplotlib", "new_axes", "check_interval", "check_bounds",
           "values_1d", "values_2d", "grid"]


class Artists(dict):
    """The artists a plot function drew (a dict, also readable as attributes).

    ``ax`` is the axes drawn on and ``values`` the numbers fastcalc computed for the figure (the
    slope, the integral and its error, the eigenvalues, ...).
    """

    def __init__(self, ax, values=None, **artists):
        super().__init__(**artists)
        self.ax = ax
        self.values = dict(values or {})

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def new_axes(ax, projection=None):
    """``ax`` itself, or the axes of a new figure (3-D with ``projection="3d"``)."""
    if ax is not None:
        if projection == "3d" and getattr(ax, "name", "") != "3d":
            raise ValueError("ax must be a 3-D axes (projection='3d') for this plot")
        return ax
    fig = plt.figure()
    return fig.add_subplot(projection=projection)


def check_interval(a, b, names=("a", "b")):
    """``(a, b)`` as finite floats with ``a < b``."""
    a = as_real(a, names[0])
    b = as_real(b, names[1])
    if not a < b:
        raise ValueError(f"{names[0]} must be smaller than {names[1]}, got {a} and {b}")
    return a, b


def check_bounds(bounds, name="bounds"):
    """``((x_lo, x_hi), (y_lo, y_hi))`` as a (2, 2) float array with lo < hi in each row."""
    arr = as_points(bounds, name)
    if arr.shape != (2, 2):
        raise ValueError(f"{name} must be ((x_lo, x_hi), (y_lo, y_hi)), got shape {arr.shape}")
    if not np.all(arr[:, 0] < arr[:, 1]):
        raise ValueError(f"{name} must have lo < hi in each row, got {arr.tolist()}")
    return arr


def check_num(num, name="num", low=2, high=2000):
    return as_int(num, name, low=low, high=high)


def values_1d(f, xs, vectorized):
    """f at the points ``xs`` (one call when ``vectorized``, else one call per point)."""
    as_callable(f)
    with np.errstate(all="ignore"):
        if vectorized:
            y = np.asarray(f(xs), dtype=float)
            if y.shape != xs.shape:
                y = np.broadcast_to(y, xs.shape).astype(float)
            return y
        return np.array([float(f(float(x))) for x in xs])


def values_2d(f, pts, vectorized):
    """f at the points ``pts`` of shape (2, m) (as values of shape (m,))."""
    as_callable(f)
    with np.errstate(all="ignore"):
        if vectorized:
            z = np.asarray(f(pts), dtype=float)
            return np.broadcast_to(z, pts.shape[1:]).astype(float)
        return np.array([float(f(pts[:, j].copy())) for j in range(pts.shape[1])])


def grid(bounds, num):
    """Meshgrid X, Y of shape (num, num) over ``bounds`` and the points as (2, num*num)."""
    xs = np.linspace(bounds[0, 0], bounds[0, 1], num)
    ys = np.linspace(bounds[1, 0], bounds[1, 1], num)
    X, Y = np.meshgrid(xs, ys)
    return X, Y, np.stack([X.ravel(), Y.ravel()])
