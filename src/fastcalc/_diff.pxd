# cython: language_level=3
"""Finite-difference kernels of fastcalc, for other kernels to cimport.

Both evaluate the whole stencil of all ``m`` points through the :class:`fastcalc._core.Evaluator`
in as few ``eval`` calls as possible (Ctrl-C, nfev and exceptions are the adapter's), release the
GIL when the evaluator allows it, and return 0 or -1 with a Python exception set.

``fd_gradient(ev, m, x, ldx, g, ldg, method, accuracy, step, f0)``: the cheap fixed-step gradient
the optimizers use inside their loops.  ``g[i*ldg + j]`` = df/dx_i at ``x[:, j]``
(``x[i*ldx + j]``).  ``step`` NULL: relative steps ``eps**(1/(accuracy+1)) * max(|x_i|, 1e-3)``
(they scale with ``|x|``, floored at the absolute 1e-3 near 0), made exactly representable;
otherwise ``n`` absolute steps.  ``f0`` (length m, may be NULL): known f(x) for one-sided stencils.

``fd_hessian(ev, m, x, ldx, H, ldh, step)``: THE finite-difference Hessian (the one ``fc.hessian``
with ``step="fixed"`` computes).  ``H[(r*n + c)*ldh + j]`` = d2f/dx_r dx_c at ``x[:, j]``, exactly
symmetric; central direct stencil, ``2 n**2 + 1`` evaluations per point; ``step`` NULL:
``eps**(1/4) * max(|x_i|, 1e-3)``, exact, else ``n`` absolute steps.  ``ev.nout`` must be 1.
It runs the Hessian kernel of ``_plans`` (``hessian_plan``), the one ``fc.hessian`` uses.

Also shared (compile-time only, no runtime import): the Fornberg weight table of
``_src/fc_stencils.h`` (static: a module that reads it calls ``_build_table()`` once at import)
and the small inline helpers on it.
"""
from libc.math cimport fabs
from fastcalc._core cimport Evaluator

cdef enum:
    FD_CENTRAL = 0
    FD_FORWARD = 1
    FD_BACKWARD = 2

cdef enum:
    MAXDER = 10         # highest derivative order with a stencil
    MAXNODES = 20       # nodes of the widest stencil (forward, order 10, accuracy 8: 18)
    NACC = 5            # accuracies 1 (one-sided only), 2, 4, 6, 8

# The weight table (nodes in units of the step and weights of derivative d, method, accuracy)
cdef extern from "fc_stencils.h":
    int TAB_N "FC_TAB_N"[MAXDER + 1][3][NACC]
    double TAB_S "FC_TAB_S"[MAXDER + 1][3][NACC][MAXNODES]
    double TAB_W "FC_TAB_W"[MAXDER + 1][3][NACC][MAXNODES]
    double STEP_FLOOR "FC_STEP_FLOOR"
    void _build_table "fc_build_table"() noexcept nogil


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


cdef inline double step_scale(double xv) noexcept nogil:
    """The length scale of a coordinate: ``|x|``, with the absolute floor ``STEP_FLOOR`` near 0."""
    xv = fabs(xv)
    return xv if xv > STEP_FLOOR else STEP_FLOOR


cdef inline double natural_scale(double xv) noexcept nogil:
    """The scale that judges the rounding floor (``_diffcore.scales``' third): ``|x|``, but 1
    below ``STEP_FLOOR``, where the step's scale is artificial."""
    xv = fabs(xv)
    return xv if xv >= STEP_FLOOR else 1.0


cdef inline double _exact_step(double xv, double hh, int method) noexcept nogil:
    """``hh`` adjusted so that ``x + h`` (``x - h`` for backward differences) is exact."""
    cdef double tmp
    if method == FD_BACKWARD:
        tmp = xv - hh
        return xv - tmp
    tmp = xv + hh
    return tmp - xv


cdef int fd_gradient(Evaluator ev, Py_ssize_t m, const double *x, Py_ssize_t ldx,
                     double *g, Py_ssize_t ldg, int method, int accuracy,
                     const double *step, const double *f0) except -1 nogil

cdef int fd_hessian(Evaluator ev, Py_ssize_t m, const double *x, Py_ssize_t ldx, double *H,
                    Py_ssize_t ldh, const double *step) except -1 nogil
