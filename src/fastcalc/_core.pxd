# cython: language_level=3
"""The callable protocol: one adapter through which every kernel evaluates a user's function."""

cdef extern from "fc_types.h":
    ctypedef void (*fc_batch_fn)(int n, Py_ssize_t m, const double *x, Py_ssize_t ldx,
                                 double *out, Py_ssize_t ldo) noexcept nogil

# kinds of callable, fastest first (a cpdef enum: the same names exist at runtime, as the stub says).
# Kernels do not compare kinds: they ask ev.is_compiled / ev.releases_gil / ev.is_vectorized.
cpdef enum Kind:
    KIND_BUILTIN = 0
    KIND_LOWLEVEL = 1
    KIND_PYVEC = 2
    KIND_PYSCALAR = 3

# low-level signatures
cdef enum:
    SIG_D = 0      # double (double)
    SIG_DV = 1     # double (double, void *)
    SIG_ID = 2     # double (int, double *)
    SIG_IDV = 3    # double (int, double *, void *)
    SIG_VEC = 4    # void (int, const double *, int, double *, void *)

# what a built-in Function computes
cdef enum:
    OUT_VALUE = 0
    OUT_GRAD = 1
    OUT_HESS = 2


cdef class Function:
    """A built-in C test function (value, gradient or Hessian), callable with the batch-axis convention."""
    cdef fc_batch_fn batch
    cdef readonly str name
    cdef readonly int ndim          # number of variables; 0 = any n >= min_ndim
    cdef readonly int min_ndim
    cdef readonly int output        # OUT_VALUE, OUT_GRAD or OUT_HESS
    cdef void *ll_ptr               # scalar C function for .lowlevel
    cdef const char *ll_sig
    cdef readonly object grad
    cdef readonly object hess
    cdef object _minima             # callable n -> list of (x, f), or None
    cdef readonly str doc
    cdef int check_ndim(self, int n) except -1
    cdef int nout(self, int n) noexcept


cdef Function make_function(str name, fc_batch_fn batch, void *ll_ptr, const char *ll_sig,
                            int ndim, int min_ndim, int output, object minima, str doc)

# Attach the analytic gradient and Hessian (either may be None) to a value Function and register all
# three by name, so that pickling and fastcalc.functions find them.
cdef int register_builtin(Function f, Function grad, Function hess) except -1

# A shared Ctrl-C flag: set when the thread that handles signals saw an interrupt, read by every
# thread of a parallel loop, cleared when a new evaluator is made.  Threaded kernels that loop
# without calling ev.eval() may poll it (nogil, a relaxed atomic read).
cdef bint interrupt_requested() noexcept nogil

# Check for Ctrl-C from any thread: the signal-handling thread runs Python's handlers, every thread
# sees the shared flag.  Returns -1 with KeyboardInterrupt (or the handler's exception) set.
cdef int check_interrupt() except -1 nogil


cdef class Evaluator:
    """Evaluates one user function at batches of points, whatever kind of callable it is."""
    cdef readonly int kind
    cdef readonly int n             # variables per point (without appended args)
    cdef readonly int nout          # outputs per point
    cdef readonly bint scalar_x     # Python kinds: f takes a float (or a 1-D array of points)
    cdef readonly bint scalar_out   # f returns one number per point
    cdef readonly bint size1        # scalar Python kinds: a size-1 array result is its number
    cdef readonly bint nogil        # eval() may run without the GIL
    cdef readonly Py_ssize_t nfev   # points evaluated so far (updated atomically by eval())
    cdef readonly bint is_builtin   # a built-in Function: ``batch`` may be called directly
    cdef readonly bint is_compiled  # built-in or low-level: C all the way down
    cdef readonly bint releases_gil # same as nogil: eval() may run without the GIL, from any thread
    cdef readonly bint is_vectorized  # a vectorized Python callable: one call per batch
    # built-in
    cdef fc_batch_fn batch
    # low-level
    cdef int sig
    cdef void *fptr
    cdef void *user_data
    cdef int nargs                  # extra doubles appended to x (low-level only)
    cdef double *argv
    cdef Py_ssize_t since_check     # evaluations since the last signal check
    # Python
    cdef object func
    cdef tuple args
    cdef object xbuf                # reusable (n,) array for scalar Python callables
    cdef object keep                # keeps low-level objects alive

    # THE batch entry (see the design note in _core.pyx): owns nfev, error capture and Ctrl-C.
    # Safe to call from several threads at once for compiled kinds (releases_gil).
    cdef int eval(self, Py_ssize_t m, const double *x, Py_ssize_t ldx,
                  double *out, Py_ssize_t ldo) except -1 nogil
    # eval without the count, for a tight serial run of small calls (one start's descent steps):
    # the caller adds them with count(k) right after the run (a few dozen calls at most: count
    # also checks Ctrl-C)
    cdef int eval_uncounted(self, Py_ssize_t m, const double *x, Py_ssize_t ldx,
                            double *out, Py_ssize_t ldo) except -1 nogil
    # the same for points stored point-major: point j is pts[j*ldp : j*ldp + n] (a kernel that
    # perturbs one coordinate of a contiguous point in place); low-level callees get the rows as
    # they are, without a copy.  Same ownership of nfev, errors and Ctrl-C as eval().
    cdef int eval_points(self, Py_ssize_t m, const double *pts, Py_ssize_t ldp,
                         double *out, Py_ssize_t ldo) except -1 nogil
    # count m evaluations done by a kernel that called ``batch`` itself (atomic; checks Ctrl-C)
    cdef int count(self, Py_ssize_t m) except -1 nogil
    cdef int _eval_lowlevel(self, Py_ssize_t m, const double *x, Py_ssize_t ldx,
                            double *out, Py_ssize_t ldo, bint rows) except -1 nogil
    cdef int _eval_pyvec(self, Py_ssize_t m, const double *x, Py_ssize_t ldx,
                         double *out, Py_ssize_t ldo) except -1
    cdef int _eval_pyscalar(self, Py_ssize_t m, const double *x, Py_ssize_t ldx,
                            double *out, Py_ssize_t ldo) except -1


cpdef Evaluator as_evaluator(object f, int n=*, int nout=*, bint scalar_x=*, bint scalar_out=*,
                             bint vectorized=*, tuple args=*, bint size1=*)


# as_evaluator for an entry that uses the evaluator only while it runs and holds ``f`` itself all
# that time (a single quad call): a scipy.LowLevelCallable's evaluator may be one from the
# adapter's bounded cache (same object id and same capsule contents), reset for this call, that
# holds no reference to f.  Never keep it beyond the entry's return.
cdef Evaluator call_evaluator(object f, int n=*, int nout=*, bint scalar_x=*, bint scalar_out=*,
                              bint vectorized=*, tuple args=*)
