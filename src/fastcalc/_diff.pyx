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

Stencil weights come from Fornberg's algorithm, computed once at import for derivative orders 1..10,
the three methods and accuracies 2, 4, 6, 8, and kept in a C table.
"""

cimport numpy as cnp
from libc.stdlib cimport malloc, free
from libc.string cimport memcpy, memset
from libc.math cimport fabs, pow, isfinite, NAN, INFINITY

import numpy as np

from fastcalc._core cimport Evaluator, as_evaluator

cnp.import_array()

cdef enum:
    MAXDER = 10         # highest derivative order with a stencil
    MAXNODES = 20       # nodes of the widest stencil (forward, order 10, accuracy 8: 18)
    NACC = 5            # accuracies 1 (one-sided only), 2, 4, 6, 8
    CHUNK_C = 2048      # points per eval call for compiled callables (cache-sized) ...
    CHUNK_C_DOUBLES = 1 << 18    # ... and at most this many doubles per batch (2 MB)
    CHUNK_PY_DOUBLES = 1 << 14   # doubles of one point batch for vectorized Python (128 KB:
                                 # temporaries of NumPy expressions stay in cache)
    SMALL_DOUBLES = 512          # fd_gradient problems this small run on stack buffers

cdef double EPS = 2.220446049250313e-16
#: relative steps scale with ``|x|``, floored at this absolute value near ``x = 0``
cdef double STEP_FLOOR = 1e-3
SCALE_FLOOR = STEP_FLOOR

#: most step levels of one plan (extrapolated plans: 8)
MAX_LEVELS = 48

#: most perturbations one plan may have (a Hessian of about 1400 variables, central, accuracy 2)
MAX_PLAN_POINTS = 1 << 22

# The weight table (nodes in units of the step and weights of derivative d, method, accuracy):
# C code in _src/fc_stencils.h, filled once at import.
cdef extern from "fc_stencils.h":
    int TAB_N "FC_TAB_N"[MAXDER + 1][3][NACC]
    double TAB_S "FC_TAB_S"[MAXDER + 1][3][NACC][MAXNODES]
    double TAB_W "FC_TAB_W"[MAXDER + 1][3][NACC][MAXNODES]
    void _build_table "fc_build_table"() noexcept nogil

_build_table()

# default relative step constants of first derivatives, eps**(1/(accuracy+1)), per accuracy index
cdef double STEP_C[NACC]
STEP_C[0] = pow(EPS, 1.0 / 2)
STEP_C[1] = pow(EPS, 1.0 / 3)
STEP_C[2] = pow(EPS, 1.0 / 5)
STEP_C[3] = pow(EPS, 1.0 / 7)
STEP_C[4] = pow(EPS, 1.0 / 9)


cdef inline int _acc_index(int accuracy) noexcept nogil:
    if accuracy == 2 or accuracy == 4 or accuracy == 6 or accuracy == 8:
        return accuracy // 2
    if accuracy == 1:
        return 0
    return -1


cdef inline int _valid(int deriv, int method, int accuracy) noexcept nogil:
    """1 when a stencil exists: accuracy 1 is for one-sided first differences only."""
    cdef int ia = _acc_index(accuracy)
    if ia < 0 or method < 0 or method > 2 or deriv < 0 or deriv > MAXDER:
        return 0
    if ia == 0 and (method == FD_CENTRAL or deriv > 1):
        return 0
    return 1


def fd_weights(int deriv, method="central", int accuracy=2):
    """Nodes (in units of the step) and Fornberg weights of a cached stencil.

    Parameters
    ----------
    deriv : int
        Derivative order, 1..10.
    method : {"central", "forward", "backward"}
    accuracy : {2, 4, 6, 8}, or 1 for one-sided first derivatives

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
    if not _valid(deriv, meth, accuracy):
        raise ValueError(f"accuracy must be 2, 4, 6 or 8 (1 only for one-sided first "
                         f"derivatives), got {accuracy}")
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
    cdef void *block = NULL
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
        if not ev.nogil:            # Python callables: NumPy temporaries stay in cache
            C = CHUNK_PY_DOUBLES // (n + nout)
        else:
            C = CHUNK_C_DOUBLES // (n + nout)
            if C > CHUNK_C:
                C = CHUNK_C
        if C < 1:
            C = 1
        if C > total:
            C = total
        block = malloc((n + nout) * C * sizeof(double))
        if block == NULL:
            with gil:
                raise MemoryError()
        X = <double *>block
        V = X + n * C
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
        free(block)
    return 0


