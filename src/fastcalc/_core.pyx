# cython: language_level=3
"""The callable protocol of fastcalc.

Kernels produce points, :class:`Evaluator` evaluates them, kernels reduce the values.  An evaluator
wraps one of four kinds of callable, fastest first:

* ``KIND_BUILTIN``  -- a :class:`Function` from :mod:`fastcalc.functions`: a C batch entry,
  points innermost, GIL released;
* ``KIND_LOWLEVEL`` -- a :class:`scipy.LowLevelCallable` (ctypes, cffi, Cython capsule, numba
  ``cfunc``) looped over the batch in C, GIL released;
* ``KIND_PYVEC``    -- a vectorized Python callable: one call per batch, variables on axis 0;
* ``KIND_PYSCALAR`` -- a plain Python callable: one call per point from a C loop.

The unit of work is ``eval(m, x, ldx, out, ldo)``: ``x[i*ldx + j]`` is variable ``i`` of point ``j``
and ``out[k*ldo + j]`` is output ``k`` of point ``j``.  It returns -1 with a Python exception set when
the user's function raised (the exception is re-raised unchanged), when it returned something of the
wrong shape or type, or when Ctrl-C was pressed.
"""

cimport numpy as cnp
from cpython.pycapsule cimport (PyCapsule_CheckExact, PyCapsule_GetContext, PyCapsule_GetName,
                                PyCapsule_GetPointer, PyCapsule_New)
from cpython.exc cimport PyErr_CheckSignals
from cpython.float cimport PyFloat_AS_DOUBLE, PyFloat_Check, PyFloat_FromDouble
from cpython.object cimport PyObject
from libc.stdlib cimport malloc, free
from libc.string cimport memcpy

import numpy as np
from scipy import LowLevelCallable

cnp.import_array()

cdef extern from "fc_types.h":
    ctypedef double (*fc_ll_d)(double) noexcept nogil
    ctypedef double (*fc_ll_dv)(double, void *) noexcept nogil
    ctypedef double (*fc_ll_id)(int, double *) noexcept nogil
    ctypedef double (*fc_ll_idv)(int, double *, void *) noexcept nogil
    ctypedef void (*fc_ll_vec)(int, const double *, int, double *, void *) noexcept nogil

cdef extern from "Python.h":
    # on a borrowed pointer, so that Cython takes no reference of its own while asking
    Py_ssize_t borrowed_refcount "Py_REFCNT"(PyObject *o)

cdef extern from *:
    """
    #ifndef FASTCALC_OPENMP
    #define FASTCALC_OPENMP 0
    #endif
    #if defined(__clang__)
    #define FC_COMPILER "clang " __clang_version__
    #elif defined(__GNUC__)
    #define FC_COMPILER "gcc " __VERSION__
    #else
    #define FC_COMPILER "unknown"
    #endif
    """
    int FASTCALC_OPENMP
    const char *FC_COMPILER

cdef enum:
    # how many evaluations run between two checks for Ctrl-C
    SIGNAL_EVERY = 4096
    # variables of one point gathered on the stack for low-level callables; more go to the heap
    STACK_VARS = 64

#: The accepted low-level signatures, as SciPy spells them, and their codes.
SIGNATURES = {
    "double (double)": SIG_D,
    "double (double, void *)": SIG_DV,
    "double (int, double *)": SIG_ID,
    "double (int, double *, void *)": SIG_IDV,
    "void (int, const double *, int, double *, void *)": SIG_VEC,
    # ctypes cannot say "const": numba cfuncs and ctypes functions arrive without it
    "void (int, double *, int, double *, void *)": SIG_VEC,
}

ACCEPTED_KINDS = (
    "a built-in fastcalc.functions function, a scipy.LowLevelCallable (ctypes, cffi, "
    "Cython capsule or numba cfunc) with one of the signatures "
    "'double (double)', 'double (double, void *)', 'double (int, double *)', "
    "'double (int, double *, void *)', 'void (int, const double *, int, double *, void *)', "
    "a numba cfunc object, or a Python callable"
)


def openmp_enabled():
    """True when the compiled core was built with OpenMP."""
    return bool(FASTCALC_OPENMP)


