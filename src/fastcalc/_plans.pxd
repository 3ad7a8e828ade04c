# cython: language_level=3
"""The stencil-plan engine of fastcalc (``_plans.pyx``), for other kernels to cimport.

``Plan``: perturbations of a base point and the weighted accumulator rows their values feed;
``run_plan`` evaluates one at ``m`` base points through the adapter; ``finish_rows`` (and the C of
``_src/fc_richardson.h``) turns accumulators into results.  ``StencilPlan`` is the cached Python
object holding a plan's arrays (``make_plan``).
"""
from fastcalc._core cimport Evaluator

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


cdef extern from "fc_richardson.h":
    double ROUND_C "FC_ROUND_FACTOR"
    double FIRST_S1_C "FC_FIRST_S1"
    double FIRST_S2_C "FC_FIRST_S2"
    double displace "fc_displace"(double x, double o) noexcept nogil
    void fill_columns "fc_fill_columns"(double *X, Py_ssize_t C, Py_ssize_t cnt, const double *x,
                                        Py_ssize_t ldx, int n) noexcept nogil
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


cdef int run_plan(Evaluator ev, const Plan *P, Py_ssize_t m, const double *x, Py_ssize_t ldx,
                  const int *dcoord, const double *dvec, const double *h, const double *f0,
                  double *acc, double *accabs, int workers=*) except -1 nogil

cdef void finish_rows(int nout, Py_ssize_t nres, int levels, int order0, int ostep, Py_ssize_t m,
                      const int *rd1, const int *rp1, const int *rd2, const int *rp2,
                      const double *rfac, const double *h, double *acc, double *accabs,
                      double *out, double *err, bint extrap=*) noexcept nogil


cdef class StencilPlan:
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
    cdef void _bind(self)


cpdef StencilPlan make_plan(tuple specs, int method, int accuracy, int levels, double ratio=*,
                            tuple scales=*)
cpdef double first_pass_constant(int k, int order0, int ostep)