cdef extern from "fc_richardson.h":
    double ROUND_C "FC_ROUND_FACTOR"
    void _scale_rows "fc_scale_rows"(int nout, Py_ssize_t nrow, Py_ssize_t m, const int *rd1,
                                     const int *rp1, const int *rd2, const int *rp2,
                                     const double *rfac, const double *h, double *acc,
                                     double *accabs) noexcept nogil
    void _extrapolate "fc_extrapolate"(int nout, Py_ssize_t nres, int levels, int order0,
                                       int ostep, Py_ssize_t m, double *acc,
                                       const double *accabs, double *out, double *err,
                                       int extrap) noexcept nogil
    void _rich3 "fc_rich3"(Py_ssize_t cnt, const double *D0, const double *D1, const double *D2,
                           const double *A2, int order0, int ostep, double s1, double s2,
                           double *val, double *err) noexcept nogil


cdef void finish_rows(int nout, Py_ssize_t nres, int levels, int order0, int ostep, Py_ssize_t m,
                      const int *rd1, const int *rp1, const int *rd2, const int *rp2,
                      const double *rfac, const double *h, double *acc, double *accabs,
                      double *out, double *err, bint extrap=True) noexcept nogil:
    """Divide the accumulators by their step products and extrapolate over the levels
    (C in ``_src/fc_richardson.h``: ``fc_scale_rows``, ``fc_extrapolate``)."""
    _scale_rows(nout, nres * levels, m, rd1, rp1, rd2, rp2, rfac, h, acc, accabs)
    _extrapolate(nout, nres, levels, order0, ostep, m, acc, accabs, out, err, extrap)


# ---------------------------------------------------------------------------------------------
# The gradient other kernels use
# ---------------------------------------------------------------------------------------------

cdef inline double step_scale(double xv) noexcept nogil:
    """The length scale of a coordinate: ``|x|``, with the absolute floor ``STEP_FLOOR`` near 0."""
    xv = fabs(xv)
    return xv if xv > STEP_FLOOR else STEP_FLOOR


cdef inline double _exact_step(double xv, double hh, int method) noexcept nogil:
    """``hh`` adjusted so that ``x + h`` (``x - h`` for backward differences) is exact."""
    cdef double tmp
    if method == FD_BACKWARD:
        tmp = xv - hh
        return xv - tmp
    tmp = xv + hh
    return tmp - xv


cdef void _gradient_steps(int n, Py_ssize_t m, const double *x, Py_ssize_t ldx, double c,
                          const double *step, int method, double *h) noexcept nogil:
    """h[i*m + j]: the step of coordinate i at point j (relative ``c*step_scale(x)`` or ``step[i]``)."""
    cdef int i
    cdef Py_ssize_t j
    cdef double xv
    for i in range(n):
        for j in range(m):
            xv = x[i * ldx + j]
            h[i * m + j] = _exact_step(xv, c * step_scale(xv) if step == NULL else step[i],
                                       method)


