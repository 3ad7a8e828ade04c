# cython: language_level=3
"""Entries of fastcalc's one-variable and nested quadrature (``quad``, ``nquad``).

The adaptive engine is ``fastcalc._qengine``; this module builds the integrands it sees (the
user's function through the ``_core`` adapter, or a level of nested integrals), holds the
non-adaptive composite rules, and hands results back to the wrappers.  Nothing here is cached
between calls: each call makes its own evaluator, so counts are per call and per thread, and the
integrand is released when the call returns.
"""

from libc.math cimport fabs, isfinite, INFINITY, NAN, fmax
from libc.stdlib cimport malloc, free
from cpython.float cimport PyFloat_AS_DOUBLE
from cpython.tuple cimport PyTuple_GET_SIZE, PyTuple_GET_ITEM
from cpython.object cimport PyObject

cdef extern from "fc_pyargs.h":
    bint fc_plain_real(object v, double *out)

import numpy as np

from fastcalc._core cimport Evaluator, as_evaluator, call_evaluator
from fastcalc._qengine cimport (Integrand, UserIntegrand, Opts, Integ, run_batch, run_single,
                                free_states,
                                IER_OK, IER_LIMIT, IER_NONFINITE, FLAG_NONFINITE, FC_RULE_GK21)

cdef extern from "fc_gauss.h":
    void fc_legendre_nodes(int n, int k0, int k1, double *x, double *w) noexcept nogil

#: the non-adaptive composite rules (``method=`` of quad), as codes
COMPOSITE = {"gauss": 0, "simpson": 1}

cdef double EPS = 2.220446049250313e-16
cdef str _GK21_NAME = "gk21"


cdef void _opts(Opts *opt, double epsabs, double epsrel, int limit, int rule, int flag_zero,
                int keep, int workers) noexcept:
    opt.epsabs = epsabs
    opt.epsrel = epsrel
    opt.limit = limit
    opt.rule = rule
    opt.fallback = 1
    opt.keep = keep
    opt.flag_zero = flag_zero
    opt.workers = workers
    opt.stop = NULL
    opt.endmap = 0


# ---------------------------------------------------------------------------------------------
# A level of nested integrals, seen by the engine as an integrand
# ---------------------------------------------------------------------------------------------

cdef class BudgetIntegrand(UserIntegrand):
    """The user's function under nquad's evaluation budget: once ``budget`` evaluations are spent,
    its values are NaN (every enclosing level stops at its next round) and ``exhausted`` is set.
    Checked at every batch, so the innermost integrals stop too: the overshoot is one batch."""
    cdef Py_ssize_t budget
    cdef public bint exhausted

    def __init__(self, Evaluator ev, int nvar, Py_ssize_t budget):
        UserIntegrand.__init__(self, ev, nvar)
        self.budget = budget

    cdef int eval(self, Py_ssize_t m, double *X, Py_ssize_t ldx, double *out) except -1 nogil:
        cdef Py_ssize_t j
        if self.budget > 0 and self.ev.nfev >= self.budget:
            self.exhausted = True
            for j in range(m):
                out[j] = NAN
            return 0
        return self.ev.eval(m, X, ldx, out, m)


