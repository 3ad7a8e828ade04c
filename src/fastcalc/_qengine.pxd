# cython: language_level=3
"""The adaptive quadrature engine (declarations shared with fastcalc._quad)."""

from fastcalc._core cimport Evaluator

from fastcalc._quad_rules cimport (FC_RULE_GK21, FC_RULE_GK15, FC_RULE_SIMPSON, fc_rule_info,
                                   fc_get_rule, fc_rule, FC_MAP_NONE, FC_MAP_UPPER, FC_MAP_LOWER,
                                   FC_MAP_BOTH, fc_tmap)

# status codes, as QUADPACK / scipy.integrate.quad (exported as IER)
cdef enum:
    IER_OK = 0
    IER_LIMIT = 1
    IER_ROUNDOFF = 2
    IER_BAD = 3
    IER_NONFINITE = 3
    IER_ZERO = 3          # zero at every node: a narrow peak may be missed

# extra flags, reported in the infodict (exported as FLAGS)
cdef enum:
    FLAG_NONE = 0
    FLAG_NONFINITE = 1
    FLAG_ALLZERO = 2
    FLAG_TANHSINH = 4
    FLAG_INNER = 8        # an inner integral (nested) did not converge
    FLAG_TRANSFORM = 16   # a node of an infinite range mapped to a non-finite Jacobian or point


# a map of the engine's own (beside fc_tmap's): a finite range whose ends are smoothed by a
# polynomial substitution, for integrands with a square-root kink there (an outer level over a
# curved domain); both ends x = a + L (3t^2 - 2t^3), one end x = a + L t^2 (or b - L (1-t)^2)
cdef enum:
    MAP_ENDS = 8
    END_LEFT = 1
    END_RIGHT = 2


cdef struct Opts:
    double epsabs
    double epsrel
    int limit
    int rule
    int fallback          # try tanh-sinh when the subdivision limit is reached
    int keep              # keep the interval lists (full_output)
    int flag_zero         # flag integrals that were 0 at every node (not for inner integrals)
    int workers           # threads for compiled integrands (chunks of the batch)
    int *stop             # shared stop flag of a threaded batch (set on error or Ctrl-C)
    int endmap            # finite ranges: smoothing map at the ends in this mask (END_*), or 0


cdef struct Ival:
    double a
    double b
    double r
    double e
    double ie            # integral of the integrand's own error estimates (nested levels)
    double kg            # |Kronrod - Gauss| on it, before QUADPACK's scaling (_calibrate)


cdef struct Integ:
    Ival *heap
    int nh
    int cap
    double res
    double err
    double rold          # the interval bisected this round: its r, e, ie and kg
    double eold
    double ieold
    double kgold
    int ier
    int flags
    int transform        # 0 finite, 1 [a, inf): x = a + t/(1-t), 2 (-inf, b], 3 x = t/(1-t^2)
    double xa            # finite limit for transforms 1, 2
    double ta
    double tb
    double sign
    Py_ssize_t neval
    int nroff
    int npend
    int allzero
    int done
    int owned            # heap is an own block (else a slice of the shared pool)
    int ends             # MAP_ENDS: which ends are smoothed (END_LEFT | END_RIGHT)
    double xs            # MAP_ENDS: length of the original range


cdef class Integrand:
    cdef public int nvar
    cdef public bint nogil
    cdef public Py_ssize_t nfev
    cdef double *side
    cdef Py_ssize_t side_cap
    cdef int eval(self, Py_ssize_t m, double *X, Py_ssize_t ldx, double *out) except -1 nogil


cdef class UserIntegrand(Integrand):
    cdef Evaluator ev


cdef int run_batch(Integrand g, Py_ssize_t N, const double *lo, const double *hi,
                   const double *outer, Py_ssize_t ldo, int nouter,
                   const double *brk, int nbrk, const Opts *opt,
                   double *res, double *abserr, int *ier, int *flags, Integ **keep) except -1 nogil

cdef void free_states(Integ *st, Py_ssize_t N) noexcept nogil

# one integral of a one-variable integrand (no break points, no interval lists): run_batch's
# N == 1 case without allocations
cdef int run_single(Integrand g, double lo, double hi, const Opts *opt, double *res,
                    double *abserr, int *ier, int *flags) except -1 nogil
