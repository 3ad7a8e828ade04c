"""The adaptive, self-checking step engine behind every finite-difference routine.

For every *element* (one result of one stencil spec, one output of f, one point) the engine

1. **checked first pass** (all elements, 3 step levels ``h0, h0/2, h0/2**1.5`` with
   ``h0 = 4 eps**(1/(p + q + k)) * scale``; the last ratio is irrational so that a periodic f
   cannot alias the three levels by one coincidence): Richardson twice; the error estimate is the larger
   difference between the doubly and the once-extrapolated values (so three levels must agree),
   plus the rounding estimate ``16 eps sum|w f| / h**k``.  An element is converged when
   ``err <= atol + rtol |df|``.  Cost: ``3 x`` the stencil (shared points evaluated once), e.g.
   6 evaluations per coordinate for a central first derivative.
2. **step search** (only the points with an element not converged): the stencil on a geometric
   sequence of steps (factor 2) from ``0.42 |x| / w`` (``w`` the stencil's half-width, so no point
   crosses 0) down to below the rounding limit, ``eps**(1/(k+1)) |x| / 1024`` (about 35 levels for
   a first derivative); a Richardson table of up to 3 extrapolations per level; every entry gets the
   error estimate ``max`` of its differences with its three neighbours in the table plus rounding,
   and the element takes the entry with the smallest.  The search runs on two interleaved
   sequences (offset by a factor sqrt(2)) that must agree, against aliasing of periodic f.  Where ``|x| < 1`` and the element is still
   not converged the search continues upward to steps of 0.5 (functions of scale 1 near 0).
3. **domain edge** (central stencils only): elements still not converged after a stencil point
   returned NaN/inf are searched again with forward and with backward stencils; the better is kept.

Status per element (see :data:`STATUS`): 0 converged, 1 converged with a one-sided stencil after
the central one met NaN/inf, -1 not converged (error estimate above tolerance), -2 NaN/inf met and
the one-sided retry did not converge either, -3 no finite estimate.

All points of all elements of one pass go to the adapter in as few batches as the kernel allows.
"""
import functools
import math

import numpy as np

from fastcalc import _diff, _hessplan, _plans

__all__ = ["STATUS", "CONVERGED", "ONE_SIDED", "NOT_CONVERGED", "DOMAIN_EDGE", "NONFINITE",
           "adaptive", "status_of", "tolerance", "exact_steps", "HessianSpecs", "as_family",
           "run_levels", "fixed_levels", "small_cache", "CACHE_SPECS", "hessian_constants"]

EPS = float(np.finfo(np.float64).eps)
CONVERGED, ONE_SIDED, NOT_CONVERGED, DOMAIN_EDGE, NONFINITE = 0, 1, -1, -2, -3
#: the status codes and what they mean
STATUS = {
    CONVERGED: "converged: the error estimate is within atol + rtol*|df|",
    ONE_SIDED: "converged with a one-sided stencil (the central stencil met NaN/inf: domain edge)",
    NOT_CONVERGED: "not converged: the error estimate is above the tolerance",
    DOMAIN_EDGE: "a stencil point returned NaN/inf and the one-sided retry did not converge",
    NONFINITE: "no finite estimate: the function returned NaN/inf at every step tried",
}
_MAXJ = 3                 # extrapolations per level in the step search
_UPWARD_LEVELS = 30       # levels of the upward search near 0 (|x| < 1)
# first step of the search, times |x| / (stencil half-width): below 0.5 so no stencil point
# crosses 0, and not a round number, so that the halved steps of round x do not line up with the
# periods of round frequencies (aliasing: sin(1e4 x) at x = 1e5 with steps 5e4 / 2**l)
_TOP = 0.5 / 1.1892071150027210   # 0.5 / 2**0.25
_HALF = 0.7071067811865476        # 2**-0.5: the interleaved second sequence