cdef class NestedIntegrand(Integrand):
    """The integrand of an outer level: a batch of inner integrals, one per point.

    The inner limits are constants, or come from ``lims``: the user's range function through the
    adapter, one call per point returning the pair (lower, upper)."""
    cdef Integrand inner
    cdef Evaluator lims          # (nvar variables -> 2 outputs), or None for constant limits
    cdef double lo_c, hi_c
    cdef Opts opts
    cdef public int worst_ier
    cdef public Py_ssize_t n_inner_fail
    cdef public double max_err      # largest inner error estimate seen
    cdef Evaluator counter          # the user's function: its nfev is the budget's meter
    cdef Py_ssize_t budget          # evaluations allowed (0: no limit)
    cdef public bint exhausted      # the budget ran out: values NaN from then on

    def __init__(self, Integrand inner, lo, hi, tuple args, double epsabs, double epsrel, int limit,
                 int rule, int endmap=0):
        """``lo, hi``: floats, or ``lo`` a callable of (point, *args) returning the pair of limits
        and ``hi`` None."""
        self.inner = inner
        self.nvar = inner.nvar - 1
        if callable(lo):
            # a Python range function gets the outer coordinates as floats: lo(x1, ..., *args)
            self.lims = as_evaluator(lo, self.nvar, 2, True, False, False, args)
        else:
            self.lo_c = float(lo)
            self.hi_c = float(hi)
        self.nogil = inner.nogil and (self.lims is None or self.lims.nogil)
        _opts(&self.opts, epsabs, epsrel, limit, rule, 0, 0, 1)
        self.opts.endmap = endmap

    cdef int _limits(self, Py_ssize_t m, double *X, Py_ssize_t ldx, double *lo) except -1 nogil:
        """lo[0:m], lo[m:2m] = the lower and upper limits at the m points."""
        cdef Py_ssize_t j
        self.lims.eval(m, X, ldx, lo, m)
        for j in range(2 * m):
            if lo[j] != lo[j]:
                with gil:
                    raise ValueError("an integration limit evaluated to NaN")
        return 0

    cdef int eval(self, Py_ssize_t m, double *X, Py_ssize_t ldx, double *out) except -1 nogil:
        cdef double *lo
        cdef double *err
        cdef int *ier
        cdef double *hi
        cdef Py_ssize_t j
        cdef int rc = 0
        if self.budget > 0 and self.counter is not None and self.counter.nfev >= self.budget:
            # out of evaluations: NaN values stop every enclosing level at once.  ``side`` must
            # describe THIS eval (the engine reads m entries of it): drop the last eval's
            # estimates, which may be fewer than m (a heap overflow) and are stale anyway
            self.exhausted = True
            free(self.side)
            self.side = NULL
            self.side_cap = 0
            for j in range(m):
                out[j] = NAN
            return 0
        lo = <double *>malloc(2 * m * sizeof(double))
        ier = <int *>malloc(m * sizeof(int))
        if m > self.side_cap:
            free(self.side)
            self.side = <double *>malloc(m * sizeof(double))
            self.side_cap = m if self.side != NULL else 0
        err = self.side
        if lo == NULL or err == NULL or ier == NULL:
            free(lo); free(ier)
            with gil:
                raise MemoryError()
        hi = lo + m
        self.nfev += m
        try:
            if self.lims is None:
                for j in range(m):
                    lo[j] = self.lo_c
                    hi[j] = self.hi_c
            else:
                self._limits(m, X, ldx, lo)
            if rc == 0:
                rc = run_batch(self.inner, m, lo, hi, X, ldx, self.nvar, NULL, 0, &self.opts,
                               out, err, ier, NULL, NULL)
            if rc == 0:
                for j in range(m):
                    if ier[j] != 0:
                        self.n_inner_fail += 1
                        if ier[j] > self.worst_ier:
                            self.worst_ier = ier[j]
                    if err[j] > self.max_err:
                        self.max_err = err[j]
        finally:
            free(lo); free(ier)
        return rc



# ---------------------------------------------------------------------------------------------
# Composite (non-adaptive, level doubling) rules: method="gauss" and method="simpson"
# ---------------------------------------------------------------------------------------------

cdef inline void _fill_rows(double *X, Py_ssize_t cnt, const double *outer, Py_ssize_t ldo,
                            Py_ssize_t e, int nouter) noexcept nogil:
    """Rows 1..nouter of the cnt points: element e's extra variables."""
    cdef int r
    cdef Py_ssize_t i
    cdef double v
    for r in range(nouter):
        v = outer[r * ldo + e]
        for i in range(cnt):
            X[(r + 1) * cnt + i] = v


