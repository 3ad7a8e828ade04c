"""What the optimizers share (package-internal): option tables and their parsing, the evaluators
of fun/jac/hess, starting points, bounds and results.  The public functions live in
:mod:`fastcalc.optimize` and :mod:`fastcalc.critical`; every check goes through
:mod:`fastcalc._validation`."""
import inspect
import warnings

import numpy as np
from scipy.optimize import OptimizeResult

from fastcalc._core import as_evaluator, is_compiled
from fastcalc import _descent as _d
from fastcalc import _multistart as _ms
from fastcalc import _quasi as _q
from fastcalc._validation import (as_args, as_callable, as_choice, as_int, as_options, as_points,
                                  as_real, as_workers)

#: the largest iteration budget accepted (a larger ``maxiter`` is a ValueError naming this limit)
MAXITER_LIMIT = 10 ** 8
#: the most numbers (variables x starts) a multistart or find_critical_points run takes at once
MAX_START_VALUES = 2 * 10 ** 7

FIRST_ORDER = ("gd", "momentum", "nesterov", "adagrad", "rmsprop", "adam")
DESCENT_METHODS = tuple(_d.METHODS)
QUASI_METHODS = ("bfgs", "l-bfgs", "cg", "newton-cg")
#: SciPy's spellings
ALIASES = {"l-bfgs-b": "l-bfgs", "lbfgs": "l-bfgs", "lbfgsb": "l-bfgs"}
METHODS = QUASI_METHODS + DESCENT_METHODS
SCHEDULES = tuple(_d.SCHEDULES)
FD_METHODS = tuple(_d.FD_METHODS)
LINE_SEARCH_METHODS = ("gd", "momentum", "newton")

#: default learning rate (initial step for line searches) per method
DEFAULT_LR = {"gd": 1e-2, "momentum": 1e-2, "nesterov": 1e-2, "adagrad": 1e-1, "rmsprop": 1e-3,
              "adam": 1e-3, "newton": 1.0}
DEFAULT_DECAY = {"constant": 0.0, "step": 0.5, "exponential": 0.99, "inverse_time": 0.01,
                 "cosine": 0.0}

COMMON_OPTIONS = {
    "maxiter": f"maximum number of iterations (at most {MAXITER_LIMIT})",
    "gtol": "stop when max |gradient| <= gtol (projected onto the bounds for l-bfgs)",
    "ftol": "stop when |f_k - f_k+1| <= ftol * max(|f_k|, |f_k+1|, 1)",
    "xtol": "stop when max |step| <= xtol * max(1, max |x|)",
    "c1": "sufficient-decrease constant of the line search",
    "c2": "curvature constant of the strong-Wolfe line search",
    "history": "record the iterates (path) and their values (fun_path)",
    "return_all": "SciPy's name for history (the iterates are also returned as allvecs)",
    "fd_method": "finite differences for jac=None: 'central', 'forward' or 'backward' (second-order "
                 "stencils of fastcalc.gradient)",
    "vectorized": "Python fun/jac/hess take a batch (n, m) and return (m,) / (n, m) / (n, n, m)",
    "disp": "accepted for SciPy compatibility; ignored",
}
DESCENT_OPTIONS = dict(COMMON_OPTIONS, **{
    "lr": "learning rate (initial step of the line search)",
    "momentum": "momentum coefficient (momentum, nesterov)",
    "beta1": "Adam's first-moment decay",
    "beta2": "Adam's second-moment decay",
    "betas": "(beta1, beta2)",
    "eps": "Adam/RMSprop/Adagrad denominator guard",
    "rho": "RMSprop decay",
    "schedule": "learning-rate schedule",
    "decay": "schedule constant (step: factor per step_size, exponential: factor per iteration, "
             "inverse_time: k in lr / (1 + k t))",
    "step_size": "iterations per decay of the 'step' schedule",
    "lr_min": "final learning rate of the 'cosine' schedule",
    "period": "iterations of the 'cosine' schedule (default maxiter)",
    "schedule_per_epoch": "with a MiniBatchGradient jac: the schedule counts epochs, not steps",
    "line_search": "None, 'armijo' or 'wolfe' (gd, momentum, newton)",
    "shrink": "backtracking factor (armijo)",
    "max_backtrack": "maximum halvings per Armijo search / trials per Wolfe search",
    "workers": "threads across the starts of a multistart run (first-order methods; -1: all "
               "cores; default 1)",
})
QUASI_OPTIONS = dict(COMMON_OPTIONS, **{
    "maxcor": "l-bfgs: number of stored correction pairs (default 10)",
    "maxls": "maximum trials per line search (default 20 for l-bfgs, 30 otherwise)",
    "beta": "cg: 'pr+' (Polak-Ribiere+, default) or 'fr' (Fletcher-Reeves)",
    "norm": "accepted for SciPy compatibility: only inf (the max norm) is supported",
})


