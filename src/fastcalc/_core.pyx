# cython: language_level=3
"""The callable protocol of fastcalc: the ONE road from a kernel to a user's function.

Design note
-----------
**Layers.**  face (``__init__``, ``cli``) -> wrappers (``*.py``: validate, shape, document) ->
kernels (``_*.pyx`` + ``_src/*.h``: C loops over points) -> this adapter.  Kernels produce points,
the adapter evaluates them, kernels reduce the values.  No other module calls a user's function,
looks at what kind of callable it is, or keeps one alive.

**Kinds** (``cpdef enum Kind``), fastest first:

* ``KIND_BUILTIN``  -- a :class:`Function` from :mod:`fastcalc.functions`: a C batch entry,
  points innermost, GIL released;
* ``KIND_LOWLEVEL`` -- a :class:`scipy.LowLevelCallable` (ctypes, cffi, Cython capsule, numba
  ``cfunc``) looped over the batch in C, GIL released;
* ``KIND_PYVEC``    -- a vectorized Python callable: one call per batch, variables on axis 0;
* ``KIND_PYSCALAR`` -- a plain Python callable: one call per point from a C loop.

Kernels ask ``ev.is_compiled``, ``ev.releases_gil``, ``ev.is_vectorized`` or ``ev.is_builtin``;
they never compare kinds.

**The batch contract.**  ``ev.eval(m, x, ldx, out, ldo)``: ``x[i*ldx + j]`` is variable ``i`` of
point ``j`` and ``out[k*ldo + j]`` output ``k`` of point ``j`` (``k < ev.nout``); nothing else is
read or written.  ``ev.eval_points(m, pts, ldp, out, ldo)``: the same for points stored
point-major (point ``j`` at ``pts[j*ldp : j*ldp + n]``; a kernel that perturbs one coordinate of
a contiguous point in place): low-level callees get the rows uncopied (they must not write to
them, as with SciPy's ``quad``), other kinds a transposed copy.  Both return 0, or -1 with a
Python exception set: the user's own exception, unchanged; a TypeError/ValueError when the
function returned the wrong type or shape; or KeyboardInterrupt on Ctrl-C.

**Who owns what.**  ``eval`` owns the evaluation count ``nfev`` (atomic inside a parallel region, so
threads may share one evaluator; ``eval_uncounted`` leaves it to one serial caller's ``count``), the
Ctrl-C checks (every ``SIGNAL_EVERY`` points; the thread that handles signals
runs Python's handlers and raises a shared flag that stops every other thread at its next check) and
every buffer it hands to a callee.  ``as_evaluator`` owns the checks made before any C runs: the
signature of a low-level callable, and that the output size it declares to the callee is what the
callee may write (built-in ``.lowlevel`` capsules are recognised and their true output size checked;
a vector-output callable is not a scalar function).  Kernels own their points and outputs.  An
evaluator holds its callable only as long as the kernel holds the evaluator, and every call of a
public function gets an evaluator nobody else holds, its count at 0 (so ``nfev`` is per call and
threads never share a counter they did not agree to share).  Two caches, both bounded:
``_RESOLVED``, of the immutable part of resolving a compiled callable that is not a
:class:`scipy.LowLevelCallable` already (a numba ``cfunc``: building its LowLevelCallable costs
~8 us): keyed by ``id(f)``, holding ``f`` only weakly (an entry dies with ``f``, and a recycled id
is recognised because the weak reference no longer points to the caller's object); and the
evaluator cache of ``call_evaluator`` (8 slots, round robin), for an entry that uses the
evaluator only while it runs and holds the callable itself (a single ``quad``): the evaluator
made for a :class:`scipy.LowLevelCallable` with a scalar signature, handed out again when the
object has the same id AND its capsule the same pointer, signature and context (so a recycled
id is either the same function with the same user_data or a miss) and nobody else holds the
evaluator; its count, Ctrl-C tally and args are reset for the call.  No cache holds a Python
function, a LowLevelCallable or its user_data.  Signature strings are cached by their text.
"""

cimport numpy as cnp
from cpython.pycapsule cimport (PyCapsule_CheckExact, PyCapsule_GetContext, PyCapsule_GetName,
                                PyCapsule_GetPointer, PyCapsule_New)
