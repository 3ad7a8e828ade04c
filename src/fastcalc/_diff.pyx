# cython: language_level=3
"""Finite-difference kernels: stencil plans evaluated through the callable adapter.

One mechanism serves every differentiation routine.  A *plan* is a list of perturbations of a base
point (``x + a1*h[d1]*e(d1) + a2*h[d2]*e(d2)``, a direction ``d`` being a coordinate axis or a given
vector, ``h[d]`` its step at that point) and, for each perturbation, the accumulator rows its value
contributes to with a weight.  :func:`run_plan` builds all perturbed points of all base points, has
the :class:`~fastcalc._core.Evaluator` evaluate them in as few batches as memory allows, and
accumulates ``sum(w * f)``.  :func:`finish_rows` divides by the step products and runs the Richardson
extrapolation over step levels.  Gradients, Jacobians, n-th derivatives, direct 2-D Hessian stencils,
Hessian-vector products, directional derivatives and Taylor coefficients are all plans.

Stencil weights come from Fornberg's algorithm, computed once at import for derivative orders 1..6,
the three methods and accuracies 2, 4, 6, 8, and kept in a C table.
"""

cimport numpy as cnp
from libc.stdlib cimport malloc, free
from libc.string cimport memcpy, memset
from libc.math cimport fabs, pow, isfinite, fmax

import numpy as np

from fastcalc._core cimport Evaluator, as_evaluator, KIND_PYVEC

cnp.import_array()

cdef enum:
    MAXDER = 6          # highest derivative order with a stencil
    MAXNODES = 16       # nodes of the widest stencil (forward, order 6, accuracy 8: 14)
    NACC = 4            # accuracies 2, 4, 6, 8
    CHUNK_C = 2048      # points per eval call for compiled callables (cache-sized)
    CHUNK_PY_DOUBLES = 1 << 22   # doubles of one point batch for vectorized Python (32 MB)

cdef double EPS = 2.220446049250313e-16

# The weight table: nodes (in units of the step) and weights of derivative d, method, accuracy.
cdef int TAB_N[MAXDER + 1][3][NACC]
cdef double TAB_S[MAXDER + 1][3][NACC][MAXNODES]
cdef double TAB_W[MAXDER + 1][3][NACC][MAXNODES]


cdef void _fornberg(int d, int N, const double *z, double *w) noexcept nogil:
    """Weights ``w[0..N-1]`` of the ``d``-th derivative at 0 from nodes ``z`` (Fornberg 1988)."""
    cdef double C[MAXNODES][MAXDER + 1]
    cdef double c1, c2, c3, c4, c5
    cdef int i, j, k, mn
    memset(&C[0][0], 0, sizeof(C))
    c1 = 1.0
    c4 = z[0]
    C[0][0] = 1.0
    for i in range(1, N):
        mn = i if i < d else d
        c2 = 1.0
        c5 = c4
        c4 = z[i]
        for j in range(i):
            c3 = z[i] - z[j]
            c2 = c2 * c3
            if j == i - 1:
                for k in range(mn, 0, -1):
                    C[i][k] = c1 * (k * C[i - 1][k - 1] - c5 * C[i - 1][k]) / c2
                C[i][0] = -c1 * c5 * C[i - 1][0] / c2
            for k in range(mn, 0, -1):
                C[j][k] = (c4 * C[j][k] - k * C[j][k - 1]) / c3
            C[j][0] = c4 * C[j][0] / c3
        c1 = c2
    for i in range(N):
        w[i] = C[i][d]


