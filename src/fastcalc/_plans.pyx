# cython: language_level=3
"""Stencil plans: the engine every finite-difference routine runs through.

A *plan* is a list of perturbations of a base point (``x + a1*h[d1]*e(d1) + a2*h[d2]*e(d2)``, a
direction ``d`` being a coordinate axis or a given vector, ``h[d]`` its step at that point) and,
for each perturbation, the accumulator rows its value contributes to with a weight.
:func:`run_plan` builds all perturbed points of all base points, has the
:class:`~fastcalc._core.Evaluator` evaluate them in as few batches as memory allows, and
accumulates ``sum(w * f)``.  :func:`finish_rows` divides by the step products and runs the
Richardson extrapolation over step levels.  Gradients, Jacobians, n-th derivatives, direct 2-D
Hessian stencils, Hessian-vector products, directional derivatives and Taylor coefficients are all
plans (:func:`make_plan`, cached).  The stencil weights are the Fornberg table of ``_diff.pxd``.
"""

cimport numpy as cnp
from libc.stdlib cimport malloc, free
from libc.string cimport memcpy, memset
from libc.math cimport fabs, pow, isfinite
from cython.parallel cimport prange, threadid

import numpy as np

from fastcalc._core cimport Evaluator
from fastcalc._diff cimport (FD_CENTRAL, FD_FORWARD, FD_BACKWARD, MAXDER, NACC, TAB_N, TAB_S,
                             TAB_W, STEP_FLOOR, _build_table, _acc_index, _valid, step_scale,
                             _exact_step)

cnp.import_array()
_build_table()          # this module's copy of the static table in fc_stencils.h

cdef enum:
    CHUNK_C = 2048      # points per eval call for compiled callables (cache-sized) ...
    CHUNK_C_DOUBLES = 1 << 18    # ... and at most this many doubles per batch (2 MB)
    CHUNK_PY_DOUBLES = 1 << 14   # doubles of one point batch for vectorized Python (128 KB:
                                 # temporaries of NumPy expressions stay in cache)
    RUN_SMALL_PERT = 128         # run_plan: plans this small list their points on the stack,
    RUN_SMALL_DOUBLES = 1024     # ... and batches this small live there (8 KB)

cdef double EPS = 2.220446049250313e-16
#: relative steps scale with ``|x|``, floored at this absolute value near ``x = 0``
SCALE_FLOOR = STEP_FLOOR

#: most step levels of one plan (extrapolated plans: 8)
MAX_LEVELS = 48

#: most perturbations a general plan (built from Python specs by make_plan) may have; the Hessian
#: family needs no plan (``_hessplan``, closed form) and is limited by memory only
MAX_GENERAL_POINTS = 1 << 22


