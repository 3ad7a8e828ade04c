# cython: language_level=3
"""Adaptive cubature over hyper-rectangles (fastcalc.cubature).

A max-heap of regions by error; each round splits the worst region and every region within a
factor 4 of it, and evaluates all their nodes with ONE batch through the ``_core`` adapter.
Rules: a Gauss--Kronrod product rule (regions split in 2**ndim) or Genz--Malik (degree 7 with
embedded degree 5; regions halved along the axis of largest fourth difference).

Error estimates (issue 13 item 8): a region's embedded difference is checked by a ratio test
against two lower-degree rules on subsets of its nodes (_region_error, _product_error) and
widened when the region is not resolved; a split charges the children at least the change from
their parent (_children_floor); convergence needs two levels that agree (_agrees, from the first
round on at about half as many subdivisions, _half), and the product rules trust a first region
alone only when its ratio test is far in the asymptotic regime (TRUST_ALONE).  Genz--Malik's
one-axis splits can leave thin strips whose nodes all sit on a far tail: before it converges,
each thin, faint region is halved across once (_thin_audit).
"""

from libc.math cimport fabs, sqrt, log, isfinite, fmax, fmin, INFINITY, NAN
from libc.stdlib cimport malloc, free, realloc
from libc.string cimport memcpy, memset
from cython.parallel cimport prange

import numpy as np

from fastcalc._core cimport Evaluator, as_evaluator

from fastcalc._quad_rules cimport (FC_RULE_GK21, FC_RULE_GK15, fc_rule_info, fc_get_rule,
                                   FC_MAP_NONE, FC_MAP_UPPER, FC_MAP_LOWER, FC_MAP_BOTH, fc_tmap)

#: the maps of infinite ranges (the ``transform`` codes of cubature_run)
MAPS = {"none": FC_MAP_NONE, "upper": FC_MAP_UPPER, "lower": FC_MAP_LOWER, "both": FC_MAP_BOTH}

cdef enum:
    CUB_GK21 = 0
    CUB_GK15 = 1
    CUB_GM = 2

cdef double GM_SPLIT = 0.47049150281252627    # 0.5 - (sqrt(5) - 2) / 8
# a Genz-Malik region is "thin" (audited once before convergence, _thin_audit) beyond this
# ratio of its widest to its narrowest axis, relative to the first region
cdef double GM_THIN = 3.0
cdef double SLOW_RATE = 2.0                     # see _checkpoint
# the boundary check of Genz-Malik regions: a feature in the strip l3 < |t| < 1 of an axis changes
# the integral by at most (1 - l3) / 2 of the region's volume times the mismatch it causes at the
# face centre (a jump; half that for a kink); GM_STRIP doubles it for features that cross the
# strip away from the face centre
cdef double GM_STRIP = 1.0 - 0.9486832980505138    # 1 - sqrt(9/10)
# threads: each round's nodes in chunks of NODE_CHUNK, handed out dynamically; measured on the
# 2-core machine under load (7-9 other processes), 676k nodes, OMP_WAIT_POLICY=passive:
# dynamic 64 ms, static 70 ms, guided 70 ms (medians)
cdef Py_ssize_t NODE_CHUNK = 2048
cdef double UNCONVERGED_SAFETY = 2.0
# the ratio tests of a region's error (_region_error, _product_error)
cdef double RATIO_CRIT = 0.5
cdef double RATIO_WIDEN = 2.0
cdef double PRODUCT_CRIT = 0.01
cdef double PRODUCT_WIDEN = 4.0
cdef double TRUST_ALONE = 1e-4
cdef double ROUNDING = 50.0 * 2.220446049250313e-16
cdef double GM_FACE_MAPPED = 0.9486832980505138    # face nodes of a mapped axis: at the l3 nodes

#: the cubature rules, as codes of the C enum
RULES = {"gk21": CUB_GK21, "gauss-kronrod": CUB_GK21, "gk15": CUB_GK15, "genz-malik": CUB_GM}
#: most nodes a rule may place in one region (the node buffers of one round hold several regions)
MAX_RULE_NODES = 50_000_000


include "_cubature_rules.pxi"


cdef inline void heap_up(int *h, double *key, int i) noexcept nogil:
    cdef int v = h[i], parent
    while i > 0:
        parent = (i - 1) // 2
        if key[h[parent]] < key[v]:
            h[i] = h[parent]
            i = parent
        else:
            break
    h[i] = v


cdef inline int heap_pop_idx(int *h, int *n, double *key) noexcept nogil:
    cdef int top = h[0], last, i = 0, c
    n[0] -= 1
    if n[0] == 0:
        return top
    last = h[n[0]]
    while True:
        c = 2 * i + 1
        if c >= n[0]:
            break
        if c + 1 < n[0] and key[h[c]] < key[h[c + 1]]:
            c += 1
        if key[last] < key[h[c]]:
            h[i] = h[c]
            i = c
        else:
            break
    h[i] = last
    return top