cdef void _build_table() noexcept nogil:
    cdef int d, meth, ia, p, r, N, i
    cdef double sgn
    cdef double *S
    cdef double *W
    for d in range(1, MAXDER + 1):
        for meth in range(3):
            for ia in range(NACC):
                p = 2 * (ia + 1)
                S = TAB_S[d][meth][ia]
                W = TAB_W[d][meth][ia]
                if meth == FD_CENTRAL:
                    r = (d + 1) // 2 - 1 + p // 2
                    N = 2 * r + 1
                    for i in range(N):
                        S[i] = i - r
                else:
                    N = d + p
                    for i in range(N):
                        S[i] = i if meth == FD_FORWARD else -i
                TAB_N[d][meth][ia] = N
                _fornberg(d, N, S, W)
                if meth == FD_CENTRAL:
                    # exact (anti)symmetry: w(-s) = (-1)^d w(s), and w(0) = 0 for odd d
                    sgn = -1.0 if d % 2 else 1.0
                    for i in range(r):
                        W[i] = 0.5 * (W[i] + sgn * W[N - 1 - i])
                        W[N - 1 - i] = sgn * W[i]
                    if d % 2:
                        W[r] = 0.0
        # TAB_N[0] unused
    for meth in range(3):
        for ia in range(NACC):
            TAB_N[0][meth][ia] = 1
            TAB_S[0][meth][ia][0] = 0.0
            TAB_W[0][meth][ia][0] = 1.0


_build_table()


cdef inline int _acc_index(int accuracy) noexcept nogil:
    if accuracy == 2 or accuracy == 4 or accuracy == 6 or accuracy == 8:
        return accuracy // 2 - 1
    return -1


def fd_weights(int deriv, method="central", int accuracy=2):
    """Nodes (in units of the step) and Fornberg weights of a cached stencil.

    Parameters
    ----------
    deriv : int
        Derivative order, 1..6.
    method : {"central", "forward", "backward"}
    accuracy : {2, 4, 6, 8}

    Returns
    -------
    nodes, weights : ndarray
        ``f^(deriv)(x) ~ sum(weights * f(x + nodes * h)) / h**deriv``.

    Examples
    --------
    >>> from fastcalc._diff import fd_weights
    >>> fd_weights(1, "central", 2)[1].tolist()
    [-0.5, 0.0, 0.5]
    """
    cdef int meth = _method_code(method)
    cdef int ia = _acc_index(accuracy)
    if deriv < 1 or deriv > MAXDER:
        raise ValueError(f"deriv must be in 1..{MAXDER}, got {deriv}")
    if ia < 0:
        raise ValueError(f"accuracy must be 2, 4, 6 or 8, got {accuracy}")
    cdef int N = TAB_N[deriv][meth][ia]
    nodes = np.array([TAB_S[deriv][meth][ia][i] for i in range(N)])
    weights = np.array([TAB_W[deriv][meth][ia][i] for i in range(N)])
    return nodes, weights


def _method_code(method):
    if method == "central":
        return FD_CENTRAL
    if method == "forward":
        return FD_FORWARD
    if method == "backward":
        return FD_BACKWARD
    raise ValueError(f"method must be 'central', 'forward' or 'backward', got {method!r}")


# ---------------------------------------------------------------------------------------------
# The plan machinery
# ---------------------------------------------------------------------------------------------

cdef struct Plan:
    Py_ssize_t npert
    const int *d1           # direction of the first displacement, -1 = none (the centre)
    const double *a1        # its multiple of the step
    const int *d2           # direction of the second displacement, -1 = none
    const double *a2
    const Py_ssize_t *tptr  # terms of perturbation p: tptr[p] .. tptr[p+1]-1
    const int *trow         # accumulator row of a term
    const double *tw        # weight of a term
    Py_ssize_t nrow         # accumulator rows (per output of f)


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
            row[s] += a * hd[s]
    else:
        vec = dvec + (-1 - c) * n * m + ja
        for i in range(n):
            row = X + i * ldX
            for s in range(seg):
                row[s] += a * hd[s] * vec[i * m + s]


