"""Minimization with SciPy's names: quasi-Newton, conjugate gradients, Newton, the gradient-descent
family, multi-start and stochastic (mini-batch) gradients, with the loops in C.

Every routine returns a :class:`scipy.optimize.OptimizeResult`.  The loops live in
:mod:`fastcalc._quasi` (one start: BFGS, L-BFGS, CG, Newton-CG) and :mod:`fastcalc._descent` (any
number of starts side by side: first-order methods and Newton).  Every evaluation goes through the
callable protocol, and when the objective and its derivatives are built-in
(:mod:`fastcalc.functions`) or low-level callables the whole run happens in C without the GIL.

Methods (``g`` the gradient at the iterate, ``lr`` the scheduled learning rate):

* ``"bfgs"`` (the default without bounds, as in SciPy): inverse-Hessian BFGS updates, the first
  one scaled by ``s.y / y.y``; ``hess_inv`` is returned;
* ``"l-bfgs"`` (also ``"L-BFGS-B"``; the default with bounds): the two-loop recursion over the
  last ``maxcor`` pairs; with bounds, variables held at a bound are fixed and the step is limited
  to the feasible box (a projected method in the spirit of L-BFGS-B, without its Cauchy point);
* ``"cg"``: nonlinear conjugate gradients, Polak-Ribiere+ (``beta="pr+"``) or Fletcher-Reeves
  (``beta="fr"``), restarted when the direction is not a descent direction;
* ``"newton-cg"``: truncated Newton, the Newton system solved by CG with Hessian-vector products
  (the given Hessian, or a difference of gradients along the vector);
* ``"newton"``: ``H d = -g`` with a modified Cholesky factorization, Armijo line search;
* ``"gd"``, ``"momentum"``, ``"nesterov"``, ``"adagrad"``, ``"rmsprop"``, ``"adam"``: the
  first-order rules of machine learning, with learning-rate schedules and bounds (projection
  after each step).

The quasi-Newton and CG methods use the strong-Wolfe line search (Nocedal & Wright 3.5/3.6) that
``line_search="wolfe"`` also gives gd, momentum and newton.
"""
import math

import numpy as np

from fastcalc import _descent as _d
from fastcalc._daskmap import dask_input, dispatch
from fastcalc import _quasi as _q
from fastcalc._validation import as_callable, as_int, as_options
from fastcalc._optsetup import (DESCENT_OPTIONS, FIRST_ORDER, MAXITER_LIMIT, MAX_START_VALUES,
                                METHODS, QUASI_METHODS, as_bounds,
                                as_x0, callback_style, canonical_method, clip_into, evaluators,
                                parse_descent_options, parse_quasi_options, result, run_starts,
                                block_size)
from fastcalc.critical import classify_critical_point, find_critical_points

__all__ = ["minimize", "maximize", "gradient_descent", "multistart", "MiniBatchGradient",
           "find_critical_points", "classify_critical_point", "METHODS", "MAXITER_LIMIT"]