def compiler():
    """The C compiler that built the compiled core, e.g. 'gcc 12.2.0'."""
    return FC_COMPILER.decode()


cdef inline int check_signals() except -1 nogil:
    with gil:
        if PyErr_CheckSignals() < 0:
            return -1
    return 0


# ---------------------------------------------------------------------------------------------
# Built-in functions
# ---------------------------------------------------------------------------------------------

_OUTPUT_NAMES = ("value", "grad", "hess")


cdef class Function:
    """A built-in test function evaluated in C.

    Call it with the batch-axis convention: ``f(x)`` with ``x.shape == (n,)`` for one point or
    ``(n, k1, k2, ...)`` for a batch (one-variable functions take any array of points).  Values have
    shape ``x.shape[1:]``, gradients ``x.shape`` and Hessians ``(n, n) + x.shape[1:]``.

    Attributes
    ----------
    name : str
    ndim : int
        Number of variables, or 0 when any ``n >= min_ndim`` is accepted.
    grad, hess : Function or None
        The analytic gradient and Hessian.
    lowlevel : scipy.LowLevelCallable
        The same function as a C function pointer, for SciPy or any low-level consumer.
    minima : list of (x, f)
        Known global (and notable local) minima in the default dimension (2 for any-n functions);
        ``minima_in(n)`` gives them in dimension ``n``.
    """

    def __init__(self):
        raise TypeError("built-in functions are created by fastcalc itself")

    cdef int check_ndim(self, int n) except -1:
        if self.ndim and n != self.ndim:
            raise ValueError(f"{self.name} takes {self.ndim} variable(s) on axis 0, got {n}")
        if n < self.min_ndim:
            raise ValueError(f"{self.name} needs at least {self.min_ndim} variables on axis 0, got {n}")
        return 0

    cdef int nout(self, int n) noexcept:
        if self.output == OUT_VALUE:
            return 1
        if self.output == OUT_GRAD:
            return n
        return n * n

    @property
    def output_kind(self):
        """'value', 'grad' or 'hess'."""
        return _OUTPUT_NAMES[self.output]

    @property
    def lowlevel(self):
        """The function as a :class:`scipy.LowLevelCallable` (signature in ``.signature``)."""
        cap = PyCapsule_New(self.ll_ptr, self.ll_sig, NULL)
        return LowLevelCallable(cap)

    @property
    def minima(self):
        return self.minima_in(self.ndim or max(2, self.min_ndim))

    def minima_in(self, int n):
        """Known minima ``[(x, f), ...]`` in dimension ``n`` (x as an array of shape (n,))."""
        if self._minima is None:
            return []
        self.check_ndim(n)
        return [(np.asarray(x, dtype=float).reshape(-1) if self.ndim != 1 else float(x), float(f))
                for x, f in self._minima(n)]

    def __repr__(self):
        dims = f"n={self.ndim}" if self.ndim else f"n>={self.min_ndim}"
        return f"<fastcalc built-in {self.name} ({_OUTPUT_NAMES[self.output]}, {dims})>"

    def __reduce__(self):
        return (_builtin_by_name, (self.name,))

    def __call__(self, x):
        scalar_in = np.ndim(x) == 0
        arr = np.asarray(x, dtype=np.float64)
        cdef int n
        cdef Py_ssize_t m
        if self.ndim == 1:
            n = 1
            pts = arr.reshape(1, -1)
            batch_shape = arr.shape
        else:
            if arr.ndim == 0:
                raise ValueError(f"{self.name}: x must have the {self.ndim or 'n'} variables on axis 0, "
                                 "got a scalar")
            n = arr.shape[0]
            batch_shape = arr.shape[1:]
            pts = arr.reshape(n, -1)
        self.check_ndim(n)
        pts = np.ascontiguousarray(pts)
        m = pts.shape[1]
        cdef int p = self.nout(n)
        out = np.empty((p, m), dtype=np.float64)
        cdef const double[:, ::1] xv = pts
        cdef double[:, ::1] ov = out
        if m > 0:
            with nogil:
                self.batch(n, m, &xv[0, 0], m, &ov[0, 0], m)
        if self.ndim == 1 or self.output == OUT_VALUE:
            res = out.reshape(batch_shape)
        elif self.output == OUT_GRAD:
            res = out.reshape((n,) + batch_shape)
        else:
            res = out.reshape((n, n) + batch_shape)
        if scalar_in:
            return res[()]
        return res


