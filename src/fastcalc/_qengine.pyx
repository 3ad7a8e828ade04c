# cython: language_level=3
"""The adaptive quadrature engine of fastcalc (``quad``, and the levels of ``nquad``).

Many independent integrals advance in lock step, each with its own max-heap of subintervals;
every round evaluates the nodes of all still-active integrals with ONE call of the integrand
(through the ``_core`` adapter, wrapped in an :class:`Integrand`).  A round has named phases:
``_choose`` (the intervals to evaluate), ``_write_nodes``, the evaluation, ``_absorb`` (apply the
rule, update the heaps, decide who is done) and ``_compact``; then ``_final_sums``, the tanh-sinh
second opinion for integrals that ran out of subdivisions, and ``_store``.  Infinite limits are
mapped to finite ones.  Compiled integrands run in chunks of 256 integrals (cache-sized), spread
over OpenMP threads that share a stop flag, so an error or Ctrl-C stops every thread.
"""

from libc.math cimport (fabs, sqrt, exp, log, sinh, cosh, isfinite, M_PI, INFINITY, NAN, fmax,
                        fmin, ldexp)
from libc.stdlib cimport malloc, free, realloc
from libc.string cimport memcpy, memset
from cython.parallel cimport prange, threadid

from fastcalc._core cimport Evaluator, check_interrupt, interrupt_requested

cdef double EPS = 2.220446049250313e-16
cdef double SIMPSON_SPLIT = 0.47049150281252627   # adaptive Simpson split: 0.5 - (sqrt(5) - 2) / 8
cdef double UFLOW = 2.2250738585072014e-308

cdef enum:
    POOL = 4              # intervals per element preallocated in one block
    CHUNK = 256           # integrals per chunk for compiled integrands
    PYCHUNK = 4096        # integrals per chunk for Python integrands (one call per round each)

#: the interval rules of the adaptive scheme (``method=`` of quad), as codes of the C enum
RULES = {"gk21": FC_RULE_GK21, "gk15": FC_RULE_GK15, "adaptive-simpson": FC_RULE_SIMPSON}
#: status codes (``ier``), as QUADPACK's
IER = {"ok": IER_OK, "limit": IER_LIMIT, "roundoff": IER_ROUNDOFF, "bad": IER_BAD}
#: the bits of ``flags``, by the name the infodict reports
FLAGS = {"nonfinite": FLAG_NONFINITE, "all-zero": FLAG_ALLZERO, "tanh-sinh": FLAG_TANHSINH,
         "inner": FLAG_INNER, "transform-overflow": FLAG_TRANSFORM}


cdef inline void rule_apply(const fc_rule_info *ru, const double *f, double h,
                            double *result, double *abserr, double *resabs,
                            double *kg) noexcept nogil:
    """Apply a rule to values f (layout: centre, then -x_j, +x_j pairs) on a half-width h;
    ``kg``: the raw |Kronrod - Gauss| difference."""
    cdef double resk, resg, rabs, rasc, err, ah
    fc_rule(f, ru.wkf, ru.wgf, 2 * ru.nk - 1, &resk, &resg, &rabs, &rasc)
    ah = fabs(h)
    result[0] = resk * h
    rabs *= ah
    rasc *= ah
    err = fabs((resk - resg) * h)
    kg[0] = err
    if ru.kind == FC_RULE_SIMPSON:
        err = err / 16.0
    else:
        if rasc != 0.0 and err != 0.0:
            err = 200.0 * err / rasc
            err = rasc * fmin(1.0, err * sqrt(err))
        if rabs > UFLOW / (50.0 * EPS):
            err = fmax(EPS * 50.0 * rabs, err)
    abserr[0] = err
    resabs[0] = rabs


# ---------------------------------------------------------------------------------------------
# Integrands seen by the engine
# ---------------------------------------------------------------------------------------------

cdef class Integrand:
    """Evaluate g at m points X (nvar rows, leading dimension ldx) into out.

    ``side``: error estimates of the values of the last eval, one per point (m entries), or NULL
    when the values are exact up to rounding (or NaN); set by nested integrands so an outer level
    can add them to its estimate.  An eval that does not write m estimates must set it NULL."""

    def __dealloc__(self):
        free(self.side)

    cdef int eval(self, Py_ssize_t m, double *X, Py_ssize_t ldx, double *out) except -1 nogil:
        return 0


cdef class UserIntegrand(Integrand):
    """The user's function, through the adapter (which owns nfev, errors and Ctrl-C)."""

    def __init__(self, Evaluator ev, int nvar):
        self.ev = ev
        self.nvar = nvar
        self.nogil = ev.nogil

    cdef int eval(self, Py_ssize_t m, double *X, Py_ssize_t ldx, double *out) except -1 nogil:
        return self.ev.eval(m, X, ldx, out, m)


# ---------------------------------------------------------------------------------------------
# Heaps of subintervals, maps of infinite ranges
# ---------------------------------------------------------------------------------------------

cdef inline bint ival_less(const Ival *p, const Ival *q) noexcept nogil:
    """Heap order: larger error first, then wider interval (so zero-error probing is uniform)."""
    if p.e != q.e:
        return p.e < q.e
    return fabs(p.b - p.a) < fabs(q.b - q.a)