class HessianSpecs:
    """The result specs of a full Hessian of ``n`` variables (rows ``(i, j)``, ``i <= j``, as
    ``("d", i, 2)`` / ``("m", i, j)``) without ``n**2`` tuples: the kernels generate its stencil
    in closed form (:mod:`fastcalc._hessplan`); :meth:`as_tuple` gives the specs for a general
    plan (small n, several points)."""

    __slots__ = ("n", "_tuple")

    def __init__(self, n, specs=None):
        self.n = int(n)
        self._tuple = specs

    def __len__(self):
        return self.n * (self.n + 1) // 2

    def __eq__(self, other):
        return isinstance(other, HessianSpecs) and other.n == self.n

    def __hash__(self):
        return hash(("hessian", self.n))

    def as_tuple(self):
        if self._tuple is None:
            n = self.n
            self._tuple = tuple(("d", i, 2) if i == j else ("m", i, j) for i in range(n)
                                for j in range(i, n))
        return self._tuple

    def rows(self):
        """Row index arrays ``(i, j)`` (nres each)."""
        return np.triu_indices(self.n)


def as_family(specs):
    """``specs``, or a :class:`HessianSpecs` when they are the full Hessian's specs."""
    if isinstance(specs, HessianSpecs) or type(specs) is not tuple or len(specs) < 3:
        return specs
    n = _hessplan.hessian_size(specs)
    return HessianSpecs(n, specs) if n else specs


#: the closed form runs the Hessian above this many evaluations per point whatever the stencil (the
#: general plan is built in Python, one entry per point; it evaluates a point two levels share
#: once, the closed form once per level), and for ONE point when the levels share no point (the
#: default central stencils: same points, same sums to the bit); several points of a small
#: Hessian batch better through the general plan (points innermost across base points)
_CLOSED_ABOVE = 20_000


def _closed(specs, m, meth, accuracy, scales):
    if not isinstance(specs, HessianSpecs):
        return False
    if _hessplan.points_per_point(specs.n, meth, accuracy, len(scales)) > _CLOSED_ABOVE:
        return True
    return m == 1 and not _hessplan.coincident(meth, accuracy, tuple(scales))


def _plain(specs):
    return specs.as_tuple() if isinstance(specs, HessianSpecs) else specs


def run_levels(ev, specs, x2, meth, accuracy, scales, h, dcoord, dvec=None, *, workers=1):
    """Every level's scaled results ``(vals, absv)``, (nout, L, nres, m): the closed-form Hessian
    kernel or the (cached) general plan of ``specs`` (see :func:`_closed`)."""
    scales = tuple(float(v) for v in scales)
    if _closed(specs, x2.shape[1], meth, accuracy, scales):
        return _hessplan.levels(ev, meth, accuracy, scales, x2, np.ascontiguousarray(h),
                                workers)
    plan = _plans.make_plan(_plain(specs), meth, accuracy, len(scales), 2.0, scales)
    return _plans.run_levels(ev, plan, x2, np.ascontiguousarray(h), dcoord, dvec,
                             workers=workers)


def fixed_levels(ev, specs, x2, meth, accuracy, levels, h, dcoord, dvec=None, want_err=False,
                 extrapolate=True, *, workers=1):
    """A fixed stencil with ``levels`` halved step levels, extrapolated: ``(out, err)``
    (nout, nres, m) as :func:`fastcalc._plans.run`."""
    scales = tuple(2.0 ** -l for l in range(levels))
    if _closed(specs, x2.shape[1], meth, accuracy, scales):
        vals, absv = _hessplan.levels(ev, meth, accuracy, scales, x2, np.ascontiguousarray(h),
                                      workers)
        return _plans.extrapolate_levels(vals, absv, accuracy, 2 if meth == 0 else 1, want_err,
                                         extrapolate)
    plan = _plans.make_plan(_plain(specs), meth, accuracy, levels)
    return _plans.run(ev, plan, x2, np.ascontiguousarray(h), dcoord, dvec, None, want_err,
                      extrapolate, workers=workers)


def tolerance(val, rnd, atol, rtol):
    """``atol + rtol |val|``; ``atol=None`` stands for the rounding floor ``2 rnd``: the stencil's
    own rounding estimate where it is negligible against the derivative's natural scale (see
    :func:`_floor_ok`; 0 elsewhere), so a derivative that is 0 up to rounding converges."""
    a = 2.0 * rnd if atol is None else atol
    return a + rtol * np.abs(val)


