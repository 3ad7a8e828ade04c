# cython: language_level=3
"""The Hessian stencil family, generated in closed form (``_hessplan.pyx``), for other kernels.

A Hessian plan needs no list of perturbations: the points of row ``(i, j)`` at level ``l`` are
``x + a sc[l] h_i e_i + b sc[l] h_j e_j`` for the nodes ``a, b`` of the first-derivative stencil
(``i < j``) or ``x + s sc[l] h_i e_i`` for the nodes ``s`` of the second-derivative one
(``i == j``).  ``HessSpec`` holds the stencils and levels; memory is O(n + block) beyond the
caller's result.  Rows are numbered as ``fastcalc.differentiate``'s Hessian specs: ``(i, j)`` for
``i`` in 0..n-1, ``j`` in i..n-1.
"""
from fastcalc._core cimport Evaluator

cdef enum:
    HMAX_LEVELS = 48            # = _plans.MAX_LEVELS
    HMAXNODES = 20              # = _diff.pxd MAXNODES (the widest stencil)

cdef struct HessSpec:
    int n                       # variables
    int L                       # step levels (scales sc[0..L-1])
    int n1                      # first-derivative stencil: nodes s1, weights w1 (nonzero w)
    int n2                      # second-derivative stencil: s2, w2
    int nu                      # distinct nonzero single-displacement nodes u[0..nu-1]
    int D                       # node pairs (a, b) of a mixed row with a != 0 and b != 0
    int centre                  # 1 when some stencil uses f(x)
    double sc[HMAX_LEVELS]
    double s1[HMAXNODES]
    double w1[HMAXNODES]
    int iu1[HMAXNODES]           # index of s1[a] in u (-1: the centre)
    double s2[HMAXNODES]
    double w2[HMAXNODES]
    int iu2[HMAXNODES]
    double u[2 * HMAXNODES]

cdef int hess_spec_init(HessSpec *H, int n, int method, int accuracy, int L,
                        const double *scales) noexcept nogil

cdef Py_ssize_t hess_points(const HessSpec *H) noexcept nogil

cdef int hess_levels(Evaluator ev, const HessSpec *H, Py_ssize_t m, const double *x,
                     Py_ssize_t ldx, const double *h, double *vals, double *absv,
                     int workers) except -1 nogil