cdef int fd_gradient(Evaluator ev, Py_ssize_t m, const double *x, Py_ssize_t ldx,
                     double *g, Py_ssize_t ldg, int method, int accuracy,
                     const double *step, const double *f0) except -1 nogil:
    """Finite-difference gradient of a scalar evaluator at ``m`` points (see ``_diff.pxd``).

    ``g[i*ldg + j]`` gets df/dx_i at point ``x[:, j]``.  ``step`` NULL: relative steps
    ``eps**(1/(accuracy+1)) * max(|x_i|, 1e-3)``; otherwise ``n`` absolute steps.  ``f0`` (length m,
    may be NULL): known f(x), reused by forward/backward differences.
    """
    cdef int n = ev.n
    cdef int ia = _acc_index(accuracy)
    cdef int N, K, i, kk, b
    cdef Py_ssize_t j, p, t, npert
    cdef double w0
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
    if not _valid(1, method, accuracy):
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
    if m * npert * (n + 1) <= SMALL_DOUBLES:
        return _fd_gradient_small(ev, m, x, ldx, g, ldg, method, STEP_C[ia], step, f0, N, S, W,
                                  npert, w0)
    # one block for everything: doubles first (8-byte aligned), then Py_ssize_t, then ints
    cdef Py_ssize_t nterm = n * K + n
    cdef Py_ssize_t nd = npert + nterm + 2 * n * m
    cdef Py_ssize_t nz = npert + 1
    cdef Py_ssize_t ni = 2 * npert + nterm + n
    cdef char *block = <char *>malloc(nd * sizeof(double) + nz * sizeof(Py_ssize_t)
                                      + ni * sizeof(int))
    if block == NULL:
        with gil:
            raise MemoryError()
    a1 = <double *>block
    tw = a1 + npert
    h = tw + nterm
    acc = h + n * m
    tptr = <Py_ssize_t *>(acc + n * m)
    d1 = <int *>(tptr + nz)
    d2 = d1 + npert
    trow = d2 + npert
    dcoord = trow + nterm
    try:
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
        _gradient_steps(n, m, x, ldx, STEP_C[ia], step, method, h)
        run_plan(ev, &P, m, x, ldx, dcoord, NULL, h, f0, acc, NULL)
        for i in range(n):
            for j in range(m):
                g[i * ldg + j] = acc[i * m + j] / h[i * m + j]
    finally:
        free(block)
    return 0


cdef int fd_hessian(Evaluator ev, Py_ssize_t m, const double *x, Py_ssize_t ldx, double *H,
                    Py_ssize_t ldh, const double *step) except -1 nogil:
    """Finite-difference Hessian of a scalar evaluator at ``m`` points (see ``_diff.pxd``).

    ``H[(r*n + c)*ldh + j]`` gets d2f/dx_r dx_c at point ``x[:, j]`` (exactly symmetric): the
    direct central stencil of :func:`fastcalc.hessian` with ``step="fixed"`` (diagonal
    ``(f(x+h e_i) - 2 f(x) + f(x-h e_i)) / h_i**2``, off-diagonal the tensor product of two central
    first differences; ``2 n**2 + 1`` evaluations per point, all in batches through ``run_plan``).
    ``step`` NULL: ``h_i = eps**(1/4) * max(|x_i|, 1e-3)``, made exact; else ``n`` absolute steps.
    """
    cdef int n = ev.n
    cdef Py_ssize_t npair = n * (n - 1) // 2
    cdef Py_ssize_t npert = 2 * n + 4 * npair + 1, nterm = 2 * n + 4 * npair + n
    cdef Py_ssize_t nrow = n + npair, p = 0, t = 0, j, q
    cdef int i, k, si, sk
    cdef Plan P
    if ev.nout != 1:
        with gil:
            raise ValueError("fd_hessian needs a scalar function (nout == 1)")
    if m <= 0:
        return 0
    cdef char *block = <char *>malloc((2 * npert + nterm + n * m + nrow * m) * sizeof(double)
                                      + (npert + 1) * sizeof(Py_ssize_t)
                                      + (2 * npert + nterm + n) * sizeof(int))
    if block == NULL:
        with gil:
            raise MemoryError()
    cdef double *a1 = <double *>block
    cdef double *a2 = a1 + npert
    cdef double *tw = a2 + npert
    cdef double *h = tw + nterm
    cdef double *acc = h + n * m
    cdef Py_ssize_t *tptr = <Py_ssize_t *>(acc + nrow * m)
    cdef int *d1 = <int *>(tptr + npert + 1)
    cdef int *d2 = d1 + npert
    cdef int *trow = d2 + npert
    cdef int *dcoord = trow + nterm
    try:
        for i in range(n):                    # rows 0..n-1: diagonal, then the pairs i < k
            dcoord[i] = i
            for si in range(-1, 2, 2):
                d1[p], a1[p], d2[p], a2[p], tptr[p] = i, si, -1, 0.0, t
                trow[t], tw[t] = i, 1.0
                t += 1
                p += 1
        q = n
        for i in range(n):
            for k in range(i + 1, n):
                for si in range(-1, 2, 2):
                    for sk in range(-1, 2, 2):
                        d1[p], a1[p], d2[p], a2[p], tptr[p] = i, si, k, sk, t
                        trow[t], tw[t] = <int>q, 0.25 * si * sk
                        t += 1
                        p += 1
                q += 1
        d1[p], a1[p], d2[p], a2[p], tptr[p] = -1, 0.0, -1, 0.0, t      # the centre
        for i in range(n):
            trow[t], tw[t] = i, -2.0
            t += 1
        p += 1
        tptr[p] = t
        P.npert, P.d1, P.a1, P.d2, P.a2 = npert, d1, a1, d2, a2
        P.tptr, P.trow, P.tw, P.nrow = tptr, trow, tw, nrow
        _gradient_steps(n, m, x, ldx, pow(EPS, 0.25), step, FD_CENTRAL, h)
        run_plan(ev, &P, m, x, ldx, dcoord, NULL, h, NULL, acc, NULL)
        for i in range(n):
            for j in range(m):
                H[(i * n + i) * ldh + j] = acc[i * m + j] / (h[i * m + j] * h[i * m + j])
        q = n
        for i in range(n):
            for k in range(i + 1, n):
                for j in range(m):
                    H[(i * n + k) * ldh + j] = acc[q * m + j] / (h[i * m + j] * h[k * m + j])
                    H[(k * n + i) * ldh + j] = H[(i * n + k) * ldh + j]
                q += 1
    finally:
        free(block)
    return 0