cdef class _CubState:
    """Growable storage of the regions of one cubature run."""
    cdef int d, nout, cap, n
    cdef double *a
    cdef double *b
    cdef double *est
    cdef double *err
    cdef double *key
    cdef int *heap
    cdef int *ax
    cdef char *audited     # Genz-Malik: the region (or an ancestor) passed _thin_audit
    cdef double *inv0      # 1 / the first region's widths (what "thin" is measured against)
    cdef int nheap
    cdef double rho        # the largest ratio of a product-rule region's test (_product_error)

    def __dealloc__(self):
        free(self.a); free(self.b); free(self.est); free(self.err); free(self.key); free(self.heap)
        free(self.ax); free(self.audited); free(self.inv0)

    cdef int grow(self, int need) except -1:
        cdef int ncap = self.cap
        if need <= self.cap:
            return 0
        while ncap < need:
            ncap = ncap * 2 if ncap else 64
        self.a = <double *>realloc(self.a, ncap * self.d * sizeof(double))
        self.b = <double *>realloc(self.b, ncap * self.d * sizeof(double))
        self.est = <double *>realloc(self.est, ncap * self.nout * sizeof(double))
        self.err = <double *>realloc(self.err, ncap * self.nout * sizeof(double))
        self.key = <double *>realloc(self.key, ncap * sizeof(double))
        self.heap = <int *>realloc(self.heap, ncap * sizeof(int))
        self.ax = <int *>realloc(self.ax, ncap * sizeof(int))
        self.audited = <char *>realloc(self.audited, ncap * sizeof(char))
        if self.a == NULL or self.b == NULL or self.est == NULL or self.err == NULL \
                or self.key == NULL or self.heap == NULL or self.ax == NULL \
                or self.audited == NULL:
            raise MemoryError()
        self.cap = ncap
        return 0

    def regions(self):
        out = []
        cdef int r, i
        for r in range(self.n):
            out.append((np.array([self.a[r * self.d + i] for i in range(self.d)]),
                        np.array([self.b[r * self.d + i] for i in range(self.d)]),
                        np.array([self.est[r * self.nout + i] for i in range(self.nout)]),
                        np.array([self.err[r * self.nout + i] for i in range(self.nout)])))
        return out


cdef int _thin_audit(_CubState st, int *pop, long room, const double *tot_est, double atol,
                     double rtol) noexcept:
    """Genz-Malik, at the point of convergence: the regions not yet audited that are thin (the
    widest axis, relative to the first region, more than GM_THIN times the narrowest) and faint
    (their estimate not 0 but within the tolerance of the whole: only a far tail seen there; a
    region that is 0 at every node is no more audited than the rules can see) are taken
    off the heap into ``pop`` (at most ``room``), marked, and set to be halved along their widest
    axis.  One-axis splits leave such strips beside features of other directions: a strip beside
    a narrow peak has every node, face centres included, on the peak's far tail, and its tiny
    embedded difference says nothing of the tail's mass entering through its long faces.  Halving
    the strip across puts nodes near it, and _children_floor charges any change.  Returns how
    many; each lineage is audited once.  (A strip along a kink or a ridge is not faint.)"""
    cdef int d = st.d, nout = st.nout, q, k = 0, n = 0, r, i, wide, j
    cdef double w, wmax, wmin
    cdef bint faint, seen
    for q in range(st.nheap):
        r = st.heap[q]
        faint = True
        seen = False
        for j in range(nout):
            faint = faint and fabs(st.est[r * nout + j]) <= fmax(atol, rtol * fabs(tot_est[j]))
            seen = seen or st.est[r * nout + j] != 0.0
        faint = faint and seen
        if faint and not st.audited[r] and n < room:
            wide = 0
            wmax = -1.0
            wmin = INFINITY
            for i in range(d):
                w = (st.b[r * d + i] - st.a[r * d + i]) * st.inv0[i]
                if w > wmax:
                    wmax = w
                    wide = i
                wmin = fmin(wmin, w)
            if wmax > GM_THIN * wmin:
                st.audited[r] = 1
                st.ax[r] = wide
                pop[n] = r
                n += 1
                continue
        st.heap[k] = r
        k += 1
    if n > 0:
        st.nheap = k
        for q in range(1, k):          # the heap property again over what is left
            heap_up(st.heap, st.key, q)
    return n


