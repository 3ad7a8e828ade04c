# cython: language_level=3
"""Descent loops of fastcalc: gradient descent and friends, Newton's method, multi-start.

One :class:`Descent` object runs ``k`` independent starts of one method together.  The state of every
start is a column of ``(rows, K)`` arrays (points innermost), and the active starts are kept packed
in the first ``na`` columns (a finished start is swapped with the last active one), so one gradient
evaluation is ONE batch of ``na`` points through the :mod:`fastcalc._core` adapter.  When every
callable is built-in or low-level the whole run happens in :meth:`Descent.run` without the GIL.
"""

cimport numpy as cnp
from libc.math cimport sqrt, fabs, cos, pow, floor, isfinite, INFINITY, M_PI
from libc.stdlib cimport malloc, realloc, free
from libc.string cimport memcpy, memset
from cpython.exc cimport PyErr_CheckSignals

import numpy as np

from fastcalc._core cimport Evaluator, fc_batch_fn

from fastcalc._diff cimport fd_gradient, FD_CENTRAL, FD_FORWARD, FD_BACKWARD

cnp.import_array()

cdef extern from *:
    """
    #define FC_DBL_EPS 2.220446049250313e-16
    """
    double FC_DBL_EPS

cdef extern from "fc_descent.h":
    Py_ssize_t fc_descent_check(int n, Py_ssize_t m, const double *g, Py_ssize_t ldg, double gtol,
                                double *gn, double *bad) noexcept nogil
    void fc_descent_step(int method, Py_ssize_t m, double *x, const double *g, double *v,
                         double *s, double lr, double mu, double b1, double b2, double bc1,
                         double bc2, double rho, double eps) noexcept nogil
    void fc_descent_par_batch(fc_batch_fn batch, int n, Py_ssize_t m, const double *x,
                              Py_ssize_t ldx, double *out, Py_ssize_t ldo, int workers) noexcept nogil
    void fc_descent_par_step(int method, int n, Py_ssize_t m, double *x, const double *g,
                             double *v, double *s, Py_ssize_t ld, double lr, double mu, double b1,
                             double b2, double bc1, double bc2, double rho, double eps,
                             int workers) noexcept nogil

# methods
cdef enum:
    M_GD = 0
    M_MOMENTUM = 1
    M_NESTEROV = 2
    M_ADAGRAD = 3
    M_RMSPROP = 4
    M_ADAM = 5
    M_NEWTON = 6

# how the gradient is obtained
cdef enum:
    G_EVAL = 0        # a gradient evaluator (nout = n)
    G_COMBINED = 1    # fun returns (f, g): one evaluator with nout = n + 1 (f first)
    G_FD = 2          # finite differences of fun

# how the Hessian is obtained
cdef enum:
    H_NONE = 0
    H_EVAL = 1
    H_FD = 2          # central differences of the gradient

# learning-rate schedules
cdef enum:
    S_CONSTANT = 0
    S_STEP = 1
    S_EXPONENTIAL = 2
    S_INVERSE_TIME = 3
    S_COSINE = 4

# status codes (per start)
cdef enum:
    ST_RUNNING = -1
    ST_GTOL = 0
    ST_MAXITER = 1
    ST_DIVERGED = 2
    ST_LINESEARCH = 3
    ST_XTOL = 4
    ST_FTOL = 5
    ST_NONFINITE = 6
    ST_CALLBACK = 99

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