cdef int run_plan(Evaluator ev, const Plan *P, Py_ssize_t m, const double *x, Py_ssize_t ldx,
                  const int *dcoord, const double *dvec, const double *h, const double *f0,
                  double *acc, double *accabs) except -1 nogil:
    """Evaluate the plan at ``m`` base points and accumulate ``acc[(k*nrow + r)*m + j]``.

    ``x[i*ldx + j]``: variable i of base point j.  Direction ``d`` moves coordinate ``dcoord[d]``
    (when >= 0) or along the vector ``dvec[((-1-dcoord[d])*n + i)*m + j]``, by ``a * h[d*m + j]``.
    ``f0`` (nout x m, may be NULL) holds f(x): the centre perturbation is then not evaluated.
    ``accabs`` (may be NULL) accumulates ``|w * f|`` for the rounding-error estimate.
    """
    cdef int n = ev.n
    cdef int nout = ev.nout
    cdef Py_ssize_t nrow = P.nrow
    cdef Py_ssize_t p, pe, ne, total, C, q, qq, off, cnt, ja, seg, s, t, j
    cdef int i, k, r
    cdef double w, v
    cdef double *X = NULL
    cdef double *V = NULL
    cdef Py_ssize_t *evl = NULL
    cdef double *arow
    cdef double *brow
    cdef const double *vrow
    memset(acc, 0, nout * nrow * m * sizeof(double))
    if accabs != NULL:
        memset(accabs, 0, nout * nrow * m * sizeof(double))
    if m <= 0 or P.npert <= 0:
        return 0
    evl = <Py_ssize_t *>malloc(P.npert * sizeof(Py_ssize_t))
    if evl == NULL:
        with gil:
            raise MemoryError()
    try:
        ne = 0
        for p in range(P.npert):
            if P.d1[p] < 0 and f0 != NULL:
                # the centre is known: accumulate f0
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
        total = ne * m
        if total == 0:
            return 0
        if ev.kind == KIND_PYVEC:
            C = CHUNK_PY_DOUBLES // (n + nout)
        else:
            C = CHUNK_C
        if C < 1:
            C = 1
        if C > total:
            C = total
        X = <double *>malloc(n * C * sizeof(double))
        V = <double *>malloc(nout * C * sizeof(double))
        if X == NULL or V == NULL:
            with gil:
                raise MemoryError()
        q = 0
        while q < total:
            cnt = C if total - q > C else total - q
            # build the points of this chunk: runs of consecutive base points of one perturbation
            off = 0
            qq = q
            while off < cnt:
                pe = qq // m
                ja = qq - pe * m
                seg = m - ja
                if seg > cnt - off:
                    seg = cnt - off
                p = evl[pe]
                for i in range(n):
                    memcpy(X + i * C + off, x + i * ldx + ja, seg * sizeof(double))
                if P.d1[p] >= 0:
                    _displace(X + off, C, seg, n, P.d1[p], P.a1[p], dcoord, dvec, h, m, ja)
                if P.d2[p] >= 0:
                    _displace(X + off, C, seg, n, P.d2[p], P.a2[p], dcoord, dvec, h, m, ja)
                off += seg
                qq += seg
            ev.eval(cnt, X, C, V, C)
            # accumulate the weighted values
            off = 0
            qq = q
            while off < cnt:
                pe = qq // m
                ja = qq - pe * m
                seg = m - ja
                if seg > cnt - off:
                    seg = cnt - off
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
            q += cnt
    finally:
        free(evl)
        free(X)
        free(V)
    return 0


cdef inline double _ipow(double b, int e) noexcept nogil:
    cdef double r = 1.0
    cdef int i
    for i in range(e):
        r *= b
    return r


