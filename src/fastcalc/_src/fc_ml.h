/* C kernels of fastcalc.ml: activations (value, derivative or both in one pass), softmax /
 * log-softmax and cross-entropy over rows, entropy-type sums over rows.
 *
 * Every kernel exists for double (suffix _d) and float (suffix _f): the typed part of this file
 * (after FC_ML_TYPED) is included twice with T and the math names defined for each type, so
 * float32 input is computed in float32 (twice as many lanes) without an upcast.
 *
 * Speed: elementwise loops run over contiguous points with `omp simd`; the libm functions used in
 * them are declared with GCC's `simd` attribute, which makes the vectorizer call glibc's vector
 * math library (libmvec, linked through libm.so) and FC_CLONES compiles AVX2 and AVX-512
 * versions chosen at load time.  Every branch is written as a select over values computed for all
 * lanes, so nothing is in a conditional call.  No -ffast-math: NaN propagates (NaN in, NaN out).
 *
 * Numerics: exp() only ever sees non-positive arguments where overflow would matter, so
 * |x| up to 1e308 (and +-inf) gives finite, correct limits (sigmoid(-800) = 0 exactly).
 */
#ifndef FC_ML_H
#define FC_ML_H
#include <math.h>
#include <stddef.h>
#include "fc_types.h"

/* FC_CLONES, FC_SIMD, FC_INLINE: fc_simd.h (through fc_types.h) */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) \
    && defined(__GLIBC__) && !defined(FC_NO_CLONES)
#define FC_ML_VMATH __attribute__((__simd__("notinbranch")))
/* glibc declares these vector variants only under -ffast-math; declare them here instead */
FC_ML_VMATH extern double exp(double);
FC_ML_VMATH extern double expm1(double);
FC_ML_VMATH extern double log(double);
FC_ML_VMATH extern double log1p(double);
FC_ML_VMATH extern double erfc(double);
FC_ML_VMATH extern float expf(float);
FC_ML_VMATH extern float expm1f(float);
FC_ML_VMATH extern float logf(float);
FC_ML_VMATH extern float log1pf(float);
FC_ML_VMATH extern float erfcf(float);
#endif
#define FC_ML_RED _Pragma("omp simd reduction(+:r,s,t,nb)")

/* activation codes (the order of fastcalc/_ml.pyx's ACTIVATIONS) */
enum {
    FC_ACT_SIGMOID = 0, FC_ACT_TANH, FC_ACT_RELU, FC_ACT_LEAKY_RELU, FC_ACT_ELU, FC_ACT_SELU,
    FC_ACT_SOFTPLUS, FC_ACT_GELU, FC_ACT_GELU_TANH, FC_ACT_SILU, FC_ACT_MISH, FC_ACT_HARD_SIGMOID,
    FC_ACT_COUNT
};

/* ---------------- the typed kernels, once per floating type ---------------- */
/* fuse a*b + c into FMA where the target has it (-std=c11 turns contraction off); this changes
 * rounding only (never NaN/inf semantics) */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC push_options
#pragma GCC optimize("fp-contract=fast")
#endif
#define FC_ML_TYPED
#define T double
#define S(name) name##_d
#define M(fn) fn
#include "fc_ml.h"
#undef T
#undef S
#undef M
#define T float
#define S(name) name##_f
#define M(fn) fn##f
#include "fc_ml.h"
#undef T
#undef S
#undef M
#undef FC_ML_TYPED
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC pop_options
#endif

/* ---------------- a small pool of large output blocks ----------------
 * An activation of 1e7 numbers writes 80 MB per output into memory fresh from the kernel (glibc
 * maps blocks this large on each malloc): the page faults and the kernel's page zeroing cost as
 * much as the pass itself.  Output blocks of at least FC_ML_POOL_MIN bytes are therefore kept
 * when their array dies (at most FC_ML_POOL_SLOTS blocks, FC_ML_POOL_BYTES in all) and handed to
 * the next output of a close size.  Called with the GIL held (array allocation and deallocation),
 * so no lock is needed. */
#include <stdlib.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif
#define FC_ML_POOL_MIN ((size_t)1 << 20)
#define FC_ML_POOL_SLOTS 8
#define FC_ML_POOL_BYTES ((size_t)384 << 20)
static void *fc_ml_pool_ptr[FC_ML_POOL_SLOTS];
static size_t fc_ml_pool_size[FC_ML_POOL_SLOTS];
static int fc_ml_pool_n = 0;
static size_t fc_ml_pool_total = 0;

