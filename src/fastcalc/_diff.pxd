# cython: language_level=3
"""Finite-difference kernels of fastcalc, for other kernels to cimport.

``fd_gradient`` is the gradient other C loops (the optimizers) use: it evaluates the whole stencil of
all ``m`` points through the :class:`fastcalc._core.Evaluator` in as few ``eval`` calls as possible.
"""
from fastcalc._core cimport Evaluator

cdef enum:
    FD_CENTRAL = 0
    FD_FORWARD = 1
    FD_BACKWARD = 2

cdef int fd_gradient(Evaluator ev, Py_ssize_t m, const double *x, Py_ssize_t ldx,
                     double *g, Py_ssize_t ldg, int method, int accuracy,
                     const double *step, const double *f0) except -1 nogil