cdef int _simpson_confirm(Integrand g, double a, double L, int lev, int maxnodes, double *X,
                          double *F, const double *outer, Py_ssize_t ldo, Py_ssize_t e, int nouter,
                          double est, double *err, bint *bad, Py_ssize_t *neval) except -1 nogil:
    """Equally spaced nodes alias an oscillation whose period divides L / 2**k at every level
    (the level differences vanish): confirm a converged composite Simpson result with the
    2-point Gauss rule on the same panels (off the grid, same order); its difference joins the
    error estimate."""
    cdef int npan = 2 << lev, i
    cdef Py_ssize_t cnt = 0
    cdef double hp, c, v = 0.0
    if 2 * npan > maxnodes + 4:
        npan = (maxnodes + 4) // 2
    hp = L / npan
    c = 0.5773502691896257645 * 0.5 * hp      # 1/sqrt(3) * half-width
    for i in range(npan):
        X[cnt] = a + (i + 0.5) * hp - c
        X[cnt + 1] = a + (i + 0.5) * hp + c
        cnt += 2
    _fill_rows(X, cnt, outer, ldo, e, nouter)
    g.eval(cnt, X, cnt, F)
    neval[0] += cnt
    for i in range(cnt):
        v += F[i]
    v *= 0.5 * hp
    if not isfinite(v):
        bad[0] = True
    else:
        err[0] = fmax(err[0], fabs(v - est))
    return 0