/* a block of at least `size` bytes (size >= FC_ML_POOL_MIN), its capacity in *cap; NULL when out
 * of memory */
static void *fc_ml_block_take(size_t size, size_t *cap) {
    int best = -1;
    for (int i = 0; i < fc_ml_pool_n; i++)      /* the smallest kept block that fits, <= 1.25x */
        if (fc_ml_pool_size[i] >= size && fc_ml_pool_size[i] - size <= size / 4
            && (best < 0 || fc_ml_pool_size[i] < fc_ml_pool_size[best]))
            best = i;
    if (best >= 0) {
        void *p = fc_ml_pool_ptr[best];
        *cap = fc_ml_pool_size[best];
        fc_ml_pool_total -= *cap;
        fc_ml_pool_n--;
        fc_ml_pool_ptr[best] = fc_ml_pool_ptr[fc_ml_pool_n];
        fc_ml_pool_size[best] = fc_ml_pool_size[fc_ml_pool_n];
        return p;
    }
    void *p = malloc(size);
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    if (p != NULL && size >= ((size_t)4 << 20)) {    /* as NumPy does for large arrays */
        size_t a = ((size_t)p + 4095) & ~(size_t)4095;
        size_t e = ((size_t)p + size) & ~(size_t)4095;
        if (e > a) madvise((void *)a, e - a, MADV_HUGEPAGE);
    }
#endif
    *cap = size;
    return p;
}

/* give a block back: kept (the oldest ones make room) or freed */
static void fc_ml_block_give(void *p, size_t cap) {
    if (p == NULL) return;
    if (cap > FC_ML_POOL_BYTES) { free(p); return; }
    while (fc_ml_pool_n > 0 && (fc_ml_pool_n == FC_ML_POOL_SLOTS
                                || fc_ml_pool_total + cap > FC_ML_POOL_BYTES)) {
        free(fc_ml_pool_ptr[0]);
        fc_ml_pool_total -= fc_ml_pool_size[0];
        fc_ml_pool_n--;
        for (int i = 0; i < fc_ml_pool_n; i++) {
            fc_ml_pool_ptr[i] = fc_ml_pool_ptr[i + 1];
            fc_ml_pool_size[i] = fc_ml_pool_size[i + 1];
        }
    }
    fc_ml_pool_ptr[fc_ml_pool_n] = p;
    fc_ml_pool_size[fc_ml_pool_n] = cap;
    fc_ml_pool_n++;
    fc_ml_pool_total += cap;
}

/* free every kept block; returns the bytes released */
static size_t fc_ml_pool_clear(void) {
    size_t t = fc_ml_pool_total;
    for (int i = 0; i < fc_ml_pool_n; i++) free(fc_ml_pool_ptr[i]);
    fc_ml_pool_n = 0;
    fc_ml_pool_total = 0;
    return t;
}

/* ---------------- built-in (fastcalc Function) entries, float64, default parameters ---------- */
#define FC_ML_BUILTIN(NAME, CODE, A, B)                                                         \
    static void fc_ml_##NAME##_bf(int n, ptrdiff_t m, const double *x, ptrdiff_t ldx,          \
                                  double *out, ptrdiff_t ldo) {                                 \
        (void)n; (void)ldx; (void)ldo; fc_ml_act_d(CODE, m, x, out, NULL, A, B); }              \
    static void fc_ml_##NAME##_bg(int n, ptrdiff_t m, const double *x, ptrdiff_t ldx,          \
                                  double *out, ptrdiff_t ldo) {                                 \
        (void)n; (void)ldx; (void)ldo; fc_ml_act_d(CODE, m, x, NULL, out, A, B); }              \
    static double fc_ml_##NAME##_lf(double x) { double r; fc_ml_act_d(CODE, 1, &x, &r, NULL, A, B); return r; } \
    static double fc_ml_##NAME##_lg(double x) { double r; fc_ml_act_d(CODE, 1, &x, NULL, &r, A, B); return r; }