cdef int _split(_CubState st, int *pop, int npop, int rule, int nchild, double *tot_est,
                double *tot_err, double *par) noexcept:
    """Split the popped regions (their slots are reused for the first child, the others are
    appended); take their estimates out of the totals and keep them in ``par`` (npop * nout).
    Returns the new region count."""
    cdef int d = st.d, nout = st.nout, cidx = st.n, q, r, k, i, c, axis
    cdef double h
    for q in range(npop):
        r = pop[q]
        memcpy(par + <long>q * nout, st.est + <long>r * nout, nout * sizeof(double))
        for k in range(nout):
            tot_est[k] -= st.est[r * nout + k]
            tot_err[k] -= st.err[r * nout + k]
        if rule == CUB_GM:
            # cut off the dyadic grid (as adaptive Simpson does): a kink at a dyadic point would
            # otherwise stay beyond the outermost nodes of every descendant region, unseen
            axis = st.ax[r]
            h = GM_SPLIT * (st.b[r * d + axis] - st.a[r * d + axis])
            for i in range(d):
                st.a[cidx * d + i] = st.a[r * d + i]
                st.b[cidx * d + i] = st.b[r * d + i]
            st.audited[cidx] = st.audited[r]
            st.b[r * d + axis] = st.a[r * d + axis] + h
            st.a[cidx * d + axis] = st.a[r * d + axis] + h
            cidx += 1
        else:
            # 2^d children: child c takes the lower or upper half along each axis
            for c in range(1, nchild):
                for i in range(d):
                    h = 0.5 * (st.b[r * d + i] - st.a[r * d + i])
                    if (c >> i) & 1:
                        st.a[cidx * d + i] = st.a[r * d + i] + h
                        st.b[cidx * d + i] = st.b[r * d + i]
                    else:
                        st.a[cidx * d + i] = st.a[r * d + i]
                        st.b[cidx * d + i] = st.a[r * d + i] + h
                st.audited[cidx] = st.audited[r]
                cidx += 1
            for i in range(d):
                st.b[r * d + i] = st.a[r * d + i] + 0.5 * (st.b[r * d + i] - st.a[r * d + i])
    return cidx


cdef enum:
    REASON_NONE = 0
    REASON_SUBDIV = 1
    REASON_MAXEVAL = 2
    REASON_STALL = 3
    FIRST_CHECK = 8       # subdivisions at the first checkpoint (then at every doubling)
    HIST = 24             # rounds recorded before the checkpoints take over (<= 16 needed)

#: why a run stopped (the ``reason`` of cubature_run)
REASONS = {"converged": REASON_NONE, "max_subdivisions": REASON_SUBDIV, "maxeval": REASON_MAXEVAL,
           "stalled": REASON_STALL}


cdef struct Watch:
    # checkpoints of the totals at 32, 64, 128, ... subdivisions: convergence needs the estimate
    # to agree with the one at half as many regions (two levels agreeing), and a run whose error
    # shrinks too slowly to reach the tolerance within the budget stops early
    double *c0            # totals at the checkpoint before the last (nout)
    double *c1            # totals at the last checkpoint (nout)
    double q1             # error / tolerance at the last checkpoint
    long next
    int nck
    int slow              # consecutive checkpoints whose error shrank by less than SLOW_RATE
    # before the checkpoints: the totals before each round (HIST * nout) and the subdivisions
    # then, so that two levels are compared at about half as many regions from the first round
    double *hist
    long hsub[HIST]
    int nh


cdef double _tol_ratio(const double *est, const double *err, int nout, double atol,
                       double rtol) noexcept:
    """max over outputs of error / tolerance."""
    cdef int k
    cdef double q = 0.0, tol
    for k in range(nout):
        tol = atol + rtol * fabs(est[k])
        if not (err[k] <= tol):
            q = fmax(q, err[k] / tol if tol > 0 else INFINITY)
        elif tol > 0:
            q = fmax(q, err[k] / tol)
    return q


cdef const double *_half(const Watch *w, long subdiv, int nout) noexcept:
    """The totals recorded at about half as many subdivisions (the last at most subdiv / 2: the
    first region's for subdiv 1), before the checkpoints take over; NULL before any round."""
    cdef int j = w.nh - 1
    if j < 0:
        return NULL
    while j > 0 and 2 * w.hsub[j] > subdiv:
        j -= 1
    return w.hist + <long>j * nout


cdef bint _agrees(const Watch *w, const double *est, const double *err, const double *prev,
                  long subdiv, int nout, double atol, double rtol) noexcept:
    """Two levels agree: from the second checkpoint on, the estimate and the one at the
    checkpoint before the last; before, after at least one round, the estimate and the one at
    about half as many subdivisions (``prev``, see _half); a product rule (``subdiv < 0``) may
    trust a first region that its ratio test found resolved alone.  An
    integrand that was 0 at every node so far (a narrow peak missed?) needs the checkpoints'
    evidence.""" 
    cdef int k
    cdef bint seen = False
    for k in range(nout):
        seen = seen or est[k] != 0.0 or err[k] != 0.0
    if w.nck < 2:
        if not seen or subdiv <= 0:
            return seen and subdiv < 0      # (subdiv < 0: one region may be trusted alone)
        for k in range(nout):
            if not (fabs(est[k] - prev[k]) <= atol + rtol * fabs(est[k])):
                return False
        return True
    for k in range(nout):
        if not (fabs(est[k] - w.c0[k]) <= atol + rtol * fabs(est[k])):
            return False
    return True