def status_of(err, val, rnd, atol, rtol):
    """0 where ``err <= tolerance``, -1 where not, -3 where val or err is not finite."""
    st = np.where(err <= tolerance(val, rnd, atol, rtol), CONVERGED, NOT_CONVERGED).astype(np.int32)
    st[~(np.isfinite(val) & np.isfinite(err))] = NONFINITE
    return st


def exact_steps(x2, h, dcoord, method):
    """``h`` (ndir, m) made exactly representable along coordinate directions:
    ``(x + h) - x`` (``x - (x - h)`` for backward stencils)."""
    out = np.array(h, dtype=np.float64, order="C")
    dc = np.asarray(dcoord)
    if len(dc) and (dc >= 0).all():             # coordinate directions: one vectorized pass
        xv = x2[dc]
        out[...] = (xv - (xv - out)) if method == 2 else ((xv + out) - xv)
        return out
    for d, c in enumerate(dcoord):
        if c >= 0:
            xv = x2[c]
            out[d] = (xv - (xv - out[d])) if method == 2 else ((xv + out[d]) - xv)
    return out


def _halfwidth(specs, method, accuracy):
    """Largest node of the stencils (in units of the step)."""
    w = 1.0
    if isinstance(specs, HessianSpecs):
        specs = (("d", 0, 2), ("m", 0, 1))
    for sp in specs:
        k = 1 if sp[0] == "m" else sp[2]
        if k >= 1:
            nodes, _ = _diff.fd_weights(k, ("central", "forward", "backward")[method], accuracy)
            w = max(w, float(np.abs(nodes).max()))
    return w


def small_cache(maxsize, limit, size=len):
    """``functools.lru_cache(maxsize)`` for calls whose first argument has ``size(arg) <= limit``;
    larger ones are recomputed, never kept (a Hessian's spec list grows like n**2: five large
    Hessians kept hundreds of MB alive).  ``cache_clear``/``cache_info`` as lru_cache's."""
    def wrap(fn):
        cached = functools.lru_cache(maxsize=maxsize)(fn)

        @functools.wraps(fn)
        def get(first, *rest):
            return cached(first, *rest) if size(first) <= limit else fn(first, *rest)
        get.cache_clear, get.cache_info = cached.cache_clear, cached.cache_info
        return get
    return wrap


#: the largest spec list kept in a cache: a Hessian of 64 variables
CACHE_SPECS = 64 * 65 // 2


@functools.lru_cache(maxsize=64)
def _wsum(k, method, accuracy):
    """sum |w| of a stencil, and the first-pass step constant of derivative order k."""
    if k == 0:
        return 1.0
    name = ("central", "forward", "backward")[method]
    return float(np.abs(_diff.fd_weights(k, name, accuracy)[1]).sum())


def _spec_info(specs, method, accuracy, rtol):
    """Per spec: derivative order k and the threshold of :func:`_floor_ok`,
    ``ROUND_FACTOR eps sum|w| / rtol``.  A Hessian family: ``(None, (thr_diag, thr_mixed))``
    (:func:`_info_arrays` expands it where needed)."""
    if isinstance(specs, HessianSpecs):
        _, thr = _spec_info_tuple((("d", 0, 2), ("m", 0, 1)), method, accuracy, rtol)
        return None, (float(thr[0]), float(thr[1]))
    return _spec_info_tuple(specs, method, accuracy, rtol)


def _info_arrays(specs, info):
    """``(ks, thr)`` per spec, also for a Hessian family."""
    ks, thr = info
    if ks is not None:
        return ks, thr
    i, j = specs.rows()
    return np.full(len(i), 2.0), np.where(i == j, thr[0], thr[1])