FC_ML_BUILTIN(sigmoid, FC_ACT_SIGMOID, 0.0, 0.0)
FC_ML_BUILTIN(tanh, FC_ACT_TANH, 0.0, 0.0)
FC_ML_BUILTIN(relu, FC_ACT_RELU, 0.0, 0.0)
FC_ML_BUILTIN(leaky_relu, FC_ACT_LEAKY_RELU, 0.01, 0.0)
FC_ML_BUILTIN(elu, FC_ACT_ELU, 1.0, 0.0)
FC_ML_BUILTIN(selu, FC_ACT_SELU, 0.0, 0.0)
FC_ML_BUILTIN(softplus, FC_ACT_SOFTPLUS, 1.0, 0.0)
FC_ML_BUILTIN(gelu, FC_ACT_GELU, 0.0, 0.0)
FC_ML_BUILTIN(gelu_tanh, FC_ACT_GELU_TANH, 0.0, 0.0)
FC_ML_BUILTIN(silu, FC_ACT_SILU, 0.0, 0.0)
FC_ML_BUILTIN(mish, FC_ACT_MISH, 0.0, 0.0)
FC_ML_BUILTIN(hard_sigmoid, FC_ACT_HARD_SIGMOID, 0.0, 0.0)

#endif /* FC_ML_H */

/* ========================================================================================== */
#ifdef FC_ML_TYPED

/* sigma(v) and sigma'(v) = sigma (1 - sigma) from e = exp(-|v|): no overflow, no cancellation */
FC_INLINE void S(fc_sig)(T v, T *s, T *ds) {
    T e = M(exp)(-M(fabs)(v)), r = (T)1 / ((T)1 + e);
    *s = v >= 0 ? r : e * r;
    *ds = e * r * r;
}
/* x * small where small -> 0 as |x| -> inf: 0 instead of inf * 0 = NaN */
FC_INLINE T S(fc_xmul)(T x, T small) { return small == 0 ? (T)0 * small : x * small; }

FC_INLINE void S(fc_act_sigmoid)(T x, T a, T b, T *y, T *g) {
    (void)a; (void)b; S(fc_sig)(x, y, g);
}
/* tanh from one exp (libmvec's tanh costs twice an exp): with e = exp(-2|x|),
 * tanh|x| = (1 - e) / (1 + e) for |x| > 0.3 (1 - e >= 0.45: no cancellation), and below its odd
 * Taylor polynomial to x^23 (relative truncation < 5e-18 on [0, 0.3]).
 * tanh' = sech^2 = 4 e / (1 + e)^2: keeps its relative accuracy in the tails, where 1 - tanh^2
 * rounds to 0. */
FC_INLINE void S(fc_act_tanh)(T x, T a, T b, T *y, T *g) {
    (void)a; (void)b;
    T ax = M(fabs)(x), e = M(exp)((T)-2 * ax), r = (T)1 / ((T)1 + e), z = x * x;
    /* odd Taylor coefficients c_k of x^(2k+3), k = 0..11, evaluated by Estrin's scheme in z = x^2
     * (short dependency chains: the loop also runs where FMA contraction is off) */
    T z2 = z * z, z4 = z2 * z2, z8 = z4 * z4;
    T q0 = (T)-3.333333333333333333333333e-01 + (T)1.333333333333333333333333e-01 * z;
    T q1 = (T)-5.396825396825396825396825e-02 + (T)2.186948853615520282186949e-02 * z;
    T q2 = (T)-8.863235529902196568863235e-03 + (T)3.592128036572481016925461e-03 * z;
    T q3 = (T)-1.455834387051318268249485e-03 + (T)5.900274409455859813780760e-04 * z;
    T q4 = (T)-2.391291142435524814857315e-04 + (T)9.691537956929450325595875e-05 * z;
    T q5 = (T)-3.927832388331683405337081e-05 + (T)1.591890506932896474074428e-05 * z;
    T p = (q0 + q1 * z2) + (q2 + q3 * z2) * z4 + (q4 + q5 * z2) * z8;
    T ts = x + x * z * p;
    T tb = ((T)1 - e) * r;
    tb = x < 0 ? -tb : tb;
    *y = ax > (T)0.3 ? tb : ts;
    *g = (T)4 * e * r * r;
}
/* relu'(0) = 0 (PyTorch's choice); NaN propagates in value and derivative */
FC_INLINE void S(fc_act_relu)(T x, T a, T b, T *y, T *g) {
    (void)a; (void)b;
    *y = x < 0 ? (T)0 : x;
    *g = x > 0 ? (T)1 : (x != x ? x : (T)0);
}
/* leaky_relu'(0) = alpha (as PyTorch) */
FC_INLINE void S(fc_act_leaky_relu)(T x, T a, T b, T *y, T *g) {
    (void)b;
    *y = x > 0 ? x : a * x;
    *g = x > 0 ? (T)1 : (x != x ? x : a);
}
FC_INLINE void S(fc_act_elu)(T x, T a, T b, T *y, T *g) {
    (void)b;
    T xn = x > 0 ? (T)0 : x;                  /* exp of a non-positive number only */
    T em = M(expm1)(xn);
    *y = x > 0 ? x : a * em;
    *g = x > 0 ? (T)1 : a * M(exp)(xn);       /* not em + 1: cancels for x << 0 */
}
FC_INLINE void S(fc_act_selu)(T x, T a, T b, T *y, T *g) {
    (void)a; (void)b;
    const T al = (T)1.6732632423543772848170429916717, sc = (T)1.0507009873554804934193349852946;
    T xn = x > 0 ? (T)0 : x;
    T em = M(expm1)(xn);
    *y = x > 0 ? sc * x : sc * al * em;
    *g = x > 0 ? sc : sc * al * M(exp)(xn);
}
/* softplus_beta(x) = (max(z, 0) + log1p(exp(-|z|))) / beta with z = beta x (exact for all x,
 * no linear threshold); derivative sigma(z) */
