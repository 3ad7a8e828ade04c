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
"""
from fastcalc._core cimport Evaluator

cdef enum:
    FD_CENTRAL = 0
    FD_FORWARD = 1
    FD_BACKWARD = 2

cdef int fd_gradient(Evaluator ev, Py_ssize_t m, const double *x, Py_ssize_t ldx,
                     double *g, Py_ssize_t ldg, int method, int accuracy,
                     const double *step, const double *f0) except -1 nogil

cdef int fd_hessian(Evaluator ev, Py_ssize_t m, const double *x, Py_ssize_t ldx, double *H,
                    Py_ssize_t ldh, const double *step) except -1 nogil