cdef bint _checkpoint(Watch *w, const double *est, const double *err, int nout, double atol,
                      double rtol, long subdiv, long nfev, long max_subdivisions,
                      long maxeval) noexcept:
    """Record a checkpoint; True when the run has stalled: the error estimate shrinks so slowly
    that meeting the tolerance would take more than the budget."""
    cdef int k
    cdef double q = _tol_ratio(est, err, nout, atol, rtol), rate, more
    cdef bint stalled = False
    if w.nck >= 2:
        # a rule of degree >= 5 shrinks a smooth integrand's error far faster than SLOW_RATE per
        # doubling of the regions; kinks and singularities shrink it slower (about 2**(2/d))
        rate = w.q1 / q if q > 0 else INFINITY
        w.slow = w.slow + 1 if rate < SLOW_RATE else 0
        if w.slow >= 2 and w.nck >= 3:
            if rate <= 1.0:
                stalled = True
            elif q > 1.0:
                more = 2.0 ** (log(q) / log(rate))      # growth of the work still needed
                stalled = (subdiv * more > max_subdivisions
                           or (maxeval > 0 and nfev * more > maxeval))
    for k in range(nout):
        w.c0[k] = w.c1[k]
        w.c1[k] = est[k]
    w.q1 = q
    w.nck += 1
    w.next *= 2
    return stalled


cdef void _totals(_CubState st, double *tot_est, double *tot_err) noexcept:
    """Final sums over the regions (sheds the running sums' rounding)."""
    cdef int k, r, nout = st.nout
    for k in range(nout):
        tot_est[k] = 0.0
        tot_err[k] = 0.0
    for r in range(st.n):
        for k in range(nout):
            tot_est[k] += st.est[r * nout + k]
            tot_err[k] += st.err[r * nout + k]


cdef void _push_regions(_CubState st, const int *pop, int npop, int cidx, double *tot_est,
                        double *tot_err) noexcept:
    """Add the regions just evaluated (the popped slots and st.n .. cidx) to the totals and the
    heap."""
    cdef int q, r, k, nout = st.nout
    for q in range(npop + cidx - st.n):
        r = pop[q] if q < npop else st.n + q - npop
        for k in range(nout):
            tot_est[k] += st.est[r * nout + k]
            tot_err[k] += st.err[r * nout + k]
        heap_up_push(st, r)
    st.n = cidx


cdef void _watch_init(Watch *w, int nout) noexcept:
    w.c0 = <double *>calloc_(nout)
    w.c1 = <double *>calloc_(nout)
    w.hist = <double *>calloc_(HIST * nout)
    w.nh = 0
    w.q1 = INFINITY
    w.next = FIRST_CHECK
    w.nck = 0
    w.slow = 0


cdef void _record_round(Watch *w, double *prev, const double *tot_est, int nout,
                        long subdiv) noexcept:
    """The totals before a round: ``prev``, and (before the checkpoints) the history."""
    memcpy(prev, tot_est, nout * sizeof(double))
    if w.nck < 2 and w.nh < HIST:
        memcpy(w.hist + <long>w.nh * nout, tot_est, nout * sizeof(double))
        w.hsub[w.nh] = subdiv
        w.nh += 1


cdef void _children_floor(_CubState st, const int *pop, int npop, const double *par,
                          int nchild) noexcept:
    """Two levels agreeing, region by region: the children of a split together err at least as
    much as their estimate differs from their parent's (each child is charged its share,
    1 / nchild).  A region's rules can all be blind at once (a kink at some positions between
    their shared nodes: the rules then agree to 1% of their error); its children see the kink
    elsewhere, and the change shows it.  For a smooth integrand the change is the parent's
    true error, far below the children's own estimates.  (Children of popped region q: its
    slot, then slots st.n + q (nchild - 1) ... in _split's order.)"""
    cdef int nout = st.nout, q, j, k, r
    cdef double tot, floor_
    for q in range(npop):
        for k in range(nout):
            tot = st.est[pop[q] * nout + k]
            for j in range(nchild - 1):
                tot += st.est[(st.n + q * (nchild - 1) + j) * nout + k]
            floor_ = fabs(tot - par[q * nout + k]) / nchild
            for j in range(nchild):
                r = pop[q] if j == 0 else st.n + q * (nchild - 1) + j - 1
                if st.err[r * nout + k] < floor_:
                    st.err[r * nout + k] = floor_
                    st.key[r] = fmax(st.key[r], floor_)