class MiniBatchGradient:
    """A stochastic ``jac``: each call returns the gradient on the next mini-batch of samples.

    ``grad(x, idx, *args)`` computes the gradient of the loss on the samples ``idx`` (an integer
    array).  Each epoch visits the ``n_samples`` samples once, in a fresh random order drawn from
    ``seed``, in batches of ``batch_size`` (the last one may be smaller).  Pass it as ``jac=`` to
    :func:`minimize` with a first-order method: the callback's ``intermediate_result`` then has an
    ``epoch`` field, and ``options={"schedule_per_epoch": True}`` makes the learning-rate schedule
    count epochs.  ``fun`` (the full loss) is evaluated only every 32 steps, to watch for divergence
    and keep the best point.

    Examples
    --------
    >>> import numpy as np
    >>> import fastcalc as fc
    >>> rng = np.random.default_rng(0)
    >>> A, b = rng.normal(size=(200, 3)), rng.normal(size=200)
    >>> loss = lambda w: 0.5 * np.mean((A @ w - b) ** 2)
    >>> jac = fc.MiniBatchGradient(lambda w, i: A[i].T @ (A[i] @ w - b[i]) / len(i), 200, 20,
    ...                            seed=1)
    >>> epochs = []
    >>> res = fc.minimize(loss, np.zeros(3), jac=jac, method="adam",
    ...                   callback=lambda intermediate_result: epochs.append(intermediate_result.epoch),
    ...                   options={"lr": 0.01, "maxiter": 2000, "gtol": 0.0,
    ...                            "schedule": "inverse_time", "decay": 0.01})
    >>> w = np.linalg.lstsq(A, b, rcond=None)[0]                  # the exact least-squares fit
    >>> bool(np.abs(res.x - w).max() < 1e-3), epochs[-1], jac.epoch
    (True, 200, 200)
    """

    def __init__(self, grad, n_samples, batch_size=32, *, seed=None):
        self.grad = as_callable(grad, "grad")
        self.n_samples = as_int(n_samples, "n_samples", low=1)
        self.batch_size = as_int(batch_size, "batch_size", low=1, high=self.n_samples)
        self.rng = np.random.default_rng(seed)
        self.steps_per_epoch = math.ceil(self.n_samples / self.batch_size)
        self.calls = 0
        self._order = None
        self._pos = 0

    @property
    def epoch(self):
        """Completed epochs (passes over the samples)."""
        return self.calls // self.steps_per_epoch

    def __call__(self, x, *args):
        if self._order is None or self._pos >= self.n_samples:
            self._order = self.rng.permutation(self.n_samples)
            self._pos = 0
        idx = self._order[self._pos:self._pos + self.batch_size]
        self._pos += self.batch_size
        self.calls += 1
        return self.grad(x, idx, *args)


def _x0_vector(x0):
    X0 = as_x0(x0)
    if X0.ndim > 1:
        raise ValueError(f"x0 must be one-dimensional, got shape {X0.shape}; use multistart() for "
                         "several starts")
    X0 = X0.reshape(-1)
    if X0.shape[0] == 0:
        raise ValueError("x0 must have at least one variable")
    return X0


def _with_history(res, path, fpath, sign, o):
    if o["history"]:
        res.path = path
        res.fun_path = sign * fpath
        res.allvecs = list(path)
    return res


def _quasi(fun, X0, m, jac, hess, args, lohi, tol, callback, options, sign):
    n = X0.shape[0]
    o, vectorized = parse_quasi_options(m, options, tol, n)
    o["sign"] = sign
    fev, gev, hev, gmode, hmode = evaluators(fun, n, jac, hess, args, vectorized,
                                             m == "newton-cg", False)
    lo, hi = lohi if lohi is not None else (None, None)
    run = _q.QuasiNewton(fev, gev, hev, gmode, hmode, X0, o, lo, hi, callback,
                         callback_style(callback)).execute()
    res = result(run.x, run.f, run.jac, run.nit, fev.nfev,
                 run.njev if gev is None else gev.nfev, run.status, nhev=run.nhev, sign=sign)
    if m == "bfgs":
        res.hess_inv = run.hess_inv
    if not o["history"]:
        return res
    path, fpath = run.history_arrays()
    return _with_history(res, path, fpath, sign, o)


def _descent(fun, X0, m, jac, hess, args, lohi, tol, callback, options, sign, scalar_x=False):
    """Run fastcalc._descent.Descent on the starts X0 (n, k); returns (run, fev, gev, o)."""
    n = X0.shape[0]
    o, vectorized = parse_descent_options(m, options, tol)
    if hess is not None and m != "newton":
        import warnings
        warnings.warn(f"Method {m} does not use Hessian information (hess).", RuntimeWarning,
                      stacklevel=4)
    if lohi is not None:
        if o["line_search"]:
            raise ValueError("bounds are supported by the first-order methods without a line "
                             "search and by 'l-bfgs'")
        o["lo"], o["hi"] = lohi
    o["sign"] = sign
    if isinstance(jac, MiniBatchGradient) and o["schedule_per_epoch"]:
        o["sched_every"] = jac.steps_per_epoch
    fev, gev, hev, gmode, hmode = evaluators(fun, n, jac, hess, args, vectorized, m == "newton",
                                             scalar_x)
    run = _d.Descent(fev, gev, hev, gmode, hmode, X0, o, callback, callback_style(callback))
    if isinstance(jac, MiniBatchGradient):
        run.steps_per_epoch = jac.steps_per_epoch
    run.execute()
    return run, fev, gev, o