def _physical_memory():
    try:
        import os
        return int(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return 16 << 30


#: most Hessian rows (pairs i <= j) one call may have: about 256 bytes of working memory per row
#: (the result, the value/error/status arrays of the engine and the wrappers' specs) must fit in
#: this machine's memory
MAX_HESSIAN_ROWS = _physical_memory() // 256
#: the wrappers' bound on ``rows * 4 * (richardson + 3)`` stencil points of a Hessian: a Hessian
#: with more than ``MAX_HESSIAN_ROWS`` rows is refused (by size) before anything is allocated
MAX_PLAN_POINTS = 12 * MAX_HESSIAN_ROWS

cdef inline void _displace(double *X, Py_ssize_t ldX, Py_ssize_t seg, int n, int d, double a,
                           const int *dcoord, const double *dvec, const double *h, Py_ssize_t m,
                           Py_ssize_t ja) noexcept nogil:
    cdef Py_ssize_t s
    cdef int i
    cdef int c = dcoord[d]
    cdef const double *hd = h + d * m + ja
    cdef double *row
    cdef const double *vec
    if c >= 0:
        row = X + c * ldX
        for s in range(seg):
            row[s] = displace(row[s], a * hd[s])
    else:
        vec = dvec + (-1 - c) * n * m + ja
        for i in range(n):
            row = X + i * ldX
            for s in range(seg):
                row[s] += a * hd[s] * vec[i * m + s]


cdef Py_ssize_t _known_centre(const Plan *P, int nout, Py_ssize_t m, const double *f0,
                              double *acc, double *accabs, Py_ssize_t *evl) noexcept nogil:
    """Accumulate the known centre ``f0`` (when given) and list the perturbations to evaluate in
    ``evl``; returns their number."""
    cdef Py_ssize_t nrow = P.nrow, p, t, j, ne = 0
    cdef int k, r
    cdef double w
    cdef double *arow
    cdef double *brow
    for p in range(P.npert):
        if P.d1[p] < 0 and f0 != NULL:
            for t in range(P.tptr[p], P.tptr[p + 1]):
                r = P.trow[t]
                w = P.tw[t]
                for k in range(nout):
                    arow = acc + (k * nrow + r) * m
                    for j in range(m):
                        arow[j] += w * f0[k * m + j]
                    if accabs != NULL:
                        brow = accabs + (k * nrow + r) * m
                        for j in range(m):
                            brow[j] += fabs(w * f0[k * m + j])
        else:
            evl[ne] = p
            ne += 1
    return ne


cdef Py_ssize_t _chunk_points(Evaluator ev, Py_ssize_t total) noexcept nogil:
    """Points per ``eval`` call: cache-sized blocks (smaller for vectorized Python, whose NumPy
    temporaries should stay in cache)."""
    cdef Py_ssize_t C, width = ev.n + ev.nout
    if not ev.nogil:
        C = CHUNK_PY_DOUBLES // width
    else:
        C = CHUNK_C_DOUBLES // width
        if C > CHUNK_C:
            C = CHUNK_C
    if C < 1:
        C = 1
    return total if C > total else C


cdef inline Py_ssize_t _segment(Py_ssize_t qq, Py_ssize_t j0, Py_ssize_t mm, Py_ssize_t left,
                               Py_ssize_t *pe, Py_ssize_t *ja) noexcept nogil:
    """Point ``qq`` of a chunk: its perturbation ``pe``, base point ``ja``, and how many points
    (at most ``left``) follow it in one run of consecutive base points of that perturbation."""
    if mm == 1:                     # one base point (a gradient at x): no division
        pe[0] = qq
        ja[0] = j0
        return 1
    pe[0] = qq // mm
    ja[0] = j0 + qq - pe[0] * mm
    cdef Py_ssize_t seg = j0 + mm - ja[0]
    return left if seg > left else seg


cdef void _build_chunk(const Plan *P, const Py_ssize_t *evl, int n, Py_ssize_t m, Py_ssize_t j0,
                       Py_ssize_t mm, const double *x, Py_ssize_t ldx, const int *dcoord,
                       const double *dvec, const double *h, Py_ssize_t q, Py_ssize_t cnt,
                       double *X, Py_ssize_t C) noexcept nogil:
    """Points ``q .. q+cnt-1`` of the base points ``j0 .. j0+mm-1`` (perturbation-major, base
    points innermost) into ``X`` (n, C): runs of consecutive base points of one perturbation."""
    cdef Py_ssize_t off = 0, qq = q, pe, ja, seg, p
    cdef int i
    while off < cnt:
        seg = _segment(qq, j0, mm, cnt - off, &pe, &ja)
        p = evl[pe]
        if seg == 1:                  # one point (m == 1): no memcpy call per variable
            for i in range(n):
                X[i * C + off] = x[i * ldx + ja]
        else:
            for i in range(n):
                memcpy(X + i * C + off, x + i * ldx + ja, seg * sizeof(double))
        if P.d1[p] >= 0:
            _displace(X + off, C, seg, n, P.d1[p], P.a1[p], dcoord, dvec, h, m, ja)
        if P.d2[p] >= 0:
            _displace(X + off, C, seg, n, P.d2[p], P.a2[p], dcoord, dvec, h, m, ja)
        off += seg
        qq += seg


cdef void _accumulate_chunk(const Plan *P, const Py_ssize_t *evl, int nout, Py_ssize_t m,
                            Py_ssize_t j0, Py_ssize_t mm, Py_ssize_t q, Py_ssize_t cnt,
                            const double *V, Py_ssize_t C, double *acc,
                            double *accabs) noexcept nogil:
    """Add the weighted values ``V`` (nout, C) of points ``q .. q+cnt-1`` to their rows."""
    cdef Py_ssize_t nrow = P.nrow, off = 0, qq = q, pe, ja, seg, p, t, s
    cdef int k, r
    cdef double w
    cdef double *arow
    cdef double *brow
    cdef const double *vrow
    while off < cnt:
        seg = _segment(qq, j0, mm, cnt - off, &pe, &ja)
        p = evl[pe]
        for t in range(P.tptr[p], P.tptr[p + 1]):
            r = P.trow[t]
            w = P.tw[t]
            for k in range(nout):
                arow = acc + (k * nrow + r) * m + ja
                vrow = V + k * C + off
                for s in range(seg):
                    arow[s] += w * vrow[s]
                if accabs != NULL:
                    brow = accabs + (k * nrow + r) * m + ja
                    for s in range(seg):
                        brow[s] += fabs(w * vrow[s])
        off += seg
        qq += seg


cdef int _run_range(Evaluator ev, const Plan *P, const Py_ssize_t *evl, Py_ssize_t ne,
                    Py_ssize_t m, Py_ssize_t j0, Py_ssize_t mm, const double *x, Py_ssize_t ldx,
                    const int *dcoord, const double *dvec, const double *h, double *acc,
                    double *accabs, double *X, Py_ssize_t C) except -1 nogil:
    """The listed perturbations of base points ``j0 .. j0+mm-1``, in batches of C points."""
    cdef Py_ssize_t total = ne * mm, q = 0, cnt
    cdef int n = ev.n
    while q < total:
        cnt = C if total - q > C else total - q
        _build_chunk(P, evl, n, m, j0, mm, x, ldx, dcoord, dvec, h, q, cnt, X, C)
        ev.eval(cnt, X, C, X + n * C, C)
        _accumulate_chunk(P, evl, ev.nout, m, j0, mm, q, cnt, X + n * C, C, acc, accabs)
        q += cnt
    return 0


cdef int _run_one(Evaluator ev, const Plan *P, const Py_ssize_t *evl, Py_ssize_t ne,
                  const double *x, Py_ssize_t ldx, const int *dcoord, const double *h,
                  double *acc, double *accabs, double *X, Py_ssize_t C) except -1 nogil:
    """``_run_range`` for ONE base point along coordinate directions, one output: every column
    of ``X`` holds x once, a point changes its one or two entries, undone after the batch.  The
    same points and the same sums in the same order as ``_run_range`` (the same bits), without
    its per-point copy of x and its run loops (a d = 10 gradient at one point: about half the
    instructions)."""
    cdef int n = ev.n, i, d1, d2
    cdef Py_ssize_t q = 0, cnt, k, p, t
    cdef double v, wv
    cdef bint last
    cdef double *V = X + n * C
    cnt = C if ne > C else ne
    fill_columns(X, C, cnt, x, ldx, n)
    while q < ne:
        cnt = C if ne - q > C else ne - q
        for k in range(cnt):
            p = evl[q + k]
            d1 = P.d1[p]
            d2 = P.d2[p]
            if d1 >= 0:
                X[dcoord[d1] * C + k] = displace(X[dcoord[d1] * C + k], P.a1[p] * h[d1])
            if d2 >= 0:
                X[dcoord[d2] * C + k] = displace(X[dcoord[d2] * C + k], P.a2[p] * h[d2])
        ev.eval(cnt, X, C, V, C)
        last = q + cnt == ne        # (no batch follows: nothing to undo)
        for k in range(cnt):
            p = evl[q + k]
            if not last and P.d1[p] >= 0:
                X[dcoord[P.d1[p]] * C + k] = x[dcoord[P.d1[p]] * ldx]
            if not last and P.d2[p] >= 0:
                X[dcoord[P.d2[p]] * C + k] = x[dcoord[P.d2[p]] * ldx]
            v = V[k]
            for t in range(P.tptr[p], P.tptr[p + 1]):
                wv = P.tw[t] * v
                acc[P.trow[t]] += wv
                if accabs != NULL:
                    accabs[P.trow[t]] += fabs(wv)
        q += cnt
    return 0


cdef int run_plan(Evaluator ev, const Plan *P, Py_ssize_t m, const double *x, Py_ssize_t ldx,
                  const int *dcoord, const double *dvec, const double *h, const double *f0,
                  double *acc, double *accabs, int workers=1) except -1 nogil:
    """Evaluate the plan at ``m`` base points and accumulate ``acc[(k*nrow + r)*m + j]``.

    ``x[i*ldx + j]``: variable i of base point j.  Direction ``d`` moves coordinate ``dcoord[d]``
    (when >= 0) or along the vector ``dvec[((-1-dcoord[d])*n + i)*m + j]``, by ``a * h[d*m + j]``.
    ``f0`` (nout x m, may be NULL) holds f(x): the centre perturbation is then not evaluated.
    ``accabs`` (may be NULL) accumulates ``|w * f|`` for the rounding-error estimate.
    ``workers`` > 1 (compiled callables, m > 1): the base points are split into one contiguous
    range per OpenMP thread (static: every point costs the same); each point's sums are added in
    the same order whatever the split, so the results are bit-identical to one thread.
    """
    cdef int n = ev.n
    cdef int nout = ev.nout
    cdef int nw, t
    cdef Py_ssize_t ne, C, lo, hi
    cdef Py_ssize_t *evl = NULL
    cdef double *X = NULL
    cdef Py_ssize_t evl_small[RUN_SMALL_PERT]      # (a small plan at one point: no malloc)
    cdef double X_small[RUN_SMALL_DOUBLES]
    memset(acc, 0, nout * P.nrow * m * sizeof(double))
    if accabs != NULL:
        memset(accabs, 0, nout * P.nrow * m * sizeof(double))
    if m <= 0 or P.npert <= 0:
        return 0
    if P.npert <= RUN_SMALL_PERT:
        evl = &evl_small[0]
    else:
        evl = <Py_ssize_t *>malloc(P.npert * sizeof(Py_ssize_t))
    if evl == NULL:
        with gil:
            raise MemoryError()
    try:
        ne = _known_centre(P, nout, m, f0, acc, accabs, evl)
        if ne == 0:
            return 0
        nw = workers if workers > 1 and ev.releases_gil else 1
        if nw > m:
            nw = <int>m
        C = _chunk_points(ev, ne * ((m + nw - 1) // nw))
        if nw * (n + nout) * C <= RUN_SMALL_DOUBLES:
            X = &X_small[0]
        else:
            X = <double *>malloc(nw * (n + nout) * C * sizeof(double))
        if X == NULL:
            with gil:
                raise MemoryError()
        if nw == 1 and m == 1 and nout == 1 and dvec == NULL:
            _run_one(ev, P, evl, ne, x, ldx, dcoord, h, acc, accabs, X, C)
        elif nw == 1:
            _run_range(ev, P, evl, ne, m, 0, m, x, ldx, dcoord, dvec, h, acc, accabs, X, C)
        else:
            for t in prange(nw, nogil=True, num_threads=nw, schedule="static"):
                lo = t * m // nw
                hi = (t + 1) * m // nw
                _run_range(ev, P, evl, ne, m, lo, hi - lo, x, ldx, dcoord, dvec, h, acc, accabs,
                           X + threadid() * (n + nout) * C, C)
    finally:
        if evl != &evl_small[0]:
            free(evl)
        if X != &X_small[0]:
            free(X)
    return 0


cdef void finish_rows(int nout, Py_ssize_t nres, int levels, int order0, int ostep, Py_ssize_t m,
                      const int *rd1, const int *rp1, const int *rd2, const int *rp2,
                      const double *rfac, const double *h, double *acc, double *accabs,
                      double *out, double *err, bint extrap=True) noexcept nogil:
    """Divide the accumulators by their step products and extrapolate over the levels
    (C in ``_src/fc_richardson.h``: ``fc_scale_rows``, ``fc_extrapolate``)."""
    _scale_rows(nout, nres * levels, m, rd1, rp1, rd2, rp2, rfac, h, acc, accabs)
    _extrapolate(nout, nres, levels, order0, ostep, m, acc, accabs, out, err, extrap)


# ---------------------------------------------------------------------------------------------
# Plans for the Python-level routines
# ---------------------------------------------------------------------------------------------

cdef class StencilPlan:
    """A cached stencil plan: perturbations, their weighted terms, and how rows become results.

    Results are given by ``specs``: ``("d", dir, k)`` is the k-th derivative along direction ``dir``
    (k = 0 is f itself), ``("m", i, j)`` the mixed second derivative along directions ``i != j`` by the
    tensor product of two first-derivative stencils.  Each of ``levels`` Richardson levels repeats the
    stencils with steps halved; points shared between results or levels are evaluated once.
    """
    cdef void _bind(self):
        self.P.npert = self.npert
        self.P.d1 = <const int *>cnp.PyArray_DATA(self.d1)
        self.P.a1 = <const double *>cnp.PyArray_DATA(self.a1)
        self.P.d2 = <const int *>cnp.PyArray_DATA(self.d2)
        self.P.a2 = <const double *>cnp.PyArray_DATA(self.a2)
        self.P.tptr = <const Py_ssize_t *>cnp.PyArray_DATA(self.tptr)
        self.P.trow = <const int *>cnp.PyArray_DATA(self.trow)
        self.P.tw = <const double *>cnp.PyArray_DATA(self.tw)
        self.P.nrow = self.nrow
        self.prd1 = <const int *>cnp.PyArray_DATA(self.rd1)
        self.prp1 = <const int *>cnp.PyArray_DATA(self.rp1)
        self.prd2 = <const int *>cnp.PyArray_DATA(self.rd2)
        self.prp2 = <const int *>cnp.PyArray_DATA(self.rp2)
        self.prfac = <const double *>cnp.PyArray_DATA(self.rfac)

    def __repr__(self):
        return (f"<StencilPlan {self.nres} results x {self.levels} levels, "
                f"{self.npert} perturbations>")


def _stencil(int deriv, int method, int accuracy):
    cdef int ia = _acc_index(accuracy)
    cdef int N = TAB_N[deriv][method][ia]
    return [(TAB_S[deriv][method][ia][b], TAB_W[deriv][method][ia][b]) for b in range(N)
            if TAB_W[deriv][method][ia][b] != 0.0]


_CENTRE = (-1, 0.0, -1, 0.0)


def _key(int i, double a, int j, double b):
    if a == 0.0 and b == 0.0:
        return _CENTRE
    if a == 0.0:
        return (j, b, -1, 0.0)
    if b == 0.0:
        return (i, a, -1, 0.0)
    if i > j:
        return (j, b, i, a)
    return (i, a, j, b)


_PLANS = {}
_PLANS_NPERT = 0                 # perturbations held by the cached plans
#: the cached plans hold at most this many perturbations in all (a few MB; a single plan of up
#: to 100,000 is still kept, alone)
PLANS_MAX_NPERT = 50_000


#: make_plan's last answer: its specs object, method, accuracy, levels, ratio, scales and plan
#: (C variables, read and written whole under the GIL: no Python code runs in between)
cdef object _last_specs = None
cdef object _last_scales = None
cdef StencilPlan _last_plan = None
cdef int _last_method = 0, _last_accuracy = 0, _last_levels = 0
cdef double _last_ratio = 0.0


cpdef StencilPlan make_plan(tuple specs, int method, int accuracy, int levels, double ratio=2.0,
                            tuple scales=None):
    """The (cached) :class:`StencilPlan` of ``specs`` for a method, accuracy and Richardson levels
    (level ``l`` has the steps times ``scales[l]``, default ``ratio**-l``; ``run`` extrapolates
    ratio-2 plans only).  A C call from the kernels (``_plans.pxd``)."""
    global _last_specs, _last_scales, _last_plan, _last_method, _last_accuracy, _last_levels
    global _last_ratio
    if (_last_plan is not None and _last_specs is specs and _last_method == method
            and _last_accuracy == accuracy and _last_levels == levels
            and (_last_scales is scales if scales is None or _last_scales is None
                 else _last_scales == scales)
            and (scales is not None or _last_ratio == ratio)):
        return _last_plan           # the same specs object as the last call (callers cache them):
                                    # no hashing of a long tuple of specs
    given = scales
    if scales is None:
        if not ratio > 1.0:
            raise ValueError(f"ratio must be > 1, got {ratio}")
        scales = tuple([ratio ** -l for l in range(levels)])
    key = (specs, method, accuracy, levels, scales)
    cdef StencilPlan pl = _PLANS.get(key)
    if pl is None:                  # (a cached key was checked when its plan was built)
        if not ratio > 1.0:
            raise ValueError(f"ratio must be > 1, got {ratio}")
        if len(scales) != levels or not all([0.0 < float(v) <= 1.0 for v in scales]):
            raise ValueError(f"scales must be {levels} numbers in (0, 1]")
        _check_plan_size(specs, method, accuracy, levels)
        keys, terms, rows = _plan_terms(specs, method, accuracy, levels, scales)
        pl = _assemble_plan(specs, method, accuracy, levels, keys, terms, rows)
        if not _cache_plan(key, pl):    # (a huge plan is not kept, not even here)
            return pl
    _last_plan = None               # (the memo is never seen half-written)
    _last_specs, _last_scales = specs, given
    _last_method, _last_accuracy, _last_levels, _last_ratio = method, accuracy, levels, ratio
    _last_plan = pl
    return pl


cdef _check_plan_size(tuple specs, int method, int accuracy, int levels):
    """Refuse an unknown accuracy, a bad level count or a stencil past MAX_GENERAL_POINTS."""
    if _acc_index(accuracy) < 0 or not _valid(1, method, accuracy):
        raise ValueError(f"accuracy must be 2, 4, 6 or 8 (1 only for one-sided first "
                         f"derivatives), got {accuracy}")
    if levels < 1 or levels > MAX_LEVELS:
        raise ValueError(f"levels must be in 1..{MAX_LEVELS}, got {levels}")
    cdef Py_ssize_t est = 0
    for spec in specs:
        if spec[0] == "m":
            est += TAB_N[1][method][_acc_index(accuracy)] ** 2
        elif spec[0] == "d" and 0 <= spec[2] <= MAXDER:
            est += TAB_N[spec[2]][method][_acc_index(accuracy)]
    if est * levels > MAX_GENERAL_POINTS:
        raise ValueError(f"the stencil needs about {est * levels} points per evaluation point, more "
                         f"than {MAX_GENERAL_POINTS}; for large Hessians use hessian_vector")


cdef tuple _plan_terms(tuple specs, int method, int accuracy, int levels, tuple scales):
    """The distinct perturbations (``keys``), each one's (row, weight) ``terms``, and the row
    arrays (rd1, rp1, rd2, rp2, rfac) of every result at every level; the centre comes last."""
    index = {}
    keys = []
    terms = []
    nres = len(specs)
    nrow = nres * levels
    rd1 = np.zeros(nrow, dtype=np.intc)
    rp1 = np.zeros(nrow, dtype=np.intc)
    rd2 = np.full(nrow, -1, dtype=np.intc)
    rp2 = np.zeros(nrow, dtype=np.intc)
    rfac = np.ones(nrow, dtype=np.float64)

    def add(k, r, w):
        p = index.get(k)
        if p is None:
            p = index[k] = len(keys)
            keys.append(k)
            terms.append([])
        terms[p].append((r, w))

    # finest level first and the centre last: the finest level's rows then add their terms in the
    # same order as a one-level plan and as fd_gradient, so the values agree to the last bit
    for l in reversed(range(levels)):
        sc = float(scales[l])
        for c, spec in enumerate(specs):
            r = l * nres + c
            if spec[0] == "d":
                d, k = spec[1], spec[2]
                rd1[r] = d
                rp1[r] = k
                rfac[r] = sc ** k
                if k == 0:
                    add(_CENTRE, r, 1.0)
                    continue
                if not _valid(k, method, accuracy):
                    raise ValueError(f"no stencil for derivative {k} with accuracy {accuracy}")
                for s, w in _stencil(k, method, accuracy):
                    add(_key(d, s * sc, -1, 0.0), r, w)
            elif spec[0] == "m":
                i, j = spec[1], spec[2]
                if i == j:
                    raise ValueError("a mixed derivative needs two different directions")
                rd1[r] = i
                rp1[r] = 1
                rd2[r] = j
                rp2[r] = 1
                rfac[r] = sc * sc
                st = _stencil(1, method, accuracy)
                for sa, wa in st:
                    for sb, wb in st:
                        add(_key(i, sa * sc, j, sb * sc), r, wa * wb)
            else:
                raise ValueError(f"unknown result spec {spec!r}")
    pc = index.get(_CENTRE)
    if pc is not None and pc != len(keys) - 1:
        keys.append(keys.pop(pc))
        terms.append(terms.pop(pc))
    return keys, terms, (rd1, rp1, rd2, rp2, rfac)


cdef StencilPlan _assemble_plan(tuple specs, int method, int accuracy, int levels, list keys,
                                list terms, tuple rows):
    """The plan's flat arrays (perturbations, CSR terms, rows), bound to its C view."""
    rd1, rp1, rd2, rp2, rfac = rows
    cdef StencilPlan pl = StencilPlan.__new__(StencilPlan)
    pl.specs = specs
    pl.npert = len(keys)
    pl.d1 = np.array([k[0] for k in keys], dtype=np.intc)
    pl.a1 = np.array([k[1] for k in keys], dtype=np.float64)
    pl.d2 = np.array([k[2] for k in keys], dtype=np.intc)
    pl.a2 = np.array([k[3] for k in keys], dtype=np.float64)
    tptr = np.zeros(len(keys) + 1, dtype=np.intp)
    tptr[1:] = np.cumsum([len(t) for t in terms])
    pl.tptr = tptr
    pl.trow = np.array([r for t in terms for r, _ in t], dtype=np.intc)
    pl.tw = np.array([w for t in terms for _, w in t], dtype=np.float64)
    pl.rd1, pl.rp1, pl.rd2, pl.rp2, pl.rfac = rd1, rp1, rd2, rp2, rfac
    pl.nres = len(specs)
    pl.nrow = pl.nres * levels
    pl.levels = levels
    pl.order0 = accuracy
    pl.ostep = 2 if method == FD_CENTRAL else 1
    pl.ndir_min = 1 + max([max(k[0], k[2]) for k in keys] + [int(rd1.max(initial=-1)),
                                                             int(rd2.max(initial=-1))])
    if pl.trow.size == 0:                  # no terms at all: keep valid pointers
        pl.trow = np.zeros(1, dtype=np.intc)
        pl.tw = np.zeros(1, dtype=np.float64)
    pl._bind()
    return pl


cdef bint _cache_plan(tuple key, StencilPlan pl):
    """Keep ``pl`` for the next call, bounded by count AND by total size (a mid-size Hessian's
    plan is MBs: 512 of them were a GB kept alive across calls); huge plans are not kept.
    Returns whether it was kept."""
    global _PLANS_NPERT
    if pl.npert > 100_000:
        return False
    if len(_PLANS) >= 512 or _PLANS_NPERT + pl.npert > PLANS_MAX_NPERT:
        _PLANS.clear()
        _PLANS_NPERT = 0
    _PLANS[key] = pl
    _PLANS_NPERT += pl.npert
    return True


def relative_steps(const double[:, ::1] x, const int[::1] dcoord, double c, int method):
    """Steps ``c * max(|x_i|, 1e-3)`` per coordinate direction and point, made exact.

    Rows of ``dcoord`` < 0 (vector directions) are left for the caller.  Returns (ndir, m).
    """
    cdef Py_ssize_t ndir = dcoord.shape[0]
    cdef Py_ssize_t m = x.shape[1]
    h = np.empty((ndir, m), dtype=np.float64)
    cdef double[:, ::1] hv = h
    cdef Py_ssize_t d, j
    cdef double xv, hh, tmp
    for d in range(ndir):
        if dcoord[d] < 0:
            continue
        for j in range(m):
            xv = x[dcoord[d], j]
            hv[d, j] = _exact_step(xv, c * step_scale(xv), method)
    return h


cdef int _check_directions(Evaluator ev, StencilPlan plan, Py_ssize_t m, Py_ssize_t hrows,
                           Py_ssize_t hcols, const int[::1] dcoord, dvec) except -1:
    """Shapes of the steps ``h`` (ndir, m), the directions and the vectors ``dvec`` (nvec, n, m)."""
    cdef Py_ssize_t d, nvec = 0
    if hcols != m or hrows != dcoord.shape[0]:
        raise ValueError("h must have shape (ndir, m)")
    if dcoord.shape[0] < plan.ndir_min:
        raise ValueError(f"the plan uses {plan.ndir_min} directions, got {dcoord.shape[0]}")
    if dvec is not None:
        shp = np.shape(dvec)
        if len(shp) != 3 or shp[1] != ev.n or shp[2] != m:
            raise ValueError("dvec must have shape (nvec, n, m)")
        nvec = shp[0]
    for d in range(dcoord.shape[0]):
        if dcoord[d] >= ev.n or (dcoord[d] < 0 and -1 - dcoord[d] >= nvec):
            raise ValueError(f"direction {d} ({dcoord[d]}) is not a coordinate or a given vector")
    return 0


cdef int _check_inputs(Evaluator ev, StencilPlan plan, const double[:, ::1] x,
                       const double[:, ::1] h, const int[::1] dcoord, dvec) except -1:
    """The checks :func:`run` and :func:`run_levels` share: x's variables and the directions."""
    if x.shape[0] != ev.n:
        raise ValueError(f"x has {x.shape[0]} variables, the evaluator {ev.n}")
    _check_directions(ev, plan, x.shape[1], h.shape[0], h.shape[1], dcoord, dvec)
    return 0


cdef int _run_on(Evaluator ev, StencilPlan plan, const double[:, ::1] x, const double[:, ::1] h,
                 const int[::1] dcoord, dvec, const double *f0p, double *accp, double *absp,
                 int workers) except -1:
    """run_plan at the m > 0 points x, without the GIL when the callable allows it (threads
    then too)."""
    cdef const double[:, :, ::1] dv
    cdef const double *dvp = NULL
    cdef Py_ssize_t m = x.shape[1]
    if dvec is not None:
        dv = dvec
        if dv.shape[0] > 0:
            dvp = &dv[0, 0, 0]
    cdef const double *xp = &x[0, 0]
    cdef const double *hp = &h[0, 0]
    cdef const int *dcp = &dcoord[0]
    if ev.nogil:
        with nogil:
            run_plan(ev, &plan.P, m, xp, m, dcp, dvp, hp, f0p, accp, absp, workers)
    else:
        run_plan(ev, &plan.P, m, xp, m, dcp, dvp, hp, f0p, accp, absp)
    return 0


def run(Evaluator ev, StencilPlan plan, const double[:, ::1] x, const double[:, ::1] h,
        const int[::1] dcoord, dvec=None, f0=None, bint want_err=False, bint extrapolate=True,
        *, int workers=1):
    """Evaluate ``plan`` at the points ``x`` (n, m) with steps ``h`` (ndir, m).

    ``dvec`` (nvec, n, m) holds the vector directions (``dcoord[d] = -1 - vector index``);
    ``f0`` (nout, m) known values at ``x``.  Returns ``(out, err)``, each (nout, nres, m) (``err``
    None unless ``want_err``).  ``extrapolate=False`` (2-level plans only) returns the finer
    level's plain result with its error estimate instead of the extrapolated one.  ``workers``
    (>= 1, validated by the caller): OpenMP threads over the points for compiled callables.
    """
    cdef Py_ssize_t m = x.shape[1]
    cdef int nout = ev.nout
    cdef Py_ssize_t nrow = plan.nrow
    cdef Py_ssize_t nres = plan.nres
    cdef cnp.ndarray acc, accabs, out, err
    cdef cnp.npy_intp dims[3]
    cdef const double[:, ::1] fv
    cdef const double *f0p = NULL
    cdef double *absp = NULL
    cdef double *errp = NULL
    if not extrapolate and plan.levels != 2:
        raise ValueError("extrapolate=False needs a plan with 2 levels")
    if plan.levels > 8:
        raise ValueError("run extrapolates at most 8 levels; use run_levels")
    _check_inputs(ev, plan, x, h, dcoord, dvec)
    if f0 is not None:
        fv = f0
        if fv.shape[0] != nout or fv.shape[1] != m:
            raise ValueError("f0 must have shape (nout, m)")
        if m > 0:
            f0p = &fv[0, 0]
    dims[0] = nout
    dims[1] = nres
    dims[2] = m
    out = cnp.PyArray_EMPTY(3, dims, cnp.NPY_FLOAT64, 0)
    err = cnp.PyArray_EMPTY(3, dims, cnp.NPY_FLOAT64, 0) if want_err else None
    if m == 0:
        return out, err
    dims[0] = nout * nrow * m
    acc = cnp.PyArray_EMPTY(1, dims, cnp.NPY_FLOAT64, 0)
    if want_err:
        accabs = cnp.PyArray_EMPTY(1, dims, cnp.NPY_FLOAT64, 0)
        absp = <double *>cnp.PyArray_DATA(accabs)
        errp = <double *>cnp.PyArray_DATA(err)
    cdef double *accp = <double *>cnp.PyArray_DATA(acc)
    cdef const double *hp = &h[0, 0]
    _run_on(ev, plan, x, h, dcoord, dvec, f0p, accp, absp, workers)
    finish_rows(nout, nres, plan.levels, plan.order0, plan.ostep, m, plan.prd1, plan.prp1,
                plan.prd2, plan.prp2, plan.prfac, hp, accp, absp,
                <double *>cnp.PyArray_DATA(out), errp, extrapolate)
    return out, err


def run_levels(Evaluator ev, StencilPlan plan, const double[:, ::1] x, const double[:, ::1] h,
               const int[::1] dcoord, dvec=None, *, int workers=1):
    """Evaluate ``plan`` at ``x`` (n, m) and return the raw result of every step level.

    Returns ``(vals, absv)``, each of shape (nout, levels, nres, m): ``vals[k, l, c, j]`` is result
    ``c`` (output ``k``, point ``j``) with the steps ``h / 2**l``; ``absv`` the same sum over
    ``|w * f|`` (times ``eps`` it is the rounding error of ``vals``).  No extrapolation: the caller
    builds the Richardson table (any number of levels up to ``MAX_LEVELS``).  ``workers`` as in
    :func:`run`.
    """
    cdef Py_ssize_t m = x.shape[1]
    cdef int nout = ev.nout
    cdef Py_ssize_t nrow = plan.nrow
    _check_inputs(ev, plan, x, h, dcoord, dvec)
    vals = np.zeros((nout, plan.levels, plan.nres, m))
    absv = np.zeros((nout, plan.levels, plan.nres, m))
    if m == 0:
        return vals, absv
    cdef double *accp = <double *>cnp.PyArray_DATA(vals)
    cdef double *absp = <double *>cnp.PyArray_DATA(absv)
    cdef const double *hp = &h[0, 0]
    _run_on(ev, plan, x, h, dcoord, dvec, NULL, accp, absp, workers)
    _scale_rows(nout, nrow, m, plan.prd1, plan.prp1, plan.prd2, plan.prp2, plan.prfac, hp, accp,
                absp)
    return vals, absv


def extrapolate_levels(vals, absv, int order0, int ostep, bint want_err=False,
                       bint extrapolate=True):
    """``fc_extrapolate`` on scaled rows of every level (as :func:`run_levels` returns them,
    (nout, levels, nres, m), levels <= 8): returns ``(out, err)`` as :func:`run` does."""
    cdef cnp.ndarray va = np.array(vals, dtype=np.float64, order="C")     # overwritten
    cdef cnp.ndarray aa = np.ascontiguousarray(absv, dtype=np.float64)
    if va.ndim != 4 or (<object>aa).shape != (<object>va).shape:
        raise ValueError("vals and absv must have the same shape (nout, levels, nres, m)")
    nout, levels, nres, m = (<object>va).shape
    if levels < 1 or levels > 8 or (not extrapolate and levels != 2):
        raise ValueError("extrapolate_levels takes 1..8 levels (2 with extrapolate=False)")
    out = np.empty((nout, nres, m))
    err = np.empty((nout, nres, m)) if want_err else None
    if out.size:
        _extrapolate(nout, nres, levels, order0, ostep, m, <double *>cnp.PyArray_DATA(va),
                     <const double *>cnp.PyArray_DATA(aa), <double *>cnp.PyArray_DATA(out),
                     <double *>cnp.PyArray_DATA(err) if want_err else NULL, extrapolate)
    return out, err


# ---------------------------------------------------------------------------------------------
# The checked first pass: three step levels (ratio sqrt 2), Richardson, an error estimate
# confirmed by all three
# ---------------------------------------------------------------------------------------------

#: rounding error of a stencil value, in units of eps * sum |w f| / h**k (see fc_richardson.h)
ROUND_FACTOR = ROUND_C

# Steps of the checked first pass: h0, h0/2, h0/2**1.5.  Dyadic levels (h0/4) let a periodic f
# whose period divides h0/4 closely alias all three onto one wrong value (sin at x = 1e3,
# accuracy=8: h0/4 within 0.15% of 6 periods); with the irrational last ratio that takes two
# independent coincidences.
FIRST_SCALES = (1.0, FIRST_S1_C, FIRST_S2_C)


def richardson3(const double[:, ::1] D, const double[:, ::1] A, int order0, int ostep,
                double s1=FIRST_S1_C, double s2=FIRST_S2_C):
    """``fc_rich3`` (``_src/fc_richardson.h``) on the rows ``D[0..2]`` (values at h, h/2, h/4, shape (3, k)) and the
    finest level's ``|w f|`` sums ``A[2]``; returns ``(val, err)`` of shape (k,)."""
    if D.shape[0] != 3 or A.shape[0] != 3 or D.shape[1] != A.shape[1]:
        raise ValueError("D and A must have shape (3, k)")
    cdef Py_ssize_t k = D.shape[1]
    val = np.empty(k)
    err = np.empty(k)
    cdef double[::1] vv = val
    cdef double[::1] ev = err
    if k:
        _rich3(k, &D[0, 0], &D[1, 0], &D[2, 0], &A[2, 0], order0, ostep, s1, s2, &vv[0], &ev[0])
    return val, err


#: first-pass step constants per derivative order (k): h0 = C1[k] * scale, levels h0, h0/2, h0/4
cdef int _fpc_key = -1
cdef double _fpc_value = 0.0


cpdef double first_pass_constant(int k, int order0, int ostep):
    """The first level's relative step of the checked pass (levels h0, h0/r, h0/r**2): the finest
    step ``eps**(1/(order0 + ostep + k))`` balances the once-extrapolated truncation against
    rounding."""
    global _fpc_key, _fpc_value
    cdef int key = (k * 64 + order0) * 64 + ostep
    if key != _fpc_key:             # (the last answer kept: a pow per gradient call was 2 %)
        _fpc_value = 4.0 * pow(EPS, 1.0 / (order0 + ostep + k))
        _fpc_key = key
    return _fpc_value
