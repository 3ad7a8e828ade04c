/* Contiguous reductions of the sampled-data rules (fastcalc._sampled). */
#ifndef FC_SAMPLED_H
#define FC_SAMPLED_H
#include <stddef.h>
#include "fc_simd.h"

/* contiguous reductions, vectorized with OpenMP SIMD (reassociation only inside these loops);
   FC_CLONES (fc_simd.h) adds AVX2 and AVX-512 clones, chosen at run time */
FC_CLONES
static double fc_sum_odd_even(const double *y, ptrdiff_t stop, double *s_even) {
    double s1 = 0.0, s2 = 0.0;
    ptrdiff_t npair = (stop - 1) / 2, k;   /* pairs (2k+1, 2k+2) with 2k+2 < stop */
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
static double fc_sum(const double *y, ptrdiff_t n) {
    double s = 0.0;
    ptrdiff_t k;
    FC_SIMD_REDUCTION(+:s)
    for (k = 0; k < n; k++) s += y[k];
    return s;
}
FC_CLONES
static double fc_trap_x(const double *y, const double *x, ptrdiff_t n) {
    double s = 0.0;
    ptrdiff_t k;
    FC_SIMD_REDUCTION(+:s)
    for (k = 0; k < n - 1; k++) s += (x[k + 1] - x[k]) * (y[k + 1] + y[k]);
    return 0.5 * s;
}
FC_CLONES
static double fc_simpson_x(const double *y, const double *x, ptrdiff_t stop) {
    double s = 0.0;
    ptrdiff_t np_ = (stop + 1) / 2, k;     /* panels start at 0, 2, ..., < stop */
    /* one division per panel: q = h0/h1, 1/q = h1/h0, hsum^2/hprod, all from 1/hprod;
       panels with a zero spacing keep SciPy's guarded values (0 instead of inf) */
    FC_SIMD_REDUCTION(+:s)
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

#endif