def _one_start(run, fev, gev, j, sign, scalar=False):
    return result(run.xo[:, j].copy(), run.fo[j], run.go[:, j].copy(), run.nit[j], fev.nfev,
                  run.njev if gev is None else gev.nfev, run.status[j], nhev=run.nhev, sign=sign,
                  scalar=scalar)


def _minimize(fun, x0, args, method, jac, hess, hessp, bounds, constraints, tol, callback,
              options, sign):
    if constraints is not None and len(constraints) != 0:
        raise ValueError("constraints are not supported (bounds are)")
    if hessp is not None:
        raise ValueError("hessp is not supported: pass the Hessian as hess= (newton-cg forms "
                         "Hessian-vector products from it, or from gradient differences)")
    X0 = _x0_vector(x0)
    m = canonical_method(method, bounds)
    lohi = None
    if bounds is not None:
        if m != "l-bfgs" and m not in FIRST_ORDER:
            raise ValueError(f"method {m!r} does not take bounds; use 'l-bfgs' (the default with "
                             f"bounds) or a first-order method ({', '.join(FIRST_ORDER)})")
        lohi = as_bounds(bounds, X0.shape[0])
        X0 = clip_into(X0, *lohi)
    if isinstance(jac, MiniBatchGradient) and m not in FIRST_ORDER:
        raise ValueError(f"a MiniBatchGradient needs a first-order method "
                         f"({', '.join(FIRST_ORDER)}), not {m!r}")
    if m in QUASI_METHODS:
        if hess is not None and m != "newton-cg":
            import warnings
            warnings.warn(f"Method {m} does not use Hessian information (hess).", RuntimeWarning,
                          stacklevel=3)
        return _quasi(fun, X0, m, jac, hess, args, lohi, tol, callback, options, sign)
    run, fev, gev, o = _descent(fun, X0.reshape(-1, 1), m, jac, hess, args, lohi, tol, callback,
                                options, sign)
    res = _one_start(run, fev, gev, 0, sign)
    if o["history"]:
        path, fpath = run.history_arrays()
        _with_history(res, path[:, :, 0], fpath[:, 0], sign, o)
    return res


