# cython: language_level=3
"""Finite-difference kernels: the fixed-step gradient and Hessian other kernels cimport
(``_diff.pxd``), the checked gradient fast path, and the Fornberg stencil table's Python face.

Every evaluation goes through a stencil plan of :mod:`fastcalc._plans` (``run_plan``, the
Hessian kernel ``hessian_plan``) and so through the :class:`~fastcalc._core.Evaluator`.
Stencil weights come from Fornberg's algorithm, computed once at import for derivative orders
1..10, the three methods and accuracies 2, 4, 6, 8, and kept in a C table (``_src/fc_stencils.h``,
declared in ``_diff.pxd``).
"""

cimport numpy as cnp
from libc.stdlib cimport malloc, free
from libc.string cimport memcpy, memset
from libc.math cimport fabs, pow, sqrt, isfinite, NAN, INFINITY

import numpy as np

from cython.parallel cimport prange, threadid

from fastcalc._core cimport Evaluator, as_evaluator
from fastcalc._plans cimport (Plan, run_plan, StencilPlan, _scale_rows, _rich3, ROUND_C,
                              FIRST_S1_C, FIRST_S2_C, displace, make_plan,
                              first_pass_constant)
from fastcalc._hessplan cimport HessSpec, hess_spec_init, hess_levels
from fastcalc._plans import FIRST_SCALES
from fastcalc._validation import as_floor_tolerances, as_workers
from fastcalc._plans import MAX_PLAN_POINTS, MAX_LEVELS  # noqa: F401  (kept for the wrappers)

cnp.import_array()

cdef enum:
    SMALL_DOUBLES = 512          # fd_gradient problems this small run on stack buffers
    PM_DOUBLES = 4096            # point-major gradient runner: doubles of one block of points
    PM_INPLACE_N = 256           # ... from this many variables on, one point perturbed in place
    PM_MIN_N = 32                # gradient_fast at ONE point this short takes the batch road
                                 # (measured: d = 10 numba cfunc 7 % faster than point-major)
    GRAD_CHUNK_DOUBLES = 1 << 15  # gradient_fast: base points per chunk ~ this / n (threads)

cdef double EPS = 2.220446049250313e-16
cdef double SQRT_EPS = sqrt(EPS)        # the default rtol (as _diffcore.SQRT_EPS)
#: relative steps scale with ``|x|``, floored at this absolute value near ``x = 0``
SCALE_FLOOR = STEP_FLOOR

_build_table()          # this module's copy of the static table in fc_stencils.h

# default relative step constants of first derivatives, eps**(1/(accuracy+1)), per accuracy index
cdef double STEP_C[NACC]
STEP_C[0] = pow(EPS, 1.0 / 2)
STEP_C[1] = pow(EPS, 1.0 / 3)
STEP_C[2] = pow(EPS, 1.0 / 5)
STEP_C[3] = pow(EPS, 1.0 / 7)
STEP_C[4] = pow(EPS, 1.0 / 9)


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
# The gradient other kernels use
# ---------------------------------------------------------------------------------------------

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


cdef inline bint _point_major(Evaluator ev) noexcept nogil:
    """True when coordinate plans should run point-major (:func:`_run_points`): compiled callables
    that take one point at a time (low-level ones).  Built-ins keep the batch layout, points
    innermost, which their batch entries vectorize over (measured: faster than one point at a
    time at d = 100 and 1000).  Small problems take the batch road whatever the callable
    (fd_gradient's stack path, gradient_fast at one point of up to PM_MIN_N variables): the
    same sums, and there the gather into rows costs less than the point-major set-up."""
    return ev.is_compiled and not ev.is_builtin


