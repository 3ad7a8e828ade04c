# cython: language_level=3
"""Quadrature kernels of fastcalc.

* Gauss--Legendre / Hermite / Laguerre nodes by Newton iteration on three-term recurrences.
* Sampled-data rules (trapezoid, Simpson, cumulative versions, Romberg) in one pass over the data.
* A batched, global adaptive Gauss--Kronrod engine: many independent integrals advance in lock
  step, each with its own max-heap of subintervals; every round evaluates the nodes of all
  still-active integrals with ONE call of the integrand (through the ``_core`` adapter).
  Infinite limits are mapped to finite ones, integrals that hit the subdivision limit get a
  tanh-sinh (double exponential) second opinion, which handles endpoint singularities.
* Nested integrals (``dblquad``/``tplquad``/``nquad``): the integrand of an outer level is a
  batch of inner integrals, one per outer node, run by the same engine.
* Adaptive cubature over hyper-rectangles (Genz--Malik or a Gauss--Kronrod product rule).
"""

cimport numpy as cnp
from libc.math cimport (fabs, sqrt, cos, sin, exp, log, pow, sinh, cosh, tanh, isfinite, M_PI,
                        INFINITY, NAN, fmax, fmin, ldexp)
from libc.stdlib cimport malloc, free, realloc
from libc.string cimport memcpy, memset
from cpython.exc cimport PyErr_CheckSignals
from cython.parallel cimport prange

import numpy as np

from fastcalc._core cimport Evaluator, as_evaluator

cnp.import_array()

cdef double EPS = 2.220446049250313e-16
cdef double SIMPSON_SPLIT = 0.47049150281252627   # adaptive Simpson split: 0.5 - (sqrt(5) - 2) / 8
cdef double UFLOW = 2.2250738585072014e-308

# ---------------------------------------------------------------------------------------------
# Gauss-Kronrod rules (nodes computed with mpmath at 50 digits: roots of the Legendre and
# Stieltjes polynomials; weights from exactness).  Positive half, largest node first, centre last.
# ---------------------------------------------------------------------------------------------

cdef double XGK21[11]
cdef double WGK21[11]
cdef double WG21[11]      # Gauss 10-point weight at the same node, 0 where the node is Kronrod-only
cdef double XGK15[8]
cdef double WGK15[8]
cdef double WG15[8]
cdef double XBOOLE[3]     # adaptive Simpson: nodes 1, 1/2, 0 on [-1, 1]
cdef double WBOOLE[3]     # Boole's rule (Richardson-extrapolated Simpson)
cdef double WSIMP[3]      # Simpson on the whole interval

XGK21[:] = [0.99565716302580808074, 0.97390652851717172008, 0.930157491355708226,
            0.86506336668898451073, 0.78081772658641689706, 0.67940956829902440623,
            0.56275713466860468334, 0.4333953941292471908, 0.29439286270146019813,
            0.14887433898163121088, 0.0]
WGK21[:] = [0.011694638867371874278, 0.032558162307964727479, 0.054755896574351996031,
            0.075039674810919952767, 0.093125454583697605535, 0.1093871588022976419,
            0.12349197626206585108, 0.13470921731147332593, 0.1427759385770600808,
            0.14773910490133849137, 0.14944555400291690566]
WG21[:] = [0.0, 0.066671344308688137594, 0.0, 0.14945134915058059315, 0.0, 0.219086362515982044,
           0.0, 0.26926671930999635509, 0.0, 0.29552422471475287017, 0.0]
XGK15[:] = [0.99145537112081263921, 0.94910791234275852453, 0.86486442335976907279,
            0.74153118559939443986, 0.58608723546769113029, 0.40584515137739716691,
            0.2077849550078984676, 0.0]
WGK15[:] = [0.022935322010529224964, 0.063092092629978553291, 0.10479001032225018384,
            0.14065325971552591875, 0.16900472663926790283, 0.19035057806478540991,
            0.20443294007529889241, 0.20948214108472782801]
WG15[:] = [0.0, 0.12948496616886969327, 0.0, 0.2797053914892766679, 0.0, 0.38183005050511894495,
           0.0, 0.41795918367346938776]
XBOOLE[:] = [1.0, 0.5, 0.0]
WBOOLE[:] = [7.0 / 45.0, 32.0 / 45.0, 12.0 / 45.0]
WSIMP[:] = [1.0 / 3.0, 0.0, 4.0 / 3.0]

cdef enum:
    POOL = 4              # intervals per element preallocated in one block
    CHUNK = 256           # integrals per chunk for compiled integrands

cdef enum:
    RULE_GK21 = 0
    RULE_GK15 = 1
    RULE_SIMPSON = 2      # adaptive Simpson (Boole + Simpson error estimate)

# status codes, as QUADPACK / scipy.integrate.quad
cdef enum:
    IER_OK = 0
    IER_LIMIT = 1
    IER_ROUNDOFF = 2
    IER_BAD = 3
    IER_NONFINITE = 3
    IER_ZERO = 3          # zero at every node: a narrow peak may be missed

# extra flags, reported in the infodict
cdef enum:
    FLAG_NONE = 0
    FLAG_NONFINITE = 1
    FLAG_ALLZERO = 2
    FLAG_TANHSINH = 4
    FLAG_INNER = 8        # an inner integral (nested) did not converge


cdef struct RuleInfo:
    int nk
    const double *x
    const double *wk
    const double *wg
    const double *wkf     # weights over the full node layout (centre, -x_j, +x_j, ...)
    const double *wgf
    int kind


cdef double WK21F[21]
cdef double WG21F[21]
cdef double WK15F[15]
cdef double WG15F[15]
cdef double WBOOLEF[5]
cdef double WSIMPF[5]


cdef void _expand(int nk, const double *wk, const double *wg, double *wkf, double *wgf) noexcept:
    cdef int j
    wkf[0] = wk[nk - 1]
    wgf[0] = wg[nk - 1]
    for j in range(nk - 1):
        wkf[1 + 2 * j] = wk[j]
        wkf[2 + 2 * j] = wk[j]
        wgf[1 + 2 * j] = wg[j]
        wgf[2 + 2 * j] = wg[j]


_expand(11, WGK21, WG21, WK21F, WG21F)
_expand(8, WGK15, WG15, WK15F, WG15F)
_expand(3, WBOOLE, WSIMP, WBOOLEF, WSIMPF)


cdef RuleInfo get_rule(int rule) noexcept nogil:
    cdef RuleInfo r
    if rule == RULE_GK15:
        r.nk = 8
        r.x = XGK15
        r.wk = WGK15
        r.wg = WG15
        r.wkf = WK15F
        r.wgf = WG15F
    elif rule == RULE_SIMPSON:
        r.nk = 3
        r.x = XBOOLE
        r.wk = WBOOLE
        r.wg = WSIMP
        r.wkf = WBOOLEF
        r.wgf = WSIMPF
    else:
        r.nk = 11
        r.x = XGK21
        r.wk = WGK21
        r.wg = WG21
        r.wkf = WK21F
        r.wgf = WG21F
    r.kind = rule
    return r


cdef extern from *:
    """
    /* One pass for the Kronrod sum, the embedded rule and sum |f|, one for the mean deviation,
       written as SIMD reductions over the full node layout (the compiler vectorizes them). */
    static void fc_rule(const double *f, const double *wk, const double *wg, int K,
                        double *resk, double *resg, double *rabs, double *rasc) {
        double sk = 0.0, sg = 0.0, sa = 0.0, sd = 0.0, m;
        int i;
        #pragma omp simd reduction(+:sk,sg,sa)
        for (i = 0; i < K; i++) {
            sk += wk[i] * f[i];
            sg += wg[i] * f[i];
            sa += wk[i] * fabs(f[i]);
        }
        m = 0.5 * sk;
        #pragma omp simd reduction(+:sd)
        for (i = 0; i < K; i++) sd += wk[i] * fabs(f[i] - m);
        *resk = sk; *resg = sg; *rabs = sa; *rasc = sd;
    }
    """
    void fc_rule(const double *f, const double *wk, const double *wg, int K, double *resk,
                 double *resg, double *rabs, double *rasc) noexcept nogil


cdef inline void rule_apply(const RuleInfo *ru, const double *f, double h,
                            double *result, double *abserr, double *resabs) noexcept nogil:
    """Apply a rule to values f (layout: centre, then -x_j, +x_j pairs) on a half-width h."""
    cdef double resk, resg, rabs, rasc, err, ah
    fc_rule(f, ru.wkf, ru.wgf, 2 * ru.nk - 1, &resk, &resg, &rabs, &rasc)
    ah = fabs(h)
    result[0] = resk * h
    rabs *= ah
    rasc *= ah
    err = fabs((resk - resg) * h)
    if ru.kind == RULE_SIMPSON:
        err = err / 16.0
    else:
        if rasc != 0.0 and err != 0.0:
            err = 200.0 * err / rasc
            err = rasc * fmin(1.0, err * sqrt(err))
        if rabs > UFLOW / (50.0 * EPS):
            err = fmax(EPS * 50.0 * rabs, err)
    abserr[0] = err
    resabs[0] = rabs


# ---------------------------------------------------------------------------------------------
# Gauss-Legendre, Gauss-Hermite, Gauss-Laguerre nodes
# ---------------------------------------------------------------------------------------------

cdef extern from *:
    """
    #include <math.h>
    /* Gauss-Legendre nodes and weights: Newton on P_n in extended precision (long double),
       Tricomi's initial guesses; the extra digits make the weights next to +-1 (where
       1 - x^2 cancels) accurate to double precision. */
    static void fc_legendre_nodes(int n, double *x, double *w) {
        int m = (n + 1) / 2;
        for (int k = 0; k < m; k++) {
            long double th = 3.14159265358979323846264338327950288L * (k + 0.75L) / (n + 0.5L);
            long double s = sinl(th);
            long double z = cosl(th) * (1.0L - (n - 1.0L) / (8.0L * n * n * n)
                                        - (39.0L - 28.0L / (s * s)) / (384.0L * n * n * n * n));
            long double p0 = 1.0L, p1 = z, p2, dp = 1.0L, dz;
            for (int it = 0; it < 100; it++) {
                p0 = 1.0L; p1 = z;
                for (int j = 2; j <= n; j++) {
                    p2 = ((2.0L * j - 1.0L) * z * p1 - (j - 1.0L) * p0) / j;
                    p0 = p1; p1 = p2;
                }
                if (n == 1) { p1 = z; p0 = 1.0L; }
                dp = n * (z * p1 - p0) / (z * z - 1.0L);
                dz = p1 / dp;
                z -= dz;
                if (fabsl(dz) <= 1e-19L * (fabsl(z) > 1.0L ? fabsl(z) : 1.0L)) break;
            }
            p0 = 1.0L; p1 = z;
            for (int j = 2; j <= n; j++) {
                p2 = ((2.0L * j - 1.0L) * z * p1 - (j - 1.0L) * p0) / j;
                p0 = p1; p1 = p2;
            }
            if (n == 1) { p1 = z; p0 = 1.0L; }
            dp = n * (z * p1 - p0) / (z * z - 1.0L);
            x[n - 1 - k] = (double)z;
            x[k] = -(double)z;
            w[k] = (double)(2.0L / ((1.0L - z * z) * dp * dp));
            w[n - 1 - k] = w[k];
        }
        if (n % 2 == 1) x[n / 2] = 0.0;
    }
    """
    void fc_legendre_nodes(int n, double *x, double *w) noexcept nogil


cdef void legendre_nodes(int n, double *x, double *w) noexcept nogil:
    """Nodes ascending on [-1, 1] and weights (Newton in long double)."""
    fc_legendre_nodes(n, x, w)