cdef int heap_push(Integ *s, Ival v, int limit) except -1 nogil:
    cdef int i, parent
    cdef Ival *nh
    cdef int ncap
    if s.nh == s.cap:
        ncap = s.cap * 2 if s.cap > 0 else 8
        if s.owned:
            nh = <Ival *>realloc(s.heap, ncap * sizeof(Ival))
        else:
            # leave the shared pool: copy into an own block
            nh = <Ival *>malloc(ncap * sizeof(Ival))
            if nh != NULL and s.nh > 0:
                memcpy(nh, s.heap, s.nh * sizeof(Ival))
        if nh == NULL:
            with gil:
                raise MemoryError()
        s.heap = nh
        s.cap = ncap
        s.owned = 1
    i = s.nh
    s.nh += 1
    while i > 0:
        parent = (i - 1) // 2
        if ival_less(&s.heap[parent], &v):
            s.heap[i] = s.heap[parent]
            i = parent
        else:
            break
    s.heap[i] = v
    return 0


cdef Ival heap_pop(Integ *s) noexcept nogil:
    cdef Ival top = s.heap[0]
    cdef Ival last
    cdef int i = 0, c
    s.nh -= 1
    if s.nh == 0:
        return top
    last = s.heap[s.nh]
    while True:
        c = 2 * i + 1
        if c >= s.nh:
            break
        if c + 1 < s.nh and ival_less(&s.heap[c], &s.heap[c + 1]):
            c += 1
        if ival_less(&last, &s.heap[c]):
            s.heap[i] = s.heap[c]
            i = c
        else:
            break
    s.heap[i] = last
    return top


cdef inline double tmap(const Integ *s, double t, double *jac) noexcept nogil:
    """x(t) and dx/dt of s's map (the engine's end-smoothing map, or one of fc_tmap's)."""
    cdef double L = s.xs
    if s.transform != MAP_ENDS:
        return fc_tmap(s.transform, s.xa, t, jac)
    if s.ends == END_LEFT | END_RIGHT:
        jac[0] = 6.0 * L * t * (1.0 - t)
        return s.xa + L * t * t * (3.0 - 2.0 * t)
    if s.ends == END_LEFT:
        jac[0] = 2.0 * L * t
        return s.xa + L * t * t
    jac[0] = 2.0 * L * (1.0 - t)
    return s.xa + L * (1.0 - (1.0 - t) * (1.0 - t))


cdef inline double end_tail(double f1, double f2, double h, const double *x) noexcept nogil:
    """Mass between an end and the nearest Kronrod node when |f| grows like dist**-p towards
    the end with p > 1/2 (estimated from the two nodes nearest to it): d1 * |f1| / (1 - p),
    capped at 1000 * d1 * |f1| (p >= 1: not integrable or not resolved); 0 otherwise."""
    cdef double d1 = fabs(h) * (1.0 - x[0]), d2 = fabs(h) * (1.0 - x[1]), p
    f1 = fabs(f1)
    f2 = fabs(f2)
    if not (f1 > f2 and f2 > 0.0 and isfinite(f1)):
        return 0.0
    p = log(f1 / f2) / log(d2 / d1)
    if p <= 0.5:
        return 0.0
    if p >= 0.999:
        return 1000.0 * d1 * f1
    return d1 * f1 / (1.0 - p)


cdef inline bint too_small(const Integ *s, double a, double b) noexcept nogil:
    """True when [a, b] (transformed variable) is too narrow to place distinct nodes inside,
    in the transformed or in the original variable."""
    cdef double ja, xa_, xb_
    if fabs(b - a) <= 1000.0 * EPS * fmax(fabs(a), fabs(b)) + 1e3 * UFLOW:
        return True
    if s.transform == FC_MAP_NONE:
        return False
    xa_ = tmap(s, a, &ja)
    xb_ = tmap(s, b, &ja)
    if not (isfinite(xa_) and isfinite(xb_)):
        return False
    return fabs(xb_ - xa_) <= 1000.0 * EPS * fmax(fabs(xa_), fabs(xb_)) + 1e3 * UFLOW


# ---------------------------------------------------------------------------------------------
# The engine: a batch of integrals in lock step
# ---------------------------------------------------------------------------------------------

cdef struct Work:
    # round buffers of one chunk of integrals (one per thread)
    Py_ssize_t *active    # indices (into the chunk) of the integrals still running
    Ival *pend            # intervals evaluated this round
    Py_ssize_t *pown      # owner (index into the chunk) of each pending interval
    double *X             # nodes, (1 + nouter) rows of leading dimension npend * K
    double *jac           # dx/dt of the infinite-range maps at the nodes
    double *fv            # integrand values
    Py_ssize_t cap        # capacity in intervals


cdef struct Chunk:
    # a chunk of the batch: its integrals and where their results go
    Py_ssize_t n
    const double *lo
    const double *hi
    const double *outer   # per-element extra rows (leading dimension ldo), or NULL
    Py_ssize_t ldo
    int nouter
    const double *brk     # interior break points (only with n == 1)
    int nbrk
    double *res
    double *abserr
    int *ier
    int *flags            # or NULL
    Integ *st


