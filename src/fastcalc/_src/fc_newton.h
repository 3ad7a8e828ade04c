/* Newton helpers of the descent kernels (fastcalc._descent): dense factorizations of one point's
 * n x n Hessian.  Pure math on raw pointers, no evaluations, no allocation (the caller passes
 * the scratch).  The Hessian of point j is h[(r*n + c)*ldh] (stride ldh between entries, so the
 * (n*n, K) state array of the descent kernel is read in place); g and d have stride ldg / ldd. */
#ifndef FC_NEWTON_H
#define FC_NEWTON_H
#include <math.h>
#include <stddef.h>

enum { FCN_OK = 0, FCN_GRADIENT = 1, FCN_NONFINITE = 2, FCN_SINGULAR = 3 };

/* L L^T = A + tau I (lower L, row-major n x n); 0 when A + tau I is not positive definite. */
static inline int fc_cholesky(int n, const double *A, double tau, double *L) {
    for (int i = 0; i < n; i++) {
        for (int j = 0; j <= i; j++) {
            double s = A[i * n + j] + (i == j ? tau : 0.0);
            for (int k = 0; k < j; k++) s -= L[i * n + k] * L[j * n + k];
            if (i == j) {
                if (!(s > 0)) return 0;
                L[i * n + i] = sqrt(s);
            } else {
                L[i * n + j] = s / L[j * n + j];
            }
        }
        for (int j = i + 1; j < n; j++) L[i * n + j] = 0.0;
    }
    return 1;
}

/* Copy the strided Hessian into A (row-major); 0 when an entry is NaN or infinite. */
static inline int fc_newton_load(int n, const double *h, ptrdiff_t ldh, double *A) {
    int finite = 1;
    for (int k = 0; k < n * n; k++) {
        A[k] = h[(ptrdiff_t)k * ldh];
        finite &= isfinite(A[k]) != 0;
    }
    return finite;
}

/* Descent direction d = -(H + tau I)^-1 g with a modified Cholesky factorization: tau = 0 when H is
 * positive definite, else grown from 1e-3 ||H||_F until H + tau I factors, then doubled once (the
 * smallest eigenvalue lifted to about |lambda_min(H)|, like replacing negative curvature by its
 * absolute value).  Returns FCN_OK, FCN_NONFINITE (H has NaN/inf; d untouched) or FCN_GRADIENT
 * (d = -g: the factorization failed or gave no descent direction).  scratch: 2 n^2 + n doubles. */
static inline int fc_newton_direction(int n, const double *h, ptrdiff_t ldh, const double *g,
                               ptrdiff_t ldg, double *d, ptrdiff_t ldd, double *scratch) {
    double *A = scratch, *L = A + n * n, *y = L + n * n;
    if (!fc_newton_load(n, h, ldh, A)) return FCN_NONFINITE;
    double fro = 0.0, mindiag = INFINITY;
    for (int k = 0; k < n * n; k++) fro += A[k] * A[k];
    for (int r = 0; r < n; r++) mindiag = A[r * n + r] < mindiag ? A[r * n + r] : mindiag;
    fro = sqrt(fro);
    double beta = fro > 0 ? 1e-3 * fro : 1e-3;
    double tau = mindiag > 0 ? 0.0 : -mindiag + beta;
    int ok = 0;
    for (int tries = 0; tries < 80 && !ok; tries++) {
        ok = fc_cholesky(n, A, tau, L);
        if (!ok) tau = 2.0 * tau > beta ? 2.0 * tau : beta;
    }
    if (ok && tau > 0) ok = fc_cholesky(n, A, 2.0 * tau, L);
    if (ok) {
        for (int r = 0; r < n; r++) {                       /* L y = -g */
            double s = -g[r * ldg];
            for (int k = 0; k < r; k++) s -= L[r * n + k] * y[k];
            y[r] = s / L[r * n + r];
        }
        for (int r = n - 1; r >= 0; r--) {                  /* L^T d = y */
            double s = y[r];
            for (int k = r + 1; k < n; k++) s -= L[k * n + r] * d[k * ldd];
            d[r * ldd] = s / L[r * n + r];
        }
        double dg = 0.0;
        for (int r = 0; r < n; r++) {
            dg += d[r * ldd] * g[r * ldg];
            if (!isfinite(d[r * ldd])) ok = 0;
        }
        if (!(dg < 0)) ok = 0;
    }
    if (ok) return FCN_OK;
    for (int r = 0; r < n; r++) d[r * ldd] = -g[r * ldg];
    return FCN_GRADIENT;
}

/* The plain Newton step for a root of the gradient, H d = -g (no shift: maxima and saddles are
 * targets too), by Gaussian elimination with partial pivoting.  Returns FCN_OK, FCN_NONFINITE or
 * FCN_SINGULAR (a pivot below 1e-14 ||H||_max; d untouched).  scratch: n^2 + n doubles. */
static inline int fc_newton_root_step(int n, const double *h, ptrdiff_t ldh, const double *g,
                               ptrdiff_t ldg, double *d, ptrdiff_t ldd, double *scratch) {
    double *A = scratch, *b = A + n * n;
    if (!fc_newton_load(n, h, ldh, A)) return FCN_NONFINITE;
    double amax = 0.0;
    for (int k = 0; k < n * n; k++) amax = fabs(A[k]) > amax ? fabs(A[k]) : amax;
    for (int r = 0; r < n; r++) b[r] = -g[r * ldg];
    for (int c = 0; c < n; c++) {
        int p = c;
        for (int r = c + 1; r < n; r++) if (fabs(A[r * n + c]) > fabs(A[p * n + c])) p = r;
        if (!(fabs(A[p * n + c]) > 1e-14 * amax)) return FCN_SINGULAR;
        if (p != c) {
            for (int k = 0; k < n; k++) { double t = A[c * n + k]; A[c * n + k] = A[p * n + k]; A[p * n + k] = t; }
            double t = b[c]; b[c] = b[p]; b[p] = t;
        }
        for (int r = c + 1; r < n; r++) {
            double f = A[r * n + c] / A[c * n + c];
            for (int k = c; k < n; k++) A[r * n + k] -= f * A[c * n + k];
            b[r] -= f * b[c];
        }
    }
    for (int r = n - 1; r >= 0; r--) {
        double s = b[r];
        for (int k = r + 1; k < n; k++) s -= A[r * n + k] * d[k * ldd];
        d[r * ldd] = s / A[r * n + r];
    }
    return FCN_OK;
}
#endif
