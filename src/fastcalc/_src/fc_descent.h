/* Hot loops of the descent kernels (fastcalc._descent), over the points of one row.
 *
 * Points are innermost, so every loop vectorizes; FC_CLONES (fc_simd.h) also compiles them for AVX2
 * and AVX-512, chosen at load time (GCC target_clones, an ifunc), so one portable binary uses the
 * wide vectors where the CPU has them.  No -ffast-math: the NaN tests below must stay. */
#ifndef FC_DESCENT_H
#define FC_DESCENT_H
#include <math.h>
#include <stddef.h>

#include "fc_simd.h"

enum { FCD_GD = 0, FCD_MOMENTUM = 1, FCD_NESTEROV = 2, FCD_ADAGRAD = 3, FCD_RMSPROP = 4,
       FCD_ADAM = 5 };

enum { FCD_S_CONSTANT = 0, FCD_S_STEP = 1, FCD_S_EXPONENTIAL = 2, FCD_S_INVERSE_TIME = 3,
       FCD_S_COSINE = 4 };

/* Learning rate of iteration t (0-based) under a schedule. */
static inline double fc_descent_rate(int schedule, double lr, double decay, ptrdiff_t step_size,
                                     double lr_min, double period, ptrdiff_t t) {
    switch (schedule) {
    case FCD_S_CONSTANT: return lr;
    case FCD_S_STEP: return lr * pow(decay, (double)(t / step_size));
    case FCD_S_EXPONENTIAL: return lr * pow(decay, (double)t);
    case FCD_S_INVERSE_TIME: return lr / (1.0 + decay * (double)t);
    default: {
        double tt = (double)t > period ? period : (double)t;
        return lr_min + 0.5 * (lr - lr_min) * (1.0 + cos(3.14159265358979323846 * tt / period));
    }
    }
}

/* Project one row of m points onto [lo, hi] (the bounds of this variable). */
static inline void fc_descent_clip(ptrdiff_t m, double *restrict x, double lo, double hi) {
    _Pragma("omp simd")
    for (ptrdiff_t j = 0; j < m; j++) x[j] = x[j] < lo ? lo : (x[j] > hi ? hi : x[j]);
}

/* gn[j] = max_i |g[i*ldg + j]|, bad[j] = NaN when some g is NaN or infinite (else 0);
 * returns how many points have gn <= gtol or a bad gradient. */
static inline ptrdiff_t fc_descent_check_body(int n, ptrdiff_t m, const double *g,
                                              ptrdiff_t ldg, double gtol, double *restrict gn,
                                              double *restrict bad) {
    if (m == 1) {                   /* one point: one pass down its column, vectorized when
                                     * contiguous and long enough to pay for the vector set-up
                                     * (b only marks NaN/inf: any order will do) */
        double mx = 0.0, b = 0.0;
        if (ldg == 1 && n >= 16) {
            _Pragma("omp simd reduction(max:mx) reduction(+:b)")
            for (int i = 0; i < n; i++) {
                double a = fabs(g[i]);
                b += a * 0.0;
                mx = a > mx ? a : mx;
            }
        } else {
            for (int i = 0; i < n; i++) {
                double a = fabs(g[(ptrdiff_t)i * ldg]);
                b += a * 0.0;
                mx = a > mx ? a : mx;
            }
        }
        gn[0] = mx;
        bad[0] = b;
        return (mx <= gtol) | (b != 0.0);
    }
    const double *g0 = g;
    _Pragma("omp simd")
    for (ptrdiff_t j = 0; j < m; j++) {
        double a = fabs(g0[j]);
        gn[j] = a;
        bad[j] = a * 0.0;
    }
    for (int i = 1; i < n; i++) {
        const double *gi = g + (ptrdiff_t)i * ldg;
        _Pragma("omp simd")
        for (ptrdiff_t j = 0; j < m; j++) {
            double a = fabs(gi[j]);
            bad[j] += a * 0.0;
            gn[j] = a > gn[j] ? a : gn[j];
        }
    }
    ptrdiff_t flagged = 0;
    _Pragma("omp simd reduction(+:flagged)")
    for (ptrdiff_t j = 0; j < m; j++)
        flagged += (gn[j] <= gtol) | (bad[j] != 0.0);
    return flagged;
}