cdef int work_alloc(Work *w, Py_ssize_t cap, int K, int nouter) except -1 nogil:
    """One block for the round buffers: active | pend | pown | X | jac | fv (8-byte aligned)."""
    cdef Py_ssize_t ldx = cap * K
    w.cap = cap
    w.pend = <Ival *>malloc(cap * sizeof(Ival) + 2 * cap * sizeof(Py_ssize_t)
                            + ldx * (3 + nouter) * sizeof(double))
    if w.pend == NULL:
        with gil:
            raise MemoryError()
    w.pown = <Py_ssize_t *>(w.pend + cap)
    w.active = w.pown + cap
    w.X = <double *>(w.active + cap)
    w.jac = w.X + ldx * (1 + nouter)
    w.fv = w.jac + ldx
    return 0


cdef void _init_states(const Chunk *c, Work *w, const Opts *opt, Py_ssize_t *nact) noexcept nogil:
    """Orient every integral, map infinite ranges, list the non-empty ones as active."""
    cdef Py_ssize_t e, n = 0
    cdef double lo_e, hi_e
    cdef Integ *s
    for e in range(c.n):
        s = &c.st[e]
        lo_e = c.lo[e]
        hi_e = c.hi[e]
        s.sign = 1.0
        if lo_e > hi_e:
            s.sign = -1.0
            lo_e, hi_e = hi_e, lo_e
        if lo_e == hi_e:
            s.done = 1
            continue
        if isfinite(lo_e) and isfinite(hi_e) and opt.endmap:
            s.transform = MAP_ENDS
            s.ends = opt.endmap if s.sign > 0 else (
                (END_LEFT if opt.endmap & END_RIGHT else 0)
                | (END_RIGHT if opt.endmap & END_LEFT else 0))
            s.xa = lo_e
            s.xs = hi_e - lo_e
            s.ta = 0.0
            s.tb = 1.0
        elif isfinite(lo_e) and isfinite(hi_e):
            s.transform = FC_MAP_NONE
            s.ta = lo_e
            s.tb = hi_e
        elif isfinite(lo_e):
            s.transform = FC_MAP_UPPER
            s.xa = lo_e
            s.ta = 0.0
            s.tb = 1.0
        elif isfinite(hi_e):
            s.transform = FC_MAP_LOWER
            s.xa = hi_e
            s.ta = 0.0
            s.tb = 1.0
        else:
            s.transform = FC_MAP_BOTH
            s.ta = -1.0
            s.tb = 1.0
        s.allzero = 1
        w.active[n] = e
        n += 1
    nact[0] = n


cdef inline void _pend(Work *w, Py_ssize_t *npend, Py_ssize_t e, double a, double b) noexcept nogil:
    w.pend[npend[0]].a = a
    w.pend[npend[0]].b = b
    w.pown[npend[0]] = e
    npend[0] += 1


cdef int _choose(const Chunk *c, Work *w, Py_ssize_t nact, const fc_rule_info *ru, int first,
                 const Opts *opt, Py_ssize_t *npend) except -1 nogil:
    """Phase 1: the intervals each active integral evaluates this round (the initial pieces, or
    the halves of its worst interval)."""
    cdef Py_ssize_t q, e
    cdef int k
    cdef double cut
    cdef Ival top
    cdef Integ *s
    npend[0] = 0
    for q in range(nact):
        e = w.active[q]
        s = &c.st[e]
        s.npend = 0
        if s.done:
            continue
        if first:
            if c.nbrk > 0 and c.n == 1:
                for k in range(c.nbrk + 1):
                    _pend(w, npend, e, s.ta if k == 0 else c.brk[k - 1],
                          s.tb if k == c.nbrk else c.brk[k])
                s.npend = c.nbrk + 1
            elif ru.kind == FC_RULE_SIMPSON:
                # two pieces of incommensurate lengths from the start (5 equally spaced nodes
                # alone alias cos(8*pi*m*x/L) to a constant)
                cut = s.ta + SIMPSON_SPLIT * (s.tb - s.ta)
                _pend(w, npend, e, s.ta, cut)
                _pend(w, npend, e, cut, s.tb)
                s.npend = 2
            else:
                _pend(w, npend, e, s.ta, s.tb)
                s.npend = 1
            s.rold = 0.0
            s.eold = 0.0
            continue
        top = heap_pop(s)
        if too_small(s, top.a, top.b):
            # cannot be bisected further in double precision: give up on this integral
            heap_push(s, top, opt.limit)
            s.ier = IER_BAD
            s.done = 1
            continue
        s.rold = top.r
        s.eold = top.e
        s.ieold = top.ie
        s.kgold = top.kg
        if ru.kind == FC_RULE_SIMPSON:
            # equally spaced nodes: split off the dyadic grid, else an oscillation whose period
            # divides a power-of-two fraction of the interval is aliased at every level and the
            # rule "converges" to a wrong value
            cut = top.a + SIMPSON_SPLIT * (top.b - top.a)
        else:
            cut = 0.5 * (top.a + top.b)
        _pend(w, npend, e, top.a, cut)
        _pend(w, npend, e, cut, top.b)
        s.npend = 2
    return 0


