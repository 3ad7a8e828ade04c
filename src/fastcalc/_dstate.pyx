# cython: language_level=3
"""The state of a descent run (fastcalc._descent): buffers, evaluations, bookkeeping, Newton helpers.

:class:`DescentState` holds ``k`` independent starts of one method.  The state of every start is a
column of ``(rows, K)`` arrays (points innermost), and the active starts are kept packed in the
first ``na`` columns (a finished start is swapped with the last active one), so one gradient
evaluation is ONE batch of ``na`` points through the :mod:`fastcalc._core` adapter.  This module
owns the buffers and outputs, the evaluations (f, gradient, Hessian), the retiring of starts, the
best-point tracking, the history, the schedules and the Newton directions; the step rules, line
searches, checks and the loop are the subclass :class:`fastcalc._descent.Descent`.
"""

cimport numpy as cnp
from libc.math cimport fabs, pow, isfinite, INFINITY
from libc.stdlib cimport malloc, realloc, free
from libc.string cimport memcpy

import numpy as np

from fastcalc._core cimport Evaluator
from fastcalc._optim cimport *

from fastcalc._diff cimport fd_gradient, fd_hessian

cnp.import_array()

# Adam's powers beta^t below this are 0 (1 - p == 1.0 exactly for p < 2^-54 ~ 5.6e-17)
DEF PW_FLUSH = 1e-30

cdef extern from *:
    """
    #define FC_DBL_EPS 2.220446049250313e-16
    """
    double FC_DBL_EPS


cdef inline void _negate(Py_ssize_t m, int rows, double *a, Py_ssize_t ld) noexcept nogil:
    """a[r*ld + j] = -a[r*ld + j] for r < rows, j < m."""
    cdef Py_ssize_t j
    cdef int r
    for r in range(rows):
        for j in range(m):
            a[r * ld + j] = -a[r * ld + j]



def _zeros64(Py_ssize_t rows, Py_ssize_t k):
    """np.zeros((rows, k)) whose first element is 64-byte aligned (rows of a multiple of 8
    doubles then start on cache lines: no AVX-512 load or store of the step is split)."""
    raw = np.zeros(rows * k + 8)
    cdef Py_ssize_t off = ((-raw.ctypes.data) % 64) // 8
    return raw[off:off + rows * k].reshape(rows, k)


