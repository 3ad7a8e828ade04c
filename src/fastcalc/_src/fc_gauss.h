/* Nodes and weights of the Gauss rules (fastcalc._gauss), Newton iteration in long double.
 *
 * Each routine handles the nodes k0 <= k < k1 only (Legendre: k < (n + 1) / 2, the other half by
 * symmetry), so the caller can check for Ctrl-C between slices of the O(n^2) work. */
#ifndef FC_GAUSS_H
#define FC_GAUSS_H
#include <math.h>

/* Gauss-Legendre nodes and weights: Newton on P_n in extended precision (long double),
   Tricomi's initial guesses; the extra digits make the weights next to +-1 (where
   1 - x^2 cancels) accurate to double precision. */
static inline void fc_legendre_nodes(int n, int k0, int k1, double *x, double *w) {
    for (int k = k0; k < k1; k++) {
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
    if (n % 2 == 1 && k1 == (n + 1) / 2) x[n / 2] = 0.0;
}

/* Newton polishing of Gauss-Hermite / Gauss-Laguerre nodes and their weights, in long double
   on orthonormal recurrences, rescaled against overflow (log scale kept separately). */
static inline void fc_hermite_eval(int n, long double z, long double *hn, long double *hn1,
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
static inline void fc_hermite_polish(int n, int k0, int k1, double *x, double *w) {
    long double z, hn, hn1, ls, dz;
    for (int k = k0; k < k1; k++) {
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
static inline void fc_laguerre_eval(int n, long double z, long double *ln, long double *ln1,
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
static inline void fc_laguerre_polish(int n, int k0, int k1, double *x, double *w) {
    long double z, ln, ln1, ls, dz;
    for (int k = k0; k < k1; k++) {
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

#endif
