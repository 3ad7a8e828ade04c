"""Python side of the callable protocol: :func:`evaluate` and :func:`jit`.

The adapter itself (:func:`fastcalc._core.as_evaluator`) recognises every kind of callable; this
module adds :func:`evaluate`, the public way to run any accepted callable at a batch of points
through that adapter, and :func:`jit`, which turns a Python function into a low-level callable.
"""
import numpy as np
from scipy import LowLevelCallable

from fastcalc import _core
from fastcalc._validation import as_args, as_int, as_points

_INSTALL_HINT = ("fastcalc.jit needs numba, an optional extra: pip install 'fastcalc[jit]' "
                 "(or pip install numba)")


def _numba():
    try:
        import numba
    except ImportError as exc:  # pragma: no cover - exercised by monkeypatching in tests
        raise ImportError(_INSTALL_HINT) from exc
    return numba


def _check_jit_signature(pyfunc):
    """A compiled callable gets exactly one argument (the point): refuse what cannot take it."""
    import inspect
    try:
        sig = inspect.signature(pyfunc)
    except (TypeError, ValueError):     # builtins without a signature: let numba decide
        return
    params = list(sig.parameters.values())
    kinds = inspect.Parameter
    bad = [p.name for p in params if p.kind in (kinds.VAR_KEYWORD, kinds.VAR_POSITIONAL)]
    if bad:
        raise TypeError(f"jit: pyfunc must take the point x as its only argument; "
                        f"*args/**kwargs ({', '.join(bad)}) cannot be compiled")
    required = [p.name for p in params if p.default is p.empty
                and p.kind in (kinds.POSITIONAL_ONLY, kinds.POSITIONAL_OR_KEYWORD, kinds.KEYWORD_ONLY)]
    if len(required) != 1:
        raise TypeError(f"jit: pyfunc must take exactly one required argument (the point x), "
                        f"got {len(required)}: {required}")


class JitCallable(LowLevelCallable):
    """The :class:`scipy.LowLevelCallable` made by :func:`jit`: it pickles as its Python function
    (compiled again where it is unpickled, e.g. on a Dask worker), never as an address."""

    def __new__(cls, function, recipe=None):
        self = super().__new__(cls, function)
        self.__dict__["recipe"] = recipe
        return self

    def __reduce__(self):
        pyfunc, ndim, nout = self.__dict__["recipe"]
        return jit_again, (pyfunc, ndim, nout)


def jit_again(pyfunc, ndim, nout):
    """:func:`jit` with keyword arguments given by position (the unpickler of JitCallable)."""
    return jit(pyfunc, ndim=ndim, nout=nout)