cdef class DescentState:
    """State and buffers of one run of ``k`` starts (the loop is the subclass fastcalc._descent.Descent)."""

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
        self.set_options(opt)
        self.callback = callback
        self.cb_new_style = cb_new_style
        self.track_f = (self.history or self.line_search or self.ftol > 0 or callback is not None
                        or self.method >= M_NEWTON)
        # one block for every (rows, K) state array (fewer allocations: this is per call)
        cdef Py_ssize_t rows = 10 * n + 3 + 8
        cdef double[:, ::1] big = _zeros64(rows, K)
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

    cdef int set_options(self, dict opt) except -1:
        """The scalar options of the run (the codes and numbers parse_descent_options made)."""
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
        return 0


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
                    w[i * ldw + j] = xi + hs * dmax(1e-3, fabs(xi))
                    w[i * ldw + m + j] = xi - hs * dmax(1e-3, fabs(xi))
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

    cdef void finish_all(self, int status, Py_ssize_t nit) noexcept nogil:
        """finish() for every active start at once, row by row (not for the statuses that return
        the best point); one copy per row when no start has left (columns in their order)."""
        cdef Py_ssize_t c, s, K = self.K, na = self.na, ldo = self.XO.shape[1]
        cdef int r
        cdef bint inorder = True
        cdef const double *x = &self.X[0, 0]
        cdef const double *g = &self.FG[1, 0]
        cdef double *xo = &self.XO[0, 0]
        cdef double *go = &self.GO[0, 0]
        cdef Py_ssize_t *perm = &self.perm[0]
        for c in range(na):
            inorder = inorder and perm[c] == c
        for r in range(self.n):
            if inorder:
                memcpy(xo + r * ldo + self.col0, x + r * K, na * sizeof(double))
                memcpy(go + r * ldo + self.col0, g + r * K, na * sizeof(double))
            else:
                for c in range(na):
                    s = perm[c] + self.col0
                    xo[r * ldo + s] = x[r * K + c]
                    go[r * ldo + s] = g[r * K + c]
        for c in range(na):
            s = perm[c] + self.col0
            self.FO[s] = self.FG[0, c] if self.fknown[c] else INFINITY * 0.0
            self.NIT[s] = nit
            self.STATUS[s] = status
        self.na = 0

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
        finite gradient), row by row (the columns are marked in KEEP first; one copy per row when
        every column moves, the usual case of a descent)."""
        cdef Py_ssize_t c, na = self.na, K = self.K, nkeep = 0
        cdef int r
        cdef double f
        cdef double *keep = &self.KEEP[0]
        cdef const double *x = &self.X[0, 0]
        cdef const double *g = &self.FG[1, 0]
        cdef double *bx = &self.BX[0, 0]
        cdef double *bg = &self.BG[0, 0]
        for c in range(na):
            f = self.FG[0, c]
            keep[c] = (self.fknown[c] and self.BAD[c] == 0.0 and fabs(f) <= 1e308
                       and f < self.BF[c])
            nkeep += keep[c] != 0.0
        if nkeep == 0:
            return
        for r in range(self.n):
            if nkeep == na:
                memcpy(bx + r * K, x + r * K, na * sizeof(double))
                memcpy(bg + r * K, g + r * K, na * sizeof(double))
            else:
                for c in range(na):
                    if keep[c] != 0.0:
                        bx[r * K + c] = x[r * K + c]
                        bg[r * K + c] = g[r * K + c]
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
        """Adam's 1 - beta^(it+1), from powers updated once per iteration (no pow() per step).
        A power below PW_FLUSH is set to 0: 1 - p is then exactly 1.0 either way, and the power
        never turns subnormal (0.9^t is below 2^-1022 from t ~ 6700; each product of a subnormal
        costs ~100 cycles), so the corrections are bit-for-bit those of the exact powers."""
        if it != self.pw_it + 1:
            self.pw1 = pow(self.beta1, <double>it)
            self.pw2 = pow(self.beta2, <double>it)
        self.pw1 *= self.beta1
        self.pw2 *= self.beta2
        if self.pw1 < PW_FLUSH:
            self.pw1 = 0.0
        if self.pw2 < PW_FLUSH:
            self.pw2 = 0.0
        self.pw_it = it
        bc1[0] = 1.0 - self.pw1
        bc2[0] = 1.0 - self.pw2

    cdef void project(self, double *x, Py_ssize_t m) noexcept nogil:
        """Clip the first m points of x (leading dimension K) onto the bounds, when there are any."""
        cdef int r
        if self.bounded:
            for r in range(self.n):
                fc_descent_clip(m, x + r * self.K, self.LO[r], self.HI[r])

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

    def finalize(self):
        """After run(): the candidates of starts that ended on a non-finite gradient, and f where
        it is still unknown."""
        # starts whose gradient turned non-finite between two f checks: their previous iterate
        # (finite gradient) is the best point when its f is finite and lower
        # (a C scan first: NumPy's flatnonzero costs microseconds, a whole short run)
        cdef Py_ssize_t j, k = self.FO.shape[0]
        cdef bint any_cand = False, any_nan = False
        for j in range(k):
            any_cand = any_cand or self.cand[j] != 0
            any_nan = any_nan or self.FO[j] != self.FO[j]
        if any_cand:
            self._candidates(np.flatnonzero(np.asarray(self.cand)))
        # f at the final points of the starts that ended between two f evaluations
        need = np.flatnonzero(np.isnan(self.fo)) if any_nan else None
        if need is not None and need.size:
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
