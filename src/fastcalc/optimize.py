"""Gradient-descent family, Newton's method, multi-start and critical points, with loops in C.

Every routine returns a :class:`scipy.optimize.OptimizeResult`.  The loops live in
:mod:`fastcalc._descent`: the gradients of all (active) starts are evaluated as ONE batch through the
callable protocol, and when the objective and its derivatives are built-in
(:mod:`fastcalc.functions`) or low-level callables the whole run happens in C without the GIL.

Methods (``g`` the gradient at the iterate, ``lr`` the scheduled learning rate):

* ``"gd"``: ``x -= lr g``;
* ``"momentum"`` (heavy ball): ``v = mu v - lr g; x += v``;
* ``"nesterov"``: the same with the gradient at the look-ahead point; the iterate reported is the
  look-ahead point ``x + mu v`` (so one gradient per step);
* ``"adagrad"``: ``s += g^2; x -= lr g / (sqrt(s) + eps)``;
* ``"rmsprop"``: ``s = rho s + (1 - rho) g^2; x -= lr g / (sqrt(s) + eps)``;
* ``"adam"``: bias-corrected first and second moments (``beta1``, ``beta2``, ``eps``);
* ``"newton"``: ``H d = -g`` with a modified Cholesky factorization (``H + tau I``, the shift
  doubled once more when ``H`` is not positive definite; a gradient step when that fails), damped
  by the Armijo line search starting at ``lr = 1``.

With ``line_search="armijo"`` (gd, momentum, newton) the step along ``-g`` (momentum:
``v = mu v - g``; a non-descent direction is replaced by ``-g``) is halved from ``lr`` until
``f(x + a d) <= f(x) + c1 a g.d``.  When nothing requires ``f`` at every iterate, it is evaluated
every 32 iterations to watch for divergence and remember the best point.
"""
import inspect
import math
import numbers

import numpy as np
from scipy.optimize import OptimizeResult

from fastcalc._core import Function, as_evaluator, is_compiled
from fastcalc import _descent as _d

__all__ = ["minimize", "gradient_descent", "multistart", "classify_critical_point"]

METHODS = tuple(_d.METHODS)
SCHEDULES = tuple(_d.SCHEDULES)
FD_METHODS = tuple(_d.FD_METHODS)

#: default learning rate (initial step for line searches) per method
_DEFAULT_LR = {"gd": 1e-2, "momentum": 1e-2, "nesterov": 1e-2, "adagrad": 1e-1, "rmsprop": 1e-3,
               "adam": 1e-3, "newton": 1.0}
_DEFAULT_DECAY = {"constant": 0.0, "step": 0.5, "exponential": 0.99, "inverse_time": 0.01,
                  "cosine": 0.0}

_OPTIONS = {
    "lr": "learning rate (initial step of the line search)",
    "maxiter": "maximum number of iterations",
    "gtol": "stop when max |gradient| <= gtol",
    "xtol": "stop when max |step| <= xtol * max(1, max |x|)",
    "ftol": "stop when |f_k - f_k+1| <= ftol * max(|f_k|, |f_k+1|, 1)",
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
    "line_search": "None or 'armijo' (gd, momentum, newton)",
    "c1": "Armijo sufficient-decrease constant",
    "shrink": "backtracking factor",
    "max_backtrack": "maximum halvings per line search",
    "history": "record the iterates (path) and their values (fun_path)",
    "fd_method": "finite differences for jac=None: 'central', 'forward' or 'backward' (second-order "
                 "stencils of fastcalc.gradient)",
    "vectorized": "Python fun/jac/hess take a batch (n, m) and return (m,) / (n, m) / (n, n, m)",
    "workers": "threads across the starts of a multistart run (built-in gradients, first-order "
               "methods; -1: all cores; default 1)",
    "disp": "accepted for SciPy compatibility; ignored",
}

_LS_METHODS = ("gd", "momentum", "newton")


def _option_error(name):
    valid = ", ".join(sorted(_OPTIONS))
    return ValueError(f"unknown option {name!r}; valid options are: {valid}")


def _finite_number(name, v, *, low=None, high=None, low_open=False, high_open=False, integer=False):
    v = _finite_number_(name, v, low=low, high=high, low_open=low_open, high_open=high_open,
                        integer=integer)
    if integer and v > 2 ** 62:
        raise ValueError(f"{name} is too large: {v}")
    return v