cdef extern from *:
    """
    /* Newton polishing of Gauss-Hermite / Gauss-Laguerre nodes and their weights, in long double
       on orthonormal recurrences, rescaled against overflow (log scale kept separately). */
    static void fc_hermite_eval(int n, long double z, long double *hn, long double *hn1,
                                long double *ls) {
        long double p0 = 0.0L, p1 = 0.75112554446494248285870300477622L, p2, sc = 0.0L;
        for (int j = 1; j <= n; j++) {
            p2 = p1;
            p1 = z * sqrtl(2.0L / j) * p2 - sqrtl((j - 1.0L) / j) * p0;
            p0 = p2;
            if (fabsl(p1) > 1e150L) { p1 *= 1e-150L; p0 *= 1e-150L; sc += 150.0L * 2.30258509299404568401799145468436L; }
        }
        *hn = p1; *hn1 = p0; *ls = sc;
    }
    static void fc_hermite_polish(int n, double *x, double *w) {
        long double z, hn, hn1, ls, dz;
        for (int k = 0; k < n; k++) {
            z = x[k];
            for (int it = 0; it < 20; it++) {
                fc_hermite_eval(n, z, &hn, &hn1, &ls);
                dz = hn / (sqrtl(2.0L * n) * hn1);
                z -= dz;
                if (fabsl(dz) <= 1e-19L * (fabsl(z) > 1.0L ? fabsl(z) : 1.0L)) break;
            }
            fc_hermite_eval(n, z, &hn, &hn1, &ls);
            x[k] = (double)z;
            w[k] = (double)expl(-logl(n * hn1 * hn1) - 2.0L * ls);
        }
    }
    static void fc_laguerre_eval(int n, long double z, long double *ln, long double *ln1,
                                 long double *ls) {
        long double p0 = 0.0L, p1 = 1.0L, p2, sc = 0.0L;
        for (int j = 1; j <= n; j++) {
            p2 = p1;
            p1 = ((2.0L * j - 1.0L - z) * p2 - (j - 1.0L) * p0) / j;
            p0 = p2;
            if (fabsl(p1) > 1e150L) { p1 *= 1e-150L; p0 *= 1e-150L; sc += 150.0L * 2.30258509299404568401799145468436L; }
        }
        *ln = p1; *ln1 = p0; *ls = sc;
    }
    static void fc_laguerre_polish(int n, double *x, double *w) {
        long double z, ln, ln1, ls, dz;
        for (int k = 0; k < n; k++) {
            z = x[k];
            for (int it = 0; it < 20; it++) {
                fc_laguerre_eval(n, z, &ln, &ln1, &ls);
                dz = z * ln / (n * (ln - ln1));      /* L_n' = n (L_n - L_{n-1}) / z */
                z -= dz;
                if (fabsl(dz) <= 1e-19L * (fabsl(z) > 1.0L ? fabsl(z) : 1.0L)) break;
            }
            fc_laguerre_eval(n, z, &ln, &ln1, &ls);
            x[k] = (double)z;
            w[k] = (double)expl(logl(z) - 2.0L * logl((long double)n) - logl(ln1 * ln1) - 2.0L * ls);
        }
    }
    """
    void hermite_polish "fc_hermite_polish"(int n, double *x, double *w) noexcept nogil
    void laguerre_polish "fc_laguerre_polish"(int n, double *x, double *w) noexcept nogil


def _legendre(int n):
    x = np.empty(n)
    w = np.empty(n)
    cdef double[::1] xv = x
    cdef double[::1] wv = w
    with nogil:
        legendre_nodes(n, &xv[0], &wv[0])
    return x, w


def _hermite_polish(double[::1] x):
    cdef int n = x.shape[0]
    w = np.empty(n)
    cdef double[::1] wv = w
    with nogil:
        hermite_polish(n, &x[0], &wv[0])
    return w


def _laguerre_polish(double[::1] x):
    cdef int n = x.shape[0]
    w = np.empty(n)
    cdef double[::1] wv = w
    with nogil:
        laguerre_polish(n, &x[0], &wv[0])
    return w


# ---------------------------------------------------------------------------------------------
# fixed_quad fast path
# ---------------------------------------------------------------------------------------------

def _fixed_quad_scalar(func, double a, double b, tuple args, cnp.ndarray x, cnp.ndarray w):
    """Gauss-Legendre on [a, b] for a vectorized Python func: one call, dot product in C.

    ``x`` and ``w`` are the cached rule: C-contiguous float64 arrays of the same length (raw
    pointers, no buffer acquisition: this path is all overhead around one call of ``func``)."""
    if (cnp.PyArray_TYPE(x) != cnp.NPY_FLOAT64 or cnp.PyArray_TYPE(w) != cnp.NPY_FLOAT64
            or not cnp.PyArray_IS_C_CONTIGUOUS(x) or not cnp.PyArray_IS_C_CONTIGUOUS(w)
            or x.ndim != 1 or w.ndim != 1 or w.shape[0] != x.shape[0]):
        raise ValueError("x and w must be 1-D C-contiguous float64 arrays of one length")
    cdef Py_ssize_t n = x.shape[0], i
    cdef const double *xp = <const double *>cnp.PyArray_DATA(x)
    cdef const double *wp = <const double *>cnp.PyArray_DATA(w)
    cdef double h = 0.5 * (b - a), s = 0.0
    cdef cnp.npy_intp dims[1]
    dims[0] = n
    cdef cnp.ndarray y = cnp.PyArray_SimpleNew(1, dims, cnp.NPY_FLOAT64)
    cdef double *yd = <double *>cnp.PyArray_DATA(y)
    for i in range(n):
        yd[i] = h * (xp[i] + 1.0) + a
    r = func(y, *args)
    cdef cnp.ndarray ra
    cdef const double *rp
    if type(r) is cnp.ndarray:
        ra = <cnp.ndarray>r
        if (ra.ndim == 1 and ra.shape[0] == n and cnp.PyArray_TYPE(ra) == cnp.NPY_FLOAT64
                and cnp.PyArray_IS_C_CONTIGUOUS(ra)):
            rp = <const double *>cnp.PyArray_DATA(ra)
            for i in range(n):
                s += wp[i] * rp[i]
            return h * s
    ra2 = np.asarray(r)
    return h * np.sum(np.asarray(w) * ra2, axis=-1)


cdef extern from *:
    """
    /* contiguous reductions, vectorized with OpenMP SIMD (reassociation only inside these loops);
       GCC on x86-64 Linux also compiles AVX2 and AVX-512 clones, chosen at run time */
    #if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
    #define FC_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
    #else
    #define FC_CLONES
    #endif
    FC_CLONES
    static double fc_sum_odd_even(const double *y, Py_ssize_t stop, double *s_even) {
        double s1 = 0.0, s2 = 0.0;
        Py_ssize_t npair = (stop - 1) / 2, k;   /* pairs (2k+1, 2k+2) with 2k+2 < stop */
        #pragma omp simd reduction(+:s1,s2)
        for (k = 0; k < npair; k++) {
            s1 += y[2 * k + 1];
            s2 += y[2 * k + 2];
        }
        if (2 * npair + 1 < stop) s1 += y[2 * npair + 1];
        *s_even = s2;
        return s1;
    }
    FC_CLONES
    static double fc_sum(const double *y, Py_ssize_t n) {
        double s = 0.0;
        Py_ssize_t k;
        #pragma omp simd reduction(+:s)
        for (k = 0; k < n; k++) s += y[k];
        return s;
    }
    FC_CLONES
    static double fc_trap_x(const double *y, const double *x, Py_ssize_t n) {
        double s = 0.0;
        Py_ssize_t k;
        #pragma omp simd reduction(+:s)
        for (k = 0; k < n - 1; k++) s += (x[k + 1] - x[k]) * (y[k + 1] + y[k]);
        return 0.5 * s;
    }
    FC_CLONES
    static double fc_simpson_x(const double *y, const double *x, Py_ssize_t stop) {
        double s = 0.0;
        Py_ssize_t np_ = (stop + 1) / 2, k;     /* panels start at 0, 2, ..., < stop */
        /* one division per panel: q = h0/h1, 1/q = h1/h0, hsum^2/hprod, all from 1/hprod;
           panels with a zero spacing keep SciPy's guarded values (0 instead of inf) */
        #pragma omp simd reduction(+:s)
        for (k = 0; k < np_; k++) {
            double x0 = x[2 * k], x1 = x[2 * k + 1], x2 = x[2 * k + 2];
            double h0 = x1 - x0, h1 = x2 - x1;
            double hsum = h0 + h1, hprod = h0 * h1;
            double r = hprod != 0.0 ? 1.0 / hprod : 0.0;
            double q = hprod != 0.0 ? h0 * h0 * r : (h1 != 0.0 ? h0 / h1 : 0.0);
            double iq = hprod != 0.0 ? h1 * h1 * r : 0.0;
            double c1 = hsum * hsum * r;
            s += hsum / 6.0 * (y[2 * k] * (2.0 - iq) + y[2 * k + 1] * c1 + y[2 * k + 2] * (2.0 - q));
        }
        return s;
    }
    """
    double fc_sum_odd_even(const double *y, Py_ssize_t stop, double *s_even) noexcept nogil
    double fc_sum(const double *y, Py_ssize_t n) noexcept nogil
    double fc_trap_x(const double *y, const double *x, Py_ssize_t n) noexcept nogil
    double fc_simpson_x(const double *y, const double *x, Py_ssize_t stop) noexcept nogil


# ---------------------------------------------------------------------------------------------
# Sampled data: data viewed as (outer, N, inner), C-contiguous
# ---------------------------------------------------------------------------------------------

cdef void _trap_dx(const double *y, Py_ssize_t N, Py_ssize_t inner, Py_ssize_t outer, double dx,
                   double *out) noexcept nogil:
    cdef Py_ssize_t o, k, i
    cdef const double *yo
    cdef double *oo
    cdef double s
    for o in range(outer):
        yo = y + o * N * inner
        oo = out + o * inner
        if inner == 1:
            s = fc_sum(yo + 1, N - 2) if N > 2 else 0.0
            oo[0] = dx * (s + 0.5 * (yo[0] + yo[N - 1])) if N > 1 else 0.0
        else:
            for i in range(inner):
                oo[i] = 0.5 * (yo[i] + yo[(N - 1) * inner + i]) if N > 1 else 0.0
            for k in range(1, N - 1):
                for i in range(inner):
                    oo[i] += yo[k * inner + i]
            for i in range(inner):
                oo[i] *= dx


cdef void _trap_x(const double *y, const double *x, bint x1d, Py_ssize_t N, Py_ssize_t inner,
                  Py_ssize_t outer, double *out) noexcept nogil:
    cdef Py_ssize_t o, k, i
    cdef const double *yo
    cdef const double *xo
    cdef double *oo
    cdef double s
    for o in range(outer):
        yo = y + o * N * inner
        oo = out + o * inner
        if inner == 1 and x1d:
            oo[0] = fc_trap_x(yo, x, N) if N > 1 else 0.0
        else:
            xo = x if x1d else x + o * N * inner
            for i in range(inner):
                oo[i] = 0.0
            for k in range(N - 1):
                if x1d:
                    for i in range(inner):
                        oo[i] += (x[k + 1] - x[k]) * (yo[(k + 1) * inner + i] + yo[k * inner + i])
                else:
                    for i in range(inner):
                        oo[i] += (xo[(k + 1) * inner + i] - xo[k * inner + i]) * \
                            (yo[(k + 1) * inner + i] + yo[k * inner + i])
            for i in range(inner):
                oo[i] *= 0.5


cdef inline double _simp_w0(double h0, double h1) noexcept nogil:
    cdef double q = h0 / h1 if h1 != 0.0 else 0.0
    return 2.0 - (1.0 / q if q != 0.0 else 0.0)


cdef inline double _simp_pair(double h0, double h1, double y0, double y1, double y2) noexcept nogil:
    """SciPy's uneven-spacing Simpson panel (same guards against zero spacings)."""
    cdef double hsum = h0 + h1, hprod = h0 * h1
    cdef double q = h0 / h1 if h1 != 0.0 else 0.0
    cdef double iq = 1.0 / q if q != 0.0 else 0.0
    cdef double c1 = hsum * (hsum / hprod if hprod != 0.0 else 0.0)
    return hsum / 6.0 * (y0 * (2.0 - iq) + y1 * c1 + y2 * (2.0 - q))


cdef inline double _cart(double h0, double h1, double y1, double y2, double y3) noexcept nogil:
    """Cartwright's correction for the last interval (y1 = y[-1], y2 = y[-2], y3 = y[-3])."""
    cdef double den = 6.0 * (h1 + h0)
    cdef double alpha = (2.0 * h1 * h1 + 3.0 * h0 * h1) / den if den != 0.0 else 0.0
    den = 6.0 * h0
    cdef double beta = (h1 * h1 + 3.0 * h0 * h1) / den if den != 0.0 else 0.0
    den = 6.0 * h0 * (h0 + h1)
    cdef double eta = h1 * h1 * h1 / den if den != 0.0 else 0.0
    return alpha * y1 + beta * y2 - eta * y3