def _fd_hessian(f, x, step=None, *, bint vectorized=False, tuple args=()):
    """Python entry to :c:func:`fd_hessian` (tests): ``x`` (n, m), returns (n, n, m)."""
    xa = np.ascontiguousarray(x, dtype=np.float64)
    if xa.ndim != 2:
        raise ValueError("x must have shape (n, m)")
    cdef int n = xa.shape[0]
    cdef Py_ssize_t m = xa.shape[1]
    cdef const double[:, ::1] xv = xa
    cdef Evaluator ev = as_evaluator(f, n, 1, False, True, vectorized, args)
    H = np.zeros((n * n, m))
    cdef double[:, ::1] hv = H
    cdef const double[::1] sv
    cdef const double *sp = NULL
    if step is not None:
        sv = np.ascontiguousarray(np.broadcast_to(np.asarray(step, dtype=np.float64), (n,)))
        sp = &sv[0]
    if m == 0:
        return H.reshape(n, n, m)
    if ev.nogil:
        with nogil:
            fd_hessian(ev, m, &xv[0, 0], m, &hv[0, 0], m, sp)
    else:
        fd_hessian(ev, m, &xv[0, 0], m, &hv[0, 0], m, sp)
    return H.reshape(n, n, m)


cdef int _fd_gradient_small(Evaluator ev, Py_ssize_t m, const double *x, Py_ssize_t ldx,
                            double *g, Py_ssize_t ldg, int method, double c, const double *step,
                            const double *f0, int N, const double *S, const double *W,
                            Py_ssize_t npert, double w0) except -1 nogil:
    """fd_gradient for small problems (an optimizer's single point): stack buffers, no plan.

    Same points, steps and order of summation as the general path (``run_plan``), so the same
    result to the bit.  Point ``(k*K + b)*m + j`` is base point j moved along coordinate k by
    node b of the K nodes with nonzero offset and weight; the centre (when it must be evaluated)
    comes last.
    """
    cdef double X[SMALL_DOUBLES]
    cdef double H[SMALL_DOUBLES]
    cdef double V[SMALL_DOUBLES]
    cdef int n = ev.n
    cdef int i, b, bi, k
    cdef Py_ssize_t j, q, npts
    cdef Py_ssize_t K = (npert - 1 if w0 != 0.0 else npert) // n
    cdef double a
    cdef bint centre = w0 != 0.0 and f0 == NULL
    npts = m * (n * K + (1 if centre else 0))
    _gradient_steps(n, m, x, ldx, c, step, method, H)
    q = 0
    for k in range(n):
        for b in range(N):
            if S[b] != 0.0 and W[b] != 0.0:
                for j in range(m):
                    for i in range(n):
                        X[i * npts + q] = x[i * ldx + j]
                    X[k * npts + q] += S[b] * H[k * m + j]
                    q += 1
    if centre:
        for j in range(m):
            for i in range(n):
                X[i * npts + q] = x[i * ldx + j]
            q += 1
    ev.eval(npts, X, npts, V, npts)
    for k in range(n):
        for j in range(m):
            a = 0.0
            if w0 != 0.0 and f0 != NULL:      # a known centre is accumulated first
                a += w0 * f0[j]
            bi = 0
            for b in range(N):
                if S[b] != 0.0 and W[b] != 0.0:
                    a += W[b] * V[(k * K + bi) * m + j]
                    bi += 1
            if centre:
                a += w0 * V[n * K * m + j]
            g[k * ldg + j] = a / H[k * m + j]
    return 0


