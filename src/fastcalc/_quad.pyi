"""Type stubs for fastcalc._quad (entries of one-variable and nested quadrature)."""
from typing import Any

import numpy as np
from numpy.typing import NDArray

from fastcalc._qengine import Integrand, UserIntegrand

COMPOSITE: dict[str, int]

class BudgetIntegrand(UserIntegrand):
    exhausted: bool
    def __init__(self, ev: Any, nvar: int, budget: int) -> None: ...

class NestedIntegrand(Integrand):
    worst_ier: int
    n_inner_fail: int
    max_err: float
    exhausted: bool
    def __init__(self, inner: Integrand, lo: Any, hi: Any, args: tuple, epsabs: float,
                 epsrel: float, limit: int, rule: int, endmap: int = ...) -> None: ...

MAX_LIMIT: int
EPSREL_MIN: float

def quad_single(f: Any, a: Any, b: Any, args: Any, full_output: Any, epsabs: Any, epsrel: Any,
                limit: Any, points: Any, weight: Any, complex_func: Any, method: Any,
                vectorized: Any, workers: Any) -> tuple[float, float] | list[Any] | None: ...
def quad_batch(f: Any, lo: NDArray[np.float64], hi: NDArray[np.float64],
               outer: NDArray[np.float64] | None, args: tuple, vectorized: bool, epsabs: float,
               epsrel: float, limit: int, rule: int, brk: NDArray[np.float64] | None = ...,
               keep: bool = ..., method: int = ..., workers: int = ...) -> tuple[Any, ...]: ...
def nested(f: Any, levels: list, args: tuple, vectorized: bool, rule: int,
           maxeval: int = ..., fargs: tuple | None = ...) -> tuple[float, float, int, int, int, int, list[float], bool]: ...
