# cython: language_level=3
"""Gauss rules of fastcalc: Legendre, Hermite and Laguerre nodes, and fixed-order quadrature.

* Nodes and weights by Newton iteration on three-term recurrences in long double (C in
  ``_src/fc_gauss.h``); the O(n^2) work runs in slices with a Ctrl-C check between them.
* Fixed-order Gauss--Legendre quadrature evaluates the integrand through the ``_core`` adapter
  (one batch: every node of every integral) and reduces the values here.
"""

cimport numpy as cnp
from cpython.exc cimport PyErr_CheckSignals
from libc.stdlib cimport free, malloc
from libc.math cimport isfinite
from cpython.tuple cimport PyTuple_GET_SIZE, PyTuple_GET_ITEM

cdef extern from "fc_pyargs.h":
    bint fc_plain_real(object v, double *out)

import numpy as np

from fastcalc._core cimport Evaluator, as_evaluator

cnp.import_array()

cdef extern from "fc_gauss.h":
    void fc_legendre_nodes(int n, int k0, int k1, double *x, double *w) noexcept nogil
    void fc_hermite_polish(int n, int k0, int k1, double *x, double *w) noexcept nogil
    void fc_laguerre_polish(int n, int k0, int k1, double *x, double *w) noexcept nogil

#: largest number of nodes a Gauss rule may have (the O(n^2) Newton work takes about a second there)
MAX_NODES = 10_000

cdef enum:
    SLICE_WORK = 4_000_000   # recurrence steps between two Ctrl-C checks (a few ms)
    FIXED_STACK = 64         # nodes of one fixed_quad integral kept on the stack

cdef enum:
    FAMILY_LEGENDRE = 0
    FAMILY_HERMITE = 1
    FAMILY_LAGUERRE = 2