cdef void finish_rows(int nout, Py_ssize_t nres, int levels, int order0, int ostep, Py_ssize_t m,
                      const int *rd1, const int *rp1, const int *rd2, const int *rp2,
                      const double *rfac, const double *h, double *acc, double *accabs,
                      double *out, double *err) noexcept nogil:
    """Divide the accumulators by their step products and extrapolate over the levels.

    Rows are level-major: row ``l*nres + c`` is result ``c`` at level ``l`` (steps divided by
    ``2**l``); the error of level-0 results is ``O(h**order0)``, next terms every ``ostep`` orders.
    ``out``/``err`` are ``nout x nres x m``; ``err`` (may be NULL) gets the Richardson difference
    plus the rounding estimate (needs ``accabs``).
    """
    cdef Py_ssize_t nrow = nres * levels
    cdef Py_ssize_t r, c, j
    cdef int k, l, lv
    cdef double div, f
    cdef double T[8]
    cdef double Tn[8]
    cdef double rnd, prev_diag, e
    cdef double *arow
    cdef double *brow
    for k in range(nout):
        for r in range(nrow):
            arow = acc + (k * nrow + r) * m
            brow = accabs + (k * nrow + r) * m if accabs != NULL else NULL
            for j in range(m):
                div = rfac[r] * _ipow(h[rd1[r] * m + j], rp1[r])
                if rd2[r] >= 0:
                    div *= _ipow(h[rd2[r] * m + j], rp2[r])
                arow[j] /= div
                if brow != NULL:
                    brow[j] /= fabs(div)
    for k in range(nout):
        for c in range(nres):
            for j in range(m):
                if levels == 1:
                    out[(k * nres + c) * m + j] = acc[(k * nrow + c) * m + j]
                    if err != NULL:
                        err[(k * nres + c) * m + j] = (
                            EPS * accabs[(k * nrow + c) * m + j] if accabs != NULL else 0.0)
                    continue
                # Richardson table, row by row
                prev_diag = 0.0
                e = 0.0
                for l in range(levels):
                    Tn[0] = acc[(k * nrow + l * nres + c) * m + j]
                    for lv in range(1, l + 1):
                        f = _ipow(2.0, order0 + (lv - 1) * ostep)
                        Tn[lv] = Tn[lv - 1] + (Tn[lv - 1] - T[lv - 1]) / (f - 1.0)
                    if l == levels - 1:
                        e = fmax(fabs(Tn[l] - Tn[l - 1]), fabs(Tn[l] - T[l - 1]))
                    for lv in range(l + 1):
                        T[lv] = Tn[lv]
                out[(k * nres + c) * m + j] = T[levels - 1]
                if err != NULL:
                    rnd = 0.0
                    if accabs != NULL:
                        rnd = EPS * accabs[(k * nrow + (levels - 1) * nres + c) * m + j] * (
                            _ipow(2.0, levels))
                    err[(k * nres + c) * m + j] = e + rnd


# ---------------------------------------------------------------------------------------------
# The gradient other kernels use
# ---------------------------------------------------------------------------------------------