def minimize(fun, x0, args=(), method=None, jac=None, hess=None, hessp=None, bounds=None,
             constraints=(), tol=None, callback=None, options=None):
    """Minimize a function of n variables; SciPy's signature, defaults and result.

    Parameters
    ----------
    fun : callable
        ``fun(x, *args) -> float`` with ``x`` of shape (n,); a built-in
        (:mod:`fastcalc.functions`), a :class:`scipy.LowLevelCallable`/numba cfunc, or a Python
        callable (with ``options={"vectorized": True}`` it receives (n, m) and returns (m,)).
    x0 : array_like, shape (n,)
        Starting point (finite); clipped onto ``bounds`` with a warning when outside.
    args : tuple
        Extra arguments for ``fun``, ``jac`` and ``hess``.
    method : str, optional
        ``"bfgs"`` (default without bounds), ``"l-bfgs"``/``"L-BFGS-B"`` (default with bounds),
        ``"cg"``, ``"newton-cg"``, ``"newton"``, or a first-order method ``"gd"``,
        ``"momentum"``, ``"nesterov"``, ``"adagrad"``, ``"rmsprop"``, ``"adam"`` (case-insensitive).
    jac : callable, True, MiniBatchGradient or None
        Gradient (any kind of callable; returns shape (n,)), ``True`` when ``fun`` returns
        ``(f, g)``, a :class:`MiniBatchGradient` (stochastic, first-order methods), or ``None``:
        central differences in C (``fd_method``).
    hess : callable or None
        Hessian for ``"newton"`` and ``"newton-cg"`` (returns (n, n)); ``None``: differences of
        the gradient.  A NaN or inf in a given Hessian ends a Newton run with status 6.
    hessp : None
        Not supported (pass ``hess``).
    bounds : scipy.optimize.Bounds or sequence of (low, high), optional
        For ``"l-bfgs"`` and the first-order methods; ``None`` entries or infinities are
        unbounded; ``low > high`` is a ValueError.
    constraints : ()
        Not supported.
    tol : float, optional
        SciPy's meaning: ``gtol`` (and ``ftol`` for l-bfgs, ``xtol`` for newton-cg).
    callback : callable
        ``callback(intermediate_result)`` (an OptimizeResult with ``x``, ``fun``, ``nit``, and
        ``epoch`` with a MiniBatchGradient) or ``callback(xk)``, after every iteration; raising
        ``StopIteration`` ends the run cleanly (status 99).
    options : dict
        Quasi-Newton/CG: ``maxiter`` (default ``200 n``; 15000 for l-bfgs), ``gtol`` (1e-5),
        ``ftol`` (l-bfgs: 2.2e-9), ``xtol``, ``maxcor`` (10), ``maxls``, ``c1``, ``c2``,
        ``beta`` (cg: "pr+" or "fr"), ``norm`` (inf only), ``disp``, ``return_all`` /
        ``history``, ``fd_method``, ``vectorized``.  Newton and first-order: ``lr``,
        ``maxiter`` (1000; newton 200), ``gtol``, ``xtol``, ``ftol``, ``momentum``,
        ``beta1``/``beta2`` (or ``betas``), ``eps``, ``rho``, ``schedule`` ("constant", "step",
        "exponential", "inverse_time", "cosine") with ``decay``, ``step_size``, ``lr_min``,
        ``period``, ``schedule_per_epoch``; ``line_search`` ("armijo" or "wolfe"; gd,
        momentum, newton) with ``c1``, ``c2``, ``shrink``, ``max_backtrack``; ``workers``.
        Unknown names are a ValueError that lists the valid ones.  Integers may be given as
        integral floats (``maxiter=5.0``); ``maxiter`` above :data:`MAXITER_LIMIT` (10**8) is a
        ValueError.

    Returns
    -------
    OptimizeResult
        ``x``, ``fun``, ``jac``, ``nit``, ``nfev``, ``njev``, ``status``, ``success``,
        ``message``; ``hess_inv`` (n, n) for BFGS, ``nhev`` when Hessians were used; with
        ``history``/``return_all``: ``path`` (nit+1, n), ``fun_path`` and ``allvecs``.  Status:
        0 gtol, 4 xtol, 5 ftol (success); 1 maxiter, 2 divergence, 6 NaN/inf (both return the
        best point seen), 3 line search failed (precision loss or no descent), 99 callback stop.

    Examples
    --------
    >>> import numpy as np
    >>> import fastcalc as fc
    >>> from fastcalc.functions import rosenbrock
    >>> res = fc.minimize(rosenbrock, [-1.2, 1.0], jac=rosenbrock.grad)      # BFGS
    >>> res.success, bool(abs(res.x - 1).max() < 1e-5)
    (True, True)
    >>> res = fc.minimize(rosenbrock, [-1.2, 1.0], jac=rosenbrock.grad, bounds=[(-2, 0.5), (-2, 2)])
    >>> np.round(res.x, 4).tolist()                                        # L-BFGS, x0 held at 0.5
    [0.5, 0.25]
    """
    return _minimize(fun, x0, args, method, jac, hess, hessp, bounds, constraints, tol, callback,
                     options, 1.0)


def maximize(fun, x0, args=(), method=None, jac=None, hess=None, hessp=None, bounds=None,
             constraints=(), tol=None, callback=None, options=None):
    """Maximize a function: :func:`minimize` of ``-fun``, with ``fun``, ``jac`` and ``fun_path``
    of the result reported for ``fun`` itself.

    The arguments are those of :func:`minimize`; the kernels negate the values in C, so built-in
    and low-level callables keep their speed.  The callback sees the negated objective.

    Examples
    --------
    >>> import numpy as np
    >>> import fastcalc as fc
    >>> res = fc.maximize(lambda x: np.exp(-np.sum((x - 1.0) ** 2)), np.zeros(2))
    >>> bool(abs(res.fun - 1) < 1e-10), np.round(res.x, 5).tolist()
    (True, [1.0, 1.0])
    """
    return _minimize(fun, x0, args, method, jac, hess, hessp, bounds, constraints, tol, callback,
                     options, -1.0)


