# cython: language_level=3
"""The state of one run of fastcalc._descent (the Descent class), declared here so that
fastcalc._multistart can run blocks of starts on it: its fields are the state, its methods the
step rules, line searches and Newton helpers, with ONE step (fc_descent.h) and ONE check."""
from fastcalc._core cimport Evaluator
from fastcalc._optim cimport fc_ls_state


cdef class Descent:

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
    cdef int _callback(self, Py_ssize_t it, bint *stop) except -1
    cdef void descent_dirs(self) noexcept nogil
    cdef bint accept(self, Py_ssize_t c, Py_ssize_t q, double a, bint with_grad) noexcept nogil
    cdef int armijo(self, double lr_t) except -1 nogil
    cdef int wolfe(self, double lr_t) except -1 nogil
    cdef int newton_or_search_step(self, double lr_t, Py_ssize_t it) except -1 nogil
    cdef void first_order_step(self, double lr_t, Py_ssize_t it, bint fchecked) noexcept nogil
    cdef void fused_step(self, double lr_t, Py_ssize_t it) noexcept nogil
    cdef void finish_all(self, int status, Py_ssize_t nit) noexcept nogil
    cdef Py_ssize_t fast_segment(self, Py_ssize_t it) except -1 nogil
    cdef void check_all(self, Py_ssize_t it, bint fchecked) noexcept nogil
    cdef void check_xtol(self, Py_ssize_t it) noexcept nogil
    cdef int run(self) except -1 nogil
    cdef bint nogil_ok(self) noexcept