cdef int fd_gradient(Evaluator ev, Py_ssize_t m, const double *x, Py_ssize_t ldx,
                     double *g, Py_ssize_t ldg, int method, int accuracy,
                     const double *step, const double *f0) except -1 nogil:
    """Finite-difference gradient of a scalar evaluator at ``m`` points (see ``_diff.pxd``).

    ``g[i*ldg + j]`` gets df/dx_i at point ``x[:, j]``.  ``step`` NULL: relative steps
    ``eps**(1/(accuracy+1)) * max(1, |x_i|)``; otherwise ``n`` absolute steps.  ``f0`` (length m,
    may be NULL): known f(x), reused by forward/backward differences.
    """
    cdef int n = ev.n
    cdef int ia = _acc_index(accuracy)
    cdef int N, K, i, kk, b
    cdef Py_ssize_t j, p, t, npert
    cdef double w0, hh, xv, tmp, c
    cdef const double *S
    cdef const double *W
    cdef Plan P
    cdef int *d1 = NULL
    cdef double *a1 = NULL
    cdef int *d2 = NULL
    cdef Py_ssize_t *tptr = NULL
    cdef int *trow = NULL
    cdef double *tw = NULL
    cdef int *dcoord = NULL
    cdef double *h = NULL
    cdef double *acc = NULL
    if ia < 0 or method < 0 or method > 2:
        with gil:
            raise ValueError(f"fd_gradient: bad method {method} or accuracy {accuracy}")
    if ev.nout != 1:
        with gil:
            raise ValueError("fd_gradient needs a scalar function (nout == 1)")
    if m <= 0:
        return 0
    N = TAB_N[1][method][ia]
    S = TAB_S[1][method][ia]
    W = TAB_W[1][method][ia]
    K = 0
    w0 = 0.0
    for b in range(N):
        if S[b] == 0.0:
            w0 = W[b]
        elif W[b] != 0.0:
            K += 1
    npert = n * K + (1 if w0 != 0.0 else 0)
    d1 = <int *>malloc(npert * sizeof(int))
    a1 = <double *>malloc(npert * sizeof(double))
    d2 = <int *>malloc(npert * sizeof(int))
    tptr = <Py_ssize_t *>malloc((npert + 1) * sizeof(Py_ssize_t))
    trow = <int *>malloc((n * K + n) * sizeof(int))
    tw = <double *>malloc((n * K + n) * sizeof(double))
    dcoord = <int *>malloc(n * sizeof(int))
    h = <double *>malloc(n * m * sizeof(double))
    acc = <double *>malloc(n * m * sizeof(double))
    try:
        if (d1 == NULL or a1 == NULL or d2 == NULL or tptr == NULL or trow == NULL or tw == NULL
                or dcoord == NULL or h == NULL or acc == NULL):
            with gil:
                raise MemoryError()
        p = 0
        t = 0
        for i in range(n):
            dcoord[i] = i
            for b in range(N):
                if S[b] != 0.0 and W[b] != 0.0:
                    d1[p] = i
                    a1[p] = S[b]
                    d2[p] = -1
                    tptr[p] = t
                    trow[t] = i
                    tw[t] = W[b]
                    t += 1
                    p += 1
        if w0 != 0.0:
            d1[p] = -1
            a1[p] = 0.0
            d2[p] = -1
            tptr[p] = t
            for i in range(n):
                trow[t] = i
                tw[t] = w0
                t += 1
            p += 1
        tptr[p] = t
        P.npert = npert
        P.d1 = d1
        P.a1 = a1
        P.d2 = d2
        P.a2 = a1
        P.tptr = tptr
        P.trow = trow
        P.tw = tw
        P.nrow = n
        c = pow(EPS, 1.0 / (accuracy + 1))
        for i in range(n):
            for j in range(m):
                xv = x[i * ldx + j]
                if step == NULL:
                    hh = c * fmax(1.0, fabs(xv))
                else:
                    hh = step[i]
                # make the step exactly representable: x + h (x - h for backward) is exact
                if method == FD_BACKWARD:
                    tmp = xv - hh
                    hh = xv - tmp
                else:
                    tmp = xv + hh
                    hh = tmp - xv
                h[i * m + j] = hh
        run_plan(ev, &P, m, x, ldx, dcoord, NULL, h, f0, acc, NULL)
        for i in range(n):
            for j in range(m):
                g[i * ldg + j] = acc[i * m + j] / h[i * m + j]
    finally:
        free(d1)
        free(a1)
        free(d2)
        free(tptr)
        free(trow)
        free(tw)
        free(dcoord)
        free(h)
        free(acc)
    return 0


def _fd_gradient(f, x, method="central", int accuracy=2, step=None, f0=None, *, bint vectorized=False,
                 tuple args=()):
    """Python entry to :c:func:`fd_gradient` (tests): ``x`` of shape (n, m), returns (n, m)."""
    cdef const double[:, ::1] xv = np.ascontiguousarray(x, dtype=np.float64)
    cdef int n = xv.shape[0]
    cdef Py_ssize_t m = xv.shape[1]
    cdef int meth = _method_code(method)
    cdef Evaluator ev = as_evaluator(f, n, 1, False, True, vectorized, args)
    g = np.zeros((n, m), dtype=np.float64)
    cdef double[:, ::1] gv = g
    cdef const double[::1] sv
    cdef const double[::1] fv
    cdef const double *sp = NULL
    cdef const double *fp = NULL
    if step is not None:
        sv = np.ascontiguousarray(np.broadcast_to(np.asarray(step, dtype=np.float64), (n,)))
        sp = &sv[0]
    if f0 is not None:
        fv = np.ascontiguousarray(np.broadcast_to(np.asarray(f0, dtype=np.float64), (m,)))
        fp = &fv[0]
    if m == 0:
        return g
    if ev.nogil:
        with nogil:
            fd_gradient(ev, m, &xv[0, 0], m, &gv[0, 0], m, meth, accuracy, sp, fp)
    else:
        fd_gradient(ev, m, &xv[0, 0], m, &gv[0, 0], m, meth, accuracy, sp, fp)
    return g
