# cython: language_level=3
"""The Hessian stencil family in closed form: points generated on the fly, streamed in blocks.

For one base point the work is: f(x) and the single displacements ``x + u sc[l] h_i e_i`` (all
``i``, levels ``l``, distinct nonzero nodes ``u``: O(n) points, kept in a small table ``F1``);
then the rows ``(i, j)`` in blocks sized so that their double displacements fill ONE batch of the
evaluator (``x + a sc h_i e_i + b sc h_j e_j``).  The batch is a block ``X`` (n x C) whose
columns all hold the base point: a point is made by changing two entries and undone after the
evaluation, so building costs O(1) per point and the block stays in cache (C ~ 256 KB / 8n).
Each row is then reduced in the order the general plan uses (a-major, b-minor; f(x) last),
divided by its step product, and handed to a sink: all levels into the caller's arrays (``hess_levels``), or the
checked first pass (three levels, ``fc_rich3``) straight into value / error / rounding / flag
arrays (``hess_first_pass``), so memory is O(result + n + block).

Threads (``workers > 1``, compiled callables only): the (point, row block) pairs are spread over
OpenMP threads (each with its own block buffers); every row is computed by the same arithmetic
whatever thread runs it, so the results are bit-identical to ``workers=1``.
"""

cimport cython
from cython.parallel cimport prange, threadid
from libc.stdlib cimport malloc, calloc, free
from libc.math cimport fabs, isfinite, sqrt

import numpy as np
cimport numpy as cnp

from fastcalc._core cimport Evaluator, as_evaluator
from fastcalc._diff cimport (MAXNODES, TAB_N, TAB_S, TAB_W, _build_table, _acc_index, _valid,
                             FD_CENTRAL, step_scale, natural_scale, _exact_step)
from fastcalc._plans cimport ROUND_C, FIRST_S1_C, FIRST_S2_C, _rich3, displace

cnp.import_array()
_build_table()          # this module's copy of the static table in fc_stencils.h

cdef enum:
    BLOCK_DOUBLES = 1 << 15     # the point block X: at most this many doubles (256 KB) ...
    BLOCK_MIN = 64              # ... but at least this many points
    BLOCK_MAX = 2048

cdef double EPS = 2.220446049250313e-16


cdef int hess_spec_init(HessSpec *H, int n, int method, int accuracy, int L,
                        const double *scales) noexcept nogil:
    """Fill ``H`` for n variables; 0, or -1 for an invalid method/accuracy/levels."""
    cdef int ia = _acc_index(accuracy)
    cdef int b, k, a, N, found
    cdef double s
    if not (_valid(1, method, accuracy) and _valid(2, method, accuracy)) or L < 1 \
            or L > HMAX_LEVELS or n < 1:
        return -1
    H.n = n
    H.L = L
    for k in range(L):
        H.sc[k] = scales[k]
    H.n1 = 0
    H.n2 = 0
    H.nu = 0
    H.centre = 0
    N = TAB_N[1][method][ia]
    for b in range(N):
        if TAB_W[1][method][ia][b] != 0.0:
            H.s1[H.n1] = TAB_S[1][method][ia][b]
            H.w1[H.n1] = TAB_W[1][method][ia][b]
            H.n1 += 1
    N = TAB_N[2][method][ia]
    for b in range(N):
        if TAB_W[2][method][ia][b] != 0.0:
            H.s2[H.n2] = TAB_S[2][method][ia][b]
            H.w2[H.n2] = TAB_W[2][method][ia][b]
            H.n2 += 1
    # the distinct nonzero single displacements: nodes of the second-derivative stencil, and of
    # the first-derivative one when it has a centre (one-sided: mixed rows then use singles)
    H.D = 0
    for a in range(H.n1):
        if H.s1[a] == 0.0:
            H.centre = 1
    for b in range(H.n2):
        H.iu2[b] = _node_index(H, H.s2[b])
    for a in range(H.n1):
        H.iu1[a] = _node_index(H, H.s1[a]) if H.centre else -1
        if H.s1[a] != 0.0:
            H.D += 1
    for b in range(H.n2):
        if H.s2[b] == 0.0:
            H.centre = 1
    H.D = H.D * H.D
    return 0


