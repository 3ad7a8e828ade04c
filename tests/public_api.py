"""ONE registry of fastcalc's public functions, for tests that treat them all alike (the fuzz test).

Bottleneck-style: each entry says how to call a function from a generated :class:`Inputs` (a
callable of the right arity that may misbehave, an array of points or samples, an integer, ...).
A public function without an entry is still fuzzed, with generic arguments (only "no crash, no
hang, no SystemError" is asked of it) -- add an entry to fuzz it properly.
"""
import dataclasses
from typing import Callable, Optional

import numpy as np


class FuzzError(Exception):
    """Raised by a misbehaving user callable; must come back to the caller unchanged."""


#: how a generated user callable misbehaves (or not)
BEHAVIOURS = ("good", "builtin", "lowlevel", "raises", "wrong_shape", "nan", "inf", "none",
              "string", "complex", "resizes", "huge")
#: dtypes of generated arrays
DTYPES = ("float64", "float32", "int64", "bool", "complex128", "object", "str")
#: fills of generated arrays
FILLS = ("random", "zeros", "nan", "inf", "huge", "tiny", "negative")


@dataclasses.dataclass
class Inputs:
    """Everything one fuzz case may pass; built in the worker process from a JSON spec."""
    behaviour: str
    x: object                   # an array (points, samples) of a generated shape/dtype/fill
    integer: int                # a count-like argument (n, degree, n_starts, limit)
    real: float                 # a limit-like argument
    calls: list                 # one entry per call of the user's function (was it called?)

    def _wrap(self, good, builtin, lowlevel, nout):
        import fastcalc.functions as F  # noqa: F401  (imported for builtin/lowlevel flavours)
        b = self.behaviour
        if b == "builtin":
            return builtin
        if b == "lowlevel":
            return lowlevel

        def f(x, *args):
            self.calls.append(1)
            if b == "raises":
                raise FuzzError("raised by the user's function")
            if b == "wrong_shape":
                return np.ones((3, 7))
            if b == "nan":
                return np.full(nout, np.nan) if nout > 1 else float("nan")
            if b == "inf":
                return np.full(nout, np.inf) if nout > 1 else float("inf")
            if b == "none":
                return None
            if b == "string":
                return "1.0"
            if b == "complex":
                return 1j
            if b == "huge":
                return np.full(nout, 1e308) if nout > 1 else 1e308
            r = good(x)
            if b == "resizes" and isinstance(x, np.ndarray):
                x.resize(x.size * 3 + 5, refcheck=False)
            return r
        return f

    @property
    def f1(self):
        """A function of one variable (R -> R)."""
        from fastcalc import functions as F
        return self._wrap(lambda t: np.sin(t) + 0.5 * t, F.sin, F.sin.lowlevel, 1)

    @property
    def fn(self):
        """A scalar function of n variables (R^n -> R)."""
        from fastcalc import functions as F
        return self._wrap(lambda v: float(np.sum(np.asarray(v, dtype=float) ** 2)), F.sphere,
                          F.sphere.lowlevel, 1)

    @property
    def gn(self):
        """The gradient of :attr:`fn` (R^n -> R^n)."""
        from fastcalc import functions as F
        return self._wrap(lambda v: 2.0 * np.asarray(v, dtype=float), F.sphere.grad,
                          F.sphere.grad.lowlevel, 3)

    @property
    def vec3(self):
        """A vector field R^3 -> R^3."""
        from fastcalc import functions as F
        return self._wrap(lambda v: np.asarray(v, dtype=float)[::-1] * 2.0, F.sphere.grad,
                          F.sphere.grad.lowlevel, 3)

    @property
    def point(self):
        """x as given (any shape, dtype, fill)."""
        return self.x

    @property
    def scalar(self):
        """One number taken from x (or x itself when it is not an array)."""
        x = self.x
        if isinstance(x, np.ndarray) and x.size and x.dtype.kind in "fiub":
            return x.reshape(-1)[0]
        return x


@dataclasses.dataclass
class Entry:
    call: Callable[[Inputs], object]
    #: the function evaluates the user's callable whenever the inputs are valid
    calls_user: bool = True
    note: Optional[str] = None


def _fc():
    import fastcalc as fc
    return fc


