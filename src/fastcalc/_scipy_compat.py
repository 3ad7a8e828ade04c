"""SciPy's names in the differentiation family: ``check_grad`` and ``approx_fprime`` with
:mod:`scipy.optimize`'s arguments and return values (fastcalc's extras are keyword-only).

Deliberate differences from SciPy (also listed in the README):

* ``check_grad(..., epsilon=None)`` (the default) compares with fastcalc's adaptive gradient, which
  is far more accurate than SciPy's forward difference with step ``sqrt(eps)``; a given
  ``epsilon`` uses SciPy's forward-difference stencil with that absolute step.
* ``approx_fprime`` ignores nothing SciPy uses: the result is float64 for float32 ``x0`` only where
  SciPy's is, and a vector ``f`` gives the Jacobian ``(p, n)`` as SciPy.
"""
import math

import numpy as np

from fastcalc._core import as_evaluator
from fastcalc import _plans
from fastcalc._validation import as_callable, as_choice, as_points
from fastcalc.differentiate import gradient, jacobian, directional_derivative

__all__ = ["check_grad", "approx_fprime"]

_SQRT_EPS = math.sqrt(float(np.finfo(np.float64).eps))


def check_grad(func, grad, x0, *args, epsilon=None, direction="all", rng=None, seed=None,
               method="central", accuracy=2, vectorized=False, relative=False, jacobian=None):
    """Check an analytic gradient (or Jacobian) against finite differences, as
    :func:`scipy.optimize.check_grad`.

    Parameters
    ----------
    func : callable
        ``func(x, *args)`` -> float, an array of shape (1,), or a vector of p values.
    grad : callable
        ``grad(x, *args)``: the gradient (n,) or Jacobian (p, n) to check.
    x0 : array_like, shape (n,)
    *args
        Extra arguments of ``func`` and ``grad``.
    epsilon : float or array_like, optional
        None (default): fastcalc's adaptive finite differences; a number: SciPy's forward
        difference with that absolute step.
    direction : {"all", "random"}
        "all" compares the whole gradient; "random" compares ``grad . v`` with the directional
        derivative along a random normal ``v`` (scalar functions only), as SciPy.
    rng, seed : int or numpy.random.Generator, optional
        Random generator for ``direction="random"`` (``rng``, SciPy's current name, or ``seed``).
    method, accuracy, vectorized
        As in :func:`fastcalc.gradient` (used when ``epsilon`` is None).  With ``relative=False``
        the finite-difference reference counts as converged within the absolute tolerance
        ``sqrt(eps) * max(1, max|grad|)`` too (the scale of an absolute check, as SciPy's absolute
        step): a gradient that is exactly 0 (a stationary point) is checked without a warning.
    relative : bool, keyword-only
        False (default, SciPy's value): the 2-norm ``||grad - fd||``; True: divided by ``||fd||``.
    jacobian : bool, keyword-only, optional
        True: ``func`` is vector-valued and ``grad`` its Jacobian; None (default): decided from the
        shape of ``func(x0)``.

    Returns
    -------
    float

    Examples
    --------
    >>> import numpy as np
    >>> import fastcalc as fc
    >>> from scipy.optimize import rosen, rosen_der
    >>> fc.check_grad(rosen, rosen_der, np.ones(10)) < 1e-6
    True
    """
    as_callable(func, "func")
    as_callable(grad, "grad")
    xa = np.atleast_1d(as_points(x0, "x0", vector=False))
    if xa.ndim != 1:
        raise ValueError(f"x0 must be one point of shape (n,), got shape {xa.shape}")
    direction = as_choice(direction, "direction", ("all", "random"))
    if rng is not None:
        if seed is not None:
            raise ValueError("pass rng or seed, not both")
        seed = rng
    f0 = np.asarray(func(xa.copy(), *args), dtype=np.float64)
    vector = f0.size > 1 if jacobian is None else bool(jacobian)
    g = np.asarray(grad(xa.copy(), *args), dtype=np.float64)
    atol = None if relative else _SQRT_EPS * max(1.0, float(np.max(np.abs(g), initial=0.0)))
    if vector:
        if direction == "random":
            raise ValueError("direction='random' checks gradients of scalar functions only")
        fd = _fd(func, xa, epsilon, args, method, accuracy, vectorized, jac=True, atol=atol)
        if g.shape != fd.shape:
            raise ValueError(f"grad returned shape {g.shape}, expected the Jacobian's {fd.shape}")
    else:
        if f0.size != 1:
            raise ValueError(f"func must return a number or an array of one, got shape {f0.shape}")
        g = g.reshape(-1) if g.size == xa.size else g
        if g.shape != xa.shape:
            raise ValueError(f"grad returned shape {g.shape}, expected {xa.shape}")
        if direction == "random":
            v = np.random.default_rng(seed).normal(0.0, 1.0, size=xa.shape)
            if epsilon is None:
                fd = np.atleast_1d(directional_derivative(_scalar(func), xa, v, method=method,
                                                          accuracy=accuracy, args=args))
            else:
                e = float(np.max(np.asarray(epsilon, dtype=float)))
                fd = np.atleast_1d((float(np.asarray(func(xa + e * v, *args)).reshape(-1)[0])
                                    - float(f0.reshape(-1)[0])) / e)
            g = np.atleast_1d(g @ v)
        else:
            fd = _fd(func, xa, epsilon, args, method, accuracy, vectorized, jac=False,
                     atol=atol)
    diff = float(np.sqrt(np.sum((g - fd) ** 2)))
    if not relative:
        return diff
    return diff / max(float(np.sqrt(np.sum(fd ** 2))), np.finfo(float).tiny)