def canonical_method(method, bounds):
    """The method's canonical name; None is SciPy's default (BFGS, or L-BFGS with bounds)."""
    if method is None:
        return "bfgs" if bounds is None else "l-bfgs"
    if not isinstance(method, str):
        raise TypeError(f"method must be a string, one of {', '.join(METHODS)}; got {method!r}")
    m = ALIASES.get(method.lower(), method.lower())
    return as_choice(m, "method", METHODS)


def maxiter_option(options, default):
    return as_int(options.get("maxiter", default), "maxiter", low=0, high=MAXITER_LIMIT)


def history_option(options):
    return bool(options.get("history", False) or options.get("return_all", False))


def _getter(options):
    """opt(name, default, check): the checked user value, or the default unchecked (the defaults
    are known good; checking them would cost more than the run of a small problem)."""
    def opt(name, default, check, *a, **kw):
        if name in options:
            return check(options[name], name, *a, **kw)
        return default
    return opt


def parse_quasi_options(m, options, tol, n):
    """(o, vectorized) for fastcalc._quasi.QuasiNewton."""
    options = as_options(options, QUASI_OPTIONS)
    opt = _getter(options)
    if tol is not None:
        tol = as_real(tol, "tol", low=0)
    o = {"method": _q.METHODS[m]}
    if m == "cg":
        if opt("beta", "pr+", as_choice, ("pr+", "fr")) == "fr":
            o["method"] = _q.METHODS["cg-fr"]
    elif "beta" in options:
        raise ValueError(f"option 'beta' is for method 'cg', not {m!r}")
    if options.get("norm", np.inf) != np.inf:
        raise ValueError(f"norm must be inf (the max norm), got {options['norm']!r}")
    o["maxiter"] = opt("maxiter", 15000 if m == "l-bfgs" else 200 * n, as_int, low=0,
                       high=MAXITER_LIMIT)
    o["gtol"] = opt("gtol", tol if tol is not None and m != "newton-cg" else 1e-5, as_real, low=0)
    ftol = tol if tol is not None and m == "l-bfgs" else (2.220446049250313e-09 if m == "l-bfgs"
                                                          else 0.0)
    o["ftol"] = opt("ftol", ftol, as_real, low=0)
    o["xtol"] = opt("xtol", tol if tol is not None and m == "newton-cg" else 0.0, as_real, low=0)
    o["c1"] = opt("c1", 1e-4, as_real, low=0, high=1, low_open=True, high_open=True)
    o["c2"] = opt("c2", 0.4 if m == "cg" else 0.9, as_real, low=o["c1"], high=1, low_open=True,
                  high_open=True)
    if o["c2"] <= o["c1"]:
        raise ValueError(f"c2 must be > c1 = {o['c1']}, got {o['c2']}")
    o["maxcor"] = opt("maxcor", 10, as_int, low=1, high=10000)
    o["maxls"] = opt("maxls", 20 if m == "l-bfgs" else 30, as_int, low=1, high=1000)
    o["history"] = history_option(options)
    o["fd_method"] = opt("fd_method", 0, as_choice, _d.FD_METHODS)
    return o, bool(options.get("vectorized", False))


