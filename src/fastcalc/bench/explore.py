"""Workloads of the explorer (issue 14): one answer of ``fastcalc explore`` for a function of x at
500 points, against the same numbers computed with SciPy's tools.

The answer holds f, f' and f'' at the points, the slope and Taylor polynomial (degree 3) at x0 and
the area between two limits.  The reference computes the same with ``scipy.differentiate``
(derivative, and hessian for f''), ``scipy.interpolate.approximate_taylor_polynomial`` and
``scipy.integrate.quad``.  The issue's target is an answer within 50 ms; the ratio target says
fastcalc's answer must not cost more than SciPy's.
"""
import numpy as np
import scipy.differentiate as sd
from scipy.integrate import quad
from scipy.interpolate import approximate_taylor_polynomial

from fastcalc.bench import Case, workload
from fastcalc.explore.compute import compute_1d

REQUEST = {"expr": "sin(x) * x^2 + exp(-x^2)", "a": -4.0, "b": 4.0, "n": 500, "x0": 0.7,
           "degree": 3, "lo": -1.0, "hi": 2.0}


def _f(x):
    return np.sin(x) * x ** 2 + np.exp(-x ** 2)


def _df(x):
    return np.cos(x) * x ** 2 + 2 * x * np.sin(x) - 2 * x * np.exp(-x ** 2)


def scipy_answer(req=REQUEST):
    """The explorer's numbers computed with SciPy (the peer of :func:`compute_1d`)."""
    xs = np.linspace(req["a"], req["b"], req["n"])
    fx = _f(xs)
    d1 = sd.derivative(_f, xs).df
    d2 = sd.hessian(lambda v: _f(v[0]), xs[np.newaxis]).ddf[0, 0]
    x0 = req["x0"]
    slope = sd.derivative(_f, x0).df
    poly = approximate_taylor_polynomial(_f, x0, req["degree"], 0.5)
    area = quad(_f, req["lo"], req["hi"])
    return {"f": fx, "df": d1, "d2f": d2, "slope": float(slope), "taylor": poly(xs - x0),
            "area": area}


def _df_error(result):
    df = result["df"]
    exact = _df(np.linspace(REQUEST["a"], REQUEST["b"], REQUEST["n"]))
    return float(np.max(np.abs(np.asarray(df, dtype=float) - exact)) / np.max(np.abs(exact)))


@workload("explore", "explorer answer, 1-D f at 500 points (f, f', f'', tangent, Taylor 3, area; "
          "target: < 50 ms)", reference="scipy.differentiate + approximate_taylor_polynomial + quad",
          target=1.0)
def _answer_1d():
    return Case(fastcalc=lambda: compute_1d(REQUEST), reference=scipy_answer, error=_df_error)