cdef void _simpson_line(const double *y, Py_ssize_t sy, const double *x, Py_ssize_t sx,
                        Py_ssize_t N, double dx, double *res) noexcept nogil:
    """Simpson along one line (strides sy, sx in elements; x NULL means spacing dx)."""
    cdef Py_ssize_t k, stop
    cdef double s = 0.0, s1 = 0.0, s2 = 0.0, val = 0.0
    cdef double h0, h1
    if N <= 1:
        res[0] = 0.0
        return
    if N == 2:
        if x == NULL:
            res[0] = 0.5 * dx * (y[sy] + y[0])
        else:
            res[0] = 0.5 * (x[sx] - x[0]) * (y[sy] + y[0])
        return
    stop = N - 2 if N % 2 == 1 else N - 3      # panels start at 0, 2, ..., < stop
    if x == NULL:
        # sum of y0 + 4 y1 + y2 over panels
        stop = N - 1 if N % 2 == 1 else N - 2       # index of the last panel's end
        if sy == 1:
            s1 = fc_sum_odd_even(y, stop, &s2)
        else:
            for k in range(1, stop, 2):
                s1 += y[k * sy]
            for k in range(2, stop, 2):
                s2 += y[k * sy]
        s = y[0] + 4.0 * s1 + 2.0 * s2 + y[stop * sy]
        s *= dx / 3.0
        if N % 2 == 0:
            s += _cart(dx, dx, y[(N - 1) * sy], y[(N - 2) * sy], y[(N - 3) * sy])
    elif sy == 1 and sx == 1:
        s = fc_simpson_x(y, x, stop)
        if N % 2 == 0:
            h0 = x[(N - 2) * sx] - x[(N - 3) * sx]
            h1 = x[(N - 1) * sx] - x[(N - 2) * sx]
            s += _cart(h0, h1, y[(N - 1) * sy], y[(N - 2) * sy], y[(N - 3) * sy])
    else:
        for k in range(0, stop, 2):
            h0 = x[(k + 1) * sx] - x[k * sx]
            h1 = x[(k + 2) * sx] - x[(k + 1) * sx]
            s += _simp_pair(h0, h1, y[k * sy], y[(k + 1) * sy], y[(k + 2) * sy])
        if N % 2 == 0:
            h0 = x[(N - 2) * sx] - x[(N - 3) * sx]
            h1 = x[(N - 1) * sx] - x[(N - 2) * sx]
            s += _cart(h0, h1, y[(N - 1) * sy], y[(N - 2) * sy], y[(N - 3) * sy])
    res[0] = s


def _simpson(const double[:, :, ::1] y, x, double dx, double[:, ::1] out):
    """Simpson along axis 1 of y (outer, N, inner); x is None, 1-D (N,) or the shape of y."""
    cdef Py_ssize_t outer = y.shape[0], N = y.shape[1], inner = y.shape[2], o, i
    cdef const double[::1] x1
    cdef const double[:, :, ::1] x3
    cdef const double *xp = NULL
    cdef int mode = 0
    if x is not None:
        if np.ndim(x) == 1:
            x1 = x
            mode = 1
        else:
            x3 = x
            mode = 2
    if N == 0 or outer == 0 or inner == 0:
        return
    with nogil:
        for o in range(outer):
            for i in range(inner):
                if mode == 0:
                    xp = NULL
                elif mode == 1:
                    xp = &x1[0]
                else:
                    xp = &x3[o, 0, i]
                _simpson_line(&y[o, 0, i], inner, xp, 1 if mode == 1 else inner, N, dx, &out[o, i])


def _trapezoid(const double[:, :, ::1] y, x, double dx, double[:, ::1] out):
    cdef Py_ssize_t outer = y.shape[0], N = y.shape[1], inner = y.shape[2]
    cdef const double[::1] x1
    cdef const double[:, :, ::1] x3
    if N == 0 or outer == 0 or inner == 0:
        return
    if x is None:
        with nogil:
            _trap_dx(&y[0, 0, 0], N, inner, outer, dx, &out[0, 0])
    elif np.ndim(x) == 1:
        x1 = x
        with nogil:
            _trap_x(&y[0, 0, 0], &x1[0], True, N, inner, outer, &out[0, 0])
    else:
        x3 = x
        with nogil:
            _trap_x(&y[0, 0, 0], &x3[0, 0, 0], False, N, inner, outer, &out[0, 0])


def _cumtrapz(const double[:, :, ::1] y, x, double dx, double[:, :, ::1] out, int off):
    """Cumulative trapezoid along axis 1; results written at out[:, k + off, :]."""
    cdef Py_ssize_t outer = y.shape[0], N = y.shape[1], inner = y.shape[2], o, k, i
    cdef const double[::1] x1
    cdef const double[:, :, ::1] x3
    cdef int mode = 0
    cdef double h, acc
    if x is not None:
        if np.ndim(x) == 1:
            x1 = x
            mode = 1
        else:
            x3 = x
            mode = 2
    if N <= 1 or outer == 0 or inner == 0:
        return
    with nogil:
        for o in range(outer):
            for i in range(inner):
                acc = 0.0
                for k in range(N - 1):
                    if mode == 0:
                        h = dx
                    elif mode == 1:
                        h = x1[k + 1] - x1[k]
                    else:
                        h = x3[o, k + 1, i] - x3[o, k, i]
                    acc = acc + h * (y[o, k + 1, i] + y[o, k, i]) / 2.0
                    out[o, k + off, i] = acc


cdef inline double _cs_h1(double x21, double x32, double f1, double f2, double f3) noexcept nogil:
    """Integral over [x1, x2] of the parabola through three points (Cartwright eq. 8)."""
    cdef double x31 = x21 + x32
    cdef double a = x21 / x31
    cdef double b = x21 / x32
    cdef double ab = a * b
    return x21 / 6.0 * ((3.0 - a) * f1 + (3.0 + ab + a) * f2 + (-ab) * f3)


def _cumsimpson(const double[:, :, ::1] y, const double[:, :, :] h, bint equal,
                double[:, :, ::1] out, int off):
    """Cumulative Simpson (SciPy's algorithm) along axis 1; h holds the N-1 spacings, broadcast
    over outer/inner when its extent there is 1.  Results at out[:, k + off, :]."""
    cdef Py_ssize_t outer = y.shape[0], N = y.shape[1], inner = y.shape[2], o, k, i
    cdef Py_ssize_t ho, hi
    cdef double acc, sub, d1, d2
    cdef bint bo = False, bi = False
    if N < 3 or outer == 0 or inner == 0:
        return
    with nogil:
        for o in range(outer):
            ho = 0 if bo else o
            for i in range(inner):
                hi = 0 if bi else i
                acc = 0.0
                for k in range(N - 1):
                    # sub-integral over [x_k, x_{k+1}]
                    if k % 2 == 0 and k + 2 <= N - 1:
                        d1 = h[ho, k, hi]
                        d2 = h[ho, k + 1, hi]
                        if equal:
                            sub = d1 / 3.0 * (5.0 * y[o, k, i] / 4.0 + 2.0 * y[o, k + 1, i]
                                              - y[o, k + 2, i] / 4.0)
                        else:
                            sub = _cs_h1(d1, d2, y[o, k, i], y[o, k + 1, i], y[o, k + 2, i])
                    else:
                        # reversed formula on (x_{k+1}, x_k, x_{k-1})
                        d1 = h[ho, k, hi]
                        d2 = h[ho, k - 1, hi]
                        if equal:
                            sub = d1 / 3.0 * (5.0 * y[o, k + 1, i] / 4.0 + 2.0 * y[o, k, i]
                                              - y[o, k - 1, i] / 4.0)
                        else:
                            sub = _cs_h1(d1, d2, y[o, k + 1, i], y[o, k, i], y[o, k - 1, i])
                    acc = acc + sub
                    out[o, k + off, i] = acc


def _romb(const double[:, :, ::1] y, double dx, int k, double[:, ::1] out):
    """Romberg on 2**k + 1 samples along axis 1: one pass collects the sums of each level."""
    cdef Py_ssize_t outer = y.shape[0], N = y.shape[1], inner = y.shape[2], o, i, idx
    cdef double S[64]
    cdef double R0[64]
    cdef double R1[64]
    cdef double h, prev
    cdef int lev, jj, ii, tz
    if outer == 0 or inner == 0:
        return
    with nogil:
        for o in range(outer):
            for i in range(inner):
                for lev in range(k + 1):
                    S[lev] = 0.0
                # sample idx (0 < idx < N-1) first appears at level k - (trailing zeros of idx)
                for idx in range(1, N - 1):
                    tz = 0
                    while ((idx >> tz) & 1) == 0:
                        tz += 1
                    S[k - tz] += y[o, idx, i]
                h = (N - 1) * dx
                R0[0] = (y[o, 0, i] + y[o, N - 1, i]) / 2.0 * h
                for ii in range(1, k + 1):
                    R1[0] = 0.5 * (R0[0] + h * S[ii])
                    for jj in range(1, ii + 1):
                        prev = R1[jj - 1]
                        R1[jj] = prev + (prev - R0[jj - 1]) / ((1 << (2 * jj)) - 1)
                    for jj in range(ii + 1):
                        R0[jj] = R1[jj]
                    h /= 2.0
                out[o, i] = R0[k]


# ---------------------------------------------------------------------------------------------
# Integrands seen by the engine
# ---------------------------------------------------------------------------------------------

cdef class Integrand:
    """Evaluate g at m points X (nvar rows, leading dimension ldx) into out."""
    cdef public int nvar
    cdef public bint nogil
    cdef public Py_ssize_t nfev
    # error estimates of the values of the last eval (NULL when the values are exact up to
    # rounding): set by nested integrands, so an outer level can add them to its estimate
    cdef double *side
    cdef Py_ssize_t side_cap

    def __dealloc__(self):
        free(self.side)

    cdef int eval(self, Py_ssize_t m, double *X, Py_ssize_t ldx, double *out) except -1 nogil:
        return 0


cdef class UserIntegrand(Integrand):
    cdef Evaluator ev

    def __init__(self, Evaluator ev, int nvar):
        self.ev = ev
        self.nvar = nvar
        self.nogil = ev.nogil

    cdef int eval(self, Py_ssize_t m, double *X, Py_ssize_t ldx, double *out) except -1 nogil:
        self.nfev += m
        return self.ev.eval(m, X, ldx, out, m)


cdef struct Opts:
    double epsabs
    double epsrel
    int limit
    int rule
    int fallback          # try tanh-sinh when the subdivision limit is reached
    int keep              # keep the interval lists (full_output)
    int flag_zero         # flag integrals that were 0 at every node (not for inner integrals)
    int workers           # threads for compiled integrands (chunks of the batch)


cdef class NestedIntegrand(Integrand):
    """The integrand of an outer level: a batch of inner integrals, one per point."""
    cdef Integrand inner
    cdef object lo_f, hi_f       # callables of the point coordinates (+ args), or None
    cdef double lo_c, hi_c
    cdef tuple args
    cdef Opts opts
    cdef public int worst_ier
    cdef public Py_ssize_t n_inner_fail
    cdef public double max_err      # largest inner error estimate seen

    def __init__(self, Integrand inner, lo, hi, tuple args, double epsabs, double epsrel, int limit,
                 int rule):
        self.inner = inner
        self.nvar = inner.nvar - 1
        self.args = args
        self.lo_f = lo if callable(lo) else None
        self.hi_f = hi if callable(hi) else None
        self.lo_c = 0.0 if callable(lo) else float(lo)
        self.hi_c = 0.0 if callable(hi) else float(hi)
        self.nogil = inner.nogil and self.lo_f is None and self.hi_f is None
        self.opts.epsabs = epsabs
        self.opts.epsrel = epsrel
        self.opts.limit = limit
        self.opts.rule = rule
        self.opts.fallback = 1
        self.opts.keep = 0
        self.opts.flag_zero = 0
        self.opts.workers = 1

    cdef int _limits(self, Py_ssize_t m, double *X, Py_ssize_t ldx, double *lo, double *hi) except -1:
        cdef Py_ssize_t j
        cdef int r
        for j in range(m):
            pt = tuple([X[r * ldx + j] for r in range(self.nvar)]) + self.args
            lo[j] = float(self.lo_f(*pt)) if self.lo_f is not None else self.lo_c
            hi[j] = float(self.hi_f(*pt)) if self.hi_f is not None else self.hi_c
            if lo[j] != lo[j] or hi[j] != hi[j]:
                raise ValueError("an integration limit evaluated to NaN")
        return 0

    cdef int eval(self, Py_ssize_t m, double *X, Py_ssize_t ldx, double *out) except -1 nogil:
        cdef double *lo = <double *>malloc(2 * m * sizeof(double))
        cdef double *err
        cdef int *ier = <int *>malloc(m * sizeof(int))
        cdef double *hi
        cdef Py_ssize_t j
        cdef int rc = 0
        if m > self.side_cap:
            free(self.side)
            self.side = <double *>malloc(m * sizeof(double))
            self.side_cap = m if self.side != NULL else 0
        err = self.side
        if lo == NULL or err == NULL or ier == NULL:
            free(lo); free(ier)
            with gil:
                raise MemoryError()
        hi = lo + m
        self.nfev += m
        try:
            if self.lo_f is None and self.hi_f is None:
                for j in range(m):
                    lo[j] = self.lo_c
                    hi[j] = self.hi_c
            else:
                with gil:
                    self._limits(m, X, ldx, lo, hi)
            if rc == 0:
                rc = run_batch(self.inner, m, lo, hi, X, ldx, self.nvar, NULL, 0, &self.opts,
                               out, err, ier, NULL, NULL)
            if rc == 0:
                for j in range(m):
                    if ier[j] != 0:
                        self.n_inner_fail += 1
                        if ier[j] > self.worst_ier:
                            self.worst_ier = ier[j]
                    if err[j] > self.max_err:
                        self.max_err = err[j]
        finally:
            free(lo); free(ier)
        return rc