cdef void _final_error(const Watch *w, const double *prev, const double *half,
                       const double *tot_est, double *tot_err, int nout, bint converged,
                       long subdiv) noexcept:
    """The reported error: the regions' sum, at least the change since the checkpoint before
    the last; when not converged, widened (see the docstring of cubature_run)."""
    cdef int k
    for k in range(nout):
        if w.nck >= 2:
            tot_err[k] = fmax(tot_err[k], fabs(tot_est[k] - w.c0[k]))
        elif converged and subdiv > 0 and half != NULL:
            # (the two levels that agreed: this estimate and the one on about half the regions)
            tot_err[k] = fmax(tot_err[k], fabs(tot_est[k] - half[k]))
        if not converged:
            # a run stopped before the asymptotic regime: its embedded differences are not yet
            # reliable (at a kink or jump they run below the true error), and its estimates still
            # move by about as much as their error each round (a jump: error ~ h); report twice
            # the sum of the regions' errors, and at least twice the last round's change
            tot_err[k] = UNCONVERGED_SAFETY * tot_err[k]
            if subdiv > 0:
                tot_err[k] = fmax(tot_err[k], UNCONVERGED_SAFETY * fabs(tot_est[k] - prev[k]))


def cubature_run(f, const double[::1] a, const double[::1] b, int nout, int rule, double rtol,
                 double atol, long max_subdivisions, bint vectorized, tuple args,
                 const int[::1] transform, const double[::1] xa, int max_batch=512,
                 long maxeval=0, int workers=1):
    """Adaptive cubature on the box [a, b] (in the transformed variables), within
    ``max_subdivisions`` and ``maxeval`` evaluations (0: no limit).  Returns (estimate, error,
    converged, subdivisions, neval, state, reason); once checkpoints exist, the error is at least
    the change of the estimate since the checkpoint before the last.  A compiled integrand
    (``releases_gil``) is evaluated from ``workers`` OpenMP threads, in chunks of each round's
    nodes (the same values, so the same result, as one thread)."""
    cdef int d = a.shape[0]
    cdef Evaluator ev = as_evaluator(f, d, nout, False, nout == 1, vectorized, args)
    cdef CubRule ru
    ru.x = NULL; ru.wk = NULL; ru.wl = NULL; ru.w2 = NULL; ru.w3 = NULL
    cdef _CubState st = _CubState.__new__(_CubState)
    st.d = d
    st.nout = nout
    cdef double *X = NULL
    cdef double *F = NULL
    cdef double *J = NULL
    cdef int *pop = NULL
    cdef double *par = NULL       # the popped parents' estimates (max_batch * nout)
    cdef double *tot_est = <double *>calloc_(nout)
    cdef double *tot_err = <double *>calloc_(nout)
    cdef double *prev = <double *>calloc_(nout)      # the totals before the last round
    cdef int nchild, npop, q, c, i, k, p, r, axis, npts, cidx, nsplit
    cdef long subdiv = 0, m, cap_pts, room
    cdef double h, cc, ja, v, best, fc_, t2, t3, diff
    cdef bint converged = False, audit
    cdef int reason = 0
    cdef Watch w
    _watch_init(&w, nout)
    try:
        if w.c0 == NULL or w.c1 == NULL or w.hist == NULL:
            raise MemoryError()
        if rule == CUB_GM:
            build_gm_rule(&ru, d)
        else:
            build_product_rule(&ru, d, rule)
        npts = ru.npts
        nchild = 2 if rule == CUB_GM else (1 << d)
        cap_pts = <long>4 * nchild * npts      # grown on demand (large blocks cost page faults)
        _node_buffers(cap_pts, d, nout, &X, &F, &J)
        pop = <int *>malloc(max_batch * sizeof(int))
        par = <double *>malloc(<long>max_batch * nout * sizeof(double))
        if pop == NULL or par == NULL or tot_est == NULL or tot_err == NULL or prev == NULL:
            raise MemoryError()
        # the first region
        st.grow(1)
        st.inv0 = <double *>malloc(d * sizeof(double))
        if st.inv0 == NULL:
            raise MemoryError()
        for i in range(d):
            st.a[i] = a[i]
            st.b[i] = b[i]
            st.inv0[i] = 1.0 / (b[i] - a[i])
        st.audited[0] = 0
        st.n = 1
        _cub_eval(ev, &ru, st, 0, 1, X, F, J, transform, xa, workers)
        st.heap[0] = 0
        st.nheap = 1
        for k in range(nout):
            tot_est[k] = st.est[k]
            tot_err[k] = st.err[k]
        while True:
            # a round may not overrun maxeval: it splits at most `room` regions
            room = max_batch
            if maxeval > 0:
                room = <long>min(<long>max_batch, (maxeval - ev.nfev) // (<long>nchild * npts))
            npop = 0
            if _tol_ratio(tot_est, tot_err, nout, atol, rtol) <= 1.0 \
                    and _agrees(&w, tot_est, tot_err, _half(&w, subdiv, nout), subdiv
                                if rule == CUB_GM or subdiv > 0 or st.rho > TRUST_ALONE else -1,
                                nout, atol, rtol):
                if rule == CUB_GM and subdiv < max_subdivisions and room >= 1:
                    npop = _thin_audit(st, pop, min(room, max_subdivisions - subdiv), tot_est,
                                       atol, rtol)
                if npop == 0:
                    converged = True
                    break
            reason = (REASON_SUBDIV if subdiv >= max_subdivisions else
                      REASON_MAXEVAL if room < 1 else 0)
            # (an audit round is not a stall check: the run had converged)
            if reason == 0 and npop == 0 and subdiv >= w.next and _checkpoint(
                    &w, tot_est, tot_err, nout, atol, rtol, subdiv, ev.nfev, max_subdivisions,
                    maxeval):
                reason = REASON_STALL
            if reason:
                break
            # pop the worst region and the others within a factor 4 of it (one batch)
            best = st.key[st.heap[0]] if st.nheap > 0 else 0.0
            _record_round(&w, prev, tot_est, nout, subdiv)
            audit = npop > 0
            while not audit and st.nheap > 0 and npop < room and subdiv + npop < max_subdivisions:
                if npop > 0 and not (st.key[st.heap[0]] >= 0.25 * best):
                    break
                pop[npop] = heap_pop_idx(st.heap, &st.nheap, st.key)
                npop += 1
            st.grow(st.n + npop * (nchild - 1))
            cidx = _split(st, pop, npop, rule, nchild, tot_est, tot_err, par)
            # evaluate: the popped slots (now first children) and the new ones
            if <long>(cidx - st.n + npop) * npts > cap_pts:
                cap_pts = <long>(cidx - st.n + npop) * npts * 2
                _node_buffers(cap_pts, d, nout, &X, &F, &J)
            _cub_eval_list(ev, &ru, st, pop, npop, st.n, cidx - st.n, X, F, J, transform, xa,
                           workers)
            _children_floor(st, pop, npop, par, nchild)
            _push_regions(st, pop, npop, cidx, tot_est, tot_err)
            subdiv += npop
        _totals(st, tot_est, tot_err)
        _final_error(&w, prev, _half(&w, subdiv, nout), tot_est, tot_err, nout, converged,
                     subdiv)
        est = np.array([tot_est[k] for k in range(nout)])
        err = np.array([tot_err[k] for k in range(nout)])
        return est, err, converged, subdiv, ev.nfev, st, reason
    finally:
        free(ru.x); free(ru.wk); free(ru.wl); free(ru.w2); free(ru.w3)
        free(X); free(F); free(J); free(pop); free(par)
        free(tot_est); free(tot_err); free(prev); free(w.c0); free(w.c1); free(w.hist)


cdef int _node_buffers(long cap, int d, int nout, double **X, double **F,
                       double **J) except -1:
    """(Re)allocate a round's node buffers for ``cap`` nodes (contents not kept)."""
    free(X[0]); free(F[0]); free(J[0])
    X[0] = <double *>malloc(d * cap * sizeof(double))
    F[0] = <double *>malloc(nout * cap * sizeof(double))
    J[0] = <double *>malloc(cap * sizeof(double))
    if X[0] == NULL or F[0] == NULL or J[0] == NULL:
        raise MemoryError()
    return 0


cdef void *calloc_(int n) noexcept:
    cdef double *p = <double *>malloc(n * sizeof(double))
    if p != NULL:
        memset(p, 0, n * sizeof(double))
    return p


cdef void heap_up_push(_CubState st, int r) noexcept:
    st.heap[st.nheap] = r
    st.nheap += 1
    heap_up(st.heap, st.key, st.nheap - 1)


cdef int _cub_eval(Evaluator ev, CubRule *ru, _CubState st, int first, int count, double *X,
                   double *F, double *J, const int[::1] transform,
                   const double[::1] xa, int workers) except -1:
    cdef int *lst = <int *>malloc(count * sizeof(int))
    cdef int i
    if lst == NULL:
        raise MemoryError()
    for i in range(count):
        lst[i] = first + i
    try:
        _cub_eval_list(ev, ru, st, lst, count, 0, 0, X, F, J, transform, xa, workers)
    finally:
        free(lst)
    return 0


cdef int _eval_nodes(Evaluator ev, long m, const double *X, double *F,
                     int workers) except -1:
    """Evaluate a compiled integrand at the m nodes of a round, in chunks of NODE_CHUNK nodes
    handed out to ``workers`` OpenMP threads.  The chunks are the same for every ``workers``
    (1 included), so is every value (a built-in's vector loop may round a point differently
    in its tail), so the result is the same bit for bit."""
    cdef Py_ssize_t nchunks = (m + NODE_CHUNK - 1) // NODE_CHUNK, c, j0, nb
    if workers <= 1 or nchunks < 2:
        with nogil:
            for c in range(nchunks):
                j0 = c * NODE_CHUNK
                nb = m - j0 if m - j0 < NODE_CHUNK else NODE_CHUNK
                ev.eval(nb, X + j0, m, F + j0, m)
        return 0
    with nogil:
        for c in prange(nchunks, num_threads=workers, schedule="dynamic"):
            j0 = c * NODE_CHUNK
            nb = m - j0 if m - j0 < NODE_CHUNK else NODE_CHUNK
            ev.eval(nb, X + j0, m, F + j0, m)
    return 0


cdef inline double _gm_val(const double *F, const double *J, long at) noexcept nogil:
    return F[at] * J[at] if F[at] != 0.0 else 0.0


cdef double _gm_boundary(CubRule *ru, const double *F, const double *J, long base, int i,
                         double *score) noexcept nogil:
    """|value - extrapolation| at the two face centres of axis i (one output's F)."""
    cdef long a = base + 1 + 4 * i
    cdef double v0 = _gm_val(F, J, base), vm2 = _gm_val(F, J, a), vp2 = _gm_val(F, J, a + 1)
    cdef double vm3 = _gm_val(F, J, a + 2), vp3 = _gm_val(F, J, a + 3)
    cdef double up = ru.ext[0] * vm3 + ru.ext[1] * vm2 + ru.ext[2] * v0 + ru.ext[3] * vp2 \
        + ru.ext[4] * vp3
    cdef double dn = ru.ext[0] * vp3 + ru.ext[1] * vp2 + ru.ext[2] * v0 + ru.ext[3] * vm2 \
        + ru.ext[4] * vm3
    cdef long fa = base + ru.face + 2 * i
    cdef double dm = _gm_val(F, J, fa) - dn, dp = _gm_val(F, J, fa + 1) - up
    cdef double dev = fabs(dm + dp)
    score[0] = fmax(score[0], fabs(dm) + fabs(dp))
    return dev


cdef inline double _ratio(double num, double den) noexcept nogil:
    if den > 0.0:
        return num / den
    return 0.0 if num == 0.0 else INFINITY


cdef inline double _region_error(double e1, double e2, double e3, double noise) noexcept nogil:
    """A Genz-Malik region's error (per unit volume) from the differences between its rule
    (degree 7) and three lower-degree rules: the embedded one (degree 5, e1) and the ratio
    test's two (degree 3 on the centre and corners, e2; the centre alone, e3); differences below
    the rounding ``noise`` count as 0.  In the asymptotic regime of a smooth integrand they
    shrink with the degree (the ratios e1/e2 and e2/e3 are O(h**2), at most RATIO_CRIT): e1,
    the embedded rule's own error (pessimistic), is the estimate.  Otherwise the region is not
    resolved (a kink, jump or unresolved peak: the rules' errors are of one order, and e1 may
    be small by cancellation): RATIO_WIDEN times the larger of e1 and e2.  The null-rule ratio
    test of DCUHRE (Berntsen, Espelid and Genz 1991), on rules instead of null rules (e3 only
    judges; an estimate from the centre alone would stall subdivision at O(h**2))."""
    if e1 <= noise:
        e1 = 0.0
    if e2 <= noise:
        e2 = 0.0
    if e3 <= noise:
        e3 = 0.0
    cdef double r = fmax(_ratio(e1, e2), _ratio(e2, e3))
    if r <= RATIO_CRIT:
        return e1
    return RATIO_WIDEN * fmax(e1, e2)


cdef inline double _product_error(double e1, double e2, double e3, double noise,
                                  double *rho_max) noexcept nogil:
    """A product-rule region's error (per unit volume): e1 and e2 are the differences between
    the rule (21 nodes per axis for gk21) and its two disjoint ~10-node rules (Gauss, and the
    interpolatory rule on the Kronrod-only nodes), e3 the difference to a 5-node rule.  Their
    larger, E = max(e1, e2), guards against one being small by cancellation (at a kink all
    three rules err alike).  An analytic integrand's error falls geometrically with the nodes:
    then E / e3 <= PRODUCT_CRIT (measured <= 0.014 on resolved Gaussians) and e1, the Gauss
    rule's own error (QUADPACK's estimate), bounds the 21-node rule's with a wide margin.  A kink
    or jump falls algebraically (E / e3 ~ (5/10)**2 nominally, 0.016 .. 2 by the kink's position): E is
    widened by (E / e3) / PRODUCT_CRIT, at most PRODUCT_WIDEN times.  All three rules share
    nodes, so at some kink positions they all err alike and the ratio looks smooth (0.005 seen
    on a 3-D kink): a run trusts its first region alone only when the ratio is at most
    TRUST_ALONE (kept in ``rho_max``; else it needs two levels that agree)."""
    cdef double big = fmax(e1, e2), rho
    if big <= noise:
        return big
    rho = _ratio(big, e3 if e3 > noise else 0.0)
    rho_max[0] = fmax(rho_max[0], rho)
    if rho <= PRODUCT_CRIT:
        return e1
    return big * fmin(rho / PRODUCT_CRIT, PRODUCT_WIDEN)


cdef int _cub_eval_list(Evaluator ev, CubRule *ru, _CubState st, int *lst, int nlst,
                        int first, int count, double *X, double *F, double *J,
                        const int[::1] transform, const double[::1] xa,
                        int workers) except -1:
    """Evaluate the rule on regions lst[0..nlst) and first..first+count, in one eval call."""
    cdef int d = st.d, nout = st.nout, npts = ru.npts
    cdef int nreg = nlst + count, q, r, i, p, k, best_ax
    cdef long m = <long>nreg * npts, base
    cdef double c, h, ja, vol, sk, sl, s2, s3, e, fc_, diff, bestd, t2, t3, val, mx, t, bnd, sc, sa
    for q in range(nreg):
        r = lst[q] if q < nlst else first + (q - nlst)
        base = <long>q * npts
        for p in range(npts):
            J[base + p] = 1.0
        for i in range(d):
            c = 0.5 * (st.a[r * d + i] + st.b[r * d + i])
            h = 0.5 * (st.b[r * d + i] - st.a[r * d + i])
            for p in range(npts):
                t = ru.x[i * npts + p]
                if fabs(t) == 1.0 and transform[i] != FC_MAP_NONE:
                    t *= GM_FACE_MAPPED    # (a face of a mapped axis may sit at infinity)
                X[i * m + base + p] = fc_tmap(transform[i], xa[i], c + h * t, &ja)
                J[base + p] *= ja
    if ev.releases_gil:
        _eval_nodes(ev, m, X, F, workers)
    else:
        ev.eval(m, X, m, F, m)
    for q in range(nreg):
        r = lst[q] if q < nlst else first + (q - nlst)
        base = <long>q * npts
        vol = 1.0
        for i in range(d):
            vol *= st.b[r * d + i] - st.a[r * d + i]
        mx = 0.0
        for k in range(nout):
            sk = 0.0
            sl = 0.0
            s2 = 0.0
            s3 = 0.0
            sa = 0.0
            for p in range(npts):
                val = F[k * m + base + p]
                if not isfinite(val):
                    raise FloatingPointError("the integrand returned NaN or inf at a cubature node")
                if val != 0.0:
                    val *= J[base + p]
                    if not isfinite(val):
                        raise FloatingPointError(
                            "the map of an infinite range overflowed: a finite integrand value "
                            "times the map's Jacobian is not finite at a node (the integrand does "
                            "not decay towards infinity; the integral probably diverges)")
                sk += ru.wk[p] * val
                sl += ru.wl[p] * val
                s2 += ru.w2[p] * val
                s3 += ru.w3[p] * val
                sa += fabs(ru.wk[p] * val)
            st.est[r * nout + k] = vol * sk
            bnd = 0.0
            if ru.kind == CUB_GM:
                # a kink or jump in the outer strips (beyond the outermost nodes, |t| > l3) is
                # invisible to both embedded rules: the face centres see it
                for i in range(d):
                    sc = 0.0
                    if transform[i] == FC_MAP_NONE:
                        bnd += _gm_boundary(ru, F + k * m, J, base, i, &sc)
                bnd *= GM_STRIP
            # (the rounding of the sum of the weighted values sets a floor, as in QUADPACK)
            if ru.kind == CUB_GM:
                e = _region_error(fabs(sk - sl), fabs(sk - s2), fabs(sk - s3), ROUNDING * sa)
            else:
                e = _product_error(fabs(sk - sl), fabs(sk - s2), fabs(sk - s3), ROUNDING * sa,
                                   &st.rho)
            st.err[r * nout + k] = fmax(e * vol + vol * bnd, ROUNDING * vol * sa)
            if st.err[r * nout + k] > mx:
                mx = st.err[r * nout + k]
        st.key[r] = mx
        if ru.kind == CUB_GM:
            # split where the fourth difference (or the boundary mismatch) is largest
            best_ax = 0
            bestd = -1.0
            for i in range(d):
                diff = 0.0
                for k in range(nout):
                    fc_ = F[k * m + base]
                    t2 = F[k * m + base + 1 + 4 * i] + F[k * m + base + 2 + 4 * i] - 2.0 * fc_
                    t3 = F[k * m + base + 3 + 4 * i] + F[k * m + base + 4 + 4 * i] - 2.0 * fc_
                    diff = fmax(diff, fabs(t2 - t3 / 7.0))
                    if transform[i] == FC_MAP_NONE:
                        _gm_boundary(ru, F + k * m, J, base, i, &diff)
                if diff > bestd:
                    bestd = diff
                    best_ax = i
            st.ax[r] = best_ax
    return 0
