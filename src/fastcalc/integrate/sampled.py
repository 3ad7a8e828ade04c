"""Rules on sampled data: trapezoid, Simpson, their cumulative versions and Romberg."""
import numpy as np

from fastcalc import _sampled
from fastcalc._validation import as_int

__all__ = ["trapezoid", "simpson", "cumulative_trapezoid", "cumulative_simpson", "romb"]



def _as3(y, axis, name="y"):
    """y as a C-contiguous float64 (outer, N, inner) view, plus the output shape parts."""
    if isinstance(y, np.ma.MaskedArray):
        return None              # SciPy's semantics for masked samples (the mask is honoured)
    if isinstance(y, (str, bytes)):
        raise TypeError(f"{name} must be an array of numbers, got {type(y).__name__}")
    y = np.asarray(y)
    if y.dtype.kind in "USVMm":
        raise TypeError(f"{name} must be an array of numbers, got an array of dtype {y.dtype}")
    if y.dtype.kind not in "biuf":
        return None
    if y.ndim == 0:
        raise ValueError(f"{name} must have at least one dimension")
    axis = as_int(axis, "axis")
    if not -y.ndim <= axis < y.ndim:
        raise ValueError(f"`axis={axis}` is not valid for `{name}` with `{name}.ndim={y.ndim}`.")
    ax = int(axis) % y.ndim
    y = np.ascontiguousarray(y, dtype=np.float64)
    outer = int(np.prod(y.shape[:ax], dtype=np.int64))
    inner = int(np.prod(y.shape[ax + 1:], dtype=np.int64))
    return y.reshape(outer, y.shape[ax], inner), ax, y.shape


def _scipy(rule, y, **kw):
    """SciPy's own rule, for the inputs whose semantics fastcalc leaves to it (masked samples,
    exotic dtypes, a broadcasting x, an array dx)."""
    import scipy.integrate
    return getattr(scipy.integrate, rule)(y, **kw)


def _dx(dx, x):
    """The sample spacing (ignored when x is given, as SciPy does)."""
    return 1.0 if x is not None else float(dx)


def _prep_x(x, shape, ax, N, name="x"):
    if isinstance(x, np.ma.MaskedArray):
        return None
    x = np.asarray(x)
    if x.dtype.kind not in "biuf":
        return None
    if x.ndim == 1:
        if x.shape[0] != N:
            raise ValueError(f"If given, length of {name} along axis must be the same as y.")
        return np.ascontiguousarray(x, dtype=np.float64)
    if x.shape != shape:
        return None
    x = np.ascontiguousarray(x, dtype=np.float64)
    outer = int(np.prod(shape[:ax], dtype=np.int64))
    inner = int(np.prod(shape[ax + 1:], dtype=np.int64))
    return x.reshape(outer, N, inner)


def _low_precision(res, y, x, dx, follow_y=False):
    """SciPy's result dtype for float32/float16 samples (computed here in float64, rounded):
    y's dtype for trapezoid (``follow_y``), else y's promoted with x's or dx's."""
    yd = getattr(y, "dtype", None)
    if yd is None or yd.kind != "f" or yd.itemsize >= 8:
        return res
    rt = yd if follow_y else np.result_type(yd, np.asarray(x).dtype if x is not None else dx)
    if rt.kind != "f" or rt.itemsize >= 8:
        return res
    return res.astype(rt)


def _finish(out, shape, ax):
    res = out.reshape(shape[:ax] + shape[ax + 1:])
    return res[()] if res.ndim == 0 else res


