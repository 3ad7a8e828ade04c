"""Python side of the callable protocol: compiling plain Python functions with numba.

The adapter itself (:func:`fastcalc._core.as_evaluator`) recognises every kind of callable; this
module adds :func:`jit`, which turns a Python function into a low-level callable.
"""
import numpy as np
from scipy import LowLevelCallable

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
        Signature ``double (double)`` for scalar functions, ``double (int, double *)`` for functions
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

        return LowLevelCallable(numba.cfunc(sig, nopython=True)(vec).ctypes)

    scalar_sig = types.double(types.double)
    if ndim is None:
        try:
            cf = numba.cfunc(scalar_sig, nopython=True)(core)
            return LowLevelCallable(cf.ctypes)
        except Exception:  # numba typing error: f wants an array
            pass
    array_sig = types.double(types.intc, types.CPointer(types.double))

    def nd(n, xp):
        return core(carray(xp, (n,)))

    return LowLevelCallable(numba.cfunc(array_sig, nopython=True)(nd).ctypes)


__all__ = ["jit"]
