# cython: language_level=3
"""Declarations of _src/fc_quad_rules.h (interval rules and maps of infinite ranges), shared by
the quadrature kernels."""

cdef extern from "fc_quad_rules.h":
    enum:
        FC_RULE_GK21
        FC_RULE_GK15
        FC_RULE_SIMPSON
    ctypedef struct fc_rule_info:
        int nk
        const double *x
        const double *wkf
        const double *wgf
        int kind
    fc_rule_info fc_get_rule(int rule) noexcept nogil
    void fc_rule(const double *f, const double *wk, const double *wg, int K, double *resk,
                 double *resg, double *rabs, double *rasc) noexcept nogil
    enum:
        FC_MAP_NONE
        FC_MAP_UPPER
        FC_MAP_LOWER
        FC_MAP_BOTH
    double fc_tmap(int transform, double xa, double t, double *jac) noexcept nogil
