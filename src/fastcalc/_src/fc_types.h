/* Shared C types of fastcalc's callable protocol. */
#ifndef FC_TYPES_H
#define FC_TYPES_H
#include <stddef.h>
#include "fc_simd.h"

/* A batch entry: evaluate a function at m points.
 * x[i*ldx + j] is variable i of point j (points innermost, so loops over j vectorize);
 * out[k*ldo + j] is output k of point j. */
typedef void (*fc_batch_fn)(int n, ptrdiff_t m, const double *x, ptrdiff_t ldx,
                            double *out, ptrdiff_t ldo);

/* The low-level signatures the adapter accepts (SciPy's quad ones plus a vector-output one). */
typedef double (*fc_ll_d)(double);
typedef double (*fc_ll_dv)(double, void *);
typedef double (*fc_ll_id)(int, double *);
typedef double (*fc_ll_idv)(int, double *, void *);
typedef void (*fc_ll_vec)(int, const double *, int, double *, void *);

#endif