REGISTRY = {
    # differentiation
    "derivative": Entry(lambda c: _fc().derivative(c.f1, c.point)),
    "gradient": Entry(lambda c: _fc().gradient(c.fn, c.point)),
    "jacobian": Entry(lambda c: _fc().jacobian(c.gn, c.point)),
    "hessian": Entry(lambda c: _fc().hessian(c.fn, c.point)),
    "hessian_vector": Entry(lambda c: _fc().hessian_vector(c.fn, c.point, c.point)),
    "directional_derivative": Entry(lambda c: _fc().directional_derivative(c.fn, c.point,
                                                                           c.point)),
    "laplacian": Entry(lambda c: _fc().laplacian(c.fn, c.point)),
    "divergence": Entry(lambda c: _fc().divergence(c.vec3, c.point)),
    "curl": Entry(lambda c: _fc().curl(c.vec3, c.point)),
    "taylor": Entry(lambda c: _fc().taylor(c.f1, c.scalar, c.integer)),
    "TaylorPolynomial": Entry(lambda c: _fc().TaylorPolynomial(c.point, c.scalar)(c.real),
                              calls_user=False),
    "check_grad": Entry(lambda c: _fc().check_grad(c.fn, c.gn, c.point)),
    "approx_fprime": Entry(lambda c: _fc().approx_fprime(c.point, c.fn)),
    # integration
    "gauss_legendre": Entry(lambda c: _fc().gauss_legendre(c.integer), calls_user=False),
    "gauss_hermite": Entry(lambda c: _fc().gauss_hermite(c.integer), calls_user=False),
    "gauss_laguerre": Entry(lambda c: _fc().gauss_laguerre(c.integer), calls_user=False),
    "expect_normal": Entry(lambda c: _fc().expect_normal(c.f1, c.scalar, abs(c.real) + 0.5,
                                                         vectorized=False)),
    "fixed_quad": Entry(lambda c: _fc().fixed_quad(c.f1, c.scalar, c.real, n=c.integer)),
    "quad": Entry(lambda c: _fc().quad(c.f1, c.scalar, c.real)),
    "dblquad": Entry(lambda c: _fc().dblquad(lambda y, x: c.f1(y), 0.0, c.real, 0.0, c.scalar)),
    "tplquad": Entry(lambda c: _fc().tplquad(lambda z, y, x: c.f1(z), 0.0, 1.0, 0.0, 1.0, 0.0,
                                             c.real)),
    "nquad": Entry(lambda c: _fc().nquad(lambda y, x: c.f1(y), [[0.0, c.real], [0.0, 1.0]])),
    "simpson": Entry(lambda c: _fc().simpson(c.point), calls_user=False),
    "trapezoid": Entry(lambda c: _fc().trapezoid(c.point), calls_user=False),
    "cumulative_trapezoid": Entry(lambda c: _fc().cumulative_trapezoid(c.point),
                                  calls_user=False),
    "cumulative_simpson": Entry(lambda c: _fc().cumulative_simpson(c.point), calls_user=False),
    "romb": Entry(lambda c: _fc().romb(c.point), calls_user=False),
    "cubature": Entry(lambda c: _fc().cubature(
        lambda p: np.sum(np.asarray(p, dtype=float) ** 2, axis=-1)
        if c.behaviour in ("good", "builtin", "lowlevel") else c.fn(p), [0.0, 0.0],
        [1.0, c.real])),
    # optimization
    "minimize": Entry(lambda c: _fc().minimize(c.fn, c.point, options={"maxiter": 50})),
    "gradient_descent": Entry(lambda c: _fc().gradient_descent(c.fn, c.point, jac=c.gn,
                                                               maxiter=50)),
    "multistart": Entry(lambda c: _fc().multistart(c.fn, bounds=[(-1.0, 1.0)] * 2,
                                                   n_starts=c.integer, seed=0,
                                                   options={"maxiter": 20})),
    "classify_critical_point": Entry(lambda c: _fc().classify_critical_point(c.fn, c.point)),
    # the callable protocol
    "jit": Entry(lambda c: _fc().jit(c.f1), calls_user=False),
    "openmp_enabled": Entry(lambda c: _fc().openmp_enabled(), calls_user=False),
}


def generic_call(name):
    """The fallback for a public function without an entry: call it with the generated arguments
    in the commonest orders, accepting any ordinary exception."""
    def call(c):
        fn = getattr(_fc(), name)
        last = None
        for args in ((c.fn, c.point), (c.point,), (c.f1, c.scalar, c.real), ()):
            try:
                return fn(*args)
            except (TypeError, ValueError) as exc:
                last = exc
        raise last
    return Entry(call, calls_user=False, note="no registry entry: generic arguments")


def public_functions():
    """Names of fastcalc's public callables (classes and functions), from ``fastcalc.__all__``."""
    import fastcalc as fc
    out = []
    for name in fc.__all__:
        obj = getattr(fc, name)
        if callable(obj) and not isinstance(obj, type(fc)) and name not in (
                "Function", "DifferentiationResult"):
            out.append(name)
    return out


def _segfault(c):
    import ctypes
    ctypes.string_at(0)                 # reads address 0: SIGSEGV


def _hang(c):
    import time
    time.sleep(3600)


#: entries that misbehave on purpose, to test the fuzz machinery itself (not public functions)
SELF_TEST = {"__segfault__": Entry(_segfault, calls_user=False),
             "__hang__": Entry(_hang, calls_user=False)}


def entry(name):
    return REGISTRY.get(name) or SELF_TEST.get(name) or generic_call(name)


def build_x(spec):
    """The array (or list, or float) a case's ``x`` spec describes."""
    shape, dtype, fill = tuple(spec["shape"]), spec["dtype"], spec["fill"]
    rng = np.random.default_rng(spec["seed"])
    base = rng.uniform(-2, 2, shape)
    base = {"random": base, "zeros": np.zeros(shape), "nan": np.where(base > 0, np.nan, base),
            "inf": np.where(base > 0, np.inf, base), "huge": base * 1e300,
            "tiny": base * 1e-300, "negative": -np.abs(base) - 1}[fill]
    if spec.get("scalar"):
        return float(base.reshape(-1)[0]) if base.size else 0.0
    if dtype == "object":
        return base.astype(object)
    if dtype == "str":
        return base.astype(str)
    if dtype == "list":
        return base.tolist()
    with np.errstate(all="ignore"):
        return base.astype(dtype)


def run_case(name, case, calls=None):
    """Run one fuzz case in this process (the worker does this; so does a reproducer)."""
    c = Inputs(behaviour=case["behaviour"], x=build_x(case["x"]), integer=case["integer"],
               real=case["real"], calls=[] if calls is None else calls)
    return entry(name).call(c)


if __name__ == "__main__":       # a fuzz reproducer: python tests/public_api.py NAME 'CASE-JSON'
    import json
    import sys
    print(run_case(sys.argv[1], json.loads(sys.argv[2])))