/* One first-order step on one row of m points. */
FC_INLINE void fc_descent_step_body(int method, ptrdiff_t m, double *restrict x,
                                  const double *restrict g, double *restrict v,
                                  double *restrict s, double lr, double mu, double b1,
                                  double b2, double bc1, double bc2, double rho,
                                  double eps) {
    switch (method) {
    case FCD_GD:
        _Pragma("omp simd")
        for (ptrdiff_t j = 0; j < m; j++) x[j] -= lr * g[j];
        break;
    case FCD_MOMENTUM:
        _Pragma("omp simd")
        for (ptrdiff_t j = 0; j < m; j++) { v[j] = mu * v[j] - lr * g[j]; x[j] += v[j]; }
        break;
    case FCD_NESTEROV:
        _Pragma("omp simd")
        for (ptrdiff_t j = 0; j < m; j++) {
            double vo = v[j];
            v[j] = mu * vo - lr * g[j];
            x[j] += (1.0 + mu) * v[j] - mu * vo;
        }
        break;
    case FCD_ADAGRAD:
        _Pragma("omp simd")
        for (ptrdiff_t j = 0; j < m; j++) {
            s[j] += g[j] * g[j];
            x[j] -= lr * g[j] / (sqrt(s[j]) + eps);
        }
        break;
    case FCD_RMSPROP:
        _Pragma("omp simd")
        for (ptrdiff_t j = 0; j < m; j++) {
            s[j] = rho * s[j] + (1.0 - rho) * g[j] * g[j];
            x[j] -= lr * g[j] / (sqrt(s[j]) + eps);
        }
        break;
    default:
        _Pragma("omp simd")
        for (ptrdiff_t j = 0; j < m; j++) {
            v[j] = b1 * v[j] + (1.0 - b1) * g[j];
            s[j] = b2 * s[j] + (1.0 - b2) * g[j] * g[j];
            x[j] -= lr * (v[j] / bc1) / (sqrt(s[j] / bc2) + eps);
        }
    }
}

/* The entries the kernels call: compiled for each target of FC_CLONES (wide rows of
 * points).  A single start calls the _body versions directly (a few coordinates: no dispatch). */
FC_CLONES static ptrdiff_t fc_descent_check(int n, ptrdiff_t m, const double *g,
                                                    ptrdiff_t ldg, double gtol,
                                                    double *restrict gn, double *restrict bad) {
    return fc_descent_check_body(n, m, g, ldg, gtol, gn, bad);
}

FC_CLONES static void fc_descent_step(int method, ptrdiff_t m, double *restrict x,
                                              const double *restrict g, double *restrict v,
                                              double *restrict s, double lr, double mu, double b1,
                                              double b2, double bc1, double bc2, double rho,
                                              double eps) {
    fc_descent_step_body(method, m, x, g, v, s, lr, mu, b1, b2, bc1, bc2, rho, eps);
}

/* The fused step of a block of m points (rows of leading dimension ld, points innermost), in
 * tiles of FCD_TILE points: for each tile, down its n variables, the gradient check of
 * fc_descent_check_body (gn = max |g|, bad = NaN marker, both kept in registers) and the step of
 * fc_descent_step_body written to xn (the new iterate; x, the iterate before the step, is only
 * read), so the state is visited once: 2 loads and 1 store per coordinate (a copy then a step in
 * place would be 2 stores).  Returns how many points have gn <= gtol or a bad gradient: the
 * caller keeps x for those (their step is void). */
#define FCD_TILE 8
#define FCD_TILE_MIN_N 16
typedef double fcd_v8 __attribute__((vector_size(8 * FCD_TILE)));
typedef long long fcd_v8i __attribute__((vector_size(8 * FCD_TILE)));
#define FCD_ABS_MASK ((fcd_v8i){0} + 0x7fffffffffffffffLL)