cdef int run_composite(Integrand g, double a, double b, const double *outer, Py_ssize_t ldo,
                       Py_ssize_t e, int nouter, int method, const Opts *opt, int maxnodes,
                       double *res, double *abserr, int *ier, Py_ssize_t *neval) except -1 nogil:
    """method 0: composite 10-point Gauss-Legendre on 1, 2, 4, ... panels; 1: composite Simpson
    on 2, 4, 8, ... panels reusing nodes.  Error = difference of the last two levels."""
    cdef double gx[10]
    cdef double gw[10]
    cdef double *X = NULL
    cdef double *F = NULL
    cdef double *J = NULL
    cdef int npan, i, k, r, npts, rc = 0, lev, cnt
    cdef double L = b - a, hp = 0.0, c, est = 0.0, prev = NAN, err = INFINITY, tol, v
    cdef double s_end = 0.0, s_old = 0.0, s_new = 0.0
    cdef bint bad = False
    fc_legendre_nodes(10, 0, 5, gx, gw)
    neval[0] = 0
    X = <double *>malloc((maxnodes + 4) * (1 + nouter) * sizeof(double))
    F = <double *>malloc((maxnodes + 4) * sizeof(double))
    if X == NULL or F == NULL:
        free(X); free(F)
        with gil:
            raise MemoryError()
    try:
        lev = 0
        while True:
            if method == 0:
                npan = 1 << lev
                npts = 10 * npan
            else:
                npan = 2 << lev           # Simpson panels of width L/npan, new nodes: the odd ones
                npts = 2 if lev == 0 else 0
                npts += npan // 2 if lev > 0 else 1
            if npts > maxnodes:
                break
            cnt = 0
            if method == 0:
                hp = L / npan
                for i in range(npan):
                    c = a + (i + 0.5) * hp
                    for k in range(10):
                        X[cnt] = c + 0.5 * hp * gx[k]
                        cnt += 1
            else:
                if lev == 0:
                    X[0] = a
                    X[1] = b
                    X[2] = a + 0.5 * L
                    cnt = 3
                else:
                    for i in range(npan // 2):
                        X[cnt] = a + (2 * i + 1) * L / npan
                        cnt += 1
            _fill_rows(X, cnt, outer, ldo, e, nouter)
            rc = g.eval(cnt, X, cnt, F)
            if rc < 0:
                break
            neval[0] += cnt
            for i in range(cnt):
                if not isfinite(F[i]):
                    bad = True
            if bad:
                break
            if method == 0:
                est = 0.0
                for i in range(npan):
                    for k in range(10):
                        est += gw[k] * F[i * 10 + k]
                est *= 0.5 * hp
            else:
                if lev == 0:
                    s_end = F[0] + F[1]
                    s_old = 0.0
                    s_new = F[2]
                else:
                    s_old = s_old + s_new
                    s_new = 0.0
                    for i in range(cnt):
                        s_new += F[i]
                est = L / npan / 3.0 * (s_end + 4.0 * s_new + 2.0 * s_old)
            if lev >= 1:
                err = fabs(est - prev)
                if method == 1:
                    err = err / 10.0          # Richardson gives /15; /10 keeps a safety margin
                err = fmax(err, 50.0 * EPS * fabs(est))   # rounding floor
                tol = fmax(opt.epsabs, opt.epsrel * fabs(est))
                if err <= tol:
                    break
            prev = est
            lev += 1
        if method == 1 and rc == 0 and not bad and err <= fmax(opt.epsabs, opt.epsrel * fabs(est)):
            rc = _simpson_confirm(g, a, L, lev, maxnodes, X, F, outer, ldo, e, nouter, est, &err,
                                  &bad, neval)
    finally:
        free(X); free(F)
    if rc < 0:
        return -1
    res[0] = est
    abserr[0] = err
    if bad:
        res[0] = NAN
        abserr[0] = NAN
        ier[0] = IER_NONFINITE
    elif err <= fmax(opt.epsabs, opt.epsrel * fabs(est)):
        ier[0] = IER_OK
    else:
        ier[0] = IER_LIMIT
    return 0



# ---------------------------------------------------------------------------------------------
# Entries
# ---------------------------------------------------------------------------------------------

cdef tuple _interval_lists(Integ *s):
    """(alist, blist, rlist, elist) of one integral's intervals, in heap order."""
    cdef int k, nh = s.nh
    alist = np.empty(nh)
    blist = np.empty(nh)
    rlist = np.empty(nh)
    elist = np.empty(nh)
    cdef double[::1] av = alist, bv = blist, rv = rlist, ev = elist
    for k in range(nh):
        av[k] = s.heap[k].a
        bv[k] = s.heap[k].b
        rv[k] = s.heap[k].r
        ev[k] = s.heap[k].e
    return alist, blist, rlist, elist


cdef long long _MAX_LIMIT = 10_000_000
#: most subintervals quad may use (each holds five doubles)
MAX_LIMIT = _MAX_LIMIT
#: smallest epsrel allowed when epsabs <= 0 (as SciPy: 50 machine epsilons, and > 5e-29)
EPSREL_MIN = max(50 * EPS, 5e-29)
cdef double _EPSREL_MIN = EPSREL_MIN


cdef inline bint _plain_tol(object v, double *out):
    """``v`` a plain number, finite and >= 0 (as ``as_real(v, low=0.0)`` accepts)."""
    return fc_plain_real(v, out) and out[0] >= 0.0 and out[0] < INFINITY


cdef inline bint _plain_limit(object v, int *out):
    """``v`` a plain int, or an integral float, in [1, MAX_LIMIT] (as ``as_int`` accepts)."""
    cdef long long k
    cdef double d
    if type(v) is int:
        try:
            k = v
        except OverflowError:
            return False
    elif type(v) is float:
        d = PyFloat_AS_DOUBLE(v)
        if not (d >= 1.0 and d <= <double>_MAX_LIMIT) or d != <double><long long>d:
            return False
        k = <long long>d
    else:
        return False
    if k < 1 or k > _MAX_LIMIT:
        return False
    out[0] = <int>k
    return True


cdef inline bint _plain_args(object args):
    """``args`` a tuple of plain numbers (the general path handles array entries)."""
    cdef Py_ssize_t i
    cdef object t
    if type(args) is not tuple:
        return False
    for i in range(PyTuple_GET_SIZE(args)):
        t = <object>PyTuple_GET_ITEM(args, i)
        if type(t) is not float and type(t) is not int:
            return False
    return True


def quad_single(f, a, b, args, full_output, epsabs, epsrel, limit, points, weight,
                complex_func, method, vectorized, workers):
    """The compiled entry of every single ``quad`` call: ``quad``'s own arguments, checked here.

    When the call is one adaptive gk21 integral of plain numbers (float/int limits, tolerances,
    limit and args; no points/weight/complex_func; one worker), it is validated exactly as the
    general path would (values it would refuse are left to it) and run.  Returns
    ``(res, abserr)`` when that integral converged and no infodict is asked for; a list
    ``[res, abserr, ier, flags, neval, info, limit, empty]`` for the wrapper to report (a
    warning, an infodict); None when the call is not for this path (the wrapper runs the
    general one)."""
    cdef double lo, hi, ea, er
    cdef int lim
    if (points is not None or weight is not None or complex_func
            or not (method is _GK21_NAME or method == "gk21")
            or type(workers) is not int or workers != 1):
        return None
    if not (fc_plain_real(a, &lo) and fc_plain_real(b, &hi) and lo == lo and hi == hi
            and _plain_tol(epsabs, &ea) and _plain_tol(epsrel, &er)
            and _plain_limit(limit, &lim) and _plain_args(args)):
        return None
    if ea <= 0.0 and er < _EPSREL_MIN:
        return None                 # the general path raises the tolerance error
    cdef bint keep = bool(full_output)
    # the evaluator is used only in this call, which holds f: it may come from the adapter's cache
    cdef Evaluator ev = call_evaluator(f, 1, 1, True, True, bool(vectorized), <tuple>args)
    cdef UserIntegrand g = _single_integrand(ev)
    cdef Opts opt
    cdef double res = 0.0, err = 0.0
    cdef int ier = 0, flg = 0
    cdef Integ *st = NULL
    # one integral of a compiled integrand usually takes well under a microsecond, less than
    # releasing and re-taking the GIL would cost: it runs holding the GIL
    _opts(&opt, ea, er, lim, FC_RULE_GK21, 1, keep, 1)
    try:
        if not keep:
            run_single(g, lo, hi, &opt, &res, &err, &ier, &flg)
            if ier == 0:
                return (res, err)
            return [res, err, ier, flg, ev.nfev, None, lim, lo == hi]
        run_batch(g, 1, &lo, &hi, NULL, 0, 0, NULL, 0, &opt, &res, &err, &ier, &flg, &st)
    finally:
        g.ev = None                 # the spare integrand keeps no evaluator (nor f) between calls
    info = None
    if st != NULL:
        try:
            info = _interval_lists(st)
        finally:
            free_states(st, 1)
    return [res, err, ier, flg, ev.nfev, info, lim, lo == hi]


cdef extern from "Python.h":
    Py_ssize_t _refcount "Py_REFCNT"(PyObject *o)

# quad_single's integrand object, reused when no other call holds it (a Python integrand that
# calls quad, another thread while the GIL is released): not allocated per call
cdef UserIntegrand _SPARE = UserIntegrand.__new__(UserIntegrand)


cdef UserIntegrand _single_integrand(Evaluator ev):
    """The integrand of one single-integral call: the spare one when free, else a new one."""
    cdef UserIntegrand g
    if _refcount(<PyObject *>_SPARE) == 1:
        g = _SPARE
        g.nfev = 0
    else:
        g = UserIntegrand.__new__(UserIntegrand)
    g.ev = ev
    g.nvar = 1
    g.nogil = ev.nogil
    return g


def quad_batch(f, const double[::1] lo, const double[::1] hi, outer, tuple args, bint vectorized,
               double epsabs, double epsrel, int limit, int rule, brk=None, bint keep=False,
               int method=-1, int workers=1):
    """Run the engine on a batch.  outer: None or a (nouter, N) C-contiguous float array of
    per-element extra variables (they follow x in the point: SciPy's 'double (int, double *)' args
    convention, or extra positional arguments of a Python integrand, which the caller wraps).

    Returns (res, abserr, ier, flags, neval, info) where info holds the interval lists (N == 1 and
    keep) or None.
    """
    cdef Py_ssize_t N = lo.shape[0], e
    cdef int nouter = 0
    cdef const double[:, ::1] ov
    cdef const double *op = NULL
    cdef Py_ssize_t ldo = 0
    if outer is not None:
        ov = outer
        nouter = ov.shape[0]
        ldo = ov.shape[1]
        if nouter > 0 and ldo > 0:
            op = &ov[0, 0]
    cdef Evaluator ev
    if nouter == 0:
        ev = as_evaluator(f, 1, 1, True, True, vectorized, args)
    else:
        ev = as_evaluator(f, 1 + nouter, 1, False, True, vectorized, args)
    cdef UserIntegrand g = UserIntegrand(ev, 1 + nouter)
    cdef Opts opt
    _opts(&opt, epsabs, epsrel, limit, rule, 1, keep, workers)
    res = np.empty(N)
    err = np.empty(N)
    ier = np.zeros(N, dtype=np.intc)
    flags = np.zeros(N, dtype=np.intc)
    cdef double[::1] rv = res
    cdef double[::1] ev_ = err
    cdef int[::1] iv = ier
    cdef int[::1] fv = flags
    cdef const double[::1] bv
    cdef const double *bp = NULL
    cdef int nbrk = 0
    cdef Integ *st = NULL
    cdef Integ **kp = &st if keep else NULL
    cdef Py_ssize_t nev = 0
    if brk is not None and len(brk) > 0:
        bv = brk
        bp = &bv[0]
        nbrk = bv.shape[0]
    if N == 0:
        return res, err, ier, flags, 0, None
    if method >= 0:
        for e in range(N):
            if g.nogil:
                with nogil:
                    run_composite(g, lo[e], hi[e], op, ldo, e, nouter, method, &opt, limit * 21,
                                  &rv[e], &ev_[e], &iv[e], &nev)
            else:
                run_composite(g, lo[e], hi[e], op, ldo, e, nouter, method, &opt, limit * 21,
                              &rv[e], &ev_[e], &iv[e], &nev)
            if iv[e] == IER_NONFINITE and rv[e] != rv[e]:
                fv[e] = FLAG_NONFINITE
        return res, err, ier, flags, ev.nfev, None
    if g.nogil:
        with nogil:
            run_batch(g, N, &lo[0], &hi[0], op, ldo, nouter, bp, nbrk, &opt,
                      &rv[0], &ev_[0], &iv[0], &fv[0], kp)
    else:
        run_batch(g, N, &lo[0], &hi[0], op, ldo, nouter, bp, nbrk, &opt,
                  &rv[0], &ev_[0], &iv[0], &fv[0], kp)
    info = None
    if st != NULL:
        try:
            info = _interval_lists(st)
        finally:
            free_states(st, N)
    return res, err, ier, flags, ev.nfev, info


def nested(f, levels, tuple args, bint vectorized, int rule, Py_ssize_t maxeval=0,
           fargs=None):
    """Nested adaptive integration (nquad).  levels: list, innermost first, of
    (lo, hi, epsabs, epsrel, limit, endmap); lo/hi are floats, or lo a callable of the outer
    coordinates (as floats, then args) returning the pair and hi None; endmap: the ends of that level's ranges
    to smooth (a mask of END_LEFT = 1, END_RIGHT = 2).  The outermost level's limits must be floats.  ``maxeval`` (0: none) bounds the
    evaluations of f: once spent, inner integrals are NaN and the run stops.  ``fargs``: the
    extra arguments of f when they differ from the limits' (default: args); a Python f that is
    not vectorized gets the coordinates as floats, ``f(x0, ..., x_{n-1}, *fargs)``.  Returns
    (res, err, ier, neval, inner_fail, worst_inner_ier, inner_err, exhausted)."""
    cdef int nv = len(levels)
    cdef Evaluator ev = as_evaluator(f, nv, 1, not vectorized, True, vectorized,
                                     args if fargs is None else fargs)
    cdef BudgetIntegrand user = BudgetIntegrand(ev, nv, maxeval)
    cdef Integrand g = user
    cdef NestedIntegrand ng
    cdef list nests = []
    cdef int i
    for i in range(nv - 1):
        lo_, hi_, ea, er, lim, emap = levels[i]
        ng = NestedIntegrand(g, lo_, hi_, args, ea, er, lim, rule, emap)
        ng.counter = ev
        ng.budget = maxeval
        nests.append(ng)
        g = ng
    lo_, hi_, ea, er, lim, emap = levels[nv - 1]
    cdef double lo = lo_, hi = hi_
    cdef double res, err
    cdef int ier, flg
    cdef Opts opt
    _opts(&opt, ea, er, lim, rule, 1, 0, 1)
    opt.endmap = emap
    if g.nogil:
        with nogil:
            run_batch(g, 1, &lo, &hi, NULL, 0, 0, NULL, 0, &opt, &res, &err, &ier, &flg, NULL)
    else:
        run_batch(g, 1, &lo, &hi, NULL, 0, 0, NULL, 0, &opt, &res, &err, &ier, &flg, NULL)
    fails = sum((<NestedIntegrand>n).n_inner_fail for n in nests)
    worst = max([(<NestedIntegrand>n).worst_ier for n in nests] + [0])
    inner_err = [(<NestedIntegrand>n).max_err for n in nests]
    exhausted = user.exhausted or any((<NestedIntegrand>n).exhausted for n in nests)
    return res, err, ier, ev.nfev, fails, worst, inner_err, exhausted