def parse_descent_options(m, options, tol):
    """(o, vectorized) for fastcalc._descent.Descent."""
    options = as_options(options, DESCENT_OPTIONS)
    opt = _getter(options)
    if tol is not None:
        tol = as_real(tol, "tol", low=0)
    o = {"method": _d.METHODS[m]}
    o["lr"] = opt("lr", DEFAULT_LR[m], as_real, low=0, low_open=True)
    o["maxiter"] = opt("maxiter", 200 if m == "newton" else 1000, as_int, low=0,
                       high=MAXITER_LIMIT)
    o["gtol"] = opt("gtol", tol if tol is not None else (1e-8 if m == "newton" else 1e-5),
                    as_real, low=0)
    o["xtol"] = opt("xtol", 0.0, as_real, low=0)
    o["ftol"] = opt("ftol", 0.0, as_real, low=0)
    o["momentum"] = opt("momentum", 0.9 if m in ("momentum", "nesterov") else 0.0, as_real,
                        low=0, high=1, high_open=True)
    if "betas" in options:
        betas = options["betas"]
        if isinstance(betas, (str, bytes)) or np.ndim(betas) != 1 or len(betas) != 2:
            raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}")
        options = dict(options, beta1=betas[0], beta2=betas[1])
        opt = _getter(options)
    o["beta1"] = opt("beta1", 0.9, as_real, low=0, high=1, high_open=True)
    o["beta2"] = opt("beta2", 0.999, as_real, low=0, high=1, high_open=True)
    o["eps"] = opt("eps", 1e-8, as_real, low=0, low_open=True)
    o["rho"] = opt("rho", 0.9, as_real, low=0, high=1, high_open=True)
    sched = options.get("schedule")
    sched = "constant" if sched is None else as_choice(sched, "schedule", SCHEDULES)
    o["schedule"] = _d.SCHEDULES[sched]
    o["decay"] = opt("decay", DEFAULT_DECAY[sched], as_real, low=0)
    if sched in ("step", "exponential") and not (0 < o["decay"] <= 1):
        raise ValueError(f"decay of the {sched!r} schedule must be in (0, 1], got {o['decay']}")
    o["step_size"] = opt("step_size", 100, as_int, low=1)
    o["lr_min"] = opt("lr_min", 0.0, as_real, low=0)
    o["period"] = float(opt("period", max(o["maxiter"], 1), as_int, low=1))
    ls = options.get("line_search", "armijo" if m == "newton" else None)
    ls = "none" if ls is None or ls is False else ("armijo" if ls is True else ls)
    if ls != "none" and ls != "armijo":
        ls = as_choice(ls, "line_search", ("none", "armijo", "wolfe"))
    if ls != "none" and m not in LINE_SEARCH_METHODS:
        raise ValueError(f"line_search={ls!r} is available for methods "
                         f"{', '.join(LINE_SEARCH_METHODS)}, not {m!r}")
    o["line_search"] = ("none", "armijo", "wolfe").index(ls)
    o["c1"] = opt("c1", 1e-4, as_real, low=0, high=1, low_open=True, high_open=True)
    o["c2"] = opt("c2", 0.9, as_real, low=0, high=1, low_open=True, high_open=True)
    if o["line_search"] == 2 and o["c2"] <= o["c1"]:
        raise ValueError(f"c2 must be > c1 = {o['c1']}, got {o['c2']}")
    o["shrink"] = opt("shrink", 0.5, as_real, low=0, high=1, low_open=True, high_open=True)
    o["max_backtrack"] = opt("max_backtrack", 50, as_int, low=0, high=10000)
    o["history"] = history_option(options)
    o["fd_method"] = opt("fd_method", 0, as_choice, _d.FD_METHODS)
    o["fd_accuracy"] = 2
    o["workers"] = opt("workers", 1, as_workers)
    o["schedule_per_epoch"] = bool(options.get("schedule_per_epoch", False))
    return o, bool(options.get("vectorized", False))


def is_python(f):
    return callable(f) and not is_compiled(f)


def shape_checked(func, shape, what, vectorized):
    """Wrap a Python Jacobian/Hessian so a wrong shape is a clear ValueError; returns the flat form
    the adapter expects."""
    size = int(np.prod(shape))

    if vectorized:
        def wrapped(x, *a):
            r = np.asarray(func(x, *a), dtype=np.float64)
            m = x.shape[-1]
            if r.shape != shape + (m,):
                raise ValueError(f"{what} returned shape {r.shape} for {m} points; expected "
                                 f"{shape + (m,)}")
            return r.reshape(size, m)
    else:
        def wrapped(x, *a):
            r = np.asarray(func(x, *a), dtype=np.float64)
            if r.shape != shape and not (r.size == 1 and size == 1):
                raise ValueError(f"{what} returned shape {r.shape}; expected {shape}")
            return r.reshape(size)
    return wrapped


def scalar_valued(func):
    """A Python objective that may return a size-1 array (``lambda x: x**2`` with x of shape
    (1,)): SciPy accepts it, so the adapter gets its one number."""
    def wrapped(x, *a):
        r = func(x, *a)
        if type(r) is float or isinstance(r, np.floating):
            return r
        if isinstance(r, (np.ndarray, list, tuple)):
            ra = np.asarray(r)
            if ra.size == 1 and ra.dtype.kind in "biuf":
                return float(ra.reshape(()))
            if ra.size != 1:
                raise ValueError(f"the function must return a scalar for one point, got an "
                                 f"array of shape {ra.shape}")
        return r
    return wrapped