FC_INLINE void S(fc_act_softplus)(T x, T a, T b, T *y, T *g) {
    (void)b;
    T z = a * x, e = M(exp)(-M(fabs)(z)), r = (T)1 / ((T)1 + e);
    *y = ((z > 0 ? z : (T)0) + M(log1p)(e)) / a;
    *g = z >= 0 ? r : e * r;
}
/* gelu(x) = x Phi(x), Phi(x) = erfc(-x / sqrt 2) / 2 (no cancellation for x << 0);
 * gelu'(x) = Phi(x) + x phi(x) */
FC_INLINE void S(fc_act_gelu)(T x, T a, T b, T *y, T *g) {
    (void)a; (void)b;
    const T r2 = (T)0.70710678118654752440, c = (T)0.39894228040143267794;
    T P = (T)0.5 * M(erfc)(-x * r2);
    T xc = M(fabs)(x) < (T)64 ? x : (T)64;     /* phi underflows to 0 long before 64 */
    T ph = c * M(exp)((T)-0.5 * xc * xc);
    *y = S(fc_xmul)(x, P);
    *g = P + S(fc_xmul)(x, ph);
}
/* gelu_tanh(x) = x sigma(2u), u = sqrt(2/pi) (x + 0.044715 x^3)  (= x (1 + tanh u) / 2) */
FC_INLINE void S(fc_act_gelu_tanh)(T x, T a, T b, T *y, T *g) {
    (void)a; (void)b;
    const T k = (T)0.79788456080286535588, c3 = (T)0.044715;
    T xc = x > (T)1e6 ? (T)1e6 : (x < (T)-1e6 ? (T)-1e6 : x);   /* no x^3 overflow; NaN kept */
    T u = k * (xc + c3 * xc * xc * xc), s, ds;
    S(fc_sig)((T)2 * u, &s, &ds);
    *y = S(fc_xmul)(x, s);
    *g = s + S(fc_xmul)(xc, (T)2 * ds * k * ((T)1 + (T)3 * c3 * xc * xc));
}
/* silu(x) = x sigma(x); silu' = sigma + x sigma (1 - sigma) */
FC_INLINE void S(fc_act_silu)(T x, T a, T b, T *y, T *g) {
    (void)a; (void)b;
    T s, ds;
    S(fc_sig)(x, &s, &ds);
    *y = S(fc_xmul)(x, s);
    *g = s + S(fc_xmul)(x, ds);
}
/* mish(x) = x tanh(softplus(x)); with e = exp(x), n = e (e + 2): tanh(softplus x) = n / (n + 2)
 * (for x > 20 it is 1 to double precision); mish' = t + x sigma(x) (1 - t^2) */
