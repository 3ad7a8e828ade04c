# cython: language_level=3
"""Descent loops of fastcalc: gradient descent and friends, Newton's method, multi-start.

One :class:`Descent` object runs ``k`` independent starts of one method together on the state of
:class:`fastcalc._dstate.DescentState` (buffers, evaluations, bookkeeping, Newton helpers): this
module holds the step rules (ONE C step, fc_descent.h), the line searches, the ONE convergence
check and the loop.  When every callable is built-in or low-level the whole run happens in
:meth:`Descent.run` without the GIL.
"""

cimport cython
cimport numpy as cnp
from libc.math cimport fabs
from libc.string cimport memcpy, memset

import numpy as np

from fastcalc._core cimport Evaluator
from fastcalc._optim cimport *
from fastcalc._dstate cimport *

from fastcalc._diff cimport FD_CENTRAL, FD_FORWARD, FD_BACKWARD

cnp.import_array()

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


@cython.final
cdef class Descent(DescentState):
    """One run of ``k`` starts (built by :func:`fastcalc.optimize`): the step rules and the loop."""

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
                        1e10 * dmax(lr_t, 1.0), <int>self.max_backtrack + 1)
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
            self.DXREL[j] = dxn / dmax(1.0, xn)
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
                    vi = fabs(x[r * K + j] - xold) / dmax(1.0, fabs(xold))
                    if vi > self.DXREL[j]:
                        self.DXREL[j] = vi

    cdef void fused_step(self, double lr_t, Py_ssize_t it) noexcept nogil:
        """check_all and first_order_step in one visit of the state (fc_descent_check_step), for
        the iterations where f is not fresh (only the gradient can end a start): the new iterates
        are written to the spare buffer (xq) and the current ones stay where they are, so after
        the starts the check flags are finished (on their current iterate, xp still the one
        before), X and the spare buffer trade places: X is the new iterate, xp the previous one."""
        cdef int n = self.n
        cdef Py_ssize_t c, nflag
        cdef double bc1 = 1.0, bc2 = 1.0
        cdef double *xold = &self.X[0, 0]
        cdef double *t
        if self.method == M_ADAM:
            self.bias_corrections(it, &bc1, &bc2)
        nflag = fc_descent_check_step(self.method, n, self.na, self.K, xold, &self.FG[1, 0],
                                      &self.V[0, 0], &self.S[0, 0], self.xq, self.gtol,
                                      &self.GN[0], &self.BAD[0], lr_t, self.mu, self.beta1,
                                      self.beta2, bc1, bc2, self.rho, self.eps)
        if nflag:
            for c in range(self.na - 1, -1, -1):
                if self.BAD[c] != 0.0 or self.GN[c] <= self.gtol:
                    self.finish(c, ST_NONFINITE if self.BAD[c] != 0.0 else ST_GTOL, it)
        # X <-> the spare buffer's view (XT or XT2); the previous iterate is then the old X
        t = self.xp
        if self.xq == &self.XT[0, 0]:
            self.X, self.XT = self.XT, self.X
            self.xp = &self.XT[0, 0]
        else:
            self.X, self.XT2 = self.XT2, self.X
            self.xp = &self.XT2[0, 0]
        self.xq = t
        self.project(&self.X[0, 0], self.na)

    cdef Py_ssize_t fast_segment(self, Py_ssize_t it) except -1 nogil:
        """Steps of a single start while no f is needed: from iteration ``it`` up to (not across)
        the next f checkpoint or maxiter, or until the gradient is small or not finite.  Returns
        the iteration reached; the caller's checks then see the new gradient."""
        cdef bint direct = self.gmode == G_EVAL and not self.negate     # grads() in short
        cdef Py_ssize_t it0 = it
        it = self._fast_steps(it, direct, self.schedule == S_CONSTANT)
        if direct:                  # the segment's evaluations (< CHECK_EVERY), counted once
            self.gev.count(it - it0)
        return it

    cdef Py_ssize_t _fast_steps(self, Py_ssize_t it, bint direct, bint constant) except -1 nogil:
        """The loop of fast_segment (``direct`` evaluations uncounted: fast_segment counts them)."""
        cdef int n = self.n
        cdef Py_ssize_t K = self.K
        cdef double *x = &self.X[0, 0]
        cdef double *fg = &self.FG[0, 0]
        cdef double *xt = self.xp
        cdef double *v = &self.V[0, 0]
        cdef double *s = &self.S[0, 0]
        cdef double bc1 = 1.0, bc2 = 1.0, lr_t = self.lr
        cdef int r
        while (it + 1) % CHECK_EVERY != 0 and it + 1 < self.maxiter:
            if not constant:
                lr_t = self.rate(it)
            if self.keep_prev:
                if K == 1 and n >= 16:
                    memcpy(xt, x, n * sizeof(double))
                else:               # a few doubles: a loop beats the call
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
                self.gev.eval_uncounted(1, x, K, fg + K, K)
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
                if f > self.BF[c] + GROWTH * dmax(1.0, fabs(self.BF[c])):
                    self.finish(c, ST_DIVERGED, it)
                    continue
            if self.GN[c] <= self.gtol:
                self.finish(c, ST_GTOL, it)
                continue
            if it > 0 and self.ftol > 0:
                fp = self.FPREV[c]
                if fabs(fp - f) <= self.ftol * dmax(dmax(fabs(fp), fabs(f)), 1.0):
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
                    if not fchecked:
                        # f at the final points now, while they are in cache (the same
                        # evaluations finalize() would make, without gathering the outputs)
                        self.fvals(self.na, x, K, fg, &self.FGT[0, 0], K)
                        memset(&self.fknown[0], 1, self.na)
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
                x = &self.X[0, 0]           # the fused step swaps X with a spare buffer
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

    def execute(self):
        """Run the loop (without the GIL when possible) and fill in f where it is still unknown."""
        if self.nogil_ok():
            with nogil:
                self.run()
        else:
            self.run()
        return self.finalize()