@small_cache(32, CACHE_SPECS)
def _spec_info_tuple(specs, method, accuracy, rtol):
    k = np.empty(len(specs))
    thr = np.empty(len(specs))
    for c, sp in enumerate(specs):
        if sp[0] == "m":
            k[c], W = 2, _wsum(1, method, accuracy) ** 2
        else:
            k[c], W = sp[2], _wsum(sp[2], method, accuracy)
        thr[c] = _plans.ROUND_FACTOR * EPS * W / max(rtol, 1e-300)
    k.flags.writeable = False
    thr.flags.writeable = False
    return k, thr


@small_cache(64, CACHE_SPECS)
def _first_constants(ks, order0, ostep):
    a = np.array([_plans.first_pass_constant(k, order0, ostep) for k in ks])
    a.flags.writeable = False
    return a


@functools.lru_cache(maxsize=64)
def hessian_constants(method, accuracy, rtol):
    """``(c, thr_d, thr_m)`` of one point's checked Hessian first pass (the step constant of
    :func:`_first_pass` and the thresholds of :func:`_floor_ok`), for the Hessian's compiled fast
    path; None when the engine would not take the closed form for one point (levels that share
    a point) or the stencil does not exist."""
    scales = _plans.FIRST_SCALES
    if _hessplan.coincident(method, accuracy, scales):
        return None
    c = float(_first_constants((2,), accuracy, 2 if method == 0 else 1)[0])
    _, thr = _spec_info(HessianSpecs(2), method, accuracy, rtol)
    return c, float(thr[0]), float(thr[1])


def _floor_ok(ratio, k, thr):
    """The rounding floor may serve as atol when ``(h/s)**k >= thr``: the rounding estimate is
    then below ``rtol`` times the derivative scale ``max|f| / s**k`` that f's values set (for any
    f), so only a derivative that is truly 0 up to rounding passes on it."""
    return ratio ** k >= thr


def _spec_ratio(specs, rdir):
    """Per spec (nres, m): its step / natural length scale from the directions' ``rdir``
    (ndir, m); a mixed spec takes the geometric mean of its two directions."""
    if isinstance(specs, HessianSpecs):
        i, j = specs.rows()
        out = np.sqrt(rdir[i] * rdir[j])
        diag = i == j
        out[diag] = rdir[i[diag]]
        return out
    out = np.ones((len(specs), rdir.shape[1]))
    for c, sp in enumerate(specs):
        if sp[0] == "m":
            out[c] = np.sqrt(rdir[sp[1]] * rdir[sp[2]])
        elif sp[2] > 0:
            out[c] = rdir[sp[1]]
    return out


def _first_pass(ev, specs, x2, meth, accuracy, scale, kdir, dcoord, dvec, info, natural,
                workers=1):
    order0, ostep = accuracy, (2 if meth == 0 else 1)
    c = _first_constants(tuple(int(k) for k in kdir), order0, ostep)
    h = exact_steps(x2, c[:, None] * scale, dcoord, meth)
    fine = np.abs(h) * _plans.FIRST_SCALES[2]           # the finest level's steps
    if _closed(specs, x2.shape[1], meth, accuracy, _plans.FIRST_SCALES):
        # the Hessian in closed form: rows, Richardson and the floor test fused in C
        thr = info[1]
        val, err, rnd, bad = _hessplan.first_pass(ev, meth, accuracy, x2, h,
                                                  np.ascontiguousarray(fine / natural), thr[0],
                                                  thr[1], workers)
        return val, err, rnd, bad, h
    vals, absv = run_levels(ev, specs, x2, meth, accuracy, _plans.FIRST_SCALES, h, dcoord, dvec,
                            workers=workers)
    nout, _, nres, m = vals.shape
    D = np.ascontiguousarray(np.moveaxis(vals, 1, 0).reshape(3, -1))
    A = np.ascontiguousarray(np.moveaxis(absv, 1, 0).reshape(3, -1))
    val, err = _plans.richardson3(D, A, order0, ostep)
    bad = ~np.isfinite(D).all(axis=0)
    shp = (nout, nres, m)
    ks, thr = _info_arrays(specs, info)
    ok = _floor_ok(_spec_ratio(specs, fine / natural), ks[:, None], thr[:, None])
    rnd = (_plans.ROUND_FACTOR * EPS * A[2]).reshape(shp) * ok[None]
    return val.reshape(shp), err.reshape(shp), rnd, bad.reshape(shp), h