cdef inline void _add_terms(const Plan *P, Py_ssize_t p, int nout, Py_ssize_t m, Py_ssize_t j,
                            const double *v, Py_ssize_t ldv, double *acc,
                            double *accabs) noexcept nogil:
    """acc[(k*nrow + r)*m + j] += w * v[k*ldv] for the terms (r, w) of perturbation p."""
    cdef Py_ssize_t t
    cdef int k
    cdef double w
    cdef Py_ssize_t nrow = P.nrow
    cdef double wv
    if nout == 1:                   # (a gradient: the same sums, without the loop over outputs)
        for t in range(P.tptr[p], P.tptr[p + 1]):
            wv = P.tw[t] * v[0]
            acc[P.trow[t] * m + j] += wv
            if accabs != NULL:
                accabs[P.trow[t] * m + j] += fabs(wv)
        return
    for t in range(P.tptr[p], P.tptr[p + 1]):
        w = P.tw[t]
        for k in range(nout):
            acc[(k * nrow + P.trow[t]) * m + j] += w * v[k * ldv]
            if accabs != NULL:
                accabs[(k * nrow + P.trow[t]) * m + j] += fabs(w * v[k * ldv])


cdef int _run_points(Evaluator ev, const Plan *P, Py_ssize_t m, const double *x, Py_ssize_t ldx,
                     const int *dcoord, const double *h, const double *f0, double *acc,
                     double *accabs) except -1 nogil:
    """``run_plan`` for plans of single-coordinate perturbations (gradients, Jacobians), built
    point-major for ``ev.eval_points``: the same sums in the same order, so the same bits.

    Each base point is copied once into a contiguous d-vector; from ``PM_INPLACE_N`` variables on,
    each perturbation is made in place (``x + a h e_c``, evaluate, restore): the callee reads the
    point where it lies, the cost of the floor.  Below, blocks of up to ``PM_DOUBLES / n`` perturbed
    copies go to the callee at once.  ``acc``/``accabs`` must be zeroed by the caller.
    """
    cdef int n = ev.n
    cdef int nout = ev.nout
    cdef bint inplace = n >= PM_INPLACE_N
    cdef Py_ssize_t B = 1 if inplace else (PM_DOUBLES // n if PM_DOUBLES // n > 1 else 1)
    cdef Py_ssize_t j, p, q, cnt, p0
    cdef int i, c
    cdef double *row
    cdef double *buf = <double *>malloc((n * (B + 1) + nout * B) * sizeof(double))
    cdef double *base = buf
    cdef double *rows = buf + n
    cdef double *vals = rows + n * B
    if buf == NULL:
        with gil:
            raise MemoryError()
    try:
        for j in range(m):
            for i in range(n):
                base[i] = x[i * ldx + j]
            if f0 != NULL:                 # a known centre is accumulated first (as run_plan)
                for p in range(P.npert):
                    if P.d1[p] < 0:
                        _add_terms(P, p, nout, m, j, f0 + j, m, acc, accabs)
            p = 0
            while p < P.npert:
                cnt = 0
                p0 = p
                while p < P.npert and cnt < B:
                    if P.d1[p] < 0 and f0 != NULL:
                        p += 1
                        continue
                    c = dcoord[P.d1[p]] if P.d1[p] >= 0 else -1
                    if inplace:
                        row = base
                    else:
                        row = rows + cnt * n
                        for i in range(n):      # (n < PM_INPLACE_N: cheaper than a memcpy call)
                            row[i] = base[i]
                    if c >= 0:
                        row[c] = displace(x[c * ldx + j], P.a1[p] * h[P.d1[p] * m + j])
                    if inplace:
                        ev.eval_points(1, row, n, vals, 1)
                        if c >= 0:
                            row[c] = x[c * ldx + j]
                        _add_terms(P, p, nout, m, j, vals, 1, acc, accabs)
                    cnt += 1
                    p += 1
                if not inplace and cnt:
                    ev.eval_points(cnt, rows, n, vals, B)
                    q = 0
                    for p0 in range(p0, p):
                        if P.d1[p0] < 0 and f0 != NULL:
                            continue
                        _add_terms(P, p0, nout, m, j, vals + q, B, acc, accabs)
                        q += 1
    finally:
        free(buf)
    return 0


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
    if m * npert * (n + 1) <= SMALL_DOUBLES:      # (any callable: the same sums as the plan)
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
        if _point_major(ev):
            memset(acc, 0, n * m * sizeof(double))
            _run_points(ev, &P, m, x, ldx, dcoord, h, f0, acc, NULL)
        else:
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
    first differences; ``2 n**2 + 1`` evaluations per point), run by the one Hessian kernel
    (``_hessplan.hess_levels``, one level).
    ``step`` NULL: ``h_i = eps**(1/4) * max(|x_i|, 1e-3)``, made exact; else ``n`` absolute steps.
    """
    cdef int n = ev.n
    cdef Py_ssize_t nres = <Py_ssize_t>n * (n + 1) // 2, j, c
    cdef int i, k
    cdef double one = 1.0
    cdef HessSpec S
    if ev.nout != 1:
        with gil:
            raise ValueError("fd_hessian needs a scalar function (nout == 1)")
    if m <= 0:
        return 0
    hess_spec_init(&S, n, FD_CENTRAL, 2, 1, &one)
    cdef double *h = <double *>malloc((n * m + 2 * nres * m) * sizeof(double))
    if h == NULL:
        with gil:
            raise MemoryError()
    cdef double *vals = h + n * m
    try:
        _gradient_steps(n, m, x, ldx, pow(EPS, 0.25), step, FD_CENTRAL, h)
        hess_levels(ev, &S, m, x, ldx, h, vals, vals + nres * m, 1)
        c = 0
        for i in range(n):
            for k in range(i, n):
                for j in range(m):
                    H[(i * n + k) * ldh + j] = vals[c * m + j]
                    H[(k * n + i) * ldh + j] = vals[c * m + j]
                c += 1
    finally:
        free(h)
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
                    X[k * npts + q] = displace(X[k * npts + q], S[b] * H[k * m + j])
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


def fixed_stencil_gradient(f, x, method="central", int accuracy=2, step=None, f0=None, *, bint vectorized=False,
                 tuple args=(), Py_ssize_t pad=0, int workers=1):
    """Python entry to :c:func:`fd_gradient` (``gradient(step="fixed")``, tests): ``x`` of shape
    (n, m), returns (n, m).

    ``pad`` > 0 stores the points and the gradient with leading dimension ``m + pad`` (tests the
    ``ldx``/``ldg`` strides).  ``workers`` > 1 (resolved, >= 1): chunks of points on OpenMP
    threads when the callable releases the GIL; every point's gradient depends on that point
    only, so the result is the same to the bit.
    """
    xa = np.ascontiguousarray(x, dtype=np.float64)
    if xa.ndim != 2:
        raise ValueError("x must have shape (n, m)")
    cdef int n = xa.shape[0]
    cdef Py_ssize_t m = xa.shape[1]
    cdef Py_ssize_t ld = m + pad
    if pad < 0:
        raise ValueError("pad must be >= 0")
    if pad:
        xp_arr = np.full((n, ld), np.nan)
        xp_arr[:, :m] = xa
    else:                           # (gradient(step="fixed")): the caller's array, no copies
        xp_arr = xa
    cdef const double[:, ::1] xv = xp_arr
    cdef int meth = _method_code(method)
    cdef Evaluator ev = as_evaluator(f, n, 1, False, True, vectorized, args)
    g = np.full((n, ld), -7.0) if pad else np.empty((n, ld))
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
    _fd_gradient_run(ev, m, &xv[0, 0], ld, &gv[0, 0], meth, accuracy, sp, fp, workers)
    if not pad:
        return g
    if not (g[:, m:] == -7.0).all():
        raise AssertionError("fd_gradient wrote outside its columns")
    return g[:, :m].copy()


cdef int _fd_gradient_run(Evaluator ev, Py_ssize_t m, const double *x, Py_ssize_t ld, double *g,
                          int meth, int accuracy, const double *sp, const double *fp,
                          int workers) except -1:
    """:c:func:`fd_gradient` at ``m`` points (leading dimension ``ld`` for x and g): on OpenMP
    threads in chunks when the callable releases the GIL and ``workers`` > 1, else without the
    GIL where the callable allows it."""
    cdef Py_ssize_t mc = GRAD_CHUNK_DOUBLES // ev.n if GRAD_CHUNK_DOUBLES // ev.n > 1 else 1
    if ev.releases_gil and workers > 1 and m > mc:
        _fd_gradient_threads(ev, m, mc, x, ld, g, meth, accuracy, sp, fp, workers)
    elif ev.nogil:
        with nogil:
            fd_gradient(ev, m, x, ld, g, ld, meth, accuracy, sp, fp)
    else:
        fd_gradient(ev, m, x, ld, g, ld, meth, accuracy, sp, fp)
    return 0


cdef int _fd_gradient_threads(Evaluator ev, Py_ssize_t m, Py_ssize_t mc, const double *x,
                              Py_ssize_t ld, double *g, int meth, int accuracy, const double *sp,
                              const double *fp, int workers) except -1:
    """fd_gradient over chunks of ``mc`` points on ``workers`` OpenMP threads (guided, as
    gradient_fast)."""
    cdef Py_ssize_t nchunks = (m + mc - 1) // mc
    cdef Py_ssize_t ci, j0
    cdef int nt = workers if workers < nchunks else <int>nchunks
    with nogil:
        for ci in prange(nchunks, num_threads=nt, schedule="guided"):
            j0 = ci * mc
            fd_gradient(ev, min(mc, m - j0), x + j0, ld, g + j0, ld, meth, accuracy, sp,
                        NULL if fp == NULL else fp + j0)
    return 0




cdef int _grad3_chunk(Evaluator ev, StencilPlan plan, const double *xp, Py_ssize_t ldx,
                      Py_ssize_t mc, int method, double c, double atol, double rtol, double thr,
                      double *gp, Py_ssize_t ldg, double *work, int *dcoord,
                      char *bad) except -1 nogil:
    """gradient_fast at the ``mc`` base points ``xp[i*ldx + j]``: writes ``gp[i*ldg + j]`` and
    returns 1 when every element met the tolerance, else 0.  ``bad`` NULL: stop at the first
    failure (gp undefined); else ``bad[i*ldx + j] = 1`` for each element that failed, and gp is
    written (its other elements are final).  ``work``: 9 n mc doubles.  Every element depends on its own point only, so any split into chunks (and threads)
    gives the same bits."""
    cdef Py_ssize_t n = ev.n
    cdef Py_ssize_t nm = n * mc
    cdef Py_ssize_t i, j, k
    cdef double xv, e, t
    cdef bint ok = True
    cdef double *hp = work
    cdef double *acc = work + nm            # 3 levels x n rows, level-major
    cdef double *accabs = work + 4 * nm
    cdef double *err = work + 7 * nm
    cdef double *gl = work + 8 * nm
    for i in range(n):
        for j in range(mc):
            xv = xp[i * ldx + j]
            hp[i * mc + j] = _exact_step(xv, c * step_scale(xv), method)
    if _point_major(ev) and not (mc == 1 and n <= PM_MIN_N):
        memset(acc, 0, 6 * nm * sizeof(double))
        _run_points(ev, &plan.P, mc, xp, ldx, dcoord, hp, NULL, acc, accabs)
    else:
        run_plan(ev, &plan.P, mc, xp, ldx, dcoord, NULL, hp, NULL, acc, accabs)
    _scale_rows(1, 3 * n, mc, plan.prd1, plan.prp1, plan.prd2, plan.prp2, plan.prfac, hp, acc,
                accabs)
    _rich3(nm, acc, acc + nm, acc + 2 * nm, accabs + 2 * nm, plan.order0, plan.ostep,
           FIRST_S1_C, FIRST_S2_C, gl, err)
    # the rounding floor may count as atol where (h/4) / natural scale >= thr (_steps._floor_ok)
    for i in range(nm):
        k = i // mc
        j = i - k * mc
        e = err[i]
        # atol < 0 stands for None: the rounding floor 2 * ROUND_C eps sum|w f| / h
        t = 0.0 if atol < 0 else atol
        if atol < 0 and fabs(hp[i]) * FIRST_S2_C / natural_scale(xp[k * ldx + j]) >= thr:
            t = 2.0 * ROUND_C * EPS * accabs[2 * nm + i]
        if not (e <= t + rtol * fabs(gl[i])):
            if bad == NULL:
                return 0
            bad[k * ldx + j] = 1
            ok = False
    for k in range(n):
        memcpy(gp + k * ldg, gl + k * mc, mc * sizeof(double))
    return ok


#: the finite-difference methods and their codes in C (the table the wrappers use too)
cdef dict _FAST_METHODS = {"central": 0, "forward": 1, "backward": 2}
FAST_METHODS = _FAST_METHODS
#: one specs object per n <= 64, and the last larger one (make_plan's memo recognises its last
#: specs by identity: a repeated d = 1000 gradient builds and hashes no 1000 tuples)
cdef list _GRAD_SPECS = [None] * 65
cdef tuple _GRAD_SPECS_BIG = ()


cpdef tuple grad_specs(Py_ssize_t n):
    """The gradient's result specs ``(("d", 0, 1), ..., ("d", n-1, 1))``, kept."""
    global _GRAD_SPECS_BIG
    cdef tuple s = <tuple>_GRAD_SPECS[n] if 0 <= n <= 64 else _GRAD_SPECS_BIG
    if s is None or len(s) != n:
        s = tuple([("d", i, 1) for i in range(n)])
        if 0 <= n <= 64:
            _GRAD_SPECS[n] = s
        elif n > 64:
            _GRAD_SPECS_BIG = s
    return s


