/* The strong-Wolfe line search shared by every fastcalc optimizer (BFGS, L-BFGS, CG, Newton-CG in
 * fastcalc._quasi; gd, momentum and Newton in fastcalc._descent with line_search="wolfe").
 *
 * Nocedal & Wright, Numerical Optimization (2nd ed.), algorithms 3.5 (bracketing) and 3.6 (zoom,
 * here with safeguarded cubic interpolation), written in reverse communication: the caller owns the
 * evaluations (they go through the fastcalc._core adapter), so one search per start can run side
 * by side over a batch of starts.
 *
 *     fc_ls_start(&ls, f0, d0, alpha0, c1, c2, amax, maxiter)  -> first step to try
 *     loop: evaluate phi(a) = f(x + a p) and phi'(a) = g(x + a p).p at a = ls.a
 *           code = fc_ls_next(&ls, phi, dphi)
 *           FC_LS_EVAL: try ls.a next; FC_LS_DONE: ls.a satisfies the strong Wolfe conditions and
 *           is the point just evaluated; FC_LS_DONE_OTHER: ls.a (sufficient decrease only, an
 *           earlier trial) is the best found: re-evaluate there; FC_LS_FAIL: no step decreased f.
 */
#ifndef FC_LINESEARCH_H
#define FC_LINESEARCH_H
#include <math.h>

enum { FC_LS_EVAL = 0, FC_LS_DONE = 1, FC_LS_DONE_OTHER = 2, FC_LS_FAIL = 3 };

typedef struct {
    double f0, d0, c1, c2, amax;
    double a;                          /* the step to evaluate (or the answer) */
    double a_prev, f_prev, d_prev;     /* bracketing phase: the previous trial */
    double a_lo, f_lo, d_lo, a_hi, f_hi, d_hi;
    int zoom, iter, maxiter;
} fc_ls_state;

static inline double fc_ls_cubic(double a, double fa, double da, double b, double fb, double db) {
    /* minimizer of the cubic through (a, fa, da), (b, fb, db); NaN when it has none */
    double d1 = da + db - 3.0 * (fa - fb) / (a - b);
    double disc = d1 * d1 - da * db;
    if (!(disc >= 0)) return NAN;
    double d2 = (b > a ? 1.0 : -1.0) * sqrt(disc);
    return b - (b - a) * (db + d2 - d1) / (db - da + 2.0 * d2);
}

/* the next trial inside [lo, hi]: the cubic's minimizer kept 10 % away from both ends, else the
 * midpoint */
static inline double fc_ls_trial(const fc_ls_state *s) {
    double lo = s->a_lo < s->a_hi ? s->a_lo : s->a_hi, hi = s->a_lo < s->a_hi ? s->a_hi : s->a_lo;
    double w = hi - lo, t = fc_ls_cubic(s->a_lo, s->f_lo, s->d_lo, s->a_hi, s->f_hi, s->d_hi);
    if (!(t >= lo + 0.1 * w && t <= hi - 0.1 * w)) t = lo + 0.5 * w;
    return t;
}

static inline double fc_ls_start(fc_ls_state *s, double f0, double d0, double alpha0, double c1,
                                 double c2, double amax, int maxiter) {
    s->f0 = f0; s->d0 = d0; s->c1 = c1; s->c2 = c2; s->amax = amax; s->maxiter = maxiter;
    s->a_prev = 0.0; s->f_prev = f0; s->d_prev = d0;
    s->a_lo = s->a_hi = 0.0; s->f_lo = s->f_hi = f0; s->d_lo = s->d_hi = d0;
    s->zoom = 0; s->iter = 0;
    s->a = alpha0 < amax ? alpha0 : amax;
    return s->a;
}

static inline int fc_ls_enter_zoom(fc_ls_state *s, double alo, double flo, double dlo, double ahi,
                                   double fhi, double dhi) {
    s->zoom = 1;
    s->a_lo = alo; s->f_lo = flo; s->d_lo = dlo; s->a_hi = ahi; s->f_hi = fhi; s->d_hi = dhi;
    s->a = fc_ls_trial(s);
    return FC_LS_EVAL;
}

/* the search gave up: the best earlier trial with sufficient decrease, or failure */
static inline int fc_ls_give_up(fc_ls_state *s) {
    if (s->a_lo > 0 && s->f_lo < s->f0) { s->a = s->a_lo; return FC_LS_DONE_OTHER; }
    return FC_LS_FAIL;
}

static inline int fc_ls_next(fc_ls_state *s, double f, double d) {
    double a = s->a;
    int armijo = f <= s->f0 + s->c1 * a * s->d0;
    s->iter++;
    if (!isfinite(f) || !isfinite(d)) {
        /* crossed a domain edge or overflowed: shrink towards the last good point */
        if (s->iter >= s->maxiter) return fc_ls_give_up(s);
        if (!s->zoom) { s->a_lo = s->a_prev; s->f_lo = s->f_prev; s->d_lo = s->d_prev; }
        s->zoom = 1;
        s->a_hi = a; s->f_hi = INFINITY; s->d_hi = 0.0;
        s->a = s->a_lo + 0.5 * (a - s->a_lo);
        return FC_LS_EVAL;
    }
    if (!s->zoom) {
        if (!armijo || (s->iter > 1 && f >= s->f_prev))
            return s->iter >= s->maxiter ? fc_ls_give_up(s)
                 : fc_ls_enter_zoom(s, s->a_prev, s->f_prev, s->d_prev, a, f, d);
        if (fabs(d) <= -s->c2 * s->d0) return FC_LS_DONE;
        if (d >= 0)
            return s->iter >= s->maxiter ? (s->a_lo = a, s->f_lo = f, fc_ls_give_up(s))
                 : fc_ls_enter_zoom(s, a, f, d, s->a_prev, s->f_prev, s->d_prev);
        s->a_prev = a; s->f_prev = f; s->d_prev = d;
        s->a_lo = a; s->f_lo = f;                 /* the best so far, for give_up */
        if (s->iter >= s->maxiter || a >= s->amax) return fc_ls_give_up(s);
        s->a = 2.0 * a < s->amax ? 2.0 * a : s->amax;
        return FC_LS_EVAL;
    }
    if (!armijo || f >= s->f_lo) {
        s->a_hi = a; s->f_hi = f; s->d_hi = d;
    } else {
        if (fabs(d) <= -s->c2 * s->d0) return FC_LS_DONE;
        if (d * (s->a_hi - s->a_lo) >= 0) { s->a_hi = s->a_lo; s->f_hi = s->f_lo; s->d_hi = s->d_lo; }
        s->a_lo = a; s->f_lo = f; s->d_lo = d;
    }
    if (s->iter >= s->maxiter || fabs(s->a_hi - s->a_lo) <= 1e-12 * fabs(s->a_lo) + 1e-300)
        return fc_ls_give_up(s);
    if (isinf(s->f_hi)) s->a = s->a_lo + 0.5 * (s->a_hi - s->a_lo);
    else s->a = fc_ls_trial(s);
    return FC_LS_EVAL;
}
#endif
