# cython: language_level=3
"""Quasi-Newton and conjugate-gradient loops of fastcalc (one start): BFGS, L-BFGS (with bounds,
projected), CG (Polak-Ribiere+ and Fletcher-Reeves) and Newton-CG.

Every method takes its steps with the strong-Wolfe search of ``fc_linesearch.h`` (shared with the
descent loops of :mod:`fastcalc._descent`); the direction updates are the pure-C helpers of
``fc_quasi.h``.  Every evaluation goes through :meth:`fastcalc._core.Evaluator.eval` (which counts
``nfev`` and checks Ctrl-C); when the callables are built-in or low-level and there is no callback,
the whole run happens without the GIL.
"""

cimport cython
cimport numpy as cnp
from libc.math cimport fabs, sqrt, isfinite, INFINITY
from libc.stdlib cimport realloc, free
from libc.string cimport memcpy, memset

import numpy as np

from fastcalc._core cimport Evaluator
from fastcalc._optim cimport *
from fastcalc._diff cimport fd_gradient, FD_CENTRAL, FD_FORWARD, FD_BACKWARD

cnp.import_array()

cdef extern from "fc_quasi.h":
    void fcq_accept(int n, double *x, double *g, const double *xt, const double *gt, double *s,
                    double *y, double *g0) noexcept nogil
    void fcq_trial(int n, const double *x, const double *d, double a, const double *lo,
                   const double *hi, double *xt) noexcept nogil

# methods
cdef enum:
    Q_BFGS = 0
    Q_LBFGS = 1
    Q_CG_PR = 2
    Q_CG_FR = 3
    Q_NEWTON_CG = 4

METHODS = {"bfgs": Q_BFGS, "l-bfgs": Q_LBFGS, "cg": Q_CG_PR, "cg-fr": Q_CG_FR,
           "newton-cg": Q_NEWTON_CG}

DEF EPS = 2.220446049250313e-16