# ---------------------------------------------------------------------------------------------
# The adaptive engine
# ---------------------------------------------------------------------------------------------

cdef struct Ival:
    double a
    double b
    double r
    double e
    double ie            # integral of the integrand's own error estimates (nested levels)


cdef struct Integ:
    Ival *heap
    int nh
    int cap
    double res
    double err
    double rold
    double eold
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


cdef inline bint ival_less(const Ival *p, const Ival *q) noexcept nogil:
    """Heap order: larger error first, then wider interval (so zero-error probing is uniform)."""
    if p.e != q.e:
        return p.e < q.e
    return fabs(p.b - p.a) < fabs(q.b - q.a)


cdef int heap_push(Integ *s, Ival v, int limit) except -1 nogil:
    cdef int i, parent
    cdef Ival *nh
    cdef int ncap
    if s.nh == s.cap:
        ncap = s.cap * 2 if s.cap > 0 else 8
        if s.owned:
            nh = <Ival *>realloc(s.heap, ncap * sizeof(Ival))
        else:
            # leave the shared pool: copy into an own block
            nh = <Ival *>malloc(ncap * sizeof(Ival))
            if nh != NULL and s.nh > 0:
                memcpy(nh, s.heap, s.nh * sizeof(Ival))
        if nh == NULL:
            with gil:
                raise MemoryError()
        s.heap = nh
        s.cap = ncap
        s.owned = 1
    i = s.nh
    s.nh += 1
    while i > 0:
        parent = (i - 1) // 2
        if ival_less(&s.heap[parent], &v):
            s.heap[i] = s.heap[parent]
            i = parent
        else:
            break
    s.heap[i] = v
    return 0


cdef Ival heap_pop(Integ *s) noexcept nogil:
    cdef Ival top = s.heap[0]
    cdef Ival last
    cdef int i = 0, c
    s.nh -= 1
    if s.nh == 0:
        return top
    last = s.heap[s.nh]
    while True:
        c = 2 * i + 1
        if c >= s.nh:
            break
        if c + 1 < s.nh and ival_less(&s.heap[c], &s.heap[c + 1]):
            c += 1
        if ival_less(&last, &s.heap[c]):
            s.heap[i] = s.heap[c]
            i = c
        else:
            break
    s.heap[i] = last
    return top


cdef inline double tmap(int transform, double xa, double t, double *jac) noexcept nogil:
    cdef double u
    if transform == 0:
        jac[0] = 1.0
        return t
    if transform == 1:
        u = 1.0 - t
        jac[0] = 1.0 / (u * u)
        return xa + t / u
    if transform == 2:
        u = 1.0 - t
        jac[0] = 1.0 / (u * u)
        return xa - t / u
    u = 1.0 - t * t
    jac[0] = (1.0 + t * t) / (u * u)
    return t / u


cdef inline double end_tail(double f1, double f2, double h, const double *x) noexcept nogil:
    """Mass between an end and the nearest Kronrod node when |f| grows like dist**-p towards
    the end with p > 1/2 (estimated from the two nodes nearest to it): d1 * |f1| / (1 - p),
    capped at 1000 * d1 * |f1| (p >= 1: not integrable or not resolved); 0 otherwise."""
    cdef double d1 = fabs(h) * (1.0 - x[0]), d2 = fabs(h) * (1.0 - x[1]), p
    f1 = fabs(f1)
    f2 = fabs(f2)
    if not (f1 > f2 and f2 > 0.0 and isfinite(f1)):
        return 0.0
    p = log(f1 / f2) / log(d2 / d1)
    if p <= 0.5:
        return 0.0
    if p >= 0.999:
        return 1000.0 * d1 * f1
    return d1 * f1 / (1.0 - p)


cdef inline bint too_small(const Integ *s, double a, double b) noexcept nogil:
    """True when [a, b] (transformed variable) is too narrow to place distinct nodes inside,
    in the transformed or in the original variable."""
    cdef double ja, xa_, xb_
    if fabs(b - a) <= 1000.0 * EPS * fmax(fabs(a), fabs(b)) + 1e3 * UFLOW:
        return True
    if s.transform == 0:
        return False
    xa_ = tmap(s.transform, s.xa, a, &ja)
    xb_ = tmap(s.transform, s.xa, b, &ja)
    if not (isfinite(xa_) and isfinite(xb_)):
        return False
    return fabs(xb_ - xa_) <= 1000.0 * EPS * fmax(fabs(xa_), fabs(xb_)) + 1e3 * UFLOW


cdef inline int check_signals_nogil() except -1 nogil:
    with gil:
        if PyErr_CheckSignals() < 0:
            return -1
    return 0


cdef int run_batch(Integrand g, Py_ssize_t N, const double *lo, const double *hi,
                   const double *outer, Py_ssize_t ldo, int nouter,
                   const double *brk, int nbrk, const Opts *opt,
                   double *res, double *abserr, int *ier, int *flags, Integ **keep) except -1 nogil:
    """Integrate g over [lo[e], hi[e]] for e < N, all in lock step.

    Point rows 1..nouter of element e hold outer[k*ldo + e] (outer coordinates or per-element
    arguments).  brk: interior break points (only with N == 1).  On return res/abserr/ier (and
    flags, when not NULL) are set.  When keep is not NULL the per-element states are handed back
    (the caller frees them with free_states).
    """
    cdef RuleInfo ru = get_rule(opt.rule)
    cdef int K = 2 * ru.nk - 1
    cdef Integ *st = <Integ *>malloc(N * sizeof(Integ)) if N > 0 else NULL
    cdef Py_ssize_t *active = <Py_ssize_t *>malloc(N * sizeof(Py_ssize_t)) if N > 0 else NULL
    cdef Py_ssize_t nact = 0, e, q, j, m, cap, ninit
    cdef Ival *pend = NULL
    cdef Py_ssize_t *pown = NULL
    cdef double *X = NULL
    cdef double *jac = NULL
    cdef double *fv = NULL
    cdef Ival *pool = NULL
    cdef Py_ssize_t chunk, off, cnt
    cdef int tid, nth
    cdef Py_ssize_t npend, ldx = 0
    cdef int rc = 0, r, k, first = 1
    cdef double a, b, t, c, h, tmp, lo_e, hi_e, r1, e1, rabs, tol
    cdef Ival iv, top
    cdef Integ *s
    cdef Py_ssize_t nsig = 0
    if N == 0:
        return 0
    if st == NULL or active == NULL:
        free(st); free(active)
        with gil:
            raise MemoryError()
    memset(st, 0, N * sizeof(Integ))
    # the first POOL intervals of every element live in one shared block (one malloc, not N)
    if keep == NULL and nbrk == 0:
        pool = <Ival *>malloc(N * POOL * sizeof(Ival))
        if pool != NULL:
            for e in range(N):
                st[e].heap = pool + e * POOL
                st[e].cap = POOL
    ninit = nbrk + 1 if nbrk > 0 else 1
    # compiled integrands: run the batch in chunks whose buffers stay in cache; Python ones get
    # every active integral's nodes in one call per round
    chunk = CHUNK if (g.nogil and N > CHUNK) else N
    cap = chunk * ninit if chunk * ninit > 2 * chunk else 2 * chunk
    ldx = cap * K
    # one block for the round buffers: pend | pown | X | jac | fv (all 8-byte aligned)
    pend = <Ival *>malloc(cap * sizeof(Ival) + cap * sizeof(Py_ssize_t)
                          + ldx * (3 + nouter) * sizeof(double))
    if pend != NULL:
        pown = <Py_ssize_t *>(pend + cap)
        X = <double *>(pown + cap)
        jac = X + ldx * (1 + nouter)
        fv = jac + ldx
    try:
        if pend == NULL or pown == NULL or X == NULL or jac == NULL or fv == NULL:
            rc = -2
        elif opt.workers > 1 and g.nogil and N > chunk:
            # OpenMP threads over chunks (built-in / low-level integrands: no Python involved);
            # an exception raised in a thread (MemoryError) is re-raised after the loop
            nth = opt.workers
            for tid in prange(nth, nogil=True, num_threads=nth, schedule="static", chunksize=1):
                _run_part(g, N, lo, hi, outer, ldo, nouter, opt, res, abserr, ier, flags, st,
                          &ru, K, chunk, tid, nth)
        else:
            off = 0
            while off < N and rc == 0:
                cnt = chunk if N - off > chunk else N - off
                rc = _run_core(g, cnt, lo + off, hi + off, outer + off if outer != NULL else NULL,
                               ldo, nouter, brk, nbrk, opt, res + off, abserr + off, ier + off,
                               flags + off if flags != NULL else NULL, st + off, active, pend,
                               pown, X, jac, fv, &ru, K)
                off += cnt
        if rc == 0 and keep != NULL:
            keep[0] = st
            st = NULL
    finally:
        # runs on the error paths too (an exception from the integrand, Ctrl-C)
        if st != NULL:
            for e in range(N):
                if st[e].owned or pool == NULL:
                    free(st[e].heap)
            free(st)
        free(pool)
        free(active); free(pend)
    if rc == -2:
        with gil:
            raise MemoryError()
    return rc


cdef int _run_part(Integrand g, Py_ssize_t N, const double *lo, const double *hi,
                   const double *outer, Py_ssize_t ldo, int nouter, const Opts *opt,
                   double *res, double *abserr, int *ier, int *flags, Integ *st,
                   const RuleInfo *ru, int K, Py_ssize_t chunk, int part, int nparts) except -1 nogil:
    """One thread's share of a batch: chunks part, part + nparts, ... with its own buffers."""
    cdef Py_ssize_t cap = 2 * chunk, ldx = cap * K, off, cnt
    cdef Py_ssize_t *active = <Py_ssize_t *>malloc(chunk * sizeof(Py_ssize_t))
    cdef Ival *pend = <Ival *>malloc(cap * sizeof(Ival))
    cdef Py_ssize_t *pown = <Py_ssize_t *>malloc(cap * sizeof(Py_ssize_t))
    cdef double *X = <double *>malloc(ldx * (1 + nouter) * sizeof(double))
    cdef double *jac = <double *>malloc(ldx * sizeof(double))
    cdef double *fv = <double *>malloc(ldx * sizeof(double))
    cdef int rc = 0
    try:
        if active == NULL or pend == NULL or pown == NULL or X == NULL or jac == NULL or fv == NULL:
            rc = -2
        else:
            off = part * chunk
            while off < N and rc == 0:
                cnt = chunk if N - off > chunk else N - off
                rc = _run_core(g, cnt, lo + off, hi + off, outer + off if outer != NULL else NULL,
                               ldo, nouter, NULL, 0, opt, res + off, abserr + off, ier + off,
                               flags + off if flags != NULL else NULL, st + off, active, pend,
                               pown, X, jac, fv, ru, K)
                off += nparts * chunk
    finally:
        free(active); free(pend); free(pown); free(X); free(jac); free(fv)
    if rc == -2:
        with gil:
            raise MemoryError()
    return rc