cdef void _write_nodes(const Chunk *c, Work *w, Py_ssize_t npend, const fc_rule_info *ru,
                       int K) noexcept nogil:
    """Phase 2: the nodes of the pending intervals (mapped, with their Jacobians) and the extra
    rows of each owner, with leading dimension m = npend * K."""
    cdef Py_ssize_t j, e, m = npend * K
    cdef int k, r
    cdef double mid, h, tmp
    cdef Integ *s
    cdef double *X = w.X
    cdef double *jac = w.jac
    for j in range(npend):
        e = w.pown[j]
        s = &c.st[e]
        mid = 0.5 * (w.pend[j].a + w.pend[j].b)
        h = 0.5 * (w.pend[j].b - w.pend[j].a)
        if s.transform == FC_MAP_NONE:
            X[j * K] = mid
            for k in range(ru.nk - 1):
                X[j * K + 1 + 2 * k] = mid - h * ru.x[k]
                X[j * K + 2 + 2 * k] = mid + h * ru.x[k]
        else:
            X[j * K] = tmap(s, mid, &jac[j * K])
            for k in range(ru.nk - 1):
                X[j * K + 1 + 2 * k] = tmap(s, mid - h * ru.x[k], &jac[j * K + 1 + 2 * k])
                X[j * K + 2 + 2 * k] = tmap(s, mid + h * ru.x[k], &jac[j * K + 2 + 2 * k])
        for r in range(c.nouter):
            tmp = c.outer[r * c.ldo + e]
            for k in range(K):
                X[(r + 1) * m + j * K + k] = tmp


cdef void _scan_values(Integ *s, double *f, const double *jac, int K) noexcept nogil:
    """Values of a mapped interval: multiply by the Jacobian; note non-zero and non-finite ones
    (a finite value times an overflowing Jacobian is the map's fault, not the integrand's)."""
    cdef int k
    cdef double v
    for k in range(K):
        v = f[k]
        if v != 0.0:
            s.allzero = 0
            if not isfinite(v):
                s.flags |= FLAG_NONFINITE
            else:
                v = v * jac[k]
                if not isfinite(v):
                    s.flags |= FLAG_NONFINITE | FLAG_TRANSFORM
            f[k] = v


cdef void _absorb_interval(Integrand g, Integ *s, Ival *ivp, double *f, const double *jac,
                           Py_ssize_t jrow, const fc_rule_info *ru, int K) noexcept nogil:
    """Apply the rule to one evaluated interval (its r, e, ie and kg; _absorb pushes it)."""
    cdef int k
    cdef Ival iv = ivp[0]
    cdef double h = 0.5 * (iv.b - iv.a), rabs
    if s.transform != FC_MAP_NONE:
        _scan_values(s, f, jac, K)
    rule_apply(ru, f, h, &iv.r, &iv.e, &rabs, &iv.kg)
    if ru.kind != FC_RULE_SIMPSON and fabs(iv.b - iv.a) <= 1e-3 * (s.tb - s.ta):
        # a narrow interval at an end of the range (where repeated bisection goes for an endpoint
        # singularity): the Kronrod/Gauss difference misses the mass between the end and the
        # first node; add a power-law bound of it
        if iv.a == s.ta:
            iv.e += end_tail(f[1], f[3], h, ru.x)
        if iv.b == s.tb:
            iv.e += end_tail(f[2], f[4], h, ru.x)
    iv.ie = 0.0
    if g.side != NULL:
        for k in range(K):
            iv.ie += ru.wkf[k] * fabs(g.side[jrow + k] *
                                      (1.0 if s.transform == FC_MAP_NONE else jac[k]))
        iv.ie *= fabs(h)
    if s.transform == FC_MAP_NONE:
        if rabs != 0.0:
            s.allzero = 0
        elif s.allzero:
            # sum(w |f|) * h can underflow although f is not 0 at the nodes
            for k in range(K):
                if f[k] != 0.0:
                    s.allzero = 0
                    break
        if not isfinite(rabs):
            s.flags |= FLAG_NONFINITE
    ivp[0] = iv


cdef void _calibrate(const Integ *s, Ival *left, Ival *right) noexcept nogil:
    """Check the estimate of the interval just bisected against what its halves found.

    QUADPACK's estimate scales |Kronrod - Gauss| down as if the integrand were smooth there; on
    an interval holding a kink or a jump both rules are of low order and the scaled estimate is
    several times below the truth.  The halves' sum is better than the parent's value, so
    d = |parent - halves| is about the larger of the parent's and the halves' true errors.  Where
    the Kronrod value did not beat the Gauss one by much (d above a tenth of the parent's raw
    |K - G|: a resolved smooth integrand gives d many orders below it) the error falls at a low
    order, and not steadily (a kink's error can grow when a halving moves it off a node: 1.7e-6
    for the parent, 3.07e-5 for its half, exp(-4.23 |x - 0.442|)); so the halves claim at least
    d between them, shared in proportion to their own estimates.  The same where the parent's
    estimate was beaten outright (d above it).  On resolved smooth pieces nothing changes."""
    cdef double d = fabs(s.rold - (left.r + right.r)), have, wl
    if not (d > 0.1 * s.kgold or d > s.eold + s.ieold):
        return
    have = left.e + right.e
    if not (have < d):              # (NaN: nothing to calibrate)
        return
    wl = left.e / have if have > 0.0 else 0.5
    left.e = fmax(left.e, wl * d)
    right.e = fmax(right.e, (1.0 - wl) * d)