def _finite_number_(name, v, *, low, high, low_open, high_open, integer):
    t = type(v)
    if t is not float and t is not int:             # the ABC checks only off the fast path
        if isinstance(v, bool) or not isinstance(v, numbers.Real):
            raise TypeError(f"{name} must be a real number, got {type(v).__name__}")
    if integer:
        if t is not int and not isinstance(v, numbers.Integral) and not float(v).is_integer():
            raise TypeError(f"{name} must be an integer, got {v!r}")
        v = int(v)
    else:
        v = float(v)
        if not math.isfinite(v):
            raise ValueError(f"{name} must be finite, got {v}")
    if low is not None and (v < low or (low_open and v == low)):
        raise ValueError(f"{name} must be {'>' if low_open else '>='} {low}, got {v}")
    if high is not None and (v > high or (high_open and v == high)):
        raise ValueError(f"{name} must be {'<' if high_open else '<='} {high}, got {v}")
    return v


def _parse_options(method, options, tol):
    if not isinstance(method, str):
        raise TypeError(f"method must be a string, got {type(method).__name__}")
    m = method.lower()
    if m not in _d.METHODS:
        raise ValueError(f"unknown method {method!r}; valid methods are: {', '.join(METHODS)}")
    if options is not None and not isinstance(options, dict):
        raise TypeError(f"options must be a dict, got {type(options).__name__}")
    options = {} if options is None else dict(options)
    for k in options:
        if k not in _OPTIONS:
            raise _option_error(k)
    o = {}
    o["lr"] = _finite_number("lr", options.get("lr", _DEFAULT_LR[m]), low=0, low_open=True)
    o["maxiter"] = _finite_number("maxiter", options.get("maxiter", 200 if m == "newton" else 1000),
                                  low=0, integer=True)
    gtol = options.get("gtol", tol if tol is not None else (1e-8 if m == "newton" else 1e-5))
    o["gtol"] = _finite_number("gtol", gtol, low=0)
    o["xtol"] = _finite_number("xtol", options.get("xtol", 0.0), low=0)
    o["ftol"] = _finite_number("ftol", options.get("ftol", 0.0), low=0)
    o["momentum"] = _finite_number("momentum", options.get("momentum", 0.9 if m in
                                   ("momentum", "nesterov") else 0.0), low=0, high=1, high_open=True)
    betas = options.get("betas", (options.get("beta1", 0.9), options.get("beta2", 0.999)))
    if isinstance(betas, (str, bytes)) or np.ndim(betas) != 1 or len(betas) != 2:
        raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}")
    b1, b2 = betas
    o["beta1"] = _finite_number("beta1", b1, low=0, high=1, high_open=True)
    o["beta2"] = _finite_number("beta2", b2, low=0, high=1, high_open=True)
    o["eps"] = _finite_number("eps", options.get("eps", 1e-8), low=0, low_open=True)
    o["rho"] = _finite_number("rho", options.get("rho", 0.9), low=0, high=1, high_open=True)
    sched = options.get("schedule", "constant")
    if sched is None:
        sched = "constant"
    if not isinstance(sched, str) or sched not in _d.SCHEDULES:
        raise ValueError(f"unknown schedule {sched!r}; valid schedules are: {', '.join(SCHEDULES)}")
    o["schedule"] = _d.SCHEDULES[sched]
    o["decay"] = _finite_number("decay", options.get("decay", _DEFAULT_DECAY[sched]), low=0)
    if sched in ("step", "exponential") and not (0 < o["decay"] <= 1):
        raise ValueError(f"decay of the {sched!r} schedule must be in (0, 1], got {o['decay']}")
    o["step_size"] = _finite_number("step_size", options.get("step_size", 100), low=1, integer=True)
    o["lr_min"] = _finite_number("lr_min", options.get("lr_min", 0.0), low=0)
    o["period"] = float(_finite_number("period", options.get("period", max(o["maxiter"], 1)),
                                       low=1, integer=True))
    ls = options.get("line_search", "armijo" if m == "newton" else None)
    if ls in (None, False, "none"):
        o["line_search"] = 0
    elif ls in ("armijo", True):
        if m not in _LS_METHODS:
            raise ValueError(f"line_search='armijo' is available for methods "
                             f"{', '.join(_LS_METHODS)}, not {m!r}")
        o["line_search"] = 1
    else:
        raise ValueError(f"line_search must be None or 'armijo', got {ls!r}")
    o["c1"] = _finite_number("c1", options.get("c1", 1e-4), low=0, high=1, low_open=True,
                             high_open=True)
    o["shrink"] = _finite_number("shrink", options.get("shrink", 0.5), low=0, high=1,
                                 low_open=True, high_open=True)
    o["max_backtrack"] = _finite_number("max_backtrack", options.get("max_backtrack", 50), low=0,
                                        integer=True)
    o["history"] = bool(options.get("history", False))
    fdm = options.get("fd_method", "central")
    if fdm not in _d.FD_METHODS:
        raise ValueError(f"fd_method must be one of {', '.join(FD_METHODS)}, got {fdm!r}")
    o["fd_method"] = _d.FD_METHODS[fdm]
    o["fd_accuracy"] = 2
    workers = options.get("workers", 1)
    if workers == -1:
        import os
        workers = os.cpu_count() or 1
    o["workers"] = _finite_number("workers", workers, low=1, integer=True)
    o["method"] = _d.METHODS[m]
    vectorized = bool(options.get("vectorized", False))
    return m, o, vectorized