cdef int _nodes_sliced(int family, int n, double *x, double *w) except -1:
    """Run the family's Newton loop over all nodes in slices, checking signals between them."""
    cdef int total = (n + 1) // 2 if family == FAMILY_LEGENDRE else n
    cdef int step = max(1, SLICE_WORK // max(n, 1))
    cdef int k0 = 0, k1
    while k0 < total:
        k1 = min(total, k0 + step)
        with nogil:
            if family == FAMILY_LEGENDRE:
                fc_legendre_nodes(n, k0, k1, x, w)
            elif family == FAMILY_HERMITE:
                fc_hermite_polish(n, k0, k1, x, w)
            else:
                fc_laguerre_polish(n, k0, k1, x, w)
        if PyErr_CheckSignals() < 0:
            return -1
        k0 = k1
    return 0


def legendre(int n):
    """Gauss--Legendre nodes (ascending) and weights on [-1, 1]."""
    x = np.empty(n)
    w = np.empty(n)
    cdef double[::1] xv = x
    cdef double[::1] wv = w
    _nodes_sliced(FAMILY_LEGENDRE, n, &xv[0], &wv[0])
    return x, w


def polish(str family, double[::1] x):
    """Polish Gauss--``family`` ("hermite" or "laguerre") nodes ``x`` in place; returns the
    weights."""
    if family not in ("hermite", "laguerre"):
        raise ValueError(f"family must be 'hermite' or 'laguerre', got {family!r}")
    cdef int n = x.shape[0]
    cdef int fam = FAMILY_HERMITE if family == "hermite" else FAMILY_LAGUERRE
    w = np.empty(n)
    cdef double[::1] wv = w
    _nodes_sliced(fam, n, &x[0], &wv[0])
    return w


def fixed_single(func, a, b, args, cnp.ndarray x, cnp.ndarray w):
    """The compiled entry of a single ``fixed_quad`` call: when ``a`` and ``b`` are plain numbers
    and ``args`` a tuple without array entries (lists, arrays of dimension >= 1), the integral
    over [a, b] with the cached rule (x, w): all nodes in one batch through the adapter, the dot
    product here.  None when the call is a batch (the wrapper's general path)."""
    cdef double lo, hi
    cdef Py_ssize_t i, n
    cdef object t
    if not (fc_plain_real(a, &lo) and fc_plain_real(b, &hi)) or type(args) is not tuple:
        return None
    for i in range(PyTuple_GET_SIZE(<tuple>args)):
        t = <object>PyTuple_GET_ITEM(<tuple>args, i)
        if type(t) is list or (isinstance(t, cnp.ndarray) and cnp.PyArray_NDIM(<cnp.ndarray>t) > 0):
            return None
    if not (isfinite(lo) and isfinite(hi)):
        raise ValueError("Gaussian quadrature is only available for finite limits (a and b)")
    if (cnp.PyArray_TYPE(x) != cnp.NPY_FLOAT64 or cnp.PyArray_TYPE(w) != cnp.NPY_FLOAT64
            or not cnp.PyArray_IS_C_CONTIGUOUS(x) or not cnp.PyArray_IS_C_CONTIGUOUS(w)
            or cnp.PyArray_NDIM(x) != 1 or cnp.PyArray_SIZE(w) != cnp.PyArray_SIZE(x)):
        raise TypeError("x and w must be 1-D C-contiguous float64 arrays of one length")
    n = cnp.PyArray_SIZE(x)
    cdef const double *xp = <const double *>cnp.PyArray_DATA(x)
    cdef const double *wp = <const double *>cnp.PyArray_DATA(w)
    cdef double h = 0.5 * (hi - lo), s = 0.0
    cdef Evaluator ev = as_evaluator(func, 1, 1, True, True, True, <tuple>args)
    cdef double stack[2 * FIXED_STACK]
    cdef double *y = stack
    if n > FIXED_STACK:
        y = <double *>malloc(2 * n * sizeof(double))
        if y == NULL:
            raise MemoryError()
    cdef double *f = y + n
    try:
        for i in range(n):
            y[i] = h * (xp[i] + 1.0) + lo
        if ev.nogil:
            with nogil:
                ev.eval(n, y, n, f, n)
        else:
            ev.eval(n, y, n, f, n)
        for i in range(n):
            s += wp[i] * f[i]
    finally:
        if y != stack:
            free(y)
    return h * s


def evaluate_points(func, const double[::1] x, bint vectorized, tuple args):
    """func(x_j, *args) at every point of x (one batch through the adapter)."""
    cdef Py_ssize_t m = x.shape[0]
    cdef Evaluator ev = as_evaluator(func, 1, 1, True, True, vectorized, args)
    out = np.empty(m)
    cdef double[::1] ov = out
    if m == 0:
        return out
    if ev.nogil:
        with nogil:
            ev.eval(m, &x[0], m, &ov[0], m)
    else:
        ev.eval(m, &x[0], m, &ov[0], m)
    return out


def fixed_batch(func, const double[::1] x, const double[::1] w, const double[::1] lo,
                const double[::1] hi, outer, bint vectorized, tuple args):
    """N Gauss--Legendre integrals over [lo[e], hi[e]], all N*n nodes in one batch.

    ``outer``: None or an (nouter, N) C-contiguous array of per-integral extra variables, which
    follow x in the point (rows 1..nouter), as the adaptive engine passes them."""
    cdef Py_ssize_t n = x.shape[0], N = lo.shape[0], m = n * N, e, i
    cdef int r, nouter = 0
    cdef const double[:, ::1] ov
    if outer is not None:
        ov = outer
        nouter = ov.shape[0]
    cdef Evaluator ev
    if nouter == 0:
        ev = as_evaluator(func, 1, 1, True, True, vectorized, args)
    else:
        ev = as_evaluator(func, 1 + nouter, 1, False, True, vectorized, args)
    res = np.empty(N)
    cdef double[::1] rv = res
    if m == 0:
        return res
    pts = np.empty((1 + nouter) * m + m)
    cdef double[::1] pv = pts
    cdef double *X = &pv[0]
    cdef double *F = X + (1 + nouter) * m
    cdef double h, s
    for e in range(N):
        h = 0.5 * (hi[e] - lo[e])
        for i in range(n):
            X[e * n + i] = h * (x[i] + 1.0) + lo[e]
        for r in range(nouter):
            for i in range(n):
                X[(r + 1) * m + e * n + i] = ov[r, e]
    if ev.nogil:
        with nogil:
            ev.eval(m, X, m, F, m)
    else:
        ev.eval(m, X, m, F, m)
    for e in range(N):
        h = 0.5 * (hi[e] - lo[e])
        s = 0.0
        for i in range(n):
            s += w[i] * F[e * n + i]
        rv[e] = h * s
    return res
