/* Step-product scaling and Richardson extrapolation of stencil accumulators (fastcalc _diff).
 *
 * Rows are level-major: row l*nres + c is result c at step level l (steps h / 2**l), per output k
 * at acc[(k*nrow + r)*m + j].  The error of level-0 results is O(h**order0), next terms every
 * ostep orders.  Pure math over caller-owned buffers: no allocation, no failure.
 */
#ifndef FC_RICHARDSON_H
#define FC_RICHARDSON_H

#include <math.h>
#include <stddef.h>
#include "fc_simd.h"

#define FC_EPS 2.220446049250313e-16
/* rounding error of a stencil value, in units of eps * sum |w f| / h**k (f carries a few ulps,
 * and the factor covers the Richardson amplification, <= 2) */
#define FC_ROUND_FACTOR 16.0
/* steps of the checked first pass: h0, h0/2, h0/2**1.5 (see _plans.pyx) */
#define FC_FIRST_S1 0.5
#define FC_FIRST_S2 0.35355339059327373

/* x displaced by o along one coordinate, the displacement rounded to the grid of the coarser side
 * of x: x + o and x - o are then exactly symmetric about x even where they straddle a power of 2
 * (x = 1: the grid above is twice as coarse as below, and rounding each side on its own would
 * leave a central difference an O(f'' ulp(x) / h) bias, which is not in the rounding estimate:
 * a derivative that is exactly 0 there came out at 1e-16 and "not converged").  An exact step
 * (x + o representable) is returned unchanged.  Needs no fast-math (the sum is not simplified). */
static inline double fc_displace(double x, double o)
{
    double ax = fabs(x), m = fabs(o);
    double t = (ax + m) - ax;          /* exact when m <= |x| (Sterbenz) */
    return o >= 0.0 ? x + t : x - t;
}

/* X[i*C + k] = x[i*ldx] for i < n, k < cnt: every column a copy of the point x (AVX where the
 * CPU has it: a one-point gradient's batch is mostly this copy) */
FC_CLONES static void fc_fill_columns(double *X, ptrdiff_t C, ptrdiff_t cnt, const double *x,
                                   ptrdiff_t ldx, int n)
{
    for (int i = 0; i < n; i++) {
        double v = x[i * ldx], *row = X + i * C;
        for (ptrdiff_t k = 0; k < cnt; k++)
            row[k] = v;
    }
}

static double fc_ipow(double b, int e)
{
    double r = 1.0;
    for (int i = 0; i < e; i++)
        r *= b;
    return r;
}

/* divide row r by rfac[r] * h1**rp1[r] * h2**rp2[r] (h1 = h + rd1[r]*m, h2 likewise when
 * rd2[r] >= 0), in place; accabs (may be NULL) likewise, made non-negative */
static void fc_scale_rows(int nout, ptrdiff_t nrow, ptrdiff_t m, const int *rd1, const int *rp1,
                          const int *rd2, const int *rp2, const double *rfac, const double *h,
                          double *acc, double *accabs)
{
    if (m == 1) {       /* one point (the one-point fast paths): the same operations in the same
                           order, as scalars (acc and accabs side by side: two division chains) */
        for (ptrdiff_t i = 0; i < nout * nrow; i += nrow) {
            for (ptrdiff_t r = 0; r < nrow; r++) {
                double fac = 1.0 / rfac[r], h1 = h[rd1[r]];
                double v = acc[i + r] * fac, u = accabs ? accabs[i + r] * fac : 0.0;
                for (int e = 0; e < rp1[r]; e++) {
                    v /= h1;
                    u /= h1;
                }
                if (rd2[r] >= 0) {
                    double h2 = h[rd2[r]];
                    for (int e = 0; e < rp2[r]; e++) {
                        v /= h2;
                        u /= h2;
                    }
                }
                acc[i + r] = v;
                if (accabs)
                    accabs[i + r] = fabs(u);
            }
        }
        return;
    }
    for (int k = 0; k < nout; k++) {
        for (ptrdiff_t r = 0; r < nrow; r++) {
            double *rows[2] = {acc + (k * nrow + r) * m,
                               accabs ? accabs + (k * nrow + r) * m : NULL};
            const double *h1 = h + rd1[r] * m;
            const double *h2 = rd2[r] >= 0 ? h + rd2[r] * m : NULL;
            double fac = 1.0 / rfac[r];
            for (int q = 0; q < 2; q++) {
                double *a = rows[q];
                if (!a)
                    continue;
                for (ptrdiff_t j = 0; j < m; j++)       /* one vectorizable pass per factor */
                    a[j] *= fac;
                for (int e = 0; e < rp1[r]; e++)
                    for (ptrdiff_t j = 0; j < m; j++)
                        a[j] /= h1[j];
                if (h2)
                    for (int e = 0; e < rp2[r]; e++)
                        for (ptrdiff_t j = 0; j < m; j++)
                            a[j] /= h2[j];
                if (q == 1)
                    for (ptrdiff_t j = 0; j < m; j++)
                        a[j] = fabs(a[j]);
            }
        }
    }
}

/* extrapolate scaled rows over `levels` (<= 8) into out (nout x nres x m); err (may be NULL)
 * gets the Richardson difference plus rounding (needs accabs).  extrap == 0 with 2 levels: out is
 * the plain finer level and err |D(h) - D(2h)| plus rounding (not divided by 2**order0 - 1: the
 * default steps balance truncation against rounding, which that factor does not shrink).  acc is
 * overwritten. */
