"""cubature: adaptive integration over hyper-rectangles (boxes).

Error estimate of a region: the difference between its rule and the embedded one
(Gauss--Kronrod 21 vs Gauss 10 per axis; Genz--Malik degree 7 vs 5), checked by a ratio
test in the manner of DCUHRE's null rules (Berntsen, Espelid and Genz 1991): two more
rules of lower degree on subsets of the same nodes (gk21: the 11 Kronrod-only nodes and 5
of them; Genz--Malik: the centre and corners, degree 3, and the centre alone).  When the
differences shrink fast with the degree (a smooth integrand in its asymptotic regime) the
embedded difference stands; when they do not (a kink, jump or unresolved peak, where all
the rules err alike and one difference may vanish by cancellation) the region's error is
widened (gk21: the larger of the two 10-node differences times up to 4; Genz--Malik:
twice the larger of its two).  When a region is split, its children together are charged
at least the change from its estimate to theirs (two levels agreeing, region by region:
it catches a kink that all of a region's rules miss at once between their shared nodes).
Never below the rounding of the weighted sum (``50 eps sum |w f|``).
Genz--Malik adds a boundary check: both embedded rules are blind to a kink or jump in the
outer strip of a region (beyond its outermost nodes, 2.5% of its width on each side), so
its 2*ndim face centres are evaluated too, and the mismatch between the value there and the
degree-4 extrapolation of the values on that axis (its even part, which is O(h**6) for smooth
integrands) is charged at (1 - sqrt(9/10)) of the region's volume, the most a jump in the
strip can change the integral (twice a kink's); the split axis is where that mismatch or
the fourth difference is largest; regions are cut off the dyadic grid (at 0.47 of their
width).  Tested on Genz's families (continuous, oscillatory, product/corner peak, Gaussian,
discontinuous; 20 random parameter sets each, 2-D and 3-D at rtol 1e-2, 1e-3, 1e-4 and
1e-6, up to 5-D at 1e-6): a "converged" run is within its reported error.  Loose
tolerances cost more than the embedded estimate alone would (a kink at rtol 1e-2 in 3-D:
about 3x the evaluations), tight ones about the same.
"""
import warnings

import numpy as np

from fastcalc import _cubature
from fastcalc._core import is_compiled
from fastcalc._validation import as_args, as_choice, as_int, as_real, as_workers
from fastcalc.integrate.shared import IntegrationWarning

__all__ = ["cubature", "CubatureResult", "CubatureRegion"]



#: most dimensions of a box: the Genz-Malik rule places 2**ndim + O(ndim**2) nodes per region
MAX_NDIM = 26
_MAPS = _cubature.MAPS


class CubatureRegion:
    """One subregion of a cubature run (``estimate``, ``error``, ``a``, ``b``)."""

    __slots__ = ("estimate", "error", "a", "b")

    def __init__(self, estimate, error, a, b):
        self.estimate, self.error, self.a, self.b = estimate, error, a, b

    def __repr__(self):
        return f"CubatureRegion(estimate={self.estimate!r}, error={self.error!r}, a={self.a!r}, b={self.b!r})"


class CubatureResult:
    """Result of :func:`cubature`: ``estimate``, ``error``, ``status`` ("converged" or
    "not_converged"), ``message`` (why it stopped), ``subdivisions``, ``atol``, ``rtol``,
    ``nfev`` and ``regions`` (built on first access; in the transformed variables when a limit is
    infinite)."""

    def __init__(self, estimate, error, status, subdivisions, atol, rtol, nfev, state, oshape):
        self.estimate = estimate
        self.error = error
        self.status = status
        self.subdivisions = subdivisions
        self.atol = atol
        self.rtol = rtol
        self.nfev = nfev
        self._state = state
        self._oshape = oshape
        self._regions = None
        self.message = ""

    @property
    def success(self):
        return self.status == "converged"

    @property
    def regions(self):
        if self._regions is None:
            self._regions = [CubatureRegion(e.reshape(self._oshape), r.reshape(self._oshape), a, b)
                             for a, b, e, r in self._state.regions()]
        return self._regions

    def __repr__(self):
        return (f"CubatureResult(estimate={self.estimate!r}, error={self.error!r}, "
                f"status={self.status!r}, subdivisions={self.subdivisions}, nfev={self.nfev})")