def _is_python(f):
    return callable(f) and not is_compiled(f)


def _shape_checked(func, shape, what, vectorized):
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


def _scalar_valued(func):
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


def _combined(fun, n, vectorized):
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


def _evaluators(fun, n, jac, hess, args, vectorized, need_hess, scalar_x):
    """(fev, gev, hev, gmode, hmode) for the kernel, validating the kinds of callable."""
    if not callable(fun) and not is_compiled(fun):
        raise TypeError(f"fun must be callable, got {type(fun).__name__}")
    args = tuple(args) if isinstance(args, (tuple, list)) else (args,)
    gev = hev = None
    if jac is True:
        if not _is_python(fun):
            raise TypeError("jac=True needs a Python fun returning (f, g); pass the gradient as "
                            "jac= for built-in and low-level functions")
        fev = as_evaluator(_combined(fun, n, vectorized), n=n, nout=n + 1, scalar_out=False,
                           scalar_x=False, vectorized=vectorized, args=args)
        gmode = _d.GRADIENT_MODES["combined"]
    else:
        if _is_python(fun) and not vectorized:
            fun = _scalar_valued(fun)
        fev = as_evaluator(fun, n=n, scalar_x=scalar_x and _is_python(fun),
                           vectorized=vectorized, args=args if args else ())
        if jac is None or jac is False or (isinstance(jac, str) and jac in
                                           ("2-point", "3-point", "cs")):
            gmode = _d.GRADIENT_MODES["fd"]
        elif is_compiled(jac) or callable(jac):
            if _is_python(jac) and not scalar_x:
                # the adapter checks the shape itself ((n,), or (n, m) vectorized); a wrapper
                # would cost a Python call per gradient.  n == 1 also accepts a scalar.
                jac_c = _shape_checked(jac, (n,), "jac", vectorized) if n == 1 else jac
                gev = as_evaluator(jac_c, n=n, nout=n, scalar_out=False, vectorized=vectorized,
                                   args=args)
            elif _is_python(jac):
                gev = as_evaluator(jac if vectorized else _scalar_valued(jac), n=1, nout=1,
                                   scalar_x=True, scalar_out=True,
                                   vectorized=vectorized, args=args)
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
            hev = as_evaluator(hess if vectorized else _scalar_valued(hess), n=1, nout=1,
                               scalar_x=True, scalar_out=True,
                               vectorized=vectorized, args=args)
        else:
            hev = as_evaluator(_shape_checked(hess, (n, n), "hess", vectorized), n=n, nout=n * n,
                               scalar_out=False, vectorized=vectorized, args=args)
    else:
        raise TypeError(f"hess must be None or a callable, got {type(hess).__name__}")
    return fev, gev, hev, gmode, _d.HESSIAN_MODES["eval"]


