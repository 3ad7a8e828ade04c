/* Built-in test functions of fastcalc, as C batch entries.
 *
 * Every entry has the signature of fc_batch_fn: x[i*ldx + j] is variable i of point j and
 * out[k*ldo + j] output k of point j.  Loops run over the points innermost so they vectorize.
 * For each function NAME there are value (NAME_f), gradient (NAME_g) and, where simple, Hessian
 * (NAME_h) entries, plus scalar wrappers with SciPy's low-level signatures for `.lowlevel`.
 */
#ifndef FC_FUNCTIONS_H
#define FC_FUNCTIONS_H
#include <math.h>
#include <stddef.h>
#include "fc_types.h"
#include "fc_simd.h"

#define FC_PI 3.14159265358979323846
#define FC_E  2.71828182845904523536
#define FC_ARGS int n, ptrdiff_t m, const double *restrict x, ptrdiff_t ldx, \
                double *restrict out, ptrdiff_t ldo
#define X(i) (x + (ptrdiff_t)(i) * ldx)
#define O(k) (out + (ptrdiff_t)(k) * ldo)

/* ---- sphere: sum x_i^2 ---- */
static void fc_sphere_f(FC_ARGS) {
    (void)ldo;
    FC_SIMD for (ptrdiff_t j = 0; j < m; j++) out[j] = 0.0;
    for (int i = 0; i < n; i++) {
        const double *xi = X(i);
        FC_SIMD for (ptrdiff_t j = 0; j < m; j++) out[j] += xi[j] * xi[j];
    }
}
static void fc_sphere_g(FC_ARGS) {
    for (int i = 0; i < n; i++) {
        const double *xi = X(i); double *o = O(i);
        FC_SIMD for (ptrdiff_t j = 0; j < m; j++) o[j] = 2.0 * xi[j];
    }
}
static void fc_sphere_h(FC_ARGS) {
    (void)x; (void)ldx;
    for (int i = 0; i < n; i++)
        for (int k = 0; k < n; k++) {
            double v = (i == k) ? 2.0 : 0.0; double *o = O(i * n + k);
            FC_SIMD for (ptrdiff_t j = 0; j < m; j++) o[j] = v;
        }
}

/* ---- rosenbrock: sum 100 (x_{i+1} - x_i^2)^2 + (1 - x_i)^2 ---- */
/* The first term is assigned, not added to zeroed memory: for one point the compiler turns a
 * zeroing loop into a memset call whose wide store stalls the following narrow loads. */