cdef void _decide(Integ *s, const Opts *opt) noexcept nogil:
    """Converged, out of subdivisions, stuck in roundoff, non-finite -- or go on."""
    cdef double tol
    if s.flags & FLAG_NONFINITE:
        s.ier = IER_NONFINITE
        s.done = 1
        return
    tol = fmax(opt.epsabs, opt.epsrel * fabs(s.res))
    if s.err <= tol:
        if s.allzero and opt.flag_zero:
            # probe at least 8 intervals (168 nodes) before believing a zero integrand
            if s.nh >= 8 or s.nh >= opt.limit:
                s.flags |= FLAG_ALLZERO
                s.ier = IER_ZERO
                s.done = 1
        else:
            s.done = 1
    elif s.nh >= opt.limit:
        s.ier = IER_LIMIT
        s.done = 1
    elif s.nroff >= 10:
        s.ier = IER_ROUNDOFF
        s.done = 1


cdef int _absorb(Integrand g, const Chunk *c, Work *w, Py_ssize_t nact, const fc_rule_info *ru,
                 int K, int first, const Opts *opt) except -1 nogil:
    """Phase 3: apply the rules, update the heaps and running sums, decide who is done."""
    cdef Py_ssize_t q, e, j = 0
    cdef int r
    cdef double r1, e1
    cdef Integ *s
    for q in range(nact):
        e = w.active[q]
        s = &c.st[e]
        r1 = 0.0
        e1 = 0.0
        for r in range(s.npend):
            _absorb_interval(g, s, &w.pend[j + r], &w.fv[(j + r) * K], &w.jac[(j + r) * K],
                             (j + r) * K, ru, K)
        if not first and s.npend == 2:
            _calibrate(s, &w.pend[j], &w.pend[j + 1])
        for r in range(s.npend):
            r1 += w.pend[j + r].r
            e1 += w.pend[j + r].e
            heap_push(s, w.pend[j + r], opt.limit)
        s.neval += s.npend * K
        if first:
            s.res = r1
            s.err = e1
        else:
            # roundoff detection as QUADPACK: no error reduction though the result settled
            if fabs(s.rold - r1) <= 1e-5 * fabs(r1) and e1 >= 0.99 * s.eold:
                s.nroff += 1
            s.res += r1 - s.rold
            s.err += e1 - s.eold
        j += s.npend
        if s.npend > 0:
            _decide(s, opt)
    return 0


cdef Py_ssize_t _compact(const Chunk *c, Work *w, Py_ssize_t nact) noexcept nogil:
    """Phase 4: drop the finished integrals from the active list."""
    cdef Py_ssize_t q, k = 0
    for q in range(nact):
        if not c.st[w.active[q]].done:
            w.active[k] = w.active[q]
            k += 1
    return k


cdef void _final_sums(const Chunk *c) noexcept nogil:
    """Result and error recomputed from the intervals (sheds the running-sum rounding)."""
    cdef Py_ssize_t e
    cdef int k
    cdef double r1, e1
    cdef Integ *s
    for e in range(c.n):
        s = &c.st[e]
        r1 = 0.0
        e1 = 0.0
        for k in range(s.nh):
            r1 += s.heap[k].r
            e1 += s.heap[k].e + s.heap[k].ie
        if s.nh > 0:
            s.res = r1
            s.err = e1
        if s.flags & FLAG_NONFINITE:
            s.res = NAN
            s.err = NAN


cdef void _store(const Chunk *c) noexcept nogil:
    cdef Py_ssize_t e
    cdef Integ *s
    for e in range(c.n):
        s = &c.st[e]
        c.res[e] = s.sign * s.res
        c.abserr[e] = s.err
        c.ier[e] = s.ier
        if c.flags != NULL:
            c.flags[e] = s.flags


cdef int _run_core(Integrand g, const Chunk *c, Work *w, const Opts *opt,
                   const fc_rule_info *ru, int K) except -1 nogil:
    """Integrate one chunk to the end; returns 1 (results incomplete) when another thread of the
    batch raised the stop flag."""
    cdef Py_ssize_t nact, npend, e, nsig = 0
    cdef int first = 1
    cdef Integ *s
    _init_states(c, w, opt, &nact)
    while nact > 0:
        if opt.stop != NULL and opt.stop[0]:
            return 1
        if interrupt_requested():
            check_interrupt()       # Ctrl-C seen by another thread (the adapter's shared flag)
        _choose(c, w, nact, ru, first, opt, &npend)
        _write_nodes(c, w, npend, ru, K)
        if g.eval(npend * K, w.X, npend * K, w.fv) < 0:
            return -1
        nsig += npend * K
        _absorb(g, c, w, nact, ru, K, first, opt)
        first = 0
        nact = _compact(c, w, nact)
        if nsig > 20000:
            nsig = 0
            check_interrupt()       # the main thread runs the handlers and raises the flag
    _final_sums(c)
    if opt.fallback:
        # tanh-sinh second opinion for integrals that ran out of subdivisions
        for e in range(c.n):
            s = &c.st[e]
            if s.ier == IER_LIMIT or s.ier == IER_ROUNDOFF or (
                    s.ier == IER_BAD and not (s.flags & (FLAG_NONFINITE | FLAG_ALLZERO))):
                if tanh_sinh(g, s, c.outer, c.ldo, e, c.nouter, opt) < 0:
                    return -1
    _store(c)
    return 0