FC_INLINE void S(fc_act_mish)(T x, T a, T b, T *y, T *g) {
    (void)a; (void)b;
    T xs = x < (T)20 ? x : (T)20;
    T e = M(exp)(xs), n = e * (e + (T)2), t = n / (n + (T)2), om = (T)2 / (n + (T)2);
    t = x < (T)20 ? t : (T)1;
    om = x < (T)20 ? om : (T)0;
    T s, ds;
    S(fc_sig)(x, &s, &ds);
    *y = S(fc_xmul)(x, t);
    *g = t + S(fc_xmul)(x, s * om * ((T)1 + t));
}
/* hard_sigmoid(x) = clip(x / 6 + 1/2, 0, 1) (PyTorch's); derivative 1/6 on (-3, 3), else 0 */
FC_INLINE void S(fc_act_hard_sigmoid)(T x, T a, T b, T *y, T *g) {
    (void)a; (void)b;
    T v = x / (T)6 + (T)0.5;
    *y = v < 0 ? (T)0 : (v > 1 ? (T)1 : v);
    *g = (x > (T)-3 && x < (T)3) ? (T)1 / (T)6 : (x != x ? x : (T)0);
}

/* One elementwise loop: value into y, derivative into g (either may be NULL). */
#define FC_ML_LOOP(F)                                                                          \
    if (y && g) {                                                                              \
        FC_SIMD for (ptrdiff_t j = 0; j < m; j++) { T v, d; F(x[j], a, b, &v, &d); y[j] = v; g[j] = d; } \
    } else if (y) {                                                                            \
        FC_SIMD for (ptrdiff_t j = 0; j < m; j++) { T v, d; F(x[j], a, b, &v, &d); y[j] = v; } \
    } else if (g) {                                                                            \
        FC_SIMD for (ptrdiff_t j = 0; j < m; j++) { T v, d; F(x[j], a, b, &v, &d); g[j] = d; } \
    }

/* Activation `code` at m contiguous points; y may be x (in place).  a, b: the parameters
 * (alpha of leaky_relu and elu, beta of softplus). */
FC_CLONES
static void S(fc_ml_act)(int code, ptrdiff_t m, const T *x, T *y, T *g, T a, T b) {
    switch (code) {
    case FC_ACT_SIGMOID: FC_ML_LOOP(S(fc_act_sigmoid)) break;
    case FC_ACT_TANH: FC_ML_LOOP(S(fc_act_tanh)) break;
    case FC_ACT_RELU: FC_ML_LOOP(S(fc_act_relu)) break;
    case FC_ACT_LEAKY_RELU: FC_ML_LOOP(S(fc_act_leaky_relu)) break;
    case FC_ACT_ELU: FC_ML_LOOP(S(fc_act_elu)) break;
    case FC_ACT_SELU: FC_ML_LOOP(S(fc_act_selu)) break;
    case FC_ACT_SOFTPLUS: FC_ML_LOOP(S(fc_act_softplus)) break;
    case FC_ACT_GELU: FC_ML_LOOP(S(fc_act_gelu)) break;
    case FC_ACT_GELU_TANH: FC_ML_LOOP(S(fc_act_gelu_tanh)) break;
    case FC_ACT_SILU: FC_ML_LOOP(S(fc_act_silu)) break;
    case FC_ACT_MISH: FC_ML_LOOP(S(fc_act_mish)) break;
    case FC_ACT_HARD_SIGMOID: FC_ML_LOOP(S(fc_act_hard_sigmoid)) break;
    default: break;
    }
}

/* Row maximum and sum of exp(x - max) (the exponentials kept in e when e != NULL). */
FC_INLINE T S(fc_row_lse)(ptrdiff_t k, const T *x, T *e, T *mx_out) {
    T mx = x[0], s = 0;
    _Pragma("omp simd reduction(max:mx)")
    for (ptrdiff_t j = 1; j < k; j++) mx = x[j] > mx ? x[j] : mx;
    if (mx != mx || M(fabs)(mx) == (T)INFINITY) mx = 0;   /* NaN / inf rows give NaN below */
    if (e) {
        FC_SIMD for (ptrdiff_t j = 0; j < k; j++) e[j] = M(exp)(x[j] - mx);
        _Pragma("omp simd reduction(+:s)") for (ptrdiff_t j = 0; j < k; j++) s += e[j];
    } else {
        _Pragma("omp simd reduction(+:s)") for (ptrdiff_t j = 0; j < k; j++) s += M(exp)(x[j] - mx);
    }
    *mx_out = mx;
    return s;
}