FC_CLONES static void fc_rosenbrock_f(FC_ARGS) {
    (void)ldo;
    for (int i = 0; i + 1 < n; i++) {
        const double *a = X(i), *b = X(i + 1);
        if (i == 0) {
            FC_SIMD for (ptrdiff_t j = 0; j < m; j++) {
                double t = b[j] - a[j] * a[j], u = 1.0 - a[j];
                out[j] = 100.0 * t * t + u * u;
            }
        } else {
            FC_SIMD for (ptrdiff_t j = 0; j < m; j++) {
                double t = b[j] - a[j] * a[j], u = 1.0 - a[j];
                out[j] += 100.0 * t * t + u * u;
            }
        }
    }
}
FC_CLONES static void fc_rosenbrock_g(FC_ARGS) {
    if (m == 1 && ldx == 1 && ldo == 1 && n >= 2) {
        /* one point with contiguous variables (a single start of an optimizer): the same
         * expressions as below, vectorized along the variables instead of the points */
        out[0] = -400.0 * x[0] * (x[1] - x[0] * x[0]) - 2.0 * (1.0 - x[0]);
        FC_SIMD for (int i = 1; i < n - 1; i++)
            out[i] = -400.0 * x[i] * (x[i + 1] - x[i] * x[i]) - 2.0 * (1.0 - x[i])
                     + 200.0 * (x[i] - x[i - 1] * x[i - 1]);
        out[n - 1] = 200.0 * (x[n - 1] - x[n - 2] * x[n - 2]);
        return;
    }
    for (int i = 0; i < n; i++) {
        double *o = O(i); const double *xi = X(i);
        const double *a = X(i > 0 ? i - 1 : 0), *b = X(i + 1 < n ? i + 1 : i);
        if (i == 0) {               /* n >= 2: there is always a next variable */
            FC_SIMD for (ptrdiff_t j = 0; j < m; j++)
                o[j] = -400.0 * xi[j] * (b[j] - xi[j] * xi[j]) - 2.0 * (1.0 - xi[j]);
        } else if (i + 1 < n) {
            FC_SIMD for (ptrdiff_t j = 0; j < m; j++)
                o[j] = -400.0 * xi[j] * (b[j] - xi[j] * xi[j]) - 2.0 * (1.0 - xi[j])
                       + 200.0 * (xi[j] - a[j] * a[j]);
        } else {
            FC_SIMD for (ptrdiff_t j = 0; j < m; j++) o[j] = 200.0 * (xi[j] - a[j] * a[j]);
        }
    }
}
FC_CLONES static void fc_rosenbrock_h(FC_ARGS) {
    for (int i = 0; i < n; i++)
        for (int k = 0; k < n; k++) {
            double *o = O(i * n + k);
            FC_SIMD for (ptrdiff_t j = 0; j < m; j++) o[j] = 0.0;
        }
    for (int i = 0; i < n; i++) {
        double *d = O(i * n + i); const double *xi = X(i);
        if (i + 1 < n) {
            const double *b = X(i + 1);
            double *u = O(i * n + i + 1), *l = O((i + 1) * n + i);
            FC_SIMD for (ptrdiff_t j = 0; j < m; j++) {
                d[j] += 1200.0 * xi[j] * xi[j] - 400.0 * b[j] + 2.0;
                u[j] = -400.0 * xi[j];
                l[j] = -400.0 * xi[j];
            }
        }
        if (i > 0) {
            FC_SIMD for (ptrdiff_t j = 0; j < m; j++) d[j] += 200.0;
        }
    }
}

/* ---- sin(2 pi x), cos(2 pi x) without a libm call, so loops over points vectorize ----
 * Exact reduction r = x - rint(x) (no rounding of 2 pi x), folding to |t| <= 1/2 in sin(pi t) and a
 * degree-21 odd Taylor polynomial (truncation < 1e-18 there): about 1 ulp, like libm.  Branch-free;
 * NaN and inf give NaN.  FC_CLONES compiles the functions using them for AVX2 and AVX-512 too,
 * chosen at load time (GCC target_clones, an ifunc; see fc_simd.h), so one portable binary uses
 * wide vectors. */
