# cython: language_level=3
"""One run of fastcalc._descent (the Descent class: step rules, line searches, the check and the
loop) on the state of fastcalc._dstate.DescentState, declared here so that fastcalc._multistart
can run blocks of starts on it."""
from fastcalc._dstate cimport DescentState


cdef class Descent(DescentState):
    cdef int _callback(self, Py_ssize_t it, bint *stop) except -1
    cdef void descent_dirs(self) noexcept nogil
    cdef bint accept(self, Py_ssize_t c, Py_ssize_t q, double a, bint with_grad) noexcept nogil
    cdef int armijo(self, double lr_t) except -1 nogil
    cdef int wolfe(self, double lr_t) except -1 nogil
    cdef int newton_or_search_step(self, double lr_t, Py_ssize_t it) except -1 nogil
    cdef void first_order_step(self, double lr_t, Py_ssize_t it, bint fchecked) noexcept nogil
    cdef void fused_step(self, double lr_t, Py_ssize_t it) noexcept nogil
    cdef Py_ssize_t fast_segment(self, Py_ssize_t it) except -1 nogil
    cdef Py_ssize_t _fast_steps(self, Py_ssize_t it, bint direct, bint constant) except -1 nogil
    cdef void check_all(self, Py_ssize_t it, bint fchecked) noexcept nogil
    cdef void check_xtol(self, Py_ssize_t it) noexcept nogil
    cdef int run(self) except -1 nogil
