/* The adapter's inner loops over low-level callables (_core.pyx's Evaluator): moving points into
 * contiguous rows and calling the C function on each row.  Signature codes as in _core.pyx. */
#ifndef FC_LOWLEVEL_H
#define FC_LOWLEVEL_H
#include <string.h>
#include "fc_types.h"

enum { FC_SIG_D = 0, FC_SIG_DV = 1, FC_SIG_ID = 2, FC_SIG_IDV = 3, FC_SIG_VEC = 4 };

/* Rows pts[b*ntp : b*ntp + n + nargs] = point b (its n variables, then the appended args).
 * rows == 0: x is the batch layout, x[i*ldx + b]; rows != 0: point-major, x[b*ldx + i]. */
static inline void fc_ll_gather(int rows, int n, int nargs, const double *argv, ptrdiff_t nb,
                                ptrdiff_t ntp, const double *x, ptrdiff_t ldx, double *pts)
{
    if (rows) {
        for (ptrdiff_t b = 0; b < nb; b++)
            memcpy(pts + b * ntp, x + b * ldx, (size_t)n * sizeof(double));
    } else {
        for (int i = 0; i < n; i++) {
            const double *row = x + i * ldx;
            for (ptrdiff_t b = 0; b < nb; b++)
                pts[b * ntp + i] = row[b];
        }
    }
    for (ptrdiff_t b = 0; b < nb; b++)
        for (int a = 0; a < nargs; a++)
            pts[b * ntp + n + a] = argv[a];
}

/* f at nb rows of nt doubles (row b at pts + b*ntp); outputs out[k*ldo + b].  The vector-output
 * callee is told it may write nout values into po (checked in as_evaluator). */
static inline void fc_ll_call_rows(int sig, void *fptr, void *ud, int nout, ptrdiff_t nb, int nt,
                                   ptrdiff_t ntp, double *pts, double *po, double *out,
                                   ptrdiff_t ldo)
{
    if (sig == FC_SIG_ID) {
        for (ptrdiff_t b = 0; b < nb; b++)
            out[b] = ((fc_ll_id)fptr)(nt, pts + b * ntp);
    } else if (sig == FC_SIG_IDV) {
        for (ptrdiff_t b = 0; b < nb; b++)
            out[b] = ((fc_ll_idv)fptr)(nt, pts + b * ntp, ud);
    } else {
        for (ptrdiff_t b = 0; b < nb; b++) {
            ((fc_ll_vec)fptr)(nt, pts + b * ntp, nout, po, ud);
            for (int k = 0; k < nout; k++)
                out[k * ldo + b] = po[k];
        }
    }
}

/* xt[i*m + j] = pts[j*ldp + i]: point-major rows to the batch layout. */
static inline void fc_ll_transpose(int n, ptrdiff_t m, const double *pts, ptrdiff_t ldp,
                                   double *xt)
{
    for (ptrdiff_t j = 0; j < m; j++)
        for (int i = 0; i < n; i++)
            xt[i * m + j] = pts[j * ldp + i];
}

#endif
