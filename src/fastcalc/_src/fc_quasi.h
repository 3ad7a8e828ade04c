/* Direction updates of the quasi-Newton and conjugate-gradient methods (fastcalc._quasi): BFGS's
 * inverse-Hessian update, L-BFGS's two-loop recursion, the CG betas, the inner CG of Newton-CG's
 * truncated solve, and the bound helpers of projected L-BFGS.  Pure math on one point's vectors
 * (contiguous, length n); evaluations happen in the caller, through the adapter. */
#ifndef FC_QUASI_H
#define FC_QUASI_H
#include <math.h>
#include <stddef.h>
#include "fc_descent.h"     /* and fc_simd.h: FC_CLONES, the same runtime dispatch (AVX2, AVX-512) */

/* (the reductions are reassociated by the simd pragmas: vector loops, rounding differs in the
 * last bits from a left-to-right sum) */
static inline double fcq_dot(int n, const double *a, const double *b) {
    double s = 0.0;
    _Pragma("omp simd reduction(+:s)")
    for (int i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

static inline void fcq_axpy(int n, double a, const double *restrict x, double *restrict y) {
    _Pragma("omp simd")
    for (int i = 0; i < n; i++) y[i] += a * x[i];
}

static inline double fcq_amax(int n, const double *a) {
    double s = 0.0;
    for (int i = 0; i < n; i++) s = fabs(a[i]) > s ? fabs(a[i]) : s;
    return s;
}

/* d = -H g (H symmetric n x n, row-major) */
static inline void fcq_bfgs_direction(int n, const double *H, const double *g, double *d) {
    for (int i = 0; i < n; i++) {
        double s = 0.0;
        for (int k = 0; k < n; k++) s -= H[i * n + k] * g[k];
        d[i] = s;
    }
}

/* BFGS update of the inverse Hessian with the pair (s, y), s.y > 0 (Nocedal & Wright (6.17)):
 * H += (sy + y'Hy) / sy^2 s s' - (Hy s' + s (Hy)') / sy.  first: scale H = (sy / yy) I before the
 * first update (N&W (6.20)).  hy: n doubles of scratch.  Returns 0 when the pair was skipped. */
static inline int fcq_bfgs_update(int n, double *H, const double *s, const double *y, int first,
                           double *hy) {
    double sy = fcq_dot(n, s, y);
    if (!(sy > 1e-10 * sqrt(fcq_dot(n, s, s) * fcq_dot(n, y, y)))) return 0;
    if (first) {
        double gamma = sy / fcq_dot(n, y, y);
        for (int k = 0; k < n * n; k++) H[k] = 0.0;
        for (int i = 0; i < n; i++) H[i * n + i] = gamma;
    }
    for (int i = 0; i < n; i++) {
        double t = 0.0;
        for (int k = 0; k < n; k++) t += H[i * n + k] * y[k];
        hy[i] = t;
    }
    double yhy = fcq_dot(n, y, hy), a = (sy + yhy) / (sy * sy);
    for (int i = 0; i < n; i++)
        for (int k = 0; k < n; k++)
            H[i * n + k] += a * s[i] * s[k] - (hy[i] * s[k] + s[i] * hy[k]) / sy;
    return 1;
}

/* L-BFGS two-loop recursion (N&W algorithm 7.4): d = -H_k g from the m stored pairs (rows of S and
 * Y, n apart, pair i in row (start + i) % cap, newest last) and H0 = gamma I, gamma = s.y / y.y of
 * the newest pair (1 without pairs).  rho[i] = 1 / s_i.y_i; alpha: cap doubles of scratch. */
FC_CLONES static void fcq_lbfgs_direction(int n, int m, int cap, int start, const double *S, const double *Y,
                                const double *rho, double *alpha, const double *g, double *d) {
    for (int i = 0; i < n; i++) d[i] = -g[i];
    for (int k = m - 1; k >= 0; k--) {
        int r = (start + k) % cap;
        double a = rho[r] * fcq_dot(n, S + (ptrdiff_t)r * n, d);
        alpha[r] = a;
        fcq_axpy(n, -a, Y + (ptrdiff_t)r * n, d);
    }
    if (m > 0) {
        int r = (start + m - 1) % cap;
        const double *y = Y + (ptrdiff_t)r * n;
        double gamma = 1.0 / (rho[r] * fcq_dot(n, y, y));
        _Pragma("omp simd")
        for (int i = 0; i < n; i++) d[i] *= gamma;
    }
    for (int k = 0; k < m; k++) {
        int r = (start + k) % cap;
        double b = rho[r] * fcq_dot(n, Y + (ptrdiff_t)r * n, d);
        fcq_axpy(n, alpha[r] - b, S + (ptrdiff_t)r * n, d);
    }
}

/* CG's beta: Polak-Ribiere+ (max(0, g1.(g1 - g0) / g0.g0)) or Fletcher-Reeves (g1.g1 / g0.g0) */
static inline double fcq_cg_beta(int n, const double *g1, const double *g0, int fletcher_reeves) {
    double g00 = fcq_dot(n, g0, g0), g11 = fcq_dot(n, g1, g1);
    if (!(g00 > 0)) return 0.0;
    if (fletcher_reeves) return g11 / g00;
    double b = (g11 - fcq_dot(n, g1, g0)) / g00;
    return b > 0 ? b : 0.0;
}

/* Bounds: the variables held at a bound (fixed[i] = 1 where x sits on a bound and -g points out),
 * the projected gradient's inf-norm, and the largest feasible step along d. */
static inline double fcq_projected_gradient(int n, const double *x, const double *g, const double *lo,
                                     const double *hi, unsigned char *fixed) {
    double pg = 0.0;
    for (int i = 0; i < n; i++) {
        double t = x[i] - g[i];
        t = t < lo[i] ? lo[i] : (t > hi[i] ? hi[i] : t);
        double v = fabs(t - x[i]);
        pg = v > pg ? v : pg;
        if (fixed) fixed[i] = (x[i] <= lo[i] && g[i] > 0) || (x[i] >= hi[i] && g[i] < 0);
    }
    return pg;
}

static inline double fcq_max_step(int n, const double *x, const double *d, const double *lo,
                           const double *hi) {
    double amax = INFINITY;
    for (int i = 0; i < n; i++) {
        double a = INFINITY;
        if (d[i] > 0) a = (hi[i] - x[i]) / d[i];
        else if (d[i] < 0) a = (lo[i] - x[i]) / d[i];
        amax = a < amax ? a : amax;
    }
    return amax < 0 ? 0.0 : amax;
}
#endif
