"""Complex-step differentiation (Python layer: the adapter evaluates real points only).

``Im f(x + i h e_k) / h`` is df/dx_k without cancellation for a function analytic near x that
carries complex input through; second derivatives take the complex step along one direction and a
real central stencil along the other (:func:`mixed`).  The wrappers check every complex-step result
against a cheap real stencil (:func:`disagrees`), so a function that is not analytic (``abs``,
``.real``, ``math.*``) is reported instead of trusted.  :func:`taylor_contour` computes Taylor
coefficients from an FFT of f on circles in the complex plane (Lyness and Moler).
"""
import numpy as np

from fastcalc._core import is_compiled
from fastcalc import _diff, _plans

__all__ = ["call", "first_error", "jacobian", "mixed", "disagrees", "taylor_contour",
           "accepts_complex", "user_steps", "NOT_ANALYTIC"]

EPS = float(np.finfo(np.float64).eps)
#: status of elements whose complex-step value disagrees with a real stencil
NOT_ANALYTIC = -4


def user_steps(step, n, m, name="step"):
    """Absolute steps from a scalar or per-coordinate array: (n, m), each finite and > 0."""
    try:
        s = np.asarray(step, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a positive number or an array of them") from None
    if s.ndim == 0:
        s = np.full(n, float(s))
    elif s.shape != (n,):
        raise ValueError(f"{name} must be a scalar or have shape ({n},) (one step per coordinate), "
                         f"got shape {s.shape}")
    if not (np.isfinite(s).all() and (s > 0).all()):
        raise ValueError(f"{name} must be finite and > 0")
    return np.ascontiguousarray(np.broadcast_to(s[:, None], (n, m)))


def call(f, xc, args, vectorized, point_shape):
    """Evaluate f at the complex points xc (n, M) (or (M,) for one-variable f)."""
    def call(pt):
        try:
            return f(pt, *args)
        except TypeError as exc:
            if hasattr(exc, "add_note"):      # Python >= 3.11
                exc.add_note("fastcalc: method='complex' needs a function that accepts complex "
                             "input")
            raise

    if xc.shape[-1] == 0:                  # no points: nothing to call
        return np.zeros((1, 0), dtype=np.complex128)
    if vectorized:
        r = np.asarray(call(xc))
        M = xc.shape[-1]
        res = r.reshape(-1, M) if r.ndim >= 1 and r.shape[-1] == M else None
        if res is None:
            raise ValueError(f"the vectorized function returned shape {r.shape} for {M} points")
    else:
        M = xc.shape[-1]
        vals = []
        for q in range(M):
            pt = xc[..., q].copy() if xc.ndim > 1 else complex(xc[q])
            vals.append(np.asarray(call(pt)))
        r0 = vals[0] if vals else np.zeros(point_shape)
        if any(v.shape != r0.shape for v in vals):
            raise ValueError("the function returned values of different shapes")
        res = np.stack([v.reshape(-1) for v in vals], axis=-1) if vals else np.zeros((1, 0))
        r = res
    if not np.iscomplexobj(r):
        raise ValueError("method='complex' needs a function that carries complex input through to "
                         "a complex result; it returned real values (does it use math.*, abs() or "
                         ".real?)")
    return res


def first_error(d, fx, scale):
    """Error estimate of complex-step first derivatives ``d``: rounding in evaluating f, which is
    relative to the size of f's terms rather than to ``|d|`` (``d`` may be small by cancellation):
    ``8 eps (|d| + |f(x)| / scale)`` with ``scale = max(1, |x|_inf) / |v|_inf``."""
    return 8.0 * EPS * (np.abs(d) + np.abs(fx) / scale)


def jacobian(f, x2, args, vectorized, scalar_x, step):
    """Complex-step Jacobian: (nout, n, m), the steps (n, m), the evaluations and the error
    estimate (nout, n, m)."""
    if is_compiled(f):
        raise TypeError("method='complex' needs a Python function that accepts complex input; "
                        "built-in and low-level callables evaluate real points only")
    n, m = x2.shape
    if step is None:
        h = 1e-20 * np.maximum(1.0, np.abs(x2))
    elif isinstance(step, np.ndarray) and step.shape == (n, m):
        h = step                                    # per point, already validated
    else:
        h = user_steps(step, n, m)
    outs = []
    truncs = []
    nout = None
    fx = None                                       # Re f(x + i h e_0) = f(x) to O(h**2)
    for i in range(n):
        xc = x2.astype(np.complex128)
        xc[i] += 1j * h[i]
        res = call(f, xc[0] if scalar_x else xc, args, vectorized, ())
        if nout is None:
            nout = res.shape[0]
        elif res.shape[0] != nout:
            raise ValueError("the function returned a different number of outputs")
        outs.append(res.imag / h[i])
        if fx is None:
            fx = res.real
        if step is not None:
            # a user's step may be large enough for the O(h**2) truncation to show: compare
            # with h/2 (error(h) = 4/3 |D(h) - D(h/2)| asymptotically; 2x for safety)
            xc[i] = x2[i] + 0.5j * h[i]
            res2 = call(f, xc[0] if scalar_x else xc, args, vectorized, ())
            truncs.append(2.0 * np.abs(outs[-1] - res2.imag / (0.5 * h[i])))
    jac = np.stack(outs, axis=1) if outs else np.zeros((1, n, m))
    scale = np.maximum(1.0, np.abs(x2).max(axis=0)) if n else np.ones(m)
    err = first_error(jac, fx[:, None, :] if fx is not None and fx.shape[-1] == m else 0.0, scale)
    if truncs:
        err = err + np.stack(truncs, axis=1)
    return jac, h, n * m * (2 if step is not None else 1), err


def mixed(f, x2, us, ks, args, vectorized, accuracy, step, _check_step=True):
    """Second derivatives by complex step along ``u`` and central differences along ``e_k``.

    ``Im f(x + i*h*u + s*d*e_k) / h`` is the exact derivative along ``u`` at the shifted point (no
    cancellation), so a central stencil in ``s`` over it gives ``d^2 f / (du dx_k)`` with the error
    of a first derivative.  ``us``: list of (n, m) directions, ``ks``: their coordinates.
    Returns (len(us), m) values, the steps d (n, m), the number of evaluations and the error
    estimate (len(us), m).
    """
    if is_compiled(f):
        raise TypeError("method='complex' needs a Python function that accepts complex input; "
                        "built-in and low-level callables evaluate real points only")
    n, m = x2.shape
    nodes, weights = _diff.fd_weights(1, "central", accuracy)
    keep = weights != 0
    nodes, weights = nodes[keep], weights[keep]
    if step is None:
        d = _plans.relative_steps(x2, np.arange(n, dtype=np.intc), EPS ** (1.0 / (accuracy + 1)), 0)
    else:
        d = user_steps(step, n, m)
    scale = np.maximum(1.0, np.abs(x2).max(axis=0)) if n else np.ones(m)
    P = len(us)
    S = len(nodes)
    out = np.zeros((P, m))
    rnd = np.zeros((P, m))          # rounding estimate: eps * sum |w * g| / d
    per_batch = max(1, (1 << 16) // max(1, n * m * S))
    for b0 in range(0, P, per_batch):
        b1 = min(P, b0 + per_batch)
        pts = np.empty((b1 - b0, S, n, m), dtype=np.complex128)
        hs = np.empty((b1 - b0, m))
        for q in range(b0, b1):
            u = us[q]
            umax = np.abs(u).max(axis=0)
            hq = 1e-20 * scale / np.where(umax > 0, umax, 1.0)
            hs[q - b0] = hq
            base = x2 + 1j * hq * u
            for t, sn in enumerate(nodes):
                pts[q - b0, t] = base
                pts[q - b0, t, ks[q]] += sn * d[ks[q]]
        M = (b1 - b0) * S * m
        xc = np.moveaxis(pts, 2, 0).reshape(n, M)
        res = call(f, xc, args, vectorized, ())
        if res.shape[0] != 1:
            raise ValueError("this routine needs a scalar function")
        vals = res[0].imag.reshape(b1 - b0, S, m)
        for q in range(b0, b1):
            out[q] = (weights[:, None] * vals[q - b0]).sum(axis=0) / (hs[q - b0] * d[ks[q]])
            rnd[q] = (EPS * np.abs(weights[:, None] * vals[q - b0]).sum(axis=0)
                      / (hs[q - b0] * d[ks[q]]))
        if P == 0:
            break
    for q in range(P):           # u = 0: the derivative along u is 0
        out[q] = np.where((np.abs(us[q]) > 0).any(axis=0), out[q], 0.0)
    # error estimate: 1e-10 relative (truncation of the real-direction stencil) plus 8x the
    # rounding of g = Im f / h, which is relative to |g| ~ |df/du|, not to the result
    err = 1e-10 * np.abs(out) + 8.0 * rnd
    nfev = P * S * m
    if step is not None and _check_step:
        # a user's step: its truncation shows, compare with half the step (2x the difference)
        half, _, nf2, _ = mixed(f, x2, us, ks, args, vectorized, accuracy,
                                         0.5 * np.asarray(step, dtype=np.float64), False)
        err = err + 2.0 * np.abs(out - half)
        nfev += nf2
    return out, d, nfev, err


def disagrees(cval, cerr, rval, rerr):
    """Elements where the complex-step value ``cval`` and a real-stencil value ``rval`` differ by
    more than 4x their combined error estimates (plus 1e-9 relative): f is not analytic there, or
    ignores the imaginary part."""
    with np.errstate(invalid="ignore"):
        tol = 4.0 * (np.nan_to_num(cerr, nan=0.0) + np.nan_to_num(rerr, nan=np.inf))
        tol = tol + 1e-9 * np.abs(rval)
        return np.abs(cval - rval) > tol


def accepts_complex(f, x0, args, vectorized):
    """True when the Python function f returns a complex value for a complex point near x0."""
    if is_compiled(f):
        return False
    z = np.asarray(x0, dtype=np.complex128).reshape(-1)[:1] + 1e-3j
    try:
        with np.errstate(all="ignore"):
            r = f(z if vectorized else complex(z[0]), *args)
        r = np.asarray(r)
    except (TypeError, ValueError, OverflowError, ZeroDivisionError, AttributeError):
        return False
    return np.iscomplexobj(r) and bool(np.any(r.imag != 0))


def taylor_contour(f, x0, degree, args, vectorized, atol, rtol):
    """Taylor coefficients by the FFT of f on circles ``x0 + r exp(2 pi i k / N)``.

    ``N = max(32, 2**ceil(log2(4 (degree + 1))))`` nodes (so that the mirrored index N - j holds
    only far-aliased terms) on each of 19 radii ``r = 2**-12 .. 2**6``
    times ``max(1, |x0|)``; per coefficient the radius whose value agrees best with its neighbours'
    (error estimate: the larger difference beyond the neighbour's own rounding, plus the rounding ``N eps max|f| / r**j``, plus the
    magnitude of the mirrored negative-frequency coefficient, which is 0 for analytic f up to
    aliasing and so measures non-analyticity; a circle whose negative frequencies reach 1e-3 of
    the positive ones encloses a singularity and is not used).  Returns ``(coef, err, rnd, nfev)``: coefficients,
    error estimates and their rounding parts, shape (degree + 1, m).
    """
    x0 = np.asarray(x0, dtype=np.float64).reshape(-1)
    m = x0.size
    N = max(32, 1 << int(np.ceil(np.log2(4 * (degree + 1)))))
    radii = 2.0 ** np.arange(-12, 7)
    scale = np.maximum(1.0, np.abs(x0))
    theta = np.exp(2j * np.pi * np.arange(N) / N)
    R = len(radii)
    z = x0[None, None, :] + (radii[:, None, None] * scale[None, None, :]) * theta[None, :, None]
    with np.errstate(all="ignore"):
        vals = call(f, z.reshape(-1), args, vectorized, ())[0].reshape(R, N, m)
    c = np.fft.fft(vals, axis=1) / N               # c[i, j] ~ a_j (r_i scale)**j
    j = np.arange(degree + 1)
    rj = (radii[:, None, None] * scale[None, None, :]) ** j[None, :, None]
    with np.errstate(all="ignore"):
        a = c[:, :degree + 1, :] / rj
        mirror = np.abs(c[:, (N - j) % N, :]) / rj
        mirror[:, 0, :] = 0.0
        fmax = np.abs(vals).max(axis=1)             # (R, m)
        rnd = N * EPS * fmax[:, None, :] / rj
        a_re = a.real
        best_v = np.full((degree + 1, m), np.nan)
        best_e = np.full((degree + 1, m), np.inf)
        best_r = np.zeros((degree + 1, m))
        # a circle that encloses a singularity gives Laurent terms: negative frequencies as large
        # as the positive ones (for analytic f they are aliasing only, many orders smaller)
        half = N // 2
        pos = np.abs(c[:, :half, :]).max(axis=1)
        neg = np.abs(c[:, half + 1:, :]).max(axis=1)
        enclosed = neg > 1e-3 * pos                       # (R, m)
        for i in range(1, R - 1):
            # a neighbour's difference beyond what its own rounding explains
            e = np.maximum(np.maximum(np.abs(a[i] - a[i - 1]) - rnd[i - 1], 0.0),
                           np.maximum(np.abs(a[i] - a[i + 1]) - rnd[i + 1], 0.0))
            e = e + rnd[i] + mirror[i] + np.abs(a[i].imag)
            e[:, enclosed[i - 1] | enclosed[i] | enclosed[i + 1]] = np.inf
            e[~np.isfinite(e) | ~np.isfinite(a_re[i])] = np.inf
            better = e < best_e
            best_e = np.where(better, e, best_e)
            best_v = np.where(better, a_re[i], best_v)
            best_r = np.where(better, rnd[i], best_r)
    return best_v, best_e, best_r, R * N * m
