"""Argument checks shared by every public wrapper (one message style).

Every wrapper validates its arguments here, before any compiled code runs.  Each helper names the
argument and what was expected in its message:

* a wrong *type* (a string where a number goes, a float where an integer goes) is a ``TypeError``;
* a value of the right type outside its range (a negative count, NaN, an unknown method) is a
  ``ValueError``.

Integers: Python ints, NumPy integers and integral floats (``5.0``) are accepted, so
``limit=50.0`` and ``limit=51.0`` behave alike; ``2.5``, ``True`` and strings are not.
"""
import math
import numbers
import operator
import os

import numpy as np

__all__ = ["as_int", "as_real", "as_tolerances", "as_args", "as_callable", "as_choice",
           "as_options", "as_points", "as_workers", "as_function", "as_floats"]


def _range_text(low, high, low_open=False, high_open=False):
    if low is not None and high is not None:
        return (f"in {'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}")
    if low is not None:
        return f"{'>' if low_open else '>='} {low}"
    if high is not None:
        return f"{'<' if high_open else '<='} {high}"
    return ""


def as_int(value, name, *, low=None, high=None):
    """``value`` as a Python int in ``[low, high]`` (either bound may be None)."""
    if type(value) is int:          # (the common case first: not a bool, nothing to convert)
        if (low is not None and value < low) or (high is not None and value > high):
            raise ValueError(f"{name} must be an integer {_range_text(low, high)}, got {value}")
        return value
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    try:
        v = operator.index(value)
    except TypeError:
        if isinstance(value, numbers.Real) and math.isfinite(value) and float(value).is_integer():
            v = int(value)
        else:
            raise TypeError(f"{name} must be an integer, got {value!r}") from None
    if (low is not None and v < low) or (high is not None and v > high):
        raise ValueError(f"{name} must be an integer {_range_text(low, high)}, got {v}")
    return v


def as_real(value, name, *, low=None, high=None, low_open=False, high_open=False, finite=True):
    """``value`` as a Python float, finite unless ``finite=False``, within the given bounds."""
    if type(value) is float or type(value) is int:     # (the common case: no type tests)
        pass
    elif isinstance(value, (bool, np.bool_, str, bytes)) or not isinstance(value, (numbers.Real,
                                                                                 np.ndarray)):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    elif isinstance(value, np.ndarray):
        if value.ndim != 0 or np.iscomplexobj(value) or value.dtype.kind not in "iuf":
            raise TypeError(f"{name} must be a real number, got an array of shape {value.shape}")
        value = value.item()
    v = float(value)
    if math.isnan(v) or (finite and math.isinf(v)):
        raise ValueError(f"{name} must be a finite number, got {v}")
    bad = ((low is not None and (v < low or (low_open and v == low)))
           or (high is not None and (v > high or (high_open and v == high))))
    if bad:
        raise ValueError(f"{name} must be {_range_text(low, high, low_open, high_open)}, got {v}")
    return v


def as_tolerances(atol, rtol, *, names=("atol", "rtol"), rtol_min=0.0):
    """``(atol, rtol)`` as non-negative floats, not both zero; ``rtol >= rtol_min``."""
    a = as_real(atol, names[0], low=0.0)
    r = as_real(rtol, names[1], low=0.0)
    if r < rtol_min:
        raise ValueError(f"{names[1]} must be >= {rtol_min:g} (the precision a double can reach), "
                         f"got {r:g}")
    if a == 0.0 and r == 0.0:
        raise ValueError(f"{names[0]} and {names[1]} cannot both be zero")
    return a, r


def as_floor_tolerances(atol, rtol, default_rtol):
    """The derivatives' tolerances: ``atol`` None (the rounding floor) or >= 0, ``rtol`` >= 0
    (None: ``default_rtol``), not both zero."""
    a = None if atol is None else as_real(atol, "atol", low=0.0)
    r = default_rtol if rtol is None else as_real(rtol, "rtol", low=0.0)
    if a == 0.0 and r == 0.0:
        raise ValueError("atol and rtol cannot both be zero")
    return a, r