def _fd_gradient(f, x, method="central", int accuracy=2, step=None, f0=None, *, bint vectorized=False,
                 tuple args=(), Py_ssize_t pad=0):
    """Python entry to :c:func:`fd_gradient` (tests): ``x`` of shape (n, m), returns (n, m).

    ``pad`` > 0 stores the points and the gradient with leading dimension ``m + pad`` (tests the
    ``ldx``/``ldg`` strides).
    """
    xa = np.ascontiguousarray(x, dtype=np.float64)
    if xa.ndim != 2:
        raise ValueError("x must have shape (n, m)")
    cdef int n = xa.shape[0]
    cdef Py_ssize_t m = xa.shape[1]
    cdef Py_ssize_t ld = m + pad
    if pad < 0:
        raise ValueError("pad must be >= 0")
    xp_arr = np.full((n, ld), np.nan)
    xp_arr[:, :m] = xa
    cdef const double[:, ::1] xv = xp_arr
    cdef int meth = _method_code(method)
    cdef Evaluator ev = as_evaluator(f, n, 1, False, True, vectorized, args)
    g = np.full((n, ld), -7.0)
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
    if m == 0 or ld == 0:
        return g[:, :m]
    if ev.nogil:
        with nogil:
            fd_gradient(ev, m, &xv[0, 0], ld, &gv[0, 0], ld, meth, accuracy, sp, fp)
    else:
        fd_gradient(ev, m, &xv[0, 0], ld, &gv[0, 0], ld, meth, accuracy, sp, fp)
    if pad and not (g[:, m:] == -7.0).all():
        raise AssertionError("fd_gradient wrote outside its columns")
    return g[:, :m].copy()


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
    cdef readonly object d1, a1, d2, a2, tptr, trow, tw, rd1, rp1, rd2, rp2, rfac
    cdef readonly Py_ssize_t npert, nrow, nres
    cdef readonly int levels, order0, ostep, ndir_min
    cdef readonly tuple specs
    cdef Plan P                 # raw pointers into the arrays above (kept alive by them)
    cdef const int *prd1
    cdef const int *prp1
    cdef const int *prd2
    cdef const int *prp2
    cdef const double *prfac

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