static void fc_extrapolate(int nout, ptrdiff_t nres, int levels, int order0, int ostep,
                           ptrdiff_t m, double *acc, const double *accabs, double *out,
                           double *err, int extrap)
{
    ptrdiff_t nrow = nres * levels;
    double inv[8] = {0};
    for (int lv = 1; lv < levels; lv++)
        inv[lv] = 1.0 / (fc_ipow(2.0, order0 + (lv - 1) * ostep) - 1.0);
    double rscale = FC_EPS * fc_ipow(2.0, levels);
    for (int k = 0; k < nout; k++) {
        for (ptrdiff_t c = 0; c < nres; c++) {
            double *o = out + (k * nres + c) * m;
            double *er = err ? err + (k * nres + c) * m : NULL;
            const double *brow = accabs ? accabs + (k * nrow + (levels - 1) * nres + c) * m : NULL;
            if (levels == 1) {
                const double *a = acc + (k * nrow + c) * m;
                for (ptrdiff_t j = 0; j < m; j++) {
                    o[j] = a[j];
                    if (er)
                        er[j] = brow ? FC_EPS * brow[j] : 0.0;
                }
                continue;
            }
            double *A = acc + (k * nrow + (levels - 1) * nres + c) * m;
            double *B = acc + (k * nrow + (levels - 2) * nres + c) * m;
            if (!extrap) {
                for (ptrdiff_t j = 0; j < m; j++) {
                    o[j] = A[j];
                    if (er)
                        er[j] = fabs(A[j] - B[j]) + (brow ? FC_EPS * brow[j] : 0.0);
                }
                continue;
            }
            /* Neville-style in place: after step lv, row l holds T[l][lv] */
            for (int lv = 1; lv < levels - 1; lv++)
                for (int l = levels - 1; l >= lv; l--) {
                    double *P = acc + (k * nrow + l * nres + c) * m;
                    const double *Q = acc + (k * nrow + (l - 1) * nres + c) * m;
                    for (ptrdiff_t j = 0; j < m; j++)
                        P[j] = P[j] + (P[j] - Q[j]) * inv[lv];
                }
            double fac = inv[levels - 1];
            for (ptrdiff_t j = 0; j < m; j++) {
                double t = A[j] + (A[j] - B[j]) * fac;
                o[j] = t;
                if (er) {
                    double d1 = fabs(t - A[j]), d2 = fabs(t - B[j]);
                    er[j] = (d1 > d2 ? d1 : d2) + (brow ? rscale * brow[j] : 0.0);
                }
            }
        }
    }
}

/* Richardson over three steps h0, s1 h0, s2 h0 (1 > s1 > s2 > 0; errors a h**p + b h**(p+q)):
 * T11 (from levels 0, 1) and T21 (levels 1, 2) eliminate h**p, T22 also h**(p+q).  val = T22, err
 * = max(|T22 - T21|, |T22 - T11|) (the error of the once-extrapolated values: a bound for val that
 * three levels confirm) plus amp FC_ROUND_FACTOR eps A2 (A2: sum |w f| / h**k at the finest step).
 * With s2 / s1 irrational (fastcalc: s1 = 1/2, s2 = 2**-1.5) a periodic f cannot alias all three
 * levels by one coincidence.  A non-finite level: val NaN, err inf. */
static void fc_rich3(ptrdiff_t cnt, const double *D0, const double *D1, const double *D2,
                     const double *A2, int order0, int ostep, double s1, double s2, double *val,
                     double *err)
{
    double t = s2 / s1;
    double p1 = fc_ipow(s1, order0), pt = fc_ipow(t, order0);
    double c11 = 1.0 / (1.0 - p1), c10 = -p1 / (1.0 - p1);          /* T11 = c11 D1 + c10 D0 */
    double c22 = 1.0 / (1.0 - pt), c21 = -pt / (1.0 - pt);          /* T21 = c22 D2 + c21 D1 */
    /* their remaining errors, in units of b h0**(p+q) */
    double e1 = (fc_ipow(s1, order0 + ostep) - p1) / (1.0 - p1);
    double e2 = fc_ipow(s2, order0) * (fc_ipow(s2, ostep) - fc_ipow(s1, ostep)) / (1.0 - pt);
    double al = e1 / (e1 - e2), be = -e2 / (e1 - e2);               /* T22 = al T21 + be T11 */
    double amp = (fabs(al) * (fabs(c22) + fabs(c21)) + fabs(be) * (fabs(c11) + fabs(c10))) / 2.0;
    if (amp < 1.0)
        amp = 1.0;
    for (ptrdiff_t j = 0; j < cnt; j++) {
        double t11 = c11 * D1[j] + c10 * D0[j];
        double t21 = c22 * D2[j] + c21 * D1[j];
        double t22 = al * t21 + be * t11;
        double e1j = fabs(t22 - t21), e2j = fabs(t22 - t11);
        /* 2x: the once-extrapolated differences fell short of the true error by up to 1.5x */
        double e = 2.0 * (e1j > e2j ? e1j : e2j) + amp * FC_ROUND_FACTOR * FC_EPS * A2[j];
        if (isfinite(t22) && isfinite(e)) {
            val[j] = t22;
            err[j] = e;
        } else {
            val[j] = NAN;
            err[j] = INFINITY;
        }
    }
}

#endif