def combined(fun, n, vectorized):
    """fun returning (f, g) -> a function returning [f, g...] (nout = n + 1)."""
    def wrapped(x, *a):
        r = fun(x, *a)
        if not isinstance(r, (tuple, list)) or len(r) != 2:      # SciPy also takes a list
            raise TypeError("with jac=True, fun must return a tuple (f, g)")
        f, g = r
        g = np.asarray(g, dtype=np.float64)
        if not vectorized:
            fa = np.asarray(f)
            if fa.size != 1 or fa.dtype.kind not in "biuf":
                raise ValueError(f"with jac=True, fun must return a scalar f, got "
                                 f"{type(f).__name__} of shape {fa.shape}")
            f = float(fa.reshape(()))
        if vectorized:
            m = x.shape[-1]
            f = np.asarray(f, dtype=np.float64)
            if f.shape != (m,) or g.shape != (n, m):
                raise ValueError(f"with jac=True, fun returned f of shape {f.shape} and g of shape "
                                 f"{g.shape} for {m} points; expected ({m},) and ({n}, {m})")
            return np.concatenate([f[None, :], g], axis=0)
        if g.shape != (n,) and not (g.size == 1 and n == 1):
            raise ValueError(f"with jac=True, fun returned a gradient of shape {g.shape}; "
                             f"expected ({n},)")
        out = np.empty(n + 1)
        out[0] = f
        out[1:] = g.reshape(n)
        return out
    return wrapped


def evaluators(fun, n, jac, hess, args, vectorized, need_hess, scalar_x):
    """(fev, gev, hev, gmode, hmode) for the kernel, validating the kinds of callable."""
    if not is_compiled(fun):
        as_callable(fun, "fun")
    args = as_args(args)
    gev = hev = None
    if jac is True:
        if not is_python(fun):
            raise TypeError("jac=True needs a Python fun returning (f, g); pass the gradient as "
                            "jac= for built-in and low-level functions")
        fev = as_evaluator(combined(fun, n, vectorized), n=n, nout=n + 1, scalar_out=False,
                           scalar_x=False, vectorized=vectorized, args=args)
        gmode = _d.GRADIENT_MODES["combined"]
    else:
        # a Python fun may return a size-1 array (SciPy accepts it): the adapter converts it
        # (size1) only when the result is not a float, so the common case costs no extra call
        py = is_python(fun)
        fev = as_evaluator(fun, n=n, scalar_x=scalar_x and py, vectorized=vectorized,
                           args=args if args else (), size1=py and not vectorized)
        if jac is None or jac is False or (isinstance(jac, str) and jac in
                                           ("2-point", "3-point", "cs")):
            gmode = _d.GRADIENT_MODES["fd"]
        elif is_compiled(jac) or callable(jac):
            if is_python(jac) and not scalar_x:
                # the adapter checks the shape itself ((n,), or (n, m) vectorized); a wrapper
                # would cost a Python call per gradient.  n == 1 also accepts a scalar.
                jac_c = shape_checked(jac, (n,), "jac", vectorized) if n == 1 else jac
                gev = as_evaluator(jac_c, n=n, nout=n, scalar_out=False, vectorized=vectorized,
                                   args=args)
            elif is_python(jac):
                gev = as_evaluator(jac, n=1, nout=1, scalar_x=True, scalar_out=True,
                                   vectorized=vectorized, args=args, size1=not vectorized)
            else:
                gev = as_evaluator(jac, n=n, nout=n, scalar_out=(n == 1), args=args)
            gmode = _d.GRADIENT_MODES["eval"]
        else:
            raise TypeError(f"jac must be None, True, or a callable, got {type(jac).__name__}")
    if not need_hess:
        return fev, gev, None, gmode, _d.HESSIAN_MODES["none"]
    if hess is None or (isinstance(hess, str) and hess in ("2-point", "3-point", "cs")):
        return fev, gev, None, gmode, _d.HESSIAN_MODES["fd"]
    if is_compiled(hess):
        hev = as_evaluator(hess, n=n, nout=n * n, scalar_out=(n == 1), args=args)
    elif callable(hess):
        if scalar_x:
            hev = as_evaluator(hess, n=1, nout=1, scalar_x=True, scalar_out=True,
                               vectorized=vectorized, args=args, size1=not vectorized)
        else:
            hev = as_evaluator(shape_checked(hess, (n, n), "hess", vectorized), n=n, nout=n * n,
                               scalar_out=False, vectorized=vectorized, args=args)
    else:
        raise TypeError(f"hess must be None or a callable, got {type(hess).__name__}")
    return fev, gev, hev, gmode, _d.HESSIAN_MODES["eval"]