def _as_x0(x0, name="x0"):
    try:
        a = np.array(x0, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be an array of real numbers") from exc
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be finite (got NaN or inf)")
    return a


def _callback_style(callback):
    if callback is None:
        return True
    if not callable(callback):
        raise TypeError("callback must be callable")
    try:
        params = list(inspect.signature(callback).parameters)
    except (TypeError, ValueError):
        return False
    return params == ["intermediate_result"]


def _run(fun, X0, method, jac, hess, args, callback, tol, options, scalar_x=False):
    m, o, vectorized = _parse_options(method, options, tol)
    if hess is not None and m != "newton":
        import warnings
        warnings.warn(f"Method {m} does not use Hessian information (hess).", RuntimeWarning,
                      stacklevel=3)
    n, k = X0.shape
    fev, gev, hev, gmode, hmode = _evaluators(fun, n, jac, hess, args, vectorized,
                                              m == "newton", scalar_x)
    run = _d.Descent(fev, gev, hev, gmode, hmode, X0, o, callback, _callback_style(callback))
    run.execute()
    return run, fev, gev, hev, o


def _result(run, fev, gev, hev, j, scalar):
    s = int(run.status[j])
    x = run.xo[:, j].copy()
    g = run.go[:, j].copy()
    res = OptimizeResult(
        x=x[0] if scalar else x, fun=float(run.fo[j]), jac=g[0] if scalar else g,
        nit=int(run.nit[j]), nfev=int(fev.nfev), njev=int(run.njev if gev is None else gev.nfev),
        status=s, success=s in _d.SUCCESS, message=_d.MESSAGES[s])
    if run.nhev:
        res.nhev = int(run.nhev)
    return res


def minimize(fun, x0, args=(), method="gd", jac=None, hess=None, callback=None, tol=None,
             options=None):
    """Minimize a function of n variables with a first-order method or Newton's method.

    SciPy's signature; the loop runs in C (without the GIL for built-in and low-level callables).

    Parameters
    ----------
    fun : callable
        ``fun(x, *args) -> float`` with ``x`` of shape (n,); a built-in
        (:mod:`fastcalc.functions`), a :class:`scipy.LowLevelCallable`/numba cfunc, or a Python
        callable (with ``options={"vectorized": True}`` it receives (n, m) and returns (m,)).
    x0 : array_like, shape (n,)
        Starting point (finite).
    args : tuple
        Extra arguments for ``fun``, ``jac`` and ``hess``.
    method : str
        ``"gd"``, ``"momentum"``, ``"nesterov"``, ``"adagrad"``, ``"rmsprop"``, ``"adam"`` or
        ``"newton"``.
    jac : callable, True or None
        Gradient (any kind of callable; returns shape (n,)), or ``True`` when ``fun`` returns
        ``(f, g)``.  ``None``: finite differences in C (central by default, ``fd_method``).
    hess : callable or None
        Hessian for ``"newton"`` (returns (n, n)); ``None``: central differences of the gradient.
        A NaN or inf in a given Hessian ends that start with status 6.
    callback : callable
        ``callback(intermediate_result)`` (an OptimizeResult with ``x``, ``fun``, ``nit``) or
        ``callback(xk)``, after every iteration; raising ``StopIteration`` ends the run cleanly
        (status 99).
    tol : float
        Default for ``gtol``.
    options : dict
        ``lr``, ``maxiter``, ``gtol``, ``xtol``, ``ftol``, ``momentum``, ``beta1``/``beta2``
        (or ``betas``), ``eps``, ``rho``, ``schedule`` (``"constant"``, ``"step"``,
        ``"exponential"``, ``"inverse_time"``, ``"cosine"``) with ``decay``, ``step_size``,
        ``lr_min``, ``period``; ``line_search`` (``"armijo"`` for gd, momentum, newton; default
        for newton) with ``c1``, ``shrink``, ``max_backtrack``; ``history``; ``fd_method``;
        ``vectorized``.

    Returns
    -------
    OptimizeResult
        ``x``, ``fun``, ``jac``, ``nit``, ``nfev``, ``njev``, ``status``, ``success``, ``message``
        (``nhev`` for Newton); with ``history=True`` also ``path`` (nit+1, n) and ``fun_path``
        (nit+1,).  Status: 0 gtol, 4 xtol, 5 ftol (success); 1 maxiter, 2 divergence (f grew
        without bound), 6 NaN/inf (both return the best point seen), 3 line search failed
        (including a step too small to change x), 99 callback stop.

    Examples
    --------
    >>> import fastcalc as fc
    >>> from fastcalc.functions import rosenbrock
    >>> res = fc.minimize(rosenbrock, [-1.2, 1.0], method="newton", jac=rosenbrock.grad,
    ...                   hess=rosenbrock.hess)
    >>> res.success, bool(abs(res.x - 1).max() < 1e-8)
    (True, True)
    """
    X0 = _as_x0(x0)
    if X0.ndim > 1:
        raise ValueError(f"x0 must be one-dimensional, got shape {X0.shape}; use multistart() for "
                         "several starts")
    X0 = X0.reshape(-1, 1)
    if X0.shape[0] == 0:
        raise ValueError("x0 must have at least one variable")
    run, fev, gev, hev, o = _run(fun, X0, method, jac, hess, args, callback, tol, options)
    res = _result(run, fev, gev, hev, 0, False)
    if o["history"]:
        path, fpath = run.history_arrays()
        res.path = path[:, :, 0]
        res.fun_path = fpath[:, 0]
    return res


def gradient_descent(fun, x0, *, jac=None, lr=0.1, maxiter=1000, momentum=0.0, nesterov=False,
                     gtol=1e-8, schedule="constant", line_search=None, callback=None, args=(),
                     history=True, options=None):
    """Gradient descent, the familiar way: ``x <- x - lr * grad(x)`` (plus momentum).

    Parameters
    ----------
    fun : callable
        Objective; with a scalar ``x0`` it receives and returns floats (one-variable problem).
    x0 : float or array_like of shape (n,)
    jac : callable, True or None
        Gradient; ``None``: finite differences in C.
    lr, maxiter, momentum, gtol, schedule, line_search :
        As the options of :func:`minimize`; ``momentum > 0`` selects heavy-ball momentum,
        ``nesterov=True`` Nesterov's accelerated gradient.
    callback, args :
        As in :func:`minimize`.
    history : bool
        Record ``path`` and ``fun_path`` (default True).
    options : dict
        Further options of :func:`minimize`.

    Returns
    -------
    OptimizeResult
        As :func:`minimize`; for a scalar ``x0``, ``x``, ``jac`` and ``path`` hold floats.

    Examples
    --------
    >>> import fastcalc as fc
    >>> res = fc.gradient_descent(lambda x: x**2, 2.0, jac=lambda x: 2*x, lr=0.1, maxiter=100)
    >>> round(float(res.x), 6), res.path[:3].tolist()
    (0.0, [2.0, 1.6, 1.28])
    """
    method = "nesterov" if nesterov else ("momentum" if momentum else "gd")
    if options is not None and not isinstance(options, dict):
        raise TypeError(f"options must be a dict, got {type(options).__name__}")
    opts = dict(options or {})
    for k in ("lr", "maxiter", "momentum", "gtol", "schedule", "line_search", "history"):
        if k in opts:       # the keyword's default would silently replace it
            raise ValueError(f"give {k} as the keyword argument {k}=..., not in options")
    opts.update(lr=lr, maxiter=maxiter, gtol=gtol, schedule=schedule, history=history)
    if line_search is not None:
        opts["line_search"] = line_search
    if method != "gd":
        opts["momentum"] = momentum
    X0 = _as_x0(x0)
    scalar = X0.ndim == 0
    if X0.ndim > 1:
        raise ValueError(f"x0 must be a scalar or one-dimensional, got shape {X0.shape}")
    X0 = X0.reshape(-1, 1)
    if scalar and jac is True:
        raise ValueError("jac=True needs an array x0")
    run, fev, gev, hev, o = _run(fun, X0, method, jac, None, args, callback, None, opts,
                                 scalar_x=scalar)
    res = _result(run, fev, gev, hev, 0, scalar)
    if o["history"]:
        path, fpath = run.history_arrays()
        res.path = path[:, 0, 0] if scalar else path[:, :, 0]
        res.fun_path = fpath[:, 0]
    return res


def multistart(fun, x0=None, *, method="gd", jac=None, hess=None, args=(), bounds=None,
               n_starts=None, seed=None, options=None):
    """Run ``k`` independent starts in one C loop (one gradient batch per iteration).

    Parameters
    ----------
    fun, method, jac, hess, args, options :
        As in :func:`minimize` (``vectorized=True`` lets a Python ``fun`` see all starts at once).
    x0 : array_like, shape (n, k)
        ``k`` starts, variables on axis 0.
    bounds : sequence of (low, high) or scipy.optimize.Bounds
        Draw ``n_starts`` starts uniformly in this box instead (with ``seed``).
    n_starts : int
    seed : int or numpy.random.Generator

    Returns
    -------
    OptimizeResult
        The best start's result (lowest finite ``fun``) with, for every start, ``xs`` (n, k),
        ``funs`` (k,), ``successes`` (k,), ``statuses`` (k,), ``nits`` (k,), and ``best`` (its
        index).  ``nfev``/``njev`` count all starts.  With ``history=True``: ``paths``
        (rows, n, k) and ``fun_paths`` (rows, k) (finished starts repeat their last point).

    Examples
    --------
    >>> import fastcalc as fc
    >>> from fastcalc.functions import rastrigin
    >>> res = fc.multistart(rastrigin, bounds=[(-3, 3), (-3, 3)], n_starts=200, seed=0,
    ...                     jac=rastrigin.grad, options={"lr": 1e-3, "maxiter": 2000})
    >>> bool(res.fun < 1e-8)
    True
    """
    if x0 is None:
        if bounds is None or n_starts is None:
            raise ValueError("give x0 of shape (n, k), or bounds and n_starts")
        lo, hi = _bounds(bounds)
        n_starts = _finite_number("n_starts", n_starts, low=1, integer=True)
        rng = np.random.default_rng(seed)
        X0 = lo[:, None] + (hi - lo)[:, None] * rng.random((lo.size, n_starts))
    else:
        if bounds is not None or n_starts is not None:
            raise ValueError("give either x0 or bounds and n_starts, not both")
        X0 = _as_x0(x0)
        if X0.ndim != 2:
            raise ValueError(f"x0 must have shape (n, k): variables on axis 0, starts on axis 1; "
                             f"got shape {X0.shape}")
        if X0.shape[0] == 0 or X0.shape[1] == 0:
            raise ValueError(f"x0 must have at least one variable and one start, got {X0.shape}")
    X0 = np.ascontiguousarray(X0, dtype=np.float64)
    run, fev, gev, hev, o = _run(fun, X0, method, jac, hess, args, None, None, options)
    funs = np.array(run.fo)
    masked = np.where(np.isfinite(funs), funs, np.inf)
    best = int(np.argmin(masked))
    res = _result(run, fev, gev, hev, best, False)
    res.xs = np.array(run.xo)
    res.funs = funs
    res.statuses = np.array(run.status, dtype=int)
    res.successes = np.isin(res.statuses, _d.SUCCESS)
    res.nits = np.array(run.nit, dtype=int)
    res.best = best
    if o["history"]:
        res.paths, res.fun_paths = run.history_arrays()
    return res


def _bounds(bounds):
    if hasattr(bounds, "lb") and hasattr(bounds, "ub"):
        lo, hi = np.atleast_1d(bounds.lb), np.atleast_1d(bounds.ub)
    else:
        try:
            b = np.array(bounds, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise TypeError("bounds must be a sequence of (low, high) pairs") from exc
        if b.ndim != 2 or b.shape[1] != 2:
            raise ValueError(f"bounds must have shape (n, 2), got {b.shape}")
        lo, hi = b[:, 0], b[:, 1]
    lo, hi = lo.astype(np.float64), hi.astype(np.float64)
    if not (np.all(np.isfinite(lo)) and np.all(np.isfinite(hi))):
        raise ValueError("bounds must be finite")
    if np.any(hi < lo):
        raise ValueError("bounds must have low <= high")
    return lo, hi


def classify_critical_point(f, x, *, jac=None, hess=None, args=(), vectorized=False):
    """Classify a critical point by the eigenvalues of the Hessian.

    Eigenvalues within a tolerance scaled to the Hessian's estimated error are treated as zero, so
    flat directions make the point ``"degenerate"`` rather than guessed.

    Parameters
    ----------
    f : callable
        Function of n variables (any kind of callable); a built-in supplies its own ``.grad`` and
        ``.hess``.
    x : float or array_like, shape (n,)
        The point (normally where the gradient vanishes).
    jac, hess : callable, optional
        Gradient and Hessian (Hessian returns (n, n)).  Without ``hess``: central differences of
        the gradient (of finite differences without ``jac``), at two step sizes, whose difference
        estimates the error.
    args : tuple
    vectorized : bool
        Python callables take batches (n, m).

    Returns
    -------
    OptimizeResult
        ``kind`` ("minimum", "maximum", "saddle", "degenerate"), ``eigenvalues`` (ascending),
        ``hessian`` (n, n), ``hessian_error`` (estimated, max abs), ``tol`` (eigenvalues with
        ``|lambda| <= tol`` count as zero), ``grad`` and ``grad_norm`` at ``x``.

    Examples
    --------
    >>> import fastcalc as fc
    >>> fc.classify_critical_point(lambda v: v[0]**2 - v[1]**2, [0.0, 0.0]).kind
    'saddle'
    >>> fc.classify_critical_point(lambda v: v[0]**2 + v[1]**4, [0.0, 0.0]).kind
    'degenerate'
    """
    X = _as_x0(x, "x")
    scalar = X.ndim == 0
    if X.ndim > 1:
        raise ValueError(f"x must be a scalar or one-dimensional, got shape {X.shape}")
    X = X.reshape(-1, 1)
    n = X.shape[0]
    if n == 0:
        raise ValueError("x must have at least one variable")
    if isinstance(f, Function):
        if jac is None and f.grad is not None:
            jac = f.grad
        if hess is None and f.hess is not None:
            hess = f.hess
    fev, gev, hev, gmode, hmode = _evaluators(f, n, jac, hess, args, vectorized, True, scalar)
    eps = np.finfo(float).eps
    # f and the gradient at x (the same way the optimizers get them): scales for the error model
    run = _d.Descent(fev, gev, None, gmode, 0, X,
                     dict(_parse_options("gd", {"maxiter": 0, "gtol": 0.0}, None)[1]))
    run.execute()
    g = np.array(run.go[:, 0])
    fx = float(run.fo[0])
    if hev is not None:
        H = _d.hessian_at(fev, gev, hev, gmode, hmode, X)[:, :, 0]
        err = 64 * n * eps * float(np.abs(H).max())      # relative: f and c f alike
    else:
        # central differences of the gradient at step h2 = c * s * max(1, |x|): the error is the
        # change between steps s and s/2 (truncation) plus rounding, eps * |f| / (h1 h2) for a
        # finite-difference gradient of step h1, or eps * |g| / h2 for an analytic one.  Larger
        # s for functions whose values dwarf their variation (an offset): take the best s.
        xs = float(np.min(np.maximum(1.0, np.abs(X[:, 0]))))
        fd = gmode == _d.GRADIENT_MODES["fd"]
        c2 = eps ** 0.25 if fd else eps ** (1 / 3)
        best = None
        for s in (1.0, 8.0, 64.0, 512.0, 4096.0):
            Hs = _d.hessian_at(fev, gev, hev, gmode, hmode, X, s)[:, :, 0]
            Hh = _d.hessian_at(fev, gev, hev, gmode, hmode, X, s / 2)[:, :, 0]
            if not (np.all(np.isfinite(Hs)) and np.all(np.isfinite(Hh))):
                continue
            h2 = c2 * (s / 2) * xs
            scale = float(np.abs(Hh).max())
            if fd:
                rnd = 2 * eps * max(abs(fx), 1e-300) / (eps ** (1 / 3) * xs * h2)
            else:
                rnd = 2 * eps * max(float(np.abs(g).max()), scale * h2) / h2
            e = float(np.abs(Hs - Hh).max()) + rnd + 64 * n * eps * scale
            if best is None or e < best[0]:
                best = (e, Hh)
            if e <= 1e-6 * max(scale, 1e-300):
                break
        if best is None:
            raise ValueError("the Hessian at x is not finite")
        err, H = best
    if not np.all(np.isfinite(H)):
        raise ValueError("the Hessian at x is not finite")
    lam = np.linalg.eigvalsh(H)
    tol = 10.0 * err
    pos, neg = lam > tol, lam < -tol
    if pos.any() and neg.any():
        kind = "saddle"
    elif pos.all():
        kind = "minimum"
    elif neg.all():
        kind = "maximum"
    else:
        kind = "degenerate"
    return OptimizeResult(kind=kind, eigenvalues=lam, hessian=H, hessian_error=err, tol=tol,
                          grad=g[0] if scalar else g, grad_norm=float(np.abs(g).max()),
                          x=float(X[0, 0]) if scalar else X[:, 0].copy())