_BUILTINS = {}


def _builtin_by_name(name):
    return _BUILTINS[name]


cdef Function make_function(str name, fc_batch_fn batch, void *ll_ptr, const char *ll_sig,
                            int ndim, int min_ndim, int output, object minima, str doc):
    """Create a built-in Function (called by fastcalc._functions)."""
    cdef Function f = Function.__new__(Function)
    f.name = name
    f.batch = batch
    f.ll_ptr = ll_ptr
    f.ll_sig = ll_sig
    f.ndim = ndim
    f.min_ndim = min_ndim
    f.output = output
    f._minima = minima
    f.doc = doc
    return f


def _link_derivatives(Function f, grad, hess):
    """Attach the analytic gradient and Hessian to a value Function and register it by name."""
    f.grad = grad
    f.hess = hess
    _BUILTINS[f.name] = f
    for g in (grad, hess):
        if g is not None:
            _BUILTINS[g.name] = g


# ---------------------------------------------------------------------------------------------
# The adapter
# ---------------------------------------------------------------------------------------------

cdef class Evaluator:
    """Evaluates a user's function at batches of points.  Create it with :func:`as_evaluator`."""

    def __init__(self):
        raise TypeError("use fastcalc._core.as_evaluator() to create an Evaluator")

    def __dealloc__(self):
        if self.argv != NULL:
            free(self.argv)

    @property
    def kind_name(self):
        return ("builtin", "lowlevel", "vectorized", "python")[self.kind]

    cdef int eval(self, Py_ssize_t m, const double *x, Py_ssize_t ldx,
                  double *out, Py_ssize_t ldo) except -1 nogil:
        """Evaluate the function at ``m`` points (see the module docstring for the layout)."""
        if m <= 0:
            return 0
        self.nfev += m
        if self.kind == KIND_BUILTIN:
            self.batch(self.n, m, x, ldx, out, ldo)
            self.since_check += m
            if self.since_check >= SIGNAL_EVERY:
                self.since_check = 0
                return check_signals()
            return 0
        if self.kind == KIND_LOWLEVEL:
            return self._eval_lowlevel(m, x, ldx, out, ldo)
        with gil:
            if self.kind == KIND_PYVEC:
                return self._eval_pyvec(m, x, ldx, out, ldo)
            return self._eval_pyscalar(m, x, ldx, out, ldo)

    cdef int _eval_lowlevel(self, Py_ssize_t m, const double *x, Py_ssize_t ldx,
                            double *out, Py_ssize_t ldo) except -1 nogil:
        cdef Py_ssize_t j
        cdef int i, k
        cdef int n = self.n
        cdef int nt = n + self.nargs
        cdef double stack_pt[STACK_VARS]
        cdef double stack_out[STACK_VARS]
        cdef double *pt = stack_pt
        cdef double *po = stack_out
        cdef void *ud = self.user_data
        cdef int rc = 0
        # the signal counter lives in a local while looping: one shared write per call, so
        # threads that share this evaluator do not fight over its cache line
        cdef Py_ssize_t since = self.since_check
        if self.sig == SIG_D:
            for j in range(m):
                out[j] = (<fc_ll_d>self.fptr)(x[j])
                since += 1
                if since >= SIGNAL_EVERY:
                    since = 0
                    if check_signals() < 0:
                        self.since_check = 0
                        return -1
            self.since_check = since
            return 0
        if self.sig == SIG_DV:
            for j in range(m):
                out[j] = (<fc_ll_dv>self.fptr)(x[j], ud)
                since += 1
                if since >= SIGNAL_EVERY:
                    since = 0
                    if check_signals() < 0:
                        self.since_check = 0
                        return -1
            self.since_check = since
            return 0
        if nt > STACK_VARS:
            pt = <double *>malloc(nt * sizeof(double))
            if pt == NULL:
                with gil:
                    raise MemoryError()
        if self.sig == SIG_VEC and self.nout > STACK_VARS:
            po = <double *>malloc(self.nout * sizeof(double))
            if po == NULL:
                if pt != stack_pt:
                    free(pt)
                with gil:
                    raise MemoryError()
        for i in range(self.nargs):
            pt[n + i] = self.argv[i]
        for j in range(m):
            for i in range(n):
                pt[i] = x[i * ldx + j]
            if self.sig == SIG_ID:
                out[j] = (<fc_ll_id>self.fptr)(nt, pt)
            elif self.sig == SIG_IDV:
                out[j] = (<fc_ll_idv>self.fptr)(nt, pt, ud)
            else:
                (<fc_ll_vec>self.fptr)(nt, pt, self.nout, po, ud)
                for k in range(self.nout):
                    out[k * ldo + j] = po[k]
            since += 1
            if since >= SIGNAL_EVERY:
                since = 0
                rc = check_signals()
                if rc < 0:
                    break
        self.since_check = since
        if pt != stack_pt:
            free(pt)
        if po != stack_out:
            free(po)
        return rc

    cdef int _eval_pyvec(self, Py_ssize_t m, const double *x, Py_ssize_t ldx,
                         double *out, Py_ssize_t ldo) except -1:
        cdef cnp.ndarray xa
        cdef Py_ssize_t i, k
        cdef cnp.npy_intp dims[2]
        if self.scalar_x:
            dims[0] = m
            xa = cnp.PyArray_SimpleNew(1, dims, cnp.NPY_FLOAT64)
            memcpy(cnp.PyArray_DATA(xa), x, m * sizeof(double))
        else:
            dims[0] = self.n
            dims[1] = m
            xa = cnp.PyArray_SimpleNew(2, dims, cnp.NPY_FLOAT64)
            for i in range(self.n):
                memcpy(<double *>cnp.PyArray_DATA(xa) + i * m, x + i * ldx, m * sizeof(double))
        r = self.func(xa, *self.args)
        ra = _as_real_array(r, "an array of real numbers")
        cdef tuple expected
        if self.scalar_out:
            expected = (m,)
        else:
            expected = (self.nout, m)
        if ra.shape != expected:
            raise ValueError(f"the vectorized function returned shape {ra.shape} for {m} points; "
                             f"expected {expected} (points on the last axis)")
        cdef const double[:, :] rv = ra.reshape(-1, m)
        for k in range(rv.shape[0]):
            for i in range(m):
                out[k * ldo + i] = rv[k, i]
        return 0

    cdef int _eval_pyscalar(self, Py_ssize_t m, const double *x, Py_ssize_t ldx,
                            double *out, Py_ssize_t ldo) except -1:
        cdef Py_ssize_t j
        cdef int i, k
        cdef double *xd
        cdef cnp.npy_intp dims[1]
        cdef object func = self.func
        cdef tuple args = self.args
        cdef bint has_args = len(args) > 0
        cdef object xa
        cdef object r
        dims[0] = self.n
        for j in range(m):
            if self.scalar_x:
                xa = PyFloat_FromDouble(x[j])
            else:
                # reuse the (n,) array when nobody else kept a reference to it
                if self.xbuf is None or borrowed_refcount(<PyObject *>self.xbuf) > 1:
                    self.xbuf = cnp.PyArray_SimpleNew(1, dims, cnp.NPY_FLOAT64)
                xd = <double *>cnp.PyArray_DATA(self.xbuf)
                for i in range(self.n):
                    xd[i] = x[i * ldx + j]
                xa = self.xbuf
            if has_args:
                r = func(xa, *args)
            else:
                r = func(xa)
            xa = None
            if self.scalar_out:
                if PyFloat_Check(r):            # float and numpy.float64
                    out[j] = PyFloat_AS_DOUBLE(r)
                else:
                    out[j] = _as_real(r)
            else:
                _store_vector(r, self.nout, out + j, ldo)
        return 0