def gradient_call(f, x, method, accuracy, step, richardson, vectorized, args, full_output,
                  atol, rtol, workers):
    """The ONE compiled fast path of :func:`fastcalc.gradient`, with its arguments as given:
    a float64 ndarray ``x``, no ``args``, no ``full_output``, a finite-difference method, and
    ``step`` None (the checked pass of :func:`gradient_fast`) or "fixed" (its ``fixed`` road,
    ``richardson`` 0).  Returns None (take the general road), the gradient, or ``(g, bad)``:
    the elements marked in ``bad`` did not meet the tolerance (``gradient_fast``'s ``partial``).
    ``atol``/``rtol``/``workers`` are validated as the general road does."""
    if (full_output or not cnp.PyArray_CheckExact(x) or type(args) is not tuple or len(args)
            or type(accuracy) is not int or type(method) is not str):
        return None
    meth = _FAST_METHODS.get(method)
    if meth is None:
        return None
    cdef int w = 1 if type(workers) is int and workers == 1 else as_workers(workers)
    cdef bint vec = vectorized
    if step is None:
        if cnp.PyArray_NDIM(<cnp.ndarray>x) == 0:
            return None
        if atol is not None or rtol is not None:    # (a negative atol is not the floor's -1)
            atol, rtol = as_floor_tolerances(atol, rtol, SQRT_EPS)
        return _gradient_run(f, <cnp.ndarray>x, meth, accuracy, vec,
                             -1.0 if atol is None else atol, SQRT_EPS if rtol is None else rtol,
                             grad_specs(cnp.PyArray_DIM(<cnp.ndarray>x, 0)), w, True, False)
    if not (type(step) is str and step == "fixed" and type(richardson) is int
            and richardson == 0):
        return None
    return _gradient_run(f, <cnp.ndarray>x, meth, accuracy, vec, 0.0, 0.0, (), w, False, True)