/* softmax (logmode 0) or log_softmax (logmode 1) of each of `rows` rows of length k */
FC_CLONES
static void S(fc_ml_softmax_rows)(ptrdiff_t rows, ptrdiff_t k, const T *x, T *out, int logmode) {
    for (ptrdiff_t i = 0; i < rows; i++) {
        const T *xi = x + i * k; T *oi = out + i * k; T mx;
        if (logmode) {
            T s = S(fc_row_lse)(k, xi, NULL, &mx), l = mx + M(log)(s);
            FC_SIMD for (ptrdiff_t j = 0; j < k; j++) oi[j] = xi[j] - l;
        } else {
            T s = S(fc_row_lse)(k, xi, oi, &mx), r = (T)1 / s;
            FC_SIMD for (ptrdiff_t j = 0; j < k; j++) oi[j] *= r;
        }
    }
}

/* Cross-entropy from logits, row i: with targets y (rows x k, any non-negative weights)
 * loss_i = sum_j y_ij (lse_i - x_ij), grad_ij = scale_i (sum_j y_ij softmax_ij - y_ij);
 * with integer labels (y == NULL): loss_i = lse_i - x_i,label, grad = scale_i (softmax - onehot).
 * grad and scale may be NULL (no gradient / scale 1). */
FC_CLONES
static void S(fc_ml_ce_logits)(ptrdiff_t rows, ptrdiff_t k, const T *x, const T *y,
                               const long long *labels, const T *scale, T *loss, T *grad) {
    for (ptrdiff_t i = 0; i < rows; i++) {
        const T *xi = x + i * k; T *gi = grad ? grad + i * k : NULL; T mx;
        T s = S(fc_row_lse)(k, xi, gi, &mx), lse = mx + M(log)(s);
        T sc = scale ? scale[i] : (T)1;
        if (!y) {
            long long c = labels[i];
            loss[i] = lse - xi[c];
            if (gi) {
                T r = sc / s;
                FC_SIMD for (ptrdiff_t j = 0; j < k; j++) gi[j] *= r;
                gi[c] -= sc;
            }
        } else {
            const T *yi = y + i * k; T sy = 0, syx = 0;
            _Pragma("omp simd reduction(+:sy,syx)") for (ptrdiff_t j = 0; j < k; j++) {
                sy += yi[j];
                syx += yi[j] > 0 ? yi[j] * xi[j] : (T)0;
            }
            loss[i] = sy * lse - syx;
            if (gi) {
                T r = sc * sy / s;
                FC_SIMD for (ptrdiff_t j = 0; j < k; j++) gi[j] = gi[j] * r - sc * yi[j];
            }
        }
    }
}

/* Sums over each row of length k, with 0 log 0 = 0:
 *   mode 0: res = sum p log p;  mode 1: res = sum p (log p - log q);  mode 2: res = sum p log q
 * (terms with p == 0 are 0).  sp, sq get the row sums of p and q (sq only when q is given);
 * the return value counts entries of p or q that are negative or NaN. */
FC_CLONES
static ptrdiff_t S(fc_ml_info_rows)(ptrdiff_t rows, ptrdiff_t k, const T *p, const T *q, int mode,
                                    T *res, T *sp, T *sq) {
    ptrdiff_t bad = 0;
    for (ptrdiff_t i = 0; i < rows; i++) {
        const T *pi = p + i * k; const T *qi = q ? q + i * k : NULL;
        T r = 0, s = 0, t = 0; ptrdiff_t nb = 0;
        if (mode == 0) {
            FC_ML_RED for (ptrdiff_t j = 0; j < k; j++) {
                T v = pi[j], l = M(log)(v);
                r += v > 0 ? v * l : (T)0;
                s += v;
                nb += !(v >= 0);
            }
        } else if (mode == 1) {
            FC_ML_RED for (ptrdiff_t j = 0; j < k; j++) {
                T v = pi[j], w = qi[j], d = M(log)(v) - M(log)(w);
                r += v > 0 ? v * d : (T)0;
                s += v; t += w;
                nb += !(v >= 0) + !(w >= 0);
            }
        } else {
            FC_ML_RED for (ptrdiff_t j = 0; j < k; j++) {
                T v = pi[j], w = qi[j], lq = M(log)(w);
                r += v > 0 ? v * lq : (T)0;
                s += v; t += w;
                nb += !(v >= 0) + !(w >= 0);
            }
        }
        if (sq) sq[i] = t;
        res[i] = r; sp[i] = s; bad += nb;
    }
    return bad;
}

#endif /* FC_ML_TYPED */