def gradient_descent(fun, x0, *, jac=None, lr=0.1, maxiter=1000, momentum=0.0, nesterov=False,
                     gtol=1e-8, schedule="constant", line_search=None, callback=None, args=(),
                     history=True, bounds=None, options=None):
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
    callback, args, bounds :
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
    opts = as_options(options, DESCENT_OPTIONS)
    for k in ("lr", "maxiter", "momentum", "gtol", "schedule", "line_search", "history"):
        if k in opts:       # the keyword's default would silently replace it
            raise ValueError(f"give {k} as the keyword argument {k}=..., not in options")
    opts.update(lr=lr, maxiter=maxiter, gtol=gtol, schedule=schedule, history=history)
    if line_search is not None:
        opts["line_search"] = line_search
    if method != "gd":
        opts["momentum"] = momentum
    X0 = as_x0(x0)
    scalar = X0.ndim == 0
    if X0.ndim > 1:
        raise ValueError(f"x0 must be a scalar or one-dimensional, got shape {X0.shape}")
    X0 = X0.reshape(-1)
    if scalar and jac is True:
        raise ValueError("jac=True needs an array x0")
    lohi = None
    if bounds is not None:
        lohi = as_bounds(bounds, X0.shape[0])
        X0 = clip_into(X0, *lohi)
    run, fev, gev, o = _descent(fun, X0.reshape(-1, 1), method, jac, None, args, lohi, None,
                                callback, opts, 1.0, scalar_x=scalar)
    res = _one_start(run, fev, gev, 0, 1.0, scalar)
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
        As in :func:`minimize`, for the methods of :mod:`fastcalc._descent` (``"newton"`` and the
        first-order ones; ``vectorized=True`` lets a Python ``fun`` see all starts at once).
    x0 : array_like, shape (n, k)
        ``k`` starts, variables on axis 0.  Large runs are processed in cache-sized blocks of starts
        (each block runs all its iterations before the next), so the time grows linearly with
        ``k``; the results are the same as one lock-step run.  A ``dask.array`` (chunked along the
        starts only) returns a ``LazyResult``: ``xs``, ``funs``, ``statuses``, ``nits``,
        ``successes`` dask arrays, the best start's fields ``dask.delayed``; ``.compute()`` gives
        the in-process ``OptimizeResult`` bit for bit (``docs/dask.md``).
    bounds : sequence of (low, high) or scipy.optimize.Bounds
        Draw ``n_starts`` starts uniformly in this (finite) box instead (with ``seed``).
    n_starts : int
        How many starts to draw; ``n * n_starts`` (and ``x0.size``) is limited to
        ``MAX_START_VALUES`` = 2e7 numbers (a ValueError names the limit): split larger runs.
    seed : int or numpy.random.Generator

    The option ``workers`` (``options={"workers": 2}``; -1: all cores) runs the blocks of starts
    on that many OpenMP threads, without the GIL, when ``fun`` and its derivatives are built-in or
    low-level callables; Python callables always run on one thread.  The results are the same
    for every ``workers`` (the starts are independent).

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
    if dask_input(x0):
        return dispatch(multistart, locals())
    m = canonical_method(method, None)
    if m in QUASI_METHODS:
        raise ValueError(f"multistart runs 'newton' and the first-order methods, not {m!r}")
    if x0 is None:
        if bounds is None or n_starts is None:
            raise ValueError("give x0 of shape (n, k), or bounds and n_starts")
        nb = len(np.atleast_1d(bounds.lb)) if hasattr(bounds, "lb") else len(bounds)
        lo, hi = as_bounds(bounds, nb, finite=True)
        n_starts = as_int(n_starts, "n_starts", low=1, high=max(1, MAX_START_VALUES // lo.size))
        rng = np.random.default_rng(seed)
        X0 = lo[:, None] + (hi - lo)[:, None] * rng.random((lo.size, n_starts))
    else:
        if bounds is not None or n_starts is not None:
            raise ValueError("give either x0 or bounds and n_starts, not both")
        X0 = as_x0(x0)
        if X0.ndim != 2:
            raise ValueError(f"x0 must have shape (n, k): variables on axis 0, starts on axis 1; "
                             f"got shape {X0.shape}")
        if X0.shape[0] == 0 or X0.shape[1] == 0:
            raise ValueError(f"x0 must have at least one variable and one start, got {X0.shape}")
        if X0.size > MAX_START_VALUES:
            raise ValueError(f"x0 holds {X0.size} numbers; multistart takes at most "
                             f"{MAX_START_VALUES} (n variables x starts): split the run")
    X0 = np.ascontiguousarray(X0, dtype=np.float64)
    o, vectorized = parse_descent_options(m, options, None)
    n = X0.shape[0]
    if o["history"]:
        # one Descent per cache-sized block (each keeps its own history), one thread
        blocks = [_descent(fun, np.ascontiguousarray(X0[:, j0:j0 + _block_size(n)]), m, jac, hess,
                           args, None, None, None, options, 1.0)
                  for j0 in range(0, X0.shape[1], _block_size(n))]
        runs = [r for r, _, _, _ in blocks]
        cols = [np.concatenate([np.asarray(getattr(r, a)) for r in runs], axis=-1)
                for a in ("xo", "fo", "go", "status", "nit")]
        nfev = sum(f.nfev for _, f, _, _ in blocks)
        njev = sum(r.njev if g is None else g.nfev for r, _, g, _ in blocks)
        nhev = sum(r.nhev for r in runs)
    else:
        fev, gev, hev, gmode, hmode = evaluators(fun, n, jac, hess, args, vectorized,
                                                 m == "newton", False)
        run = run_starts(fev, gev, hev, gmode, hmode, X0, o, o["workers"], _per_start(n, m))
        cols = [np.asarray(getattr(run, a)) for a in ("xo", "fo", "go", "status", "nit")]
        nfev, njev, nhev = fev.nfev, run.njev if gev is None else gev.nfev, run.nhev
    xs, funs, gs = cols[0], cols[1], cols[2]
    statuses, nits = cols[3].astype(int), cols[4].astype(int)
    masked = np.where(np.isfinite(funs), funs, np.inf)
    best = int(np.argmin(masked))
    res = result(xs[:, best].copy(), funs[best], gs[:, best].copy(), nits[best], nfev, njev,
                 statuses[best], nhev=nhev)
    res.xs, res.funs, res.statuses, res.nits, res.best = xs, funs, statuses, nits, best
    res.successes = np.isin(statuses, _d.SUCCESS)
    if o["history"]:
        res.paths, res.fun_paths = _merged_history(runs)
    return res


def multistart_block_size(n, method="gd", *, history=False):
    """Starts per block of a :func:`multistart` run with ``n`` variables: a split of the starts
    at multiples of this cuts the blocks exactly as one process does, so results stay bit for
    bit the same (the Dask path splits this way)."""
    if history:
        return _block_size(n)
    return block_size(n, _per_start(n, canonical_method(method, None)))


def _per_start(n, method):
    """Doubles one step of a start touches (what sizes the C block loop's blocks)."""
    return 3 * n + (n * n if method == "newton" else 0)


def _block_size(n):
    """Starts per block of a multistart run: the block's state (about 9 n + 10 doubles per start)
    stays within ~1 MB of cache while it runs all its steps, so the cost grows linearly with the
    number of starts."""
    return max(64, (1 << 20) // (8 * (9 * n + 10)))


def _merged_history(runs):
    """The blocks' (paths, fun_paths) side by side, the shorter ones repeating their last row."""
    hs = [r.history_arrays() for r in runs]
    rows = max(p.shape[0] for p, _ in hs)

    def pad(a):
        return np.concatenate([a, np.repeat(a[-1:], rows - a.shape[0], axis=0)], axis=0)
    return (np.concatenate([pad(p) for p, _ in hs], axis=-1),
            np.concatenate([pad(f) for _, f in hs], axis=-1))
