"""Python side of the callable protocol: compiling plain Python functions with numba.

The adapter itself (:func:`fastcalc._core.as_evaluator`) recognises every kind of callable; this
module adds :func:`jit`, which turns a Python function into a low-level callable.
"""
from scipy import LowLevelCallable
_INSTALL_HINT = ("fastcalc.jit needs numba, an optional extra: pip install 'fastcalc[jit]' "
                 "(or pip install numba)")


def _numba():
    try:
        import numba
    except ImportError as exc:  # pragma: no cover - exercised by monkeypatching in tests
        raise ImportError(_INSTALL_HINT) from exc
    return numba


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
