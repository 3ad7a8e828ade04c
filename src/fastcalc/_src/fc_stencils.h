/* Finite-difference stencil weights (Fornberg 1988), one table for fastcalc's _diff and _plans kernels
 * (static: each module that includes it calls fc_build_table() once at import).
 *
 * fc_build_table() fills, for derivative orders 0..FC_MAXDER, methods central (0), forward (1),
 * backward (2) and accuracy indices 0..FC_NACC-1 (accuracies 1 (one-sided only), 2, 4, 6, 8):
 * FC_TAB_N (number of nodes), FC_TAB_S (nodes in units of the step) and FC_TAB_W (weights).
 * Central stencils are made exactly (anti)symmetric.  Pure math: no allocation, no failure.
 */
#ifndef FC_STENCILS_H
#define FC_STENCILS_H

#include <string.h>

#define FC_MAXDER 10     /* highest derivative order with a stencil */
#define FC_MAXNODES 20   /* nodes of the widest stencil (forward, order 10, accuracy 8: 18) */
#define FC_NACC 5
/* relative steps scale with |x|, floored at this absolute value near x = 0 */
#define FC_STEP_FLOOR 1e-3

static int FC_TAB_N[FC_MAXDER + 1][3][FC_NACC];
static double FC_TAB_S[FC_MAXDER + 1][3][FC_NACC][FC_MAXNODES];
static double FC_TAB_W[FC_MAXDER + 1][3][FC_NACC][FC_MAXNODES];

/* weights w[0..N-1] of the d-th derivative at 0 from the nodes z */
static void fc_fornberg(int d, int N, const double *z, double *w)
{
    double C[FC_MAXNODES][FC_MAXDER + 1];
    double c1 = 1.0, c2, c3, c4 = z[0], c5;
    int i, j, k, mn;
    memset(C, 0, sizeof(C));
    C[0][0] = 1.0;
    for (i = 1; i < N; i++) {
        mn = i < d ? i : d;
        c2 = 1.0;
        c5 = c4;
        c4 = z[i];
        for (j = 0; j < i; j++) {
            c3 = z[i] - z[j];
            c2 *= c3;
            if (j == i - 1) {
                for (k = mn; k > 0; k--)
                    C[i][k] = c1 * (k * C[i - 1][k - 1] - c5 * C[i - 1][k]) / c2;
                C[i][0] = -c1 * c5 * C[i - 1][0] / c2;
            }
            for (k = mn; k > 0; k--)
                C[j][k] = (c4 * C[j][k] - k * C[j][k - 1]) / c3;
            C[j][0] = c4 * C[j][0] / c3;
        }
        c1 = c2;
    }
    for (i = 0; i < N; i++)
        w[i] = C[i][d];
}

static void fc_build_table(void)
{
    int d, meth, ia, p, r, N, i;
    double sgn, *S, *W;
    for (d = 1; d <= FC_MAXDER; d++) {
        for (meth = 0; meth < 3; meth++) {
            for (ia = 0; ia < FC_NACC; ia++) {
                p = ia > 0 ? 2 * ia : 1;
                S = FC_TAB_S[d][meth][ia];
                W = FC_TAB_W[d][meth][ia];
                if (meth == 0 && p == 1) {       /* central stencils have even orders only */
                    FC_TAB_N[d][meth][ia] = 0;
                    continue;
                }
                r = 0;
                if (meth == 0) {
                    r = (d + 1) / 2 - 1 + p / 2;
                    N = 2 * r + 1;
                    for (i = 0; i < N; i++)
                        S[i] = i - r;
                } else {
                    N = d + p;
                    for (i = 0; i < N; i++)
                        S[i] = meth == 1 ? i : -i;
                }
                FC_TAB_N[d][meth][ia] = N;
                fc_fornberg(d, N, S, W);
                if (meth == 0) {
                    /* exact (anti)symmetry: w(-s) = (-1)^d w(s), and w(0) = 0 for odd d */
                    sgn = d % 2 ? -1.0 : 1.0;
                    for (i = 0; i < r; i++) {
                        W[i] = 0.5 * (W[i] + sgn * W[N - 1 - i]);
                        W[N - 1 - i] = sgn * W[i];
                    }
                    if (d % 2)
                        W[r] = 0.0;
                }
            }
        }
    }
    for (meth = 0; meth < 3; meth++) {
        for (ia = 0; ia < FC_NACC; ia++) {
            FC_TAB_N[0][meth][ia] = 1;
            FC_TAB_S[0][meth][ia][0] = 0.0;
            FC_TAB_W[0][meth][ia][0] = 1.0;
        }
    }
}

#endif