FC_INLINE ptrdiff_t fcd_check_step_tiles(int method, int n, ptrdiff_t m, ptrdiff_t ld,
        const double *restrict x, const double *restrict g, double *restrict v,
        double *restrict s, double *restrict xb, double gtol, double *restrict gn,
        double *restrict bad, double lr, double mu, double b1, double b2, double bc1, double bc2,
        double rho, double eps) {
    /* xb: the new iterate (xn above) */
    ptrdiff_t flagged = 0, j0 = 0;
    if (n < FCD_TILE_MIN_N) {
        /* few variables: row by row (a tile's epilogue would cost more than its rows) */
        for (int i = 0; i < n; i++) {
            const ptrdiff_t o = (ptrdiff_t)i * ld;
            const double *restrict gi = g + o, *restrict xi = x + o;
            double *restrict xbi = xb + o;
            if (i == 0) {
                _Pragma("omp simd")
                for (ptrdiff_t j = 0; j < m; j++) {
                    double a = fabs(gi[j]);
                    gn[j] = a;
                    bad[j] = a * 0.0;
                    xbi[j] = xi[j];
                }
            } else {
                _Pragma("omp simd")
                for (ptrdiff_t j = 0; j < m; j++) {
                    double a = fabs(gi[j]);
                    bad[j] += a * 0.0;
                    gn[j] = a > gn[j] ? a : gn[j];
                    xbi[j] = xi[j];
                }
            }
            fc_descent_step_body(method, m, xbi, gi, v + o, s + o, lr, mu, b1, b2, bc1, bc2, rho,
                                 eps);
        }
        _Pragma("omp simd reduction(+:flagged)")
        for (ptrdiff_t j = 0; j < m; j++)
            flagged += (gn[j] <= gtol) | (bad[j] != 0.0);
        return flagged;
    }
    for (; j0 + FCD_TILE <= m; j0 += FCD_TILE) {       /* full tiles: a constant width */
        /* the tile's max |g| and NaN marker stay in (vector) registers down the n variables */
        fcd_v8 gm = {0.0}, bd = {0.0};
        const fcd_v8 zero = {0.0};
        for (int i = 0; i < n; i++) {
            const ptrdiff_t o = (ptrdiff_t)i * ld + j0;
            fcd_v8 gv, xv;
            __builtin_memcpy(&gv, g + o, sizeof gv);
            __builtin_memcpy(&xv, x + o, sizeof xv);
            __builtin_memcpy(xb + o, &xv, sizeof xv);
            fcd_v8 a = (fcd_v8)((fcd_v8i)gv & FCD_ABS_MASK);
            fcd_v8i gt = (fcd_v8i)(a > gm);
            gm = (fcd_v8)((gt & (fcd_v8i)a) | (~gt & (fcd_v8i)gm));
            bd += a * zero;
            fc_descent_step_body(method, FCD_TILE, xb + o, g + o, v + o, s + o, lr, mu, b1, b2,
                                 bc1, bc2, rho, eps);
        }
        for (int j = 0; j < FCD_TILE; j++) {
            gn[j0 + j] = gm[j];
            bad[j0 + j] = bd[j];
            flagged += (gm[j] <= gtol) | (bd[j] != 0.0);
        }
    }
    if (j0 < m) {                                       /* the last points: row by row */
        const ptrdiff_t w = m - j0;
        flagged += fc_descent_check_body(n, w, g + j0, ld, gtol, gn + j0, bad + j0);
        for (int i = 0; i < n; i++) {
            const ptrdiff_t o = (ptrdiff_t)i * ld + j0;
            for (ptrdiff_t j = 0; j < w; j++) xb[o + j] = x[o + j];
            fc_descent_step_body(method, w, xb + o, g + o, v + o, s + o, lr, mu, b1, b2, bc1, bc2,
                                 rho, eps);
        }
    }
    return flagged;
}

FC_CLONES static ptrdiff_t fc_descent_check_step(int method, int n, ptrdiff_t m, ptrdiff_t ld,
        const double *restrict x, const double *restrict g, double *restrict v, double *restrict s,
        double *restrict xb, double gtol, double *restrict gn, double *restrict bad, double lr,
        double mu, double b1, double b2, double bc1, double bc2, double rho, double eps) {
    /* one copy of the tile loop per rule (the method is a constant in each) */
    switch (method) {
#define FCD_CASE(M) case M: return fcd_check_step_tiles(M, n, m, ld, x, g, v, s, xb, gtol, gn, \
                                                        bad, lr, mu, b1, b2, bc1, bc2, rho, eps);
    FCD_CASE(FCD_GD) FCD_CASE(FCD_MOMENTUM) FCD_CASE(FCD_NESTEROV) FCD_CASE(FCD_ADAGRAD)
    FCD_CASE(FCD_RMSPROP)
#undef FCD_CASE
    default: return fcd_check_step_tiles(FCD_ADAM, n, m, ld, x, g, v, s, xb, gtol, gn, bad, lr,
                                         mu, b1, b2, bc1, bc2, rho, eps);
    }
}

/* OpenMP across the points (the "workers" option): the step on one chunk of points per thread.
 * Without OpenMP the pragma is ignored (one thread).  Evaluations never run here: they go through
 * the adapter (fastcalc._core), which owns nfev, errors and Ctrl-C. */
static inline void fc_descent_par_step(int method, int n, ptrdiff_t m, double *x, const double *g,
                                double *v, double *s, ptrdiff_t ld, double lr, double mu,
                                double b1, double b2, double bc1, double bc2, double rho,
                                double eps, int workers) {
    ptrdiff_t chunk = (m + workers - 1) / workers;
    #pragma omp parallel for num_threads(workers) schedule(static)
    for (int t = 0; t < workers; t++) {
        ptrdiff_t c0 = (ptrdiff_t)t * chunk, mm = m - c0 < chunk ? m - c0 : chunk;
        for (int r = 0; r < n && mm > 0; r++) {
            ptrdiff_t o = (ptrdiff_t)r * ld + c0;
            fc_descent_step(method, mm, x + o, g + o, v + o, s + o, lr, mu, b1, b2, bc1, bc2,
                            rho, eps);
        }
    }
}
#endif