cdef double _as_real(object r) except? -1.0:
    """The scalar a Python function returned, or a TypeError/ValueError naming what was wrong."""
    if isinstance(r, np.ndarray) and r.ndim != 0:
        raise ValueError(f"the function must return a scalar for one point, got an array of shape "
                         f"{r.shape}")
    if isinstance(r, (complex, np.complexfloating)) or (isinstance(r, np.ndarray)
                                                          and np.iscomplexobj(r)):
        raise TypeError("the function returned a complex number; expected a real number")
    try:
        return float(r)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"the function returned {type(r).__name__}, expected a real number") from exc


cdef object _as_real_array(object r, str expected):
    """``r`` as a float64 array; complex or non-numeric results are a TypeError (not truncated)."""
    if np.iscomplexobj(r):
        raise TypeError(f"the function returned complex values; expected {expected}")
    try:
        return np.asarray(r, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"the function returned {type(r).__name__}, expected {expected}") from exc


cdef int _store_vector(object r, int nout, double *out, Py_ssize_t ldo) except -1:
    ra = _as_real_array(r, f"an array of {nout} real numbers")
    if ra.shape != (nout,):
        raise ValueError(f"the function returned shape {ra.shape} for one point; expected ({nout},)")
    cdef const double[:] rv = ra
    cdef int k
    for k in range(nout):
        out[k * ldo] = rv[k]
    return 0