def make_plan(tuple specs, int method, int accuracy, int levels, double ratio=2.0,
              tuple scales=None):
    """The (cached) :class:`StencilPlan` of ``specs`` for a method, accuracy and Richardson levels
    (level ``l`` has the steps times ``scales[l]``, default ``ratio**-l``; ``run`` extrapolates
    ratio-2 plans only)."""
    if not ratio > 1.0:
        raise ValueError(f"ratio must be > 1, got {ratio}")
    if scales is None:
        scales = tuple(ratio ** -l for l in range(levels))
    if len(scales) != levels or not all(0.0 < float(v) <= 1.0 for v in scales):
        raise ValueError(f"scales must be {levels} numbers in (0, 1]")
    key = (specs, method, accuracy, levels, scales)
    cdef StencilPlan pl = _PLANS.get(key)
    if pl is not None:
        return pl
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
    if est * levels > MAX_PLAN_POINTS:
        raise ValueError(f"the stencil needs about {est * levels} points per evaluation point, more "
                         f"than {MAX_PLAN_POINTS}; for large Hessians use hessian_vector")
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

    order0 = accuracy
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
    pl = StencilPlan.__new__(StencilPlan)
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
    pl.nrow = nrow
    pl.nres = nres
    pl.levels = levels
    pl.order0 = order0
    pl.ostep = 2 if method == FD_CENTRAL else 1
    pl.ndir_min = 1 + max([max(k[0], k[2]) for k in keys] + [int(rd1.max(initial=-1)),
                                                             int(rd2.max(initial=-1))])
    if pl.trow.size == 0:                  # no terms at all: keep valid pointers
        pl.trow = np.zeros(1, dtype=np.intc)
        pl.tw = np.zeros(1, dtype=np.float64)
    pl._bind()
    global _PLANS_NPERT
    if pl.npert <= 100_000:
        # bounded by count AND by total size (a mid-size Hessian's plan is MBs: 512 of them
        # were a GB kept alive across calls)
        if len(_PLANS) >= 512 or _PLANS_NPERT + pl.npert > PLANS_MAX_NPERT:
            _PLANS.clear()
            _PLANS_NPERT = 0
        _PLANS[key] = pl
        _PLANS_NPERT += pl.npert
    return pl


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


def run(Evaluator ev, StencilPlan plan, const double[:, ::1] x, const double[:, ::1] h,
        const int[::1] dcoord, dvec=None, f0=None, bint want_err=False, bint extrapolate=True):
    """Evaluate ``plan`` at the points ``x`` (n, m) with steps ``h`` (ndir, m).

    ``dvec`` (nvec, n, m) holds the vector directions (``dcoord[d] = -1 - vector index``);
    ``f0`` (nout, m) known values at ``x``.  Returns ``(out, err)``, each (nout, nres, m) (``err``
    None unless ``want_err``).  ``extrapolate=False`` (2-level plans only) returns the finer
    level's plain result with its error estimate instead of the extrapolated one.
    """
    cdef Py_ssize_t m = x.shape[1]
    cdef int nout = ev.nout
    cdef Py_ssize_t nrow = plan.nrow
    cdef Py_ssize_t nres = plan.nres
    cdef Py_ssize_t d, nvec = 0
    cdef cnp.ndarray acc, accabs, out, err
    cdef cnp.npy_intp dims[3]
    cdef const double[:, :, ::1] dv
    cdef const double[:, ::1] fv
    cdef const double *dvp = NULL
    cdef const double *f0p = NULL
    cdef double *absp = NULL
    cdef double *errp = NULL
    if x.shape[0] != ev.n:
        raise ValueError(f"x has {x.shape[0]} variables, the evaluator {ev.n}")
    if not extrapolate and plan.levels != 2:
        raise ValueError("extrapolate=False needs a plan with 2 levels")
    if plan.levels > 8:
        raise ValueError("run extrapolates at most 8 levels; use run_levels")
    _check_directions(ev, plan, m, h.shape[0], h.shape[1], dcoord, dvec)
    if dvec is not None:
        dv = dvec
        if dv.shape[0] > 0 and m > 0:
            dvp = &dv[0, 0, 0]
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
    cdef const double *xp = &x[0, 0]
    cdef const double *hp = &h[0, 0]
    cdef const int *dcp = &dcoord[0]
    if ev.nogil:
        with nogil:
            run_plan(ev, &plan.P, m, xp, m, dcp, dvp, hp, f0p, accp, absp)
    else:
        run_plan(ev, &plan.P, m, xp, m, dcp, dvp, hp, f0p, accp, absp)
    finish_rows(nout, nres, plan.levels, plan.order0, plan.ostep, m, plan.prd1, plan.prp1,
                plan.prd2, plan.prp2, plan.prfac, hp, accp, absp,
                <double *>cnp.PyArray_DATA(out), errp, extrapolate)
    return out, err