cdef int _run_core(Integrand g, Py_ssize_t N, const double *lo, const double *hi,
                   const double *outer, Py_ssize_t ldo, int nouter,
                   const double *brk, int nbrk, const Opts *opt,
                   double *res, double *abserr, int *ier, int *flags, Integ *st,
                   Py_ssize_t *active, Ival *pend, Py_ssize_t *pown, double *X, double *jac,
                   double *fv, const RuleInfo *rup, int K) except -1 nogil:
    cdef RuleInfo ru = rup[0]
    cdef Py_ssize_t nact = 0, e, q, j, m
    cdef Py_ssize_t npend
    cdef int rc = 0, r, k, first = 1
    cdef double a, b, t, c, h, tmp, lo_e, hi_e, r1, e1, rabs, tol
    cdef Ival iv, top
    cdef Integ *s
    cdef Py_ssize_t nsig = 0
    # set up every element
    for e in range(N):
        s = &st[e]
        lo_e = lo[e]
        hi_e = hi[e]
        s.sign = 1.0
        if lo_e > hi_e:
            s.sign = -1.0
            tmp = lo_e
            lo_e = hi_e
            hi_e = tmp
        if lo_e == hi_e:
            s.done = 1
            continue
        if isfinite(lo_e) and isfinite(hi_e):
            s.transform = 0
            s.ta = lo_e
            s.tb = hi_e
        elif isfinite(lo_e):
            s.transform = 1
            s.xa = lo_e
            s.ta = 0.0
            s.tb = 1.0
        elif isfinite(hi_e):
            s.transform = 2
            s.xa = hi_e
            s.ta = 0.0
            s.tb = 1.0
        else:
            s.transform = 3
            s.ta = -1.0
            s.tb = 1.0
        s.allzero = 1
        active[nact] = e
        nact += 1

    while nact > 0:
        # 1. choose the intervals to evaluate and write their nodes
        npend = 0
        for q in range(nact):
            e = active[q]
            s = &st[e]
            s.npend = 0
            if s.done:
                continue
            if first:
                if nbrk > 0 and N == 1:
                    for k in range(nbrk + 1):
                        iv.a = s.ta if k == 0 else brk[k - 1]
                        iv.b = s.tb if k == nbrk else brk[k]
                        pend[npend] = iv
                        pown[npend] = e
                        npend += 1
                        s.npend += 1
                elif ru.kind == RULE_SIMPSON:
                    # two pieces of incommensurate lengths from the start (5 equally spaced
                    # nodes alone alias cos(8*pi*m*x/L) to a constant)
                    c = s.ta + SIMPSON_SPLIT * (s.tb - s.ta)
                    iv.a = s.ta
                    iv.b = c
                    pend[npend] = iv
                    pown[npend] = e
                    npend += 1
                    iv.a = c
                    iv.b = s.tb
                    pend[npend] = iv
                    pown[npend] = e
                    npend += 1
                    s.npend = 2
                else:
                    iv.a = s.ta
                    iv.b = s.tb
                    pend[npend] = iv
                    pown[npend] = e
                    npend += 1
                    s.npend = 1
                s.rold = 0.0
                s.eold = 0.0
            else:
                top = heap_pop(s)
                if too_small(s, top.a, top.b):
                    # cannot be bisected further in double precision: give up on this integral
                    heap_push(s, top, opt.limit)
                    s.ier = IER_BAD
                    s.done = 1
                    continue
                s.rold = top.r
                s.eold = top.e
                if ru.kind == RULE_SIMPSON:
                    # equally spaced nodes: split off the dyadic grid, else an oscillation whose
                    # period divides a power-of-two fraction of the interval is aliased at every
                    # level and the rule "converges" to a wrong value
                    c = top.a + SIMPSON_SPLIT * (top.b - top.a)
                else:
                    c = 0.5 * (top.a + top.b)
                iv.a = top.a
                iv.b = c
                pend[npend] = iv
                pown[npend] = e
                npend += 1
                iv.a = c
                iv.b = top.b
                pend[npend] = iv
                pown[npend] = e
                npend += 1
                s.npend = 2
        m = npend * K
        for j in range(npend):
            e = pown[j]
            s = &st[e]
            c = 0.5 * (pend[j].a + pend[j].b)
            h = 0.5 * (pend[j].b - pend[j].a)
            if s.transform == 0:
                X[j * K] = c
                for k in range(ru.nk - 1):
                    X[j * K + 1 + 2 * k] = c - h * ru.x[k]
                    X[j * K + 2 + 2 * k] = c + h * ru.x[k]
            else:
                X[j * K] = tmap(s.transform, s.xa, c, &jac[j * K])
                for k in range(ru.nk - 1):
                    X[j * K + 1 + 2 * k] = tmap(s.transform, s.xa, c - h * ru.x[k], &jac[j * K + 1 + 2 * k])
                    X[j * K + 2 + 2 * k] = tmap(s.transform, s.xa, c + h * ru.x[k], &jac[j * K + 2 + 2 * k])
            for r in range(nouter):
                tmp = outer[r * ldo + e]
                for k in range(K):
                    X[(r + 1) * m + j * K + k] = tmp
        # 2. evaluate all nodes at once (rows are stored with leading dimension m)
        rc = g.eval(m, X, m, fv)
        if rc < 0:
            return -1
        nsig += m
        # 3. apply the rules, update the heaps, decide who is done
        j = 0
        for q in range(nact):
            e = active[q]
            s = &st[e]
            r1 = 0.0
            e1 = 0.0
            for r in range(s.npend):
                if s.transform == 0:
                    pass    # zero / finite checks on sum(w |f|) from the rule below
                else:
                    for k in range(K):
                        tmp = fv[(j + r) * K + k]
                        if tmp != 0.0:
                            s.allzero = 0
                            tmp = tmp * jac[(j + r) * K + k]
                            if not isfinite(tmp):
                                s.flags |= FLAG_NONFINITE
                            fv[(j + r) * K + k] = tmp
                h = 0.5 * (pend[j + r].b - pend[j + r].a)
                iv = pend[j + r]
                rule_apply(&ru, &fv[(j + r) * K], h, &iv.r, &iv.e, &rabs)
                if ru.kind != RULE_SIMPSON and fabs(iv.b - iv.a) <= 1e-3 * (s.tb - s.ta):
                    # a narrow interval at an end of the range (where repeated bisection goes
                    # for an endpoint singularity): the Kronrod/Gauss difference misses the
                    # mass between the end and the first node; add a power-law bound of it
                    if iv.a == s.ta:
                        iv.e += end_tail(fv[(j + r) * K + 1], fv[(j + r) * K + 3], h, ru.x)
                    if iv.b == s.tb:
                        iv.e += end_tail(fv[(j + r) * K + 2], fv[(j + r) * K + 4], h, ru.x)
                iv.ie = 0.0
                if g.side != NULL:
                    for k in range(K):
                        iv.ie += ru.wkf[k] * fabs(g.side[(j + r) * K + k] *
                                                  (1.0 if s.transform == 0 else jac[(j + r) * K + k]))
                    iv.ie *= fabs(h)
                if s.transform == 0:
                    if rabs != 0.0:
                        s.allzero = 0
                    elif s.allzero:
                        # sum(w |f|) * h can underflow although f is not 0 at the nodes
                        for k in range(K):
                            if fv[(j + r) * K + k] != 0.0:
                                s.allzero = 0
                                break
                    if not isfinite(rabs):
                        s.flags |= FLAG_NONFINITE
                r1 += iv.r
                e1 += iv.e
                if heap_push(s, iv, opt.limit) < 0:
                    return -1
            s.neval += s.npend * K
            if first:
                s.res = r1
                s.err = e1
            else:
                # roundoff detection as QUADPACK: no error reduction though the result settled
                if fabs(s.rold - r1) <= 1e-5 * fabs(r1) and e1 >= 0.99 * s.eold:
                    s.nroff += 1
                s.res += r1 - s.rold
                s.err += e1 - s.eold
            j += s.npend
            if s.npend == 0:
                continue
            if s.flags & FLAG_NONFINITE:
                s.ier = IER_NONFINITE
                s.done = 1
                continue
            tol = fmax(opt.epsabs, opt.epsrel * fabs(s.res))
            if s.err <= tol:
                if s.allzero and opt.flag_zero:
                    # probe at least 8 intervals (168 nodes) before believing a zero integrand
                    if s.nh >= 8 or s.nh >= opt.limit:
                        s.flags |= FLAG_ALLZERO
                        s.ier = IER_ZERO
                        s.done = 1
                else:
                    s.done = 1
            elif s.nh >= opt.limit:
                s.ier = IER_LIMIT
                s.done = 1
            elif s.nroff >= 10:
                s.ier = IER_ROUNDOFF
                s.done = 1
        first = 0
        # 4. compact the active list
        k = 0
        for q in range(nact):
            if not st[active[q]].done:
                active[k] = active[q]
                k += 1
        nact = k
        if nsig > 20000:
            nsig = 0
            if check_signals_nogil() < 0:
                return -1

    # final sums (recomputed from the intervals to shed the running-sum rounding)
    for e in range(N):
        s = &st[e]
        r1 = 0.0
        e1 = 0.0
        for k in range(s.nh):
            r1 += s.heap[k].r
            e1 += s.heap[k].e + s.heap[k].ie
        if s.nh > 0:
            s.res = r1
            s.err = e1
        if s.flags & FLAG_NONFINITE:
            s.res = NAN
            s.err = NAN

    # tanh-sinh second opinion for integrals that ran out of subdivisions
    if opt.fallback:
        for e in range(N):
            s = &st[e]
            if s.ier == IER_LIMIT or s.ier == IER_ROUNDOFF or (
                    s.ier == IER_BAD and not (s.flags & (FLAG_NONFINITE | FLAG_ALLZERO))):
                rc = tanh_sinh(g, s, outer, ldo, e, nouter, opt)
                if rc < 0:
                    return -1

    for e in range(N):
        s = &st[e]
        res[e] = s.sign * s.res
        abserr[e] = s.err
        ier[e] = s.ier
        if flags != NULL:
            flags[e] = s.flags
    return 0


cdef inline double ts_map(const Integ *s, double t, double dist, int right, double *jac) noexcept nogil:
    """Map a tanh-sinh node t to x, using its distance from the nearer end of [ta, tb] (given
    exactly) where the map is singular (the infinite ends), so nodes reach far into the tails."""
    cdef double q
    if s.transform == 0:
        jac[0] = 1.0
        return t
    if (s.transform == 1 or s.transform == 2) and right:
        # t = 1 - dist is the infinite end
        jac[0] = 1.0 / (dist * dist)
        return s.xa + (1.0 - dist) / dist if s.transform == 1 else s.xa - (1.0 - dist) / dist
    if s.transform == 3:
        q = dist * (2.0 - dist)          # 1 - t**2
        jac[0] = (1.0 + t * t) / (q * q)
        return (1.0 - dist) / q if right else -(1.0 - dist) / q
    return tmap(s.transform, s.xa, t, jac)


cdef inline double ts_tail(double d1, double f1, double d2, double f2) noexcept nogil:
    """Bound on the integral of |g| over [0, d1] (distance from an end) from the nearest
    nodes: |g(d1)| = f1, |g(d2)| = f2, d1 < d2.  With |g| ~ d**-p (p estimated from the two),
    the mass is d1 * f1 / (1 - p); 4 * d1 * f1 covers p <= 0.75, twice the power-law mass
    covers stronger singularities, and p >= 1 (not integrable, or not resolved) is infinite."""
    cdef double p
    if not (d1 < INFINITY) or f1 == 0.0:
        return 0.0
    p = 0.0
    if d2 < INFINITY and f2 > 0.0 and f1 > f2:
        p = log(f1 / f2) / log(d2 / d1)
    if p >= 1.0:
        return INFINITY
    return d1 * f1 * fmax(4.0, 2.0 / (1.0 - p))