cdef class Descent:
    """State and buffers of one run of ``k`` starts (built by :func:`fastcalc.optimize`)."""

    # problem
    cdef Evaluator fev, gev, hev
    cdef int gmode, hmode
    cdef int n
    cdef Py_ssize_t K, na
    # options
    cdef int method, schedule, line_search, fd_method, fd_accuracy
    cdef Py_ssize_t maxiter, step_size, max_backtrack
    cdef double lr, gtol, xtol, ftol, mu, beta1, beta2, eps, rho, decay, lr_min, period
    cdef double c1, shrink
    cdef bint history, track_f
    cdef object callback
    cdef bint cb_new_style
    # state, (rows, K) with points innermost
    cdef double[:, ::1] X, FG, V, S, D, XT, FGT, H, BX, BG, W
    cdef double[::1] BF, FPREV, ALPHA, SLOPE, GN, BAD
    cdef Py_ssize_t[::1] perm, idx
    cdef unsigned char[::1] fknown
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
    cdef Py_ssize_t since_check

    def __cinit__(self):
        self.hist = NULL

    def __dealloc__(self):
        if self.hist != NULL:
            free(self.hist)

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
        if opt["method"] == M_NEWTON and hmode == H_NONE:
            raise ValueError("Newton's method needs a Hessian mode")
        if not (0 <= opt["method"] <= M_NEWTON) or not (0 <= opt["schedule"] <= S_COSINE):
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
        self.shrink = opt["shrink"]
        self.history = opt["history"]
        self.workers = opt.get("workers", 1)
        if self.workers < 1:
            raise ValueError("workers must be >= 1")
        self.callback = callback
        self.cb_new_style = cb_new_style
        self.track_f = (self.history or self.line_search or self.ftol > 0 or callback is not None
                        or self.method == M_NEWTON)
        # one block for every (rows, K) state array (fewer allocations: this is per call)
        cdef Py_ssize_t rows = 9 * n + 3 + 6
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
        self.FGT = big[r0:r0 + n + 2]; r0 += n + 2
        self.BX = big[r0:r0 + n]; r0 += n
        self.BG = big[r0:r0 + n]; r0 += n
        self.BF = big[r0]; r0 += 1
        self.FPREV = big[r0]; r0 += 1
        self.ALPHA = big[r0]; r0 += 1
        self.SLOPE = big[r0]; r0 += 1
        self.GN = big[r0]; r0 += 1
        self.BAD = big[r0]; r0 += 1
        cdef const double[:, :] xv = x0
        for r in range(n):
            for j in range(K):
                self.X[r, j] = xv[r, j]
                self.BX[r, j] = xv[r, j]
        for j in range(K):
            self.BF[j] = INFINITY
            self.FPREV[j] = INFINITY
        self.perm = np.arange(K, dtype=np.intp)
        self.idx = np.zeros(K, dtype=np.intp)
        self.fknown = np.zeros(K, dtype=np.uint8)
        # without f at every iterate, the previous iterate (XT) is kept so that a start whose
        # gradient turns NaN/inf between two f checks can still return its last good point
        self.keep_prev = not self.track_f
        self.XC = np.zeros((n, K)) if self.keep_prev else np.zeros((1, 1))
        self.cand = np.zeros(K, dtype=np.uint8)
        if self.method == M_NEWTON:
            self.H = np.zeros((n * n, K))
            # Hessian by differences: 2 points per column of H and their gradients; then n*n scratch
            self.W = np.zeros((2 * n + 2, 2 * K)) if hmode == H_FD else np.zeros((1, 1))
        else:
            self.H = big[0:0]
            self.W = big[0:1]
        self.xo = np.zeros((n, K))
        self.go = np.zeros((n, K))
        self.fo = np.full(K, np.nan)
        self.nit = np.zeros(K, dtype=np.intp)
        self.status = np.full(K, ST_RUNNING, dtype=np.intc)
        self.XO, self.GO, self.FO, self.NIT, self.STATUS = self.xo, self.go, self.fo, self.nit, \
            self.status
        self.njev = self.nhev = self.iterations = 0
        self.hscale = 1.0
        self.hist_rows = 0
        self.hist_cap = 0

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
        return 0

    cdef int grads(self, Py_ssize_t m, const double *x, Py_ssize_t ldx, double *fg, Py_ssize_t ldg,
                   bint need_f, bint have_f) except -1 nogil:
        """Gradient at m points into rows 1..n of fg (leading dimension ldg); f into row 0 when
        need_f.  have_f: row 0 already holds f(x) (used by one-sided differences)."""
        self.njev += m
        if self.gmode == G_COMBINED:
            self.fev.eval(m, x, ldx, fg, ldg)
            return 0
        if need_f:
            self.fev.eval(m, x, ldx, fg, 1)
            have_f = True
        if self.gmode == G_EVAL:
            self.gev.eval(m, x, ldx, fg + ldg, ldg)
        else:
            fd_gradient(self.fev, m, x, ldx, fg + ldg, ldg, self.fd_method, self.fd_accuracy,
                        NULL, fg if have_f else NULL)
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
        else:
            # column i of H: central difference of the gradient along e_i, 2m points in one batch
            ldw = 2 * self.K
            w = &self.W[0, 0]                    # n rows of 2m points
            wg = w + n * ldw                     # n + 1 rows of f and gradient
            hs = pow(FC_DBL_EPS, 0.25) if self.gmode == G_FD else pow(FC_DBL_EPS, 1.0 / 3.0)
            hs *= self.hscale
            for i in range(n):
                for r in range(n):
                    for j in range(m):
                        w[r * ldw + j] = x[r * ldx + j]
                        w[r * ldw + m + j] = x[r * ldx + j]
                for j in range(m):
                    xi = x[i * ldx + j]
                    w[i * ldw + j] = xi + hs * _max(1.0, fabs(xi))
                    w[i * ldw + m + j] = xi - hs * _max(1.0, fabs(xi))
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

    cdef void finish(self, Py_ssize_t c, int status, Py_ssize_t nit) noexcept nogil:
        """Write the result of active column c and retire it."""
        cdef Py_ssize_t s = self.perm[c]
        cdef int r
        cdef bint use_best = (status == ST_DIVERGED or status == ST_NONFINITE) and isfinite(self.BF[c])
        if status == ST_NONFINITE and self.keep_prev and nit > 0:
            for r in range(self.n):
                self.XC[r, s] = self.XT[r, c]
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
        cdef double T
        if self.schedule == S_CONSTANT:
            return self.lr
        if self.schedule == S_STEP:
            return self.lr * pow(self.decay, <double>(t // self.step_size))
        if self.schedule == S_EXPONENTIAL:
            return self.lr * pow(self.decay, <double>t)
        if self.schedule == S_INVERSE_TIME:
            return self.lr / (1.0 + self.decay * t)
        T = self.period
        if t > T:
            t = <Py_ssize_t>T
        return self.lr_min + 0.5 * (self.lr - self.lr_min) * (1.0 + cos(M_PI * t / T))

    # ------------------------------------------------------------------ Newton direction
    cdef int newton_dirs(self) except -1 nogil:
        """D[:, j] = -(H_j + tau I)^-1 g_j with a modified Cholesky; gradient step when that fails."""
        cdef int n = self.n
        cdef Py_ssize_t K = self.K
        cdef Py_ssize_t j
        cdef int r, c, k, tries
        cdef double *A
        cdef double *L
        cdef double *y
        cdef double tau, beta, mindiag, fro, s, dg
        cdef bint ok, finite
        A = <double *>malloc((2 * n * n + n) * sizeof(double))
        if A == NULL:
            with gil:
                raise MemoryError()
        L = A + n * n
        y = L + n * n
        for j in range(self.na):
            finite = True
            self.BAD[j] = 0.0
            fro = 0.0
            mindiag = INFINITY
            for r in range(n):
                for c in range(n):
                    s = self.H[r * n + c, j]
                    A[r * n + c] = s
                    if not isfinite(s):
                        finite = False
                    fro += s * s
                if A[r * n + r] < mindiag:
                    mindiag = A[r * n + r]
            ok = False
            if not finite and self.hmode == H_EVAL:
                # the user's Hessian returned NaN/inf: reported (status 6), not replaced by a
                # gradient step (differenced Hessians may cross a domain edge: those fall back)
                self.BAD[j] = 1.0
            if finite:
                fro = sqrt(fro)
                beta = 1e-3 * fro if fro > 0 else 1e-3
                tau = 0.0 if mindiag > 0 else -mindiag + beta
                for tries in range(80):
                    ok = _cholesky(n, A, tau, L)
                    if ok:
                        break
                    tau = _max(2.0 * tau, beta)
                if ok and tau > 0:
                    # H + tau I is barely positive definite: a near-singular matrix and a huge
                    # step.  Doubling the shift lifts the smallest eigenvalue to at least
                    # |lambda_min(H)|, like replacing negative curvature by its absolute value.
                    tau *= 2.0
                    ok = _cholesky(n, A, tau, L)
            if ok:
                # solve L y = -g, L^T d = y
                for r in range(n):
                    s = -self.FG[r + 1, j]
                    for k in range(r):
                        s -= L[r * n + k] * y[k]
                    y[r] = s / L[r * n + r]
                for r in range(n - 1, -1, -1):
                    s = y[r]
                    for k in range(r + 1, n):
                        s -= L[k * n + r] * self.D[k, j]
                    self.D[r, j] = s / L[r * n + r]
                dg = 0.0
                for r in range(n):
                    dg += self.D[r, j] * self.FG[r + 1, j]
                    if not isfinite(self.D[r, j]):
                        ok = False
                if not (dg < 0):
                    ok = False
            if not ok:
                for r in range(n):
                    self.D[r, j] = -self.FG[r + 1, j]
        free(A)
        return 0

    # ------------------------------------------------------------------ the loop
    cdef int _callback(self, Py_ssize_t it, bint *stop) except -1:
        from scipy.optimize import OptimizeResult
        cdef int r
        x = np.array([self.X[r, 0] for r in range(self.n)])
        try:
            if self.cb_new_style:
                self.callback(OptimizeResult(x=x, fun=self.FG[0, 0], nit=it))
            else:
                self.callback(x)
        except StopIteration:
            stop[0] = True
        return 0

    cdef int armijo(self, double lr_t, Py_ssize_t it) except -1 nogil:
        """Backtracking along D from the active points; moves X and FG[0] of those that succeed.
        Columns that fail are finished with ST_LINESEARCH."""
        cdef int n = self.n
        cdef Py_ssize_t K = self.K
        cdef Py_ssize_t j, c, npend, q, back
        cdef int r
        cdef double s, gnew
        cdef bint moved
        cdef double *fgt = &self.FGT[0, 0]
        for j in range(self.na):
            s = 0.0
            for r in range(n):
                s += self.FG[r + 1, j] * self.D[r, j]
            if not (s < 0):             # not a descent direction: steepest descent instead
                s = 0.0
                for r in range(n):
                    self.D[r, j] = -self.FG[r + 1, j]
                    s -= self.FG[r + 1, j] * self.FG[r + 1, j]
                    if self.method == M_MOMENTUM:
                        self.V[r, j] = self.D[r, j]
            self.SLOPE[j] = s
            self.ALPHA[j] = lr_t
            self.idx[j] = j
        npend = self.na
        back = 0
        while npend > 0 and back <= self.max_backtrack:
            for q in range(npend):
                c = self.idx[q]
                for r in range(n):
                    self.XT[r, q] = self.X[r, c] + self.ALPHA[c] * self.D[r, c]
            self.fvals(npend, &self.XT[0, 0], K, fgt + (n + 1) * K, fgt, K)
            j = 0
            for q in range(npend):
                c = self.idx[q]
                gnew = fgt[(n + 1) * K + q]
                if gnew <= self.FG[0, c] + self.c1 * self.ALPHA[c] * self.SLOPE[c]:
                    # a step that leaves x unchanged (a d below half an ulp of x) is no step:
                    # shorter ones cannot move x either, so the search failed (precision loss)
                    moved = False
                    for r in range(n):
                        if self.XT[r, q] != self.X[r, c]:
                            moved = True
                    if not moved:
                        self.ALPHA[c] = -2.0            # finished below, not pending
                        continue
                    for r in range(n):
                        self.X[r, c] = self.XT[r, q]
                    self.FPREV[c] = self.FG[0, c]
                    self.FG[0, c] = gnew
                else:
                    self.ALPHA[c] *= self.shrink
                    self.idx[j] = c
                    j += 1
            npend = j
            back += 1
        # failures: retire from the highest column down so swaps do not disturb pending ones
        for q in range(npend - 1, -1, -1):
            c = self.idx[q]
            self.ALPHA[c] = -1.0
        for c in range(self.na - 1, -1, -1):
            if self.ALPHA[c] < 0:
                self.finish(c, ST_LINESEARCH, it)
        return 0

    cdef Py_ssize_t fast_segment(self, Py_ssize_t it) except -1 nogil:
        """Steps of a single start while no f is needed: from iteration ``it`` up to (not across)
        the next f checkpoint or maxiter, or until the gradient is small or not finite.  Returns
        the iteration reached; the caller's checks then see the new gradient."""
        cdef int n = self.n
        cdef Py_ssize_t K = self.K
        cdef double *x = &self.X[0, 0]
        cdef double *fg = &self.FG[0, 0]
        cdef double *v = &self.V[0, 0]
        cdef double *s = &self.S[0, 0]
        cdef double *xt = &self.XT[0, 0]
        cdef double gi, gn, bsum, bc1 = 1.0, bc2 = 1.0, lr_t
        cdef int r
        cdef bint direct = self.gmode == G_EVAL and self.gev.kind == 0
        while (it + 1) % CHECK_EVERY != 0 and it + 1 < self.maxiter:
            lr_t = self.lr if self.schedule == S_CONSTANT else self.rate(it)
            for r in range(n):
                xt[r * K] = x[r * K]
            if self.method == M_GD:
                for r in range(n):
                    x[r * K] -= lr_t * fg[(r + 1) * K]
            else:
                if self.method == M_ADAM:
                    bc1 = 1.0 - pow(self.beta1, <double>(it + 1))
                    bc2 = 1.0 - pow(self.beta2, <double>(it + 1))
                for r in range(n):
                    _first_order(self.method, 1, x + r * K, fg + (r + 1) * K, v + r * K, s + r * K,
                                 lr_t, self.mu, self.beta1, self.beta2, bc1, bc2, self.rho, self.eps)
            it += 1
            if direct:
                self.gev.batch(n, 1, x, K, fg + K, K)
                self.gev.nfev += 1
                self.njev += 1
                self.since_check += 1
                if self.since_check >= 4096:
                    self.since_check = 0
                    with gil:
                        if PyErr_CheckSignals() < 0:
                            return -1
            else:
                self.grads(1, x, K, fg, K, False, False)
            self.fknown[0] = 0
            gn = 0.0
            bsum = 0.0
            for r in range(n):
                gi = fabs(fg[(r + 1) * K])
                bsum += gi * 0.0
                gn = gi if gi > gn else gn
            if gn <= self.gtol or bsum != 0.0:
                break
        return it

    cdef int run(self) except -1 nogil:
        cdef int n = self.n
        cdef Py_ssize_t K = self.K
        cdef Py_ssize_t it, j, c
        cdef int r
        cdef double lr_t, gi, gn, bsum, dxn, xn, step, vi, bc1, bc2, mh, vh, f, fp, xold
        cdef bint need_f, stop = False, bad, fchecked = True
        cdef Py_ssize_t na, nflag
        cdef double *gr
        cdef double *gnv = &self.GN[0]
        cdef double *badv = &self.BAD[0]
        f = 0.0
        bc1 = bc2 = 1.0
        cdef double *x = &self.X[0, 0]
        cdef double *fg = &self.FG[0, 0]
        cdef bint ls = self.line_search
        cdef bint fast = (self.method != M_NEWTON and not ls and not self.track_f
                          and self.xtol <= 0)
        # threads across the points: first-order methods, built-in gradient
        cdef bint par = (self.workers > 1 and self.method != M_NEWTON and not ls
                         and self.gmode == G_EVAL and self.gev.kind == 0)

        # iteration 0: gradient (and f) at the starts
        self.grads(self.na, x, K, fg, K, True, False)
        for j in range(self.na):
            self.fknown[j] = 1
        if self.history:
            self.record()
        it = 0
        while True:
            # ---- convergence / health of the current iterates
            # vectorized pass: inf-norm of g and a NaN marker per column; then a scalar pass only
            # when some column needs attention (finish swaps, hence the reverse order)
            na = self.na
            if na == 1:
                gn = 0.0
                bsum = 0.0
                for r in range(n):
                    gi = fabs(fg[(r + 1) * K])
                    bsum += gi * 0.0                # NaN when g is NaN or infinite
                    gn = gi if gi > gn else gn
                gnv[0] = gn
                badv[0] = bsum
                nflag = (gn <= self.gtol) | (bsum != 0.0)
            else:
                nflag = fc_descent_check(n, na, fg + K, K, self.gtol, gnv, badv)
            if nflag or fchecked:
                for c in range(na - 1, -1, -1):
                    if badv[c] != 0.0:
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
                        self.track(c)
                    if gnv[c] <= self.gtol:
                        self.finish(c, ST_GTOL, it)
                        continue
                    if it > 0 and self.ftol > 0:
                        fp = self.FPREV[c]
                        if fabs(fp - f) <= self.ftol * _max(_max(fabs(fp), fabs(f)), 1.0):
                            self.finish(c, ST_FTOL, it)
                            continue
            if self.na == 0:
                break
            if it >= self.maxiter:
                for c in range(self.na - 1, -1, -1):
                    self.finish(c, ST_MAXITER, it)
                break

            # ---- a run of cheap steps for one start (no f needed): no bookkeeping in between
            if fast and self.na == 1 and (it + 1) % CHECK_EVERY != 0 and it + 1 < self.maxiter:
                it = self.fast_segment(it)
                fchecked = False
                continue

            # ---- one step
            lr_t = self.rate(it)
            if self.method == M_NEWTON:
                self.hessians(self.na, x, K, &self.H[0, 0], K)
                self.newton_dirs()
                for c in range(self.na - 1, -1, -1):
                    if badv[c] != 0.0:
                        self.finish(c, ST_NONFINITE, it)
                if self.na == 0:
                    break
            elif ls:
                for r in range(n):
                    for j in range(self.na):
                        gi = fg[(r + 1) * K + j]
                        if self.method == M_MOMENTUM:
                            self.V[r, j] = self.mu * self.V[r, j] - gi
                            self.D[r, j] = self.V[r, j]
                        else:
                            self.D[r, j] = -gi
            if self.method == M_NEWTON or ls:
                if ls:
                    self.armijo(lr_t, it)
                else:
                    for r in range(n):
                        for j in range(self.na):
                            x[r * K + j] += lr_t * self.D[r, j]
                    for j in range(self.na):
                        self.FPREV[j] = fg[j]
                if self.na == 0:
                    it += 1
                    break
                # relative step size for xtol
                for j in range(self.na):
                    dxn = 0.0
                    xn = 0.0
                    step = self.ALPHA[j] if ls else lr_t
                    for r in range(n):
                        vi = fabs(step * self.D[r, j])
                        if vi > dxn:
                            dxn = vi
                        if fabs(x[r * K + j]) > xn:
                            xn = fabs(x[r * K + j])
                    self.SLOPE[j] = dxn / _max(1.0, xn)
            else:
                if self.method == M_ADAM:
                    bc1 = 1.0 - pow(self.beta1, <double>(it + 1))
                    bc2 = 1.0 - pow(self.beta2, <double>(it + 1))
                na = self.na
                if fchecked or self.track_f:
                    for j in range(na):
                        self.FPREV[j] = fg[j]
                if self.xtol > 0 or self.keep_prev:
                    memcpy(&self.XT[0, 0], x, n * K * sizeof(double))
                if par and na >= PAR_MIN * self.workers:
                    fc_descent_par_step(self.method, n, na, x, fg + K, &self.V[0, 0],
                                        &self.S[0, 0], K, lr_t, self.mu, self.beta1, self.beta2,
                                        bc1, bc2, self.rho, self.eps, self.workers)
                else:
                    for r in range(n):
                        fc_descent_step(self.method, na, x + r * K, fg + (r + 1) * K,
                                        &self.V[r, 0], &self.S[r, 0], lr_t, self.mu, self.beta1,
                                        self.beta2, bc1, bc2, self.rho, self.eps)
                if self.xtol > 0:
                    for j in range(na):
                        self.SLOPE[j] = 0.0
                    for r in range(n):
                        for j in range(na):
                            xold = self.XT[r, j]
                            vi = fabs(x[r * K + j] - xold) / _max(1.0, fabs(xold))
                            if vi > self.SLOPE[j]:
                                self.SLOPE[j] = vi
            it += 1
            # ---- gradient (and f when needed) at the new iterates: one batch
            need_f = self.track_f or (it % CHECK_EVERY == 0)
            if ls:
                self.grads(self.na, x, K, fg, K, False, True)     # f known from the line search
                need_f = True
            elif par and self.na >= PAR_MIN * self.workers:
                if need_f:
                    self.fev.eval(self.na, x, K, fg, 1)
                fc_descent_par_batch(self.gev.batch, n, self.na, x, K, fg + K, K, self.workers)
                self.gev.nfev += self.na
                self.njev += self.na
                self.since_check += self.na
                if self.since_check >= 4096:
                    self.since_check = 0
                    with gil:
                        if PyErr_CheckSignals() < 0:
                            return -1
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
                for c in range(self.na - 1, -1, -1):
                    if self.SLOPE[c] <= self.xtol:
                        bad = False
                        for r in range(n + 1):
                            if r > 0 or self.fknown[c]:
                                if not (fabs(fg[r * K + c]) <= 1e308):
                                    bad = True
                        if not bad:
                            if self.fknown[c]:
                                self.track(c)
                            self.finish(c, ST_XTOL, it)
        self.iterations = it
        return 0

    def execute(self):
        """Run the loop (without the GIL when possible) and fill in f where it is still unknown."""
        cdef bint nogil_ok = (self.fev.nogil and (self.gev is None or self.gev.nogil)
                              and (self.hev is None or self.hev.nogil) and self.callback is None)
        if nogil_ok:
            with nogil:
                self.run()
        else:
            self.run()
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


cdef inline void _first_order(int method, Py_ssize_t m, double *x, const double *g, double *v,
                             double *s, double lr, double mu, double b1, double b2, double bc1,
                             double bc2, double rho, double eps) noexcept nogil:
    """One first-order step on one row of m points (loops specialised per method so they vectorize)."""
    cdef Py_ssize_t j
    cdef double vo
    if method == M_GD:
        for j in range(m):
            x[j] -= lr * g[j]
    elif method == M_MOMENTUM:
        for j in range(m):
            v[j] = mu * v[j] - lr * g[j]
            x[j] += v[j]
    elif method == M_NESTEROV:
        for j in range(m):
            vo = v[j]
            v[j] = mu * vo - lr * g[j]
            x[j] += (1.0 + mu) * v[j] - mu * vo
    elif method == M_ADAGRAD:
        for j in range(m):
            s[j] += g[j] * g[j]
            x[j] -= lr * g[j] / (sqrt(s[j]) + eps)
    elif method == M_RMSPROP:
        for j in range(m):
            s[j] = rho * s[j] + (1.0 - rho) * g[j] * g[j]
            x[j] -= lr * g[j] / (sqrt(s[j]) + eps)
    else:
        for j in range(m):
            v[j] = b1 * v[j] + (1.0 - b1) * g[j]
            s[j] = b2 * s[j] + (1.0 - b2) * g[j] * g[j]
            x[j] -= lr * (v[j] / bc1) / (sqrt(s[j] / bc2) + eps)


cdef bint _cholesky(int n, const double *A, double tau, double *L) noexcept nogil:
    """L L^T = A + tau I (lower L, row-major); False when not positive definite."""
    cdef int i, j, k
    cdef double s
    for i in range(n):
        for j in range(i + 1):
            s = A[i * n + j]
            if i == j:
                s += tau
            for k in range(j):
                s -= L[i * n + k] * L[j * n + k]
            if i == j:
                if not (s > 0):
                    return False
                L[i * n + i] = sqrt(s)
            else:
                L[i * n + j] = s / L[j * n + j]
        for j in range(i + 1, n):
            L[i * n + j] = 0.0
    return True


def hessian_at(Evaluator fev, Evaluator gev, Evaluator hev, int gmode, int hmode, x, double scale=1.0):
    """Hessians at the points x (n, m) -> (n, n, m), by the same code Newton's method uses.

    ``scale`` multiplies the difference step (used to estimate the error of a differenced Hessian).
    """
    cdef int n = x.shape[0]
    cdef Py_ssize_t m = x.shape[1]
    opt = dict(method=M_NEWTON, schedule=0, line_search=0, fd_method=FD_CENTRAL, fd_accuracy=2,
               maxiter=0, step_size=1, max_backtrack=0, lr=1.0, gtol=0.0, xtol=0.0, ftol=0.0,
               momentum=0.0, beta1=0.9, beta2=0.999, eps=1e-8, rho=0.9, decay=0.0, lr_min=0.0,
               period=1.0, c1=1e-4, shrink=0.5, history=False)
    out = np.zeros((n * n, m))
    if m == 0:
        return out.reshape(n, n, m)
    cdef Descent d = Descent(fev, gev, hev, gmode, hmode, np.ascontiguousarray(x, dtype=float), opt)
    cdef double[:, ::1] ov = out
    cdef double[:, ::1] xv = d.X
    d.hscale = scale
    if d.fev.nogil and (gev is None or gev.nogil) and (hev is None or hev.nogil):
        with nogil:
            d.hessians(m, &xv[0, 0], m, &ov[0, 0], m)
    else:
        d.hessians(m, &xv[0, 0], m, &ov[0, 0], m)
    return out.reshape(n, n, m)
