# cython: language_level=3
"""The state of a descent run (fastcalc._dstate.DescentState): its fields are the buffers, options,
outputs and history of ``k`` starts, its methods the evaluations, the bookkeeping and the Newton
helpers.  fastcalc._descent.Descent (the step rules and the loop) is its subclass, declared in
_descent.pxd so that fastcalc._multistart can run blocks of starts on it."""
from fastcalc._core cimport Evaluator
from fastcalc._optim cimport fc_ls_state

# methods
cdef enum:
    M_GD = 0
    M_MOMENTUM = 1
    M_NESTEROV = 2
    M_ADAGRAD = 3
    M_RMSPROP = 4
    M_ADAM = 5
    M_NEWTON = 6
    M_NEWTON_ROOT = 7   # Newton on the gradient (critical points of any kind), not in METHODS

# learning-rate schedules
cdef enum:
    S_CONSTANT = 0
    S_STEP = 1
    S_EXPONENTIAL = 2
    S_INVERSE_TIME = 3
    S_COSINE = 4


cdef inline double dmax(double a, double b) noexcept nogil:
    return a if a > b else b


cdef class DescentState:

    # problem
    cdef Evaluator fev, gev, hev
    cdef int gmode, hmode
    cdef int n
    cdef Py_ssize_t K, na
    # options
    cdef int method, schedule, line_search, fd_method, fd_accuracy
    cdef Py_ssize_t maxiter, step_size, max_backtrack
    cdef double lr, gtol, xtol, ftol, mu, beta1, beta2, eps, rho, decay, lr_min, period
    cdef double c1, c2, shrink
    cdef bint history, track_f
    cdef object callback
    cdef bint cb_new_style
    # state, (rows, K) with points innermost
    cdef double[:, ::1] X, FG, V, S, D, XT, XT2, FGT, H, BX, BG, W
    # the previous iterate (XT, or XT2 in turn on the fused steps) and the other buffer
    cdef double *xp
    cdef double *xq
    # per start: best f, previous f, line-search step, directional derivative g.d (line search),
    # relative step max|dx| / max(1, max|x|) (xtol), gradient norm and NaN marker (checks)
    cdef double[::1] BF, FPREV, ALPHA, SLOPE, DXREL, GN, BAD
    cdef double[::1] KEEP           # track_all: 1 for the columns whose best point moves
    cdef unsigned char[::1] lsfail  # line search of this column failed (this iteration)
    cdef unsigned char[::1] final   # Wolfe: the next trial is the answer (re-evaluated there)
    cdef fc_ls_state *ls            # Wolfe: one search state per column
    # bounds (first-order methods: projection after each step)
    cdef bint bounded
    cdef double[::1] LO, HI
    # Adam's beta1^t, beta2^t, for iteration pw_it
    cdef double pw1, pw2
    cdef Py_ssize_t pw_it
    cdef Py_ssize_t[::1] perm, idx
    cdef unsigned char[::1] fknown
    # the first column of this run in the outputs (blocks of a multi-start run share them)
    cdef Py_ssize_t col0
    # previous iterate of a start that ended with a non-finite gradient between two f checks
    # (original order): a candidate for the best point, evaluated by execute()
    cdef double[:, ::1] XC
    cdef unsigned char[::1] cand
    cdef bint keep_prev
    # outputs, original order
    cdef public object xo, fo, go, nit, status, bestf
    cdef double[:, ::1] XO, GO
    cdef double[::1] FO
    cdef Py_ssize_t[::1] NIT
    cdef int[::1] STATUS
    # history
    cdef double *hist
    cdef Py_ssize_t hist_rows, hist_cap
    cdef public Py_ssize_t njev, nhev, iterations
    cdef public double hscale
    cdef int workers
    cdef public double steps_per_epoch     # stochastic gradients: the callback sees the epoch
    cdef Py_ssize_t sched_every            # the schedule advances every sched_every iterations
    cdef bint negate                       # maximize: the kernel minimizes -f

    cdef int set_options(self, dict opt) except -1
    cdef int fvals(self, Py_ssize_t m, const double *x, Py_ssize_t ldx, double *f,
                   double *scratch, Py_ssize_t lds) except -1 nogil
    cdef int grads(self, Py_ssize_t m, const double *x, Py_ssize_t ldx, double *fg, Py_ssize_t ldg,
                   bint need_f, bint have_f) except -1 nogil
    cdef int hessians(self, Py_ssize_t m, const double *x, Py_ssize_t ldx, double *h,
                      Py_ssize_t ldh) except -1 nogil
    cdef void swap_cols(self, Py_ssize_t a, Py_ssize_t b) noexcept nogil
    cdef void finish(self, Py_ssize_t c, int status, Py_ssize_t nit) noexcept nogil
    cdef void track(self, Py_ssize_t c) noexcept nogil
    cdef void track_all(self) noexcept nogil
    cdef int record(self) except -1 nogil
    cdef double rate(self, Py_ssize_t t) noexcept nogil
    cdef void bias_corrections(self, Py_ssize_t it, double *bc1, double *bc2) noexcept nogil
    cdef void project(self, double *x, Py_ssize_t m) noexcept nogil
    cdef int newton_dirs(self) except -1 nogil
    cdef void finish_all(self, int status, Py_ssize_t nit) noexcept nogil
    cdef bint nogil_ok(self) noexcept