def _normalize_signature(s):
    return " ".join(str(s).replace("*", " * ").replace(",", " , ").replace("(", " ( ")
                    .replace(")", " ) ").split()).replace(" ,", ",").replace("( ", "(") \
        .replace(" )", ")").replace("* )", "*)")


_ACCEPTED_SIGS = ", ".join(repr(s) for s in list(SIGNATURES)[:5])
_NORMALIZED = {_normalize_signature(k): v for k, v in SIGNATURES.items()}


def _lowlevel_from(f):
    """A LowLevelCallable for numba cfuncs, ctypes/cffi function pointers and capsules, else None."""
    if isinstance(f, LowLevelCallable):
        return f
    if PyCapsule_CheckExact(f):
        return LowLevelCallable(f)
    tname = type(f).__name__
    if tname == "CFunc" and hasattr(f, "ctypes"):          # numba.cfunc object
        return LowLevelCallable(f.ctypes)
    import ctypes
    if isinstance(f, ctypes._CFuncPtr):
        return LowLevelCallable(f)
    if type(f).__module__ == "_cffi_backend":
        return LowLevelCallable(f)
    return None


import math as _math
import types as _types

_PLAIN_TYPES = (_types.FunctionType, _types.BuiltinFunctionType, _types.MethodType, np.ufunc,
                type(_math.sin))


def is_compiled(f):
    """True when ``f`` runs in C without the GIL: a built-in :class:`Function`, a
    :class:`scipy.LowLevelCallable`, a numba ``cfunc`` or a ctypes/cffi function pointer."""
    if type(f) in _PLAIN_TYPES:
        return False
    if isinstance(f, Function):
        return True
    try:
        return _lowlevel_from(f) is not None
    except Exception:       # an object that LowLevelCallable cannot parse is not compiled
        return False