def run_levels(Evaluator ev, StencilPlan plan, const double[:, ::1] x, const double[:, ::1] h,
               const int[::1] dcoord, dvec=None):
    """Evaluate ``plan`` at ``x`` (n, m) and return the raw result of every step level.

    Returns ``(vals, absv)``, each of shape (nout, levels, nres, m): ``vals[k, l, c, j]`` is result
    ``c`` (output ``k``, point ``j``) with the steps ``h / 2**l``; ``absv`` the same sum over
    ``|w * f|`` (times ``eps`` it is the rounding error of ``vals``).  No extrapolation: the caller
    builds the Richardson table (any number of levels up to ``MAX_LEVELS``).
    """
    cdef Py_ssize_t m = x.shape[1]
    cdef int nout = ev.nout
    cdef Py_ssize_t nrow = plan.nrow
    cdef const double[:, :, ::1] dv
    cdef const double *dvp = NULL
    cdef Py_ssize_t d, nvec = 0
    if x.shape[0] != ev.n:
        raise ValueError(f"x has {x.shape[0]} variables, the evaluator {ev.n}")
    _check_directions(ev, plan, m, h.shape[0], h.shape[1], dcoord, dvec)
    if dvec is not None:
        dv = dvec
        if dv.shape[0] > 0 and m > 0:
            dvp = &dv[0, 0, 0]
    vals = np.zeros((nout, plan.levels, plan.nres, m))
    absv = np.zeros((nout, plan.levels, plan.nres, m))
    if m == 0:
        return vals, absv
    cdef double *accp = <double *>cnp.PyArray_DATA(vals)
    cdef double *absp = <double *>cnp.PyArray_DATA(absv)
    cdef const double *xp = &x[0, 0]
    cdef const double *hp = &h[0, 0]
    cdef const int *dcp = &dcoord[0]
    if ev.nogil:
        with nogil:
            run_plan(ev, &plan.P, m, xp, m, dcp, dvp, hp, NULL, accp, absp)
    else:
        run_plan(ev, &plan.P, m, xp, m, dcp, dvp, hp, NULL, accp, absp)
    _scale_rows(nout, nrow, m, plan.prd1, plan.prp1, plan.prd2, plan.prp2, plan.prfac, hp, accp,
                absp)
    return vals, absv


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
cdef double FIRST_S1_C = 0.5
cdef double FIRST_S2_C = 0.35355339059327373
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
def first_pass_constant(int k, int order0, int ostep):
    """The first level's relative step of the checked pass (levels h0, h0/r, h0/r**2): the finest
    step ``eps**(1/(order0 + ostep + k))`` balances the once-extrapolated truncation against
    rounding."""
    return 4.0 * pow(EPS, 1.0 / (order0 + ostep + k))