cdef Chunk _chunk(Py_ssize_t off, Py_ssize_t cnt, const double *lo, const double *hi,
                  const double *outer, Py_ssize_t ldo, int nouter, const double *brk, int nbrk,
                  double *res, double *abserr, int *ier, int *flags, Integ *st) noexcept nogil:
    cdef Chunk c
    c.n = cnt
    c.lo = lo + off
    c.hi = hi + off
    c.outer = outer + off if outer != NULL else NULL
    c.ldo = ldo
    c.nouter = nouter
    c.brk = brk
    c.nbrk = nbrk
    c.res = res + off
    c.abserr = abserr + off
    c.ier = ier + off
    c.flags = flags + off if flags != NULL else NULL
    c.st = st + off
    return c


cdef int _run_chunk_threaded(Integrand g, Py_ssize_t k, Py_ssize_t N, const double *lo,
                             const double *hi, const double *outer, Py_ssize_t ldo, int nouter,
                             const Opts *opt, double *res, double *abserr, int *ier, int *flags,
                             Integ *st, const fc_rule_info *ru, int K, Work *w) except -1 nogil:
    """Chunk k of a threaded batch, on the calling thread's buffers w; sets the shared stop flag
    on error."""
    cdef Py_ssize_t off = k * CHUNK
    cdef Py_ssize_t cnt = CHUNK if N - off > CHUNK else N - off
    cdef Chunk c = _chunk(off, cnt, lo, hi, outer, ldo, nouter, NULL, 0, res, abserr, ier, flags,
                          st)
    cdef bint ok = False
    if opt.stop[0]:
        return 0
    try:
        _run_core(g, &c, w, opt, ru, K)
        ok = True
    finally:
        if not ok:
            opt.stop[0] = 1     # tell the other threads
    return 0


cdef int run_batch(Integrand g, Py_ssize_t N, const double *lo, const double *hi,
                   const double *outer, Py_ssize_t ldo, int nouter,
                   const double *brk, int nbrk, const Opts *opt,
                   double *res, double *abserr, int *ier, int *flags, Integ **keep) except -1 nogil:
    """Integrate g over [lo[e], hi[e]] for e < N, all in lock step.

    Point rows 1..nouter of element e hold outer[k*ldo + e] (outer coordinates or per-element
    arguments).  brk: interior break points (only with N == 1).  On return res/abserr/ier (and
    flags, when not NULL) are set.  When keep is not NULL the per-element states are handed back
    (the caller frees them with free_states).
    """
    cdef fc_rule_info ru = fc_get_rule(opt.rule)
    cdef int K = 2 * ru.nk - 1
    cdef Integ *st
    cdef Ival *pool = NULL
    cdef Py_ssize_t e, chunk, off, cnt, nchunks, k
    cdef int stop = 0
    cdef Opts topt
    cdef Work w
    cdef Work *tw = NULL          # one set of round buffers per thread
    cdef Chunk c
    if N == 0:
        return 0
    st = <Integ *>malloc(N * sizeof(Integ))
    if st == NULL:
        with gil:
            raise MemoryError()
    memset(st, 0, N * sizeof(Integ))
    w.pend = NULL
    # the first POOL intervals of every element live in one shared block (one malloc, not N)
    if keep == NULL and nbrk == 0:
        pool = <Ival *>malloc(N * POOL * sizeof(Ival))
        if pool != NULL:
            for e in range(N):
                st[e].heap = pool + e * POOL
                st[e].cap = POOL
    # compiled integrands: run the batch in chunks whose buffers stay in cache; Python ones in
    # big chunks (a vectorized integrand gets a chunk's active nodes in one call per round, and
    # the round buffers stay O(chunk), not O(batch))
    chunk = CHUNK if g.nogil else PYCHUNK
    if chunk > N:
        chunk = N
    try:
        if opt.workers > 1 and g.nogil and N > chunk:
            # OpenMP threads take chunks dynamically (built-in / low-level integrands: no Python
            # involved) and share a stop flag; an exception raised in a thread (the integrand's,
            # Ctrl-C seen by the main thread, MemoryError) stops them all and is re-raised here
            topt = opt[0]
            topt.stop = &stop
            nchunks = (N + CHUNK - 1) // CHUNK
            tw = <Work *>malloc(opt.workers * sizeof(Work))
            if tw == NULL:
                with gil:
                    raise MemoryError()
            for k in range(opt.workers):
                tw[k].pend = NULL
            for k in range(opt.workers):
                work_alloc(&tw[k], 2 * CHUNK, K, nouter)
            for k in prange(nchunks, nogil=True, num_threads=opt.workers, schedule="dynamic",
                            chunksize=1):
                _run_chunk_threaded(g, k, N, lo, hi, outer, ldo, nouter, &topt, res, abserr,
                                    ier, flags, st, &ru, K, &tw[threadid()])
        else:
            work_alloc(&w, max(chunk * (nbrk + 1), 2 * chunk), K, nouter)
            off = 0
            while off < N:
                cnt = chunk if N - off > chunk else N - off
                c = _chunk(off, cnt, lo, hi, outer, ldo, nouter, brk, nbrk, res, abserr, ier,
                           flags, st)
                _run_core(g, &c, &w, opt, &ru, K)
                off += cnt
        if keep != NULL:
            keep[0] = st
            st = NULL
    finally:
        # runs on the error paths too (an exception from the integrand, Ctrl-C)
        if st != NULL:
            for e in range(N):
                if st[e].owned or pool == NULL:
                    free(st[e].heap)
            free(st)
        free(pool)
        free(w.pend)
        if tw != NULL:
            for k in range(opt.workers):
                free(tw[k].pend)
            free(tw)
    return 0