def jit(pyfunc=None, *, ndim=None, nout=None):
    """Compile a Python function into a :class:`scipy.LowLevelCallable` with numba.

    Parameters
    ----------
    pyfunc : callable
        ``f(x)`` of one float returning a float (``ndim=None`` and one parameter named anything but
        used as a number), or ``f(x)`` of a 1-D array ``x`` returning a float (``ndim`` given, or
        detected when the function indexes ``x``), or, with ``nout``, returning an array of
        ``nout`` numbers (the Jacobian signature).
    ndim : int, optional
        Number of variables.  ``None`` tries a scalar function first and falls back to an array one.
    nout : int, optional
        Number of outputs of a vector-valued function.

    Returns
    -------
    scipy.LowLevelCallable
        (a :class:`JitCallable`, which pickles as ``pyfunc`` and compiles again when unpickled, so
        it can be sent to Dask workers.)  Signature ``double (double)`` for scalar functions, ``double (int, double *)`` for functions
        of an array, ``void (int, const double *, int, double *, void *)`` with ``nout``.  The
        compiled function runs in fastcalc's C loops without the GIL and is also accepted by SciPy.

    Raises
    ------
    ImportError
        When numba is not installed (install with ``pip install 'fastcalc[jit]'``).
    TypeError
        When ``pyfunc`` does not take exactly one argument (``*args``/``**kwargs`` included).

    Examples
    --------
    >>> import fastcalc as fc
    >>> f = fc.jit(lambda x: x * x)          # doctest: +SKIP
    >>> f.signature                          # doctest: +SKIP
    'double (double)'
    """
    if pyfunc is None:
        return lambda g: jit(g, ndim=ndim, nout=nout)
    if not callable(pyfunc):
        raise TypeError(f"jit expects a Python function, got {type(pyfunc).__name__}")
    _check_jit_signature(pyfunc)
    numba = _numba()
    from numba import types, carray

    core = numba.njit(cache=False)(pyfunc)
    if nout is not None:
        nout = int(nout)
        if nout < 1:
            raise ValueError(f"nout must be >= 1, got {nout}")
        sig = types.void(types.intc, types.CPointer(types.double), types.intc,
                         types.CPointer(types.double), types.voidptr)

        def vec(n, xp, m, outp, ud):
            xs = carray(xp, (n,))
            r = core(xs)
            o = carray(outp, (m,))
            if r.shape[0] != m:         # wrong number of outputs: NaN, never a read past r
                for k in range(m):
                    o[k] = np.nan
                return
            for k in range(m):
                o[k] = r[k]

        return JitCallable(numba.cfunc(sig, nopython=True)(vec).ctypes, recipe=(pyfunc, ndim, nout))

    scalar_sig = types.double(types.double)
    if ndim is None:
        try:
            cf = numba.cfunc(scalar_sig, nopython=True)(core)
            return JitCallable(cf.ctypes, recipe=(pyfunc, ndim, nout))
        except Exception:  # numba typing error: f wants an array
            pass
    array_sig = types.double(types.intc, types.CPointer(types.double))

    def nd(n, xp):
        return core(carray(xp, (n,)))

    return JitCallable(numba.cfunc(array_sig, nopython=True)(nd).ctypes, recipe=(pyfunc, ndim, nout))


def evaluate(f, x, *, nout=None, vectorized=False, args=()):
    """Evaluate ``f`` at a batch of points through fastcalc's callable adapter.

    The same road every fastcalc routine takes to your function: built-in functions and low-level
    callables run in C without the GIL, vectorized Python callables get the whole batch in one
    call, plain Python callables one call per point.

    Parameters
    ----------
    f : callable, fastcalc.functions built-in, scipy.LowLevelCallable or numba cfunc
    x : array_like, shape (n,) or (n, k1, k2, ...)
        The points, variables on axis 0 (one variable: shape ``(1, k...)``).
    nout : int, optional
        Number of outputs per point of a vector-valued ``f`` (None: ``f`` is scalar).
    vectorized : bool
        ``f`` takes the whole batch, shape ``(n, m)``, and returns ``(m,)`` (or ``(nout, m)``).
    args : tuple
        Extra arguments (after ``x`` for Python callables; see the README for low-level ones).

    Returns
    -------
    ndarray
        Shape ``x.shape[1:]`` for a scalar ``f``, ``(nout,) + x.shape[1:]`` otherwise.

    Examples
    --------
    >>> import numpy as np
    >>> import fastcalc as fc
    >>> from fastcalc import functions as F
    >>> x = np.array([[1.0, 0.0], [1.0, 2.0]])          # two points in R^2
    >>> fc.evaluate(F.rosenbrock, x)
    array([  0., 401.])
    >>> fc.evaluate(lambda v: v[0] + v[1], x)
    array([2., 2.])
    """
    pts = as_points(x, "x", vector=True, finite=False)
    if nout is not None:
        nout = as_int(nout, "nout", low=1)
    args = as_args(args)
    if not callable(f) and not _core.is_compiled(f):
        raise TypeError(f"f must be callable, got {type(f).__name__}; accepted: "
                        f"{_core.ACCEPTED_KINDS}")
    n = pts.shape[0]
    batch = pts.shape[1:]
    out = _core.evaluate(f, pts.reshape(n, -1), nout=1 if nout is None else nout,
                         vectorized=bool(vectorized), args=args)
    return out.reshape(batch) if nout is None else out.reshape((nout,) + batch)


__all__ = ["evaluate", "jit"]