def gradient_fast(f, cnp.ndarray x, int method, int accuracy, bint vectorized, double atol,
                  double rtol, tuple specs, int workers=1, bint partial=False,
                  bint fixed=False):
    """The compiled gradient behind :func:`gradient_call`: three levels of the stencil,
    Richardson and the error estimate of ``fc_rich3``, all in C; or, with ``fixed``, the single
    fixed stencil of ``step="fixed"`` (:c:func:`fd_gradient`; ``atol``, ``rtol``, ``specs`` and
    ``partial`` unused), which raises ValueError when a value is not finite.

    ``x``: float64 ndarray (n,) or (n, k...); ``specs`` the gradient's result specs (n entries).
    Returns the gradient when EVERY element meets ``err <= atol + rtol |g|`` (``atol < 0``: the
    rounding floor, as ``atol=None`` in the wrappers); None otherwise (or when ``x`` is not a
    float64 array), and the caller runs the full engine.
    The points go in chunks of about ``GRAD_CHUNK_DOUBLES / n`` base points; with ``workers`` > 1
    (already resolved, >= 1) and a callable that releases the GIL, the chunks are shared by
    OpenMP threads; the result does not depend on it.
    ``partial``: return ``(g, bad)`` instead, ``bad`` None or a bool array like ``x`` marking
    the elements that did not meet the tolerance (the caller sends them to the full engine).
    """
    r = _gradient_run(f, x, method, accuracy, vectorized, atol, rtol, specs, workers, partial,
                      fixed)
    return (r, None) if partial and r is not None and type(r) is not tuple else r


