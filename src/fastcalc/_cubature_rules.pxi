# The cubature rules of fastcalc._cubature (included by _cubature.pyx): the Gauss--Kronrod
# product rules with their two lower-degree companions (the ratio tests of _product_error), and
# Genz--Malik degree 7 / embedded degree 5 with the face centres of the boundary check.


cdef struct CubRule:
    int d
    int npts             # nodes per region
    double *x            # (d, npts) on [-1, 1]^d
    double *wk           # high-order weights, normalised to volume 1
    double *wl           # embedded low-order weights
    double *w2           # two lower-degree rules on subsets of the nodes (the ratio test)
    double *w3
    int kind
    int face             # Genz-Malik: first of the 2 d face-centre nodes (-e_0, +e_0, -e_1, ...)
    double ext[5]        # weights extrapolating the axis nodes -l3, -l2, 0, l2, l3 to t = +1


def rule_nodes(int rule, int d):
    """Nodes the rule places in one region of ``d`` dimensions."""
    if rule == CUB_GM:
        return 1 + 6 * d + 2 * d * (d - 1) + 2 ** d
    return (15 if rule == CUB_GK15 else 21) ** d


cdef int _rule_alloc(CubRule *r, int d, long npts) except -1:
    """The node and weight arrays of a rule of ``npts`` nodes in ``d`` dimensions."""
    r.x = <double *>malloc(d * npts * sizeof(double))
    r.wk = <double *>malloc(npts * sizeof(double))
    r.wl = <double *>malloc(npts * sizeof(double))
    r.w2 = <double *>malloc(npts * sizeof(double))
    r.w3 = <double *>malloc(npts * sizeof(double))
    if r.x == NULL or r.wk == NULL or r.wl == NULL or r.w2 == NULL or r.w3 == NULL:
        raise MemoryError()
    return 0


cdef int build_product_rule(CubRule *r, int d, int which) except -1:
    cdef fc_rule_info ru = fc_get_rule(FC_RULE_GK15 if which == CUB_GK15 else FC_RULE_GK21)
    cdef int K = 2 * ru.nk - 1, j, i, k, idx, rem
    cdef double x1[21]
    cdef double wk1[21]
    cdef double wg1[21]
    cdef double wk, wl, ww2, ww3
    cdef double w21[21]
    cdef double w31[21]
    cdef long npts = 1
    for i in range(d):
        npts *= K
        if npts > MAX_RULE_NODES:
            raise ValueError(f"a {K}-point product rule in {d} dimensions needs more than "
                             f"{MAX_RULE_NODES} nodes per region; use rule='genz-malik'")
    # 1-D nodes: centre, then -x_j, +x_j
    x1[0] = 0.0
    wk1[0] = ru.wkf[0] / 2.0
    wg1[0] = ru.wgf[0] / 2.0
    for j in range(ru.nk - 1):
        x1[1 + 2 * j] = -ru.x[j]
        x1[2 + 2 * j] = ru.x[j]
        wk1[1 + 2 * j] = wk1[2 + 2 * j] = ru.wkf[1 + 2 * j] / 2.0
        wg1[1 + 2 * j] = wg1[2 + 2 * j] = ru.wgf[1 + 2 * j] / 2.0
    _lower_rules_1d(x1, wg1, K, which == CUB_GK15, w21, w31)
    r.d = d
    r.npts = <int>npts
    r.kind = which
    _rule_alloc(r, d, npts)
    for idx in range(npts):
        rem = idx
        wk = 1.0
        wl = 1.0
        ww2 = 1.0
        ww3 = 1.0
        for i in range(d):
            k = rem % K
            rem //= K
            r.x[i * npts + idx] = x1[k]
            wk *= wk1[k]
            wl *= wg1[k]
            ww2 *= w21[k]
            ww3 *= w31[k]
        r.wk[idx] = wk
        r.wl[idx] = wl
        r.w2[idx] = ww2
        r.w3[idx] = ww3
    return 0


cdef int _interpolatory(const double *x, const int *sel, int n, double *w) except -1:
    """Weights (mean over [-1, 1]) of the interpolatory rule on the symmetric nodes
    x[sel[0..n)]: exact for polynomials of degree n - 1 (n if n is odd)."""
    cdef int i
    t = np.array([x[sel[i]] for i in range(n)])
    moments = np.array([1.0 / (k + 1) if k % 2 == 0 else 0.0 for k in range(n)])
    sol = np.linalg.solve(np.vander(t, n, increasing=True).T, moments)
    for i in range(n):
        w[sel[i]] = sol[i]
    return 0


# the 1-D weights of _lower_rules_1d, per product rule (0: gk21, 1: gk15), computed once
cdef double LOWER_W2[2][21]
cdef double LOWER_W3[2][21]
cdef bint LOWER_DONE[2]
LOWER_DONE[0] = LOWER_DONE[1] = False