def _scalar(func):
    """func returning a number or an array of one, as a function returning a number."""
    def f(x, *a):
        r = np.asarray(func(x, *a))
        return r.reshape(()) if r.size == 1 else r
    return f


def _fd(func, xa, epsilon, args, method, accuracy, vectorized, jac, atol=None):
    if epsilon is not None:
        return _forward1(func, xa, epsilon, args)
    if jac:
        return jacobian(func, xa, method=method, accuracy=accuracy, vectorized=vectorized,
                        args=args, atol=atol)
    return gradient(_scalar(func), xa, method=method, accuracy=accuracy, vectorized=vectorized,
                    args=args, atol=atol)


def approx_fprime(xk, f, epsilon=_SQRT_EPS, *args):
    """Forward-difference gradient (or Jacobian), with :func:`scipy.optimize.approx_fprime`'s API.

    Parameters
    ----------
    xk : array_like, shape (n,)
        The point (float32 input: the step is at least float32's ``sqrt(eps)`` relative, as
        SciPy's ``approx_derivative``).
    f : callable
        ``f(xk, *args)`` returning a number or a 1-D array; also a built-in or low-level callable.
    epsilon : float or array_like, optional
        Absolute step (scalar or one per coordinate); default ``sqrt(eps)``.
    *args
        Extra arguments of ``f``.

    Returns
    -------
    ndarray
        Shape ``(n,)`` for a scalar ``f``, ``(p, n)`` for ``p`` outputs, as SciPy.

    Examples
    --------
    >>> import numpy as np
    >>> import fastcalc as fc
    >>> fc.approx_fprime(np.array([1.0, 2.0]), lambda x: x @ x).round(5)
    array([2., 4.])
    """
    xa = np.atleast_1d(as_points(xk, "xk", vector=False))
    if xa.ndim != 1:
        raise ValueError(f"xk must be one point of shape (n,), got shape {xa.shape}")
    return _forward1(f, xa, epsilon, args,
                     np.float32 if getattr(xk, "dtype", None) == np.float32 else np.float64)


def _probe(f, x2, args):
    from fastcalc.differentiate import probe_nout
    return probe_nout(f, x2, args, False, None)


def _forward1(f, xa, epsilon, args, dtype=np.float64):
    """First-order forward differences (SciPy's '2-point'), through the same kernel."""
    n = xa.shape[0]
    x2 = np.ascontiguousarray(xa.reshape(n, 1))
    p, scalar, r0 = _probe(f, x2, args)
    ev = as_evaluator(f, n, p, False, scalar, False, args)
    f0 = None
    if r0 is not None:
        f0 = np.array(r0, dtype=np.float64).reshape(p, 1)
    h = _diff_steps(epsilon, n)
    if dtype == np.float32:       # SciPy: at least float32's sqrt(eps) relative
        rel = math.sqrt(float(np.finfo(np.float32).eps)) * np.maximum(1.0, np.abs(x2))
        h = np.maximum(h, rel)
    h = (x2 + h) - x2
    h = np.ascontiguousarray(np.where(h == 0, _SQRT_EPS * np.maximum(1.0, np.abs(x2)), h))
    plan = _plans.make_plan(tuple(("d", i, 1) for i in range(n)), 1, 1, 1)
    out, _ = _plans.run(ev, plan, x2, h, np.arange(n, dtype=np.intc), None, f0, False)
    value = out[:, :, 0]
    # SciPy ravels the Jacobian of a function with one output (a number or an array of one)
    return value[0] if scalar or p == 1 else value


def _diff_steps(epsilon, n):
    from fastcalc._complexstep import user_steps
    return user_steps(epsilon, n, 1, "epsilon")