def _table(vals, absv, order0, ostep, ratio_top, info, specs=None):
    """Best Richardson-table entry per element over the levels of ``vals`` (nout, L, nres, m):
    returns value, error estimate, usable rounding floor and whether a level was not finite,
    each (nout, nres, m).  ``ratio_top`` (nres, m): first step / length scale."""
    nout, L, nres, m = vals.shape
    ks, thr = _info_arrays(specs, info)
    # levels where every stencil value was exactly 0 while other levels saw f != 0: f flat-lined
    # below its own rounding (cos(x) - 1 at tiny steps), no evidence about the derivative
    flat = (absv == 0) & (absv != 0).any(axis=1, keepdims=True)
    vals = np.where(flat, np.nan, vals)
    kk = np.broadcast_to(ks[None, :, None], (nout, nres, m)).reshape(-1)
    tt = np.broadcast_to(thr[None, :, None], (nout, nres, m)).reshape(-1)
    rt = np.broadcast_to(np.broadcast_to(ratio_top, (nres, m))[None], (nout, nres, m)).reshape(-1)
    lev = 2.0 ** -np.arange(L)
    D = np.moveaxis(vals, 1, 0).reshape(L, -1)
    A = np.moveaxis(absv, 1, 0).reshape(L, -1)
    bad = ~np.isfinite(np.where(np.moveaxis(flat, 1, 0).reshape(L, -1), 0.0, D)).all(axis=0)
    T = [D]
    amp = 1.0
    best_v = np.full(D.shape[1], np.nan)
    best_e = np.full(D.shape[1], np.inf)
    best_r = np.zeros(D.shape[1])
    with np.errstate(invalid="ignore", over="ignore"):
        for j in range(1, min(_MAXJ, L - 2) + 1):
            r = 1.0 / (2.0 ** (order0 + (j - 1) * ostep) - 1.0)
            amp *= 1.0 + 2.0 * r
            P = T[-1]
            Tj = np.full_like(D, np.nan)
            Tj[j:] = P[j:] + (P[j:] - P[j - 1:-1]) * r
            T.append(Tj)
            if L < j + 2:
                break
            cur = Tj[j + 1:]
            e = np.maximum(np.abs(cur - P[j + 1:]), np.abs(cur - P[j:-1]))
            e = np.maximum(e, np.abs(cur - Tj[j:-1]))
            rn = _plans.ROUND_FACTOR * EPS * amp * A[j + 1:]
            e = e + rn
            rn = rn * _floor_ok(rt[None, :] * lev[j + 1:, None], kk[None, :], tt[None, :])
            e[~np.isfinite(e) | ~np.isfinite(cur)] = np.inf
            i = np.argmin(e, axis=0)
            cols = np.arange(D.shape[1])
            ce = e[i, cols]
            better = ce < best_e
            best_e = np.where(better, ce, best_e)
            best_v = np.where(better, cur[i, cols], best_v)
            best_r = np.where(better, rn[i, cols], best_r)
    shp = (nout, nres, m)
    return best_v.reshape(shp), best_e.reshape(shp), best_r.reshape(shp), bad.reshape(shp)


def _search(ev, specs, x2, meth, accuracy, top, levels, dcoord, dvec, ratio_top, info,
            workers=1):
    """The stencil on ``levels`` steps ``top / 2**l`` (top: (ndir, m)); best table entries."""
    levels = int(max(3, min(levels, _plans.MAX_LEVELS)))
    h = exact_steps(x2, top, dcoord, meth)
    vals, absv = run_levels(ev, specs, np.ascontiguousarray(x2), meth, accuracy,
                            [2.0 ** -l for l in range(levels)], h, dcoord, dvec,
                            workers=workers)
    return _table(vals, absv, accuracy, 2 if meth == 0 else 1, ratio_top, info, specs)