cdef int _lower_rules_1d(const double *x1, const double *wg1, int K, int which, double *w2,
                         double *w3) except -1:
    """The ratio test's 1-D rules on the Kronrod nodes that are not Gauss nodes (disjoint from
    the embedded Gauss rule's): w2 interpolates all of them (degree 11 for GK21, 7 for GK15),
    w3 four or five of them (degree 5 or 3), every second pair from the second outermost."""
    cdef int sel[21]
    cdef int n = 0, k, j, npair
    cdef int order[21]
    if LOWER_DONE[which]:
        memcpy(w2, LOWER_W2[which], K * sizeof(double))
        memcpy(w3, LOWER_W3[which], K * sizeof(double))
        return 0
    memset(w2, 0, K * sizeof(double))
    memset(w3, 0, K * sizeof(double))
    for k in range(K):
        if wg1[k] == 0.0:
            sel[n] = k
            n += 1
    _interpolatory(x1, sel, n, w2)
    # the pairs (-x_j, +x_j) of that set, outermost first (x1: 0, then -x_j, +x_j descending)
    npair = 0
    for k in range(1, K, 2):
        if wg1[k] == 0.0:
            order[npair] = k
            npair += 1
    n = 0
    if wg1[0] == 0.0:
        sel[n] = 0
        n += 1
    for j in range(1, npair, 2):
        if n >= 4:
            break
        sel[n] = order[j]
        sel[n + 1] = order[j] + 1
        n += 2
    _interpolatory(x1, sel, n, w3)
    memcpy(LOWER_W2[which], w2, K * sizeof(double))
    memcpy(LOWER_W3[which], w3, K * sizeof(double))
    LOWER_DONE[which] = True
    return 0


cdef int build_gm_rule(CubRule *r, int d) except -1:
    """Genz-Malik degree-7 rule with its embedded degree-5 rule (weights for volume 1)."""
    cdef double count = 1.0 + 6.0 * d + 2.0 * d * (d - 1) + 2.0 ** d
    if count > MAX_RULE_NODES:
        raise ValueError(f"the Genz-Malik rule in {d} dimensions needs {count:.0f} nodes per "
                         f"region, more than the limit {MAX_RULE_NODES}")
    cdef int npts = <int>count
    cdef double l2 = sqrt(9.0 / 70.0), l3 = sqrt(9.0 / 10.0), l4 = sqrt(9.0 / 10.0)
    cdef double l5 = sqrt(9.0 / 19.0)
    cdef double w1 = (12824.0 - 9120.0 * d + 400.0 * d * d) / 19683.0
    cdef double w2 = 980.0 / 6561.0, w3 = (1820.0 - 400.0 * d) / 19683.0, w4 = 200.0 / 19683.0
    cdef double w5 = 6859.0 / 19683.0 / (1 << d)
    cdef double v1 = (729.0 - 950.0 * d + 50.0 * d * d) / 729.0
    cdef double v2 = 245.0 / 486.0, v3 = (265.0 - 100.0 * d) / 1458.0, v4 = 25.0 / 729.0
    cdef int p = 0, i, j, s, si, sj
    cdef double t[5]
    r.d = d
    r.npts = npts
    r.kind = CUB_GM
    # the boundary check: the degree-4 interpolant of the values on an axis, extrapolated to the
    # face centre, against the value there (see _cub_eval_list)
    t[0] = -l3; t[1] = -l2; t[2] = 0.0; t[3] = l2; t[4] = l3
    for i in range(5):
        r.ext[i] = 1.0
        for j in range(5):
            if j != i:
                r.ext[i] *= (1.0 - t[j]) / (t[i] - t[j])
    _rule_alloc(r, d, npts)
    memset(r.x, 0, d * npts * sizeof(double))
    # the ratio test's rules: the centre and the 2**d corner nodes (degree 3; only the centre is
    # shared with the degree-5 rule), and the centre alone (degree 1)
    memset(r.w2, 0, npts * sizeof(double))
    memset(r.w3, 0, npts * sizeof(double))
    r.w2[0] = 1.0 - 1.0 / (3.0 * l5 * l5)
    r.w3[0] = 1.0
    # centre
    r.wk[p] = w1
    r.wl[p] = v1
    p += 1
    # +-l2 e_i, then +-l3 e_i  (points 1 .. 4d; axis i uses p = 1 + 4 i .. 4 i + 4)
    for i in range(d):
        r.x[i * npts + p] = -l2; r.wk[p] = w2; r.wl[p] = v2; p += 1
        r.x[i * npts + p] = l2; r.wk[p] = w2; r.wl[p] = v2; p += 1
        r.x[i * npts + p] = -l3; r.wk[p] = w3; r.wl[p] = v3; p += 1
        r.x[i * npts + p] = l3; r.wk[p] = w3; r.wl[p] = v3; p += 1
    for i in range(d):
        for j in range(i + 1, d):
            for si in (-1, 1):
                for sj in (-1, 1):
                    r.x[i * npts + p] = si * l4
                    r.x[j * npts + p] = sj * l4
                    r.wk[p] = w4
                    r.wl[p] = v4
                    p += 1
    for s in range(1 << d):
        for i in range(d):
            r.x[i * npts + p] = l5 if (s >> i) & 1 else -l5
        r.wk[p] = w5
        r.wl[p] = 0.0
        r.w2[p] = 1.0 / (3.0 * l5 * l5) / (1 << d)
        p += 1
    # face centres +-e_i: weight 0 in both rules, they only feed the boundary check
    r.face = p
    for i in range(d):
        r.x[i * npts + p] = -1.0; r.wk[p] = 0.0; r.wl[p] = 0.0; p += 1
        r.x[i * npts + p] = 1.0; r.wk[p] = 0.0; r.wl[p] = 0.0; p += 1
    return 0