cdef inline double ts_map(const Integ *s, double t, double dist, int right, double *jac) noexcept nogil:
    """Map a tanh-sinh node t to x, using its distance from the nearer end of [ta, tb] (given
    exactly) where the map is singular (the infinite ends), so nodes reach far into the tails."""
    cdef double q
    if s.transform == FC_MAP_NONE:
        jac[0] = 1.0
        return t
    if (s.transform == FC_MAP_UPPER or s.transform == FC_MAP_LOWER) and right:
        # t = 1 - dist is the infinite end
        jac[0] = 1.0 / (dist * dist)
        return s.xa + (1.0 - dist) / dist if s.transform == FC_MAP_UPPER else s.xa - (1.0 - dist) / dist
    if s.transform == FC_MAP_BOTH:
        q = dist * (2.0 - dist)          # 1 - t**2
        jac[0] = (1.0 + t * t) / (q * q)
        return (1.0 - dist) / q if right else -(1.0 - dist) / q
    return tmap(s, t, jac)


cdef inline double ts_tail(double d1, double f1, double d2, double f2) noexcept nogil:
    """Bound on the integral of |g| over [0, d1] (distance from an end) from the nearest
    nodes: |g(d1)| = f1, |g(d2)| = f2, d1 < d2.  With |g| ~ d**-p (p estimated from the two),
    the mass is d1 * f1 / (1 - p); 4 * d1 * f1 covers p <= 0.75, twice the power-law mass
    covers stronger singularities, and p >= 1 (not integrable, or not resolved) is infinite."""
    cdef double p
    if not (d1 < INFINITY) or f1 == 0.0:
        return 0.0
    p = 0.0
    if d2 < INFINITY and f2 > 0.0 and f1 > f2:
        p = log(f1 / f2) / log(d2 / d1)
    if p >= 1.0:
        return INFINITY
    return d1 * f1 * fmax(4.0, 2.0 / (1.0 - p))


cdef struct TsEnd:
    # the two nodes nearest one end of the interval that had a nonzero value: distances and |g|
    double d1, f1, d2, f2


cdef inline void ts_near(TsEnd *e, double dist, double f) noexcept nogil:
    """Keep the two nearest nodes to an end (``dist`` from it, ``|g| = f`` there)."""
    if dist < e.d1:
        e.d2 = e.d1
        e.f2 = e.f1
        e.d1 = dist
        e.f1 = f
    elif dist > e.d1 and dist < e.d2:
        e.d2 = dist
        e.f2 = f


cdef int ts_nodes(Integ *s, int lev, double TM, double *X, double *W, double *J,
                  double *D) noexcept nogil:
    """The nodes level ``lev`` adds (step 2**-lev; odd multiples only past level 0): mapped
    abscissae X, weights W, Jacobians J and signed distances D from the end they approach
    (> 0 right, < 0 left, as the integrand sees it).  Returns their count."""
    cdef double A = s.ta, B = s.tb, hh = 0.5 * (s.tb - s.ta)
    cdef double h = ldexp(1.0, -lev), t, u, w, d, xt
    cdef int npts = 0
    cdef int step = 1 if lev == 0 else 2
    cdef int i = 0 if lev == 0 else 1
    while i * h <= TM:
        t = i * h
        u = 0.5 * M_PI * sinh(t)
        w = 0.5 * M_PI * cosh(t) / (cosh(u) * cosh(u))
        d = 2.0 / (1.0 + exp(2.0 * u))       # 1 - tanh(u), accurately
        # right node
        xt = B - hh * d
        if xt < B and xt > A and w > 0.0:
            X[npts] = ts_map(s, xt, hh * d, 1, &J[npts])
            W[npts] = w
            # distance from the end that the integrand sees (x rounds near a finite end)
            D[npts] = (B - xt) if s.transform == FC_MAP_NONE else hh * d
            if s.transform == FC_MAP_NONE or X[npts] != s.xa:
                npts += 1
        if i > 0:
            xt = A + hh * d
            if xt > A and xt < B and w > 0.0:
                X[npts] = ts_map(s, xt, hh * d, 0, &J[npts])
                W[npts] = w
                D[npts] = -(xt - A) if s.transform == FC_MAP_NONE else -hh * d
                if s.transform == FC_MAP_NONE or X[npts] != s.xa:
                    npts += 1
        i += step
    return npts


