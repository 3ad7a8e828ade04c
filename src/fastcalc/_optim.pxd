# cython: language_level=3
"""C declarations shared by the optimizer kernels (fastcalc._descent, fastcalc._quasi): the C
helpers of _src/fc_descent.h, fc_newton.h, fc_linesearch.h and fc_quasi.h, and the one table of
gradient/Hessian modes, line searches and status codes (fastcalc._descent exports the messages)."""

cdef extern from "fc_descent.h":
    double fc_descent_rate(int schedule, double lr, double decay, Py_ssize_t step_size,
                           double lr_min, double period, Py_ssize_t t) noexcept nogil
    void fc_descent_clip(Py_ssize_t m, double *x, double lo, double hi) noexcept nogil
    Py_ssize_t fc_descent_check_body(int n, Py_ssize_t m, const double *g, Py_ssize_t ldg,
                                     double gtol, double *gn, double *bad) noexcept nogil
    void fc_descent_step_body(int method, Py_ssize_t m, double *x, const double *g, double *v,
                              double *s, double lr, double mu, double b1, double b2, double bc1,
                              double bc2, double rho, double eps) noexcept nogil
    Py_ssize_t fc_descent_check(int n, Py_ssize_t m, const double *g, Py_ssize_t ldg, double gtol,
                                double *gn, double *bad) noexcept nogil
    void fc_descent_step(int method, Py_ssize_t m, double *x, const double *g, double *v,
                         double *s, double lr, double mu, double b1, double b2, double bc1,
                         double bc2, double rho, double eps) noexcept nogil
    Py_ssize_t fc_descent_check_step(int method, int n, Py_ssize_t m, Py_ssize_t ld, double *x,
                                     const double *g, double *v, double *s, double *xb,
                                     double gtol, double *gn, double *bad, double lr, double mu,
                                     double b1, double b2, double bc1, double bc2, double rho,
                                     double eps) noexcept nogil
    void fc_descent_par_step(int method, int n, Py_ssize_t m, double *x, const double *g,
                             double *v, double *s, Py_ssize_t ld, double lr, double mu, double b1,
                             double b2, double bc1, double bc2, double rho, double eps,
                             int workers) noexcept nogil

cdef extern from "fc_newton.h":
    enum:
        FCN_OK
        FCN_GRADIENT
        FCN_NONFINITE
        FCN_SINGULAR
    int fc_newton_direction(int n, const double *h, Py_ssize_t ldh, const double *g,
                            Py_ssize_t ldg, double *d, Py_ssize_t ldd, double *scratch) noexcept nogil
    int fc_newton_root_step(int n, const double *h, Py_ssize_t ldh, const double *g,
                            Py_ssize_t ldg, double *d, Py_ssize_t ldd, double *scratch) noexcept nogil

cdef extern from "fc_linesearch.h":
    enum:
        FC_LS_EVAL
        FC_LS_DONE
        FC_LS_DONE_OTHER
        FC_LS_FAIL
    ctypedef struct fc_ls_state:
        double a
    double fc_ls_start(fc_ls_state *s, double f0, double d0, double alpha0, double c1, double c2,
                       double amax, int maxiter) noexcept nogil
    int fc_ls_next(fc_ls_state *s, double f, double d) noexcept nogil

cdef extern from "fc_quasi.h":
    double fcq_dot(int n, const double *a, const double *b) noexcept nogil
    double fcq_amax(int n, const double *a) noexcept nogil
    void fcq_bfgs_direction(int n, const double *H, const double *g, double *d) noexcept nogil
    int fcq_bfgs_update(int n, double *H, const double *s, const double *y, int first,
                        double *hy) noexcept nogil
    void fcq_lbfgs_direction(int n, int m, int cap, int start, const double *S, const double *Y,
                             const double *rho, double *alpha, const double *g,
                             double *d) noexcept nogil
    double fcq_cg_beta(int n, const double *g1, const double *g0, int fr) noexcept nogil
    double fcq_projected_gradient(int n, const double *x, const double *g, const double *lo,
                                  const double *hi, unsigned char *fixed) noexcept nogil
    double fcq_max_step(int n, const double *x, const double *d, const double *lo,
                        const double *hi) noexcept nogil

cdef inline bint grad_check(int n, const double *g, Py_ssize_t ldg, double *gn) noexcept nogil:
    """THE gradient check of the optimizers for one point (fc_descent_check_body, which the
    descent kernels run over rows of points): max |g| into gn; False when some component is NaN
    or infinite."""
    cdef double bad
    fc_descent_check_body(n, 1, g, ldg, 0.0, gn, &bad)
    return bad == 0.0


# line searches
cdef enum:
    LS_NONE = 0
    LS_ARMIJO = 1
    LS_WOLFE = 2

# how the gradient is obtained
cdef enum:
    G_EVAL = 0        # a gradient evaluator (nout = n)
    G_COMBINED = 1    # fun returns (f, g): one evaluator with nout = n + 1 (f first)
    G_FD = 2          # finite differences of fun

# how the Hessian is obtained
cdef enum:
    H_NONE = 0
    H_EVAL = 1
    H_FD = 2          # central differences of the gradient

# status codes (per start)
cdef enum:
    ST_RUNNING = -1
    ST_GTOL = 0
    ST_MAXITER = 1
    ST_DIVERGED = 2
    ST_LINESEARCH = 3
    ST_XTOL = 4
    ST_FTOL = 5
    ST_NONFINITE = 6
    ST_CALLBACK = 99