cdef inline int _node_index(HessSpec *H, double s) noexcept nogil:
    """Index of the nonzero node ``s`` in ``H.u`` (added when new); -1 for 0 (the centre)."""
    cdef int k
    if s == 0.0:
        return -1
    for k in range(H.nu):
        if H.u[k] == s:
            return k
    H.u[H.nu] = s
    H.nu += 1
    return H.nu - 1


cdef Py_ssize_t hess_points(const HessSpec *H) noexcept nogil:
    """Evaluations per base point."""
    cdef Py_ssize_t n = H.n
    return H.centre + n * H.nu * H.L + n * (n - 1) // 2 * H.L * H.D


# ---------------------------------------------------------------------------------------------
# Work buffers (one set per thread)
# ---------------------------------------------------------------------------------------------

cdef struct HWork:
    double *X           # n x C: the point block, every column the base point between batches
    double *V           # values of one batch (C)
    double *R           # L x nb: scaled row sums of a row block ...
    double *RA          # ... and their |w f| sums
    double *F1          # (L*n + i)*nu + u: single displacements of the current point ...
    double f0           # ... and f there (both from the shared table of all points)
    Py_ssize_t C, nb
    Py_ssize_t xpoint   # the base point every column of X holds (-1: none yet)


cdef Py_ssize_t _block_points(const HessSpec *H) noexcept nogil:
    cdef Py_ssize_t C = BLOCK_DOUBLES // H.n
    if C < BLOCK_MIN:
        C = BLOCK_MIN
    if C > BLOCK_MAX:
        C = BLOCK_MAX
    if C < H.L * H.D:
        C = H.L * H.D
    return C


cdef int _work_alloc(HWork *w, const HessSpec *H) noexcept nogil:
    """0, or -1 when out of memory (buffers freed by ``_work_free``)."""
    w.C = _block_points(H)
    w.nb = w.C // (H.L * H.D) if H.D > 0 else w.C
    if w.nb < 1:
        w.nb = 1
    w.X = <double *>malloc(H.n * w.C * sizeof(double))
    w.V = <double *>malloc(w.C * sizeof(double))
    w.R = <double *>malloc(2 * H.L * w.nb * sizeof(double))
    w.RA = w.R + H.L * w.nb if w.R != NULL else NULL
    w.F1 = NULL
    w.xpoint = -1
    if w.X == NULL or w.V == NULL or w.R == NULL:
        return -1
    return 0


cdef void _work_free(HWork *w) noexcept nogil:
    free(w.X)
    free(w.V)
    free(w.R)
    w.X = w.V = w.R = w.RA = w.F1 = NULL


cdef void _base(HWork *w, int n, Py_ssize_t j, const double *xj) noexcept nogil:
    """Every column of ``w.X`` := point j (nothing to do when it already is: the kernels undo
    their displacements after each batch)."""
    cdef Py_ssize_t p
    cdef int i
    cdef double *row
    if w.xpoint == j:
        return
    w.xpoint = j
    for i in range(n):
        row = w.X + i * w.C
        for p in range(w.C):
            row[p] = xj[i]


# ---------------------------------------------------------------------------------------------
# One base point: singles, then row blocks
# ---------------------------------------------------------------------------------------------

cdef inline void _advance(int *l, int *i, int *u, int n, int nu) noexcept nogil:
    """The next single displacement (u innermost, then the coordinate i, then the level l)."""
    u[0] += 1
    if u[0] == nu:
        u[0] = 0
        i[0] += 1
        if i[0] == n:
            i[0] = 0
            l[0] += 1


cdef inline void _single_cols(const HessSpec *H, const double *xj, const double *hj, HWork *w,
                              Py_ssize_t col, Py_ssize_t cnt, int *l, int *i, int *u,
                              bint undo) noexcept nogil:
    """The next ``cnt`` single displacements from (l, i, u) into the columns ``col ..`` of
    ``w.X`` (``undo``: put x back there instead); (l, i, u) advance past them."""
    cdef Py_ssize_t p
    for p in range(cnt):                     # q = (l*n + i)*nu + u
        w.X[i[0] * w.C + col + p] = (xj[i[0]] if undo else
                                     displace(xj[i[0]], (H.u[u[0]] * H.sc[l[0]]) * hj[i[0]]))
        _advance(l, i, u, H.n, H.nu)