cpdef Evaluator as_evaluator(object f, int n=1, int nout=1, bint scalar_x=False,
                             bint scalar_out=True, bint vectorized=False, tuple args=()):
    """Wrap ``f`` for kernels.

    Parameters
    ----------
    f : callable, Function, LowLevelCallable or numba cfunc
    n : int
        Variables per point.
    nout : int
        Outputs per point.
    scalar_x : bool
        Python callables receive a float (one point) or a 1-D array of points rather than an array
        with the variables on axis 0.  Requires ``n == 1``.
    scalar_out : bool
        The function returns one number per point (``nout == 1``); otherwise an array of ``nout``.
    vectorized : bool
        A Python callable takes a whole batch (variables on axis 0, points on the last axis).
    args : tuple
        Extra arguments: passed after ``x`` to Python callables; appended to the point for the
        ``double (int, double *)``-style low-level signatures; given as a pointer to a ``double``
        array as ``user_data`` for ``double (double, void *)`` when the LowLevelCallable has none.
    """
    cdef Evaluator ev = Evaluator.__new__(Evaluator)
    cdef Function bf
    cdef int i
    if n < 1 or nout < 1:
        raise ValueError(f"n and nout must be >= 1, got n={n}, nout={nout}")
    if scalar_x and n != 1:
        raise ValueError("scalar_x requires n == 1")
    if scalar_out and nout != 1:
        raise ValueError("scalar_out requires nout == 1")
    ev.n = n
    ev.nout = nout
    ev.scalar_x = scalar_x
    ev.scalar_out = scalar_out
    ev.args = args
    if isinstance(f, Function):
        bf = <Function>f
        if args:
            raise TypeError(f"built-in function {bf.name} takes no args")
        bf.check_ndim(n)
        if bf.nout(n) != nout:
            raise ValueError(f"built-in {bf.name} ({bf.output_kind}) has {bf.nout(n)} outputs per "
                             f"point, expected {nout}")
        ev.kind = KIND_BUILTIN
        ev.batch = bf.batch
        ev.nogil = True
        ev.keep = bf
        return ev
    llc = _lowlevel_from(f)
    if llc is not None:
        cap = tuple.__getitem__(llc, 0)
        raw_sig = PyCapsule_GetName(cap)
        sig_text = (<bytes>raw_sig).decode() if raw_sig != NULL else ""
        code = _NORMALIZED.get(_normalize_signature(sig_text))
        if code is None:
            raise TypeError(f"unsupported low-level signature {sig_text!r}; accepted signatures: "
                            f"{_ACCEPTED_SIGS}")
        ev.kind = KIND_LOWLEVEL
        ev.sig = code
        ev.fptr = PyCapsule_GetPointer(cap, raw_sig)
        ev.user_data = PyCapsule_GetContext(cap)
        ev.nogil = True
        ev.keep = llc
        if code in (SIG_D, SIG_DV) and n != 1:
            raise TypeError(f"low-level signature {sig_text!r} takes one variable, but this needs "
                            f"{n}; use 'double (int, double *)'")
        if code != SIG_VEC and nout != 1:
            raise TypeError(f"a function with {nout} outputs needs the low-level signature "
                            "'void (int, const double *, int, double *, void *)'")
        if args:
            vals = [float(a) for a in args]
            ev.argv = <double *>malloc(len(vals) * sizeof(double))
            if ev.argv == NULL:
                raise MemoryError()
            for i in range(len(vals)):
                ev.argv[i] = vals[i]
            if code == SIG_D:
                raise TypeError("args cannot reach a 'double (double)' low-level callable; use "
                                "'double (int, double *)' (args are appended to x) or "
                                "'double (double, void *)'")
            if code == SIG_DV:
                if ev.user_data != NULL:
                    raise ValueError("args given, but the LowLevelCallable already has user_data")
                ev.user_data = ev.argv      # user_data points to the args as doubles
            else:
                ev.nargs = len(vals)        # appended to x, as scipy.integrate.nquad does
        return ev
    if not callable(f):
        raise TypeError(f"expected a function, got {type(f).__name__}; accepted: {ACCEPTED_KINDS}")
    ev.func = f
    ev.kind = KIND_PYVEC if vectorized else KIND_PYSCALAR
    ev.nogil = False
    return ev


def evaluate(f, x, *, int nout=1, bint vectorized=False, tuple args=(), bint scalar_x=False):
    """Evaluate ``f`` at the points ``x`` (shape (n, m)) through the adapter; returns (nout, m).

    A thin ``def`` entry for tests and benchmarks of the adapter itself.
    """
    cdef const double[:, ::1] xv = np.ascontiguousarray(x, dtype=np.float64)
    cdef int n = xv.shape[0]
    cdef Py_ssize_t m = xv.shape[1]
    cdef Evaluator ev = as_evaluator(f, n=n, nout=nout, scalar_x=scalar_x,
                                     scalar_out=(nout == 1), vectorized=vectorized, args=args)
    out = np.empty((nout, m), dtype=np.float64)
    cdef double[:, ::1] ov = out
    if m == 0:
        return out
    if ev.nogil:
        with nogil:
            ev.eval(m, &xv[0, 0], m, &ov[0, 0], m)
    else:
        ev.eval(m, &xv[0, 0], m, &ov[0, 0], m)
    return out