FC_INLINE double fc_reduce1(double x) {            /* x - rint(x), exact; 0 for |x| >= 2^52 */
    double c = copysign(4503599627370496.0, x);
    double r = x - ((x + c) - c);
    return r * (double)(fabs(x) < 4503599627370496.0);      /* a blend, not a select (see below) */
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC push_options
#pragma GCC optimize("fp-contract=off")    /* no implicit FMA contraction: the vector body and the
                                            * scalar tail of a loop round alike, so a point gives
                                            * the same bits wherever it sits in a batch */
#endif
/* One Horner step.  Where the functions are cloned for x86-64-v3/v4 it is an explicit fused
 * multiply-add (one instruction, the same rounding in the vector body and the scalar tail; the
 * "default" clone, run only on CPUs without FMA, calls libm's exact fma); elsewhere a multiply
 * and an add, never contracted. */
#if FC_HAVE_CLONES
#define FC_HORNER(p, u, c) __builtin_fma((p), (u), (c))
#else
#define FC_HORNER(p, u, c) ((p) * (u) + (c))
#endif
/* The polynomials in u = s^2, highest power first: sin(pi s) = s P(u), cos(pi w) = Q(u). */
static const double FC_SINPI_C[12] = {
    -1.0518471716932065e-11, 5.392664662608129e-10, -2.2948428997269873e-08,
    7.952054001475513e-07, -2.1915353447830217e-05, 0.00046630280576761255,
    -0.0073704309457143504, 0.08214588661112823, -0.5992645293207921, 2.5501640398773455,
    -5.16771278004997, 3.141592653589793};
static const double FC_COSPI_C[12] = {
    -7.700707130601354e-11, 3.604730797462501e-09, -1.3878952462213771e-07, 4.303069587032947e-06,
    -0.0001046381049248457, 0.0019295743094039231, -0.02580689139001406, 0.2353306303588932,
    -1.3352627688545895, 4.0587121264167685, -4.934802200544679, 1.0};
FC_INLINE double fc_horner12(const double *c, double u) {
    double p = c[0];
    for (int k = 1; k < 12; k++) p = FC_HORNER(p, u, c[k]);
    return p;
}
FC_INLINE double fc_sinpi_small(double t) {        /* sin(pi t) for t in [-1, 1] */
    /* fold: sin(pi t) = sin(pi (sign(t) - t)); an arithmetic blend, not a select, so GCC does not
     * duplicate the polynomial under masks */
    double a = fabs(t);
    double fold = (double)(a > 0.5);
    double s = t + fold * (copysign(1.0 - a, t) - t);      /* 1 - a >= 0 here */
    double u = s * s;
    return s * fc_horner12(FC_SINPI_C, u);
}
FC_INLINE double fc_cospi_small(double t) {        /* cos(pi t) for t in [-1, 1] */
    double a = fabs(t);
    double fold = (double)(a > 0.5);                 /* cos(pi a) = -cos(pi (1 - a)) */
    double w = a + fold * (1.0 - 2.0 * a);
    double u = w * w;
    return (1.0 - 2.0 * fold) * fc_horner12(FC_COSPI_C, u);
}
FC_INLINE double fc_sin2pi(double x) { return fc_sinpi_small(2.0 * fc_reduce1(x)) + 0.0 * x; }
FC_INLINE double fc_cos2pi(double x) { return fc_cospi_small(2.0 * fc_reduce1(x)) + 0.0 * x; }

/* ---- rastrigin: 10 n + sum x_i^2 - 10 cos(2 pi x_i) ---- */
FC_CLONES static void fc_rastrigin_f(FC_ARGS) {
    (void)ldo;
    FC_SIMD for (ptrdiff_t j = 0; j < m; j++) out[j] = 10.0 * n;
    for (int i = 0; i < n; i++) {
        const double *xi = X(i);
        FC_SIMD for (ptrdiff_t j = 0; j < m; j++)
            out[j] += xi[j] * xi[j] - 10.0 * fc_cos2pi(xi[j]);
    }
}
FC_CLONES static void fc_rastrigin_g(FC_ARGS) {
    for (int i = 0; i < n; i++) {
        const double *xi = X(i); double *o = O(i);
        FC_SIMD for (ptrdiff_t j = 0; j < m; j++)
            o[j] = 2.0 * xi[j] + 20.0 * FC_PI * fc_sin2pi(xi[j]);
    }
}
FC_CLONES static void fc_rastrigin_h(FC_ARGS) {
    for (int i = 0; i < n; i++)
        for (int k = 0; k < n; k++) {
            double *o = O(i * n + k);
            if (i != k) {
                FC_SIMD for (ptrdiff_t j = 0; j < m; j++) o[j] = 0.0;
            } else {
                const double *xi = X(i);
                FC_SIMD for (ptrdiff_t j = 0; j < m; j++)
                    o[j] = 2.0 + 40.0 * FC_PI * FC_PI * fc_cos2pi(xi[j]);
            }
        }
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC pop_options
#endif

/* ---- ackley (a=20, b=0.2, c=2 pi) ---- */
static void fc_ackley_f(FC_ARGS) {
    (void)ldo;
    for (ptrdiff_t j = 0; j < m; j++) {
        double s2 = 0.0, sc = 0.0;
        for (int i = 0; i < n; i++) {
            double v = X(i)[j];
            s2 += v * v;
            sc += cos(2.0 * FC_PI * v);
        }
        out[j] = -20.0 * exp(-0.2 * sqrt(s2 / n)) - exp(sc / n) + 20.0 + FC_E;
    }
}
static void fc_ackley_g(FC_ARGS) {
    for (ptrdiff_t j = 0; j < m; j++) {
        double s2 = 0.0, sc = 0.0;
        for (int i = 0; i < n; i++) {
            double v = X(i)[j];
            s2 += v * v;
            sc += cos(2.0 * FC_PI * v);
        }
        double r = sqrt(s2 / n);
        /* d/dx_i of -20 exp(-0.2 r) = 4 exp(-0.2 r) x_i / (n r); zero at the kink r = 0 */
        double c1 = r > 0.0 ? 4.0 * exp(-0.2 * r) / (n * r) : 0.0;
        double c2 = exp(sc / n) * 2.0 * FC_PI / n;
        for (int i = 0; i < n; i++) {
            double v = X(i)[j];
            O(i)[j] = c1 * v + c2 * sin(2.0 * FC_PI * v);
        }
    }
}

/* ---- styblinski_tang: 1/2 sum x^4 - 16 x^2 + 5 x ---- */
static void fc_styblinski_tang_f(FC_ARGS) {
    (void)ldo;
    FC_SIMD for (ptrdiff_t j = 0; j < m; j++) out[j] = 0.0;
    for (int i = 0; i < n; i++) {
        const double *xi = X(i);
        FC_SIMD for (ptrdiff_t j = 0; j < m; j++) {
            double v = xi[j], v2 = v * v;
            out[j] += 0.5 * (v2 * v2 - 16.0 * v2 + 5.0 * v);
        }
    }
}
static void fc_styblinski_tang_g(FC_ARGS) {
    for (int i = 0; i < n; i++) {
        const double *xi = X(i); double *o = O(i);
        FC_SIMD for (ptrdiff_t j = 0; j < m; j++) {
            double v = xi[j];
            o[j] = 2.0 * v * v * v - 16.0 * v + 2.5;
        }
    }
}
static void fc_styblinski_tang_h(FC_ARGS) {
    for (int i = 0; i < n; i++)
        for (int k = 0; k < n; k++) {
            double *o = O(i * n + k);
            if (i != k) {
                FC_SIMD for (ptrdiff_t j = 0; j < m; j++) o[j] = 0.0;
            } else {
                const double *xi = X(i);
                FC_SIMD for (ptrdiff_t j = 0; j < m; j++) o[j] = 6.0 * xi[j] * xi[j] - 16.0;
            }
        }
}

/* ---- two-variable functions ---- */
#define X2 const double *px = X(0), *py = X(1); (void)n
static void fc_himmelblau_f(FC_ARGS) {
    X2; (void)ldo;
    FC_SIMD for (ptrdiff_t j = 0; j < m; j++) {
        double a = px[j] * px[j] + py[j] - 11.0, b = px[j] + py[j] * py[j] - 7.0;
        out[j] = a * a + b * b;
    }
}
static void fc_himmelblau_g(FC_ARGS) {
    X2; double *gx = O(0), *gy = O(1);
    FC_SIMD for (ptrdiff_t j = 0; j < m; j++) {
        double u = px[j], v = py[j];
        double a = u * u + v - 11.0, b = u + v * v - 7.0;
        gx[j] = 4.0 * u * a + 2.0 * b;
        gy[j] = 2.0 * a + 4.0 * v * b;
    }
}
static void fc_himmelblau_h(FC_ARGS) {
    X2; double *hxx = O(0), *hxy = O(1), *hyx = O(2), *hyy = O(3);
    FC_SIMD for (ptrdiff_t j = 0; j < m; j++) {
        double u = px[j], v = py[j];
        hxx[j] = 12.0 * u * u + 4.0 * v - 42.0;
        hxy[j] = hyx[j] = 4.0 * (u + v);
        hyy[j] = 4.0 * u + 12.0 * v * v - 26.0;
    }
}

static void fc_beale_f(FC_ARGS) {
    X2; (void)ldo;
    FC_SIMD for (ptrdiff_t j = 0; j < m; j++) {
        double u = px[j], v = py[j];
        double t1 = 1.5 - u + u * v, t2 = 2.25 - u + u * v * v, t3 = 2.625 - u + u * v * v * v;
        out[j] = t1 * t1 + t2 * t2 + t3 * t3;
    }
}
static void fc_beale_g(FC_ARGS) {
    X2; double *gx = O(0), *gy = O(1);
    FC_SIMD for (ptrdiff_t j = 0; j < m; j++) {
        double u = px[j], v = py[j], v2 = v * v, v3 = v2 * v;
        double t1 = 1.5 - u + u * v, t2 = 2.25 - u + u * v2, t3 = 2.625 - u + u * v3;
        gx[j] = 2.0 * (t1 * (v - 1.0) + t2 * (v2 - 1.0) + t3 * (v3 - 1.0));
        gy[j] = 2.0 * (t1 * u + t2 * 2.0 * u * v + t3 * 3.0 * u * v2);
    }
}
static void fc_beale_h(FC_ARGS) {
    X2; double *hxx = O(0), *hxy = O(1), *hyx = O(2), *hyy = O(3);
    FC_SIMD for (ptrdiff_t j = 0; j < m; j++) {
        double u = px[j], v = py[j], v2 = v * v, v3 = v2 * v;
        double t1 = 1.5 - u + u * v, t2 = 2.25 - u + u * v2, t3 = 2.625 - u + u * v3;
        double a1 = v - 1.0, a2 = v2 - 1.0, a3 = v3 - 1.0;      /* d t_k / d u */
        double b1 = u, b2 = 2.0 * u * v, b3 = 3.0 * u * v2;      /* d t_k / d v */
        hxx[j] = 2.0 * (a1 * a1 + a2 * a2 + a3 * a3);
        hxy[j] = hyx[j] = 2.0 * (b1 * a1 + t1 + b2 * a2 + t2 * 2.0 * v + b3 * a3 + t3 * 3.0 * v2);
        hyy[j] = 2.0 * (b1 * b1 + b2 * b2 + t2 * 2.0 * u + b3 * b3 + t3 * 6.0 * u * v);
    }
}

static void fc_booth_f(FC_ARGS) {
    X2; (void)ldo;
    FC_SIMD for (ptrdiff_t j = 0; j < m; j++) {
        double a = px[j] + 2.0 * py[j] - 7.0, b = 2.0 * px[j] + py[j] - 5.0;
        out[j] = a * a + b * b;
    }
}
static void fc_booth_g(FC_ARGS) {
    X2; double *gx = O(0), *gy = O(1);
    FC_SIMD for (ptrdiff_t j = 0; j < m; j++) {
        double a = px[j] + 2.0 * py[j] - 7.0, b = 2.0 * px[j] + py[j] - 5.0;
        gx[j] = 2.0 * a + 4.0 * b;
        gy[j] = 4.0 * a + 2.0 * b;
    }
}
static void fc_booth_h(FC_ARGS) {
    X2; (void)px; (void)py;
    double *hxx = O(0), *hxy = O(1), *hyx = O(2), *hyy = O(3);
    FC_SIMD for (ptrdiff_t j = 0; j < m; j++) { hxx[j] = 10.0; hxy[j] = 8.0; hyx[j] = 8.0; hyy[j] = 10.0; }
}

static void fc_goldstein_price_f(FC_ARGS) {
    X2; (void)ldo;
    FC_SIMD for (ptrdiff_t j = 0; j < m; j++) {
        double u = px[j], v = py[j];
        double a = u + v + 1.0, c = 2.0 * u - 3.0 * v;
        double B = 19.0 - 14.0 * u + 3.0 * u * u - 14.0 * v + 6.0 * u * v + 3.0 * v * v;
        double D = 18.0 - 32.0 * u + 12.0 * u * u + 48.0 * v - 36.0 * u * v + 27.0 * v * v;
        out[j] = (1.0 + a * a * B) * (30.0 + c * c * D);
    }
}
static void fc_goldstein_price_g(FC_ARGS) {
    X2; double *gx = O(0), *gy = O(1);
    FC_SIMD for (ptrdiff_t j = 0; j < m; j++) {
        double u = px[j], v = py[j];
        double a = u + v + 1.0, c = 2.0 * u - 3.0 * v;
        double B = 19.0 - 14.0 * u + 3.0 * u * u - 14.0 * v + 6.0 * u * v + 3.0 * v * v;
        double D = 18.0 - 32.0 * u + 12.0 * u * u + 48.0 * v - 36.0 * u * v + 27.0 * v * v;
        double A = 1.0 + a * a * B, C = 30.0 + c * c * D;
        double dB = -14.0 + 6.0 * u + 6.0 * v;                  /* dB/du == dB/dv */
        double dA = 2.0 * a * B + a * a * dB;                    /* dA/du == dA/dv */
        double dCu = 4.0 * c * D + c * c * (-32.0 + 24.0 * u - 36.0 * v);
        double dCv = -6.0 * c * D + c * c * (48.0 - 36.0 * u + 54.0 * v);
        gx[j] = dA * C + A * dCu;
        gy[j] = dA * C + A * dCv;
    }
}
#undef X2

/* ---- one-variable examples ---- */
static void fc_square_f(FC_ARGS) { (void)n; (void)ldx; (void)ldo;
    FC_SIMD for (ptrdiff_t j = 0; j < m; j++) out[j] = x[j] * x[j]; }
static void fc_square_g(FC_ARGS) { (void)n; (void)ldx; (void)ldo;
    FC_SIMD for (ptrdiff_t j = 0; j < m; j++) out[j] = 2.0 * x[j]; }
static void fc_square_h(FC_ARGS) { (void)n; (void)ldx; (void)ldo; (void)x;
    FC_SIMD for (ptrdiff_t j = 0; j < m; j++) out[j] = 2.0; }

static void fc_sin_f(FC_ARGS) { (void)n; (void)ldx; (void)ldo;
    FC_SIMD for (ptrdiff_t j = 0; j < m; j++) out[j] = sin(x[j]); }
static void fc_sin_g(FC_ARGS) { (void)n; (void)ldx; (void)ldo;
    FC_SIMD for (ptrdiff_t j = 0; j < m; j++) out[j] = cos(x[j]); }
static void fc_sin_h(FC_ARGS) { (void)n; (void)ldx; (void)ldo;
    FC_SIMD for (ptrdiff_t j = 0; j < m; j++) out[j] = -sin(x[j]); }

static void fc_gauss_f(FC_ARGS) { (void)n; (void)ldx; (void)ldo;
    FC_SIMD for (ptrdiff_t j = 0; j < m; j++) out[j] = exp(-x[j] * x[j]); }
static void fc_gauss_g(FC_ARGS) { (void)n; (void)ldx; (void)ldo;
    FC_SIMD for (ptrdiff_t j = 0; j < m; j++) out[j] = -2.0 * x[j] * exp(-x[j] * x[j]); }
static void fc_gauss_h(FC_ARGS) { (void)n; (void)ldx; (void)ldo;
    FC_SIMD for (ptrdiff_t j = 0; j < m; j++) out[j] = (4.0 * x[j] * x[j] - 2.0) * exp(-x[j] * x[j]); }

/* sigmoid evaluated without overflow: exp of a non-positive number only */
static inline double fc_sigma(double v) {
    double e = exp(-fabs(v));
    return v >= 0.0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
}
static void fc_sigmoid_f(FC_ARGS) { (void)n; (void)ldx; (void)ldo;
    FC_SIMD for (ptrdiff_t j = 0; j < m; j++) out[j] = fc_sigma(x[j]); }
static void fc_sigmoid_g(FC_ARGS) { (void)n; (void)ldx; (void)ldo;
    FC_SIMD for (ptrdiff_t j = 0; j < m; j++) {
        double e = exp(-fabs(x[j])), d = 1.0 + e;
        out[j] = e / (d * d);                     /* sigma (1 - sigma), symmetric in x */
    } }
static void fc_sigmoid_h(FC_ARGS) { (void)n; (void)ldx; (void)ldo;
    FC_SIMD for (ptrdiff_t j = 0; j < m; j++) {
        /* sigma (1 - sigma)(1 - 2 sigma) with e = exp(-|x|), free of cancellation */
        double e = exp(-fabs(x[j])), d = 1.0 + e, t = e / (d * d * d);
        out[j] = x[j] >= 0.0 ? t * (e - 1.0) : t * (1.0 - e);
    } }

#undef X
#undef O

/* ---- scalar wrappers with SciPy's low-level signatures (for .lowlevel) ----
 * The vector-output ones write exactly m values: the gradient (n values) or Hessian (n*n) when m is
 * that size, else m NaNs -- never past what the caller said it has room for.  (fastcalc's adapter
 * refuses such a call before it happens; other consumers get NaN, not a smashed stack.) */
#define FC_LL_ND(F) \
    static double F##_ll(int n, double *x) { double r = 0.0; F(n, 1, x, 1, &r, 1); return r; }
#define FC_LL_1D(F) \
    static double F##_ll(double x) { double r = 0.0; F(1, 1, &x, 1, &r, 1); return r; }
#define FC_LL_VEC(F, NEED) \
    static void F##_ll(int n, const double *x, int m, double *out, void *ud) { \
        (void)ud; \
        if (n < 1 || m != (NEED)) { for (int k = 0; k < m; k++) out[k] = NAN; return; } \
        F(n, 1, x, 1, out, 1); }

#define FC_ND(NAME) FC_LL_ND(fc_##NAME##_f) FC_LL_VEC(fc_##NAME##_g, n)
#define FC_ND_H(NAME) FC_ND(NAME) FC_LL_VEC(fc_##NAME##_h, n * n)
#define FC_1D(NAME) FC_LL_1D(fc_##NAME##_f) FC_LL_1D(fc_##NAME##_g) FC_LL_1D(fc_##NAME##_h)

FC_ND_H(sphere) FC_ND_H(rosenbrock) FC_ND_H(rastrigin) FC_ND(ackley) FC_ND_H(styblinski_tang)
FC_ND_H(himmelblau) FC_ND_H(beale) FC_ND_H(booth) FC_ND(goldstein_price)
FC_1D(square) FC_1D(sin) FC_1D(gauss) FC_1D(sigmoid)

/* ---- the table of built-ins: _functions.pyx registers every row (value, grad, hess) ----
 * ndim 0 = any n >= min_ndim; ndim 1 = a one-variable function (scalar signatures). */
typedef struct {
    const char *name;
    int ndim, min_ndim;
    fc_batch_fn f, g, h;            /* h may be NULL: no analytic Hessian */
    void *f_ll, *g_ll, *h_ll;
} fc_builtin;

#define FC_ROW(NAME, NDIM, MIN) {#NAME, NDIM, MIN, fc_##NAME##_f, fc_##NAME##_g, fc_##NAME##_h, \
    (void *)fc_##NAME##_f_ll, (void *)fc_##NAME##_g_ll, (void *)fc_##NAME##_h_ll}
#define FC_ROW_NOH(NAME, NDIM, MIN) {#NAME, NDIM, MIN, fc_##NAME##_f, fc_##NAME##_g, NULL, \
    (void *)fc_##NAME##_f_ll, (void *)fc_##NAME##_g_ll, NULL}

static const fc_builtin fc_builtins[] = {
    FC_ROW(sphere, 0, 1), FC_ROW(rosenbrock, 0, 2), FC_ROW(rastrigin, 0, 1),
    FC_ROW_NOH(ackley, 0, 1), FC_ROW(styblinski_tang, 0, 1), FC_ROW(himmelblau, 2, 2),
    FC_ROW(beale, 2, 2), FC_ROW(booth, 2, 2), FC_ROW_NOH(goldstein_price, 2, 2),
    FC_ROW(square, 1, 1), FC_ROW(sin, 1, 1), FC_ROW(gauss, 1, 1), FC_ROW(sigmoid, 1, 1),
};
static const int fc_nbuiltins = (int)(sizeof(fc_builtins) / sizeof(fc_builtins[0]));

#endif