def _maps(lo, hi):
    """The map of each axis (finite, or an infinite range onto a finite one) and the box in the
    mapped variables."""
    d = lo.size
    transform = np.zeros(d, dtype=np.intc)
    xa = np.zeros(d)
    ta = lo.copy()
    tb = hi.copy()
    if np.isfinite(lo).all() and np.isfinite(hi).all():     # (a finite box: no map)
        return transform, xa, ta, tb
    for i in range(d):
        if np.isinf(lo[i]) and np.isinf(hi[i]):
            transform[i], ta[i], tb[i] = _MAPS["both"], -1.0, 1.0
        elif np.isinf(hi[i]):
            transform[i], xa[i], ta[i], tb[i] = _MAPS["upper"], lo[i], 0.0, 1.0
        elif np.isinf(lo[i]):
            transform[i], xa[i], ta[i], tb[i] = _MAPS["lower"], hi[i], 0.0, 1.0
    return transform, xa, ta, tb


#: default evaluation budget of cubature (seconds of a vectorized NumPy integrand)
MAXEVAL = 10_000_000
_MESSAGES = {
    "converged": "The estimate converged: error within the tolerance and agreeing with the "
                 "estimate on half as many regions.",
    "max_subdivisions": "max_subdivisions was reached before the tolerance was met.",
    "maxeval": "The evaluation budget (maxeval) was spent before the tolerance was met (the "
               "next round would overrun it; in 4 or more dimensions rule='genz-malik' places "
               "far fewer nodes per region).",
    "stalled": "Subdivision stalled: the error estimate shrinks too slowly to meet the tolerance "
               "within the budget (a kink or singularity inside the box?); stopped early.",
}
_REASON_NAMES = {code: name for name, code in _cubature.REASONS.items()}


#: points per task when a map-like ``workers`` evaluates a Python integrand
MAP_CHUNK = 2048


class _Chunk:
    """``f(x, *args)`` on one chunk of points (a picklable task for a process pool's map)."""

    def __init__(self, f, args):
        self.f, self.args = f, args

    def __call__(self, x):
        return np.asarray(self.f(x, *self.args))