from cpython.exc cimport PyErr_CheckSignals, PyErr_Clear
from cpython.float cimport (PyFloat_AS_DOUBLE, PyFloat_Check, PyFloat_CheckExact,
                            PyFloat_FromDouble)
from cpython.object cimport PyObject
from cpython.ref cimport Py_INCREF, Py_XDECREF
from cpython.tuple cimport PyTuple_GET_ITEM, PyTuple_GET_SIZE
cimport cython
from cython.parallel cimport prange
from libc.math cimport NAN
from libc.stdlib cimport malloc, free
from libc.string cimport memcpy, strcmp, strcpy, strlen
from posix.time cimport clock_gettime, timespec, CLOCK_MONOTONIC

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
    # a new reference, NULL on failure (managed by hand in _call_coords)
    PyObject *_new_float "PyFloat_FromDouble"(double v)
    # f(*argv[:nargs]) without building an argument tuple (Python >= 3.9)
    object PyObject_Vectorcall(object f, PyObject **argv, size_t nargs, PyObject *kwnames)

cdef extern from "pythread.h":
    unsigned long PyThread_get_thread_ident() nogil

cdef extern from "fc_atomic.h":
    void fc_atomic_add(Py_ssize_t *p, Py_ssize_t v) noexcept nogil
    Py_ssize_t fc_atomic_add_fetch(Py_ssize_t *p, Py_ssize_t v) noexcept nogil
    Py_ssize_t fc_count_add_fetch(Py_ssize_t *p, Py_ssize_t v) noexcept nogil
    void fc_atomic_store(Py_ssize_t *p, Py_ssize_t v) noexcept nogil
    int fc_flag_get(int *p) noexcept nogil
    void fc_flag_set(int *p, int v) noexcept nogil

cdef extern from "fc_lowlevel.h":
    void _ll_gather "fc_ll_gather"(int rows, int n, int nargs, const double *argv, Py_ssize_t nb,
                                   Py_ssize_t ntp, const double *x, Py_ssize_t ldx,
                                   double *pts) noexcept nogil
    void _ll_call_rows "fc_ll_call_rows"(int sig, void *fptr, void *ud, int nout, Py_ssize_t nb,
                                         int nt, Py_ssize_t ntp, double *pts, double *po,
                                         double *out, Py_ssize_t ldo) noexcept nogil
    void _ll_transpose "fc_ll_transpose"(int n, Py_ssize_t m, const double *pts, Py_ssize_t ldp,
                                         double *xt) noexcept nogil

cdef extern from "fc_sigs.h":
    int fc_sig_code(const char *s) noexcept nogil

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
    # points of one-variable low-level callables per block (a clock read per block)
    SCALAR_BLOCK = 256
    # at most this long (ns) between two Ctrl-C checks of low-level loops in the main thread
    CHECK_NS = 100000000
    # doubles of points gathered on the stack for low-level callables; more go to the heap
    STACK_DOUBLES = 1024
    # points gathered (transposed to contiguous rows) per block for low-level callables
    GATHER_BLOCK = 32
    # outputs of one point kept on the stack for vector-output callables; more go to the heap
    STACK_OUT = 64
    # coordinates + args passed by vectorcall to a Python callable taking them unpacked
    UNPACK_MAX = 16

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


# ---------------------------------------------------------------------------------------------
# Ctrl-C: one flag shared by every thread
# ---------------------------------------------------------------------------------------------

cdef int _interrupted = 0
# Python runs signal handlers in the thread that imported it first (the main thread)
import threading as _threading
cdef unsigned long _signal_thread = <unsigned long>_threading.main_thread().ident


cdef bint interrupt_requested() noexcept nogil:
    return fc_flag_get(&_interrupted) != 0


cdef int check_interrupt() except -1 nogil:
    if fc_flag_get(&_interrupted):
        with gil:
            raise KeyboardInterrupt("interrupted (Ctrl-C seen by another thread of this loop)")
    if PyThread_get_thread_ident() != _signal_thread:
        return 0                    # only the main thread runs Python's signal handlers
    with gil:
        if PyErr_CheckSignals() < 0:
            fc_flag_set(&_interrupted, 1)
            return -1
    return 0


cdef inline int check_signals() except -1 nogil:
    return check_interrupt()