def trapezoid(y, x=None, dx=1.0, axis=-1):
    """Composite trapezoidal rule along ``axis``, as :func:`scipy.integrate.trapezoid`.

    One pass in C over the samples (no temporaries).

    Examples
    --------
    >>> import fastcalc as fc
    >>> float(fc.trapezoid([1, 2, 3]))
    4.0
    """
    p = _as3(y, axis)
    if p is None:
        return _scipy("trapezoid", y, x=x, dx=dx, axis=axis)
    y3, ax, shape = p
    N = y3.shape[1]
    x3 = None
    if x is not None:
        x3 = _prep_x(x, shape, ax, N)
        if x3 is None:   # broadcasting x or exotic dtypes: SciPy's semantics
            return _scipy("trapezoid", y, x=x, dx=dx, axis=axis)
    elif np.ndim(dx) != 0:
        return _scipy("trapezoid", y, x=x, dx=dx, axis=axis)
    out = np.zeros((y3.shape[0], y3.shape[2]))
    _sampled.trapezoid(y3, x3, _dx(dx, x), out)
    return _low_precision(_finish(out, shape, ax), y, x, dx, follow_y=True)


def simpson(y, x=None, *, dx=1.0, axis=-1):
    """Composite Simpson's rule along ``axis``, as :func:`scipy.integrate.simpson`.

    Same results as SciPy (uneven spacing, even sample counts with Cartwright's correction for
    the last interval, n-D arrays, ``axis``), computed in one pass in C without temporaries.

    Examples
    --------
    >>> import numpy as np, fastcalc as fc
    >>> x = np.arange(0, 10)
    >>> float(fc.simpson(x**3, x=x))
    1640.5
    """
    p = _as3(y, axis)
    if p is None:
        return _scipy("simpson", y, x=x, dx=dx, axis=axis)
    y3, ax, shape = p
    N = y3.shape[1]
    if N == 0:
        raise ValueError("At least one point is required along `axis`: y has no samples there.")
    x3 = None
    if x is not None:
        xa = np.asarray(x)
        if xa.ndim != 1 and xa.ndim != len(shape):
            raise ValueError("If given, shape of x must be 1-D or the same as y.")
        if xa.shape[ax if xa.ndim > 1 else 0] != N:
            raise ValueError("If given, length of x along axis must be the same as y.")
        x3 = _prep_x(xa, shape, ax, N)
        if x3 is None:
            return _scipy("simpson", y, x=x, dx=dx, axis=axis)
    elif np.ndim(dx) != 0:
        return _scipy("simpson", y, x=x, dx=dx, axis=axis)
    out = np.empty((y3.shape[0], y3.shape[2]))
    _sampled.simpson(y3, x3, _dx(dx, x), out)
    if x is not None or N % 2 == 0:   # SciPy: float64 then (its even-N and x paths promote)
        return _finish(out, shape, ax)
    return _low_precision(_finish(out, shape, ax), y, x, dx)


def cumulative_trapezoid(y, x=None, dx=1.0, axis=-1, initial=None):
    """Cumulative trapezoidal rule, as :func:`scipy.integrate.cumulative_trapezoid`.

    Examples
    --------
    >>> import fastcalc as fc
    >>> fc.cumulative_trapezoid([1, 2, 3], initial=0)
    array([0. , 1.5, 4. ])
    """
    if initial is not None:
        if not np.isscalar(initial):
            raise ValueError("`initial` parameter should be a scalar.")
        if initial != 0:
            raise ValueError("`initial` must be `None` or `0`.")
    p = _as3(y, axis)
    if p is None or (x is None and np.ndim(dx) != 0):
        return _scipy("cumulative_trapezoid", y, x=x, dx=dx, axis=axis, initial=initial)
    y3, ax, shape = p
    N = y3.shape[1]
    if N == 0:
        raise ValueError("At least one point is required along `axis`: y has no samples there.")
    x3 = None
    if x is not None:
        x3 = _prep_x(x, shape, ax, N)
        if x3 is None:
            return _scipy("cumulative_trapezoid", y, x=x, dx=dx, axis=axis, initial=initial)
    off = 1 if initial is not None else 0
    nout = max(N - 1, 0) + off
    out = np.empty((y3.shape[0], nout, y3.shape[2]))
    if off:
        out[:, 0, :] = 0.0
    _sampled.cumtrapz(y3, x3, _dx(dx, x), out, off)
    return _low_precision(out.reshape(shape[:ax] + (nout,) + shape[ax + 1:]), y, x, dx)