def block_size(n, per_start):
    """Starts per block of the C block loop (fastcalc._multistart.run_blocks): what one step
    touches, about ``per_start`` doubles per start (3 n for the first-order rules: x, the gradient
    and the backup), stays in a 48 KB L1 cache; a multiple of 8 (the tiles of the fused step).
    Measured on 100-D rosenbrock: blocks of 16 starts beat blocks of 144 by ~20 %."""
    return max(8, (40960 // (8 * per_start)) // 8 * 8)


def run_starts(fev, gev, hev, gmode, hmode, X0, o, workers, per_start):
    """Run fastcalc._descent.Descent on the starts X0 (n, k) in L1-sized blocks, on ``workers``
    OpenMP threads when every callable is compiled (Python callables: one thread).  Each start is
    independent of the others, so the results are the same for any ``workers``.  Returns the run
    (its xo, fo, go, nit, status, njev, nhev cover every start)."""
    n, k = X0.shape
    o = dict(o, workers=1)                  # threads across blocks, not inside a step
    bs = min(k, block_size(n, per_start))
    compiled = all(e is None or e.releases_gil for e in (fev, gev, hev))
    nslots = min(workers if compiled else 1, -(-k // bs))
    slots = [_d.Descent(fev, gev, hev, gmode, hmode, X0[:, :bs], o) for _ in range(nslots)]
    return _ms.run_blocks(slots, X0, bs)


def as_x0(x0, name="x0"):
    """x0 as a finite float64 array (any shape; the callers check it)."""
    return as_points(x0, name, vector=False)


def as_bounds(bounds, n, *, finite=False):
    """(lo, hi) float arrays of length n from SciPy's Bounds or a sequence of (low, high) pairs
    (None = unbounded); lo > hi is a ValueError."""
    if hasattr(bounds, "lb") and hasattr(bounds, "ub"):
        lo = np.broadcast_to(np.asarray(bounds.lb, dtype=np.float64), (n,)).copy()
        hi = np.broadcast_to(np.asarray(bounds.ub, dtype=np.float64), (n,)).copy()
    else:
        try:
            b = np.array(bounds, dtype=object)
        except (TypeError, ValueError) as exc:
            raise TypeError("bounds must be a scipy.optimize.Bounds or a sequence of (low, high) "
                            "pairs") from exc
        if b.ndim != 2 or b.shape[1] != 2:
            raise ValueError(f"bounds must have shape (n, 2) ({n} (low, high) pairs), got shape "
                             f"{b.shape}")
        try:
            b = np.array([[-np.inf if p is None else p, np.inf if q is None else q]
                          for p, q in b], dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise TypeError("bounds must hold real numbers or None") from exc
        if b.shape != (n, 2):
            raise ValueError(f"bounds must have {n} (low, high) pairs, got shape {b.shape}")
        lo, hi = b[:, 0].copy(), b[:, 1].copy()
    if np.isnan(lo).any() or np.isnan(hi).any():
        raise ValueError("bounds must not be NaN")
    if finite and not (np.isfinite(lo).all() and np.isfinite(hi).all()):
        raise ValueError("bounds must be finite")
    if np.any(hi < lo):
        i = int(np.flatnonzero(hi < lo)[0])
        raise ValueError(f"bounds are infeasible: they must have low <= high, got "
                         f"{lo[i]} > {hi[i]} for variable {i}")
    return lo, hi


def clip_into(x, lo, hi):
    """x clipped onto [lo, hi], with SciPy's warning when it was outside."""
    if np.any(x < lo) or np.any(x > hi):
        warnings.warn("Initial guess is not within the specified bounds; it is clipped onto them",
                      RuntimeWarning, stacklevel=4)
        return np.clip(x, lo, hi)
    return x


def callback_style(callback):
    """True for callback(intermediate_result), False for callback(xk)."""
    if callback is None:
        return True
    as_callable(callback, "callback")
    try:
        params = list(inspect.signature(callback).parameters)
    except (TypeError, ValueError):
        return False
    return params == ["intermediate_result"]


def result(x, fun, jac, nit, nfev, njev, status, *, nhev=0, sign=1.0, scalar=False):
    """SciPy's OptimizeResult from one start's outputs (fun and jac of the user's f)."""
    s = int(status)
    res = OptimizeResult(
        x=x[0] if scalar else x, fun=sign * float(fun), jac=sign * (jac[0] if scalar else jac),
        nit=int(nit), nfev=int(nfev), njev=int(njev), status=s, success=s in _d.SUCCESS,
        message=_d.MESSAGES[s])
    if nhev:
        res.nhev = int(nhev)
    return res
