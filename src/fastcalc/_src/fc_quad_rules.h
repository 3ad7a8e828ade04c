/* Interval rules of fastcalc's quadrature kernels (fastcalc._qengine, fastcalc._cubature).
 *
 * Gauss--Kronrod 21 and 15 point rules (nodes computed with mpmath at 50 digits: roots of the
 * Legendre and Stieltjes polynomials; weights from exactness) and the 5-node Boole/Simpson pair
 * of the adaptive Simpson rule.  FC_X_* is the positive half of the nodes on [-1, 1], largest
 * first, centre last; the weights FC_WK_* (high order) and FC_WG_* (embedded rule, 0 where a node
 * is Kronrod-only) are laid out over the full node list: centre, then (-x_j, +x_j) pairs. */
#ifndef FC_QUAD_RULES_H
#define FC_QUAD_RULES_H
#include <math.h>

/* the rules (fastcalc._qengine exports them as RULES) */
enum { FC_RULE_GK21 = 0, FC_RULE_GK15 = 1, FC_RULE_SIMPSON = 2 };

static const double FC_X_GK21[11] = {
    0.99565716302580808074, 0.97390652851717172008, 0.930157491355708226, 0.86506336668898451073,
    0.78081772658641689706, 0.67940956829902440623, 0.56275713466860468334, 0.4333953941292471908,
    0.29439286270146019813, 0.14887433898163121088, 0.0
};

static const double FC_WK_GK21[21] = {
    0.14944555400291690566, 0.011694638867371874278, 0.011694638867371874278,
    0.032558162307964727479, 0.032558162307964727479, 0.054755896574351996031,
    0.054755896574351996031, 0.075039674810919952767, 0.075039674810919952767,
    0.093125454583697605535, 0.093125454583697605535, 0.1093871588022976419,
    0.1093871588022976419, 0.12349197626206585108, 0.12349197626206585108, 0.13470921731147332593,
    0.13470921731147332593, 0.1427759385770600808, 0.1427759385770600808, 0.14773910490133849137,
    0.14773910490133849137
};

static const double FC_WG_GK21[21] = {
    0.0, 0.0, 0.0, 0.066671344308688137594, 0.066671344308688137594, 0.0, 0.0,
    0.14945134915058059315, 0.14945134915058059315, 0.0, 0.0, 0.219086362515982044,
    0.219086362515982044, 0.0, 0.0, 0.26926671930999635509, 0.26926671930999635509, 0.0, 0.0,
    0.29552422471475287017, 0.29552422471475287017
};

static const double FC_X_GK15[8] = {
    0.99145537112081263921, 0.94910791234275852453, 0.86486442335976907279,
    0.74153118559939443986, 0.58608723546769113029, 0.40584515137739716691, 0.2077849550078984676,
    0.0
};

static const double FC_WK_GK15[15] = {
    0.20948214108472782801, 0.022935322010529224964, 0.022935322010529224964,
    0.063092092629978553291, 0.063092092629978553291, 0.10479001032225018384,
    0.10479001032225018384, 0.14065325971552591875, 0.14065325971552591875,
    0.16900472663926790283, 0.16900472663926790283, 0.19035057806478540991,
    0.19035057806478540991, 0.20443294007529889241, 0.20443294007529889241
};

static const double FC_WG_GK15[15] = {
    0.41795918367346938776, 0.0, 0.0, 0.12948496616886969327, 0.12948496616886969327, 0.0, 0.0,
    0.2797053914892766679, 0.2797053914892766679, 0.0, 0.0, 0.38183005050511894495,
    0.38183005050511894495, 0.0, 0.0
};

static const double FC_X_BOOLE[3] = {
    1.0, 0.5, 0.0
};

static const double FC_WK_BOOLE[5] = {
    12.0 / 45.0, 7.0 / 45.0, 7.0 / 45.0, 32.0 / 45.0, 32.0 / 45.0
};

static const double FC_WG_BOOLE[5] = {
    4.0 / 3.0, 1.0 / 3.0, 1.0 / 3.0, 0.0, 0.0
};

typedef struct {
    int nk;                 /* nodes in the positive half, centre included */
    const double *x;        /* positive half of the nodes, centre last */
    const double *wkf;      /* high-order weights over the full layout (2 nk - 1 nodes) */
    const double *wgf;      /* embedded-rule weights over the full layout */
    int kind;               /* FC_RULE_* */
} fc_rule_info;

static inline fc_rule_info fc_get_rule(int rule) {
    fc_rule_info r;
    if (rule == FC_RULE_GK15) {
        r.nk = 8; r.x = FC_X_GK15; r.wkf = FC_WK_GK15; r.wgf = FC_WG_GK15;
    } else if (rule == FC_RULE_SIMPSON) {
        r.nk = 3; r.x = FC_X_BOOLE; r.wkf = FC_WK_BOOLE; r.wgf = FC_WG_BOOLE;
    } else {
        r.nk = 11; r.x = FC_X_GK21; r.wkf = FC_WK_GK21; r.wgf = FC_WG_GK21;
        rule = FC_RULE_GK21;
    }
    r.kind = rule;
    return r;
}

/* One pass for the Kronrod sum, the embedded rule and sum |f|, one for the mean deviation,
   written as SIMD reductions over the full node layout (the compiler vectorizes them). */
static inline void fc_rule(const double *f, const double *wk, const double *wg, int K,
                    double *resk, double *resg, double *rabs, double *rasc) {
    double sk = 0.0, sg = 0.0, sa = 0.0, sd = 0.0, m;
    int i;
    #pragma omp simd reduction(+:sk,sg,sa)
    for (i = 0; i < K; i++) {
        sk += wk[i] * f[i];
        sg += wg[i] * f[i];
        sa += wk[i] * fabs(f[i]);
    }
    m = 0.5 * sk;
    #pragma omp simd reduction(+:sd)
    for (i = 0; i < K; i++) sd += wk[i] * fabs(f[i] - m);
    *resk = sk; *resg = sg; *rabs = sa; *rasc = sd;
}

/* Maps of infinite ranges onto finite ones (t is the new variable; *jac = dx/dt):
 * 0 finite (x = t), 1 [xa, inf): x = xa + t/(1-t), 2 (-inf, xa]: x = xa - t/(1-t),
 * 3 (-inf, inf): x = t/(1-t^2). */
enum { FC_MAP_NONE = 0, FC_MAP_UPPER = 1, FC_MAP_LOWER = 2, FC_MAP_BOTH = 3 };

static inline double fc_tmap(int transform, double xa, double t, double *jac) {
    double u;
    if (transform == FC_MAP_NONE) { *jac = 1.0; return t; }
    if (transform == FC_MAP_UPPER) { u = 1.0 - t; *jac = 1.0 / (u * u); return xa + t / u; }
    if (transform == FC_MAP_LOWER) { u = 1.0 - t; *jac = 1.0 / (u * u); return xa - t / u; }
    u = 1.0 - t * t;
    *jac = (1.0 + t * t) / (u * u);
    return t / u;
}

#endif