def cumulative_simpson(y, *, x=None, dx=1.0, axis=-1, initial=None):
    """Cumulative Simpson's 1/3 rule, as :func:`scipy.integrate.cumulative_simpson`.

    Examples
    --------
    >>> import numpy as np, fastcalc as fc
    >>> x = np.linspace(0, 2, 5)
    >>> fc.cumulative_simpson(x**2, x=x, initial=0)
    array([0.        , 0.04166667, 0.33333333, 1.125     , 2.66666667])
    """
    p = _as3(y, axis)
    if p is None:
        return _scipy("cumulative_simpson", y, x=x, dx=dx, axis=axis, initial=initial)
    y3, ax, shape = p
    N = y3.shape[1]
    if N < 3:
        return _scipy("cumulative_simpson", y, x=x, dx=dx, axis=axis, initial=initial)
    outer, inner = y3.shape[0], y3.shape[2]
    alt = shape[:ax] + (1,) + shape[ax + 1:]
    if x is not None:
        xa = np.asarray(x, dtype=float)
        if not (xa.shape == shape or (xa.ndim == 1 and xa.shape[0] == N)):
            raise ValueError("If given, shape of `x` must be the same as `y` or 1-D with the same "
                             "length as `y` along `axis`.")
        if xa.ndim == 1:
            h = np.diff(xa).reshape(1, N - 1, 1)
        else:
            h = np.diff(np.ascontiguousarray(xa).reshape(outer, N, inner), axis=1)
        if np.any(h <= 0):
            raise ValueError("Input x must be strictly increasing.")
        equal = False
    else:
        d = np.asarray(dx, dtype=float)
        if not (d.ndim == 0 or d.shape == alt):
            raise ValueError("If provided, `dx` must either be a scalar or have the same shape as "
                             "`y` but with only 1 point along `axis`.")
        h = d.reshape(1, 1, 1) if d.ndim == 0 else np.ascontiguousarray(d).reshape(outer, 1, inner)
        equal = True
    h = np.broadcast_to(h, (outer, N - 1, inner))
    off = 1 if initial is not None else 0
    out = np.empty((outer, N - 1 + off, inner))
    _sampled.cumsimpson(y3, h, equal, out, off)
    if initial is not None:
        ini = np.asarray(initial, dtype=float)
        if not (ini.ndim == 0 or ini.shape == alt):
            raise ValueError("If provided, `initial` must either be a scalar or have the same "
                             "shape as `y` but with only 1 point along `axis`.")
        ini3 = ini.reshape(1, 1, 1) if ini.ndim == 0 else ini.reshape(outer, 1, inner)
        out[:, 0:1, :] = 0.0
        out += ini3
    return out.reshape(shape[:ax] + (N - 1 + off,) + shape[ax + 1:])


def romb(y, dx=1.0, axis=-1, show=False):
    """Romberg integration of ``2**k + 1`` equally spaced samples, as :func:`scipy.integrate.romb`.

    One pass in C collects the sample sums of every refinement level.

    Examples
    --------
    >>> import numpy as np, fastcalc as fc
    >>> x = np.linspace(0, 1, 9)
    >>> round(float(fc.romb(x**4, dx=x[1])), 14)
    0.2
    """
    p = _as3(y, axis)
    if p is None or show or np.ndim(dx) != 0:
        return _scipy("romb", y, dx=dx, axis=axis, show=show)
    y3, ax, shape = p
    N = y3.shape[1]
    nint = N - 1
    k = 0
    n = 1
    while n < nint:
        n <<= 1
        k += 1
    if n != nint:
        raise ValueError("Number of samples must be one plus a non-negative power of 2.")
    out = np.empty((y3.shape[0], y3.shape[2]))
    _sampled.romb(y3, float(dx), k, out)
    return _finish(out, shape, ax)
