# cython: language_level=3
"""Descent loops of fastcalc: gradient descent and friends, Newton's method, multi-start.

One :class:`Descent` object runs ``k`` independent starts of one method together.  The state of every
start is a column of ``(rows, K)`` arrays (points innermost), and the active starts are kept packed
in the first ``na`` columns (a finished start is swapped with the last active one), so one gradient
evaluation is ONE batch of ``na`` points through the :mod:`fastcalc._core` adapter.  When every
callable is built-in or low-level the whole run happens in :meth:`Descent.run` without the GIL.
"""

cimport cython
cimport numpy as cnp
from libc.math cimport fabs, pow, isfinite, INFINITY
from libc.stdlib cimport malloc, realloc, free
from libc.string cimport memcpy, memset

import numpy as np

from fastcalc._core cimport Evaluator
from fastcalc._optim cimport *

from fastcalc._diff cimport fd_gradient, fd_hessian, FD_CENTRAL, FD_FORWARD, FD_BACKWARD

cnp.import_array()

cdef extern from *:
    """
    #define FC_DBL_EPS 2.220446049250313e-16
    """
    double FC_DBL_EPS

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

#: Newton's method on the gradient (find_critical_points): every kind of critical point
NEWTON_ROOT = M_NEWTON_ROOT
LINE_SEARCHES = {"none": LS_NONE, "armijo": LS_ARMIJO, "wolfe": LS_WOLFE}
METHODS = {"gd": M_GD, "momentum": M_MOMENTUM, "nesterov": M_NESTEROV, "adagrad": M_ADAGRAD,
           "rmsprop": M_RMSPROP, "adam": M_ADAM, "newton": M_NEWTON}
SCHEDULES = {"constant": S_CONSTANT, "step": S_STEP, "exponential": S_EXPONENTIAL,
             "inverse_time": S_INVERSE_TIME, "cosine": S_COSINE}
GRADIENT_MODES = {"eval": G_EVAL, "combined": G_COMBINED, "fd": G_FD}
HESSIAN_MODES = {"none": H_NONE, "eval": H_EVAL, "fd": H_FD}
FD_METHODS = {"central": FD_CENTRAL, "forward": FD_FORWARD, "backward": FD_BACKWARD}

MESSAGES = {
    ST_GTOL: "Optimization terminated successfully: gradient norm below gtol.",
    ST_MAXITER: "Maximum number of iterations has been exceeded.",
    ST_DIVERGED: "Divergence: the objective grew without bound; returning the best point seen.",
    ST_LINESEARCH: "Line search could not decrease the objective (precision loss or not a descent "
                   "direction).",
    ST_XTOL: "Optimization terminated successfully: step size below xtol.",
    ST_FTOL: "Optimization terminated successfully: relative change of the objective below ftol.",
    ST_NONFINITE: "Divergence: the objective, its gradient or Hessian became NaN or infinite; "
                  "returning the best point seen.",
    ST_CALLBACK: "`callback` raised `StopIteration`.",
}
SUCCESS = (ST_GTOL, ST_XTOL, ST_FTOL)

# f is evaluated at least every CHECK_EVERY iterations (divergence, best point) even when no rule needs it
DEF CHECK_EVERY = 32
# fewest points per thread worth a parallel region
DEF PAR_MIN = 256
# f may exceed the best value seen by this factor (relative to max(1, |best|)) before "divergence"
DEF GROWTH = 1e12


cdef inline double _max(double a, double b) noexcept nogil:
    return a if a > b else b


cdef inline void _negate(Py_ssize_t m, int rows, double *a, Py_ssize_t ld) noexcept nogil:
    """a[r*ld + j] = -a[r*ld + j] for r < rows, j < m."""
    cdef Py_ssize_t j
    cdef int r
    for r in range(rows):
        for j in range(m):
            a[r * ld + j] = -a[r * ld + j]