cdef int tanh_sinh(Integrand g, Integ *s, const double *outer, Py_ssize_t ldo, Py_ssize_t e,
                   int nouter, const Opts *opt) except -1 nogil:
    """Double-exponential quadrature on s's (transformed) interval; adopt it when it converges."""
    cdef int MAXLEV = 9
    cdef double TM = 6.0
    cdef int npmax = <int>(2 * TM * (1 << MAXLEV)) + 4
    cdef double *X = <double *>malloc(npmax * (1 + nouter) * sizeof(double))
    cdef double *W = <double *>malloc(npmax * sizeof(double))
    cdef double *J = <double *>malloc(npmax * sizeof(double))
    cdef double *F = <double *>malloc(npmax * sizeof(double))
    cdef double *D = <double *>malloc(npmax * sizeof(double))
    cdef double dmin_l = INFINITY, dmin_r = INFINITY, tail_l = 0.0, tail_r = 0.0
    cdef double dmin2_l = INFINITY, dmin2_r = INFINITY, f1_l = 0.0, f1_r = 0.0
    cdef double f2_l = 0.0, f2_r = 0.0
    cdef double A = s.ta, B = s.tb, hh = 0.5 * (s.tb - s.ta)
    cdef double h, t, u, w, d, ssum = 0.0, sabs = 0.0, est, prev = NAN, prev2 = NAN, err = INFINITY, tol
    cdef double xt, v
    cdef int lev, i, npts, r, step, jstart
    cdef int rc = 0
    cdef bint bad = False
    cdef Py_ssize_t neval = 0
    if X == NULL or W == NULL or J == NULL or F == NULL or D == NULL:
        free(X); free(W); free(J); free(F); free(D)
        with gil:
            raise MemoryError()
    try:
        for lev in range(MAXLEV + 1):
            h = ldexp(1.0, -lev)
            npts = 0
            step = 1 if lev == 0 else 2
            jstart = 0 if lev == 0 else 1
            i = jstart
            while i * h <= TM:
                t = i * h
                u = 0.5 * M_PI * sinh(t)
                w = 0.5 * M_PI * cosh(t) / (cosh(u) * cosh(u))
                d = 2.0 / (1.0 + exp(2.0 * u))       # 1 - tanh(u), accurately
                # right node
                xt = B - hh * d
                if xt < B and xt > A and w > 0.0:
                    X[npts] = ts_map(s, xt, hh * d, 1, &J[npts])
                    W[npts] = w
                    # distance from the end that the integrand sees (x rounds near a finite end)
                    D[npts] = (B - xt) if s.transform == 0 else hh * d
                    if s.transform == 0 or X[npts] != s.xa:
                        npts += 1
                if i > 0:
                    xt = A + hh * d
                    if xt > A and xt < B and w > 0.0:
                        X[npts] = ts_map(s, xt, hh * d, 0, &J[npts])
                        W[npts] = w
                        D[npts] = -(xt - A) if s.transform == 0 else -hh * d
                        if s.transform == 0 or X[npts] != s.xa:
                            npts += 1
                i += step
            for r in range(nouter):
                v = outer[r * ldo + e]
                for i in range(npts):
                    X[(r + 1) * npts + i] = v
            rc = g.eval(npts, X, npts, F)
            if rc < 0:
                break
            neval += npts
            for i in range(npts):
                v = F[i]
                if v != 0.0:
                    # the part of the interval closer to an end than any node: bounded by
                    # (distance) * |g| * 4 (an integrable singularity up to x**-0.75 there)
                    if D[i] > 0.0 and D[i] < dmin_r:
                        dmin2_r = dmin_r
                        f2_r = f1_r
                        dmin_r = D[i]
                        f1_r = fabs(v * J[i])
                    elif D[i] > dmin_r and D[i] < dmin2_r:
                        dmin2_r = D[i]
                        f2_r = fabs(v * J[i])
                    elif D[i] < 0.0 and -D[i] < dmin_l:
                        dmin2_l = dmin_l
                        f2_l = f1_l
                        dmin_l = -D[i]
                        f1_l = fabs(v * J[i])
                    elif D[i] < 0.0 and -D[i] > dmin_l and -D[i] < dmin2_l:
                        dmin2_l = -D[i]
                        f2_l = fabs(v * J[i])
                    v = v * J[i] * W[i]
                    if not isfinite(v):
                        bad = True
                    ssum += v
                    sabs += fabs(v)
            if bad:
                break
            est = hh * h * ssum
            if lev >= 2:
                err = fmax(fabs(est - prev), 50.0 * EPS * fabs(hh * h * sabs))
                # the parts of the interval closer to an end than any node, bounded from the
                # local power law |g| ~ dist**-p seen at the two nearest nodes
                tail_l = ts_tail(dmin_l, f1_l, dmin2_l, f2_l)
                tail_r = ts_tail(dmin_r, f1_r, dmin2_r, f2_r)
                err += tail_l + tail_r
                tol = fmax(opt.epsabs, opt.epsrel * fabs(est))
                # the level difference over-estimates the error only once convergence is
                # quadratic: ask for a margin of 10, then the reported difference is an honest bound
                if err <= 0.1 * tol or (err <= tol and lev == MAXLEV):
                    break
            prev2 = prev
            prev = est
    finally:
        free(X); free(W); free(J); free(F); free(D)
    s.neval += neval
    if rc < 0:
        return -1
    if not bad and isfinite(err) and err < s.err:
        s.res = est
        s.err = err
        s.flags |= FLAG_TANHSINH
        tol = fmax(opt.epsabs, opt.epsrel * fabs(est))
        if err <= tol:
            s.ier = IER_OK
    return 0


cdef void free_states(Integ *st, Py_ssize_t N) noexcept nogil:
    cdef Py_ssize_t e
    if st == NULL:
        return
    for e in range(N):
        free(st[e].heap)
    free(st)


# ---------------------------------------------------------------------------------------------
# Composite (non-adaptive, level doubling) rules: method="gauss" and method="simpson"
# ---------------------------------------------------------------------------------------------