def _mapped(f, args, mapper):
    """``f`` over all the points of a round, as ``mapper(task, chunks)`` (SciPy's map-like
    ``workers``); the values come back in the points' order."""
    task = _Chunk(f, args)

    def call(x):
        chunks = np.array_split(x, max(1, -(-x.shape[0] // MAP_CHUNK)))
        return np.concatenate([np.asarray(v) for v in mapper(task, chunks)], axis=0)
    return call


def _complex(f, a, b, kwargs):
    """A complex integrand: real and imaginary parts as a trailing output axis of 2."""
    def fri(x, *args_):
        v = np.asarray(f(x, *args_))
        return np.stack([v.real, v.imag], axis=-1)
    res = cubature(fri, a, b, **kwargs)
    est = np.asarray(res.estimate)
    err = np.asarray(res.error)
    res.estimate = (est[..., 0] + 1j * est[..., 1])[()]
    res.error = (err[..., 0] + err[..., 1])[()]
    return res


def _box(a, b):
    """The limits as two 1-D float arrays of the same size."""
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    a, b = np.broadcast_arrays(a, b)
    if a.size == 0 or b.size == 0:
        raise ValueError("`a` and `b` must be nonempty")
    if a.ndim != 1 or b.ndim != 1:
        raise ValueError("`a` and `b` must be 1D arrays")
    if np.isnan(a).any() or np.isnan(b).any():
        raise ValueError("`a` and `b` must not contain NaN")
    return a, b


def _python_integrand(f, args, lo, hi, mapper):
    """(g, nout, output shape, vectorized) for a Python ``f``: one probe at the centre gives the
    output shape; ``g`` takes the adapter's (ndim, m) points.  None when ``f`` is complex."""
    d = lo.size
    if np.isfinite(lo).all() and np.isfinite(hi).all():
        centre = 0.5 * (lo + hi)
    else:
        centre = np.zeros(d)
        for i in range(d):
            if np.isfinite(lo[i]) and np.isfinite(hi[i]):
                centre[i] = 0.5 * (lo[i] + hi[i])
            elif np.isfinite(lo[i]):
                centre[i] = lo[i] + 1.0
            elif np.isfinite(hi[i]):
                centre[i] = hi[i] - 1.0
    probe = np.asarray(f(centre.reshape(1, d), *args))
    if probe.dtype.kind == "c":
        return None
    if probe.ndim < 1 or probe.shape[0] != 1:
        raise ValueError(f"f must return an array of shape (npoints, ...); for 1 point it "
                         f"returned shape {probe.shape}")
    oshape = probe.shape[1:]
    nout = int(np.prod(oshape, dtype=np.int64)) if oshape else 1
    if mapper is not None:
        call = _mapped(f, args, mapper)
    else:
        def call(x):                # (no _Chunk layer in between: it costs at small sizes)
            return np.asarray(f(x, *args))
    if nout == 1:
        def g(X):
            return call(X.T).reshape(X.shape[1])
    else:
        def g(X):
            return call(X.T).reshape(X.shape[1], nout).T
    return g, nout, oshape, True


def cubature(f, a, b, *, rule="gk21", rtol=1e-8, atol=0, max_subdivisions=10000, args=(),
             workers=1, points=None, maxeval=MAXEVAL):
    """Adaptive cubature over a hyper-rectangle, with :func:`scipy.integrate.cubature`'s
    conventions.

    ``f(x, *args)`` gets ``x`` of shape ``(npoints, ndim)`` (points first) and returns
    ``(npoints, *output_shape)``; built-in n-variable functions and LowLevelCallables of
    signature ``double (int, double *)`` are evaluated in C.  The adaptive loop runs in C: a
    max-heap of regions by error; each round splits the worst region and every region within a
    factor 4 of it, and evaluates all their nodes with ONE call of ``f``.  ``rule`` is "gk21"
    (default, 21-point Gauss--Kronrod product rule, regions split in 2**ndim), "gk15" or
    "genz-malik" (degree 7 with embedded degree 5, 2 <= ndim; regions halved along the axis of
    largest fourth difference).  Infinite limits are mapped to finite ones.  Rule objects and
    ``points`` are delegated to SciPy.

    ``workers`` (SciPy's convention): an int, the number of threads (-1: all cores) that
    evaluate each round's nodes of a compiled integrand (built-ins, LowLevelCallables), in chunks
    of 2048 nodes, the GIL released; a Python integrand keeps one thread.  Or a map-like
    callable (``multiprocessing.Pool.map``, ``concurrent.futures.Executor.map``): a Python
    integrand is mapped with it over chunks of each round's nodes, ``workers(func, chunks)``
    (``f`` must then be picklable for a process pool); a compiled one ignores it.  Results are
    the same, bit for bit, for every ``workers``.

    Budgets and honesty: the run stops at ``max_subdivisions`` (default 10,000), before it
    would make more than ``maxeval`` evaluations of ``f`` (keyword-only, default 10,000,000; None
    for no limit; a round splits only the regions the budget pays for), and early when
    subdivision stalls (the error shrinks too slowly to reach the tolerance within the budget,
    as at kinks).  "converged" needs the error estimate within the tolerance and two levels that
    agree: after at least one round, the estimate agrees within the tolerance with the one on
    about half as many subdivisions (from 16 subdivisions on, with the one at the checkpoint
    before the last); that change joins the reported error.  Only a product rule ("gk21",
    "gk15") may converge on its first region alone, and only when the ratio test below finds
    it resolved (an analytic integrand; say 441 nodes in 2-D).  A run that did not converge
    reports twice the error (its embedded estimates are not yet reliable), at least twice its
    last round's change.  ``message`` says why the run stopped ("not_converged": the budget
    was spent, or subdivision stalled).  An integrand that is 0 at every node so far is
    subdivided until two levels agree (a narrow peak may still be missed: a warning says so).

    How each region's error is estimated (a ratio test against lower-degree rules, children
    charged their parent's change, Genz--Malik's face-centre check) and how it was tested: the
    notes of :mod:`fastcalc.integrate.boxes`.

    Returns
    -------
    CubatureResult
        ``estimate``, ``error``, ``status``, ``subdivisions``, ``regions``, ``atol``, ``rtol``.

    Raises
    ------
    FloatingPointError
        When ``f`` returns NaN or inf at a node.

    Warns
    -----
    IntegrationWarning
        When ``f`` was 0 at every node (a narrow peak may have been missed).

    Examples
    --------
    >>> import numpy as np, fastcalc as fc
    >>> res = fc.cubature(lambda x: np.exp(-np.sum(x**2, axis=-1)), [0, 0], [1, 1])
    >>> res.status, round(float(res.estimate), 12)
    ('converged', 0.557746285351)
    """
    if points is not None or not isinstance(rule, str):
        import scipy.integrate
        return scipy.integrate.cubature(f, a, b, rule=rule, rtol=rtol, atol=atol,
                                        max_subdivisions=max_subdivisions, args=args,
                                        workers=workers, points=points)
    code = as_choice(rule, "rule", _cubature.RULES)
    a, b = _box(a, b)
    rtol = as_real(rtol, "rtol", low=0.0)
    atol = as_real(atol, "atol", low=0.0)
    max_subdivisions = 2**62 if max_subdivisions is None else \
        as_int(max_subdivisions, "max_subdivisions", low=0)
    maxeval = 0 if maxeval is None else as_int(maxeval, "maxeval", low=1)
    args = as_args(args)
    if callable(workers):
        mapper, nthreads = workers, 1
    else:
        mapper, nthreads = None, as_workers(workers)
    d = a.size
    if d > MAX_NDIM:
        raise ValueError(f"a and b describe a box of {d} dimensions; cubature supports at most "
                         f"{MAX_NDIM} (its rules place 2**ndim nodes per region or more)")
    if code == _cubature.RULES["genz-malik"] and d < 2:
        raise ValueError("rule='genz-malik' needs at least 2 dimensions")
    if maxeval and maxeval < _cubature.rule_nodes(code, d):
        raise ValueError(f"maxeval={maxeval} is less than the {_cubature.rule_nodes(code, d)} "
                         f"nodes of one region of rule {rule!r} in {d} dimensions")
    sign = -1.0 if np.count_nonzero(a > b) % 2 else 1.0
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    transform, xa, ta, tb = _maps(lo, hi)
    if is_compiled(f):
        g, nout, oshape, vec = f, 1, (), False
        if args:
            raise TypeError("args cannot be passed to a compiled integrand in cubature; use a "
                            "'double (int, double *)' LowLevelCallable and nquad, or a closure")
    else:
        g = _python_integrand(f, args, lo, hi, mapper)
        if g is None:
            return _complex(f, a, b, dict(rule=rule, rtol=rtol, atol=atol, args=args,
                                          max_subdivisions=max_subdivisions, maxeval=maxeval,
                                          workers=workers))
        g, nout, oshape, vec = g
    est, err, conv, subdiv, nfev, state, reason = _cubature.cubature_run(
        g, np.ascontiguousarray(ta), np.ascontiguousarray(tb), nout, code, rtol, atol,
        int(min(max_subdivisions, 2**62)), vec, (), transform, xa, 512, maxeval, nthreads)
    if not est.any() and not err.any() and (lo < hi).all():   # (a zero-width region is 0)
        warnings.warn(f"The integrand was 0 at every one of the {nfev} nodes sampled; the "
                      "estimate 0 is not confirmed (a narrow peak may have been missed).",
                      IntegrationWarning, stacklevel=2)
    est = sign * est.reshape(oshape)
    err = err.reshape(oshape)
    status = "converged" if conv else "not_converged"
    res = CubatureResult(est[()] if est.ndim == 0 else est, err[()] if err.ndim == 0 else err,
                         status, int(subdiv), atol, rtol, int(nfev), state, oshape)
    res.message = _MESSAGES[_REASON_NAMES[reason]]
    return res