def _clear_interrupt():
    """Forget a Ctrl-C of an earlier call (done by as_evaluator; exposed for tests)."""
    fc_flag_set(&_interrupted, 0)


def _interrupt_pending():
    return bool(fc_flag_get(&_interrupted))


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
# vector-output .lowlevel pointers of built-ins -> their Function, so the adapter can check how many
# outputs the callee writes (keys are addresses of C functions, values immortal built-ins)
_VEC_LOWLEVEL = {}


def _builtin_by_name(name):
    return _BUILTINS[name]


def builtin_functions():
    """Every registered built-in :class:`Function` (values, gradients, Hessians), by name."""
    return dict(_BUILTINS)


cdef Function make_function(str name, fc_batch_fn batch, void *ll_ptr, const char *ll_sig,
                            int ndim, int min_ndim, int output, object minima, str doc):
    """Create a built-in Function (called by fastcalc._functions and other kernels' modules)."""
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
    if ll_ptr != NULL and ll_sig != NULL and ll_sig.startswith(b"void"):
        _VEC_LOWLEVEL[<size_t>ll_ptr] = f
    return f


cdef int register_builtin(Function f, Function grad, Function hess) except -1:
    f.grad = grad
    f.hess = hess
    _BUILTINS[f.name] = f
    for g in (grad, hess):
        if g is not None:
            _BUILTINS[g.name] = g
    return 0


# ---------------------------------------------------------------------------------------------
# The adapter
# ---------------------------------------------------------------------------------------------