def gradient_fast(f, cnp.ndarray x, int method, int accuracy, bint vectorized, double atol,
                  double rtol, tuple specs):
    """The checked fast path of :func:`fastcalc.gradient`: three levels of the stencil, Richardson
    and the error estimate of ``fc_rich3``, all in C.

    ``x``: float64 ndarray (n,) or (n, k...); ``specs`` the gradient's result specs (n entries).
    Returns the gradient when EVERY element meets ``err <= atol + rtol |g|`` (``atol < 0``: the
    rounding floor, as ``atol=None`` in the wrappers); None otherwise (or
    when ``x`` is not a C-contiguous float64 array), and the caller runs the full engine.
    """
    cdef int nd = cnp.PyArray_NDIM(x)
    cdef Py_ssize_t n, m, i, j, total
    cdef cnp.npy_intp *dims
    cdef const double *xp
    cdef double *gp
    cdef double *hp
    cdef double *work
    cdef cnp.ndarray g
    cdef Evaluator ev
    cdef StencilPlan plan
    cdef double c, xv, e, t, wsum, thr
    cdef int *dcoord
    cdef bint ok = True
    if (nd < 1 or cnp.PyArray_TYPE(x) != cnp.NPY_FLOAT64 or not cnp.PyArray_IS_C_CONTIGUOUS(x)):
        return None
    dims = cnp.PyArray_DIMS(x)
    n = dims[0]
    if n < 1 or n > 4096 or n != len(specs):
        return None
    total = cnp.PyArray_SIZE(x)
    m = total // n
    if m < 1:
        return None
    xp = <const double *>cnp.PyArray_DATA(x)
    for i in range(total):
        if not isfinite(xp[i]):
            raise ValueError("x must be finite (no NaN or inf)")
    if not _valid(1, method, accuracy):
        return None
    plan = make_plan(specs, method, accuracy, 3, 2.0, FIRST_SCALES)
    ev = as_evaluator(f, <int>n, 1, False, True, vectorized, ())
    c = first_pass_constant(1, plan.order0, plan.ostep)
    g = cnp.PyArray_EMPTY(nd, dims, cnp.NPY_FLOAT64, 0)
    gp = <double *>cnp.PyArray_DATA(g)
    # one block: steps (n*m), values and |w f| sums (2 * 3n*m), errors (n*m), directions (n ints)
    work = <double *>malloc((8 * n * m) * sizeof(double) + n * sizeof(int))
    if work == NULL:
        raise MemoryError()
    hp = work
    dcoord = <int *>(work + 8 * n * m)
    try:
        for i in range(n):
            dcoord[i] = <int>i
            for j in range(m):
                xv = xp[i * m + j]
                hp[i * m + j] = _exact_step(xv, c * step_scale(xv), method)
        if ev.nogil:
            with nogil:
                run_plan(ev, &plan.P, m, xp, m, dcoord, NULL, hp, NULL, work + n * m,
                         work + 4 * n * m)
        else:
            run_plan(ev, &plan.P, m, xp, m, dcoord, NULL, hp, NULL, work + n * m, work + 4 * n * m)
        _scale_rows(1, 3 * n, m, plan.prd1, plan.prp1, plan.prd2, plan.prp2, plan.prfac, hp,
                    work + n * m, work + 4 * n * m)
        # rows are level-major: level l of coordinate i at (l*n + i)*m
        _rich3(n * m, work + n * m, work + 2 * n * m, work + 3 * n * m, work + 6 * n * m,
               plan.order0, plan.ostep, FIRST_S1_C, FIRST_S2_C, gp, work + 7 * n * m)
        # the rounding floor may count as atol where (h/4) / natural scale >= thr (_steps._floor_ok)
        wsum = 0.0
        for i in range(TAB_N[1][method][_acc_index(accuracy)]):
            wsum += fabs(TAB_W[1][method][_acc_index(accuracy)][i])
        thr = ROUND_C * EPS * wsum / (rtol if rtol > 1e-300 else 1e-300)
        for i in range(n * m):
            e = work[7 * n * m + i]
            xv = fabs(xp[i])
            # atol < 0 stands for None: the rounding floor 2 * ROUND_C eps sum|w f| / h
            t = 0.0 if atol < 0 else atol
            if atol < 0 and (fabs(hp[i]) * FIRST_S2_C
                             / (xv if xv >= STEP_FLOOR else 1.0)) >= thr:
                t = 2.0 * ROUND_C * EPS * work[6 * n * m + i]
            if not (e <= t + rtol * fabs(gp[i])):
                ok = False
                break
    finally:
        free(work)
    return g if ok else None


def all_finite(a):
    """True when every element of the array ``a`` is finite (a C loop for float64 arrays)."""
    cdef cnp.ndarray arr
    cdef const double *p
    cdef Py_ssize_t i, size
    if (type(a) is np.ndarray and cnp.PyArray_TYPE(<cnp.ndarray>a) == cnp.NPY_FLOAT64
            and cnp.PyArray_IS_C_CONTIGUOUS(<cnp.ndarray>a)):
        arr = <cnp.ndarray>a
        p = <const double *>cnp.PyArray_DATA(arr)
        size = cnp.PyArray_SIZE(arr)
        for i in range(size):
            if not isfinite(p[i]):
                return False
        return True
    return bool(np.isfinite(a).all())