cdef int run_composite(Integrand g, double a, double b, const double *outer, Py_ssize_t ldo,
                       Py_ssize_t e, int nouter, int method, const Opts *opt, int maxnodes,
                       double *res, double *abserr, int *ier, Py_ssize_t *neval) except -1 nogil:
    """method 0: composite 10-point Gauss-Legendre on 1, 2, 4, ... panels; 1: composite Simpson
    on 2, 4, 8, ... panels reusing nodes.  Error = difference of the last two levels."""
    cdef double gx[10]
    cdef double gw[10]
    cdef double *X = NULL
    cdef double *F = NULL
    cdef double *J = NULL
    cdef int npan, i, k, r, npts, rc = 0, lev, cnt
    cdef double L = b - a, hp = 0.0, c, est = 0.0, prev = NAN, err = INFINITY, tol, v
    cdef double s_end = 0.0, s_old = 0.0, s_new = 0.0
    cdef bint bad = False
    legendre_nodes(10, gx, gw)
    neval[0] = 0
    X = <double *>malloc((maxnodes + 4) * (1 + nouter) * sizeof(double))
    F = <double *>malloc((maxnodes + 4) * sizeof(double))
    if X == NULL or F == NULL:
        free(X); free(F)
        with gil:
            raise MemoryError()
    try:
        lev = 0
        while True:
            if method == 0:
                npan = 1 << lev
                npts = 10 * npan
            else:
                npan = 2 << lev           # Simpson panels of width L/npan, new nodes: the odd ones
                npts = 2 if lev == 0 else 0
                npts += npan // 2 if lev > 0 else 1
            if npts > maxnodes:
                break
            cnt = 0
            if method == 0:
                hp = L / npan
                for i in range(npan):
                    c = a + (i + 0.5) * hp
                    for k in range(10):
                        X[cnt] = c + 0.5 * hp * gx[k]
                        cnt += 1
            else:
                if lev == 0:
                    X[0] = a
                    X[1] = b
                    X[2] = a + 0.5 * L
                    cnt = 3
                else:
                    for i in range(npan // 2):
                        X[cnt] = a + (2 * i + 1) * L / npan
                        cnt += 1
            for r in range(nouter):
                v = outer[r * ldo + e]
                for i in range(cnt):
                    X[(r + 1) * cnt + i] = v
            rc = g.eval(cnt, X, cnt, F)
            if rc < 0:
                break
            neval[0] += cnt
            for i in range(cnt):
                if not isfinite(F[i]):
                    bad = True
            if bad:
                break
            if method == 0:
                est = 0.0
                for i in range(npan):
                    for k in range(10):
                        est += gw[k] * F[i * 10 + k]
                est *= 0.5 * hp
            else:
                if lev == 0:
                    s_end = F[0] + F[1]
                    s_old = 0.0
                    s_new = F[2]
                else:
                    s_old = s_old + s_new
                    s_new = 0.0
                    for i in range(cnt):
                        s_new += F[i]
                est = L / npan / 3.0 * (s_end + 4.0 * s_new + 2.0 * s_old)
            if lev >= 1:
                err = fabs(est - prev)
                if method == 1:
                    err = err / 10.0          # Richardson gives /15; /10 keeps a safety margin
                err = fmax(err, 50.0 * EPS * fabs(est))   # rounding floor
                tol = fmax(opt.epsabs, opt.epsrel * fabs(est))
                if err <= tol:
                    break
            prev = est
            lev += 1
        if method == 1 and rc == 0 and not bad and err <= fmax(opt.epsabs, opt.epsrel * fabs(est)):
            # equally spaced nodes alias an oscillation whose period divides L / 2**k at every
            # level (the level differences vanish): confirm with the 2-point Gauss rule on the
            # same panels (off the grid, same order); its difference joins the error estimate
            npan = 2 << lev
            if 2 * npan > maxnodes + 4:
                npan = (maxnodes + 4) // 2
            hp = L / npan
            c = 0.5773502691896257645 * 0.5 * hp      # 1/sqrt(3) * half-width
            cnt = 0
            for i in range(npan):
                X[cnt] = a + (i + 0.5) * hp - c
                X[cnt + 1] = a + (i + 0.5) * hp + c
                cnt += 2
            for r in range(nouter):
                v = outer[r * ldo + e]
                for i in range(cnt):
                    X[(r + 1) * cnt + i] = v
            rc = g.eval(cnt, X, cnt, F)
            if rc == 0:
                neval[0] += cnt
                v = 0.0
                for i in range(cnt):
                    v += F[i]
                v *= 0.5 * hp
                if not isfinite(v):
                    bad = True
                else:
                    err = fmax(err, fabs(v - est))
    finally:
        free(X); free(F)
    if rc < 0:
        return -1
    res[0] = est
    abserr[0] = err
    if bad:
        res[0] = NAN
        abserr[0] = NAN
        ier[0] = IER_NONFINITE
    elif err <= fmax(opt.epsabs, opt.epsrel * fabs(est)):
        ier[0] = IER_OK
    else:
        ier[0] = IER_LIMIT
    return 0


# ---------------------------------------------------------------------------------------------
# Python-facing entries
# ---------------------------------------------------------------------------------------------

cdef Evaluator _cached_ev = None
cdef object _cached_f = None
cdef UserIntegrand _cached_g = None


cdef Evaluator _evaluator(f, tuple args, bint vectorized, int nvar):
    """An Evaluator for a 1-variable integrand (plus nvar-1 per-point extra rows)."""
    global _cached_ev, _cached_f
    cdef Evaluator ev
    if nvar == 1:
        if not args and f is _cached_f and _cached_ev is not None \
                and _cached_ev.kind == (2 if vectorized else _cached_ev.kind) \
                and (vectorized or _cached_ev.kind != 2):
            return _cached_ev
        ev = as_evaluator(f, 1, 1, True, True, vectorized, args)
        if not args:
            _cached_ev = ev
            _cached_f = f
        return ev
    return as_evaluator(f, nvar, 1, False, True, vectorized, args)


def quad_batch(f, const double[::1] lo, const double[::1] hi, outer, tuple args, bint vectorized,
               double epsabs, double epsrel, int limit, int rule, brk=None, bint keep=False,
               int method=-1, int workers=1):
    """Run the engine.  outer: None or a (nouter, N) C-contiguous float array of per-element extra
    variables (they follow x in the point: SciPy's 'double (int, double *)' args convention, or
    extra positional arguments of a Python integrand, which the caller wraps).

    Returns (res, abserr, ier, flags, neval, info) where info holds the interval lists (N == 1 and
    keep) or None.
    """
    cdef Py_ssize_t N = lo.shape[0], e
    cdef int nouter = 0
    cdef const double[:, ::1] ov
    cdef const double *op = NULL
    cdef Py_ssize_t ldo = 0
    if outer is not None:
        ov = outer
        nouter = ov.shape[0]
        ldo = ov.shape[1]
        if nouter > 0 and ldo > 0:
            op = &ov[0, 0]
    cdef Evaluator ev = _evaluator(f, args, vectorized, 1 + nouter)
    cdef UserIntegrand g = UserIntegrand(ev, 1 + nouter)
    cdef Opts opt
    opt.epsabs = epsabs
    opt.epsrel = epsrel
    opt.limit = limit
    opt.rule = rule
    opt.fallback = 1
    opt.keep = keep
    opt.flag_zero = 1
    opt.workers = workers
    res = np.empty(N)
    err = np.empty(N)
    ier = np.zeros(N, dtype=np.intc)
    flags = np.zeros(N, dtype=np.intc)
    cdef double[::1] rv = res
    cdef double[::1] ev_ = err
    cdef int[::1] iv = ier
    cdef int[::1] fv = flags
    cdef const double[::1] bv
    cdef const double *bp = NULL
    cdef int nbrk = 0
    cdef Integ *st = NULL
    cdef Integ **kp = &st if keep else NULL
    cdef Py_ssize_t nev = ev.nfev
    cdef int rc
    cdef double lo_t, hi_t
    if brk is not None and len(brk) > 0:
        bv = brk
        bp = &bv[0]
        nbrk = bv.shape[0]
    if N == 0:
        return res, err, ier, flags, 0, None
    if method >= 0:
        for e in range(N):
            if g.nogil:
                with nogil:
                    rc = run_composite(g, lo[e], hi[e], op, ldo, e, nouter, method, &opt,
                                       limit * 21, &rv[e], &ev_[e], &iv[e], &nev)
            else:
                rc = run_composite(g, lo[e], hi[e], op, ldo, e, nouter, method, &opt,
                                   limit * 21, &rv[e], &ev_[e], &iv[e], &nev)
            if iv[e] == IER_NONFINITE and rv[e] != rv[e]:
                fv[e] = FLAG_NONFINITE
        return res, err, ier, flags, ev.nfev, None
    if g.nogil:
        with nogil:
            rc = run_batch(g, N, &lo[0], &hi[0], op, ldo, nouter, bp, nbrk, &opt,
                           &rv[0], &ev_[0], &iv[0], &fv[0], kp)
    else:
        rc = run_batch(g, N, &lo[0], &hi[0], op, ldo, nouter, bp, nbrk, &opt,
                       &rv[0], &ev_[0], &iv[0], &fv[0], kp)
    info = None
    cdef Integ *s
    cdef int k
    if st != NULL:
        s = &st[0]
        nh = s.nh
        alist = np.empty(nh)
        blist = np.empty(nh)
        rlist = np.empty(nh)
        elist = np.empty(nh)
        for k in range(nh):
            alist[k] = s.heap[k].a
            blist[k] = s.heap[k].b
            rlist[k] = s.heap[k].r
            elist[k] = s.heap[k].e
        info = (alist, blist, rlist, elist, s.transform, s.xa)
        free_states(st, N)
    return res, err, ier, flags, ev.nfev - nev, info


def nested(f, levels, tuple args, bint vectorized, int rule):
    """Nested adaptive integration (nquad).  levels: list, innermost first, of
    (lo, hi, epsabs, epsrel, limit); lo/hi are floats or callables of the outer coordinates
    (+ args).  The outermost level's limits must be floats.  Returns (res, err, ier, neval,
    inner_fail, worst_inner_ier)."""
    cdef int nv = len(levels)
    cdef Evaluator ev = as_evaluator(f, nv, 1, False, True, vectorized, args)
    cdef Integrand g = UserIntegrand(ev, nv)
    cdef NestedIntegrand ng
    cdef list nests = []
    cdef int i
    for i in range(nv - 1):
        lo_, hi_, ea, er, lim = levels[i]
        ng = NestedIntegrand(g, lo_, hi_, args, ea, er, lim, rule)
        nests.append(ng)
        g = ng
    lo_, hi_, ea, er, lim = levels[nv - 1]
    cdef double lo = lo_, hi = hi_
    cdef double res, err
    cdef int ier, flg
    cdef Opts opt
    opt.epsabs = ea
    opt.epsrel = er
    opt.limit = lim
    opt.rule = rule
    opt.fallback = 1
    opt.keep = 0
    opt.flag_zero = 1
    opt.workers = 1
    cdef int rc
    if g.nogil:
        with nogil:
            rc = run_batch(g, 1, &lo, &hi, NULL, 0, 0, NULL, 0, &opt, &res, &err, &ier, &flg, NULL)
    else:
        rc = run_batch(g, 1, &lo, &hi, NULL, 0, 0, NULL, 0, &opt, &res, &err, &ier, &flg, NULL)
    fails = sum((<NestedIntegrand>n).n_inner_fail for n in nests)
    worst = max([(<NestedIntegrand>n).worst_ier for n in nests] + [0])
    inner_err = [(<NestedIntegrand>n).max_err for n in nests]
    return res, err, ier, ev.nfev, fails, worst, inner_err


cdef int _quad_scalar_c(f, double a, double b, bint vectorized, double epsabs, double epsrel,
                        int limit, double *res, double *err, int *ier, int *flg,
                        Py_ssize_t *neval) except -1:
    """One adaptive GK21 integral with the least overhead.

    A single integral of a compiled integrand usually takes well under a microsecond, less than
    releasing and re-taking the GIL would cost, so it runs holding the GIL."""
    global _cached_g
    cdef Evaluator ev = _evaluator(f, (), vectorized, 1)
    cdef UserIntegrand g
    if _cached_g is not None and _cached_g.ev is ev:
        g = _cached_g
    else:
        g = UserIntegrand(ev, 1)
        if ev is _cached_ev:
            _cached_g = g
    cdef Opts opt
    opt.epsabs = epsabs
    opt.epsrel = epsrel
    opt.limit = limit
    opt.rule = RULE_GK21
    opt.fallback = 1
    opt.keep = 0
    opt.flag_zero = 1
    opt.workers = 1
    res[0] = 0.0
    err[0] = 0.0
    ier[0] = 0
    flg[0] = 0
    cdef Py_ssize_t nev = ev.nfev
    run_batch(g, 1, &a, &b, NULL, 0, 0, NULL, 0, &opt, res, err, ier, flg, NULL)
    neval[0] = ev.nfev - nev
    return 0


def quad_scalar(f, double a, double b, bint vectorized, double epsabs, double epsrel, int limit):
    """One adaptive GK21 integral: returns (res, err, ier, flags, neval)."""
    cdef double res, err
    cdef int ier, flg
    cdef Py_ssize_t nev
    _quad_scalar_c(f, a, b, vectorized, epsabs, epsrel, limit, &res, &err, &ier, &flg, &nev)
    return res, err, ier, flg, nev


_quad_python = None      # fastcalc.integrate._quad_python: every case but the fast one


def quad(func, a, b, args=(), full_output=0, epsabs=1.49e-8, epsrel=1.49e-8, limit=50,
         points=None, weight=None, wvar=None, wopts=None, maxp1=50, limlst=50,
         complex_func=False, *, method="gk21", vectorized=False, workers=1):
    """Entry of :func:`fastcalc.integrate.quad` (its docstring is set there).

    One integral of real limits with SciPy's default options runs from here, without the
    Python-level argument handling (it costs more than integrating a smooth compiled integrand);
    everything else goes to the Python implementation.
    """
    global _quad_python
    cdef double da, db, res, err
    cdef int ier, flg
    cdef Py_ssize_t nev
    ta = type(a)
    tb = type(b)
    if ((ta is float or ta is int) and (tb is float or tb is int) and type(args) is tuple
            and len(<tuple>args) == 0 and full_output is 0 and points is None and weight is None
            and complex_func is False and method == "gk21" and workers is 1
            and epsabs == 1.49e-8 and epsrel == 1.49e-8 and limit == 50):
        da = a
        db = b
        if da == da and db == db:
            _quad_scalar_c(func, da, db, vectorized, epsabs, epsrel, limit, &res, &err, &ier,
                           &flg, &nev)
            if ier == 0:
                return res, err
    if _quad_python is None:
        from fastcalc.integrate import _quad_python as impl
        _quad_python = impl
    return _quad_python(func, a, b, args, full_output, epsabs, epsrel, limit, points, weight,
                        wvar, wopts, maxp1, limlst, complex_func, method=method,
                        vectorized=vectorized, workers=workers)


# ---------------------------------------------------------------------------------------------
# Adaptive cubature over a hyper-rectangle
# ---------------------------------------------------------------------------------------------

cdef enum:
    CUB_GK21 = 0
    CUB_GK15 = 1
    CUB_GM = 2


cdef struct CubRule:
    int d
    int npts             # nodes per region
    double *x            # (d, npts) on [-1, 1]^d
    double *wk           # high-order weights, normalised to volume 1
    double *wl           # embedded low-order weights
    int kind


cdef int build_product_rule(CubRule *r, int d, int which) except -1:
    cdef RuleInfo ru = get_rule(RULE_GK15 if which == CUB_GK15 else RULE_GK21)
    cdef int K = 2 * ru.nk - 1, j, i, k, idx, rem
    cdef double x1[21]
    cdef double wk1[21]
    cdef double wg1[21]
    cdef double wk, wl
    cdef long npts = 1
    for i in range(d):
        npts *= K
        if npts > 50_000_000:
            raise ValueError(f"a {K}-point product rule in {d} dimensions needs too many nodes; "
                             "use rule='genz-malik'")
    # 1-D nodes: centre, then -x_j, +x_j
    x1[0] = 0.0
    wk1[0] = ru.wk[ru.nk - 1] / 2.0
    wg1[0] = ru.wg[ru.nk - 1] / 2.0
    for j in range(ru.nk - 1):
        x1[1 + 2 * j] = -ru.x[j]
        x1[2 + 2 * j] = ru.x[j]
        wk1[1 + 2 * j] = wk1[2 + 2 * j] = ru.wk[j] / 2.0
        wg1[1 + 2 * j] = wg1[2 + 2 * j] = ru.wg[j] / 2.0
    r.d = d
    r.npts = <int>npts
    r.kind = which
    r.x = <double *>malloc(d * npts * sizeof(double))
    r.wk = <double *>malloc(npts * sizeof(double))
    r.wl = <double *>malloc(npts * sizeof(double))
    if r.x == NULL or r.wk == NULL or r.wl == NULL:
        raise MemoryError()
    for idx in range(npts):
        rem = idx
        wk = 1.0
        wl = 1.0
        for i in range(d):
            k = rem % K
            rem //= K
            r.x[i * npts + idx] = x1[k]
            wk *= wk1[k]
            wl *= wg1[k]
        r.wk[idx] = wk
        r.wl[idx] = wl
    return 0


cdef int build_gm_rule(CubRule *r, int d) except -1:
    """Genz-Malik degree-7 rule with its embedded degree-5 rule (weights for volume 1)."""
    cdef int npts = 1 + 4 * d + 2 * d * (d - 1) + (1 << d)
    cdef double l2 = sqrt(9.0 / 70.0), l3 = sqrt(9.0 / 10.0), l4 = sqrt(9.0 / 10.0)
    cdef double l5 = sqrt(9.0 / 19.0)
    cdef double w1 = (12824.0 - 9120.0 * d + 400.0 * d * d) / 19683.0
    cdef double w2 = 980.0 / 6561.0, w3 = (1820.0 - 400.0 * d) / 19683.0, w4 = 200.0 / 19683.0
    cdef double w5 = 6859.0 / 19683.0 / (1 << d)
    cdef double v1 = (729.0 - 950.0 * d + 50.0 * d * d) / 729.0
    cdef double v2 = 245.0 / 486.0, v3 = (265.0 - 100.0 * d) / 1458.0, v4 = 25.0 / 729.0
    cdef int p = 0, i, j, s, si, sj
    r.d = d
    r.npts = npts
    r.kind = CUB_GM
    r.x = <double *>malloc(d * npts * sizeof(double))
    r.wk = <double *>malloc(npts * sizeof(double))
    r.wl = <double *>malloc(npts * sizeof(double))
    if r.x == NULL or r.wk == NULL or r.wl == NULL:
        raise MemoryError()
    memset(r.x, 0, d * npts * sizeof(double))
    # centre
    r.wk[p] = w1
    r.wl[p] = v1
    p += 1
    # +-l2 e_i, then +-l3 e_i  (points 1 .. 4d; axis i uses p = 1 + 4 i .. 4 i + 4)
    for i in range(d):
        r.x[i * npts + p] = -l2; r.wk[p] = w2; r.wl[p] = v2; p += 1
        r.x[i * npts + p] = l2; r.wk[p] = w2; r.wl[p] = v2; p += 1
        r.x[i * npts + p] = -l3; r.wk[p] = w3; r.wl[p] = v3; p += 1
        r.x[i * npts + p] = l3; r.wk[p] = w3; r.wl[p] = v3; p += 1
    for i in range(d):
        for j in range(i + 1, d):
            for si in (-1, 1):
                for sj in (-1, 1):
                    r.x[i * npts + p] = si * l4
                    r.x[j * npts + p] = sj * l4
                    r.wk[p] = w4
                    r.wl[p] = v4
                    p += 1
    for s in range(1 << d):
        for i in range(d):
            r.x[i * npts + p] = l5 if (s >> i) & 1 else -l5
        r.wk[p] = w5
        r.wl[p] = 0.0
        p += 1
    return 0


cdef inline void heap_up(int *h, double *key, int i) noexcept nogil:
    cdef int v = h[i], parent
    while i > 0:
        parent = (i - 1) // 2
        if key[h[parent]] < key[v]:
            h[i] = h[parent]
            i = parent
        else:
            break
    h[i] = v


cdef inline int heap_pop_idx(int *h, int *n, double *key) noexcept nogil:
    cdef int top = h[0], last, i = 0, c
    n[0] -= 1
    if n[0] == 0:
        return top
    last = h[n[0]]
    while True:
        c = 2 * i + 1
        if c >= n[0]:
            break
        if c + 1 < n[0] and key[h[c]] < key[h[c + 1]]:
            c += 1
        if key[last] < key[h[c]]:
            h[i] = h[c]
            i = c
        else:
            break
    h[i] = last
    return top


cdef class _CubState:
    """Growable storage of the regions of one cubature run."""
    cdef int d, nout, cap, n
    cdef double *a
    cdef double *b
    cdef double *est
    cdef double *err
    cdef double *key
    cdef int *heap
    cdef int *ax
    cdef int nheap

    def __dealloc__(self):
        free(self.a); free(self.b); free(self.est); free(self.err); free(self.key); free(self.heap)
        free(self.ax)

    cdef int grow(self, int need) except -1:
        cdef int ncap = self.cap
        if need <= self.cap:
            return 0
        while ncap < need:
            ncap = ncap * 2 if ncap else 64
        self.a = <double *>realloc(self.a, ncap * self.d * sizeof(double))
        self.b = <double *>realloc(self.b, ncap * self.d * sizeof(double))
        self.est = <double *>realloc(self.est, ncap * self.nout * sizeof(double))
        self.err = <double *>realloc(self.err, ncap * self.nout * sizeof(double))
        self.key = <double *>realloc(self.key, ncap * sizeof(double))
        self.heap = <int *>realloc(self.heap, ncap * sizeof(int))
        self.ax = <int *>realloc(self.ax, ncap * sizeof(int))
        if self.a == NULL or self.b == NULL or self.est == NULL or self.err == NULL \
                or self.key == NULL or self.heap == NULL or self.ax == NULL:
            raise MemoryError()
        self.cap = ncap
        return 0

    def regions(self):
        out = []
        cdef int r, i
        for r in range(self.n):
            out.append((np.array([self.a[r * self.d + i] for i in range(self.d)]),
                        np.array([self.b[r * self.d + i] for i in range(self.d)]),
                        np.array([self.est[r * self.nout + i] for i in range(self.nout)]),
                        np.array([self.err[r * self.nout + i] for i in range(self.nout)])))
        return out


def cubature_run(f, const double[::1] a, const double[::1] b, int nout, int rule, double rtol,
                 double atol, long max_subdivisions, bint vectorized, tuple args,
                 const int[::1] transform, const double[::1] xa, int max_batch=512):
    """Adaptive cubature on the box [a, b] (in the transformed variables).  Returns
    (estimate, error, converged, subdivisions, neval, state)."""
    cdef int d = a.shape[0]
    cdef Evaluator ev = as_evaluator(f, d, nout, False, nout == 1, vectorized, args)
    cdef CubRule ru
    ru.x = NULL; ru.wk = NULL; ru.wl = NULL
    cdef _CubState st = _CubState.__new__(_CubState)
    st.d = d
    st.nout = nout
    cdef double *X = NULL
    cdef double *F = NULL
    cdef double *J = NULL
    cdef int *pop = NULL
    cdef double *tot_est = <double *>calloc_(nout)
    cdef double *tot_err = <double *>calloc_(nout)
    cdef int nchild, npop, q, c, i, k, p, r, axis, npts, cidx, nsplit
    cdef long subdiv = 0, m, cap_pts
    cdef double h, cc, ja, v, best, fc_, t2, t3, diff
    cdef bint converged = False
    try:
        if rule == CUB_GM:
            build_gm_rule(&ru, d)
        else:
            build_product_rule(&ru, d, rule)
        npts = ru.npts
        nchild = 2 if rule == CUB_GM else (1 << d)
        cap_pts = <long>4 * nchild * npts      # grown on demand (large blocks cost page faults)
        X = <double *>malloc(d * cap_pts * sizeof(double))
        F = <double *>malloc(nout * cap_pts * sizeof(double))
        J = <double *>malloc(cap_pts * sizeof(double))
        pop = <int *>malloc(max_batch * sizeof(int))
        if X == NULL or F == NULL or J == NULL or pop == NULL \
                or tot_est == NULL or tot_err == NULL:
            raise MemoryError()
        # the first region
        st.grow(1)
        for i in range(d):
            st.a[i] = a[i]
            st.b[i] = b[i]
        st.n = 1
        _cub_eval(ev, &ru, st, 0, 1, X, F, J, transform, xa)
        st.heap[0] = 0
        st.nheap = 1
        for k in range(nout):
            tot_est[k] = st.est[k]
            tot_err[k] = st.err[k]
        while True:
            converged = True
            for k in range(nout):
                if not (tot_err[k] <= atol + rtol * fabs(tot_est[k])):
                    converged = False
            if converged:
                break
            if subdiv >= max_subdivisions:
                break
            # pop the worst region and the others within a factor 4 of it (one batch)
            npop = 0
            best = st.key[st.heap[0]]
            while st.nheap > 0 and npop < max_batch and subdiv + npop < max_subdivisions:
                if npop > 0 and not (st.key[st.heap[0]] >= 0.25 * best):
                    break
                pop[npop] = heap_pop_idx(st.heap, &st.nheap, st.key)
                npop += 1
            st.grow(st.n + npop * (nchild - 1))
            # children: the popped slot is reused for the first child
            cidx = st.n
            for q in range(npop):
                r = pop[q]
                for k in range(nout):
                    tot_est[k] -= st.est[r * nout + k]
                    tot_err[k] -= st.err[r * nout + k]
                if rule == CUB_GM:
                    axis = st.ax[r]
                    h = 0.5 * (st.b[r * d + axis] - st.a[r * d + axis])
                    for i in range(d):
                        st.a[cidx * d + i] = st.a[r * d + i]
                        st.b[cidx * d + i] = st.b[r * d + i]
                    st.b[r * d + axis] = st.a[r * d + axis] + h
                    st.a[cidx * d + axis] = st.a[r * d + axis] + h
                    pop[q] = r
                    cidx += 1
                else:
                    # 2^d children: child s takes the lower or upper half along each axis
                    for c in range(1, nchild):
                        for i in range(d):
                            h = 0.5 * (st.b[r * d + i] - st.a[r * d + i])
                            if (c >> i) & 1:
                                st.a[cidx * d + i] = st.a[r * d + i] + h
                                st.b[cidx * d + i] = st.b[r * d + i]
                            else:
                                st.a[cidx * d + i] = st.a[r * d + i]
                                st.b[cidx * d + i] = st.a[r * d + i] + h
                        cidx += 1
                    for i in range(d):
                        st.b[r * d + i] = st.a[r * d + i] + 0.5 * (st.b[r * d + i] - st.a[r * d + i])
            # evaluate: the popped slots (now first children) and the new ones
            if <long>(cidx - st.n + npop) * npts > cap_pts:
                cap_pts = <long>(cidx - st.n + npop) * npts * 2
                free(X); free(F); free(J)
                X = <double *>malloc(d * cap_pts * sizeof(double))
                F = <double *>malloc(nout * cap_pts * sizeof(double))
                J = <double *>malloc(cap_pts * sizeof(double))
                if X == NULL or F == NULL or J == NULL:
                    raise MemoryError()
            _cub_eval_list(ev, &ru, st, pop, npop, st.n, cidx - st.n, X, F, J, transform, xa)
            for q in range(npop):
                r = pop[q]
                for k in range(nout):
                    tot_est[k] += st.est[r * nout + k]
                    tot_err[k] += st.err[r * nout + k]
                heap_up_push(st, r)
            for r in range(st.n, cidx):
                for k in range(nout):
                    tot_est[k] += st.est[r * nout + k]
                    tot_err[k] += st.err[r * nout + k]
                heap_up_push(st, r)
            st.n = cidx
            subdiv += npop
        # final sums from the regions
        for k in range(nout):
            tot_est[k] = 0.0
            tot_err[k] = 0.0
        for r in range(st.n):
            for k in range(nout):
                tot_est[k] += st.est[r * nout + k]
                tot_err[k] += st.err[r * nout + k]
        est = np.array([tot_est[k] for k in range(nout)])
        err = np.array([tot_err[k] for k in range(nout)])
        return est, err, converged, subdiv, ev.nfev, st
    finally:
        free(ru.x); free(ru.wk); free(ru.wl); free(X); free(F); free(J); free(pop)
        free(tot_est); free(tot_err)


cdef void *calloc_(int n) noexcept:
    cdef double *p = <double *>malloc(n * sizeof(double))
    if p != NULL:
        memset(p, 0, n * sizeof(double))
    return p


cdef void heap_up_push(_CubState st, int r) noexcept:
    st.heap[st.nheap] = r
    st.nheap += 1
    heap_up(st.heap, st.key, st.nheap - 1)


cdef int _cub_eval(Evaluator ev, CubRule *ru, _CubState st, int first, int count, double *X,
                   double *F, double *J, const int[::1] transform,
                   const double[::1] xa) except -1:
    cdef int *lst = <int *>malloc(count * sizeof(int))
    cdef int i
    if lst == NULL:
        raise MemoryError()
    for i in range(count):
        lst[i] = first + i
    try:
        _cub_eval_list(ev, ru, st, lst, count, 0, 0, X, F, J, transform, xa)
    finally:
        free(lst)
    return 0


cdef int _cub_eval_list(Evaluator ev, CubRule *ru, _CubState st, int *lst, int nlst,
                        int first, int count, double *X, double *F, double *J,
                        const int[::1] transform, const double[::1] xa) except -1:
    """Evaluate the rule on regions lst[0..nlst) and first..first+count, in one eval call."""
    cdef int d = st.d, nout = st.nout, npts = ru.npts
    cdef int nreg = nlst + count, q, r, i, p, k, best_ax
    cdef long m = <long>nreg * npts, base
    cdef double c, h, ja, vol, sk, sl, fc_, diff, bestd, t2, t3, val, mx
    for q in range(nreg):
        r = lst[q] if q < nlst else first + (q - nlst)
        base = <long>q * npts
        for p in range(npts):
            J[base + p] = 1.0
        for i in range(d):
            c = 0.5 * (st.a[r * d + i] + st.b[r * d + i])
            h = 0.5 * (st.b[r * d + i] - st.a[r * d + i])
            for p in range(npts):
                X[i * m + base + p] = tmap(transform[i], xa[i], c + h * ru.x[i * npts + p], &ja)
                J[base + p] *= ja
    if ev.nogil:
        with nogil:
            ev.eval(m, X, m, F, m)
    else:
        ev.eval(m, X, m, F, m)
    for q in range(nreg):
        r = lst[q] if q < nlst else first + (q - nlst)
        base = <long>q * npts
        vol = 1.0
        for i in range(d):
            vol *= st.b[r * d + i] - st.a[r * d + i]
        mx = 0.0
        for k in range(nout):
            sk = 0.0
            sl = 0.0
            for p in range(npts):
                val = F[k * m + base + p]
                if val != 0.0:
                    val *= J[base + p]
                if not isfinite(val):
                    raise FloatingPointError("the integrand returned NaN or inf at a cubature node")
                sk += ru.wk[p] * val
                sl += ru.wl[p] * val
            st.est[r * nout + k] = vol * sk
            st.err[r * nout + k] = fabs(vol * (sk - sl))
            if st.err[r * nout + k] > mx:
                mx = st.err[r * nout + k]
        st.key[r] = mx
        if ru.kind == CUB_GM:
            # split where the fourth difference is largest (Genz & Malik)
            best_ax = 0
            bestd = -1.0
            for i in range(d):
                diff = 0.0
                for k in range(nout):
                    fc_ = F[k * m + base]
                    t2 = F[k * m + base + 1 + 4 * i] + F[k * m + base + 2 + 4 * i] - 2.0 * fc_
                    t3 = F[k * m + base + 3 + 4 * i] + F[k * m + base + 4 + 4 * i] - 2.0 * fc_
                    diff = fmax(diff, fabs(t2 - t3 / 7.0))
                if diff > bestd:
                    bestd = diff
                    best_ax = i
            st.ax[r] = best_ax
    return 0