cdef object _gradient_run(f, cnp.ndarray x, int method, int accuracy, bint vectorized,
                          double atol, double rtol, tuple specs, int workers, bint partial,
                          bint fixed):
    """:func:`gradient_fast` (a C call for :func:`gradient_call`), but ``g`` alone when every
    element met the tolerance, also with ``partial``."""
    cdef int nd = cnp.PyArray_NDIM(x)
    cdef Py_ssize_t n, m, i, total, mc, nchunks, ci, j0, wsize
    cdef cnp.npy_intp *dims
    cdef const double *xp
    cdef double *gp
    cdef double *work = NULL
    cdef char *oks = NULL
    cdef char *badp = NULL
    cdef cnp.ndarray bad = None
    cdef int *dcoord = NULL
    cdef cnp.ndarray g
    cdef Evaluator ev
    cdef StencilPlan plan
    cdef double c, wsum, thr
    cdef int r
    cdef int nthreads = workers if workers > 1 else 1
    cdef bint ok = True
    if nd < 1 or cnp.PyArray_TYPE(x) != cnp.NPY_FLOAT64:
        return None
    if not cnp.PyArray_IS_C_CONTIGUOUS(x):      # (every point's result is its own: same bits)
        x = np.ascontiguousarray(x)
    dims = cnp.PyArray_DIMS(x)
    n = dims[0]
    if n < 1 or n > 4096 or (not fixed and n != len(specs)):
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
    if fixed:
        return _gradient_fixed(f, x, n, m, method, accuracy, vectorized, workers)
    plan = make_plan(specs, method, accuracy, 3, 2.0, FIRST_SCALES)
    ev = as_evaluator(f, <int>n, 1, False, True, vectorized, ())
    c = first_pass_constant(1, plan.order0, plan.ostep)
    wsum = 0.0
    for i in range(TAB_N[1][method][_acc_index(accuracy)]):
        wsum += fabs(TAB_W[1][method][_acc_index(accuracy)][i])
    thr = ROUND_C * EPS * wsum / (rtol if rtol > 1e-300 else 1e-300)
    g = cnp.PyArray_EMPTY(nd, dims, cnp.NPY_FLOAT64, 0)
    gp = <double *>cnp.PyArray_DATA(g)
    mc = GRAD_CHUNK_DOUBLES // n
    if mc < 1:
        mc = 1
    if ev.is_vectorized or mc > m:        # vectorized Python: one batch is cheapest
        mc = m
    nchunks = (m + mc - 1) // mc
    if not ev.releases_gil or nchunks < 2:
        nthreads = 1
    if nthreads > nchunks:
        nthreads = <int>nchunks
    wsize = 9 * n * mc
    work = <double *>malloc((nthreads * wsize) * sizeof(double) + (n + 1) * sizeof(int)
                            + nchunks + (total if partial else 0))
    if work == NULL:
        raise MemoryError()
    dcoord = <int *>(work + nthreads * wsize)
    oks = <char *>(dcoord + n + 1)
    if partial:                     # (a NumPy array only if some element failed)
        badp = oks + nchunks
        memset(badp, 0, total)
    try:
        for i in range(n):
            dcoord[i] = <int>i
        memset(oks, 1, nchunks)
        if nthreads == 1:
            for ci in range(nchunks):
                j0 = ci * mc
                if ev.nogil:
                    with nogil:
                        r = _grad3_chunk(ev, plan, xp + j0, m, min(mc, m - j0), method, c, atol,
                                         rtol, thr, gp + j0, m, work, dcoord,
                                         NULL if badp == NULL else badp + j0)
                else:
                    r = _grad3_chunk(ev, plan, xp + j0, m, min(mc, m - j0), method, c, atol,
                                     rtol, thr, gp + j0, m, work, dcoord,
                                     NULL if badp == NULL else badp + j0)
                if not r:
                    ok = False
                    if badp == NULL:
                        break
        else:
            dcoord[n] = 0
            _grad3_threads(ev, plan, xp, m, mc, nchunks, method, c, atol, rtol, thr, gp, work,
                           wsize, dcoord, oks, dcoord + n, nthreads, badp)
            for ci in range(nchunks):
                if not oks[ci]:
                    ok = False
        if partial and not ok:
            bad = np.empty(total, dtype=np.uint8)
            memcpy(cnp.PyArray_DATA(bad), badp, total)
    finally:
        free(work)
    if ok:
        return g
    return (g, bad.view(np.bool_).reshape((<object>x).shape)) if partial else None