def as_args(args, name="args"):
    """Extra arguments for the user's function as a tuple (a lone object becomes a 1-tuple)."""
    if args is None:
        return ()
    if isinstance(args, tuple):
        return args
    if isinstance(args, list):
        return tuple(args)
    return (args,)


def as_callable(f, name="f"):
    """``f`` itself, after checking that it can be called."""
    if not callable(f):
        raise TypeError(f"{name} must be callable, got {type(f).__name__}")
    return f


def as_choice(value, name, choices):
    """``value`` (case-insensitive string) as one of ``choices``, which maps names to codes or is a
    sequence of names; returns the code (or the canonical name)."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, one of {_listing(choices)}; got {value!r}")
    if isinstance(choices, dict) and value in choices:     # (spelled as the table spells it)
        return choices[value]
    key = value.lower()
    if isinstance(choices, dict):
        lowered = {k.lower(): v for k, v in choices.items()}
        if key in lowered:
            return lowered[key]
    else:
        for c in choices:
            if c.lower() == key:
                return c
    raise ValueError(f"{name} must be one of {_listing(choices)}, got {value!r}")


def _listing(choices):
    return ", ".join(repr(c) for c in choices)


def as_options(options, allowed, name="options"):
    """``options`` (None or a mapping) as a dict whose keys are all in ``allowed``."""
    if options is None:
        return {}
    if not hasattr(options, "keys"):
        raise TypeError(f"{name} must be a dict, got {type(options).__name__}")
    out = dict(options)
    unknown = sorted(set(out) - set(allowed))
    if unknown:
        raise ValueError(f"unknown {name} {', '.join(map(repr, unknown))}; valid ones are "
                         f"{', '.join(map(repr, sorted(allowed)))}")
    return out


def as_points(x, name="x", *, vector=True, dtype=np.float64, finite=True):
    """``x`` as a real array of ``dtype`` (float64 unless told); with ``vector=True`` it must have the
    variables on axis 0 (shape ``(n,)`` or ``(n, k...)``, n >= 1)."""
    if isinstance(x, (str, bytes)):
        raise TypeError(f"{name} must be an array of real numbers, got {type(x).__name__}")
    try:
        if np.iscomplexobj(x):
            raise TypeError
        arr = np.asarray(x, dtype=dtype)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be an array of real numbers, got "
                        f"{type(x).__name__}") from None
    if vector and arr.ndim == 0:
        raise ValueError(f"{name} must have the variables on axis 0 (shape (n,) or (n, k...)), "
                         "got a scalar")
    if vector and arr.shape[0] == 0:
        raise ValueError(f"{name} must have at least one variable on axis 0, got shape {arr.shape}")
    if finite and arr.size and not np.isfinite(arr).all():
        raise ValueError(f"{name} must be finite (no NaN or inf)")
    return arr


def as_workers(workers, name="workers"):
    """Number of threads: a positive int, or -1 for all cores (SciPy's convention)."""
    w = as_int(workers, name)
    if w == -1:
        return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                   else (os.cpu_count() or 1))
    if w < 1:
        raise ValueError(f"{name} must be a positive integer or -1 (all cores), got {w}")
    return w


def as_function(f, name="f"):
    """``f`` itself when it can reach the callable adapter: a Python callable, or a compiled one
    (:class:`scipy.LowLevelCallable`, numba ``cfunc``, ctypes/cffi pointer, capsule)."""
    from fastcalc._core import is_compiled
    if callable(f) or is_compiled(f):
        return f
    raise TypeError(f"{name} must be a function (a Python callable or a compiled callable such as "
                    f"a LowLevelCallable), got {type(f).__name__}")


def as_floats(x, name="x", *, finite=False):
    """``x`` as a float array that keeps single precision: float32 (and float16) input gives a
    float32 array (no upcast), any other real input float64.  NaN/inf allowed unless ``finite``."""
    if isinstance(x, (str, bytes)) or np.iscomplexobj(x):
        raise TypeError(f"{name} must be an array of real numbers, got {type(x).__name__}")
    kind = getattr(getattr(x, "dtype", None), "kind", None)
    single = kind == "f" and x.dtype.itemsize <= 4
    return as_points(x, name, vector=False, dtype=np.float32 if single else np.float64,
                     finite=finite)
