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

/* BFGS keeps its inverse Hessian H TRANSPOSED (column-major: Ht[k * n + i] = H[i][k]; the updates
 * round H[i][k] and H[k][i] differently, so H is not exactly symmetric), so that both n^2 kernels
 * run along contiguous rows with every element computed exactly as the plain row-major loops did:
 *   out[i] = sum_k H[i][k] x[k] (negate: 0 - H[i][0] x[0] - ...), each sum left to right in k;
 *   H[i][k] += a s[i] s[k] - (hy[i] s[k] + s[i] hy[k]) / sy.
 * (no reassociation, no FMA contraction under -std=c11: the same bits in every clone) */
FC_CLONES static void fcq_matvec_t(int n, const double *restrict Ht, const double *restrict x,
                                   double *restrict out, int negate) {
    for (int i = 0; i < n; i++) out[i] = 0.0;
    for (int k = 0; k < n; k++) {
        const double *row = Ht + (ptrdiff_t)k * n;
        double xk = x[k];
        if (negate)
            for (int i = 0; i < n; i++) out[i] -= row[i] * xk;
        else
            for (int i = 0; i < n; i++) out[i] += row[i] * xk;
    }
}

/* d = -H g (H stored transposed, see above) */
static inline void fcq_bfgs_direction(int n, const double *Ht, const double *g, double *d) {
    fcq_matvec_t(n, Ht, g, d, 1);
}

FC_CLONES static void fcq_bfgs_rank2_t(int n, double *restrict Ht, const double *restrict s,
                                       const double *restrict hy, double a, double sy) {
    for (int k = 0; k < n; k++) {
        double *h = Ht + (ptrdiff_t)k * n;
        double sk = s[k], hyk = hy[k];
        for (int i = 0; i < n; i++) h[i] += a * s[i] * sk - (hy[i] * sk + s[i] * hyk) / sy;
    }
}

/* BFGS update of the inverse Hessian (stored transposed) with the pair (s, y), s.y > 0 (Nocedal &
 * Wright (6.17)): H += (sy + y'Hy) / sy^2 s s' - (Hy s' + s (Hy)') / sy.  first: scale
 * H = (sy / yy) I before the first update (N&W (6.20)).  hy: n doubles of scratch.  Returns 0 when
 * the pair was skipped.
 * (The dot products stay in this, the portable, build: their vector reductions round the same
 * way in every run and on every CPU.) */
static inline int fcq_bfgs_update(int n, double *H, const double *s, const double *y, int first,
                           double *hy) {
    double sy = fcq_dot(n, s, y);
    if (!(sy > 1e-10 * sqrt(fcq_dot(n, s, s) * fcq_dot(n, y, y)))) return 0;
    if (first) {
        double gamma = sy / fcq_dot(n, y, y);
        for (int k = 0; k < n * n; k++) H[k] = 0.0;
        for (int i = 0; i < n; i++) H[i * n + i] = gamma;
    }
    fcq_matvec_t(n, H, y, hy, 0);
    double yhy = fcq_dot(n, y, hy), a = (sy + yhy) / (sy * sy);
    fcq_bfgs_rank2_t(n, H, s, hy, a, sy);
    return 1;
}

/* Accept a step: s = xt - x, y = gt - g, g0 = g, then x = xt, g = gt (exact in any build) */
FC_CLONES static void fcq_accept(int n, double *restrict x, double *restrict g,
                                 const double *restrict xt, const double *restrict gt,
                                 double *restrict s, double *restrict y, double *restrict g0) {
    for (int i = 0; i < n; i++) {
        s[i] = xt[i] - x[i];
        y[i] = gt[i] - g[i];
        g0[i] = g[i];
        x[i] = xt[i];
        g[i] = gt[i];
    }
}

/* A trial point of the line search: xt = x + a d, clipped to [lo, hi] when lo is not NULL */
FC_CLONES static void fcq_trial(int n, const double *restrict x, const double *restrict d,
                                double a, const double *restrict lo, const double *restrict hi,
                                double *restrict xt) {
    for (int i = 0; i < n; i++) xt[i] = x[i] + a * d[i];
    if (lo)
        for (int i = 0; i < n; i++) {
            double t = lo[i] > xt[i] ? lo[i] : xt[i];    /* Cython's min(max(xt, lo), hi) */
            xt[i] = hi[i] < t ? hi[i] : t;
        }
}

/* L-BFGS two-loop recursion (N&W algorithm 7.4): d = -H_k g from the m stored pairs (rows of S and
 * Y, n apart, pair i in row (start + i) % cap, newest last) and H0 = gamma I, gamma = s.y / y.y of
 * the newest pair (1 without pairs).  rho[i] = 1 / s_i.y_i; alpha: cap doubles of scratch.
 * Each update of d is fused with the dot product that the next step needs (one pass over d per
 * pair instead of two); the products and sums are those of the separate loops, lane for lane. */
FC_CLONES static void fcq_lbfgs_direction(int n, int m, int cap, int start, const double *S, const double *Y,
                                const double *rho, double *alpha, const double *g, double *d) {
    if (m == 0) {
        for (int i = 0; i < n; i++) d[i] = -g[i];
        return;
    }
    int r = (start + m - 1) % cap;
    const double *y = Y + (ptrdiff_t)r * n;
    double gamma = 1.0 / (rho[r] * fcq_dot(n, y, y));
    /* d = -g, with s_newest . d */
    const double *sv = S + (ptrdiff_t)r * n;
    double dot = 0.0;
    _Pragma("omp simd reduction(+:dot)")
    for (int i = 0; i < n; i++) { d[i] = -g[i]; dot += sv[i] * d[i]; }
    for (int k = m - 1; k >= 0; k--) {
        r = (start + k) % cap;
        double a = rho[r] * dot, na = -a;
        alpha[r] = a;
        const double *yr = Y + (ptrdiff_t)r * n;
        dot = 0.0;
        if (k > 0) {            /* d -= a y_k, with s_(k-1) . d */
            const double *sn = S + (ptrdiff_t)((start + k - 1) % cap) * n;
            _Pragma("omp simd reduction(+:dot)")
            for (int i = 0; i < n; i++) { d[i] += na * yr[i]; dot += sn[i] * d[i]; }
        } else {                /* d = gamma (d - a y_0), with y_0 . d (the second loop's first) */
            const double *yn = Y + (ptrdiff_t)(start % cap) * n;
            _Pragma("omp simd reduction(+:dot)")
            for (int i = 0; i < n; i++) {
                double t = d[i] + na * yr[i];
                d[i] = t * gamma;
                dot += yn[i] * d[i];
            }
        }
    }
    for (int k = 0; k < m; k++) {
        r = (start + k) % cap;
        double b = rho[r] * dot, c = alpha[r] - b;
        const double *sr = S + (ptrdiff_t)r * n;
        dot = 0.0;
        if (k + 1 < m) {        /* d += (alpha_k - b) s_k, with y_(k+1) . d */
            const double *yn = Y + (ptrdiff_t)((start + k + 1) % cap) * n;
            _Pragma("omp simd reduction(+:dot)")
            for (int i = 0; i < n; i++) { d[i] += c * sr[i]; dot += yn[i] * d[i]; }
        } else {
            fcq_axpy(n, c, sr, d);
        }
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