@cython.final
cdef class QuasiNewton:
    """State of one quasi-Newton / CG run (built by :func:`fastcalc.minimize`)."""
    cdef Evaluator fev, gev, hev
    cdef int gmode, hmode, method, n, fd_method, maxls, maxcor
    cdef Py_ssize_t maxiter
    cdef double gtol, ftol, xtol, c1, c2
    cdef bint bounded, history, negate
    cdef object callback
    cdef bint cb_new_style
    cdef double[::1] X, G, G0, D, XT, GT, SV, YV, LO, HI, W, RHO, ALF, FGB
    cdef double[::1] H              # BFGS inverse Hessian (transposed) / Newton-CG Hessian (n*n)
    cdef double[:, ::1] S, Y        # L-BFGS pairs
    cdef unsigned char[::1] fixed
    cdef int npairs, start
    cdef double *hist
    cdef Py_ssize_t hist_rows, hist_cap
    cdef public double f
    cdef public Py_ssize_t nit, njev, nhev
    cdef public int status

    def __cinit__(self):
        self.hist = NULL

    def __dealloc__(self):
        if self.hist != NULL:
            free(self.hist)

    def __init__(self, Evaluator fev, Evaluator gev, Evaluator hev, int gmode, int hmode, x0,
                 dict opt, lo=None, hi=None, callback=None, bint cb_new_style=True):
        cdef int n = x0.shape[0]
        if fev is None or fev.n != n or fev.nout != (n + 1 if gmode == G_COMBINED else 1):
            raise ValueError(f"fev must be an evaluator of {n} variables for this gradient mode")
        if gmode == G_EVAL and (gev is None or gev.n != n or gev.nout != n):
            raise ValueError(f"gev must be an evaluator of {n} variables and {n} outputs")
        if hmode == H_EVAL and (hev is None or hev.n != n or hev.nout != n * n):
            raise ValueError(f"hev must be an evaluator of {n} variables and {n * n} outputs")
        if not (Q_BFGS <= opt["method"] <= Q_NEWTON_CG):
            raise ValueError("unknown method code")
        self.fev, self.gev, self.hev, self.gmode, self.hmode = fev, gev, hev, gmode, hmode
        self.n = n
        self.method = opt["method"]
        self.fd_method = opt["fd_method"]
        self.maxiter = opt["maxiter"]
        self.maxls = opt["maxls"]
        self.maxcor = opt["maxcor"]
        self.gtol, self.ftol, self.xtol = opt["gtol"], opt["ftol"], opt["xtol"]
        self.c1, self.c2 = opt["c1"], opt["c2"]
        self.history = opt["history"]
        self.negate = opt.get("sign", 1.0) < 0
        self.callback, self.cb_new_style = callback, cb_new_style
        # the vectors are slices of one zeroed block (one allocation: most of the fixed cost of a
        # small run), each starting at a multiple of 8 doubles
        cdef Py_ssize_t m = self.maxcor if self.method == Q_LBFGS else 1
        cdef Py_ssize_t nh = n * n if self.method in (Q_BFGS, Q_NEWTON_CG) else 1
        cdef Py_ssize_t p = (n + 8) // 8 * 8, pw = (2 * n + 8) // 8 * 8, pm = (m + 7) // 8 * 8
        cdef Py_ssize_t o = 9 * p + pw
        cdef double[::1] b = np.zeros(o + nh + 2 * pm)
        cdef const double[::1] xv = np.ascontiguousarray(x0, dtype=np.float64)
        self.X, self.G, self.G0, self.D = b[0:n], b[p:p + n], b[2 * p:2 * p + n], b[3 * p:3 * p + n]
        self.XT, self.GT = b[4 * p:4 * p + n], b[5 * p:5 * p + n]
        self.SV, self.YV, self.FGB = b[6 * p:6 * p + n], b[7 * p:7 * p + n], b[8 * p:8 * p + n + 1]
        self.W = b[9 * p:9 * p + 2 * n + 1]
        self.H, self.RHO, self.ALF = b[o:o + nh], b[o + nh:o + nh + m], b[o + nh + pm:o + nh + pm + m]
        self.S, self.Y = np.zeros((m, n)), np.zeros((m, n))
        memcpy(&self.X[0], &xv[0], n * sizeof(double))
        self.npairs = self.start = 0
        self.bounded = lo is not None
        self.LO = np.ascontiguousarray(lo if self.bounded else np.zeros(1), dtype=np.float64)
        self.HI = np.ascontiguousarray(hi if self.bounded else np.zeros(1), dtype=np.float64)
        self.fixed = np.zeros(n, dtype=np.uint8)
        self.f = np.nan
        self.nit = self.njev = self.nhev = 0
        self.status = ST_MAXITER
        self.hist_rows = self.hist_cap = 0

    # ------------------------------------------------------------------ evaluations
    cdef int fg_at(self, const double *x, double *f, double *g) except -1 nogil:
        """f and the gradient at one point (of -f when maximizing)."""
        cdef int n = self.n
        cdef int i
        self.njev += 1
        if self.gmode == G_COMBINED:
            self.fev.eval(1, x, 1, &self.FGB[0], 1)
            f[0] = self.FGB[0]
            memcpy(g, &self.FGB[1], n * sizeof(double))
        else:
            self.fev.eval(1, x, 1, f, 1)
            if self.gmode == G_EVAL:
                self.gev.eval(1, x, 1, g, 1)
            else:
                fd_gradient(self.fev, 1, x, 1, g, 1, self.fd_method, 2, NULL, f)
        if self.negate:
            f[0] = -f[0]
            for i in range(n):
                g[i] = -g[i]
        return 0

    cdef int hess_times(self, const double *v, double *out) except -1 nogil:
        """out = H(x) v: from the Hessian evaluated this iteration, or a forward difference of the
        gradient along v (step sqrt(eps) (1 + |x|) / |v|)."""
        cdef int n = self.n
        cdef int i, k
        cdef double s, h, vn
        cdef double *w = &self.W[0]
        if self.hmode == H_EVAL:
            for i in range(n):
                s = 0.0
                for k in range(n):
                    s += self.H[i * n + k] * v[k]
                out[i] = s
            return 0
        vn = sqrt(fcq_dot(n, v, v))
        if vn == 0:
            memset(out, 0, n * sizeof(double))
            return 0
        h = sqrt(EPS) * (1.0 + sqrt(fcq_dot(n, &self.X[0], &self.X[0]))) / vn
        for i in range(n):
            w[i] = self.X[i] + h * v[i]
        self.nhev += 1
        if self.gmode == G_COMBINED:
            self.fg_at(w, &w[2 * n], out)
            self.njev -= 1
        elif self.gmode == G_EVAL:
            self.gev.eval(1, w, 1, out, 1)
        else:
            fd_gradient(self.fev, 1, w, 1, out, 1, self.fd_method, 2, NULL, NULL)
        if self.negate and self.gmode != G_COMBINED:
            for i in range(n):
                out[i] = -out[i]
        for i in range(n):
            out[i] = (out[i] - self.G[i]) / h
        return 0

    # ------------------------------------------------------------------ directions
    cdef int newton_cg_direction(self) except -1 nogil:
        """D = the truncated-CG solution of H d = -g (SciPy's rule: residual below
        min(0.5, sqrt|g|_1) |g|_1, stop at negative curvature)."""
        cdef int n = self.n
        cdef int i, it
        cdef double *r = &self.SV[0]
        cdef double *p = &self.YV[0]
        cdef double *ap = &self.GT[0]
        cdef double *d = &self.D[0]
        cdef double mag = 0.0, term, dri0, dri1, curv, a, b, rn
        if self.hmode == H_EVAL:
            self.hev.eval(1, &self.X[0], 1, &self.H[0], 1)
            self.nhev += 1
            if self.negate:
                for i in range(n * n):
                    self.H[i] = -self.H[i]
        for i in range(n):
            mag += fabs(self.G[i])
            r[i] = self.G[i]
            p[i] = -self.G[i]
            d[i] = 0.0
        term = (0.5 if 0.5 < sqrt(mag) else sqrt(mag)) * mag
        dri0 = fcq_dot(n, r, r)
        for it in range(20 * n):
            rn = 0.0
            for i in range(n):
                rn += fabs(r[i])
            if rn <= term:
                break
            self.hess_times(p, ap)
            curv = fcq_dot(n, p, ap)
            if 0 <= curv <= 3 * EPS:
                break
            if curv < 0:
                if it == 0:
                    for i in range(n):
                        d[i] += dri0 / (-curv) * p[i]
                break
            a = dri0 / curv
            for i in range(n):
                d[i] += a * p[i]
                r[i] += a * ap[i]
            dri1 = fcq_dot(n, r, r)
            b = dri1 / dri0
            for i in range(n):
                p[i] = -r[i] + b * p[i]
            dri0 = dri1
        if not isfinite(fcq_dot(n, d, d)) or fcq_amax(n, d) == 0:
            for i in range(n):
                d[i] = -self.G[i]
        return 0

    cdef void restart(self) noexcept nogil:
        """Forget the curvature information: H = I, no L-BFGS pairs, CG from steepest descent."""
        cdef int i, n = self.n
        if self.method == Q_BFGS:
            memset(&self.H[0], 0, n * n * sizeof(double))
            for i in range(n):
                self.H[i * n + i] = 1.0
        self.npairs = self.start = 0

    cdef int direction(self, Py_ssize_t k, bint steepest) except -1 nogil:
        """D for iteration k; steepest: -g (after a restart)."""
        cdef int n = self.n
        cdef int i
        cdef double beta
        if steepest or (k == 0 and self.method != Q_NEWTON_CG):
            for i in range(n):
                self.D[i] = -self.G[i]
        elif self.method == Q_BFGS:
            fcq_bfgs_direction(n, &self.H[0], &self.G[0], &self.D[0])
        elif self.method == Q_LBFGS:
            fcq_lbfgs_direction(n, self.npairs, self.maxcor, self.start, &self.S[0, 0],
                                &self.Y[0, 0], &self.RHO[0], &self.ALF[0], &self.G[0], &self.D[0])
        elif self.method == Q_NEWTON_CG:
            self.newton_cg_direction()
        else:
            beta = fcq_cg_beta(n, &self.G[0], &self.G0[0], self.method == Q_CG_FR)
            for i in range(n):
                self.D[i] = -self.G[i] + beta * self.D[i]
        if self.bounded:
            for i in range(n):
                if self.fixed[i] or (self.X[i] <= self.LO[i] and self.D[i] < 0) or \
                        (self.X[i] >= self.HI[i] and self.D[i] > 0):
                    self.D[i] = 0.0
        return 0

    # ------------------------------------------------------------------ one step
    cdef int search(self, double alpha0, double amax, double f0, double d0, double *alpha,
                    double *ft) except -1 nogil:
        """Strong-Wolfe search along D from X; on success XT, GT, ft hold the new point and 1 is
        returned, else 0."""
        cdef int n = self.n
        cdef int i, code
        cdef fc_ls_state ls
        cdef double a, a_eval, dphi
        cdef const double *lo = &self.LO[0] if self.bounded else NULL
        a = fc_ls_start(&ls, f0, d0, alpha0, self.c1, self.c2, amax, self.maxls)
        while True:
            a_eval = a
            fcq_trial(n, &self.X[0], &self.D[0], a, lo, &self.HI[0], &self.XT[0])
            self.fg_at(&self.XT[0], ft, &self.GT[0])
            dphi = fcq_dot(n, &self.GT[0], &self.D[0])
            code = fc_ls_next(&ls, ft[0], dphi)
            if code == FC_LS_EVAL:
                a = ls.a
                continue
            if code == FC_LS_FAIL:
                return 0
            if code == FC_LS_DONE_OTHER and ls.a != a_eval:
                # the best earlier trial: evaluate there once more (rare)
                a = ls.a
                fcq_trial(n, &self.X[0], &self.D[0], a, lo, &self.HI[0], &self.XT[0])
                self.fg_at(&self.XT[0], ft, &self.GT[0])
            alpha[0] = a
            return 1

    cdef int take_step(self, Py_ssize_t k, double alpha, double ft) except -1 nogil:
        """Move to the accepted point; s = x_new - x, y = g_new - g; update the curvature model."""
        cdef int n = self.n
        cdef int r
        cdef double sy
        fcq_accept(n, &self.X[0], &self.G[0], &self.XT[0], &self.GT[0], &self.SV[0], &self.YV[0],
                   &self.G0[0])
        self.f = ft
        if self.method == Q_BFGS:
            fcq_bfgs_update(n, &self.H[0], &self.SV[0], &self.YV[0], k == 0, &self.W[0])
        elif self.method == Q_LBFGS:
            sy = fcq_dot(n, &self.SV[0], &self.YV[0])
            if sy > EPS * fcq_dot(n, &self.YV[0], &self.YV[0]):
                if self.npairs < self.maxcor:
                    r = (self.start + self.npairs) % self.maxcor
                    self.npairs += 1
                else:
                    r = self.start
                    self.start = (self.start + 1) % self.maxcor
                memcpy(&self.S[r, 0], &self.SV[0], n * sizeof(double))
                memcpy(&self.Y[r, 0], &self.YV[0], n * sizeof(double))
                self.RHO[r] = 1.0 / sy
        return 0

    cdef double gnorm(self) noexcept nogil:
        """The stopping measure: max |g| (projected onto the bounds for L-BFGS); sets fixed."""
        cdef double gn
        if self.bounded:
            return fcq_projected_gradient(self.n, &self.X[0], &self.G[0], &self.LO[0],
                                          &self.HI[0], &self.fixed[0])
        grad_check(self.n, &self.G[0], 1, &gn)
        return gn

    cdef double first_alpha(self, Py_ssize_t k, double f_old, double d0) noexcept nogil:
        """Initial trial step: 1 for (L-)BFGS and Newton-CG after the first iteration; SciPy's
        min(1, 1.01 * 2 (f - f_old) / g.d) otherwise (f_old = f + |g|/2 before the first)."""
        cdef double a
        if k > 0 and self.method in (Q_LBFGS, Q_NEWTON_CG):
            return 1.0
        if k == 0 and self.method == Q_LBFGS:
            return min(1.0, 1.0 / sqrt(fcq_dot(self.n, &self.G[0], &self.G[0])))
        a = 1.01 * 2.0 * (self.f - f_old) / d0
        if not (a > 0) or not isfinite(a):
            return 1.0
        return min(1.0, a)

    # ------------------------------------------------------------------ the loop
    cdef int run(self) except -1 nogil:
        cdef int n = self.n
        cdef Py_ssize_t k
        cdef double d0, alpha, ft, f_old, amax, dxn, xn, gn
        cdef bint ok, stop = False, retried
        self.fg_at(&self.X[0], &self.f, &self.G[0])
        f_old = self.f + 0.5 * sqrt(fcq_dot(n, &self.G[0], &self.G[0]))
        if self.history:
            self.record()
        k = 0
        self.restart()
        while True:
            if not isfinite(self.f) or not grad_check(n, &self.G[0], 1, &gn):
                self.status = ST_NONFINITE
                break
            if (self.gnorm() if self.bounded else gn) <= self.gtol:     # gn: max |g| just computed
                self.status = ST_GTOL
                break
            if k >= self.maxiter:
                self.status = ST_MAXITER
                break
            retried = False
            while True:
                self.direction(k, retried)
                d0 = fcq_dot(n, &self.G[0], &self.D[0])
                if not (d0 < 0):
                    if retried:
                        break
                    self.restart()
                    retried = True
                    continue
                amax = 1e20
                if self.bounded:
                    amax = fcq_max_step(n, &self.X[0], &self.D[0], &self.LO[0], &self.HI[0])
                ok = amax > 0 and self.search(min(self.first_alpha(k, f_old, d0), amax), amax,
                                              self.f, d0, &alpha, &ft)
                if ok or retried:
                    break
                self.restart()
                retried = True
            if not (d0 < 0) or not ok:
                self.status = ST_LINESEARCH
                break
            f_old = self.f
            self.take_step(k, alpha, ft)
            k += 1
            self.nit = k
            if self.history:
                self.record()
            if self.callback is not None:
                with gil:
                    self._callback(&stop)
                if stop:
                    self.status = ST_CALLBACK
                    break
            if self.ftol > 0 and (f_old - self.f) <= self.ftol * max(fabs(f_old), fabs(self.f), 1.0):
                if self.gnorm() <= self.gtol:
                    self.status = ST_GTOL
                else:
                    self.status = ST_FTOL
                break
            if self.xtol > 0:
                dxn = fcq_amax(n, &self.SV[0])
                xn = fcq_amax(n, &self.X[0])
                if dxn <= self.xtol * max(1.0, xn):
                    self.status = ST_XTOL if isfinite(self.f) else ST_NONFINITE
                    break
        self.nit = k
        return 0

    cdef int record(self) except -1 nogil:
        """Append x and f to the history (rows of n + 1)."""
        cdef double *p
        cdef int n = self.n
        if self.hist_rows == self.hist_cap:
            self.hist_cap = 64 if self.hist_cap == 0 else 2 * self.hist_cap
            p = <double *>realloc(self.hist, self.hist_cap * (n + 1) * sizeof(double))
            if p == NULL:
                with gil:
                    raise MemoryError("not enough memory for the history")
            self.hist = p
        p = self.hist + self.hist_rows * (n + 1)
        memcpy(p, &self.X[0], n * sizeof(double))
        p[n] = self.f
        self.hist_rows += 1
        return 0

    cdef int _callback(self, bint *stop) except -1:
        from scipy.optimize import OptimizeResult
        x = np.array(self.X, copy=True)
        try:
            if self.cb_new_style:
                self.callback(OptimizeResult(x=x, fun=self.f, jac=np.array(self.G, copy=True),
                                             nit=self.nit))
            else:
                self.callback(x)
        except StopIteration:
            stop[0] = True
        return 0

    def execute(self):
        """Run the loop (without the GIL when every callable allows it and there is no callback)."""
        cdef bint nogil_ok = (self.fev.nogil and (self.gev is None or self.gev.nogil)
                              and (self.hev is None or self.hev.nogil) and self.callback is None)
        if nogil_ok:
            with nogil:
                self.run()
        else:
            self.run()
        return self

    @property
    def x(self):
        return np.array(self.X, copy=True)

    @property
    def jac(self):
        return np.array(self.G, copy=True)

    @property
    def hess_inv(self):
        """BFGS's inverse-Hessian approximation (n, n); None for the other methods."""
        if self.method != Q_BFGS:
            return None
        return np.array(np.asarray(self.H).reshape(self.n, self.n).T, order="C")   # kept transposed

    def history_arrays(self):
        """(path (rows, n), fun_path (rows,))."""
        out = np.empty((self.hist_rows, self.n + 1))
        cdef double[:, ::1] ov = out
        if self.hist_rows:
            memcpy(&ov[0, 0], self.hist, self.hist_rows * (self.n + 1) * sizeof(double))
        return out[:, :self.n], out[:, self.n]