cdef int _singles(Evaluator ev, const HessSpec *H, Py_ssize_t j, const double *xj,
                  const double *hj, HWork *w, double *F1) except -1 nogil:
    """The single displacements of point j into ``F1[0 .. n*nu*L - 1]``, f(x) after them."""
    cdef Py_ssize_t total = <Py_ssize_t>H.n * H.nu * H.L, q = 0, cnt
    cdef int l = 0, i = 0, u = 0
    cdef int l0, i0, u0
    _base(w, H.n, j, xj)
    F1[total] = 0.0
    if H.centre:
        ev.eval(1, w.X, w.C, F1 + total, 1)
    while q < total:
        cnt = w.C if total - q > w.C else total - q
        l0, i0, u0 = l, i, u
        _single_cols(H, xj, hj, w, 0, cnt, &l, &i, &u, False)
        ev.eval(cnt, w.X, w.C, F1 + q, cnt)
        _single_cols(H, xj, hj, w, 0, cnt, &l0, &i0, &u0, True)
        q += cnt
    return 0


cdef inline void _row_of(Py_ssize_t c, int n, int *pi, int *pj) noexcept nogil:
    """(i, j) of row c (rows (0,0), (0,1), .., (0,n-1), (1,1), ..): binary search on i."""
    cdef Py_ssize_t lo = 0, hi = n - 1, mid, start
    while lo < hi:
        mid = (lo + hi + 1) // 2
        start = mid * n - mid * (mid - 1) // 2
        if start <= c:
            lo = mid
        else:
            hi = mid - 1
    pi[0] = <int>lo
    pj[0] = <int>(lo + c - (lo * n - lo * (lo - 1) // 2))


cdef Py_ssize_t _row_fill(const HessSpec *H, const double *xj, const double *hj, Py_ssize_t c0,
                          Py_ssize_t nb, HWork *w, Py_ssize_t off) noexcept nogil:
    """The double displacements of the mixed rows c0 .. c0+nb-1 into the columns ``off ..`` of
    ``w.X``; returns how many."""
    cdef int n = H.n, L = H.L, n1 = H.n1, i, j, l, a, b
    cdef Py_ssize_t r, p = off
    cdef double sc
    _row_of(c0, n, &i, &j)
    for r in range(nb):
        if i != j:
            for l in range(L):
                sc = H.sc[l]
                for a in range(n1):
                    if H.s1[a] == 0.0:
                        continue
                    for b in range(n1):
                        if H.s1[b] == 0.0:
                            continue
                        w.X[i * w.C + p] = displace(xj[i], (H.s1[a] * sc) * hj[i])
                        w.X[j * w.C + p] = displace(xj[j], (H.s1[b] * sc) * hj[j])
                        p += 1
        j += 1
        if j == n:
            i += 1
            j = i
    return p - off


cdef void _row_reduce(const HessSpec *H, const double *xj, const double *hj, Py_ssize_t c0,
                      Py_ssize_t nb, HWork *w, Py_ssize_t off) noexcept nogil:
    """Rows c0 .. c0+nb-1 of one point from the singles (``w.F1``, ``w.f0``) and the values
    ``w.V[off ..]`` of their double displacements (whose columns of ``w.X`` are undone):
    ``w.R[l*w.nb + r]`` (scaled) and ``w.RA`` (scaled |w f| sums), each row reduced in
    stencil order (a-major, b-minor; f(x) last)."""
    cdef int n = H.n, L = H.L, n1 = H.n1, i, j, l, a, b
    cdef Py_ssize_t r, p = off, ldb = w.nb
    cdef double sc, s, sa, v, wt
    cdef const double *F1 = w.F1
    _row_of(c0, n, &i, &j)
    for r in range(nb):
        for l in range(L):
            sc = H.sc[l]
            s = 0.0
            sa = 0.0
            if i == j:
                # the centre last, as the general plan orders its terms (same bits)
                for b in range(H.n2):
                    if H.iu2[b] >= 0:
                        v = F1[(l * n + i) * H.nu + H.iu2[b]]
                        s += H.w2[b] * v
                        sa += fabs(H.w2[b] * v)
                for b in range(H.n2):
                    if H.iu2[b] < 0:
                        s += H.w2[b] * w.f0
                        sa += fabs(H.w2[b] * w.f0)
                w.R[l * ldb + r] = s * (1.0 / (sc * sc)) / hj[i] / hj[i]
                w.RA[l * ldb + r] = fabs(sa * (1.0 / (sc * sc)) / hj[i] / hj[i])
                continue
            for a in range(n1):
                for b in range(n1):
                    wt = H.w1[a] * H.w1[b]
                    if H.s1[a] == 0.0 and H.s1[b] == 0.0:
                        v = w.f0
                    elif H.s1[a] == 0.0:
                        v = F1[(l * n + j) * H.nu + H.iu1[b]]
                    elif H.s1[b] == 0.0:
                        v = F1[(l * n + i) * H.nu + H.iu1[a]]
                    else:
                        v = w.V[p]
                        w.X[i * w.C + p] = xj[i]
                        w.X[j * w.C + p] = xj[j]
                        p += 1
                    s += wt * v
                    sa += fabs(wt * v)
            w.R[l * ldb + r] = s * (1.0 / (sc * sc)) / hj[i] / hj[j]
            w.RA[l * ldb + r] = fabs(sa * (1.0 / (sc * sc)) / hj[i] / hj[j])
        j += 1
        if j == n:
            i += 1
            j = i


cdef int _row_block(Evaluator ev, const HessSpec *H, const double *xj, const double *hj,
                    Py_ssize_t c0, Py_ssize_t nb, HWork *w) except -1 nogil:
    """Rows c0 .. c0+nb-1 of one point (singles in ``w``): their double displacements in one
    batch, then ``_row_reduce``."""
    cdef Py_ssize_t p = _row_fill(H, xj, hj, c0, nb, w, 0)
    if p:
        ev.eval(p, w.X, w.C, w.V, p)
    _row_reduce(H, xj, hj, c0, nb, w, 0)
    return 0


cdef int _whole_point(Evaluator ev, const HessSpec *H, Py_ssize_t j, const double *xj,
                      const double *hj, HWork *w, double *F1, Py_ssize_t nres) except -1 nogil:
    """Every evaluation of point j in ONE batch (the caller checked ``hess_points <= w.C`` and
    ``nres <= w.nb``): f(x) (column 0), the singles, the double displacements; then the rows, as
    ``_singles`` + ``_row_block`` compute them (same values, same sums).  A vectorized Python f
    is called once per point instead of three times."""
    cdef Py_ssize_t total = <Py_ssize_t>H.n * H.nu * H.L, p, c0 = 1 if H.centre else 0, nd
    cdef Py_ssize_t npts = hess_points(H)
    cdef int l = 0, i = 0, u = 0
    cdef double *row
    w.xpoint = -1                            # only the first npts columns hold point j
    for i in range(H.n):
        row = w.X + i * w.C
        for p in range(npts):
            row[p] = xj[i]
    i = 0
    _single_cols(H, xj, hj, w, c0, total, &l, &i, &u, False)     # column c0 + q
    nd = _row_fill(H, xj, hj, 0, nres, w, c0 + total)
    ev.eval(c0 + total + nd, w.X, w.C, w.V, w.C)
    l = i = u = 0
    _single_cols(H, xj, hj, w, c0, total, &l, &i, &u, True)
    for p in range(total):
        F1[p] = w.V[c0 + p]
    F1[total] = w.V[0] if H.centre else 0.0
    w.F1 = F1
    w.f0 = F1[total]
    _row_reduce(H, xj, hj, 0, nres, w, c0 + total)
    return 0


# ---------------------------------------------------------------------------------------------
# Sinks and the driver
# ---------------------------------------------------------------------------------------------

cdef struct Sink:
    int mode            # 0: all levels (vals, absv); 1: the checked first pass
    Py_ssize_t m, nres
    double *vals        # mode 0: (l*nres + c)*m + j; mode 1: value (c*m + j)
    double *absv        # mode 0: like vals; mode 1: error
    double *rnd         # mode 1: usable rounding floor (0 where _steps._floor_ok says no)
    unsigned char *bad  # mode 1: a level was not finite
    const double *rdir  # mode 1: (finest step / natural scale) per direction, (n, m)
    double thr_d, thr_m # mode 1: _floor_ok thresholds of diagonal and mixed rows
    int order0, ostep


cdef void _sink(const Sink *S, const HessSpec *H, HWork *w, Py_ssize_t j, Py_ssize_t c0,
                Py_ssize_t nb) noexcept nogil:
    cdef Py_ssize_t r, c, ldb = w.nb, m = S.m
    cdef int l, i, k, n = H.n
    cdef double ratio
    if S.mode == 0:
        for l in range(H.L):
            for r in range(nb):
                c = (l * S.nres + c0 + r) * m + j
                S.vals[c] = w.R[l * ldb + r]
                S.absv[c] = w.RA[l * ldb + r]
        return
    _row_of(c0, n, &i, &k)
    # the rows' levels are contiguous in r: one fc_rich3 over the block, into w.V (spent)
    _rich3(nb, w.R, w.R + ldb, w.R + 2 * ldb, w.RA + 2 * ldb, S.order0, S.ostep, FIRST_S1_C,
           FIRST_S2_C, w.V, w.V + nb)
    for r in range(nb):
        c = (c0 + r) * m + j
        S.vals[c] = w.V[r]
        S.absv[c] = w.V[nb + r]
        S.bad[c] = not (isfinite(w.R[r]) and isfinite(w.R[ldb + r])
                        and isfinite(w.R[2 * ldb + r]))
        if i == k:
            ratio = S.rdir[i * m + j]
            S.rnd[c] = ROUND_C * EPS * w.RA[2 * ldb + r] if ratio * ratio >= S.thr_d else 0.0
        else:
            ratio = S.rdir[i * m + j] * S.rdir[k * m + j]      # sqrt(ratio_i ratio_k) ** 2
            S.rnd[c] = ROUND_C * EPS * w.RA[2 * ldb + r] if ratio >= S.thr_m else 0.0
        k += 1
        if k == n:
            i += 1
            k = i


cdef int _task(Evaluator ev, const HessSpec *H, const double *xT, const double *hT,
               const double *F1all, Py_ssize_t t, Py_ssize_t nblk, Py_ssize_t nres, HWork *w,
               const Sink *S) except -1 nogil:
    """Task t = (point j, row block k)."""
    cdef Py_ssize_t j = t // nblk, k = t - j * nblk
    cdef Py_ssize_t c0 = k * w.nb, stride = <Py_ssize_t>H.n * H.nu * H.L + 1
    cdef Py_ssize_t nb = w.nb if nres - c0 > w.nb else nres - c0
    cdef const double *xj = xT + j * H.n
    cdef const double *hj = hT + j * H.n
    w.F1 = <double *>F1all + j * stride
    w.f0 = w.F1[stride - 1]
    _base(w, H.n, j, xj)
    _row_block(ev, H, xj, hj, c0, nb, w)
    _sink(S, H, w, j, c0, nb)
    return 0


cdef int _drive(Evaluator ev, const HessSpec *H, Py_ssize_t m, const double *x, Py_ssize_t ldx,
                const double *h, const Sink *S, int workers) except -1 nogil:
    """All points' singles, then all (point, row block) tasks, on ``workers`` threads when the
    evaluator allows it (each phase split the same way whatever the thread count)."""
    cdef int n = H.n, i, nw, ok = 0
    cdef Py_ssize_t nres = <Py_ssize_t>n * (n + 1) // 2, j, t, nblk, ntask
    cdef Py_ssize_t stride = <Py_ssize_t>n * H.nu * H.L + 1
    cdef HWork *ws = NULL
    cdef double *xT = <double *>malloc((2 * n + stride) * m * sizeof(double))
    if xT == NULL:
        with gil:
            raise MemoryError()
    cdef double *hT = xT + n * m
    cdef double *F1all = hT + n * m
    for j in range(m):
        for i in range(n):
            xT[j * n + i] = x[i * ldx + j]
            hT[j * n + i] = h[i * m + j]
    nw = workers if workers > 1 and ev.releases_gil else 1
    ws = <HWork *>calloc(nw, sizeof(HWork))
    try:
        if ws == NULL:
            with gil:
                raise MemoryError()
        for i in range(nw):
            ok |= _work_alloc(&ws[i], H)
        if ok != 0:
            with gil:
                raise MemoryError()
        nblk = (nres + ws[0].nb - 1) // ws[0].nb
        ntask = nblk * m
        if nw == 1 and nblk == 1 and hess_points(H) <= ws[0].C:
            for j in range(m):               # small n: one batch per point
                _whole_point(ev, H, j, xT + j * n, hT + j * n, &ws[0], F1all + j * stride,
                             nres)
                _sink(S, H, &ws[0], j, 0, nres)
        elif nw == 1:
            for j in range(m):
                _singles(ev, H, j, xT + j * n, hT + j * n, &ws[0], F1all + j * stride)
            for t in range(ntask):
                _task(ev, H, xT, hT, F1all, t, nblk, nres, &ws[0], S)
        else:
            # the singles of one point are O(n) points: threads split the points; the row
            # blocks cost the same each (static schedule, measured no slower than guided)
            for j in prange(m, nogil=True, num_threads=nw, schedule="static"):
                _singles(ev, H, j, xT + j * n, hT + j * n, &ws[threadid()], F1all + j * stride)
            for t in prange(ntask, nogil=True, num_threads=nw, schedule="static"):
                _task(ev, H, xT, hT, F1all, t, nblk, nres, &ws[threadid()], S)
    finally:
        if ws != NULL:
            for i in range(nw):
                _work_free(&ws[i])
            free(ws)
        free(xT)
    return 0


cdef int hess_levels(Evaluator ev, const HessSpec *H, Py_ssize_t m, const double *x,
                     Py_ssize_t ldx, const double *h, double *vals, double *absv,
                     int workers) except -1 nogil:
    """Every level's scaled rows: ``vals[(l*nres + c)*m + j]`` (as ``_plans.run_levels``) and
    ``absv`` (sums of |w f|, scaled).  ``h[i*m + j]``: step of coordinate i at point j."""
    cdef Sink S
    S.mode = 0
    S.m = m
    S.nres = <Py_ssize_t>H.n * (H.n + 1) // 2
    S.vals = vals
    S.absv = absv
    return _drive(ev, H, m, x, ldx, h, &S, workers)


# ---------------------------------------------------------------------------------------------
# Python entries (for _plans / _steps)
# ---------------------------------------------------------------------------------------------

def levels(Evaluator ev, int method, int accuracy, tuple scales, const double[:, ::1] x,
           const double[:, ::1] h, int workers=1):
    """The Hessian rows at every level: ``(vals, absv)`` each (1, L, nres, m), as
    ``_plans.run_levels`` returns them for the Hessian specs."""
    cdef HessSpec H
    cdef double sc[HMAX_LEVELS]
    cdef int n = x.shape[0], L = len(scales), k
    cdef Py_ssize_t m = x.shape[1]
    if L > HMAX_LEVELS:
        raise ValueError(f"levels must be in 1..{HMAX_LEVELS}, got {L}")
    for k in range(L):
        sc[k] = scales[k]
    _check(ev, n, m, h)
    if hess_spec_init(&H, n, method, accuracy, L, sc) < 0:
        raise ValueError(f"no Hessian stencil for method {method}, accuracy {accuracy}")
    nres = n * (n + 1) // 2
    vals = _alloc((1, L, nres, m), "the Hessian's step levels")
    absv = _alloc((1, L, nres, m), "the Hessian's step levels")
    cdef double *vp = <double *>cnp.PyArray_DATA(vals)
    cdef double *ap = <double *>cnp.PyArray_DATA(absv)
    if m == 0:
        return vals, absv
    if ev.nogil:
        with nogil:
            hess_levels(ev, &H, m, &x[0, 0], m, &h[0, 0], vp, ap, workers)
    else:
        hess_levels(ev, &H, m, &x[0, 0], m, &h[0, 0], vp, ap, 1)
    return vals, absv


def first_pass(Evaluator ev, int method, int accuracy, const double[:, ::1] x,
               const double[:, ::1] h, const double[:, ::1] rdir, double thr_d, double thr_m,
               int workers=1):
    """The checked first pass of the Hessian (levels ``FIRST_SCALES``, ``fc_rich3``) fused with
    its rows: returns ``(val, err, rnd, bad)``, each (1, nres, m) (``bad`` bool), as
    ``_steps._first_pass`` computes them, with no (levels x nres) intermediate."""
    cdef HessSpec H
    cdef double sc[3]
    cdef int n = x.shape[0]
    cdef Py_ssize_t m = x.shape[1]
    cdef Sink S
    sc[0] = 1.0
    sc[1] = FIRST_S1_C
    sc[2] = FIRST_S2_C
    _check(ev, n, m, h)
    if rdir.shape[0] != n or rdir.shape[1] != m:
        raise ValueError("rdir must have shape (n, m)")
    if hess_spec_init(&H, n, method, accuracy, 3, sc) < 0:
        raise ValueError(f"no Hessian stencil for method {method}, accuracy {accuracy}")
    nres = n * (n + 1) // 2
    val = _alloc((1, nres, m), "the Hessian")
    err = _alloc((1, nres, m), "the Hessian")
    rnd = _alloc((1, nres, m), "the Hessian")
    bad = np.zeros((1, nres, m), dtype=np.bool_)
    if m == 0:
        return val, err, rnd, bad
    S.mode = 1
    S.m = m
    S.nres = nres
    S.vals = <double *>cnp.PyArray_DATA(val)
    S.absv = <double *>cnp.PyArray_DATA(err)
    S.rnd = <double *>cnp.PyArray_DATA(rnd)
    S.bad = <unsigned char *>cnp.PyArray_DATA(bad)
    S.rdir = &rdir[0, 0]
    S.thr_d = thr_d
    S.thr_m = thr_m
    S.order0 = accuracy
    S.ostep = 2 if method == FD_CENTRAL else 1
    if ev.nogil:
        with nogil:
            _drive(ev, &H, m, &x[0, 0], m, &h[0, 0], &S, workers)
    else:
        _drive(ev, &H, m, &x[0, 0], m, &h[0, 0], &S, 1)
    return val, err, rnd, bad


def hessian_fast(f, cnp.ndarray x, int method, int accuracy, bint vectorized, double atol,
                 double rtol, double c, double thr_d, double thr_m):
    """The ONE compiled fast path of :func:`fastcalc.hessian` (one point, the default engine):
    the checked first pass of ``_steps`` in closed form, its convergence test and the symmetric
    matrix, in C.  Returns the (n, n) Hessian when EVERY entry meets ``err <= atol + rtol |H|``
    (``atol < 0``: the rounding floor, as ``atol=None``), None otherwise (the caller runs the
    engine, whose first pass is this one: same values).  ``x``: float64, C-contiguous, (n,),
    finite; ``c`` the first pass's step constant, ``thr_d``/``thr_m`` the floor thresholds of
    ``_steps._spec_info``; the caller has checked that the closed form is the engine's road
    (``coincident`` is False)."""
    cdef HessSpec H
    cdef double sc[3]
    cdef Py_ssize_t n = cnp.PyArray_DIM(x, 0), nres, r, i, k
    cdef const double *xp = <const double *>cnp.PyArray_DATA(x)
    cdef double *buf
    cdef double *hv
    cdef double *rdir
    cdef double *val
    cdef double *err
    cdef double *rnd
    cdef double *out
    cdef double tol
    cdef Sink S
    cdef Evaluator ev
    cdef bint ok = True
    sc[0] = 1.0
    sc[1] = FIRST_S1_C
    sc[2] = FIRST_S2_C
    if hess_spec_init(&H, <int>n, method, accuracy, 3, sc) < 0:
        return None
    ev = as_evaluator(f, <int>n, 1, False, True, vectorized, ())
    nres = n * (n + 1) // 2
    buf = <double *>malloc((2 * n + 3 * nres) * sizeof(double) + nres)
    if buf == NULL:
        raise MemoryError()
    hv, rdir = buf, buf + n
    val, err, rnd = rdir + n, rdir + n + nres, rdir + n + 2 * nres
    try:
        for i in range(n):                   # _diffcore.scales and _steps.exact_steps
            hv[i] = _exact_step(xp[i], c * step_scale(xp[i]), method)
            rdir[i] = fabs(hv[i]) * FIRST_S2_C / natural_scale(xp[i])
        S.mode = 1
        S.m = 1
        S.nres = nres
        S.vals, S.absv, S.rnd = val, err, rnd
        S.bad = <unsigned char *>(rnd + nres)
        S.rdir = rdir
        S.thr_d, S.thr_m = thr_d, thr_m
        S.order0 = accuracy
        S.ostep = 2 if method == FD_CENTRAL else 1
        if ev.nogil:
            with nogil:
                _drive(ev, &H, 1, xp, 1, hv, &S, 1)
        else:
            _drive(ev, &H, 1, xp, 1, hv, &S, 1)
        for r in range(nres):                # _steps.tolerance / status_of
            tol = (2.0 * rnd[r] if atol < 0 else atol) + rtol * fabs(val[r])
            if not (err[r] <= tol and isfinite(val[r]) and isfinite(err[r])):
                ok = False
                break
        if not ok:
            return None
        res = cnp.PyArray_EMPTY(2, [n, n], cnp.NPY_FLOAT64, 0)
        out = <double *>cnp.PyArray_DATA(res)
        r = 0
        for i in range(n):
            for k in range(i, n):
                out[i * n + k] = val[r]
                out[k * n + i] = val[r]
                r += 1
        return res
    finally:
        free(buf)


def points_per_point(int n, int method, int accuracy, int L):
    """Evaluations per base point of the closed-form Hessian with L levels (0: no stencil)."""
    cdef HessSpec H
    cdef double sc[HMAX_LEVELS]
    cdef int k
    if L < 1 or L > HMAX_LEVELS or n < 1:
        return 0
    for k in range(L):
        sc[k] = 2.0 ** -k
    if hess_spec_init(&H, n, method, accuracy, L, sc) < 0:
        return 0
    return hess_points(&H)


def coincident(int method, int accuracy, tuple scales):
    """True when two levels share a single-displacement point (the general plan evaluates such a
    point once, the closed form once per level): e.g. accuracy 4 with halved steps."""
    cdef HessSpec H
    cdef double sc[HMAX_LEVELS]
    cdef int k, l, a, b, L = len(scales)
    if L < 1 or L > HMAX_LEVELS:
        return True
    for k in range(L):
        sc[k] = scales[k]
    if hess_spec_init(&H, 2, method, accuracy, L, sc) < 0:
        return True
    for l in range(L):
        for k in range(l + 1, L):
            for a in range(H.nu):
                for b in range(H.nu):
                    if H.u[a] * sc[l] == H.u[b] * sc[k]:
                        return True
    return False


cdef int _check(Evaluator ev, int n, Py_ssize_t m, const double[:, ::1] h) except -1:
    if ev.n != n:
        raise ValueError(f"x has {n} variables, the evaluator {ev.n}")
    if ev.nout != 1:
        raise ValueError("the Hessian needs a scalar function (nout == 1)")
    if h.shape[0] != n or h.shape[1] != m:
        raise ValueError("h must have shape (n, m)")
    return 0


def _alloc(shape, what):
    """np.empty, with a ValueError naming the size when it cannot be had."""
    try:
        return np.empty(shape)
    except (MemoryError, ValueError):
        size = 8 * int(np.prod(np.asarray(shape, dtype=np.float64)))
        raise ValueError(f"{what} needs {size / 2**30:.1f} GiB ({shape}), more than this "
                         "machine can allocate; use hessian_vector for large n") from None


def hessian_size(tuple specs):
    """``n`` when ``specs`` are exactly the Hessian specs of n variables (``("d", i, 2)`` for
    ``i == j``, ``("m", i, j)`` for ``i < j``, rows in order), else 0: one C-speed pass."""
    cdef Py_ssize_t N = len(specs), n, c = 0, i, j
    cdef tuple sp
    n = <Py_ssize_t>((sqrt(8.0 * N + 1.0) - 1.0) / 2.0 + 0.5)
    if n < 1 or n * (n + 1) // 2 != N:
        return 0
    for i in range(n):
        for j in range(i, n):
            o = specs[c]
            c += 1
            if type(o) is not tuple:
                return 0
            sp = <tuple>o
            if len(sp) != 3 or sp[1] != i:
                return 0
            if i == j:
                if sp[0] != "d" or sp[2] != 2:
                    return 0
            elif sp[0] != "m" or sp[2] != j:
                return 0
    return n