@cython.freelist(8)
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

    cdef int count(self, Py_ssize_t m) except -1 nogil:
        """Count ``m`` evaluations made through ``batch`` by the caller; check Ctrl-C now and then."""
        # one add per call, atomic only inside a parallel region (fc_atomic.h): a signal check
        # whenever nfev crosses a multiple of SIGNAL_EVERY
        cdef Py_ssize_t after = fc_count_add_fetch(&self.nfev, m)
        if after // SIGNAL_EVERY != (after - m) // SIGNAL_EVERY:
            return check_interrupt()
        if fc_flag_get(&_interrupted):
            return check_interrupt()
        return 0

    cdef int eval(self, Py_ssize_t m, const double *x, Py_ssize_t ldx,
                  double *out, Py_ssize_t ldo) except -1 nogil:
        """Evaluate the function at ``m`` points (see the design note for the layout)."""
        if m <= 0:
            return 0
        if self.kind == KIND_BUILTIN:
            self.batch(self.n, m, x, ldx, out, ldo)
            return self.count(m)
        fc_count_add_fetch(&self.nfev, m)
        return self.eval_uncounted(m, x, ldx, out, ldo)

    cdef int eval_uncounted(self, Py_ssize_t m, const double *x, Py_ssize_t ldx,
                            double *out, Py_ssize_t ldo) except -1 nogil:
        """``eval`` not adding to ``nfev``: the caller counts a short serial run with ``count``
        (a 2-D descent step is ~20 ns, the count per call a third of it)."""
        if m <= 0:
            return 0
        if self.kind == KIND_BUILTIN:
            self.batch(self.n, m, x, ldx, out, ldo)
            return 0
        if self.kind == KIND_LOWLEVEL:
            return self._eval_lowlevel(m, x, ldx, out, ldo, False)
        with gil:
            if self.kind == KIND_PYVEC:
                return self._eval_pyvec(m, x, ldx, out, ldo)
            return self._eval_pyscalar(m, x, ldx, out, ldo)

    cdef int eval_points(self, Py_ssize_t m, const double *pts, Py_ssize_t ldp,
                         double *out, Py_ssize_t ldo) except -1 nogil:
        """``eval`` of ``m`` points stored point-major (point ``j`` at ``pts + j*ldp``)."""
        cdef int rc
        if self.kind == KIND_LOWLEVEL and m > 0:
            fc_atomic_add(&self.nfev, m)
            return self._eval_lowlevel(m, pts, ldp, out, ldo, True)
        if m <= 1:                  # one point is both layouts
            return self.eval(m, pts, 1, out, ldo)
        cdef double *xt = <double *>malloc(self.n * m * sizeof(double))    # the batch layout
        if xt == NULL:
            with gil:
                raise MemoryError()
        _ll_transpose(self.n, m, pts, ldp, xt)
        try:
            rc = self.eval(m, xt, m, out, ldo)
        finally:
            free(xt)
        return rc

    cdef int _eval_lowlevel(self, Py_ssize_t m, const double *x, Py_ssize_t ldx,
                            double *out, Py_ssize_t ldo, bint rows) except -1 nogil:
        """The C loop over a low-level callable.  ``rows``: ``x`` is point-major (point j at
        ``x + j*ldx``), handed to the callee as it is unless args must be appended."""
        cdef Py_ssize_t j, j0, b, nb
        cdef int i
        cdef int rc = 0
        cdef Py_ssize_t since = 0
        cdef Py_ssize_t sx = ldx if rows else 1
        if self.sig == SIG_D or self.sig == SIG_DV:
            # one variable: the points are already contiguous (or ldx apart)
            j0 = 0
            while j0 < m:
                nb = m - j0 if m - j0 < SCALAR_BLOCK else SCALAR_BLOCK
                if self.sig == SIG_D:
                    for j in range(j0, j0 + nb):
                        out[j] = (<fc_ll_d>self.fptr)(x[j * sx])
                else:
                    for j in range(j0, j0 + nb):
                        out[j] = (<fc_ll_dv>self.fptr)(x[j * sx], self.user_data)
                j0 += nb
                if _tick(self, nb) < 0:
                    return -1
            return 0
        # n variables (+ appended args): blocks of GATHER_BLOCK points gathered into rows
        cdef int nt = self.n + self.nargs
        # row stride of the gathered block, padded so that consecutive rows do not fall into the
        # same cache set (a stride of a multiple of 4 KiB makes every write of the transpose miss)
        cdef Py_ssize_t ntp = ((nt + 7) // 8) * 8
        if ntp % 64 == 0:
            ntp += 8
        cdef bint direct = rows and self.nargs == 0     # the caller's rows, uncopied
        cdef Py_ssize_t B = GATHER_BLOCK if m > GATHER_BLOCK else m
        cdef double stack_pts[STACK_DOUBLES]
        cdef double stack_out[STACK_OUT]
        cdef double *pts = stack_pts
        cdef double *po = stack_out
        if B * ntp > STACK_DOUBLES and not direct:
            pts = <double *>malloc(B * ntp * sizeof(double))
        if self.sig == SIG_VEC and self.nout > STACK_OUT:
            po = <double *>malloc(self.nout * sizeof(double))
        if pts == NULL or po == NULL:
            if pts != stack_pts and pts != NULL:
                free(pts)
            if po != stack_out and po != NULL:
                free(po)
            with gil:
                raise MemoryError()
        j0 = 0
        while j0 < m:
            nb = m - j0 if m - j0 < B else B
            if direct:
                _ll_call_rows(self.sig, self.fptr, self.user_data, self.nout, nb, nt, ldx,
                              <double *>(x + j0 * ldx), po, out + j0, ldo)
            else:
                _ll_gather(rows, self.n, self.nargs, self.argv, nb, ntp,
                           x + (j0 * ldx if rows else j0), ldx, pts)
                _ll_call_rows(self.sig, self.fptr, self.user_data, self.nout, nb, nt, ntp, pts,
                              po, out + j0, ldo)
            j0 += nb
            since += nb
            if since >= SIGNAL_EVERY or fc_flag_get(&_interrupted):
                rc = _tick(self, since)
                since = 0
                if rc < 0:
                    break
        if rc == 0 and since:
            rc = _tick(self, since)
        if pts != stack_pts:
            free(pts)
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
        r = _call(self.func, xa, self.args)
        if _store_float_array(r, m, self.nout if not self.scalar_out else 0, out, ldo):
            return 0
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
        cdef int i
        cdef double *xd
        cdef object func = self.func
        cdef tuple args = self.args
        cdef object xa
        cdef object r
        if self.scalar_x and self.n > 1:      # f(x0, x1, ..., *args): no point array
            for j in range(m):
                r = _call_coords(func, x + j, ldx, self.n, args)
                if not self.scalar_out:
                    _store_vector(r, self.nout, out + j, ldo)
                elif PyFloat_Check(r):
                    out[j] = PyFloat_AS_DOUBLE(r)
                else:
                    out[j] = _as_real(r, self.size1)
            return 0
        for j in range(m):
            if self.scalar_x:
                xa = PyFloat_FromDouble(x[j])
            else:
                xa = _point_buffer(self)
                xd = <double *>cnp.PyArray_DATA(<cnp.ndarray>xa)
                for i in range(self.n):
                    xd[i] = x[i * ldx + j]
            r = _call(func, xa, args)
            xa = None
            if self.scalar_out:
                out[j] = PyFloat_AS_DOUBLE(r) if PyFloat_Check(r) else _as_real(r, self.size1)
            else:
                _store_vector(r, self.nout, out + j, ldo)
        return 0


# helpers of Evaluator (module-level, so that _core.pxd declares only what kernels use)
cdef Py_ssize_t _last_check_ns = 0


cdef inline bint _check_due() noexcept nogil:
    """In the signal-handling thread: True when the last Ctrl-C check is CHECK_NS old, so a slow
    callee (thousands of evaluations taking seconds) is still interrupted within ~0.1 s."""
    global _last_check_ns
    cdef timespec ts
    if PyThread_get_thread_ident() != _signal_thread:
        return False
    clock_gettime(CLOCK_MONOTONIC, &ts)
    cdef Py_ssize_t now = <Py_ssize_t>ts.tv_sec * 1000000000 + ts.tv_nsec
    if now - _last_check_ns < CHECK_NS:
        return False
    _last_check_ns = now
    return True


cdef inline int _tick(Evaluator self, Py_ssize_t done) except -1 nogil:
    """Ctrl-C check after ``done`` more low-level evaluations (nfev is counted by eval): every
    SIGNAL_EVERY evaluations, every CHECK_NS in the main thread, and whenever another thread saw
    an interrupt."""
    if fc_flag_get(&_interrupted):
        return check_interrupt()
    if fc_atomic_add_fetch(&self.since_check, done) >= SIGNAL_EVERY or _check_due():
        fc_atomic_store(&self.since_check, 0)
        return check_interrupt()
    return 0


cdef inline object _call(object func, object xa, tuple args):
    """``func(xa, *args)`` without building an argument tuple (vectorcall, up to 8 args)."""
    cdef PyObject *argv[9]
    cdef Py_ssize_t i, na = PyTuple_GET_SIZE(args)
    if na > 8:
        return func(xa, *args)
    argv[0] = <PyObject *>xa
    for i in range(na):
        argv[i + 1] = PyTuple_GET_ITEM(args, i)
    return PyObject_Vectorcall(func, argv, <size_t>(na + 1), NULL)


cdef object _call_coords(object func, const double *x, Py_ssize_t ldx, int n, tuple args):
    """``func(x[0], x[ldx], ..., x[(n-1)*ldx], *args)``: the coordinates of one point as floats,
    by vectorcall (no tuple, list or array per point; up to UNPACK_MAX arguments)."""
    cdef PyObject *argv[UNPACK_MAX]
    cdef Py_ssize_t i, na = PyTuple_GET_SIZE(args)
    cdef object r
    if n + na > UNPACK_MAX:
        return func(*[x[i * ldx] for i in range(n)], *args)
    for i in range(n):
        argv[i] = _new_float(x[i * ldx])
        if argv[i] == NULL:
            while i > 0:
                i -= 1
                Py_XDECREF(argv[i])
            raise MemoryError()
    for i in range(na):
        argv[n + i] = PyTuple_GET_ITEM(args, i)
    try:
        r = PyObject_Vectorcall(func, argv, <size_t>(n + na), NULL)
    finally:
        for i in range(n):
            Py_XDECREF(argv[i])
    return r


cdef bint _store_float_array(object r, Py_ssize_t m, int nout, double *out, Py_ssize_t ldo):
    """The common result of a vectorized function -- a float64 ndarray of shape (m,) (``nout`` 0)
    or (nout, m) -- copied to ``out`` without conversions; False (nothing written) for anything
    else, which the caller converts and checks in full."""
    cdef cnp.ndarray ra
    cdef Py_ssize_t i, k, s0, s1 = 0
    cdef int nd = 1 if nout == 0 else 2
    cdef char *base
    if type(r) is not np.ndarray:
        return False
    ra = <cnp.ndarray>r
    if cnp.PyArray_TYPE(ra) != cnp.NPY_FLOAT64 or cnp.PyArray_NDIM(ra) != nd \
            or not cnp.PyArray_ISALIGNED(ra) or not cnp.PyArray_ISNOTSWAPPED(ra):
        return False
    if cnp.PyArray_DIM(ra, nd - 1) != m or (nd == 2 and cnp.PyArray_DIM(ra, 0) != nout):
        return False
    base = <char *>cnp.PyArray_DATA(ra)
    s0 = cnp.PyArray_STRIDE(ra, nd - 1)
    if nd == 2:
        s1 = cnp.PyArray_STRIDE(ra, 0)
    for k in range(1 if nd == 1 else nout):
        for i in range(m):
            out[k * ldo + i] = (<double *>(base + k * s1 + i * s0))[0]
    return True


cdef object _point_buffer(Evaluator self):
    """The reusable (n,) float64 array for one point, or a new one when the last call kept a
    reference to it or changed it in place (resize, new shape or dtype): never write past it."""
    cdef cnp.ndarray xb
    cdef cnp.npy_intp dims[1]
    if self.xbuf is not None and borrowed_refcount(<PyObject *>self.xbuf) == 1:
        xb = <cnp.ndarray>self.xbuf
        if (cnp.PyArray_NDIM(xb) == 1 and cnp.PyArray_DIM(xb, 0) == self.n
                and cnp.PyArray_TYPE(xb) == cnp.NPY_FLOAT64
                and cnp.PyArray_ISCARRAY(xb)):
            return xb
    dims[0] = self.n
    self.xbuf = cnp.PyArray_SimpleNew(1, dims, cnp.NPY_FLOAT64)
    return self.xbuf


cdef double _as_real(object r, bint size1=False) except? -1.0:
    """The scalar a Python function returned (size1: a size-1 array's), or TypeError/ValueError."""
    if size1 and isinstance(r, (np.ndarray, list, tuple)) and np.size(r) == 1: r = np.reshape(r, ())
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
    if ldo == 1 and _store_float_array(r, nout, 0, out, 1): return 0    # float64 (nout,): as is
    ra = _as_real_array(r, f"an array of {nout} real numbers")
    if ra.shape != (nout,):
        raise ValueError(f"the function returned shape {ra.shape} for one point; expected ({nout},)")
    cdef const double[:] rv = ra
    cdef int k
    for k in range(nout):
        out[k * ldo] = rv[k]
    return 0


def as_lowlevel(f):
    """``f`` as a :class:`scipy.LowLevelCallable` when it is a low-level callable (a
    LowLevelCallable, a PyCapsule, a numba ``cfunc``, a ctypes or cffi function pointer), else None.

    A PyCapsule without a name (no signature) is a ValueError.
    """
    return _as_llc(f)


cdef object _as_llc(object f):
    if type(f) is LowLevelCallable or isinstance(f, LowLevelCallable):
        return f
    if PyCapsule_CheckExact(f):
        _check_capsule_name(f)
        return LowLevelCallable(f)
    if _plain_type(f):                                     # the common Python callables
        return None
    e = _RESOLVED.get(id(f))
    if e is not None and (<tuple>e)[0]() is f:             # resolved before, still alive
        return (<tuple>e)[1]
    tname = type(f).__name__
    if tname == "CFunc" and hasattr(f, "ctypes"):          # numba.cfunc object
        return _resolved_cfunc(f)
    if isinstance(f, _ctypes._CFuncPtr):
        return LowLevelCallable(f)
    if type(f).__module__ == "_cffi_backend":
        return LowLevelCallable(f)
    return None


# THE cache of the adapter (see the design note): id(f) -> (weak reference to f, its
# LowLevelCallable), for numba cfuncs.  The LowLevelCallable holds numba's ctypes pointer, not f.
_RESOLVED = {}
cdef Py_ssize_t RESOLVED_MAX = 64


def _resolved_size():
    """Entries in the adapter's cache of resolved compiled callables (for tests)."""
    return len(_RESOLVED)


def _forget(key, ref):
    """Weak-reference callback: drop the entry of a collected callable (unless replaced)."""
    e = _RESOLVED.get(key)
    if e is not None and e[0] is ref:
        _RESOLVED.pop(key, None)


cdef object _resolved_cfunc(object f):
    """The LowLevelCallable of a numba cfunc, built once per live cfunc object."""
    key = id(f)
    e = _RESOLVED.get(key)
    if e is not None and (<tuple>e)[0]() is f:     # a recycled id points to a dead reference
        return (<tuple>e)[1]
    llc = LowLevelCallable(f.ctypes)
    try:
        ref = _weakref.ref(f, lambda r, key=key: _forget(key, r))
    except TypeError:               # not weakly referenceable: resolve every time
        return llc
    while len(_RESOLVED) >= RESOLVED_MAX:
        try:
            del _RESOLVED[next(iter(_RESOLVED))]
        except (KeyError, StopIteration, RuntimeError):
            break
    _RESOLVED[key] = (ref, llc)
    return llc


cdef int _check_capsule_name(object cap) except -1:
    """A capsule without a name carries no signature: ValueError, as scipy.integrate.quad says."""
    if PyCapsule_GetName(cap) == NULL:
        raise ValueError("invalid callable given: a PyCapsule without a name (the name must be its "
                         f"C signature, one of {_ACCEPTED_SIGS})")
    return 0


import ctypes as _ctypes
import math as _math
import types as _types
import weakref as _weakref

# the common Python callables (math.sin is a builtin function): nothing to probe
cdef object _T_FUNCTION = _types.FunctionType
cdef object _T_BUILTIN = _types.BuiltinFunctionType
cdef object _T_METHOD = _types.MethodType
cdef object _T_UFUNC = np.ufunc


cdef inline bint _plain_type(object f):
    """``f`` is a plain Python function, builtin, method or ufunc (identity tests: a tuple
    search would compare the types richly, ~0.1 us)."""
    cdef object t = type(f)
    return t is _T_FUNCTION or t is _T_BUILTIN or t is _T_METHOD or t is _T_UFUNC


def is_compiled(f):
    """True when ``f`` runs in C without the GIL: a built-in :class:`Function`, a
    :class:`scipy.LowLevelCallable`, a numba ``cfunc`` or a ctypes/cffi function pointer."""
    if _plain_type(f):
        return False
    if isinstance(f, Function):
        return True
    if PyCapsule_CheckExact(f):
        _check_capsule_name(f)      # a nameless capsule is an invalid callable, not a Python one
        return True
    try:
        return _as_llc(f) is not None
    except Exception:       # an object that LowLevelCallable cannot parse is not compiled
        return False


cpdef Evaluator as_evaluator(object f, int n=1, int nout=1, bint scalar_x=False,
                             bint scalar_out=True, bint vectorized=False, tuple args=(),
                             bint size1=False):
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
        with the variables on axis 0.  With ``n > 1`` (scalar Python callables only): the
        coordinates of a point as ``n`` separate floats, ``f(x0, ..., x_{n-1}, *args)``.
    scalar_out, size1 : bool
        The function returns one number per point (``nout == 1``; ``size1``: a Python callable may
        return a size-1 array, as SciPy's minimize allows); otherwise an array of ``nout``.
    vectorized : bool
        A Python callable takes a whole batch (variables on axis 0, points on the last axis).
    args : tuple
        Extra arguments: passed after ``x`` to Python callables; appended to the point for the
        ``double (int, double *)``-style low-level signatures; given as a pointer to a ``double``
        array as ``user_data`` for ``double (double, void *)`` when the LowLevelCallable has none.
    """
    cdef Evaluator ev
    cdef Function bf
    if PyThread_get_thread_ident() == _signal_thread:
        fc_flag_set(&_interrupted, 0)       # a new computation: forget an earlier Ctrl-C
    if n < 1 or nout < 1:
        raise ValueError(f"n and nout must be >= 1, got n={n}, nout={nout}")
    if scalar_x and n != 1 and vectorized and not is_compiled(f):
        raise ValueError("scalar_x with n > 1 (the coordinates as separate arguments) needs a "
                         "scalar (not vectorized) Python callable")
    if scalar_out and nout != 1:
        raise ValueError("scalar_out requires nout == 1")
    ev = Evaluator.__new__(Evaluator)
    ev.n = n
    ev.nout = nout
    ev.scalar_x = scalar_x
    ev.scalar_out, ev.size1 = scalar_out, size1
    ev.args = args
    if type(f) is LowLevelCallable:             # the common compiled case: its capsule, at once
        _setup_lowlevel(ev, <object>PyTuple_GET_ITEM(f, 0), f, args)
        return ev
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
        ev.nogil = ev.releases_gil = ev.is_compiled = ev.is_builtin = True
        ev.keep = bf
        return ev
    if PyCapsule_CheckExact(f):                 # the capsule itself: no LowLevelCallable needed
        _check_capsule_name(f)
        _setup_lowlevel(ev, f, f, args)
        return ev
    if _plain_type(f):                          # the common Python callables: nothing to probe
        llc = None
    else:
        llc = _as_llc(f)
    if llc is not None:
        _setup_lowlevel(ev, <object>PyTuple_GET_ITEM(llc, 0), llc, args)
        return ev
    if not callable(f):
        raise TypeError(f"expected a function, got {type(f).__name__}; accepted: {ACCEPTED_KINDS}")
    ev.func = f
    ev.kind = KIND_PYVEC if vectorized else KIND_PYSCALAR
    ev.is_vectorized = vectorized
    ev.nogil = False
    return ev


# the low-level setup, its args and the evaluator cache (call_evaluator)
include "_core_lowlevel.pxi"


def evaluate(f, x, *, int nout=1, bint vectorized=False, tuple args=(), bint scalar_x=False):
    """Evaluate ``f`` at the points ``x`` (shape (n, m)) through the adapter; returns (nout, m).

    A thin ``def`` entry for tests and benchmarks of the adapter itself.
    """
    xa = np.ascontiguousarray(x, dtype=np.float64)
    return values_at(as_evaluator(f, n=xa.shape[0], nout=nout, scalar_x=scalar_x,
                                  scalar_out=(nout == 1), vectorized=vectorized, args=args), xa)


def values_at(Evaluator ev, x):
    """``ev`` at the points ``x`` (n, m) -> (nout, m): the adapter's entry for a wrapper that holds
    an evaluator (the optimizers' wrappers, for a user's Hessian at the points they classify)."""
    cdef const double[:, ::1] xv = np.ascontiguousarray(x, dtype=np.float64)
    cdef Py_ssize_t m = xv.shape[1]
    out = np.empty((ev.nout, m), dtype=np.float64)
    cdef double[:, ::1] ov = out
    if m == 0:
        return out
    if ev.nogil:
        with nogil:
            ev.eval(m, &xv[0, 0], m, &ov[0, 0], m)
    else:
        ev.eval(m, &xv[0, 0], m, &ov[0, 0], m)
    return out


def _parallel_evaluate(f, x, int workers=2, Py_ssize_t chunk=256, *, int nout=1,
                       bint vectorized=False, tuple args=()):
    """Evaluate ``f`` at the points ``x`` (n, m) from ``workers`` OpenMP threads sharing ONE
    evaluator, in chunks of ``chunk`` points; returns ``(out, nfev)``.

    A thin entry for tests of the adapter's threading contract (atomic nfev, Ctrl-C stopping every
    thread).  Python callables are evaluated on one thread.
    """
    cdef const double[:, ::1] xv = np.ascontiguousarray(x, dtype=np.float64)
    cdef int n = xv.shape[0]
    cdef Py_ssize_t m = xv.shape[1]
    if workers < 1 or chunk < 1:
        raise ValueError(f"workers and chunk must be >= 1, got {workers} and {chunk}")
    cdef Evaluator ev = as_evaluator(f, n=n, nout=nout, scalar_out=(nout == 1),
                                     vectorized=vectorized, args=args)
    out = np.empty((nout, m), dtype=np.float64)
    cdef double[:, ::1] ov = out
    if m == 0:
        return out, 0
    cdef Py_ssize_t nchunks = (m + chunk - 1) // chunk
    cdef Py_ssize_t c, j0, nb
    cdef const double *xp = &xv[0, 0]
    cdef double *op = &ov[0, 0]
    if not ev.releases_gil:
        ev.eval(m, xp, m, op, m)
        return out, ev.nfev
    with nogil:
        for c in prange(nchunks, num_threads=workers, schedule="dynamic"):
            j0 = c * chunk
            nb = m - j0 if m - j0 < chunk else chunk
            ev.eval(nb, xp + j0, m, op + j0, m)
    return out, ev.nfev