cdef object _gradient_fixed(f, cnp.ndarray x, Py_ssize_t n, Py_ssize_t m, int method,
                            int accuracy, bint vectorized, int workers):
    """``gradient_fast(fixed=True)``: :c:func:`fd_gradient` at the ``m`` points of ``x`` (checked
    by the caller: float64, C-contiguous, finite, (n, ...)), into an array of x's shape."""
    cdef Evaluator ev = as_evaluator(f, <int>n, 1, False, True, vectorized, ())
    cdef cnp.ndarray g = cnp.PyArray_EMPTY(cnp.PyArray_NDIM(x), cnp.PyArray_DIMS(x),
                                           cnp.NPY_FLOAT64, 0)
    cdef const double *xp = <const double *>cnp.PyArray_DATA(x)
    cdef double *gp = <double *>cnp.PyArray_DATA(g)
    cdef Py_ssize_t i
    _fd_gradient_run(ev, m, xp, m, gp, method, accuracy, NULL, NULL, workers)
    for i in range(n * m):
        if not isfinite(gp[i]):
            raise ValueError("the function returned NaN or inf at a stencil point, so the "
                             "gradient is not finite; pass full_output=True to get NaN with "
                             "status -3")
    return g


cdef int _grad3_threads(Evaluator ev, StencilPlan plan, const double *xp, Py_ssize_t m,
                        Py_ssize_t mc, Py_ssize_t nchunks, int method, double c, double atol,
                        double rtol, double thr, double *gp, double *work, Py_ssize_t wsize,
                        int *dcoord, char *oks, int *stop, int nthreads, char *bad) except -1:
    """The chunks of gradient_fast over ``nthreads`` OpenMP threads (each its own ``work``
    slice); ``oks[ci]`` = 0 for a chunk that did not meet the tolerance.  Without ``bad``, once
    one failed (``stop[0]``) the rest are skipped: the caller runs the full engine anyway.
    Guided schedule: the chunks cost the same, but the cores may be shared with other work
    (static and guided measured alike on 2 idle cores)."""
    cdef Py_ssize_t ci, j0
    cdef int r
    with nogil:
        for ci in prange(nchunks, num_threads=nthreads, schedule="guided"):
            if stop[0]:
                continue
            j0 = ci * mc
            r = _grad3_chunk(ev, plan, xp + j0, m, min(mc, m - j0), method, c, atol, rtol, thr,
                             gp + j0, m, work + threadid() * wsize, dcoord,
                             NULL if bad == NULL else bad + j0)
            oks[ci] = <char>r
            if r == 0 and bad == NULL:
                stop[0] = 1
    return 0


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