def _search2(ev, specs, x2, meth, accuracy, top, levels, dcoord, dvec, ratio_top, info,
             workers=1):
    """:func:`_search` on two interleaved step sequences, ``top / 2**l`` and ``top / 2**(l+1/2)``,
    which must agree: a dyadic sequence of steps can alias a periodic function (when the first step
    is close to a multiple of ``2**L`` periods, the stencil values converge smoothly to a wrong
    limit); the two sequences alias together only by a far rarer coincidence.  Value: the one with
    the smaller error; error: the larger error plus the difference."""
    va, ea, ra, ba = _search(ev, specs, x2, meth, accuracy, top, levels, dcoord, dvec,
                             ratio_top, info, workers)
    vb, eb, rb, bb = _search(ev, specs, x2, meth, accuracy, top * _HALF, levels, dcoord, dvec,
                             ratio_top * _HALF, info, workers)
    with np.errstate(invalid="ignore"):
        val = np.where(ea <= eb, va, vb)
        err = np.maximum(ea, eb) + np.abs(va - vb)
    err = np.where(np.isfinite(err), err, np.inf)
    return val, err, np.maximum(ra, rb), ba | bb


def _take(dst, src, cols, rows=None):
    """Per element, keep the estimate with the smaller error: dst/src = (val, err, rnd, bad);
    ``src`` holds the results ``rows`` (all when None) at the points ``cols``."""
    v, e, r, b = dst
    sv, se, sr, sb = src
    ix = np.ix_(np.arange(v.shape[0]), np.arange(v.shape[1]) if rows is None else rows, cols)
    sub_e = e[ix]
    better = se < sub_e
    v[ix] = np.where(better, sv, v[ix])
    r[ix] = np.where(better, sr, r[ix])
    e[ix] = np.where(better, se, sub_e)
    b[ix] |= sb


def _search_groups(fail):
    """(rows, cols) blocks covering the failed results ``fail`` (nres, m): one block of every
    failed row at every failed point when that is dense, else the rows grouped by the set of
    points where they failed (a Hessian batch: each point misses a few entries of its own)."""
    cols = np.flatnonzero(fail.any(axis=0))
    if cols.size == 0:
        return []
    rows = np.flatnonzero(fail[:, cols].any(axis=1))
    if rows.size * cols.size <= 4 * np.count_nonzero(fail) or rows.size == 1:
        return [(rows, cols)]
    groups = {}
    for r in rows:
        c = np.flatnonzero(fail[r])
        groups.setdefault(c.tobytes(), (c, []))[1].append(r)
    return [(np.array(rs), c) for c, rs in groups.values()]


def _subset(specs, rows):
    """The result specs ``rows`` of ``specs`` (a tuple; ``specs`` itself when that is all)."""
    if len(rows) == len(specs):
        return specs
    if isinstance(specs, HessianSpecs):
        i, j = specs.rows()
        return tuple(("d", int(i[r]), 2) if i[r] == j[r] else ("m", int(i[r]), int(j[r]))
                     for r in rows)
    return tuple(specs[r] for r in rows)


def adaptive(ev, specs, x2, meth, accuracy, kdir, dcoord, dvec=None, *, scale1, scale2,
             natural, atol, rtol, workers=1):
    """Run the engine.  ``kdir`` (ndir,): derivative order each direction's step serves;
    ``scale1`` (ndir, m): length scales of the first pass (floored near 0); ``scale2``: the
    unfloored ones of the search (``|x|``; 1 where x is 0); ``natural``: the scale against which
    the rounding floor is judged (:func:`_floor_ok`; ``|x|``, 1 below the step floor).
    ``workers`` (>= 1, validated by the caller): OpenMP threads for compiled callables (the
    points, or the Hessian's row blocks of one point); the results do not depend on it.

    Returns ``(val, err, status, h)``: val/err/status (nout, nres, m), h the first-pass steps.
    """
    m = x2.shape[1]
    with np.errstate(all="ignore"):     # NaN/inf from f are reported per element instead
        return _adaptive(ev, as_family(specs), x2, meth, accuracy, kdir, dcoord, dvec, scale1,
                         scale2, natural, atol, rtol, workers)