cdef int tanh_sinh(Integrand g, Integ *s, const double *outer, Py_ssize_t ldo, Py_ssize_t e,
                   int nouter, const Opts *opt) except -1 nogil:
    """Double-exponential quadrature on s's (transformed) interval; adopt it when it converges."""
    cdef int MAXLEV = 9
    cdef double TM = 6.0
    cdef int npmax = <int>(2 * TM * (1 << MAXLEV)) + 4
    cdef double *X = <double *>malloc(npmax * (1 + nouter) * sizeof(double))
    cdef double *W = <double *>malloc(npmax * sizeof(double))
    cdef double *J = <double *>malloc(npmax * sizeof(double))
    cdef double *F = <double *>malloc(npmax * sizeof(double))
    cdef double *D = <double *>malloc(npmax * sizeof(double))
    cdef TsEnd left, right
    cdef double hh = 0.5 * (s.tb - s.ta)
    cdef double h, ssum = 0.0, sabs = 0.0, est, prev = NAN, err = INFINITY, tol, v
    cdef int lev, i, npts, r
    cdef int rc = 0
    cdef bint bad = False
    cdef Py_ssize_t neval = 0
    left.d1 = left.d2 = right.d1 = right.d2 = INFINITY
    left.f1 = left.f2 = right.f1 = right.f2 = 0.0
    if X == NULL or W == NULL or J == NULL or F == NULL or D == NULL:
        free(X); free(W); free(J); free(F); free(D)
        with gil:
            raise MemoryError()
    try:
        for lev in range(MAXLEV + 1):
            h = ldexp(1.0, -lev)
            npts = ts_nodes(s, lev, TM, X, W, J, D)
            for r in range(nouter):
                v = outer[r * ldo + e]
                for i in range(npts):
                    X[(r + 1) * npts + i] = v
            rc = g.eval(npts, X, npts, F)
            if rc < 0:
                break
            neval += npts
            for i in range(npts):
                v = F[i]
                if v != 0.0:
                    # the part of the interval closer to an end than any node: bounded from
                    # the two nearest nodes with a nonzero value (ts_tail)
                    if D[i] > 0.0:
                        ts_near(&right, D[i], fabs(v * J[i]))
                    elif D[i] < 0.0:
                        ts_near(&left, -D[i], fabs(v * J[i]))
                    v = v * J[i] * W[i]
                    if not isfinite(v):
                        bad = True
                    ssum += v
                    sabs += fabs(v)
            if bad:
                break
            est = hh * h * ssum
            if lev >= 2:
                err = fmax(fabs(est - prev), 50.0 * EPS * fabs(hh * h * sabs))
                # the parts of the interval closer to an end than any node, bounded from the
                # local power law |g| ~ dist**-p seen at the two nearest nodes
                err += (ts_tail(left.d1, left.f1, left.d2, left.f2)
                        + ts_tail(right.d1, right.f1, right.d2, right.f2))
                tol = fmax(opt.epsabs, opt.epsrel * fabs(est))
                # the level difference over-estimates the error only once convergence is
                # quadratic: ask for a margin of 10, then the reported difference is an honest bound
                if err <= 0.1 * tol or (err <= tol and lev == MAXLEV):
                    break
            prev = est
    finally:
        free(X); free(W); free(J); free(F); free(D)
    s.neval += neval
    if rc < 0:
        return -1
    if not bad and isfinite(err) and err < s.err:
        s.res = est
        s.err = err
        s.flags |= FLAG_TANHSINH
        tol = fmax(opt.epsabs, opt.epsrel * fabs(est))
        if err <= tol:
            s.ier = IER_OK
    return 0


cdef void free_states(Integ *st, Py_ssize_t N) noexcept nogil:
    cdef Py_ssize_t e
    if st == NULL:
        return
    for e in range(N):
        free(st[e].heap)
    free(st)


cdef enum:
    ONE_K = 21            # run_single: the largest rule (gk21) it keeps its buffers on the stack for


cdef int run_single(Integrand g, double lo, double hi, const Opts *opt, double *res,
                    double *abserr, int *ier, int *flags) except -1 nogil:
    """One integral of a one-variable integrand, no break points, no interval lists kept: the
    N == 1 case of :func:`run_batch` with the integral's state, its first POOL intervals and the
    round buffers on the stack (nothing is allocated unless the heap outgrows POOL).  Same
    rounds, same phases, same results as run_batch."""
    cdef fc_rule_info ru = fc_get_rule(opt.rule)
    cdef int K = 2 * ru.nk - 1
    cdef Integ st
    cdef Ival pool[POOL]
    cdef Ival pend[2]
    cdef Py_ssize_t idx[4]
    cdef double buf[3 * 2 * ONE_K]
    cdef Work w
    cdef Chunk c
    if K > ONE_K or g.nvar != 1:
        return run_batch(g, 1, &lo, &hi, NULL, 0, 0, NULL, 0, opt, res, abserr, ier, flags, NULL)
    memset(&st, 0, sizeof(Integ))
    st.heap = pool
    st.cap = POOL
    # work_alloc's layout for a chunk of one integral: two pending intervals per round
    w.cap = 2
    w.pend = pend
    w.pown = idx
    w.active = idx + 2
    w.X = buf
    w.jac = buf + 2 * K
    w.fv = buf + 4 * K
    c = _chunk(0, 1, &lo, &hi, NULL, 0, 0, NULL, 0, res, abserr, ier, flags, &st)
    try:
        _run_core(g, &c, &w, opt, &ru, K)
    finally:
        if st.owned:
            free(st.heap)
    return 0