@cython.final
cdef class Descent:
    """State and buffers of one run of ``k`` starts (built by :func:`fastcalc.optimize`)."""

    def __cinit__(self):
        self.hist = NULL
        self.ls = NULL

    def __dealloc__(self):
        if self.hist != NULL:
            free(self.hist)
        if self.ls != NULL:
            free(self.ls)

    def __init__(self, Evaluator fev, Evaluator gev, Evaluator hev, int gmode, int hmode,
                 x0, dict opt, callback=None, bint cb_new_style=True):
        if np.ndim(x0) != 2 or x0.shape[0] < 1 or x0.shape[1] < 1:
            raise ValueError("x0 must have shape (n, k) with n, k >= 1")
        cdef int n = x0.shape[0]
        cdef Py_ssize_t K = x0.shape[1]
        # the kernel trusts these: check them here, not in the C loop
        if fev is None or fev.n != n:
            raise ValueError(f"fev must be an evaluator of {n} variables")
        if fev.nout != (n + 1 if gmode == G_COMBINED else 1):
            raise ValueError("fev has the wrong number of outputs for this gradient mode")
        if gmode not in (G_EVAL, G_COMBINED, G_FD) or hmode not in (H_NONE, H_EVAL, H_FD):
            raise ValueError("unknown gradient or Hessian mode")
        if gmode == G_EVAL and (gev is None or gev.n != n or gev.nout != n):
            raise ValueError(f"gev must be an evaluator of {n} variables and {n} outputs")
        if hmode == H_EVAL and (hev is None or hev.n != n or hev.nout != n * n):
            raise ValueError(f"hev must be an evaluator of {n} variables and {n * n} outputs")
        if opt["method"] >= M_NEWTON and hmode == H_NONE:
            raise ValueError("Newton's method needs a Hessian mode")
        if not (0 <= opt["method"] <= M_NEWTON_ROOT) or not (0 <= opt["schedule"] <= S_COSINE):
            raise ValueError("unknown method or schedule code")
        self.fev, self.gev, self.hev = fev, gev, hev
        self.gmode, self.hmode = gmode, hmode
        self.n, self.K, self.na = n, K, K
        self.method = opt["method"]
        self.schedule = opt["schedule"]
        self.line_search = opt["line_search"]
        self.fd_method = opt["fd_method"]
        self.fd_accuracy = opt["fd_accuracy"]
        self.maxiter = opt["maxiter"]
        self.step_size = opt["step_size"]
        self.max_backtrack = opt["max_backtrack"]
        self.lr = opt["lr"]
        self.gtol = opt["gtol"]
        self.xtol = opt["xtol"]
        self.ftol = opt["ftol"]
        self.mu = opt["momentum"]
        self.beta1 = opt["beta1"]
        self.beta2 = opt["beta2"]
        self.eps = opt["eps"]
        self.rho = opt["rho"]
        self.decay = opt["decay"]
        self.lr_min = opt["lr_min"]
        self.period = opt["period"]
        self.c1 = opt["c1"]
        self.c2 = opt.get("c2", 0.9)
        self.negate = opt.get("sign", 1.0) < 0
        self.sched_every = opt.get("sched_every", 1)
        if self.sched_every < 1:
            raise ValueError("sched_every must be >= 1")
        self.shrink = opt["shrink"]
        self.history = opt["history"]
        self.workers = opt.get("workers", 1)
        if self.workers < 1:
            raise ValueError("workers must be >= 1")
        self.callback = callback
        self.cb_new_style = cb_new_style
        self.track_f = (self.history or self.line_search or self.ftol > 0 or callback is not None
                        or self.method >= M_NEWTON)
        # one block for every (rows, K) state array (fewer allocations: this is per call)
        cdef Py_ssize_t rows = 10 * n + 3 + 8
        cdef double[:, ::1] big = np.zeros((rows, K))
        cdef Py_ssize_t r0 = 0
        cdef int r
        cdef Py_ssize_t j
        self.X = big[r0:r0 + n]; r0 += n
        self.FG = big[r0:r0 + n + 1]; r0 += n + 1
        self.V = big[r0:r0 + n]; r0 += n
        self.S = big[r0:r0 + n]; r0 += n
        self.D = big[r0:r0 + n]; r0 += n
        self.XT = big[r0:r0 + n]; r0 += n
        self.XT2 = big[r0:r0 + n]; r0 += n
        self.xp, self.xq = &self.XT[0, 0], &self.XT2[0, 0]
        self.FGT = big[r0:r0 + n + 2]; r0 += n + 2
        self.BX = big[r0:r0 + n]; r0 += n
        self.BG = big[r0:r0 + n]; r0 += n
        self.BF = big[r0]; r0 += 1
        self.FPREV = big[r0]; r0 += 1
        self.ALPHA = big[r0]; r0 += 1
        self.SLOPE = big[r0]; r0 += 1
        self.DXREL = big[r0]; r0 += 1
        self.GN = big[r0]; r0 += 1
        self.BAD = big[r0]; r0 += 1
        self.KEEP = big[r0]; r0 += 1
        cdef const double[:, :] xv = x0
        for r in range(n):
            for j in range(K):
                self.X[r, j] = xv[r, j]
                self.BX[r, j] = xv[r, j]
        for j in range(K):
            self.BF[j] = INFINITY
            self.FPREV[j] = INFINITY
        self.perm = np.arange(K, dtype=np.intp)
        self.lsfail = np.zeros(K if self.line_search else 1, dtype=np.uint8)
        self.final = np.zeros(K if self.line_search == LS_WOLFE else 1, dtype=np.uint8)
        if self.line_search == LS_WOLFE:
            self.ls = <fc_ls_state *>malloc(K * sizeof(fc_ls_state))
            if self.ls == NULL:
                raise MemoryError()
        self.set_bounds(opt.get("lo"), opt.get("hi"))
        self.pw1 = self.pw2 = 1.0
        self.pw_it = -1
        self.idx = np.zeros(K, dtype=np.intp)
        self.fknown = np.zeros(K, dtype=np.uint8)
        # without f at every iterate, the previous iterate (XT) is kept so that a start whose
        # gradient turns NaN/inf between two f checks can still return its last good point
        self.keep_prev = not self.track_f
        if self.method >= M_NEWTON:
            self.H = np.zeros((n * n, K))
            # Hessian by differences: 2 points per column of H and their gradients; then n*n scratch
            self.W = np.zeros((2 * n + 2, 2 * K)) if hmode == H_FD else np.zeros((1, 1))
        else:
            self.H = big[0:0]
            self.W = big[0:1]
        self.alloc_outputs(K)
        self.njev = self.nhev = self.iterations = 0
        self.hscale = 1.0
        self.hist_rows = 0
        self.hist_cap = 0

    def set_bounds(self, lo, hi):
        """Bounds (arrays of n) for the first-order methods: projection after each step."""
        self.bounded = lo is not None
        if self.bounded:
            if self.method >= M_NEWTON or self.line_search:
                raise ValueError("bounds are for the first-order methods without a line search")
            self.LO = np.ascontiguousarray(lo, dtype=np.float64)
            self.HI = np.ascontiguousarray(hi, dtype=np.float64)
            if self.LO.shape[0] != self.n or self.HI.shape[0] != self.n:
                raise ValueError(f"bounds must have {self.n} pairs")

    # ------------------------------------------------------------------ evaluations
    cdef int fvals(self, Py_ssize_t m, const double *x, Py_ssize_t ldx, double *f,
                   double *scratch, Py_ssize_t lds) except -1 nogil:
        """f at m points into f[0..m); scratch is (n+1, lds) for the combined mode."""
        cdef Py_ssize_t j
        if self.gmode == G_COMBINED:
            self.fev.eval(m, x, ldx, scratch, lds)
            for j in range(m):
                f[j] = scratch[j]
            self.njev += m
        else:
            self.fev.eval(m, x, ldx, f, 1)
        if self.negate:
            _negate(m, 1, f, 0)
        return 0

    cdef int grads(self, Py_ssize_t m, const double *x, Py_ssize_t ldx, double *fg, Py_ssize_t ldg,
                   bint need_f, bint have_f) except -1 nogil:
        """Gradient at m points into rows 1..n of fg (leading dimension ldg); f into row 0 when
        need_f.  have_f: row 0 already holds f(x) (used by one-sided differences)."""
        self.njev += m
        if self.gmode == G_COMBINED:
            self.fev.eval(m, x, ldx, fg, ldg)
            if self.negate:
                _negate(m, self.n + 1, fg, ldg)
            return 0
        if need_f:
            self.fev.eval(m, x, ldx, fg, 1)
            have_f = True
        elif self.negate and have_f:
            _negate(m, 1, fg, 0)      # back to the user's f for one-sided differences
        if self.gmode == G_EVAL:
            self.gev.eval(m, x, ldx, fg + ldg, ldg)
        else:
            fd_gradient(self.fev, m, x, ldx, fg + ldg, ldg, self.fd_method, self.fd_accuracy,
                        NULL, fg if have_f else NULL)
        if self.negate:
            _negate(m, self.n + (1 if have_f else 0), fg if have_f else fg + ldg, ldg)
        return 0

    cdef int hessians(self, Py_ssize_t m, const double *x, Py_ssize_t ldx, double *h,
                      Py_ssize_t ldh) except -1 nogil:
        """Hessians at m points into h[(r*n + c)*ldh + j], symmetrized."""
        cdef int n = self.n
        cdef int i, r, c
        cdef Py_ssize_t j
        cdef double hs, xi, den, a, b
        cdef double *w
        cdef double *wg
        cdef Py_ssize_t ldw
        self.nhev += m
        if self.hmode == H_EVAL:
            self.hev.eval(m, x, ldx, h, ldh)
            if self.negate:
                _negate(m, n * n, h, ldh)
        elif self.gmode == G_FD:
            # no gradient either: fastcalc's one finite-difference Hessian (fc.hessian's fixed
            # stencil, steps scaled by |x|), exactly symmetric
            fd_hessian(self.fev, m, x, ldx, h, ldh, NULL)
            if self.negate:
                _negate(m, n * n, h, ldh)
            return 0
        else:
            # a gradient is given: column i of H is the central difference of the gradient along
            # e_i (steps scaled by |x|, floored at 1e-3 near 0), 2m points in one batch
            ldw = 2 * self.K
            w = &self.W[0, 0]                    # n rows of 2m points
            wg = w + n * ldw                     # n + 1 rows of f and gradient
            hs = pow(FC_DBL_EPS, 1.0 / 3.0) * self.hscale
            for i in range(n):
                for r in range(n):
                    for j in range(m):
                        w[r * ldw + j] = x[r * ldx + j]
                        w[r * ldw + m + j] = x[r * ldx + j]
                for j in range(m):
                    xi = x[i * ldx + j]
                    w[i * ldw + j] = xi + hs * _max(1e-3, fabs(xi))
                    w[i * ldw + m + j] = xi - hs * _max(1e-3, fabs(xi))
                self.grads(2 * m, w, ldw, wg, ldw, False, False)
                self.njev -= 2 * m       # counted as Hessian evaluations, not gradients
                for j in range(m):
                    den = w[i * ldw + j] - w[i * ldw + m + j]
                    for r in range(n):
                        h[(r * n + i) * ldh + j] = \
                            (wg[(r + 1) * ldw + j] - wg[(r + 1) * ldw + m + j]) / den
        for j in range(m):
            for r in range(n):
                for c in range(r + 1, n):
                    a = h[(r * n + c) * ldh + j]
                    b = h[(c * n + r) * ldh + j]
                    h[(r * n + c) * ldh + j] = h[(c * n + r) * ldh + j] = 0.5 * (a + b)
        return 0

    # ------------------------------------------------------------------ bookkeeping
    cdef void swap_cols(self, Py_ssize_t a, Py_ssize_t b) noexcept nogil:
        cdef Py_ssize_t t
        cdef double v
        cdef int r
        if a == b:
            return
        t = self.perm[a]; self.perm[a] = self.perm[b]; self.perm[b] = t
        t = self.fknown[a]; self.fknown[a] = self.fknown[b]; self.fknown[b] = <unsigned char>t
        v = self.BF[a]; self.BF[a] = self.BF[b]; self.BF[b] = v
        v = self.FPREV[a]; self.FPREV[a] = self.FPREV[b]; self.FPREV[b] = v
        v = self.ALPHA[a]; self.ALPHA[a] = self.ALPHA[b]; self.ALPHA[b] = v
        for r in range(self.n + 1):
            v = self.FG[r, a]; self.FG[r, a] = self.FG[r, b]; self.FG[r, b] = v
        for r in range(self.n):
            v = self.X[r, a]; self.X[r, a] = self.X[r, b]; self.X[r, b] = v
            v = self.V[r, a]; self.V[r, a] = self.V[r, b]; self.V[r, b] = v
            v = self.S[r, a]; self.S[r, a] = self.S[r, b]; self.S[r, b] = v
            v = self.BX[r, a]; self.BX[r, a] = self.BX[r, b]; self.BX[r, b] = v
            v = self.BG[r, a]; self.BG[r, a] = self.BG[r, b]; self.BG[r, b] = v
            v = self.D[r, a]; self.D[r, a] = self.D[r, b]; self.D[r, b] = v
            if self.keep_prev:
                v = self.XT[r, a]; self.XT[r, a] = self.XT[r, b]; self.XT[r, b] = v
                v = self.XT2[r, a]; self.XT2[r, a] = self.XT2[r, b]; self.XT2[r, b] = v

    cdef void finish(self, Py_ssize_t c, int status, Py_ssize_t nit) noexcept nogil:
        """Write the result of active column c and retire it."""
        cdef Py_ssize_t s = self.perm[c] + self.col0
        cdef int r
        cdef bint use_best = (status == ST_DIVERGED or status == ST_NONFINITE) and isfinite(self.BF[c])
        if status == ST_NONFINITE and self.keep_prev and nit > 0:
            for r in range(self.n):
                self.XC[r, s] = self.xp[r * self.K + c]
            self.cand[s] = 1
        for r in range(self.n):
            if use_best:
                self.XO[r, s] = self.BX[r, c]
                self.GO[r, s] = self.BG[r, c]
            else:
                self.XO[r, s] = self.X[r, c]
                self.GO[r, s] = self.FG[r + 1, c]
        if use_best:
            self.FO[s] = self.BF[c]
        elif self.fknown[c]:
            self.FO[s] = self.FG[0, c]
        else:
            self.FO[s] = INFINITY * 0.0          # NaN: evaluated at the end
        self.NIT[s] = nit
        self.STATUS[s] = status
        self.swap_cols(c, self.na - 1)
        self.na -= 1

    cdef void track(self, Py_ssize_t c) noexcept nogil:
        """Remember column c as its start's best point when f improved."""
        cdef int r
        cdef double f = self.FG[0, c]
        if f < self.BF[c]:
            self.BF[c] = f
            for r in range(self.n):
                self.BX[r, c] = self.X[r, c]
                self.BG[r, c] = self.FG[r + 1, c]

    cdef void track_all(self) noexcept nogil:
        """track() of every active start whose f is known, finite and lower than its best (with a
        finite gradient), row by row (the columns are marked in KEEP first)."""
        cdef Py_ssize_t c, na = self.na
        cdef int r
        cdef double f
        cdef double *keep = &self.KEEP[0]
        cdef bint any = False
        for c in range(na):
            f = self.FG[0, c]
            keep[c] = (self.fknown[c] and self.BAD[c] == 0.0 and fabs(f) <= 1e308
                       and f < self.BF[c])
            any = any or keep[c] != 0.0
        if not any:
            return
        for r in range(self.n):
            for c in range(na):
                if keep[c] != 0.0:
                    self.BX[r, c] = self.X[r, c]
                    self.BG[r, c] = self.FG[r + 1, c]
        for c in range(na):
            if keep[c] != 0.0:
                self.BF[c] = self.FG[0, c]

    cdef int record(self) except -1 nogil:
        """Append the current iterates (original order) to the history: rows x_0..x_{n-1}, f."""
        cdef Py_ssize_t rowlen = (self.n + 1) * self.K
        cdef Py_ssize_t c, s
        cdef int r
        cdef double *p
        cdef double *row
        if self.hist_rows == self.hist_cap:
            self.hist_cap = 64 if self.hist_cap == 0 else 2 * self.hist_cap
            p = <double *>realloc(self.hist, self.hist_cap * rowlen * sizeof(double))
            if p == NULL:
                with gil:
                    raise MemoryError("not enough memory for the history")
            self.hist = p
        row = self.hist + self.hist_rows * rowlen
        if self.hist_rows > 0:
            memcpy(row, row - rowlen, rowlen * sizeof(double))
        for c in range(self.na):
            s = self.perm[c]
            for r in range(self.n):
                row[r * self.K + s] = self.X[r, c]
            row[self.n * self.K + s] = self.FG[0, c]
        self.hist_rows += 1
        return 0

    def history_arrays(self):
        """(path, fun_path): shapes (rows, n, K) and (rows, K)."""
        cdef Py_ssize_t rowlen = (self.n + 1) * self.K
        out = np.empty((self.hist_rows, self.n + 1, self.K))
        cdef double[:, :, ::1] ov = out
        if self.hist_rows:
            memcpy(&ov[0, 0, 0], self.hist, self.hist_rows * rowlen * sizeof(double))
        return out[:, :self.n, :], out[:, self.n, :]

    cdef double rate(self, Py_ssize_t t) noexcept nogil:
        """Learning rate of iteration t (0-based)."""
        return fc_descent_rate(self.schedule, self.lr, self.decay, self.step_size, self.lr_min,
                               self.period, t if self.sched_every == 1 else t // self.sched_every)

    cdef void bias_corrections(self, Py_ssize_t it, double *bc1, double *bc2) noexcept nogil:
        """Adam's 1 - beta^(it+1), from powers updated once per iteration (no pow() per step)."""
        if it != self.pw_it + 1:
            self.pw1 = pow(self.beta1, <double>it)
            self.pw2 = pow(self.beta2, <double>it)
        self.pw1 *= self.beta1
        self.pw2 *= self.beta2
        self.pw_it = it
        bc1[0] = 1.0 - self.pw1
        bc2[0] = 1.0 - self.pw2

    cdef void project(self, double *x, Py_ssize_t m) noexcept nogil:
        """Clip the first m points of x (leading dimension K) onto the bounds, when there are any."""
        cdef int r
        if self.bounded:
            for r in range(self.n):
                fc_descent_clip(m, x + r * self.K, self.LO[r], self.HI[r])

    # ------------------------------------------------------------------ Newton direction
    cdef int newton_dirs(self) except -1 nogil:
        """D[:, j] = the Newton direction of every active start (fc_newton.h); BAD[j] = 1 when a
        given Hessian is not finite (reported, not replaced: status 6).  Differenced Hessians may
        cross a domain edge: those fall back to the gradient step, as a failed factorization does.
        M_NEWTON_ROOT: the unshifted step H d = -g; a singular or non-finite H marks the start BAD."""
        cdef int n = self.n
        cdef Py_ssize_t K = self.K
        cdef Py_ssize_t j
        cdef int r, rc
        cdef double *w = <double *>malloc((2 * n * n + n) * sizeof(double))
        if w == NULL:
            with gil:
                raise MemoryError()
        for j in range(self.na):
            self.BAD[j] = 0.0
            if self.method == M_NEWTON_ROOT:
                rc = fc_newton_root_step(n, &self.H[0, j], K, &self.FG[1, j], K, &self.D[0, j], K, w)
                if rc != FCN_OK:
                    self.BAD[j] = 1.0
                continue
            rc = fc_newton_direction(n, &self.H[0, j], K, &self.FG[1, j], K, &self.D[0, j], K, w)
            if rc == FCN_NONFINITE:
                if self.hmode == H_EVAL:
                    self.BAD[j] = 1.0
                else:
                    for r in range(n):
                        self.D[r, j] = -self.FG[r + 1, j]
        free(w)
        return 0

    # ------------------------------------------------------------------ the loop
    cdef int _callback(self, Py_ssize_t it, bint *stop) except -1:
        from scipy.optimize import OptimizeResult
        cdef int r
        x = np.array([self.X[r, 0] for r in range(self.n)])
        try:
            if self.cb_new_style:
                res = OptimizeResult(x=x, fun=self.FG[0, 0], nit=it)
                if self.steps_per_epoch > 0:
                    res.epoch = int(it // self.steps_per_epoch)
                self.callback(res)
            else:
                self.callback(x)
        except StopIteration:
            stop[0] = True
        return 0

    cdef void descent_dirs(self) noexcept nogil:
        """SLOPE[j] = g.d for the line searches, with d = -g (momentum: v = mu v - g) and a
        non-descent direction replaced by steepest descent."""
        cdef int n = self.n
        cdef Py_ssize_t j
        cdef int r
        cdef double s, gi
        for j in range(self.na):
            if self.method == M_MOMENTUM:
                for r in range(n):
                    self.V[r, j] = self.mu * self.V[r, j] - self.FG[r + 1, j]
                    self.D[r, j] = self.V[r, j]
            elif self.method != M_NEWTON:
                for r in range(n):
                    self.D[r, j] = -self.FG[r + 1, j]
            s = 0.0
            for r in range(n):
                s += self.FG[r + 1, j] * self.D[r, j]
            if not (s < 0):
                s = 0.0
                for r in range(n):
                    gi = self.FG[r + 1, j]
                    self.D[r, j] = -gi
                    s -= gi * gi
                    if self.method == M_MOMENTUM:
                        self.V[r, j] = -gi
            self.SLOPE[j] = s
            self.lsfail[j] = 0

    cdef bint accept(self, Py_ssize_t c, Py_ssize_t q, double a, bint with_grad) noexcept nogil:
        """Move column c to the trial point XT[:, q] (step a) with f (and g) from FGT[:, q]; False
        when the step leaves x unchanged (a d below half an ulp of x: precision loss)."""
        cdef int r
        cdef bint moved = False
        cdef Py_ssize_t K = self.K
        for r in range(self.n):
            if self.XT[r, q] != self.X[r, c]:
                moved = True
        if not moved:
            return False
        for r in range(self.n):
            self.X[r, c] = self.XT[r, q]
        self.FPREV[c] = self.FG[0, c]
        self.FG[0, c] = self.FGT[0, q]
        if with_grad:
            for r in range(1, self.n + 1):
                self.FG[r, c] = self.FGT[r, q]
        self.ALPHA[c] = a
        return True

    cdef int armijo(self, double lr_t) except -1 nogil:
        """Backtracking along D from the active points (f at all pending trials as one batch);
        moves X and FG[0] of those that succeed, sets lsfail of those that do not."""
        cdef int n = self.n
        cdef Py_ssize_t K = self.K
        cdef Py_ssize_t j, c, npend, q, back
        cdef int r
        cdef double *fgt = &self.FGT[0, 0]
        for j in range(self.na):
            self.ALPHA[j] = lr_t
            self.idx[j] = j
        npend = self.na
        back = 0
        while npend > 0 and back <= self.max_backtrack:
            for q in range(npend):
                c = self.idx[q]
                for r in range(n):
                    self.XT[r, q] = self.X[r, c] + self.ALPHA[c] * self.D[r, c]
            self.fvals(npend, &self.XT[0, 0], K, fgt, fgt + K, K)
            j = 0
            for q in range(npend):
                c = self.idx[q]
                if fgt[q] <= self.FG[0, c] + self.c1 * self.ALPHA[c] * self.SLOPE[c]:
                    if not self.accept(c, q, self.ALPHA[c], False):
                        self.lsfail[c] = 1
                else:
                    self.ALPHA[c] *= self.shrink
                    self.idx[j] = c
                    j += 1
            npend = j
            back += 1
        for q in range(npend):
            self.lsfail[self.idx[q]] = 1
        return 0

    cdef int wolfe(self, double lr_t) except -1 nogil:
        """The strong-Wolfe search of fc_linesearch.h along D for every active start, side by side
        (f and g at all pending trials as one batch); moves X and FG of those that succeed."""
        cdef int n = self.n
        cdef Py_ssize_t K = self.K
        cdef Py_ssize_t j, c, npend, q
        cdef int r, code
        cdef double dphi
        cdef fc_ls_state *ls
        for j in range(self.na):
            fc_ls_start(&self.ls[j], self.FG[0, j], self.SLOPE[j], lr_t, self.c1, self.c2,
                        1e10 * _max(lr_t, 1.0), <int>self.max_backtrack + 1)
            self.idx[j] = j
            self.final[j] = 0
        npend = self.na
        while npend > 0:
            for q in range(npend):
                c = self.idx[q]
                for r in range(n):
                    self.XT[r, q] = self.X[r, c] + self.ls[c].a * self.D[r, c]
            self.grads(npend, &self.XT[0, 0], K, &self.FGT[0, 0], K, True, False)
            j = 0
            for q in range(npend):
                c = self.idx[q]
                ls = &self.ls[c]
                if self.final[c]:
                    code = FC_LS_DONE
                else:
                    dphi = 0.0
                    for r in range(n):
                        dphi += self.FGT[r + 1, q] * self.D[r, c]
                    code = fc_ls_next(ls, self.FGT[0, q], dphi)
                if code == FC_LS_DONE:
                    if not self.accept(c, q, ls.a, True):
                        self.lsfail[c] = 1
                    continue
                if code == FC_LS_FAIL:
                    self.lsfail[c] = 1
                    continue
                self.final[c] = code == FC_LS_DONE_OTHER
                self.idx[j] = c
                j += 1
            npend = j
        return 0

    cdef int newton_or_search_step(self, double lr_t, Py_ssize_t it) except -1 nogil:
        """One Newton and/or line-search step of every active start; DXREL for xtol."""
        cdef int n = self.n
        cdef Py_ssize_t K = self.K
        cdef Py_ssize_t j, c
        cdef int r
        cdef double dxn, xn, step, vi
        cdef double *x = &self.X[0, 0]
        if self.method >= M_NEWTON:
            self.hessians(self.na, x, K, &self.H[0, 0], K)
            self.newton_dirs()
            for c in range(self.na - 1, -1, -1):
                if self.BAD[c] != 0.0:
                    self.finish(c, ST_NONFINITE, it)
            if self.na == 0:
                return 0
        if self.line_search:
            self.descent_dirs()
            if self.line_search == LS_WOLFE:
                self.wolfe(lr_t)
            else:
                self.armijo(lr_t)
            for c in range(self.na - 1, -1, -1):
                if self.lsfail[c]:
                    self.finish(c, ST_LINESEARCH, it)
        else:
            for r in range(n):
                for j in range(self.na):
                    x[r * K + j] += lr_t * self.D[r, j]
            for j in range(self.na):
                self.FPREV[j] = self.FG[0, j]
        for j in range(self.na):
            dxn = 0.0
            xn = 0.0
            step = self.ALPHA[j] if self.line_search else lr_t
            for r in range(n):
                vi = fabs(step * self.D[r, j])
                dxn = vi if vi > dxn else dxn
                vi = fabs(x[r * K + j])
                xn = vi if vi > xn else xn
            self.DXREL[j] = dxn / _max(1.0, xn)
        return 0

    cdef void first_order_step(self, double lr_t, Py_ssize_t it, bint fchecked) noexcept nogil:
        """One step of a first-order rule (fc_descent.h) on every active start, then the bounds."""
        cdef int n = self.n
        cdef Py_ssize_t K = self.K
        cdef Py_ssize_t j, na = self.na
        cdef int r
        cdef double bc1 = 1.0, bc2 = 1.0, vi, xold
        cdef double *x = &self.X[0, 0]
        cdef double *fg = &self.FG[0, 0]
        if self.method == M_ADAM:
            self.bias_corrections(it, &bc1, &bc2)
        if fchecked or self.track_f:
            for j in range(na):
                self.FPREV[j] = fg[j]
        if self.xtol > 0 or self.keep_prev:
            memcpy(self.xp, x, n * K * sizeof(double))
        if self.workers > 1 and na >= PAR_MIN * self.workers:
            fc_descent_par_step(self.method, n, na, x, fg + K, &self.V[0, 0], &self.S[0, 0], K,
                                lr_t, self.mu, self.beta1, self.beta2, bc1, bc2, self.rho,
                                self.eps, self.workers)
        elif na == K:
            # every column active: the (n, K) state is one contiguous block, one vector loop
            fc_descent_step(self.method, n * K, x, fg + K, &self.V[0, 0], &self.S[0, 0], lr_t,
                            self.mu, self.beta1, self.beta2, bc1, bc2, self.rho, self.eps)
        else:
            for r in range(n):
                fc_descent_step(self.method, na, x + r * K, fg + (r + 1) * K, &self.V[r, 0],
                                &self.S[r, 0], lr_t, self.mu, self.beta1, self.beta2, bc1, bc2,
                                self.rho, self.eps)
        self.project(x, na)
        if self.xtol > 0:
            for j in range(na):
                self.DXREL[j] = 0.0
            for r in range(n):
                for j in range(na):
                    xold = self.xp[r * K + j]
                    vi = fabs(x[r * K + j] - xold) / _max(1.0, fabs(xold))
                    if vi > self.DXREL[j]:
                        self.DXREL[j] = vi

    cdef void fused_step(self, double lr_t, Py_ssize_t it) noexcept nogil:
        """check_all and first_order_step in one visit of the state (fc_descent_check_step), for
        the iterations where f is not fresh (only the gradient can end a start): the iterate
        before the step goes to the spare buffer, which becomes the previous iterate; the starts
        the check flags are put back there and finished."""
        cdef int n = self.n
        cdef Py_ssize_t K = self.K
        cdef Py_ssize_t c, nflag
        cdef int r
        cdef double bc1 = 1.0, bc2 = 1.0
        cdef double *x = &self.X[0, 0]
        cdef double *t
        if self.method == M_ADAM:
            self.bias_corrections(it, &bc1, &bc2)
        nflag = fc_descent_check_step(self.method, n, self.na, K, x, &self.FG[1, 0], &self.V[0, 0],
                                      &self.S[0, 0], self.xq, self.gtol, &self.GN[0],
                                      &self.BAD[0], lr_t, self.mu, self.beta1, self.beta2, bc1,
                                      bc2, self.rho, self.eps)
        if nflag:
            for c in range(self.na - 1, -1, -1):
                if self.BAD[c] != 0.0 or self.GN[c] <= self.gtol:
                    for r in range(n):
                        x[r * K + c] = self.xq[r * K + c]
                    self.finish(c, ST_NONFINITE if self.BAD[c] != 0.0 else ST_GTOL, it)
        t = self.xp
        self.xp = self.xq
        self.xq = t
        self.project(x, self.na)

    cdef void finish_all(self, int status, Py_ssize_t nit) noexcept nogil:
        """finish() for every active start at once, row by row (not for the statuses that return
        the best point)."""
        cdef Py_ssize_t c, s, K = self.K
        cdef int r
        for r in range(self.n):
            for c in range(self.na):
                s = self.perm[c] + self.col0
                self.XO[r, s] = self.X[r, c]
                self.GO[r, s] = self.FG[r + 1, c]
        for c in range(self.na):
            s = self.perm[c] + self.col0
            self.FO[s] = self.FG[0, c] if self.fknown[c] else INFINITY * 0.0
            self.NIT[s] = nit
            self.STATUS[s] = status
        self.na = 0

    cdef Py_ssize_t fast_segment(self, Py_ssize_t it) except -1 nogil:
        """Steps of a single start while no f is needed: from iteration ``it`` up to (not across)
        the next f checkpoint or maxiter, or until the gradient is small or not finite.  Returns
        the iteration reached; the caller's checks then see the new gradient."""
        cdef int n = self.n
        cdef Py_ssize_t K = self.K
        cdef double *x = &self.X[0, 0]
        cdef double *fg = &self.FG[0, 0]
        cdef double *xt = self.xp
        cdef double *v = &self.V[0, 0]
        cdef double *s = &self.S[0, 0]
        cdef double bc1 = 1.0, bc2 = 1.0, lr_t = self.lr
        cdef int r
        cdef bint constant = self.schedule == S_CONSTANT
        cdef bint direct = self.gmode == G_EVAL and not self.negate     # grads() in short
        while (it + 1) % CHECK_EVERY != 0 and it + 1 < self.maxiter:
            if not constant:
                lr_t = self.rate(it)
            if self.keep_prev:
                if K == 1:
                    memcpy(xt, x, n * sizeof(double))
                else:
                    for r in range(n):
                        xt[r * K] = x[r * K]
            if self.method == M_ADAM:
                self.bias_corrections(it, &bc1, &bc2)
            if K == 1:
                # one start: its n coordinates are contiguous, one vector loop over them
                if n >= 64:
                    fc_descent_step(self.method, n, x, fg + K, v, s, lr_t, self.mu, self.beta1,
                                    self.beta2, bc1, bc2, self.rho, self.eps)
                else:
                    fc_descent_step_body(self.method, n, x, fg + K, v, s, lr_t, self.mu,
                                         self.beta1, self.beta2, bc1, bc2, self.rho, self.eps)
            else:
                for r in range(n):
                    fc_descent_step_body(self.method, 1, x + r * K, fg + (r + 1) * K, v + r * K,
                                         s + r * K, lr_t, self.mu, self.beta1, self.beta2, bc1,
                                         bc2, self.rho, self.eps)
            if self.bounded:
                self.project(x, 1)
            it += 1
            if direct:
                self.gev.eval(1, x, K, fg + K, K)
                self.njev += 1
            else:
                self.grads(1, x, K, fg, K, False, False)
            self.fknown[0] = 0
            if n >= 64:
                if fc_descent_check(n, 1, fg + K, K, self.gtol, &self.GN[0], &self.BAD[0]):
                    break
            elif fc_descent_check_body(n, 1, fg + K, K, self.gtol, &self.GN[0], &self.BAD[0]):
                break
        return it

    cdef void check_all(self, Py_ssize_t it, bint fchecked) noexcept nogil:
        """The one convergence/health pass over the active starts: the vectorized gradient check
        (fc_descent_check: inf-norm and NaN marker per column), then a scalar pass only when some
        column needs attention or f is fresh (finish swaps, hence the reverse order)."""
        cdef Py_ssize_t c, na = self.na
        cdef double f = 0.0, fp
        cdef double *fg = &self.FG[0, 0]
        cdef Py_ssize_t nflag = fc_descent_check(self.n, na, fg + self.K, self.K, self.gtol,
                                                 &self.GN[0], &self.BAD[0])
        if not (nflag or fchecked):
            return
        if fchecked:
            self.track_all()
        for c in range(na - 1, -1, -1):
            if self.BAD[c] != 0.0:
                self.finish(c, ST_NONFINITE, it)
                continue
            if self.fknown[c]:
                f = fg[c]
                if not (fabs(f) <= 1e308):
                    self.finish(c, ST_NONFINITE, it)
                    continue
                if f > self.BF[c] + GROWTH * _max(1.0, fabs(self.BF[c])):
                    self.finish(c, ST_DIVERGED, it)
                    continue
            if self.GN[c] <= self.gtol:
                self.finish(c, ST_GTOL, it)
                continue
            if it > 0 and self.ftol > 0:
                fp = self.FPREV[c]
                if fabs(fp - f) <= self.ftol * _max(_max(fabs(fp), fabs(f)), 1.0):
                    self.finish(c, ST_FTOL, it)

    cdef void check_xtol(self, Py_ssize_t it) noexcept nogil:
        """Starts whose last relative step is below xtol (with finite values) end with ST_XTOL."""
        cdef Py_ssize_t c, K = self.K
        cdef int r
        cdef bint bad
        for c in range(self.na - 1, -1, -1):
            if self.DXREL[c] <= self.xtol:
                bad = False
                for r in range(self.n + 1):
                    if (r > 0 or self.fknown[c]) and not (fabs(self.FG[r, c]) <= 1e308):
                        bad = True
                if not bad:
                    if self.fknown[c]:
                        self.track(c)
                    self.finish(c, ST_XTOL, it)

    cdef int run(self) except -1 nogil:
        cdef Py_ssize_t K = self.K
        cdef Py_ssize_t it, c
        cdef bint need_f, fuse, stop = False, fchecked = True
        cdef double *x = &self.X[0, 0]
        cdef double *fg = &self.FG[0, 0]
        cdef bint fast = (self.method < M_NEWTON and not self.line_search and not self.track_f
                          and self.xtol <= 0)
        # iteration 0: gradient (and f) at the starts
        self.project(x, self.na)
        self.grads(self.na, x, K, fg, K, True, False)
        memset(&self.fknown[0], 1, self.na)
        if self.history:
            self.record()
        it = 0
        while True:
            # f not fresh, several starts: the check is fused into the step (fused_step)
            fuse = (fast and not fchecked and it < self.maxiter and self.na > 1
                    and (self.workers == 1 or self.na < PAR_MIN * self.workers))
            if not fuse:
                self.check_all(it, fchecked)
                if self.na == 0:
                    break
                if it >= self.maxiter:
                    self.finish_all(ST_MAXITER, it)
                    break
                # a run of cheap steps for one start (no f needed): no bookkeeping in between
                if fast and self.na == 1 and (it + 1) % CHECK_EVERY != 0 and it + 1 < self.maxiter:
                    it = self.fast_segment(it)
                    fchecked = False
                    continue
            if self.method >= M_NEWTON or self.line_search:
                self.newton_or_search_step(self.rate(it), it)
                if self.na == 0:
                    it += 1
                    break
            elif fuse:
                self.fused_step(self.rate(it), it)
                if self.na == 0:
                    break
            else:
                self.first_order_step(self.rate(it), it, fchecked)
            it += 1
            # gradient (and f when needed) at the new iterates: one batch
            need_f = self.track_f or (it % CHECK_EVERY == 0)
            if self.line_search == LS_ARMIJO:
                self.grads(self.na, x, K, fg, K, False, True)     # f known from the line search
                need_f = True
            elif self.line_search == LS_WOLFE:
                need_f = True                                     # f and g from the search
            else:
                self.grads(self.na, x, K, fg, K, need_f, False)
            if self.na:
                memset(&self.fknown[0], 1 if need_f else 0, self.na)
            fchecked = need_f
            if self.history:
                self.record()
            # SciPy's convention: the callback sees every new iterate, before the stopping tests
            if self.callback is not None and self.na:
                with gil:
                    self._callback(it, &stop)
                if stop:
                    for c in range(self.na - 1, -1, -1):
                        self.finish(c, ST_CALLBACK, it)
                    break
            if self.xtol > 0:
                self.check_xtol(it)
        if it > self.iterations:
            self.iterations = it
        return 0

    cdef bint nogil_ok(self) noexcept:
        """Every callable is compiled and there is no Python callback: run() may drop the GIL."""
        return (self.fev.nogil and (self.gev is None or self.gev.nogil)
                and (self.hev is None or self.hev.nogil) and self.callback is None)

    def alloc_outputs(self, Py_ssize_t k):
        """Fresh output arrays for k starts (this run's, or a whole multi-start run's that its
        blocks share: see fastcalc._multistart)."""
        self.xo = np.zeros((self.n, k))
        self.go = np.zeros((self.n, k))
        self.fo = np.full(k, np.nan)
        self.nit = np.zeros(k, dtype=np.intp)
        self.status = np.full(k, ST_RUNNING, dtype=np.intc)
        self.XO, self.GO, self.FO, self.NIT, self.STATUS = self.xo, self.go, self.fo, self.nit, \
            self.status
        self.XC = np.zeros((self.n, k)) if self.keep_prev else np.zeros((1, 1))
        self.cand = np.zeros(k, dtype=np.uint8)

    def execute(self):
        """Run the loop (without the GIL when possible) and fill in f where it is still unknown."""
        if self.nogil_ok():
            with nogil:
                self.run()
        else:
            self.run()
        return self.finalize()

    def finalize(self):
        """After run(): the candidates of starts that ended on a non-finite gradient, and f where
        it is still unknown."""
        # starts whose gradient turned non-finite between two f checks: their previous iterate
        # (finite gradient) is the best point when its f is finite and lower
        cand = np.flatnonzero(np.asarray(self.cand))
        if cand.size:
            self._candidates(cand)
        # f at the final points of the starts that ended between two f evaluations
        need = np.flatnonzero(np.isnan(self.fo))
        if need.size:
            pts = np.ascontiguousarray(self.xo[:, need])
            self._final_f(pts, need)
        return self

    def _candidates(self, cand):
        pts = np.ascontiguousarray(np.asarray(self.XC)[:, cand])
        cdef double[:, ::1] pv = pts
        cdef Py_ssize_t m = pv.shape[1]
        fgc = np.empty((self.n + 1, m))
        cdef double[:, ::1] fv = fgc
        if self.fev.nogil and (self.gev is None or self.gev.nogil):
            with nogil:
                self.grads(m, &pv[0, 0], m, &fv[0, 0], m, True, False)
        else:
            self.grads(m, &pv[0, 0], m, &fv[0, 0], m, True, False)
        for i, s in enumerate(cand):
            if not np.all(np.isfinite(fgc[:, i])):
                continue
            if np.isnan(self.fo[s]) or fgc[0, i] < self.fo[s]:
                self.xo[:, s] = pts[:, i]
                self.fo[s] = fgc[0, i]
                self.go[:, s] = fgc[1:, i]

    def _final_f(self, pts, need):
        cdef double[:, ::1] pv = pts
        cdef Py_ssize_t m = pv.shape[1]
        fv = np.empty(m)
        cdef double[::1] fvv = fv
        scratch = np.empty((self.n + 1, m))
        cdef double[:, ::1] sv = scratch
        if self.fev.nogil:
            with nogil:
                self.fvals(m, &pv[0, 0], m, &fvv[0], &sv[0, 0], m)
        else:
            self.fvals(m, &pv[0, 0], m, &fvv[0], &sv[0, 0], m)
        self.fo[need] = fv


def values_at(Evaluator ev, x):
    """``ev`` at the points x (n, m) -> (nout, m), through the adapter (the optimizers' wrappers
    use it for a user's Hessian at the points they classify)."""
    cdef const double[:, ::1] xv = np.ascontiguousarray(x, dtype=np.float64)
    cdef Py_ssize_t m = xv.shape[1]
    out = np.empty((ev.nout, m))
    cdef double[:, ::1] ov = out
    if m == 0:
        return out
    if ev.nogil:
        with nogil:
            ev.eval(m, &xv[0, 0], m, &ov[0, 0], m)
    else:
        ev.eval(m, &xv[0, 0], m, &ov[0, 0], m)
    return out