def _adaptive(ev, specs, x2, meth, accuracy, kdir, dcoord, dvec, scale1, scale2, natural, atol,
              rtol, workers):
    m = x2.shape[1]
    info = _spec_info(specs, meth, accuracy, rtol)
    val, err, rnd, bad, h = _first_pass(ev, specs, x2, meth, accuracy, scale1, kdir, dcoord, dvec,
                                        info, natural, workers)
    est = (val, err, rnd, bad)
    conv = err <= tolerance(val, rnd, atol, rtol)
    if m == 0 or conv.all():
        return val, err, status_of(err, val, rnd, atol, rtol), h
    kmax = int(max(kdir)) if len(kdir) else 1
    w = _halfwidth(specs, meth, accuracy)
    floor = EPS ** (1.0 / (kmax + 1)) / 1024.0
    levels = math.ceil(math.log2(0.5 / w / floor))

    def search(method, top_of, nlev):
        # only the results that did not converge, at the points where they did not: one
        # coordinate of a 1000-variable gradient searches alone, not with the 999 others
        fail = ~(est[1] <= tolerance(est[0], est[2], atol, rtol))
        for rows, cols in _search_groups(fail.any(axis=0)):
            sub = _subset(specs, rows)
            sub_info = info if sub is specs else _spec_info(sub, meth, accuracy, rtol)
            xs = np.ascontiguousarray(x2[:, cols])
            dv = None if dvec is None else np.ascontiguousarray(dvec[:, :, cols])
            top = top_of(cols)
            res = _search2(ev, sub, xs, method, accuracy, top, nlev, dcoord, dv,
                           _spec_ratio(sub, top / natural[:, cols]), sub_info, workers)
            _take(est, res, cols, None if sub is specs else rows)

    # 1. downward from 0.42 |x| / w
    search(meth, lambda c: _TOP / w * scale2[:, c], levels)
    # 2. upward near 0: steps from 0.42/w down to where the downward search began
    small = (scale2 < 1.0).any(axis=0)
    if small.any():
        search(meth, lambda c: np.full((len(dcoord), len(c)), _TOP / w), _UPWARD_LEVELS)
    val, err, rnd, bad = est
    status = status_of(err, val, rnd, atol, rtol)
    # 3. domain edge: one-sided stencils where NaN/inf was met
    if meth == 0:
        need = bad & (status != CONVERGED)
        if need.any():
            cols = np.flatnonzero(need.any(axis=(0, 1)))
            xs = np.ascontiguousarray(x2[:, cols])
            dv = None if dvec is None else np.ascontiguousarray(dvec[:, :, cols])
            one = None
            for side in (1, 2):
                acc1 = accuracy if accuracy > 1 else 2
                ws = _halfwidth(specs, side, acc1)
                top = _TOP / ws * scale2[:, cols]
                info1 = _spec_info(specs, side, acc1, rtol)
                sv, se, sr, _ = _search2(ev, specs, xs, side, acc1, top, levels, dcoord, dv,
                                         _spec_ratio(specs, top / natural[:, cols]), info1,
                                         workers)
                if one is None:
                    one = [sv, se, sr]
                else:
                    better = se < one[1]
                    one = [np.where(better, a, b) for a, b in zip((sv, se, sr), one)]
            sub = need[:, :, cols]
            ok = sub & (one[1] <= tolerance(one[0], one[2], atol, rtol))
            v_sub, e_sub, st_sub = val[:, :, cols], err[:, :, cols], status[:, :, cols]
            v_sub[ok] = one[0][ok]
            e_sub[ok] = one[1][ok]
            st_sub[ok] = ONE_SIDED
            st_sub[sub & ~ok & np.isfinite(v_sub)] = DOMAIN_EDGE
            val[:, :, cols], err[:, :, cols], status[:, :, cols] = v_sub, e_sub, st_sub
    err = np.where(status == NONFINITE, np.nan, err)
    return val, err, status, h
